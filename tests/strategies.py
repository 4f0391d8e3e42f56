"""Named Hypothesis strategies: exact probability rows and small n-gram models of every kind.

An n-gram model is drawn as a *spec* (order, alphabet, contexts with exact Fraction rows) so that the test
references in ``tests/reference.py`` can work from the spec alone, without the library's model code.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import strategies as st

from tests.reference import is_tight_spec

EOS = "</s>"
SYMBOLS = ("a", "b", "c")


@dataclass(frozen=True)
class Spec:
    order: int
    alphabet: tuple[str, ...]
    contexts: dict[str, dict[str, Fraction]]

    def build(self):
        from typicality.models import NGramLM

        return NGramLM(self.order, EOS, self.contexts, alphabet=list(self.alphabet))

    @property
    def eos_bound(self) -> Fraction:
        return min(row.get(EOS, Fraction(0)) for row in self.contexts.values())


@st.composite
def exact_rows(draw, symbols: tuple[str, ...], *, min_eos: int = 0, max_weight: int = 8,
               eos_zero: bool | None = None) -> dict[str, Fraction]:
    """A row over ``symbols`` + eos with small-integer weights, normalized exactly (sums to exactly 1).

    ``min_eos`` is a lower bound on the eos weight; ``eos_zero`` forces (True) or forbids (False) p(eos) = 0.
    """
    weights = [draw(st.integers(0, max_weight)) for _ in symbols]
    if eos_zero is True:
        eos = 0
    else:
        eos = draw(st.integers(max(min_eos, 1 if eos_zero is False else 0), max_weight + min_eos))
    total = sum(weights) + eos
    if total == 0:
        eos, total = 1, 1
    row = {a: Fraction(w, total) for a, w in zip(symbols, weights, strict=True) if w > 0}
    if eos:
        row[EOS] = Fraction(eos, total)
    return row


def all_contexts(order: int, alphabet: tuple[str, ...]) -> list[str]:
    out = []
    for k in range(order):
        out += [" ".join(c) for c in itertools.product(alphabet, repeat=k)]
    return out


@st.composite
def ngram_specs(draw, *, kind: str = "any", max_symbols: int = 3, max_order: int = 3,
                min_eos_weight: int = 1) -> Spec:
    """Small n-gram specs. ``kind``:

    * ``eos_bounded``: every context gives eos probability ≥ its weight ``min_eos_weight`` (≥ 1) out of the row;
    * ``tight``: tight (checked by graph search); eos may be 0 in some contexts;
    * ``tight_not_eos_bounded``: tight, with p(eos) = 0 in some reachable context (math.md C2);
    * ``not_tight``: some reachable context cannot reach eos (a symbol repeated forever);
    * ``any``: no condition.
    """
    from hypothesis import assume

    k = draw(st.integers(1, max_symbols))
    order = draw(st.integers(1, max_order))
    alphabet = SYMBOLS[:k]
    contexts = {}
    for ctx in all_contexts(order, alphabet):
        if kind == "eos_bounded":
            contexts[ctx] = draw(exact_rows(alphabet, min_eos=min_eos_weight, eos_zero=False))
        else:
            contexts[ctx] = draw(exact_rows(alphabet))
    names = sorted(contexts)
    if kind == "tight_not_eos_bounded":
        ctx = draw(st.sampled_from(names))
        row = {a: p for a, p in contexts[ctx].items() if a != EOS}
        if not row:
            row = {draw(st.sampled_from(alphabet)): Fraction(1)}
        total = sum(row.values())
        contexts[ctx] = {a: p / total for a, p in row.items()}
    elif kind == "not_tight":
        a = draw(st.sampled_from(alphabet))
        loop = " ".join([a] * (order - 1))
        contexts[loop] = {a: Fraction(1)}
        # make the loop reachable: every shorter all-a context continues with a
        for m in range(order - 1):
            contexts[" ".join([a] * m)] = {a: Fraction(1)}
    spec = Spec(order, alphabet, contexts)
    tight, eos_bounded = is_tight_spec(spec.order, spec.contexts)
    if kind in ("tight", "eos_bounded"):
        assume(tight)
    elif kind == "tight_not_eos_bounded":
        assume(tight and not eos_bounded)
    elif kind == "not_tight":
        assume(not tight)
    return spec


@st.composite
def unigram_rows(draw, max_symbols: int = 4) -> tuple[list[Fraction], Fraction]:
    """(symbol probabilities, eos probability) of a one-state model, eos > 0, exact."""
    k = draw(st.integers(1, max_symbols))
    weights = [draw(st.integers(0, 12)) for _ in range(k)]
    eos = draw(st.integers(1, 12))
    total = sum(weights) + eos
    return [Fraction(w, total) for w in weights], Fraction(eos, total)
