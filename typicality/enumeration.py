"""Enumeration of the strings of a language model up to a length, with the remaining mass accounted for.

Works for every model of the :class:`~typicality.models.LanguageModel` protocol, through its next-symbol
distributions only (so it is independent of the linear algebra of :mod:`typicality.measures.finite_state`).
Strings with p(y) > 0 and |y| ≤ ``max_length`` are listed in breadth-first order; ``tail_mass`` is the
probability of all other outcomes: P(|Y| > max_length) plus, for a non-tight model, the mass on infinite
sequences, plus any prefix pruned by ``min_prefix_prob``. So Σ probs + tail_mass = 1 up to rounding of the rows.

>>> from typicality.models import examples
>>> e = enumerate_strings(examples.c1_counterexample(), 3, dps=30)
>>> len(e.strings), e.tail_mass            # 1 + 2 + 4 + 8 strings; P(|Y| > 3) = 2⁻⁴
(15, mpf('0.0625'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality.models.base import String, check_max_length
from typicality.numerics import arithmetic


@dataclass(frozen=True)
class Enumeration:
    strings: list[String]
    probs: list[Any]  # float or mpf, aligned with strings
    tail_mass: Any  # mass of everything not listed
    max_length: int
    dps: int | None


def enumerate_strings(model: Any, max_length: int, *, dps: int | None = None, min_prefix_prob: float = 0.0,
                      max_strings: int = 2_000_000) -> Enumeration:
    """All strings of length ≤ ``max_length`` with positive probability, and the mass left over.

    ``min_prefix_prob`` prunes prefixes less probable than it (their mass goes to ``tail_mass``);
    ``max_strings`` guards against exponential blow-up (ValueError when exceeded).
    """
    max_length = check_max_length(max_length)
    if max_length is None:
        raise ValueError("max_length must be a non-negative int, got None")
    if not min_prefix_prob >= 0:
        raise ValueError(f"min_prefix_prob must be >= 0, got {min_prefix_prob!r}")
    eos = len(model.alphabet)
    strings: list[String] = []
    probs: list[Any] = []
    with arithmetic(dps) as num:
        tail = num.scalar(0)
        frontier: list[tuple[String, Any]] = [((), num.scalar(1))]
        for depth in range(max_length + 1):
            nxt: list[tuple[String, Any]] = []
            for prefix, q in frontier:
                dist = model.next_symbol_distribution(prefix, dps=dps)
                if dist[eos] > 0:
                    strings.append(prefix)
                    probs.append(q * dist[eos])
                for a in np.flatnonzero(np.asarray(dist[:eos] > 0, dtype=bool)).tolist():
                    qa = q * dist[a]
                    if depth == max_length or qa < min_prefix_prob:
                        tail = tail + qa
                    else:
                        nxt.append(((*prefix, model.alphabet[a]), qa))
                if len(strings) + len(nxt) > max_strings:
                    raise ValueError(f"more than max_strings={max_strings} strings/prefixes up to length "
                                     f"{depth}; lower max_length or raise min_prefix_prob")
            frontier = nxt
        return Enumeration(strings, [num.to_output(p) for p in probs], num.to_output(tail), max_length, dps)


@dataclass(frozen=True)
class SurprisalLaw:
    """The law of p(Y) up to a length: ``values[i]`` is a string probability, ``masses[i]`` the total probability
    of the listed strings that have it; ``tail_mass`` is the rest."""

    values: list[float]
    masses: list[float]
    tail_mass: float
    max_length: int


def surprisal_law(model: Any, max_length: int, *, max_classes: int = 200_000) -> SurprisalLaw:
    """The distribution of the string probability p(Y) over strings of length ≤ ``max_length`` (float64).

    For a finite-state model, prefixes that reach the same state with the same probability have the same future,
    so they are merged: the work grows with the number of distinct (state, probability) pairs, not with |Σ|ⁿ.
    Other models fall back to :func:`enumerate_strings`.
    """
    from typicality.models.finite_state import FiniteStateLM

    max_length = check_max_length(max_length)
    if max_length is None:
        raise ValueError("max_length must be a non-negative int, got None")
    merged: dict[float, float] = {}

    def add(value: float, mass: float) -> None:
        key = float(f"{value:.13e}")
        merged[key] = merged.get(key, 0.0) + mass

    if not isinstance(model, FiniteStateLM):
        e = enumerate_strings(model, max_length)
        for p in e.probs:
            add(float(p), float(p))
        return SurprisalLaw(list(merged), [merged[k] for k in merged], float(e.tail_mass), max_length)
    eos, indptr = model.eos_index, model.indptr
    sym, dst, prob = model.arc_sym.tolist(), model.arc_dst.tolist(), model.arc_prob64.tolist()
    frontier: dict[tuple[int, float], tuple[float, float]] = {(model.start_index, 1.0): (1.0, 1.0)}
    tail = 0.0
    for depth in range(max_length + 1):
        nxt: dict[tuple[int, float], tuple[float, float]] = {}
        for (s, _), (q, mass) in frontier.items():
            for k in range(int(indptr[s]), int(indptr[s + 1])):
                p = prob[k]
                if p == 0:  # below float64's range, as in the float64 rows
                    continue
                if sym[k] == eos:
                    add(q * p, mass * p)
                    continue
                qa, ma = q * p, mass * p
                if depth == max_length:
                    tail += ma
                    continue
                key = (dst[k], float(f"{qa:.13e}"))
                old = nxt.get(key)
                nxt[key] = (qa, ma + (old[1] if old else 0.0))
        if len(nxt) > max_classes:
            raise ValueError(f"more than max_classes={max_classes} (state, probability) classes at length "
                             f"{depth + 1}; lower max_length")
        frontier = nxt
    return SurprisalLaw(list(merged), [merged[k] for k in merged], tail, max_length)
