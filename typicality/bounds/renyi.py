"""Lemma 1 (the order at which the Rényi gap drops below ε) and the corrected thresholds of Prop. 3.

Prop. 3 as stated in the paper (H_α < ∞ for small α whenever p is eos-bounded) is false (docs/theory.md#c1); the
corrected statement: eos-bounded with constant ξ over |Σ| symbols implies Σ_y p(y)^α < ∞ for every

    α > log|Σ| / (log|Σ| + log(1/(1−ξ)))                                      (Hölder, C1)

and a geometric length tail P(|Y| = n) ≤ C ρⁿ (every tight n-gram model, C2) implies the same with ρ for 1−ξ.
Both are upper bounds on the exact threshold ``typicality.measures.renyi_threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from typicality import measures as M
from typicality.bounds.aep import BoundUnavailableError, _entropy_or_fail


def _check_size(alphabet_size: Any) -> int:
    if isinstance(alphabet_size, bool) or not isinstance(alphabet_size, int) or alphabet_size < 1:
        raise ValueError(f"alphabet_size must be an int >= 1, got {alphabet_size!r}")
    return alphabet_size


def eos_bounded_threshold(alphabet_size: int, eos_bound: float) -> float:
    """log|Σ| / (log|Σ| + log(1/(1−ξ))): H_α < ∞ above it for every ξ-eos-bounded LM (corrected Prop. 3, C1).

    1 when ξ = 0 (no information: only α > 1 is guaranteed), 0 when |Σ| = 1 or ξ = 1.
    """
    k = _check_size(alphabet_size)
    if not 0 <= eos_bound <= 1:
        raise ValueError(f"eos_bound must be in [0, 1], got {eos_bound!r}")
    return tail_rate_threshold(k, 1 - eos_bound)


def tail_rate_threshold(alphabet_size: int, rate: float) -> float:
    """log|Σ| / (log|Σ| + log(1/ρ)): H_α < ∞ above it when P(|Y| = n) ≤ C ρⁿ (docs/theory.md#c2)."""
    k = _check_size(alphabet_size)
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    if k == 1 or rate == 0:
        return 0.0
    if rate == 1:
        return 1.0
    return math.log(k) / (math.log(k) - math.log(rate))


@dataclass(frozen=True)
class Lemma1Order:
    """α* with Δ_{α*} = ε: the Rényi gap is below ε exactly on (α*, 1)."""

    order: float
    gap: float  # Δ at ``order`` (= ε up to bisection tolerance, or < ε when order = α₀)
    renyi_threshold: float


def lemma1_order(model: Any, eps: float, *, tol: float = 1e-12) -> Lemma1Order:
    """The smallest order α ∈ [α₀, 1) with Rényi gap Δ_α = H_α − H ≤ ε (Lemma 1, Def. 4).

    Δ_α is non-increasing in α (Prop. 4) and tends to 0 as α → 1 when some H_α′, α′ < 1, is finite (the corrected
    Prop. 3), so every α ∈ (α*, 1) has Δ_α < ε. BoundUnavailableError when no α < 1 has finite H_α (then
    Lemma 1's conclusion fails, as for the p ∝ 1/(n log³ n) model of docs/theory.md#c4).
    """
    if not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    h = _entropy_or_fail(model)
    alpha0 = float(M.renyi_threshold(model))
    if alpha0 >= 1:
        raise BoundUnavailableError(f"no order α < 1 has a finite Rényi entropy (α₀ = {alpha0:g}), so the Rényi gap "
                                    "is infinite below 1")

    def gap(a: float) -> float:
        return float(M.renyi_entropy(model, a)) - h

    if alpha0 == 0 and gap(1e-300) <= eps:  # finite support with log|supp| − H ≤ ε: every order qualifies
        return Lemma1Order(0.0, gap(1e-300), alpha0)
    lo, hi = alpha0, 1.0  # Δ > ε at lo (Δ → ∞ as α ↓ α₀ > 0), Δ ≤ ε at hi (Δ_1 = 0)
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if gap(mid) > eps:
            lo = mid
        else:
            hi = mid
    return Lemma1Order(hi, gap(hi) if hi < 1 else 0.0, alpha0)
