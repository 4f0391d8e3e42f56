"""Proposition 3 as the paper states it is false for small alpha: a counterexample.

docs/theory.md#b8 (Prop. 3, Def. 2-3, Eq. 27) and #c1. The paper's Prop. 3 (best reconstruction): an eos-bounded LM has
H_alpha(p) = log(sum_y p(y)^alpha)/(1 - alpha) < infinity for alpha in a range containing (0, 1). That is false;
the corrected statement (finite only for alpha > alpha_0) is proved in prop3_corrected.py.

Counterexample checked: Sigma = {a, b}, p(a | .) = p(b | .) = 1/4, p(eos | .) = 1/2, so the LM is eos-bounded with
xi = 1/2, tight, and p(y) = 1/2 * 4^-|y| (2^n strings of length n). Then

    sum_y p(y)^alpha = sum_n 2^n (1/2 4^-n)^alpha = 2^-alpha sum_n (2^(1 - 2 alpha))^n,

a geometric series whose ratio 2^(1 - 2 alpha) is >= 1 exactly for alpha <= 1/2, so H_alpha = infinity for every
alpha in (0, 1/2], while H(p) = sum_n 2^-(n+1) (ln 2 + n ln 4) = 3 ln 2 < infinity.

Where the paper's Case 1 goes wrong: for alpha in (0, 1), x -> x^alpha is sub-additive, (x + y)^alpha <= x^alpha +
y^alpha, so sum_{|y|=n} p(y)^alpha >= P_n^alpha (P_n = P(|Y| = n)), not <=; in the counterexample the ratio of the
two sides is 2^(n(1 - alpha)) > 1.
"""

import sympy as sp

from ._common import Step, equal, holds, positive, solution_set

CLAIM = "prop3"


def check() -> list[Step]:
    alpha = sp.Symbol("alpha", positive=True)
    n = sp.Symbol("n", integer=True, nonnegative=True)
    half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)

    string_probability = quarter**n * half  # n symbols at 1/4 each, then eos at 1/2
    length_probability = 2**n * string_probability
    steps = [
        Step("p(y) = (1/4)^|y| * 1/2 = 1/2 * 4^-|y|", equal(string_probability, half * 4 ** (-n))),
        Step(
            "tight: sum_n 2^n * 1/2 * 4^-n = 1 (sympy summation)",
            equal(sp.Sum(length_probability, (n, 0, sp.oo)).doit(), 1),
        ),
        Step("eos-bounded with xi = 1/2: p(eos | .) = 1 - 2 * 1/4 = 1/2 > 0", holds(sp.Eq(1 - 2 * quarter, half))),
    ]

    power_term = 2**n * string_probability**alpha
    ratio = 2 ** (1 - 2 * alpha)
    steps.append(Step(
        "sum_{|y|=n} p(y)^alpha = 2^n (1/2 4^-n)^alpha = 2^-alpha (2^(1-2 alpha))^n",
        equal(sp.log(power_term), sp.log(2 ** (-alpha) * ratio**n)),
    ))
    steps.append(Step(
        "for alpha > 0 the ratio 2^(1-2 alpha) >= 1 exactly when alpha <= 1/2 (sympy solves the inequality)",
        solution_set(ratio >= 1, alpha, sp.Interval.open(0, sp.oo)) == sp.Interval.Lopen(0, half),
    ))
    steps.append(Step(
        "alpha = 1/2: sum_y p(y)^(1/2) = sum_n 2^(-1/2) = oo, so H_{1/2} = oo",
        sp.Sum(power_term.subs(alpha, half), (n, 0, sp.oo)).doit() == sp.oo,
    ))
    steps.append(Step(
        "alpha = 2/5: sum_y p(y)^(2/5) = oo as well (ratio 2^(1/5) > 1)",
        sp.Sum(power_term.subs(alpha, sp.Rational(2, 5)), (n, 0, sp.oo)).doit() == sp.oo,
    ))
    finite = sp.Sum(power_term.subs(alpha, sp.Rational(3, 5)), (n, 0, sp.oo)).doit()
    steps.append(Step(
        "alpha = 3/5: finite, ratio 2^(-1/5) = 0.871 (docs/theory.md#d5)",
        bool(finite.is_finite)
        and abs(sp.N(2 ** sp.Rational(-1, 5), 20) - sp.Rational(871, 1000)) < sp.Rational(1, 1000),
    ))

    entropy_terms = length_probability * (-sp.log(string_probability))
    steps.append(Step(
        "length-n contribution to H: 2^n p (-log p) = 2^-(n+1) (ln 2 + n ln 4)",
        equal(sp.expand_log(entropy_terms, force=True), 2 ** (-(n + 1)) * (sp.log(2) + n * sp.log(4))),
    ))
    steps.append(Step(
        "H(p) = sum_n 2^-(n+1) (ln 2 + n ln 4) = 3 ln 2 < oo (sympy summation)",
        equal(sp.Sum(2 ** (-(n + 1)) * (sp.log(2) + n * sp.log(4)), (n, 0, sp.oo)).doit(), 3 * sp.log(2)),
    ))

    # Sub-additivity of x^alpha: the paper's Case 1 inequality is backwards.
    x_part = y_part = quarter
    steps.append(Step(
        "sub-additivity instance x = y = 1/4, alpha = 1/2: (x + y)^alpha = 2^(-1/2) < x^alpha + y^alpha = 1",
        holds((x_part + y_part) ** half < x_part**half + y_part**half),
    ))
    length_mass = 2 ** (-(n + 1))
    backwards_ratio = power_term / length_mass**alpha
    steps.append(Step(
        "counterexample: sum_{|y|=n} p^alpha / P_n^alpha = 2^(n(1-alpha)), with P_n = 2^-(n+1)",
        equal(sp.log(backwards_ratio), sp.log(2 ** (n * (1 - alpha)))),
    ))
    gap = sp.Symbol("h", positive=True)
    at_least_one = sp.Symbol("m", integer=True, positive=True)
    steps.append(Step(
        "for alpha = 1 - h < 1 and n >= 1, 2^(n(1-alpha)) > 1: so sum p^alpha > P_n^alpha, the reverse of Case 1",
        positive(sp.log(2 ** (at_least_one * gap))),
    ))
    return steps
