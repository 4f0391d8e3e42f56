"""The independent Metropolis–Hastings algorithm (IMHA, Algorithm 1) for globally normalized adaptors.

Target: π_T ∝ π̃_T (Eq. 6). Proposal: q_T, the locally normalized adaptor (Eq. 5), drawn fresh at every step.
The importance weight of a string is w(y) = π̃_T(y) / q_T(y) = Π_{t=1}^{|y|+1} Z_t(y_<t), the product of the
per-step masses of T (docs/theory.md#b2). From the current y, a proposal y′ is accepted iff

    u < min(1, w(y′)/w(y))   ⇔   log w(y′) + E > log w(y),   E = −log u ~ Exp(1),

which is how the kernel runs: in log space, with the exponential variates drawn in one batch.

Correctness that the paper's official code lacks (docs/theory.md#r1, #c12): every proposal is *tested* (the official
code's 1-tuple makes every proposal accepted, so its "global" corpora are the local ones), and with temperature
the target is the tempered π̃_T = Π p^{1/τ}·1{kept}, not the untempered p. ``accept_all=True`` reproduces the
official behaviour for comparison, and :func:`imha_corpus` its proposal scheme (uniform resampling from a finite
generated corpus).

Convergence: w ≤ w* gives P(x, ·) ≥ (Z_T / w*) π_T(·) for every x (Mengersen & Tweedie 1996), so the chain is
uniformly ergodic with ‖Pⁿ(x, ·) − π_T‖_TV ≤ (1 − Z_T/w*)ⁿ; :func:`doeblin_constant` computes Z_T/w* exactly
for finite-state models (w* ≤ 1 for truncations and τ ≤ 1; w may be unbounded for τ > 1).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor
from typicality.induced import arc_weights, global_model, local_model
from typicality.models.base import DEFAULT_MAX_LENGTH, check_rng
from typicality.models.finite_state import FiniteStateLM, SampleBatch
from typicality.parallel import plan, run_ranges

_KERNEL: Any = None


def _python_kernel(log_w: np.ndarray, exponentials: np.ndarray, out: np.ndarray) -> int:
    """Reference kernel: state index after each step; proposal 0 is the initial state."""
    cur, cur_w, accepted = 0, log_w[0], 0
    for t in range(1, len(log_w)):
        if log_w[t] + exponentials[t] > cur_w:
            cur, cur_w = t, log_w[t]
            accepted += 1
        out[t - 1] = cur
    return accepted


def _scan_kernel(log_w: np.ndarray, exponentials: np.ndarray, out: np.ndarray) -> int:
    """The same chain as :func:`_python_kernel`, run as "scan to the next acceptance, then fill": the inner
    loop has no loop-carried dependency, so compiled it runs at about 1 ns per rejected proposal."""
    n = len(log_w)
    cur, cur_w, accepted, t = 0, log_w[0], 0, 1
    while t < n:
        start = t
        while t < n and log_w[t] + exponentials[t] <= cur_w:
            t += 1
        for i in range(start - 1, t - 1):
            out[i] = cur
        if t < n:
            cur, cur_w = t, log_w[t]
            accepted += 1
            out[t - 1] = t
            t += 1
    return accepted


def _kernel() -> Any:
    """The compiled kernel (numba), or the Python reference where numba is unavailable."""
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba

            _KERNEL = numba.njit(cache=True, nogil=True)(_scan_kernel)
        except ImportError:  # pragma: no cover - numba is a dependency; kept for exotic platforms
            _KERNEL = _python_kernel
    return _KERNEL


def imha_kernel(log_weights: np.ndarray, rng: np.random.Generator, *, accept_all: bool = False,
                exponentials: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Run one chain over precomputed proposal log-weights.

    ``log_weights[0]`` is the initial state y⁽⁰⁾ ~ q, ``log_weights[m]`` the m-th proposal. Returns the index of
    the state after each of the M = len(log_weights) − 1 steps, and the number of accepted proposals.
    ``exponentials`` (M + 1 Exp(1) variates; drawn from ``rng`` if None) makes the run reproducible across
    implementations.
    """
    check_rng(rng)
    lw = np.ascontiguousarray(log_weights, dtype=np.float64)
    if lw.ndim != 1 or len(lw) < 2:
        raise ValueError(f"log_weights must be 1-d with at least 2 entries, got shape {lw.shape}")
    if not (lw < np.inf).all():  # one pass: fails on NaN and +inf, allows −inf (weight 0)
        raise ValueError("log_weights must not contain NaN or +inf")
    steps = len(lw) - 1
    out = np.empty(steps, dtype=np.int32 if steps < 2**31 else np.int64)
    if accept_all:
        out[:] = np.arange(1, steps + 1)
        return out, steps
    e = exponential_variates(rng, steps + 1) if exponentials is None else np.asarray(exponentials, np.float64)
    accepted = int(_kernel()(lw, e, out))
    return out, accepted


