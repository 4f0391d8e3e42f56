"""Sampling adaptors as transform functions T = truncation ∘ scaling (docs/theory.md#b9, Eq. 39).

>>> import numpy as np
>>> p = np.array([0.5, 0.3, 0.15, 0.05])
>>> make("top_k", k=2).weights(p)                 # unnormalized: T(p) = p · 1{v ∈ C(p)}
array([0.5, 0.3, 0. , 0. ])
>>> make("top_p", p=0.8).local(p)                 # q_T: normalized
array([0.625, 0.375, 0.   , 0.   ])
>>> Compose(make("temperature", t=2.0), make("top_k", k=1)).weights(p)   # HF order: temperature first
array([0.70710678, 0.        , 0.        , 0.        ])

Names for :func:`make`: ``temperature`` (t), ``top_k`` (k), ``top_p`` (p), ``typical`` (p), ``epsilon`` (eps),
``eta`` (eps), ``min_p`` (p). Your own: :class:`Truncation` (a kept-set function), :class:`Scaling` (a log-space
map) or a subclass of :class:`Adaptor` (:mod:`typicality.adaptors.custom`).
"""

from __future__ import annotations

from typing import Any

from typicality.adaptors.base import ROW_SUM_TOLERANCE, Adaptor, softmax_rows
from typicality.adaptors.compose import ORDERS, Compose
from typicality.adaptors.custom import Scaling, Truncation
from typicality.adaptors.scaling import Temperature
from typicality.adaptors.truncation import Epsilon, Eta, MinP, TopK, TopP, Typical

ADAPTORS: dict[str, tuple[type[Adaptor], str]] = {
    "temperature": (Temperature, "t"),
    "top_k": (TopK, "k"),
    "top_p": (TopP, "p"),
    "typical": (Typical, "p"),
    "epsilon": (Epsilon, "eps"),
    "eta": (Eta, "eps"),
    "min_p": (MinP, "p"),
}

__all__ = [
    "ADAPTORS",
    "ORDERS",
    "ROW_SUM_TOLERANCE",
    "Adaptor",
    "Compose",
    "Epsilon",
    "Eta",
    "MinP",
    "Scaling",
    "Temperature",
    "TopK",
    "TopP",
    "Truncation",
    "Typical",
    "make",
    "softmax_rows",
]


def make(name: str, **params: Any) -> Adaptor:
    """An adaptor by name, e.g. ``make("top_p", p=0.9)``; ValueError for an unknown name or parameter."""
    if name not in ADAPTORS:
        raise ValueError(f"unknown adaptor {name!r}; choose from {sorted(ADAPTORS)}")
    cls, param = ADAPTORS[name]
    if set(params) != {param}:
        raise ValueError(f"adaptor {name!r} takes exactly the parameter {param!r}, got {sorted(params)}")
    return cls(params[param])
