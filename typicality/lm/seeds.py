"""Per-string randomness: every string has its own stream, derived from (run seed, scheme, prompt, sample).

A string's t-th token is drawn by inverting the CDF of q_T at the t-th uniform of its own stream, so the strings of
a study do not depend on the batch size, on which other strings share a batch, on the order of the work, or on
how many processes share it (no torch here: the uniforms are numpy's, moved to the model's device as a tensor).

The scheme enters through :meth:`typicality.lm.config.Scheme.key` (what determines its samples, not its name).
"""

from __future__ import annotations

import hashlib

import numpy as np


def scheme_words(scheme_key: str) -> tuple[int, int]:
    """Two 32-bit words of SHA-256(scheme key)."""
    digest = hashlib.sha256(scheme_key.encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def string_generator(run_seed: int, scheme_key: str, prompt_index: int, sample_index: int) -> np.random.Generator:
    """The numpy generator of one string (PCG64 seeded by a SeedSequence with a spawn key per string)."""
    for name, v in (("run_seed", run_seed), ("prompt_index", prompt_index), ("sample_index", sample_index)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
    ss = np.random.SeedSequence(int(run_seed), spawn_key=(*scheme_words(scheme_key), int(prompt_index),
                                                          int(sample_index)))
    return np.random.Generator(np.random.PCG64(ss))


def string_uniforms(run_seed: int, scheme_key: str, prompt_index: int, sample_index: int, n: int) -> np.ndarray:
    """The first ``n`` uniforms in [0, 1) of a string's stream (token t uses entry t)."""
    return string_generator(run_seed, scheme_key, prompt_index, sample_index).random(n)
