"""Proposition 4: the Rényi entropy H_alpha(p) is non-increasing in alpha.

docs/theory.md#b8, Prop. 4 and Eq. 29 (Def. 2). With H_alpha(p) = log(sum_y p(y)^alpha)/(1 - alpha) and the escort
distribution z_alpha(y) = p(y)^alpha / sum_y' p(y')^alpha,

    d/d alpha H_alpha(p) = [log sum p^alpha + (1 - alpha) sum_y z_alpha(y) log p(y)] / (1 - alpha)^2       (29a-e)
                         = sum_y z_alpha(y) log(p(y)/z_alpha(y)) / (1 - alpha)^2
                         = -KL(z_alpha || p) / (1 - alpha)^2 <= 0.                                        (29f-g)

Statement checked (as in the paper, for a finite support: only the general form is needed, not the eos-bounded one;
docs/theory.md#prop4): the derivative identity on a 3-point support with symbolic positive probabilities
(the algebra does not use sum p = 1 except in the KL >= 0 step), each rearrangement of Eq. 29 separately, Gibbs'
inequality KL >= 0 through log x <= x - 1, and strict decrease on a concrete non-uniform distribution.
"""

import sympy as sp

from ._common import Step, equal, holds, negative, positive

CLAIM = "prop4"


def _renyi(probabilities: list[sp.Expr], alpha: sp.Expr) -> sp.Expr:
    return sp.log(sum(p**alpha for p in probabilities)) / (1 - alpha)


def _escort(probabilities: list[sp.Expr], alpha: sp.Expr) -> list[sp.Expr]:
    total = sum(p**alpha for p in probabilities)
    return [p**alpha / total for p in probabilities]


def _kl(first: list[sp.Expr], second: list[sp.Expr]) -> sp.Expr:
    return sum(a * sp.log(a / b) for a, b in zip(first, second, strict=True))


def check() -> list[Step]:
    alpha = sp.Symbol("alpha", positive=True)
    probabilities = list(sp.symbols("p_1:4", positive=True))
    power_sum = sum(p**alpha for p in probabilities)
    escort = _escort(probabilities, alpha)
    derivative = sp.diff(_renyi(probabilities, alpha), alpha)
    middle = (sp.log(power_sum) + (1 - alpha) * sum(z * sp.log(p) for z, p in zip(escort, probabilities, strict=True))
              ) / (1 - alpha) ** 2
    steps = [
        Step("(29a-e): dH_alpha/d alpha = [log sum p^alpha + (1-alpha) sum z_alpha log p]/(1-alpha)^2 (3 points)",
             equal(derivative, middle)),
        Step("escort normalisation: sum z_alpha = 1", equal(sum(escort), 1)),
        Step(
            "(29f): log sum p^alpha + (1-alpha) sum z log p = sum z log(p/z) (uses log z = alpha log p "
            "- log sum p^alpha and sum z = 1)",
            equal(middle * (1 - alpha) ** 2,
                  sum(z * sp.log(p / z) for z, p in zip(escort, probabilities, strict=True))),
        ),
        Step("(29g): dH_alpha/d alpha = -KL(z_alpha || p)/(1 - alpha)^2 (3 points, symbolic)",
             equal(derivative, -_kl(escort, probabilities) / (1 - alpha) ** 2)),
    ]

    # Gibbs: log x <= x - 1, i.e. phi(x) = x - 1 - log x >= 0 with its minimum 0 at x = 1.
    x = sp.Symbol("x", positive=True)
    phi = x - 1 - sp.log(x)
    steps.append(Step(
        "Gibbs premise: phi(x) = x - 1 - log x has phi'(x) = 0 only at x = 1, phi'' = 1/x^2 > 0, phi(1) = 0",
        sp.solve(sp.diff(phi, x), x) == [1] and positive(sp.diff(phi, x, 2)) and equal(phi.subs(x, 1), 0),
    ))
    first, second = sp.symbols("p_1 p_2", positive=True)
    distribution = [first, second, 1 - first - second]
    escort_3 = _escort(distribution, alpha)
    gibbs_bound = sum(z * (p / z - 1) for z, p in zip(escort_3, distribution, strict=True))
    steps.append(Step(
        "Gibbs conclusion: -KL(z||p) = sum z log(p/z) <= sum z (p/z - 1) = sum p - sum z = 0 (p_3 = 1 - p_1 - p_2)",
        equal(gibbs_bound, 0),
    ))

    concrete = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6)]
    half = sp.Rational(1, 2)
    kl_at_half = _kl(_escort(concrete, half), concrete)
    steps.append(Step(
        "p = (1/2, 1/3, 1/6), alpha = 1/2: KL(z_alpha || p) > 0, so dH_alpha/d alpha < 0 there",
        holds(kl_at_half > 0),
    ))
    concrete_derivative = sp.diff(_renyi(concrete, alpha), alpha)
    steps.append(Step(
        "p = (1/2, 1/3, 1/6): the derivative and -KL/(1-alpha)^2 agree to 40 digits at alpha = 1/3, 1/2, 2, 3",
        all(abs(sp.N(concrete_derivative.subs(alpha, a) + _kl(_escort(concrete, a), concrete) / (1 - a) ** 2, 50))
            < sp.Float(10) ** -40 for a in (sp.Rational(1, 3), half, 2, 3)),
    ))
    entropy = -sum(p * sp.log(p) for p in concrete)
    steps.append(Step(
        "p = (1/2, 1/3, 1/6): H_{1/2} > H > H_2 (strictly decreasing through alpha = 1)",
        holds(_renyi(concrete, half) > entropy) and holds(entropy > _renyi(concrete, 2)),
    ))
    uniform = [sp.Rational(1, 3)] * 3
    steps.append(Step(
        "uniform p: H_alpha = log 3 for every alpha (KL(z||p) = 0: no strict decrease without non-triviality)",
        equal(_renyi(uniform, alpha), sp.log(3)),
    ))
    distance_from_one = sp.Symbol("d", real=True, nonzero=True)  # d = 1 - alpha
    steps.append(Step(
        "sign of the prefactor: -1/(1 - alpha)^2 < 0 for every real alpha != 1",
        negative(-1 / distance_from_one**2),
    ))
    return steps
