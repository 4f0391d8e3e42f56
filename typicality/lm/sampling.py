"""Sampling from the aligned model with an adaptor, recording what the analysis needs on the way.

A *back end* turns :class:`SampleRequest` s (a prompt's token ids, a scheme, the string's indices) into
:class:`SampledString` s. The transformers back end runs its own decoding loop over the model's forward pass with a
key–value cache (no ``generate``: no hidden warper, no float32 cast of the logits, no work on finished rows):

* at step t the model's logits give p_t = softmax(logits) in the adaptor dtype (float64 by default), the scheme's
  transform gives log T(p_t) (:class:`typicality.lm.adaptors.DeviceAdaptor`, on the logits' device), and the token
  is y_t = F⁻¹(u_t) for the CDF F of q_T = T(p_t)/Z_t and the string's own uniform u_t (:mod:`typicality.lm.seeds`);
* it records, with eos included (Eq. 5–6):
  ``logp_aligned`` = Σ_t log p_t(y_t), ``logq`` = Σ_t log q_T(y_t), ``log_pi_tilde`` = Σ_t log T(p_t)(y_t),
  each also as its eos term alone and with every term clamped at −25 nats (what the official code does, kept for
  the ablations), so no second pass of the aligned model is needed;
* a string ends at an eos token; one that reaches ``max_new_tokens`` first is *capped* (``eos = False``): it is not
  an element of Σ*, and the analysis excludes it by default.

Strings are token ids throughout; nothing is decoded and re-tokenized. The strings do not depend on the batch size
or on which strings share a batch (on CPU in float64 they are bit-identical; on a GPU, up to floating-point ties),
because each string has its own random stream and each row its own arithmetic (the recorded sums may differ in
the last bit with the batch: vectorized exp and reductions round an element differently depending on where its row
starts in the batch buffer).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from typicality.lm.config import Scheme
from typicality.lm.seeds import string_uniforms

#: the official code clamps every token's cost at this many nats (math.md R4); we record clamped sums separately
CLAMP_NATS = 25.0

#: per-string sums recorded while sampling (eos term and clamped variants follow the same names)
SAMPLE_SUMS = ("logp_aligned", "logq", "log_pi_tilde")


@dataclass(frozen=True)
class SampleRequest:
    prompt_index: int
    sample_index: int
    scheme: Scheme
    prompt_ids: tuple[int, ...]


@dataclass
class SampledString:
    """One sampled continuation and its scores under the aligned model and the scheme's adaptor (nats)."""

    prompt_index: int
    sample_index: int
    scheme: str
    token_ids: list[int]
    eos: bool
    sums: dict[str, float]  # logp_aligned, logq, log_pi_tilde and their _eos and _clamped variants
    token_scores: dict[str, list[float]] | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        """A row of the samples table (without the scores of later stages)."""
        out = {"scheme": self.scheme, "prompt_index": self.prompt_index, "sample_index": self.sample_index,
               "token_ids": list(self.token_ids), "n_tokens": len(self.token_ids), "eos": self.eos, **self.sums}
        if self.token_scores is not None:
            out.update({f"token_{k}": v for k, v in self.token_scores.items()})
        return out


class Backend(Protocol):
    """What the study needs from a generation engine."""

    def sample(self, requests: Sequence[SampleRequest], *,
               progress: Callable[[int], None] | None = None) -> list[SampledString]:
        """Sample every request (any order internally); return them in the order given."""
        ...


def _forward_names(model: Any) -> tuple[str, str | None]:
    """The cache keyword (``cache`` in transformers ≥ 5, ``past_key_values`` before) and the keep-logits keyword."""
    params = inspect.signature(model.forward).parameters
    cache = "cache" if "cache" in params else "past_key_values"
    keep = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
    return cache, keep


