"""Theorem 2, upper tail: the Chernoff bound P(S >= N(H + epsilon)) <= exp(-N (1 - alpha)(epsilon - Delta_alpha)).

docs/theory.md#b8, Theorem 2 with Eqs. 32-35 (Def. 2, Def. 4). With S = sum_{n<=N} -log p(y^(n)), y^(n) i.i.d. ~ p,
lambda = 1 - alpha in (0, 1), H_alpha = log(sum_y p^alpha)/(1 - alpha) and Delta_alpha = H_alpha - H:

    P(S >= N(H + eps)) <= e^(-lambda N (H + eps)) E[e^(lambda S)]                    (Markov on e^(lambda S))
                        = e^(-lambda N (H + eps)) (sum_y p(y)^(1 - lambda))^N          (independence)
                        = exp(-N (1 - alpha)(eps - Delta_alpha)),                     (34a-k)

and the exponent is positive iff Delta_alpha < eps (Eq. 35; such alpha < 1 exists by Lemma 1, see lemma1.py).
Statement checked (as in the paper; only the upper tail, the lower tail is thm2_lower.py): the Markov pointwise bound
1{s >= a} <= e^(lambda (s - a)) (solved), the one-draw moment E[e^(lambda I)] = sum p^(1 - lambda) on a 3-point
support, the factorisation over N = 2 i.i.d. draws on a 2-point support, the exponent identity with symbolic N,
lambda, H, eps and sum p^alpha, and the sign condition (solved for Delta_alpha).
"""

import sympy as sp

from ._common import Step, equal, holds, nonnegative, positive, solution_set

CLAIM = "thm2_upper"


def check() -> list[Step]:
    lam, entropy, epsilon, power_sum = sp.symbols("lambda H epsilon S_alpha", positive=True)
    corpus_size = sp.Symbol("N", integer=True, positive=True)
    alpha = 1 - lam
    steps = []

    total, threshold = sp.symbols("s a", real=True)
    markov_exponent = lam * (total - threshold)
    markov_region = solution_set(markov_exponent >= 0, total)
    steps.append(Step(
        "Markov, pointwise: e^(lambda (s - a)) >= e^0 = 1 exactly for lambda (s - a) >= 0, i.e. s >= a (solved; exp "
        "is increasing), and e^(.) >= 0 elsewhere, so 1{s >= a} <= e^(lambda (s - a))",
        markov_region == sp.Interval(threshold, sp.oo) and positive(sp.diff(sp.exp(markov_exponent), total))
        and nonnegative(sp.exp(markov_exponent)),
    ))

    probabilities = sp.symbols("p_1:4", positive=True)
    one_draw = sum(p * sp.exp(lam * -sp.log(p)) for p in probabilities)
    steps.append(Step(
        "one draw: E[e^(lambda I(Y))] = sum_y p(y) e^(-lambda log p(y)) = sum_y p(y)^(1 - lambda) (3 points)",
        equal(one_draw, sum(p ** (1 - lam) for p in probabilities)),
    ))
    first, second = sp.symbols("q_1 q_2", positive=True)
    pair = (first, second)
    two_draws = sum(a * b * sp.exp(lam * (-sp.log(a) - sp.log(b))) for a in pair for b in pair)
    steps.append(Step(
        "independence, N = 2 (2-point support): E[e^(lambda (I_1 + I_2))] = (sum_y p(y)^(1 - lambda))^2",
        equal(sp.expand(sp.powsimp(sp.expand(sp.expand_log(two_draws, force=True)), force=True)),
              sp.expand(sum(q ** (1 - lam) for q in pair) ** 2)),
    ))

    renyi = sp.log(power_sum) / (1 - alpha)
    gap = renyi - entropy
    bound = sp.exp(-lam * corpus_size * (entropy + epsilon)) * power_sum**corpus_size
    target = sp.exp(-corpus_size * (1 - alpha) * (epsilon - gap))
    steps.append(Step(
        "log sum p^(1-lambda) = lambda H_{1-lambda} (Def. 2 with alpha = 1 - lambda)",
        equal(sp.log(power_sum), lam * renyi),
    ))
    steps.append(Step(
        "(34): e^(-lambda N (H + eps)) (sum p^alpha)^N = exp(-N (1 - alpha)(eps - Delta_alpha)) (symbolic N)",
        equal(sp.expand_log(sp.log(bound), force=True), sp.expand_log(sp.log(target), force=True)),
    ))

    gap_symbol = sp.Symbol("Delta", real=True)
    exponent = corpus_size * lam * (epsilon - gap_symbol)
    steps.append(Step(
        "(35): the exponent N (1 - alpha)(eps - Delta_alpha) > 0 exactly when Delta_alpha < eps (solved)",
        solution_set(exponent > 0, gap_symbol) == sp.Interval.open(-sp.oo, epsilon),
    ))

    concrete = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]
    chosen_alpha, chosen_epsilon = sp.Rational(9, 10), sp.Rational(1, 10)
    concrete_entropy = -sum(p * sp.log(p) for p in concrete)
    concrete_gap = sp.log(sum(p**chosen_alpha for p in concrete)) / (1 - chosen_alpha) - concrete_entropy
    rate = (1 - chosen_alpha) * (chosen_epsilon - concrete_gap)
    steps.append(Step(
        "instance p = (1/2, 1/4, 1/4), eps = 1/10, alpha = 9/10: Delta_alpha < eps, so c(eps) = "
        "(1 - alpha)(eps - Delta_alpha) > 0",
        holds(concrete_gap < chosen_epsilon) and positive(rate),
    ))
    return steps
