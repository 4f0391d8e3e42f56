"""Proposition 2: Baer's language model is tight and has infinite entropy.

docs/theory.md#b7 (Example 2, Eqs. 23-25) and #c11. Over Sigma = {a}, for n >= 0, with f(x) = 1/log2(x) = ln 2/ln x,

    p(a^n) = f(n+2) - f(n+3) = 1/log2(n+2) - 1/log2(n+3).                                           (23)

Statement checked (as in docs/theory.md#prop2; the paper's indexing is uncertain):
* tight: S(N) = sum_{n=0}^{N-1} p(a^n) = 1 - f(N+2) (induction: S(0) = 0, S(N+1) - S(N) = p(a^N)) -> 1, and
  every term is > 0 because f'(x) = -ln 2/(x ln^2 x) < 0 for x > 1;
* infinite entropy: f''(x) = ln 2 (ln x + 2)/(x^2 ln^3 x) > 0 for x > 1, so -f' is decreasing and
  p(a^n) = int_{n+2}^{n+3} -f'(x) dx >= g(n) := -f'(n+3) = ln 2/((n+3) ln^2(n+3)); then
  -g log g = g [ln(x+3) + 2 ln ln(x+3) - ln ln 2] (the integrand of (25)) dominates ln 2/((x+3) ln(x+3)) for
  x >= 1, whose integral ln 2 (ln ln(X+3) - ln ln 4) -> infinity;
* not eos-bounded: P(|Y| >= n) = f(n+2), so p(eos | a^n) = 1 - log2(n+2)/log2(n+3) -> 0;
* C11 nit: p(a^0) = 1 - 1/log2 3 > 1/e, so the "-x log x is increasing below 1/e" step must drop n = 0.

The step from "-p log p >= -g log g termwise (n >= 1)" and the integral test to H = infinity uses that
-x log x is increasing on (0, 1/e) and that the summand is decreasing; the derivative facts are checked here.
"""

import sympy as sp

from ._common import Step, equal, holds, negative, positive

CLAIM = "prop2"


