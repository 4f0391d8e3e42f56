"""``typicality verify``: the exact measures of the paper's example models against independent references.

Every reference here comes from a different method than the value it checks: a closed form derived by hand
(math.md B.7, C1, C2), a count of strings by enumeration, or the numbers of math.md's independent re-run. The
claim ledger of the paper's theorems builds on these checks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from typicality import measures as M
from typicality.enumeration import enumerate_strings
from typicality.models import examples
from typicality.models.baer import BaerLM

#: digits of the mpmath runs, and the agreement demanded of them
DPS = 50
MP_TOL = mpmath.mpf(10) ** -40
FLOAT_TOL = 1e-12


@dataclass(frozen=True)
class Check:
    id: str
    statement: str
    value: Any
    reference: Any
    source: str
    ok: bool
    seconds: float

    def to_json_dict(self) -> dict[str, Any]:
        def out(x: Any) -> Any:
            if isinstance(x, bool) or x is None:
                return x
            if isinstance(x, mpmath.mpf):
                return "inf" if mpmath.isinf(x) else float(x)
            if isinstance(x, float) and math.isinf(x):
                return "inf"
            return x

        return {"id": self.id, "statement": self.statement, "value": out(self.value),
                "reference": out(self.reference), "source": self.source, "ok": self.ok,
                "seconds": round(self.seconds, 4)}


def _close(value: Any, reference: Any, tol: Any) -> bool:
    if value is None or reference is None:
        return value is reference
    if isinstance(reference, bool):
        return value is reference
    if reference == math.inf or (isinstance(reference, mpmath.mpf) and mpmath.isinf(reference)):
        return value == math.inf
    return abs(value - reference) <= tol * max(1, abs(reference))


def _closed_forms() -> list[tuple[str, str, Callable[[], Any], Callable[[int | None], Any], str]]:
    """(model name, quantity, reference at the working precision, computed value, source)."""
    ln = mpmath.log
    c1, c2 = examples.c1_counterexample(), examples.c2_bigram()
    rows: list[tuple[str, str, Callable[[], Any], Callable[[int | None], Any], str]] = [
        ("c1", "entropy", lambda: 3 * ln(2), lambda d: M.entropy(c1, dps=d), "H = 3 ln 2 (math.md C1)"),
        ("c1", "varentropy", lambda: 8 * ln(2) ** 2, lambda d: M.varentropy(c1, dps=d),
         "σ² = ln²4 · Var Geom(½) = 8 ln² 2"),
        ("c1", "expected_length", lambda: mpmath.mpf(1), lambda d: M.expected_length(c1, dps=d), "E|Y| = 1"),
        ("c1", "renyi[2]", lambda: ln(mpmath.mpf(7) / 2), lambda d: M.renyi_entropy(c1, 2, dps=d),
         "Σp² = 2⁻²/(1 − 2⁻³) = 2/7"),
        ("c1", "renyi[0.75]", lambda: 4 * ln(2 ** mpmath.mpf(-0.75) / (1 - 2 ** mpmath.mpf(-0.5))),
         lambda d: M.renyi_entropy(c1, "0.75", dps=d), "Σp^α = 2^{−α}/(1 − 2^{1−2α})"),
        ("c1", "renyi[0.5]", lambda: mpmath.inf, lambda d: M.renyi_entropy(c1, "0.5", dps=d),
         "Σp^½ = 2^{−½} Σ_n 1 = ∞ (C1: Prop. 3 fails)"),
        ("c1", "renyi_finite_above", lambda: mpmath.mpf(1) / 2, lambda d: M.renyi_threshold(c1, dps=d),
         "α₀ = log|Σ| / (log|Σ| + log 1/(1−ξ)) = 1/2"),
        ("c1", "eos_bound", lambda: mpmath.mpf(1) / 2, lambda d: M.eos_bound(c1, dps=d), "ξ = 1/2"),
        ("c2", "entropy", lambda: 2 * ln(2), lambda d: M.entropy(c2, dps=d), "p((ab)^k) = 2^{−k}: H = 2 ln 2"),
        ("c2", "varentropy", lambda: 2 * ln(2) ** 2, lambda d: M.varentropy(c2, dps=d),
         "σ² = ln² 2 · Var Geom(½) = 2 ln² 2"),
        ("c2", "expected_length", lambda: mpmath.mpf(4), lambda d: M.expected_length(c2, dps=d), "E|Y| = 2 E k = 4"),
        ("c2", "renyi[0.5]", lambda: 2 * ln(1 + mpmath.sqrt(2)), lambda d: M.renyi_entropy(c2, "0.5", dps=d),
         "Σ p^½ = 1/(√2 − 1)"),
        ("c2", "renyi_finite_above", lambda: mpmath.mpf(0), lambda d: M.renyi_threshold(c2, dps=d),
         "Σ 2^{−kα} < ∞ for all α > 0"),
        ("c2", "eos_bound", lambda: mpmath.mpf(0), lambda d: M.eos_bound(c2, dps=d),
         "p(eos | a) = 0: tight but not eos-bounded (C2)"),
        ("c2", "length_tail_rate", lambda: 1 / mpmath.sqrt(2), lambda d: M.length_tail_rate(c2, dps=d),
         "P(|Y| ≥ 2k) = 2^{1−k}"),
        ("baer", "entropy", lambda: mpmath.inf, lambda d: M.entropy(examples.baer(), dps=d), "Prop. 2 (B.7)"),
    ]
    return rows


def run_checks(*, progress: Callable[[str], None] | None = None) -> list[Check]:
    checks: list[Check] = []
    for model, quantity, ref, compute, source in _closed_forms():
        for dps in (None, DPS):
            t0 = time.perf_counter()
            with mpmath.workdps(DPS + 10):
                reference = ref()
            value = compute(dps)
            ok = _close(value, reference, FLOAT_TOL if dps is None else MP_TOL)
            label = "float64" if dps is None else f"dps={dps}"
            checks.append(Check(f"{model}.{quantity}.{label}", f"{quantity} of {model} ({label})", value,
                                reference, source, ok, time.perf_counter() - t0))
            if progress:
                progress(checks[-1].id)
    checks.extend(_baer_checks())
    checks.append(_enumeration_check())
    return checks


def _baer_checks() -> list[Check]:
    out = []
    m = examples.baer()
    # Partial entropies against math.md B.7's independent re-run (2 decimals).
    for n_terms, published in ((10**3, 2.63), (10**4, 2.95), (10**5, 3.18), (10**6, 3.36)):
        t0 = time.perf_counter()
        value = BaerLM.partial_entropy(n_terms)
        out.append(Check(f"baer.partial_entropy[{n_terms}]", f"Σ_(n<{n_terms}) −p log p of Baer's model",
                         value, published, "math.md B.7 re-run (rounded to 0.01)",
                         abs(value - published) <= 0.005, time.perf_counter() - t0))
    # g(n) ≤ p(aⁿ) (convexity bound of B.7) on the first 10⁶ lengths.
    t0 = time.perf_counter()
    n = np.arange(10**6, dtype=np.float64)
    x = n + 2.0
    logp = np.log(np.log(2)) + np.log(np.log1p(1 / x)) - np.log(np.log(x)) - np.log(np.log1p(x))
    logg = np.log(np.log(2)) - np.log(n + 3) - 2 * np.log(np.log(n + 3))
    holds = bool(np.all(logg <= logp))
    out.append(Check("baer.lower_bound_g", "g(n) = ln2/((n+3) ln²(n+3)) ≤ p(aⁿ) for n < 10⁶", holds, True,
                     "convexity of 1/log₂ x (B.7)", holds, time.perf_counter() - t0))
    # H₂ by Euler–Maclaurin against a direct partial sum with a rigorous tail bound.
    t0 = time.perf_counter()
    value = M.renyi_entropy(m, 2)
    N = 10**6
    terms = np.exp(2 * logp[:N])
    partial = math.fsum(terms)
    tail_bound = math.exp(logp[N - 1]) * BaerLM.tail_mass(N)  # Σ_{n≥N} p² ≤ p(a^{N−1}) · P(|Y| ≥ N)
    lo, hi = -math.log(partial + tail_bound), -math.log(partial)
    out.append(Check("baer.renyi[2]", "H₂ of Baer's model", value, (lo + hi) / 2,
                     f"direct sum to 10⁶ + tail bound: [{lo:.12f}, {hi:.12f}]",
                     lo - 1e-12 <= value <= hi + 1e-12, time.perf_counter() - t0))
    return out


def _enumeration_check() -> Check:
    """The enumerated tail of Baer's model equals the telescoped closed form P(|Y| > 200) = 1/log₂ 203."""
    t0 = time.perf_counter()
    e = enumerate_strings(examples.baer(), 200, dps=DPS)
    with mpmath.workdps(DPS):
        ref = mpmath.log(2) / mpmath.log(203)
        ok = abs(e.tail_mass - ref) <= MP_TOL and abs(mpmath.fsum(e.probs) + e.tail_mass - 1) <= MP_TOL
    return Check("baer.enumerated_tail", "P(|Y| > 200) by enumeration of Baer's model", e.tail_mass, ref,
                 "telescoping: 1/log₂(203)", bool(ok), time.perf_counter() - t0)
