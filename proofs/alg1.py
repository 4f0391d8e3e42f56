"""Algorithm 1 (IMHA): the chain with proposals q_T and weights w = pi~_T / q_T leaves pi_T invariant.

Paper Algorithm 1 (§5, App. B). Target pi(y) = pi~(y)/Z, proposal q (independent of the current state),
w(y) = pi~(y)/q(y), acceptance a(x, y) = min(1, w(y)/w(x)). Statement checked:

1. detailed balance: pi(x) q(y) a(x, y) = pi(y) q(x) a(y, x) for all x, y (both sides equal
   min(pi~(x) q(y), pi~(y) q(x)) / Z), hence pi is stationary;
2. the weight is the product of the per-step masses: for a 2-symbol string with local distributions p_t and
   transform T, w = [T(p_1)(y_1) T(p_2)(eos)] / [T(p_1)(y_1)/Z_1 * T(p_2)(eos)/Z_2] = Z_1 Z_2;
3. Doeblin minorization: min(1, w(y)/w(x)) >= w(y)/w* when w(x) <= w*, so P(x, .) >= (Z / w*) pi(.): the
   chain is uniformly ergodic with TV distance <= (1 - Z/w*)^n after n steps (Mengersen & Tweedie 1996).

The official code accepts every proposal (a 1-tuple is truthy; ledger entry imha_official); its chain then has
law q, not pi.
"""

import sympy as sp

from ._common import Step, equal, holds, nonnegative

CLAIM = "alg1"


def check() -> list[Step]:
    tx, qx, qy, z = sp.symbols("pi~_x q_x q_y Z", positive=True)
    d = sp.Symbol("d", nonnegative=True)
    s = sp.Symbol("s", positive=True)  # s = w(y)/w(x)
    ty = s * tx * qy / qx  # pi~(y) in terms of s
    up, down = 1 + d, 1 / (1 + d)  # s >= 1 and s <= 1

    def balance(ratio, forward, backward):
        """Both sides of detailed balance, the min(1, .) of each direction resolved to ``forward``/``backward``."""
        return (tx / z) * qy * forward, (ty.subs(s, ratio) / z) * qx * backward

    t1, t2, z1, z2 = sp.symbols("T_1 T_2 Z_1 Z_2", positive=True)
    weight = (t1 * t2) / ((t1 / z1) * (t2 / z2))
    w_star = sp.Symbol("w_star", positive=True)
    e = sp.Symbol("e", nonnegative=True)
    wx, wy = w_star / (1 + d), w_star / (1 + e)  # any weights <= w*
    return [
        Step("s = 1 + d >= 1: a(x, y) = min(1, s) = 1 and a(y, x) = min(1, 1/s) = 1/s",
             holds(sp.Ge(up, 1)) and nonnegative(sp.simplify(1 - 1 / up))),
        Step("detailed balance there: pi(x) q(y) * 1 = pi(y) q(x) / s", equal(*balance(up, 1, 1 / up))),
        Step("s = 1/(1 + d) <= 1: a(x, y) = s and a(y, x) = 1",
             nonnegative(sp.simplify(1 - down)) and holds(sp.Ge(sp.simplify(1 / down), 1))),
        Step("detailed balance there: pi(x) q(y) s = pi(y) q(x) * 1", equal(*balance(down, down, 1))),
        Step("w = pi~/q is the product of the per-step masses: Z_1 Z_2", equal(weight, z1 * z2)),
        Step("acceptance >= w(y)/w* when it is 1 (weights <= w*)", nonnegative(sp.simplify(1 - wy / w_star))),
        Step("acceptance >= w(y)/w* when it is w(y)/w(x)", nonnegative(sp.simplify(wy / wx - wy / w_star))),
        Step("q(y) w(y)/w* = pi~(y)/w* = (Z/w*) pi(y): the kernel is minorized by (Z/w*) pi",
             equal(qy * (ty / qy) / w_star, (z / w_star) * (ty / z))),
    ]
