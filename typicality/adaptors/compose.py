"""Composition of adaptors in an explicit order.

Each truncation computes its kept set on the *renormalized* current weights, as in Hugging Face, where every
warper sees the softmax of the previous one's output; a scaling step (temperature) rescales the current weights.
Two standard orders:

* ``"hf"`` (default): temperature → top_k → top_p → min_p → typical → epsilon → eta (transformers' ``generate``);
  truncation sets are computed on the *tempered* distribution.
* ``"llama.cpp"``: top_k → typical → top_p → min_p → epsilon → eta → temperature (temperature last); with one
  truncation this is exactly Eq. 39 of the paper, whose C(p) is computed on the raw p.
* ``"given"``: the order of the arguments.
"""

from __future__ import annotations

from typing import Any

from typicality.adaptors.base import Adaptor

ORDERS = {
    "hf": ("temperature", "top_k", "top_p", "min_p", "typical", "epsilon", "eta"),
    "llama.cpp": ("top_k", "typical", "top_p", "min_p", "epsilon", "eta", "temperature"),
}


class Compose(Adaptor):
    """Adaptors applied in sequence (see module docstring for the orders)."""

    name = "compose"

    def __init__(self, *adaptors: Adaptor, order: str = "hf") -> None:
        flat: list[Adaptor] = []
        for a in adaptors:
            if not isinstance(a, Adaptor):
                raise TypeError(f"Compose takes adaptors, got {a!r}")
            flat.extend(a.steps)
        if not flat:
            raise ValueError("Compose needs at least one adaptor")
        if order == "given":
            steps = flat
        elif order in ORDERS:
            rank = {name: i for i, name in enumerate(ORDERS[order])}
            steps = sorted(flat, key=lambda a: rank[a.name])  # stable: equal kinds keep their given order
        else:
            raise ValueError(f"order must be one of {sorted(ORDERS)} or 'given', got {order!r}")
        self._steps = tuple(steps)
        self.order = order
        self.is_truncation = all(s.is_truncation for s in steps)

    @property
    def steps(self) -> tuple[Adaptor, ...]:
        return self._steps

    def keep(self, q: Any) -> Any:
        raise TypeError("a composition has no single kept set; use weights()")

    def params(self) -> dict[str, Any]:
        return {"steps": self._steps, "order": self.order}

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self._steps))}, order={self.order!r})"
