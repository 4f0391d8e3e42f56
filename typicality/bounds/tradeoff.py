"""Prop. 1, the probability–quality trade-off, as a computable bound (docs/theory.md#b3, Eq. 21–22).

With p₊(y) = p_prior(y) exp(r(y)/β) / Z (Eq. 1–2), every string satisfies exactly

    log p_prior(y) + r(y)/β = log p₊(y) + log Z,

so for a corpus of N i.i.d. draws from p₊ the event |avg log p_prior + avg r/β − c| < ε with c = log Z − H(p₊)
is the typical-set event of Eq. 10, and Eq. 11 bounds its complement by σ²/(Nε²), σ² the varentropy of p₊
(the Chernoff bound of Thm. 2 applies as well). That a corpus-level *correlation* follows is a different matter:
see docs/theory.md#c8 and the ledger entry ``c8``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality import measures as M
from typicality.bounds.aep import ChernoffBound, chebyshev_bound, check_n_eps, chernoff_bound
from typicality.models.finite_support import FiniteSupportLM


def _check_beta(beta: Any) -> float:
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta > 0 or not math.isfinite(beta):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    return float(beta)


def _support_rewards(prior: FiniteSupportLM, reward: Mapping[Any, float] | Callable[[tuple[str, ...]], float]
                     ) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The strings of positive prior probability and their rewards (finite, as footnote 2's |r| ≤ R requires)."""
    if not isinstance(prior, FiniteSupportLM):
        raise TypeError(f"prior must be a FiniteSupportLM, got {type(prior).__name__}")
    ys = [y for y in prior.strings if prior.table[y] > 0]
    if callable(reward):
        r = np.array([float(reward(y)) for y in ys])
    elif isinstance(reward, Mapping):
        lookup = {(tuple(k.split()) if isinstance(k, str) else tuple(k)): v for k, v in reward.items()}
        missing = [" ".join(y) for y in ys if y not in lookup]
        if missing:
            raise ValueError(f"reward has no value for the support strings {missing[:5]}")
        r = np.array([float(lookup[y]) for y in ys])
    else:
        raise TypeError(f"reward must be a mapping string -> float or a callable, got {type(reward).__name__}")
    if not np.all(np.isfinite(r)):
        raise ValueError("reward must be finite on the support of the prior (|r| ≤ R, footnote 2)")
    return ys, r


def tilt(prior: FiniteSupportLM, reward: Mapping[Any, float] | Callable[[tuple[str, ...]], float],
         beta: float = 1.0) -> tuple[FiniteSupportLM, float]:
    """p₊ ∝ p_prior · exp(r/β) on the support of the prior (Eq. 1), and log Z (Eq. 2), computed in log space."""
    beta = _check_beta(beta)
    ys, r = _support_rewards(prior, reward)
    logw = np.log(prior.probabilities[prior.probabilities > 0]) + r / beta
    log_z = float(np.logaddexp.reduce(logw))
    p = np.exp(logw - log_z)
    p /= math.fsum(p)  # removes only rounding (≤ 1e-15); the tilt itself is exact up to float error
    aligned = FiniteSupportLM(dict(zip(ys, p.tolist(), strict=True)), alphabet=prior.alphabet, eos=prior.eos)
    return aligned, log_z


@dataclass(frozen=True)
class TradeOff:
    """Prop. 1 for given N and ε: P(|avg log p_prior + avg r/β − c| ≥ ε) ≤ ``chebyshev`` (and ``chernoff.bound``)."""

    constant: float  # c = log Z − H(p₊) (= −H(Y, A=+) of Eq. 9)
    log_normalizer: float  # log Z
    entropy: float  # H(p₊)
    varentropy: float  # σ² of p₊
    reward_bound: float | None  # R = max |r| on the support (None when the reward is implicit)
    chebyshev: float  # σ²/(Nε²)
    chernoff: ChernoffBound

    @property
    def probability_lower_bound(self) -> float:
        """The probability of the trade-off event is at least this (Eq. 12)."""
        return max(0.0, 1.0 - min(self.chebyshev, self.chernoff.bound))


def tradeoff(prior: FiniteSupportLM, reward: Mapping[Any, float] | Callable[[tuple[str, ...]], float], beta: float,
             n: int, eps: float) -> TradeOff:
    """Prop. 1 for a finite-support prior and a reward: c, log Z, H(p₊), σ², and the probability bounds."""
    n, eps = check_n_eps(n, eps)
    aligned, log_z = tilt(prior, reward, beta)
    h = float(M.entropy(aligned))
    bound = float(np.max(np.abs(_support_rewards(prior, reward)[1])))
    return TradeOff(log_z - h, log_z, h, float(M.varentropy(aligned)), bound, chebyshev_bound(aligned, n, eps),
                    chernoff_bound(aligned, n, eps))


def tradeoff_from_aligned(aligned: Any, n: int, eps: float) -> TradeOff:
    """Prop. 1 via the secret reward of Eq. 4 with β = 1 and its constant dropped, r = log p_θ − log p_prior.

    Then Z = Σ p_prior e^r = 1 and c = −H(p_θ), whatever the prior: the bound depends only on the aligned model,
    which may be any model with exact measures (an n-gram model, say).
    """
    n, eps = check_n_eps(n, eps)
    h = float(M.entropy(aligned))
    return TradeOff(-h, 0.0, h, float(M.varentropy(aligned)), None, chebyshev_bound(aligned, n, eps),
                    chernoff_bound(aligned, n, eps))
