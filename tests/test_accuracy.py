"""The accuracy contract (typicality.measures.accuracy): every float64 number is within 1e-10 (relative) of the exact
value for the probabilities as given, or it is refused with a clear error; ``dps`` results are right to their
digits. First the models on which an outside stress test saw wrong numbers with exit status 0 (issue 10), each
against an independent reference (closed forms, or dense linear algebra in mpmath at hundreds of digits, see
tests/reference.py); then Hypothesis over models built to be hard for float64."""

from __future__ import annotations

import json
import math
import warnings
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings

from tests.reference import EOS, linear_reference, unigram_closed_forms
from tests.strategies import ill_conditioned_specs
from typicality import measures as M
from typicality.cli import main
from typicality.models import NGramLM, examples
from typicality.numerics import log_fraction

REL = 1e-10


def close(value, ref, *, rel=REL, floor=1e-300) -> bool:
    """|value − ref| ≤ rel·|ref| + floor, computed at high precision (ref an mpf, value a float or mpf)."""
    if ref is None:
        return True
    if ref == mpmath.inf:
        return value == math.inf
    if value is None or value == math.inf:
        return False
    with mpmath.workdps(60):
        return abs(mpmath.mpf(value) - ref) <= rel * abs(ref) + floor


def unigram(symbols: dict[str, Fraction], eos: Fraction) -> NGramLM:
    return NGramLM(1, EOS, {"": {**symbols, EOS: eos}}, alphabet=list(symbols))


def threshold_by_bisection(probs: list[Fraction], dps: int = 60):
    """α₀ of a one-state model: the root of Σ_a p_a^α = 1, by plain bisection in mpmath (needs ≥ 2 symbols)."""
    with mpmath.workdps(dps):
        logs = [mpmath.log(mpmath.mpf(p.numerator) / p.denominator) for p in probs if p > 0]
        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        for _ in range(3 * dps + 20):
            mid = (lo + hi) / 2
            if mpmath.fsum(mpmath.exp(mid * x) for x in logs) > 1:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


# ----- a one-state loop that almost never ends ----------------------------------------------------------------------
@pytest.mark.parametrize("k", [12, 15, 16, 17, 60])
def test_loop_with_tiny_eos_probability(k):
    """p(eos) = 10^-k, p(a) = 1 − 10^-k exactly. Float64 used to give mass 0.90, H = 34.18 (true 37.84), σ² = 6.36
    (true 1.00) at k = 16, H_0.5 = H_2 = ∞ at k = 15 (true ≈ 35.9 and 35.2), and 'Singular matrix' at k = 17."""
    e = Fraction(1, 10**k)
    m = unigram({"a": 1 - e}, e)
    ref = unigram_closed_forms([1 - e], e, ("0.5", "2"), dps=k + 60)
    r = M.measures(m, ["0.5", "2", "inf"])
    assert r.tight is True and r.mass == 1.0 and r.eos_bounded is True
    assert close(r.entropy, ref["entropy"]) and close(r.varentropy, ref["varentropy"])
    assert close(r.expected_length, ref["expected_length"])
    assert close(r.length_tail_rate, ref["length_tail_rate"])
    assert close(r.renyi["0.5"], ref["renyi[0.5]"]) and close(r.renyi["2"], ref["renyi[2]"])
    assert close(r.renyi["inf"], ref["min_entropy"])
    assert r.renyi_finite_above == 0  # one symbol: a single cycle, decided exactly
    if k == 16:
        assert r.entropy == pytest.approx(37.84, abs=0.01) and r.varentropy == pytest.approx(1.0, abs=1e-9)
    if k == 15:
        assert r.renyi["0.5"] == pytest.approx(35.9, abs=0.05) and r.renyi["2"] == pytest.approx(35.2, abs=0.05)
    d = M.measures(m, ["0.5", "2"], dps=30)
    for key in ("entropy", "varentropy", "expected_length"):
        assert close(getattr(d, key), ref[key], rel=1e-29), key
    assert close(d.renyi["0.5"], ref["renyi[0.5]"], rel=1e-29)


