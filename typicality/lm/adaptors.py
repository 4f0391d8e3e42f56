"""Sampling adaptors in torch, evaluated where the logits are (docs/theory.md#b9, Eq. 39).

The numpy classes of :mod:`typicality.adaptors` define every transform function T(p) = S(p)·1{v ∈ C(p)} and stay
the reference; :class:`DeviceAdaptor` evaluates the same T on a torch tensor of logits, on its device (CPU or GPU),
in float64 by default (float32 optional), without a round trip through numpy.

It works in log space on the logits x (p = softmax(x), lse = log Σ_v e^{x_v}). A state (scores s, offset o) with
log T(p)(v) = s_v − o starts at (x, lse(x)); then, step by step,

* temperature τ: (s, o) ← (s/τ, o/τ), i.e. T(p) = p^{1/τ};
* a truncation keeps v ∈ C(q), q = softmax(s) (the renormalized current weights, as in ``Compose``), and sets
  s_v = −∞ off the kept set; o is unchanged.

Every kept set of ``typicality.adaptors.truncation`` is a threshold on q, hence on s (log q_v = s_v − lse(s)), so
each step computes one threshold per row and one comparison; no step needs p itself:

=============  =================================================================================================
adaptor        kept set on the current scores s (m = max s, lse = lse(s), μ = E_q[s] = Σ_v q_v s_v, H = lse − μ)
=============  =================================================================================================
``TopK(k)``    s_v ≥ the k-th largest score (ties with it kept)
``TopP(p)``    s_v ≥ s_(c), c = #{i : Σ_{j<i} q_(j) < p} in descending order (the boundary tie class kept whole)
``Typical(p)`` |s_v − μ| ≤ the distance of the token where the mass sorted by |s − μ| reaches p
               (|−log q_v − H| = |s_v − μ|: the typical score is the distance from the mean score); p = 1 keeps all
``Epsilon(ε)`` s_v ≥ min(m, lse + log ε)
``Eta(ε)``     s_v ≥ min(m, lse + log η), log η = min(log ε, ½ log ε − H)
``MinP(p)``    s_v ≥ m + log p
=============  =================================================================================================

Equal scores are always kept or dropped together. Where this can differ from numpy's
``weights(softmax_rows(x))`` (all rounding-level; tests/test_lm_adaptors.py skips exactly these draws):

* a comparison within rounding of its threshold (torch and numpy sum and exponentiate in different orders);
* ties are those of the logits: two different logits whose float64 probabilities round to the same number (e.g. 0
  and 1e-300) are a tie for numpy, kept or dropped together, but two values here;
* a finite logit whose probability underflows float64 (x < max x − 745) has weight 0 in numpy; here it keeps a
  finite score, with exp(score − offset) = 0;
* ``Typical(1.0)`` keeps every token of positive probability, as documented; numpy's can drop tokens of
  probability ~1e-17 when its float64 cumulative sum reaches 1 before them.

Precision: thresholds, normalizers and entropies are computed in ``dtype``; comparisons are exact on the scores as
they are (a float32 logit is compared with the float32 number just at or above a float64 threshold), so float32
logits are converted only when float64 scores are asked for, once, into the output. Top-p and typical sort only
the best candidates of each row (1,024, then 4× more where the mass is not reached), not the whole vocabulary.
Top-k with k ≪ V writes its survivors into rows of −∞ (no pass over the scores). On the CPU a batch goes in
blocks of rows that fit in cache (the several passes of a step cost about one trip to memory), and thresholds are
applied row by row in one fused pass.

>>> import torch
>>> from typicality.adaptors import make
>>> scores, offset = to_device(make("top_p", p=0.9)).transform(torch.tensor([[2.0, 1.0, 0.0, -1.0]]))
>>> scores
tensor([[2., 1., 0., -inf]], dtype=torch.float64)
>>> (scores - offset[..., None]).exp()            # T(p) = make("top_p", p=0.9).weights(softmax(x))
tensor([[0.6439, 0.2369, 0.0871, 0.0000]], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from typicality.adaptors.base import Adaptor
from typicality.adaptors.scaling import Temperature
from typicality.adaptors.truncation import Epsilon, Eta, MinP, TopK, TopP, Typical

#: on the CPU, rows are processed in blocks of about this many bytes of float64 scores (kept in cache)
CPU_BLOCK_BYTES = 8 << 20
#: on the CPU, rows at least this long are thresholded row by row (one fused pass) rather than through a mask
ROWWISE_VOCAB = 2048
#: top-p and typical sort only the K best candidates of a row, K = this, growing by GROWTH until the mass is reached
FIRST_CANDIDATES = 1024
GROWTH = 4
#: top-k writes its survivors into a row of −∞ when the row is at least this many times longer than k + 1
SPARSE_TOP_K = 16
#: scores − max below this are clamped before exp (exp underflows long before) so that 0 · (−∞) never occurs
_FLOOR = -1e4

_NEG_INF = float("-inf")
#: below torch's grain size (32,768 elements), an elementwise op runs on the calling thread alone
_SERIAL_ELEMENTS = 32_000
_DTYPES = (torch.float32, torch.float64)


class _State:
    """The (scores, offset) pair of one block of rows, with per-row statistics cached until the scores change.

    ``s`` holds the scores in the working dtype (the logits' own float dtype while only truncations have been
    applied) or in the compute dtype ``dtype``; ``owned`` says whether ``s`` may be modified in place. ``out`` is
    where the final scores go: the first step that changes s writes there when its dtype holds s exactly.
    ``rowwise`` (long CPU rows): drop by a threshold with one fused in-place pass per row instead of a mask.
    """

    def __init__(self, s: Tensor, top: Tensor, dtype: torch.dtype, out: Tensor, *, rowwise: bool,
                 want_offset: bool) -> None:
        self.s = s
        self.owned = False
        self.dtype = dtype
        self.out = out
        self.rowwise = rowwise
        self.top: Tensor | None = top  # max of s per row, in s.dtype
        self.log_mass: Tensor | None = None  # log Σ_v e^{s_v − top} (compute dtype)
        self.mean_gap: Tensor | None = None  # E_q[s] − top (compute dtype)
        self.want_offset = want_offset
        self.offset: Tensor | None = None  # lse(logits), then scaled with s; computed before s first changes

    def settle_offset(self) -> None:
        """The offset starts as lse of the logits: take it (from the cache if a step computed it) before s changes."""
        if self.want_offset and self.offset is None:
            self.offset = self.log_normalizer()

    def _move(self, target: Tensor) -> Tensor:
        """Make ``target`` (a tensor at least as precise as s) the scores, owned, and return it."""
        if target is not self.s:
            target.copy_(self.s)
            self.s, self.owned = target, True
            if self.top is not None:
                self.top = self.top.to(target.dtype)
        return target

    def writable(self) -> Tensor:
        """s, made safe to modify in place: moved into ``out`` when out's dtype holds it exactly, else copied."""
        if self.owned:
            return self.s
        if self.out.dtype == self.s.dtype or self.out.dtype == torch.float64:
            return self._move(self.out)
        return self._move(self.s.clone())

    def in_compute_dtype(self) -> Tensor:
        """s in the compute dtype; when the output has that dtype, s is moved there once and worked on there."""
        if self.s.dtype != self.dtype and self.out.dtype == self.dtype:
            self._move(self.out)
        return self.s if self.s.dtype == self.dtype else self.s.to(self.dtype)

    def finish(self) -> None:
        """Write s to the output (unless a step already wrote it there)."""
        self.settle_offset()
        if self.s is not self.out:
            self.out.copy_(self.s)

    def max(self) -> Tensor:
        if self.top is None:
            self.top = self.s.amax(dim=-1)
        return self.top

    def max_c(self) -> Tensor:
        """max s per row in the compute dtype (exact: a float32 number is a float64 number)."""
        return self.max().to(self.dtype)

    def shifted(self) -> Tensor:
        """s − max s in the compute dtype, as a new tensor."""
        return self.in_compute_dtype() - self.max_c()[:, None]

    def log_normalizer(self) -> Tensor:
        """lse(s) = max s + log Σ_v e^{s_v − max s} per row, in the compute dtype."""
        if self.log_mass is None:
            self.log_mass = self.shifted().exp_().sum(dim=-1).log_()
        return self.max_c() + self.log_mass

    def moments(self) -> tuple[Tensor, Tensor]:
        """(lse(s), E_q[s]) per row, q = softmax(s); the entropy is H(q) = lse − E_q[s] (nats)."""
        if self.log_mass is None or self.mean_gap is None:
            z = self.shifted().clamp_min_(_FLOOR)  # −∞ → _FLOOR: e^{_FLOOR} = 0, so z·e = 0 instead of NaN
            e = z.exp()
            mass = e.sum(dim=-1)
            self.mean_gap = e.mul_(z).sum(dim=-1).div_(mass)
            self.log_mass = mass.log_()
        top = self.max_c()
        return top + self.log_mass, top + self.mean_gap

    def entropy(self) -> Tensor:
        """H(q) = log Σ e^{s − m} − E_q[s − m], relative to the max m (no cancellation when m is large)."""
        self.moments()
        assert self.log_mass is not None and self.mean_gap is not None
        return self.log_mass - self.mean_gap

    def changed(self, *, keeps_max: bool) -> None:
        self.log_mass = self.mean_gap = None
        if not keeps_max:
            self.top = None

    def drop(self, mask: Tensor, *, keeps_max: bool = True) -> None:
        """s_v ← −∞ where ``mask``; the row maxima survive unless ``keeps_max`` is False."""
        self.settle_offset()
        if not self.owned and self.out.dtype == self.s.dtype:
            self.s = torch.where(mask, self.s.new_full((), _NEG_INF), self.s, out=self.out)
            self.owned = True
        else:
            self.writable().masked_fill_(mask, _NEG_INF)
        self.changed(keeps_max=keeps_max)

    def drop_below(self, threshold: Tensor) -> None:
        """Drop s_v < threshold (per row; any float dtype), comparing exactly in the dtype of s; the max survives."""
        if not self.rowwise:
            self.drop(self.s < at_least(threshold, self.s.dtype)[:, None])
            return
        self.settle_offset()
        s = self.writable()
        # s ≥ t ⇔ s > the number just below t, which is what threshold_ tests: one fused pass per row, no mask;
        # in pieces too small for torch to split over threads (no thread barrier per call, which costs a
        # scheduler time slice whenever another process holds a core)
        below = torch.nextafter(at_least(threshold, s.dtype), s.new_full((), _NEG_INF)).tolist()
        for row, value in zip(s, below, strict=True):
            for piece in row.split(_SERIAL_ELEMENTS):
                torch.nn.functional.threshold_(piece, value, _NEG_INF)
        self.changed(keeps_max=True)

    def keep_only(self, index: Tensor, values: Tensor) -> None:
        """s ← −∞ except s[row, index] = values (the kept scores, which include each row's max)."""
        self.settle_offset()
        if self.owned:
            target = self.s
        elif self.out.dtype == self.s.dtype or self.out.dtype == torch.float64:
            target = self.out
        else:
            target = torch.empty_like(self.s)
        target.fill_(_NEG_INF).scatter_(-1, index, values.to(target.dtype))
        self.s, self.owned = target, True
        if self.top is not None:
            self.top = self.top.to(target.dtype)
        self.changed(keeps_max=True)

    def scale(self, t: float) -> None:
        """Temperature: (s, offset) ← (s/t, offset/t), in the compute dtype."""
        self.settle_offset()
        if self.s.dtype == self.dtype and not self.owned:
            self.s = torch.div(self.s, t, out=self.out) if self.out.dtype == self.dtype else self.s / t
        else:  # s is ours, or a new tensor in the compute dtype (possibly the output)
            self.s = self.in_compute_dtype().div_(t)
        self.owned = True
        if self.top is not None:
            self.top = self.top.to(self.dtype) / t  # rounding is monotone: max(s/t) = (max s)/t exactly
        self.changed(keeps_max=True)
        if self.offset is not None:
            self.offset = self.offset / t


