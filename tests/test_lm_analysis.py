"""The real-model analysis (typicality.lm.analysis) on sample tables whose truth is known exactly.

The exact reference: an aligned n-gram model with finite support (every string ends by length 3), an adaptor, and
the strings drawn from q_T = ``local_model(model, adaptor)``; every column (log q_T, log π̃_T, log-priors, eos
terms, clamped sums) is computed here from the model's rows, and the expectations under π_T by enumerating the 40
strings with ``global_model(model, adaptor)``. No code of the module under test is involved in the reference.

Concentration bound for one IMHA chain. The chain satisfies P(x, ·) ≥ λ π(·) for every x with λ = Z_T / w*
(``doeblin_constant``), so Dobrushin's coefficient is ≤ 1 − λ and osc(Pᵗg) ≤ (1 − λ)ᵗ osc(f) for g = f − πf. The
Poisson solution ĝ = Σₜ Pᵗ g then has osc(ĝ) ≤ osc(f)/λ, and Σ_{i<n} g(X_i) = Σ_{i=1}^{n−1} D_i + ĝ(X_0) −
Pĝ(X_{n−1}) with martingale differences D_i = ĝ(X_i) − Pĝ(X_{i−1}) confined, given the past, to an interval of
width osc(f)/λ, and a boundary term of absolute value ≤ |g(X_0)| + osc(Pĝ) ≤ osc(f)/λ. Azuma–Hoeffding gives,
for every initial law,

    P(|(1/n) Σ_{i<n} f(X_i) − πf| ≥ (osc(f)/λ)·(sqrt((n − 1) ln(2/δ) / 2) + 1)/n) ≤ δ.

Self-normalized importance sampling with w̃ = w/w* ∈ [0, 1], E_q w̃ = λ: Hoeffding on mean(w̃(f − πf)) (terms in an
interval of width osc(f), mean 0) and on mean(w̃) gives |estimate − πf| ≤ osc(f)·r/(λ − r), r = sqrt(ln(2/δ)/(2n)).
All checks together fail with probability ≤ 1e-9 (union bound); the seeds are fixed.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from typicality.adaptors import Compose, make
from typicality.imha import doeblin_constant
from typicality.induced import global_model, local_model
from typicality.lm.analysis import (
    ALL_ABLATIONS,
    OURS,
    AnalysisOptions,
    Procedure,
    _correlations,
    analyze,
    string_values,
)
from typicality.models import NGramLM

ALPHABET = ("a", "b", "c")
EOS = "</s>"
DEPTH = 3
TOKEN_ID = {"a": 0, "b": 1, "c": 2, EOS: 3}
FAMILIES = ("logp_aligned", "logq", "log_pi_tilde", "logp_prior", "logp_prior_unconditioned")


def _row(rng: np.random.Generator, k: int) -> list[str]:
    """A random probability row as exact decimals that sum to 1."""
    while True:
        p = rng.dirichlet(np.full(k, 0.7))
        q = [Fraction(round(x * 1000), 1000) for x in p[:-1]]
        q.append(1 - sum(q))
        if all(x > 0 for x in q):
            return [str(x) for x in q]


def finite_model(seed: int) -> NGramLM:
    """An order-4 n-gram over {a, b, c} whose context is the whole prefix; eos is certain after 3 symbols, so the
    support is the 40 strings of length ≤ 3 and every function of the string is bounded."""
    rng = np.random.default_rng(seed)
    contexts = {}
    for d in range(DEPTH + 1):
        for prefix in itertools.product(ALPHABET, repeat=d):
            key = " ".join(prefix)
            contexts[key] = {EOS: "1"} if d == DEPTH else dict(zip((*ALPHABET, EOS), _row(rng, 4), strict=True))
    return NGramLM(DEPTH + 1, EOS, contexts)


def bigram(seed: int) -> NGramLM:
    rng = np.random.default_rng(seed)
    contexts = {ctx: dict(zip((*ALPHABET, EOS), _row(rng, 4), strict=True)) for ctx in ("", *ALPHABET)}
    return NGramLM(2, EOS, contexts)


def reward_of(y: tuple[str, ...]) -> float:
    """A known bounded reward: (number of a − number of c) / (|y| + 1) ∈ [−3/4, 3/4]."""
    return (y.count("a") - y.count("c")) / (len(y) + 1)


STRINGS = [y for d in range(DEPTH + 1) for y in itertools.product(ALPHABET, repeat=d)]


def string_columns(model, adaptor, prior, prior_unconditioned) -> dict[str, np.ndarray]:
    """Every column of the samples table, per string of STRINGS, from the models' rows (eos terms, 25-nat clamp)."""
    cols: dict[str, list] = {k: [] for f in FAMILIES for k in (f, f"{f}_eos", f"{f}_clamped")}
    for y in STRINGS:
        terms: dict[str, list[float]] = {f: [] for f in FAMILIES}
        for t in range(len(y) + 1):
            sym = y[t] if t < len(y) else EOS
            p = np.asarray(model.next_symbol_distribution(y[:t]), dtype=np.float64)
            j = model.symbols.index(sym)
            with np.errstate(divide="ignore"):
                terms["logp_aligned"].append(math.log(p[j]))
                terms["logq"].append(float(np.log(adaptor.local(p)[j])))
                terms["log_pi_tilde"].append(float(np.log(adaptor.weights(p)[j])))
            for f, lm in (("logp_prior", prior), ("logp_prior_unconditioned", prior_unconditioned)):
                row = np.asarray(lm.next_symbol_distribution(y[:t][-1:]), dtype=np.float64)
                terms[f].append(math.log(row[lm.symbols.index(sym)]))
        for f in FAMILIES:
            cols[f].append(math.fsum(terms[f]))
            cols[f"{f}_eos"].append(terms[f][-1])
            cols[f"{f}_clamped"].append(math.fsum(max(x, -25.0) for x in terms[f]))
    return {k: np.array(v) for k, v in cols.items()}


