"""Proposition 1 (probability-quality trade-off): the Prop. 1 event is the typical-set event of Eq. 10.

docs/theory.md#b3, Prop. 1 with Eqs. 1, 4, 9, 10 and 12; #b6, Eqs. 21-22. With the tilted prior (Eq. 1)

    p_+(y) = p_prior(y) exp(r(y)/beta) / Z,    Z = sum_y p_prior(y) exp(r(y)/beta),

and p(A=+ | y) = exp(r/beta) (so p(A=+) = Z; C10 shifts the constant by R/beta and changes nothing below):

    log p(y, A=+) = log p_prior(y) + r(y)/beta = log p_+(y) + log Z,                                 (21)
    H(Y, A=+) = -sum_y p_+(y) log p(y, A=+) = H(p_+) - log Z,                                        (9)

so, for every corpus, avg log p_prior + avg r/beta - c = avg log p_+ + H(p_+) with c = log Z - H(p_+), and

    P(|avg log p_prior + avg r / beta - c| < epsilon) = P(Y_N in T_epsilon^(N)) >= 1 - sigma^2/(N epsilon^2)   (22)

by Eq. 11 (proved in eq11.py). Statement checked: these identities (per string, for a 3-string corpus, and for a
corpus of symbolic size N as a sum), the centring of Eq. 9 on a 3-point support, the epsilon-N-delta form
(N >= sigma^2/(delta epsilon^2) gives probability >= 1 - delta), the vanishing-epsilon form (epsilon = N^-gamma,
gamma < 1/2), and that with the secret reward of Eq. 4 (r = beta log(p_theta/p_prior) + beta log Z) the same
identity returns log p_theta exactly.
"""

import sympy as sp

from ._common import Step, equal, solution_set

CLAIM = "prop1"


def check() -> list[Step]:
    prior, aligned, normalizer, beta = sp.symbols("p_prior p_theta Z beta", positive=True)
    reward = sp.Symbol("r", real=True)
    steps = []

    def tilted(prior_probability: sp.Expr, string_reward: sp.Expr, z: sp.Expr = normalizer) -> sp.Expr:
        return prior_probability * sp.exp(string_reward / beta) / z

    steps.append(Step(
        "(21): log p_prior(y) + r(y)/beta = log p_+(y) + log Z for p_+ = p_prior exp(r/beta)/Z",
        equal(sp.log(prior) + reward / beta, sp.log(tilted(prior, reward)) + sp.log(normalizer)),
    ))
    steps.append(Step(
        "(21) as Bayes: log(p(A=+|y) p_prior(y)) = r/beta + log p_prior(y) when p(A=+|y) = exp(r/beta)",
        equal(sp.log(sp.exp(reward / beta) * prior), reward / beta + sp.log(prior)),
    ))

    # Eq. 9 on a 3-point support: H(Y, A=+) = H(p_+) - log Z and c = -H(Y, A=+) = log Z - H(p_+).
    priors = sp.symbols("p_prior_1:4", positive=True)
    rewards = sp.symbols("r_1:4", real=True)
    support_normalizer = sum(q * sp.exp(s / beta) for q, s in zip(priors, rewards, strict=True))
    aligned_probabilities = [tilted(q, s, support_normalizer) for q, s in zip(priors, rewards, strict=True)]
    joint_entropy = -sum(a * (sp.log(q) + s / beta)
                         for a, q, s in zip(aligned_probabilities, priors, rewards, strict=True))
    aligned_entropy = -sum(a * sp.log(a) for a in aligned_probabilities)
    steps.append(Step(
        "(9) on a 3-point support with Z = sum p_prior exp(r/beta): H(Y, A=+) = H(p_+) - log Z",
        equal(sp.expand_log(joint_entropy - aligned_entropy, force=True), -sp.log(support_normalizer)),
    ))

    # A corpus of three strings: the Prop. 1 statistic minus c equals avg log p_+ + H(p_+).
    corpus_priors = sp.symbols("q_1:4", positive=True)
    corpus_rewards = sp.symbols("s_1:4", real=True)
    entropy = sp.Symbol("H_plus", positive=True)
    constant = sp.log(normalizer) - entropy
    statistic = sum(sp.log(q) + s / beta for q, s in zip(corpus_priors, corpus_rewards, strict=True)) / 3 - constant
    typicality = sum(sp.log(tilted(q, s)) for q, s in zip(corpus_priors, corpus_rewards, strict=True)) / 3 + entropy
    steps.append(Step(
        "(22), N = 3: avg log p_prior + avg r/beta - c = avg log p_+ + H(p_+) with c = log Z - H(p_+), i.e. the "
        "Prop. 1 event |.| < eps is the Eq. 10 event |-avg log p_+ - H(p_+)| < eps",
        equal(statistic, typicality),
    ))

    # The same for a corpus of symbolic size N: the summands agree, so the sums do.
    corpus_size = sp.Symbol("N", integer=True, positive=True)
    index = sp.Symbol("n", integer=True, positive=True)
    prior_of, reward_of = sp.IndexedBase("p_prior", positive=True), sp.IndexedBase("r", real=True)
    summand = (sp.log(prior_of[index]) + reward_of[index] / beta
               - sp.log(tilted(prior_of[index], reward_of[index])) - sp.log(normalizer))
    summand = sp.expand(sp.expand_log(summand, force=True))
    steps.append(Step(
        "(22), symbolic N: sum_{n<=N} [log p_prior + r/beta] = sum_{n<=N} log p_+ + N log Z",
        sp.Sum(summand, (index, 1, corpus_size)).doit() == 0,
    ))

    # Probability: 1 - sigma^2/(N eps^2) >= 1 - delta iff N >= sigma^2/(delta eps^2).
    sigma, epsilon, delta = sp.symbols("sigma epsilon delta", positive=True)
    size = sp.Symbol("N_real", positive=True)
    admissible = solution_set(sigma**2 / (size * epsilon**2) <= delta, size, sp.Interval.open(0, sp.oo))
    steps.append(Step(
        "(12), epsilon-N-delta form: sigma^2/(N eps^2) <= delta exactly for N >= sigma^2/(delta eps^2) (solved)",
        admissible == sp.Interval(sigma**2 / (delta * epsilon**2), sp.oo),
    ))
    gamma_gap = sp.Symbol("h", positive=True)  # gamma = 1/2 - h < 1/2
    gamma = sp.Rational(1, 2) - gamma_gap
    steps.append(Step(
        "vanishing epsilon = N^-gamma, gamma < 1/2: the failure bound sigma^2/(N eps^2) = sigma^2 N^(2 gamma - 1) -> 0",
        sp.limit(sigma**2 / (size * (size ** (-gamma)) ** 2), size, sp.oo) == 0,
    ))

    secret_reward = beta * sp.log(aligned / prior) + beta * sp.log(normalizer)
    steps.append(Step(
        "Eq. 4 (secret reward r = beta log(p_theta/p_prior) + beta log Z): log p_prior + r/beta - log Z = log p_theta",
        equal(sp.log(prior) + secret_reward / beta - sp.log(normalizer), sp.log(aligned)),
    ))
    steps.append(Step(
        "Eq. 4 inverts Eq. 1: p_prior exp(r/beta)/Z with the secret reward is p_theta",
        equal(tilted(prior, secret_reward), aligned),
    ))
    return steps
