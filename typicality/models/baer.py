"""Baer's tight language model with infinite entropy (paper App. C, Example 2; docs/theory.md#b7).

Σ = {a} and, for n ≥ 0 (Eq. 23),

    p(aⁿ) = 1/log₂(n+2) − 1/log₂(n+3).

The sum telescopes to 1/log₂ 2 = 1 (base 2 is essential), so the model is tight, and every string has positive
probability; yet H(p) = ∞ (Prop. 2): p(aⁿ) ≥ g(n) = ln 2 / ((n+3) ln²(n+3)) and Σ −g log g diverges like
ln 2 · ln ln n. It is not eos-bounded: p(eos | aⁿ) = 1 − log₂(n+2)/log₂(n+3) → 0.

Everything here is in closed form and exact at any precision (``dps``).

>>> m = BaerLM()
>>> round(m.prob(""), 5)        # p(a⁰) = 1 − 1/log₂ 3
0.36907
>>> float(m.tail_mass(10))      # P(|Y| ≥ 10) = 1/log₂ 12
0.2789429456511298
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mpmath
import numpy as np

from typicality.models.base import (
    DEFAULT_MAX_LENGTH,
    String,
    StringTooLongError,
    SymbolTable,
    check_max_length,
    check_rng,
)
from typicality.numerics import arithmetic, check_dps

LN2 = math.log(2.0)


def _check_n(n: Any, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"{name} must be a non-negative int, got {n!r}")
    return int(n)


class BaerLM(SymbolTable):
    """Baer's infinite-entropy model over Σ = {a} (see module docstring)."""

    def __init__(self, symbol: str = "a", eos: str = "</s>") -> None:
        self._init_symbols([symbol], eos)

    # ----- closed forms ----------------------------------------------------------------------------------------
    @staticmethod
    def length_log_prob(n: int, *, dps: int | None = None) -> Any:
        """log p(aⁿ), computed without cancellation as log[ln 2 · log1p(1/(n+2)) / (ln(n+2) ln(n+3))]."""
        n = _check_n(n)
        check_dps(dps)
        if dps is None:
            x = n + 2.0
            return math.log(LN2) + math.log(math.log1p(1.0 / x)) - math.log(math.log(x)) - math.log(math.log1p(x))
        with mpmath.workdps(dps):
            x = mpmath.mpf(n + 2)
            return (mpmath.log(mpmath.log(2)) + mpmath.log(mpmath.log1p(1 / x)) - mpmath.log(mpmath.log(x))
                    - mpmath.log(mpmath.log(x + 1)))

    @staticmethod
    def tail_mass(n: int, *, dps: int | None = None) -> Any:
        """P(|Y| ≥ n) = Σ_{m ≥ n} p(aᵐ) = 1/log₂(n+2) (telescoping)."""
        n = _check_n(n)
        check_dps(dps)
        if dps is None:
            return LN2 / math.log(n + 2.0)
        with mpmath.workdps(dps):
            return mpmath.log(2) / mpmath.log(n + 2)

    @staticmethod
    def partial_mass(n: int, *, dps: int | None = None) -> Any:
        """P(|Y| < n) = 1 − 1/log₂(n+2)."""
        return 1 - BaerLM.tail_mass(n, dps=dps)

    @staticmethod
    def entropy_lower_bound_term(n: int, *, dps: int | None = None) -> Any:
        """g(n) = −f′(n+3) = ln 2 / ((n+3) ln²(n+3)) ≤ p(aⁿ) (convexity of f(x) = 1/log₂ x; docs/theory.md#b7)."""
        n = _check_n(n)
        check_dps(dps)
        if dps is None:
            x = n + 3.0
            return LN2 / (x * math.log(x) ** 2)
        with mpmath.workdps(dps):
            x = mpmath.mpf(n + 3)
            return mpmath.log(2) / (x * mpmath.log(x) ** 2)

    @staticmethod
    def partial_entropy(n_terms: int, *, dps: int | None = None) -> Any:
        """Σ_{n < n_terms} −p(aⁿ) log p(aⁿ) in nats: a lower bound on H(p) = ∞ that grows like ln 2 · ln ln n."""
        n_terms = _check_n(n_terms, "n_terms")
        check_dps(dps)
        if dps is None:
            x = np.arange(n_terms, dtype=np.float64) + 2.0
            logp = np.log(LN2) + np.log(np.log1p(1.0 / x)) - np.log(np.log(x)) - np.log(np.log1p(x))
            return float(math.fsum(-np.exp(logp) * logp))
        with mpmath.workdps(dps):
            total = mpmath.mpf(0)
            for n in range(n_terms):
                lp = BaerLM.length_log_prob(n, dps=dps)
                total -= mpmath.exp(lp) * lp
            return total

    # ----- protocol --------------------------------------------------------------------------------------------
    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """log p(y) = log p(a^|y|)."""
        return self.length_log_prob(len(self._indices(y)), dps=dps)

    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        """(p(a | aⁿ), p(eos | aⁿ)) = (ln(n+2)/ln(n+3), log1p(1/(n+2))/ln(n+3))."""
        n = len(self._indices(prefix, name="prefix"))
        with arithmetic(dps) as num:
            if dps is None:
                cont, stop = math.log(n + 2.0) / math.log(n + 3.0), math.log1p(1.0 / (n + 2)) / math.log(n + 3.0)
            else:
                x = mpmath.mpf(n + 2)
                cont, stop = mpmath.log(x) / mpmath.log(x + 1), mpmath.log1p(1 / x) / mpmath.log(x + 1)
            return num.array([cont, stop]) if dps is not None else np.array([cont, stop])

    def sample_length(self, rng: np.random.Generator, *, max_bits: int = 4096) -> int:
        """One length |Y| by inversion: |Y| = ⌊2^{1/v}⌋ − 2 with v ~ U(0, 1], since P(|Y| ≥ n) = 1/log₂(n+2).

        The length is astronomically large with non-negligible probability (P(|Y| ≥ 2^k − 2) = 1/k); lengths
        above 2^``max_bits`` raise OverflowError.
        """
        check_rng(rng)
        t = 1.0 / (1.0 - rng.random())
        if t > max_bits:
            raise OverflowError(f"sampled length ≈ 2^{t:.0f} exceeds 2^max_bits (max_bits={max_bits})")
        if t < 50:
            return math.floor(2.0**t) - 2
        with mpmath.workprec(int(t) + 64):
            return int(mpmath.floor(mpmath.power(2, mpmath.mpf(t)))) - 2

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        check_rng(rng)
        max_length = check_max_length(max_length)
        t = 1.0 / (1.0 - rng.random())
        if max_length is not None and t >= math.log2(max_length + 3):
            raise StringTooLongError(f"sampled a string longer than max_length={max_length} "
                                     f"(length ≈ 2^{t:.1f}; Baer's model is heavy-tailed)")
        n = math.floor(2.0**t) - 2
        return (self.alphabet[0],) * n

    def sample_log_probs(self, rng: np.random.Generator, n: int, **_: Any) -> tuple[np.ndarray, np.ndarray]:
        """log p and lengths of ``n`` samples; lengths are float64 (inf beyond 2^1024), log p stays finite."""
        check_rng(rng)
        n = _check_n(n)
        t = 1.0 / (1.0 - rng.random(n))
        with np.errstate(over="ignore"):
            lengths = np.floor(np.exp2(t)) - 2.0
        logp = np.empty(n)
        small = t < 50
        x = lengths[small] + 2.0
        logp[small] = np.log(LN2) + np.log(np.log1p(1.0 / x)) - np.log(np.log(x)) - np.log(np.log1p(x))
        # For |Y| + 2 = 2^t with t ≥ 50: log p = ln ln 2 − ln x − 2 ln ln x + O(1/x), with ln x = t ln 2.
        lnx = t[~small] * LN2
        logp[~small] = np.log(LN2) - lnx - 2.0 * np.log(lnx)
        return logp, lengths

    def __repr__(self) -> str:
        return "BaerLM()"
