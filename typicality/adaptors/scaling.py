"""Scaling adaptors: S(p)(v) = p(v)^{1/τ}, no truncation (docs/theory.md#b9 Example 4)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from typicality.adaptors.base import Adaptor


class Temperature(Adaptor):
    """Temperature τ > 0: T(p)(v) = p(v)^{1/τ}, *unnormalized* (Σ_v p^{1/τ} ≠ 1 unless τ = 1).

    The scale is what global normalization sees: π̃_T(y) = Π_t p(y_t | y_<t)^{1/τ} = p(y)^{1/τ} and
    Z_T = Σ_y p(y)^{1/τ} (docs/theory.md#c7), which is infinite for τ large enough. Locally (Eq. 5) it is HF's
    `TemperatureLogitsWarper`, logits / τ.
    """

    name = "temperature"
    is_truncation = False

    def __init__(self, t: float) -> None:
        if isinstance(t, bool) or not isinstance(t, int | float | np.integer | np.floating):
            raise TypeError(f"t must be a number, got {t!r}")
        if not (math.isfinite(float(t)) and float(t) > 0):
            raise ValueError(f"t must be a finite number > 0, got {t!r}")
        self.t = float(t)

    def params(self) -> dict[str, Any]:
        return {"t": self.t}

    def _apply_log(self, logw: np.ndarray) -> np.ndarray:
        return logw / self.t

    def _apply(self, w: np.ndarray, *, out: np.ndarray) -> None:
        if self.t == 1.0:
            if out is not w:
                np.copyto(out, w)
        else:
            np.power(w, 1.0 / self.t, out=out)
