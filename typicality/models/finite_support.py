"""Language models with finite support: an explicit table string -> probability.

The toy experiment of §6.1 works with such objects. The next-symbol distribution is the conditional of the
table, p(a | x) = P(Y ⪰ x a) / P(Y ⪰ x) and p(eos | x) = p(x) / P(Y ⪰ x), where Y ⪰ x means "x is a prefix of Y".

>>> m = FiniteSupportLM({"a": 0.5, "a b": 0.25, "": 0.25})
>>> m.next_symbol_distribution("a")  # over (a, b, eos)
array([0.        , 0.33333333, 0.66666667])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from typicality.models.base import DEFAULT_MAX_LENGTH, String, SymbolTable, as_string, check_rng
from typicality.models.finite_state import ROW_SUM_TOLERANCE, check_row
from typicality.numerics import arithmetic, as_fraction


class FiniteSupportLM(SymbolTable):
    """A distribution over finitely many strings.

    Parameters
    ----------
    probs:
        ``{string: probability}``; a string is a tuple of symbols or a space-separated str. The probabilities
        must be non-negative and sum to 1 within ``tol`` (never renormalized).
    alphabet:
        Σ. Default: the symbols occurring in the strings, in order of first occurrence.
    eos:
        Name of the end-of-string symbol.
    """

    def __init__(
        self,
        probs: Mapping[Sequence[str] | str, Any],
        *,
        alphabet: Sequence[str] | None = None,
        eos: str = "</s>",
        tol: float = ROW_SUM_TOLERANCE,
    ) -> None:
        if not isinstance(probs, Mapping) or not probs:
            raise ValueError("probs must be a non-empty mapping string -> probability")
        table: dict[String, Fraction] = {}
        for key, value in probs.items():
            y = as_string(key, name="string")
            if y in table:
                raise ValueError(f"string {' '.join(y)!r} is given twice")
            table[y] = as_fraction(value, name=f"probability of {' '.join(y)!r}")
        if alphabet is None:
            seen: dict[str, None] = {}
            for y in table:
                for a in y:
                    seen.setdefault(a, None)
            alphabet = list(seen)
        self._init_symbols(alphabet, eos)
        for y in table:
            self._indices(y, name="string")
        check_row({" ".join(y): p for y, p in table.items()}, where="probs", tol=tol)
        self.table = table
        self.strings: tuple[String, ...] = tuple(table)
        self.probabilities = np.array([float(p) for p in table.values()], dtype=np.float64)
        self._prefix_mass: dict[String, Fraction] | None = None
        self._cumulative = np.cumsum(self.probabilities)

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        key = tuple(self.alphabet[i] for i in self._indices(y))
        with arithmetic(dps) as num:
            p = self.table.get(key, Fraction(0))
            return num.to_output(num.log(num.scalar(p)) if p > 0 else num.scalar(float("-inf")))

    def _prefixes(self) -> dict[String, Fraction]:
        if self._prefix_mass is None:
            mass: dict[String, Fraction] = {}
            for y, p in self.table.items():
                for t in range(len(y) + 1):
                    mass[y[:t]] = mass.get(y[:t], Fraction(0)) + p
            self._prefix_mass = mass
        return self._prefix_mass

    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        x = tuple(self.alphabet[i] for i in self._indices(prefix, name="prefix"))
        mass = self._prefixes()
        total = mass.get(x, Fraction(0))
        if total == 0:
            raise ValueError(f"prefix {' '.join(x)!r} has probability 0, so p(· | prefix) is undefined")
        values = [mass.get((*x, a), Fraction(0)) / total for a in self.alphabet]
        values.append(self.table.get(x, Fraction(0)) / total)
        with arithmetic(dps) as num:
            return num.array(values)

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        check_rng(rng)
        return self.strings[self._draw(rng, self.probabilities)]

    def sample_log_probs(self, rng: np.random.Generator, n: int, **_: Any) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities and lengths of ``n`` i.i.d. samples."""
        check_rng(rng)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        idx = np.searchsorted(self._cumulative, rng.random(int(n)) * self._cumulative[-1], side="right")
        idx = np.minimum(idx, len(self.strings) - 1)
        with np.errstate(divide="ignore"):
            logp = np.log(self.probabilities)
        lengths = np.array([len(y) for y in self.strings], dtype=np.int64)
        return logp[idx], lengths[idx]

    def __repr__(self) -> str:
        return f"FiniteSupportLM(|support|={len(self.strings)}, |Σ|={len(self.alphabet)})"
