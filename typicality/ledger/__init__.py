"""The claim ledger: every claim of the paper, its precise statement, a verdict, and the evidence it ran.

>>> from typicality.ledger import run_ledger
>>> run_ledger(only=["prop3"])[0].verdict
'false-as-stated'
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

ORDER = ["eq8", "eq11", "prop1", "prop2", "prop3", "prop3_corrected", "prop4", "prop5", "lemma1", "cor1",
         "cor1_bounded_logits", "cor2", "cor3", "thm2_upper", "thm2_lower", "example1", "eq41", "alg1",
         "imha_official", "c12", "cramers_v", "simpson", "c8", "c9", "s62_tradeoff", "s62_acceptance", "s7_logprior",
         "s7_reward", "appf_dpo", "appf_dpo_sign"]

__all__ = ["FAILED", "LEVELS", "ORDER", "REGISTRY", "VERDICTS", "Claim", "Entry", "Evidence", "run_ledger"]


def _check(claim_id: str) -> Entry:
    return REGISTRY[claim_id].check()


def run_ledger(only: Iterable[str] | None = None, *, progress: Callable[[str], None] | None = None,
               done: Callable[[Entry], None] | None = None, jobs: int = 1) -> list[Entry]:
    """Check the claims (all, or those in ``only``); the entries in the ledger's order.

    ``progress(id)`` is called as a claim starts (one process) or is submitted (``jobs`` > 1), ``done(entry)`` as
    each finishes; ``jobs`` > 1 checks claims in that many worker processes (each claim in one process, so a
    claim's evidence is what it would be alone)."""
    ids = list(ORDER) if only is None else list(only)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown claim id(s) {unknown}; the ledger has {ORDER}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    if jobs == 1 or len(ids) <= 1:
        entries = []
        for i in ids:
            if progress:
                progress(i)
            entries.append(_check(i))
            if done:
                done(entries[-1])
        return entries
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    found: dict[str, Entry] = {}
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                          else "spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(ids)), mp_context=context) as pool:
        futures = {}
        for i in ids:
            if progress:
                progress(i)
            futures[pool.submit(_check, i)] = i
        for future in as_completed(futures):
            entry = future.result()
            found[futures[future]] = entry
            if done:
                done(entry)
    return [found[i] for i in ids]
