"""The language-model protocol: a distribution over finite strings Σ*, with an end-of-string symbol.

A language model p (docs/theory.md#a) is a probability distribution over Σ*. Autoregressively,
p(y) = Π_{t=1}^{|y|+1} p(y_t | y_<t) with y_{|y|+1} = eos. Every model in :mod:`typicality.models` implements
:class:`LanguageModel`:

* ``alphabet``: Σ (a tuple of symbol names, eos excluded), ``eos``: the end-of-string symbol, and
  ``symbols`` = Σ ∪ {eos} in that order (eos last); next-symbol distributions are indexed by ``symbols``;
* ``log_prob(y)``: log p(y) in nats (-inf off the support);
* ``next_symbol_distribution(prefix)``: the vector p(· | prefix) over ``symbols``;
* ``sample(rng)``: one string drawn with a caller-owned :class:`numpy.random.Generator`.

Strings are tuples of symbols. Wherever a string is accepted, a Python ``str`` is read as space-separated
symbols (``"a b"`` is the string (a, b); ``""`` is the empty string), the same convention as n-gram contexts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from typicality.numerics import check_dps

String = tuple[str, ...]

#: default cap on the length of a sampled string; a model that reaches it is probably not tight
DEFAULT_MAX_LENGTH = 1_000_000


class StringTooLongError(RuntimeError):
    """Sampling reached ``max_length`` symbols without drawing eos."""


@runtime_checkable
class LanguageModel(Protocol):
    """What every language model in typicality provides (see module docstring)."""

    alphabet: tuple[str, ...]
    eos: str

    @property
    def symbols(self) -> tuple[str, ...]: ...

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any: ...

    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray: ...

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String: ...


def check_symbol_names(alphabet: Sequence[str], eos: str) -> tuple[str, ...]:
    """Validate Σ and eos: non-empty names without whitespace, no duplicates, eos not in Σ."""
    if not isinstance(eos, str) or not eos or any(c.isspace() for c in eos):
        raise ValueError(f"eos must be a non-empty symbol name without whitespace, got {eos!r}")
    if isinstance(alphabet, str):
        raise TypeError(f"alphabet must be a sequence of symbol names, got the str {alphabet!r}")
    out = tuple(alphabet)
    for a in out:
        if not isinstance(a, str) or not a or any(c.isspace() for c in a):
            raise ValueError(f"alphabet symbols must be non-empty names without whitespace, got {a!r}")
    if len(set(out)) != len(out):
        dup = sorted({a for a in out if out.count(a) > 1})
        raise ValueError(f"alphabet has duplicate symbols: {dup}")
    if eos in out:
        raise ValueError(f"eos symbol {eos!r} also appears as an ordinary symbol of the alphabet")
    return out


def as_string(y: Sequence[str] | str, *, name: str = "y") -> String:
    """A string as a tuple of symbols; a Python str is split on whitespace."""
    if isinstance(y, str):
        return tuple(y.split())
    if isinstance(y, Sequence | np.ndarray):
        out = tuple(y)
        for a in out:
            if not isinstance(a, str):
                raise TypeError(f"{name} must be a sequence of symbol names (str), got element {a!r}")
        return out
    raise TypeError(f"{name} must be a sequence of symbols or a space-separated str, got {type(y).__name__}")


def check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {rng!r}")
    return rng


def check_max_length(max_length: int | None) -> int | None:
    if max_length is None:
        return None
    if isinstance(max_length, bool) or not isinstance(max_length, int | np.integer) or max_length < 0:
        raise ValueError(f"max_length must be a non-negative int or None, got {max_length!r}")
    return int(max_length)


class SymbolTable:
    """Shared bookkeeping: Σ, eos, the index of each symbol and validation of strings."""

    alphabet: tuple[str, ...]
    eos: str

    def _init_symbols(self, alphabet: Sequence[str], eos: str) -> None:
        self.alphabet = check_symbol_names(alphabet, eos)
        self.eos = eos
        self._index = {a: i for i, a in enumerate(self.symbols)}

    @property
    def symbols(self) -> tuple[str, ...]:
        """Σ ∪ {eos}, eos last: the index set of next-symbol distributions."""
        return (*self.alphabet, self.eos)

    @property
    def eos_index(self) -> int:
        return len(self.alphabet)

    def _indices(self, y: Sequence[str] | str, *, name: str = "y") -> list[int]:
        """Symbol indices of a string; unknown symbols and eos inside a string are errors."""
        out = []
        for a in as_string(y, name=name):
            i = self._index.get(a)
            if i is None:
                raise ValueError(f"{name} contains the unknown symbol {a!r}; the alphabet is {list(self.alphabet)}")
            if i == self.eos_index:
                raise ValueError(f"{name} contains eos {a!r}; eos ends a string and is not part of it")
            out.append(i)
        return out

    def _draw(self, rng: np.random.Generator, probs: np.ndarray) -> int:
        """Index drawn from a probability vector by inversion (zero entries are never drawn)."""
        c = np.cumsum(probs)
        i = int(np.searchsorted(c, rng.random() * c[-1], side="right"))
        nz = np.flatnonzero(probs)
        return min(max(i, int(nz[0])), int(nz[-1]))

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        """Ancestral sampling through ``next_symbol_distribution`` (float64)."""
        check_rng(rng)
        max_length = check_max_length(max_length)
        out: list[str] = []
        while True:
            probs = np.asarray(self.next_symbol_distribution(out), dtype=np.float64)  # type: ignore[attr-defined]
            i = self._draw(rng, probs)
            if i == self.eos_index:
                return tuple(out)
            out.append(self.alphabet[i])
            if max_length is not None and len(out) > max_length:
                raise StringTooLongError(
                    f"no eos within max_length={max_length} symbols; the model may not be tight")

    def prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        """p(y) = exp(log_prob(y))."""
        check_dps(dps)
        lp = self.log_prob(y, dps=dps)  # type: ignore[attr-defined]
        if dps is None:
            return float(np.exp(lp))
        import mpmath

        with mpmath.workdps(dps):
            return mpmath.exp(lp)