def exponential_variates(rng: np.random.Generator, n: int) -> np.ndarray:
    """n Exp(1) variates; long runs are drawn by child generators (``rng.spawn``) on the thread pool, which is
    deterministic given ``rng`` and about twice as fast on two cores (numpy releases the GIL while drawing)."""
    ranges = plan(n, parallel=n >= 1 << 18)
    if len(ranges) == 1:
        return rng.standard_exponential(n)
    out = np.empty(n)
    children = dict(zip(ranges, rng.spawn(len(ranges)), strict=True))
    run_ranges(lambda a, b: children[(a, b)].standard_exponential(out=out[a:b]), ranges)
    return out


@dataclass(frozen=True)
class IMHAResult:
    """Chains of an IMHA run. ``states[c, m]`` indexes ``proposals`` (row c·(M+1) + j is chain c's j-th draw)."""

    proposals: SampleBatch
    log_weights: np.ndarray  # (chains, M + 1)
    states: np.ndarray  # (chains, M), index into the chain's own proposals
    accepted: np.ndarray  # (chains,)

    @property
    def acceptance_rate(self) -> np.ndarray:
        return self.accepted / self.states.shape[1]

    def chain_rows(self, chain: int) -> np.ndarray:
        """Rows of ``proposals`` visited by ``chain``, one per step."""
        return chain * (self.states.shape[1] + 1) + self.states[chain]

    def chain_strings(self, chain: int) -> list[tuple[str, ...]]:
        names = self.proposals.model.alphabet
        rows = self.chain_rows(chain)
        return [tuple(names[j] for j in self.proposals.symbols[r, : self.proposals.lengths[r]]) for r in rows]

    def trace(self, values: np.ndarray) -> np.ndarray:
        """Per-proposal ``values`` (one per row of ``proposals``) along every chain: shape (chains, M).

        E.g. ``effective_sample_size(result.trace(result.proposals.lengths))`` for the length projection, or
        ``result.trace(result.proposals.log_probs)`` for log q_T.
        """
        v = np.asarray(values)
        chains, m = self.states.shape
        if v.shape[0] != chains * (m + 1):
            raise ValueError(f"values must have one entry per proposal ({chains * (m + 1)}), got {v.shape[0]}")
        return v.reshape(chains, m + 1)[np.arange(chains)[:, None], self.states]

    def final_rows(self) -> np.ndarray:
        """Row of the last state of every chain."""
        m = self.states.shape[1]
        return np.arange(self.states.shape[0]) * (m + 1) + self.states[:, -1]


def log_step_masses(model: FiniteStateLM, adaptor: Adaptor) -> np.ndarray:
    """log Z_t(s) = log Σ_v T(p(·|s))(v) for every state s."""
    with np.errstate(divide="ignore"):
        return np.log(arc_weights(model, adaptor)[1])


