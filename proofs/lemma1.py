"""Lemma 1: the Rényi gap Delta_alpha = H_alpha - H can be made smaller than any epsilon > 0 with alpha < 1.

docs/theory.md#b8, Lemma 1 (with Def. 2, Def. 4 / Eq. 31) and #c4. Statement checked, in the form #c4 requires:
if H_alpha'(p) < infinity for some alpha' < 1 (which the corrected Prop. 3 gives for eos-bounded p, see
prop3_corrected.py), then lim_{alpha -> 1^-} H_alpha(p) = H(p), so Delta_alpha -> 0 and some alpha < 1 has
Delta_alpha < epsilon. The paper's hypotheses (non-trivial, eos-bounded) are stated via Prop. 3 in its false form;
finite Shannon entropy alone is not enough.

Derivation: for a finite distribution, H_alpha = N(alpha)/D(alpha) with N = log sum p^alpha, D = 1 - alpha, both 0 at
alpha = 1 (because sum p = 1), and L'Hôpital gives -N'(1)/1 = -sum p log p = H; this is checked symbolically on a
3-point support and by a sympy limit on a concrete rational distribution.
C4 counterexample: p_n = 1/(K n ln^3 n), n >= 2. K = sum 1/(n ln^3 n) is finite (integral test:
int dx/(x ln^3 x) = -1/(2 ln^2 x)); H is finite (after u = ln x the entropy integrand is (u + 3 ln u)/u^3 plus a
multiple of the normaliser's, integrable on [1, oo)); but for alpha = 1 - delta < 1, n p_n^alpha =
n^delta / (K ln^3 n)^alpha -> infinity, so p_n^alpha >= 1/n eventually and sum p_n^alpha = infinity:
H_alpha = infinity for every alpha < 1, and Lemma 1 fails for this p.
"""

import sympy as sp

from ._common import Step, equal, holds, positive

CLAIM = "lemma1"


def check() -> list[Step]:
    alpha = sp.Symbol("alpha", positive=True)
    first, second = sp.symbols("p_1 p_2", positive=True)
    distribution = [first, second, 1 - first - second]
    numerator = sp.log(sum(p**alpha for p in distribution))
    entropy = -sum(p * sp.log(p) for p in distribution)
    steps = [
        Step("L'Hôpital premise: N(1) = log sum p = log 1 = 0 (3 points, p_3 = 1 - p_1 - p_2)",
             equal(numerator.subs(alpha, 1), 0)),
        Step("L'Hôpital: N'(1) / D'(1) with D = 1 - alpha equals H = -sum p log p (3 points, symbolic)",
             equal(sp.diff(numerator, alpha).subs(alpha, 1) / sp.diff(1 - alpha, alpha), entropy)),
    ]
    concrete = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]
    renyi = sp.log(sum(p**alpha for p in concrete)) / (1 - alpha)
    concrete_entropy = -sum(p * sp.log(p) for p in concrete)
    steps.append(Step(
        "p = (1/2, 1/4, 1/4): lim_{alpha -> 1^-} H_alpha = H = (3/2) log 2 (sympy limit)",
        equal(sp.limit(renyi, alpha, 1, "-"), concrete_entropy)
        and equal(concrete_entropy, sp.Rational(3, 2) * sp.log(2)),
    ))
    epsilon = sp.Rational(1, 100)
    chosen = sp.Rational(49, 50)
    steps.append(Step(
        "so for epsilon = 1/100 an alpha < 1 exists: alpha = 49/50 gives 0 <= Delta_alpha < epsilon",
        holds(renyi.subs(alpha, chosen) - concrete_entropy < epsilon)
        and holds(renyi.subs(alpha, chosen) - concrete_entropy >= 0),
    ))

    # C4 counterexample p_n ∝ 1/(n ln^3 n).
    x = sp.Symbol("x", positive=True)
    u = sp.Symbol("u", positive=True)
    n = sp.Symbol("n", positive=True)
    delta = sp.Symbol("delta", positive=True)  # alpha = 1 - delta
    normaliser = sp.Symbol("K", positive=True)
    steps.append(Step(
        "C4: d/dx [-1/(2 ln^2 x)] = 1/(x ln^3 x), and int_2^oo dx/(x ln^3 x) = 1/(2 ln^2 2) < oo: K is finite",
        equal(sp.diff(-1 / (2 * sp.log(x) ** 2), x), 1 / (x * sp.log(x) ** 3))
        and equal(sp.integrate(1 / (x * sp.log(x) ** 3), (x, 2, sp.oo)), 1 / (2 * sp.log(2) ** 2)),
    ))
    probability = 1 / (normaliser * x * sp.log(x) ** 3)
    entropy_integrand = -probability * sp.log(probability)
    steps.append(Step(
        "C4: -p log p = [log K + ln x + 3 ln ln x] / (K x ln^3 x)",
        equal(entropy_integrand,
              (sp.log(normaliser) + sp.log(x) + 3 * sp.log(sp.log(x))) / (normaliser * x * sp.log(x) ** 3)),
    ))
    substituted = ((u + 3 * sp.log(u)) / u**3)
    steps.append(Step(
        "C4: with u = ln x (du = dx/x), (ln x + 3 ln ln x)/(x ln^3 x) dx = (u + 3 ln u)/u^3 du",
        equal(((sp.log(x) + 3 * sp.log(sp.log(x))) / (x * sp.log(x) ** 3)) * x, substituted.subs(u, sp.log(x))),
    ))
    tail_integral = sp.integrate(substituted, (u, 1, sp.oo))
    steps.append(Step(
        "C4: int_1^oo (u + 3 ln u)/u^3 du = 7/4 < oo (x >= e), so H(p) < oo by the integral test",
        equal(tail_integral, sp.Rational(7, 4)),
    ))
    slope = sp.diff(substituted, u)
    slope_numerator = 3 - 2 * u - 9 * sp.log(u)
    steps.append(Step(
        "C4: the entropy summand g(ln x)/x, g(u) = (u + 3 ln u)/u^3, is decreasing for x >= e^2 (integral test "
        "applies): g'(u) = (3 - 2u - 9 ln u)/u^4, whose numerator is decreasing in u and < 0 at u = 2",
        equal(slope, slope_numerator / u**4) and positive(-sp.diff(slope_numerator, u))
        and holds(slope_numerator.subs(u, 2) < 0),
    ))
    scaled = n * (1 / (normaliser * n * sp.log(n) ** 3)) ** (1 - delta)
    steps.append(Step(
        "C4: n p_n^alpha = n^delta / (K ln^3 n)^alpha",
        equal(sp.log(scaled), sp.log(n**delta / (normaliser * sp.log(n) ** 3) ** (1 - delta))),
    ))
    steps.append(Step(
        "C4: n^delta / ln^(3 alpha) n -> oo for every delta = 1 - alpha > 0 (sympy limit, symbolic delta)",
        sp.limit(n**delta / sp.log(n) ** (3 * (1 - delta)), n, sp.oo) == sp.oo,
    ))
    index = sp.Symbol("k", integer=True, positive=True)
    steps.append(Step(
        "C4: so p_n^alpha >= 1/n for large n, and sum 1/n diverges: H_alpha = oo for all alpha < 1",
        sp.Sum(1 / index, (index, 1, sp.oo)).is_convergent() is sp.false,
    ))
    steps.append(Step(
        "C4: whereas sum 1/(n ln^3 n) converges (sympy's convergence test agrees with the integral test)",
        sp.Sum(1 / (index * sp.log(index) ** 3), (index, 2, sp.oo)).is_convergent() is sp.true,
    ))
    return steps