def check() -> list[Step]:
    x = sp.Symbol("x", positive=True)
    above_one = sp.Symbol("s", positive=True)  # x = 1 + s > 1
    n = sp.Symbol("n", integer=True, nonnegative=True)
    count = sp.Symbol("N", integer=True, nonnegative=True)
    upper = sp.Symbol("X", positive=True)

    def f(argument: sp.Expr) -> sp.Expr:
        return sp.log(2) / sp.log(argument)

    def probability(index: sp.Expr) -> sp.Expr:
        return f(index + 2) - f(index + 3)

    def partial_sum(terms: sp.Expr) -> sp.Expr:
        return 1 - f(terms + 2)

    first_derivative = sp.diff(f(x), x)
    second_derivative = sp.diff(f(x), x, 2)
    g = -first_derivative.subs(x, n + 3)
    steps = [
        Step("f(x) = 1/log2(x) equals ln 2 / ln x", equal(1 / (sp.log(x) / sp.log(2)), f(x))),
        Step("tightness, induction base: S(0) = 1 - f(2) = 0 (base 2 makes f(2) = 1)", equal(partial_sum(0), 0)),
        Step(
            "tightness, induction step: S(N+1) - S(N) = f(N+2) - f(N+3) = p(a^N)",
            equal(partial_sum(count + 1) - partial_sum(count), probability(count)),
        ),
        Step("tightness: lim_{N->oo} S(N) = lim 1 - f(N+2) = 1", sp.limit(partial_sum(count), count, sp.oo) == 1),
        Step("f'(x) = -ln 2/(x ln^2 x)", equal(first_derivative, -sp.log(2) / (x * sp.log(x) ** 2))),
        Step("f'(x) < 0 for x = 1 + s > 1, so every p(a^n) > 0", negative(first_derivative.subs(x, 1 + above_one))),
        Step(
            "f''(x) = ln 2 (ln x + 2)/(x^2 ln^3 x)",
            equal(second_derivative, sp.log(2) * (sp.log(x) + 2) / (x**2 * sp.log(x) ** 3)),
        ),
        Step("f''(x) > 0 for x > 1 (convexity), so -f' is decreasing",
             positive(second_derivative.subs(x, 1 + above_one))),
        Step(
            "mean value form: p(a^n) = int_{n+2}^{n+3} -f'(x) dx, hence >= -f'(n+3) = g(n) as -f' decreases",
            equal(sp.integrate(-first_derivative, (x, n + 2, n + 3)), probability(n)),
        ),
        Step("g(n) = ln 2/((n+3) ln^2(n+3))", equal(g, sp.log(2) / ((n + 3) * sp.log(n + 3) ** 2))),
    ]
    steps.append(Step(
        "p(a^n) >= g(n) on the exact instances n = 0..5 (sympy decides each comparison)",
        all(holds(probability(k) >= g.subs(n, k)) for k in range(6)),
    ))
    steps.append(Step(
        "g(0) = ln 2/(3 ln^2 3) = 0.191 (to 3 decimals) and g(0) < 1/e",
        abs(sp.N(g.subs(n, 0), 30) - sp.Rational(191, 1000)) < sp.Rational(5, 10000)
        and holds(g.subs(n, 0) < sp.exp(-1)),
    ))

    g_of_x = sp.log(2) / ((x + 3) * sp.log(x + 3) ** 2)
    integrand_25 = g_of_x * (sp.log(x + 3) + 2 * sp.log(sp.log(x + 3)) - sp.log(sp.log(2)))
    steps.append(Step(
        "(25): -g log g = g [ln(x+3) + 2 ln ln(x+3) - ln ln 2]",
        equal(-g_of_x * sp.log(g_of_x), integrand_25),
    ))
    harmonic_log = sp.log(2) / ((x + 3) * sp.log(x + 3))
    excess = g_of_x * (2 * sp.log(sp.log(x + 3)) - sp.log(sp.log(2)))
    steps.append(Step(
        "(25): integrand - ln 2/((x+3) ln(x+3)) = g(x) [2 ln ln(x+3) - ln ln 2]",
        equal(integrand_25 - harmonic_log, excess),
    ))
    steps.append(Step(
        "that excess is >= 0 for x >= 1: ln ln(x+3) is increasing (derivative > 0), ln ln 4 > 0 and -ln ln 2 > 0",
        positive(sp.diff(sp.log(sp.log(x + 3)), x)) and holds(sp.log(sp.log(4)) > 0) and holds(-sp.log(sp.log(2)) > 0),
    ))
    divergent_integral = sp.integrate(harmonic_log, (x, 1, upper))
    steps.append(Step(
        "ln 2 int_1^X dx/((x+3) ln(x+3)) = ln 2 (ln ln(X+3) - ln ln 4)",
        equal(divergent_integral, sp.log(2) * (sp.log(sp.log(upper + 3)) - sp.log(sp.log(4)))),
    ))
    steps.append(Step(
        "... which tends to oo as X -> oo, so H(p) = oo",
        sp.limit(divergent_integral, upper, sp.oo) == sp.oo,
    ))

    tail = f(n + 2)  # P(|Y| >= n) = sum_{m >= n} p(a^m), by the same telescoping with f -> 0
    eos = probability(n) / tail
    steps.append(Step("f(x) -> 0 as x -> oo, so P(|Y| >= n) = f(n+2)", sp.limit(f(x), x, sp.oo) == 0))
    steps.append(Step(
        "p(eos | a^n) = p(a^n)/P(|Y| >= n) = 1 - log2(n+2)/log2(n+3)",
        equal(eos, 1 - (sp.log(n + 2) / sp.log(2)) / (sp.log(n + 3) / sp.log(2))),
    ))
    steps.append(Step("p(eos | a^n) -> 0: not eos-bounded", sp.limit(eos, n, sp.oo) == 0))
    steps.append(Step(
        "C11 nit: p(a^0) = 1 - 1/log2 3 > 1/e, so the n = 0 term must be dropped from the 1/e argument",
        holds(probability(0) > sp.exp(-1)),
    ))
    return steps