def sample_table(scheme: str, model, adaptor, n: int, seed: int, *, prior=None, prior_unconditioned=None,
                 samples_per_prompt: int = 2) -> tuple[pd.DataFrame, dict]:
    """n strings drawn from q_T, with every column computed exactly; also the per-string columns."""
    prior = prior or bigram(11)
    prior_unconditioned = prior_unconditioned or bigram(12)
    cols = string_columns(model, adaptor, prior, prior_unconditioned)
    q = local_model(model, adaptor)
    batch = q.sample_arrays(np.random.default_rng(seed), n)
    where = {y: i for i, y in enumerate(STRINGS)}
    ids = np.array([where[y] for y in batch.strings()])
    tokens = [[TOKEN_ID[a] for a in y] + [TOKEN_ID[EOS]] for y in STRINGS]
    data = {"scheme": scheme, "prompt_index": np.arange(n) // samples_per_prompt,
            "sample_index": np.arange(n) % samples_per_prompt,
            "token_ids": [tokens[i] for i in ids], "n_tokens": np.array([len(tokens[i]) for i in ids]),
            "eos": np.ones(n, dtype=bool), "text": [" ".join(STRINGS[i]) for i in ids]}
    for k, v in cols.items():
        data[k] = v[ids]
    data["reward"] = np.array([reward_of(y) for y in STRINGS])[ids]
    return pd.DataFrame(data), cols


def capped_rows(scheme: str, n: int, start_prompt: int) -> pd.DataFrame:
    """Capped strings (no eos) with extreme values that would move every mean if they were used."""
    data = {"scheme": scheme, "prompt_index": start_prompt + np.arange(n), "sample_index": 0,
            "token_ids": [[0, 0, 0, 0, 0]] * n, "n_tokens": 5, "eos": False, "text": "a a a a a",
            "reward": 100.0}
    for f in FAMILIES:
        data[f] = -1.0 if f in ("logq", "log_pi_tilde") else -300.0
        data[f"{f}_eos"] = 0.0
        data[f"{f}_clamped"] = -1.0 if f in ("logq", "log_pi_tilde") else -125.0
    return pd.DataFrame(data)


def scheme(name: str, base: str | None = None, adaptor: str = "top_k", temperature: float = 1.0) -> dict:
    return {"name": name, "adaptor": adaptor, "params": {"k": 2}, "temperature": temperature, "base": base}


def chain_radius(osc: float, lam: float, n: int, delta: float) -> float:
    return osc / lam * (math.sqrt((n - 1) * math.log(2 / delta) / 2) + 1) / n


