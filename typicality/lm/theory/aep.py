"""The AEP bounds against the frequency of atypical corpora, from one sample of i.i.d. strings (paper Eq. 11, Thm. 2
with the corrected two-sided exponent of C3).

The sample is cut into K = n // N disjoint corpora of N strings; a corpus is *atypical* when its mean surprisal
is at least ε away from H. H is not known, only an interval [H_lo, H_hi] at the stated confidence (from the same
strings), so two counts bracket the true one: corpora atypical for every H in the interval (``k_sure``) and for some
H in it (``k_some``). The frequency's interval is Clopper–Pearson on k_sure (low end) and k_some (high end).

Each bound is an interval too, from the intervals of its inputs (a plug-in estimate inside a bound is not the bound):

* Chebyshev (Eq. 11): σ²/(Nε²) over the interval of σ²;
* Chernoff (Thm. 2, C3): exp(−N c₊) + exp(−N c₋) with
  c₊ = sup_{α<1} (1−α)(ε + H) − log S_α and c₋ = sup_{α'>1} (α'−1)(ε − H) − log S_α', S_α = Σ p^α,
  evaluated on a grid of orders with the ends of the intervals of H and of each S_α that make the bound largest
  (high end) or smallest (low end). The S_α intervals are pointwise, not simultaneous over the grid, and for α < 1
  they rest on a CLT for heavy-tailed terms: the Chernoff interval is a plug-in enclosure, not a certificate.

Verdict per (N, ε): ``vacuous`` when the bound's low end is ≥ 1 (no verdict is computed); ``violated`` when the
frequency's low end exceeds the bound's high end; ``consistent`` when the frequency's high end is at most the
bound's low end; ``undecided`` otherwise. Two (N, ε) grids, each row marked by ``grid``: ``"bound"`` puts σ̂²/(Nε²)
at 0.5, 0.2 and 0.05 for N = 1, 2, 4, … while at least ``MIN_CORPORA`` corpora remain; ``"eps"`` fixes ε at its
N = 1, σ̂²/ε² = 0.5 value and lets N grow (N = 2, 4, 8, while the bound stays ≥ 0.05): the concentration of the
mean surprisal as N grows. The two intervals (H, frequency) are each at the stated confidence,
so a verdict rests on both holding: at least 1 − 2(1 − confidence) by the union bound.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from typicality.lm.theory.estimators import bernstein_half, clopper_pearson

__all__ = ["BOUND_TARGETS", "MIN_CORPORA", "aep_rows", "chernoff_interval", "log_renyi_sums"]

MIN_CORPORA = 50
BOUND_TARGETS = (0.5, 0.2, 0.05)
#: the orders over which the Chernoff exponents are maximized
ALPHAS_BELOW = np.linspace(0.02, 0.995, 120)
ALPHAS_ABOVE = np.concatenate([np.linspace(1.005, 3.0, 120), np.geomspace(3.2, 50.0, 40)])


def log_renyi_sums(logp: np.ndarray, alphas: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
    """log S_α = log mean p(Y)^{α−1} at each order, with pointwise interval ends (α > 1: empirical Bernstein on
    terms in [0, 1]; α < 1: CLT), as arrays ``estimate``, ``low``, ``high``."""
    from scipy import stats
    from scipy.special import logsumexp

    n = len(logp)
    x = (alphas[:, None] - 1) * logp[None, :]
    est = logsumexp(x, axis=1) - math.log(n)
    low, high = np.empty_like(est), np.empty_like(est)
    delta = 1 - confidence
    z = float(stats.t.ppf(1 - delta / 2, n - 1))
    for i, a in enumerate(alphas):
        if a > 1:
            terms = np.exp(x[i])
            half = bernstein_half(terms, delta / 2)
            m = float(terms.mean())
            low[i] = math.log(m - half) if m - half > 0 else -math.inf
            high[i] = math.log(min(1.0, m + half))
        else:
            w = np.exp(x[i] - x[i].max())
            rel = float(w.std(ddof=1) / math.sqrt(n) / w.mean())
            low[i] = est[i] + math.log(1 - z * rel) if z * rel < 1 else -math.inf
            high[i] = est[i] + math.log1p(z * rel)
    return {"estimate": est, "low": low, "high": high}


def chernoff_interval(n: int, eps: float, h: dict[str, Any], sums_below: dict[str, np.ndarray],
                      sums_above: dict[str, np.ndarray]) -> dict[str, float]:
    """The corrected two-sided Chernoff bound at (N, ε): point value and the interval from the inputs' intervals."""
    est = min(1.0, _tail(n, eps, h["estimate"], sums_below["estimate"], +1)
              + _tail(n, eps, h["estimate"], sums_above["estimate"], -1))
    # largest bound: small upper exponent (low H, large S) and small lower exponent (large H, large S); each tail
    # takes its own worst H, so evaluate the two tails separately
    worst = (min(1.0, _tail(n, eps, h["low"], sums_below["high"], +1) + _tail(n, eps, h["high"], sums_above["high"],
                                                                                -1)))
    best = (min(1.0, _tail(n, eps, h["high"], sums_below["low"], +1) + _tail(n, eps, h["low"], sums_above["low"],
                                                                             -1)))
    return {"estimate": est, "low": best, "high": worst}


