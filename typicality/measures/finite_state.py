"""Exact information measures of deterministic finite-state LMs, by linear algebra on the automaton.

Notation (math.md A, G). On the *live* states (reachable from s₀ and able to reach eos) let
T[s, s'] = Σ_{a: δ(s,a)=s'} p(a|s) (eos excluded) and e(s) = p(eos|s). Because every live state reaches eos,
ρ(T) < 1 and I − T is invertible; (I − T)⁻¹[s₀, s] is the expected number of visits to s. Then

* mass        m = (I − T)⁻¹ e,                        Σ_y p(y) = m(s₀);
* entropy     h = (I − T)⁻¹ c,  c(s) = −Σ_x p(x|s) log p(x|s) (x over Σ ∪ {eos}),   H = h(s₀);
* varentropy  v = (I − T)⁻¹ d,  d(s) = Σ_x p(x|s) (−log p(x|s) + h(δ(s,x)) − h(s))²,  σ² = v(s₀)
  (law of total variance along the path; h(after eos) = 0; no cancellation, unlike E[I²] − H²);
* length      ℓ = (I − T)⁻¹ (1 − e),                  E|Y| = ℓ(s₀);
* Rényi       S_α = (I − A_α)⁻¹ e^α,  A_α[s, s'] = Σ_{a: δ(s,a)=s'} p(a|s)^α,  H_α = log S_α(s₀) / (1 − α).

Σ_y p(y)^α is finite iff ρ(A_α) < 1 (math.md G; a divergent strongly connected component is reachable and
co-reachable). ρ(A_α) is non-increasing in α and log-convex, so the set of finite orders is (α₀, ∞): α₀ is the
root of ρ(A_α) = 1 in (0, 1), found per component by safeguarded Newton with the Perron-vector derivative
ρ′(α) = uᵀ A′_α v / uᵀ v, or 0 when ρ(A_0) ≤ 1.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from typicality.models.finite_state import FiniteStateLM
from typicality.numerics import Arithmetic


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


def _transition(num: Arithmetic, live: Live, w: np.ndarray) -> Any:
    inner = live.dst >= 0
    return num.matrix(live.n, live.src[inner], live.dst[inner], w[inner])


def _per_state(num: Arithmetic, live: Live, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    out = num.zeros(live.n)
    if mask is None:
        np.add.at(out, live.src, values)
    else:
        np.add.at(out, live.src[mask], values[mask])
    return out


def mass(model: FiniteStateLM, num: Arithmetic) -> Any:
    """Σ_y p(y): the probability of finite strings (1 − mass leaked to infinite sequences)."""
    live = live_part(model)
    if live.start is None:
        return num.scalar(0)
    p = arc_probs(model, live, num)
    e = _per_state(num, live, p, live.dst < 0)
    m = num.solve_resolvent(_transition(num, live, p), e)
    return m[live.start]


def _entropy_vector(model: FiniteStateLM, live: Live, num: Arithmetic, p: np.ndarray, logp: np.ndarray,
                    T: Any) -> np.ndarray:
    c = _per_state(num, live, -p * logp)
    return num.solve_resolvent(T, c)


def entropy(model: FiniteStateLM, num: Arithmetic) -> Any:
    """H(p) = Σ_y −p(y) log p(y) in nats (model must be tight)."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    h = _entropy_vector(model, live, num, p, num.log(p), _transition(num, live, p))
    return h[live.start]


def varentropy(model: FiniteStateLM, num: Arithmetic) -> Any:
    """σ² = Var[−log p(Y)] in nats² (model must be tight)."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    logp = num.log(p)
    T = _transition(num, live, p)
    h = _entropy_vector(model, live, num, p, logp, T)
    h_next = np.concatenate([h, num.zeros(1)])[live.dst]  # dst = -1 (eos) picks the appended 0
    dev = -logp + h_next - h[live.src]
    v = num.solve_resolvent(T, _per_state(num, live, p * dev * dev))
    return v[live.start]


def expected_length(model: FiniteStateLM, num: Arithmetic) -> Any:
    """E|Y| (model must be tight)."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    r = _per_state(num, live, p, live.dst >= 0)
    return num.solve_resolvent(_transition(num, live, p), r)[live.start]


def eos_bound(model: FiniteStateLM, num: Arithmetic) -> Any:
    """ξ = min over reachable states of p(eos | s) (Def. 3); ξ > 0 iff the model is eos-bounded."""
    states = np.flatnonzero(model.reachable)
    values = [model._exact.get((int(s), model.eos_index), Fraction(0)) for s in states]
    return num.scalar(min(values))


# ----- spectral part: Rényi divergence, the threshold α₀, the length tail ------------------------------------------
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


