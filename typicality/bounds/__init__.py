"""Bounds of the paper as functions: the AEP (Eq. 11, Thm. 2), the trade-off (Prop. 1), Lemma 1, Prop. 3.

=============================  ===========================================================  ==================
function                       statement                                                    docs/theory.md
=============================  ===========================================================  ==================
``chebyshev_bound``            P(not (N, ε)-typical) ≤ σ²/(Nε²)                             #eq-11, #eq-20
``chernoff_bound``             two-sided, exponent optimized over the Rényi orders          #thm2, #c3
``tail_probability``           the exact probability, enclosed by enumeration              (reference)
``empirical_tail``             the probability, by simulating corpora                       (reference)
``tradeoff``                   Prop. 1: c = log Z − H(p₊) and the probability bound         #prop1, #eq-21
``lemma1_order``               the order α with Rényi gap Δ_α = ε                           #lemma1, #def4
``eos_bounded_threshold``      α₀ ≤ log|Σ| / (log|Σ| + log 1/(1−ξ)) (corrected Prop. 3)     #c1
``tail_rate_threshold``        α₀ ≤ log|Σ| / (log|Σ| + log 1/ρ) (its n-gram analogue)        #c2
=============================  ===========================================================  ==================
"""

from typicality.bounds.aep import (
    BoundUnavailableError,
    ChernoffBound,
    MonteCarloTooLargeError,
    TailProbability,
    chebyshev_bound,
    chebyshev_bound_from,
    chernoff_bound,
    chernoff_exponents,
    empirical_tail,
    monte_carlo_symbols,
    tail_probability,
)
from typicality.bounds.renyi import Lemma1Order, eos_bounded_threshold, lemma1_order, tail_rate_threshold
from typicality.bounds.tradeoff import TradeOff, tilt, tradeoff, tradeoff_from_aligned

__all__ = [
    "BoundUnavailableError",
    "ChernoffBound",
    "Lemma1Order",
    "MonteCarloTooLargeError",
    "TailProbability",
    "TradeOff",
    "chebyshev_bound",
    "chebyshev_bound_from",
    "chernoff_bound",
    "chernoff_exponents",
    "empirical_tail",
    "eos_bounded_threshold",
    "lemma1_order",
    "monte_carlo_symbols",
    "tail_probability",
    "tail_rate_threshold",
    "tilt",
    "tradeoff",
    "tradeoff_from_aligned",
]
