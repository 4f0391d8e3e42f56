"""Exact measures against Monte Carlo, with concentration bounds at failure probability ≤ 1e-9 (fixed seeds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.strategies import EOS
from typicality import measures as M
from typicality.models import NGramLM, examples

# Median of means (Chebyshev per group, Hoeffding across groups): with k groups the median deviates from the
# mean by more than 2σ·sqrt(k/N) with probability ≤ exp(−k/8); k = 166 gives ≤ 1e-9.
GROUPS = 166


def median_of_means(x: np.ndarray, k: int = GROUPS) -> float:
    m = len(x) // k
    return float(np.median(x[: m * k].reshape(k, m).mean(axis=1)))


def mom_radius(sigma: float, n: int, k: int = GROUPS) -> float:
    return 2 * sigma * math.sqrt(k / (n // k * k))


def trigram() -> NGramLM:
    rng = np.random.default_rng(2024)
    syms = ["a", "b", "c"]
    contexts = {}
    for ctx in ["", *syms, *[f"{x} {y}" for x in syms for y in syms]]:
        w = rng.integers(1, 9, size=4).astype(float)
        w[3] += 3  # eos
        contexts[ctx] = dict(zip([*syms, EOS], (w / w.sum()).tolist(), strict=True))
    return NGramLM(3, EOS, contexts)


def model_named(name: str) -> NGramLM:
    return trigram() if name == "trigram" else examples.EXAMPLES[name]()


def spec_of(model: NGramLM) -> dict:
    from fractions import Fraction

    return {c: {a: Fraction(str(v)) for a, v in row.items()} for c, row in model.contexts.items()}


@pytest.mark.parametrize("name", ["example1", "c1", "c2", "trigram"])
def test_mean_surprisal_concentrates_on_exact_entropy(name):
    """Tests the pair (H, σ²): if both are right, the check fails with probability ≤ 1e-9."""
    model = model_named(name)
    n = 1_000_000
    logp, _ = model.sample_log_probs(np.random.default_rng(7), n)
    sigma = math.sqrt(M.varentropy(model))
    assert abs(median_of_means(-logp) - M.entropy(model)) <= mom_radius(sigma, n)


@pytest.mark.parametrize("name", ["c1", "c2"])
def test_squared_deviation_concentrates_on_exact_varentropy(name):
    """(I − H)² by median of means; its variance from the closed-form central moments of the geometric law.

    c1: I = ln 2 + |Y| ln 4; c2: I = k ln 2 (k = |Y|/2); in both the count is geometric with parameter ½,
    variance 2 and fourth central moment σ⁴ (9 + q²/(1−q)) = 38, so Var[(I − H)²] = s⁴ (38 − 4) with s the
    scale (ln 4 or ln 2).
    """
    model = model_named(name)
    scale = math.log(4) if name == "c1" else math.log(2)
    n = 4_000_000
    logp, _ = model.sample_log_probs(np.random.default_rng(21), n)
    sq = (-logp - M.entropy(model)) ** 2
    radius = mom_radius(math.sqrt(34) * scale**2, n)
    assert abs(median_of_means(sq) - M.varentropy(model)) <= radius
    assert radius < 0.1 * M.varentropy(model)  # the check has teeth


@pytest.mark.parametrize("name", ["example1", "trigram"])
def test_length_distribution_and_mean_match(name):
    """P(|Y| = n), n ≤ 5, against enumeration (Hoeffding, union over 6 lengths) and E|Y| by median of means with
    Var|Y| from the power series of tests/reference.py; failure probability ≤ 1e-9 each."""
    from tests.reference import series
    from typicality.enumeration import enumerate_strings

    model = model_named(name)
    e = enumerate_strings(model, 5)
    n = 1_000_000
    _, lengths = model.sample_log_probs(np.random.default_rng(11), n)
    eps = math.sqrt(math.log(2 * 6 / 1e-9) / (2 * n))
    for k in range(6):
        exact = sum(p for y, p in zip(e.strings, e.probs, strict=True) if len(y) == k)
        assert abs(np.mean(lengths == k) - exact) <= eps, k
    ref = series(model.order, spec_of(model))
    var_length = ref["length_second_moment"] - ref["expected_length"][0] ** 2
    assert abs(median_of_means(lengths.astype(float)) - M.expected_length(model)) <= mom_radius(
        math.sqrt(var_length), n)
