"""Sparse arc storage of finite-state LMs: agreement with dense references built here from the input rows, the
columnar constructors, sampling draws identical to inversion over dense rows, memory O(arcs)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference import brute_force_strings, successor
from tests.strategies import EOS, ngram_specs
from typicality import induced
from typicality.adaptors import make
from typicality.models import FiniteStateLM, NGramLM
from typicality.models.finite_state import exact_float_sum
from typicality.testing import random_sparse_bigram


def dense_reference(spec, *, floats: bool = False):
    """(contexts, table, dest) of a spec: table[i, j] = p(symbol j | context i) (Fractions, or floats), dest[i, j]
    the index of the next context (−1 where none), built from the rows alone."""
    names = sorted(spec.contexts, key=lambda c: (len(c), c))
    index = {c: i for i, c in enumerate(names)}
    symbols = (*spec.alphabet, EOS)
    table = [[Fraction(0)] * len(symbols) for _ in names]
    dest = np.full((len(names), len(symbols)), -1)
    for c, row in spec.contexts.items():
        for a, p in row.items():
            j = symbols.index(a)
            table[index[c]][j] = float(p) if floats else p
            if a != EOS:
                dest[index[c], j] = index.get(successor(spec.order, c, a), -1)
    return names, table, dest


def arrays_of(spec):
    """The spec's rows as columns (contexts, src, sym, prob64) for NGramLM.from_arrays, in a shuffled order."""
    names = sorted(spec.contexts)
    symbols = (*spec.alphabet, EOS)
    rows = [(names.index(c), symbols.index(a), float(p)) for c, row in spec.contexts.items() for a, p in row.items()]
    rows = rows[::-1]
    src, sym, prob = (np.array(x) for x in zip(*rows, strict=True))
    return names, src.astype(np.int64), sym.astype(np.int64), prob.astype(np.float64)


def float_spec_contexts(spec):
    return {c: {a: float(p) for a, p in row.items()} for c, row in spec.contexts.items()}


@settings(max_examples=40, deadline=None)
@given(spec=ngram_specs(kind="any"))
def test_sparse_model_agrees_with_a_dense_reference(spec):
    model = spec.build()
    names, table, dest = dense_reference(spec)
    index = {c: i for i, c in enumerate(names)}
    assert model.nbytes < 1000 + 100 * (model.n_states + model.n_arcs)
    for y, q in brute_force_strings(spec.order, spec.contexts, spec.alphabet, 3):
        with mpmath.workdps(30):
            assert abs(model.prob(y, dps=30) - mpmath.mpf(q.numerator) / q.denominator) <= 1e-27 * float(q)
        assert model.log_prob(y) == (pytest.approx(math.log(q), rel=1e-12) if q > 0 else -math.inf)
        s = model.state_after(y)
        # the dense walk: the context reached, or None
        c = index[""]
        for a in y:
            t = dest[c, spec.alphabet.index(a)] if table[c][spec.alphabet.index(a)] > 0 else -1
            if t < 0:
                c = None
                break
            c = int(t)
        if c is None:
            assert s is None
            continue
        assert model.states[s] == names[c]
        np.testing.assert_array_equal(model.next_symbol_distribution(y), np.array([float(p) for p in table[c]]))
        np.testing.assert_array_equal(model.dense_rows([s])[0], np.array([float(p) for p in table[c]]))
        assert model.eos_prob_exact[s] == table[c][-1]
        assert model.row_sum[s] == sum(table[c])


