"""AEP bounds on the mean surprisal of N i.i.d. strings: Chebyshev (Eq. 11) and Chernoff (Thm. 2, corrected).

The event bounded is the complement of the (N, ε)-typical set (Eq. 10):

    P( |−(1/N) Σₙ log p(yₙ) − H(p)| ≥ ε ),   y₁, …, y_N i.i.d. ~ p.

* Chebyshev (Eq. 11, proof Eq. 20): ≤ σ² / (N ε²), with σ² the varentropy.
* Chernoff (Thm. 2, Eq. 32–38), in the corrected two-sided form of docs/theory.md#c3. Upper tail (λ = 1 − α ∈ (0, 1)):
  P(mean ≥ H + ε) ≤ exp(−N (1−α)(ε − Δ_α)), Δ_α = H_α − H the Rényi gap (Def. 4), for every α ∈ (α₀, 1).
  Lower tail (λ = α′ − 1 > 0): P(mean ≤ H − ε) ≤ exp(−N (α′−1)(ε − (H − H_α′))) for every α′ > 1 — the paper's
  "similarly" is not a symmetry argument (C3). Each exponent is maximized over its order (both are concave in the
  order, since log Σ p^α is convex), and the bound is the sum of the two tails.

Any order gives a valid bound, so the numerical optimization affects only how tight it is, never its validity.

>>> from typicality.models import examples
>>> m = examples.c1_counterexample()
>>> round(chebyshev_bound(m, 1000, 0.5), 6)          # σ² = 8 ln² 2
0.015374
>>> b = chernoff_bound(m, 1000, 0.5)
>>> b.bound < 1e-11 and 0.5 < b.upper_order < 1 < b.lower_order
True
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from typicality import measures as M
from typicality.enumeration import surprisal_law
from typicality.models.finite_support import FiniteSupportLM

GOLDEN = (math.sqrt(5) - 1) / 2


class BoundUnavailableError(ValueError):
    """The bound does not exist for this model (e.g. infinite entropy or varentropy, or a non-tight model)."""


def check_n_eps(n: Any, eps: Any) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n (the corpus size N) must be an int >= 1, got {n!r}")
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.floating | np.integer) or not eps > 0 \
            or not math.isfinite(eps):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    log_n_eps2 = math.log(n) + 2 * math.log(float(eps))  # log(N·ε²), computed without overflow or underflow
    if log_n_eps2 < math.log(sys.float_info.min):
        raise ValueError(f"eps = {eps!r} is too small: N·ε² underflows in float64 (use eps ≥ 1e-150)")
    if float(eps) > 1e150 or log_n_eps2 > math.log(sys.float_info.max):
        raise ValueError(f"eps = {eps!r} is too large: ε² or N·ε² overflows float64 (use eps ≤ 1e150; every "
                         "bound is 0 long before that)")
    return int(n), float(eps)


def _finite_measure(measure: Any, model: Any, name: str, example: str = "") -> float:
    """A measure that a bound needs, or BoundUnavailableError saying why it is unavailable."""
    try:
        value = float(measure(model))
    except M.UndefinedMeasureError as e:
        raise BoundUnavailableError(f"bound not available: {e}") from None
    if not math.isfinite(value):
        raise BoundUnavailableError(f"bound not available: the {name} is infinite{example}")
    return value


def _entropy_or_fail(model: Any) -> float:
    return _finite_measure(M.entropy, model, "entropy", " (e.g. Baer's model, Prop. 2)")


def _varentropy_or_fail(model: Any) -> float:
    return _finite_measure(M.varentropy, model, "varentropy")


def chebyshev_bound_from(varentropy: float, n: int, eps: float) -> float:
    """σ² / (N ε²) (Eq. 11); values ≥ 1 are vacuous but are returned as computed."""
    n, eps = check_n_eps(n, eps)
    if not varentropy >= 0 or not math.isfinite(varentropy):
        raise ValueError(f"varentropy must be finite and >= 0, got {varentropy!r}")
    return varentropy / (n * eps * eps)


def chebyshev_bound(model: Any, n: int, eps: float) -> float:
    """The Chebyshev AEP bound σ²/(Nε²) of Eq. 11 for ``model`` (exact σ²); BoundUnavailableError if undefined."""
    n, eps = check_n_eps(n, eps)
    _entropy_or_fail(model)
    return chebyshev_bound_from(_varentropy_or_fail(model), n, eps)


@dataclass(frozen=True)
class ChernoffBound:
    """Two-sided Chernoff bound; each tail with its optimizing order and exponent (per string)."""

    bound: float  # min(1, upper_tail + lower_tail)
    upper_tail: float  # bounds P(mean ≥ H + ε)
    lower_tail: float  # bounds P(mean ≤ H − ε); 0 when that event is impossible
    upper_order: float | None  # α ∈ (α₀, 1); None when no admissible order exists
    lower_order: float | None  # α′ > 1; None when the lower event is impossible
    upper_exponent: float  # sup_α (1−α)(ε − Δ_α)
    lower_exponent: float  # sup_α′ (α′−1)(ε − (H − H_α′)); inf when the event is impossible
    exponent: float  # c(ε) = min of the two: bound ≤ 2 exp(−c N) (the paper's form)
    note: str = ""


def _golden_max(f: Any, lo: float, hi: float, iters: int = 80) -> tuple[float, float]:
    """Maximize a concave f on [lo, hi] (f may be -inf near an end)."""
    a, b = lo, hi
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = f(d)
    return (c, fc) if fc >= fd else (d, fd)


def _log_renyi_sum(model: Any, alpha: float) -> float:
    s = float(M.renyi_sum(model, alpha))
    return math.inf if not math.isfinite(s) else math.log(s)


def chernoff_exponents(model: Any, eps: float) -> tuple[tuple[float | None, float], tuple[float | None, float], str]:
    """((upper order, upper exponent), (lower order, lower exponent), note) for the two tails at ``eps``."""
    h = _entropy_or_fail(model)
    alpha0 = float(M.renyi_threshold(model))
    note = []
    # upper tail: maximize φ(α) = (1−α)(ε + H) − log Σ p^α over α ∈ (α₀, 1)
    if alpha0 >= 1:
        upper = (None, 0.0)
        note.append(f"no admissible order α < 1 for the upper tail: H_α = ∞ for every α < 1 (α₀ = {alpha0:g})")
    else:
        def phi(a: float) -> float:
            return (1 - a) * (eps + h) - _log_renyi_sum(model, a)

        lo = alpha0 + 1e-12 * max(1.0, alpha0)
        a_star, value = _golden_max(phi, lo, 1.0)
        upper = (a_star, max(value, 0.0))
    # lower tail: the event mean ≤ H − ε is impossible when H − ε < min surprisal H_∞
    h_inf = float(M.renyi_entropy(model, "inf"))
    if h - eps < h_inf:
        lower = (None, math.inf)
        note.append(f"the lower tail is empty: H − ε = {h - eps:.6g} < min surprisal H_∞ = {h_inf:.6g}")
    else:
        def psi(a: float) -> float:
            return -(a - 1) * (h - eps) - _log_renyi_sum(model, a)

        top = 2.0
        while top < 1e6 and psi(top) > psi(top / 2 + 0.5):
            top *= 2
        a_star, value = _golden_max(psi, 1.0, top)
        lower = (a_star, max(value, 0.0))
    return upper, lower, "; ".join(note)


def chernoff_bound(model: Any, n: int, eps: float) -> ChernoffBound:
    """The corrected two-sided Chernoff AEP bound (Thm. 2, C3) for ``model``, with its optimizing orders."""
    n, eps = check_n_eps(n, eps)
    (a_up, c_up), (a_lo, c_lo), note = chernoff_exponents(model, eps)
    upper = math.exp(-n * c_up)
    lower = 0.0 if math.isinf(c_lo) else math.exp(-n * c_lo)
    return ChernoffBound(min(1.0, upper + lower), upper, lower, a_up, a_lo, c_up, c_lo, min(c_up, c_lo), note)


# ----- the exact probability, for checking the bounds ------------------------------------------------------------
@dataclass(frozen=True)
class TailProbability:
    """Enclosures from enumeration: lower ≤ P(|mean surprisal − H| ≥ ε) ≤ upper, and likewise for each side
    (``above``: mean ≥ H + ε; ``below``: mean ≤ H − ε). Upper ends add the unlisted mass."""

    lower: float
    upper: float
    above: tuple[float, float]
    below: tuple[float, float]
    n_atoms: int


def tail_probability(model: Any, n: int, eps: float, *, max_length: int = 30, min_prob: float = 0.0,
                     max_multisets: int = 2_000_000) -> TailProbability:
    """Enclose the probability that N i.i.d. strings are *not* (N, ε)-typical, by enumeration.

    The listed strings (all of a finite-support model, else those of length ≤ ``max_length`` with
    p ≥ ``min_prob``), grouped by probability value (:func:`typicality.enumeration.surprisal_law`), are the
    atoms; the mean surprisal depends only on how many times each atom is drawn, so the probability of the event
    is a sum of multinomial probabilities over count vectors. A draw outside the atoms
    (probability 1 − (1 − r)^N for unlisted mass r) is counted in ``upper`` only. Comparisons within 1e-12 of the
    boundary also go to ``upper`` only, so ``lower`` is a true lower bound despite rounding.
    """
    n, eps = check_n_eps(n, eps)
    h = _entropy_or_fail(model)
    if isinstance(model, FiniteSupportLM):
        law = surprisal_law(model, max(len(y) for y in model.strings))
    else:
        law = surprisal_law(model, max_length)
    keep = [i for i, v in enumerate(law.values) if v >= min_prob]
    values = [law.values[i] for i in keep]
    masses = [law.masses[i] for i in keep]
    rest = max(0.0, 1.0 - math.fsum(masses))
    k = len(values)
    count = math.comb(n + k - 1, n)
    if count > max_multisets:
        raise ValueError(f"{count} count vectors (N = {n}, {k} strings) exceed max_multisets={max_multisets}; "
                         "lower N or max_length, or raise min_prob")
    surprisal = [-math.log(v) for v in values]
    logp = [math.log(w) for w in masses]
    log_fact = [math.lgamma(i + 1) for i in range(n + 1)]
    above = [0.0, 0.0]  # [surely in the event, within rounding of its boundary]
    below = [0.0, 0.0]
    for counts in _compositions(n, k):
        mean = math.fsum(c * s for c, s in zip(counts, surprisal, strict=True)) / n
        prob = math.exp(log_fact[n] + sum(c * lp_ - log_fact[c] for c, lp_ in zip(counts, logp, strict=True) if c))
        d = mean - h
        for side, gap in ((above, d), (below, -d)):
            if gap >= eps + 1e-12:
                side[0] += prob
            elif gap >= eps - 1e-12:
                side[1] += prob
    unlisted = 1.0 - (1.0 - rest) ** n
    hi_above = min(1.0, sum(above) + unlisted)
    hi_below = min(1.0, sum(below) + unlisted)
    return TailProbability(above[0] + below[0], min(1.0, sum(above) + sum(below) + unlisted),
                           (above[0], hi_above), (below[0], hi_below), k)


def _compositions(n: int, k: int):
    """All count vectors of k non-negative ints summing to n."""
    for bars in itertools.combinations(range(n + k - 1), k - 1):
        prev = -1
        counts = []
        for b in bars:
            counts.append(b - prev - 1)
            prev = b
        counts.append(n + k - 2 - prev)
        yield counts


#: strings longer than this on average make sampling infeasible (each symbol is one vectorized draw per string)
MAX_MEAN_SAMPLED_LENGTH = 100_000


class MonteCarloTooLargeError(ValueError):
    """The Monte Carlo estimate would draw more symbols than allowed (``max_symbols``)."""


def monte_carlo_symbols(model: Any, n: int, corpora: int) -> float | None:
    """Expected number of symbol draws (eos included) of :func:`empirical_tail`: corpora × N × (E|Y| + 1); None
    when the model has no exact expected length."""
    try:
        length = float(M.expected_length(model))
    except (TypeError, M.UndefinedMeasureError, NotImplementedError):
        return None
    return float(corpora) * float(n) * (length + 1.0)


def empirical_tail(model: Any, n: int, eps: float, rng: np.random.Generator, corpora: int, *,
                   max_symbols: float | None = None, progress: Any = None, symbols: float | None = None) -> float:
    """Fraction of ``corpora`` simulated corpora of N strings whose mean surprisal is ≥ ε away from H.

    Before drawing anything, the expected work (:func:`monte_carlo_symbols`) is checked: strings longer than
    ``MAX_MEAN_SAMPLED_LENGTH`` symbols on average are refused (ValueError), and so is more work than
    ``max_symbols`` (MonteCarloTooLargeError). ``progress(done, total)`` is called after each batch of corpora.
    ``symbols``: that estimate when the caller has it already (it costs a linear solve on a large model).
    """
    n, eps = check_n_eps(n, eps)
    if isinstance(corpora, bool) or not isinstance(corpora, int | np.integer) or corpora < 1:
        raise ValueError(f"corpora must be an int >= 1, got {corpora!r}")
    h = _entropy_or_fail(model)
    if symbols is None:
        symbols = monte_carlo_symbols(model, n, int(corpora))
    if symbols is not None:
        mean_length = symbols / (float(corpora) * n) - 1
        if mean_length > MAX_MEAN_SAMPLED_LENGTH:
            raise ValueError(f"the model's strings have {mean_length:.3g} symbols on average (E|Y|), so sampling "
                             f"them is infeasible (at most {MAX_MEAN_SAMPLED_LENGTH:,} on average); the exact "
                             "bounds need no sampling (skip the Monte Carlo estimate: corpora = 0)")
        if max_symbols is not None and symbols > max_symbols:
            raise MonteCarloTooLargeError(
                f"the Monte Carlo estimate would draw about {symbols:.3g} symbols ({int(corpora)} corpora × N = {n} "
                f"strings × {mean_length + 1:.3g} symbols per string, eos included), more than the limit "
                f"{max_symbols:.3g}; use fewer corpora or a smaller N, or skip the estimate")
    from typicality.measures.monte_carlo import sample_log_probs

    batch = 2_000_000  # strings held in memory at once
    hits = 0
    chunk = max(1, batch // n)
    for lo in range(0, int(corpora), chunk):
        m = min(chunk, int(corpora) - lo)
        if m * n <= batch:
            logp, _ = sample_log_probs(model, rng, m * n)
            means = -logp.reshape(m, n).mean(axis=1)
        else:  # one corpus larger than a batch: its surprisal summed batch by batch
            total = 0.0
            for start in range(0, n, batch):
                logp, _ = sample_log_probs(model, rng, min(batch, n - start))
                total -= float(logp.sum())
            means = np.array([total / n])
        hits += int(np.count_nonzero(np.abs(means - h) >= eps))
        if progress is not None:
            progress(lo + m, int(corpora))
    return hits / int(corpora)