def hoeffding(n: int, delta: float) -> float:
    return math.sqrt(math.log(2 / delta) / (2 * n))


# ----- the exact reference -----------------------------------------------------------------------------------


def test_global_means_match_the_exact_global_adaptor():
    model = finite_model(7)
    adaptor = Compose(make("temperature", t=0.7), make("top_k", k=2))
    n = 100_000
    samples, cols = sample_table("t0.7_top2", model, adaptor, n, seed=1)
    samples = pd.concat([samples, capped_rows("t0.7_top2", 300, n)], ignore_index=True)
    result = analyze(samples, [scheme("t0.7_top2", temperature=0.7)], AnalysisOptions(seed=3, ablations=()))
    s = result["schemes"][0]
    assert s["n"] == n and s["n_capped"] == 300 and result["n_capped"] == 300

    g, q = global_model(model, adaptor), local_model(model, adaptor)
    pi = np.array([g.prob(y) for y in STRINGS])
    qy = np.array([q.prob(y) for y in STRINGS])
    assert math.isclose(pi.sum(), 1, rel_tol=1e-12) and math.isclose(qy.sum(), 1, rel_tol=1e-12)
    support = qy > 0
    assert np.array_equal(support, pi > 0)
    lam = doeblin_constant(model, adaptor)
    assert 0.3 < lam < 1
    delta = 1e-9 / 7  # seven events below, union bound
    reward = np.array([reward_of(y) for y in STRINGS])
    for key, f in (("mean_logprob_prior", cols["logp_prior"]), ("mean_reward", reward)):
        osc = float(np.ptp(f[support]))
        exact_global, exact_local = float(pi @ f), float(qy @ f)
        radius = chain_radius(osc, lam, n, delta)
        assert abs(s["global"][key] - exact_global) <= radius, (key, s["global"][key], exact_global, radius)
        assert abs(s["local"][key] - exact_local) <= osc * hoeffding(n, delta)
        r = hoeffding(n, delta)
        assert abs(s["importance_sampling"][key] - exact_global) <= osc * r / (lam - r)
        # the check has power: local and global differ by far more than the radius
        assert abs(exact_global - exact_local) > 3 * radius, (key, exact_global, exact_local, radius)
    assert 0 < s["acceptance_rate"] < 1
    assert 0 < s["importance_sampling"]["ess"] < n
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_accept_all_returns_the_sample_itself():
    model, top2 = finite_model(7), make("top_k", k=2)
    samples, _ = sample_table("top2", model, top2, 2000, seed=2)
    result = analyze(samples, [scheme("top2")], AnalysisOptions(ablations=("accept_all",)))
    ablated = result["ablations"]["accept_all"]["schemes"][0]
    assert ablated["acceptance_rate"] == 1.0
    assert ablated["global"] == ablated["local"]
    ours = result["schemes"][0]
    for key in ("mean_logprob_prior", "mean_reward", "mean_length", "n"):
        assert ablated["global"][key] == ours["local"][key]
    assert ours["acceptance_rate"] < 1 and ours["global"]["mean_reward"] != ours["local"]["mean_reward"]


# ----- hand-made tables ---------------------------------------------------------------------------------------


def hand_table() -> pd.DataFrame:
    """Two schemes, three strings each, plus one capped string; every column a distinct known number."""
    rows = []
    for s, name in enumerate(("A", "B")):
        for i in range(3):
            k = 10 * s + i
            rows.append({"scheme": name, "prompt_index": i, "sample_index": 0, "token_ids": [k, 99],
                         "n_tokens": 2, "eos": True, "reward": 0.5 * k,
                         "logp_aligned": -3.0 - k, "logp_aligned_eos": -1.0, "logp_aligned_clamped": -2.5 - k,
                         "logq": -2.0 - k, "logq_eos": -0.5, "logq_clamped": -1.5 - k,
                         "log_pi_tilde": -2.0 - 1.1 * k, "log_pi_tilde_eos": -0.7,
                         "log_pi_tilde_clamped": -1.9 - 1.1 * k,
                         "logp_prior": -40.0 - k, "logp_prior_eos": -30.0, "logp_prior_clamped": -26.0 - k,
                         "logp_prior_unconditioned": -7.0 - 2 * k, "logp_prior_unconditioned_eos": -2.0,
                         "logp_prior_unconditioned_clamped": -6.0 - 2 * k})
    capped = dict(rows[0], prompt_index=9, token_ids=[5, 5, 5], n_tokens=3, eos=False, logp_aligned_eos=0.0,
                  logq_eos=0.0, log_pi_tilde_eos=0.0, logp_prior_eos=0.0, logp_prior_unconditioned_eos=0.0)
    return pd.DataFrame([*rows, capped])