def test_loop_below_float64_range():
    """A row of 400 nines and p(eos) = 1e-400, written as exact decimals: tight (it used to be 'not tight' at every
    precision, because tightness was read off the float64 table, where 1e-400 is 0)."""
    text = json.dumps({"format": "typicality.ngram/1", "order": 1, "eos": EOS,
                       "contexts": {"": {"a": "0." + "9" * 400, EOS: "1e-400"}}})
    m = NGramLM.from_json(text)
    e = Fraction(1, 10**400)
    ref = unigram_closed_forms([1 - e], e, ("0.5",), dps=500)
    assert M.is_tight(m)
    r = M.measures(m, ["0.5"])
    assert r.tight is True and r.eos_bounded is True and r.mass == 1.0
    assert close(r.entropy, ref["entropy"]) and close(r.varentropy, ref["varentropy"])
    assert close(r.renyi["0.5"], ref["renyi[0.5]"])
    # E|Y| = 1e400 does not fit in float64: refused with the reason, never reported as inf
    assert r.expected_length is None and "float64's range" in r.undefined["expected_length"]
    with pytest.raises(M.AccuracyError, match="dps"):
        M.expected_length(m)
    assert close(M.expected_length(m, dps=30), ref["expected_length"], rel=1e-29)
    assert close(M.eos_bound(m, dps=30), mpmath.mpf(10) ** -400, rel=1e-29)


def test_rows_that_sum_above_one_in_a_loop_are_refused():
    """p(a) = 1 exactly and p(eos) = 1e-400 (what 1 − 1e-400 becomes in a 28-digit decimal context): the row sums to
    1 + 1e-400, within the tolerance, and Σ_y p(y) = Σ_n 1e-400 diverges. Not a number: a RowSumError."""
    m = unigram({"a": Fraction(1)}, Fraction(1, 10**400))
    with pytest.raises(M.RowSumError, match=r"diverges"):
        M.mass(m)
    with pytest.raises(M.RowSumError):
        M.measures(m)


# ----- peaked rows: a Dirichlet(0.01) unigram over 1000 symbols -------------------------------------------------------
def dirichlet_unigram(seed: int = 0, size: int = 1000, eos: Fraction = Fraction(36, 10**63)):
    """Probabilities from a Dirichlet(0.01) (log-space draws, so values far below 1e-308 survive), written as
    exact 30-digit decimals; eos = 3.6e-62; the largest symbol takes 1 minus the rest exactly."""
    rng = np.random.default_rng(seed)
    a = 0.01
    logs = np.log(rng.gamma(a + 1, size=size)) + np.log(rng.random(size)) / a
    logs -= logs.max()
    with mpmath.workdps(50):
        w = [mpmath.exp(mpmath.mpf(float(x))) for x in logs]
        total = mpmath.fsum(w)
        probs = [Fraction(Decimal(mpmath.nstr(x / total, 30))) for x in w]
    big = int(np.argmax(logs))
    probs[big] = 0
    probs[big] = 1 - eos - sum(probs, Fraction(0))
    return {f"s{i}": p for i, p in enumerate(probs)}, eos


def test_dirichlet_unigram_with_tiny_eos():
    """Float64 and dps = 50 used to give a negative mass, entropy and expected length (and 'cannot be tight')."""
    symbols, eos = dirichlet_unigram()
    assert min(symbols.values()) < Fraction(1, 10**308) and eos < Fraction(1, 10**61)
    m = unigram(symbols, eos)
    probs = list(symbols.values())
    ref = unigram_closed_forms(probs, eos, ("0.5", "2"), dps=120)
    a0 = threshold_by_bisection(probs)
    assert M.mass(m) == 1.0
    assert close(M.entropy(m), ref["entropy"]) and M.entropy(m) > 0
    assert close(M.expected_length(m), ref["expected_length"]) and M.expected_length(m) > 0
    r = M.measures(m, ["0.5", "2"])
    assert r.tight is True and r.mass == 1.0
    assert close(r.varentropy, ref["varentropy"]) and close(r.renyi["2"], ref["renyi[2]"])
    assert r.renyi["0.5"] == math.inf and ref["renyi[0.5]"] == mpmath.inf
    assert close(r.renyi_finite_above, a0)
    d = M.measures(m, ["2"], dps=50)
    assert d.mass == 1
    for key in ("entropy", "varentropy", "expected_length"):
        assert close(getattr(d, key), ref[key], rel=1e-49), key
    assert close(d.renyi["2"], ref["renyi[2]"], rel=1e-49)


