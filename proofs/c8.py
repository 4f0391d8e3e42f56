"""C8: for i.i.d. corpora the corpus-level correlation equals the p_+-weighted string-level correlation.

docs/theory.md#c8 (with #b3, Prop. 1 and its gloss; Eq. 1). The paper's gloss that Prop. 1 implies a corpus-level
anti-correlation ("trade-off") does not follow. Statements checked: for a corpus of N i.i.d. pairs (a_i, b_i) ~ p_+
(a = log p_prior(y), b = r(y)/beta) with Var(a) = s_a^2, Var(b) = s_b^2, Cov(a, b) = c,

    Cov(a_bar, b_bar) = c / N,   Var(a_bar) = s_a^2 / N,   Var(b_bar) = s_b^2 / N,
    Corr(a_bar, b_bar) = c / (s_a s_b) = Corr_{p_+}(a, b)      for every N,

i.e. the 1/N factors cancel, so i.i.d. corpora inherit the sign of the p_+-weighted string-level correlation.
A trade-off appears only after conditioning on |a_bar + b_bar - const| < epsilon: for jointly Gaussian (a, b),
conditioning on a + b gives correlation exactly -1 whatever c is (Schur complement; the epsilon -> 0 limit of the
filter). The weighted correlation can have the opposite sign to an unweighted one over the support (a 3-object
instance), which is the difference between the paper's string-level figure and what corpora inherit. What holds
for *every* corpus is the identity avg log p_prior + avg r/beta = avg log p_+ + log Z (from Eq. 1; N = 3).

Derivation: expand the bilinear forms with the independence rules E[u_i v_j] = 0 for i != j on centred variables:
for general N as a double sum with a Kronecker delta, and for N = 3 by expanding the products.
"""

import sympy as sp

from ._common import Step, equal, holds, quadratic_expectation

CLAIM = "c8"


def _weighted_correlation(weights: list[sp.Expr], first: list[sp.Expr], second: list[sp.Expr]) -> sp.Expr:
    mean_first = sum(w * u for w, u in zip(weights, first, strict=True))
    mean_second = sum(w * v for w, v in zip(weights, second, strict=True))
    covariance = sum(w * (u - mean_first) * (v - mean_second) for w, u, v in zip(weights, first, second, strict=True))
    variance_first = sum(w * (u - mean_first) ** 2 for w, u in zip(weights, first, strict=True))
    variance_second = sum(w * (v - mean_second) ** 2 for w, v in zip(weights, second, strict=True))
    return covariance / sp.sqrt(variance_first * variance_second)


