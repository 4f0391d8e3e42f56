"""Corollary 1 as it really fails: bounded logits force H_alpha = infinity for every alpha <= log|S| / log(1/delta).

Paper Cor. 1 (App. D). A Transformer's logits are bounded, so every next-token probability, eos included, is at
least some delta in (0, 1). Each of the k^n strings of length n (k = |S| >= 2) then has p(y) >= delta^(n+1), so

    sum_y p(y)^alpha >= sum_n k^n delta^(alpha (n+1)) = delta^alpha sum_n (k delta^alpha)^n,

a geometric series with ratio q = k delta^alpha, which diverges iff q >= 1, i.e. iff alpha <= log k / log(1/delta).
Checked: the term identity; q = 1 exactly at alpha* = log k / log(1/delta); q is decreasing in alpha (so q >= 1 for
every alpha <= alpha*); the partial sums for q = 1 grow linearly (N + 1 terms of 1); alpha* > 0.
"""

import sympy as sp

from ._common import Step, equal, negative, positive

CLAIM = "cor1_bounded_logits"


def check() -> list[Step]:
    k = sp.Symbol("k", positive=True)
    delta = sp.Symbol("delta", positive=True)
    alpha = sp.Symbol("alpha", positive=True)
    n = sp.Symbol("n", integer=True, nonnegative=True)
    N = sp.Symbol("N", integer=True, nonnegative=True)
    q = k * delta**alpha
    star = sp.log(k) / sp.log(1 / delta)
    # delta = 1/(1 + d) with d > 0 keeps delta in (0, 1); k = 2 + j with j > 0 keeps k >= 2
    d, j = sp.symbols("d j", positive=True)
    inside = {delta: 1 / (1 + d), k: 2 + j}
    return [
        Step("k^n (delta^(n+1))^alpha = delta^alpha (k delta^alpha)^n",
             equal(sp.powsimp(k**n * (delta ** (n + 1)) ** alpha, force=True),
                   sp.powsimp(delta**alpha * q**n, force=True))),
        Step("q = k delta^alpha equals 1 at alpha* = log k / log(1/delta)",
             equal(sp.simplify(sp.expand_log(sp.log(q.subs(alpha, star)), force=True)), 0)),
        Step("dq/dalpha = q log delta < 0 for delta in (0, 1): q >= 1 for every alpha <= alpha*",
             equal(sp.diff(q, alpha), q * sp.log(delta))
             and negative(sp.expand_log((q * sp.log(delta)).subs(inside), force=True))),
        Step("with q = 1 the partial sum of N + 1 terms is N + 1: the series diverges",
             equal(sp.summation(sp.Integer(1) ** n, (n, 0, N)), N + 1)),
        Step("alpha* = log k / log(1/delta) > 0 for k >= 2, delta in (0, 1)",
             positive(sp.expand_log(star.subs(inside), force=True))),
    ]