HAND_SCHEMES = [scheme("A"), scheme("B")]


def test_each_ablation_changes_exactly_its_columns():
    t = hand_table()
    ours = string_values(t)
    np.testing.assert_array_equal(ours.log_prior, t.logp_prior)
    np.testing.assert_array_equal(ours.reward, t.reward)
    np.testing.assert_array_equal(ours.log_weight, t.log_pi_tilde - t.logq)
    expected = {
        Procedure(prior="unconditioned"): (t.logp_prior_unconditioned, t.log_pi_tilde - t.logq),
        Procedure(eos=False): (t.logp_prior - t.logp_prior_eos,
                               (t.log_pi_tilde - t.log_pi_tilde_eos) - (t.logq - t.logq_eos)),
        Procedure(clamp=True): (t.logp_prior_clamped, t.log_pi_tilde_clamped - t.logq_clamped),
        Procedure(official_target=True): (t.logp_prior, t.logp_aligned - t.logq),
    }
    for procedure, (prior, weight) in expected.items():
        v = string_values(t, procedure)
        np.testing.assert_array_equal(v.log_prior, prior)
        np.testing.assert_array_equal(v.log_weight, weight)
        np.testing.assert_array_equal(v.reward, t.reward)
    # clamped and without eos: the clamped sum minus the clamped eos term (max(eos, −25) = eos here)
    both = string_values(t, Procedure(eos=False, clamp=True))
    np.testing.assert_array_equal(both.log_prior, t.logp_prior_clamped - t.logp_prior_eos.clip(lower=-25))
    result = analyze(t, HAND_SCHEMES)
    for name, column in (("unconditioned_prior", t.logp_prior_unconditioned),
                         ("no_eos", t.logp_prior - t.logp_prior_eos), ("clamp_25", t.logp_prior_clamped)):
        for k, scheme_name in enumerate("AB"):
            used = (t.scheme == scheme_name) & t.eos
            local = result["ablations"][name]["schemes"][k]["local"]
            assert local["mean_logprob_prior"] == pytest.approx(column[used].mean(), abs=1e-12)
            assert local["mean_reward"] == pytest.approx(t.reward[used].mean(), abs=1e-12)


def test_dpo_secret_reward_and_its_official_sign():
    t = hand_table()
    beta = 0.1
    v = string_values(t, secret_reward_beta=beta)
    np.testing.assert_allclose(v.reward, beta * (t.logp_aligned - t.logp_prior))
    flipped = string_values(t, Procedure(flip_dpo_sign=True), secret_reward_beta=beta)
    np.testing.assert_allclose(flipped.reward, -v.reward)
    paper = Procedure(prior="unconditioned", eos=False, clamp=True, flip_dpo_sign=True, unit_beta=True)
    official = string_values(t, paper, secret_reward_beta=beta)
    unc = t.logp_prior_unconditioned_clamped - t.logp_prior_unconditioned_eos.clip(lower=-25)
    aligned = t.logp_aligned_clamped - t.logp_aligned_eos.clip(lower=-25)
    np.testing.assert_allclose(official.reward, unc - aligned)
    result = analyze(t, HAND_SCHEMES, AnalysisOptions(secret_reward_beta=beta))
    assert result["dpo"]["secret_reward_beta"] == beta
    assert result["dpo"]["reward_column_max_abs_difference"] > 0  # the hand table's reward is not the secret one
    assert "flipped_dpo_sign" in result["ablations"]["paper"]["applied"]
    assert "skipped" not in result["ablations"]["flipped_dpo_sign"]
    local = result["ablations"]["flipped_dpo_sign"]["schemes"][0]["local"]
    assert local["mean_reward"] == pytest.approx(-result["schemes"][0]["local"]["mean_reward"])
    no_dpo = analyze(t, HAND_SCHEMES)
    assert "skipped" in no_dpo["ablations"]["flipped_dpo_sign"]
    assert "flipped_dpo_sign" not in no_dpo["ablations"]["paper"]["applied"]


