"""Exact measures against independent references: closed forms, enumeration with rigorous tails, power series."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.reference import enumerate_spec, enumeration_bounds, series, series_terms, unigram_closed_forms
from tests.strategies import EOS, ngram_specs, unigram_rows
from typicality import measures as M
from typicality.models import NGramLM
from typicality.testing import NGramSpec

MP = mpmath.mpf(10) ** -30


def unigram(symbol_probs, eos):
    row = {f"s{i}": p for i, p in enumerate(symbol_probs)}
    row[EOS] = eos
    return NGramLM(1, EOS, {"": row}, alphabet=[f"s{i}" for i in range(len(symbol_probs))])


def close(value, ref, *, dps):
    if ref == mpmath.inf:
        return value == math.inf
    if dps is None:
        return abs(value - float(ref)) <= 1e-10 * max(1.0, abs(float(ref)))
    with mpmath.workdps(dps):
        return abs(value - ref) <= MP * max(1, abs(ref))


@settings(max_examples=60)
@given(rows=unigram_rows())
@example(rows=([Fraction(1, 4), Fraction(1, 4)], Fraction(1, 2)))  # C1: Σ p^½ = 1 exactly at α = ½
@example(rows=([Fraction(1, 2)], Fraction(1, 2)))  # one symbol: α₀ = 0
@example(rows=([Fraction(0)], Fraction(1)))  # only the empty string
def test_one_state_models_match_closed_forms(rows):
    probs, eos = rows
    m = unigram(probs, eos)
    alphas = ("0.3", "0.5", "0.8", "2", "3.5")
    ref = unigram_closed_forms(probs, eos, alphas, dps=40)
    for dps in (None, 40):
        assert close(M.entropy(m, dps=dps), ref["entropy"], dps=dps)
        assert close(M.varentropy(m, dps=dps), ref["varentropy"], dps=dps)
        assert close(M.expected_length(m, dps=dps), ref["expected_length"], dps=dps)
        assert close(M.eos_bound(m, dps=dps), ref["eos_bound"], dps=dps)
        assert close(M.length_tail_rate(m, dps=dps), ref["length_tail_rate"], dps=dps)
        assert close(M.renyi_entropy(m, "inf", dps=dps), ref["min_entropy"], dps=dps)
        for a in alphas:
            assert close(M.renyi_entropy(m, a, dps=dps), ref[f"renyi[{a}]"], dps=dps), a
        a0 = M.renyi_threshold(m, dps=dps)
        if dps is None:
            assert abs(a0 - float(ref["alpha0"])) <= 1e-12
        else:
            with mpmath.workdps(40):
                assert abs(a0 - ref["alpha0"]) <= mpmath.mpf(10) ** -28


@settings(max_examples=25)
@given(spec=ngram_specs(kind="eos_bounded", max_symbols=2, min_eos_weight=6))
# a state with two arcs before states with none: a sparse ball product once summed only the first (Σ p² = 37/64)
@example(spec=NGramSpec(2, ("a", "b"), {"": {"a": Fraction(1, 8), "b": Fraction(1, 8), EOS: Fraction(3, 4)},
                                        "a": {EOS: Fraction(1)}, "b": {EOS: Fraction(1)}}))
def test_eos_bounded_models_within_rigorous_enumeration_bounds(spec):
    model = spec.build()
    ref = enumeration_bounds(spec.order, spec.contexts, len(spec.alphabet), depth=13, alphas=("2", "0.95"))
    got = {
        "mass": M.mass(model, dps=30),
        "entropy": M.entropy(model, dps=30),
        "varentropy": M.varentropy(model, dps=30),
        "expected_length": M.expected_length(model, dps=30),
    }
    with mpmath.workdps(30):
        for a in ("2", "0.95"):
            h = M.renyi_entropy(model, a, dps=30)
            got[f"renyi_sum[{a}]"] = mpmath.exp((1 - mpmath.mpf(a)) * h)
        slack = mpmath.mpf(10) ** -25
        for key, value in got.items():
            lo, hi = ref[key]
            assert lo - slack <= value <= hi + slack, (key, value, lo, hi)


@settings(max_examples=40)
@given(spec=ngram_specs(kind="tight"))
def test_tight_models_match_power_series(spec):
    model = spec.build()
    ref = series(spec.order, spec.contexts, alpha=2)
    for key, fn in (("mass", M.mass), ("entropy", M.entropy), ("expected_length", M.expected_length)):
        value, remainder = ref[key]
        assert abs(fn(model) - value) <= remainder + 1e-9 * max(1, abs(value)), key
    value, remainder = ref["renyi_sum"]
    assert abs(math.exp(-M.renyi_entropy(model, 2)) - value) <= remainder + 1e-9 * max(1, value)
    # varentropy = E[I²] − H², E[I²] by a forward moment recursion (the library uses a backward one)
    h = ref["entropy"][0]
    assert M.varentropy(model) == pytest.approx(ref["second_moment"] - h * h, rel=1e-7, abs=1e-7)


@settings(max_examples=30)
@given(spec=ngram_specs(kind="tight_not_eos_bounded"))
def test_tight_but_not_eos_bounded_models(spec):
    """docs/theory.md#c2: tight without eos-boundedness; finite measures, geometric tail, ξ = 0."""
    model = spec.build()
    assert M.is_tight(model)
    assert M.eos_bound(model) == 0
    assert M.length_tail_rate(model) < 1
    ref = series(spec.order, spec.contexts)
    value, remainder = ref["entropy"]
    assert abs(M.entropy(model) - value) <= remainder + 1e-9 * max(1, value)


