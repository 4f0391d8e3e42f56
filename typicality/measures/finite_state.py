"""Exact information measures of deterministic finite-state LMs, by linear algebra on the automaton.

Notation (docs/theory.md#a, #g). On the *live* states (reachable from s₀ and able to reach eos) let
T[s, s'] = Σ_{a: δ(s,a)=s'} p(a|s) (eos excluded) and e(s) = p(eos|s). Because every live state reaches eos,
ρ(T) < 1 and I − T is invertible; (I − T)⁻¹[s₀, s] is the expected number of visits to s. Then

* mass        m = (I − T)⁻¹ e,                        Σ_y p(y) = m(s₀);
* entropy     h = (I − T)⁻¹ c,  c(s) = −Σ_x p(x|s) log p(x|s) (x over Σ ∪ {eos}),   H = h(s₀);
* varentropy  v = (I − T)⁻¹ d,  d(s) = Σ_x p(x|s) (−log p(x|s) + h(δ(s,x)) − h(s))²,  σ² = v(s₀)
  (law of total variance along the path; h(after eos) = 0; no cancellation, unlike E[I²] − H²). For rows that
  miss 1 by δ(s) (within the tolerance) the recursion is exact for σ² := Σ_y p(y) I(y)² − H² (the numbers as
  given) once d(s) gets h(s)²·δ(s) added;
* length      ℓ = (I − T)⁻¹ (1 − e),                  E|Y| = ℓ(s₀);
* Rényi       S_α = (I − A_α)⁻¹ e^α,  A_α[s, s'] = Σ_{a: δ(s,a)=s'} p(a|s)^α,  H_α = log S_α(s₀) / (1 − α).

Σ_y p(y)^α is finite iff ρ(A_α) < 1 (docs/theory.md#g; a divergent strongly connected component is reachable and
co-reachable). ρ(A_α) is non-increasing in α and log-convex, so the set of finite orders is (α₀, ∞): α₀ is the
root of ρ(A_α) = 1 in (0, 1), found per component by safeguarded Newton with the Perron-vector derivative
ρ′(α) = uᵀ A′_α v / uᵀ v, or 0 when the component is a single cycle (ρ(A_0) = 1, decided exactly).

**How the numbers are kept right** (the contract is in :mod:`typicality.measures.accuracy`):

* The diagonal of I − T is formed without cancellation, as 1 − T[s, s] = slack(s) + Σ_{s'≠s} T[s, s'] with the
  slack 1 − Σ_{s'} T[s, s'] = e(s) + (1 − row sum) computed exactly from the model's Fractions (a loop with
  p(eos) = 1e-16 has 1 − T = 1e-16, not the 1.1e-16 of 1 − float(1 − 1e-16)); the mass of a tight model is
  1 − (I − T)⁻¹(1 − row sums), exactly 1 when the rows are exact. log p comes from the exact p (log1p near 1,
  exact scaling below float64's range), so 1e-400 is a probability like any other.
* Every float64 solve of (I − M) x = b is checked: a positive û with (I − M)û ≥ g > 0, verified with the rounding
  of the model and of the arithmetic bounded, proves that I − M is a nonsingular M-matrix (so ρ(M) < 1) and bounds
  (I − M)⁻¹ r ≤ max(r/g) û for r ≥ 0; with r the residual of x (plus the error of b) this is a rigorous error
  bound. Spectral radii come with Collatz–Wielandt brackets min (Mv)/v ≤ ρ ≤ max (Mv)/v.
* A result whose bound misses the contract is recomputed in python-flint ball arithmetic (the same formulas, on
  the exact probabilities) at doubling precision until its enclosure is tight enough; ``dps`` runs use that path
  directly. Divergence of Σ p(y)^α is decided by the sign of an enclosure of (I − A_α)⁻¹1 (all positive iff
  ρ(A_α) < 1), in exact rationals when every p^α is rational (C1 at α = ½), never by a margin.
* **Solvers at scale.** One float64 system per matrix (I − T; I − D⁻¹A_αD per order α) is kept on the prepared
  model and reused by every measure and right-hand side (standalone calls too): LU up to DENSE_LIMIT states,
  above it restarted GMRES with refinement (a direct factorization of an n-gram transition matrix fills in:
  ~n²). Certified results (``dps``, and escalations) come from mixed-precision iterative refinement: float64
  solves of the residual equation, residuals r = b − (I − M)x̃ in ball arithmetic with O(arcs) sparse products,
  and |x − x̃| ≤ max(|r|/g)·û from the M-matrix certificate (checked in balls where float64 rounding hides it).
  Perron roots: sparse power iteration, enclosed by Collatz–Wielandt brackets in balls; α₀ by Newton on those
  roots, certified by brackets on both sides. The dense ``arb_mat`` paths (O(n³)) remain as a fallback for
  ARB_DENSE_LIMIT states (DPS_DENSE_LIMIT for ``dps`` runs).
* Rényi sums are computed in log space: with m(s) = max over completions of log p, the similar matrix
  D⁻¹A_αD (D = diag e^{αm}) has entries ≤ 1, so no order α (500, 10⁶) under- or overflows, and
  log S_α(s₀) = α m(s₀) + log S̃(s₀); H_∞ = −m(s₀).
"""

from __future__ import annotations

import contextlib
import decimal
import heapq
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import flint
import mpmath
import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

from typicality.measures.accuracy import (
    ABS_TOL,
    REL_TOL,
    ROW_EFFECT_MAX,
    AccuracyError,
    RowSumError,
    RowSumWarning,
    note_escalation,
)
from typicality.models.finite_state import FiniteStateLM
from typicality.numerics import (
    DENSE_LIMIT,
    FLOAT64_TINY,
    Arb,
    Arithmetic,
    Float64,
    SparseResolventSolver,
    _power_iteration,
    arb_to_mpf,
    mp_log_fraction,
)

#: unit roundoff of float64
U = 2.0 ** -53
#: the certified path starts here (bits) for float64 results, and gives up beyond MAX_PREC
START_PREC = 96
MAX_PREC = 8192
#: float64 results are escalated to ball arithmetic automatically up to this many live states; beyond, the error
#: says to ask for ``dps`` (which always runs the certified path)
ARB_LIMIT = 400
_SMALLEST = 2.0 ** -1074  # absolute error bound of a float64 entry below the normal range


def _gamma(m: int) -> float:
    """Higham's γ_m = m·u/(1 − m·u): the relative error bound of a sum of m non-negative float64 terms."""
    return m * U / (1 - m * U)


@dataclass
class Live:
    """The live part of a model: states reachable from s₀ that can reach eos, and the arcs among them."""

    states: np.ndarray  # global indices
    start: int | None  # local index of s₀ (None if s₀ cannot reach eos)
    src: np.ndarray  # local source of each arc
    dst: np.ndarray  # local destination, -1 for eos
    arc: np.ndarray  # index into the model's arc arrays

    @property
    def n(self) -> int:
        return len(self.states)


def _closure(n: int, seeds: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """States reachable from ``seeds`` along the arcs src -> dst."""
    g = scipy.sparse.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    seen = np.zeros(n, dtype=bool)
    seen[seeds] = True
    frontier = list(np.flatnonzero(seen))
    indptr, indices = g.indptr, g.indices
    while frontier:
        s = frontier.pop()
        for t in indices[indptr[s]:indptr[s + 1]]:
            if not seen[t]:
                seen[t] = True
                frontier.append(int(t))
    return seen


def live_part(model: FiniteStateLM, keep_arc: np.ndarray | None = None) -> Live:
    """The live part of the model, or of the sub-automaton of the arcs where ``keep_arc`` is True."""
    if keep_arc is None:
        alive = model.reachable & model.coaccessible
    else:
        inner = keep_arc & (model.arc_dst >= 0)
        reach = _closure(model.n_states, np.array([model.start_index]), model.arc_src[inner], model.arc_dst[inner])
        ends = np.unique(model.arc_src[keep_arc & (model.arc_dst < 0)])
        coreach = _closure(model.n_states, ends, model.arc_dst[inner], model.arc_src[inner])
        alive = reach & coreach
    states = np.flatnonzero(alive)
    local = np.full(model.n_states, -2, dtype=np.int64)
    local[states] = np.arange(len(states))
    src_l = local[model.arc_src]
    dst_l = np.where(model.arc_dst >= 0, local[np.maximum(model.arc_dst, 0)], -1)
    # keep arcs between live states (and eos arcs of live states); arcs into dead states lose their mass
    keep = (src_l >= 0) & (dst_l != -2)
    if keep_arc is not None:
        keep &= keep_arc
    start = int(local[model.start_index]) if alive[model.start_index] else None
    return Live(states, start, src_l[keep], dst_l[keep], np.flatnonzero(keep))


def arc_probs(model: FiniteStateLM, live: Live, num: Arithmetic) -> np.ndarray:
    if num.dps is None:
        return model.arc_prob64[live.arc]
    return num.array([model.arc_prob[i] for i in live.arc.tolist()])


def components(live: Live) -> list[np.ndarray]:
    """Strongly connected components of the live transition graph that contain a cycle."""
    inner = live.dst >= 0
    if live.n == 0:
        return []
    g = scipy.sparse.csr_matrix((np.ones(int(inner.sum())), (live.src[inner], live.dst[inner])),
                                shape=(live.n, live.n))
    k, labels = scipy.sparse.csgraph.connected_components(g, directed=True, connection="strong")
    loops = set(live.src[inner & (live.src == live.dst)].tolist())
    out = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) > 1 or int(members[0]) in loops:
            out.append(members)
    return out


def _block_arcs(live: Live, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arc mask, row, column) of the arcs inside one component, in the component's own numbering."""
    cache = live.__dict__.setdefault("_blocks", {})
    key = (id(members), len(members))
    if key not in cache:
        pos = np.full(live.n, -1, dtype=np.int64)
        pos[members] = np.arange(len(members))
        inner = live.dst >= 0
        sel = inner & (pos[live.src] >= 0) & (pos[np.maximum(live.dst, 0)] >= 0)
        cache[key] = (members, sel, pos[live.src[sel]], pos[live.dst[sel]])
    return cache[key][1:]


def _block(num: Arithmetic, live: Live, members: np.ndarray, w: np.ndarray) -> Any:
    sel, rows, cols = _block_arcs(live, members)
    m = len(members)
    if num.dps is None and m > 64 and 8 * len(rows) < m * m:  # sparse: power iteration is O(arcs) per step
        return scipy.sparse.csr_matrix((w[sel], (rows, cols)), shape=(m, m))
    return num.matrix(m, rows, cols, w[sel])