def test_capped_strings_are_excluded_and_counted():
    t = hand_table()
    r = analyze(t, HAND_SCHEMES, AnalysisOptions(ablations=()))
    a = r["schemes"][0]
    assert (a["n"], a["n_capped"], r["n_capped"], r["n_strings"]) == (3, 1, 1, 6)
    assert a["local"]["mean_reward"] == pytest.approx(np.mean([0, 0.5, 1.0]))
    r = analyze(t, HAND_SCHEMES, AnalysisOptions(include_capped=True, ablations=()))
    assert (r["schemes"][0]["n"], r["schemes"][0]["n_capped"]) == (4, 1)
    assert r["schemes"][0]["local"]["mean_length"] == pytest.approx(9 / 4)


def test_corpus_blocks_partition_the_chain():
    model, top2 = finite_model(7), make("top_k", k=2)
    samples, _ = sample_table("top2", model, top2, 1003, seed=4)
    r = analyze(samples, [scheme("top2")], AnalysisOptions(corpus_blocks=7, ablations=()))
    s = r["schemes"][0]
    sizes = s["corpus"]["block_sizes"]
    assert len(sizes) == 7 == len(s["corpus"]["global"]) == len(s["corpus"]["local"])
    assert sum(sizes) == s["n"] == 1003 and max(sizes) - min(sizes) <= 1
    assert sum(v for _, _, v in s["chain_visits"]) == 1003
    for level in ("global", "local"):
        points = np.array(s["corpus"][level])
        assert np.average(points[:, 0], weights=sizes) == pytest.approx(s[level]["mean_logprob_prior"])
        assert np.average(points[:, 1], weights=sizes) == pytest.approx(s[level]["mean_reward"])
    assert r["n_corpus_points"] == 7


def test_bootstrap_corpora_and_corpus_resampling():
    model, top2 = finite_model(7), make("top_k", k=2)
    samples, _ = sample_table("top2", model, top2, 500, seed=5)
    opts = AnalysisOptions(bootstrap_corpora=30, bootstrap_corpus_size=200, paper_chain_length=5000,
                           ablations=("corpus_resampling", "paper"))
    r = analyze(samples, [scheme("top2")], opts)
    boot = r["schemes"][0]["corpus"]["bootstrap"]
    assert boot["corpus_size"] == 200 and len(boot["points"]) == 30
    assert r["bootstrap"]["n_corpus_points"] == 30
    resampled = r["ablations"]["corpus_resampling"]
    assert 0 < resampled["schemes"][0]["acceptance_rate"] < 1
    paper = r["ablations"]["paper"]
    assert paper["schemes"][0]["acceptance_rate"] == 1.0  # the official bug: every proposal accepted
    assert "hf_default_top_k" not in paper["applied"]
    assert set(paper["change"]) == {"string_spearman", "string_pearson", "corpus_spearman", "corpus_pearson"}


def test_hf_default_top_k_uses_the_variant_strings():
    model = finite_model(7)
    a, _ = sample_table("top_p0.9", model, make("top_p", p=0.9), 400, seed=6)
    b, _ = sample_table("top_p0.9+hf_top_k50", model, Compose(make("top_p", p=0.9), make("top_k", k=2)), 300,
                        seed=7)
    schemes = [scheme("top_p0.9", adaptor="top_p"), scheme("top_p0.9+hf_top_k50", base="top_p0.9")]
    r = analyze(pd.concat([a, b], ignore_index=True), schemes, AnalysisOptions(ablations=("hf_default_top_k",)))
    assert [s["name"] for s in r["schemes"]] == ["top_p0.9"] and r["schemes"][0]["n"] == 400
    hf = r["ablations"]["hf_default_top_k"]["schemes"][0]
    assert hf["name"] == "top_p0.9" and hf["strings_from"] == "top_p0.9+hf_top_k50" and hf["n"] == 300
    r = analyze(a, schemes[:1], AnalysisOptions(ablations=("hf_default_top_k",)))
    assert "skipped" in r["ablations"]["hf_default_top_k"]


