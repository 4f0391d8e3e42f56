"""typicality lm theory against exact values: a tiny transformers model whose continuation distribution is
enumerated (tests/reference_lm.py: every string down to probability 1e-13, pruned mass ~2e-9), sampled and
estimated end to end over fixed seeds. Each interval must cover the exact value at its nominal rate: with 30
seeds, at least 16 covered (for a true coverage ≥ 0.93 the chance of fewer is below 3e-10); the numpy-level
coverage tests (test_lm_theory_estimators.py) check the rate itself with 400 replications."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.reference_lm import enumerate_strings, exact_measures, tiny_enumerable_lm
from typicality.lm.theory import TheoryConfig, run_theory

SEEDS = 30
FLOOR = 16
ALPHAS = (1.5, 2.0, 3.0)


@pytest.fixture(scope="module")
def exact_and_runs(tmp_path_factory):
    from typicality.lm.loading import load_causal_lm

    path = tiny_enumerable_lm(tmp_path_factory.mktemp("enum-lm"))
    lm = load_causal_lm(path, device="cpu", dtype="float32")
    prompt = "a b"
    ctx = list(lm.tokenizer(prompt)["input_ids"])
    enum = enumerate_strings(lm, ctx)
    exact = exact_measures(enum, alphas=ALPHAS)
    runs = [run_theory(TheoryConfig(path, prompts=(prompt,), samples=2000, max_new_tokens=40, seed=s, alphas=ALPHAS,
                                    schemes=(), batch_size=256))["prompts"][0] for s in range(SEEDS)]
    return enum, exact, runs


def test_entropy_varentropy_and_renyi_intervals_cover_the_exact_values(exact_and_runs):
    _, exact, runs = exact_and_runs
    assert exact.pruned_mass < 1e-8 and exact.entropy_error_bound < 1e-6
    covered = {"entropy": 0, "varentropy": 0, **{a: 0 for a in ALPHAS}}
    for p in runs:
        assert p["n_capped"] == 0
        covered["entropy"] += p["entropy"]["low"] <= exact.entropy <= p["entropy"]["high"]
        covered["varentropy"] += p["varentropy"]["low"] <= exact.varentropy <= p["varentropy"]["high"]
        for r in p["renyi"]:
            covered[r["alpha"]] += r["low"] <= exact.renyi[r["alpha"]] <= r["high"]
    assert all(v >= FLOOR for v in covered.values()), covered
    # the empirical-Bernstein intervals (α > 1) are rigorous: at 95 % they should essentially always cover
    assert all(covered[a] >= 27 for a in ALPHAS), covered


def test_chebyshev_verdicts_against_the_exact_tail(exact_and_runs):
    """N = 1: P(|I(Y) − H| ≥ ε) by enumeration is below Chebyshev's bound (a theorem), no run calls the bound
    violated, and the frequency's interval covers the exact tail at the nominal rate."""
    enum, exact, runs = exact_and_runs
    p = np.exp(enum.logp)
    covered = total = 0
    for run in runs:
        for row in run["aep"]:
            assert row["chebyshev"]["verdict"] != "violated" and row["chernoff"]["verdict"] != "violated"
            if row["n"] == 1:
                tail = float(p @ (np.abs(-enum.logp - exact.entropy) >= row["eps"]))
                assert tail <= exact.varentropy / row["eps"] ** 2
                covered += row["empirical"]["low"] <= tail <= row["empirical"]["high"]
                total += 1
    assert total == 3 * SEEDS and covered >= 0.8 * total


def test_eos_minimum_is_one_of_the_enumerated_prefixes(exact_and_runs):
    """The smallest p(eos | prefix) a run saw is at least the smallest over all enumerated prefixes, and equals it
    up to float32 rounding for a prefix that every run meets (the empty one)."""
    enum, _, runs = exact_and_runs
    lowest = float(np.exp(enum.prefix_log_eos.min()))
    for run in runs:
        assert run["min_eos_probability"] >= lowest * (1 - 1e-5)
        assert run["eos_quantiles"]["max"] <= float(np.exp(enum.prefix_log_eos.max())) * (1 + 1e-5)