def at_least(threshold: Tensor, dtype: torch.dtype) -> Tensor:
    """The smallest number of ``dtype`` ≥ ``threshold``: for s of that dtype, s ≥ result ⇔ s ≥ threshold exactly."""
    if threshold.dtype == dtype:
        return threshold
    rounded = threshold.to(dtype)
    up = torch.nextafter(rounded, torch.full_like(rounded, math.inf))
    return torch.where(rounded.to(threshold.dtype) < threshold, up, rounded)


# ---- one function per adaptor: the kept set of the current state, written as drops ----------------------------


def _temperature(state: _State, step: Temperature) -> None:
    if step.t != 1.0:
        state.scale(step.t)


def _top_k(state: _State, step: TopK) -> None:
    k, V = step.k, state.s.shape[-1]
    if k >= V:
        return  # every token is among the k best (zero-probability ones stay −∞)
    if (k + 1) * SPARSE_TOP_K > V:
        state.drop_below(state.max() if k == 1 else torch.topk(state.s, k, dim=-1, sorted=False).values.amin(dim=-1))
        return
    # few survivors: write them into a row of −∞ (no pass over the scores), unless some row has a tie with its
    # k-th value beyond the k returned (then every score ≥ the k-th value is kept, by a threshold)
    vals, idx = torch.topk(state.s, k + 1, dim=-1, sorted=True)
    if bool((vals[:, k] < vals[:, k - 1]).all()):
        state.keep_only(idx[:, :k], vals[:, :k])
    else:
        state.drop_below(vals[:, k - 1])


