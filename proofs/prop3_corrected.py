"""Proposition 3, corrected: an eos-bounded LM has finite Rényi entropy exactly above a threshold alpha_0.

docs/theory.md#c1 (corrected Prop. 3) and #c2 (geometric length tails), with #b8 (Def. 2-3, Eq. 28). The paper claims
finiteness for all small alpha, which is false (prop3.py); the corrected statement checked here is:

    if p(eos | y) >= xi > 0 for every prefix over a finite Sigma, then sum_y p(y)^alpha < infinity for every
    alpha > alpha_0 = log|Sigma| / (log|Sigma| + log(1/(1 - xi))),

and the same with rho in place of 1 - xi when only the length tail is geometric, P_n <= C rho^n (C2).

Derivation: (i) Hölder / Jensen for the concave x^alpha (0 < alpha < 1) over the m = |Sigma|^n strings of length n:
(1/m) sum q_i^alpha <= ((1/m) sum q_i)^alpha, i.e. sum_{|y|=n} p(y)^alpha <= |Sigma|^(n(1-alpha)) P_n^alpha;
(ii) with P_n <= (1 - xi)^n the bound is geometric with ratio rho(alpha) = |Sigma|^(1-alpha) (1 - xi)^alpha;
(iii) log rho(alpha) = (1-alpha) log|Sigma| - alpha log(1/(1-xi)) is strictly decreasing, equals 0 at alpha_0 and
is < 0 exactly for alpha > alpha_0. For the C1 model (|Sigma| = 2, xi = 1/2) alpha_0 = 1/2 and the bound is
attained, so the threshold is sharp (prop3.py shows divergence at alpha = 1/2). At alpha = 1 (Eq. 28),
H <= log|Sigma| E|Y| + H(|Y|), with equality on the C1 model (3 ln 2).
"""

import sympy as sp

from ._common import Step, equal, negative, nonnegative, positive, same_set, solution_set

CLAIM = "prop3_corrected"


