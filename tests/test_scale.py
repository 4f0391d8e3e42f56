"""The solvers at scale (issue 10, item 5): sparse float64 systems (GMRES with refinement, Perron roots by sparse
power iteration) and certified high precision by mixed-precision iterative refinement, each against an
independent reference — closed forms (a bigram whose rows are all one distribution, permuted: its measures are
those of a unigram), dense linear algebra from the definitions, determinants in mpmath (tests/reference.py).
The models are moderate (each test a few seconds); the sizes of the targets are in
experiments/benchmarks/bench_scale.py."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from tests.reference import EOS, linear_reference, spectral_reference, successor, unigram_closed_forms
from typicality import measures as M
from typicality.measures import finite_state as fs
from typicality.models import NGramLM
from typicality.numerics import DENSE_LIMIT, SparseResolventSolver, gmres

ROW = [Fraction(k, 64) for k in (20, 13, 9, 7, 5, 3)]  # six symbols; with eos the row sums to 1 exactly
ROW_EOS = Fraction(7, 64)


def permuted_bigram(vocab: int, seed: int) -> tuple[NGramLM, dict]:
    """Every context's row is ROW over random distinct successors: p(y) depends only on the symbols' ranks, so
    every measure is that of the unigram with probabilities ROW and eos ROW_EOS."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocab)]
    contexts = {}
    for ctx in ["", *words]:
        nxt = rng.choice(vocab, size=len(ROW), replace=False)
        row = {words[j]: p for j, p in zip(nxt.tolist(), ROW, strict=True)}
        row[EOS] = ROW_EOS
        contexts[ctx] = row
    return NGramLM(2, EOS, contexts, alphabet=words), contexts