def _top_p(state: _State, step: TopP) -> None:
    if step.p >= 1:
        return  # C(p) = {q > 0}: nothing to drop
    lse = state.log_normalizer()

    def boundary(vals: Tensor, idx: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        q = (vals.to(state.dtype) - lse[rows, None]).exp_()  # probabilities of the K best, descending
        cum = q.cumsum(dim=-1)
        count = ((cum - q) < step.p).sum(dim=-1)  # positions whose preceding mass is < p: the nucleus size
        return count - 1, count < vals.shape[-1]

    state.drop_below(_adaptive_select(state.s, boundary, largest=True))


def _typical(state: _State, step: Typical) -> None:
    if step.p >= 1:
        return  # documented: p = 1 keeps every token of positive probability
    lse, mean = state.moments()
    s_c = state.in_compute_dtype()
    distance = (s_c - mean[:, None]).abs_()  # |−log q − H| = |s − E_q[s]|; −∞ scores are at distance ∞
    V = distance.shape[-1]

    def boundary(vals: Tensor, idx: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        source = s_c if rows.numel() == s_c.shape[0] else s_c[rows]
        q = (source.gather(-1, idx) - lse[rows, None]).exp_()  # in order of increasing distance
        count = (q.cumsum(dim=-1) < step.p).sum(dim=-1)
        return count.clamp(max=V - 1), count < vals.shape[-1]

    threshold = _adaptive_select(distance, boundary, largest=False)
    state.drop(distance > threshold[:, None], keeps_max=False)


def _epsilon(state: _State, step: Epsilon) -> None:
    cut = state.log_normalizer() + math.log(step.eps)
    state.drop_below(torch.minimum(cut, state.max_c()))  # q ≥ ε, or a most probable token


def _eta(state: _State, step: Eta) -> None:
    lse, _ = state.moments()
    log_eps = math.log(step.eps)
    log_eta = torch.clamp(0.5 * log_eps - state.entropy(), max=log_eps)  # η = min(ε, √ε·e^{−H})
    state.drop_below(torch.minimum(lse + log_eta, state.max_c()))


def _min_p(state: _State, step: MinP) -> None:
    state.drop_below(state.max_c() + math.log(step.p))  # q ≥ p·max q ⇔ s ≥ max s + log p


_KERNELS: dict[type[Adaptor], Callable[[_State, Any], None]] = {
    Temperature: _temperature, TopK: _top_k, TopP: _top_p, Typical: _typical, Epsilon: _epsilon, Eta: _eta,
    MinP: _min_p,
}


def _adaptive_select(values: Tensor, boundary: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]], *,
                     largest: bool) -> Tensor:
    """The per-row value at a position of the sorted row, sorting only the K best candidates.

    ``boundary(vals, idx, rows)`` receives the K best values of the rows ``rows`` in sorted order (and their
    indices) and returns the wanted position in that order and whether it is known from these K alone (the
    cumulative mass reached its target before K); the others are retried with GROWTH·K candidates, up to a full sort.
    """
    n, V = values.shape
    out = torch.empty(n, dtype=values.dtype, device=values.device)
    rows = torch.arange(n, device=values.device)
    k = min(V, FIRST_CANDIDATES)
    while rows.numel():
        part = values if rows.numel() == n else values[rows]
        vals, idx = torch.topk(part, k, dim=-1, largest=largest, sorted=True)
        pos, known = boundary(vals, idx, rows)
        if k == V:
            known = torch.ones_like(known)
        out[rows] = vals.gather(-1, pos.clamp(max=k - 1)[:, None])[:, 0]  # rows not known yet: redone below
        rows = rows[~known]
        k = min(V, k * GROWTH)
    return out