class TransformersBackend:
    """Decoding loop over a transformers causal LM (a :class:`typicality.lm.loading.LoadedLM`)."""

    def __init__(self, lm: Any, *, max_new_tokens: int, seed: int, adaptor_dtype: str = "float64",
                 batch_size: int = 16, token_scores: bool = False, continuous_batching: bool = True) -> None:
        import torch

        from typicality.lm.adaptors import DeviceAdaptor

        self.torch = torch
        self.lm = lm
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.dtype = {"float64": torch.float64, "float32": torch.float32}[adaptor_dtype]
        self.batch_size = int(batch_size)
        self.token_scores = bool(token_scores)
        self.continuous_batching = bool(continuous_batching)
        self.eos_ids = torch.tensor(sorted(lm.eos_token_ids), dtype=torch.long, device=lm.device)
        if self.eos_ids.numel() == 0:
            raise ValueError(f"model {lm.spec!r} has no eos token id: strings could never end")
        self._cache_kw, self._keep_kw = _forward_names(lm.model)
        self._adaptors: dict[str, Any] = {}
        self._DeviceAdaptor = DeviceAdaptor

    def _adaptor(self, scheme: Scheme) -> Any:
        if scheme.name not in self._adaptors:
            self._adaptors[scheme.name] = self._DeviceAdaptor(scheme.build(), dtype=self.dtype)
        return self._adaptors[scheme.name]

    def sample(self, requests: Sequence[SampleRequest], *,
               progress: Callable[[int], None] | None = None) -> list[SampledString]:
        for r in requests:
            if not r.prompt_ids:
                raise ValueError(f"prompt {r.prompt_index} tokenizes to no token: a model needs a context to "
                                 "predict the first token (add a BOS token or a template)")
        if not requests:
            return []
        with self.torch.inference_mode():
            return self._run(requests, progress)

    def _forward(self, **kwargs: Any) -> Any:
        cache = kwargs.pop("cache")
        if cache is not None:
            kwargs[self._cache_kw] = cache
        return self.lm.model(**kwargs, use_cache=True, return_dict=True)

    def _prefill(self, requests: Sequence[SampleRequest]) -> tuple[Any, Any, Any, Any]:
        """Forward the (left-padded) prompts: the cache, the last logits, the attention mask, the last positions."""
        torch = self.torch
        dev = self.lm.device
        L = max(len(r.prompt_ids) for r in requests)
        pad = self.lm.pad_token_id if self.lm.pad_token_id is not None else int(self.eos_ids[0])
        ids = torch.full((len(requests), L), pad, dtype=torch.long)
        mask = torch.zeros((len(requests), L), dtype=torch.long)
        for i, r in enumerate(requests):  # left padding: every row's last prompt token is at position L − 1
            ids[i, L - len(r.prompt_ids):] = torch.tensor(r.prompt_ids, dtype=torch.long)
            mask[i, L - len(r.prompt_ids):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "cache": None}
        if self._keep_kw is not None:
            kwargs[self._keep_kw] = 1
        out = self._forward(**kwargs)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return cache, out.logits[:, -1], mask, positions[:, -1]

    def _run(self, requests: Sequence[SampleRequest], progress: Callable[[int], None] | None) -> list[SampledString]:
        """Sample every request, ``batch_size`` rows at a time.

        With *continuous batching* (the default, for caches of plain dynamic layers: Llama, GPT-2, Mistral without
        sliding window, ...), a finished string's row is dropped from the batch at once and, as soon as a quarter
        of the rows are free, new prompts are prefilled and their cache rows appended (left-padded to a common
        length), so the batch stays full. Other caches (sliding-window or hybrid layers) run static batches.
        Either way a string's tokens and scores depend only on its own row.
        """
        torch = self.torch
        dev = self.lm.device
        N, T, B = len(requests), self.max_new_tokens, self.batch_size
        u = torch.tensor(np.stack([string_uniforms(self.seed, r.scheme.key(), r.prompt_index, r.sample_index, T)
                                   for r in requests]), dtype=torch.float64, device=dev)
        schemes = [r.scheme for r in requests]
        tokens_out = torch.full((N, T), -1, dtype=torch.long, device=dev)
        names = [f"{s}{v}" for v in ("", "_clamped", "_eos") for s in SAMPLE_SUMS]
        totals = torch.zeros((N, len(names)), dtype=torch.float64, device=dev)  # written when a row finishes
        per_token = {s: torch.zeros((N, T), dtype=torch.float64, device=dev) for s in SAMPLE_SUMS} \
            if self.token_scores else None
        lengths = torch.zeros(N, dtype=torch.long, device=dev)
        ended = torch.zeros(N, dtype=torch.bool, device=dev)
        adaptors = {r.scheme.name: self._adaptor(r.scheme) for r in requests}
        single = next(iter(adaptors.values())) if len(adaptors) == 1 else None
        # prompts of similar length share a prefill (less padding); the results do not depend on the grouping
        pending = sorted(range(N), key=lambda i: (len(requests[i].prompt_ids), i))
        pending.reverse()  # pop() from the end: shortest first
        cache = logits = mask = last_pos = rows = steps = acc = None
        continuous = self.continuous_batching
        while pending or rows is not None:
            running = 0 if rows is None else len(rows)
            if pending and (running == 0 or (continuous and B - running >= max(1, B // 4))):
                new = [pending.pop() for _ in range(min(B - running, len(pending)))]
                c_new, l_new, m_new, p_new = self._prefill([requests[i] for i in new])
                r_new = torch.tensor(new, dtype=torch.long, device=dev)
                if rows is None:
                    cache, logits, mask, last_pos, rows = c_new, l_new, m_new, p_new, r_new
                    steps = torch.zeros(len(new), dtype=torch.long, device=dev)
                    acc = torch.zeros((len(new), len(names)), dtype=torch.float64, device=dev)
                    continuous = continuous and _mergeable(cache)
                else:
                    mask = _merge_caches(cache, mask, c_new, m_new)
                    logits = torch.cat([logits, l_new.to(logits.dtype)])
                    last_pos = torch.cat([last_pos, p_new])
                    rows = torch.cat([rows, r_new])
                    steps = torch.cat([steps, torch.zeros(len(new), dtype=torch.long, device=dev)])
                    acc = torch.cat([acc, torch.zeros((len(new), len(names)), dtype=torch.float64, device=dev)])
            tok, vals = self._step(logits, u[rows, steps], single or [adaptors[schemes[i].name]
                                                                      for i in rows.tolist()])
            is_eos = torch.isin(tok, self.eos_ids)
            tokens_out[rows, steps] = tok
            acc += torch.cat([vals, vals.clamp(min=-CLAMP_NATS), torch.where(is_eos[:, None], vals, 0.0)], dim=1)
            if per_token is not None:
                for j, name in enumerate(SAMPLE_SUMS):
                    per_token[name][rows, steps] = vals[:, j]
            steps = steps + 1
            keep = ~(is_eos | (steps >= T))
            n_done = len(rows) - int(keep.sum())
            if n_done:
                done = ~keep
                totals[rows[done]] = acc[done]
                lengths[rows[done]] = steps[done]
                ended[rows[done]] = is_eos[done]
                if progress is not None:
                    progress(n_done)
            if n_done == len(rows):
                cache = logits = mask = last_pos = rows = steps = acc = None
                continue
            if n_done:
                sel = keep.nonzero().squeeze(1)
                cache.batch_select_indices(sel)
                rows, mask, last_pos, steps, tok, acc = (rows[sel], mask[sel], last_pos[sel], steps[sel], tok[sel],
                                                         acc[sel])
                if continuous:
                    mask = _trim_left_padding(cache, mask)
            mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype, device=dev)], dim=1)
            last_pos = last_pos + 1
            out = self._forward(input_ids=tok[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                                cache=cache)
            cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None) or cache
            logits = out.logits[:, -1]

        tokens_cpu, lengths_cpu, ended_cpu = tokens_out.cpu().numpy(), lengths.cpu().numpy(), ended.cpu().numpy()
        totals_cpu = totals.cpu().numpy()
        pt_cpu = {k: v.cpu().numpy() for k, v in per_token.items()} if per_token is not None else None
        results = []
        for i, r in enumerate(requests):
            n = int(lengths_cpu[i])
            results.append(SampledString(
                r.prompt_index, r.sample_index, r.scheme.name, tokens_cpu[i, :n].tolist(), bool(ended_cpu[i]),
                {k: float(totals_cpu[i, j]) for j, k in enumerate(names)},
                None if pt_cpu is None else {k: v[i, :n].tolist() for k, v in pt_cpu.items()}))
        return results

    def _step(self, logits: Any, u: Any, adaptors: Any) -> tuple[Any, Any]:
        """One token for each running row, and (log p(y), log q_T(y), log T(p)(y)) as an (n, 3) float64 tensor.

        ``adaptors`` is one :class:`DeviceAdaptor` for every row, or a list with one per row.
        """
        torch = self.torch
        x = logits.to(self.dtype)
        log_norm = torch.logsumexp(x, dim=-1)
        if not isinstance(adaptors, list):
            tok, logq, logw = self._draw(x, u, adaptors)
        else:
            tok = torch.empty(len(x), dtype=torch.long, device=x.device)
            logq = torch.empty(len(x), dtype=torch.float64, device=x.device)
            logw = torch.empty(len(x), dtype=torch.float64, device=x.device)
            groups: dict[int, list[int]] = {}
            for j, a in enumerate(adaptors):
                groups.setdefault(id(a), []).append(j)
            for members in groups.values():
                sel = torch.tensor(members, dtype=torch.long, device=x.device)
                tok[sel], logq[sel], logw[sel] = self._draw(x.index_select(0, sel), u.index_select(0, sel),
                                                            adaptors[members[0]])
        logp = (x.gather(1, tok[:, None]).squeeze(1) - log_norm).double()
        return tok, torch.stack([logp, logq, logw], dim=1)

    def _draw(self, x: Any, u: Any, adaptor: Any) -> tuple[Any, Any, Any]:
        """Inverse-CDF draws from q_T = T(p)/Z (one uniform per row), and log q_T, log T(p) of the drawn tokens."""
        torch = self.torch
        scores, offset = adaptor.transform(x)
        top = scores.amax(dim=-1, keepdim=True)
        cdf = torch.cumsum(torch.exp(scores - top), dim=-1)
        total = cdf[:, -1:]
        # the target stays below the total, so the first cdf entry above it is a step up: a token of weight > 0
        target = torch.minimum(u.to(cdf.dtype)[:, None] * total, torch.nextafter(total, torch.zeros_like(total)))
        pick = torch.searchsorted(cdf, target, right=True)
        s_pick = scores.gather(1, pick).squeeze(1)
        logq = (s_pick - (top.squeeze(1) + torch.log(total.squeeze(1)))).double()
        logw = (s_pick - offset).double()
        return pick.squeeze(1), logq, logw


