"""IMHA (Algorithm 1): the compiled kernel, and the chain's law against the exact π_T.

Statistical checks use K independent chains of M steps and their final states: i.i.d. draws whose law is within
(1 − λ)^M of π_T in total variation (Doeblin constant λ = Z_T / w*), so Hoeffding applies with that bias added.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typicality.adaptors import make
from typicality.diagnostics import hoeffding_radius, markov_tv_bound
from typicality.imha import (
    _python_kernel,
    _scan_kernel,
    doeblin_constant,
    imha,
    imha_corpus,
    imha_kernel,
    lockstep_chains,
    max_weight,
)
from typicality.induced import global_model, local_model
from typicality.models import examples


@settings(max_examples=50)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300), scale=st.sampled_from([0.1, 1.0, 4.0]))
def test_compiled_kernel_equals_the_reference_loop(seed, n, scale):
    rng = np.random.default_rng(seed)
    lw = rng.standard_normal(n) * scale
    e = rng.standard_exponential(n)
    fast, acc = imha_kernel(lw, np.random.default_rng(0), exponentials=e)
    slow = np.empty(n - 1, dtype=np.int64)
    acc_slow = _python_kernel(lw, e, slow)
    np.testing.assert_array_equal(fast, slow)
    assert acc == acc_slow
    plain = np.empty(n - 1, dtype=np.int64)
    assert _scan_kernel(lw, e, plain) == acc_slow  # the compiled algorithm, run as plain Python
    np.testing.assert_array_equal(plain, slow)
    together, acc_together = lockstep_chains(np.stack([lw, lw]), np.stack([e, e]))
    np.testing.assert_array_equal(together[1], slow)
    assert acc_together[0] == acc_slow
    # and the textbook rule, u < min(1, w'/w) with u = exp(−E)
    cur = 0
    for t in range(1, n):
        if math.exp(-e[t]) < min(1.0, math.exp(lw[t] - lw[cur])):
            cur = t
        assert slow[t - 1] == cur


def final_state_check(model, adaptor, target, *, chains=100_000, steps=20, seed=0, accept_all=False):
    """Max deviation of final-state frequencies from ``target`` (a model with .prob) over the short strings, and
    the allowed radius (Hoeffding at δ = 1e-9 over the strings checked, plus the TV bias)."""
    result = imha(model, adaptor, steps, np.random.default_rng(seed), chains=chains, accept_all=accept_all)
    rows = result.final_rows()
    batch = result.proposals
    finals = [tuple(batch.symbols[r, : batch.lengths[r]].tolist()) for r in rows]
    counts: dict = {}
    for f in finals:
        counts[f] = counts.get(f, 0) + 1
    names = model.alphabet
    checked = sorted(counts, key=counts.get, reverse=True)[:10]
    lam = doeblin_constant(model, adaptor)
    radius = hoeffding_radius(chains, 1e-9 / len(checked)) + markov_tv_bound(lam, steps)
    worst = max(abs(counts[y] / chains - target.prob(tuple(names[j] for j in y))) for y in checked)
    return worst, radius, result


@pytest.mark.parametrize("name,value", [("top_k", 2), ("top_p", 0.8), ("temperature", 0.6), ("eta", 0.1)])
def test_chains_converge_to_the_exact_global_adaptor(name, value):
    model = examples.example1_bigram()
    adaptor = make(name, **{{"top_k": "k", "temperature": "t", "eta": "eps"}.get(name, "p"): value})
    worst, radius, result = final_state_check(model, adaptor, global_model(model, adaptor))
    assert worst <= radius, (worst, radius)
    assert 0 < result.acceptance_rate.mean() < 1


def test_accept_all_samples_the_local_not_the_global_adaptor():
    """The official code's bug (docs/theory.md#r1): accepting every proposal returns q_T, measurably not π_T."""
    model, top2 = examples.example1_bigram(), make("top_k", k=2)
    worst, radius, result = final_state_check(model, top2, local_model(model, top2), accept_all=True, seed=1)
    assert worst <= radius and np.all(result.acceptance_rate == 1.0)
    gap, _, _ = final_state_check(model, top2, global_model(model, top2), accept_all=True, seed=1)
    assert gap > 3 * radius


def test_long_chain_statistics():
    model, top2 = examples.example1_bigram(), make("top_k", k=2)
    r = imha(model, top2, 200_000, np.random.default_rng(3))
    strings = r.chain_strings(0)
    g = global_model(model, top2)
    assert abs(strings.count(("a",)) / len(strings) - g.prob("a")) < 0.01  # loose: a single dependent chain
    assert len(strings) == 200_000 and r.states.shape == (1, 200_000)


