"""typicality: the probability–quality trade-off of aligned LMs and sampling adaptors, checked.

Pipeline (one module per concept of the paper): models -> measures -> bounds -> adaptors -> sampling (IMHA)
-> corpora and correlations -> experiments.
"""

import importlib
from typing import Any

_LAZY = {"measures": "typicality.measures", "models": "typicality.models",
         **{name: "typicality.models" for name in ("AutoregressiveLM", "BaerLM", "FiniteStateLM", "FiniteSupportLM",
                                                   "LanguageModel", "NGramLM")}}


def __getattr__(name: str) -> Any:  # PEP 562: the package imports its parts on first use, so the command line
    if name in _LAZY:                # starts (and answers Ctrl-C) before numpy, scipy and mpmath are loaded
        module = importlib.import_module(_LAZY[name])
        value = module if _LAZY[name].endswith(name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'typicality' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = [
    "AutoregressiveLM",
    "BaerLM",
    "FiniteStateLM",
    "FiniteSupportLM",
    "LanguageModel",
    "NGramLM",
    "measures",
    "models",
]
