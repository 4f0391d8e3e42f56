"""Corpora of i.i.d. strings: their averages, the typical-set selection, causal bootstrapping, and correlations.

A corpus 𝒴_N of N draws over a finite set of objects is summarized by its count vector c; every statistic the
paper uses is linear in c (docs/theory.md#a): avg log p_prior = c·log p_prior / N, avg r = c·r / N, and
log p₊(𝒴_N) = c·log p₊ (the corpus log-probability of §6.1, an ordered sequence). Membership in the
(N, ε)-typical set (Eq. 10) is |−c·log p₊/N − H(p₊)| < ε.

*Causal bootstrapping* (Little & Badawy 2020, as the §6.1 notebook does it): cut a statistic into equal-width
bins (``pandas.cut`` semantics) and draw the same number of corpora from every bin with replacement
(``DataFrameGroupBy.sample(n, replace=True)`` semantics, numpy legacy ``RandomState``), so the resampled corpora
are spread uniformly over the statistic's range. :mod:`tests` checks both against pandas itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class CorpusStatistics:
    """Per-corpus averages (arrays over corpora) for corpora of ``size`` draws."""

    avg_log_prior: np.ndarray
    avg_reward: np.ndarray
    avg_log_aligned: np.ndarray  # −(mean surprisal under p₊)
    size: int

    @property
    def log_prob(self) -> np.ndarray:
        """log p₊(corpus) = Σₙ log p₊(yₙ)."""
        return self.avg_log_aligned * self.size

    def take(self, index: np.ndarray) -> CorpusStatistics:
        return CorpusStatistics(self.avg_log_prior[index], self.avg_reward[index], self.avg_log_aligned[index],
                                self.size)


def statistics_from_counts(counts: np.ndarray, log_prior: np.ndarray, reward: np.ndarray,
                           log_aligned: np.ndarray) -> CorpusStatistics:
    """Averages of corpora given as count vectors (rows of ``counts``, all with the same total)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != len(log_prior):
        raise ValueError(f"counts must have shape (corpora, {len(log_prior)}), got {c.shape}")
    totals = c.sum(axis=1)
    if totals.size and not np.all(totals == totals[0]):
        raise ValueError("every corpus must have the same size")
    size = int(totals[0]) if totals.size else 0
    return CorpusStatistics(c @ log_prior / size, c @ reward / size, c @ log_aligned / size, size)


def typical_mask(corpus: CorpusStatistics, entropy: float, eps: float) -> np.ndarray:
    """Membership in the (N, ε)-typical set of Eq. 10: |−avg log p₊ − H(p₊)| < ε."""
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    return np.abs(-corpus.avg_log_aligned - entropy) < eps


def equal_width_bins(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin codes 0..n_bins−1 as ``pandas.cut(x, n_bins)`` assigns them: equal widths over [min, max], the first
    edge lowered by 0.1 % of the range, intervals closed on the right."""
    x = np.asarray(x, dtype=np.float64)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}")
    if x.size == 0:
        raise ValueError("cannot bin an empty sample")
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:  # pandas widens a degenerate range by 0.1 % on both sides
        adj = 0.001 * abs(lo) if lo != 0 else 0.001
        edges = np.linspace(lo - adj, hi + adj, n_bins + 1)
    else:
        edges = np.linspace(lo, hi, n_bins + 1)
        edges[0] -= (hi - lo) * 0.001
    return np.searchsorted(edges, x, side="left") - 1


def causal_bootstrap(x: np.ndarray, n_bins: int, per_bin: int, random_state: np.random.RandomState) -> np.ndarray:
    """Indices of a causal bootstrap: ``per_bin`` draws with replacement from each equal-width bin of ``x``.

    Bins are visited in order; an empty bin cannot be filled and is an error (as ``n`` draws from an empty pandas
    group are). Each bin's members keep their original order; draws are ``random_state.randint(0, size, per_bin)``,
    which is what ``RandomState.choice(size, per_bin, replace=True)`` and hence pandas does.
    """
    if not isinstance(random_state, np.random.RandomState):
        raise TypeError("random_state must be a numpy.random.RandomState (the notebook's legacy stream)")
    if isinstance(per_bin, bool) or not isinstance(per_bin, int) or per_bin < 1:
        raise ValueError(f"per_bin must be an int >= 1, got {per_bin!r}")
    codes = equal_width_bins(x, n_bins)
    out = []
    for b in range(n_bins):
        members = np.flatnonzero(codes == b)
        if members.size == 0:
            raise ValueError(f"bin {b} of {n_bins} is empty ({len(codes)} values to spread over the bins)")
        out.append(members[random_state.randint(0, members.size, size=per_bin)])
    return np.concatenate(out)


def weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of x and y under the weights w (normalized here; w ≥ 0, not all 0)."""
    w = np.asarray(w, dtype=np.float64)
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be non-negative and not all zero")
    w = w / w.sum()
    mx, my = w @ x, w @ y
    return float((w @ ((x - mx) * (y - my))) / np.sqrt((w @ (x - mx) ** 2) * (w @ (y - my) ** 2)))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.pearsonr(x, y)[0])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y)[0])
