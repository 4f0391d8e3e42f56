"""The toy objects of §6.1 (math.md D.1): an aligned distribution, a prior and a reward over 1000 objects.

Recipe (the official notebook's, numpy legacy seeding): ``np.random.seed(seed)``; p₊ ~ Dirichlet(0.1·1);
prior = softmax(p₊^(1/scaling) + U(−noise, noise)); reward r = log(p₊/prior) (β = 1, so Z = 1 exactly).
With the defaults this gives H(p₊) = 5.005 and H(prior) = 6.869 nats, as published.

>>> toy = toy_objects()
>>> round(toy.entropy_aligned, 3), round(toy.entropy_prior, 3)
(5.005, 6.869)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ToyObjects:
    aligned: np.ndarray  # p₊ over the objects
    prior: np.ndarray
    reward: np.ndarray  # log(p₊ / prior)

    @property
    def entropy_aligned(self) -> float:
        p = self.aligned[self.aligned > 0]
        return float(-(p * np.log(p)).sum())

    @property
    def entropy_prior(self) -> float:
        return float(-(self.prior * np.log(self.prior)).sum())


def toy_objects(seed: int = 42, n_objects: int = 1000, concentration: float = 0.1, scaling: float = 42.0,
                noise: float = 0.42) -> ToyObjects:
    """The §6.1 toy distributions, drawn exactly as the official notebook draws them (legacy ``np.random``)."""
    for name, value in (("n_objects", n_objects),):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an int >= 2, got {value!r}")
    for name, value in (("concentration", concentration), ("scaling", scaling)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    state = np.random.get_state()  # the recipe needs the legacy global stream; leave the caller's untouched
    try:
        np.random.seed(seed)
        aligned = np.random.dirichlet(concentration * np.ones(n_objects))
        u = np.random.uniform(-noise, noise, n_objects)
    finally:
        np.random.set_state(state)
    x = aligned ** (1.0 / scaling) + u
    prior = np.exp(x - x.max())
    prior /= prior.sum()
    with np.errstate(divide="ignore"):
        reward = np.log(aligned) - np.log(prior)
    return ToyObjects(aligned, prior, reward)
