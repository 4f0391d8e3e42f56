"""The miniature's bounded reward: VADER's sentiment compound score, in [-1, 1].

VADER (Hutto & Gilbert, 2014) is a rule-based sentiment model: a lexicon of valenced words plus rules for
negation, intensifiers, capitals and punctuation. Its compound score is the normalized sum of valences,
``s / sqrt(s**2 + 15)``, clipped to [-1, 1]: positive text scores above 0, negative text below. It needs no weights
and no download, which is why the offline miniature uses it as the reward that the aligned models are trained to
raise. In the study it is the reward kind ``"vader"`` (``reward = "vader"``, ``reward_kind = "vader"``), which
scores ``prompt + continuation``: the whole fortune.

>>> vader_reward(["What a wonderful, happy day!", "This is terrible and sad."])   # doctest: +SKIP
array([ 0.8268, -0.7269])
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["vader_pair_reward", "vader_reward"]


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    """The VADER analyzer, built once (loading its lexicon takes a few hundred milliseconds)."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as e:
        raise ImportError("the VADER reward needs the vaderSentiment package: pip install vaderSentiment "
                          "(or pip install 'typicality[lm]')") from e
    return SentimentIntensityAnalyzer()


def vader_reward(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound sentiment score of each text, a float64 array in [-1, 1] (0 for text without sentiment)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of strings, got {type(texts).__name__}")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts[{bad[0]}] must be a string, got {type(texts[bad[0]]).__name__}")
    analyzer = _analyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


def vader_pair_reward(prompts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
    """The study's reward ``f(prompts, continuations)``: VADER's compound score of ``prompt + continuation``."""
    if len(prompts) != len(continuations):
        raise ValueError(f"prompts has {len(prompts)} texts but continuations has {len(continuations)}")
    return vader_reward([p + c for p, c in zip(prompts, continuations, strict=True)])
