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
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

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
            if not isinstance(ctx, str):
                raise TypeError(f"context keys must be str, got {ctx!r}")
            syms = tuple(ctx.split(" ")) if ctx else ()
            if " ".join(syms) != ctx or any(not a for a in syms):
                raise ValueError(f"context {ctx!r}: symbols must be joined by exactly one space")
            if len(syms) > order - 1:
                raise ValueError(f"context {ctx!r} has {len(syms)} symbols; an order-{order} model uses at most "
                                 f"{order - 1}")
            for a in syms:
                if a == eos:
                    raise ValueError(f"context {ctx!r} contains eos {eos!r}, which ends a string")
                if a not in known:
                    raise ValueError(f"context {ctx!r} contains the unknown symbol {a!r}; "
                                     f"the alphabet is {list(alphabet)}")
            parsed[ctx] = syms

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
                if as_fraction(value, name=f"context {ctx!r}: probability of {sym!r}") > 0:
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
        self.contexts = {ctx: dict(row) for ctx, row in contexts.items()}

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
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"model file not found: {p}") from None
        try:
            return cls.from_json(text)
        except ValueError as e:
            raise ValueError(f"{p}: {e}") from None

    def to_dict(self) -> dict:
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
