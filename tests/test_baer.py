"""Baer's infinite-entropy model (App. C, docs/theory.md#b7): closed forms at mpmath precision, rigorous checks."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from flint import arb

from typicality import measures as M
from typicality.enumeration import enumerate_strings
from typicality.models import BaerLM, StringTooLongError


def test_pmf_telescopes_to_the_closed_form_partial_mass():
    """Σ_{n<N} p(aⁿ), summed term by term at 60 digits, equals 1 − 1/log₂(N+2)."""
    with mpmath.workdps(60):
        for N in (1, 10, 1000):
            direct = mpmath.fsum(mpmath.exp(BaerLM.length_log_prob(n, dps=60)) for n in range(N))
            assert abs(direct - (1 - 1 / mpmath.log(N + 2, 2))) < mpmath.mpf(10) ** -55
            assert abs(BaerLM.partial_mass(N, dps=60) - direct) < mpmath.mpf(10) ** -55


def test_every_probability_positive_and_mass_one_certified():
    """Ball arithmetic: p(aⁿ) > 0 and partial sum + closed-form tail contains 1, for the first 200 lengths."""
    two = arb(2)
    total = arb(0)
    for n in range(200):
        p = 1 / (arb(n + 2).log() / two.log()) - 1 / (arb(n + 3).log() / two.log())
        assert p > 0
        total += p
    tail = two.log() / arb(202).log()  # 1/log₂(202): the telescoped remainder
    assert (total + tail).contains(1)


def test_entropy_lower_bound_g_and_divergence():
    """g(n) ≤ p(aⁿ) (convexity), and the partial entropies grow past any bound like ln 2 · ln ln N."""
    n = np.arange(2_000_000)
    x = n + 2.0
    logp = np.log(np.log(2)) + np.log(np.log1p(1 / x)) - np.log(np.log(x)) - np.log(np.log1p(x))
    logg = np.log(np.log(2)) - np.log(n + 3.0) - 2 * np.log(np.log(n + 3.0))
    assert np.all(logg <= logp)
    # the numbers of docs/theory.md#b7's independent re-run
    for N, value in ((10**3, 2.63), (10**4, 2.95), (10**5, 3.18), (10**6, 3.36), (2 * 10**6, 3.40)):
        assert BaerLM.partial_entropy(N) == pytest.approx(value, abs=0.005)
    # −g log g summed from 1 to N exceeds ln 2 ∫ dx/((x+3) ln(x+3)) = ln 2 (ln ln(N+3) − ln ln 4) (B.7)
    for N in (10**3, 10**6):
        g = np.exp(logg[1:N])
        assert math.fsum(-g * np.log(g)) >= math.log(2) * (math.log(math.log(N + 3)) - math.log(math.log(4)))


def test_partial_entropy_mpmath_matches_float():
    assert float(BaerLM.partial_entropy(300, dps=40)) == pytest.approx(BaerLM.partial_entropy(300), rel=1e-12)


def test_measures_of_baer():
    m = BaerLM()
    assert M.entropy(m) == math.inf
    assert M.renyi_entropy(m, "0.9") == math.inf
    assert M.renyi_entropy(m, 1) == math.inf
    assert M.expected_length(m) == math.inf
    assert M.eos_bound(m) == 0
    assert M.renyi_threshold(m) == 1
    with pytest.raises(M.UndefinedMeasureError, match="infinite"):
        M.varentropy(m)
    result = M.measures(m)
    assert result.varentropy is None and "varentropy" in result.undefined
    assert result.to_json_dict()["entropy"] == "inf"


def test_renyi_2_within_certified_partial_sum_and_tail():
    """H₂: Euler–Maclaurin value inside [−log(S_N + tail), −log S_N] with S_N summed in ball arithmetic."""
    N = 3000
    two = arb(2)
    S = arb(0)
    last = arb(0)
    for n in range(N):
        p = 1 / (arb(n + 2).log() / two.log()) - 1 / (arb(n + 3).log() / two.log())
        S += p * p
        last = p
    tail = last * (two.log() / arb(N + 2).log())  # Σ_{n≥N} p² ≤ p(a^{N−1}) · P(|Y| ≥ N)
    lo, hi = -(S + tail).log(), -S.log()
    value = M.renyi_entropy(BaerLM(), 2, dps=30)
    assert float(lo.lower()) <= float(value) <= float(hi.upper())
    assert float(hi.upper() - lo.lower()) < 1e-3


def test_enumerated_tail_is_the_closed_form():
    e = enumerate_strings(BaerLM(), 50, dps=40)
    with mpmath.workdps(40):
        assert abs(e.tail_mass - 1 / mpmath.log(53, 2)) < mpmath.mpf(10) ** -35


def test_sample_length_law():
    """P(|Y| ≥ n) = 1/log₂(n+2) for the sampler, Hoeffding at 1e-9 over four thresholds."""
    m = BaerLM()
    rng = np.random.default_rng(5)
    n = 200_000
    _, lengths = m.sample_log_probs(rng, n)
    eps = math.sqrt(math.log(2 * 4 / 1e-9) / (2 * n))
    for k in (1, 10, 1000, 10**6):
        assert abs(np.mean(lengths >= k) - math.log(2) / math.log(k + 2)) <= eps
    draws = [m.sample_length(np.random.default_rng(i)) for i in range(200)]
    assert all(isinstance(d, int) and d >= 0 for d in draws)
    with pytest.raises(StringTooLongError, match="max_length=10"):
        for i in range(10_000):
            m.sample(np.random.default_rng(i), max_length=10)
