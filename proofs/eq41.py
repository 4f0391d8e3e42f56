"""Eqs. 13 / 41: pushing a global sampling adaptor onto the prior is exact only at tau = 1 (corrected form).

docs/theory.md#b4 (Eq. 13), #b9 (Eqs. 39, 41a-c, Example 4) and #c6. Token-level Bayes, with the prefix acceptance
a_t = p(A=+ | y_<=t) (a_0 = p(A=+), a_{T+1} = p(A=+ | y) once eos is read):

    p(v | y_<t, A=+) = p_prior(v | y_<t) a_t / a_{t-1},
    prod_{t=1}^{T+1} p(y_t | y_<t, A=+) = p_prior(y) p(A=+ | y) / p(A=+)           (telescoping).

For the temperature adaptor S(p)(v) = p(v)^(1/tau) (Example 4, no truncation) the global adaptor of the aligned
model is therefore

    prod_t S(p(. | y_<t, A=+))(y_t) = [p(A=+ | y) p_prior(y) / p(A=+)]^(1/tau)                       (C6)

whereas the paper's Eq. 13/41 form is p(A=+ | y) prod_t S(p_prior(. | y_<t))(y_t) = p(A=+ | y) p_prior(y)^(1/tau).
Their ratio is p(A=+ | y)^(1/tau - 1) / p(A=+)^(1/tau), which depends on y unless tau = 1, so the paper's form is
false as stated for tau != 1 (the two normalised distributions differ), exact at tau = 1 (ancestral sampling), and
with p(A=+ | y) ∝ e^(r/beta) the correct reward weight is 1/(beta tau), not 1/beta (C6a).
Checked: token-level Bayes from the joint; the telescoping for T + 1 = 3 steps and by induction for any T; the
tempered identity; the ratio; a two-string instance where it differs from 1; tau = 1.
"""

import sympy as sp

from ._common import Step, equal, holds

CLAIM = "eq41"


def check() -> list[Step]:
    tau = sp.Symbol("tau", positive=True)
    beta = sp.Symbol("beta", positive=True)
    reward = sp.Symbol("r", real=True)
    acceptance = sp.symbols("a_0:4", positive=True)  # a_0 = p(A=+), a_3 = p(A=+ | y) for T + 1 = 3
    prior_steps = sp.symbols("q_1:4", positive=True)  # p_prior(y_t | y_<t)
    previous_prefix = sp.Symbol("P_prev", positive=True)  # p_prior(y_<t)

    def aligned_step(t: int) -> sp.Expr:
        return prior_steps[t - 1] * acceptance[t] / acceptance[t - 1]

    # Bayes: p(v | y_<t, A=+) = p(y_<=t, A=+)/p(y_<t, A=+), p(prefix, A=+) = p_prior(prefix) p(A=+ | prefix).
    joint_ratio = (previous_prefix * prior_steps[0] * acceptance[1]) / (previous_prefix * acceptance[0])
    steps = [
        Step("token-level Bayes: p(y_<=t, A=+)/p(y_<t, A=+) = p_prior(v | y_<t) a_t / a_{t-1}",
             equal(joint_ratio, aligned_step(1))),
    ]
    aligned_string = sp.Mul(*(aligned_step(t) for t in range(1, 4)))
    prior_string = sp.Mul(*prior_steps)
    steps.append(Step(
        "telescoping, T + 1 = 3: prod_t p(y_t | y_<t, A=+) = p_prior(y) p(A=+ | y)/p(A=+)",
        equal(aligned_string, prior_string * acceptance[3] / acceptance[0]),
    ))
    length = sp.Symbol("T", integer=True, positive=True)
    acceptance_of = sp.Function("a", positive=True)
    telescoped = acceptance_of(length) / acceptance_of(0)  # claim: prod_{t<=T} a_t/a_{t-1}
    steps.append(Step(
        "telescoping, any T (induction): base a_1/a_0, and claim(T+1)/claim(T) = a_{T+1}/a_T, the next factor",
        equal(telescoped.subs(length, 1), acceptance_of(1) / acceptance_of(0))
        and equal(telescoped.subs(length, length + 1) / telescoped, acceptance_of(length + 1) / acceptance_of(length)),
    ))

    tempered_aligned = sp.Mul(*(aligned_step(t) ** (1 / tau) for t in range(1, 4)))
    correct = (acceptance[3] * prior_string / acceptance[0]) ** (1 / tau)
    steps.append(Step(
        "C6: prod_t S(p(. | y_<t, A=+))(y_t) = [p(A=+ | y) p_prior(y) / p(A=+)]^(1/tau) for S(p) = p^(1/tau)",
        equal(sp.expand_log(sp.log(tempered_aligned), force=True), sp.expand_log(sp.log(correct), force=True)),
    ))
    paper = acceptance[3] * sp.Mul(*(q ** (1 / tau) for q in prior_steps))
    ratio = correct / paper
    steps.append(Step(
        "correct / paper's form = p(A=+ | y)^(1/tau - 1) / p(A=+)^(1/tau)",
        equal(sp.expand_log(sp.log(ratio), force=True),
              sp.expand_log(sp.log(acceptance[3] ** (1 / tau - 1) / acceptance[0] ** (1 / tau)), force=True)),
    ))

    def ratio_for(string_acceptance: sp.Expr, temperature: sp.Expr) -> sp.Expr:
        return ratio.subs({acceptance[3]: string_acceptance, acceptance[0]: sp.Rational(1, 3), tau: temperature})

    half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)
    across_strings = ratio_for(half, 2) / ratio_for(quarter, 2)
    steps.append(Step(
        "two strings with p(A=+ | y) = 1/2 and 1/4, tau = 2: the ratio changes by 2^(-1/2) != 1, so the "
        "normalised distributions differ: Eq. 13/41 is false as stated for tau != 1",
        equal(across_strings, 2 ** (-half)) and holds(across_strings < 1),
    ))
    acceptance_a, acceptance_b = sp.symbols("c_y c_y_prime", positive=True)
    relative = (acceptance_a / acceptance_b) ** (1 / tau - 1)  # ratio(y)/ratio(y') for general tau
    steps.append(Step(
        "for two strings with p(A=+|y) != p(A=+|y'), ratio(y)/ratio(y') = (c/c')^(1/tau - 1) is 1 only when the "
        "exponent 1/tau - 1 = 0, i.e. tau = 1 (solved)",
        equal(relative, (ratio.subs(acceptance[3], acceptance_a) / ratio.subs(acceptance[3], acceptance_b)))
        and sp.solve(sp.Eq(1 / tau - 1, 0), tau) == [1],
    ))
    steps.append(Step(
        "tau = 1 (ancestral): the ratio is 1/p(A=+), a constant, so Eq. 13 is exact",
        equal(ratio.subs(tau, 1), 1 / acceptance[0]),
    ))
    steps.append(Step(
        "C6(a): with p(A=+|y) ∝ e^(r/beta), [e^(r/beta)]^(1/tau) = e^(r/(beta tau)): reward weight 1/(beta tau)",
        equal(sp.exp(reward / beta) ** (1 / tau), sp.exp(reward / (beta * tau))),
    ))
    steps.append(Step(
        "the reward weight 1/(beta tau) equals the paper's 1/beta only for tau = 1 (solved for tau > 0)",
        sp.solve(sp.Eq(1 / (beta * tau), 1 / beta), tau) == [1],
    ))
    return steps
