"""The bounds of typicality.bounds against brute force: every N-tuple of strings enumerated, exact probabilities."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from tests.reference import unigram_closed_forms
from typicality import bounds as B
from typicality import measures as M
from typicality.models import FiniteSupportLM, NGramLM, examples
from typicality.testing import finite_support_distributions, ngram_specs


def brute_force_tail(strings_probs: list[tuple[tuple, float]], h: float, n: int, eps: float, margin: float = 1e-9):
    """(P(mean ≥ H+ε), P(mean ≤ H−ε)) over all N-tuples of the listed strings; ties within margin excluded."""
    up = down = 0.0
    for tup in itertools.product(strings_probs, repeat=n):
        prob = math.prod(p for _, p in tup)
        mean = sum(-math.log(p) for _, p in tup) / n
        if mean - h >= eps + margin:
            up += prob
        elif h - mean >= eps + margin:
            down += prob
    return up, down


@settings(max_examples=40)
@given(dist=finite_support_distributions(max_size=4), n=st.integers(1, 5), eps=st.floats(0.05, 2.0))
def test_bounds_dominate_the_brute_force_probability_finite_support(dist, n, eps):
    m = FiniteSupportLM(dist)
    h = float(M.entropy(m))
    up, down = brute_force_tail([(y, float(p)) for y, p in dist.items()], h, n, eps)
    assert B.chebyshev_bound(m, n, eps) >= up + down - 1e-12
    c = B.chernoff_bound(m, n, eps)
    assert c.upper_tail >= up - 1e-12 and c.lower_tail >= down - 1e-12
    t = B.tail_probability(m, n, eps)
    assert t.lower - 1e-9 <= up + down <= t.upper + 1e-9


@settings(max_examples=25)
@given(spec=ngram_specs(kind="eos_bounded", max_symbols=2, max_order=2, min_eos_weight=4), n=st.integers(1, 3),
       eps=st.floats(0.1, 2.0))
def test_bounds_dominate_the_enumerated_probability_finite_state(spec, n, eps):
    """Strings of length ≤ 3 give a lower bound on the true probability; every bound must exceed it."""
    from typicality.enumeration import enumerate_strings

    m = spec.model
    h = float(M.entropy(m))
    e = enumerate_strings(m, 3)
    up, down = brute_force_tail(list(zip(e.strings, [float(p) for p in e.probs], strict=True)), h, n, eps)
    assert B.chebyshev_bound(m, n, eps) >= up + down - 1e-12
    c = B.chernoff_bound(m, n, eps)
    assert c.upper_tail >= up - 1e-12 and c.lower_tail >= down - 1e-12


@pytest.mark.parametrize("name", ["c1", "example1", "c3"])
def test_chernoff_beats_chebyshev_for_large_n(name):
    m = examples.EXAMPLES[name]()
    for eps in (0.2, 0.5):
        c = B.chernoff_bound(m, 20_000, eps)
        assert c.exponent > 0
        assert c.bound < B.chebyshev_bound(m, 20_000, eps)


def test_chernoff_exponent_is_quadratic_for_small_eps():
    """c(ε) ~ ε²/(2σ²) as ε → 0 (docs/theory.md#c3): both tail exponents, at ε = 0.02, within 10 %."""
    m = examples.example1_bigram()
    sigma2 = float(M.varentropy(m))
    (_, c_up), (_, c_lo), _ = B.chernoff_exponents(m, 0.02)
    for c in (c_up, c_lo):
        assert c / (0.02**2 / (2 * sigma2)) == pytest.approx(1.0, abs=0.1)


def c3_renyi_sum(alpha: float) -> float:
    """Closed form for examples.c3_left_skewed: Σ p^α = (1/5)^α + 100 q₁^α s^α / (1 − 100 q₂^α), with
    q₁ = 0.8/100 the first-step symbol probability, q₂ = 10⁻⁸ the later ones, s = 1 − 10⁻⁶ the final eos."""
    q1, q2, s = 0.008, 1e-8, 1 - 1e-6
    ratio = 100 * q2**alpha
    if ratio >= 1:
        return math.inf
    return 0.2**alpha + 100 * q1**alpha * s**alpha / (1 - ratio)


def test_symmetric_exponent_fails_on_c3_independently():
    """C3: exact lower-tail probability (by the law of the length, computed here) exceeds 2·exp(−N c_up), c_up the
    best upper-tail exponent from the closed-form Rényi series; the corrected bound covers it."""
    n, eps = 40, 1.0
    # surprisal by length: 0 -> ln 5; 1 -> −ln(0.008 (1 − 1e-6)); ≥ 2 -> larger still (mass 0.8e-6)
    i0, i1 = math.log(5), -math.log(0.008 * (1 - 1e-6))
    p0, p1 = 0.2, 0.8 * (1 - 1e-6)
    h = float(M.entropy(examples.c3_left_skewed()))
    # P(mean ≤ H − ε) ≥ P(all draws have length ≤ 1 and k empty strings with (k i0 + (n−k) i1)/n ≤ H − ε)
    lower = sum(math.comb(n, k) * p0**k * p1 ** (n - k) for k in range(n + 1)
                if (k * i0 + (n - k) * i1) / n <= h - eps - 1e-9)
    best = minimize_scalar(lambda a: -((1 - a) * (eps + h) - math.log(c3_renyi_sum(a))), bounds=(0.26, 0.9999),
                           method="bounded")
    c_up = -best.fun
    assert lower > 2 * math.exp(-n * c_up)
    assert B.chernoff_bound(examples.c3_left_skewed(), n, eps).bound >= lower
    assert c_up == pytest.approx(B.chernoff_exponents(examples.c3_left_skewed(), eps)[0][1], rel=1e-6)


def test_lower_tail_is_empty_when_below_min_surprisal():
    m = examples.c1_counterexample()  # H = 3 ln 2 ≈ 2.08, min surprisal ln 2
    c = B.chernoff_bound(m, 10, 1.5)
    assert c.lower_tail == 0 and c.lower_order is None and "empty" in c.note


def test_tradeoff_constant_and_identity_on_the_toy():
    from typicality.toy import toy_objects

    toy = toy_objects()
    prior = FiniteSupportLM({(f"y{i}",): p for i, p in enumerate(toy.prior)})
    reward = {(f"y{i}",): r for i, r in enumerate(toy.reward)}
    t = B.tradeoff(prior, reward, 1.0, 100_000, 0.001)
    h = -float(np.sum(toy.aligned * np.log(toy.aligned)))
    assert t.log_normalizer == pytest.approx(0.0, abs=1e-12)  # Z = 1: r = log(p₊/prior)
    assert t.constant == pytest.approx(-h, abs=1e-12)
    assert t.chebyshev == pytest.approx(1.424 / (1e5 * 1e-6), rel=1e-3)  # 14.2: vacuous (docs/theory.md#c8)
    assert t.reward_bound == pytest.approx(50.572, abs=1e-3)
    aligned = NGramLM(1, "</s>", {"": {"a": "0.5", "</s>": "0.5"}})
    assert B.tradeoff_from_aligned(aligned, 10, 0.5).constant == pytest.approx(-2 * math.log(2))


@settings(max_examples=40)
@given(rows=st.tuples(st.lists(st.integers(1, 9), min_size=2, max_size=3), st.integers(1, 9)),
       eps=st.sampled_from([0.01, 0.1, 0.5]))
def test_lemma1_order_against_closed_forms(rows, eps):
    weights, eos = rows
    total = sum(weights) + eos
    probs = [Fraction(w, total) for w in weights]
    m = NGramLM(1, "</s>", {"": {**{f"s{i}": p for i, p in enumerate(probs)}, "</s>": Fraction(eos, total)}})
    r = B.lemma1_order(m, eps)
    ref = unigram_closed_forms(probs, Fraction(eos, total), (str(r.order),), dps=30)
    gap = float(ref[f"renyi[{r.order}]"] - ref["entropy"])
    assert gap == pytest.approx(eps, rel=1e-6) or (r.order == r.renyi_threshold and gap <= eps)


def test_prop3_thresholds():
    assert B.eos_bounded_threshold(2, 0.5) == pytest.approx(0.5)
    assert B.eos_bounded_threshold(5, 0.0) == 1.0 and B.eos_bounded_threshold(1, 0.3) == 0.0
    assert B.tail_rate_threshold(2, 2**-0.5) == pytest.approx(math.log(2) / (math.log(2) + 0.5 * math.log(2)))
    with mpmath.workdps(30):
        assert float(M.renyi_threshold(examples.c2_bigram())) <= B.tail_rate_threshold(2, 2**-0.5)
    with pytest.raises(ValueError, match="eos_bound"):
        B.eos_bounded_threshold(2, 1.5)
    with pytest.raises(ValueError, match="alphabet_size"):
        B.tail_rate_threshold(0, 0.5)


def test_bad_input_and_unavailable_bounds():
    m = examples.c1_counterexample()
    for n, eps, msg in ((0, 0.5, "n"), (2.5, 0.5, "n"), (10, 0, "eps"), (10, -1.0, "eps"), (10, math.inf, "eps"),
                        (10, math.nan, "eps")):
        with pytest.raises(ValueError, match=msg):
            B.chebyshev_bound(m, n, eps)
        with pytest.raises(ValueError, match=msg):
            B.chernoff_bound(m, n, eps)
    with pytest.raises(B.BoundUnavailableError, match="entropy is infinite"):
        B.chebyshev_bound(examples.baer(), 10, 0.5)
    not_tight = NGramLM(2, "</s>", {"": {"a": 0.5, "</s>": 0.5}, "a": {"a": 1.0}})
    with pytest.raises(B.BoundUnavailableError, match="not tight"):
        B.chernoff_bound(not_tight, 10, 0.5)
    with pytest.raises(B.BoundUnavailableError, match="entropy is infinite"):
        B.lemma1_order(examples.baer(), 0.1)
    with pytest.raises(ValueError, match="beta"):
        B.tradeoff(FiniteSupportLM({"a": 1.0}), {"a": 0.0}, 0.0, 10, 0.1)
    with pytest.raises(ValueError, match="reward has no value"):
        B.tradeoff(FiniteSupportLM({"a": 0.5, "b": 0.5}), {"a": 0.0}, 1.0, 10, 0.1)
