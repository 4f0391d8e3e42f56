"""Eq. 8: a globally normalized sampling adaptor is proportional to, and order-preserving in, its transform score.

docs/theory.md#b2, Eqs. 6-8, and #c7. The globally normalized adaptor is

    pi_T(y) = pi~_T(y) / Z_T,    pi~_T(y) = prod_{t=1}^{|y|+1} T(p(. | y_<t))(y_t),    Z_T = sum_y pi~_T(y).

Statement checked (corrected form of Eq. 8, C7): *if* 0 < Z_T < infinity, then

    pi_T(y) / pi_T(y') = pi~_T(y) / pi~_T(y')    and    pi~_T(y) > pi~_T(y')  <=>  pi_T(y) > pi_T(y'),

and pi_T sums to 1. The paper asks only Z_T < infinity; it also needs Z_T > 0, and Z_T can be infinite: for
temperature tau > 1 without truncation Z_T = sum_y p(y)^(1/tau) = exp((1 - 1/tau) H_{1/tau}(p)), and on the C1
model (Sigma = {a, b}, p(eos | .) = 1/2, p(y) = 1/2 * 4^-|y|)

    Z_T = sum_{n>=0} 2^n (1/2 * 4^-n)^(1/tau) = 2^(-1/tau) sum_n (2^(1 - 2/tau))^n,

a geometric series with ratio 2^(1 - 2/tau) >= 1 iff tau >= 2, so Z_T = infinity for every tau >= 2.

Derivation: the ratio identity is cancellation of Z_T; order preservation is pi_T(y) - pi_T(y') =
(pi~_T(y) - pi~_T(y')) / Z_T with Z_T > 0 (with Z_T < 0 the order would flip); the divergence is the geometric
series test after rewriting each length-n term.
"""

import sympy as sp

from ._common import Step, equal, holds, negative, positive, solution_set

CLAIM = "eq8"


def check() -> list[Step]:
    score, score_other, gap = sp.symbols("pi_tilde_y pi_tilde_y_prime d", positive=True)
    normalizer = sp.Symbol("Z_T", positive=True)
    negative_normalizer = sp.Symbol("Z_neg", negative=True)
    tau = sp.Symbol("tau", positive=True)
    n = sp.Symbol("n", integer=True, nonnegative=True)

    def adaptor(unnormalized: sp.Expr, z: sp.Expr = normalizer) -> sp.Expr:
        return unnormalized / z

    steps = [
        Step(
            "Eq. 8 (proportional form): pi(y)/pi(y') = pi~(y)/pi~(y') for 0 < Z_T < oo (Z_T cancels)",
            equal(adaptor(score) / adaptor(score_other), score / score_other),
        ),
        Step(
            "order preservation (=>): pi~(y) = pi~(y') + d with d > 0 gives pi(y) - pi(y') = d/Z_T > 0",
            positive(sp.simplify(adaptor(score_other + gap) - adaptor(score_other))),
        ),
        Step(
            "order preservation (<=): pi(y) = pi(y') + d with d > 0 gives pi~(y) - pi~(y') = Z_T d > 0",
            positive(sp.simplify(normalizer * (score_other / normalizer + gap) - score_other)),
        ),
        Step(
            "the hypothesis Z_T > 0 is needed: with Z_T < 0, pi~(y) > pi~(y') gives pi(y) < pi(y')",
            negative(sp.simplify(adaptor(score_other + gap, negative_normalizer) - adaptor(score_other,
                                                                                            negative_normalizer))),
        ),
    ]

    scores = sp.symbols("pi_tilde_1:4", positive=True)
    total = sum(scores)
    steps.append(Step(
        "tightness when 0 < Z_T < oo: with Z_T = sum pi~ (3 strings), sum_y pi~(y)/Z_T = 1",
        equal(sum(adaptor(s, total) for s in scores), 1),
    ))

    probability_sum = sp.Symbol("S_alpha", positive=True)
    renyi = sp.log(probability_sum) / (1 - 1 / tau)
    steps.append(Step(
        "C7: Z_T = sum_y p(y)^(1/tau) = exp((1 - 1/tau) H_{1/tau}(p)) with H_alpha = log(sum p^alpha)/(1-alpha)",
        equal(sp.exp((1 - 1 / tau) * renyi), probability_sum),
    ))

    string_probability = sp.Rational(1, 2) * 4 ** (-n)
    length_term = 2**n * string_probability ** (1 / tau)
    ratio = 2 ** (1 - 2 / tau)
    steps.append(Step(
        "C1 model: the length-n term 2^n (1/2 4^-n)^(1/tau) equals 2^(-1/tau) (2^(1-2/tau))^n",
        equal(sp.log(length_term), sp.log(2 ** (-1 / tau) * ratio**n)),
    ))
    divergent = solution_set(ratio >= 1, tau, sp.Interval.open(0, sp.oo))
    steps.append(Step(
        "C7: for tau > 0 the geometric ratio 2^(1-2/tau) >= 1 exactly when tau >= 2 (sympy solves the inequality)",
        divergent == sp.Interval(2, sp.oo),
    ))
    steps.append(Step(
        "C7: at tau = 2 the series Z_T = sum_n 2^n (1/2 4^-n)^(1/2) is infinite (sympy summation)",
        sp.Sum(length_term.subs(tau, 2), (n, 0, sp.oo)).doit() == sp.oo,
    ))
    finite_value = sp.Sum(length_term.subs(tau, sp.Rational(3, 2)), (n, 0, sp.oo)).doit()
    steps.append(Step(
        "C7: at tau = 3/2 (the paper's largest tau) Z_T is finite and > 1",
        bool(finite_value.is_finite) and holds(finite_value > 1),
    ))
    steps.append(Step(
        "C7: at tau = 1 the same series is sum_y p(y) = 1 (the model is tight)",
        equal(sp.Sum(length_term.subs(tau, 1), (n, 0, sp.oo)).doit(), 1),
    ))
    return steps
