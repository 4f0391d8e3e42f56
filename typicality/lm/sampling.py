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
from typicality.lm.padding import pad_batch
from typicality.lm.seeds import string_uniforms

#: the official code clamps every token's cost at this many nats (docs/theory.md#r4); we record clamped sums separately
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

    def sample_groups(self, groups: Sequence[Sequence[SampleRequest]], *,
                      progress: Callable[[int], None] | None = None,
                      on_group: Callable[[int, list[SampledString]], None] | None = None,
                      ) -> list[list[SampledString]]:
        """Sample every request of every group; call ``on_group(g, strings)`` as soon as group g is complete
        (groups are started in order, so they complete roughly in order); return the strings group by group, each
        in the order given. ``progress(n)`` is called with the number of strings just finished."""
        ...


def _forward_names(model: Any) -> tuple[str, str | None]:
    """The cache keyword (``cache`` in transformers ≥ 5, ``past_key_values`` before) and the keep-logits keyword."""
    params = inspect.signature(model.forward).parameters
    cache = "cache" if "cache" in params else "past_key_values"
    keep = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
    return cache, keep


class AdaptorBackend:
    """What every back end shares: one :class:`~typicality.lm.adaptors.DeviceAdaptor` per scheme (in ``self.dtype``),
    and :meth:`sample` as one group of the subclass's ``sample_groups``."""

    dtype: Any

    def _adaptor(self, scheme: Scheme) -> Any:
        from typicality.lm.adaptors import DeviceAdaptor

        cache = self.__dict__.setdefault("_adaptors", {})
        if scheme.name not in cache:
            cache[scheme.name] = DeviceAdaptor(scheme.build(), dtype=self.dtype)
        return cache[scheme.name]

    def sample(self, requests: Sequence[SampleRequest], *,
               progress: Callable[[int], None] | None = None) -> list[SampledString]:
        """Sample ``requests``; the strings in the order given."""
        return self.sample_groups([requests], progress=progress)[0]  # type: ignore[attr-defined]