def test_trace_and_effective_sample_size_of_projections():
    from typicality.diagnostics import effective_sample_size

    model, top2 = examples.example1_bigram(), make("top_k", k=2)
    r = imha(model, top2, 20_000, np.random.default_rng(5), chains=4)
    lengths = r.trace(r.proposals.lengths)
    assert lengths.shape == (4, 20_000)
    assert [len(y) for y in r.chain_strings(2)[:50]] == lengths[2, :50].tolist()
    ess = effective_sample_size(lengths)
    assert 0.2 * lengths.size < ess < lengths.size  # acceptance ≈ 0.84: mildly correlated draws
    log_w = r.trace(r.log_weights.reshape(-1))
    assert np.all(log_w <= 0)  # truncation only: w = Π Z_t ≤ 1
    with pytest.raises(ValueError, match="one entry per proposal"):
        r.trace(np.zeros(3))


def test_doeblin_constant_and_max_weight():
    model, top2 = examples.example1_bigram(), make("top_k", k=2)
    # w(y) = Π Z_t: the best string is "a" (Z at ε is 0.95, at "a" 0.95): w* = 0.9025
    assert max_weight(model, top2) == pytest.approx(0.95 * 0.95)
    lam = doeblin_constant(model, top2)
    assert lam == pytest.approx(global_model(model, top2).normalizer / 0.9025)
    assert max_weight(model, make("temperature", t=2.0)) == math.inf  # Z_t > 1: w unbounded
    assert doeblin_constant(model, make("temperature", t=2.0)) == 0.0


def test_corpus_mode():
    rng = np.random.default_rng(0)
    states, accepted = imha_corpus(np.zeros(50), 1000, rng)
    assert accepted == 1000 and len(states) == 1000  # equal weights: every proposal accepted
    lw = np.log(np.r_[np.ones(10), np.full(10, 1e-3)])
    states, accepted = imha_corpus(lw, 20_000, rng)
    assert np.mean(states < 10) > 0.99 and accepted < 20_000
    states, accepted = imha_corpus(lw, 20_000, rng, accept_all=True)
    assert accepted == 20_000 and 0.45 < np.mean(states < 10) < 0.55  # the bootstrap: no reweighting at all


def test_bad_input():
    with pytest.raises(ValueError, match="n_steps must be an int >= 1"):
        imha(examples.example1_bigram(), make("top_k", k=2), 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN"):
        imha_kernel(np.array([0.0, np.nan]), np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        imha_kernel(np.zeros(3), 0)
    from typicality.models import NGramLM

    strict = NGramLM(2, "</s>", {"": {"a": "1"}, "a": {"b": "1"}, "b": {"a": "0.6", "</s>": "0.4"}})
    with pytest.raises(ValueError, match="Z_T = 0"):  # top-1 drops eos everywhere: no string, no target
        imha(strict, make("top_k", k=1), 10, np.random.default_rng(0))


def test_the_imha_refuses_a_target_that_does_not_exist_and_underflow_is_not_zero():
    """Like global_model, the IMHA refuses Z_T = ∞ (global temperature 2 on C1) instead of running; weights that
    underflow float64 are reported as underflow (Z_T is tiny, not 0), while a real Z_T = 0 stays 0."""
    from typicality.induced import NormalizerError, global_model, global_normalizer
    from typicality.models import NGramLM

    with pytest.raises(NormalizerError, match="Z_T = ∞"):
        imha(examples.c1_counterexample(), make("temperature", t=2), 10, np.random.default_rng(0))
    m = NGramLM(1, "</s>", {"": {"a": "0.6", "b": "0.3", "</s>": "0.1"}})
    with pytest.raises(NormalizerError, match="underflows float64") as e:
        global_model(m, make("temperature", t=0.001))  # 0.1^1000 < the smallest float64
    assert np.isnan(e.value.normalizer) and np.isnan(global_normalizer(m, make("temperature", t=0.001)))
    assert global_normalizer(m, make("top_k", k=1)) == 0.0  # eos is never the top symbol: Z_T = 0 exactly
    np.testing.assert_array_equal(make("temperature", t=0.001).support(np.array([0.6, 0.3, 0.1, 0.0])),
                                  [True, True, True, False])
