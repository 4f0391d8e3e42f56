"""Ledger entries about corpora: the corpus-level 'trade-off' (docs/theory.md#c8), Simpson's paradox (§5.3), and the
sign of App. F's DPO secret reward in the official code (R2)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from typicality.corpora import statistics_from_counts, weighted_correlation
from typicality.ledger.core import Evidence, claim, guarded, symbolic
from typicality.toy import toy_objects


def _tempered_model(seed: int = 0, size: int = 50):
    """The library's objects: a FiniteSupportLM prior over ``size`` objects, the reward r = log p_prior (bounded),
    and p₊ = the library's tilt of the prior by r at β = 1, which is ∝ prior². Returned as arrays (prior, p₊, r)."""
    from fractions import Fraction

    from typicality import bounds as B
    from typicality.models import FiniteSupportLM

    weights = np.random.default_rng(seed).integers(1, 1000, size=size).tolist()
    total = sum(weights)
    prior = FiniteSupportLM({(f"o{i}",): Fraction(w, total) for i, w in enumerate(weights)})
    ys = list(prior.strings)
    reward = {y: float(prior.log_prob(y)) for y in ys}
    aligned, _ = B.tilt(prior, reward, 1.0)
    return (np.array([float(prior.prob(y)) for y in ys]), np.array([float(aligned.prob(y)) for y in ys]),
            np.array([reward[y] for y in ys]))


def _corpus_means(aligned, prior, reward, n, corpora, seed):
    counts = np.random.default_rng(seed).multinomial(n, aligned, size=corpora)
    st = statistics_from_counts(counts, np.log(prior), reward, np.log(aligned))
    return st.avg_log_prior, st.avg_reward, st.avg_log_aligned


@guarded("counterexample")
def _tempered_counterexample() -> Evidence:
    prior, aligned, reward = _tempered_model()
    n, corpora = 1000, 4000
    a, b, logp = _corpus_means(aligned, prior, reward, n, corpora, 1)
    h = -float(aligned @ np.log(aligned))
    sigma = float(np.sqrt(aligned @ (np.log(aligned) + h) ** 2))
    typical = np.abs(-logp - h) < 0.25 * sigma / np.sqrt(n)
    r_all = float(np.corrcoef(a, b)[0, 1])
    r_typ = float(np.corrcoef(a[typical], b[typical])[0, 1])
    string = weighted_correlation(np.log(prior), reward, aligned)
    ok = r_all > 0.999 and r_typ > 0.999 and string > 0.999 and typical.sum() > 100
    return Evidence("counterexample", "a FiniteSupportLM prior tilted by the library with r = log p_prior (p₊ ∝ "
                    "prior², r bounded, Prop. 1 holds): the "
                    f"correlation of avg log-prior and avg reward is {r_all:+.4f} over {corpora} corpora of N = {n} "
                    f"and {r_typ:+.4f} over the {int(typical.sum())} typical ones (ε = σ/(4√N)): no trade-off",
                    ok, {"corr_all": r_all, "corr_typical": r_typ, "string_level_weighted": string})


@claim("c8", "The corpus-level trade-off (§5.1 gloss, §6.1)", "docs/theory.md#c8, #c9",
       "Paper: by Prop. 1, across corpora sampled from p₊ the average log-prior and average reward are "
       "anti-correlated (a line of slope −β). In fact, for i.i.d. corpora Corr(avg log p_prior, avg r) equals the "
       "p₊-weighted string-level correlation for every N; a strong negative correlation appears only after "
       "conditioning on |avg − c| < ε with ε below the spread σ/√N, a selection effect.", "false-as-stated")
def c8() -> list[Evidence]:
    return [symbolic("c8"), _tempered_counterexample(), _toy_selection_effect()]


@guarded("empirical")
def _toy_selection_effect() -> Evidence:
    toy = toy_objects()
    n, corpora = 100_000, 4000
    a, b, logp = _corpus_means(toy.aligned, toy.prior, toy.reward, n, corpora, 7)
    string = weighted_correlation(np.log(toy.prior), toy.reward, toy.aligned)
    h = toy.entropy_aligned
    r_all = float(np.corrcoef(a, b)[0, 1])
    out = {"corr_all": r_all, "string_level_weighted": string}
    for eps in (0.001, 0.012):
        keep = np.abs(-logp - h) < eps
        out[f"corr_typical_eps_{eps}"] = float(np.corrcoef(a[keep], b[keep])[0, 1])
        out[f"typical_fraction_eps_{eps}"] = float(keep.mean())
    spread = float(np.sqrt(toy.aligned @ (np.log(toy.aligned) + h) ** 2) / np.sqrt(n))
    # margins are > 6 Fisher-z standard errors at these sample sizes
    ok = (abs(r_all - string) < 0.1 and out["corr_typical_eps_0.001"] < -0.6
          and abs(out["corr_typical_eps_0.012"] - string) < 0.1)
    return Evidence("empirical", f"toy objects (§6.1), {corpora} corpora of N = {n}: r over all corpora "
                    f"{r_all:+.3f} ≈ p₊-weighted string-level r {string:+.3f}; among corpora with |Ī − H| < ε: "
                    f"r = {out['corr_typical_eps_0.001']:+.3f} at ε = 0.001 (< spread σ/√N = {spread:.4f}) but "
                    f"{out['corr_typical_eps_0.012']:+.3f} at ε = 0.012", ok, out)


@claim("simpson", "§5.3: Simpson's paradox", "docs/theory.md#c8; paper §5.3, §6.1",
       "Paper: when reward and log-prior are positively correlated at the string level, the trade-off of Prop. 1 "
       "produces a negative corpus-level correlation (Simpson's paradox). In fact the corpus-level correlation of "
       "i.i.d. corpora equals the p₊-weighted string-level one, so no reversal follows; the toy's 'positive' "
       "string-level correlation is the unweighted one over objects, while the weighted one is negative.",
       "false-as-stated")
