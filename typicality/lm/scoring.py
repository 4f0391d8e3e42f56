"""Scoring sampled strings by their token ids: teacher-forced log-probabilities and rewards.

``score_continuations(lm, contexts, continuations, ends_with_eos)`` runs one forward pass per batch over
context + continuation (right-padded) and sums log p(y_t | context, y_<t) over the continuation, in float64 from
the model's logits, eos included when the string ended with it. It returns the sum, the eos term alone, and the
sum with every term clamped at −25 nats (the official code's clamp, kept for the ablations only).

For the prior (docs/theory.md#d2, #r5) two contexts are scored:

* ``logp_prior`` = log p_prior(y | x): conditioned on the templated prompt, as the theory needs (Prop. 1 compares
  log p_prior and the reward of the same strings the aligned model produced for x);
* ``logp_prior_unconditioned``: the paper's variant, the response alone after the BOS token.

The reward sees text: ``reward(prompts, continuations)`` gets the templated prompts and the decoded continuations
(eos not included). A reward model has its own tokenizer, so this is the one place where text is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from typicality.lm.padding import pad_batch
from typicality.lm.sampling import CLAMP_NATS


def score_continuations(lm: Any, contexts: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]], *,
                        batch_size: int = 16, progress: Callable[[int], None] | None = None,
                        token_scores: bool = False) -> dict[str, Any]:
    """Teacher-forced Σ_t log p(y_t | context, y_<t) for each (context, continuation); see the module docstring.

    Returns float64 arrays ``total``, ``eos`` (the last token's term if it is an eos id, else 0) and ``clamped``;
    with ``token_scores`` also ``tokens`` (a list of per-token arrays).
    """
    import torch

    if len(contexts) != len(continuations):
        raise ValueError(f"contexts and continuations differ in length: {len(contexts)} != {len(continuations)}")
    eos_ids = set(lm.eos_token_ids)
    n = len(contexts)
    total, eos, clamped = np.zeros(n), np.zeros(n), np.zeros(n)
    tokens: list[np.ndarray] = [np.zeros(0)] * n
    for i, c in enumerate(contexts):
        if len(c) == 0:
            raise ValueError(f"context {i} is empty: the first token needs a context (BOS) to be scored")
    order = sorted(range(n), key=lambda i: len(contexts[i]) + len(continuations[i]))
    pad = lm.pad_token_id if lm.pad_token_id is not None else min(eos_ids)
    dev = lm.device
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            seqs = [list(contexts[i]) + list(continuations[i]) for i in idx]
            ids, mask = pad_batch(seqs, pad, side="right")
            logits = lm.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), use_cache=False).logits
            for j, i in enumerate(idx):
                c, y = len(contexts[i]), list(continuations[i])
                if not y:
                    continue
                rows = logits[j, c - 1:c - 1 + len(y)].to(torch.float64)
                target = torch.tensor(y, dtype=torch.long, device=rows.device)
                lp = (rows.gather(1, target[:, None]).squeeze(1) - torch.logsumexp(rows, dim=-1)).cpu().numpy()
                total[i] = lp.sum()
                clamped[i] = np.maximum(lp, -CLAMP_NATS).sum()
                eos[i] = lp[-1] if y[-1] in eos_ids else 0.0
                if token_scores:
                    tokens[i] = lp
            if progress is not None:
                progress(len(idx))
    out: dict[str, Any] = {"total": total, "eos": eos, "clamped": clamped}
    if token_scores:
        out["tokens"] = tokens
    return out


def start_context(lm: Any) -> list[int]:
    """The context of an unconditioned string: the BOS token (GPT-2-style tokenizers: their ``<|endoftext|>``)."""
    bos = lm.bos_token_id
    if bos is None:
        raise ValueError(f"model {lm.spec!r} has no BOS token, so the unconditioned prior (the paper's variant) "
                         "has no start context")
    return [int(bos)]


def prompt_ids(tokenizer: Any, templated: Sequence[str]) -> list[list[int]]:
    """Token ids of the templated prompts, with the tokenizer's special tokens (BOS) as the model expects them."""
    return [list(tokenizer(p, add_special_tokens=True)["input_ids"]) for p in templated]


def decode_continuations(tokenizer: Any, continuations: Sequence[Sequence[int]], eos_ids: set[int]) -> list[str]:
    """The continuations as text for the reward and for people (a final eos is dropped)."""
    out = []
    for y in continuations:
        ids = list(y[:-1]) if y and y[-1] in eos_ids else list(y)
        out.append(tokenizer.decode(ids, skip_special_tokens=True))
    return out
