"""Theorem 2, lower tail, corrected: P(S <= N(H - eps)) <= exp(-N (alpha' - 1)(eps - (H - H_alpha'))), alpha' > 1.

docs/theory.md#c3 (with #b8, Theorem 2, Eqs. 36-38). The paper obtains the lower tail "by symmetry" from the upper one;
that is wrong, because the Chernoff bound for the lower tail uses e^(-lambda S) and brings in Rényi entropies of
order alpha' = 1 + lambda > 1, not the gap Delta_alpha of alpha < 1. Statement checked (the corrected form): with
S = sum_{n<=N} -log p(y^(n)), lambda > 0, alpha' = 1 + lambda,

    P(S <= N(H - eps)) <= e^(lambda N (H - eps)) E[e^(-lambda S)] = e^(lambda N (H - eps)) (sum_y p^(1+lambda))^N
                        = exp(-N (alpha' - 1)(eps - (H - H_alpha'))),

H - H_alpha' >= 0 (Rényi entropy is non-increasing, prop4.py), and phi(alpha') = (alpha' - 1)(eps - (H - H_alpha'))
has phi(1^+) = 0 and phi'(1^+) = eps > 0, so phi > 0 just above 1: an admissible alpha' always exists (checked on a
concrete finite distribution with symbolic eps). The two tails have different exponents; the two-sided c(eps) is the
minimum of the two suprema (C3).
"""

import sympy as sp

from ._common import Step, equal, holds, nonnegative, positive, solution_set

CLAIM = "thm2_lower"


def check() -> list[Step]:
    lam, entropy, epsilon, power_sum = sp.symbols("lambda H epsilon S_alpha_prime", positive=True)
    corpus_size = sp.Symbol("N", integer=True, positive=True)
    order = 1 + lam  # alpha' > 1
    steps = []

    total, threshold = sp.symbols("s a", real=True)
    markov_exponent = -lam * (total - threshold)
    steps.append(Step(
        "Markov on e^(-lambda S): e^(-lambda (s - a)) >= 1 exactly for s <= a (solved), so "
        "1{s <= a} <= e^(-lambda (s - a))",
        solution_set(markov_exponent >= 0, total) == sp.Interval(-sp.oo, threshold)
        and nonnegative(sp.exp(markov_exponent)),
    ))
    probabilities = sp.symbols("p_1:4", positive=True)
    steps.append(Step(
        "one draw: E[e^(-lambda I(Y))] = sum_y p(y) e^(lambda log p(y)) = sum_y p(y)^(1 + lambda) (3 points)",
        equal(sum(p * sp.exp(-lam * -sp.log(p)) for p in probabilities), sum(p ** (1 + lam) for p in probabilities)),
    ))

    renyi = sp.log(power_sum) / (1 - order)
    bound = sp.exp(lam * corpus_size * (entropy - epsilon)) * power_sum**corpus_size
    target = sp.exp(-corpus_size * (order - 1) * (epsilon - (entropy - renyi)))
    steps.append(Step(
        "log sum p^(1+lambda) = -lambda H_{1+lambda} (Def. 2 with alpha' = 1 + lambda)",
        equal(sp.log(power_sum), -lam * renyi),
    ))
    steps.append(Step(
        "C3: e^(lambda N (H - eps)) (sum p^(1+lambda))^N = exp(-N (alpha' - 1)(eps - (H - H_alpha'))) (symbolic N)",
        equal(sp.expand_log(sp.log(bound), force=True), sp.expand_log(sp.log(target), force=True)),
    ))

    alpha = sp.Symbol("alpha", positive=True)
    concrete = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]
    concrete_entropy = -sum(p * sp.log(p) for p in concrete)

    def concrete_renyi(value: sp.Expr) -> sp.Expr:
        return sp.log(sum(p**value for p in concrete)) / (1 - value)

    steps.append(Step(
        "p = (1/2, 1/4, 1/4): H - H_2 = (3/2) log 2 - log(8/3) >= 0 (and H - H_{3/2} >= 0)",
        equal(concrete_renyi(2), sp.log(sp.Rational(8, 3)))
        and holds(concrete_entropy - concrete_renyi(2) >= 0)
        and holds(concrete_entropy - concrete_renyi(sp.Rational(3, 2)) >= 0),
    ))
    phi = (alpha - 1) * (epsilon - (concrete_entropy - concrete_renyi(alpha)))
    steps.append(Step(
        "p = (1/2, 1/4, 1/4): phi(alpha') = (alpha' - 1)(eps - (H - H_alpha')) -> 0 as alpha' -> 1^+ (sympy limit)",
        sp.limit(phi, alpha, 1, "+") == 0,
    ))
    steps.append(Step(
        "p = (1/2, 1/4, 1/4): phi'(alpha') -> eps > 0 as alpha' -> 1^+ (symbolic eps), so phi > 0 just above 1",
        equal(sp.limit(sp.diff(phi, alpha), alpha, 1, "+"), epsilon),
    ))
    chosen_epsilon, chosen_order = sp.Rational(1, 10), sp.Rational(11, 10)
    steps.append(Step(
        "instance eps = 1/10: alpha' = 11/10 gives a positive lower-tail rate phi(11/10) > 0",
        positive(phi.subs({epsilon: chosen_epsilon, alpha: chosen_order})),
    ))

    # The surprisal of (1/2, 1/4, 1/4) takes log 2 and log 4 with probability 1/2 each: symmetric about H, so the
    # two tails coincide there. (1/2, 1/3, 1/6) has a skewed surprisal and shows the asymmetry.
    skewed = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6)]
    skewed_entropy = -sum(p * sp.log(p) for p in skewed)

    def skewed_renyi(value: sp.Expr) -> sp.Expr:
        return sp.log(sum(p**value for p in skewed)) / (1 - value)

    half = sp.Rational(1, 2)
    upper_gap = skewed_renyi(1 - half) - skewed_entropy  # Delta_{1/2}: the upper tail at lambda = 1/2
    lower_gap = skewed_entropy - skewed_renyi(1 + half)  # H - H_{3/2}: the lower tail at lambda = 1/2
    steps.append(Step(
        "not symmetric: for p = (1/2, 1/3, 1/6) at lambda = 1/2, Delta_{1/2} = H_{1/2} - H = 0.0413 > "
        "H - H_{3/2} = 0.0360, so the lower-tail exponent is not the upper one",
        holds(upper_gap > lower_gap),
    ))
    return steps
