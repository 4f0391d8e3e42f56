"""Deterministic probabilistic finite-state language models (the core of n-gram models).

A model has finitely many states, a start state s₀ and, at every state s, a distribution p(· | s) over Σ ∪ {eos};
reading an ordinary symbol a moves s to δ(s, a). The automaton is *deterministic*: every string y follows exactly
one path of states, so p(y) = Π_t p(y_t | s_{t-1}) · p(eos | s_{|y|}) is one product. That is what makes entropy,
varentropy and Σ_y p(y)^α sums over paths that linear algebra computes exactly (docs/theory.md#g). A non-deterministic
automaton would need a sum over paths and is deliberately not supported here.

>>> m = FiniteStateLM(["a", "b"], "</s>", start="q",
...                   arcs={"q": {"a": (0.25, "q"), "b": (0.25, "q"), "</s>": 0.5}})
>>> round(m.prob("a b"), 6)
0.03125
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from typicality.models.base import (
    DEFAULT_MAX_LENGTH,
    String,
    StringTooLongError,
    SymbolTable,
    check_max_length,
    check_rng,
)
from typicality.numerics import arithmetic, as_fraction, log_fractions, mp_log_fraction


@dataclass(frozen=True)
class SampleBatch:
    """Strings drawn in a batch: ``symbols[i, :lengths[i]]`` are the symbol indices of string i (−1 padding)."""

    model: FiniteStateLM
    symbols: np.ndarray | None
    lengths: np.ndarray
    log_probs: np.ndarray
    value_sums: np.ndarray | None

    def strings(self) -> list[String]:
        """The strings as tuples of symbols."""
        if self.symbols is None:
            raise ValueError("the batch was drawn with record=False")
        names = self.model.alphabet
        return [tuple(names[j] for j in row[:n]) for row, n in zip(self.symbols.tolist(), self.lengths.tolist(),
                                                                    strict=True)]


#: rows of every local distribution must sum to 1 within this tolerance (never renormalized). The tolerance admits
#: probabilities written as rounded decimals (1/3 as 0.333333333333); the model is then the numbers as written, and
#: the exact measures say when a row's deviation from 1 moves a result by more than its accuracy
#: (:class:`typicality.measures.RowSumWarning`, :class:`typicality.measures.RowSumError`).
ROW_SUM_TOLERANCE = 1e-9


def check_row(probs: Mapping[str, Fraction], *, where: str, tol: float = ROW_SUM_TOLERANCE) -> Fraction:
    """A local distribution: non-negative entries that sum to 1 within ``tol``; returns the exact sum."""
    for sym, p in probs.items():
        if p < 0:
            raise ValueError(f"{where}: probability of {sym!r} is negative ({float(p)!r})")
    total = sum(probs.values(), Fraction(0))
    if abs(total - 1) > Fraction(tol):
        raise ValueError(f"{where}: probabilities sum to {float(total)!r}, not 1 (tolerance {tol:g})")
    return total


class FloatFractions(Sequence[Fraction]):
    """Exact values of float64 probabilities, as Fractions made on access.

    A float is a dyadic rational, so ``Fraction(x)`` is exact; storing the floats (8 bytes an arc) instead of a
    Fraction object per arc (about 150 bytes) is what keeps a model built from float arrays O(arcs) and fast.
    """

    __slots__ = ("_values",)

    def __init__(self, values: np.ndarray) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [Fraction(x) for x in self._values[i].tolist()]
        return Fraction(float(self._values[i]))

    def __iter__(self) -> Iterator[Fraction]:
        return (Fraction(x) for x in self._values.tolist())


def fraction_sum(values: Sequence[Fraction]) -> Fraction:
    """Σ values exactly, over the common denominator (one normalization instead of one per addition)."""
    if not values:
        return Fraction(0)
    d = math.lcm(*(v.denominator for v in values))
    return Fraction(sum(v.numerator * (d // v.denominator) for v in values), d)


def exact_float_sum(values: np.ndarray) -> Fraction:
    """Σ values exactly (floats are dyadic rationals: one common power-of-two denominator, integer numerators)."""
    ratios = [x.as_integer_ratio() for x in values.tolist()]
    if not ratios:
        return Fraction(0)
    d = max(r[1] for r in ratios)
    return Fraction(sum(n * (d // k) for n, k in ratios), d)


class ExactRowSums(Sequence[Fraction]):
    """The exact sum of each state's row of float64 probabilities, computed on first access and cached."""

    def __init__(self, indptr: np.ndarray, probs: np.ndarray) -> None:
        self._indptr = indptr
        self._probs = probs
        self._cache: dict[int, Fraction] = {}

    def __len__(self) -> int:
        return len(self._indptr) - 1

    def __getitem__(self, s: Any) -> Any:
        if isinstance(s, slice):
            return [self[i] for i in range(*s.indices(len(self)))]
        s = operator.index(s)
        if s < 0:
            s += len(self)
        if not 0 <= s < len(self):
            raise IndexError(f"state index {s} out of range")
        out = self._cache.get(s)
        if out is None:
            out = self._cache[s] = exact_float_sum(self._probs[self._indptr[s]:self._indptr[s + 1]])
        return out


