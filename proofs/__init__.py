"""Symbolic proofs (sympy) of the paper's claims, one module per claim, in their corrected form (see each entry of
``typicality verify``).

Each module defines ``CLAIM`` (its id) and ``check() -> list[Step]``; every :class:`Step` records one fact that sympy
established (an exact simplification to 0, a sign from the symbols' assumptions, a solved inequality, a limit, a
sum or an integral). ``ALL`` maps each claim id to its module; ``run(claim_id)`` runs one.

Example::

    >>> from typicality.proofs import run
    >>> all(step.ok for step in run("eq8"))
    True
"""

from types import ModuleType

from . import (
    alg1,
    c8,
    c9,
    cor1_bounded_logits,
    cor3,
    eq8,
    eq11,
    eq41,
    example1,
    lemma1,
    prop1,
    prop2,
    prop3,
    prop3_corrected,
    prop4,
    prop5,
    thm2_lower,
    thm2_upper,
)
from ._common import Step

__all__ = ["ALL", "Step", "run"]

ALL: dict[str, ModuleType] = {
    module.CLAIM: module
    for module in (
        eq8,
        eq11,
        prop1,
        prop2,
        prop3,
        prop3_corrected,
        prop4,
        prop5,
        lemma1,
        cor1_bounded_logits,
        thm2_upper,
        thm2_lower,
        cor3,
        eq41,
        c8,
        c9,
        example1,
        alg1,
    )
}


def run(claim_id: str) -> list[Step]:
    """Run the symbolic proof of ``claim_id`` (a key of :data:`ALL`) and return its verified steps."""
    try:
        module = ALL[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim_id {claim_id!r}; known: {sorted(ALL)}") from None
    return module.check()
