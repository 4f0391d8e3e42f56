"""Information measures of finite-support models by direct summation over the support."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from typicality.models.finite_support import FiniteSupportLM
from typicality.numerics import Arithmetic


def _positive(model: FiniteSupportLM, num: Arithmetic) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and lengths of the strings with p(y) > 0."""
    items = [(p, len(y)) for y, p in model.table.items() if p > 0]
    probs = model.probabilities[model.probabilities > 0] if num.dps is None else num.array([p for p, _ in items])
    return probs, np.array([n for _, n in items], dtype=np.int64)


def _sum(num: Arithmetic, x: np.ndarray) -> Any:
    if num.dps is None:
        return float(np.sum(np.sort(x)))  # ascending order: small terms first
    return sum(x.tolist(), num.scalar(0))


def mass(model: FiniteSupportLM, num: Arithmetic) -> Any:
    return _sum(num, _positive(model, num)[0])


def entropy(model: FiniteSupportLM, num: Arithmetic) -> Any:
    p, _ = _positive(model, num)
    return _sum(num, -p * num.log(p))


def varentropy(model: FiniteSupportLM, num: Arithmetic) -> Any:
    p, _ = _positive(model, num)
    surprisal = -num.log(p)
    h = _sum(num, p * surprisal)
    return _sum(num, p * (surprisal - h) ** 2)


def expected_length(model: FiniteSupportLM, num: Arithmetic) -> Any:
    p, n = _positive(model, num)
    return _sum(num, p * n)


def renyi_sum(model: FiniteSupportLM, num: Arithmetic, alpha: Any) -> Any:
    p, _ = _positive(model, num)
    return _sum(num, p ** alpha)


def max_log_prob(model: FiniteSupportLM, num: Arithmetic) -> Any:
    p, _ = _positive(model, num)
    return num.log(max(p.tolist()))


def eos_bound(model: FiniteSupportLM, num: Arithmetic) -> Any:
    """min over prefixes x with P(Y ⪰ x) > 0 of p(eos | x) = p(x) / P(Y ⪰ x)."""
    prefixes = model._prefixes()
    return num.scalar(min(model.table.get(x, Fraction(0)) / m for x, m in prefixes.items() if m > 0))


def renyi_threshold(model: FiniteSupportLM, num: Arithmetic) -> Any:
    return num.scalar(0)


def length_tail_rate(model: FiniteSupportLM, num: Arithmetic) -> Any:
    return num.scalar(0)
