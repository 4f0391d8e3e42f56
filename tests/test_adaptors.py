"""Adaptors: kept sets against the token-by-token references, the properties of §4/App. E, and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.reference_adaptors import REFERENCES
from typicality.adaptors import ADAPTORS, Compose, Temperature, TopK, TopP, make
from typicality.testing import next_symbol_distributions

#: probability vectors from small-integer weights: exact ties, zeros, one-hot and uniform rows all occur
prob_vectors = next_symbol_distributions


PARAMS = {
    "top_k": st.integers(1, 14),
    "top_p": st.sampled_from([0.05, 0.3, 0.5, 0.75, 0.9, 0.999, 1.0]),
    "typical": st.sampled_from([0.1, 0.5, 0.9, 0.99, 1.0]),
    "epsilon": st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.6]),
    "eta": st.sampled_from([0.001, 0.01, 0.1, 0.5, 0.9]),
    "min_p": st.sampled_from([0.01, 0.1, 0.5, 0.9, 1.0]),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@settings(max_examples=150)
@given(data=st.data())
def test_kept_sets_match_the_reference(name, data):
    p = data.draw(prob_vectors())
    param = data.draw(PARAMS[name])
    kept_ref, margin = REFERENCES[name](p, param)
    assume(margin > 1e-9)  # the vectorized float64 arithmetic may round the other way at the threshold
    adaptor = make(name, **{ADAPTORS[name][1]: param})
    w = adaptor.weights(p)
    support = {i for i in range(len(p)) if w[i] > 0}
    assert support == {i for i in kept_ref if p[i] > 0}
    np.testing.assert_array_equal(w[w > 0], p[w > 0])  # truncation leaves kept weights untouched


@settings(max_examples=100)
@given(p=prob_vectors(min_size=2), name=st.sampled_from(sorted(ADAPTORS)), data=st.data())
@example(p=np.full(4, 0.25), name="top_p", data=None)  # uniform: ties everywhere
def test_local_distribution_sums_to_one_with_support_the_kept_set(p, name, data):
    param = 0.5 if data is None else data.draw(PARAMS.get(name, st.sampled_from([0.5, 1.0, 2.0])))
    adaptor = make(name, **{ADAPTORS[name][1]: param})
    q = adaptor.local(p)
    assert math.isclose(q.sum(), 1.0, rel_tol=0, abs_tol=1e-12)
    assert np.all(q >= 0)
    assert set(np.flatnonzero(q > 0)) == set(np.flatnonzero(adaptor.weights(p) > 0))
    if name != "typical":  # typical sampling may drop the most probable token (it keeps the most *typical*)
        assert q[np.argmax(p)] > 0


@settings(max_examples=100)
@given(p=prob_vectors(min_size=2))
def test_kept_sets_nest(p):
    def kept(a):
        return set(np.flatnonzero(a.weights(p) > 0))

    for k in range(1, len(p)):
        assert kept(TopK(k)) <= kept(TopK(k + 1))
    grid = [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    for a, b in itertools.pairwise(grid):
        assert kept(TopP(a)) <= kept(TopP(b))
        assert kept(make("min_p", p=b)) <= kept(make("min_p", p=a))
        if b < 1:
            assert kept(make("epsilon", eps=b)) <= kept(make("epsilon", eps=a))


@settings(max_examples=100)
@given(p=prob_vectors(min_size=2))
def test_temperature_to_zero_approaches_greedy_and_one_is_identity(p):
    np.testing.assert_allclose(Temperature(1.0).weights(p), p, rtol=0, atol=0)
    np.testing.assert_array_equal(make("top_p", p=1.0).weights(p), p)
    np.testing.assert_array_equal(make("typical", p=1.0).weights(p), p)  # keeps every token, tail included
    top = p >= p.max()
    second = p[~top].max() if (~top).any() else 0.0
    for t in (0.1, 0.02):
        q = Temperature(t).local(p)
        # the mass off the argmax class is at most (V − 1)·(p₂/p₁)^{1/τ}
        bound = (len(p) - 1) * (second / p.max()) ** (1 / t)
        assert q[~top].sum() <= bound + 1e-12


@settings(max_examples=60)
@given(p=prob_vectors(min_size=3), t=st.sampled_from([0.5, 0.7, 1.5, 3.0]), top=st.sampled_from([0.5, 0.8, 0.95]))
def test_composition_orders(p, t, top):
    """HF order: nucleus on the tempered distribution; llama.cpp order: nucleus on p, temperature after."""
    hf = Compose(TopP(top), Temperature(t))  # given in the "wrong" order on purpose: the HF order sorts it
    llama = Compose(TopP(top), Temperature(t), order="llama.cpp")
    tempered = p ** (1 / t)
    np.testing.assert_allclose(hf.weights(p), tempered * TopP(top).keep(tempered / tempered.sum()))
    np.testing.assert_allclose(llama.weights(p), tempered * TopP(top).keep(p))
    assert [s.name for s in hf.steps] == ["temperature", "top_p"]
    assert [s.name for s in Compose(TopP(top), Temperature(t), order="given").steps] == ["top_p", "temperature"]


def test_batch_axes_and_threaded_path_agree_with_rows():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3, 4000)) * 3
    p = np.exp(x - x.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)  # 768 rows x 4000 = 3M entries: the threaded path
    for name, param in (("top_p", 0.9), ("typical", 0.8), ("temperature", 0.7), ("eta", 0.001)):
        a = make(name, **{ADAPTORS[name][1]: param})
        w = a.weights(p)
        assert w.shape == p.shape
        rows = np.stack([a.weights(r) for r in p.reshape(-1, 4000)[::97]])
        np.testing.assert_array_equal(w.reshape(-1, 4000)[::97], rows)
    out = np.empty_like(p)
    assert make("top_k", k=5).weights(p, out=out) is not None and np.count_nonzero(out[0, 0]) == 5


def test_example1_reversal_numbers():
    """docs/theory.md#b5: top-2 keeps everything Example 1 uses, and local normalization reverses the order."""
    top2 = TopK(2)
    first = top2.local(np.array([0.5, 0.45, 0.05]))
    after_a = top2.local(np.array([0.5, 0.05, 0.45]))
    after_b = top2.local(np.array([0.3, 0.32, 0.38]))
    q_a, q_b = first[0] * after_a[2], first[1] * after_b[2]
    assert q_a == pytest.approx(0.5 / 0.95 * 0.45 / 0.95) and q_a == pytest.approx(0.2493, abs=1e-4)
    assert q_b == pytest.approx(0.45 / 0.95 * 0.38 / 0.70) and q_b == pytest.approx(0.2571, abs=1e-4)
    assert 0.5 * 0.45 > 0.45 * 0.38 and q_a < q_b


