"""Adaptors of your own, from a function: a truncation from its kept set, a scaling from its log-space map.

Two ways to define a new adaptor that the rest of the library accepts (:func:`typicality.induced.local_model`,
:func:`~typicality.induced.global_model`, :func:`~typicality.imha.imha`, the transformers ``LogitsProcessor`` of
:mod:`typicality.adaptors.hf`, :class:`~typicality.adaptors.Compose`):

* subclass :class:`~typicality.adaptors.Adaptor`: a truncation implements ``keep(q)`` (``is_truncation = True``), a
  scaling ``_apply(w, out=...)`` and ``_apply_log(logw)`` (``is_truncation = False``), and both ``params()``;
* or wrap a function: :class:`Truncation` takes ``keep(q, **params)``, which gets a block of normalized rows (last
  axis the vocabulary) and returns a boolean mask of the same shape; :class:`Scaling` takes ``log_scale(logw,
  **params)``, which maps log-weights to log-weights (−inf stays −inf).

Check either with :func:`typicality.testing.check_adaptor`, which runs the invariants the library holds its own
adaptors to (docs/theory.md#b9).

>>> import numpy as np
>>> def above_half_the_max(q, ratio):            # min-p, written as a function
...     return q >= ratio * q.max(axis=-1, keepdims=True)
>>> T = Truncation(above_half_the_max, name="half_max", ratio=0.5)
>>> T.weights(np.array([0.5, 0.3, 0.2]))
array([0.5, 0.3, 0. ])
>>> Scaling(lambda logw, t: logw / t, name="my_temperature", t=2.0).local(np.array([0.8, 0.2]))
array([0.66666667, 0.33333333])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    return name


class Truncation(Adaptor):
    """A truncation adaptor T(p) = p · 1{v ∈ C(p)} whose kept set C is ``keep(q, **params)``."""

    is_truncation = True

    def __init__(self, keep: Callable[..., Any], *, name: str = "truncation", **params: Any) -> None:
        if not callable(keep):
            raise TypeError(f"keep must be a function of the normalized rows, got {keep!r}")
        self.function, self.name, self._params = keep, _check_name(name), dict(params)

    def keep(self, q: np.ndarray) -> np.ndarray:
        mask = np.asarray(self.function(q, **self._params))
        if mask.shape != q.shape or mask.dtype != np.bool_:
            raise ValueError(f"keep of adaptor {self.name!r} must return a boolean mask of shape {q.shape}, got "
                             f"dtype {mask.dtype} and shape {mask.shape}")
        return mask

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.function is self.function  # type: ignore[attr-defined]
                and other.params() == self.params())

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, id(self.function)))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({self.name}{', ' if params else ''}{params})"


class Scaling(Truncation):
    """A scaling adaptor: T(p) = exp(log_scale(log p, **params)), applied in log space (so it never underflows to
    0/0 in :meth:`local`)."""

    is_truncation = False

    def __init__(self, log_scale: Callable[..., Any], *, name: str = "scaling", **params: Any) -> None:
        if not callable(log_scale):
            raise TypeError(f"log_scale must be a function of the log-weights, got {log_scale!r}")
        self.function, self.name, self._params = log_scale, _check_name(name), dict(params)

    def keep(self, q: np.ndarray) -> np.ndarray:  # pragma: no cover (a scaling has no kept set of its own)
        raise NotImplementedError

    def _apply_log(self, logw: np.ndarray) -> np.ndarray:
        out = np.asarray(self.function(logw, **self._params), dtype=np.float64)
        if out.shape != logw.shape:
            raise ValueError(f"log_scale of adaptor {self.name!r} must keep the shape {logw.shape}, got {out.shape}")
        return np.where(np.isneginf(logw), -np.inf, out)

    def _apply(self, w: np.ndarray, *, out: np.ndarray) -> None:
        with np.errstate(divide="ignore"):
            logw = np.log(w)
        np.exp(self._apply_log(logw), out=out)