def test_simpson_reversal_is_detected():
    """Within each scheme log-prior and reward rise together; the scheme means lie on a falling line."""
    rng = np.random.default_rng(0)
    frames = []
    for s in range(5):
        x = rng.normal(0, 10, 2000)
        y = x + rng.normal(0, 3, 2000)
        frame = hand_like(f"s{s}", 3.0 * s + x - 100.0, -3.0 * s + y)
        frames.append(frame)
    schemes = [scheme(f"s{s}") for s in range(5)]
    r = analyze(pd.concat(frames, ignore_index=True), schemes, AnalysisOptions(ablations=()))
    simpson = r["simpson"]
    assert simpson["n_within_positive"] == 5 and simpson["n_within_negative"] == 0
    assert r["string_pearson"] > 0.3 and r["corpus_pearson"] < -0.5
    assert simpson["reversal"] is True and "docs/theory.md#c8" in simpson["note"]
    assert all(s["acceptance_rate"] == 1.0 for s in r["schemes"])  # equal weights: every proposal accepted


def hand_like(name: str, log_prior: np.ndarray, reward: np.ndarray) -> pd.DataFrame:
    """A table with the given log-priors (≤ 0) and rewards, and IMHA weights all equal (log π̃ = log q)."""
    n = len(log_prior)
    data = {"scheme": name, "prompt_index": np.arange(n), "sample_index": 0,
            "token_ids": [[i % 50, 1] for i in range(n)], "n_tokens": 2, "eos": True, "reward": reward}
    for f in FAMILIES:
        v = log_prior if f.startswith("logp_prior") else np.full(n, -2.0)
        data[f], data[f"{f}_eos"], data[f"{f}_clamped"] = v, -0.5, np.maximum(v, -25 * 2)
    return pd.DataFrame(data)


def test_minus_infinity_prior_is_excluded_and_counted():
    t = hand_table()
    t.loc[1, "logp_prior"] = -np.inf
    t.loc[1, "logp_prior_eos"] = -np.inf
    r = analyze(t, HAND_SCHEMES, AnalysisOptions(ablations=("no_eos", "clamp_25")))
    a = r["schemes"][0]
    assert a["local"]["mean_logprob_prior"] is None and "−∞" in a["local"]["undefined"]["mean_logprob_prior"]
    assert a["local"]["n_prior_nonfinite"] == 1
    assert r["n_string_points_excluded"] == sum(v for p, _, v in a["chain_visits"] if p == 1)
    assert r["local"]["n_string_points_excluded"] == 1
    no_eos = r["ablations"]["no_eos"]["schemes"][0]["local"]  # −∞ − (−∞): unknown, also excluded
    assert no_eos["mean_logprob_prior"] is None and no_eos["n_prior_nonfinite"] == 1
    clamped = r["ablations"]["clamp_25"]["schemes"][0]["local"]  # the clamp makes it finite
    assert clamped["mean_logprob_prior"] == pytest.approx(np.mean(t.logp_prior_clamped[:3]))
    json.dumps(r, allow_nan=False)
    dpo = analyze(t, HAND_SCHEMES, AnalysisOptions(secret_reward_beta=1.0, ablations=()))
    assert dpo["dpo"]["n_reward_nonfinite"] == 1  # β(log p_aligned − (−∞)) = +∞
    assert dpo["schemes"][0]["local"]["mean_reward"] is None
    json.dumps(dpo, allow_nan=False)


def test_too_few_strings_gives_none_with_a_reason():
    t = hand_table()
    t = t[~((t.scheme == "B") & (t.prompt_index > 0))]
    r = analyze(t, HAND_SCHEMES)
    b = r["schemes"][1]
    assert b["n"] == 1 and b["global"] is None and "needs at least 2" in b["undefined"]["scheme"]
    assert r["n_strings"] == 3
    assert r["string_pearson"] is not None or "string_pearson" in r["undefined"]
    json.dumps(r, allow_nan=False)


