"""The adaptor protocol: a transform function T = truncation ∘ scaling on local distributions (docs/theory.md#b9).

An adaptor maps a next-symbol distribution p ∈ Δ^{|V|−1} to non-negative, *unnormalized* weights T(p) (Eq. 39):

    T(p)(v) = S(p)(v) · 1{v ∈ C(p)}.

Normalizing T(p) at every step gives the locally normalized adaptor q_T (Eq. 5); multiplying T(p(·|y_<t))(y_t) along a
string gives the globally normalized score π̃_T (Eq. 6). So the scale of T(p) matters (it is the IMHA weight), and
``weights`` requires a normalized p: a row that does not sum to 1 is an error, never silently renormalized.

Arrays: float64, the last axis is the vocabulary, any leading batch axes. Large batches are split by rows over a
thread pool (numpy releases the GIL), like torch's intra-op threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from typicality.parallel import plan, run_ranges

#: a row of ``probs`` must sum to 1 within this (float32 softmax output passes; a typo does not)
ROW_SUM_TOLERANCE = 1e-6
#: split a batch over threads above this many elements
PARALLEL_THRESHOLD = 1 << 19

def run_rows(fn: Callable[[int, int], None], n_rows: int, row_size: int) -> None:
    """Call fn(lo, hi) on row ranges covering [0, n_rows), in parallel when the batch is large."""
    run_ranges(fn, plan(n_rows, parallel=n_rows * row_size >= PARALLEL_THRESHOLD))


def as_probability_rows(probs: Any, *, name: str = "probs") -> np.ndarray:
    """``probs`` as a float64 array with a vocabulary axis (no copy when it already is one)."""
    if isinstance(probs, list | tuple):
        probs = np.asarray(probs, dtype=np.float64)
    if not isinstance(probs, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (last axis = vocabulary), got {type(probs).__name__}")
    if probs.ndim == 0 or probs.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last (vocabulary) axis, got shape {probs.shape}")
    if probs.dtype != np.float64:
        if not np.issubdtype(probs.dtype, np.number) or np.issubdtype(probs.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {probs.dtype}")
        probs = probs.astype(np.float64)
    return probs


def check_probability_block(block: np.ndarray, offset: int, *, name: str = "probs") -> None:
    """Rows of non-negative finite numbers summing to 1 within ROW_SUM_TOLERANCE (one pass for sums, one for min)."""
    sums = block.sum(axis=-1)
    bad = ~(np.abs(sums - 1.0) <= ROW_SUM_TOLERANCE)  # NaN and inf fail this too
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = block[i]
        if not np.all(np.isfinite(row)):
            j = int(np.flatnonzero(~np.isfinite(row))[0])
            raise ValueError(f"{name} row {offset + i} has the non-finite entry {float(row[j])!r} at index {j}")
        if sums[i] == 0:
            raise ValueError(f"{name} row {offset + i} is all zero (every logit −inf?)")
        raise ValueError(f"{name} row {offset + i} sums to {float(sums[i])!r}, not 1 (tolerance "
                         f"{ROW_SUM_TOLERANCE:g}); pass normalized probabilities (weights_from_logits takes logits)")
    low = block.min(axis=-1)
    if (low < 0).any():
        i = int(np.flatnonzero(low < 0)[0])
        raise ValueError(f"{name} row {offset + i} has the negative entry {float(low[i])!r}")


def softmax_rows(logits: Any, *, name: str = "logits") -> np.ndarray:
    """float64 softmax over the last axis; NaN, +inf or an all −inf row is a ValueError naming the row."""
    x = as_probability_rows(logits, name=name)
    if np.isnan(x).any() or np.isposinf(x).any():
        idx = np.argwhere(np.isnan(x) | np.isposinf(x))[0]
        raise ValueError(f"{name} has the entry {float(x[tuple(idx)])!r} at index {tuple(int(i) for i in idx)}; logits "
                         "must be finite or −inf")
    top = x.max(axis=-1, keepdims=True)
    if np.isneginf(top).any():
        row = int(np.flatnonzero(np.isneginf(top).reshape(-1))[0])
        raise ValueError(f"{name} row {row} is all −inf: no symbol has positive probability")
    e = np.exp(x - top)
    return e / e.sum(axis=-1, keepdims=True)


class Adaptor:
    """Base class. Truncation subclasses implement ``keep(q)``; scaling subclasses ``_apply(w, out=...)``.

    ``is_truncation`` adaptors only zero entries (``keep`` gives the kept set, computed on the normalized current
    weights); scaling adaptors rescale them.
    """

    name: str = "adaptor"
    is_truncation: bool = True

    def _apply(self, w: np.ndarray, *, out: np.ndarray) -> None:
        """Scaling adaptors: write the rescaled weights of ``w`` to ``out`` (which may be ``w``)."""
        raise NotImplementedError

    def keep(self, q: np.ndarray) -> np.ndarray:
        """The kept set (boolean mask) of each row of a normalized block ``q`` (truncation adaptors)."""
        raise NotImplementedError

    @property
    def steps(self) -> tuple[Adaptor, ...]:
        return (self,)

    def weights(self, probs: Any, *, validate: bool = True, out: np.ndarray | None = None) -> np.ndarray:
        """T(p): the unnormalized transformed weights of normalized next-symbol distributions ``probs``."""
        p = as_probability_rows(probs)
        V = p.shape[-1]
        rows = p.reshape(-1, V)
        if out is not None and (not isinstance(out, np.ndarray) or out.shape != p.shape or out.dtype != np.float64):
            raise ValueError(f"out must be a float64 array of shape {p.shape}, got {getattr(out, 'dtype', None)} "
                             f"{getattr(out, 'shape', None)}")
        result = np.empty_like(rows) if out is None else out.reshape(-1, V)

        def block(lo: int, hi: int) -> None:
            if validate:
                check_probability_block(rows[lo:hi], lo)
            w = result[lo:hi]
            steps = self.steps
            if len(steps) == 1 and steps[0].is_truncation:  # the common cases: one pass, no copy
                np.multiply(rows[lo:hi], steps[0].keep(rows[lo:hi]), out=w)
                return
            if len(steps) == 1:
                steps[0]._apply(rows[lo:hi], out=w)
                return
            np.copyto(w, rows[lo:hi])
            normalized = True  # w holds a distribution until a truncation or a scaling step
            for step in steps:
                if step.is_truncation:
                    if normalized:
                        q = w
                    else:  # rows whose scaled weights all underflowed stay 0 whatever the mask (never NaN)
                        tot = w.sum(axis=-1, keepdims=True)
                        q = np.divide(w, tot, out=np.full_like(w, 1.0 / w.shape[-1]), where=tot > 0)
                    np.multiply(w, step.keep(q), out=w)
                else:
                    step._apply(w, out=w)
                normalized = False

        run_rows(block, rows.shape[0], V)
        return result.reshape(p.shape)

    def weights_from_logits(self, logits: Any) -> np.ndarray:
        """T(softmax(logits)); −inf logits are symbols of probability 0."""
        return self.weights(softmax_rows(logits), validate=False)

    def _apply_log(self, logw: np.ndarray) -> np.ndarray:
        """Scaling adaptors: the rescaled log-weights of ``logw`` (log space, for :meth:`local`)."""
        raise NotImplementedError

    def local(self, probs: Any) -> np.ndarray:
        """q_T: the locally normalized distribution T(p) / Σ_v T(p)(v) (Eq. 5).

        Rows whose weights underflow (Σ_v T(p)(v) = 0 in float64, e.g. p^{1/τ} at τ = 0.01 on a flat row of 50,000
        entries) are recomputed in log space, so q_T is never NaN: τ → 0 gives the uniform distribution over the
        most probable symbols."""
        w = self.weights(probs)
        z = w.sum(axis=-1, keepdims=True)
        bad = ~(z > 0)[..., 0]
        if not bad.any():
            return w / z
        p = as_probability_rows(probs)
        out = np.empty_like(w)
        good = ~bad
        out[good] = w[good] / z[good]
        out[bad] = self._local_in_log_space(p[bad])
        return out

    def _local_in_log_space(self, rows: np.ndarray) -> np.ndarray:
        logw = self._log_weights_shifted(rows)
        top = logw.max(axis=-1, keepdims=True)
        q = np.exp(logw - top)
        return q / q.sum(axis=-1, keepdims=True)

    def support(self, probs: Any) -> np.ndarray:
        """Where T(p) > 0 mathematically (a boolean mask like ``probs``), even where the float64 weights underflow:
        a scaling step keeps every positive entry positive, a truncation step keeps its kept set.

        Each truncation step decides on the same normalized weights as :meth:`weights` (so a symbol on the boundary
        of a threshold is kept here exactly when its weight is positive there), except in rows whose weights have
        all underflowed, where the weights are normalized in log space."""
        p = as_probability_rows(probs)
        rows = p.reshape(-1, p.shape[-1])
        with np.errstate(divide="ignore"):
            logw = np.log(rows)
        w = rows.copy()
        normalized = True
        for step in self.steps:
            if step.is_truncation:
                if normalized:
                    q = rows
                else:
                    tot = w.sum(axis=-1, keepdims=True)
                    top = logw.max(axis=-1, keepdims=True)
                    q_log = np.exp(logw - top)
                    q_log /= q_log.sum(axis=-1, keepdims=True)
                    q = np.where(tot > 0, np.divide(w, tot, out=np.zeros_like(w), where=tot > 0), q_log)
                mask = step.keep(q)
                logw = np.where(mask, logw, -np.inf)
                w *= mask
            else:
                top = logw.max(axis=-1, keepdims=True)
                logw = step._apply_log(logw - top)
                step._apply(w, out=w)
            normalized = False
        return np.isfinite(logw).reshape(p.shape)

    def _log_weights_shifted(self, rows: np.ndarray) -> np.ndarray:
        """log T(p) row by row, each row shifted by a constant (−inf off the kept set)."""
        with np.errstate(divide="ignore"):
            logw = np.log(rows)
        for step in self.steps:
            top = logw.max(axis=-1, keepdims=True)
            if step.is_truncation:
                q = np.exp(logw - top)
                q /= q.sum(axis=-1, keepdims=True)
                logw = np.where(step.keep(q), logw, -np.inf)
            else:
                logw = step._apply_log(logw - top)
        return logw

    def __call__(self, probs: Any) -> np.ndarray:
        return self.weights(probs)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"

    def params(self) -> dict[str, Any]:
        return {}

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params() == other.params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.params().items())))
