"""Batches of token-id sequences of different lengths: padded ids and the attention mask (1 = a real token)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def pad_batch(seqs: Sequence[Sequence[int]], pad: int, *, side: str = "right") -> tuple[Any, Any]:
    """(ids, mask) as CPU long tensors of shape (len(seqs), longest); ``side="left"`` puts every sequence's last
    token in the last column (what incremental decoding needs), ``"right"`` its first token in the first column."""
    import torch

    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    length = max((len(s) for s in seqs), default=0)
    ids = torch.full((len(seqs), length), int(pad), dtype=torch.long)
    mask = torch.zeros((len(seqs), length), dtype=torch.long)
    for row, s in enumerate(seqs):
        span = slice(length - len(s), length) if side == "left" else slice(0, len(s))
        ids[row, span] = torch.tensor(list(s), dtype=torch.long)
        mask[row, span] = 1
    return ids, mask