def spectral_radius(num: Arithmetic, live: Live, w: np.ndarray, blocks: list[np.ndarray]) -> Any:
    """ρ of the live matrix with arc weights w (max over cyclic components; 0 if there is no cycle)."""
    rho = num.scalar(0)
    for members in blocks:
        r = num.perron(_block(num, live, members, w))[0]
        rho = max(rho, r)
    return rho


def divergence_margin(num: Arithmetic, live: Live) -> float:
    """ρ within this of 1 is treated as ρ = 1 (used by :mod:`typicality.induced` for its float64 weights, which
    are not exact; the measures here decide divergence by certified tests instead)."""
    return 64.0 * num.eps * max(1, live.n)


# ----- the prepared model: exact per-state data, accurate logs ------------------------------------------------------
@dataclass
class Prepared:
    """What the measures need of a model, computed once and kept on the model (it is immutable)."""

    model: FiniteStateLM
    live: Live
    p_exact: list[Fraction] | None  # probability of each live arc (inner and eos), exact; built on first use (.p)
    p64: np.ndarray
    logp: np.ndarray  # accurate float64 log p (exact below float64's range and near 1)
    eos: list[Fraction]  # p(eos | s) per live state
    delta: list[Fraction]  # 1 − row sum (0 for exact rows; up to the tolerance otherwise)
    cont: list[Fraction]  # Σ of the inner arcs' p: the probability of another step among live states
    slack: list[Fraction]  # 1 − cont = e + leak + delta
    tight: bool
    blocks: list[np.ndarray]
    degree: int  # arcs out of a live state, at most (+ a few, for the rounding bounds)
    parallel: int  # arcs between one pair of distinct live states, at most
    self_loop: np.ndarray
    _cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.eos64 = np.array([float(x) for x in self.eos])
        self.cont64 = np.array([float(x) for x in self.cont])
        self.delta64 = np.array([float(x) for x in self.delta])
        self.slack64 = np.array([float(x) for x in self.slack])
        self.exact_rows = not any(self.delta)
        self.rows_above_one = any(d < 0 for d in self.delta)
        self.negative_slack = [i for i, x in enumerate(self.slack) if x < 0]

    @property
    def p(self) -> list[Fraction]:
        """The exact probability of each live arc (the float64 path needs them only for rare rows: a million arcs
        are a million Fractions, so they are made when a certified or exact computation asks)."""
        if self.p_exact is None:
            self.p_exact = [self.model.arc_prob[i] for i in self.live.arc.tolist()]
        return self.p_exact

    @property
    def n(self) -> int:
        return self.live.n

    @property
    def start(self) -> int | None:
        return self.live.start

    @property
    def src(self) -> np.ndarray:
        return self.live.src

    @property
    def dst(self) -> np.ndarray:
        return self.live.dst

    @property
    def inner(self) -> np.ndarray:
        return self.live.dst >= 0

    def name(self, s: int) -> str:
        """How errors name a live state."""
        return f"{self.model._state_noun} {self.model.states[int(self.live.states[s])]!r}"

    def max_log_continuation(self) -> np.ndarray:
        """m(s) = max over completions z of log p(z eos | s), float64, by Dijkstra on −log p ≥ 0 towards eos."""
        if "m" not in self._cache:
            n = self.n
            node = np.where(self.dst >= 0, self.dst, n)
            cost = np.maximum(-self.logp, 0.0)
            order = np.lexsort((cost, self.src, node))  # reversed edges node -> src, cheapest first per pair
            a, b = node[order], self.src[order]
            first = np.ones(len(a), dtype=bool)
            first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
            g = scipy.sparse.csr_matrix((cost[order][first], (a[first], b[first])), shape=(n + 1, n + 1))
            dist = scipy.sparse.csgraph.dijkstra(g, directed=True, indices=n)
            self._cache["m"] = -dist[:n]
        return self._cache["m"]


def prepare(model: FiniteStateLM) -> Prepared:
    """The model's :class:`Prepared` data (cached on the model)."""
    cached = model.__dict__.get("_measures_prepared")
    if cached is not None:
        return cached
    live = live_part(model)
    n = live.n
    # a probability > 1 has a float64 value ≥ 1: only those are looked at exactly
    for k in np.flatnonzero(model.arc_prob64[live.arc] >= 1).tolist():
        q = model.arc_prob[int(live.arc[k])]
        if q > 1:
            s = int(live.src[k])
            raise RowSumError(f"{model._state_noun} {model.states[int(live.states[s])]!r}: a probability is "
                              f"{float(q)!r} > 1 (the row sum is within the tolerance, but no probability model "
                              "has such a number); make the row sum to 1 exactly")
    eos_exact = model.eos_prob_exact
    eos = [eos_exact[s] for s in live.states.tolist()]
    delta = [1 - model.row_sum[int(s)] for s in live.states.tolist()]
    # arcs of live states into dead states (reachable states that cannot reach eos) leak their mass
    local = np.full(model.n_states, -1, dtype=np.int64)
    local[live.states] = np.arange(n)
    kept = np.zeros(len(model.arc_src), dtype=bool)
    kept[live.arc] = True
    leak = [Fraction(0)] * n
    for i in np.flatnonzero((local[model.arc_src] >= 0) & ~kept).tolist():
        leak[int(local[model.arc_src[i]])] += model.arc_prob[i]
    cont = [1 - d - e - lk for d, e, lk in zip(delta, eos, leak, strict=True)]
    slack = [1 - c for c in cont]
    inner = live.dst >= 0
    off = inner & (live.src != live.dst)
    degree = int(np.bincount(live.src, minlength=max(n, 1)).max()) + 3 if len(live.src) else 3
    if off.any():
        _, counts = np.unique(live.src[off] * n + live.dst[off], return_counts=True)
        parallel = int(counts.max())
    else:
        parallel = 1
    prep = Prepared(model, live, None, model.arc_prob64[live.arc], model.arc_logprob[live.arc], eos, delta, cont, slack,
                    model.is_tight, components(live), degree, parallel, inner & (live.src == live.dst))
    model.__dict__["_measures_prepared"] = prep
    return prep


# ----- work shared by the measures of one measures() call -----------------------------------------------------------
_MEMO: ContextVar[dict | None] = ContextVar("typicality_finite_state_memo", default=None)


@contextlib.contextmanager
def shared_work() -> Iterator[None]:
    """Inside this block the measures of a model share their solves (measures() computes everything at once)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _memo(key: tuple, fn: Callable[[], Any]) -> Any:
    memo = _MEMO.get()
    if memo is None:
        return fn()
    if key not in memo:
        memo[key] = fn()
    return memo[key]


#: solver work kept per prepared model (LRU): factorizations, certificates, solutions, Rényi sums per order
CACHE_ENTRIES = 32
#: float64 systems of Rényi orders kept per model (each holds a matrix and its solver: O(arcs) memory)
SYSTEM_ENTRIES = 4


def _cached(P: Prepared, key: tuple, fn: Callable[[], Any], slot: str = "solves", limit: int = CACHE_ENTRIES) -> Any:
    """``fn()`` computed once per prepared model and ``key`` (what it depends on besides the model), so that
    standalone calls (entropy, then varentropy) share one factorization and one certificate as measures() does."""
    cache = P._cache.setdefault(slot, {})
    if key in cache:
        cache[key] = cache.pop(key)  # most recently used last
        return cache[key]
    value = fn()
    cache[key] = value
    while len(cache) > (limit if slot == "solves" else SYSTEM_ENTRIES):
        del cache[next(iter(cache))]
    return value


def _per_state(n: int, src: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Σ of per-arc values over each state's arcs (float64 or object arrays of balls)."""
    if values.dtype != object:
        return np.bincount(src, weights=values, minlength=n).astype(np.float64)
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = flint.arb(0)
    np.add.at(out, src, values)
    return out


def _deviation(P: Prepared, h: np.ndarray, logp: np.ndarray, zero: Any) -> np.ndarray:
    """−log p(x|s) + h(δ(s,x)) − h(s) per arc (h after eos is 0); exactly −log p on self-loops."""
    h_next = np.concatenate([h, np.array([zero], dtype=h.dtype)])[P.dst]
    diff = h_next - h[P.src]
    diff[P.self_loop] = zero
    return -logp + diff


# ----- float64 linear systems with a certificate ----------------------------------------------------------------------
class _FloatSystem:
    """A = I − M in float64 (M ≥ 0 given by its off-diagonal entries and the diagonal of A), with a certificate.

    ``diag_err`` bounds |diag − diag_true| entrywise, ``eta`` the relative error of each off-diagonal entry and
    ``abs_err`` an absolute error per entry (entries below float64's normal range). The certificate is a float
    vector û > 0 with A_true û ≥ g > 0, the rounding of A û and the entry errors accounted for; it proves A_true
    a nonsingular M-matrix and bounds A_true⁻¹ r ≤ max(r/g)·û for every r ≥ 0.
    """

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray, w: np.ndarray, diag: np.ndarray,
                 diag_err: np.ndarray, eta: float, abs_err: float = 0.0) -> None:
        self.n, self.diag, self.diag_err, self.eta, self.abs_err = n, diag, diag_err, eta, abs_err
        self.k = (int(np.bincount(src, minlength=n).max()) if len(src) else 0) + 3
        self.g: np.ndarray | None = None
        self.uh: np.ndarray | None = None
        #: a positive approximate solution of A û = 1 whose float64 check failed (rounding of A û too large): the
        #: certificate may still hold, checked in ball arithmetic by :func:`_ball_certificate`
        self.uh_candidate: np.ndarray | None = None
        self._lu: Any = None
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if n <= DENSE_LIMIT:
                off = np.bincount(src * n + dst, weights=w, minlength=n * n).astype(np.float64).reshape(n, n)
                A = -off
                A[np.diag_indices(n)] = diag
                if np.all(np.isfinite(A)):
                    try:
                        self._lu = scipy.linalg.lu_factor(A, check_finite=False)
                    except (ValueError, np.linalg.LinAlgError):
                        self._lu = None
            else:
                off = scipy.sparse.csr_matrix((w, (src, dst)), shape=(n, n))
                if np.all(np.isfinite(diag)) and np.all(np.isfinite(off.data)):
                    self._lu = SparseResolventSolver(scipy.sparse.diags(diag) - off)
        self.off = off
        if self._lu is None or n == 0:
            return
        uh = self.solve(np.ones(n))
        if not (np.all(np.isfinite(uh)) and uh.min() > 0):
            return
        self.uh_candidate = uh
        Ou = off @ uh
        err = (_gamma(self.k) * (diag * uh + Ou) + diag_err * uh + eta * Ou + abs_err * self.k * uh.max())
        g = diag * uh - Ou - err * (1 + 1e-6)
        if np.all(g > 0):
            self.g, self.uh = g, uh

    @property
    def certified(self) -> bool:
        return self.g is not None

    @property
    def refinable(self) -> bool:
        """Certified, or with a candidate û for a certificate in ball arithmetic (refinement may answer)."""
        return self.g is not None or self.uh_candidate is not None

    def solve(self, b: np.ndarray) -> np.ndarray:
        if b.ndim == 2:  # one column at a time: a multi-column LAPACK solve starts threads that cost more here
            return np.column_stack([self.solve(b[:, j]) for j in range(b.shape[1])])
        with np.errstate(all="ignore"):
            if isinstance(self._lu, tuple):
                return scipy.linalg.lu_solve(self._lu, b, check_finite=False)
            return self._lu.solve(b)

    def bound(self, x: np.ndarray, b: np.ndarray, b_err: np.ndarray | float) -> np.ndarray:
        """Componentwise bound on |x − A_true⁻¹ b_true| given |b − b_true| ≤ b_err (needs the certificate)."""
        assert self.g is not None and self.uh is not None
        ax = np.abs(x)
        with np.errstate(all="ignore"):
            Ox, Oax = self.off @ x, self.off @ ax
            r = b - (self.diag * x - Ox)
            R = (np.abs(r) + _gamma(self.k + 3) * (np.abs(b) + self.diag * ax + Oax) + self.diag_err * ax
                 + self.eta * Oax + self.abs_err * self.k * (ax.max() if len(ax) else 0.0) + b_err)
            t = float(np.max(R / self.g)) if len(R) else 0.0
        if not math.isfinite(t):
            return np.full(self.n, np.inf)
        return t * self.uh * (1 + 1e-6)


