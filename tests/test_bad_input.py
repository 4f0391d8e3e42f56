"""Bad input gets a clear error naming the parameter (or context) and the value; never NaN, never renormalized."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.strategies import EOS
from typicality import measures as M
from typicality.models import FiniteStateLM, FiniteSupportLM, NGramLM, examples


def ngram(contexts, order=2, **kw):
    return NGramLM.from_dict({"format": "typicality.ngram/1", "order": order, "eos": EOS, "contexts": contexts,
                              **kw})


def test_row_not_summing_to_one_names_the_context_and_the_sum():
    with pytest.raises(ValueError, match=r"context 'a': probabilities sum to 0\.9"):
        ngram({"": {"a": 1.0}, "a": {"a": 0.4, EOS: 0.5}})


def test_row_within_tolerance_is_accepted_and_not_renormalized():
    m = ngram({"": {"a": 0.5, EOS: 0.5 + 5e-10}, "a": {EOS: 1.0}})
    assert M.mass(m) == pytest.approx(1 + 5e-10, abs=1e-15)  # the mass as given, not silently 1


def test_negative_and_nan_probabilities():
    with pytest.raises(ValueError, match=r"context '': probability of 'b' is negative \(-0\.5\)"):
        ngram({"": {"a": 1.5, "b": -0.5}, "a": {EOS: 1}, "b": {EOS: 1}})
    with pytest.raises(ValueError, match=r"context '': probability of 'a' must be finite, got nan"):
        NGramLM(2, EOS, {"": {"a": float("nan"), EOS: 1.0}, "a": {EOS: 1.0}})
    with pytest.raises(ValueError, match="must be finite"):
        NGramLM(1, EOS, {"": {"a": float("inf"), EOS: 1.0}})


def test_unknown_symbols():
    with pytest.raises(ValueError, match=r"context '': unknown symbol 'z'"):
        ngram({"": {"a": 0.5, "z": 0.5}, "a": {EOS: 1}}, alphabet=["a"])
    with pytest.raises(ValueError, match=r"context 'q' contains the unknown symbol 'q'"):
        ngram({"": {"a": 0.5, EOS: 0.5}, "a": {EOS: 1}, "q": {EOS: 1}})
    m = examples.example1_bigram()
    with pytest.raises(ValueError, match="unknown symbol 'z'"):
        m.log_prob("a z")


def test_missing_reachable_context_is_named():
    with pytest.raises(ValueError, match=r"context 'b' is reachable from the start .* but missing"):
        ngram({"": {"a": 0.5, "b": 0.5}, "a": {EOS: 1}})
    with pytest.raises(ValueError, match=r"context 'a b' is reachable"):
        ngram({"": {"a": 1}, "a": {"b": 1}}, order=3)
    with pytest.raises(ValueError, match='empty context ""'):
        ngram({"a": {EOS: 1}})


def test_eos_also_ordinary_symbol():
    with pytest.raises(ValueError, match=r"eos symbol '</s>' also appears as an ordinary symbol"):
        ngram({"": {EOS: 1}}, alphabet=["a", EOS])
    with pytest.raises(ValueError, match="contains eos"):
        ngram({"": {"a": 0.5, EOS: 0.5}, "a": {EOS: 1}, EOS: {EOS: 1}})


def test_bad_alpha_dps_units():
    m = examples.c1_counterexample()
    for bad in (0, -1, "0", "-0.5", float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            M.renyi_entropy(m, bad)
    with pytest.raises(ValueError, match="alpha"):
        M.measures(m, ["2", "-3"])
    with pytest.raises((ValueError, TypeError), match="alpha"):
        M.renyi_entropy(m, "two")
    with pytest.raises(ValueError, match="dps must be at least 5, got 2"):
        M.entropy(m, dps=2)
    with pytest.raises(TypeError, match="dps"):
        M.entropy(m, dps=3.5)


def test_json_format_errors():
    with pytest.raises(ValueError, match=r"format must be 'typicality\.ngram/1'"):
        NGramLM.from_dict({"format": "arpa", "order": 1, "eos": EOS, "contexts": {"": {EOS: 1}}})
    with pytest.raises(ValueError, match="lacks the key 'order'"):
        NGramLM.from_dict({"format": "typicality.ngram/1", "eos": EOS, "contexts": {"": {EOS: 1}}})
    with pytest.raises(ValueError, match="unknown keys"):
        NGramLM.from_dict({"format": "typicality.ngram/1", "order": 1, "eos": EOS, "contexts": {"": {EOS: 1}},
                           "smoothing": "kn"})
    with pytest.raises(ValueError, match="order must be an int >= 1, got 0"):
        ngram({"": {EOS: 1}}, order=0)
    with pytest.raises(ValueError, match="has 2 symbols; an order-2 model uses at most 1"):
        ngram({"": {"a": 0.5, EOS: 0.5}, "a": {EOS: 1}, "a a": {EOS: 1}})
    with pytest.raises(ValueError, match="not valid JSON"):
        NGramLM.from_json("{")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        NGramLM.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "typicality.ngram/1", "order": 1, "eos": EOS,
                               "contexts": {"": {"a": 0.3, EOS: 0.3}}}))
    with pytest.raises(ValueError, match=r"bad\.json: context '': probabilities sum to 0\.6"):
        NGramLM.load(bad)


def test_finite_state_and_finite_support_errors():
    with pytest.raises(ValueError, match="start state 'x' has no row"):
        FiniteStateLM(["a"], EOS, "x", {"q": {EOS: 1}})
    with pytest.raises(ValueError, match="leads to the state 'r', which has no row"):
        FiniteStateLM(["a"], EOS, "q", {"q": {"a": (0.5, "r"), EOS: 0.5}})
    with pytest.raises(TypeError, match=r"\(probability, next_state\)"):
        FiniteStateLM(["a"], EOS, "q", {"q": {"a": 0.5, EOS: 0.5}})
    with pytest.raises(ValueError, match=r"probs: probabilities sum to 0\.75"):
        FiniteSupportLM({"a": 0.5, "b": 0.25})
    with pytest.raises(ValueError, match="given twice"):
        FiniteSupportLM({"a b": 0.5, ("a", "b"): 0.5})
    with pytest.raises(ValueError, match="duplicate"):
        FiniteStateLM(["a", "a"], EOS, "q", {"q": {EOS: 1}})


def test_exact_measures_need_an_exact_model():
    from typicality.models import AutoregressiveLM

    ar = AutoregressiveLM(["a"], EOS, lambda p: [0.5, 0.5])
    with pytest.raises(TypeError, match="enumerated"):
        M.entropy(ar)


def test_monte_carlo_and_enumeration_arguments():
    from typicality.enumeration import enumerate_strings
    from typicality.measures.monte_carlo import monte_carlo_measures

    m = examples.c1_counterexample()
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        monte_carlo_measures(m, np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="max_length"):
        enumerate_strings(m, -1)
    with pytest.raises(ValueError, match="max_strings"):
        enumerate_strings(m, 30, max_strings=1000)


def test_measures_takes_one_order_as_a_string_not_its_characters():
    m = examples.c1_counterexample()
    assert list(M.measures(m, "2").renyi) == ["2"]
    with pytest.raises(ValueError, match="'abc'"):
        M.measures(m, "abc")


def test_a_singular_resolvent_is_a_clear_error_with_a_hint_in_every_arithmetic():
    """I − M singular (a unit self-loop): "Singular matrix" / "matrix is numerically singular" become one ValueError
    that says what it means and what may help, in float64 (dense and sparse) and in mpmath."""
    import mpmath
    import scipy.sparse

    from typicality.numerics import DENSE_LIMIT, Float64, MPMath, SingularSystemError

    for M_ in (np.array([[1.0]]), scipy.sparse.identity(DENSE_LIMIT + 1, format="csr")):
        with pytest.raises(SingularSystemError, match=r"numerically singular in float64.*edge of convergence"):
            Float64().solve_resolvent(M_, np.ones(M_.shape[0]))
    with mpmath.workdps(30):
        M_ = np.array([[mpmath.mpf(1)]], dtype=object)
        with pytest.raises(SingularSystemError, match="numerically singular in 30 digits"):
            MPMath(30).solve_resolvent(M_, np.array([mpmath.mpf(1)], dtype=object))


def test_monte_carlo_work_is_checked_before_any_draw():
    from typicality import bounds as B

    m = examples.c1_counterexample()  # E|Y| = 1: two draws per string, eos included
    assert B.monte_carlo_symbols(m, 10, 100) == 2000.0
    with pytest.raises(B.MonteCarloTooLargeError, match=r"about 2e\+12 symbols"):
        B.empirical_tail(m, 10**8, 0.1, np.random.default_rng(0), 10_000, max_symbols=5e8)
    nines = "0." + "9" * 300  # p(eos) = 1e-300 exactly: strings of 1e300 symbols on average
    long = ngram({"": {"a": "1"}, "a": {"a": nines, EOS: "1e-300"}})
    with pytest.raises(ValueError, match="on average"):
        B.empirical_tail(long, 10, 0.1, np.random.default_rng(0), 10)
    seen = []
    B.empirical_tail(m, 3_000_000, 0.5, np.random.default_rng(0), 2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]  # a corpus larger than a batch: summed batch by batch, progress per corpus


def test_toy_seed_is_checked_where_numpy_would_refuse_it():
    from typicality.toy import ToyConfig

    with pytest.raises(ValueError, match=r"seed must be an int from 0 to 2\*\*32 - 1.*1099511627776"):
        ToyConfig(seed=2**40)
