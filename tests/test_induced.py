"""Induced string distributions: q_T and π_T of finite-state models against enumeration, Eq. 8, C7, Example 1."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from typicality import measures as M
from typicality.adaptors import ADAPTORS, Compose, make
from typicality.enumeration import enumerate_strings
from typicality.induced import NormalizerError, enumerate_global, global_model, global_normalizer, local_model
from typicality.models import AutoregressiveLM, examples
from typicality.testing import ngram_specs

ADAPTOR_CHOICES = st.sampled_from([("top_k", 1), ("top_k", 2), ("top_p", 0.6), ("top_p", 0.9), ("typical", 0.7),
                                   ("epsilon", 0.2), ("eta", 0.1), ("min_p", 0.5), ("temperature", 0.5),
                                   ("temperature", 0.8)])


def build(choice):
    name, value = choice
    return make(name, **{ADAPTORS[name][1]: value})


@settings(max_examples=40)
@given(spec=ngram_specs(kind="eos_bounded", max_symbols=2, max_order=2, min_eos_weight=3), choice=ADAPTOR_CHOICES)
def test_local_model_matches_stepwise_normalization(spec, choice):
    """The finite-state q_T against the generic path (an AutoregressiveLM normalizing T(p) at every prefix)."""
    model, adaptor = spec.model, build(choice)
    fast = local_model(model, adaptor)
    generic = AutoregressiveLM(model.alphabet, model.eos,
                               lambda prefix: adaptor.local(model.next_symbol_distribution(prefix)))
    for y in enumerate_strings(generic, 3).strings:
        assert fast.prob(y) == pytest.approx(generic.prob(y), rel=1e-12)


@settings(max_examples=40)
@given(spec=ngram_specs(kind="eos_bounded", max_symbols=2, max_order=2, min_eos_weight=3), choice=ADAPTOR_CHOICES)
def test_global_model_is_the_normalized_score(spec, choice):
    """π_T(y) = π̃_T(y)/Z_T (enumerated products of T), Z_T inside the enumeration bounds, tight, ratios (Eq. 8)."""
    model, adaptor = spec.model, build(choice)
    try:
        g = global_model(model, adaptor)
    except NormalizerError:
        return  # Z_T = 0 (e.g. top-1 never keeps eos); covered below
    e = enumerate_global(model, adaptor, 8)
    assert e.normalizer_lower <= g.normalizer * (1 + 1e-12)
    assert e.normalizer_upper is None or g.normalizer <= e.normalizer_upper * (1 + 1e-12)
    assert M.is_tight(g.model) and M.mass(g.model) == pytest.approx(1.0, abs=1e-9)
    pairs = [(y, s) for y, s in zip(e.strings, e.scores, strict=True) if len(y) <= 3 and s > 0]
    for y, score in pairs:
        assert g.prob(y) == pytest.approx(score / g.normalizer, rel=1e-9)
    for (y, a), (z, b) in itertools.pairwise(pairs):
        assert g.prob(y) / g.prob(z) == pytest.approx(a / b, rel=1e-9)  # Eq. 8


def test_global_temperature_normalizer_is_the_renyi_series_and_c7():
    c1 = examples.c1_counterexample()
    assert global_normalizer(c1, make("temperature", t=1.5)) == pytest.approx(float(M.renyi_sum(c1, 1 / 1.5)))
    assert global_normalizer(c1, make("temperature", t=0.5)) == pytest.approx(float(M.renyi_sum(c1, 2)))
    assert global_normalizer(c1, make("temperature", t=2.0)) == math.inf  # Σ p^{1/2} = ∞ (C7)
    with pytest.raises(NormalizerError, match="Z_T = ∞"):
        global_model(c1, make("temperature", t=3.0))


def test_normalizer_zero_and_non_tight_local_adaptor():
    """top-1 on a model where eos is never the most probable symbol: q_T is not tight and Z_T = 0."""
    model = examples.c2_bigram()  # p(eos|b) = p(a|b) = ½ ties, so top-1 keeps eos there; make a strict version
    from typicality.models import NGramLM

    strict = NGramLM(2, "</s>", {"": {"a": "1"}, "a": {"b": "1"}, "b": {"a": "0.6", "</s>": "0.4"}})
    top1 = make("top_k", k=1)
    q = local_model(strict, top1)
    assert not M.is_tight(q) and M.mass(q) == 0
    assert global_normalizer(strict, top1) == 0
    with pytest.raises(NormalizerError, match="Z_T = 0"):
        global_model(strict, top1)
    assert M.is_tight(local_model(model, top1))  # with the tie, eos survives


def test_example1_reversal_local_not_global():
    m = examples.example1_bigram()
    top2 = make("top_k", k=2)
    q, g = local_model(m, top2), global_model(m, top2)
    assert m.prob("a") > m.prob("b")
    assert q.prob("a") == pytest.approx(0.5 / 0.95 * 0.45 / 0.95) and q.prob("a") < q.prob("b")
    assert g.prob("a") > g.prob("b")  # the global adaptor preserves the transform's order (Eq. 8)


def test_hypothesis_finds_more_reversals():
    """Example 1 is not special: Hypothesis finds other bigram models where top-k or top-p reverses an order."""

    def reverses(args) -> bool:
        spec, choice = args
        model, adaptor = spec.model, build(choice)
        q = local_model(model, adaptor)
        try:
            g = global_model(model, adaptor)
        except NormalizerError:
            return False
        strings = [y for y in enumerate_strings(model, 2).strings if g.prob(y) > 0]
        return any(g.prob(y) > g.prob(z) and q.prob(y) < q.prob(z) for y in strings for z in strings)

    found = find(st.tuples(ngram_specs(kind="eos_bounded", max_symbols=3, max_order=2),
                           st.sampled_from([("top_k", 2), ("top_p", 0.7)])), reverses,
                 settings=settings(max_examples=500, database=None, derandomize=True))
    assert reverses(found)


def test_composition_in_global_model():
    m = examples.example1_bigram()
    both = Compose(make("temperature", t=0.8), make("top_p", p=0.9))
    g = global_model(m, both)
    e = enumerate_global(m, both, 10)
    assert e.normalizer_lower <= g.normalizer <= e.normalizer_upper
    w = both.weights(np.array([0.5, 0.45, 0.05]))
    assert np.count_nonzero(w) == 2  # tempered (0.5, 0.45, 0.05)^(1.25) keeps a and b at 0.9
