"""Eq. 11: the Chebyshev bound on the probability that a corpus is not (N, epsilon)-typical.

docs/theory.md#b3, Eqs. 10-11, and #b6, Eq. 20. With I(y) = -log p(y, A=+), y^(1..N) i.i.d. ~ p_+, E[I] = H(Y, A=+)
and sigma^2 = Var[I] < infinity, for all epsilon > 0 and N >= 1:

    P(Y_N not in T_epsilon^(N)) = P(|(1/N) sum_n I(y^(n)) - E[I]| >= epsilon)
                                <= Var[(1/N) sum_n I] / epsilon^2 = sigma^2 / (N epsilon^2).       (20a-c)

Statement checked (as in the paper): Var of the mean of N i.i.d. variables is sigma^2/N, and Chebyshev's inequality
through its pointwise form 1{|x - mu| >= epsilon} <= (x - mu)^2 / epsilon^2.

Derivation: write I_i = mu + D_i with E[D_i] = 0, E[D_i^2] = sigma^2, and E[D_i D_j] = 0 for i != j
(independence). Then Var(sum I_i) = sum_i sum_j E[D_i D_j] = N sigma^2; this is checked for general N (as a double
sum with a Kronecker delta) and, by expanding the square, for N = 3 with three *different* variances (i.i.d. not
needed for this step). The pointwise bound holds because {d : |d| >= epsilon} = {d : d^2/epsilon^2 >= 1} and the
right side is >= 0 everywhere; taking expectations gives the inequality.
"""

import sympy as sp

from ._common import Step, equal, holds, nonnegative, quadratic_expectation, solution_set

CLAIM = "eq11"


def check() -> list[Step]:
    sigma, epsilon = sp.symbols("sigma epsilon", positive=True)
    corpus_size = sp.Symbol("N", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    steps = []

    # General N: Var(sum_i I_i) = sum_i sum_j Cov(I_i, I_j), Cov(I_i, I_j) = sigma^2 * delta_ij.
    inner = sp.summation(sigma**2 * sp.KroneckerDelta(i, j), (j, 1, corpus_size))
    inner = sp.refine(inner, sp.Q.le(i, corpus_size))
    variance_of_sum = sp.summation(inner, (i, 1, corpus_size))
    steps.append(Step(
        "general N: Var(sum_{i<=N} I_i) = sum_i sum_j sigma^2 delta_ij = N sigma^2 (sympy double sum)",
        equal(variance_of_sum, corpus_size * sigma**2),
    ))
    steps.append(Step(
        "general N: Var((1/N) sum I_i) = N sigma^2 / N^2 = sigma^2 / N",
        equal(variance_of_sum / corpus_size**2, sigma**2 / corpus_size),
    ))

    # N = 3 by expanding E[(sum (I_i - mu_i))^2] with independence rules.
    deviations = sp.symbols("D_1:4", real=True)
    variances = sp.symbols("sigma2_1:4", positive=True)
    moments = {frozenset({d}): v for d, v in zip(deviations, variances, strict=True)}
    second_moment = quadratic_expectation(sum(deviations) ** 2, [(d,) for d in deviations], moments)
    steps.append(Step(
        "N = 3: E[(sum_i (I_i - mu_i))^2] = sigma_1^2 + sigma_2^2 + sigma_3^2 (cross terms vanish by independence)",
        equal(second_moment, sum(variances)),
    ))
    mean_variance = quadratic_expectation((sum(deviations) / 3) ** 2, [(d,) for d in deviations],
                                          {key: sigma**2 for key in moments})
    steps.append(Step(
        "N = 3, identically distributed: Var((I_1 + I_2 + I_3)/3) = sigma^2/3",
        equal(mean_variance, sigma**2 / 3),
    ))

    # Chebyshev, pointwise: 1{|d| >= eps} <= d^2/eps^2.
    deviation = sp.Symbol("d", real=True)
    tail_event = solution_set(sp.Abs(deviation) >= epsilon, deviation)
    bound_at_least_one = solution_set(deviation**2 / epsilon**2 >= 1, deviation)
    steps.append(Step(
        "Chebyshev pointwise: {d : |d| >= eps} = {d : d^2/eps^2 >= 1} (both solved by sympy), so the indicator "
        "is <= d^2/eps^2 on the event",
        tail_event == bound_at_least_one and tail_event == sp.Union(sp.Interval(-sp.oo, -epsilon),
                                                                      sp.Interval(epsilon, sp.oo)),
    ))
    steps.append(Step(
        "Chebyshev pointwise: off the event the indicator is 0 <= d^2/eps^2",
        nonnegative(deviation**2 / epsilon**2),
    ))
    steps.append(Step(
        "(20c): E[(mean - mu)^2]/eps^2 with Var(mean) = sigma^2/N equals sigma^2/(N eps^2)",
        equal((variance_of_sum / corpus_size**2) / epsilon**2, sigma**2 / (corpus_size * epsilon**2)),
    ))

    # Chebyshev on a concrete law, exactly: a fair die, mu = 7/2, eps = 2.
    faces = range(1, 7)
    mean = sp.Rational(sum(faces), 6)
    variance = sum((sp.Integer(face) - mean) ** 2 for face in faces) / 6
    tail = sp.Rational(sum(1 for face in faces if abs(sp.Integer(face) - mean) >= 2), 6)
    steps.append(Step(
        f"exact instance (fair die, eps = 2): P(|X - 7/2| >= 2) = {tail} <= Var/eps^2 = {variance / 4}",
        holds(tail <= variance / 4),
    ))
    steps.append(Step(
        "the bound sigma^2/(N eps^2) tends to 0 as N -> oo (sympy limit)",
        sp.limit(sigma**2 / (corpus_size * epsilon**2), corpus_size, sp.oo) == 0,
    ))
    return steps
