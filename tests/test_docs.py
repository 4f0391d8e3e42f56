"""The examples in the docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "typicality.numerics",
    "typicality.enumeration",
    "typicality.measures",
    "typicality.models.finite_state",
    "typicality.models.finite_support",
    "typicality.models.autoregressive",
    "typicality.models.ngram",
    "typicality.models.baer",
    "typicality.lm.loading",
    "typicality.lm.adaptors",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
