"""Exact measures of back-off n-gram models (ARPA) without expanding any state to a dense row.

A :class:`~typicality.models.arpa.BackoffLM` is a deterministic automaton over its contexts, so every measure of
:mod:`typicality.measures.finite_state` applies to it — but the dense rows would cost |contexts| × |Σ| numbers
(a trigram of 200,000 contexts over 30,000 words: 6·10⁹). Here the back-off structure is used as *failure
transitions*, and every quantity costs O(listed n-grams + contexts) per pass.

**Notation.** For a context s ≠ () let b = b(s) be its back-off state, β = bow(s), 𝓛(s) the words listed after s
(eos included), P(s, w) their probabilities, q(s, w) = p(w | b) and d(s, w) = δ(b, w) (the *shadow* of the listed
n-gram: what backing off would have given). For w ∉ 𝓛(s) the model says p(w | s) = β · p(w | b) and
δ(s, w) = δ(b, w) (see :mod:`typicality.models.arpa`). So for any function f of (probability, next state),

    Σ_w p(w|s) f(p(w|s), δ(s,w)) = Σ_{w∈𝓛(s)} P f(P, δ(s,w)) + β [ Σ_w p(w|b) f(β p(w|b), δ(b,w))
                                                                    − Σ_{w∈𝓛(s)} q f(β q, d(s,w)) ],      (F)

exact whenever the bracket's full sum over b's row is known. Each identity below is (F) for one f; b is a shorter
context, so the full sums are computed root first, one level (context length) at a time, in O(listed n-grams).

* **Row mass** M₀(s) = Σ_w p(w|s) = Σ_𝓛 P + β (M₀(b) − Σ_𝓛 q): the validation of every row.
* **Local entropy** (f = −log p): c(s) = Σ_𝓛 −P log P + β (c(b) − Σ_𝓛 −q log q) − β log β (M₀(b) − Σ_𝓛 q); the
  extra term is the −log β that every backed-off word pays.
* **Value-to-go.** Entropy h = c + T h, mass m = e + T m (e(s) = p(eos|s)), expected length ℓ = (M₀ − e) + T ℓ,
  varentropy v = d + T v and Rényi S_α = e^α + A_α S_α all have the form V = r + T V on the live states
  (reachable and co-reachable; docs/theory.md#g). Write Z(u) = Σ_{w≠eos} p(w|u) 1[δ(u,w) live] V(δ(u,w)) for *every*
  context u (live or not); (F) with f = V(δ) gives, for all u,

      Z(u) = Σ_{𝓛(u)} P (r + Z)(δ(u,w)) + β (Z(b) − Σ_{𝓛(u)} q (r + Z)(d(u,w))),      (Z)

  sums over non-eos words with live targets. In matrix form (I − G − K) Z = G r̂ with K[u, b(u)] = β (strictly
  lower triangular by context length, so nilpotent) and G of 2·(listed n-grams) entries; eliminating Z off the
  live set gives back (I − T) V = r, and det(I − G − K) = det(I − T) (Sylvester), so the system is nonsingular
  exactly when the dense one is, and V = r + Z on the live states. The values Z(u) of unreachable back-off states
  are finite by construction (only live targets count), so no ∞ − ∞ can occur even when such a state would have
  an infinite value of its own. For the Rényi sums every weight is raised to α (P^α, q^α, β^α): A_α has the same
  failure structure with β^α.
* **Varentropy (law of total variance, no E[I²] − H² cancellation).** d(s) = Σ_x p(x|s) (g(s,x) − h(s))² with
  g(s,x) = −log p(x|s) + h(δ(s,x)). With κ(u) = M₁(u)/M₀(u) the local mean of g at u (M₁ is (F) for f = g,
  M₁(s) = h(s) on live states), the centred second moment M₂(u) = Σ_x p (g − κ(u))² obeys, since
  g(s,w) − κ(s) = (g(b,w) − κ(b)) + Δ for backed-off words with Δ = κ(b) − κ(s) − log β,

      M₂(s) = Σ_𝓛 P (g − κ(s))² + β [M₂(b) − Σ_𝓛 q (g_b − κ(b))² − 2Δ Σ_𝓛 q (g_b − κ(b)) + Δ² (M₀(b) − Σ_𝓛 q)],

  (the full first central moment at b is 0), and d(s) = M₂(s) + M₀(s) (κ(s) − h(s))² (the shift is ~0).
* **Spectral radius.** The live transition matrix acts as T x = Π (I − K)⁻¹ G Πᵀ x: a sparse product, then the
  triangular solve z(u) += β z(b(u)) level by level, then the live entries. So ρ(T) (the length-tail rate) and
  ρ(A_α) come from ARPACK (Arnoldi) on this O(listed n-grams) matvec, or a dense eigen-solve for ≤ 200 live
  states. Σ_y p(y)^α diverges iff ρ(A_α) ≥ 1, decided by the certified brackets below; α₀ is the root of
  ρ(A_α) = 1 in (0, 1) by Brent's method on the estimate (ρ(A_α) is decreasing and log-convex), then bracketed;
  0 when ρ(A_0) ≤ 1.
* **Reachability and co-reachability** (needed for the live set, ξ and tightness) through the same structure.
  Co-reachability: with W(u) = {w : p(w|u) > 0 and w = eos or δ(u,w) co-reachable},
  |W(s)| = |{w ∈ 𝓛(s) ∩ W-condition}| + [β > 0] (|W(b)| − |{w ∈ 𝓛(s) : q > 0, d(s,w) co-reachable}|), iterated to
  its least fixpoint. Reachability: a reached s makes the words of b(s) outside 𝓛(s) usable, and a chain
  s → b → b(b) excludes the union of the listed sets along it; per back-off state the usable words are those outside
  the *intersection* of its activators' exclusion sets, counted with sorted keys, iterated until nothing new is
  reached.
* **ξ** = min over reachable s of p(eos | s) (each a walk down the back-off chain).
* **H_∞** = −max_y log p(y): Dijkstra on −log p from the start to eos, with each state's out-arcs produced lazily
  in increasing cost by merging its listed arcs with its back-off state's (shifted by −log β, skipping 𝓛(s)),
  recursively; it stops at the first eos popped, so it never enumerates a full row.

**Accuracy** (the contract of :mod:`typicality.measures.accuracy`). The model's numbers are the float64 values of
10^x for the log10 values x of the file (probabilities and back-off weights); a backed-off probability is the exact
product β·q of such numbers, which float64 only approximates. Every float64 result carries a rigorous bound:

* sums through the failure structure (Z, M₀, c, the centred moments) come with a bound from the same recursion on
  absolute values (:class:`_Failure`): the subtraction β(S(b) − Σ_𝓛 q·) cancels, but its rounding is bounded by
  the absolute terms, and the error of the back-off state is carried, scaled by β;
* I − T is certified a nonsingular M-matrix by û > 0 with (I − T)û ≥ g > 0, T û evaluated through the failure
  structure with its error bounded; then |x − (I − T)⁻¹ r| ≤ max(|R|/g)·û for the residual R of any x, rounding
  and the right-hand side's error included (the bound of each solve);
* spectral radii are bracketed: ρ(A) ≥ λ from A v ≥ λ v with v ≥ 0 (Collatz–Wielandt / subinvariance), ρ(A) ≤ μ
  from A v ≤ μ v with v > 0, or (small models, v with zeros) from an M-matrix certificate of I − A/μ; Σ p(y)^α
  diverges when the lower bound exceeds 1 and converges when I − A_α is certified, and α₀ is bracketed between two
  such certificates — never decided by a margin.

Where a certificate fails or a bound misses the contract, the measure is recomputed on the expanded automaton
(:meth:`~typicality.models.arpa.BackoffLM.to_finite_state`, exact products, then the finite-state path with its
ball-arithmetic escalation) when it has at most :data:`EXPAND_LIMIT` dense arcs, else :class:`AccuracyError` names
the cause. ``dps`` runs on the expanded automaton too, for small models only (a ValueError says why otherwise).

Rows sum to 1 only within ~3e-6 in ARPA files (7 printed digits). The measures are those of the numbers as given;
the row-sum effect ε_row = ((I − T)⁻¹|1 − M₀|)(s₀) is reported as a :class:`RowSumWarning` (the mass differs from
1 by about that much), and only an effect above ``ROW_EFFECT_MAX`` (1e-2) or a mass ≤ 0 is a
:class:`RowSumError`; the expanded route (fallback, ``dps``) applies the same rule.

Linear systems: SuperLU on (I − G − K) up to :data:`DIRECT_LIMIT` contexts, GMRES on I − T (the matvec above)
beyond, each with two steps of iterative refinement on the true residual.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg

from typicality.measures import finite_state
from typicality.measures.accuracy import (
    ABS_TOL,
    REL_TOL,
    ROW_EFFECT_MAX,
    AccuracyError,
    RowSumError,
    RowSumWarning,
    note_escalation,
)
from typicality.measures.finite_state import _warn_at_caller
from typicality.models.arpa import BackoffLM
from typicality.numerics import FLOAT64_TINY, Arithmetic

#: above this many contexts the linear systems are solved by GMRES instead of sparse LU (SuperLU's fill-in on the
#: failure form grows fast: minutes at 50,000 contexts, where GMRES takes ~70 matvecs)
DIRECT_LIMIT = 2_000
#: up to this many live states the spectral radius is a dense eigen-solve
DENSE_EIG_LIMIT = 200
EPS = float(np.finfo(np.float64).eps)
#: unit roundoff, and the absolute error of a float64 entry below the normal range
U = 2.0 ** -53
_SMALLEST = 2.0 ** -1074
#: measures that float64 cannot certify are recomputed on the expanded automaton up to this many dense arcs
EXPAND_LIMIT = 10_000
#: rows with more listed n-grams than this (the unigrams) are summed by math.fsum
LONG_ROW = 64


@dataclass
class Structure:
    """Reachable, co-reachable and live contexts of a back-off model."""

    reached: np.ndarray
    coaccessible: np.ndarray
    live: np.ndarray
    live_states: np.ndarray
    live_index: np.ndarray

    @property
    def tight(self) -> bool:
        return bool(np.all(self.coaccessible[self.reached]))

    @property
    def n_live(self) -> int:
        return len(self.live_states)


def structure(model: BackoffLM) -> Structure:
    """The reachable/co-reachable analysis of ``model`` (computed once and cached on the model)."""
    cached = getattr(model, "_backoff_structure", None)
    if cached is not None:
        return cached
    reached = _reachable(model)
    good = _coaccessible(model)
    live = reached & good
    live_states = np.flatnonzero(live)
    live_index = np.full(model.n_states, -1, dtype=np.int64)
    live_index[live_states] = np.arange(len(live_states))
    out = Structure(reached, good, live, live_states, live_index)
    model._backoff_structure = out
    return out


def _levels(model: BackoffLM) -> Iterator[np.ndarray]:
    """The contexts of each length ≥ 1, shortest first (the back-off state of each is in an earlier level)."""
    ls = model.level_start
    for lev in range(1, len(ls) - 1):
        if ls[lev + 1] > ls[lev]:
            yield np.arange(ls[lev], ls[lev + 1])


def _coaccessible(m: BackoffLM) -> np.ndarray:
    n = m.n_states
    is_eos = m.arc_sym == m.eos_index
    pos = m.arc_prob > 0
    qpos = m.shadow_prob > 0
    has_back = m.backoff_weight > 0
    good = np.zeros(n, dtype=bool)
    while True:
        arc_ok = pos & (is_eos | ((m.arc_dst >= 0) & good[np.maximum(m.arc_dst, 0)]))
        sh_ok = qpos & (is_eos | ((m.shadow_dst >= 0) & good[np.maximum(m.shadow_dst, 0)]))
        count = np.bincount(m.arc_state, weights=arc_ok, minlength=n)
        minus = np.bincount(m.arc_state, weights=sh_ok, minlength=n)
        for s in _levels(m):
            count[s] += np.where(has_back[s], count[m.backoff[s]] - minus[s], 0)
        new = count > 0.5
        if np.array_equal(new, good):
            return good
        good = new


def _reachable(m: BackoffLM) -> np.ndarray:
    n, V1 = m.n_states, len(m.symbols)
    reached = np.zeros(n, dtype=bool)
    reached[m.start_index] = True
    usable_arc = (m.arc_prob > 0) & (m.arc_dst >= 0)
    ls = m.level_start
    levels = [np.arange(ls[k], ls[k + 1]) for k in range(len(ls) - 1) if ls[k + 1] > ls[k]]
    while True:
        active = reached.copy()
        n_act = np.zeros(n, dtype=np.int64)
        contrib: list[np.ndarray] = []  # keys b·V1 + w: w is excluded by one activator of b
        excluded: list[np.ndarray] = []  # keys s·V1 + w of words unusable at an active (not reached) state s
        for states in reversed(levels):
            lo, hi = states[0] * V1, (states[-1] + 1) * V1
            parts = [c[(c >= lo) & (c < hi)] for c in contrib]
            keys = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            if keys.size:
                uniq, cnt = np.unique(keys, return_counts=True)
                owner = uniq // V1
                keep = (cnt == n_act[owner]) & ~reached[owner]
                excl_here = uniq[keep]
            else:
                excl_here = np.zeros(0, dtype=np.int64)
            excluded.append(excl_here)
            if states[0] == 0:
                break
            act = states[active[states] & (m.backoff_weight[states] > 0)]
            if act.size == 0:
                continue
            lo_a, hi_a = m.arc_ptr[act], m.arc_ptr[act + 1]
            arcs = _ranges(lo_a, hi_a)
            own = m.arc_key[arcs]
            mine = excl_here[np.isin(excl_here // V1, act)]
            pairs = np.unique(np.concatenate([own, mine]))
            b = m.backoff[pairs // V1]
            contrib.append(b * V1 + pairs % V1)
            np.add.at(n_act, m.backoff[act], 1)
            active[m.backoff[act]] = True
        excl = np.sort(np.concatenate(excluded))
        cand = usable_arc & active[m.arc_state]
        if excl.size:
            pos = np.minimum(np.searchsorted(excl, m.arc_key), len(excl) - 1)
            cand &= excl[pos] != m.arc_key
        new = m.arc_dst[cand]
        if reached[new].all():
            return reached
        reached[new] = True


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) without a Python loop."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return starts + np.arange(total)


# ----- sums through the failure structure, with rigorous error bounds ------------------------------------------------
def _gamma(k: float) -> float:
    """Higham's γ_k = k·u/(1 − k·u)."""
    return k * U / (1 - k * U)