class TransformersBackend(AdaptorBackend):
    """Decoding loop over a transformers causal LM (a :class:`typicality.lm.loading.LoadedLM`)."""

    def __init__(self, lm: Any, *, max_new_tokens: int, seed: int, adaptor_dtype: str = "float64",
                 batch_size: int = 16, token_scores: bool = False, continuous_batching: bool = True,
                 step_stats: bool = False) -> None:
        import torch

        self.torch = torch
        self.lm = lm
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.dtype = {"float64": torch.float64, "float32": torch.float32}[adaptor_dtype]
        self.batch_size = int(batch_size)
        self.token_scores = bool(token_scores)
        #: also record, at every step, log p(eos | prefix) and the log of the smallest next-token probability of the
        #: model's own distribution (before the adaptor), and log q_T(eos | prefix) of the adaptor's:
        #: ``token_scores["log_eos"]``, ``token_scores["log_min"]``, ``token_scores["log_q_eos"]``
        self.step_stats = bool(step_stats)
        self.continuous_batching = bool(continuous_batching)
        self.refill = 0.25
        self.eos_ids = torch.tensor(sorted(lm.eos_token_ids), dtype=torch.long, device=lm.device)
        if self.eos_ids.numel() == 0:
            raise ValueError(f"model {lm.spec!r} has no eos token id: strings could never end")
        self._cache_kw, self._keep_kw = _forward_names(lm.model)

    def sample_groups(self, groups: Sequence[Sequence[SampleRequest]], *,
                      progress: Callable[[int], None] | None = None,
                      on_group: Callable[[int, list[SampledString]], None] | None = None,
                      ) -> list[list[SampledString]]:
        """See :class:`Backend`. The rows of the running batch may belong to several groups (and schemes)."""
        for group in groups:
            for r in group:
                if not r.prompt_ids:
                    raise ValueError(f"prompt {r.prompt_index} tokenizes to no token: a model needs a context to "
                                     "predict the first token (add a BOS token or a template)")
        with self.torch.inference_mode():
            return self._run(groups, progress, on_group)

    def _forward(self, **kwargs: Any) -> Any:
        cache = kwargs.pop("cache")
        if cache is not None:
            kwargs[self._cache_kw] = cache
        return self.lm.model(**kwargs, use_cache=True, return_dict=True)

    def _prefill(self, requests: Sequence[SampleRequest]) -> tuple[Any, Any, Any, Any]:
        """Forward the (left-padded) prompts: the cache, the last logits, the attention mask, the last positions."""
        dev = self.lm.device
        pad = self.lm.pad_token_id if self.lm.pad_token_id is not None else int(self.eos_ids[0])
        # left padding: every row's last prompt token is in the last column
        ids, mask = pad_batch([r.prompt_ids for r in requests], pad, side="left")
        ids, mask = ids.to(dev), mask.to(dev)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "cache": None}
        if self._keep_kw is not None:
            kwargs[self._keep_kw] = 1
        out = self._forward(**kwargs)
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return cache, out.logits[:, -1], mask, positions[:, -1]

    def _run(self, groups: Sequence[Sequence[SampleRequest]], progress: Callable[[int], None] | None,
             on_group: Callable[[int, list[SampledString]], None] | None) -> list[list[SampledString]]:
        """Sample every request, ``batch_size`` rows at a time.

        With *continuous batching* (the default, for caches of plain dynamic layers: Llama, GPT-2, Mistral without
        sliding window, ...), a finished string's row is dropped from the batch at once and, as soon as a quarter
        of the rows are free, the next prompts are prefilled and their cache rows appended (left-padded to a
        common length), so the batch stays full across strings, schemes and groups. Other caches (sliding-window
        or hybrid layers) run static batches. Either way a string's tokens and scores depend only on its own row.
        """
        torch = self.torch
        dev = self.lm.device
        T, B = self.max_new_tokens, self.batch_size
        requests = [r for group in groups for r in group]
        group_of = [g for g, group in enumerate(groups) for _ in group]
        first = np.cumsum([0] + [len(group) for group in groups])
        remaining = [len(group) for group in groups]
        results: list[list[SampledString | None]] = [[None] * len(group) for group in groups]
        adaptors = {r.scheme.name: self._adaptor(r.scheme) for r in requests}
        # the next prompts, group by group; within a group, similar lengths share a prefill (less padding)
        pending: list[int] = []
        for g, group in enumerate(groups):
            pending += sorted(range(first[g], first[g] + len(group)), key=lambda i: (len(requests[i].prompt_ids), i))
        pending.reverse()  # pop() from the end
        n_acc = 3 * len(SAMPLE_SUMS)
        cache = logits = mask = last_pos = None
        rows: Any = None  # request index of each running row, in cache order; with its tokens, uniforms, sums
        continuous = self.continuous_batching
        for g, group in enumerate(groups):
            if not group and on_group is not None:
                on_group(g, [])
        while pending or rows is not None:
            running = 0 if rows is None else len(rows)
            if pending and (running == 0 or (continuous and B - running >= max(1, int(B * self.refill)))):
                new = [pending.pop() for _ in range(min(B - running, len(pending)))]
                c_new, l_new, m_new, p_new = self._prefill([requests[i] for i in new])
                n = len(new)
                state_new = {
                    "rows": torch.tensor(new, dtype=torch.long, device=dev),
                    "steps": torch.zeros(n, dtype=torch.long, device=dev),
                    "tokens": torch.full((n, T), -1, dtype=torch.long, device=dev),
                    "u": torch.tensor(np.stack([string_uniforms(self.seed, requests[i].scheme.key(),
                                                                requests[i].prompt_index, requests[i].sample_index,
                                                                T) for i in new]), dtype=torch.float64, device=dev),
                    "acc": torch.zeros((n, n_acc), dtype=torch.float64, device=dev),
                }
                if self.token_scores:
                    state_new["per_token"] = torch.zeros((n, len(SAMPLE_SUMS), T), dtype=torch.float64, device=dev)
                if self.step_stats:
                    state_new["step_stats"] = torch.zeros((n, 3, T), dtype=torch.float64, device=dev)
                if rows is None:
                    cache, logits, mask, last_pos, state = c_new, l_new, m_new, p_new, state_new
                    continuous = continuous and _mergeable(cache)
                else:
                    mask = _merge_caches(cache, mask, c_new, m_new)
                    logits = torch.cat([logits, l_new.to(logits.dtype)])
                    last_pos = torch.cat([last_pos, p_new])
                    state = {k: torch.cat([v, state_new[k]]) for k, v in state.items()}
                rows = state["rows"]
            steps = state["steps"]
            kinds = {requests[int(i)].scheme.name for i in rows.tolist()} if len(adaptors) > 1 else adaptors.keys()
            if len(kinds) == 1:
                chosen: Any = adaptors[next(iter(kinds))]
            else:
                chosen = [adaptors[requests[int(i)].scheme.name] for i in rows.tolist()]
            idx = torch.arange(len(rows), device=dev)
            tok, vals, stats = self._step(logits, state["u"][idx, steps], chosen)
            if stats is not None:
                state["step_stats"][idx, :, steps] = stats
            is_eos = torch.isin(tok, self.eos_ids)
            state["tokens"][idx, steps] = tok
            state["acc"] += torch.cat([vals, vals.clamp(min=-CLAMP_NATS), torch.where(is_eos[:, None], vals, 0.0)],
                                      dim=1)
            if self.token_scores:
                state["per_token"][idx, :, steps] = vals
            state["steps"] = steps = steps + 1
            keep = ~(is_eos | (steps >= T))
            n_done = len(rows) - int(keep.sum())
            if n_done:
                self._finish(requests, group_of, first, state, ~keep, is_eos, results, remaining, on_group)
                if progress is not None:
                    progress(n_done)
            if n_done == len(rows):
                cache = logits = mask = last_pos = rows = None
                continue
            if n_done:
                sel = keep.nonzero().squeeze(1)
                cache.batch_select_indices(sel)
                mask, last_pos, tok = mask[sel], last_pos[sel], tok[sel]
                state = {k: v[sel] for k, v in state.items()}
                rows = state["rows"]
                if continuous:
                    mask = _trim_left_padding(cache, mask)
            mask = torch.cat([mask, torch.ones((len(rows), 1), dtype=mask.dtype, device=dev)], dim=1)
            last_pos = last_pos + 1
            out = self._forward(input_ids=tok[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                                cache=cache)
            cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None) or cache
            logits = out.logits[:, -1]
        return results  # type: ignore[return-value]

    def _finish(self, requests: list[SampleRequest], group_of: list[int], first: Any, state: dict[str, Any],
                done: Any, is_eos: Any, results: list[list[SampledString | None]], remaining: list[int],
                on_group: Callable[[int, list[SampledString]], None] | None) -> None:
        """Move the finished rows' strings to the CPU, and hand over every group that is now complete."""
        names = [f"{s}{v}" for v in ("", "_clamped", "_eos") for s in SAMPLE_SUMS]
        which = state["rows"][done].cpu().numpy()
        steps = state["steps"][done].cpu().numpy()
        tokens = state["tokens"][done].cpu().numpy()
        acc = state["acc"][done].cpu().numpy()
        ended = is_eos[done].cpu().numpy()
        per_token = state["per_token"][done].cpu().numpy() if "per_token" in state else None
        step_stats = state["step_stats"][done].cpu().numpy() if "step_stats" in state else None
        for k, i in enumerate(which):
            r, n = requests[i], int(steps[k])
            scores = None
            if per_token is not None or step_stats is not None:
                scores = {}
                if per_token is not None:
                    scores.update({name: per_token[k, j, :n].tolist() for j, name in enumerate(SAMPLE_SUMS)})
                if step_stats is not None:
                    scores.update({"log_eos": step_stats[k, 0, :n].tolist(), "log_min": step_stats[k, 1, :n].tolist(),
                                   "log_q_eos": step_stats[k, 2, :n].tolist()})
            string = SampledString(
                r.prompt_index, r.sample_index, r.scheme.name, tokens[k, :n].tolist(), bool(ended[k]),
                {name: float(acc[k, j]) for j, name in enumerate(names)}, scores)
            g = group_of[i]
            results[g][i - first[g]] = string
            remaining[g] -= 1
            if remaining[g] == 0 and on_group is not None:
                on_group(g, results[g])  # type: ignore[arg-type]

    def _step(self, logits: Any, u: Any, adaptors: Any) -> tuple[Any, Any, Any]:
        return draw_step(logits.to(self.dtype), u, adaptors, eos_ids=self.eos_ids, step_stats=self.step_stats)