def test_weighted_correlations_equal_scipy_on_the_expanded_data():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 40).astype(float)  # many ties
    y = x + rng.integers(0, 3, 40)
    counts = rng.integers(0, 4, 40)
    c = _correlations(x, y, counts)
    ex, ey = np.repeat(x, counts), np.repeat(y, counts)
    assert c["pearson"] == pytest.approx(stats.pearsonr(ex, ey)[0], abs=1e-12)
    assert c["spearman"] == pytest.approx(stats.spearmanr(ex, ey)[0], abs=1e-12)
    assert c["n_points"] == counts.sum()
    flat = _correlations(np.ones(5), np.arange(5.0))
    assert flat["pearson"] is None and "constant" in flat["undefined"]["pearson"]


def test_deterministic_given_the_seed():
    model, top2 = finite_model(7), make("top_k", k=2)
    samples, _ = sample_table("top2", model, top2, 600, seed=8)
    opts = AnalysisOptions(seed=5, paper_chain_length=3000, bootstrap_corpora=5)
    first = analyze(samples, [scheme("top2")], opts)
    assert analyze(samples, [scheme("top2")], opts) == first
    other = analyze(samples, [scheme("top2")], AnalysisOptions(seed=6, paper_chain_length=3000, bootstrap_corpora=5))
    assert other["schemes"][0]["chain_visits"] != first["schemes"][0]["chain_visits"]
    assert list(first["ablations"]) == [a for a in ALL_ABLATIONS]


def test_bad_input():
    t = hand_table()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['logq'\]"):
        analyze(t.drop(columns="logq"), HAND_SCHEMES)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['logp_prior_clamped'\]"):
        analyze(t.drop(columns="logp_prior_clamped"), HAND_SCHEMES, AnalysisOptions(ablations=("clamp_25",)))
    analyze(t.drop(columns="logp_prior_clamped"), HAND_SCHEMES, AnalysisOptions(ablations=("no_eos",)))
    with pytest.raises(ValueError, match=r"scheme\(s\) \['B'\] are not in schemes"):
        analyze(t, HAND_SCHEMES[:1])
    with pytest.raises(ValueError, match=r"\['C'\] have no rows"):
        analyze(t, [*HAND_SCHEMES, scheme("C")])
    bad = t.copy()
    bad.loc[4, "logq"] = np.nan
    with pytest.raises(ValueError, match=r"column 'logq' has a non-finite value \(nan\) at row 4 \(scheme 'B'"):
        analyze(bad, HAND_SCHEMES)
    bad = t.copy()
    bad.loc[2, "logp_prior"] = np.inf
    with pytest.raises(ValueError, match="column 'logp_prior' has NaN or \\+inf"):
        analyze(bad, HAND_SCHEMES)
    bad = t.copy()
    bad.loc[0, "logq"] = 3.0
    with pytest.raises(ValueError, match="not NLLs"):
        analyze(bad, HAND_SCHEMES)
    bad = t.copy()
    bad.loc[6, "logq_eos"] = -1.0
    with pytest.raises(ValueError, match=r"must be 0\.0 for a capped string"):
        analyze(bad, HAND_SCHEMES)
    bad = t.copy()
    bad.loc[1, "prompt_index"] = 0
    with pytest.raises(ValueError, match="duplicate"):
        analyze(bad, HAND_SCHEMES)
    bad = t.copy()
    bad.at[0, "token_ids"] = [1, 2, 3]
    with pytest.raises(ValueError, match="n_tokens is 2"):
        analyze(bad, HAND_SCHEMES)
    with pytest.raises(ValueError, match="empty"):
        analyze(t.iloc[:0], HAND_SCHEMES)
    with pytest.raises(TypeError, match="DataFrame"):
        analyze(t.to_dict(), HAND_SCHEMES)
    with pytest.raises(ValueError, match="base 'Z'"):
        analyze(t, [scheme("A"), scheme("B", base="Z")])
    with pytest.raises(ValueError, match="corpus_blocks must be an int >= 1, got 0"):
        AnalysisOptions(corpus_blocks=0)
    with pytest.raises(ValueError, match="secret_reward_beta"):
        AnalysisOptions(secret_reward_beta=-1.0)
    with pytest.raises(ValueError, match="unknown name"):
        AnalysisOptions(ablations=("nope",))
    with pytest.raises(TypeError, match="options must be an AnalysisOptions"):
        analyze(t, HAND_SCHEMES, {"seed": 1})
    with pytest.raises(TypeError, match="procedure must be a Procedure"):
        string_values(t, "ours")
    assert string_values(t, OURS).log_prior.shape == (7,)