@settings(max_examples=40, deadline=None)
@given(spec=ngram_specs(kind="any"))
def test_from_arrays_is_the_mapping_constructor_on_floats(spec):
    names, src, sym, prob = arrays_of(spec)
    fast = NGramLM.from_arrays(spec.order, EOS, spec.alphabet, names, src, sym, prob)
    slow = NGramLM(spec.order, EOS, {c: float_spec_contexts(spec)[c] for c in names}, alphabet=list(spec.alphabet))
    for name in ("arc_src", "arc_sym", "arc_dst", "arc_prob64", "arc_logprob", "indptr", "reachable", "coaccessible"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert list(fast.arc_prob) == list(slow.arc_prob)
    assert [fast.row_sum[s] for s in range(fast.n_states)] == list(slow.row_sum)
    assert fast.eos_prob_exact == slow.eos_prob_exact
    assert fast.is_tight == slow.is_tight and fast.start_index == slow.start_index
    assert fast.to_dict() == slow.to_dict()
    for y, _ in brute_force_strings(spec.order, spec.contexts, spec.alphabet, 3):
        assert fast.log_prob(y) == slow.log_prob(y)
        assert fast.prob(y, dps=40) == slow.prob(y, dps=40)


def _old_cumulative(table: np.ndarray) -> np.ndarray:
    """The previous dense algorithm's per-state cumulative table (+inf from the last positive entry on)."""
    c = np.cumsum(table, axis=1)
    for s in range(len(table)):
        nz = np.flatnonzero(table[s])
        c[s, nz[-1]:] = np.inf
    return c


@settings(max_examples=25, deadline=None)
@given(spec=ngram_specs(kind="tight"), seed=st.integers(0, 2**32))
def test_sampling_draws_are_those_of_inversion_over_dense_rows(spec, seed):
    model = spec.build()
    table = model.dense_rows(np.arange(model.n_states))
    _, ref_table, _ = dense_reference(spec, floats=True)
    np.testing.assert_array_equal(np.sort(table, axis=None), np.sort(np.array(ref_table, dtype=float), axis=None))
    c = _old_cumulative(table)
    dest = np.full(table.shape, -1)
    dest[model.arc_src, model.arc_sym] = model.arc_dst
    eos = model.eos_index

    def old_sample(rng):
        s, out = model.start_index, []
        while True:
            j = int(np.searchsorted(c[s], rng.random(), side="right"))
            if j == eos:
                return tuple(out)
            out.append(model.alphabet[j])
            s = int(dest[s, j])

    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    for _ in range(20):
        assert model.sample(r1, max_length=None) == old_sample(r2)
    # the vectorized sampler: one uniform per live string per step, (u >= c[s]).sum() in the old code
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    batch = model.sample_arrays(r1, 200, max_length=None)
    state = np.full(200, model.start_index)
    alive = np.arange(200)
    step = 0
    while alive.size:
        j = (r2.random(alive.size)[:, None] >= c[state[alive]]).sum(axis=1)
        done = j == eos
        np.testing.assert_array_equal(batch.lengths[alive[done]], step)
        if not done.all():
            np.testing.assert_array_equal(batch.symbols[alive[~done], step], j[~done])
        state[alive[~done]] = dest[state[alive[~done]], j[~done]]
        alive = alive[~done]
        step += 1
    for y, lp in zip(batch.strings(), batch.log_probs.tolist(), strict=True):
        assert lp == pytest.approx(model.log_prob(y), rel=1e-12, abs=1e-12)


def test_sampling_frequencies_match_the_exact_probabilities():
    """Each of 8 strings' frequency in 200 000 draws is within the Hoeffding radius of failure probability 1e-9."""
    m = NGramLM(2, EOS, {"": {"a": Fraction(1, 2), "b": Fraction(1, 4), EOS: Fraction(1, 4)},
                         "a": {"a": Fraction(1, 3), EOS: Fraction(2, 3)},
                         "b": {"a": Fraction(1, 2), EOS: Fraction(1, 2)}})
    n = 200_000
    batch = m.sample_arrays(np.random.default_rng(7), n)
    strings = batch.strings()
    radius = math.sqrt(math.log(2 * 8 / 1e-9) / (2 * n))
    for y in [(), ("a",), ("b",), ("a", "a"), ("b", "a"), ("a", "a", "a"), ("b", "a", "a"), ("a", "a", "a", "a")]:
        assert abs(strings.count(y) / n - float(m.prob(y, dps=30))) <= radius


def test_a_million_arc_bigram_is_stored_in_o_arcs_memory():
    m = random_sparse_bigram(50_000, 20, 0)
    assert m.n_states == 50_001 and m.n_arcs == 50_001 * 21 and m.is_tight
    # dense tables would take states × (|Σ|+1) × 16 bytes = 40 GB; the arcs take < 64 bytes each
    assert m.nbytes < 64 * m.n_arcs + 64 * m.n_states
    m.sample_arrays(np.random.default_rng(0), 1000)
    assert m.nbytes < 72 * m.n_arcs + 64 * m.n_states
    assert np.array_equal(np.diff(m.indptr), np.full(50_001, 21))
    y = m.sample(np.random.default_rng(1))
    assert math.isfinite(m.log_prob(y))


def test_random_sparse_bigram_rows():
    m = random_sparse_bigram(30, 4, 3)
    assert m.order == 2 and m.states[0] == "" and m.alphabet[:2] == ("w0", "w1")
    for s in range(m.n_states):
        arcs = slice(m.indptr[s], m.indptr[s + 1])
        assert len(set(m.arc_sym[arcs].tolist())) == 5 and m.arc_sym[arcs][-1] == m.eos_index
        assert abs(m.row_sum[s] - 1) < Fraction(1, 10**14)
    again = random_sparse_bigram(30, 4, 3)
    np.testing.assert_array_equal(m.arc_prob64, again.arc_prob64)
    assert not np.array_equal(m.arc_prob64, random_sparse_bigram(30, 4, 4).arc_prob64)
    for kwargs, err in [((0, 1, 0), "vocab"), ((3, 4, 0), "successors"), ((3, 0, 0), "successors"),
                        ((3, 1, 0.5), "seed")]:
        with pytest.raises((ValueError, TypeError), match=err):
            random_sparse_bigram(*kwargs)


@pytest.mark.parametrize("block", [1, 7, 1 << 22])
def test_adaptors_applied_in_blocks_match_dense_rows(monkeypatch, block):
    monkeypatch.setattr(induced, "BLOCK_ENTRIES", block)
    m = random_sparse_bigram(12, 5, 1)
    dense = m.dense_rows(np.arange(m.n_states))
    for adaptor in (make("top_k", k=2), make("temperature", t=0.5), make("top_p", p=0.8)):
        w, total = induced.arc_weights(m, adaptor)
        ref = adaptor.weights(dense, validate=False)
        np.testing.assert_array_equal(w, ref[m.arc_src, m.arc_sym])
        np.testing.assert_allclose(total, ref.sum(axis=1), rtol=1e-15)
        q = induced.local_model(m, adaptor)
        q_rows = q.dense_rows(np.arange(q.n_states))
        np.testing.assert_allclose(q_rows, ref / ref.sum(axis=1, keepdims=True), rtol=1e-15, atol=0)
        np.testing.assert_array_equal(q.arc_dst[q.arc_sym != q.eos_index],
                                      m.arc_dst[(ref[m.arc_src, m.arc_sym] > 0) & (m.arc_sym != m.eos_index)])


def test_exact_float_sum_is_exact():
    xs = np.array([0.1, 0.2, 1e-300, 5e-324, 0.7])
    assert exact_float_sum(xs) == sum((Fraction(x) for x in xs.tolist()), Fraction(0))
    assert exact_float_sum(np.array([])) == 0


def _from_arcs(src=(0, 0), sym=(0, 1), dst=(0, -1), prob=(0.75, 0.25), **kw):
    return FiniteStateLM.from_arcs(["a"], EOS, kw.pop("states", ["q"]), kw.pop("start", "q"), np.array(src),
                                   np.array(sym), np.array(dst), np.array(prob), **kw)


def test_from_arcs_accepts_rows_within_the_tolerance_and_decides_exactly():
    assert _from_arcs(prob=(0.75, 0.25 + 5e-10)).row_sum[0] == Fraction(0.75) + Fraction(0.25 + 5e-10)
    with pytest.raises(ValueError, match=r"sum to 1\.000000002"):
        _from_arcs(prob=(0.75, 0.25 + 2e-9))
    # a row whose float sum sits on the tolerance is decided by its exact sum
    tol = 2.0 ** -30
    m = _from_arcs(prob=(0.75, 0.25 + tol), tol=tol)
    assert m.row_sum[0] - 1 == Fraction(tol)
    zero = FiniteStateLM.from_arcs(["a", "b"], EOS, ["q"], "q", np.array([0, 0, 0]), np.array([0, 1, 2]),
                                   np.array([0, 0, -1]), np.array([0.75, 0.0, 0.25]))
    assert zero.n_arcs == 2 and zero.next_symbol_distribution("").tolist() == [0.75, 0.0, 0.25]


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"src": (0.0, 0.0)}, TypeError, "src must be a 1-d array of ints"),
    ({"sym": (True, False)}, TypeError, "sym must be a 1-d array of ints"),
    ({"prob": (3, 1)}, TypeError, "prob must be a 1-d array of floats"),
    ({"dst": (0,)}, ValueError, "dst has 1 entries"),
    ({"src": (0, 1)}, ValueError, r"src\[1\] = 1 is out of range"),
    ({"sym": (0, 2)}, ValueError, r"sym\[1\] = 2 is out of range"),
    ({"dst": (3, -1)}, ValueError, r"dst\[0\] = 3 is out of range"),
    ({"prob": (-0.25, 1.25)}, ValueError, r"probability of 'a' is -0.25 \(prob\[0\]\)"),
    ({"prob": (np.nan, 0.25)}, ValueError, "probability of 'a' is nan"),
    ({"prob": (0.5, 0.25)}, ValueError, "sum to 0.75, not 1"),
    ({"sym": (1, 1)}, ValueError, "two arcs for the symbol '</s>'"),
    ({"start": "r"}, ValueError, "start state 'r' is not among the states"),
    ({"states": ["q", "q"]}, ValueError, "states must be distinct"),
    ({"states": ["q", "r"]}, ValueError, "state 'r': the row is empty"),
    ({"tol": -1.0}, ValueError, "tol must be a number"),
])
def test_from_arcs_rejects_bad_input_by_name(kw, exc, match):
    with pytest.raises(exc, match=match):
        _from_arcs(**kw)