def draw_step(x: Any, u: Any, adaptors: Any, *, eos_ids: Any, step_stats: bool = False) -> tuple[Any, Any, Any]:
    """One token for each row of the logits ``x`` (already in the adaptor dtype), drawn from q_T by inverting its
    CDF at the row's uniform ``u``; (log p(y), log q_T(y), log T(p)(y)) as an (n, 3) float64 tensor; and with
    ``step_stats`` an (n, 3) float64 tensor (log p(eos | prefix), log min_v p(v | prefix), log q_T(eos | prefix),
    −inf where the adaptor drops every eos token), else None. Shared by every back end.

    ``adaptors`` is one :class:`DeviceAdaptor` for every row, or a list with one per row; ``eos_ids`` a long
    tensor of the eos ids on the logits' device.
    """
    import torch

    log_norm = torch.logsumexp(x, dim=-1)
    if not isinstance(adaptors, list):
        tok, logq, logw, log_q_eos = _draw(x, u, adaptors, eos_ids, step_stats)
    else:
        tok = torch.empty(len(x), dtype=torch.long, device=x.device)
        logq = torch.empty(len(x), dtype=torch.float64, device=x.device)
        logw = torch.empty(len(x), dtype=torch.float64, device=x.device)
        log_q_eos = torch.empty(len(x), dtype=torch.float64, device=x.device) if step_stats else None
        groups: dict[int, list[int]] = {}
        for j, a in enumerate(adaptors):
            groups.setdefault(id(a), []).append(j)
        for members in groups.values():
            sel = torch.tensor(members, dtype=torch.long, device=x.device)
            tok[sel], logq[sel], logw[sel], q_eos = _draw(
                x.index_select(0, sel), u.index_select(0, sel), adaptors[members[0]], eos_ids, step_stats)
            if q_eos is not None:
                log_q_eos[sel] = q_eos
    logp = (x.gather(1, tok[:, None]).squeeze(1) - log_norm).double()
    stats = None
    if step_stats:
        log_eos = torch.logsumexp(x.index_select(1, eos_ids), dim=-1) - log_norm
        stats = torch.stack([log_eos.double(), (x.amin(dim=-1) - log_norm).double(), log_q_eos], dim=1)
    return tok, torch.stack([logp, logq, logw], dim=1), stats