def _acceptable(value: float, err: float, rel: float = REL_TOL) -> bool:
    return math.isfinite(value) and err <= rel * abs(value) + ABS_TOL


def _ball_ok(x: Any, rel: float, floor: Any) -> bool:
    """The ball x has radius ≤ rel·|mid| + floor (``floor`` a float or, below float64's range, an arb)."""
    if not x.is_finite():
        return False
    return bool(x.rad() <= rel * abs(x.mid()) + floor)


def _to_float(x: Any, what: str) -> float:
    f = float(x.mid())
    if not math.isfinite(f):
        raise AccuracyError(f"{what} = {x.mid().str(6, radius=False)} is beyond float64's range; ask for it with "
                            "mpmath digits (dps=20, --dps 20)")
    return f


def _digits_target(dps: int) -> tuple[float, Any, int]:
    """(relative radius, absolute floor, starting precision in bits) for a result printed with dps digits.

    The floor (10^−(dps+300), an arb: it is below float64's range) lets an exact zero (the varentropy of a model
    whose strings are equally likely) be certified by a ball around 0."""
    return 10.0 ** -(dps + 1), flint.arb(10) ** (-(dps + 300)), int((dps + 4) * 3.33) + 16


# ----- the T part: mass, entropy, varentropy, expected length --------------------------------------------------------
T_MEASURES = ("mass", "entropy", "varentropy", "expected_length")


class _TFloat:
    """The T-measures in float64 with rigorous error bounds (all from one LU factorization)."""

    def __init__(self, P: Prepared) -> None:
        self.P = P
        n, inner = P.n, P.inner
        src, dst, w = P.src[inner], P.dst[inner], P.p64[inner]
        off = src != dst
        small = w < FLOAT64_TINY
        abs_err = _SMALLEST if small.any() else 0.0
        k = P.degree
        offsum = np.bincount(src[off], weights=w[off], minlength=n).astype(np.float64)
        diag = P.slack64 + offsum  # 1 − T[s, s] without cancellation
        diag_err = (_gamma(k) + 2 * U) * diag + abs_err * k + _SMALLEST
        for i in P.negative_slack:  # a row sums to more than 1 + ...: use the exact 1 − Σ loops instead
            loops = [P.p[a] for a in np.flatnonzero((P.src == i) & P.self_loop).tolist()]
            diag[i] = float(1 - sum(loops, Fraction(0)))
            diag_err[i] = U * abs(diag[i])
        self.sys = _FloatSystem(n, src[off], dst[off], w[off], diag, diag_err, U + _gamma(P.parallel), abs_err)
        self.values: dict[str, tuple[float, float]] = {}
        if not self.sys.certified or P.start is None:
            return
        s0 = P.start
        # right-hand sides, each with its error bound
        e64, cont64, d64 = P.eos64, P.cont64, P.delta64
        terms = -P.p64 * P.logp
        tiny = np.where(P.p64 < FLOAT64_TINY, _SMALLEST * (np.abs(P.logp) + 1), 0.0)
        c = np.bincount(P.src, weights=terms, minlength=n)
        c_err = np.bincount(P.src, weights=6 * U * terms + tiny + _SMALLEST, minlength=n) + _gamma(k) * c
        cols = [c, cont64, np.abs(d64)] + ([] if P.tight else [e64]) + ([d64] if P.tight else [])
        X = self.sys.solve(np.column_stack(cols))
        h, ell, eff = X[:, 0], X[:, 1], X[:, 2]
        self.h, self.h_err = h, self.sys.bound(h, c, c_err)
        self.values["entropy"] = (float(h[s0]), float(self.h_err[s0]))
        self.values["expected_length"] = (float(ell[s0]), float(self.sys.bound(ell, cont64, U * cont64)[s0]))
        self.effect = float(eff[s0] + self.sys.bound(eff, np.abs(d64), U * np.abs(d64))[s0])
        if P.tight:
            if P.exact_rows:
                self.values["mass"] = (1.0, 0.0)
            else:  # m = (I − T)⁻¹ e = 1 − (I − T)⁻¹ δ: exactly 1 for exact rows
                y = X[:, 3]
                self.values["mass"] = (float(1 - y[s0]), float(self.sys.bound(y, d64, U * np.abs(d64))[s0] + U))
        else:
            x = X[:, 3]
            self.values["mass"] = (float(x[s0]), float(self.sys.bound(x, e64, U * e64)[s0]))

    @property
    def certified(self) -> bool:
        return self.sys.certified and self.P.start is not None

    def varentropy(self) -> tuple[float, float]:
        if "varentropy" not in self.values:
            P, h, h_err = self.P, self.h, self.h_err
            dev = _deviation(P, h, P.logp, 0.0)
            h_err_next = np.concatenate([h_err, [0.0]])[P.dst]
            diff = dev + P.logp
            dev_err = (4 * U * np.abs(P.logp) + _SMALLEST + np.where(P.self_loop, 0.0, h_err_next + h_err[P.src])
                       + U * np.abs(diff) + 2 * U * np.abs(dev))
            terms = P.p64 * dev * dev
            arc_err = P.p64 * (2 * np.abs(dev) * dev_err + dev_err * dev_err) * (1 + 4 * U) + 4 * U * terms
            arc_err += np.where(P.p64 < FLOAT64_TINY, _SMALLEST * (dev * dev + 2 * np.abs(dev) * dev_err + 1), 0.0)
            d = np.bincount(P.src, weights=terms, minlength=P.n)
            d_err = np.bincount(P.src, weights=arc_err, minlength=P.n) + _gamma(P.degree) * d
            if not P.exact_rows:  # rows off 1: the recursion gives Σ p(y)(I − h)²-like terms; add h²·δ (see docs)
                corr = h * h * P.delta64
                d_err = d_err + np.abs(P.delta64) * (2 * np.abs(h) * h_err + h_err * h_err) + 5 * U * np.abs(corr)
                d = d + corr
            v = self.sys.solve(d)
            self.values["varentropy"] = (float(v[P.start]), float(self.sys.bound(v, d, d_err)[P.start]))
        return self.values["varentropy"]

    def get(self, name: str) -> tuple[float, float] | None:
        if not self.certified:
            return None
        if name == "varentropy":
            return self.varentropy()
        return self.values[name]


def _ball_diagonal(P: Prepared, num: Any, p: np.ndarray) -> np.ndarray:
    """The diagonal of I − T in balls without cancellation: slack + Σ off-diagonal arcs (the slack exact), or,
    where rows sum to more than 1 (negative slack), 1 − Σ self-loops exactly."""
    off = P.inner & ~P.self_loop
    offsum = _per_state(P.n, P.src[off], p[off])
    diag = np.empty(P.n, dtype=object)
    for i in range(P.n):
        if P.slack[i] >= 0:
            diag[i] = num.scalar(P.slack[i]) + offsum[i]
        else:
            loops = sum((P.p[a] for a in np.flatnonzero((P.src == i) & P.self_loop).tolist()), Fraction(0))
            diag[i] = num.scalar(1 - loops)
    return diag


class _TBalls:
    """The T-measures as certified balls at one precision (None where this precision does not suffice): the
    right-hand sides and their read-out, shared by the dense and the sparse solver (``_solve``: subclasses)."""

    P: Prepared
    prec: int
    p: np.ndarray
    logp: np.ndarray

    def __init__(self, P: Prepared, prec: int) -> None:
        self.P, self.prec = P, prec
        self.values: dict[str, Any] = {}
        self.ok = False  # ρ(T) < 1 certified and every solve enclosed

    def _solve(self, cols: list[np.ndarray]) -> list[np.ndarray] | None:
        raise NotImplementedError

    def _columns(self, num: Any) -> list[np.ndarray]:
        """c (local entropies), the continuation mass, |δ| and δ (tight) or e (not tight)."""
        P = self.P
        c = _per_state(P.n, P.src, -self.p * self.logp)
        return [c, num.array(P.cont), num.array([abs(d) for d in P.delta]), num.array(P.delta if P.tight else P.eos)]

    def _read(self, X: list[np.ndarray]) -> None:
        s0 = self.P.start
        self.ok = True
        self.h = X[0]
        self.values["entropy"] = X[0][s0]
        self.values["expected_length"] = X[1][s0]
        self.effect = X[2][s0]
        self.values["mass"] = (1 - X[3][s0]) if self.P.tight else X[3][s0]

    def varentropy(self) -> Any:
        if "varentropy" not in self.values:
            P = self.P
            with Arb.context(self.prec) as num:
                dev = _deviation(P, self.h, self.logp, flint.arb(0))
                d = _per_state(P.n, P.src, self.p * dev * dev)
                if not P.exact_rows:
                    d = d + self.h * self.h * num.array(P.delta)
                X = self._solve([d])
                self.values["varentropy"] = None if X is None else X[0][P.start]
        return self.values["varentropy"]

    def get(self, name: str) -> Any:
        if not self.ok:
            return None
        if name == "varentropy":
            return self.varentropy()
        return self.values[name]


