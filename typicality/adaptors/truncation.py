"""Truncation adaptors: S = id and a kept set C(p) (docs/theory.md#b9, Eq. 40, 42–44; Hugging Face semantics).

Every kept set here is a function of the probability *values* only: tokens with equal probability are kept or
dropped together. Where Hugging Face transformers breaks a tie by sort order (top-p only), we keep the whole tie
class, a superset of HF's; otherwise the rules are those of transformers' logits warpers (``TopKLogitsWarper``,
``TopPLogitsWarper``, ``TypicalLogitsWarper``, ``EpsilonLogitsWarper``, ``EtaLogitsWarper``, ``MinPLogitsWarper``;
see docs/theory.md#b9), in float64:

=============  ========================================================================================  ============
adaptor        kept set C(p) (p normalized, H = −Σ p log p in nats)                                      HF class
=============  ========================================================================================  ============
``TopK(k)``    p(v) ≥ the k-th largest value (all ties with it kept, so possibly more than k)             TopK
``TopP(p)``    the mass of tokens strictly more probable than v is < p (smallest nucleus with mass ≥ p)   TopP
``Typical(p)`` |−log p(v) − H| ≤ the score of the token where the typicality-sorted mass reaches p        Typical
``Epsilon(ε)`` p(v) ≥ ε, or v is a most probable token                                                    Epsilon
``Eta(ε)``     p(v) ≥ η = min(ε, √ε·e^{−H}), or v is a most probable token (paper's Eq. 44 says > η)      Eta
``MinP(p)``    p(v) ≥ p · max p                                                                           MinP
=============  ========================================================================================  ============

Zero-probability tokens never carry weight (T(p)(v) = 0 whenever p(v) = 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor


def _check_unit(value: Any, name: str, *, closed_low: bool = False, closed_high: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    lo_ok = v >= 0 if closed_low else v > 0
    hi_ok = v <= 1 if closed_high else v < 1
    if not (math.isfinite(v) and lo_ok and hi_ok):
        lo, hi = ("[" if closed_low else "("), ("]" if closed_high else ")")
        raise ValueError(f"{name} must be in {lo}0, 1{hi}, got {value!r}")
    return v


def _top_class(q: np.ndarray) -> np.ndarray:
    """The most probable tokens of each row (all ties)."""
    return q >= q.max(axis=-1, keepdims=True)


def _entropy(q: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(q), 0.0)
    return -terms.sum(axis=-1, keepdims=True)


class TopK(Adaptor):
    """Top-k (Eq. 42): keep the k most probable tokens, and every token tied with the k-th (HF rule)."""

    name = "top_k"

    def __init__(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        if k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k = int(k)

    def params(self) -> dict[str, Any]:
        return {"k": self.k}

    def keep(self, q: np.ndarray) -> np.ndarray:
        return q >= self.kth_largest(q)

    def kth_largest(self, q: np.ndarray) -> np.ndarray:
        """The k-th largest value of each row (shape (..., 1)); rows with fewer than k entries give their minimum.

        On long rows a strided sample's k-th largest, c, is a lower bound of the row's, so the k-th largest of
        the entries ≥ c (a few times k of them, typically) is the exact answer, found without partitioning the
        whole row; adversarial rows just make that candidate set larger.
        """
        V, k = q.shape[-1], self.k
        if k >= V:
            return q.min(axis=-1, keepdims=True)
        stride = 16
        if V < 1024 or V // stride < 4 * k:
            return np.partition(q, V - k, axis=-1)[..., V - k : V - k + 1]
        rows = q.reshape(-1, V)
        sample = rows[:, ::stride]
        lower = np.partition(sample, sample.shape[1] - k, axis=-1)[:, sample.shape[1] - k]
        out = np.empty(rows.shape[0])
        for i, row in enumerate(rows):
            candidates = row[row >= lower[i]]
            out[i] = np.partition(candidates, len(candidates) - k)[len(candidates) - k]
        return out.reshape((*q.shape[:-1], 1))


class TopP(Adaptor):
    """Nucleus sampling (Eq. 40): the smallest set of most probable tokens with mass ≥ p; ties kept together."""

    name = "top_p"

    def __init__(self, p: float) -> None:
        self.p = _check_unit(p, "p")

    def params(self) -> dict[str, Any]:
        return {"p": self.p}

    def keep(self, q: np.ndarray) -> np.ndarray:
        if self.p >= 1:
            return q > 0
        desc = np.sort(q, axis=-1)[..., ::-1]
        above = np.cumsum(desc, axis=-1) - desc  # mass sorted before each position
        count = np.sum(above < self.p, axis=-1, keepdims=True)  # ≥ 1: nothing precedes the top token
        threshold = np.take_along_axis(desc, count - 1, axis=-1)
        return q >= threshold


class Typical(Adaptor):
    """Locally typical sampling (Eq. 43) with the HF rule: sort by |−log p − H|, keep up to the token where the
    cumulative mass first reaches p, and every token whose score ties with it. p = 1 keeps everything."""

    name = "typical"

    def __init__(self, p: float) -> None:
        self.p = _check_unit(p, "p")

    def params(self) -> dict[str, Any]:
        return {"p": self.p}

    def keep(self, q: np.ndarray) -> np.ndarray:
        if self.p >= 1:  # every token: a cumulative sum that rounds to 1 early must not drop the tail
            return q > 0
        with np.errstate(divide="ignore"):
            score = np.abs(-np.log(q) - _entropy(q))
        order = np.argsort(score, axis=-1)  # ties in score share the threshold: their order is irrelevant
        sorted_score = np.take_along_axis(score, order, axis=-1)
        cum = np.cumsum(np.take_along_axis(q, order, axis=-1), axis=-1)
        last = np.minimum(np.sum(cum < self.p, axis=-1, keepdims=True), q.shape[-1] - 1)
        return score <= np.take_along_axis(sorted_score, last, axis=-1)


class Epsilon(Adaptor):
    """ε-sampling: keep tokens with p(v) ≥ ε, and always the most probable ones (HF rule)."""

    name = "epsilon"

    def __init__(self, eps: float) -> None:
        self.eps = _check_unit(eps, "eps", closed_high=False)

    def params(self) -> dict[str, Any]:
        return {"eps": self.eps}

    def keep(self, q: np.ndarray) -> np.ndarray:
        return (q >= self.eps) | _top_class(q)


class Eta(Adaptor):
    """η-sampling (Eq. 44; Hewitt et al. 2022): η = min(ε, √ε·e^{−H(p)}); keep p(v) ≥ η (HF), and the top tokens.

    The paper writes p(v) > η; HF (whose `eta_cutoff` the paper's experiments used) keeps p(v) ≥ η. Ours is HF's.
    """

    name = "eta"

    def __init__(self, eps: float) -> None:
        self.eps = _check_unit(eps, "eps", closed_high=False)

    def params(self) -> dict[str, Any]:
        return {"eps": self.eps}

    def keep(self, q: np.ndarray) -> np.ndarray:
        eta = np.minimum(self.eps, math.sqrt(self.eps) * np.exp(-_entropy(q)))
        return (q >= eta) | _top_class(q)


class MinP(Adaptor):
    """min-p sampling: keep tokens with p(v) ≥ p · max_u p(u)."""

    name = "min_p"

    def __init__(self, p: float) -> None:
        self.p = _check_unit(p, "p")

    def params(self) -> dict[str, Any]:
        return {"p": self.p}

    def keep(self, q: np.ndarray) -> np.ndarray:
        return q >= self.p * q.max(axis=-1, keepdims=True)
