"""The language-model protocol on every kind of model, against brute-force products of the input rows."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference import brute_force_strings
from tests.strategies import EOS, ngram_specs
from typicality.enumeration import enumerate_strings
from typicality.models import (
    AutoregressiveLM,
    BaerLM,
    FiniteStateLM,
    FiniteSupportLM,
    LanguageModel,
    NGramLM,
    StringTooLongError,
    examples,
)


def test_every_kind_implements_the_protocol():
    fs = FiniteSupportLM({"a": 0.5, "": 0.5})
    ar = AutoregressiveLM(["a"], EOS, lambda prefix: [0.5, 0.5])
    for m in (examples.c1_counterexample(), examples.c2_bigram(), examples.baer(), fs, ar):
        assert isinstance(m, LanguageModel)
        assert m.symbols[-1] == m.eos and m.symbols[:-1] == m.alphabet


@settings(max_examples=40)
@given(spec=ngram_specs(kind="any"))
def test_ngram_log_prob_equals_product_of_input_rows(spec):
    model = spec.build()
    for y, q in brute_force_strings(spec.order, spec.contexts, spec.alphabet, 4):
        lp = model.log_prob(y)
        lp_mp = model.log_prob(y, dps=40)
        if q == 0:
            assert lp == -math.inf and lp_mp == -mpmath.inf
        else:
            with mpmath.workdps(40):
                ref = mpmath.log(mpmath.mpf(q.numerator) / q.denominator)
                assert abs(lp_mp - ref) <= mpmath.mpf(10) ** -35 * max(1, abs(ref))
            assert lp == pytest.approx(float(ref), rel=1e-12, abs=1e-12)


@settings(max_examples=30)
@given(spec=ngram_specs(kind="any"))
def test_next_symbol_distribution_is_the_input_row(spec):
    model = spec.build()
    for y, _ in brute_force_strings(spec.order, spec.contexts, spec.alphabet, 2):
        if model.state_after(y) is None:
            with pytest.raises(ValueError, match="probability 0"):
                model.next_symbol_distribution(y)
            continue
        dist = model.next_symbol_distribution(y, dps=30)
        ctx = " ".join(y[len(y) - spec.order + 1:]) if spec.order > 1 else ""
        row = spec.contexts[ctx]
        with mpmath.workdps(30):
            for sym, p in zip(model.symbols, dist, strict=True):
                q = row.get(sym, Fraction(0))
                assert p == mpmath.mpf(q.numerator) / q.denominator


def test_finite_support_conditionals_and_log_prob():
    m = FiniteSupportLM({"a": "0.5", "a b": "0.25", "": "0.25"})
    assert m.log_prob("a b") == pytest.approx(math.log(0.25))
    assert m.log_prob("b") == -math.inf
    d = m.next_symbol_distribution("a", dps=30)
    # P(Y ⪰ a) = 3/4: p(b | a) = 1/3, p(eos | a) = 2/3
    with mpmath.workdps(30):
        assert d[0] == 0 and abs(d[1] - mpmath.mpf(1) / 3) < 1e-29 and abs(d[2] - mpmath.mpf(2) / 3) < 1e-29
    with pytest.raises(ValueError, match="probability 0"):
        m.next_symbol_distribution("b")


def test_autoregressive_model_matches_the_finite_state_model_it_wraps():
    fsm = examples.example1_bigram()

    def next_symbol(prefix):
        return fsm.next_symbol_distribution(prefix)

    ar = AutoregressiveLM(fsm.alphabet, fsm.eos, next_symbol)
    for y in ["", "a", "b a", "a a b", "b b b a"]:
        assert ar.log_prob(y) == pytest.approx(fsm.log_prob(y), rel=1e-13)
    assert ar.prob("a") == pytest.approx(0.5 * 0.45)


def test_autoregressive_mapping_output_and_bad_rows():
    ok = AutoregressiveLM(["a", "b"], EOS, lambda p: {"a": 0.5, EOS: 0.5})
    assert ok.prob("a") == pytest.approx(0.25)
    assert ok.prob("b") == 0
    bad_sum = AutoregressiveLM(["a"], EOS, lambda p: [0.5, 0.4])
    with pytest.raises(ValueError, match=r"sum to 0\.9"):
        bad_sum.log_prob("a")
    neg = AutoregressiveLM(["a"], EOS, lambda p: [1.5, -0.5])
    with pytest.raises(ValueError, match=r"-0\.5"):
        neg.log_prob("")
    nan = AutoregressiveLM(["a"], EOS, lambda p: [float("nan"), 1.0])
    with pytest.raises(ValueError, match="finite"):
        nan.log_prob("")
    short = AutoregressiveLM(["a"], EOS, lambda p: [1.0])
    with pytest.raises(ValueError, match="expected 2"):
        short.log_prob("")


def test_strings_as_str_are_space_separated_and_unknown_symbols_are_errors():
    m = examples.example1_bigram()
    assert m.log_prob("a b") == m.log_prob(("a", "b"))
    with pytest.raises(ValueError, match="unknown symbol 'c'"):
        m.log_prob("a c")
    with pytest.raises(ValueError, match="eos"):
        m.log_prob(["a", EOS])
    with pytest.raises(TypeError):
        m.log_prob(3)


def hoeffding_eps(n: int, delta: float) -> float:
    """Half-width of a two-sided Hoeffding interval for a mean of n indicators at failure probability δ."""
    return math.sqrt(math.log(2 / delta) / (2 * n))


@pytest.mark.parametrize("model_name", ["example1", "c2"])
def test_samplers_draw_from_the_model(model_name):
    """Frequencies of the shortest strings (one sampler per stream) within Hoeffding intervals, δ = 1e-9 overall."""
    model = examples.EXAMPLES[model_name]()
    listed = enumerate_strings(model, 4)
    targets = listed.strings
    exact = dict(zip(listed.strings, listed.probs, strict=True))
    n_seq, n_vec = 20_000, 400_000
    # the union bound over the strings and the length classes below keeps the total failure probability ≤ 1e-9
    delta = 1e-9 / (2 * len(targets) + 10)
    rng = np.random.default_rng(12345)
    draws = [model.sample(rng) for _ in range(n_seq)]
    for y in targets:
        freq = sum(1 for d in draws if d == y) / n_seq
        assert abs(freq - exact[y]) <= hoeffding_eps(n_seq, delta), y
    logp, lengths = model.sample_log_probs(np.random.default_rng(6789), n_vec)
    for y in targets:
        freq = np.mean((lengths == len(y)) & np.isclose(logp, math.log(exact[y]), rtol=0, atol=1e-12))
        same = sum(exact[z] for z in targets if len(z) == len(y) and math.isclose(exact[z], exact[y]))
        assert abs(freq - same) <= hoeffding_eps(n_vec, delta), y


def test_sampling_guards():
    m = FiniteStateLM(["a"], EOS, "q", {"q": {"a": (1, "q")}})  # never ends
    with pytest.raises(StringTooLongError, match="max_length=50"):
        m.sample(np.random.default_rng(0), max_length=50)
    with pytest.raises(StringTooLongError):
        m.sample_log_probs(np.random.default_rng(0), 10, max_length=50)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        examples.c1_counterexample().sample(42)
    with pytest.raises(ValueError, match="max_length"):
        examples.c1_counterexample().sample(np.random.default_rng(0), max_length=-1)


@given(st.integers(0, 10**6))
def test_finite_state_state_after_matches_ngram_context(n):
    m = examples.example1_bigram()
    rng = np.random.default_rng(n)
    y = m.sample(rng)
    s = m.state_after(y)
    assert m.states[s] == (y[-1] if y else "")


def test_baer_next_symbol_chain_reproduces_pmf():
    m = BaerLM()
    with mpmath.workdps(50):
        for n in (0, 1, 5, 100):
            chain = mpmath.mpf(1)
            for k in range(n):
                chain *= m.next_symbol_distribution(("a",) * k, dps=50)[0]
            chain *= m.next_symbol_distribution(("a",) * n, dps=50)[1]
            direct = 1 / mpmath.log(n + 2, 2) - 1 / mpmath.log(n + 3, 2)
            assert abs(chain - direct) <= mpmath.mpf(10) ** -45
            assert abs(mpmath.exp(m.log_prob(("a",) * n, dps=50)) - direct) <= mpmath.mpf(10) ** -45


def test_ngram_json_text_round_trip_is_exact():
    """Decimals written in the JSON come back exactly (numbers are parsed as decimals, not binary floats)."""
    m = examples.example1_bigram()
    m2 = NGramLM.from_json(m.dumps())
    for y in ["", "a", "b a b"]:
        assert m2.log_prob(y, dps=30) == m.log_prob(y, dps=30)