def random_bigram(vocab: int, successors: int, seed: int, eos_weight: int = 1) -> tuple[NGramLM, dict]:
    """Random exact rows: integer weights over random distinct successors and eos."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocab)]
    contexts = {}
    for ctx in ["", *words]:
        nxt = rng.choice(vocab, size=successors, replace=False)
        k = rng.integers(1, 50, size=successors + 1)
        k[-1] *= eos_weight
        total = int(k.sum())
        row = {words[j]: Fraction(int(x), total) for j, x in zip(nxt.tolist(), k[:-1].tolist(), strict=True)}
        row[EOS] = Fraction(int(k[-1]), total)
        contexts[ctx] = row
    return NGramLM(2, EOS, contexts, alphabet=words), contexts


def close(value, ref, rel) -> bool:
    if ref == mpmath.inf:
        return value == math.inf
    with mpmath.workdps(80):
        return abs(mpmath.mpf(value) - ref) <= rel * abs(ref)


def test_gmres_solves_a_nonsymmetric_m_matrix():
    rng = np.random.default_rng(1)
    n = 300
    A = np.eye(n) - rng.random((n, n)) * (0.9 / n)
    b = rng.random(n)
    x, ok = gmres(lambda v: A @ v, b, rtol=1e-13)
    assert ok and np.abs(A @ x - b).max() <= 1e-12


def test_sparse_float64_matches_the_closed_forms():
    """n = 2,001 > DENSE_LIMIT: the sparse (Krylov) systems, sparse Perron roots and the Rényi decisions."""
    model, _ = permuted_bigram(2000, 0)
    assert model.n_states > DENSE_LIMIT
    ref = unigram_closed_forms(ROW, ROW_EOS, ("0.5", "2", "3"), dps=40)
    r = M.measures(model, ["0.5", "2", "3"])
    assert "certified" not in r.accuracy  # float64 within the contract, nothing escalated
    for key in ("entropy", "varentropy", "expected_length", "length_tail_rate"):
        assert close(getattr(r, key), ref[key], 1e-10), key
    for a in ("0.5", "2", "3"):
        assert close(r.renyi[a], ref[f"renyi[{a}]"], 1e-10), a
    assert close(r.renyi_finite_above, ref["alpha0"], 1e-10)
    assert r.mass == 1.0


def test_sparse_float64_matches_a_dense_solve_from_the_definitions():
    """A random bigram above the dense limit against dense float64 LU on I − T built from the spec (an M-matrix
    with row sums ≤ 1 − 1/50 off the diagonal: condition number ≤ ~100, so the reference is good to ~1e-13);
    varentropy as E[I²] − H² by a second solve (not the library's total-variance recursion)."""
    model, contexts = random_bigram(1600, 8, 3)
    n = model.n_states
    assert n > DENSE_LIMIT
    names = ["", *[f"w{i}" for i in range(1600)]]
    idx = {c: i for i, c in enumerate(names)}
    I_T, c, r, b2_parts = np.eye(n), np.zeros(n), np.zeros(n), []
    for ctx, row in contexts.items():
        i = idx[ctx]
        for a, p in row.items():
            pf = float(p)
            c[i] -= pf * math.log(pf)
            if a != EOS:
                j = idx[successor(2, ctx, a)]
                I_T[i, j] -= pf
                r[i] += pf
                b2_parts.append((i, j, pf))
            else:
                b2_parts.append((i, -1, pf))
    h = np.linalg.solve(I_T, c)
    b2 = np.zeros(n)
    for i, j, pf in b2_parts:
        lp = math.log(pf)
        b2[i] += pf * (lp * lp - (2 * lp * h[j] if j >= 0 else 0.0))
    second = np.linalg.solve(I_T, b2)
    assert M.entropy(model) == pytest.approx(h[0], rel=1e-11)
    assert M.expected_length(model) == pytest.approx(np.linalg.solve(I_T, r)[0], rel=1e-11)
    assert M.varentropy(model) == pytest.approx(second[0] - h[0] ** 2, rel=1e-9)


def test_standalone_measures_share_one_solver():
    """entropy, then varentropy, then expected length: one float64 system (one factorization or Krylov setup)."""
    model, _ = random_bigram(1600, 6, 4)
    M.entropy(model)
    P = fs.prepare(model)
    system = P._cache["solves"][("T64",)].sys
    assert isinstance(system._lu, SparseResolventSolver)
    M.varentropy(model)
    M.expected_length(model)
    assert P._cache["solves"][("T64",)].sys is system


@pytest.mark.parametrize("dps", [30, 50])
def test_refinement_beyond_the_dense_limit_matches_the_closed_forms(dps):
    """n = 451 > ARB_DENSE_LIMIT: only the sparse certified path can answer (the dense one is refused there)."""
    model, _ = permuted_bigram(450, 1)
    assert model.n_states > fs.ARB_DENSE_LIMIT
    ref = unigram_closed_forms(ROW, ROW_EOS, ("0.5", "2"), dps=dps + 20)
    rel = mpmath.mpf(10) ** -(dps - 1)
    r = M.measures(model, ["0.5", "2"], dps=dps)
    assert not r.undefined
    for key in ("entropy", "varentropy", "expected_length", "length_tail_rate"):
        assert close(getattr(r, key), ref[key], rel), key
    for a in ("0.5", "2"):
        assert close(r.renyi[a], ref[f"renyi[{a}]"], rel), a
    assert close(r.renyi_finite_above, ref["alpha0"], rel)
    assert all("refined" in how or "sparse" in how or "divergence" in how for how in r.accuracy["certified"].values())


@pytest.mark.parametrize("dps", [30, 50])
def test_refinement_matches_dense_mpmath_references(dps):
    """A random bigram (non-constant right-hand sides and Perron vectors) against dense mpmath at dps + 30 digits
    (linear_reference: varentropy by E[I²] − H²) and determinant roots for ρ(T) and α₀ (spectral_reference)."""
    model, contexts = random_bigram(16, 4, 2, eos_weight=4)
    ref = linear_reference(2, contexts, ("2", "3/2"), dps=dps + 20)
    ref.update(spectral_reference(2, contexts, dps=dps + 20))
    rel = mpmath.mpf(10) ** -(dps - 1)
    P = fs.prepare(model)
    prec = fs._digits_target(dps)[2]
    refined = fs._TRefined(P, prec)  # the sparse path itself, not the dense fallback
    assert refined.ok
    with mpmath.workdps(dps + 20):  # arb_to_mpf rounds to the current mpmath precision
        for key in ("entropy", "expected_length", "varentropy"):
            assert close(fs.arb_to_mpf(refined.get(key)), ref[key], rel), key
    for key, fn in (("entropy", M.entropy), ("varentropy", M.varentropy), ("expected_length", M.expected_length),
                    ("length_tail_rate", M.length_tail_rate)):
        assert close(fn(model, dps=dps), ref[key], rel), key
    for a in ("2", "3/2"):
        assert close(M.renyi_entropy(model, a, dps=dps), ref[f"renyi[{a}]"], rel), a
    assert close(M.renyi_threshold(model, dps=dps), ref["alpha0"], rel)


def test_refined_enclosures_contain_the_reference():
    """The balls themselves (not only their midpoints) contain the exact value: radius is an error bound."""
    model, contexts = random_bigram(25, 4, 5, eos_weight=3)
    ref = linear_reference(2, contexts, (), dps=120)
    P = fs.prepare(model)
    refined = fs._TRefined(P, 300)
    with mpmath.workdps(120):
        for key in ("entropy", "expected_length", "varentropy"):
            ball = refined.get(key)
            mid, rad = fs.arb_to_mpf(ball), fs.arb_to_mpf(ball.rad())
            assert abs(mid - ref[key]) <= rad, key
            assert rad <= mpmath.mpf(2) ** -250 * abs(ref[key]), key


def test_ill_conditioned_float64_escalates_by_refinement():
    """A loop with p(eos) = 1e-16 (û ~ 1e16: the float64 certificate is lost in rounding, the ball one holds): the
    float64 results miss the contract, and refinement with the certificate checked in balls gives them, against
    dense mpmath at 80 digits."""
    model, contexts = random_bigram(40, 5, 6)
    contexts["w0"] = {"w0": 1 - Fraction(1, 10**16), EOS: Fraction(1, 10**16)}
    model = NGramLM(2, EOS, contexts, alphabet=[f"w{i}" for i in range(40)])
    ref = linear_reference(2, contexts, (), dps=80)
    r = M.measures(model, [])
    assert not r.undefined
    P = fs.prepare(model)
    assert not fs._t_float(P).sys.certified and fs._t_float(P).sys.refinable
    for key in ("entropy", "varentropy", "expected_length"):
        assert close(getattr(r, key), ref[key], 1e-10), key
        assert key in r.accuracy["certified"], key
        # refinement alone (dense limit 0), as on a model beyond the dense limit
        ball = fs._t_certified(P, key, 1e-12, 1e-300, fs.START_PREC, dense=0)
        with mpmath.workdps(40):
            assert close(fs.arb_to_mpf(ball), ref[key], 1e-11), key


def test_nearly_singular_sparse_systems(monkeypatch):
    """p(eos) = 2⁻²⁰ in every context: ρ(T) = 1 − 2⁻²⁰ and E|Y| = 2²⁰ − 1 exactly (the length is geometric
    whatever the symbols), κ(I − T) ~ 10⁶; GMRES stops on its backward error, and the results are certified
    (escalated by refinement where float64's bound misses). Entropy against dense LU from the spec (its error
    ~κ·u ~ 1e-10)."""
    rng = np.random.default_rng(8)
    vocab, k = 1600, 6
    e = Fraction(1, 2**20)
    words = [f"w{i}" for i in range(vocab)]
    contexts = {}
    for ctx in ["", *words]:
        nxt = rng.choice(vocab, size=k, replace=False)
        w = rng.integers(1, 50, size=k)
        total = int(w.sum())
        row = {words[j]: Fraction(int(x), total) * (1 - e) for j, x in zip(nxt.tolist(), w.tolist(), strict=True)}
        row[EOS] = e
        contexts[ctx] = row
    model = NGramLM(2, EOS, contexts, alphabet=words)
    assert model.n_states > DENSE_LIMIT
    monkeypatch.setattr(SparseResolventSolver, "LU_LIMIT", 0)  # GMRES alone, as on a model of 10⁵ states
    r = M.measures(model, [])
    assert not r.undefined
    assert fs.prepare(model)._cache["solves"][("T64",)].sys._lu.stats["factorizations"] == 0
    assert close(r.expected_length, mpmath.mpf(2**20 - 1), 1e-10)
    assert close(r.length_tail_rate, 1 - mpmath.mpf(2) ** -20, 1e-10)
    names = ["", *words]
    idx = {c: i for i, c in enumerate(names)}
    I_T, c = np.eye(len(names)), np.zeros(len(names))
    for ctx, row in contexts.items():
        for a, p in row.items():
            c[idx[ctx]] -= float(p) * math.log(float(p))
            if a != EOS:
                I_T[idx[ctx], idx[a]] -= float(p)
    assert r.entropy == pytest.approx(np.linalg.solve(I_T, c)[0], rel=1e-8)


def test_ball_operator_is_the_sparse_product():
    """O x by arcs (rows in any order, empty rows, repeated arcs) against the dense product, exactly in balls."""
    import flint

    rng = np.random.default_rng(9)
    for n, arcs in ((1, 0), (1, 3), (7, 12), (30, 40), (30, 200)):
        rows, cols = rng.integers(0, n, arcs), rng.integers(0, n, arcs)
        rows[(rows == n // 2) | (rows == n - 1)] = 0  # empty rows in the middle and at the end
        w = rng.integers(1, 9, arcs)
        x = rng.integers(-5, 6, n)
        op = fs._BallOperator(n, rows, cols, np.array([flint.arb(int(v)) for v in w], dtype=object), None)
        got = op.off(np.array([flint.arb(int(v)) for v in x], dtype=object))
        dense = np.zeros((n, n), dtype=np.int64)
        np.add.at(dense, (rows, cols), w)
        assert [int(g.mid().man_exp()[0]) * 2 ** int(g.mid().man_exp()[1]) for g in got] == (dense @ x).tolist()