# ---- the public class ------------------------------------------------------------------------------------------


def check_logits(x: Any, *, name: str = "logits") -> None:
    """TypeError unless ``x`` is a real floating tensor with a non-empty last (vocabulary) axis."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch tensor (last axis = vocabulary), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold real floating-point numbers, got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last (vocabulary) axis, got shape {tuple(x.shape)}")


def _report_bad_rows(block: Tensor, top: Tensor, first_row: int, shape: tuple[int, ...], name: str) -> None:
    """ValueError naming the first row of ``block`` (rows first_row, ... of the logits, of shape ``shape``) whose
    max is NaN, +∞ or −∞: one reduction found them, this says why."""
    bad = ~torch.isfinite(top)
    if not bool(bad.any()):  # the one host synchronization of a call on a GPU
        return
    i = int(torch.nonzero(bad)[0, 0])
    row = first_row + i
    index = tuple(int(j) for j in torch.unravel_index(torch.tensor(row), shape[:-1])) if len(shape) > 1 else ()
    values = block[i]
    wrong = torch.isnan(values) | torch.isposinf(values)
    if bool(wrong.any()):
        j = int(torch.nonzero(wrong)[0, 0])
        raise ValueError(f"{name} has the entry {float(values[j])!r} at index {(*index, j)}; logits must be finite "
                         "or −inf")
    where = "" if not index else f" row {index[0]}" if len(index) == 1 else f" row {index}"
    raise ValueError(f"{name}{where} is all −inf: no symbol has positive probability")


class DeviceAdaptor:
    """A typicality Adaptor (any, including Compose) evaluated with torch on the logits' device.

    ``transform(x)`` returns (scores, offset) with log T(softmax(x))(v) = scores[..., v] − offset[..., None]:
    log Z_t = logsumexp(scores) − offset is the per-step mass (the IMHA weight) and log q_T = log_softmax(scores).
    ``process(x)`` returns the scores alone (softmax(scores) = q_T), which is all sampling needs and skips the
    normalizer when no step needs it. An instance is also a transformers ``LogitsProcessor``.

    ``dtype`` (float64 or float32) is the precision of every threshold, normalizer and output score.
    ``validate`` (default True; each method can override it) checks for NaN, +∞ and all −∞ rows with one max
    reduction per call, which the computation needs anyway, plus one host synchronization on a GPU.
    """

    def __init__(self, adaptor: Adaptor, *, dtype: torch.dtype = torch.float64, validate: bool = True) -> None:
        if not isinstance(adaptor, Adaptor):
            raise TypeError(f"adaptor must be a typicality Adaptor, got {adaptor!r}")
        for step in adaptor.steps:
            if type(step) not in _KERNELS:
                raise TypeError(f"adaptor step {step!r} has no torch implementation; known: "
                                f"{sorted(c.__name__ for c in _KERNELS)}")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype!r}")
        self.adaptor = adaptor
        self.dtype = dtype
        self.validate = bool(validate)
        self._steps = tuple((_KERNELS[type(step)], step) for step in adaptor.steps)

    def __repr__(self) -> str:
        return f"DeviceAdaptor({self.adaptor!r}, dtype={self.dtype})"

    def transform(self, logits: Tensor, *, validate: bool | None = None) -> tuple[Tensor, Tensor]:
        """(scores, offset): scores in ``dtype``, −inf off the kept set; offset of shape (...,) such that
        log T(softmax(logits))(v) = scores[..., v] − offset[..., None]."""
        scores, offset = self._run(logits, self.dtype, want_offset=True, validate=validate)
        assert offset is not None
        return scores, offset

    def log_weights(self, logits: Tensor, *, validate: bool | None = None) -> Tensor:
        """log T(softmax(logits)): −inf off the kept set; exp gives ``Adaptor.weights`` of the probabilities."""
        scores, offset = self.transform(logits, validate=validate)
        return scores.sub_(offset[..., None])

    def process(self, logits: Tensor, *, validate: bool | None = None) -> Tensor:
        """Scores in ``dtype`` with softmax(scores) = q_T (HF-style); the fast path, no offset."""
        return self._run(logits, self.dtype, want_offset=False, validate=validate)[0]

    def __call__(self, input_ids: Any, scores: Tensor) -> Tensor:
        """transformers ``LogitsProcessor`` protocol: ``process(scores)`` cast back to ``scores.dtype``."""
        return self._run(scores, scores.dtype if isinstance(scores, Tensor) else self.dtype, want_offset=False,
                         validate=None)[0]

    # ---- the engine ----

    def _run(self, logits: Tensor, out_dtype: torch.dtype, *, want_offset: bool,
             validate: bool | None) -> tuple[Tensor, Tensor | None]:
        check_logits(logits)
        shape = tuple(logits.shape)
        V = shape[-1]
        # working dtype: float32 logits stay float32 (exact comparisons against rounded thresholds); half types are
        # widened exactly; float64 logits are narrowed only when the computation is float32
        work = torch.float64 if (logits.dtype == torch.float64 and self.dtype == torch.float64) else torch.float32
        x = logits.detach().reshape(-1, V)
        if x.dtype != work:
            x = x.to(work)
        check = self.validate if validate is None else validate
        n = x.shape[0]
        out = torch.empty((n, V), dtype=out_dtype, device=x.device)
        offset = torch.empty(n, dtype=self.dtype, device=x.device) if want_offset else None
        on_cpu = x.device.type == "cpu"
        step_rows = max(1, CPU_BLOCK_BYTES // (8 * V)) if on_cpu else n
        rowwise = on_cpu and V >= ROWWISE_VOCAB
        for lo in range(0, n, step_rows):
            hi = min(n, lo + step_rows)
            block = x[lo:hi]
            top = block.amax(dim=-1)  # NaN and +inf propagate, an all −inf row gives −inf: one pass validates
            if check:
                _report_bad_rows(block, top, lo, shape, "logits")
            state = _State(block, top, self.dtype, out[lo:hi], rowwise=rowwise, want_offset=want_offset)
            for kernel, step in self._steps:
                kernel(state, step)
            state.finish()
            if offset is not None:
                assert state.offset is not None
                offset[lo:hi] = state.offset
        return out.reshape(shape), (offset.reshape(shape[:-1]) if offset is not None else None)


def to_device(adaptor: Adaptor, *, dtype: torch.dtype = torch.float64, validate: bool = True) -> DeviceAdaptor:
    """``DeviceAdaptor(adaptor, dtype=dtype)``: the adaptor evaluated with torch wherever its logits are."""
    return DeviceAdaptor(adaptor, dtype=dtype, validate=validate)


__all__ = ["CPU_BLOCK_BYTES", "DeviceAdaptor", "at_least", "check_logits", "to_device"]
