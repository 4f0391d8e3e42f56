"""typicality: the probability–quality trade-off of aligned LMs and sampling adaptors, checked.

Pipeline (one module per concept of the paper): models -> measures -> bounds -> adaptors -> sampling (IMHA)
-> corpora and correlations -> experiments.
"""

from typicality import measures, models
from typicality.models import (
    AutoregressiveLM,
    BaerLM,
    FiniteStateLM,
    FiniteSupportLM,
    LanguageModel,
    NGramLM,
)

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