class _Failure:
    """Per-context sums S(s) = Σ_𝓛 a + w(s)·(S(b) − Σ_𝓛 c) + t(s), root first, with a bound on their float64 error.

    a, c are per listed n-gram (the n-gram's own term and its shadow's), w the back-off weights (β or β^α) and t an
    optional per-context term. Given bounds a_err, c_err on the per-arc values, w_rel on the weights' relative error
    and t_err on t, the returned E satisfies |Ŝ(s) − S(s)| ≤ E(s), where Ŝ is the float64 result and S the exact
    sum of the exact inputs: each level adds the rounding of its sums (γ_k of the absolute terms, k = the row's
    number of listed n-grams + 4, or u·|sum| for the long rows summed by math.fsum), of the subtraction and of the
    product by w, and carries E(b)·w (the error of the back-off state is scaled, never cancelled). E is itself
    computed in float64 from non-negative terms, so it is inflated by (1 + 1e-6) against its own rounding.
    """

    def __init__(self, m: BackoffLM) -> None:
        self.m = m
        self.n = m.n_states
        self.levels = list(_levels(m))
        lengths = np.diff(m.arc_ptr)
        #: rows longer than LONG_ROW are summed exactly rounded (math.fsum: error ≤ u·|sum|); the others by bincount
        #: with γ_{len+4} of the absolute terms, len ≤ LONG_ROW
        self.long = np.flatnonzero(lengths > LONG_ROW)
        self.k = int(min(lengths.max(initial=0), LONG_ROW)) + 4
        self.row_gamma = (np.minimum(lengths, LONG_ROW) + 4) * U / (1 - self.k * U)

    def bins(self, values: np.ndarray) -> np.ndarray:
        out = np.bincount(self.m.arc_state, weights=values, minlength=self.n)
        ptr = self.m.arc_ptr
        for s in self.long.tolist():
            out[s] = math.fsum(values[ptr[s]:ptr[s + 1]].tolist())
        return out

    def rounding(self, S: np.ndarray, absolute: np.ndarray) -> np.ndarray:
        """Bound on the rounding of the row sums S given the sums of absolute terms."""
        out = self.row_gamma * absolute
        out[self.long] = U * np.abs(S[self.long])
        return out

    def values(self, a: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
        """S alone (no error bound; bincount only): for the matvecs of GMRES and ARPACK."""
        back = self.m.backoff
        SA = np.bincount(self.m.arc_state, weights=a, minlength=self.n)
        SC = np.bincount(self.m.arc_state, weights=c, minlength=self.n)
        S = SA
        for s in self.levels:
            S[s] += w[s] * (S[back[s]] - SC[s])
        return S

    def sum(self, a: np.ndarray, a_err: np.ndarray, c: np.ndarray, c_err: np.ndarray, w: np.ndarray,
            w_rel: float = 0.0, t: np.ndarray | None = None, t_err: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        back = self.m.backoff
        SA, SC = self.bins(a), self.bins(c)
        EA = self.bins(a_err) + self.rounding(SA, self.bins(np.abs(a)))
        EC = self.bins(c_err) + self.rounding(SC, self.bins(np.abs(c)))
        S = SA.copy()
        E = EA.copy()
        if t is not None:
            S += t
            E += np.abs(t) * U + (0 if t_err is None else t_err)
        for s in self.levels:
            b, ws = back[s], w[s]
            rest = S[b] - SC[s]
            tt = 0.0 if t is None else t[s]
            S[s] = SA[s] + ws * rest + tt
            E[s] = (EA[s] + ws * (E[b] + EC[s]) * (1 + w_rel) + (w_rel + 2 * U) * ws * np.abs(rest)
                    + 2 * U * (np.abs(SA[s]) + ws * np.abs(rest) + np.abs(tt))
                    + (0 if t is None else np.abs(tt) * U + (0 if t_err is None else t_err[s])))
        return S, E * (1 + 1e-6)


# ----- the operator ------------------------------------------------------------------------------------------------
class _Operator:
    """T_α/μ on the live states via failure transitions, with a bound on each application's rounding error.

    (T_α x)(s) = Z(s) with Z(u) = Σ_{𝓛(u)} P^α x(δ(u,w)) + β^α (Z(b) − Σ_{𝓛(u)} q^α x(d(u,w))), sums over non-eos
    words with live targets (see the module docstring); ``scale`` = 1/μ multiplies every P^α and q^α.
    """

    def __init__(self, m: BackoffLM, st: Structure, alpha: float = 1.0, scale: float = 1.0) -> None:
        self.m, self.st, self.alpha, self.scale = m, st, alpha, scale
        n, nl = m.n_states, st.n_live
        P = _power(m.arc_prob, alpha) * scale
        Q = _power(m.shadow_prob, alpha) * scale
        self.bow = _power(m.backoff_weight, alpha)
        self.bow[0] = 0.0
        col = np.where(m.arc_dst >= 0, st.live_index[np.maximum(m.arc_dst, 0)], -1)
        scol = np.where(m.shadow_dst >= 0, st.live_index[np.maximum(m.shadow_dst, 0)], -1)
        self.P = np.where(col >= 0, P, 0.0)
        self.Q = np.where((scol >= 0) & (m.arc_state > 0), Q, 0.0)
        self.col, self.scol = np.maximum(col, 0), np.maximum(scol, 0)
        # relative errors of the float64 weights against the exact ones (products of the model's floats)
        pw = 0.0 if alpha == 1 else 4 * U
        self.p_rel = pw + (U if scale != 1 else 0.0)
        self.q_rel = max(alpha, 1.0) * _gamma(m.order + 1) + pw + (U if scale != 1 else 0.0)
        self.w_rel = pw
        self.fail = _Failure(m)
        ok = self.P > 0
        sok = self.Q > 0
        rows = np.concatenate([m.arc_state[ok], m.arc_state[sok]])
        cols = np.concatenate([col[ok], scol[sok]])
        vals = np.concatenate([self.P[ok], -(self.bow[m.arc_state] * self.Q)[sok]])
        self.G = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, nl))
        self.levels = list(_levels(m))
        self._lu: Any = None
        self.g: np.ndarray | None = None
        self.uh: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.st.n_live

    def apply(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T x, a bound on its float64 error against the exact model), on the live states."""
        a = self.P * x[self.col]
        c = self.Q * x[self.scol]
        Z, E = self.fail.sum(a, np.abs(a) * (self.p_rel + U), c, np.abs(c) * (self.q_rel + U), self.bow, self.w_rel)
        tiny = _SMALLEST * self.fail.k * self.m.order * (float(np.abs(x).max(initial=0.0)) + 1)
        L = self.st.live_states
        return Z[L], E[L] + tiny

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.fail.values(self.P * x[self.col], self.Q * x[self.scol], self.bow)[self.st.live_states]

    def dense(self) -> np.ndarray:
        return np.column_stack([self(col) for col in np.eye(self.n)]) if self.n else np.zeros((0, 0))

    # -- spectral radius (float estimate; the callers certify it) --
    def eigen(self) -> tuple[float, np.ndarray]:
        """(ρ̂, a non-negative approximate Perron vector)."""
        if self.n == 0:
            return 0.0, np.zeros(0)
        if self.n <= DENSE_EIG_LIMIT:
            vals, vecs = scipy.linalg.eig(self.dense())
            i = int(np.argmax(np.abs(vals)))
            v = np.abs(np.real(vecs[:, i]))
            return float(np.abs(vals[i])), v / max(v.max(), 1e-300)
        op = scipy.sparse.linalg.LinearOperator((self.n, self.n), matvec=self, dtype=np.float64)
        vals, vecs = scipy.sparse.linalg.eigs(op, k=1, which="LM", v0=np.ones(self.n), tol=0,
                                              maxiter=20 * self.n)
        v = np.abs(np.real(vecs[:, 0]))
        return float(np.abs(vals[0])), v / max(v.max(), 1e-300)

    def upper_bound(self, v: np.ndarray) -> float:
        """A certified μ ≥ ρ: T v ≤ μ v with v > 0 (Collatz–Wielandt); inf unless every entry of v is positive."""
        if len(v) == 0 or not v.min() > 0:
            return math.inf
        Tv, E = self.apply(v)
        return float(np.max((Tv + E) / v)) * (1 + 4 * U)

    def lower_bound(self, v: np.ndarray) -> float:
        """A certified λ ≤ ρ: T v ≥ λ v with v ≥ 0, v ≠ 0 (subinvariance), rounding and model error included."""
        v = np.where(v >= 1e-13 * v.max(initial=0.0), v, 0.0)
        if not v.any():
            return 0.0
        Tv, E = self.apply(v)
        on = v > 0
        return float(np.min((Tv[on] - E[on]) / v[on])) * (1 - 4 * U)

    # -- linear systems --
    def _factor(self) -> None:
        if self._lu is not None:
            return
        n = self.m.n_states
        live = self.st.live_states
        G = self.G.tocoo()
        Gsq = scipy.sparse.csr_matrix((G.data, (G.row, live[G.col])), shape=(n, n))
        inner = self.m.backoff >= 0
        K = scipy.sparse.csr_matrix((self.bow[inner], (np.flatnonzero(inner), self.m.backoff[inner])), shape=(n, n))
        A = (scipy.sparse.identity(n, format="csr") - Gsq - K).tocsc()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self._lu = scipy.sparse.linalg.splu(A)
            except RuntimeError:
                self._lu = False

    def raw_solve(self, r: np.ndarray) -> np.ndarray:
        """An approximate V with (I − T) V = r (SuperLU on the failure form, or GMRES; not certified)."""
        if self.n == 0:
            return r
        if self.m.n_states <= DIRECT_LIMIT:
            self._factor()
            if self._lu is False:
                return np.full(self.n, np.nan)
            with np.errstate(all="ignore"):
                Z = self._lu.solve(np.asarray(self.G @ r, dtype=np.float64))
            x = r + Z[self.st.live_states]
        else:
            op = scipy.sparse.linalg.LinearOperator((self.n, self.n), matvec=lambda y: y - self(y),
                                                    dtype=np.float64)
            x, _ = scipy.sparse.linalg.gmres(op, r, rtol=1e-13, atol=0.0, restart=min(self.n, 100), maxiter=10)
        for _ in range(2):  # iterative refinement on the true residual
            res = r - (x - self(x))
            # enough for the contract: the bound is max(|R|/g)·û, and û/g ≲ E|Y|
            if not np.all(np.isfinite(res)) or np.abs(res).max(initial=0.0) <= 1e-14 * np.abs(r).max(initial=0.0):
                break
            x = x + self._correction(res)
        return x

    def _correction(self, res: np.ndarray) -> np.ndarray:
        if self.m.n_states <= DIRECT_LIMIT and self._lu:
            with np.errstate(all="ignore"):
                return res + self._lu.solve(np.asarray(self.G @ res, dtype=np.float64))[self.st.live_states]
        op = scipy.sparse.linalg.LinearOperator((self.n, self.n), matvec=lambda y: y - self(y), dtype=np.float64)
        return scipy.sparse.linalg.gmres(op, res, rtol=1e-6, atol=0.0, restart=min(self.n, 100), maxiter=10)[0]

    def certify(self) -> bool:
        """An M-matrix certificate: û > 0 with (I − T)û ≥ g > 0 for the exact model (so ρ(T) < 1)."""
        if self.g is not None:
            return True
        if self.n == 0:
            self.g, self.uh = np.zeros(0), np.zeros(0)
            return True
        with np.errstate(all="ignore"):
            uh = self.raw_solve(np.ones(self.n))
            if not (np.all(np.isfinite(uh)) and uh.min() > 0):
                return False
            Tu, E = self.apply(uh)
            g = (uh - Tu) - E - 2 * U * (uh + np.abs(Tu))
        if np.all(g > 0):
            self.g, self.uh = g, uh
            return True
        return False

    def bound(self, x: np.ndarray, r: np.ndarray, r_err: np.ndarray | float) -> np.ndarray:
        """Componentwise bound on |x − (I − T)⁻¹ r_exact| given |r − r_exact| ≤ r_err (needs the certificate)."""
        assert self.g is not None and self.uh is not None
        with np.errstate(all="ignore"):
            Tx, E = self.apply(x)
            R = r - x + Tx
            Rb = np.abs(R) + r_err + E + _gamma(3) * (np.abs(r) + np.abs(x) + np.abs(Tx))
            t = float(np.max(Rb / self.g)) if len(Rb) else 0.0
        if not math.isfinite(t):
            return np.full(self.n, np.inf)
        simple = t * self.uh * (1 + 1e-6)
        if self.m.n_states > DIRECT_LIMIT or not len(Rb):
            return simple
        # componentwise: |x − x*| ≤ (I − T)⁻¹ Rb = z, with ẑ ≈ z bounded in turn (a second-order term), when the
        # direct factorization makes the extra solve cheap
        with np.errstate(all="ignore"):
            z = self.raw_solve(Rb)
            Tz, Ez = self.apply(z)
            Rz = np.abs(Rb - z + Tz) + Ez + _gamma(3) * (np.abs(Rb) + np.abs(z) + np.abs(Tz))
            tz = float(np.max(Rz / self.g))
            refined = (np.abs(z) + tz * self.uh) * (1 + 1e-6)
        if not np.all(np.isfinite(refined)):
            return simple
        return np.minimum(simple, refined)

    def solve(self, r: np.ndarray, r_err: np.ndarray | float) -> tuple[np.ndarray, np.ndarray] | None:
        """(V, its error bound) with (I − T) V = r, or None if ρ(T) < 1 cannot be certified."""
        if not self.certify():
            return None
        x = self.raw_solve(r)
        if not np.all(np.isfinite(x)):
            return None
        return x, self.bound(x, r, r_err)


def _power(x: np.ndarray, alpha: float) -> np.ndarray:
    if alpha == 1:
        return np.array(x, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(x > 0, np.asarray(x, dtype=np.float64) ** alpha, 0.0)


# ----- local sums by the failure identity (F), with error bounds ---------------------------------------------------
def _row_mass(m: BackoffLM, fail: _Failure) -> tuple[np.ndarray, np.ndarray]:
    """M₀(s) = Σ_w p(w|s) for every context, with its error bound."""
    q_rel = _gamma(m.order + 1)
    P, Q = m.arc_prob, m.shadow_prob
    return fail.sum(P, np.zeros_like(P), Q, Q * q_rel, m.backoff_weight)


def _local_entropy(m: BackoffLM, fail: _Failure, M0: np.ndarray, M0_err: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """c(s) = −Σ_w p(w|s) log p(w|s) for every context, with its error bound."""
    q_rel = _gamma(m.order + 1)
    P, Q, bow = m.arc_prob, m.shadow_prob, m.backoff_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        lP = np.where(P > 0, np.log(np.where(P > 0, P, 1.0)), 0.0)
        lQ = np.where(Q > 0, np.log(np.where(Q > 0, Q, 1.0)), 0.0)
        lb = np.where(bow > 0, np.log(np.where(bow > 0, bow, 1.0)), 0.0)
    a = -P * lP
    c = -Q * lQ
    a_err = 3 * U * np.abs(a) + np.where(P < FLOAT64_TINY, _SMALLEST * (np.abs(lP) + 1), 0.0)
    c_err = 3 * U * np.abs(c) + Q * q_rel * (np.abs(lQ) + 1) * (1 + 4 * q_rel) + _SMALLEST * (np.abs(lQ) + 1)
    SQ = fail.bins(Q)
    SQ_err = SQ * q_rel + fail.rounding(SQ, SQ)
    b = np.maximum(m.backoff, 0)
    rest = M0[b] - SQ
    t = -bow * lb * rest
    t_err = bow * np.abs(lb) * (M0_err[b] + SQ_err + 4 * U * np.abs(rest)) + 4 * U * np.abs(t)
    t[0], t_err[0] = 0.0, 0.0
    return fail.sum(a, a_err, c, c_err, bow, 0.0, t, t_err)


def _local_variance(m: BackoffLM, fail: _Failure, h: np.ndarray, h_err: np.ndarray, M0: np.ndarray,
                    M0_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d(s) = Σ_x p(x|s) (g(s,x) − h(s))² + h(s)²(1 − M₀(s)), g(s,x) = −log p(x|s) + h(δ(s,x)), for every context
    (h over all contexts, 0 off the live set), with its error bound; see the module docstring (centred moments
    about an arbitrary float κ, so the recursion is exact whatever κ is)."""
    q_rel = _gamma(m.order + 1)
    n = m.n_states
    P, Q, bow, back = m.arc_prob, m.shadow_prob, m.backoff_weight, m.backoff
    st = m.arc_state
    bst = np.maximum(back[st], 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lP = np.where(P > 0, np.log(np.where(P > 0, P, 1.0)), 0.0)
        lQ = np.where(Q > 0, np.log(np.where(Q > 0, Q, 1.0)), 0.0)
        lb = np.where(bow > 0, np.log(np.where(bow > 0, bow, 1.0)), 0.0)
    hd = np.where(m.arc_dst >= 0, h[np.maximum(m.arc_dst, 0)], 0.0)
    hd_err = np.where(m.arc_dst >= 0, h_err[np.maximum(m.arc_dst, 0)], 0.0)
    hs = np.where(m.shadow_dst >= 0, h[np.maximum(m.shadow_dst, 0)], 0.0)
    hs_err = np.where(m.shadow_dst >= 0, h_err[np.maximum(m.shadow_dst, 0)], 0.0)
    G = -lP + hd
    Gs = -lQ + hs
    # κ: any float per context (the local mean M₁/M₀, so that the centred terms are small)
    S1 = fail.bins(np.where(P > 0, P * G, 0.0))
    S1q = fail.bins(np.where(Q > 0, Q * Gs, 0.0))
    SQ0 = fail.bins(Q)
    M1 = S1.copy()
    for s in fail.levels:
        M1[s] = S1[s] + bow[s] * (M1[back[s]] - S1q[s]) - bow[s] * lb[s] * (M0[back[s]] - SQ0[s])
    kappa = np.divide(M1, M0, out=np.zeros(n), where=M0 > 0)
    y = G - kappa[st]
    ys = Gs - kappa[bst]
    y_err = 2 * U * np.abs(lP) + hd_err + 2 * U * (np.abs(G) + np.abs(y)) + _SMALLEST
    ys_err = (q_rel * (1 + 4 * q_rel) + 2 * U * np.abs(lQ)) + hs_err + 2 * U * (np.abs(Gs) + np.abs(ys)) + _SMALLEST
    Pz, Qz = np.where(P > 0, P, 0.0), np.where(Q > 0, Q, 0.0)
    D = kappa[np.maximum(back, 0)] - kappa - lb
    D_err = 4 * U * (np.abs(kappa[np.maximum(back, 0)]) + np.abs(kappa) + np.abs(lb))
    SQ = fail.bins(Qz)
    SQ_err = SQ * q_rel + fail.rounding(SQ, SQ)
    b = np.maximum(back, 0)
    rest = M0[b] - SQ
    rest_err = M0_err[b] + SQ_err + 2 * U * np.abs(rest)
    # first centred moment C(s) = Σ_x p (g − κ(s)): C(s) = Σ_𝓛 P y + β [C(b) − Σ_𝓛 q y_b + Δ (M₀(b) − Σ_𝓛 q)]
    t1 = bow * D * rest
    t1_err = bow * (np.abs(D) * rest_err + D_err * np.abs(rest)) + 4 * U * np.abs(t1)
    t1[0], t1_err[0] = 0.0, 0.0
    a, c = Pz * y, Qz * ys
    C, C_err = fail.sum(a, Pz * y_err + 2 * U * np.abs(a), c, Qz * ys_err + (q_rel + 2 * U) * np.abs(c), bow, 0.0,
                        t1, t1_err)
    # second: M₂(s) = Σ_𝓛 P y² + β [M₂(b) − Σ_𝓛 q y_b² + 2Δ (C(b) − Σ_𝓛 q y_b) + Δ² (M₀(b) − Σ_𝓛 q)]
    SQy = fail.bins(c)
    SQy_err = fail.bins(Qz * ys_err + (q_rel + 2 * U) * np.abs(c)) + fail.rounding(SQy, fail.bins(np.abs(c)))
    inner = C[b] - SQy
    inner_err = C_err[b] + SQy_err + 2 * U * np.abs(inner)
    t2 = bow * (2 * D * inner + D * D * rest)
    t2_err = bow * (2 * (np.abs(D) * inner_err + D_err * np.abs(inner)) + D * D * rest_err
                    + (2 * np.abs(D) * D_err + D_err ** 2) * np.abs(rest))
    t2_err += 6 * U * (np.abs(t2) + bow * D * D * np.abs(rest))
    t2[0], t2_err[0] = 0.0, 0.0
    a2, c2 = Pz * y * y, Qz * ys * ys
    a2_err = Pz * (2 * np.abs(y) * y_err + y_err ** 2) + 3 * U * a2
    c2_err = Qz * (2 * np.abs(ys) * ys_err + ys_err ** 2) * (1 + q_rel) + (q_rel + 3 * U) * c2
    M2, M2_err = fail.sum(a2, a2_err, c2, c2_err, bow, 0.0, t2, t2_err)
    # d = M₂ + 2 (κ − h) C + (κ − h)² M₀ + h² (1 − M₀)
    tt = kappa - h
    d = M2 + 2 * tt * C + tt * tt * M0 + h * h * (1 - M0)
    d_err = (M2_err + 2 * np.abs(tt) * C_err + tt * tt * M0_err + h * h * M0_err
             + h_err * (2 * np.abs(C + tt * M0) + 2 * np.abs(h) * np.abs(1 - M0) + h_err * (M0 + np.abs(1 - M0)))
             + 8 * U * (M2 + 2 * np.abs(tt * C) + tt * tt * M0 + h * h * (M0 + 1)))
    return d, d_err * (1 + 1e-6)


# ----- fallbacks: the expanded automaton through the finite-state path ---------------------------------------------
def expandable(model: BackoffLM) -> bool:
    """Small enough to expand to a dense automaton (contexts × (|Σ| + 1) ≤ EXPAND_LIMIT)."""
    return model.n_states * len(model.symbols) <= EXPAND_LIMIT


def expanded(model: BackoffLM) -> Any:
    """The dense expansion (cached on the model): exact products of the model's floats, see to_finite_state."""
    cached = model.__dict__.get("_backoff_expanded")
    if cached is None:
        cached = model.to_finite_state()
        model.__dict__["_backoff_expanded"] = cached
    return cached


def _size(model: BackoffLM) -> str:
    return (f"{model.n_states} contexts × {len(model.symbols)} symbols = {model.n_states * len(model.symbols)} "
            f"dense arcs > EXPAND_LIMIT = {EXPAND_LIMIT}")


def _fallback(model: BackoffLM, what: str, cause: str, fn: Callable[[Any], Any]) -> Any:
    """``fn`` on the expanded automaton (certified or escalated there), or AccuracyError when it is too large."""
    if expandable(model):
        note_escalation(what, "expanded automaton (finite-state path)")
        try:
            return fn(expanded(model))
        except RowSumError as e:  # deviations that dominate (see accuracy)
            raise AccuracyError(f"the {what.replace('_', ' ')} cannot be certified in float64 through the back-off "
                                f"structure ({cause}), and the expanded automaton refuses the rows as printed: {e}"
                                ) from None
    raise AccuracyError(f"the {what.replace('_', ' ')} of this back-off model cannot be certified in float64 through "
                        f"the back-off structure ({cause}), and the model is too large to expand for the certified "
                        f"finite-state path ({_size(model)})")


def _dps(model: BackoffLM, num: Arithmetic, what: str, fn: Callable[[Any], Any]) -> Any:
    """Measures at ``dps`` digits: through the expanded automaton, for small models only."""
    if not expandable(model):
        raise ValueError(
            f"dps={num.dps} is not available for back-off models of this size ({_size(model)}): digits beyond "
            "float64 run the certified ball-arithmetic path on the dense automaton, which is too large here. The "
            f"float64 {what.replace('_', ' ')} (dps=None) is certified to the accuracy contract")
    return fn(expanded(model))


def _acceptable(value: float, err: float) -> bool:
    return math.isfinite(value) and math.isfinite(err) and err <= REL_TOL * abs(value) + ABS_TOL


# ----- the T part: mass, entropy, varentropy, expected length ------------------------------------------------------
class _TPart:
    """The T-measures in float64 with rigorous error bounds, and the row-sum effect (cached on the model)."""

    def __init__(self, m: BackoffLM) -> None:
        self.m = m
        self.st = st = structure(m)
        self.op = op = _Operator(m, st)
        self.values: dict[str, tuple[float, float]] = {}
        self.start = int(st.live_index[m.start_index]) if st.live[m.start_index] else None
        self.certified = self.start is not None and op.certify()
        if not self.certified:
            return
        L, s0 = st.live_states, self.start
        self.M0, self.M0_err = _row_mass(m, op.fail)
        e = m.eos_prob[L]
        got = op.solve(e, _gamma(m.order + 1) * e)
        if got is None:
            self.certified = False
            return
        x, err = got
        self.values["mass"] = (float(x[s0]), float(err[s0]))
        dev = np.abs(1 - self.M0[L]) + self.M0_err[L]
        got = op.solve(dev, 0.0)
        self.effect = float(got[0][s0] + got[1][s0]) if got is not None else math.inf
        c, c_err = _local_entropy(m, op.fail, self.M0, self.M0_err)
        got = op.solve(c[L], c_err[L])
        if got is None:
            self.certified = False
            return
        self.h, self.h_err = got
        self.values["entropy"] = (float(self.h[s0]), float(self.h_err[s0]))
        r = self.M0[L] - e
        got = op.solve(r, self.M0_err[L] + _gamma(m.order + 1) * e + U * np.abs(r))
        if got is not None:
            self.values["expected_length"] = (float(got[0][s0]), float(got[1][s0]))

    def varentropy(self) -> tuple[float, float] | None:
        if "varentropy" not in self.values:
            m, st = self.m, self.st
            h = np.zeros(m.n_states)
            h_err = np.zeros(m.n_states)
            h[st.live_states], h_err[st.live_states] = self.h, self.h_err
            d, d_err = _local_variance(m, self.op.fail, h, h_err, self.M0, self.M0_err)
            L = st.live_states
            got = self.op.solve(d[L], d_err[L])
            if got is None:
                return None
            self.values["varentropy"] = (float(got[0][self.start]), float(got[1][self.start]))
        return self.values["varentropy"]

    def get(self, name: str) -> tuple[float, float] | None:
        if not self.certified:
            return None
        if name == "varentropy":
            return self.varentropy()
        return self.values.get(name)


def _t_part(m: BackoffLM) -> _TPart:
    cached = m.__dict__.get("_backoff_T")
    if cached is None:
        cached = _TPart(m)
        m.__dict__["_backoff_T"] = cached
    return cached


def _row_report(m: BackoffLM, st: Structure, k: int = 3) -> str:
    L = st.live_states
    dev = 1 - m.row_sum[L]
    worst = L[np.argsort(-np.abs(dev))[:k]]
    parts = [f"context {m.context_of(int(s))!r} sums to 1 {'-' if m.row_sum[s] < 1 else '+'} "
             f"{abs(1 - m.row_sum[s]):.2g} with p(eos) = {m.eos_prob[s]:.3g}" for s in worst if m.row_sum[s] != 1]
    return "; ".join(parts)


def _check_rows(tp: _TPart) -> None:
    """RowSumWarning with the effect of the rows' deviations from 1 (ARPA files print ~7 digits, so every real file
    has them); RowSumError only when the results would contradict the model (mass ≤ 0, or an effect above
    ROW_EFFECT_MAX: see :mod:`typicality.measures.accuracy`)."""
    m = tp.m
    mass_value = tp.values.get("mass", (1.0, 0.0))
    effect = tp.effect
    report = _row_report(m, tp.st)
    if mass_value[0] + mass_value[1] <= 0 or effect > ROW_EFFECT_MAX:
        raise RowSumError(
            f"{m.source or 'the back-off model'}: rows miss 1 within the row tolerance {m.tol:g} ({report}), and "
            f"their effect on the results ({effect:.3g} relative; mass {mass_value[0]:.6g}) is more than "
            f"{ROW_EFFECT_MAX:g}: the results would contradict the model. Write the file with more digits.")
    if effect > REL_TOL:
        _warn_at_caller(RowSumWarning(
            f"rows miss 1 within the row tolerance ({report}); ARPA files print log10 values to ~7 digits, and the "
            f"results are those of the numbers as given, which change by a relative {effect:.3g} (the mass would "
            "move from 1 by that much) against any exactly normalized version."))


def _t_measure(model: BackoffLM, name: str, num: Arithmetic) -> Any:
    if num.dps is not None:
        return _dps(model, num, name, lambda f: getattr(finite_state, name)(f, num))
    st = structure(model)
    if not st.live[model.start_index]:
        if name == "mass":
            return 0.0
        raise AccuracyError(f"the {name} is undefined: no string has positive probability")
    tp = _t_part(model)
    got = tp.get(name)
    ok = got is not None and _acceptable(*got)
    if tp.certified and (ok or not expandable(model)):  # else the expanded model's own check reports the rows
        _check_rows(tp)
    if ok:
        return got[0]
    cause = ("ρ(T) < 1 could not be certified" if not tp.certified
             else f"error bound {got[1]:.3g} on {got[0]:.17g}" if got is not None else "the solve failed")
    return _fallback(model, name, cause, lambda f: getattr(finite_state, name)(f, num))


def is_tight(model: BackoffLM) -> bool:
    """Tight iff every reachable context can reach eos (exact: positivity only)."""
    return structure(model).tight


def mass(model: BackoffLM, num: Arithmetic) -> Any:
    """Σ_y p(y) = m(s₀), m = e + T m on the live states (0 if the start cannot reach eos)."""
    return _t_measure(model, "mass", num)


def entropy(model: BackoffLM, num: Arithmetic) -> Any:
    """H = h(s₀), h = c + T h (model must be tight)."""
    return _t_measure(model, "entropy", num)


def varentropy(model: BackoffLM, num: Arithmetic) -> Any:
    """σ² = v(s₀), v = d + T v (d: local variance of the surprisal-to-go, plus h²·(1 − row sum))."""
    return _t_measure(model, "varentropy", num)


def expected_length(model: BackoffLM, num: Arithmetic) -> Any:
    """E|Y| = ℓ(s₀), ℓ = (M₀ − e) + T ℓ."""
    return _t_measure(model, "expected_length", num)


def _eos_positive(model: BackoffLM) -> np.ndarray:
    """p(eos | s) > 0 for every context, exactly: the listed eos probability, or β > 0 and the back-off's."""
    pos = np.zeros(model.n_states, dtype=bool)
    listed = np.zeros(model.n_states, dtype=bool)
    is_eos = model.arc_sym == model.eos_index
    listed[model.arc_state[is_eos]] = True
    pos[model.arc_state[is_eos]] = model.arc_prob[is_eos] > 0
    for s in _levels(model):
        un = s[~listed[s]]
        pos[un] = (model.backoff_weight[un] > 0) & pos[model.backoff[un]]
    return pos


def eos_bounded(model: BackoffLM) -> bool:
    """ξ > 0, decided exactly (a product of positive floats is positive even when it underflows)."""
    return bool(_eos_positive(model)[structure(model).reached].all())


def eos_bound(model: BackoffLM, num: Arithmetic) -> Any:
    """ξ = min over reachable contexts of p(eos | s): a product of ≤ N floats, relative error ≤ γ_N."""
    if num.dps is not None:
        return _dps(model, num, "eos_bound", lambda f: finite_state.eos_bound(f, num))
    xi = float(model.eos_prob[structure(model).reached].min())
    if xi == 0 and eos_bounded(model):
        return _fallback(model, "eos_bound", "ξ is below float64's range", lambda f: finite_state.eos_bound(f, num))
    return xi


# ----- spectral radii: ARPACK estimates, Collatz–Wielandt / M-matrix brackets ---------------------------------------
def _bracket(model: BackoffLM, alpha: float) -> tuple[float, float, float]:
    """(ρ̂, lo, hi) with lo ≤ ρ(A_α) ≤ hi certified (lo = 0 / hi = inf when a side fails)."""
    st = structure(model)
    op = _Operator(model, st, alpha)
    rho, v = op.eigen()
    lo = max(op.lower_bound(v), 0.0) if st.n_live else 0.0
    hi = op.upper_bound(v)
    if rho > 0 and hi > rho * (1 + 1e-11) and model.n_states <= DIRECT_LIMIT:
        # v has zeros (reducible) or is not accurate enough: an M-matrix certificate of I − A/μ (a direct solve; the
        # system is nearly singular by design, beyond GMRES)
        for slack in (4e-12, 1e-10, 1e-8):
            mu = rho * (1 + slack)
            if _Operator(model, st, alpha, 1 / mu).certify():
                hi = mu * (1 + 4 * U)
                break
    return rho, lo, hi


def spectral_radius(model: BackoffLM, alpha: float = 1.0) -> float:
    """ρ(A_α) on the live states (A_1 = T), float64 estimate."""
    return _Operator(model, structure(model), alpha).eigen()[0]


def length_tail_rate(model: BackoffLM, num: Arithmetic) -> Any:
    """ρ(T): P(|Y| ≥ n) = ρ^{n+o(n)}, within a certified bracket."""
    if num.dps is not None:
        return _dps(model, num, "length_tail_rate", lambda f: finite_state.length_tail_rate(f, num))
    rho, lo, hi = _bracket(model, 1.0)
    if lo <= rho <= hi and _acceptable(rho, max(hi - rho, rho - lo)):
        return rho
    return _fallback(model, "length_tail_rate", f"bracket [{lo:.17g}, {hi:.17g}]",
                     lambda f: finite_state.length_tail_rate(f, num))


def _renyi_log_sum(model: BackoffLM, alpha: Fraction) -> tuple[float, float] | None:
    """(log Σ_y p(y)^α, its error bound), (inf, 0) when certified divergent, None when undecided/inaccurate."""
    a = float(alpha)
    st = structure(model)
    if not st.live[model.start_index]:
        return None
    op = _Operator(model, st, a)
    s0 = int(st.live_index[model.start_index])
    e = _power(model.eos_prob[st.live_states], a)
    got = op.solve(e, e * (max(a, 1.0) * _gamma(model.order + 1) + 4 * U))
    if got is not None:
        x, err = got
        if x[s0] > 0 and err[s0] < x[s0]:
            rel = float(err[s0] / x[s0])
            return math.log(x[s0]), rel / (1 - rel) + U * abs(math.log(x[s0]))
        return None
    _, v = op.eigen()
    if op.lower_bound(v) > 1:
        return math.inf, 0.0
    return None


def renyi_entropy(model: BackoffLM, num: Arithmetic, alpha: Any) -> Any:
    """H_α = log S_α(s₀) / (1 − α), S_α = e^α + A_α S_α; inf when ρ(A_α) > 1 (certified)."""
    a = alpha if isinstance(alpha, Fraction) else Fraction(alpha)
    if num.dps is not None:
        return _dps(model, num, "renyi_entropy", lambda f: finite_state.renyi_entropy(f, num, a))
    got = _renyi_log_sum(model, a)
    if got is not None:
        log_s, err = got
        if log_s == math.inf:
            return math.inf
        h = log_s / (1 - float(a))
        if _acceptable(h, (err + U * abs(log_s)) / abs(1 - float(a)) + U * abs(h)):
            return h
    return _fallback(model, f"renyi[{a}]", "convergence of Σ p(y)^α not decided, or the sum not accurate",
                     lambda f: finite_state.renyi_entropy(f, num, a))


def renyi_sum(model: BackoffLM, num: Arithmetic, alpha: Any) -> Any:
    """Σ_y p(y)^α = S_α(s₀), or inf when ρ(A_α) > 1 (certified)."""
    a = alpha if isinstance(alpha, Fraction) else Fraction(alpha)
    if num.dps is not None:
        return _dps(model, num, "renyi_sum", lambda f: finite_state.renyi_sum(f, num, a))
    got = _renyi_log_sum(model, a)
    if got is not None:
        log_s, err = got
        if log_s == math.inf:
            return math.inf
        s = math.exp(log_s)
        if _acceptable(s, s * (math.expm1(err) + 2 * U)):
            return s
    return _fallback(model, f"renyi_sum[{a}]", "convergence of Σ p(y)^α not decided, or the sum not accurate",
                     lambda f: finite_state.renyi_sum(f, num, a))


def renyi_threshold(model: BackoffLM, num: Arithmetic) -> Any:
    """α₀: the root of ρ(A_α) = 1 in (0, 1) (Brent on the ARPACK estimate), certified by ρ(A_{α₀−ε}) > 1 (a
    Collatz–Wielandt lower bound) and ρ(A_{α₀+ε}) < 1 (an upper bound or M-matrix certificate), ε = 4e-11·α₀; 0 when
    ρ(A_0) < 1 is certified."""
    if num.dps is not None:
        return _dps(model, num, "renyi_threshold", lambda f: finite_state.renyi_threshold(f, num))

    def fallback(cause: str) -> Any:
        return _fallback(model, "renyi_finite_above", cause, lambda f: finite_state.renyi_threshold(f, num))

    st = structure(model)
    if st.n_live == 0:
        return 0.0
    rho0, lo0, _ = _bracket(model, 0.0)
    if lo0 <= 1:
        if _Operator(model, st, 0.0).certify():
            return 0.0
        return fallback(f"ρ(A_0) ≈ {rho0:.17g} is not certified on either side of 1")

    def f(alpha: float) -> float:
        return _Operator(model, st, alpha).eigen()[0] - 1

    if f(1.0) >= 0:
        return fallback("ρ(T) ≥ 1 in float64")
    a = float(scipy.optimize.brentq(f, 0.0, 1.0, xtol=1e-15, rtol=4 * EPS, maxiter=200))
    eps = 4e-11 * a
    below = _Operator(model, st, a - eps)
    ok_lo = below.lower_bound(below.eigen()[1]) > 1
    above = _Operator(model, st, a + eps)
    ok_hi = above.upper_bound(above.eigen()[1]) < 1 or (model.n_states <= DIRECT_LIMIT and above.certify())
    if ok_lo and ok_hi:
        return a
    return fallback(f"α₀ ≈ {a!r} not bracketed within {eps:.2g}")


def _max_prob(model: BackoffLM) -> float:
    """An upper bound on every p(w | s) (level by level: the listed ones, or β times the level below)."""
    p = float(model.arc_prob[model.arc_ptr[0]:model.arc_ptr[1]].max(initial=0.0))
    ls = model.level_start
    for k in range(1, len(ls) - 1):
        lo, hi = model.arc_ptr[ls[k]], model.arc_ptr[ls[k + 1]]
        listed = float(model.arc_prob[lo:hi].max(initial=0.0))
        bow = float(model.backoff_weight[ls[k]:ls[k + 1]].max(initial=0.0))
        p = max(p, listed, bow * p * (1 + 4 * U))  # b(h) is at any lower level: keep the running maximum
    return p * (1 + 4 * U)


def max_log_prob(model: BackoffLM, num: Arithmetic) -> Any:
    """max_y log p(y) (H_∞ = −max_y log p(y)): lazy Dijkstra on −log p from the start to eos.

    An optimal path visits each live context at most once, so it has at most n_live + 1 arcs, and at most
    D/(−log p_max) + 1 when every p(w|s) ≤ p_max < 1 (D ≤ the cost found, up to its rounding); each cost is a sum of
    at most N + 1 logs: with all back-off weights ≤ 1 every term is ≥ 0 and the relative error is at most
    γ_{(n_live + 1)(N + 2) + 4}; with weights above 1 the terms −log β < 0 add (n_live + 1)·N·max log β times that.
    """
    if num.dps is not None:
        return _dps(model, num, "max_log_prob", lambda f: finite_state.max_log_prob(f, num))
    value = _dijkstra(model)
    st = structure(model)
    big = float(np.log(np.maximum(model.backoff_weight, 1.0)).max(initial=0.0))
    length = st.n_live + 1
    p_max = _max_prob(model)
    if p_max < 1 and value > -math.inf:  # every arc costs ≥ −log p_max, so an optimal path is short
        length = min(length, int(abs(value) * (1 + 1e-6) / -math.log(p_max)) + 2)
    steps = length * (model.order + 2) + 4
    err = _gamma(steps) * (abs(value) + 2 * (st.n_live + 1) * model.order * big)
    if value == -math.inf or _acceptable(value, err):
        return value
    return _fallback(model, "renyi[inf]", f"error bound {err:.3g} on {value!r}",
                     lambda f: finite_state.max_log_prob(f, num))


def _dijkstra(model: BackoffLM) -> float:
    """max_y log p(y) in float64: lazy Dijkstra on −log p from the start to eos (rows merged lazily)."""
    m = model
    with np.errstate(divide="ignore"):
        cost = -np.log(m.arc_prob)
        shift = -np.log(m.backoff_weight)
    # per context, its listed arcs in increasing cost
    by_cost = np.lexsort((cost, m.arc_state))
    listed_sets: dict[int, frozenset[int]] = {}
    eos = m.eos_index

    def listed(u: int) -> frozenset[int]:
        out = listed_sets.get(u)
        if out is None:
            out = frozenset(m.arc_sym[m.arc_ptr[u]:m.arc_ptr[u + 1]].tolist())
            listed_sets[u] = out
        return out

    def row(u: int) -> Iterator[tuple[float, int, int]]:
        """(−log p(w|u), w, δ(u,w)) for every w with p(w|u) > 0, in increasing cost."""
        idx = by_cost[m.arc_ptr[u]:m.arc_ptr[u + 1]]
        own = ((c, w, d) for c, w, d in zip(cost[idx].tolist(), m.arc_sym[idx].tolist(), m.arc_dst[idx].tolist(),
                                            strict=True) if c < math.inf)
        b = int(m.backoff[u])
        if b < 0 or m.backoff_weight[u] <= 0:
            return own
        excl = listed(u)
        sh = float(shift[u])
        fallback = ((c + sh, w, d) for c, w, d in row(b) if w not in excl)
        return heapq.merge(own, fallback)

    start = m.start_index
    done = np.zeros(m.n_states, dtype=bool)
    counter = 0
    heap: list[tuple[float, int, int, Any]] = [(0.0, counter, start, None)]
    while heap:
        d, _, s, cursor = heapq.heappop(heap)
        if cursor is None:
            if done[s]:
                continue
            done[s] = True
            stream = row(s)
            item = next(stream, None)
            if item is not None:
                counter += 1
                heapq.heappush(heap, (d + item[0], counter, s, (stream, item, d)))
            continue
        stream, (_, w, t), ds = cursor
        if w == eos:
            return -d
        if not done[t]:
            counter += 1
            heapq.heappush(heap, (d, counter, t, None))
        item = next(stream, None)
        if item is not None:
            counter += 1
            heapq.heappush(heap, (ds + item[0], counter, s, (stream, item, ds)))
    return -math.inf