class _TArb(_TBalls):
    """Dense: one ``arb_mat`` solve (O(n³) ball operations); also certifies ρ(T) < 1, or > 1 (``divergent``: rows
    summing to more than 1), from the sign of (I − T)⁻¹1."""

    def __init__(self, P: Prepared, prec: int) -> None:
        super().__init__(P, prec)
        self.divergent = False
        n, inner = P.n, P.inner
        with Arb.context(prec) as num:
            self.p, self.logp = num.array(P.p), num.log_fractions(P.p)
            A = flint.arb_mat(n, n)
            for i, j, x in zip(P.src[inner].tolist(), P.dst[inner].tolist(), self.p[inner], strict=True):
                if i != j:
                    A[i, j] -= x
            for i, d in enumerate(_ball_diagonal(P, num, self.p)):
                A[i, i] = d
            self.A = A
            X = self._solve([np.array([flint.arb(1)] * n, dtype=object), *self._columns(num)])
            if X is None or P.start is None:
                return
            if any(x < 0 for x in X[0]):
                self.divergent = True
            elif all(x > 0 for x in X[0]):
                self._read(X[1:])

    def _solve(self, cols: list[np.ndarray]) -> list[np.ndarray] | None:
        with Arb.context(self.prec) as num:
            return num.solve(self.A, cols)


# ----- certified solves at scale: mixed-precision iterative refinement ----------------------------------------------
#: above this many live states the dense ball-arithmetic paths (arb_mat solves, Noda iteration: O(n³) ball
#: operations, O(n²) memory) are not tried; the sparse refinement below is the certified path there
ARB_DENSE_LIMIT = 400
#: the same limit for ``dps`` runs, which ask for the certified path explicitly (minutes at this size)
DPS_DENSE_LIMIT = 1500


