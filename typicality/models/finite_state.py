"""Deterministic probabilistic finite-state language models (the core of n-gram models).

A model has finitely many states, a start state s₀ and, at every state s, a distribution p(· | s) over Σ ∪ {eos};
reading an ordinary symbol a moves s to δ(s, a). The automaton is *deterministic*: every string y follows exactly
one path of states, so p(y) = Π_t p(y_t | s_{t-1}) · p(eos | s_{|y|}) is one product. That is what makes entropy,
varentropy and Σ_y p(y)^α sums over paths that linear algebra computes exactly (math.md G). A non-deterministic
automaton would need a sum over paths and is deliberately not supported here.

>>> m = FiniteStateLM(["a", "b"], "</s>", start="q",
...                   arcs={"q": {"a": (0.25, "q"), "b": (0.25, "q"), "</s>": 0.5}})
>>> round(m.prob("a b"), 6)
0.03125
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

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


class FiniteStateLM(SymbolTable):
    """A deterministic probabilistic finite-state LM.

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

    Every state reachable from ``start`` must have a row; unreachable rows are validated too.
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
        self.states: tuple[Hashable, ...] = tuple(arcs)
        index = {s: i for i, s in enumerate(self.states)}
        V = len(self.symbols)
        n = len(self.states)
        self.start = start
        self.start_index = index[start]
        table = np.zeros((n, V), dtype=np.float64)
        dest = np.full((n, V), -1, dtype=np.int64)
        exact: dict[tuple[int, int], Fraction] = {}
        row_sum = [Fraction(1)] * n
        for s, row in arcs.items():
            where = f"{self._state_noun} {s!r}"
            if not isinstance(row, Mapping):
                raise TypeError(f"{where}: row must be a mapping symbol -> probability, got {type(row).__name__}")
            probs: dict[str, Fraction] = {}
            for sym, value in row.items():
                if sym not in self._index:
                    raise ValueError(f"{where}: unknown symbol {sym!r}; the alphabet is {list(self.alphabet)}"
                                     f" and eos is {self.eos!r}")
                j = self._index[sym]
                if j == self.eos_index:
                    p = as_fraction(value, name=f"{where}: probability of eos {sym!r}")
                else:
                    if not (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2):
                        raise TypeError(f"{where}: arc for {sym!r} must be (probability, next_state), got {value!r}")
                    p = as_fraction(value[0], name=f"{where}: probability of {sym!r}")
                    if p > 0:
                        if value[1] not in index:
                            raise ValueError(f"{where}: arc {sym!r} leads to the {self._state_noun} {value[1]!r}, "
                                             "which has no row")
                        dest[index[s], j] = index[value[1]]
                probs[sym] = p
                if p > 0:
                    exact[(index[s], j)] = p
                    table[index[s], j] = float(p)
            row_sum[index[s]] = check_row(probs, where=where, tol=tol)
        self.row_tolerance = tol
        self._table = table
        self._dest = dest
        self._exact = exact
        # positive arcs in COO form, sorted by (state, symbol); eos arcs have destination -1
        keys = sorted(exact)
        self.arc_src = np.array([k[0] for k in keys], dtype=np.int64)
        self.arc_sym = np.array([k[1] for k in keys], dtype=np.int64)
        self.arc_dst = dest[self.arc_src, self.arc_sym] if keys else np.zeros(0, dtype=np.int64)
        self.arc_prob = [exact[k] for k in keys]
        # float64 values (0 or subnormal below float64's range) and accurate logs (exact below it and near 1)
        self.arc_prob64 = np.array([float(p) for p in self.arc_prob], dtype=np.float64)
        self.arc_logprob = log_fractions(self.arc_prob, self.arc_prob64)
        self._arc_index = {k: i for i, k in enumerate(keys)}
        #: the exact sum of each state's row (1 up to the tolerance; the measures use the numbers as given)
        self.row_sum: tuple[Fraction, ...] = tuple(row_sum)
        self.reachable = self._reachable()
        self.coaccessible = self._coaccessible()
        self._cumulative: np.ndarray | None = None

    # ----- structure -------------------------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return len(self.states)

    def _reachable(self) -> np.ndarray:
        seen = np.zeros(self.n_states, dtype=bool)
        seen[self.start_index] = True
        queue = deque([self.start_index])
        while queue:
            s = queue.popleft()
            for t in self._dest[s][self._dest[s] >= 0]:
                if not seen[t]:
                    seen[t] = True
                    queue.append(int(t))
        return seen

    def _coaccessible(self) -> np.ndarray:
        """States from which eos is reached with positive probability."""
        preds: list[list[int]] = [[] for _ in range(self.n_states)]
        for s, t in zip(self.arc_src.tolist(), self.arc_dst.tolist(), strict=True):
            if t >= 0:
                preds[t].append(s)
        good = np.zeros(self.n_states, dtype=bool)
        good[self.arc_src[self.arc_sym == self.eos_index]] = True  # exact: p(eos|s) = 1e-400 counts
        queue = deque(np.flatnonzero(good).tolist())
        while queue:
            t = queue.popleft()
            for s in preds[t]:
                if not good[s]:
                    good[s] = True
                    queue.append(s)
        return good

    @property
    def is_tight(self) -> bool:
        """Tight (no mass on infinite strings) iff every reachable state can reach eos (decided exactly)."""
        return bool(np.all(self.coaccessible[self.reachable]))

    def state_after(self, prefix: Sequence[str] | str) -> int | None:
        """Index of the state reached by reading ``prefix``; None if the prefix has probability 0."""
        s = self.start_index
        for j in self._indices(prefix, name="prefix"):
            if self._dest[s, j] < 0:  # probability exactly 0 (a positive arc has a destination)
                return None
            s = int(self._dest[s, j])
        return s

    # ----- protocol --------------------------------------------------------------------------------------------
    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        """p(· | prefix) over ``symbols``; ValueError if the prefix has probability 0."""
        s = self.state_after(prefix)
        if s is None:
            raise ValueError(f"prefix {prefix!r} has probability 0, so p(· | prefix) is undefined")
        if dps is None:
            return self._table[s].copy()
        with arithmetic(dps) as num:
            return num.array([self._exact.get((s, j), Fraction(0)) for j in range(len(self.symbols))])

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """log p(y) in nats (-inf when p(y) = 0), summed in log space from the exact probabilities (so a
        factor 1e-400 or 1 − 1e-20 keeps its digits)."""
        idx = self._indices(y)
        with arithmetic(dps) as num:
            s = self.start_index
            arcs = []
            for j in [*idx, self.eos_index]:
                k = self._arc_index.get((s, j))
                if k is None:
                    return num.to_output(num.scalar(float("-inf")))
                arcs.append(k)
                s = int(self._dest[s, j])
            if dps is None:
                return float(math.fsum(self.arc_logprob[arcs].tolist()))
            return num.to_output(sum((mp_log_fraction(self.arc_prob[k]) for k in arcs), num.scalar(0)))

    def prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """p(y) as the product of its transition probabilities (exact products of exact inputs stay exact)."""
        idx = self._indices(y)
        with arithmetic(dps) as num:
            s = self.start_index
            out = num.scalar(1)
            for j in [*idx, self.eos_index]:
                p = self._exact.get((s, j))
                if p is None:
                    return num.to_output(num.scalar(0))
                out = out * num.scalar(p)
                s = int(self._dest[s, j])
            return num.to_output(out)

    def _cumulative_table(self) -> np.ndarray:
        """Per-state cumulative sums for inversion sampling; +inf from the last positive symbol on."""
        if self._cumulative is None:
            c = np.cumsum(self._table, axis=1)
            for s in range(self.n_states):
                nz = np.flatnonzero(self._table[s])
                if nz.size:
                    c[s, nz[-1]:] = np.inf
            self._cumulative = c
        return self._cumulative

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        """One string by ancestral sampling."""
        check_rng(rng)
        max_length = check_max_length(max_length)
        c = self._cumulative_table()
        s = self.start_index
        out: list[str] = []
        while True:
            j = int(np.searchsorted(c[s], rng.random(), side="right"))
            if j == self.eos_index:
                return tuple(out)
            out.append(self.alphabet[j])
            if max_length is not None and len(out) > max_length:
                raise StringTooLongError(
                    f"no eos within max_length={max_length} symbols; the model may not be tight")
            s = int(self._dest[s, j])

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
        """
        check_rng(rng)
        max_length = check_max_length(max_length)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        n = int(n)
        c = self._cumulative_table()
        logt = np.log(np.where(self._table > 0, self._table, 1.0))
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
                u = rng.random(alive.size)
                j = (u[:, None] >= c[s]).sum(axis=1)
                lp[alive] += logt[s, j]
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
                state[going] = self._dest[s[~done], j[~done]]
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
        arcs: dict[str, dict[str, Any]] = {}
        for s in range(self.n_states):
            row: dict[str, Any] = {}
            for j in np.flatnonzero(self._table[s]).tolist():
                p = _number_out(self._exact[(s, j)])
                row[self.symbols[j]] = p if j == self.eos_index else [p, str(self.states[self._dest[s, j]])]
            arcs[str(self.states[s])] = row
        return {"format": "typicality.fsa/1", "alphabet": list(self.alphabet), "eos": self.eos,
                "start": str(self.start), "arcs": arcs}

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def _number_out(p: Fraction) -> float:
    """The nearest float; a decimal written in the input (0.1) reads back exactly, because JSON numbers are
    parsed as decimals."""
    return float(p)
