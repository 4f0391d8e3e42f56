"""The accuracy contract of the exact measures, and what happens when a number cannot be given to it.

**Float64** (``dps=None``). Every number returned satisfies

    |x̂ − x| ≤ REL_TOL·|x| + ABS_TOL        (REL_TOL = 1e-10, ABS_TOL = 1e-300),

where x is the exact value of the measure *for the probabilities as given* (decimals are exact, floats are their
binary values). Each float64 result carries a rigorous error bound computed alongside it (residuals of each linear
solve, the model's rounding into float64, Collatz–Wielandt brackets for spectral radii); when the bound is not
small enough — an eos probability of 1e-16 inside a loop, a probability below float64's range, an order α next to
the divergence threshold — the measure is recomputed automatically in certified ball arithmetic (python-flint
``arb``) at increasing precision until the enclosure meets the contract. If that is impossible (a finite value
beyond float64's range, a model too large for the certified path, a question that no finite precision decides),
:class:`AccuracyError` says why and what to do (usually: ``dps``); a wrong number is never returned.

**mpmath** (``dps=N``). Finite-state measures are computed in ball arithmetic until the enclosure's relative
radius is below 10^−(N+1), then rounded to N digits: the printed digits are right (off by at most one unit in
the last place). Closed forms and finite sums (Baer's model, finite support) use N digits plus guard digits.

**Decisions are exact.** Tightness and eos-boundedness are decided from the exact probabilities; whether
Σ_y p(y)^α converges is decided by a certified test (a positive enclosure of (I − A_α)⁻¹1 proves ρ(A_α) < 1, a
negative entry proves ρ(A_α) > 1), in exact rational arithmetic when p^α is rational, so H_α is never reported as
∞ when it is finite, nor finite when it is ∞.

**Rows that do not sum to exactly 1.** A row may miss 1 by up to the model's tolerance (1e-9 for n-gram JSON
files: room for rounded decimals; 1e-5 for ARPA files, which print log10 values to ~7 digits). The measures are
those of the numbers as given, and the row-sum *effect* ε_row = ((I − T)⁻¹|δ|)(s₀) (δ: each row's deviation from
1; ε_row bounds the change of the mass, and is roughly the relative change of every measure, if the rows were
exact) is checked:

* above REL_TOL, a :class:`RowSumWarning` says that the results differ from those of any exactly normalized
  version by about ε_row (every number is still certified for the numbers as given; the mass is reported as they
  give it, e.g. 0.99998 for an ARPA file, where ε_row ≈ 3e-6·(E|Y| + 1));
* above ROW_EFFECT_MAX = 1e-2, or when Σ_y p(y) would diverge, the deviations dominate what the model says (the
  cases that motivated the rule: a loop with p(eos) = 1e-12 and a row off by 4e-10 has ε_row ≈ 400, a "tight"
  model with mass 0.0025 or a negative one), and :class:`RowSumError` asks for exactly normalized rows (or, for
  an ARPA file, more printed digits) instead of a number.

One limit for every model: below it each measure is within about 1% of any normalized version's and the warning
says by how much; the limit is a statement about which model the numbers describe, not about accuracy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

#: relative error bound of every float64 result
REL_TOL = 1e-10
#: absolute floor of the bound (only matters for values at the bottom of float64's range)
ABS_TOL = 1e-300
#: a row-sum effect above this is an error (RowSumError); above REL_TOL a warning
ROW_EFFECT_MAX = 1e-2

CONTRACT = (f"float64 results have |error| ≤ {REL_TOL:g}·|value| + {ABS_TOL:g} (certified; the measure escalates "
            "to ball arithmetic or raises otherwise)")


class AccuracyError(ValueError):
    """A measure cannot be given to the accuracy contract (the message names the cause and what helps)."""


class RowSumError(ValueError):
    """Rows that miss 1 (within the tolerance) change a result by more than ROW_EFFECT_MAX, or make Σ_y p(y)
    diverge: the numbers as given do not define the model they were meant to."""


class RowSumWarning(UserWarning):
    """Rows that miss 1 (within the tolerance) change the results by more than their accuracy."""


def dps_contract(dps: int) -> str:
    return f"mpmath at {dps} digits: certified, the printed digits are right (to one unit in the last place)"


# ----- which measures needed the certified path (reported by measures()) --------------------------------------------
_ESCALATIONS: ContextVar[dict[str, str] | None] = ContextVar("typicality_escalations", default=None)


def note_escalation(measure: str, how: str) -> None:
    """Record that ``measure`` was computed by ``how`` (e.g. "arb, 128 bits") instead of plain float64."""
    log = _ESCALATIONS.get()
    if log is not None:
        log[measure] = how


@contextlib.contextmanager
def recording_escalations() -> Iterator[dict[str, str]]:
    """Collect :func:`note_escalation` calls made inside the block."""
    log: dict[str, str] = {}
    token = _ESCALATIONS.set(log)
    try:
        yield log
    finally:
        _ESCALATIONS.reset(token)
