"""Corollary 3: the Rényi gap Delta_alpha = H_alpha - H is non-negative for alpha in (0, 1).

docs/theory.md#b8, Corollary 3 with Def. 4 / Eq. 31, and #c4. Statement checked, with the hypothesis #c4 adds: for any p
with H(p) < infinity (otherwise Delta_alpha = infinity - infinity is undefined; eos-boundedness, which the paper
inherits from Prop. 4, is not needed) and alpha in (0, 1), Delta_alpha(p) >= 0, with equality for a uniform p.

Derivation (Jensen, without Prop. 4): by concavity of log, with weights p(y),

    log sum_y p(y)^alpha = log sum_y p(y) p(y)^(alpha - 1) >= sum_y p(y) log p(y)^(alpha - 1) = (1 - alpha) H(p),

and dividing by 1 - alpha > 0 gives H_alpha >= H. Checked: log'' < 0; the two rearrangements; the 2-point Jensen
inequality in closed form (its value at the midpoint and its sign via a derivative); exact instances.
"""

import sympy as sp

from ._common import Step, equal, holds, negative, nonnegative

CLAIM = "cor3"


def check() -> list[Step]:
    x = sp.Symbol("x", positive=True)
    alpha = sp.Symbol("alpha", positive=True)
    probabilities = list(sp.symbols("p_1:4", positive=True))
    steps = [
        Step("log is concave: d^2/dx^2 log x = -1/x^2 < 0", negative(sp.diff(sp.log(x), x, 2))),
        Step(
            "sum_y p(y) p(y)^(alpha - 1) = sum_y p(y)^alpha (3 points)",
            equal(sum(p * p ** (alpha - 1) for p in probabilities), sum(p**alpha for p in probabilities)),
        ),
        Step(
            "sum_y p(y) log p(y)^(alpha - 1) = (1 - alpha) H(p) with H = -sum p log p (3 points)",
            equal(sum(p * sp.log(p ** (alpha - 1)) for p in probabilities),
                  (1 - alpha) * -sum(p * sp.log(p) for p in probabilities)),
        ),
    ]

    # Jensen for two points, weights w and 1 - w: J(w) = log(w a + (1-w) b) - w log a - (1-w) log b >= 0.
    weight = sp.Symbol("w", positive=True)
    a, b = sp.symbols("a b", positive=True)
    jensen_gap = sp.log(weight * a + (1 - weight) * b) - weight * sp.log(a) - (1 - weight) * sp.log(b)
    steps.append(Step(
        "2-point Jensen: J(w) = log(w a + (1-w) b) - w log a - (1-w) log b vanishes at w = 0 and w = 1 and is "
        "concave in w (J'' = -(a - b)^2/(w a + (1-w) b)^2 < 0 for a != b, w = 1/(1+k) in (0, 1)), hence J >= 0 "
        "on [0, 1]",
        equal(jensen_gap.subs(weight, 0), 0) and equal(jensen_gap.subs(weight, 1), 0)
        and equal(sp.diff(jensen_gap, weight, 2), -((a - b) ** 2) / (weight * a + (1 - weight) * b) ** 2)
        and negative(sp.diff(jensen_gap, weight, 2).subs({b: a + sp.Symbol("d", positive=True),
                                                          weight: 1 / (1 + sp.Symbol("k", positive=True))})),
    ))
    jensen_excess = sp.Symbol("G", nonnegative=True)  # G = log sum p^alpha - (1 - alpha) H >= 0 by Jensen
    shannon = sp.Symbol("H", positive=True)
    alpha_in_unit = 1 / (1 + sp.Symbol("k", positive=True))  # every alpha in (0, 1)
    renyi = (jensen_excess + (1 - alpha_in_unit) * shannon) / (1 - alpha_in_unit)
    steps.append(Step(
        "dividing by 1 - alpha > 0: with log sum p^alpha = (1 - alpha) H + G, G >= 0, "
        "Delta_alpha = H_alpha - H = G/(1 - alpha) >= 0 (alpha = 1/(1+k) in (0, 1))",
        equal(renyi - shannon, jensen_excess / (1 - alpha_in_unit)) and nonnegative(sp.simplify(renyi - shannon)),
    ))

    concrete = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6)]
    entropy = -sum(p * sp.log(p) for p in concrete)
    renyi_half = 2 * sp.log(sum(sp.sqrt(p) for p in concrete))
    steps.append(Step(
        "p = (1/2, 1/3, 1/6): Delta_{1/2} = 2 log(sum sqrt p) - H > 0 (decided exactly by sympy)",
        holds(renyi_half - entropy > 0),
    ))
    steps.append(Step(
        "p = (1/2, 1/3, 1/6): Delta_alpha > 0 also at alpha = 1/10, 9/10",
        all(holds(sp.log(sum(p**value for p in concrete)) / (1 - value) - entropy > 0)
            for value in (sp.Rational(1, 10), sp.Rational(9, 10))),
    ))
    uniform = [sp.Rational(1, 3)] * 3
    steps.append(Step(
        "uniform p on 3 points: Delta_alpha = log 3 - log 3 = 0 for every alpha (equality case)",
        equal(sp.log(sum(p**alpha for p in uniform)) / (1 - alpha), -sum(p * sp.log(p) for p in uniform)),
    ))
    return steps
