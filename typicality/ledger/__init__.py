"""The claim ledger: every claim of the paper, its precise statement, a verdict, and the evidence it ran.

>>> from typicality.ledger import run_ledger
>>> [e.verdict for e in run_ledger(only=["prop3"])]
['false-as-stated']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from typicality.ledger import (  # noqa: F401
    adaptor_claims,
    aep_claims,
    corpus_claims,
    mini_claims,
    model_claims,
    renyi_claims,
)
from typicality.ledger.core import FAILED, LEVELS, REGISTRY, VERDICTS, Claim, Entry, Evidence

ORDER = ["eq8", "eq11", "prop1", "prop2", "prop3", "prop3_corrected", "prop4", "prop5", "lemma1", "cor1", "cor2",
         "cor3", "thm2_upper", "thm2_lower", "example1", "eq41", "alg1", "imha_official", "cramers_v", "simpson",
         "c8", "s62_tradeoff", "s62_acceptance", "s7_logprior", "s7_reward", "appf_dpo"]

__all__ = ["FAILED", "LEVELS", "ORDER", "REGISTRY", "VERDICTS", "Claim", "Entry", "Evidence", "run_ledger"]


def run_ledger(only: Iterable[str] | None = None, *, progress: Callable[[str], None] | None = None) -> list[Entry]:
    """Check the claims (all, or those in ``only``) in the ledger's order."""
    ids = list(ORDER) if only is None else list(only)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {unknown}; the ledger has {ORDER}")
    entries = []
    for i in ids:
        if progress:
            progress(i)
        entries.append(REGISTRY[i].check())
    return entries