def test_bad_parameters_name_the_parameter_and_value():
    for name, value, msg in (("top_k", 0, "k must be an integer >= 1, got 0"), ("top_k", 2.5, "k must be an integer"),
                             ("top_k", True, "k must be an integer"), ("top_p", 0, r"p must be in \(0, 1\], got 0"),
                             ("top_p", 1.5, r"p must be in \(0, 1\]"), ("typical", -0.1, "p must be in"),
                             ("min_p", 2, "p must be in"), ("temperature", 0, "t must be a finite number > 0, got 0"),
                             ("temperature", -1.0, "t must be"), ("epsilon", 1.0, r"eps must be in \(0, 1\)"),
                             ("eta", 0, "eps must be in"), ("temperature", math.inf, "t must be")):
        with pytest.raises(ValueError, match=msg):
            make(name, **{ADAPTORS[name][1]: value})
    with pytest.raises(ValueError, match="unknown adaptor 'nucleus'"):
        make("nucleus", p=0.9)
    with pytest.raises(ValueError, match="takes exactly the parameter 'p'"):
        make("top_p", k=3)
    with pytest.raises(TypeError, match="p must be a number"):
        make("top_p", p="0.9")


def test_bad_inputs():
    a = make("top_p", p=0.9)
    with pytest.raises(ValueError, match="row 1 has the non-finite entry nan at index 0"):
        a.weights(np.array([[0.5, 0.5], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="row 0 has the non-finite entry inf"):
        a.weights(np.array([[np.inf, 0.5]]))
    with pytest.raises(ValueError, match=r"sums to 0\.9, not 1"):
        a.weights(np.array([0.5, 0.4]))
    with pytest.raises(ValueError, match="negative entry"):
        a.weights(np.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="all zero"):
        a.weights(np.zeros(3))
    with pytest.raises(ValueError, match="non-empty last"):
        a.weights(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="numpy array"):
        a.weights("0.5 0.5")
    with pytest.raises(ValueError, match="logits row 1 is all −inf"):
        a.weights_from_logits(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
    with pytest.raises(ValueError, match=r"logits has the entry nan at index \(0, 1\)"):
        a.weights_from_logits(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="logits has the entry inf"):
        a.weights_from_logits(np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match="out must be a float64 array of shape"):
        a.weights(np.array([0.5, 0.5]), out=np.empty(3))
    np.testing.assert_allclose(a.weights_from_logits(np.array([[0.0, -np.inf, np.log(3.0)]])), [[0.25, 0, 0.75]])
    row = np.array([0.0, -np.inf, np.log(3.0)])
    np.testing.assert_allclose(make("top_p", p=0.7).weights_from_logits(row), [0, 0, 0.75])


def test_typical_one_keeps_a_tail_that_the_cumulative_sum_rounds_away():
    """The cumulative mass reaches 1.0 in float64 before the tiny tokens: they must still be kept at p = 1."""
    p = np.array([0.5, 0.5 - 1e-17, 1e-17, 1e-30])
    p = p / p.sum()
    assert np.all(make("typical", p=1.0).weights(p)[p > 0] > 0)


def test_local_is_never_nan_at_extreme_temperatures():
    """τ → 0 in log space: a flat row of 50,000 entries at τ = 0.01 is uniform (its weights all underflow in
    float64), a row with a unique maximum becomes a point mass, ties share the mass, and a composition with a
    truncation step is never NaN."""
    from typicality.adaptors import Compose, make

    flat = np.full(50_000, 1 / 50_000)
    q = make("temperature", t=0.01).local(flat)
    assert np.all(np.isfinite(q)) and np.allclose(q, 1 / 50_000, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(make("temperature", t=1e-5).local(np.array([0.5, 0.3, 0.2, 0.0])), [1, 0, 0, 0])
    np.testing.assert_allclose(make("temperature", t=1e-5).local(np.array([0.4, 0.4, 0.2])), [0.5, 0.5, 0.0])
    both = Compose(make("temperature", t=1e-4), make("top_p", p=0.5))
    rows = np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25]])
    with np.errstate(invalid="raise"):  # no 0/0 anywhere (underflow to 0 is expected)
        q = both.local(rows)
        w = both.weights(rows)
    np.testing.assert_array_equal(q, [[0, 0, 1], [1, 0, 0]])
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    # an ordinary row is unchanged by the fallback: q_T equals T(p)/Σ T(p) computed directly
    p = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(make("temperature", t=0.5).local(p), p**2 / np.sum(p**2), rtol=1e-15)


#: the library's seven adaptors as factories, the parameters they are checked at, and how their kept sets move
SUITE = {
    "temperature": (lambda t: make("temperature", t=t), [0.3, 0.7, 1.0, 2.0], None),
    "top_k": (lambda k: make("top_k", k=k), [1, 2, 3, 5, 14], "increasing"),
    "top_p": (lambda p: make("top_p", p=p), [0.05, 0.3, 0.75, 0.9, 1.0], "increasing"),
    "typical": (lambda p: make("typical", p=p), [0.1, 0.5, 0.9, 1.0], "increasing"),
    "epsilon": (lambda e: make("epsilon", eps=e), [0.01, 0.05, 0.3, 0.6], "decreasing"),
    "eta": (lambda e: make("eta", eps=e), [0.001, 0.01, 0.1, 0.5], "decreasing"),
    "min_p": (lambda p: make("min_p", p=p), [0.01, 0.1, 0.5, 1.0], "decreasing"),
}


@pytest.mark.parametrize("name", sorted(SUITE))
def test_every_adaptor_passes_the_suite_users_get(name):
    """typicality.testing.check_adaptor on each built-in adaptor: the same invariants users run on their own."""
    from typicality.testing import check_adaptor

    factory, parameters, monotone = SUITE[name]
    report = check_adaptor(factory, parameters=parameters, monotone=monotone, keeps_argmax=name != "typical",
                           max_examples=150, models=10, imha_chains=20_000)
    expected = {"shape", "finite", "kept set", "zero off the kept set", "local", "permutation", "batch",
                "q_T tight", "Eq. 8", "IMHA"}
    assert expected <= set(report.checked), report
    assert ("monotone" in report.checked) == (monotone is not None)
    assert ("truncation keeps p" in report.checked) == (name != "temperature")


def test_compositions_pass_the_suite():
    from typicality.testing import check_adaptor

    for order in ("hf", "llama.cpp"):
        report = check_adaptor(Compose(make("temperature", t=0.7), make("top_p", p=0.9), order=order),
                               max_examples=80, models=5, imha_chains=20_000)
        assert "IMHA" in report.checked and "truncation keeps p" in report.skipped
