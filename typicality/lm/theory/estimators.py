"""Estimators with confidence intervals for the information measures of one conditional distribution p(·|x).

Input: i.i.d. strings drawn from p(·|x), each with its log-probability ``logp`` (eos term included) and whether it
ended with eos. A string cut off at the length cap (``capped``) is *censored*: its recorded log-probability is
that of a prefix, which is at least the log-probability of any completion, so its surprisal is a lower bound of the
surprisal of the string it would have become. No capped string is dropped; each estimator says which side of its
interval survives censoring, and returns an unbounded side where nothing can be said.

* :func:`entropy_interval`: H = E[−log p(Y)] (paper Eq. 9–11). Student-t interval of the mean
  surprisal. With capped strings, the low end is still valid (their surprisal only grows), the high end is ∞.
* :func:`varentropy_interval`: σ² = Var[−log p(Y)] (Prop. 5). Asymptotic normal interval of the sample variance
  with the estimated fourth central moment (Var(s²) ≈ (μ₄ − σ⁴)/n). With capped strings: no interval.
* :func:`renyi_interval`: H_α = log(Σ_y p(y)^α)/(1 − α) (Def. 2), from Σ p^α = E[p(Y)^{α−1}]:

  - α > 1: the terms p^{α−1} lie in [0, 1], so an empirical-Bernstein bound (Maurer & Pontil 2009) gives a
    rigorous interval for the mean at the stated level (no normality assumption);
  - α < 1: the terms are ≥ 1 and unbounded (heavy-tailed: Σ p^α may even be infinite, C1), so only a CLT interval
    is possible and it is reported with the effective sample size (Σw)²/Σw² of the terms; below ``ESS_WARN`` of
    the sample the variance estimate is not to be trusted and the result says so.

* :func:`monotone_check`: whether the estimates are non-increasing in α (Prop. 4), and whether the intervals
  *prove* a violation (some α < α' with low(H_α) > high(H_α')).

Intervals are two-sided at level ``confidence`` (default 0.95) unless stated; ``{estimate, low, high}`` dicts with
``None`` for an estimate that does not exist and ±inf for an unbounded side.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ESS_WARN", "bernstein_half", "check_confidence", "clopper_pearson", "entropy_interval", "monotone_check",
           "renyi_interval", "varentropy_interval"]

#: below this fraction of the sample, the effective sample size of an α < 1 Rényi estimate is a warning
ESS_WARN = 0.1


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def _arrays(logp: Any, capped: Any) -> tuple[np.ndarray, np.ndarray]:
    lp = np.asarray(logp, dtype=np.float64)
    cap = np.zeros(lp.shape, dtype=bool) if capped is None else np.asarray(capped, dtype=bool)
    if lp.ndim != 1 or cap.shape != lp.shape:
        raise ValueError(f"logp and capped must be 1-d arrays of one length, got shapes {lp.shape} and {cap.shape}")
    if np.isnan(lp).any() or (lp > 0).any():
        bad = lp[np.isnan(lp) | (lp > 0)][0]
        raise ValueError(f"logp must hold log-probabilities (≤ 0, not NaN), got {bad!r}")
    return lp, cap


def _interval(estimate: float | None, low: float, high: float, n: int, **extra: Any) -> dict[str, Any]:
    return {"estimate": estimate, "low": low, "high": high, "n": n, **extra}


def entropy_interval(logp: Any, capped: Any = None, *, confidence: float = 0.95) -> dict[str, Any]:
    """Entropy of p(·|x) from i.i.d. draws: the mean surprisal with a Student-t interval (see the module doc)."""
    from scipy import stats

    confidence = check_confidence(confidence)
    lp, cap = _arrays(logp, capped)
    n = len(lp)
    if n < 2:
        return _interval(None, 0.0, math.inf, n, n_capped=int(cap.sum()), note="fewer than 2 strings")
    s = -lp
    if np.isinf(s).any():
        return _interval(math.inf, math.inf, math.inf, n, n_capped=int(cap.sum()),
                         note="a sampled string has probability 0 under the model")
    mean = float(s.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * s.std(ddof=1) / math.sqrt(n))
    n_cap = int(cap.sum())
    if n_cap:
        return _interval(None, max(0.0, mean - half), math.inf, n, n_capped=n_cap,
                         note=f"{n_cap} capped strings: their surprisal is a lower bound, so only the low end holds")
    return _interval(mean, max(0.0, mean - half), mean + half, n, n_capped=0)


def varentropy_interval(logp: Any, capped: Any = None, *, confidence: float = 0.95) -> dict[str, Any]:
    """Varentropy of p(·|x): the sample variance of the surprisal with an asymptotic normal interval."""
    from scipy import stats

    confidence = check_confidence(confidence)
    lp, cap = _arrays(logp, capped)
    n, n_cap = len(lp), int(cap.sum())
    if n < 4 or np.isinf(lp).any():
        return _interval(None, 0.0, math.inf, n, n_capped=n_cap, note="fewer than 4 strings or a probability 0")
    s = -lp
    var = float(s.var(ddof=1))
    if n_cap:
        return _interval(None, 0.0, math.inf, n, n_capped=n_cap,
                         note=f"{n_cap} capped strings: censoring bounds the variance on neither side")
    centered = s - s.mean()
    m4 = float(np.mean(centered**4))
    se = math.sqrt(max(m4 - var**2, 0.0) / n)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return _interval(var, max(0.0, var - z * se), var + z * se, n, n_capped=0)


def bernstein_half(terms: np.ndarray, delta: float) -> float:
    """Maurer & Pontil (2009, Thm. 4) one-sided deviation for the mean of i.i.d. terms in [0, 1], confidence 1 − δ:
    sqrt(2 V log(2/δ) / n) + 7 log(2/δ) / (3 (n − 1)), V the sample variance."""
    n = len(terms)
    v = float(terms.var(ddof=1))
    log_term = math.log(2 / delta)
    return math.sqrt(2 * v * log_term / n) + 7 * log_term / (3 * (n - 1))


def renyi_interval(logp: Any, alpha: float, capped: Any = None, *, confidence: float = 0.95) -> dict[str, Any]:
    """Rényi entropy H_α of p(·|x) (α > 0, α ≠ 1) from i.i.d. draws (see the module doc for the two regimes)."""
    from scipy import stats
    from scipy.special import logsumexp

    confidence = check_confidence(confidence)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0 or alpha == 1 \
            or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number > 0 other than 1, got {alpha!r}")
    lp, cap = _arrays(logp, capped)
    n, n_cap = len(lp), int(cap.sum())
    if n < 2:
        return _interval(None, 0.0, math.inf, n, alpha=alpha, n_capped=n_cap, note="fewer than 2 strings")
    a = float(alpha)
    x = (a - 1) * lp  # log of the terms p^{α-1}
    log_mean = float(logsumexp(x) - math.log(n))

    def h_of(log_s: float) -> float:
        return log_s / (1 - a)

    if a > 1:
        # terms in [0, 1]; a capped string's prefix probability is ≥ its completion's, so its term is an upper bound:
        # the low end of Σ p^α (hence the high end of H_α) sets those terms to 0
        terms = np.exp(x)
        delta = 1 - confidence
        half = bernstein_half(terms, delta / 2)
        low_terms = np.where(cap, 0.0, terms)
        s_high = min(1.0, float(terms.mean()) + half)
        s_low = max(0.0, float(low_terms.mean()) - bernstein_half(low_terms, delta / 2))
        h_low = h_of(math.log(s_high))
        h_high = math.inf if s_low <= 0 else h_of(math.log(s_low))
        est = None if n_cap else h_of(log_mean)
        return _interval(est, max(0.0, h_low), h_high, n, alpha=a, n_capped=n_cap, method="empirical Bernstein")
    # α < 1: terms ≥ 1, unbounded; a capped string's term is a lower bound of its completion's
    w = np.exp(x - x.max())
    ess = float(w.sum() ** 2 / np.sum(w**2))
    z = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    rel_se = float(w.std(ddof=1) / math.sqrt(n) / w.mean())  # se of the mean relative to the mean
    log_s_low = log_mean + math.log(max(1e-300, 1 - z * rel_se)) if z * rel_se < 1 else -math.inf
    log_s_high = log_mean + math.log1p(z * rel_se)
    out = _interval(None if n_cap else h_of(log_mean), max(0.0, h_of(log_s_low)) if math.isfinite(log_s_low)
                    else 0.0, math.inf if n_cap else h_of(log_s_high), n, alpha=a, n_capped=n_cap,
                    method="CLT (heavy-tailed terms)", ess=ess)
    if n_cap:
        out["note"] = f"{n_cap} capped strings: only the low end holds"
    if ess < ESS_WARN * n:
        out["warning"] = (f"effective sample size {ess:.1f} of {n}: a few strings dominate Σ p^α, so the interval "
                          "is not to be trusted (for α < 1 the sum may even be infinite)")
    return out


def monotone_check(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Prop. 4 on estimates: are the H_α estimates non-increasing in α, and do the intervals prove a violation?

    ``rows``: dicts with ``alpha``, ``estimate``, ``low``, ``high`` (as from :func:`renyi_interval`; H_1 = H may be
    included with alpha = 1).
    """
    rows = sorted(rows, key=lambda r: r["alpha"])
    est = [(r["alpha"], r["estimate"]) for r in rows if r["estimate"] is not None]
    increases = [(a, b) for (a, x), (b, y) in itertools.pairwise(est) if y > x]
    proven = [(r["alpha"], s["alpha"]) for i, r in enumerate(rows) for s in rows[i + 1:]
              if r["high"] is not None and s["low"] is not None and s["low"] > r["high"]]
    return {"estimates_monotone": not increases, "increasing_pairs": increases, "violation_proven": bool(proven),
            "violating_pairs": proven}


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval for a frequency k/n."""
    from scipy import stats

    if n <= 0:
        return 0.0, 1.0
    a = 1 - confidence
    low = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high
