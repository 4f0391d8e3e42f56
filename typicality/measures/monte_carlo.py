"""Monte Carlo estimates of the measures of any language model that can be sampled.

Plain sample means with their standard errors: H ≈ mean(−log p(Yᵢ)), σ² ≈ sample variance of −log p(Yᵢ),
E|Y| ≈ mean |Yᵢ|, and the plug-in H_α ≈ log mean(p(Yᵢ)^{α−1}) / (1 − α) (biased; its standard error is the
delta-method one). These are estimates, not bounds: for heavy tails (Baer's model) the sample mean of the
surprisal does not converge at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality.models.base import DEFAULT_MAX_LENGTH, check_rng


@dataclass(frozen=True)
class Estimate:
    value: float
    standard_error: float
    n: int


def sample_log_probs(model: Any, rng: np.random.Generator, n: int, *,
                     max_length: int | None = DEFAULT_MAX_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """log p(Yᵢ) and |Yᵢ| for n i.i.d. samples (vectorized when the model offers it)."""
    check_rng(rng)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    fast = getattr(model, "sample_log_probs", None)
    if fast is not None:
        return fast(rng, int(n), max_length=max_length)
    logp = np.empty(int(n))
    lengths = np.empty(int(n), dtype=np.int64)
    for i in range(int(n)):
        y = model.sample(rng, max_length=max_length)
        logp[i] = float(model.log_prob(y))
        lengths[i] = len(y)
    return logp, lengths


def _mean(x: np.ndarray) -> Estimate:
    return Estimate(float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.inf, len(x))


def monte_carlo_measures(model: Any, rng: np.random.Generator, n: int, alphas: Iterable[Any] = (), *,
                         max_length: int | None = DEFAULT_MAX_LENGTH) -> dict[str, Estimate]:
    """Estimates keyed ``entropy``, ``varentropy``, ``expected_length`` and ``renyi[α]``."""
    from typicality.measures import parse_alpha

    parsed = [(str(a), parse_alpha(a)) for a in alphas]
    logp, lengths = sample_log_probs(model, rng, n, max_length=max_length)
    surprisal = -logp
    out = {"entropy": _mean(surprisal), "expected_length": _mean(lengths.astype(np.float64))}
    centered = (surprisal - surprisal.mean()) ** 2
    out["varentropy"] = Estimate(float(np.var(surprisal, ddof=1)),
                                 float(np.std(centered, ddof=1) / np.sqrt(len(centered))), len(centered))
    for label, a in parsed:
        if a == 1:
            out[f"renyi[{label}]"] = out["entropy"]
            continue
        if a == float("inf"):
            continue
        af = float(a)
        # log-mean-exp of (α − 1) log p, for stability
        z = (af - 1.0) * logp
        zmax = z.max()
        w = np.exp(z - zmax)
        log_mean = zmax + np.log(w.mean())
        rel_se = float(np.std(w, ddof=1) / np.sqrt(len(w)) / w.mean())
        out[f"renyi[{label}]"] = Estimate(float(log_mean / (1.0 - af)), rel_se / abs(1.0 - af), len(w))
    return out
