"""Bounds on the measures of any language model, from enumeration to a length with the tail accounted for.

For a model known only through its next-symbol function (:class:`~typicality.models.AutoregressiveLM`),
enumerating the strings of length ≤ L gives one-sided bounds that hold without any assumption:

* mass: Σ_{listed} p ≤ Σ_y p(y) ≤ Σ_{listed} p + tail (tail = mass not listed, computed exactly);
* entropy ≥ Σ_{listed} −p log p and E|Y| ≥ Σ_{listed} p |y| (all terms are ≥ 0);
* Σ_y p^α ≥ Σ_{listed} p^α for every α, and, for α ≥ 1, Σ_y p^α ≤ Σ_{listed} p^α + tail^α
  (x ↦ x^α is superadditive), which bounds H_α from both sides.

No upper bound on the entropy exists without assumptions on the tail: Baer's model (docs/theory.md#b7) has a finite
enumeration at every depth and infinite entropy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from typicality.enumeration import enumerate_strings
from typicality.numerics import arithmetic


@dataclass(frozen=True)
class EnumeratedBounds:
    max_length: int
    dps: int | None
    n_strings: int
    mass_listed: Any
    tail_mass: Any
    entropy_lower: Any
    expected_length_lower: Any
    #: α -> (lower, upper) bound on Σ_y p(y)^α; upper is None for α < 1
    renyi_sum: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def enumerated_measures(model: Any, max_length: int, alphas: Iterable[Any] = (), *, dps: int | None = None,
                        max_strings: int = 2_000_000) -> EnumeratedBounds:
    """Rigorous one-sided bounds from :func:`typicality.enumeration.enumerate_strings` (see module docstring)."""
    from typicality.measures import parse_alpha

    parsed = [(str(a), parse_alpha(a)) for a in alphas]
    e = enumerate_strings(model, max_length, dps=dps, max_strings=max_strings)
    with arithmetic(dps) as num:
        p = num.array(e.probs) if dps is not None else num.array([float(x) for x in e.probs])
        lengths = [len(y) for y in e.strings]
        zero = num.scalar(0)
        mass_listed = sum(p.tolist(), zero)
        ent = sum((-p * num.log(p)).tolist(), zero) if len(p) else zero
        length = sum((x * n for x, n in zip(p.tolist(), lengths, strict=True)), zero)
        tail = num.scalar(e.tail_mass)
        renyi: dict[str, tuple[Any, Any]] = {}
        for label, a in parsed:
            if a == float("inf"):
                continue
            alpha = num.scalar(a)
            lower = sum((p ** alpha).tolist(), zero)
            upper = lower + tail ** alpha if a >= 1 else None
            renyi[label] = (num.to_output(lower), None if upper is None else num.to_output(upper))
        return EnumeratedBounds(max_length, dps, len(e.strings), num.to_output(mass_listed), num.to_output(tail),
                                num.to_output(ent), num.to_output(length), renyi)