def _mergeable(cache: Any) -> bool:
    """Whether rows can be appended to ``cache``: every layer a plain dynamic layer of (batch, heads, seq, dim)."""
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer).__name__ == "DynamicLayer" and getattr(layer, "is_initialized", False)
                                for layer in layers)


def _merge_caches(cache: Any, mask: Any, new: Any, new_mask: Any) -> Any:
    """Append the rows of ``new`` to ``cache`` (in place), left-padding the shorter to a common length; returns
    the merged attention mask (padding positions 0)."""
    import torch

    s_old, s_new = mask.shape[1], new_mask.shape[1]
    s = max(s_old, s_new)

    def left_pad(x: Any, n: int) -> Any:
        if n == 0:
            return x
        shape = list(x.shape)
        shape[-2] = n
        return torch.cat([x.new_zeros(shape), x], dim=-2)

    for layer, other in zip(cache.layers, new.layers, strict=True):
        layer.keys = torch.cat([left_pad(layer.keys, s - s_old), left_pad(other.keys, s - s_new)])
        layer.values = torch.cat([left_pad(layer.values, s - s_old), left_pad(other.values, s - s_new)])
    return torch.cat([torch.nn.functional.pad(mask, (s - s_old, 0)), torch.nn.functional.pad(new_mask, (s - s_new, 0))])


def _trim_left_padding(cache: Any, mask: Any) -> Any:
    """Drop leading cache positions that are padding in every row (they grew when long rows were merged)."""
    used = mask.any(dim=0)
    first = int(used.nonzero()[0]) if bool(used.any()) else 0
    if first == 0:
        return mask
    for layer in cache.layers:
        layer.keys = layer.keys[..., first:, :]
        layer.values = layer.values[..., first:, :]
    return mask[:, first:]