def check() -> list[Step]:
    x = sp.Symbol("x", positive=True)
    spread = sp.Symbol("k", positive=True)
    alpha_in_unit = 1 / (1 + spread)  # every alpha in (0, 1) is 1/(1 + k) with k > 0
    alpha = sp.Symbol("alpha", positive=True)
    strings, mass = sp.symbols("m P_n", positive=True)
    steps = []

    steps.append(Step(
        "Jensen premise: d^2/dx^2 x^alpha = alpha (alpha - 1) x^(alpha - 2) < 0 for x > 0, alpha = 1/(1+k) in (0,1)",
        negative(sp.diff(x**alpha_in_unit, x, 2)),
    ))
    steps.append(Step(
        "Jensen conclusion rearranged: m ((1/m) P_n)^alpha = m^(1 - alpha) P_n^alpha",
        equal(sp.log(strings * (mass / strings) ** alpha), sp.log(strings ** (1 - alpha) * mass**alpha)),
    ))
    q1, q2 = sp.symbols("q_1 q_2", positive=True)
    half = sp.Rational(1, 2)
    holder_gap = 2 ** (1 - half) * (q1 + q2) ** half
    steps.append(Step(
        "Hölder instance m = 2, alpha = 1/2: (2^(1/2) (q1 + q2)^(1/2))^2 - (q1^(1/2) + q2^(1/2))^2 = "
        "(q1^(1/2) - q2^(1/2))^2 >= 0",
        equal(holder_gap**2 - (sp.sqrt(q1) + sp.sqrt(q2)) ** 2, (sp.sqrt(q1) - sp.sqrt(q2)) ** 2)
        and nonnegative((sp.sqrt(q1) - sp.sqrt(q2)) ** 2),
    ))

    # Geometric series: ratio rho(alpha) = |Sigma|^(1 - alpha) (1 - xi)^alpha.
    alphabet_size = sp.Symbol("V", positive=True)  # |Sigma| >= 2
    xi = sp.Symbol("xi", positive=True)  # 0 < xi < 1
    log_alphabet, log_inverse_tail = sp.symbols("L M", positive=True)  # L = log|Sigma|, M = log(1/(1 - xi))
    n = sp.Symbol("n", integer=True, nonnegative=True)
    length_bound = alphabet_size ** (n * (1 - alpha)) * ((1 - xi) ** n) ** alpha
    ratio = alphabet_size ** (1 - alpha) * (1 - xi) ** alpha
    steps.append(Step(
        "with P_n <= (1-xi)^n: |Sigma|^(n(1-alpha)) P_n^alpha <= rho(alpha)^n, rho = |Sigma|^(1-alpha) (1-xi)^alpha",
        equal(sp.expand_log(sp.log(length_bound), force=True), sp.expand_log(n * sp.log(ratio), force=True)),
    ))
    log_ratio = (1 - alpha) * log_alphabet - alpha * log_inverse_tail
    steps.append(Step(
        "log rho(alpha) = (1 - alpha) log|Sigma| - alpha log(1/(1 - xi))",
        equal(sp.expand_log(sp.log(ratio), force=True),
              log_ratio.subs({log_alphabet: sp.log(alphabet_size), log_inverse_tail: -sp.log(1 - xi)})),
    ))
    threshold = log_alphabet / (log_alphabet + log_inverse_tail)
    steps.append(Step(
        "rho(alpha) < 1 exactly for alpha > alpha_0 = log|Sigma|/(log|Sigma| + log(1/(1-xi))) (sympy solves)",
        same_set(solution_set(log_ratio < 0, alpha, sp.Interval.open(0, sp.oo)), sp.Interval.open(threshold, sp.oo)),
    ))
    steps.append(Step("log rho(alpha_0) = 0, i.e. rho(alpha_0) = 1", equal(log_ratio.subs(alpha, threshold), 0)))
    steps.append(Step(
        "d/d alpha log rho = -(log|Sigma| + log(1/(1-xi))) < 0: strictly decreasing",
        negative(sp.diff(log_ratio, alpha)),
    ))
    steps.append(Step("alpha_0 < 1 (so some alpha < 1 is admissible, as Lemma 1 and Thm. 2 need)",
                      positive(1 - threshold)))
    steps.append(Step(
        "geometric series: sum_n rho^n = 1/(1 - rho) for 0 < rho < 1 (sympy summation at rho = 1/2)",
        equal(sp.Sum(half**n, (n, 0, sp.oo)).doit(), 1 / (1 - half)),
    ))

    tail_rate = sp.Symbol("rho", positive=True)
    tail_constant = sp.Symbol("C", positive=True)
    tail_bound = alphabet_size ** (n * (1 - alpha)) * (tail_constant * tail_rate**n) ** alpha
    steps.append(Step(
        "C2: with P_n <= C rho^n the bound is C^alpha (|Sigma|^(1-alpha) rho^alpha)^n",
        equal(sp.expand_log(sp.log(tail_bound), force=True),
              sp.expand_log(sp.log(tail_constant**alpha * (alphabet_size ** (1 - alpha) * tail_rate**alpha) ** n),
                            force=True)),
    ))
    steps.append(Step(
        "C2: the same threshold with log(1/rho) for log(1/(1-xi)): alpha > log|Sigma|/(log|Sigma| + log(1/rho))",
        equal(sp.solve(sp.Eq(sp.expand_log(sp.log(alphabet_size ** (1 - alpha) * tail_rate**alpha), force=True), 0),
                       alpha)[0],
              sp.log(alphabet_size) / (sp.log(alphabet_size) - sp.log(tail_rate))),
    ))

    c1_threshold = sp.log(2) / (sp.log(2) + sp.log(1 / (1 - half)))
    steps.append(Step("C1 model (|Sigma| = 2, xi = 1/2): alpha_0 = 1/2", equal(c1_threshold, half)))
    c1_ratio = ratio.subs({alphabet_size: 2, xi: half})
    steps.append(Step(
        "C1 model: rho(alpha) = 2^(1-alpha) 2^(-alpha) = 2^(1-2 alpha), the exact ratio of prop3.py: the bound is "
        "attained and alpha_0 = 1/2 is sharp",
        equal(sp.log(c1_ratio), sp.log(2 ** (1 - 2 * alpha))),
    ))
    length_probability = 2 ** (-(n + 1))
    mean_length = sp.Sum(n * length_probability, (n, 0, sp.oo)).doit()
    length_entropy = sp.Sum(-length_probability * sp.log(length_probability), (n, 0, sp.oo)).doit()
    steps.append(Step(
        "(28) at alpha = 1 on the C1 model: log|Sigma| E|Y| + H(|Y|) = ln 2 * 1 + 2 ln 2 = 3 ln 2 = H(p) (equality)",
        equal(sp.log(2) * mean_length + length_entropy, 3 * sp.log(2)),
    ))
    return steps
