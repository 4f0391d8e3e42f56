"""The theory estimators on distributions whose measures are known exactly (a finite support, enumerated): interval
coverage at the nominal rate over fixed seeds, censoring, the AEP verdicts. No model needed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from typicality.lm.theory import aep
from typicality.lm.theory import estimators as est

REPS = 400  # coverage ≥ 0.95 nominal: 354 of 400 is 6 standard deviations below 380 (failure ~1e-9)
FLOOR = 354


def _support(seed: int = 0, k: int = 200):
    """A finite 'string' distribution with a wide range of probabilities (surprisals 1–15 nats)."""
    rng = np.random.default_rng(seed)
    logw = rng.normal(0, 2.0, size=k)
    return logw - logsumexp(logw)


def _exact(logp, alpha=None):
    p = np.exp(logp)
    h = -float(p @ logp)
    var = float(p @ (logp + h) ** 2)
    if alpha is None:
        return h, var
    return float(logsumexp(alpha * logp) / (1 - alpha))


def _draws(logp, n, seed):
    return logp[np.random.default_rng(seed).choice(len(logp), size=n, p=np.exp(logp))]


@pytest.mark.parametrize("which", ["entropy", "varentropy"])
def test_entropy_and_varentropy_intervals_cover_at_the_nominal_rate(which):
    support = _support()
    h, var = _exact(support)
    truth = h if which == "entropy" else var
    fn = est.entropy_interval if which == "entropy" else est.varentropy_interval
    hits = 0
    for seed in range(REPS):
        r = fn(_draws(support, 2000, seed))
        hits += r["low"] <= truth <= r["high"]
    assert hits >= FLOOR, hits


@pytest.mark.parametrize("alpha", [1.5, 3.0])
def test_renyi_intervals_above_one_are_rigorous(alpha):
    """Empirical Bernstein: coverage at least the nominal level for every distribution."""
    support = _support(1)
    truth = _exact(support, alpha)
    hits = sum(_contains(est.renyi_interval(_draws(support, 1000, s), alpha), truth) for s in range(REPS))
    assert hits >= FLOOR, hits


def _contains(r, x):
    return r["low"] <= x <= r["high"]


def test_renyi_below_one_warns_when_a_few_strings_dominate():
    support = _support(2)
    r = est.renyi_interval(_draws(support, 2000, 0), 0.9)
    assert r["method"].startswith("CLT") and r["ess"] > 0.1 * 2000 and "warning" not in r
    assert _contains(r, _exact(support, 0.9))
    heavy = np.concatenate([np.full(999, -1.0), [-80.0]])  # one string 80 nats deep dominates Σ p^{α−1}
    r = est.renyi_interval(heavy, 0.5)
    assert r["ess"] < 2 and "effective sample size" in r["warning"]


def test_capped_strings_keep_only_the_side_that_censoring_preserves():
    support = _support(3)
    draws = _draws(support, 1000, 0)
    capped = np.zeros(1000, dtype=bool)
    capped[:5] = True
    h = est.entropy_interval(draws, capped)
    assert h["estimate"] is None and h["high"] == math.inf and h["low"] > 0 and h["n_capped"] == 5
    assert est.varentropy_interval(draws, capped)["high"] == math.inf
    above = est.renyi_interval(draws, 2.0, capped)
    assert above["estimate"] is None and _contains(above, _exact(support, 2.0))
    below = est.renyi_interval(draws, 0.8, capped)
    assert below["high"] == math.inf


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="logp must hold log-probabilities"):
        est.entropy_interval([0.5, -1.0])
    with pytest.raises(ValueError, match="logp must hold log-probabilities"):
        est.entropy_interval([float("nan"), -1.0])
    with pytest.raises(ValueError, match="alpha must be"):
        est.renyi_interval([-1.0, -2.0], 1)
    with pytest.raises(ValueError, match="confidence"):
        est.entropy_interval([-1.0, -2.0], confidence=1.5)
    assert est.entropy_interval([-1.0])["estimate"] is None  # one string: no interval, said so


def test_monotone_check_finds_proven_violations():
    rows = [{"alpha": 0.5, "estimate": 3.0, "low": 2.5, "high": 3.5},
            {"alpha": 2.0, "estimate": 4.0, "low": 3.6, "high": 4.4}]
    got = est.monotone_check(rows)
    assert not got["estimates_monotone"] and got["violation_proven"] and got["violating_pairs"] == [(0.5, 2.0)]
    rows[1].update(estimate=2.0, low=1.0, high=3.0)
    assert est.monotone_check(rows) == {"estimates_monotone": True, "increasing_pairs": [],
                                        "violation_proven": False, "violating_pairs": []}


def test_aep_frequencies_bracket_the_exact_tail_and_chebyshev_is_never_violated():
    """N = 1: the exact P(|I − H| ≥ ε) by enumeration lies in the frequency's interval, and the verdicts never call
    Chebyshev (a theorem) violated."""
    support = _support(4)
    h, _var = _exact(support)
    p = np.exp(support)
    inside = 0
    rows_seen = 0
    for seed in range(40):
        draws = _draws(support, 2000, seed)
        rows = aep.aep_rows(draws, est.entropy_interval(draws), est.varentropy_interval(draws))
        for r in rows:
            assert r["chebyshev"]["verdict"] != "violated"
            assert r["chernoff"]["verdict"] != "violated"
            if r["n"] == 1:
                exact = float(p @ (np.abs(-support - h) >= r["eps"]))
                inside += r["empirical"]["low"] <= exact <= r["empirical"]["high"]
                rows_seen += 1
    assert rows_seen == 120 and inside >= 110
    assert {r["n"] for r in rows} == {1, 2, 4, 8, 16, 32}  # 2000 // 32 = 62 ≥ 50 corpora; 64 would leave 31


def test_aep_verdicts_follow_the_intervals():
    assert aep._verdict((0.0, 0.1), (0.2, 0.3)) == "consistent"
    assert aep._verdict((0.4, 0.5), (0.2, 0.3)) == "violated"
    assert aep._verdict((0.1, 0.25), (0.2, 0.3)) == "undecided"
    assert aep._verdict((0.0, 0.1), (1.0, 2.0)) == "vacuous"
    assert aep.aep_rows(np.array([-1.0, -2.0]), {"estimate": None}, {"estimate": None}) == []


def test_the_fixed_eps_grid_shows_concentration():
    """ε fixed at its N = 1 value: the Chebyshev bound falls like 0.5/N and so does the atypical frequency."""
    support = _support(5)
    draws = _draws(support, 4000, 0)
    h, v = est.entropy_interval(draws), est.varentropy_interval(draws)
    rows = aep.aep_rows(draws, h, v)
    first = next(r for r in rows if r["n"] == 1 and r["chebyshev"]["estimate"] == pytest.approx(0.5))
    series = [first] + [r for r in rows if r["grid"] == "eps"]
    assert [r["n"] for r in series] == [1, 2, 4, 8]
    assert all(r["eps"] == first["eps"] for r in series)
    assert [r["chebyshev"]["estimate"] for r in series] == pytest.approx([0.5, 0.25, 0.125, 0.0625])
    freq = [r["empirical"]["estimate"] for r in series]
    assert freq[-1] < freq[0]
