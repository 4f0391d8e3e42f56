"""Cramér's V (uncorrected and Bergsma) against scipy and the independence law; ESS against AR(1) theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats.contingency import association

from typicality.diagnostics import cramers_v, effective_sample_size, hoeffding_radius, markov_tv_bound


def test_cramers_v_matches_scipy():
    rng = np.random.default_rng(0)
    for k in (2, 5, 30):
        s = rng.integers(0, k, 3000)
        s[1::3] = s[0::3][: len(s[1::3])]  # some dependence
        table = np.zeros((k, k), dtype=np.int64)
        np.add.at(table, (s[:-1], s[1:]), 1)
        assert cramers_v(s).v == pytest.approx(association(table, method="cramer"), rel=1e-12)


def test_independence_law_and_bergsma_correction():
    """Under independence V ≈ sqrt((K − 1)/n) (docs/theory.md#r3: 0.20 at 50k, 0.10 at 200k for K = 2000); Ṽ ≈ 0."""
    rng = np.random.default_rng(1)
    for n, published in ((50_000, 0.200), (200_000, 0.100)):
        cv = cramers_v(rng.integers(0, 2000, n))
        assert cv.v == pytest.approx(published, abs=0.005)
        assert cv.v == pytest.approx(math.sqrt(1999 / n), rel=0.03)
        assert cv.v_corrected < 0.02


def test_cramers_v_detects_a_sticky_chain():
    rng = np.random.default_rng(2)
    s = np.repeat(rng.integers(0, 50, 2000), 5)  # each state repeated 5 times
    cv = cramers_v(s)
    assert cv.v > 0.75 and cv.v_corrected > 0.75
    assert cramers_v([("a",), ("b",), ("a",), ("a",), ("b",)] * 20).rows == 2  # strings as states


def test_cramers_v_bad_input():
    with pytest.raises(ValueError, match="undefined"):
        cramers_v(np.zeros(100, dtype=int))
    with pytest.raises(ValueError, match="lag must be an int >= 1"):
        cramers_v(np.arange(10), lag=0)
    with pytest.raises(ValueError, match="needs more than"):
        cramers_v(np.arange(2))


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_ess_of_ar1(rho):
    """ESS/n → (1 − ρ)/(1 + ρ) for an AR(1) chain; 4 chains of 50,000, within 10 %."""
    rng = np.random.default_rng(3)
    x = np.zeros((4, 50_000))
    e = rng.standard_normal(x.shape)
    for t in range(1, x.shape[1]):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    assert effective_sample_size(x) / x.size == pytest.approx((1 - rho) / (1 + rho), rel=0.1)
    with pytest.raises(ValueError, match="constant"):
        effective_sample_size(np.ones(100))


def test_bounds_helpers():
    assert markov_tv_bound(0.5, 10) == 0.5**10
    assert hoeffding_radius(1000, 1e-9) == pytest.approx(math.sqrt(math.log(2e9) / 2000))
    with pytest.raises(ValueError):
        markov_tv_bound(0.0, 3)