# ----- a probability below float64's range ----------------------------------------------------------------------------
def test_probability_below_float64_range(capsys, tmp_path):
    """p(b) = 1e-400 as an exact decimal: the entropy and varentropy used to be NaN, α₀ wrong, H_0.005 finite (the
    truth is ∞: 0.5^0.005 + (1e-400)^0.005 > 1), and --json crashed on the NaN."""
    text = json.dumps({"format": "typicality.ngram/1", "order": 1, "eos": EOS,
                       "contexts": {"": {"a": "0.5", "b": "1e-400", EOS: "0." + "4" + "9" * 399}}})
    m = NGramLM.from_json(text)
    b = Fraction(1, 10**400)
    probs = [Fraction(1, 2), b]
    eos = 1 - Fraction(1, 2) - b
    ref = unigram_closed_forms(probs, eos, ("0.005", "0.5", "2"), dps=500)
    assert ref["renyi[0.005]"] == mpmath.inf
    r = M.measures(m, ["0.005", "0.5", "2"])
    assert close(r.entropy, ref["entropy"]) and close(r.varentropy, ref["varentropy"])
    assert r.renyi["0.005"] == math.inf
    assert close(r.renyi["0.5"], ref["renyi[0.5]"]) and close(r.renyi["2"], ref["renyi[2]"])
    assert close(r.renyi_finite_above, threshold_by_bisection(probs, dps=500))
    assert M.renyi_entropy(m, "0.01") < math.inf  # α₀ ≈ 0.0063: finite just above it
    assert m.log_prob("b") == pytest.approx(math.log(0.5) - 400 * math.log(10), rel=1e-15)  # not −inf
    path = tmp_path / "model.json"
    path.write_text(text)
    code = main(["measures", "--json", "--alpha", "0.005", "--alpha", "2", str(path)])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["renyi"]["0.005"] == "inf" and data["entropy"] == pytest.approx(float(ref["entropy"]), rel=REL)


def test_log_fraction_is_accurate_everywhere():
    for p in (Fraction(1, 10**400), Fraction(3, 10**320), 1 - Fraction(1, 10**20), Fraction(1, 3), Fraction(1, 2),
              1 - Fraction(1, 10**400), Fraction(7, 2**1100)):
        with mpmath.workdps(500):
            ref = mpmath.log(mpmath.mpf(p.numerator) / p.denominator)
            tol = 4 * mpmath.mpf(2) ** -53 * abs(ref) + mpmath.mpf(2) ** -1074
            assert abs(mpmath.mpf(log_fraction(p)) - ref) <= tol


# ----- large Rényi orders --------------------------------------------------------------------------------------------
def example1_reference(alphas, dps=80):
    m = examples.example1_bigram()
    contexts = {c: {a: Fraction(str(p)) for a, p in row.items()} for c, row in m.contexts.items()}
    return linear_reference(2, contexts, alphas, dps=dps)


def test_large_renyi_orders_in_log_space(capsys):
    """H_500 of Example 1 used to be ∞ in float64 (p^500 underflows); the truth is 1.4946..., and H_∞ = 1.4917."""
    m = examples.example1_bigram()
    ref = example1_reference(("500", "100000", "0.001"), dps=120)
    assert close(M.renyi_entropy(m, 500), ref["renyi[500]"])
    assert M.renyi_entropy(m, 500) == pytest.approx(1.4946441651, abs=1e-10)
    assert close(M.renyi_entropy(m, 100000), ref["renyi[100000]"])
    assert close(M.renyi_entropy(m, "0.001"), ref["renyi[0.001]"])  # inf: α₀ ≈ 0.49
    h_inf = M.renyi_entropy(m, "inf")
    assert h_inf == pytest.approx(1.4916548767777, abs=1e-12)
    assert h_inf < M.renyi_entropy(m, 100000) < M.renyi_entropy(m, 500)  # decreasing to the limit H_∞
    assert close(M.renyi_entropy(m, 500, dps=40), ref["renyi[500]"], rel=1e-39)
    assert close(M.renyi_sum(m, 500, dps=40), mpmath.exp(-499 * ref["renyi[500]"]), rel=1e-39)
    assert main(["measures", "builtin:example1", "--alpha", "500"]) == 0
    assert "1.49464416510793" in capsys.readouterr().out