def _is_pair(value: Any) -> bool:
    """A (probability, next_state) pair: a sequence of length 2 that is not a string (tuples and lists first)."""
    if type(value) in (tuple, list):
        return len(value) == 2
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2


def _int_array(x: Any, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool or a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-d array of ints, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {a.shape}")
    if n is not None and len(a) != n:
        raise ValueError(f"{name} has {len(a)} entries, but src has {n}")
    return a.astype(np.int64, copy=False)


class FiniteStateLM(SymbolTable):
    """A deterministic probabilistic finite-state LM, stored as its arcs (memory O(states + arcs), not O(states·|Σ|)).

    Parameters
    ----------
    alphabet:
        Σ, the ordinary symbols.
    eos:
        Name of the end-of-string symbol.
    start:
        Label of the start state s₀.
    arcs:
        ``arcs[s][a] = (p, s')`` for an ordinary symbol a, and ``arcs[s][eos] = p``. Symbols missing from a row
        have probability 0. Probabilities may be floats, ints, Fractions, Decimals or decimal strings; they are
        stored exactly (a float at its binary value) so that mpmath runs see exactly what was written. Each row
        must sum to 1 within ``tol``: rows are never renormalized.
    tol:
        Tolerance of the row-sum check.

    Every state reachable from ``start`` must have a row; unreachable rows are validated too. For large models
    given as arrays of float64 probabilities, :meth:`from_arcs` builds the same model without per-arc Python work.

    Storage (the positive arcs, sorted by (state, symbol); symbol indices are those of ``symbols``, eos last):
    ``arc_src``, ``arc_sym``, ``arc_dst`` (−1 for eos arcs), ``arc_prob`` (exact Fractions), ``arc_prob64``,
    ``arc_logprob`` (accurate logs of the exact values); ``indptr`` (state s owns arcs ``indptr[s]:indptr[s+1]``);
    ``row_sum`` (exact row sums); ``eos_prob_exact`` (exact p(eos | s) per state). Dense rows are built on demand
    by :meth:`dense_rows`.
    """

    #: how errors name a state ("context" for n-gram models)
    _state_noun = "state"

    def __init__(
        self,
        alphabet: Sequence[str],
        eos: str,
        start: Hashable,
        arcs: Mapping[Hashable, Mapping[str, Any]],
        *,
        tol: float = ROW_SUM_TOLERANCE,
    ) -> None:
        self._init_symbols(alphabet, eos)
        if not isinstance(arcs, Mapping):
            raise TypeError(f"arcs must be a mapping state -> {{symbol: (prob, next_state)}}, got {type(arcs)}")
        if start not in arcs:
            raise ValueError(f"start {self._state_noun} {start!r} has no row in arcs")
        states: tuple[Hashable, ...] = tuple(arcs)
        index = {s: i for i, s in enumerate(states)}
        n = len(states)
        eos = self.eos_index
        src: list[int] = []
        sym: list[int] = []
        dst: list[int] = []
        values: list[Any] = []  # floats as given, every other number as an exact Fraction
        all_float = True
        for s, row in arcs.items():
            where = f"{self._state_noun} {s!r}"
            if not isinstance(row, Mapping):
                raise TypeError(f"{where}: row must be a mapping symbol -> probability, got {type(row).__name__}")
            i = index[s]
            for a, value in row.items():
                j = self._index.get(a)
                if j is None:
                    raise ValueError(f"{where}: unknown symbol {a!r}; the alphabet is {list(self.alphabet)}"
                                     f" and eos is {self.eos!r}")
                if j == eos:
                    raw, name = value, f"{where}: probability of eos {a!r}"
                else:
                    if not _is_pair(value):
                        raise TypeError(f"{where}: arc for {a!r} must be (probability, next_state), got {value!r}")
                    raw, name = value[0], f"{where}: probability of {a!r}"
                if isinstance(raw, float) and math.isfinite(raw):
                    p: Any = float(raw)
                    positive = p > 0
                else:
                    p = as_fraction(raw, name=name)
                    positive = p.numerator > 0
                    all_float = False
                if p < 0:
                    raise ValueError(f"{where}: probability of {a!r} is negative ({float(p)!r})")
                if positive:
                    t = -1
                    if j != eos:
                        t = index.get(value[1], -1)
                        if t < 0:
                            raise ValueError(f"{where}: arc {a!r} leads to the {self._state_noun} {value[1]!r}, "
                                             "which has no row")
                    src.append(i)
                    sym.append(j)
                    dst.append(t)
                    values.append(p)
        src_a = np.array(src, dtype=np.int64)
        sym_a = np.array(sym, dtype=np.int64)
        order = np.argsort(src_a * (eos + 1) + sym_a, kind="stable")
        src_a, sym_a, dst_a = src_a[order], sym_a[order], np.array(dst, dtype=np.int64)[order]
        start_index = index[start]
        if all_float:  # the exact values are those of the floats: validate and store them vectorized
            prob = np.array(values, dtype=np.float64)[order]
            self._check_float_rows(states, src_a, sym_a, prob, tol)
            self._store(states, start_index, src_a, sym_a, dst_a, prob, None, None, tol)
            return
        exact = [v if isinstance(v, Fraction) else Fraction(v) for v in (values[k] for k in order.tolist())]
        indptr = np.searchsorted(src_a, np.arange(n + 1)).tolist()
        limit = Fraction(tol)
        row_sum = []
        for i in range(n):
            total = fraction_sum(exact[indptr[i]:indptr[i + 1]])
            if abs(total - 1) > limit:
                raise ValueError(f"{self._state_noun} {states[i]!r}: probabilities sum to {float(total)!r}, not 1 "
                                 f"(tolerance {tol:g})")
            row_sum.append(total)
        self._store(states, start_index, src_a, sym_a, dst_a, np.array([float(p) for p in exact], dtype=np.float64),
                    exact, tuple(row_sum), tol)

    @classmethod
    def from_arcs(
        cls,
        alphabet: Sequence[str],
        eos: str,
        states: Sequence[Hashable],
        start: Hashable,
        src: np.ndarray,
        sym: np.ndarray,
        dst: np.ndarray,
        prob: np.ndarray,
        *,
        tol: float = ROW_SUM_TOLERANCE,
    ) -> FiniteStateLM:
        """The model with arcs given as columns: arc k goes from state ``src[k]`` reading symbol ``sym[k]`` to
        ``dst[k]`` with probability ``prob[k]`` (float64, taken at its exact binary value).

        ``states`` are the state labels (indices 0..n−1); ``sym[k]`` indexes ``symbols`` (``len(alphabet)`` is
        eos; ``dst`` of an eos arc is ignored). Arcs may come in any order; zero probabilities are dropped, a
        repeated (src, sym) pair is an error. Every row must sum to 1 within ``tol`` (checked in float64 with a
        rigorous rounding bound, exactly where that bound cannot decide). O(arcs log arcs) time, O(states + arcs)
        memory, no per-arc Python objects.

        >>> m = FiniteStateLM.from_arcs(["a"], "</s>", ["q"], "q", np.array([0, 0]), np.array([0, 1]),
        ...                             np.array([0, -1]), np.array([0.75, 0.25]))
        >>> m.prob("a a")
        0.140625
        """
        self = cls.__new__(cls)
        self._init_symbols(alphabet, eos)
        self._store_float_arcs(states, start, src, sym, dst, prob, tol)
        return self

    def _store_float_arcs(self, states: Sequence[Hashable], start: Hashable, src: Any, sym: Any, dst: Any,
                          prob: Any, tol: float) -> None:
        """Validate columnar float arcs and store them (the body of :meth:`from_arcs`)."""
        if isinstance(states, str) or not isinstance(states, Sequence):
            raise TypeError(f"states must be a sequence of state labels, got {type(states).__name__}")
        states = tuple(states)
        index = {s: i for i, s in enumerate(states)}
        if len(index) != len(states):
            raise ValueError(f"states must be distinct; {len(states) - len(index)} labels repeat")
        if start not in index:
            raise ValueError(f"start {self._state_noun} {start!r} is not among the states")
        if not (isinstance(tol, float | int) and not isinstance(tol, bool) and 0 <= tol < 1):
            raise ValueError(f"tol must be a number in [0, 1), got {tol!r}")
        src = _int_array(src, "src")
        m = len(src)
        sym = _int_array(sym, "sym", m)
        dst = _int_array(dst, "dst", m)
        p = np.asarray(prob)
        if p.dtype == bool or p.dtype.kind != "f":
            raise TypeError(f"prob must be a 1-d array of floats, got dtype {p.dtype}")
        if p.ndim != 1 or len(p) != m:
            raise ValueError(f"prob must be 1-d with one entry per arc ({m}), got shape {p.shape}")
        p = p.astype(np.float64, copy=False)
        n, V = len(states), self.eos_index + 1
        for name, a, hi in (("src", src, n), ("sym", sym, V)):
            bad = np.flatnonzero((a < 0) | (a >= hi))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] = {a[bad[0]]} is out of range [0, {hi})")
        eos = sym == self.eos_index
        bad = np.flatnonzero(~eos & (p > 0) & ((dst < 0) | (dst >= n)))
        if bad.size:
            k = bad[0]
            raise ValueError(f"dst[{k}] = {dst[k]} is out of range [0, {n}) (arc {self.symbols[sym[k]]!r} of "
                             f"{self._state_noun} {states[src[k]]!r})")
        bad = np.flatnonzero(~(p >= 0) | ~np.isfinite(p))
        if bad.size:
            k = bad[0]
            raise ValueError(f"{self._state_noun} {states[src[k]]!r}: probability of {self.symbols[sym[k]]!r} is "
                             f"{float(p[k])!r} (prob[{k}]); probabilities must be finite and >= 0")
        key = src * V + sym
        if m and not bool(np.all(key[1:] > key[:-1])):
            order = np.argsort(key, kind="stable")
            key, src, sym, dst, p, eos = key[order], src[order], sym[order], dst[order], p[order], eos[order]
            rep = np.flatnonzero(key[1:] == key[:-1])
            if rep.size:
                k = rep[0]
                raise ValueError(f"{self._state_noun} {states[src[k]]!r} has two arcs for the symbol "
                                 f"{self.symbols[sym[k]]!r}")
        dst = np.where(eos, -1, dst)
        self._check_float_rows(states, src, sym, p, tol)
        keep = p > 0
        if not bool(keep.all()):
            src, sym, dst, p = src[keep], sym[keep], dst[keep], p[keep]
        self._store(states, index[start], src, sym, dst, p, None, None, tol)

    def _check_float_rows(self, states: tuple, src: np.ndarray, sym: np.ndarray, p: np.ndarray, tol: float) -> None:
        """Every row sums to 1 within ``tol``, decided exactly.

        The float64 sum ŝ of k non-negative terms (summed in order) satisfies |ŝ − s| ≤ (k − 1)·u·s with
        u = 2⁻⁵³; rows where that bound leaves the comparison with ``tol`` open are summed exactly.
        """
        n = len(states)
        total = np.bincount(src, weights=p, minlength=n)
        count = np.bincount(src, minlength=n)
        bound = count * 2.0 ** -52 * total + 2.0 ** -1070
        dev = np.abs(total - 1)
        slack = bound + 2.0 ** -52 * np.maximum(dev, 1.0)
        unsure = np.flatnonzero(np.abs(dev - tol) <= slack)
        bad = dev > tol
        if unsure.size:
            indptr = np.searchsorted(src, np.arange(n + 1))
            limit = Fraction(tol)
            for s in unsure.tolist():
                bad[s] = abs(exact_float_sum(p[indptr[s]:indptr[s + 1]]) - 1) > limit
        wrong = np.flatnonzero(bad)
        if wrong.size:
            s = int(wrong[0])
            where = f"{self._state_noun} {states[s]!r}"
            if count[s] == 0:
                raise ValueError(f"{where}: the row is empty (no symbol has positive probability); every "
                                 f"{self._state_noun} needs a distribution summing to 1")
            raise ValueError(f"{where}: probabilities sum to {float(total[s])!r}, not 1 (tolerance {tol:g})")

    def _store(self, states: tuple, start_index: int, src: np.ndarray, sym: np.ndarray, dst: np.ndarray,
               prob64: np.ndarray, exact: Sequence[Fraction] | None, row_sum: Sequence[Fraction] | None,
               tol: float) -> None:
        """Store validated positive arcs, sorted by (src, sym); ``exact``/``row_sum`` None: from the floats."""
        self.states: tuple[Hashable, ...] = states
        self.start = states[start_index]
        self.start_index = int(start_index)
        self.row_tolerance = tol
        n, V = len(states), self.eos_index + 1
        self.arc_src = src
        self.arc_sym = sym
        self.arc_dst = dst
        #: state s owns the arcs indptr[s]:indptr[s+1]
        self.indptr = np.searchsorted(src, np.arange(n + 1)).astype(np.int64)
        self._arc_key = src * V + sym  # sorted: the (state, symbol) -> arc lookup
        self.arc_prob: Sequence[Fraction] = FloatFractions(prob64) if exact is None else exact
        # float64 values (0 or subnormal below float64's range) and accurate logs (exact below it and near 1)
        self.arc_prob64 = prob64
        self.arc_logprob = log_fractions(self.arc_prob, prob64)
        #: the exact sum of each state's row (1 up to the tolerance; the measures use the numbers as given)
        self.row_sum: Sequence[Fraction] = ExactRowSums(self.indptr, prob64) if row_sum is None else row_sum
        self.reachable = self._reachable()
        self.coaccessible = self._coaccessible()
        self._cumulative: np.ndarray | None = None

    # ----- structure -------------------------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_arcs(self) -> int:
        """Number of positive arcs (eos arcs included)."""
        return len(self.arc_src)

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-arc and per-state arrays (O(states + arcs))."""
        arrays = [self.arc_src, self.arc_sym, self.arc_dst, self.arc_prob64, self.arc_logprob, self.indptr,
                  self._arc_key, self.reachable, self.coaccessible]
        if self._cumulative is not None:
            arrays.append(self._cumulative)
        return int(sum(a.nbytes for a in arrays))

    @functools.cached_property
    def eos_prob_exact(self) -> list[Fraction]:
        """p(eos | s) for every state s, exactly (Fraction(0) where eos has probability 0)."""
        out = [Fraction(0)] * self.n_states
        for k in np.flatnonzero(self.arc_sym == self.eos_index).tolist():
            out[int(self.arc_src[k])] = self.arc_prob[k]
        return out

    def arc_index(self, states: Any, symbols: Any) -> np.ndarray:
        """Index of the arc (state, symbol) for arrays of state and symbol indices; −1 where p(symbol|state) = 0."""
        s = np.asarray(states, dtype=np.int64)
        j = np.asarray(symbols, dtype=np.int64)
        key = s * (self.eos_index + 1) + j
        k = np.searchsorted(self._arc_key, key)
        found = k < len(self._arc_key)
        found[found] = self._arc_key[k[found]] == key[found]
        return np.where(found, k, -1)

    def _arc(self, s: int, j: int) -> int:
        """Index of the arc (s, j), or −1."""
        key = s * (self.eos_index + 1) + j
        k = int(np.searchsorted(self._arc_key, key))
        return k if k < len(self._arc_key) and self._arc_key[k] == key else -1

    def _arcs_of(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``states``, arc index) of every arc leaving the given states."""
        lo = self.indptr[states]
        count = self.indptr[states + 1] - lo
        rows = np.repeat(np.arange(len(states)), count)
        first = np.cumsum(count) - count
        return rows, np.arange(int(count.sum())) - np.repeat(first - lo, count)

    def dense_rows(self, states: Any) -> np.ndarray:
        """p(· | s) over ``symbols`` for each state index in ``states``: a (len(states), |Σ|+1) float64 array.

        Memory O(len(states)·|Σ|): ask for blocks of states, not all of them, when |Σ| is large.
        """
        s = np.asarray(states, dtype=np.int64).reshape(-1)
        bad = np.flatnonzero((s < 0) | (s >= self.n_states))
        if bad.size:
            raise ValueError(f"states[{bad[0]}] = {s[bad[0]]} is not a state index in [0, {self.n_states})")
        out = np.zeros((len(s), (self.eos_index + 1)), dtype=np.float64)
        rows, arcs = self._arcs_of(s)
        out[rows, self.arc_sym[arcs]] = self.arc_prob64[arcs]
        return out

    def _reachable(self) -> np.ndarray:
        inner = self.arc_dst >= 0
        graph = csr_matrix((np.ones(int(inner.sum()), dtype=np.int32), (self.arc_src[inner], self.arc_dst[inner])),
                           shape=(self.n_states, self.n_states))
        seen = np.zeros(self.n_states, dtype=bool)
        seen[breadth_first_order(graph, self.start_index, directed=True, return_predecessors=False)] = True
        return seen

    def _coaccessible(self) -> np.ndarray:
        """States from which eos is reached with positive probability (exact: p(eos|s) = 1e-400 counts)."""
        n = self.n_states
        inner = self.arc_dst >= 0
        enders = self.arc_src[self.arc_sym == self.eos_index]
        # reversed arcs, plus a source node n with an arc to every state that can end
        rows = np.concatenate([self.arc_dst[inner], np.full(len(enders), n, dtype=np.int64)])
        cols = np.concatenate([self.arc_src[inner], enders])
        graph = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n + 1, n + 1))
        good = np.zeros(n + 1, dtype=bool)
        good[breadth_first_order(graph, n, directed=True, return_predecessors=False)] = True
        return good[:n]

    @property
    def is_tight(self) -> bool:
        """Tight (no mass on infinite strings) iff every reachable state can reach eos (decided exactly)."""
        return bool(np.all(self.coaccessible[self.reachable]))

    def state_after(self, prefix: Sequence[str] | str) -> int | None:
        """Index of the state reached by reading ``prefix``; None if the prefix has probability 0."""
        s = self.start_index
        for j in self._indices(prefix, name="prefix"):
            k = self._arc(s, j)
            if k < 0:  # probability exactly 0
                return None
            s = int(self.arc_dst[k])
        return s

    # ----- protocol --------------------------------------------------------------------------------------------
    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        """p(· | prefix) over ``symbols``; ValueError if the prefix has probability 0."""
        s = self.state_after(prefix)
        if s is None:
            raise ValueError(f"prefix {prefix!r} has probability 0, so p(· | prefix) is undefined")
        if dps is None:
            return self.dense_rows([s])[0]
        row = [Fraction(0)] * (self.eos_index + 1)
        for k in range(int(self.indptr[s]), int(self.indptr[s + 1])):
            row[int(self.arc_sym[k])] = self.arc_prob[k]
        with arithmetic(dps) as num:
            return num.array(row)

    def _path(self, y: Sequence[str] | str) -> list[int] | None:
        """Arc indices of y followed by eos; None when p(y) = 0."""
        s = self.start_index
        arcs = []
        for j in [*self._indices(y), self.eos_index]:
            k = self._arc(s, j)
            if k < 0:
                return None
            arcs.append(k)
            s = int(self.arc_dst[k])
        return arcs

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """log p(y) in nats (-inf when p(y) = 0), summed in log space from the exact probabilities (so a
        factor 1e-400 or 1 − 1e-20 keeps its digits)."""
        arcs = self._path(y)
        with arithmetic(dps) as num:
            if arcs is None:
                return num.to_output(num.scalar(float("-inf")))
            if dps is None:
                return float(math.fsum(self.arc_logprob[arcs].tolist()))
            return num.to_output(sum((mp_log_fraction(self.arc_prob[k]) for k in arcs), num.scalar(0)))

    def prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """p(y) as the product of its transition probabilities (exact products of exact inputs stay exact)."""
        arcs = self._path(y)
        with arithmetic(dps) as num:
            out = num.scalar(1)
            if arcs is None:
                return num.to_output(num.scalar(0))
            for k in arcs:
                out = out * num.scalar(self.arc_prob[k])
            return num.to_output(out)

    def _cumulative_arcs(self) -> np.ndarray:
        """Per-state cumulative sums of the arc probabilities for inversion sampling, +inf from the last arc with
        a positive float64 value on.

        Each state's sums are accumulated in symbol order, as ``np.cumsum`` of its dense row would (a zero entry
        adds nothing), so draws are those of inversion over the dense rows.
        """
        if self._cumulative is None:
            p = self.arc_prob64
            c = np.empty_like(p)
            count = np.diff(self.indptr)
            by_degree = np.argsort(count, kind="stable")  # states of equal degree are summed as one 2-d block
            degrees = count[by_degree]
            bounds = np.flatnonzero(np.diff(degrees)) + 1
            for group in np.split(by_degree, bounds):
                d = int(count[group[0]]) if group.size else 0
                if d:
                    idx = self.indptr[group][:, None] + np.arange(d)
                    c[idx] = np.cumsum(p[idx], axis=1)
            positions = np.where(p > 0, np.arange(len(p)), -1)
            last = np.full(self.n_states, -1, dtype=np.int64)
            np.maximum.at(last, self.arc_src, positions)
            c[np.arange(len(p)) >= last[self.arc_src]] = np.inf
            self._cumulative = c
        return self._cumulative

    def _draw_arcs(self, c: np.ndarray, states: np.ndarray, u: np.ndarray) -> np.ndarray:
        """For each (state, u): the first arc k of the state with c[k] > u (vectorized bisection; c ends in +inf)."""
        lo = self.indptr[states]
        hi = self.indptr[states + 1] - 1
        width = int((hi - lo).max(initial=0))
        for _ in range(width.bit_length()):
            mid = (lo + hi) >> 1
            right = c[mid] > u
            hi = np.where(right, mid, hi)
            lo = np.where(right, lo, mid + 1)
        return lo

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        """One string by ancestral sampling (inversion: the first symbol whose cumulative probability exceeds u)."""
        check_rng(rng)
        max_length = check_max_length(max_length)
        c = self._cumulative_arcs()
        s = self.start_index
        out: list[str] = []
        while True:
            lo, hi = int(self.indptr[s]), int(self.indptr[s + 1])
            k = lo + int(np.searchsorted(c[lo:hi], rng.random(), side="right"))
            j = int(self.arc_sym[k])
            if j == self.eos_index:
                return tuple(out)
            out.append(self.alphabet[j])
            if max_length is not None and len(out) > max_length:
                raise StringTooLongError(
                    f"no eos within max_length={max_length} symbols; the model may not be tight")
            s = int(self.arc_dst[k])

    def sample_log_probs(
        self, rng: np.random.Generator, n: int, *, max_length: int | None = DEFAULT_MAX_LENGTH,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities and lengths of ``n`` i.i.d. samples, drawn in vectorized batches.

        Equivalent in distribution to ``[log_prob(sample(rng)) ...]`` (not the same random stream), and much
        faster; used by the Monte Carlo estimators.
        """
        batch = self.sample_arrays(rng, n, max_length=max_length, record=False)
        return batch.log_probs, batch.lengths

    def sample_arrays(
        self, rng: np.random.Generator, n: int, *, max_length: int | None = DEFAULT_MAX_LENGTH,
        state_values: np.ndarray | None = None, record: bool = True, chunk: int = 1 << 16,
    ) -> SampleBatch:
        """``n`` i.i.d. strings as a padded array of symbol indices, with their log-probabilities and lengths.

        ``state_values`` (one number per state) is summed over the states in which each step is taken, the eos
        step included: with log Z_t(s) it gives the IMHA log-weight log w(y) = Σ_t log Z_t (Algorithm 1).
        Each step draws one uniform per live string and inverts the state's cumulative arc probabilities.
        """
        check_rng(rng)
        max_length = check_max_length(max_length)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        n = int(n)
        if state_values is not None:
            state_values = np.asarray(state_values, dtype=np.float64)
            if state_values.shape != (self.n_states,):
                raise ValueError(f"state_values must have one entry per state ({self.n_states}), got shape "
                                 f"{state_values.shape}")
        c = self._cumulative_arcs()
        logps = np.empty(n, dtype=np.float64)
        lengths = np.empty(n, dtype=np.int64)
        sums = np.zeros(n, dtype=np.float64) if state_values is not None else None
        pieces: list[np.ndarray] = []
        for lo in range(0, n, chunk):
            k = min(chunk, n - lo)
            state = np.full(k, self.start_index, dtype=np.int64)
            alive = np.arange(k)
            lp = np.zeros(k)
            ln = np.zeros(k, dtype=np.int64)
            symbols = np.full((k, 8), -1, dtype=np.int32) if record else None
            while alive.size:
                s = state[alive]
                arc = self._draw_arcs(c, s, rng.random(alive.size))
                j = self.arc_sym[arc]
                lp[alive] += self.arc_logprob[arc]
                if sums is not None:
                    sums[lo + alive] += state_values[s]
                done = j == self.eos_index
                going = alive[~done]
                if symbols is not None and going.size:
                    step = int(ln[going[0]])  # every live string has the same length
                    if step >= symbols.shape[1]:
                        symbols = np.concatenate([symbols, np.full_like(symbols, -1)], axis=1)
                    symbols[going, step] = j[~done]
                ln[going] += 1
                state[going] = self.arc_dst[arc[~done]]
                alive = going
                if max_length is not None and alive.size and ln[alive[0]] > max_length:
                    raise StringTooLongError(
                        f"no eos within max_length={max_length} symbols; the model may not be tight")
            logps[lo:lo + k] = lp
            lengths[lo:lo + k] = ln
            if symbols is not None:
                pieces.append(symbols)
        width = max((p.shape[1] for p in pieces), default=0)
        padded = np.full((n, width), -1, dtype=np.int32)
        row = 0
        for p in pieces:
            padded[row:row + p.shape[0], :p.shape[1]] = p
            row += p.shape[0]
        return SampleBatch(self, padded if record else None, lengths, logps, sums)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(|Σ|={len(self.alphabet)}, states={self.n_states}, "
                f"reachable={int(self.reachable.sum())}, tight={self.is_tight})")

    def to_dict(self) -> dict:
        """A JSON-ready description (``typicality.fsa/1``)."""
        arcs: dict[str, dict[str, Any]] = {str(s): {} for s in self.states}
        names = self.symbols
        for k, (s, j, t) in enumerate(zip(self.arc_src.tolist(), self.arc_sym.tolist(), self.arc_dst.tolist(),
                                          strict=True)):
            p = _number_out(self.arc_prob[k])
            arcs[str(self.states[s])][names[j]] = p if j == self.eos_index else [p, str(self.states[t])]
        return {"format": "typicality.fsa/1", "alphabet": list(self.alphabet), "eos": self.eos,
                "start": str(self.start), "arcs": arcs}

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def _number_out(p: Fraction) -> float:
    """The nearest float; a decimal written in the input (0.1) reads back exactly, because JSON numbers are
    parsed as decimals."""
    return float(p)
