"""n-gram language models of any order, and their JSON format ``typicality.ngram/1``.

An n-gram LM predicts each symbol from the last n−1 symbols (fewer at the start of a string). It is a
deterministic finite-state LM whose states are those contexts, so every exact measure of
:mod:`typicality.measures` applies.

JSON format (numbers are read as exact decimals)::

    {"format": "typicality.ngram/1", "order": 2, "eos": "</s>",
     "alphabet": ["a", "b"],                     # optional; default: symbols seen in the rows
     "contexts": {"":  {"a": 0.5, "b": 0.5},
                  "a": {"b": 1.0},
                  "b": {"a": 0.5, "</s>": 0.5}}}

``<ctx>`` is the last n−1 symbols joined by one space, shorter at the start of a string (``""`` is the empty
prefix). Every context reachable from ``""`` must be present; each row must sum to 1 within 1e-9.

>>> m = NGramLM.from_json('{"format": "typicality.ngram/1", "order": 1, "eos": "</s>",'
...                       ' "contexts": {"": {"a": 0.25, "b": 0.25, "</s>": 0.5}}}')
>>> m.prob("a")
0.125
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Container, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import read_text
from typicality.models.base import check_symbol_names
from typicality.models.finite_state import ROW_SUM_TOLERANCE, FiniteStateLM
from typicality.numerics import as_fraction

FORMAT = "typicality.ngram/1"


class NGramLM(FiniteStateLM):
    """An n-gram LM (order n ≥ 1) as a deterministic finite-state LM over its contexts.

    Parameters
    ----------
    order:
        n; contexts hold at most n−1 symbols.
    eos:
        The end-of-string symbol; it may not occur in a context or in ``alphabet``.
    contexts:
        ``{ctx: {symbol: prob}}`` as in the JSON format.
    alphabet:
        Σ. Default: the ordinary symbols that occur in the rows, in order of first occurrence.
    """

    _state_noun = "context"

    def __init__(
        self,
        order: int,
        eos: str,
        contexts: Mapping[str, Mapping[str, Any]],
        *,
        alphabet: Sequence[str] | None = None,
        tol: float = ROW_SUM_TOLERANCE,
    ) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an int >= 1, got {order!r}")
        if not isinstance(contexts, Mapping) or not contexts:
            raise ValueError("contexts must be a non-empty mapping context -> {symbol: probability}")
        if "" not in contexts:
            raise ValueError('contexts must contain the empty context "" (the start of every string)')
        if alphabet is None:
            seen: dict[str, None] = {}
            for row in contexts.values():
                if isinstance(row, Mapping):
                    for sym in row:
                        if sym != eos:
                            seen.setdefault(sym, None)
            alphabet = list(seen)
        alphabet = check_symbol_names(alphabet, eos)
        known = set(alphabet)
        self.order = order
        parsed: dict[str, tuple[str, ...]] = {}
        for ctx in contexts:
            parsed[ctx] = _parse_context(ctx, order, eos, known, alphabet)

        def successor(syms: tuple[str, ...], a: str) -> str:
            return " ".join((*syms, a)[max(0, len(syms) + 1 - (order - 1)):]) if order > 1 else ""

        # Reachability first, so that a missing context is reported by name.
        seen_ctx = {""}
        queue = deque([""])
        while queue:
            ctx = queue.popleft()
            row = contexts[ctx]
            if not isinstance(row, Mapping):
                raise TypeError(f"context {ctx!r}: row must be a mapping symbol -> probability")
            for sym, value in row.items():
                if sym == eos or sym not in known:
                    continue  # unknown symbols are reported by FiniteStateLM with the context named
                if (value > 0 if isinstance(value, float) else
                        as_fraction(value, name=f"context {ctx!r}: probability of {sym!r}") > 0):
                    nxt = successor(parsed[ctx], sym)
                    if nxt not in contexts:
                        raise ValueError(f"context {nxt!r} is reachable from the start (after context {ctx!r} "
                                         f"and symbol {sym!r}) but missing from contexts")
                    if nxt not in seen_ctx:
                        seen_ctx.add(nxt)
                        queue.append(nxt)
        arcs: dict[str, dict[str, Any]] = {}
        for ctx, row in contexts.items():
            if not isinstance(row, Mapping):
                raise TypeError(f"context {ctx!r}: row must be a mapping symbol -> probability")
            out: dict[str, Any] = {}
            for sym, value in row.items():
                if sym == eos or sym not in known:
                    out[sym] = value
                else:
                    nxt = successor(parsed[ctx], sym)
                    out[sym] = (value, nxt if nxt in contexts else ctx)  # unreachable rows may point nowhere
            arcs[ctx] = out
        super().__init__(alphabet, eos, "", arcs, tol=tol)
        self._contexts: dict[str, dict[str, Any]] | None = {ctx: dict(row) for ctx, row in contexts.items()}

    @classmethod
    def from_arrays(
        cls,
        order: int,
        eos: str,
        alphabet: Sequence[str],
        contexts: Sequence[str],
        src: np.ndarray,
        sym: np.ndarray,
        prob: np.ndarray,
        *,
        tol: float = ROW_SUM_TOLERANCE,
    ) -> NGramLM:
        """The n-gram model with rows given as columns: p(alphabet[sym[k]] | contexts[src[k]]) = prob[k].

        ``sym[k] == len(alphabet)`` stands for eos; ``prob`` is float64 (taken at its exact binary value). The
        next context of each arc is found by arithmetic on the context's symbol indices (no per-arc Python work
        when (|Σ|+1)^(n−1) < 2⁶²), so a model with millions of arcs builds in seconds, in O(contexts + arcs)
        memory. Validation is that of the mapping constructor: contexts as in the JSON format, every context
        reachable from ``""`` present, every row non-negative and summing to 1 within ``tol``.

        >>> m = NGramLM.from_arrays(2, "</s>", ["a"], ["", "a"], np.array([0, 1, 1]), np.array([0, 0, 1]),
        ...                         np.array([1.0, 0.5, 0.5]))
        >>> m.prob("a a")
        0.25
        """
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an int >= 1, got {order!r}")
        if isinstance(alphabet, str) or not isinstance(alphabet, Sequence):
            raise TypeError(f"alphabet must be a sequence of symbol names, got {type(alphabet).__name__}")
        alphabet = check_symbol_names(alphabet, eos)
        if isinstance(contexts, str) or not isinstance(contexts, Sequence):
            raise TypeError(f"contexts must be a sequence of context strings, got {type(contexts).__name__}")
        contexts = tuple(contexts)
        if "" not in contexts:
            raise ValueError('contexts must contain the empty context "" (the start of every string)')
        V = len(alphabet)
        index = {a: i for i, a in enumerate(alphabet)}
        parsed = [_parse_context(ctx, order, eos, index, alphabet) for ctx in contexts]
        if len(set(contexts)) != len(contexts):
            raise ValueError(f"contexts must be distinct; {len(contexts) - len(set(contexts))} repeat")
        self = cls.__new__(cls)
        self.order = order
        self._contexts = None
        self._init_symbols(alphabet, eos)
        src_a = np.asarray(src)
        sym_a = np.asarray(sym)
        # src, sym and prob are validated by _store_float_arcs; the successors need valid indices first
        for name, a, hi in (("src", src_a, len(contexts)), ("sym", sym_a, V + 1)):
            if a.dtype == bool or a.dtype.kind not in "iu" or a.ndim != 1:
                raise TypeError(f"{name} must be a 1-d array of ints, got dtype {a.dtype} and shape {a.shape}")
            bad = np.flatnonzero((a < 0) | (a >= hi))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] = {a[bad[0]]} is out of range [0, {hi})")
        if len(sym_a) != len(src_a):
            raise ValueError(f"sym has {len(sym_a)} entries, but src has {len(src_a)}")
        src_a = src_a.astype(np.int64, copy=False)
        sym_a = sym_a.astype(np.int64, copy=False)
        dst = _successors(order, V, [tuple(index[a] for a in c) for c in parsed], src_a, sym_a)
        missing = dst < 0
        dst = np.where(missing, src_a, dst)  # unreachable rows may point nowhere
        self._store_float_arcs(contexts, "", src_a, sym_a, dst, prob, tol)
        p = np.asarray(prob)
        hole = np.flatnonzero(missing & (sym_a != V) & (p > 0))
        hole = hole[self.reachable[src_a[hole]]]
        if hole.size:
            k = int(hole[0])
            ctx, a = contexts[src_a[k]], alphabet[sym_a[k]]
            nxt = " ".join((*parsed[src_a[k]], a)[max(0, len(parsed[src_a[k]]) + 1 - (order - 1)):])
            raise ValueError(f"context {nxt!r} is reachable from the start (after context {ctx!r} and symbol "
                             f"{a!r}) but missing from contexts")
        return self

    @property
    def contexts(self) -> dict[str, dict[str, Any]]:
        """``{ctx: {symbol: probability}}`` as given (built from the arcs for a model made by :meth:`from_arrays`)."""
        if self._contexts is None:
            rows: dict[str, dict[str, Any]] = {str(c): {} for c in self.states}
            names = self.symbols
            for s, j, p in zip(self.arc_src.tolist(), self.arc_sym.tolist(), self.arc_prob64.tolist(), strict=True):
                rows[self.states[s]][names[j]] = p
            self._contexts = rows
        return self._contexts

    # ----- JSON ------------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NGramLM:
        if not isinstance(data, Mapping):
            raise ValueError(f"an n-gram model must be a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(f"format must be {FORMAT!r}, got {data.get('format')!r}")
        unknown = set(data) - {"format", "order", "eos", "contexts", "alphabet"}
        if unknown:
            raise ValueError(f"unknown keys in the model: {sorted(unknown)}")
        for key in ("order", "eos", "contexts"):
            if key not in data:
                raise ValueError(f"the model lacks the key {key!r}")
        return cls(data["order"], data["eos"], data["contexts"], alphabet=data.get("alphabet"))

    @classmethod
    def from_json(cls, text: str) -> NGramLM:
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NGramLM:
        """Read a ``typicality.ngram/1`` file."""
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"model file not found: {p}")
        text = read_text(p, "model file")
        try:
            return cls.from_json(text)
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None

    def to_dict(self) -> dict:
        """A JSON-ready description (``typicality.ngram/1``)."""
        contexts = {ctx: {sym: float(as_fraction(v, name="probability")) for sym, v in row.items()}
                    for ctx, row in self.contexts.items()}
        return {"format": FORMAT, "order": self.order, "eos": self.eos, "alphabet": list(self.alphabet),
                "contexts": contexts}

    def save(self, path: str | os.PathLike) -> None:
        """Write the model as ``typicality.ngram/1`` JSON (atomically: a temporary file, then a rename)."""
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(self.dumps() + "\n", encoding="utf-8")
        os.replace(tmp, p)

    def __repr__(self) -> str:
        return (f"NGramLM(order={self.order}, |Σ|={len(self.alphabet)}, contexts={self.n_states}, "
                f"tight={self.is_tight})")


def _parse_context(ctx: Any, order: int, eos: str, known: Container[str], alphabet: Sequence[str]) -> tuple:
    """The symbols of a context string, validated as in the JSON format."""
    if not isinstance(ctx, str):
        raise TypeError(f"context keys must be str, got {ctx!r}")
    syms = tuple(ctx.split(" ")) if ctx else ()
    if " ".join(syms) != ctx or any(not a for a in syms):
        raise ValueError(f"context {ctx!r}: symbols must be joined by exactly one space")
    if len(syms) > order - 1:
        raise ValueError(f"context {ctx!r} has {len(syms)} symbols; an order-{order} model uses at most {order - 1}")
    for a in syms:
        if a == eos:
            raise ValueError(f"context {ctx!r} contains eos {eos!r}, which ends a string")
        if a not in known:
            raise ValueError(f"context {ctx!r} contains the unknown symbol {a!r}; the alphabet is {list(alphabet)}")
    return syms


def _successors(order: int, V: int, ids: Sequence[tuple[int, ...]], src: np.ndarray, sym: np.ndarray, *,
                key_limit: int = 2 ** 62) -> np.ndarray:
    """Index of the context after reading sym[k] in context src[k] (its last n−1 symbols); −1 where that context
    is not listed, and for eos arcs. ``ids`` are the contexts as tuples of symbol indices.

    A context (c₁, …, c_k) is the integer Σ_i (c_i + 1)·B^(k−i), B = |Σ| + 1 (0 is the empty context); reading
    a gives (key mod B^(n−2))·B + a + 1, which drops the oldest symbol of a full context.
    """
    B = V + 1
    eos = sym == V
    if B ** (order - 1) >= key_limit:  # keys would overflow int64: look the tuples up one by one
        lookup = {c: i for i, c in enumerate(ids)}
        return np.array([-1 if e else lookup.get((*ids[s], a)[max(0, len(ids[s]) + 1 - (order - 1)):], -1)
                         for s, a, e in zip(src.tolist(), sym.tolist(), eos.tolist(), strict=True)], dtype=np.int64)
    keys = np.zeros(len(ids), dtype=np.int64)
    for i, c in enumerate(ids):
        key = 0
        for a in c:
            key = key * B + a + 1
        keys[i] = key
    nxt = np.zeros(len(src), dtype=np.int64) if order == 1 else (keys[src] % B ** (order - 2)) * B + sym + 1
    order_keys = np.argsort(keys, kind="stable")
    sorted_keys = keys[order_keys]
    pos = np.minimum(np.searchsorted(sorted_keys, nxt), len(keys) - 1)
    found = (sorted_keys[pos] == nxt) & ~eos
    return np.where(found, order_keys[pos], -1)