def test_from_arrays_rejects_bad_contexts_and_missing_successors():
    V = ["a", "b"]
    ok = dict(src=np.array([0, 0, 1, 2]), sym=np.array([0, 2, 2, 2]), prob=np.array([0.5, 0.5, 1.0, 1.0]))
    assert NGramLM.from_arrays(2, EOS, V, ["", "a", "b"], **ok).prob("a") == 0.5
    with pytest.raises(ValueError, match="context 'a' is reachable from the start"):
        NGramLM.from_arrays(2, EOS, V, ["", "b"], np.array([0, 0, 1]), np.array([0, 2, 2]), np.array([0.5, 0.5, 1.0]))
    # an unreachable context may continue to a missing one
    m = NGramLM.from_arrays(2, EOS, V, ["", "b"], np.array([0, 1, 1]), np.array([2, 0, 2]), np.array([1.0, 0.5, 0.5]))
    assert not m.reachable[1]
    for contexts, match in [(["", "a b"], "at most 1"), (["", "c"], "unknown symbol 'c'"),
                            (["a", "b"], "empty context"), (["", "a", "a"], "distinct"), (["", EOS], "contains eos")]:
        with pytest.raises(ValueError, match=match):
            NGramLM.from_arrays(2, EOS, V, contexts, np.array([0]), np.array([2]), np.array([1.0]))
    with pytest.raises(ValueError, match="order must be an int"):
        NGramLM.from_arrays(0, EOS, V, [""], np.array([0]), np.array([2]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"sym\[0\] = 3 is out of range"):
        NGramLM.from_arrays(2, EOS, V, [""], np.array([0]), np.array([3]), np.array([1.0]))


@settings(max_examples=30, deadline=None)
@given(spec=ngram_specs(kind="any", max_order=4))
def test_successor_keys_agree_with_tuple_lookup(spec):
    """The integer-key successors equal the tuple lookup used when keys would overflow int64, and the reference."""
    from typicality.models import ngram

    names, src, sym, _ = arrays_of(spec)
    index = {a: i for i, a in enumerate(spec.alphabet)}
    ids = [tuple(index[a] for a in c.split(" ")) if c else () for c in names]
    V = len(spec.alphabet)
    fast = ngram._successors(spec.order, V, ids, src, sym)
    slow = ngram._successors(spec.order, V, ids, src, sym, key_limit=0)
    ref = [-1 if a == V else names.index(successor(spec.order, names[s], spec.alphabet[a]))
           for s, a in zip(src.tolist(), sym.tolist(), strict=True)]
    np.testing.assert_array_equal(fast, ref)
    np.testing.assert_array_equal(slow, ref)


@settings(max_examples=30, deadline=None)
@given(spec=ngram_specs(kind="any"))
def test_float_rows_and_their_exact_fractions_give_the_same_model(spec):
    """The mapping constructor's float path (vectorized, lazy Fractions) equals its exact path on the same values."""
    floats = float_spec_contexts(spec)
    exact = {c: {a: Fraction(p) for a, p in row.items()} for c, row in floats.items()}
    mixed = {c: {a: (Fraction(p) if a == EOS else p) for a, p in row.items()} for c, row in floats.items()}
    models = [NGramLM(spec.order, EOS, rows, alphabet=list(spec.alphabet)) for rows in (floats, exact, mixed)]
    for m in models[1:]:
        for name in ("arc_src", "arc_sym", "arc_dst", "arc_prob64", "arc_logprob", "indptr"):
            np.testing.assert_array_equal(getattr(m, name), getattr(models[0], name), err_msg=name)
        assert list(m.arc_prob) == list(models[0].arc_prob)
        assert [m.row_sum[s] for s in range(m.n_states)] == [models[0].row_sum[s] for s in range(m.n_states)]
        assert m.eos_prob_exact == models[0].eos_prob_exact


@st.composite
def fsa_rows(draw):
    """A random deterministic automaton: n states over {a, b}, exact rows, random destinations."""
    n = draw(st.integers(1, 4))
    alphabet = ("a", "b")
    rows = []
    for _ in range(n):
        weights = [draw(st.integers(0, 5)) for _ in range(3)]
        if sum(weights) == 0:
            weights[2] = 1
        total = sum(weights)
        rows.append({sym: (Fraction(w, total), draw(st.integers(0, n - 1)))
                     for sym, w in zip((*alphabet, EOS), weights, strict=True) if w > 0})
    return alphabet, rows


@settings(max_examples=40, deadline=None)
@given(fsa=fsa_rows(), seed=st.integers(0, 2**16))
def test_general_automata_agree_with_the_dense_walk(fsa, seed):
    alphabet, rows = fsa
    labels = [f"s{i}" for i in range(len(rows))]
    arcs = {labels[i]: {a: (v[0] if a == EOS else (v[0], labels[v[1]])) for a, v in row.items()}
            for i, row in enumerate(rows)}
    exact = FiniteStateLM(alphabet, EOS, "s0", arcs)
    perm = np.random.default_rng(seed).permutation(sum(len(r) for r in rows))  # any arc order
    cols = [(i, (*alphabet, EOS).index(a), -1 if a == EOS else v[1], float(v[0]))
            for i, row in enumerate(rows) for a, v in row.items()]
    src, sym, dst, prob = (np.array([cols[k][c] for k in perm]) for c in range(4))
    fast = FiniteStateLM.from_arcs(alphabet, EOS, labels, "s0", src, sym, dst, prob.astype(float))
    for length in range(4):
        for y in itertools.product(alphabet, repeat=length):
            s, p = 0, Fraction(1)
            for a in y:
                if a not in rows[s]:
                    p = Fraction(0)
                    break
                p *= rows[s][a][0]
                s = rows[s][a][1]
            p *= rows[s].get(EOS, (Fraction(0),))[0] if p else 0
            assert exact.prob(y, dps=40) == pytest.approx(float(p), rel=1e-14, abs=0)
            assert fast.prob(y) == pytest.approx(float(p), rel=1e-14, abs=0)
    reach = {0}
    frontier = [0]
    while frontier:
        s = frontier.pop()
        for a, v in rows[s].items():
            if a != EOS and v[1] not in reach:
                reach.add(v[1])
                frontier.append(v[1])
    assert set(np.flatnonzero(exact.reachable).tolist()) == reach == set(np.flatnonzero(fast.reachable).tolist())
    ends = {s for s, row in enumerate(rows) if EOS in row}
    changed = True
    while changed:
        grown = ends | {s for s, row in enumerate(rows) if any(a != EOS and v[1] in ends for a, v in row.items())}
        changed, ends = grown != ends, grown
    for m in (exact, fast):
        assert set(np.flatnonzero(m.coaccessible).tolist()) == ends
        assert m.is_tight == (reach <= ends)
