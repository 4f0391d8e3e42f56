"""Slow, obviously-correct kept sets, token by token in exact rational arithmetic (Fractions of the float64 inputs).

Each function returns (kept set, margin): the margin is how far the decisive quantity is from its threshold, so a
test can skip draws where float64 rounding in the vectorized code could legitimately decide the other way.
"""

from __future__ import annotations

import math
from fractions import Fraction


def _frac(p) -> list[Fraction]:
    return [Fraction(float(x)) for x in p]


def top_k(p, k):
    q = _frac(p)
    kth = sorted(q, reverse=True)[min(k, len(q)) - 1]
    return {i for i, x in enumerate(q) if x >= kth}, math.inf


def top_p(p, mass):
    q = _frac(p)
    m = Fraction(mass)
    kept, margin = set(), math.inf
    for i, x in enumerate(q):
        above = sum((y for y in q if y > x), Fraction(0))  # mass strictly more probable than token i
        if above < m:
            kept.add(i)
        margin = min(margin, abs(float(above - m)))
    return kept, margin


def _entropy(q):
    return -math.fsum(float(x) * math.log(float(x)) for x in q if x > 0)


def typical(p, mass):
    q = _frac(p)
    h = _entropy(q)
    score = [abs(-math.log(float(x)) - h) if x > 0 else math.inf for x in q]
    order = sorted(range(len(q)), key=lambda i: score[i])
    cum = Fraction(0)
    m = Fraction(mass)
    margin = math.inf
    last = len(q) - 1
    for pos, i in enumerate(order):
        cum += q[i]
        margin = min(margin, abs(float(cum - m)))
        if cum >= m:
            last = pos
            break
    threshold = score[order[last]]
    # scores within rounding of the threshold could go either way
    close = min((abs(s - threshold) for s in score if s != threshold and math.isfinite(s)), default=math.inf)
    return {i for i, s in enumerate(score) if s <= threshold}, min(margin, close)


def epsilon(p, eps):
    q = _frac(p)
    top = max(q)
    margin = min(abs(float(x) - eps) for x in q)
    return {i for i, x in enumerate(q) if x >= Fraction(eps) or x == top}, margin


def eta(p, eps):
    q = _frac(p)
    h = _entropy(q)
    cut = min(eps, math.sqrt(eps) * math.exp(-h))
    top = max(q)
    margin = min(abs(float(x) - cut) for x in q) / max(cut, 1e-300)
    return {i for i, x in enumerate(q) if float(x) >= cut or x == top}, margin


def min_p(p, frac):
    q = _frac(p)
    cut = Fraction(frac) * max(q)
    margin = min(abs(float(x - cut)) for x in q)
    return {i for i, x in enumerate(q) if x >= cut}, margin


REFERENCES = {"top_k": top_k, "top_p": top_p, "typical": typical, "epsilon": epsilon, "eta": eta, "min_p": min_p}
