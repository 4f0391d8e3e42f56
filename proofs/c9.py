"""C9: "typical corpora are more probable" is false per corpus.

Paper §3 and §6.1. For N i.i.d. draws from p with entropy H, the corpus c that repeats the mode N times has
log p(c) = N log p_max. A typical corpus (|-(1/N) log p(c') - H| < epsilon) has log p(c') < -N (H - epsilon). So the
mode corpus is more probable than every typical corpus as soon as epsilon < H + log p_max, and it is itself
atypical then (its mean surprisal -log p_max lies below H - epsilon). H + log p_max = sum_i p_i log(p_max / p_i) >= 0,
and > 0 unless p is uniform on its support, so such epsilon exist for every non-uniform p.

Checked: the mode corpus's log-probability; the typical corpora's bound rearranged; the inequality in epsilon;
H + log p_max as a sum of non-negative terms (3 points, p_1 the mode: the identity and each term's sign).
"""

import sympy as sp

from ._common import Step, equal, nonnegative, positive

CLAIM = "c9"


def check() -> list[Step]:
    n = sp.Symbol("N", positive=True)
    eps, h = sp.symbols("epsilon H", positive=True)
    pmax = sp.Symbol("p_max", positive=True)
    lp = sp.Symbol("l")  # log p of a typical corpus
    steps = [
        Step("log p(mode corpus) = sum of N equal terms log p_max = N log p_max",
             equal(sp.summation(sp.log(pmax), (sp.Symbol("i", integer=True), 1, sp.Symbol("K", integer=True,
                                                                                            positive=True))),
                   sp.Symbol("K", integer=True, positive=True) * sp.log(pmax))),
        Step("typical: -(1/N) l < H + epsilon and > H - epsilon, so l < -N (H - epsilon): the bound's slack is "
             "N (H - epsilon) + l > 0",
             equal(sp.expand(n * ((-lp / n) - (h - eps))), -lp - n * (h - eps))),
        Step("N log p_max > -N (H - epsilon) exactly when epsilon < H + log p_max (N > 0)",
             equal(sp.expand(n * sp.log(pmax) + n * (h - eps)), n * (h + sp.log(pmax) - eps))
             and positive(n * (h + sp.log(pmax) - eps).subs(eps, h + sp.log(pmax) - sp.Symbol("d", positive=True)))),
    ]
    # three points, p1 the mode: p2 = p1 / (1 + a), p3 = p1 / (1 + b) with a, b >= 0
    p1 = sp.Symbol("p_1", positive=True)
    a, b = sp.symbols("a b", nonnegative=True)
    p2, p3 = p1 / (1 + a), p1 / (1 + b)
    entropy = -(p1 * sp.log(p1) + p2 * sp.log(p2) + p3 * sp.log(p3))
    total = p1 + p2 + p3
    # with total = 1: H + log p1 = sum_i p_i log(p1 / p_i)
    steps.append(Step("H + log p_max = sum_i p_i log(p_max / p_i) when the p_i sum to 1 (3 points)",
                      equal(sp.expand_log(entropy + total * sp.log(p1), force=True),
                            sp.expand_log(p2 * sp.log(p1 / p2) + p3 * sp.log(p1 / p3), force=True))))
    steps.append(Step("each term p_i log(p_max / p_i) = p_i log(1 + a_i) >= 0, so H + log p_max >= 0",
                      nonnegative(sp.expand_log(p2 * sp.log(p1 / p2), force=True))
                      and nonnegative(sp.expand_log(p3 * sp.log(p1 / p3), force=True))))
    return steps