def imha(model: FiniteStateLM, adaptor: Adaptor, n_steps: int, rng: np.random.Generator, *, chains: int = 1,
         accept_all: bool = False, max_length: int | None = DEFAULT_MAX_LENGTH) -> IMHAResult:
    """Algorithm 1 on a finite-state model: ``chains`` independent chains of ``n_steps`` steps each.

    Proposals are drawn from q_T in one vectorized batch with their log-weights Σ_t log Z_t; each chain then runs
    the compiled kernel.
    """
    check_rng(rng)
    for name, v in (("n_steps", n_steps), ("chains", chains)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if not isinstance(model, FiniteStateLM):
        raise TypeError(f"imha needs a FiniteStateLM (use imha_corpus for proposals you draw), got {model!r}")
    global_model(model, adaptor)  # NormalizerError when the target π_T does not exist (Z_T = 0 or ∞)
    q = local_model(model, adaptor)
    if not q.is_tight:
        raise ValueError("the locally normalized adaptor q_T is not tight (it puts mass on infinite strings), so it "
                         "cannot propose finite strings")
    batch = q.sample_arrays(rng, int(chains) * (int(n_steps) + 1), max_length=max_length,
                            state_values=log_step_masses(model, adaptor))
    lw = batch.value_sums.reshape(int(chains), int(n_steps) + 1)
    if accept_all:
        states = np.tile(np.arange(1, int(n_steps) + 1), (int(chains), 1))
        return IMHAResult(batch, lw, states, np.full(int(chains), int(n_steps)))
    if chains >= LOCKSTEP_CHAINS:
        states, accepted = lockstep_chains(lw, rng.standard_exponential(lw.shape))
        return IMHAResult(batch, lw, states, accepted)
    states = np.empty((int(chains), int(n_steps)), dtype=np.int64)
    accepted = np.empty(int(chains), dtype=np.int64)
    for c in range(int(chains)):
        states[c], accepted[c] = imha_kernel(lw[c], rng)
    return IMHAResult(batch, lw, states, accepted)


#: from this many chains on, :func:`imha` advances all chains together (vectorized over chains)
LOCKSTEP_CHAINS = 64


def lockstep_chains(log_weights: np.ndarray, exponentials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Many chains at once, one vectorized step at a time; the same rule as :func:`imha_kernel` per row."""
    lw = np.asarray(log_weights, dtype=np.float64)
    threshold = lw + exponentials
    chains, total = lw.shape
    rows = np.arange(chains)
    cur = np.zeros(chains, dtype=np.int64)
    cur_w = lw[:, 0].copy()
    accepted = np.zeros(chains, dtype=np.int64)
    states = np.empty((chains, total - 1), dtype=np.int64)
    for t in range(1, total):
        move = threshold[:, t] > cur_w
        cur[move] = t
        cur_w[move] = lw[rows[move], t]
        accepted += move
        states[:, t - 1] = cur
    return states, accepted


def imha_corpus(log_weights: Any, n_steps: int, rng: np.random.Generator, *,
                accept_all: bool = False) -> tuple[np.ndarray, int]:
    """The paper's procedure (docs/theory.md#b2, #r6): proposals resampled uniformly with replacement from a finite
    corpus whose items have the given log-weights (log p − log q in the official code). Returns the corpus index
    of the state after each step, and the number of accepted proposals. ``accept_all=True`` is the official bug
    (R1): the chain is then a plain bootstrap resample of the corpus."""
    check_rng(rng)
    lw = np.asarray(log_weights, dtype=np.float64)
    if lw.ndim != 1 or len(lw) == 0:
        raise ValueError(f"log_weights must be a non-empty 1-d array, got shape {lw.shape}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ValueError(f"n_steps must be an int >= 1, got {n_steps!r}")
    picks = rng.integers(0, len(lw), size=int(n_steps) + 1)
    states, accepted = imha_kernel(lw[picks], rng, accept_all=accept_all)
    return picks[states], accepted


def max_weight(model: FiniteStateLM, adaptor: Adaptor) -> float:
    """w* = max_y w(y), the largest product Π_t Z_t along a string (Dijkstra on the costs −log Z_t ≥ 0).

    ``inf`` (conservatively) as soon as some reachable state has Z_t > 1, which only temperatures τ > 1 cause.
    """
    log_z = log_step_masses(model, adaptor)
    q = local_model(model, adaptor)
    reach = q.reachable
    if np.any(log_z[reach] > 0):
        return math.inf
    # all costs −log Z ≥ 0: the best string ends as early as possible; shortest path to any eos arc
    dist = np.full(model.n_states, math.inf)
    dist[q.start_index] = -log_z[q.start_index]
    heap = [(dist[q.start_index], q.start_index)]
    best = math.inf
    done = np.zeros(model.n_states, dtype=bool)
    while heap:
        d, s = heapq.heappop(heap)
        if done[s]:
            continue
        done[s] = True
        for k in range(int(q.indptr[s]), int(q.indptr[s + 1])):
            if q.arc_prob64[k] == 0:  # below float64's range, as in the float64 rows
                continue
            t = int(q.arc_dst[k])
            if t < 0:  # eos
                best = min(best, d)
                continue
            nd = d - log_z[t]
            if nd < dist[t]:
                dist[t] = nd
                heapq.heappush(heap, (nd, t))
    return math.exp(-best)


def final_state_frequencies(model: FiniteStateLM, adaptor: Adaptor, chains: int, steps: int,
                            rng: np.random.Generator, *, accept_all: bool = False) -> tuple[dict, IMHAResult]:
    """The law of the final states of ``chains`` independent chains of ``steps`` steps: {string: frequency}, and the
    run. The final states are i.i.d., with a law within (1 − λ)^steps of π_T in total variation (λ: the Doeblin
    constant), so Hoeffding applies to these frequencies (not to the states of one chain)."""
    result = imha(model, adaptor, steps, rng, chains=chains, accept_all=accept_all)
    batch = result.proposals
    counts: dict[tuple[str, ...], int] = {}
    for r in result.final_rows():
        key = tuple(model.alphabet[j] for j in batch.symbols[r, : batch.lengths[r]])
        counts[key] = counts.get(key, 0) + 1
    return {y: c / chains for y, c in counts.items()}, result


def doeblin_constant(model: FiniteStateLM, adaptor: Adaptor) -> float:
    """λ = Z_T / w*: P(x, ·) ≥ λ π_T(·) for every state x of the IMHA chain (0 when w is unbounded)."""
    w_star = max_weight(model, adaptor)
    if not math.isfinite(w_star):
        return 0.0
    return min(1.0, global_model(model, adaptor).normalizer / w_star)
