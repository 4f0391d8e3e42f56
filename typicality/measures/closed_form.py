"""Measures of Baer's model (docs/theory.md#b7) from its closed forms.

H(p) = ∞ (Prop. 2), hence H_α = ∞ for every α ≤ 1 (H_α ≥ H for α < 1); E|Y| = Σ_n 1/log₂(n+2) = ∞;
ξ = inf_n p(eos | aⁿ) = 0; P(|Y| ≥ n) = 1/log₂(n+2) decays sub-exponentially, so the length-tail rate is 1.
For α > 1, Σ_n p(aⁿ)^α converges (p(aⁿ) ~ 1/(n ln² n)) and is summed by mpmath's Euler–Maclaurin ``nsum``
(a high-precision value, not a certified enclosure).
"""

from __future__ import annotations

from typing import Any

import mpmath

from typicality.models.baer import BaerLM
from typicality.numerics import Arithmetic

UNDEFINED_VARENTROPY = "the entropy is infinite, so the variance of the surprisal is undefined"


def mass(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(1)  # telescoping: Σ_n [1/log₂(n+2) − 1/log₂(n+3)] = 1/log₂ 2


def entropy(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(float("inf"))


def expected_length(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(float("inf"))


def eos_bound(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(0)


def length_tail_rate(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(1)


def renyi_threshold(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(1)


def max_log_prob(model: BaerLM, num: Arithmetic) -> Any:
    return num.scalar(BaerLM.length_log_prob(0, dps=num.dps))  # p(aⁿ) is decreasing in n


def renyi_sum(model: BaerLM, num: Arithmetic, alpha: Any) -> Any:
    if alpha <= 1:
        return num.scalar(float("inf"))
    dps = num.dps or 20
    with mpmath.workdps(dps + 10):
        a = mpmath.mpf(alpha)
        ln2 = mpmath.log(2)

        def term(x: Any) -> Any:  # p(aˣ)^α, smooth in real x, for the Euler–Maclaurin tail
            y = x + 2
            return (ln2 * mpmath.log1p(1 / y) / (mpmath.log(y) * mpmath.log(y + 1))) ** a

        head = mpmath.fsum(term(mpmath.mpf(n)) for n in range(64))
        tail = mpmath.sumem(term, [64, mpmath.inf])
        total = head + tail
    return num.scalar(total) if num.dps is None else +total