@settings(max_examples=30)
@given(spec=ngram_specs(kind="tight", max_symbols=3), delta=st.sampled_from([0.05, 0.1]))
def test_renyi_threshold_separates_growing_from_decaying_series(spec, delta):
    """Σ_{|y|=n} p(y)^α (forward iteration, no spectral theory) decays above α₀ and grows below it."""
    model = spec.build()
    a0 = M.renyi_threshold(model)
    assume(M.length_tail_rate(model) < 0.995)
    hi_terms = series_terms(spec.order, spec.contexts, a0 + delta, 6000)
    assert hi_terms[-1] < hi_terms[2999] or hi_terms[-1] == 0
    assert M.renyi_entropy(model, a0 + delta) < math.inf
    if a0 > delta:
        lo_terms = series_terms(spec.order, spec.contexts, a0 - delta, 6000)
        assert np.isinf(lo_terms).any() or lo_terms[-1] > lo_terms[2999]
        assert M.renyi_entropy(model, a0 - delta) == math.inf


@settings(max_examples=30)
@given(spec=ngram_specs(kind="not_tight"))
def test_non_tight_models_report_mass_and_refuse_undefined_measures(spec):
    model = spec.build()
    assert not M.is_tight(model)
    done, tail = enumerate_spec(spec.order, spec.contexts, 10)
    listed = float(sum((q for _, q in done), Fraction(0)))
    r = float(sum((q for _, q in tail), Fraction(0)))
    assert listed - 1e-12 <= M.mass(model) <= listed + r + 1e-12
    assert M.mass(model) < 1
    with pytest.raises(M.UndefinedMeasureError, match="not tight"):
        M.entropy(model)
    result = M.measures(model)
    assert result.tight is False and result.entropy is None and "entropy" in result.undefined
    assert result.to_json_dict()["entropy"] is None


@settings(max_examples=30)
@given(spec=ngram_specs(kind="tight"))
def test_float64_and_mpmath_agree(spec):
    model = spec.build()
    f = M.measures(model, ["0.7", "2"])
    m = M.measures(model, ["0.7", "2"], dps=30)
    for key in ("mass", "entropy", "varentropy", "expected_length", "length_tail_rate", "renyi_finite_above"):
        a, b = getattr(f, key), getattr(m, key)
        assert abs(a - float(b)) <= 1e-8 * max(1, abs(float(b))), key
    for k in ("0.7", "2"):
        a, b = f.renyi[k], m.renyi[k]
        if (a == math.inf) != (b == mpmath.inf):
            # the two precisions may only disagree about divergence right at the threshold
            assert abs(float(M.renyi_threshold(model, dps=30)) - float(k)) < 1e-9
        elif b != mpmath.inf:
            assert a == pytest.approx(float(b), rel=1e-7), k


def test_bits_are_nats_over_ln2():
    m = NGramLM(1, EOS, {"": {"a": "0.25", "b": "0.25", EOS: "0.5"}})
    assert M.entropy(m, units="bits") == pytest.approx(3.0, rel=1e-14)
    assert M.varentropy(m, units="bits") == pytest.approx(8.0, rel=1e-14)
    assert M.renyi_entropy(m, 2, units="bits") == pytest.approx(math.log2(3.5), rel=1e-14)
    with pytest.raises(ValueError, match="units"):
        M.entropy(m, units="dits")
