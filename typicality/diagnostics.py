"""MCMC diagnostics for string chains: Cramér's V on lag-k transition tables, and effective sample size.

**Cramér's V** (the paper's convergence check, §6.2): the chain's states are labelled 0..K−1 and the pairs
(x_t, x_{t+k}) counted in an R × C table (all-zero rows and columns dropped, as the official code does).
With n pairs, χ² = n (Σ_{ij} O_ij² / (r_i c_j) − 1), φ² = χ²/n and

    V = sqrt(φ² / (min(R, C) − 1))                                                   (uncorrected)
    Ṽ = sqrt(φ̃² / min(R̃ − 1, C̃ − 1)),  φ̃² = max(0, φ² − (R−1)(C−1)/(n−1)),
         R̃ = R − (R−1)²/(n−1),  C̃ = C − (C−1)²/(n−1)                             (Bergsma 2013)

V is biased upward on sparse tables: under independence V ≈ sqrt((K−1)/n), so "V < 0.1" mostly measures the
chain length (docs/theory.md#r3). Ṽ removes that bias. scipy has only the uncorrected V (and requires int tables).

**Effective sample size** of a scalar projection (log p, length, reward) of one or several chains: Geyer's initial
monotone sequence on the FFT autocorrelation, chains combined as in Gelman et al. (BDA3, §11.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse


@dataclass(frozen=True)
class CramersV:
    v: float  # uncorrected
    v_corrected: float  # Bergsma's bias correction
    chi2: float
    n_pairs: int
    rows: int
    cols: int
    lag: int


def _labels(states: Any) -> np.ndarray:
    """Integer labels 0..K−1 for a chain of states (ints, strings as tuples, any hashable)."""
    if isinstance(states, np.ndarray) and states.ndim == 1 and np.issubdtype(states.dtype, np.integer):
        x = states
    else:
        if isinstance(states, np.ndarray) and states.ndim != 1:
            raise ValueError(f"states must be one chain (a 1-d sequence), got shape {states.shape}")
        ids: dict[Any, int] = {}
        x = np.array([ids.setdefault(s, len(ids)) for s in states], dtype=np.int64)
    return np.unique(x, return_inverse=True)[1].astype(np.int64)


def cramers_v(states: Any, lag: int = 1) -> CramersV:
    """Cramér's V of the lag-``lag`` transition table of a chain of states (any hashable labels)."""
    if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 1:
        raise ValueError(f"lag must be an int >= 1, got {lag!r}")
    x = _labels(states)
    if len(x) <= lag + 1:
        raise ValueError(f"the chain has {len(x)} states; Cramér's V at lag {lag} needs more than {lag + 1}")
    a, b = x[:-lag], x[lag:]
    K = int(x.max()) + 1
    table = scipy.sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(K, K)).tocsr()
    table.sum_duplicates()
    r = np.asarray(table.sum(axis=1)).ravel()
    c = np.asarray(table.sum(axis=0)).ravel()
    R, C = int(np.count_nonzero(r)), int(np.count_nonzero(c))
    if min(R, C) < 2:
        raise ValueError("the chain never moves between two states at this lag: Cramér's V is undefined")
    n = len(a)
    coo = table.tocoo()
    chi2 = n * (float(np.sum(coo.data**2 / (r[coo.row] * c[coo.col]))) - 1.0)
    phi2 = max(chi2, 0.0) / n
    v = math.sqrt(phi2 / (min(R, C) - 1))
    phi2_c = max(0.0, phi2 - (R - 1) * (C - 1) / (n - 1))
    r_c, c_c = R - (R - 1) ** 2 / (n - 1), C - (C - 1) ** 2 / (n - 1)
    denom = min(r_c - 1, c_c - 1)
    v_c = math.sqrt(phi2_c / denom) if denom > 0 else 0.0
    return CramersV(v, v_c, chi2, n, R, C, int(lag))


def effective_sample_size(draws: Any) -> float:
    """ESS of a scalar chain (shape (n,)) or of several chains (shape (chains, n)) of the same length."""
    x = np.asarray(draws, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 4:
        raise ValueError(f"draws must have shape (n,) or (chains, n) with n >= 4, got {np.shape(draws)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("draws must be finite")
    m, n = x.shape
    centered = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centered, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n  # biased autocovariance per chain
    within = acov[:, 0].mean() * n / (n - 1)
    var_plus = within * (n - 1) / n + (x.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    if var_plus <= 0:
        raise ValueError("the draws are constant: the effective sample size is undefined")
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Geyer: sum adjacent pairs while positive, enforcing monotonicity
    total = 0.0
    prev = math.inf
    for t in range(0, n - 1, 2):
        pair = rho[t] + rho[t + 1]
        if pair <= 0:
            break
        pair = min(pair, prev)
        total += pair
        prev = pair
    tau = max(2.0 * total - 1.0, 1.0 / math.log10(max(m * n, 10)))
    return m * n / tau


def markov_tv_bound(doeblin: float, steps: int) -> float:
    """‖P^steps(x, ·) − π‖_TV ≤ (1 − λ)^steps for a chain with P(x, ·) ≥ λ π(·) for every x (Doeblin)."""
    if not 0 < doeblin <= 1:
        raise ValueError(f"doeblin must be in (0, 1], got {doeblin!r}")
    return (1.0 - doeblin) ** steps


def hoeffding_radius(n: int, delta: float) -> float:
    """Half-width of a two-sided Hoeffding interval for the mean of n i.i.d. indicators at failure probability δ."""
    if not 0 < delta < 1 or n < 1:
        raise ValueError(f"need n >= 1 and 0 < delta < 1, got n={n!r}, delta={delta!r}")
    return math.sqrt(math.log(2 / delta) / (2 * n))