def test_renyi_divergence_is_decided_exactly_at_the_threshold():
    """C1: Σ p^α = 2^−α / (1 − 2^{1−2α}); α₀ = 1/2 exactly (decided in exact rationals, no margin), and orders a
    hair above it are finite (certified), a hair below ∞."""
    c1 = examples.c1_counterexample()
    assert M.renyi_entropy(c1, "0.5") == math.inf and M.renyi_entropy(c1, "0.5", dps=30) == mpmath.inf
    for a in ("0.5000000001", "0.50000000000000000001"):
        with mpmath.workdps(80):
            am = mpmath.mpf(a)
            ref = mpmath.log(2 ** -am / (1 - 2 ** (1 - 2 * am))) / (1 - am)
        assert close(M.renyi_entropy(c1, a), ref)
    assert M.renyi_entropy(c1, "0.4999999999") == math.inf
    assert M.renyi_entropy(c1, "0.49999999999999999999") == math.inf
    assert M.renyi_threshold(c1) == 0.5


# ----- rows that miss 1 within the tolerance -------------------------------------------------------------------------
def near_loop(extra: Fraction) -> NGramLM:
    """A bigram whose context 'a' loops with p(eos) = 1e-12 and a row sum of 1 + extra."""
    e = Fraction(1, 10**12)
    half = (1 - e + extra) / 2
    return NGramLM(2, EOS, {"": {"a": Fraction(1)}, "a": {"a": half, "b": half, EOS: e}, "b": {"a": Fraction(1)}})


@pytest.mark.parametrize("dps", [None, 50])
def test_row_above_one_in_a_near_loop_is_refused(dps):
    """Rows summing to 1 + 4e-10 in a loop with p(eos) = 1e-12: a negative mass at float64 and dps = 50, before."""
    m = near_loop(Fraction(4, 10**10))
    with pytest.raises(M.RowSumError, match=r"context 'a' sums to 1 \+ 4\.0e-10.*diverges"):
        M.mass(m, dps=dps)
    with pytest.raises(M.RowSumError):
        M.measures(m, dps=dps)


def test_row_below_one_in_a_near_loop_is_refused():
    """Rows summing to 1 − 4e-10: the mass as given is 0.0025 although the model is tight; not reported."""
    m = near_loop(-Fraction(4, 10**10))
    assert M.is_tight(m)
    with pytest.raises(M.RowSumError, match=r"1 - 4\.0e-10.*tolerance"):
        M.measures(m)
    with pytest.raises(M.RowSumError):
        M.entropy(m, dps=30)


def test_small_row_deviation_is_reported_not_hidden(capsys, tmp_path):
    m = NGramLM(2, EOS, {"": {"a": "0.5", EOS: "0.5000000005"}, "a": {EOS: "1"}})
    with pytest.warns(M.RowSumWarning, match=r"context '' sums to 1 \+ 5\.0e-10.*numbers as given"):
        assert M.mass(m) == pytest.approx(1 + 5e-10, abs=1e-15)
    r = M.measures(m)
    assert r.warnings and "tolerance" in r.warnings[0]
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "typicality.ngram/1", "order": 2, "eos": EOS,
                                "contexts": {"": {"a": "0.5", EOS: "0.5000000005"}, "a": {EOS: "1"}}}))
    assert main(["measures", str(path)]) == 0
    captured = capsys.readouterr()
    assert "note: rows miss 1" in captured.out and captured.err == ""
    assert main(["measures", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"]


def test_cli_refuses_contradictory_rows_with_exit_2(tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "typicality.ngram/1", "order": 2, "eos": EOS, "contexts": {
        "": {"a": "1"}, "a": {"a": "0.9999999995990", EOS: "1e-12"}}}))
    assert main(["measures", str(path)]) == 2
    err = capsys.readouterr().err
    assert "context 'a' sums to 1 - 4.0e-10" in err and "exactly" in err