def _tail(n: int, eps: float, h: float, log_s: np.ndarray, side: int) -> float:
    c = np.max((1 - ALPHAS_BELOW) * (eps + h) - log_s) if side > 0 else np.max((ALPHAS_ABOVE - 1) * (eps - h) - log_s)
    c = float(c)
    if math.isnan(c):
        return 1.0
    return math.exp(-n * max(c, 0.0))


def _verdict(freq: tuple[float, float], bound: tuple[float, float]) -> str:
    if bound[0] >= 1:
        return "vacuous"
    if freq[0] > bound[1]:
        return "violated"
    if freq[1] <= bound[0]:
        return "consistent"
    return "undecided"


def aep_rows(logp: np.ndarray, h: dict[str, Any], sigma2: dict[str, Any], *, confidence: float = 0.95,
             targets: tuple[float, ...] = BOUND_TARGETS) -> list[dict[str, Any]]:
    """One row per (N, ε): the frequency of atypical corpora with its interval, the Chebyshev and Chernoff bounds
    with theirs, and the verdicts (see the module doc). ``h`` and ``sigma2`` are the intervals of H and σ² from the
    same strings (:func:`entropy_interval`, :func:`varentropy_interval`); no row when either has no estimate."""
    if h.get("estimate") is None or sigma2.get("estimate") is None or not sigma2["estimate"] > 0:
        return []
    s = -np.asarray(logp, dtype=np.float64)
    n_total = len(s)
    below = log_renyi_sums(-s, ALPHAS_BELOW, confidence)
    above = log_renyi_sums(-s, ALPHAS_ABOVE, confidence)
    rows = []
    eps_fixed = math.sqrt(sigma2["estimate"] / targets[0])
    size = 1
    while n_total // size >= MIN_CORPORA:
        k = n_total // size
        means = s[: k * size].reshape(k, size).mean(axis=1)
        grid = [("bound", math.sqrt(sigma2["estimate"] / (size * b))) for b in targets]
        if size > 1 and targets[0] / size >= min(targets):
            grid.append(("eps", eps_fixed))
        for kind, eps in grid:
            dist_far = np.maximum(np.abs(means - h["low"]), np.abs(means - h["high"]))  # for some H in the interval
            inside = (means >= h["low"]) & (means <= h["high"])
            dist_near = np.where(inside, 0.0, np.minimum(np.abs(means - h["low"]), np.abs(means - h["high"])))
            k_sure, k_some = int(np.sum(dist_near >= eps)), int(np.sum(dist_far >= eps))
            f_low = clopper_pearson(k_sure, k, confidence)[0]
            f_high = clopper_pearson(k_some, k, confidence)[1]
            cheb = (sigma2["low"] / (size * eps**2), sigma2["high"] / (size * eps**2))
            chern = chernoff_interval(size, eps, h, below, above)
            rows.append({
                "grid": kind, "n": size, "eps": eps, "corpora": k,
                "empirical": {"estimate": float(np.mean(np.abs(means - h["estimate"]) >= eps)), "low": f_low,
                              "high": f_high, "k_sure": k_sure, "k_some": k_some},
                "chebyshev": {"estimate": sigma2["estimate"] / (size * eps**2), "low": cheb[0], "high": cheb[1],
                              "verdict": _verdict((f_low, f_high), cheb)},
                "chernoff": {**chern, "verdict": _verdict((f_low, f_high), (chern["low"], chern["high"]))},
            })
        size *= 2
    for r in rows:
        r["verdict"] = r["chebyshev"]["verdict"]
    return rows