def check() -> list[Step]:
    spread_a, spread_b = sp.symbols("s_a s_b", positive=True)
    covariance = sp.Symbol("c", real=True)
    corpus_size = sp.Symbol("N", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    steps = []

    def double_sum(diagonal: sp.Expr) -> sp.Expr:  # sum_i sum_j diagonal * delta_ij, i, j in 1..N
        inner = sp.refine(sp.summation(diagonal * sp.KroneckerDelta(i, j), (j, 1, corpus_size)),
                          sp.Q.le(i, corpus_size))
        return sp.summation(inner, (i, 1, corpus_size)) / corpus_size**2

    mean_covariance = double_sum(covariance)
    mean_variance_a = double_sum(spread_a**2)
    mean_variance_b = double_sum(spread_b**2)
    steps.append(Step(
        "general N: Cov(a_bar, b_bar) = (1/N^2) sum_i sum_j c delta_ij = c/N",
        equal(mean_covariance, covariance / corpus_size),
    ))
    steps.append(Step(
        "general N: Var(a_bar) = s_a^2/N and Var(b_bar) = s_b^2/N",
        equal(mean_variance_a, spread_a**2 / corpus_size) and equal(mean_variance_b, spread_b**2 / corpus_size),
    ))
    corpus_correlation = mean_covariance / sp.sqrt(mean_variance_a * mean_variance_b)
    steps.append(Step(
        "general N: Corr(a_bar, b_bar) = c/(s_a s_b) = Corr(a, b)",
        equal(corpus_correlation, covariance / (spread_a * spread_b)),
    ))
    steps.append(Step(
        "d/dN Corr(a_bar, b_bar) = 0: the corpus correlation does not depend on the corpus size",
        equal(sp.diff(corpus_correlation, corpus_size), 0),
    ))

    centred_a = sp.symbols("A_1:4", real=True)
    centred_b = sp.symbols("B_1:4", real=True)
    draws = list(zip(centred_a, centred_b, strict=True))
    moments = {}
    for a_i, b_i in draws:
        moments[frozenset({a_i})] = spread_a**2
        moments[frozenset({b_i})] = spread_b**2
        moments[frozenset({a_i, b_i})] = covariance
    mean_a, mean_b = sum(centred_a) / 3, sum(centred_b) / 3
    steps.append(Step(
        "N = 3 by expansion: E[a_bar_c b_bar_c] = c/3, E[a_bar_c^2] = s_a^2/3, E[b_bar_c^2] = s_b^2/3 "
        "(cross-draw products vanish by independence)",
        equal(quadratic_expectation(mean_a * mean_b, draws, moments), covariance / 3)
        and equal(quadratic_expectation(mean_a**2, draws, moments), spread_a**2 / 3)
        and equal(quadratic_expectation(mean_b**2, draws, moments), spread_b**2 / 3),
    ))

    # Selection effect (Gaussian model, exact conditioning = the eps -> 0 limit of the typical-set filter): by the
    # Schur complement, Cov(a, b | a + b) = c - Cov(a, S) Cov(b, S) / Var(S), S = a + b.
    total_variance = spread_a**2 + spread_b**2 + 2 * covariance
    conditional_covariance = covariance - (spread_a**2 + covariance) * (spread_b**2 + covariance) / total_variance
    conditional_variance_a = spread_a**2 - (spread_a**2 + covariance) ** 2 / total_variance
    conditional_variance_b = spread_b**2 - (spread_b**2 + covariance) ** 2 / total_variance
    steps.append(Step(
        "selection effect (jointly Gaussian a, b): conditioned on a + b, Cov = (c^2 - s_a^2 s_b^2)/Var(a+b) and "
        "Corr = -1 for every c (|c| < s_a s_b): the anti-correlation comes from conditioning, not from Prop. 1",
        equal(conditional_covariance, (covariance**2 - spread_a**2 * spread_b**2) / total_variance)
        and equal(conditional_variance_a, conditional_variance_b)
        and equal(conditional_covariance / conditional_variance_a, -1),
    ))

    weights = [sp.Rational(9, 20), sp.Rational(9, 20), sp.Rational(1, 10)]
    log_priors = [sp.Integer(0), sp.Integer(1), sp.Integer(2)]
    rewards = [sp.Integer(1), sp.Integer(2), sp.Integer(0)]
    uniform = [sp.Rational(1, 3)] * 3
    weighted = _weighted_correlation(weights, log_priors, rewards)
    unweighted = _weighted_correlation(uniform, log_priors, rewards)
    steps.append(Step(
        "3 objects, a = (0, 1, 2), b = (1, 2, 0): the p_+-weighted correlation (p_+ = (9/20, 9/20, 1/10)) is > 0 "
        "while the unweighted one over the objects is < 0: corpora inherit the weighted sign",
        holds(weighted > 0) and holds(unweighted < 0),
    ))

    priors = sp.symbols("q_1:4", positive=True)
    string_rewards = sp.symbols("r_1:4", real=True)
    normalizer, beta = sp.symbols("Z beta", positive=True)
    aligned = [q * sp.exp(r / beta) / normalizer for q, r in zip(priors, string_rewards, strict=True)]
    steps.append(Step(
        "every corpus (N = 3): avg log p_prior + avg r/beta = avg log p_+ + log Z (exact, no probability)",
        equal(sum(sp.log(q) for q in priors) / 3 + sum(string_rewards) / (3 * beta),
              sum(sp.log(p) for p in aligned) / 3 + sp.log(normalizer)),
    ))
    return steps
