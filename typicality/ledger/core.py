"""The claim ledger's data model: one :class:`Entry` per claim of the paper, with its verdict and evidence.

Verdicts:

* ``holds``: true as the paper states it (in the reconstruction of docs/theory.md#reading);
* ``holds-corrected``: false or unsupported as stated, true after the correction of docs/theory.md#c, which
  the entry's statement gives;
* ``false-as-stated``: refuted, with a counterexample;
* ``artifact``: an effect of the paper's code, not of its mathematics (docs/theory.md#c-r);
* ``reproduced`` / ``not-reproduced``: an empirical claim about the paper's models (§6.2, §7, App. F) that does or
  does not appear in the offline miniature (:mod:`typicality.ledger.mini_claims`; the paper's models were not run);
* ``pending``: the machinery to check it is not built yet.

Evidence levels: ``symbolic`` (a derivation whose steps sympy checks, in ``proofs/``), ``certified`` (python-flint
ball arithmetic with rigorously bounded tails), ``property`` (Hypothesis over random models), ``empirical``
(Monte Carlo against a bound, fixed seeds), ``empirical (miniature)`` (read from the committed report of the
offline miniature's real transformers models), ``counterexample`` (the concrete model that refutes a statement) and
``proved`` (a machine-checked proof; later). An entry is *ok* when every piece of evidence passed and the verdict
is the one the ledger expects; otherwise ``typicality verify`` exits non-zero.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("holds", "holds-corrected", "false-as-stated", "artifact", "reproduced", "not-reproduced", "pending")
LEVELS = ("symbolic", "certified", "property", "empirical", "empirical (miniature)", "counterexample", "proved")
#: the verdict an entry reports when a check it relies on failed
FAILED = "check-failed"


@dataclass(frozen=True)
class Evidence:
    level: str
    description: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    #: evidence that could not be gathered here (e.g. Coq not installed): reported, but neither passed nor failed
    skipped: bool = False
    #: what the evidence covers of the claim when that is less than the whole (e.g. "finite support"), shown next to
    #: the level: ``proved (finite support)``
    scope: str = ""

    @property
    def label(self) -> str:
        return f"{self.level} ({self.scope})" if self.scope else self.level

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", bool(self.passed))
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    source: str  # where in docs/theory.md
    statement: str  # the precise form checked
    verdict: str
    expected: str
    evidence: tuple[Evidence, ...]
    seconds: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == self.expected and all(e.passed or e.skipped for e in self.evidence)

    @property
    def levels(self) -> list[str]:
        return list(dict.fromkeys(e.label for e in self.evidence if e.passed and not e.skipped))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict,
            "evidence": self.levels,
            "details": {
                "title": self.title,
                "source": self.source,
                "statement": self.statement,
                "expected_verdict": self.expected,
                "ok": self.ok,
                "seconds": round(self.seconds, 3),
                "note": self.note,
                "checks": [{"level": e.level, "scope": e.scope, "description": e.description, "passed": e.passed,
                            "skipped": e.skipped, **_jsonable(e.details)} for e in self.evidence],
            },
        }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str | int):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f if math.isfinite(f) else ("inf" if f > 0 else "-inf" if f < 0 else "nan")


@dataclass(frozen=True)
class Claim:
    """A registered claim: metadata plus the function that gathers its evidence."""

    id: str
    title: str
    source: str
    statement: str
    verdict: str  # the verdict when every check passes
    run: Callable[[], list[Evidence]]
    note: str = ""

    def check(self) -> Entry:
        t0 = time.perf_counter()
        if self.verdict == "pending":
            evidence: list[Evidence] = []
        else:
            try:
                evidence = self.run()
            except Exception as e:  # a crash is a failed check, reported with its reason
                evidence = [Evidence("property", f"the check raised {type(e).__name__}: {e}", False,
                                     {"traceback": traceback.format_exc(limit=4)})]
        verdict = self.verdict if all(e.passed or e.skipped for e in evidence) else FAILED
        return Entry(self.id, self.title, self.source, self.statement, verdict, self.verdict, tuple(evidence),
                     time.perf_counter() - t0, self.note)


REGISTRY: dict[str, Claim] = {}


def claim(id: str, title: str, source: str, statement: str, verdict: str, note: str = "") -> Callable:
    """Decorator: register the evidence-gathering function of a claim."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")

    def register(fn: Callable[[], list[Evidence]]) -> Callable[[], list[Evidence]]:
        if id in REGISTRY:
            raise ValueError(f"claim {id!r} registered twice")
        REGISTRY[id] = Claim(id, title, source, statement, verdict, fn, note)
        return fn

    return register


def guarded(level: str) -> Callable:
    """Decorator for an evidence helper: an exception becomes a failed piece of evidence with its reason."""

    def wrap(fn: Callable[..., Evidence]) -> Callable[..., Evidence]:
        def inner(*args: Any, **kwargs: Any) -> Evidence:
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                return Evidence(level, f"{fn.__name__} raised {type(e).__name__}: {e}", False,
                                {"traceback": traceback.format_exc(limit=4)})

        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner

    return wrap


def proved(claim_id: str) -> Evidence:
    """`proved` evidence: the Coq theorems for the claim are in an up-to-date build, no source assumes anything at
    top level, and Coq's printed assumptions of each theorem are only the allowed axioms
    (:mod:`typicality.ledger.coq`). The evidence carries the proof's scope."""
    from typicality.ledger import coq

    file, theorems = coq.COQ_THEOREMS[claim_id]
    scope = coq.SCOPES[claim_id]
    built, reason = coq.coq_build_status()
    description = f"Coq 8.16: {', '.join(theorems)} in proofs/coq/{file}"
    if not built:
        return Evidence("proved", f"{description} — {reason}", False, {"status": reason}, skipped=True, scope=scope)
    passed, details = coq.check_proof(claim_id)
    return Evidence("proved", description + " (Print Assumptions: only the standard library's axioms of the "
                    "classical reals; no top-level assumption, no Admitted)", passed, details, scope=scope)


_SYMBOLIC_CACHE: dict[str, list] = {}


@guarded("symbolic")
def symbolic(claim_id: str) -> Evidence:
    """Run the sympy derivation ``proofs/<claim_id>.py`` (once per process) and report its steps."""
    from typicality.proofs import run

    if claim_id not in _SYMBOLIC_CACHE:
        _SYMBOLIC_CACHE[claim_id] = run(claim_id)
    steps = _SYMBOLIC_CACHE[claim_id]
    failed = [s.description for s in steps if not s.ok]
    return Evidence("symbolic", f"proofs/{claim_id}.py: {len(steps)} steps checked by sympy", bool(steps) and
                    not failed, {"steps": [s.description for s in steps], "failed_steps": failed})
