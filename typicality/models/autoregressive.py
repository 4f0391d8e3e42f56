"""Any autoregressive language model given by its next-symbol function.

This is the general case of docs/theory.md#a: p(y) = Π_{t=1}^{|y|+1} p(y_t | y_<t). Nothing beyond the next-symbol
function is known, so exact measures are out of reach; :mod:`typicality.enumeration` enumerates strings to a
depth with the remaining mass accounted for, and :mod:`typicality.measures.monte_carlo` estimates by sampling.

>>> def uniform_then_stop(prefix):
...     return [0.25, 0.25, 0.5]          # over (a, b, eos)
>>> m = AutoregressiveLM(["a", "b"], "</s>", uniform_then_stop)
>>> m.prob(["a", "b"])
0.03125
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import numpy as np

from typicality.models.base import SymbolTable
from typicality.models.finite_state import ROW_SUM_TOLERANCE
from typicality.numerics import arithmetic, as_fraction

NextSymbolFunction = Callable[[tuple[str, ...]], Sequence[Any] | Mapping[str, Any] | np.ndarray]


class AutoregressiveLM(SymbolTable):
    """A language model defined by ``next_symbol(prefix) -> p(· | prefix)``.

    Parameters
    ----------
    alphabet, eos:
        Σ and the end-of-string symbol.
    next_symbol:
        Called with the prefix as a tuple of symbols; returns the next-symbol distribution, either as a sequence
        over ``symbols`` (Σ in order, eos last) or as a mapping symbol -> probability (missing symbols: 0).
        Entries may be floats or mpmath numbers (kept at their precision when ``dps`` is given). Every returned
        distribution is checked: finite, non-negative, summing to 1 within ``tol``.
    """

    def __init__(self, alphabet: Sequence[str], eos: str, next_symbol: NextSymbolFunction, *,
                 tol: float = ROW_SUM_TOLERANCE) -> None:
        self._init_symbols(alphabet, eos)
        if not callable(next_symbol):
            raise TypeError(f"next_symbol must be callable, got {next_symbol!r}")
        self._next_symbol = next_symbol
        self._tol = tol

    def _raw(self, x: tuple[str, ...]) -> list[Any]:
        out = self._next_symbol(x)
        V = len(self.symbols)
        if isinstance(out, Mapping):
            values = [0] * V
            for sym, p in out.items():
                if sym not in self._index:
                    raise ValueError(f"next_symbol({x!r}) returned the unknown symbol {sym!r}")
                values[self._index[sym]] = p
        else:
            values = list(np.asarray(out, dtype=object).ravel()) if not isinstance(out, list) else list(out)
            if len(values) != V:
                raise ValueError(f"next_symbol({x!r}) returned {len(values)} probabilities; expected {V} "
                                 f"(one per symbol of {list(self.symbols)})")
        total = 0.0
        for sym, p in zip(self.symbols, values, strict=True):
            if isinstance(p, mpmath.mpf):
                pf = float(p)
            else:
                pf = float(as_fraction(p, name=f"next_symbol({x!r}) probability of {sym!r}"))
            if not np.isfinite(pf) or pf < 0:
                raise ValueError(f"next_symbol({x!r}) gave probability {p!r} for {sym!r}")
            total += pf
        if abs(total - 1.0) > self._tol:
            raise ValueError(f"next_symbol({x!r}) probabilities sum to {total!r}, not 1 (tolerance {self._tol:g})")
        return values

    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        x = tuple(self.alphabet[i] for i in self._indices(prefix, name="prefix"))
        values = self._raw(x)
        with arithmetic(dps) as num:
            return num.array([v if isinstance(v, mpmath.mpf) else as_fraction(v, name="probability")
                              for v in values])

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> Any:
        idx = self._indices(y)
        with arithmetic(dps) as num:
            total = num.scalar(0)
            for t, j in enumerate([*idx, self.eos_index]):
                x = tuple(self.alphabet[i] for i in idx[:t])
                p = self.next_symbol_distribution(x, dps=dps)[j]
                if p == 0:
                    return num.to_output(num.scalar(float("-inf")))
                total = total + num.log(p)
            return num.to_output(total)

    def __repr__(self) -> str:
        return f"AutoregressiveLM(|Σ|={len(self.alphabet)}, next_symbol={getattr(self._next_symbol, '__name__', '?')})"
