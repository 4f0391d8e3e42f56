"""Proposition 5: an eos-bounded LM has finite varentropy (corrected short proof).

docs/theory.md#b8, Prop. 5 and the "correct short proof" there (the paper's own steps (30a-j) are lost). Statement
checked: for gamma in (0, 1) and u in (0, 1],

    u log^2(1/u) <= 4 / (e^2 (1 - gamma)^2) * u^gamma,

hence sigma^2 = Var[-log p(Y)] <= E[log^2 p(Y)] = sum_y p log^2(1/p) <= 4/(e^2 (1-gamma)^2) sum_y p(y)^gamma,
which is finite for gamma in (alpha_0, 1) by the corrected Prop. 3 (prop3_corrected.py).

Derivation: put c = 1 - gamma > 0 and t = log(1/u) >= 0 (u = e^-t). Then u log^2(1/u) = u^gamma h(t) with
h(t) = t^2 e^(-c t). h'(t) = t e^(-ct) (2 - c t) vanishes at t = 0 and t = 2/c, is > 0 on (0, 2/c) and < 0 after,
h''(2/c) < 0, h(0) = 0 and h(t) -> 0 as t -> infinity, so max_{t >= 0} h = h(2/c) = 4/(c^2 e^2).
"""

import sympy as sp

from ._common import Step, equal, holds, negative, nonnegative, positive, solution_set

CLAIM = "prop5"


def check() -> list[Step]:
    t = sp.Symbol("t", nonnegative=True)
    t_real = sp.Symbol("t", real=True)
    c = sp.Symbol("c", positive=True)  # c = 1 - gamma
    gamma = 1 - c
    h = t**2 * sp.exp(-c * t)
    h_prime = sp.diff(h, t)
    peak = 2 / c
    maximum = 4 / (sp.E**2 * c**2)
    steps = [
        Step(
            "u log^2(1/u) = u^gamma h(t) with u = e^-t, h(t) = t^2 e^(-(1-gamma) t)",
            equal(sp.exp(-t) * sp.log(1 / sp.exp(-t)) ** 2, sp.exp(-t) ** gamma * h),
        ),
        Step("h'(t) = t e^(-ct) (2 - c t)", equal(h_prime, t * sp.exp(-c * t) * (2 - c * t))),
        Step("h'(t) = 0 exactly at t = 0 and t = 2/c = 2/(1-gamma)", set(sp.solve(h_prime, t)) == {0, peak}),
        Step(
            "sign of h': 2 - c t > 0 exactly for t < 2/c (solved), so h increases on (0, 2/c) and decreases after",
            solution_set(2 - c * t_real > 0, t_real) == sp.Interval.open(-sp.oo, peak),
        ),
        Step("h''(2/c) < 0: a maximum", negative(sp.diff(h, t, 2).subs(t, peak))),
        Step("h(2/c) = 4/(e^2 (1-gamma)^2)", equal(h.subs(t, peak), maximum)),
        Step("boundary values: h(0) = 0 and h(t) -> 0 as t -> oo",
             equal(h.subs(t, 0), 0) and sp.limit(h, t, sp.oo) == 0),
        Step("max_{t >= 0} h(t) = 4/(e^2 (1-gamma)^2) > 0", positive(maximum)),
    ]
    half = sp.Rational(1, 2)
    u = sp.Rational(1, 4)
    steps.append(Step(
        "instance gamma = 1/2, u = 1/4: u log^2(1/u) = (ln 4)^2/4 <= 16/e^2 * (1/4)^(1/2)",
        holds(u * sp.log(1 / u) ** 2 <= maximum.subs(c, 1 - half) * u**half),
    ))
    grid_ok = all(
        holds(sp.Rational(k, 20) * sp.log(sp.Rational(20, k)) ** 2 <= maximum.subs(c, 1 - g) * sp.Rational(k, 20) ** g)
        for g in (sp.Rational(1, 10), half, sp.Rational(9, 10)) for k in range(1, 21)
    )
    steps.append(Step(
        "the bound holds at u = k/20 (k = 1..20) for gamma = 1/10, 1/2, 9/10 (each comparison decided by sympy)",
        grid_ok,
    ))

    # The conclusion on the C1 model (p(y) = 1/2 4^-|y|, alpha_0 = 1/2) with gamma = 3/4 in (alpha_0, 1).
    # E[log^2 p(Y)] = sum_n 2^-(n+1) (ln 2 + n ln 4)^2 = (ln 2)^2/2 sum_n (1 + 2n)^2 x^n at x = 1/2; the moments
    # sum n^k x^n come from x d/dx applied to the geometric series 1/(1 - x) (|x| < 1), which is fast in sympy.
    n = sp.Symbol("n", integer=True, nonnegative=True)
    x = sp.Symbol("x", positive=True)
    geometric = 1 / (1 - x)
    first_moment = x * sp.diff(geometric, x)
    second_moment_series = x * sp.diff(first_moment, x)
    steps.append(Step(
        "sum_n n x^n = x/(1-x)^2 and sum_n n^2 x^n = x (1+x)/(1-x)^3 (x d/dx on the geometric series)",
        equal(first_moment, x / (1 - x) ** 2) and equal(second_moment_series, x * (1 + x) / (1 - x) ** 3),
    ))
    gamma_c1 = sp.Rational(3, 4)
    series = (geometric + 4 * first_moment + 4 * second_moment_series).subs(x, half)
    second_moment_c1 = sp.log(2) ** 2 / 2 * series
    power_sum_c1 = sp.Sum(2**n * (half * 4 ** (-n)) ** gamma_c1, (n, 0, sp.oo)).doit()
    steps.append(Step(
        "C1 model, gamma = 3/4: E[log^2 p(Y)] = 17 (ln 2)^2 <= 4/(e^2 (1/4)^2) sum_y p(y)^(3/4) < oo",
        equal(second_moment_c1, 17 * sp.log(2) ** 2) and
        bool(power_sum_c1.is_finite) and holds(second_moment_c1 <= maximum.subs(c, 1 - gamma_c1) * power_sum_c1),
    ))

    second_moment, entropy = sp.symbols("m_2 H", positive=True)
    steps.append(Step(
        "sigma^2 = E[log^2 p] - (E[-log p])^2 <= E[log^2 p], since the subtracted square is >= 0",
        nonnegative(second_moment - (second_moment - entropy**2)),
    ))
    return steps