def _draw(x: Any, u: Any, adaptor: Any, eos_ids: Any, step_stats: bool) -> tuple[Any, Any, Any, Any]:
    """Inverse-CDF draws from q_T = T(p)/Z (one uniform per row), log q_T and log T(p) of the drawn tokens, and
    with ``step_stats`` log q_T(eos) (all eos ids together), else None."""
    import torch

    scores, offset = adaptor.transform(x)
    top = scores.amax(dim=-1, keepdim=True)
    cdf = torch.cumsum(torch.exp(scores - top), dim=-1)
    total = cdf[:, -1:]
    # the target stays below the total, so the first cdf entry above it is a step up: a token of weight > 0
    target = torch.minimum(u.to(cdf.dtype)[:, None] * total, torch.nextafter(total, torch.zeros_like(total)))
    pick = torch.searchsorted(cdf, target, right=True)
    s_pick = scores.gather(1, pick).squeeze(1)
    log_z = top.squeeze(1) + torch.log(total.squeeze(1))
    logq = (s_pick - log_z).double()
    logw = (s_pick - offset).double()
    log_q_eos = None
    if step_stats:
        log_q_eos = (torch.logsumexp(scores.index_select(1, eos_ids), dim=-1) - log_z).double()
    return pick.squeeze(1), logq, logw, log_q_eos


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
