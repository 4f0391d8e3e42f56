"""Exact information measures of language models (docs/theory.md#a, #b8).

Functions named after the paper's quantities, in nats unless ``units="bits"``, in float64 or at ``dps``
decimal digits of mpmath (the same algorithm; see :mod:`typicality.numerics`):

==========================  ====================================================================  ===========
function                    quantity                                                              docs/theory.md
==========================  ====================================================================  ===========
``mass``                    Σ_y p(y), the mass on finite strings (1 iff tight)                    #a
``is_tight``                no mass on infinite sequences                                         #a
``entropy``                 H(p) = −Σ_y p(y) log p(y)                                             #b8
``varentropy``              σ² = Var_p[−log p(Y)]                                                 #eq-11
``renyi_entropy``           H_α(p) = log(Σ_y p(y)^α) / (1 − α); H_1 = H; H_∞ = −log max_y p(y)    #def2
``renyi_sum``               Σ_y p(y)^α, the Rényi series (∞ for α ≤ α₀)                           #c1, #c7
``renyi_threshold``         α₀ = inf{α > 0 : H_α(p) < ∞} (finite exactly for α > α₀)              #c1, #g
``expected_length``         E|Y|                                                                  #b8
``eos_bound``               ξ = min over reachable prefixes of p(eos | prefix)                    #def3
``length_tail_rate``        ρ with P(|Y| ≥ n) = ρ^{n + o(n)}                                      #c2
==========================  ====================================================================  ===========

Exact methods exist for :class:`~typicality.models.FiniteStateLM` (and n-gram models; linear algebra on the
automaton), :class:`~typicality.models.BackoffLM` (ARPA back-off models; the same algebra through failure
transitions, :mod:`typicality.measures.backoff`), :class:`~typicality.models.FiniteSupportLM` (direct summation) and
:class:`~typicality.models.BaerLM` (closed forms). For any other model, use
:func:`typicality.measures.enumerated.enumerated_measures` (bounds from enumeration with the tail accounted) or
:func:`typicality.measures.monte_carlo.monte_carlo_measures`.

Measures that are undefined for a model (entropy of a non-tight model, varentropy when the entropy is infinite)
raise :class:`UndefinedMeasureError`; :func:`measures` reports them as ``None`` with the reason.

**Accuracy** (:mod:`typicality.measures.accuracy`): a float64 result has |error| ≤ 1e-10·|value| + 1e-300 for the
probabilities as given, certified; where float64 cannot certify it the measure is recomputed in ball arithmetic,
or :class:`AccuracyError` says why (a wrong number is never returned). With ``dps`` the printed digits are right.
Rows that miss 1 within the tolerance and thereby move a result beyond its accuracy give a
:class:`RowSumWarning`, or a :class:`RowSumError` when the results would contradict the model.

>>> from typicality.models import examples
>>> m = examples.c1_counterexample()      # |Σ| = 2, p(eos | ·) = 1/2: H = 3 ln 2, α₀ = 1/2
>>> round(entropy(m), 12) == round(3 * math.log(2), 12)
True
>>> renyi_entropy(m, 0.5)
inf
>>> float(renyi_threshold(m))
0.5
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import ModuleType
from typing import Any

import mpmath

from typicality.measures import backoff, closed_form, finite_state, finite_support
from typicality.measures.accuracy import (
    CONTRACT,
    AccuracyError,
    RowSumError,
    RowSumWarning,
    dps_contract,
    recording_escalations,
)
from typicality.models.arpa import BackoffLM
from typicality.models.baer import BaerLM
from typicality.models.finite_state import FiniteStateLM
from typicality.models.finite_support import FiniteSupportLM
from typicality.numerics import Arithmetic, arithmetic, as_fraction

__all__ = [
    "AccuracyError",
    "Measures",
    "RowSumError",
    "RowSumWarning",
    "UndefinedMeasureError",
    "entropy",
    "eos_bound",
    "expected_length",
    "is_tight",
    "length_tail_rate",
    "mass",
    "measures",
    "parse_alpha",
    "renyi_entropy",
    "renyi_sum",
    "renyi_threshold",
    "varentropy",
]

DEFAULT_ALPHAS = ("0.5", "2")


class UndefinedMeasureError(ValueError):
    """The measure is not defined for this model (the message says why)."""


def _engine(model: Any) -> ModuleType:
    if isinstance(model, FiniteStateLM):
        return finite_state
    if isinstance(model, FiniteSupportLM):
        return finite_support
    if isinstance(model, BaerLM):
        return closed_form
    if isinstance(model, BackoffLM):
        return backoff
    raise TypeError(
        f"exact measures need a FiniteStateLM (or NGramLM), BackoffLM (ARPA), FiniteSupportLM or BaerLM, got "
        f"{type(model).__name__}; "
        "for other models use typicality.measures.enumerated or typicality.measures.monte_carlo")


def _check_units(units: str) -> float:
    if units == "nats":
        return 1.0
    if units == "bits":
        return math.log(2)
    raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")


def _in_units(num: Arithmetic, value: Any, units: str, power: int = 1) -> Any:
    if units == "nats":
        return num.to_output(value)
    return num.to_output(value / num.log(num.scalar(2)) ** power)


def is_tight(model: Any) -> bool:
    """True iff the model puts all its mass on finite strings (no leak to infinite sequences).

    Decided exactly: a finite-state model is tight iff every reachable state can reach eos.
    """
    if isinstance(model, FiniteStateLM | BackoffLM):
        return model.is_tight
    _engine(model)
    return True


def _require_tight(model: Any, what: str) -> None:
    if not is_tight(model):
        raise UndefinedMeasureError(
            f"{what} is undefined: the model is not tight (it puts mass on infinite sequences)")


def mass(model: Any, *, dps: int | None = None) -> Any:
    """Σ_y p(y), the probability of finite strings; 1 − mass leaks to infinite sequences."""
    eng = _engine(model)
    with arithmetic(dps) as num:
        return num.to_output(eng.mass(model, num))


def entropy(model: Any, *, dps: int | None = None, units: str = "nats") -> Any:
    """Shannon entropy H(p) = −Σ_y p(y) log p(y) (docs/theory.md#b8); ``inf`` for Baer's model (Prop. 2)."""
    eng = _engine(model)
    _check_units(units)
    _require_tight(model, "the entropy")
    with arithmetic(dps) as num:
        return _in_units(num, eng.entropy(model, num), units)


def varentropy(model: Any, *, dps: int | None = None, units: str = "nats") -> Any:
    """Varentropy σ² = Var_p[−log p(Y)] (Eq. 11), in nats² (bits² with ``units="bits"``)."""
    eng = _engine(model)
    _check_units(units)
    _require_tight(model, "the varentropy")
    if eng is closed_form:
        raise UndefinedMeasureError(f"the varentropy is undefined: {closed_form.UNDEFINED_VARENTROPY}")
    with arithmetic(dps) as num:
        return _in_units(num, eng.varentropy(model, num), units, power=2)


def expected_length(model: Any, *, dps: int | None = None) -> Any:
    """E|Y|, the expected number of symbols before eos."""
    eng = _engine(model)
    _require_tight(model, "the expected length")
    with arithmetic(dps) as num:
        return num.to_output(eng.expected_length(model, num))


def eos_bound(model: Any, *, dps: int | None = None) -> Any:
    """ξ = min over reachable prefixes of p(eos | prefix) (Def. 3); the model is eos-bounded iff ξ > 0."""
    eng = _engine(model)
    with arithmetic(dps) as num:
        return num.to_output(eng.eos_bound(model, num))


def length_tail_rate(model: Any, *, dps: int | None = None) -> Any:
    """ρ such that P(|Y| ≥ n) = ρ^{n+o(n)}: the spectral radius of the transition matrix (docs/theory.md#c2).

    0 for finite support, 1 for Baer's sub-exponential tail. A tight finite-state model always has ρ < 1, even
    when it is not eos-bounded (C2).
    """
    eng = _engine(model)
    _require_tight(model, "the length-tail rate")
    with arithmetic(dps) as num:
        return num.to_output(eng.length_tail_rate(model, num))


def parse_alpha(alpha: Any) -> Fraction | float:
    """An order α > 0 as an exact Fraction (or ``math.inf``); ValueError naming the bad value."""
    if isinstance(alpha, str) and alpha.strip().lower() in {"inf", "+inf", "infinity"}:
        return math.inf
    if isinstance(alpha, float) and math.isinf(alpha) and alpha > 0:
        return math.inf
    if isinstance(alpha, mpmath.mpf) and mpmath.isinf(alpha) and alpha > 0:
        return math.inf
    try:
        a = as_fraction(alpha, name="alpha")
    except (ValueError, TypeError) as e:
        if "exponent" in str(e) or "characters" in str(e):  # a number, but one too large to take exactly
            raise
        raise type(e)(f"alpha must be a number > 0 or 'inf', got {alpha!r}") from None
    if a <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    if a > MAX_ALPHA:
        raise ValueError(f"alpha must be at most {MAX_ALPHA:g} or 'inf' (the min-entropy), got {alpha!r}")
    return a


#: the largest finite order accepted (beyond it p^α underflows for every p < 1 in float64; use 'inf')
MAX_ALPHA = 10**6


def renyi_entropy(model: Any, alpha: Any, *, dps: int | None = None, units: str = "nats") -> Any:
    """Rényi entropy H_α(p) = log(Σ_y p(y)^α) / (1 − α) (Def. 2), α > 0; ``inf`` when the series diverges.

    α = 1 gives the Shannon entropy, α = inf the min-entropy −log max_y p(y). Divergence is decided from the
    spectral radius of the α-powered transition matrix (see :func:`renyi_threshold`): finite iff α > α₀.
    """
    a = parse_alpha(alpha)
    eng = _engine(model)
    _check_units(units)
    _require_tight(model, "the Rényi entropy")
    if a == 1:
        return entropy(model, dps=dps, units=units)
    with arithmetic(dps) as num:
        if a == math.inf:
            return _in_units(num, -eng.max_log_prob(model, num), units)
        if eng is finite_state or eng is backoff:  # log space (finite-state); certified (back-off)
            h = eng.renyi_entropy(model, num, a)
            return num.to_output(num.scalar(float("inf"))) if h == math.inf else _in_units(num, h, units)
        s = eng.renyi_sum(model, num, num.scalar(a))
        if s == math.inf:
            return num.to_output(num.scalar(float("inf")))
        return _in_units(num, num.log(s) / (1 - num.scalar(a)), units)


def renyi_sum(model: Any, alpha: Any, *, dps: int | None = None) -> Any:
    """The Rényi series Σ_y p(y)^α (α > 0, finite), ``inf`` when it diverges (α ≤ α₀).

    exp((1 − α) H_α) for α ≠ 1; for temperature τ = 1/α it is the global normalizer Z_T of docs/theory.md#c7.
    """
    a = parse_alpha(alpha)
    if a == math.inf:
        raise ValueError("alpha must be finite for the Rényi series, got inf")
    eng = _engine(model)
    _require_tight(model, "the Rényi series")
    with arithmetic(dps) as num:
        if a == 1:
            return num.to_output(eng.mass(model, num))
        return num.to_output(eng.renyi_sum(model, num, a if eng in (finite_state, backoff) else num.scalar(a)))


def renyi_threshold(model: Any, *, dps: int | None = None) -> Any:
    """α₀ = inf{α > 0 : Σ_y p(y)^α < ∞}; H_α is finite exactly for α > α₀ (docs/theory.md#c1, #g).

    0 when every α > 0 is finite (e.g. finite support). For a finite-state model, α₀ is the root of
    ρ(A_α) = 1, computed to the working precision.
    """
    eng = _engine(model)
    _require_tight(model, "the Rényi threshold")
    with arithmetic(dps) as num:
        return num.to_output(eng.renyi_threshold(model, num))


@dataclass(frozen=True)
class Measures:
    """All measures of one model; ``None`` marks an undefined measure, with the reason in ``undefined``."""

    tight: bool
    mass: Any
    entropy: Any
    varentropy: Any
    expected_length: Any
    eos_bound: Any
    length_tail_rate: Any
    renyi: dict[str, Any]
    renyi_finite_above: Any
    units: str = "nats"
    dps: int | None = None
    undefined: dict[str, str] = field(default_factory=dict)
    #: ξ > 0, decided exactly (ξ = 1e-400 is eos-bounded although its float64 value is 0)
    eos_bounded: bool | None = None
    #: the accuracy contract of the numbers, and the measures that needed the certified path (and how)
    accuracy: dict[str, Any] = field(default_factory=dict)
    #: notes on the input that bear on the results (rows that miss 1 within the tolerance)
    warnings: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``typicality measures --json`` contract: numbers, ``"inf"`` for infinities, null if undefined."""

        def out(x: Any) -> Any:
            if x is None or isinstance(x, bool):
                return x
            if isinstance(x, float | int):
                return "inf" if math.isinf(x) else x
            if isinstance(x, mpmath.mpf):
                return "inf" if mpmath.isinf(x) else Decimal(mpmath.nstr(x, self.dps or 17, min_fixed=-math.inf,
                                                                          max_fixed=math.inf, strip_zeros=False))
            return x

        return {
            "tight": self.tight,
            "mass": out(self.mass),
            "entropy": out(self.entropy),
            "varentropy": out(self.varentropy),
            "expected_length": out(self.expected_length),
            "eos_bound": out(self.eos_bound),
            "length_tail_rate": out(self.length_tail_rate),
            "renyi": {k: out(v) for k, v in self.renyi.items()},
            "renyi_finite_above": out(self.renyi_finite_above),
            "units": self.units,
            "dps": self.dps,
            "undefined": dict(self.undefined),
            "eos_bounded": self.eos_bounded,
            "accuracy": dict(self.accuracy),
            "warnings": list(self.warnings),
        }


def measures(model: Any, alphas: Iterable[Any] = DEFAULT_ALPHAS, *, dps: int | None = None,
             units: str = "nats") -> Measures:
    """Every measure of ``model`` at once; Rényi entropies at ``alphas`` (keys: α as written).

    A measure that is undefined (or that cannot be given to the accuracy contract: :class:`AccuracyError`, e.g.
    a finite value beyond float64's range) is ``None`` with the reason in ``undefined``; bad input, including
    rows whose deviation from 1 would make the results contradict the model (:class:`RowSumError`), raises.
    """
    eng = _engine(model)
    _check_units(units)
    if isinstance(alphas, str | bytes | int | float | Fraction) or not isinstance(alphas, Iterable):
        alphas = [alphas]  # one order, not the characters of a string
    alphas = list(alphas)
    labels = [str(a) if not isinstance(a, str) else a for a in alphas]
    for a in alphas:
        parse_alpha(a)
    undefined: dict[str, str] = {}

    def attempt(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            value = fn(*args, **kwargs)
        except UndefinedMeasureError as e:
            undefined[name] = str(e)
            return None
        except AccuracyError as e:
            undefined[name] = f"not available to the accuracy contract: {e}"
            return None
        if (isinstance(value, float) and math.isnan(value)) or (isinstance(value, mpmath.mpf) and mpmath.isnan(value)):
            raise ArithmeticError(f"internal error: {name} came out NaN; please report the model")
        return value

    shared = finite_state.shared_work() if eng in (finite_state, backoff) else contextlib.nullcontext()
    with shared, recording_escalations() as escalated, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RowSumWarning)
        renyi = {label: attempt(f"renyi[{label}]", renyi_entropy, model, a, dps=dps, units=units)
                 for label, a in zip(labels, alphas, strict=True)}
        result = Measures(
            tight=is_tight(model),
            mass=attempt("mass", mass, model, dps=dps),
            entropy=attempt("entropy", entropy, model, dps=dps, units=units),
            varentropy=attempt("varentropy", varentropy, model, dps=dps, units=units),
            expected_length=attempt("expected_length", expected_length, model, dps=dps),
            eos_bound=eos_bound(model, dps=dps),
            length_tail_rate=attempt("length_tail_rate", length_tail_rate, model, dps=dps),
            renyi=renyi,
            renyi_finite_above=attempt("renyi_finite_above", renyi_threshold, model, dps=dps),
            units=units,
            dps=dps,
            undefined=undefined,
            eos_bounded=_eos_bounded(model),
        )
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, RowSumWarning)))
    for w in caught:  # hand the warnings on to the caller's filters
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    accuracy: dict[str, Any] = {"contract": CONTRACT if dps is None else dps_contract(dps)}
    if escalated:
        accuracy["certified"] = dict(escalated)
    return dataclasses.replace(result, accuracy=accuracy, warnings=notes)


def _eos_bounded(model: Any) -> bool:
    """ξ > 0, decided from the exact probabilities where the model has them."""
    if isinstance(model, FiniteStateLM):
        return finite_state.eos_bound_exact(model) > 0
    if isinstance(model, BackoffLM):
        return backoff.eos_bounded(model)
    return bool(eos_bound(model) > 0)
