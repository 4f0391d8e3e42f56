"""The paper's example models, built in (docs/theory.md#b5, #b7, #c1, #c2).

Each constructor's docstring gives the closed forms that :mod:`tests` and ``typicality verify`` check the exact
measures against; ``EXAMPLES`` maps the names that the command line accepts (``builtin:NAME``) to them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from typicality.models.baer import BaerLM
from typicality.models.finite_state import FiniteStateLM
from typicality.models.ngram import NGramLM

LN2 = math.log(2)


def c1_counterexample() -> NGramLM:
    """Counterexample to Prop. 3 as stated (docs/theory.md#c1): |Σ| = 2, p(eos | ·) = 1/2, next symbols uniform.

    p(y) = ½·4^{−|y|}, |Y| ~ Geometric(½) on {0, 1, ...}. Closed forms: H = 3 ln 2, σ² = 8 ln² 2, E|Y| = 1,
    ξ = 1/2, length-tail rate 1/2, Σ_y p(y)^α = 2^{−α} / (1 − 2^{1−2α}) for α > 1/2 and ∞ for α ≤ 1/2
    (so α₀ = 1/2 although the model is eos-bounded: the paper's Prop. 3 fails for α ≤ 1/2).
    """
    return NGramLM(1, "</s>", {"": {"a": "0.25", "b": "0.25", "</s>": "0.5"}})


def c2_bigram() -> NGramLM:
    """Tight bigram that is not eos-bounded (docs/theory.md#c2): p(b | a) = 1, p(eos | b) = p(a | b) = 1/2.

    The start context emits a with probability 1, so the strings are (ab)^k, k ≥ 1, with p = 2^{−k}.
    Closed forms: H = 2 ln 2, σ² = 2 ln² 2, E|Y| = 4, ξ = 0, length-tail rate 1/√2,
    Σ_y p(y)^α = 1/(2^α − 1) for every α > 0 (α₀ = 0).
    """
    return NGramLM(2, "</s>", {"": {"a": "1"}, "a": {"b": "1"}, "b": {"a": "0.5", "</s>": "0.5"}})


def example1_bigram() -> NGramLM:
    """Example 1 (App. A; docs/theory.md#b5) completed as a bigram LM over Σ = {a, b}.

    p(·|ε) = (0.5, 0.45, 0.05), p(·|a) = (0.5, 0.05, 0.45), p(·|b) = (0.3, 0.32, 0.38) over (a, b, eos).
    p(a) = 0.225 > p(b) = 0.171, yet top-2 local normalization reverses the order (0.2493 < 0.2571).
    """
    return NGramLM(2, "</s>", {
        "": {"a": "0.5", "b": "0.45", "</s>": "0.05"},
        "a": {"a": "0.5", "b": "0.05", "</s>": "0.45"},
        "b": {"a": "0.3", "b": "0.32", "</s>": "0.38"},
    })


def baer() -> BaerLM:
    """Baer's tight LM with infinite entropy (App. C, Prop. 2; docs/theory.md#b7)."""
    return BaerLM()




def c3_left_skewed(symbols: int = 100) -> FiniteStateLM:
    """An eos-bounded, non-trivial LM whose lower surprisal tail is the heavy one (docs/theory.md#c3).

    From the start, eos with probability 1/5, else one of ``symbols`` symbols uniformly; after that, eos with
    probability 1 − 10⁻⁶, else a uniform symbol again. The empty string has surprisal ln 5 ≈ 1.6, almost every
    other string ≈ ln 125 ≈ 4.8: the surprisal is left-skewed, so P(mean ≤ H − ε) decays more slowly than
    P(mean ≥ H + ε), and Thm. 2's two-sided bound 2·exp(−N(1−α)(ε − Δ_α)) — the upper-tail exponent used "by
    symmetry" — is exceeded by the exact probability (e.g. N = 40, ε = 1).
    """
    names = [f"w{i}" for i in range(symbols)]
    first = {a: (Fraction(4, 5) / symbols, "rest") for a in names}
    first["</s>"] = Fraction(1, 5)
    rest = {a: (Fraction(1, 10**6) / symbols, "rest") for a in names}
    rest["</s>"] = 1 - Fraction(1, 10**6)
    return FiniteStateLM(names, "</s>", "start", {"start": first, "rest": rest})


EXAMPLES: dict[str, Callable[[], Any]] = {
    "c1": c1_counterexample,
    "c2": c2_bigram,
    "c3": c3_left_skewed,
    "example1": example1_bigram,
    "baer": baer,
}