def _block(num: Arithmetic, live: Live, members: np.ndarray, w: np.ndarray) -> Any:
    pos = np.full(live.n, -1, dtype=np.int64)
    pos[members] = np.arange(len(members))
    inner = live.dst >= 0
    sel = inner & (pos[live.src] >= 0) & (pos[np.maximum(live.dst, 0)] >= 0)
    return num.matrix(len(members), pos[live.src[sel]], pos[live.dst[sel]], w[sel])


def spectral_radius(num: Arithmetic, live: Live, w: np.ndarray, blocks: list[np.ndarray]) -> Any:
    """ρ of the live matrix with arc weights w (max over cyclic components; 0 if there is no cycle)."""
    rho = num.scalar(0)
    for members in blocks:
        r = num.perron(_block(num, live, members, w))[0]
        rho = max(rho, r)
    return rho


def divergence_margin(num: Arithmetic, live: Live) -> float:
    """ρ within this of 1 is treated as ρ = 1 (divergent): the eigen-solver cannot resolve it."""
    return 64.0 * num.eps * max(1, live.n)


def length_tail_rate(model: FiniteStateLM, num: Arithmetic) -> Any:
    """ρ(T): P(|Y| ≥ n) decays like ρ(T)ⁿ up to polynomial factors (0 for finite support)."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    return spectral_radius(num, live, p, components(live))


def renyi_sum(model: FiniteStateLM, num: Arithmetic, alpha: Any) -> Any:
    """Σ_y p(y)^α for finite α > 0, α ≠ 1, or +inf when it diverges (decided by ρ(A_α) < 1)."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    w = p ** alpha
    rho = spectral_radius(num, live, w, components(live))
    if rho >= 1 - divergence_margin(num, live):
        return num.scalar(float("inf"))
    e = _per_state(num, live, w, live.dst < 0)
    return num.solve_resolvent(_transition(num, live, w), e)[live.start]


def max_log_prob(model: FiniteStateLM, num: Arithmetic) -> Any:
    """max_y log p(y) (for H_∞ = −max_y log p(y)): Dijkstra on −log p(a|s) ≥ 0, eos as the final arc."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    cost = -num.log(p)
    out_arcs: list[list[int]] = [[] for _ in range(live.n)]
    for k, s in enumerate(live.src.tolist()):
        out_arcs[s].append(k)
    inf = num.scalar(float("inf"))
    dist = [inf] * live.n
    dist[live.start] = num.scalar(0)
    best = inf
    heap: list[tuple[Any, int]] = [(dist[live.start], live.start)]
    done = [False] * live.n
    while heap:
        d, s = heapq.heappop(heap)
        if done[s]:
            continue
        done[s] = True
        for k in out_arcs[s]:
            nd = d + cost[k]
            t = int(live.dst[k])
            if t < 0:
                best = min(best, nd)
            elif nd < dist[t]:
                dist[t] = nd
                heapq.heappush(heap, (nd, t))
    return -best


def renyi_threshold(model: FiniteStateLM, num: Arithmetic) -> Any:
    """α₀ = inf{α > 0 : Σ_y p(y)^α < ∞}; Σ p^α diverges at α₀ itself when α₀ > 0."""
    live = live_part(model)
    p = arc_probs(model, live, num)
    logp = num.log(p)
    alpha0 = num.scalar(0)
    for members in components(live):
        alpha0 = max(alpha0, _component_threshold(num, live, members, p, logp))
    return alpha0


def _component_threshold(num: Arithmetic, live: Live, members: np.ndarray, p: np.ndarray,
                         logp: np.ndarray) -> Any:
    """Root of ρ(A_α) = 1 on one component: Newton on a convex decreasing function, kept inside a bracket."""
    zero, one = num.scalar(0), num.scalar(1)

    def f(alpha: Any) -> tuple[Any, Any]:
        w = p ** alpha
        rho, u, v = num.perron(_block(num, live, members, w))
        slope = u.dot(num.matvec(_block(num, live, members, w * logp), v)) / u.dot(v)
        return rho - 1, slope

    f0, _ = f(zero)
    if f0 <= divergence_margin(num, live):
        return zero  # ρ(A_0) ≤ 1: a single cycle, so every α > 0 converges on this component
    f1, d1 = f(one)
    if f1 >= 0:
        raise ValueError("a live component has ρ(T) ≥ 1; the model cannot be tight")
    lo, hi = zero, one  # f(lo) > 0 > f(hi)
    x, fx, dx = one, f1, d1
    tol = 16 * num.eps
    for _ in range(300):
        cand = x - fx / dx if dx != 0 else lo
        if not lo < cand < hi:
            cand = (lo + hi) / 2
        if abs(cand - x) <= tol * cand:
            return cand
        x = cand
        fx, dx = f(x)
        if fx == 0:
            return x
        if fx > 0:
            lo = x
        else:
            hi = x
        if hi - lo <= tol * hi:
            break
    return (lo + hi) / 2
