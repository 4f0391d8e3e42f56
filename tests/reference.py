"""Independent references for the exact measures, computed from an n-gram *spec* (order + context rows).

Nothing here uses the library: the context-successor rule, reachability, enumeration and the series are
re-implemented from the definitions, so agreement with :mod:`typicality.measures` is evidence, not an echo.

* :func:`enumeration_bounds`: brute-force enumeration of all strings up to a depth in exact rationals (logs at
  mpmath precision), with the tail bounded rigorously for eos-bounded models (docs/theory.md#b8: with ξ the eos bound
  and ℓ_max = −log of the smallest positive probability, the remaining steps K from any prefix satisfy
  P(K > k) ≤ (1−ξ)^k, so E K ≤ 1/ξ, E K² ≤ (2−ξ)/ξ², and the remaining surprisal R ≤ ℓ_max K).
* :func:`series`: the measures as explicit power series Σₙ f₀ Tⁿ (forward iteration of the prefix mass over
  states) instead of a linear solve, with a rigorous bound on the unsummed remainder.
* :func:`unigram_closed_forms`: one-state models, where everything has a closed form.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from fractions import Fraction

import mpmath
import numpy as np

EOS = "</s>"


def successor(order: int, ctx: str, a: str) -> str:
    if order == 1:
        return ""
    syms = ctx.split(" ") if ctx else []
    return " ".join([*syms, a][-(order - 1):])


def is_tight_spec(order: int, contexts: dict[str, dict[str, Fraction]]) -> tuple[bool, bool]:
    """(tight, eos-bounded) by graph search over the contexts reachable from the start."""
    reach = {""}
    queue = deque([""])
    while queue:
        c = queue.popleft()
        for a, p in contexts[c].items():
            if a != EOS and p > 0:
                n = successor(order, c, a)
                if n not in reach:
                    reach.add(n)
                    queue.append(n)
    can_end = {c for c in reach if contexts[c].get(EOS, 0) > 0}
    changed = True
    while changed:
        changed = False
        for c in reach - can_end:
            if any(a != EOS and p > 0 and successor(order, c, a) in can_end for a, p in contexts[c].items()):
                can_end.add(c)
                changed = True
    tight = can_end == reach
    eos_bounded = all(contexts[c].get(EOS, 0) > 0 for c in reach)
    return tight, eos_bounded


def enumerate_spec(order: int, contexts: dict, depth: int):
    """(strings with probabilities, unfinished prefixes of length depth+1 with probabilities), exact."""
    done: list[tuple[tuple[str, ...], Fraction]] = []
    frontier: list[tuple[tuple[str, ...], str, Fraction]] = [((), "", Fraction(1))]
    for _ in range(depth + 1):
        nxt = []
        for y, ctx, q in frontier:
            row = contexts[ctx]
            if row.get(EOS, 0) > 0:
                done.append((y, q * row[EOS]))
            for a, p in row.items():
                if a != EOS and p > 0:
                    nxt.append(((*y, a), successor(order, ctx, a), q * p))
        frontier = nxt
    return done, [(y, q) for y, _, q in frontier]


def enumeration_bounds(order: int, contexts: dict, alphabet_size: int, depth: int, alphas=(),
                       dps: int = 30) -> dict[str, tuple]:
    """Rigorous intervals [lo, hi] for the measures of an eos-bounded model (see module docstring)."""
    xi = min(row.get(EOS, Fraction(0)) for row in contexts.values())
    assert xi > 0, "enumeration_bounds needs an eos-bounded model"
    pmin = min(p for row in contexts.values() for p in row.values() if p > 0)
    with mpmath.workdps(dps):
        lmax = -mpmath.log(mpmath.mpf(pmin.numerator) / pmin.denominator)
        xi_m = mpmath.mpf(xi.numerator) / xi.denominator
        done, tail = enumerate_spec(order, contexts, depth)

        def mp(q: Fraction):
            return mpmath.mpf(q.numerator) / q.denominator

        probs = [mp(q) for _, q in done]
        logs = [mpmath.log(p) for p in probs]
        r = sum((mp(q) for _, q in tail), mpmath.mpf(0))
        tail_l = [(-mpmath.log(mp(q)), mp(q), len(u)) for u, q in tail]
        H_lo = mpmath.fsum(-p * lg for p, lg in zip(probs, logs, strict=True))
        H_hi = H_lo + mpmath.fsum(q * s for s, q, _ in tail_l) + r * lmax / xi_m
        E2_lo = mpmath.fsum(p * lg * lg for p, lg in zip(probs, logs, strict=True))
        ER2 = lmax ** 2 * (2 - xi_m) / xi_m ** 2
        E2_hi = E2_lo + mpmath.fsum(q * (s * s + 2 * s * lmax / xi_m) for s, q, _ in tail_l) + r * ER2
        L_lo = mpmath.fsum(p * len(y) for p, (y, _) in zip(probs, done, strict=True))
        L_hi = L_lo + mpmath.fsum(q * (n + (1 - xi_m) / xi_m) for _, q, n in tail_l)
        out = {
            "mass": (mpmath.fsum(probs), mpmath.fsum(probs) + r),
            "tail": (r, r),
            "entropy": (H_lo, H_hi),
            "varentropy": (max(E2_lo - H_hi ** 2, 0), E2_hi - H_lo ** 2),
            "expected_length": (L_lo, L_hi),
        }
        for a in alphas:
            am = mpmath.mpf(a)
            lo = mpmath.fsum(mpmath.exp(am * lg) for lg in logs)
            if am >= 1:
                hi = lo + r ** am
            else:
                # Hölder per length (docs/theory.md#c1): Σ_{|z|=n} p(z|u)^α ≤ |Σ|^{n(1−α)} (1−ξ)^{nα}
                ratio = mpmath.mpf(alphabet_size) ** (1 - am) * (1 - xi_m) ** am
                assert ratio < 1, "no rigorous tail bound at this α"
                hi = lo + mpmath.fsum(mpmath.exp(am * mpmath.log(mp(q))) for _, q in tail) / (1 - ratio)
            out[f"renyi_sum[{a}]"] = (lo, hi)
        return out


def _states(order: int, contexts: dict) -> list[str]:
    return sorted(contexts)


def series(order: int, contexts: dict, *, alpha=None, tol: float = 1e-16, max_steps: int = 200_000) -> dict:
    """Σₙ over lengths, by forward iteration f_{n+1} = f_n T of the prefix weight over contexts (float64).

    Returns mass, entropy, expected length and, if ``alpha`` ≥ 1 is given, Σ_y p(y)^α, each with a rigorous
    bound on the unsummed remainder (up to float rounding): T is substochastic, so ‖Tᵏ‖_∞ ≤ 1, and once
    θ = ‖T^m‖_∞ ≤ ½ the remaining terms total at most ‖f_n‖₁ · 2m · max(per-state term). For α ≥ 1 the
    α-powered matrix is entrywise ≤ T, so the same bound holds.
    """
    names = _states(order, contexts)
    idx = {c: i for i, c in enumerate(names)}
    n = len(names)
    T = np.zeros((n, n))
    Ta = np.zeros((n, n))
    e = np.zeros(n)
    ea = np.zeros(n)
    c = np.zeros(n)
    rs = np.zeros(n)
    a = 1.0 if alpha is None else float(alpha)
    assert a >= 1
    for ctx, row in contexts.items():
        i = idx[ctx]
        for sym, p in row.items():
            pf = float(p)
            if pf == 0:
                continue
            c[i] -= pf * math.log(pf)
            if sym == EOS:
                e[i] += pf
                ea[i] += pf ** a
            else:
                j = idx[successor(order, ctx, sym)]
                T[i, j] += pf
                Ta[i, j] += pf ** a
                rs[i] += pf
    # restrict to reachable contexts (unreachable ones may be non-tight and spoil the norm bound)
    reach = np.zeros(n, dtype=bool)
    reach[idx[""]] = True
    frontier = [idx[""]]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(T[i] > 0):
            if not reach[j]:
                reach[j] = True
                frontier.append(j)
    R = np.flatnonzero(reach)
    T, Ta, e, ea, c, rs = T[np.ix_(R, R)], Ta[np.ix_(R, R)], e[R], ea[R], c[R], rs[R]
    # surprisal-weighted transitions for the forward moment recursion of E[I²]
    L1 = np.zeros((n, n))
    L2 = np.zeros((n, n))
    le1 = np.zeros(n)
    le2 = np.zeros(n)
    for ctx, row in contexts.items():
        i = idx[ctx]
        for sym, p in row.items():
            pf = float(p)
            if pf == 0:
                continue
            s_ = -math.log(pf)
            if sym == EOS:
                le1[i] += pf * s_
                le2[i] += pf * s_ * s_
            else:
                j = idx[successor(order, ctx, sym)]
                L1[i, j] += pf * s_
                L2[i, j] += pf * s_ * s_
    L1, L2, le1, le2 = L1[np.ix_(R, R)], L2[np.ix_(R, R)], le1[R], le2[R]
    P, m = T.copy(), 1
    while np.abs(P).sum(axis=1).max() > 0.5:
        P, m = P @ T, m + 1
        assert m < 100_000, "not tight"
    f = np.zeros(len(R))
    f[list(R).index(idx[""])] = 1.0
    g = f.copy()
    F1 = np.zeros_like(f)  # Σ over prefixes u ending in each state of p(u)·(−log p(u))
    F2 = np.zeros_like(f)  # ... of p(u)·log² p(u)
    mass = ent = length = rsum = second = length2 = 0.0
    for step in range(max_steps):
        length2 += step * step * (f @ e)
        mass += f @ e
        ent += f @ c
        length += f @ rs
        rsum += g @ ea
        second += F2 @ e + 2 * F1 @ le1 + f @ le2
        F2 = F2 @ T + 2 * F1 @ L1 + f @ L2
        F1 = F1 @ T + f @ L1
        f = f @ T
        g = g @ Ta
        if f.sum() < tol and F2.sum() < tol:
            break
    factor = f.sum() * 2 * m
    return {"mass": (mass, factor * e.max()), "entropy": (ent, factor * c.max()),
            "expected_length": (length, factor * rs.max()), "renyi_sum": (rsum, factor * ea.max()),
            # E[I²] by the forward moment recursion (a different algorithm from the library's backward one);
            # summed until the weighted remainder is below tol, no rigorous bound
            "second_moment": second, "length_second_moment": length2}


def series_terms(order: int, contexts: dict, alpha, steps: int) -> np.ndarray:
    """Σ_{|y| = n} p(y)^α for n < steps (float64 forward iteration)."""
    names = _states(order, contexts)
    idx = {c: i for i, c in enumerate(names)}
    n = len(names)
    Ta = np.zeros((n, n))
    ea = np.zeros(n)
    for ctx, row in contexts.items():
        for sym, p in row.items():
            if p == 0:
                continue
            w = float(p) ** float(alpha)
            if sym == EOS:
                ea[idx[ctx]] += w
            else:
                Ta[idx[ctx], idx[successor(order, ctx, sym)]] += w
    g = np.zeros(n)
    g[idx[""]] = 1.0
    out = np.empty(steps)
    for k in range(steps):
        out[k] = g @ ea
        g = g @ Ta
        s = g.sum()
        if s > 1e200:  # keep the scale: only growth/decay of the terms matters to the caller
            g /= s
            out[k + 1:] = np.nan
            out[k] = np.inf
            break
    return out


def unigram_closed_forms(symbol_probs: list[Fraction], eos: Fraction, alphas=(), dps: int = 40) -> dict:
    """Closed forms for a one-state model: p(y) = eos · Π p(y_i), |Y| ~ Geometric(eos) on {0, 1, ...}.

    H = −log e − (1/e) Σ_a p_a log p_a; σ² = E|Y| Var X + Var|Y| (E X)² (compound sum of X = −log p(a) under
    a ~ p/(1−e), plus the constant −log e); Σ_y p^α = e^α / (1 − Σ_a p_a^α) when Σ_a p_a^α < 1; α₀ solves
    Σ_a p_a^α = 1.
    """
    with mpmath.workdps(dps):
        def mp(q: Fraction):
            return mpmath.mpf(q.numerator) / q.denominator

        e = mp(eos)
        ps = [mp(p) for p in symbol_probs if p > 0]
        out = {}
        H = -mpmath.log(e) - mpmath.fsum(p * mpmath.log(p) for p in ps) / e
        EL = (1 - e) / e
        VL = (1 - e) / e ** 2
        if ps:
            q = [p / (1 - e) for p in ps]
            EX = mpmath.fsum(qi * -mpmath.log(p) for qi, p in zip(q, ps, strict=True))
            VX = mpmath.fsum(qi * mpmath.log(p) ** 2 for qi, p in zip(q, ps, strict=True)) - EX ** 2
        else:
            EX = VX = mpmath.mpf(0)
        out["entropy"] = H
        out["varentropy"] = EL * VX + VL * EX ** 2
        out["expected_length"] = EL
        out["min_entropy"] = -mpmath.log(e)
        out["length_tail_rate"] = 1 - e if ps else mpmath.mpf(0)
        out["eos_bound"] = e
        if len(ps) <= 1:
            out["alpha0"] = mpmath.mpf(0)
        else:
            out["alpha0"] = mpmath.findroot(lambda a: mpmath.fsum(p ** a for p in ps) - 1, (mpmath.mpf(0), 1),
                                            solver="anderson")
        for a in alphas:
            am = mpmath.mpf(a)
            s = mpmath.fsum(p ** am for p in ps)
            out[f"renyi[{a}]"] = mpmath.inf if s >= 1 else mpmath.log(e ** am / (1 - s)) / (1 - am)
        return out


def brute_force_strings(order: int, contexts: dict, alphabet: tuple[str, ...], max_len: int):
    """Every string over the alphabet up to max_len with its exact probability (including zeros)."""
    for n in range(max_len + 1):
        for y in itertools.product(alphabet, repeat=n):
            q = Fraction(1)
            ctx = ""
            for a in y:
                q *= contexts[ctx].get(a, Fraction(0))
                if q == 0:
                    break
                ctx = successor(order, ctx, a)
            else:
                q *= contexts[ctx].get(EOS, Fraction(0))
            yield y, q


def linear_reference(order: int, contexts: dict, alphas=(), dps: int = 100) -> dict:
    """The measures of an n-gram spec by dense linear algebra in mpmath at ``dps`` digits, from the definitions.

    Written independently of the library: T is formed as given (I − T at ``dps`` digits, so pick dps above the
    decimal exponent of the smallest probability plus the digits wanted: then 1 − (1 − 10⁻⁴⁰⁰) is resolved by
    precision, not by structure); the varentropy comes from the second moment E[I²] (docs/theory.md#g) minus H², not
    from the library's total-variance recursion; divergence of Σ p^α from the spectral radius of each strongly connected
    component (the Perron root of a single state is its loop weight; larger components by mpmath.eig), reported as
    ``mpmath.inf``, or ``None`` when the radius is within 10⁻³⁰ of 1 (the reference cannot tell). Rows need not sum
    to 1: the numbers are taken as given. Keys: mass, entropy, varentropy, expected_length, tail_rate_bound (None),
    ``renyi[a]``.
    """
    with mpmath.workdps(dps):
        def mp(q: Fraction):
            return mpmath.mpf(q.numerator) / q.denominator

        reach = [""]
        seen = {""}
        for c in reach:
            for a, p in contexts[c].items():
                if a != EOS and p > 0:
                    nxt = successor(order, c, a)
                    if nxt not in seen:
                        seen.add(nxt)
                        reach.append(nxt)
        idx = {c: i for i, c in enumerate(reach)}
        n = len(reach)
        arcs = [(idx[c], (idx[successor(order, c, a)] if a != EOS else -1), mp(p))
                for c in reach for a, p in contexts[c].items() if p > 0]
        I_T = mpmath.eye(n)
        e = mpmath.matrix(n, 1)
        c_vec = mpmath.matrix(n, 1)
        r_vec = mpmath.matrix(n, 1)
        for i, j, p in arcs:
            lp = mpmath.log(p)
            c_vec[i] -= p * lp
            if j < 0:
                e[i] += p
            else:
                I_T[i, j] -= p
                r_vec[i] += p
        h = mpmath.lu_solve(I_T, c_vec)
        b2 = mpmath.matrix(n, 1)
        for i, j, p in arcs:
            lp = mpmath.log(p)
            b2[i] += p * (lp * lp + (-2 * lp * h[j] if j >= 0 else 0))
        second = mpmath.lu_solve(I_T, b2)
        out = {
            "mass": mpmath.lu_solve(I_T, e)[0],
            "entropy": h[0],
            "varentropy": second[0] - h[0] ** 2,
            "expected_length": mpmath.lu_solve(I_T, r_vec)[0],
        }
        # strongly connected components by mutual reachability (n is small)
        succ = {i: {j for a, j, _ in arcs if a == i and j >= 0} for i in range(n)}

        def closure(i):
            out_, todo = {i}, [i]
            while todo:
                for j in succ[todo.pop()]:
                    if j not in out_:
                        out_.add(j)
                        todo.append(j)
            return out_

        reach_from = {i: closure(i) for i in range(n)}
        comps = {frozenset(j for j in reach_from[i] if i in reach_from[j]) for i in range(n)}
        for a in alphas:
            am = mpmath.mpf(Fraction(a).numerator) / Fraction(a).denominator
            verdict = "finite"
            for comp in comps:
                members = sorted(comp)
                pos = {s: k for k, s in enumerate(members)}
                block = mpmath.matrix(len(members), len(members))
                for i, j, p in arcs:
                    if i in pos and j in pos:
                        block[pos[i], pos[j]] += p ** am
                if len(members) == 1:
                    rho = block[0, 0]
                else:
                    with mpmath.workdps(60):
                        rho = max(abs(x) for x in mpmath.eig(block, left=False, right=False))
                if rho > 1 + mpmath.mpf(10) ** -30:
                    verdict = "inf"
                elif rho >= 1 - mpmath.mpf(10) ** -30 and verdict != "inf":
                    verdict = "unknown"
            if verdict == "inf":
                out[f"renyi[{a}]"] = mpmath.inf
            elif verdict == "unknown":
                out[f"renyi[{a}]"] = None
            else:
                A = mpmath.eye(n)
                ea = mpmath.matrix(n, 1)
                for i, j, p in arcs:
                    if j < 0:
                        ea[i] += p ** am
                    else:
                        A[i, j] -= p ** am
                out[f"renyi[{a}]"] = mpmath.log(mpmath.lu_solve(A, ea)[0]) / (1 - am)
        return out


def spectral_reference(order: int, contexts: dict, dps: int = 50) -> dict:
    """ρ(T) and α₀ of an n-gram spec without eigenvectors or power iteration: roots of determinants in mpmath.

    ρ(T) is the largest real root of det(λI − T) (found by ``findroot`` from numpy's largest eigenvalue modulus,
    a float64 start only); α₀ is the root of det(I − A_α) in (0, 1) next to where (I − A_α)⁻¹1 stops being
    positive (bisection in float64 on that sign, then ``findroot`` at ``dps`` digits). Dense: small specs only.
    Keys: length_tail_rate, alpha0.
    """
    reach, seen = [""], {""}
    for c in reach:
        for a, p in contexts[c].items():
            if a != EOS and p > 0:
                nxt = successor(order, c, a)
                if nxt not in seen:
                    seen.add(nxt)
                    reach.append(nxt)
    idx = {c: i for i, c in enumerate(reach)}
    n = len(reach)
    arcs = [(idx[c], idx[successor(order, c, a)], p) for c in reach for a, p in contexts[c].items()
            if a != EOS and p > 0]

    def powered(alpha, mp: bool):
        if mp:
            M_ = mpmath.matrix(n, n)
            for i, j, p in arcs:
                M_[i, j] += (mpmath.mpf(p.numerator) / p.denominator) ** alpha
            return M_
        M_ = np.zeros((n, n))
        for i, j, p in arcs:
            M_[i, j] += float(p) ** alpha
        return M_

    out = {}
    with mpmath.workdps(dps):
        T = powered(1, True)
        lam0 = float(max(abs(np.linalg.eigvals(powered(1.0, False)))))
        out["length_tail_rate"] = mpmath.findroot(lambda lam: mpmath.det(lam * mpmath.eye(n) - T), lam0)

        def below_threshold(a: float) -> bool:
            try:
                x = np.linalg.solve(np.eye(n) - powered(a, False), np.ones(n))
            except np.linalg.LinAlgError:
                return True
            return not np.all(x > 0)

        lo, hi = 1e-9, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if below_threshold(mid):
                lo = mid
            else:
                hi = mid
        out["alpha0"] = mpmath.findroot(lambda a: mpmath.det(mpmath.eye(n) - powered(a, True)),
                                        (mpmath.mpf(lo), mpmath.mpf(hi)), solver="anderson")
    return out