def simpson() -> list[Evidence]:
    toy = toy_objects()
    lp = np.log(toy.prior)
    unweighted = float(np.corrcoef(lp, toy.reward)[0, 1])
    weighted = weighted_correlation(lp, toy.reward, toy.aligned)
    return [
        symbolic("c8"),
        _tempered_counterexample(),
        Evidence("empirical", f"toy objects: the paper's string-level r = {unweighted:.4f} (published 0.49) is "
                 f"unweighted over the 1000 objects; weighted by p₊, as corpora weight them, r = {weighted:.4f}",
                 abs(unweighted - 0.4856) < 1e-3 and abs(weighted + 0.1294) < 1e-3,
                 {"unweighted": unweighted, "weighted": weighted}),
    ]


@claim("appf_dpo_sign", "App. F: the DPO secret reward as the official code computes it",
       "docs/theory.md#r2; paper App. F, Eq. 4",
       "Eq. 4's secret reward of a DPO model is r = β(log p_θ(y|x) − log p_prior(y|x)); the official code computes "
       "log p_prior − log p_θ, its negative, which flips the sign of every correlation with it: on an exact model "
       "where the aligned model favours high-prior strings (no trade-off with Eq. 4's reward), the official sign "
       "shows a perfect 'trade-off'.", "artifact")
def appf_dpo_sign() -> list[Evidence]:
    return [_dpo_sign_flip()]


def official_secret_reward(logp_prior: np.ndarray, logp_aligned: np.ndarray) -> np.ndarray:
    """The official code's secret reward, re-typed as written (docs/theory.md#r2): original_nll + log_probability, with
    original_nll = −log p_θ and log_probability = log p_prior."""
    original_nll = -logp_aligned
    log_probability = logp_prior
    return original_nll + log_probability


@guarded("counterexample")
def _dpo_sign_flip(official=official_secret_reward) -> Evidence:
    """Exact finite-support models: a prior over 6 strings and p_θ ∝ p_prior² (the DPO model sharpens the prior);
    Pearson correlation of log p_prior and the reward under p_θ, with Eq. 4's sign and the official one."""
    from fractions import Fraction

    from typicality.corpora import weighted_correlation
    from typicality.lm.loading import secret_reward
    from typicality.models import FiniteSupportLM

    weights = [Fraction(w, 21) for w in (1, 2, 3, 4, 5, 6)]
    prior = FiniteSupportLM({(f"y{i}",): w for i, w in enumerate(weights)})
    squares = [w * w for w in weights]
    aligned = FiniteSupportLM({(f"y{i}",): s / sum(squares) for i, s in enumerate(squares)})
    ys = list(prior.strings)
    lp = np.array([float(prior.log_prob(y)) for y in ys])
    la = np.array([float(aligned.log_prob(y)) for y in ys])
    w = np.exp(la)
    eq4 = weighted_correlation(lp, secret_reward(la, lp, 1.0), w)
    theirs = weighted_correlation(lp, official(lp, la), w)
    ok = eq4 > 0.99 and theirs < -0.99
    return Evidence("counterexample", f"p_θ ∝ p_prior² over 6 strings: Pearson r(log p_prior, reward) under p_θ is "
                    f"{eq4:+.4f} with Eq. 4's reward β(log p_θ − log p_prior) and {theirs:+.4f} with the official "
                    "log p_prior − log p_θ: the sign alone makes the trade-off", ok,
                    {"eq4_pearson": eq4, "official_pearson": theirs})


@claim("c9", "'Typical corpora are more probable' (§3, §6.1)", "docs/theory.md#c9",
       "Paper: typical corpora are more probable than atypical ones. The AEP bounds the *mass* of the atypical set; "
       "per corpus it is false: whenever the surprisal is not constant, the single most probable corpus (every draw "
       "the mode) has mean surprisal −log p_max < H, so it is atypical for every ε < H + log p_max, and it is more "
       "probable than every typical corpus, whose log-probability is at most −N(H − ε).", "false-as-stated")
def c9() -> list[Evidence]:
    return [symbolic("c9"), _most_probable_corpus_is_atypical()]


@guarded("counterexample")
def _most_probable_corpus_is_atypical(probs=(Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8)),
                                      n: int = 4, eps: float = 0.25) -> Evidence:
    """Every ordered corpus of N draws enumerated with exact log-probabilities: the most probable atypical corpus
    against the most probable typical one, and the two sets' masses."""
    import itertools
    import math

    logp = [math.log(p) for p in probs]
    h = -math.fsum(float(p) * lp for p, lp in zip(probs, logp, strict=True))
    best = {"typical": -math.inf, "atypical": -math.inf}
    mass = {"typical": 0.0, "atypical": 0.0}
    for corpus in itertools.product(range(len(probs)), repeat=n):
        lp = math.fsum(logp[i] for i in corpus)
        kind = "typical" if abs(-lp / n - h) < eps else "atypical"
        best[kind] = max(best[kind], lp)
        mass[kind] += math.exp(lp)
    ok = best["typical"] > -math.inf and best["atypical"] > best["typical"]
    return Evidence("counterexample", f"p = ({', '.join(str(p) for p in probs)}), N = {n}, ε = {eps} (H = {h:.4f} "
                    f"nats), all {len(probs) ** n} ordered corpora: the most probable atypical corpus has log p = "
                    f"{best['atypical']:.4f} > {best['typical']:.4f}, the most probable typical one (typical set mass "
                    f"{mass['typical']:.3f})", ok, {"best": best, "mass": mass, "entropy": h})
