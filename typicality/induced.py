"""The string distributions an adaptor induces: local q_T (Eq. 5) and global π_T with its normalizer Z_T (Eq. 6–7).

For a deterministic finite-state model every local distribution p(·|y_<t) is the row of one state, so both are
again finite-state models, computed exactly:

* q_T: each row replaced by T(p(·|s)) / Z_t(s). It may fail to be tight (T can remove eos everywhere); the
  result's ``is_tight`` says so, and every exact measure of :mod:`typicality.measures` applies to it.
* π_T: arc weights w(s, a) = T(p(·|s))(a) define π̃_T(y) = Π_t w(s_{t−1}, y_t). The backward normalizers
  Z(s) = Σ over continuations from s solve Z = e_w + W Z, finite iff ρ(W) < 1 (docs/theory.md#c7: infinite for high
  temperature), and Z_T = Z(s₀). Weight pushing, π(a | s) = w(s, a) Z(δ(s, a)) / Z(s), turns π_T into a
  tight finite-state model with π_T(y) = π̃_T(y) / Z_T exactly (Eq. 8), whenever 0 < Z_T < ∞.

For other models, :func:`enumerate_global` enumerates π̃_T to a length with the unlisted mass bounded where a
bound exists (truncation-only adaptors and temperatures τ ≤ 1 have π̃_T ≤ p).

>>> from typicality.models import examples
>>> from typicality.adaptors import make
>>> m, top2 = examples.example1_bigram(), make("top_k", k=2)
>>> round(local_model(m, top2).prob("a"), 4), round(local_model(m, top2).prob("b"), 4)    # Example 1's reversal
(0.2493, 0.2571)
>>> g = global_model(m, top2)
>>> g.prob("a") > g.prob("b")                                                              # π_T keeps the order
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor
from typicality.enumeration import enumerate_strings
from typicality.measures.finite_state import components, divergence_margin, live_part, spectral_radius
from typicality.models.autoregressive import AutoregressiveLM
from typicality.models.finite_state import FiniteStateLM
from typicality.numerics import Float64


class NormalizerError(ValueError):
    """Z_T is 0 or ∞, so the globally normalized adaptor does not exist (docs/theory.md#c7); ``normalizer`` says which
    (NaN: the weights underflow float64, so Z_T cannot be computed here)."""

    def __init__(self, message: str, normalizer: float) -> None:
        super().__init__(message)
        self.normalizer = normalizer


#: dense rows handled at once by the adaptor: memory O(BLOCK_ENTRIES) floats, whatever the number of states
BLOCK_ENTRIES = 1 << 22


def _check_adaptor(adaptor: Any) -> None:
    if not isinstance(adaptor, Adaptor):
        raise TypeError(f"adaptor must be a typicality Adaptor, got {adaptor!r}")


def _state_blocks(model: FiniteStateLM) -> list[np.ndarray]:
    """The states in consecutive blocks of at most BLOCK_ENTRIES // (|Σ|+1) (≥ 1) states."""
    size = max(1, BLOCK_ENTRIES // (model.eos_index + 1))
    return [np.arange(lo, min(lo + size, model.n_states)) for lo in range(0, model.n_states, size)]


def arc_weights(model: FiniteStateLM, adaptor: Adaptor) -> tuple[np.ndarray, np.ndarray]:
    """T(p(·|s)) on the arcs of ``model``: (w, row_total), w[k] = T(p(·|src_k))(sym_k) aligned with the arcs and
    row_total[s] = Σ_v T(p(·|s))(v) = Z_t(s).

    T is applied to dense rows a block of states at a time, so memory stays O(block·|Σ| + arcs). A transform
    that gives positive weight to a symbol of probability 0 is an error (the automaton has no arc to carry it).
    """
    _check_adaptor(adaptor)
    w = np.zeros(model.n_arcs, dtype=np.float64)
    total = np.zeros(model.n_states, dtype=np.float64)
    for states in _state_blocks(model):
        dense = adaptor.weights(model.dense_rows(states), validate=False)
        rows, arcs = model._arcs_of(states)
        total[states] = dense.sum(axis=1)
        w[arcs] = dense[rows, model.arc_sym[arcs]]
        dense[rows, model.arc_sym[arcs]] = 0
        off = np.argwhere(dense != 0)
        if off.size:
            r, j = off[0]
            raise ValueError(f"adaptor {adaptor!r} gives weight {dense[r, j]!r} to the symbol {model.symbols[j]!r} "
                             f"of probability 0 in {model._state_noun} {model.states[states[r]]!r}")
    return w, total


def _kept_arcs(model: FiniteStateLM, adaptor: Adaptor) -> np.ndarray:
    """Which arcs the transform keeps (T(p) > 0 mathematically, even where the float64 weights underflow)."""
    kept = np.zeros(model.n_arcs, dtype=bool)
    for states in _state_blocks(model):
        q = adaptor.support(model.dense_rows(states))
        rows, arcs = model._arcs_of(states)
        kept[arcs] = q[rows, model.arc_sym[arcs]]
    return kept


def state_weights(model: FiniteStateLM, adaptor: Adaptor) -> np.ndarray:
    """T(p(·|s)) for every state s: an (n_states, |Σ|+1) array of unnormalized weights.

    Dense, so memory O(states·|Σ|): for large models use :func:`arc_weights`.
    """
    _check_adaptor(adaptor)
    return adaptor.weights(model.dense_rows(np.arange(model.n_states)), validate=False)


def _arc_model(model: FiniteStateLM, weights: np.ndarray, keep: np.ndarray | None = None) -> FiniteStateLM:
    """The model with the same transitions and arc probabilities ``weights`` (arcs of weight 0 dropped), on the
    states where ``keep`` is True (all by default)."""
    if keep is None:
        return FiniteStateLM.from_arcs(model.alphabet, model.eos, model.states, model.start, model.arc_src,
                                       model.arc_sym, model.arc_dst, weights)
    new = np.full(model.n_states, -1, dtype=np.int64)
    new[keep] = np.arange(int(keep.sum()))
    arcs = keep[model.arc_src] & (weights > 0)
    dst = np.where(model.arc_dst[arcs] >= 0, new[model.arc_dst[arcs]], -1)
    states = [model.states[s] for s in np.flatnonzero(keep).tolist()]
    return FiniteStateLM.from_arcs(model.alphabet, model.eos, states, model.start, new[model.arc_src[arcs]],
                                   model.arc_sym[arcs], dst, weights[arcs])


def local_model(model: Any, adaptor: Adaptor) -> Any:
    """q_T (Eq. 5): the locally normalized adaptor applied at every step of ``model``.

    A FiniteStateLM in, a FiniteStateLM out (same states); any other model becomes an AutoregressiveLM.
    """
    if isinstance(model, FiniteStateLM):
        w, total = arc_weights(model, adaptor)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _arc_model(model, w / total[model.arc_src])

    def next_symbol(prefix: tuple[str, ...]) -> np.ndarray:
        return adaptor.local(np.asarray(model.next_symbol_distribution(prefix), dtype=np.float64))

    return AutoregressiveLM(model.alphabet, model.eos, next_symbol)


@dataclass(frozen=True)
class GlobalModel:
    """π_T as a tight finite-state model, its normalizer, and the backward normalizers Z(s) (NaN off π's support)."""

    model: FiniteStateLM
    normalizer: float  # Z_T
    state_normalizers: np.ndarray
    spectral_radius: float  # ρ(W) of the weighted automaton (< 1)

    def prob(self, y: Any) -> float:
        return self.model.prob(y)

    def log_prob(self, y: Any) -> float:
        return self.model.log_prob(y)


def global_normalizer(model: FiniteStateLM, adaptor: Adaptor) -> float:
    """Z_T = Σ_y π̃_T(y) (Eq. 7): ``inf`` when the series diverges, 0 when no string has positive weight, NaN when
    the weights underflow float64 (not a zero)."""
    try:
        return global_model(model, adaptor).normalizer
    except NormalizerError as e:
        return e.normalizer


def global_model(model: FiniteStateLM, adaptor: Adaptor) -> GlobalModel:
    """π_T = π̃_T / Z_T (Eq. 6) by weight pushing; NormalizerError if Z_T is 0 or ∞ (docs/theory.md#c7)."""
    if not isinstance(model, FiniteStateLM):
        raise TypeError(f"global_model needs a FiniteStateLM (use enumerate_global otherwise), got {model!r}")
    arc_weight, _ = arc_weights(model, adaptor)
    live = live_part(model, arc_weight > 0)
    if live.start is None:
        if live_part(model, _kept_arcs(model, adaptor)).start is not None:
            raise NormalizerError("Z_T underflows float64: strings keep positive weight under the transform, but "
                                  "their weights are below the float64 range (e.g. a temperature near 0), so π_T "
                                  "cannot be computed here; this is not Z_T = 0", math.nan)
        raise NormalizerError("Z_T = 0: no string has positive weight under the transform (e.g. eos always "
                              "truncated), so π_T does not exist", 0.0)
    num = Float64()
    arc_w = arc_weight[live.arc]
    rho = float(spectral_radius(num, live, arc_w, components(live)))
    if rho >= 1 - divergence_margin(num, live):
        raise NormalizerError(f"Z_T = ∞: the weighted automaton has spectral radius {rho:.6g} ≥ 1 (e.g. global "
                              "temperature τ > 1 on a long-tailed model, docs/theory.md#c7), so π_T does not exist",
                              math.inf)
    inner = live.dst >= 0
    W = num.matrix(live.n, live.src[inner], live.dst[inner], arc_w[inner])
    e = np.zeros(live.n)
    np.add.at(e, live.src[~inner], arc_w[~inner])
    z_live = num.solve_resolvent(W, e)
    z = np.full(model.n_states, np.nan)
    z[live.states] = z_live
    # weight pushing: π(a | s) = w(s, a) Z(δ(s, a)) / Z(s), π(eos | s) = w(s, eos) / Z(s); arcs into states off
    # π's support (Z NaN) get 0
    keep = ~np.isnan(z)
    to = np.where(model.arc_dst >= 0, model.arc_dst, model.arc_src)
    ahead = np.where(model.arc_dst >= 0, z[to], 1.0)
    pushed = np.where(keep[model.arc_src] & ~np.isnan(ahead) & (arc_weight > 0),
                      arc_weight * np.nan_to_num(ahead) / np.where(keep[model.arc_src], z[model.arc_src], 1.0), 0.0)
    pi = _arc_model(model, pushed, keep)
    return GlobalModel(pi, float(z[model.start_index]), z, rho)


@dataclass(frozen=True)
class GlobalEnumeration:
    """π̃_T on the strings of length ≤ max_length; Z_T ∈ [normalizer_lower, normalizer_upper] (upper: None when no
    bound is available, i.e. with temperature τ > 1)."""

    strings: list
    scores: list[float]  # π̃_T(y)
    normalizer_lower: float
    normalizer_upper: float | None


def _dominated_by_p(adaptor: Adaptor) -> bool:
    """True when T(p) ≤ p pointwise: truncations, and temperatures τ ≤ 1."""
    return all(s.is_truncation or s.params().get("t", 2.0) <= 1.0 for s in adaptor.steps)


def enumerate_global(model: Any, adaptor: Adaptor, max_length: int) -> GlobalEnumeration:
    """π̃_T(y) for every string of length ≤ ``max_length`` with p(y) > 0, and bounds on Z_T."""
    e = enumerate_strings(model, max_length)
    scores = []
    for y in e.strings:
        score = 1.0
        for t in range(len(y) + 1):
            p = np.asarray(model.next_symbol_distribution(y[:t]), dtype=np.float64)
            j = model.symbols.index(y[t]) if t < len(y) else len(model.alphabet)
            score *= float(adaptor.weights(p)[j])
        scores.append(score)
    lower = math.fsum(scores)
    upper = lower + float(e.tail_mass) if _dominated_by_p(adaptor) else None
    return GlobalEnumeration(e.strings, scores, lower, upper)