# ----- many symbols -------------------------------------------------------------------------------------------------
def test_uniform_unigram_with_50000_symbols():
    """Relative error 3.4e-8 in H before, with no warning."""
    k = 50_000
    e = Fraction(1, 10)
    m = unigram({f"w{i}": (1 - e) / k for i in range(k)}, e)
    with mpmath.workdps(40):  # k equal symbols: H = −log e − (1 − e)/e · log p
        p = (1 - mpmath.mpf(1) / 10) / k
        h = -mpmath.log(mpmath.mpf(1) / 10) - (1 - mpmath.mpf(1) / 10) * mpmath.log(p) * 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert close(M.entropy(m), h)


# ----- Hypothesis: correct to the contract, or refused ------------------------------------------------------------
MEASURES = {"mass": M.mass, "entropy": M.entropy, "varentropy": M.varentropy, "expected_length": M.expected_length}


def _spec_dps(spec) -> int:
    smallest = min(p for row in spec.contexts.values() for p in row.values() if p > 0)
    return len(str(smallest.denominator)) + 80


def loop_spec(exponent: int):
    from typicality.testing import NGramSpec

    e = Fraction(1, 10**exponent)
    return NGramSpec(2, ("a", "b"), {"": {"a": Fraction(1, 2), "b": Fraction(1, 4), EOS: Fraction(1, 4)},
                                     "a": {"b": 1 - e, EOS: e}, "b": {"a": 1 - e, EOS: e}})


@settings(max_examples=40, deadline=None)
@given(spec=ill_conditioned_specs())
@example(spec=loop_spec(300))  # a two-state cycle that ends with probability 1e-300 per step
@example(spec=loop_spec(16))
def test_float64_results_meet_the_contract_or_are_refused(spec):
    model = spec.build()
    ref = linear_reference(spec.order, spec.contexts, ("0.5", "2"), dps=_spec_dps(spec))
    for name, fn in MEASURES.items():
        try:
            value = fn(model)
        except M.AccuracyError:
            continue
        assert close(value, ref[name]), (name, value, ref[name])
    for a in ("0.5", "2"):
        try:
            value = M.renyi_entropy(model, a)
        except M.AccuracyError:
            continue
        assert close(value, ref[f"renyi[{a}]"]), (a, value, ref[f"renyi[{a}]"])


@settings(max_examples=12, deadline=None)
@given(spec=ill_conditioned_specs(max_exponent=200))
@example(spec=loop_spec(120))
def test_dps_results_are_right_to_their_digits(spec):
    model = spec.build()
    ref = linear_reference(spec.order, spec.contexts, ("2",), dps=_spec_dps(spec))
    for name, fn in MEASURES.items():
        assert close(fn(model, dps=25), ref[name], rel=1e-24, floor=0), name
    assert close(M.renyi_entropy(model, 2, dps=25), ref["renyi[2]"], rel=1e-24, floor=0)


@settings(max_examples=30, deadline=None)
@given(spec=ill_conditioned_specs(off_by_tolerance=True, max_exponent=40))
def test_rows_off_by_the_tolerance_give_the_numbers_as_given_or_a_row_sum_error(spec):
    model = spec.build()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", M.RowSumWarning)
            result = M.measures(model, ["2"])
    except M.RowSumError:
        return
    ref = linear_reference(spec.order, spec.contexts, ("2",), dps=_spec_dps(spec))
    assert result.mass is None or result.mass >= 0
    if result.mass is not None:
        assert close(result.mass, ref["mass"])
        if result.tight:  # "tight" agrees with the mass reported, and a visible deviation is explained
            assert abs(result.mass - 1) <= M.accuracy.ROW_EFFECT_MAX
            if abs(result.mass - 1) > 1e-9:
                assert result.warnings
    for name in ("entropy", "varentropy", "expected_length"):
        if getattr(result, name) is not None:
            assert close(getattr(result, name), ref[name]), name


def test_well_conditioned_models_stay_in_float64():
    """The checks cost nothing on ordinary models: nothing is escalated."""
    rng = np.random.default_rng(0)
    symbols = [f"w{i}" for i in range(30)]
    contexts = {c: dict(zip([*symbols, EOS], rng.dirichlet(np.ones(31)).tolist(), strict=True)) for c in ["", *symbols]}
    r = M.measures(NGramLM(2, EOS, contexts), ["0.5", "2", "inf"])
    assert "certified" not in r.accuracy and not r.warnings