def _ball_zeros(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [flint.arb(0)] * n
    return out


class _BallOperator:
    """x ↦ diag·x − O x in ball arithmetic at the current flint precision, O ≥ 0 stored by arcs (rows, cols, w):
    O(arcs) ball operations per product, against O(n²) to build and O(n³) to solve a dense ``arb_mat``."""

    def __init__(self, n: int, rows: np.ndarray, cols: np.ndarray, w: np.ndarray, diag: np.ndarray | None) -> None:
        order = np.argsort(rows, kind="stable")
        self.n, self.rows, self.cols, self.w, self.diag = n, rows[order], cols[order], w[order], diag
        # the rows that have arcs, and where each one's arcs start: strictly increasing offsets, so reduceat sums
        # exactly each row's arcs (offsets of empty rows would repeat and cut the row before them short)
        self.present = np.unique(self.rows)
        self.starts = np.searchsorted(self.rows, self.present)

    def off(self, x: np.ndarray) -> np.ndarray:
        """O x."""
        out = _ball_zeros(self.n)
        if len(self.rows):
            out[self.present] = np.add.reduceat(self.w * x[self.cols], self.starts)
        return out

    def apply(self, x: np.ndarray) -> np.ndarray:
        return self.diag * x - self.off(x)


def _mid_floats(r: np.ndarray) -> tuple[np.ndarray, int]:
    """(f, k): float64 values f ≈ mid(r)·2^k, k chosen so the largest is near 1 (a residual of 1e-400 is a
    residual like any other)."""
    parts = []
    for x in r:
        m, e = x.mid().man_exp()
        m, e = int(m), int(e)
        extra = max(m.bit_length() if m >= 0 else (-m).bit_length(), 0) - 60
        if extra > 0:  # keep 60 bits: a float64 needs 53
            m, e = (m >> extra) if m >= 0 else -((-m) >> extra), e + extra
        parts.append((m, e))
    top = max((abs(m).bit_length() + e for m, e in parts if m != 0), default=None)
    if top is None:
        return np.zeros(len(r)), 0
    k = -top
    return np.array([math.ldexp(m, e + k) if m != 0 else 0.0 for m, e in parts]), k


def _ball_certificate(fsys: _FloatSystem, op: _BallOperator) -> tuple[list, list] | None:
    """(g, û) with A û ≥ g > 0 for the exact matrix A of ``op``: the float64 certificate, or else A û evaluated in
    ball arithmetic for the float system's positive candidate û (an ill-conditioned A, e.g. a loop with
    p(eos) = 1e-16, has û ~ 1e16 and a float64 A û lost in rounding, while the balls see A û ≈ 1). None if
    neither holds."""
    if fsys.certified:
        return [flint.arb(float(v)) for v in fsys.g], [flint.arb(float(v)) for v in fsys.uh]
    if fsys.uh_candidate is None:
        return None
    uh = np.array([flint.arb(float(v)) for v in fsys.uh_candidate], dtype=object)
    au = op.apply(uh)
    g = [y.lower() for y in au]
    if not all(x > 0 for x in g):
        return None
    return g, list(uh)


def _refined_solve(fsys: _FloatSystem, op: _BallOperator, b: np.ndarray, max_steps: int = 40,
                   cert: tuple[list, list] | None = None) -> np.ndarray | None:
    """Enclosures of A⁻¹ b (A = the operator's matrix, b balls) at the current flint precision.

    x̃ is improved by float64 solves of the residual equation A d = r (the float system's factorization or
    preconditioned Krylov solver, reused), with r = b − A x̃ evaluated in ball arithmetic: each step gains about
    −log₁₀(κ·u) digits. The error is bounded by the float system's M-matrix certificate, which holds for the exact
    matrix: A û ≥ g > 0, A⁻¹ ≥ 0, hence |x − x̃| = |A⁻¹ r| ≤ A⁻¹|r| ≤ max(|r|/g)·û componentwise, every
    operation here rounded outward. Iterates until the residual stops shrinking (the balls' own radii); None
    without a certificate (``cert``: from :func:`_ball_certificate`, computed here if not given).
    """
    cert = cert if cert is not None else _ball_certificate(fsys, op)
    if cert is None:
        return None
    n = op.n
    g, uh = cert
    x = _ball_zeros(n)
    best: tuple[Any, np.ndarray] | None = None
    stalls = 0
    for _ in range(max_steps):
        r = b - op.apply(x)
        t = max((abs(ri).upper() / gi).upper() for ri, gi in zip(r, g, strict=True)) if n else flint.arb(0)
        if not t.is_finite():
            return None
        # stop after two steps without a 16-fold gain (the first corrections of an ill-conditioned system
        # can grow the residual's maximum before it contracts)
        stalls = 0 if best is None or t < best[0] / 16 else stalls + 1
        if best is None or t < best[0]:
            best = (t, x)
        if stalls >= 2 or t == 0:
            break
        f, k = _mid_floats(r)
        if not f.any():
            break
        d = fsys.solve(f)
        if not np.all(np.isfinite(d)):
            break
        scale = flint.arb(2) ** (-k)
        x = np.array([(xi + flint.arb(float(di)) * scale).mid() for xi, di in zip(x, d, strict=True)], dtype=object)
    assert best is not None
    t, x = best
    return np.array([flint.arb(xi.mid(), (t * ui).upper()) for xi, ui in zip(x, uh, strict=True)], dtype=object)


class _TRefined(_TBalls):
    """Sparse: refinement on the float64 system (O(arcs) ball operations per step; ``ok`` False when the float
    system has no certificate)."""

    def __init__(self, P: Prepared, prec: int) -> None:
        super().__init__(P, prec)
        tf = _t_float(P)
        if not tf.sys.refinable or P.start is None:
            return
        self.fsys = tf.sys
        off = P.inner & ~P.self_loop
        with Arb.context(prec) as num:
            self.p, self.logp = num.array(P.p), num.log_fractions(P.p)
            self.op = _BallOperator(P.n, P.src[off], P.dst[off], self.p[off], _ball_diagonal(P, num, self.p))
            self.cert = _ball_certificate(self.fsys, self.op)
            if self.cert is None:
                return
            X = self._solve(self._columns(num))
            if X is not None:
                self._read(X)

    def _solve(self, cols: list[np.ndarray]) -> list[np.ndarray] | None:
        X = [_refined_solve(self.fsys, self.op, col, cert=self.cert) for col in cols]
        return None if any(x is None for x in X) else X


def _t_refined(P: Prepared, prec: int) -> _TRefined:
    ta = _cached(P, ("Tref", prec), lambda: _TRefined(P, prec))
    if ta.ok and not P.exact_rows:
        _rows_checked(P, float(ta.effect.upper()), False)
    return ta


def _ball_perron(op: _BallOperator, v0: np.ndarray | list | None, rel: float, max_steps: int = 3000
                 ) -> tuple[Any, list] | None:
    """Certified enclosure of the Perron root of the irreducible non-negative matrix O of ``op`` (sparse, balls
    at the current precision) and the vector found: power iteration on midpoints from ``v0`` (e.g. the float64
    Perron vector) until the Collatz–Wielandt bracket min (Ov)/v ≤ ρ ≤ max (Ov)/v is within ``rel``, then the
    bracket in ball arithmetic. None if the iteration stalls (a periodic or badly separated matrix)."""
    n = op.n
    if v0 is not None and len(v0) == n and all(x > 0 for x in v0):
        v = np.array([x if isinstance(x, flint.arb) else flint.arb(float(x)) for x in v0], dtype=object)
    else:
        v = np.array([flint.arb(1)] * n, dtype=object)
    target = flint.arb(rel)
    last_width, last_check = None, 0
    for step in range(max_steps):
        y = op.off(v)
        if not all(yi > 0 for yi in y):
            return None
        ratios = [(yi / vi).mid() for yi, vi in zip(y, v, strict=True)]
        lo, hi = min(ratios), max(ratios)
        width = hi - lo
        if width <= target * hi:
            break
        if step - last_check >= 50:  # the bracket should have halved at least once in 50 steps
            if last_width is not None and not width < last_width / 2:
                return None
            last_width, last_check = width, step
        top = max(yi.mid() for yi in y)
        v = np.array([(yi / top).mid() for yi in y], dtype=object)
    else:
        return None
    y = op.off(v)
    ratios = [yi / vi for yi, vi in zip(y, v, strict=True)]
    lo = min(r.lower() for r in ratios)
    hi = max(r.upper() for r in ratios)
    return lo.union(hi), list(v)


def _short(x: Fraction) -> str:
    """A positive rational of any size in 3 significant digits (1e-400 too)."""
    with mpmath.workdps(10):
        return mpmath.nstr(mpmath.mpf(x.numerator) / x.denominator, 3)


def _row_report(P: Prepared, k: int = 3) -> str:
    worst = sorted(range(P.n), key=lambda i: -abs(P.delta[i]))[:k]
    parts = [f"{P.name(i)} sums to 1 {'-' if P.delta[i] > 0 else '+'} {_short(abs(P.delta[i]))}"
             f" with p(eos) = {_short(P.eos[i]) if P.eos[i] else 0}" for i in worst if P.delta[i] != 0]
    return "; ".join(parts)


def _check_rows(P: Prepared, effect: float | None, divergent: bool) -> None:
    """RowSumError / RowSumWarning when rows that miss 1 (within the tolerance) matter (see accuracy)."""
    tol = getattr(P.model, "row_tolerance", 1e-9)
    if divergent:
        raise RowSumError(
            f"rows sum to more than 1 ({_row_report(P)}), within the row tolerance {tol:g}, by more than this model's "
            "probability of ending: Σ_y p(y) diverges for the numbers as given (ρ(T) ≥ 1), so no measure describes "
            "the model you meant. Make the rows sum to 1 exactly (e.g. write p(eos) as 1 minus the others).")
    if effect is None or effect <= REL_TOL:
        return
    msg = (f"rows miss 1 within the row tolerance ({_row_report(P)}); the tolerance admits rounded decimals, and "
           f"the results are those of the numbers as given, which change by a relative {effect:.3g} (the mass "
           f"would move from 1 by that much) against any exactly normalized version")
    if effect > ROW_EFFECT_MAX:
        raise RowSumError(msg + f": more than {ROW_EFFECT_MAX:g}, so the results would contradict the model (e.g. a "
                                "tight model with mass far from 1). This model takes many steps per string, so its "
                                "rows must sum to 1 far more closely; make them sum to 1 exactly (e.g. write p(eos) "
                                "as 1 minus the others).")
    _warn_at_caller(RowSumWarning(msg + "."))


def _warn_at_caller(warning: Warning) -> None:
    """Issue ``warning`` at the first frame outside the typicality package (the user's call)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
    if frame is None:
        warnings.warn(warning, stacklevel=2)
        return
    warnings.warn_explicit(warning, type(warning), frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__"),
                           registry=frame.f_globals.setdefault("__warningregistry__", {}))


def _rows_checked(P: Prepared, effect: float | None, divergent: bool) -> None:
    """_check_rows once per measures() call (the solves are cached on the model, the warning is per call)."""
    _memo((id(P), "rows", effect, divergent), lambda: _check_rows(P, effect, divergent) or True)


def _t_float(P: Prepared) -> _TFloat:
    tf = _cached(P, ("T64",), lambda: _TFloat(P))
    if tf.certified and not P.exact_rows:
        _rows_checked(P, tf.effect, False)
    return tf


def _t_arb(P: Prepared, prec: int) -> _TArb:
    # a dense ball matrix (O(n²) balls) is shared within one measures() call only, not kept on the model
    ta = _memo((id(P), "Tarb", prec), lambda: _TArb(P, prec))
    if ta.divergent:
        _rows_checked(P, None, True)
    if ta.ok and not P.exact_rows:
        _rows_checked(P, float(ta.effect.upper()), False)
    return ta


def _escalation_allowed(P: Prepared, what: str) -> None:
    if P.n > ARB_LIMIT:
        raise AccuracyError(f"{what}: float64 cannot give it to the accuracy contract on this model (ill-conditioned; "
                            f"see typicality.measures.accuracy), and the automatic certified recomputation is limited "
                            f"to {ARB_LIMIT} live states (this model has {P.n}); ask for it with mpmath digits "
                            "(dps=20, --dps 20), which always runs the certified computation")


def _t_certified(P: Prepared, name: str, rel: float, floor: float, prec: int, dense: int = ARB_DENSE_LIMIT) -> Any:
    checked = not P.rows_above_one  # rows ≤ 1: I − T is a nonsingular M-matrix (tight or leaking)
    refine = _t_float(P).sys.refinable
    # beyond the dense limit only refinement can answer; a few doublings settle whether it converges (the float64
    # correction contracts by about κ·u per step, so a stall is conditioning, which precision does not mend)
    top = _prec_cap(P, prec, dense)
    while prec <= top:
        if refine:  # sparse refinement on the certified float64 system: O(arcs) ball operations per step
            x = _t_refined(P, prec).get(name)
            if x is not None and _ball_ok(x, rel, floor):
                note_escalation(name, f"arb, {prec} bits, refined")
                return x
        if P.n > dense:
            if refine:
                prec *= 2
                continue
            raise AccuracyError(f"the {name.replace('_', ' ')}: the float64 system of this model has no M-matrix "
                                f"certificate (ill-conditioned), and the dense certified path is limited to "
                                f"{dense} live states (this model has {P.n})")
        ta = _t_arb(P, prec)
        x = ta.get(name)
        if x is not None and _ball_ok(x, rel, floor):
            note_escalation(name, f"arb, {prec} bits")
            return x
        if not ta.ok and not checked:  # rows above 1: is ρ(T) < 1 at all? decide in exact rationals
            checked = True
            inner = np.flatnonzero(P.inner)
            if not _exact_convergent(P.n, P.src[inner], P.dst[inner], [P.p[k] for k in inner.tolist()]):
                _check_rows(P, None, True)
        prec *= 2
    raise AccuracyError(f"the {name.replace('_', ' ')} cannot be certified at {top} bits: the model is too "
                        "ill-conditioned" + (" (a loop whose probability of ending is below ~2^-8000?)"
                                             if top == MAX_PREC else f" for refinement on its {P.n} live states"))


def _prec_cap(P: Prepared, prec: int, dense: int = ARB_DENSE_LIMIT) -> int:
    """The highest precision worth trying: beyond the dense limit, refinement either converges within a few
    doublings or is stopped by conditioning, which more bits do not mend."""
    return MAX_PREC if P.n <= dense else min(MAX_PREC, prec * 8)


def t_measure(model: FiniteStateLM, name: str, num: Arithmetic) -> Any:
    """One of T_MEASURES: float64 within the contract (escalating when needed), or certified at num.dps digits."""
    P = prepare(model)
    if P.start is None:
        if name == "mass":
            return num.scalar(0)
        raise AccuracyError(f"the {name} is undefined: no string has positive probability")
    if name == "mass" and P.tight and P.exact_rows:
        return num.scalar(1)  # m = (I − T)⁻¹e = 1 exactly: every live row sums to 1 and nothing leaks
    if num.dps is None:
        tf = _t_float(P)
        got = tf.get(name)
        if got is not None and _acceptable(*got):
            return got[0]
        if not tf.sys.refinable:  # with a certificate (or a candidate), refinement scales to any size
            _escalation_allowed(P, f"the {name.replace('_', ' ')}")
        return _to_float(_t_certified(P, name, REL_TOL / 100, ABS_TOL / 100, START_PREC), name)
    rel, floor, prec = _digits_target(num.dps)
    return arb_to_mpf(_t_certified(P, name, rel, floor, prec, DPS_DENSE_LIMIT))


def mass(model: FiniteStateLM, num: Arithmetic) -> Any:
    """Σ_y p(y): the probability of finite strings (1 − mass leaked to infinite sequences)."""
    return t_measure(model, "mass", num)


def entropy(model: FiniteStateLM, num: Arithmetic) -> Any:
    """H(p) = Σ_y −p(y) log p(y) in nats (model must be tight)."""
    return t_measure(model, "entropy", num)


def varentropy(model: FiniteStateLM, num: Arithmetic) -> Any:
    """σ² = Var[−log p(Y)] in nats² (model must be tight)."""
    return t_measure(model, "varentropy", num)


def expected_length(model: FiniteStateLM, num: Arithmetic) -> Any:
    """E|Y| (model must be tight)."""
    return t_measure(model, "expected_length", num)


def eos_bound(model: FiniteStateLM, num: Arithmetic) -> Any:
    """ξ = min over reachable states of p(eos | s) (Def. 3); ξ > 0 iff the model is eos-bounded (decided exactly:
    see :func:`eos_bound_exact`)."""
    return num.scalar(eos_bound_exact(model))


def eos_bound_exact(model: FiniteStateLM) -> Fraction:
    if "_eos_bound_exact" not in model.__dict__:
        states = np.flatnonzero(model.reachable)
        model.__dict__["_eos_bound_exact"] = min(model.eos_prob_exact[s] for s in states.tolist())
    return model.__dict__["_eos_bound_exact"]


# ----- spectral part: Perron roots with brackets ---------------------------------------------------------------------
def _float_bracket(B: Any, v: np.ndarray | None, eta: float, k: int) -> tuple[float, float] | None:
    """Certified [lo, hi] ∋ ρ(B_true) from a positive vector v (Collatz–Wielandt), entries within eta relatively."""
    if v is None or not np.all(np.isfinite(v)) or not np.all(v > 0):
        return None
    with np.errstate(all="ignore"):
        r = np.asarray(B @ v, dtype=np.float64) / v
    if not np.all(np.isfinite(r)):
        return None
    f = _gamma(k) + eta + 2 * U
    return float(r.min() * (1 - f)), float(r.max() * (1 + f))


def _float_perron(B: Any, eta: float, k: int, v0: np.ndarray | None = None
                  ) -> tuple[float, tuple[float, float] | None, np.ndarray | None]:
    """(ρ estimate, certified bracket or None, Perron vector) of an irreducible non-negative float64 matrix."""
    n = B.shape[0]
    if n == 1:
        r = float(B[0, 0]) if not scipy.sparse.issparse(B) else float(B.toarray()[0, 0])
        f = eta + 2 * U
        return r, (r * (1 - f), r * (1 + f)), np.ones(1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        found = _power_iteration(B, x0=v0) if v0 is not None else None
        if found is not None:
            rho, v = found
        else:
            try:
                rho, _, v = Float64().perron(B)
            except (np.linalg.LinAlgError, ValueError, scipy.sparse.linalg.ArpackError):
                return math.nan, None, None
    return float(rho), _float_bracket(B, v, eta, k), v


def _arb_interval(lo: Any, hi: Any) -> Any:
    return lo.union(hi)


def _arb_perron(B: Any, v0: Any, prec: int, keep: list | None = None) -> Any:
    """Certified enclosure of the Perron root of an irreducible non-negative ball matrix B (Noda iteration for the
    vector, in approximate arithmetic; then Collatz–Wielandt in ball arithmetic). None if it fails.

    ``v0`` (float64 array or list of balls, positive) starts the iteration, ideally near the Perron vector: Noda
    iteration converges quadratically near it but can creep from afar on badly scaled periodic matrices. The vector
    found is appended to ``keep`` for the next call (a warm start at a nearby α or a higher precision).
    """
    n = B.nrows()
    if n == 1:
        return B[0, 0]
    Bm = B.mid()
    if isinstance(v0, list) and len(v0) == n and all(x > 0 for x in v0):
        v = list(v0)
    elif isinstance(v0, np.ndarray) and np.all(np.isfinite(v0)) and np.all(v0 > 0):
        v = [flint.arb(float(x)) for x in v0]
    else:
        v = [flint.arb(1)] * n
    target = flint.arb(2) ** (-(prec - 12))
    for _ in range(300):
        y = Bm * flint.arb_mat(n, 1, v)
        ratios = [(y[i, 0] / v[i]).mid() for i in range(n)]
        lo, hi = min(ratios), max(ratios)
        if hi - lo <= target * hi:
            break
        S = -Bm
        for i in range(n):
            S[i, i] += hi
        try:
            wv = S.solve(flint.arb_mat(n, 1, v), algorithm="approx")
        except ZeroDivisionError:
            break
        w = [wv[i, 0].mid() for i in range(n)]
        if not all(x.is_finite() and x > 0 for x in w):
            break
        top = max(w)
        v = [(x / top).mid() for x in w]
    if not all(x > 0 for x in v):
        return None
    if keep is not None:
        keep.append(v)
    y = B * flint.arb_mat(n, 1, v)
    out = None
    for i in range(n):
        r = y[i, 0] / v[i]
        out = r if out is None else out.union(r)
    return out


def length_tail_rate(model: FiniteStateLM, num: Arithmetic) -> Any:
    """ρ(T): P(|Y| ≥ n) decays like ρ(T)ⁿ up to polynomial factors (0 for finite support)."""
    P = prepare(model)
    if num.dps is None:
        rho, err, vectors = 0.0, 0.0, []
        eta = U + _gamma(P.parallel) + (_SMALLEST if (P.p64 < FLOAT64_TINY).any() else 0.0)
        for members in P.blocks:
            r, br, v = _float_perron(_block(Float64(), P.live, members, P.p64), eta, P.degree)
            vectors.append(v)
            if br is None:
                err = math.inf
                continue
            rho = max(rho, r)
            err = max(err, br[1] - br[0])
        if _acceptable(rho, err):
            return rho
        _escalation_allowed(P, "the length-tail rate")
        return _to_float(_rho_certified(P, vectors, REL_TOL / 100, ABS_TOL / 100, START_PREC), "length_tail_rate")
    rel, floor, prec = _digits_target(num.dps)
    vectors = [_float_perron(_block(Float64(), P.live, members, P.p64), 0.0, P.degree)[2] for members in P.blocks]
    return arb_to_mpf(_rho_certified(P, vectors, rel, floor, prec, DPS_DENSE_LIMIT))


def _rho_certified(P: Prepared, vectors: list, rel: float, floor: float, prec: int,
                   dense: int = ARB_DENSE_LIMIT) -> Any:
    if not P.blocks:
        return flint.arb(0)
    top = _prec_cap(P, prec, dense)
    while prec <= top:
        with Arb.context(prec) as num:
            p = num.array(P.p)
            best = None
            for k, (members, v0) in enumerate(zip(P.blocks, vectors, strict=True)):
                found: list = []
                got = _ball_perron(_block_operator(P, members, p), v0, rel / 4) if len(members) > 1 else None
                if got is not None:
                    r, vectors[k] = got
                elif len(members) > dense:
                    raise AccuracyError(f"the length-tail rate: power iteration stalls on a component of "
                                        f"{len(members)} states (periodic?), and the dense certified path is "
                                        f"limited to {dense}")
                else:
                    r = _arb_perron(_block(num, P.live, members, p), v0, prec, found)
                if found:
                    vectors[k] = found[-1]
                if r is None:
                    best = None
                    break
                best = r if best is None else (r if r > best else best if best > r else best.union(r))
            if best is not None and _ball_ok(best, rel, floor):
                note_escalation("length_tail_rate", f"arb, {prec} bits" + (", sparse" if P.n > 1 else ""))
                return best
        prec *= 2
    raise AccuracyError(f"the length-tail rate cannot be certified at {top} bits")


# ----- Rényi sums in log space ----------------------------------------------------------------------------------------
def _renyi_float(P: Prepared, alpha: Fraction) -> tuple[float, float] | float | None:
    """(log S_α, error bound) in float64, math.inf if divergence is certified, None if float64 cannot decide."""
    a = float(alpha)
    n, s0 = P.n, P.start
    m = P.max_log_continuation()
    mm = np.concatenate([m, [0.0]])
    diff = mm[P.dst] - m[P.src]
    diff[P.self_loop] = 0.0
    arg = P.logp + diff
    x = a * arg
    with np.errstate(all="ignore"):
        w = np.exp(x)
    dx = a * (4 * U * np.abs(P.logp) + _SMALLEST + U * np.abs(diff) + 2 * U * np.abs(arg)) + U * np.abs(x)
    eta_arc = dx * (1 + dx) + U
    inner = P.inner
    off = inner & ~P.self_loop
    small = (w < FLOAT64_TINY)
    abs_err = _SMALLEST if small.any() else 0.0
    # diagonal 1 − Σ loops: −expm1 of the largest loop's exponent keeps 1 − (1 − 1e-17)^α
    diag = np.ones(n)
    diag_err = np.zeros(n)
    loop_idx = np.flatnonzero(P.self_loop)
    if len(loop_idx):
        states = P.src[loop_idx]
        order = np.lexsort((-w[loop_idx], states))
        loop_idx, states = loop_idx[order], states[order]
        first = np.ones(len(states), dtype=bool)
        first[1:] = states[1:] != states[:-1]
        big = loop_idx[first]
        with np.errstate(all="ignore"):
            diag[P.src[big]] = -np.expm1(x[big])
        # −expm1(x) has error ≈ e^x·Δx plus its own rounding; the other loops are subtracted with their errors
        diag_err[P.src[big]] = dx[big] * (1 + dx[big]) * w[big] + 2 * U * np.abs(diag[P.src[big]])
        rest = loop_idx[~first]
        if len(rest):
            np.subtract.at(diag, P.src[rest], w[rest])
            rest_sum = np.bincount(P.src[rest], weights=w[rest], minlength=n)
            rest_err = np.bincount(P.src[rest], weights=eta_arc[rest] * w[rest], minlength=n)
            diag_err += rest_err + _gamma(P.degree) * (rest_sum + np.abs(diag) + diag_err)
        diag_err += abs_err * P.degree + _SMALLEST
    if inner.any() and not (w[inner] < FLOAT64_TINY).any():
        # every row of D⁻¹A_αD summing to more than 1 proves ρ(A_α) > 1 (Collatz–Wielandt with v = 1), before
        # any solve (a Krylov solver spends its whole budget on the indefinite I − A_α)
        rows = np.bincount(P.src[inner], weights=w[inner] * (1 - eta_arc[inner]), minlength=n)
        if rows.min() * (1 - _gamma(P.degree) - 2 * U) > 1:
            return math.inf
    eta = float(eta_arc[off].max()) if off.any() else 0.0
    sys = _cached(P, ("renyi_sys", alpha), lambda: _FloatSystem(n, P.src[off], P.dst[off], w[off], diag, diag_err,
                                                              eta, abs_err), slot="systems")
    if sys.certified:
        eos = ~inner
        e = np.bincount(P.src[eos], weights=w[eos], minlength=n)
        e_err = np.bincount(P.src[eos], weights=eta_arc[eos] * w[eos], minlength=n) + _gamma(P.degree) * e + abs_err
        st = sys.solve(e)
        err = float(sys.bound(st, e, e_err)[s0])
        if not (st[s0] > 0 and err < st[s0]):
            return None
        log_st = math.log(st[s0])
        am = a * m[s0]
        log_s = am + log_st
        log_err = -math.log1p(-err / st[s0]) + U * (abs(log_st) + 2 * abs(am) + abs(log_s))
        return log_s, log_err
    # not certified convergent: is it certified divergent?
    for members in P.blocks:
        sel, _, _ = _block_arcs(P.live, members)
        if (w[sel] < FLOAT64_TINY).any():
            continue
        B = _block(Float64(), P.live, members, w)
        _, br, _ = _float_perron(B, float(eta_arc[sel].max()), P.degree)
        if br is not None and br[0] > 1:
            return math.inf
    return None


def _renyi_float_system(P: Prepared, alpha: Fraction) -> _FloatSystem | None:
    """The float64 system of D⁻¹A_αD built by :func:`_renyi_float` (None if divergence was decided before it)."""
    systems = P._cache.get("systems", {})
    if ("renyi_sys", alpha) not in systems:
        _renyi_float(P, alpha)
        systems = P._cache.get("systems", {})
    return systems.get(("renyi_sys", alpha))


def _exact_convergent(n: int, src: np.ndarray, dst: np.ndarray, weights: list[Fraction]) -> bool:
    """ρ(W) < 1 for the exact non-negative matrix of the inner arcs' ``weights``, in exact rationals: iff I − W is
    invertible with (I − W)⁻¹1 > 0 (if ρ(W) ≥ 1, 1 is an eigenvalue or some entry of (I − W)⁻¹1 is ≤ 0)."""
    A = flint.fmpq_mat(n, n)
    for i in range(n):
        A[i, i] = 1
    for i, j, x in zip(src.tolist(), dst.tolist(), weights, strict=True):
        A[i, j] -= flint.fmpq(x.numerator, x.denominator)
    try:
        X = A.solve(flint.fmpq_mat(n, 1, [1] * n))
    except ZeroDivisionError:
        return False
    return all(X[i, 0] > 0 for i in range(n))


def _renyi_exact_decision(P: Prepared, alpha: Fraction) -> bool | None:
    """Whether Σ_y p(y)^α converges, decided in exact rationals when p^α is rational on every inner arc."""
    inner = np.flatnonzero(P.inner).tolist()
    r, q = alpha.numerator, alpha.denominator
    if q > 64:  # p^(r/q) is rational only for q-th powers; not worth trying for an order like float(0.7)
        return None
    weights = []
    for k in inner:
        p = P.p[k]
        a, b = flint.fmpz(p.numerator), flint.fmpz(p.denominator)
        x, y = a.root(q), b.root(q)
        if x ** q != a or y ** q != b:
            return None
        weights.append(Fraction(int(x), int(y)) ** r)
    return _exact_convergent(P.n, P.src[inner], P.dst[inner], weights)


def _renyi_arb(P: Prepared, alpha: Fraction, prec: int, convergent: bool = False) -> Any:
    """log S_α(s₀) as a ball, math.inf if divergence is certified, None if undecided at this precision
    (``convergent``: already decided, only the value is wanted)."""
    n, inner = P.n, P.inner
    with Arb.context(prec) as num:
        a = num.scalar(alpha)
        logp = num.log_fractions(P.p)
        x = a * logp
        w = num.exp(x)
        A = flint.arb_mat(n, n)
        for i in range(n):
            A[i, i] = 1
        loops: dict[int, list[int]] = {}
        for k in np.flatnonzero(inner).tolist():
            i, j = int(P.src[k]), int(P.dst[k])
            if i != j:
                A[i, j] -= w[k]
            else:
                loops.setdefault(i, []).append(k)
        for i, ks in loops.items():
            A[i, i] = -x[ks[0]].expm1() - sum((w[k] for k in ks[1:]), flint.arb(0))
        e = _per_state(n, P.src[~inner], w[~inner])
        X = num.solve(A, [np.array([flint.arb(1)] * n, dtype=object), e])
        if X is None:
            return None
        if not convergent:
            if any(v < 0 for v in X[0]):
                return math.inf
            if not all(v > 0 for v in X[0]):
                return None
        return X[1][P.start].log()


def _log_balls(P: Prepared, prec: int) -> np.ndarray:
    """Balls around log p of every live arc at ``prec`` bits (cached per model and precision)."""
    def build() -> np.ndarray:
        with Arb.context(prec) as num:
            return num.log_fractions(P.p)

    return _cached(P, ("logp", prec), build)


def _renyi_refined(P: Prepared, alpha: Fraction, prec: int) -> Any:
    """log S_α(s₀) as a ball by sparse refinement on the certified float64 system of D⁻¹A_αD (the same matrix:
    D = diag e^{αm} with the float64 m taken as exact), math.inf when float64 certified divergence, None when the
    float system has no certificate."""
    got = _cached(P, ("renyi64", alpha), lambda: _renyi_float(P, alpha))
    if got is math.inf:
        return math.inf
    fsys = _renyi_float_system(P, alpha)
    if fsys is None or not fsys.refinable or P.start is None:
        return None
    n, inner, s0 = P.n, P.inner, P.start
    m = P.max_log_continuation()
    logp = _log_balls(P, prec)
    with Arb.context(prec) as num:
        a = num.scalar(alpha)
        mb = np.array([flint.arb(float(v)) for v in m] + [flint.arb(0)], dtype=object)
        diff = mb[P.dst] - mb[P.src]
        diff[P.self_loop] = flint.arb(0)
        x = a * (logp + diff)
        w = num.exp(x)
        off = inner & ~P.self_loop
        diag = np.array([flint.arb(1)] * n, dtype=object)
        loops: dict[int, list[int]] = {}
        for k in np.flatnonzero(P.self_loop).tolist():
            loops.setdefault(int(P.src[k]), []).append(k)
        for i, ks in loops.items():  # 1 − Σ loops with −expm1 for one of them (1 − (1 − 1e-17)^α keeps its digits)
            diag[i] = -x[ks[0]].expm1() - sum((w[k] for k in ks[1:]), flint.arb(0))
        op = _BallOperator(n, P.src[off], P.dst[off], w[off], diag)
        e = _per_state(n, P.src[~inner], w[~inner])
        X = _refined_solve(fsys, op, e)
        if X is None or not X[s0] > 0:
            return None
        return a * mb[s0] + X[s0].log()


def _block_operator(P: Prepared, members: np.ndarray, w: np.ndarray) -> _BallOperator:
    sel, rows, cols = _block_arcs(P.live, members)
    return _BallOperator(len(members), rows, cols, w[sel], None)


def _threshold_refined(P: Prepared, members: np.ndarray, a_hat: float, v0: np.ndarray | None, rel: float,
                       prec: int) -> Any:
    """α₀ of one component to relative ``rel`` at scale: Newton on ρ(A_α) = 1 with high-precision Perron roots
    (sparse power iteration in balls, :func:`_ball_perron`) and the float64 slope ρ′(α̂) (each step multiplies
    the error by about |1 − ρ′/ρ̂′| ≈ 1e-15), then certified: Collatz–Wielandt brackets give ρ(A_α) > 1 at
    α(1 − rel/2) and ρ(A_α) < 1 at α(1 + rel/2). None where the iteration does not converge."""
    if not 0 < a_hat < 1 or v0 is None:
        return None
    num64 = Float64()
    sel, _, _ = _block_arcs(P.live, members)
    w64 = np.exp(a_hat * P.logp)
    B = _block(num64, P.live, members, w64)
    try:
        _, u, v = num64.perron(B)
        slope = float(u.dot(num64.matvec(_block(num64, P.live, members, w64 * P.logp), v)) / u.dot(v))
    except (np.linalg.LinAlgError, ValueError, scipy.sparse.linalg.ArpackError):
        return None
    if not (math.isfinite(slope) and slope < 0):
        return None
    logp = _log_balls(P, prec)
    with Arb.context(prec):
        def op(alpha: Any) -> _BallOperator:
            w = np.empty(len(logp), dtype=object)
            w[sel] = [(alpha * lp).exp() for lp in logp[sel]]
            return _block_operator(P, members, w)

        alpha, vec = flint.arb(a_hat), list(v0)
        tol = flint.arb(rel) / 16
        for _ in range(12):
            got = _ball_perron(op(alpha), vec, rel / 64)
            if got is None:
                return None
            r, vec = got
            step = ((r.mid() - 1) / slope).mid()
            alpha = (alpha - step).mid()
            if abs(step) <= tol * alpha:
                break
        else:
            return None
        below, above = (alpha * (1 - flint.arb(rel) / 2)).mid(), (alpha * (1 + flint.arb(rel) / 2)).mid()
        lo, hi = _ball_perron(op(below), vec, rel / 64), _ball_perron(op(above), vec, rel / 64)
        if lo is None or hi is None or not (lo[0] > 1 and hi[0] < 1):
            return None
        # α₀ ∈ (below, above): the ball around α must cover both ends as rounded
        rad = (alpha - below).upper()
        other = (above - alpha).upper()
        return flint.arb(alpha, other if other > rad else rad)


def _renyi_certified(P: Prepared, alpha: Fraction, finish: Callable[[Any], Any], rel: float, floor: float,
                     prec: int, label: str, dense: int = ARB_DENSE_LIMIT) -> Any:
    """``finish(log S_α)`` (a ball) certified to ``rel``; math.inf when Σ p^α diverges."""
    top = _prec_cap(P, prec, dense)
    while prec <= top:  # sparse refinement on the certified float64 system first
        log_s = _renyi_refined(P, alpha, prec)
        if log_s is math.inf:
            note_escalation(label, "float64 (divergence certified)")
            return math.inf
        if log_s is None:
            break
        if log_s.is_finite():
            with Arb.context(prec):
                out = finish(log_s)
            if _ball_ok(out, rel, floor):
                note_escalation(label, f"arb, {prec} bits, refined")
                return out
        prec *= 2
    if P.n > dense:
        raise AccuracyError(f"{label}: the float64 system of this model at α = {alpha} has no M-matrix certificate "
                            f"and its divergence is not certified by Collatz–Wielandt; the dense certified path is "
                            f"limited to {dense} live states (this model has {P.n})")
    convergent = False
    tried_exact = False
    while prec <= MAX_PREC:
        log_s = _renyi_arb(P, alpha, prec, convergent)
        if log_s is math.inf:
            note_escalation(label, f"arb, {prec} bits (divergence certified)")
            return math.inf
        if log_s is None and not tried_exact:
            tried_exact = True
            decided = _renyi_exact_decision(P, alpha)
            if decided is False:
                note_escalation(label, "exact rationals (divergence decided)")
                return math.inf
            convergent = decided is True
        if log_s is not None and log_s.is_finite():
            with Arb.context(prec):
                out = finish(log_s)
            if _ball_ok(out, rel, floor):
                note_escalation(label, f"arb, {prec} bits" + (" (convergence decided exactly)" if convergent else ""))
                return out
        prec *= 2
    raise AccuracyError(
        f"{label}: cannot decide at {MAX_PREC} bits whether Σ_y p(y)^α converges at α = {alpha} "
        f"(ρ(A_α) = 1 to within 2^-{MAX_PREC}: α is, to that precision, the divergence threshold α₀); "
        "no finite precision settles an exact coincidence of irrational powers")


def renyi_log_sum(model: FiniteStateLM, num: Arithmetic, alpha: Any, what: str = "entropy") -> Any:
    """H_α (``what="entropy"``, nats) or Σ_y p(y)^α (``what="sum"``) for finite α > 0, α ≠ 1; inf if divergent."""
    P = prepare(model)
    alpha = Fraction(alpha) if not isinstance(alpha, Fraction) else alpha
    label = f"renyi[{_order_label(alpha)}]" if what == "entropy" else f"renyi_sum[{_order_label(alpha)}]"
    one_minus = 1 - alpha

    def finish(log_s: Any) -> Any:
        if what == "entropy":
            return log_s / flint.arb(flint.fmpq(one_minus.numerator, one_minus.denominator))
        return log_s.exp()

    if num.dps is None:
        got = _cached(P, ("renyi64", alpha), lambda: _renyi_float(P, alpha))
        if got is math.inf:
            return math.inf
        if got is not None:
            log_s, log_err = got
            a = float(alpha)
            if what == "entropy":
                value = log_s / (1 - a)
                err = (log_err + U * abs(log_s)) / abs(1 - a) + abs(value) * (3 * U + a * U / abs(1 - a))
            else:
                value = math.exp(log_s) if log_s < 709.7 else math.inf
                err = abs(value) * (math.expm1(log_err + 2 * U) if log_err < 700 else math.inf)
            if _acceptable(value, err):
                return value
        fsys = _renyi_float_system(P, alpha)
        if fsys is None or not fsys.refinable:  # with a certificate (or a candidate), refinement scales
            _escalation_allowed(P, label)
        out = _renyi_certified(P, alpha, finish, REL_TOL / 100, ABS_TOL / 100, START_PREC, label)
        return math.inf if out is math.inf else _to_float(out, label)
    rel, floor, prec = _digits_target(num.dps)
    out = _renyi_certified(P, alpha, finish, rel, floor, prec, label, DPS_DENSE_LIMIT)
    return mpmath.inf if out is math.inf else arb_to_mpf(out)


def renyi_sum(model: FiniteStateLM, num: Arithmetic, alpha: Any) -> Any:
    """Σ_y p(y)^α for finite α > 0, α ≠ 1, or +inf when it diverges (ρ(A_α) ≥ 1, certified)."""
    return renyi_log_sum(model, num, _as_order(alpha), "sum")


def renyi_entropy(model: FiniteStateLM, num: Arithmetic, alpha: Any) -> Any:
    """H_α = log S_α / (1 − α) in nats, computed in log space (any order, 1e-3 or 500), +inf when divergent."""
    return renyi_log_sum(model, num, _as_order(alpha), "entropy")


def _order_label(alpha: Fraction) -> str:
    """α as a decimal when it has a finite one (1/200 -> 0.005), else as a fraction."""
    d = alpha.denominator
    for prime in (2, 5):
        while d % prime == 0:
            d //= prime
    if d != 1:
        return str(alpha)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        text = str((decimal.Decimal(alpha.numerator) / alpha.denominator).normalize())
    return text if "E" not in text else str(alpha)


def _as_order(alpha: Any) -> Fraction:
    if isinstance(alpha, Fraction):
        return alpha
    if isinstance(alpha, mpmath.mpf):
        man, exp = alpha.man_exp
        return Fraction(int(man)) * Fraction(2) ** int(exp)
    return Fraction(alpha)


def max_log_prob(model: FiniteStateLM, num: Arithmetic) -> Any:
    """max_y log p(y) (for H_∞ = −max_y log p(y)): Dijkstra on −log p(a|s) ≥ 0, eos as the final arc.

    In float64 the path's sum of at most n + 1 logs has relative error ≤ (n + 5)u, within the contract; with dps,
    the search runs on mpmath logs at dps + 10 digits.
    """
    P = prepare(model)
    if num.dps is None:
        return float(P.max_log_continuation()[P.start])
    with mpmath.workdps(num.dps + 10):
        cost = [-mp_log_fraction(p) for p in P.p]
        out_arcs: list[list[int]] = [[] for _ in range(P.n)]
        for k, s in enumerate(P.src.tolist()):
            out_arcs[s].append(k)
        inf = mpmath.inf
        dist = [inf] * P.n
        dist[P.start] = mpmath.mpf(0)
        best = inf
        heap: list[tuple[Any, int]] = [(dist[P.start], P.start)]
        done = [False] * P.n
        while heap:
            d, s = heapq.heappop(heap)
            if done[s]:
                continue
            done[s] = True
            for k in out_arcs[s]:
                nd = d + cost[k]
                t = int(P.dst[k])
                if t < 0:
                    best = min(best, nd)
                elif nd < dist[t]:
                    dist[t] = nd
                    heapq.heappush(heap, (nd, t))
        return -best


# ----- the divergence threshold α₀ ------------------------------------------------------------------------------------
def renyi_threshold(model: FiniteStateLM, num: Arithmetic) -> Any:
    """α₀ = inf{α > 0 : Σ_y p(y)^α < ∞}; Σ p^α diverges at α₀ itself when α₀ > 0."""
    P = prepare(model)
    dps = num.dps
    best: Any = 0.0 if dps is None else mpmath.mpf(0)
    for members in P.blocks:
        if _single_cycle(P, members):
            continue  # ρ(A_0) = 1: every α > 0 converges on this component
        a = _component_threshold(P, members, dps)
        best = max(best, a)
    return best


def _single_cycle(P: Prepared, members: np.ndarray) -> bool:
    """ρ(A_0) ≤ 1 exactly: A_0 counts arcs, and an irreducible 0/1 matrix with one arc per row is a cycle."""
    _, rows, _ = _block_arcs(P.live, members)
    return bool(np.all(np.bincount(rows, minlength=len(members)) == 1))


def _float_newton(P: Prepared, members: np.ndarray) -> tuple[float, np.ndarray | None]:
    """The root of ρ(A_α) = 1 on one component in float64 (Newton inside a bracket), and a Perron vector."""
    logp = P.logp
    num = Float64()

    def f(alpha: float) -> tuple[float, float, np.ndarray]:
        w = np.exp(alpha * logp)
        rho, u, v = num.perron(_block(num, P.live, members, w))
        slope = u.dot(num.matvec(_block(num, P.live, members, w * logp), v)) / u.dot(v)
        return rho - 1, slope, v

    lo, hi = 0.0, 1.0  # ρ(A_0) > 1 (not a single cycle) and ρ(A_1) = ρ(T) < 1 for a tight model
    x = 1.0
    fx, dx, v = f(x)
    tol = 4 * U
    for _ in range(300):
        cand = x - fx / dx if dx != 0 else lo
        if not lo < cand < hi:
            cand = (lo + hi) / 2
        if abs(cand - x) <= tol * cand:
            return cand, v
        x = cand
        fx, dx, v = f(x)
        if fx == 0:
            return x, v
        if fx > 0:
            lo = x
        else:
            hi = x
        if hi - lo <= tol * hi:
            break
    return (lo + hi) / 2, v


def _float_side(P: Prepared, members: np.ndarray, alpha: float, v0: np.ndarray | None) -> int:
    """+1 if ρ(A_alpha) > 1 certified on the component, −1 if < 1, 0 if float64 cannot tell."""
    sel, _, _ = _block_arcs(P.live, members)
    x = alpha * P.logp[sel]
    w = np.exp(x)
    if (w < FLOAT64_TINY).any():
        return 0
    eta = float((alpha * 5 * U * np.abs(P.logp[sel]) + U * np.abs(x)).max()) * 1.01 + U + _gamma(P.parallel)
    full = np.zeros(len(P.logp))
    full[sel] = w
    _, br, _ = _float_perron(_block(Float64(), P.live, members, full), eta, P.degree, v0)
    if br is None:
        return 0
    return 1 if br[0] > 1 else -1 if br[1] < 1 else 0


def _component_threshold(P: Prepared, members: np.ndarray, dps: int | None) -> Any:
    """α₀ of one component: float64 Newton, certified by the signs of ρ(A_α) − 1 at α̂(1 ∓ τ)."""
    try:
        a_hat, v = _float_newton(P, members)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, scipy.sparse.linalg.ArpackError):
        a_hat, v = 0.5, None
    if dps is None:
        tau = REL_TOL / 4
        if (0 < a_hat < 1 and _float_side(P, members, a_hat * (1 - tau), v) == 1
                and _float_side(P, members, a_hat * (1 + tau), v) == -1):
            return a_hat
        got = _threshold_refined(P, members, a_hat, v, tau, START_PREC)
        if got is not None:
            note_escalation("renyi_finite_above", f"arb, {START_PREC} bits, refined")
            return _to_float(got, "renyi_finite_above")
        _escalation_allowed(P, "the Rényi threshold α₀")
        return _to_float(_threshold_certified(P, members, a_hat, tau, START_PREC, v), "renyi_finite_above")
    rel, _, prec = _digits_target(dps)
    got = _threshold_refined(P, members, a_hat, v, rel, prec)
    if got is not None:
        note_escalation("renyi_finite_above", f"arb, {prec} bits, refined")
        return arb_to_mpf(got)
    if len(members) > DPS_DENSE_LIMIT:
        raise AccuracyError(f"the Rényi threshold α₀: Newton with sparse power iteration does not converge on a "
                            f"component of {len(members)} states, and the dense certified path is limited to "
                            f"{DPS_DENSE_LIMIT}")
    return arb_to_mpf(_threshold_certified(P, members, a_hat, rel, prec, v))


def _arb_side(B: Any) -> int:
    """+1 if ρ(B) > 1, −1 if ρ(B) < 1 (certified, by the sign of (I − B)⁻¹1), 0 if undecided."""
    n = B.nrows()
    A = -B
    for i in range(n):
        A[i, i] += 1
    try:
        X = A.solve(flint.arb_mat(n, 1, [1] * n))
    except ZeroDivisionError:
        return 0
    xs = [X[i, 0] for i in range(n)]
    if all(x > 0 for x in xs):
        return -1
    if any(x < 0 for x in xs):
        return 1
    return 0


def _threshold_certified(P: Prepared, members: np.ndarray, a_hat: float, rel: float, prec: int,
                         v0: np.ndarray | None = None) -> Any:
    """α₀ of one component to relative ``rel``, certified: regula falsi (Illinois) on f(α) = log ρ(A_α) (Perron
    roots by Noda iteration, or the certified sign of ρ(A_α) − 1 where Noda does not converge at this precision),
    then ρ(A_α) > 1 at α(1 − rel/2) and < 1 at α(1 + rel/2) by certified sign tests."""
    sel, rows, cols = _block_arcs(P.live, members)
    probs = [P.p[k] for k in np.flatnonzero(sel).tolist()]
    m = len(members)
    vectors: dict[float, Any] = {} if v0 is None else {a_hat: v0}
    while prec <= MAX_PREC:
        with Arb.context(prec) as num:
            logp = num.log_fractions(probs)

            def block(alpha: Any, num: Arb = num, logp: np.ndarray = logp) -> Any:
                return num.matrix(m, rows, cols, num.exp(alpha * logp))

            def f(alpha: Any, prec: int = prec) -> Any:
                """log ρ(A_α) (a midpoint), or ±2^-prec·… with only the certified sign, or None if undecided."""
                key = float(alpha)
                near = min(vectors, key=lambda a: abs(a - key)) if vectors else None
                found: list = []
                r = _arb_perron(block(alpha), vectors[near] if near is not None else None, prec, found)
                if found:
                    vectors[key] = found[-1]
                if r is not None and r > 0 and (r.rad() < abs(r.mid() - 1) or r.rad() < r.mid() * 2.0 ** (12 - prec)):
                    return r.mid().log().mid()
                side = _arb_side(block(alpha))
                return None if side == 0 else flint.arb(side)

            lo, hi = flint.arb(0), flint.arb(1)
            f_lo, f_hi = f(lo), f(hi)
            f_lo = f_lo if f_lo is not None and f_lo > 0 else flint.arb(1)  # ρ(A_0) > 1: not a single cycle
            f_hi = f_hi if f_hi is not None and f_hi < 0 else flint.arb(-1)  # ρ(A_1) = ρ(T) < 1: tight
            x = flint.arb(a_hat) if 0 < a_hat < 1 else flint.arb(0.5)
            side = 0
            for _ in range(600):
                fx = f(x)
                if fx is None:
                    break
                if fx > 0:
                    lo, f_lo = x, fx
                    if side == 1:
                        f_hi = (f_hi / 2).mid()
                    side = 1
                elif fx < 0:
                    hi, f_hi = x, fx
                    if side == -1:
                        f_lo = (f_lo / 2).mid()
                    side = -1
                else:
                    lo = hi = x
                    break
                if hi - lo <= flint.arb(rel) / 8 * hi:
                    break
                x = ((lo * f_hi - hi * f_lo) / (f_hi - f_lo)).mid()
                if not lo < x < hi:
                    x = ((lo + hi) / 2).mid()
            a1 = ((lo + hi) / 2).mid()
            below, above = (a1 * (1 - flint.arb(rel) / 2)).mid(), (a1 * (1 + flint.arb(rel) / 2)).mid()
            if _arb_side(block(below)) == 1 and _arb_side(block(above)) == -1:
                note_escalation("renyi_finite_above", f"arb, {prec} bits")
                return flint.arb(a1.mid(), (a1 * flint.arb(rel) / 2).upper())
        prec *= 2
    raise AccuracyError(f"the Rényi threshold α₀ cannot be certified at {MAX_PREC} bits")
