"""typicality's adaptors inside vLLM: a per-request logits processor (imported only when vLLM is installed).

vLLM's sampler has top-k, top-p and min-p but no locally typical, ε or η sampling, and no way to record log q_T or
log T(p) of the sampled token. :class:`TypicalityLogitsProcessor` (a ``vllm.v1.sample.logits_processor
.LogitsProcessor``) does the whole step of the transformers back end on vLLM's logits: for each row that belongs to
a typicality request it computes T(p) with the scheme's :class:`typicality.lm.adaptors.DeviceAdaptor` (in float64
by default), draws the token by inverting q_T's CDF at the string's own uniform (:mod:`typicality.lm.seeds`, the
same draw as :func:`typicality.lm.sampling.draw_step`), records log p(y), log q_T(y) and log T(p)(y), and returns
logits that are −∞ everywhere but at that token. vLLM's own sampler (at temperature 1, with nothing else switched
on) can then only pick it. Rows of other requests are left untouched.

A request opts in with ``SamplingParams(extra_args={"typicality": [job key, slot]})``: the job
(:class:`Job`, registered with :func:`register`) holds each slot's adaptor, uniforms and the buffers the
processor fills, indexed by (slot, step), so a step that vLLM computes twice (a chunked prefill) is overwritten,
not counted twice. The registry is a dict in this process: the engine must run in-process
(``VLLM_ENABLE_V1_MULTIPROCESSING=0``, which :func:`typicality.lm.vllm_backend.open_engine` sets).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from typicality.lm.sampling import draw_step

#: the key of ``SamplingParams.extra_args`` that names a request's job and slot
EXTRA_KEY = "typicality"

_JOBS: dict[str, Job] = {}


class Job:
    """The strings of one ``generate`` call: per slot, its adaptor and uniforms; the buffers the processor fills.

    ``adaptors`` has one :class:`~typicality.lm.adaptors.DeviceAdaptor` per slot (shared objects for shared
    schemes); ``uniforms`` is (slots, max_new_tokens). After the call, ``tokens[s, t]`` is the t-th token drawn for
    slot s (−1 where none was), ``values[s, :, t]`` its (log p, log q_T, log T(p)), and with ``step_stats``
    ``stats[s, :, t]`` (log p(eos), log min p, log q_T(eos)) of that step.
    """

    def __init__(self, adaptors: Sequence[Any], uniforms: np.ndarray, eos_ids: Sequence[int], *,
                 step_stats: bool = False) -> None:
        n, steps = uniforms.shape
        if len(adaptors) != n:
            raise ValueError(f"adaptors has {len(adaptors)} entries for {n} slots")
        self.adaptors = list(adaptors)
        self.dtype = self.adaptors[0].dtype if self.adaptors else torch.float64
        self.uniforms = uniforms
        self.eos = list(eos_ids)
        self.step_stats = bool(step_stats)
        self.max_steps = steps
        self.device: torch.device | None = None

    def on(self, device: torch.device) -> None:
        """Allocate the buffers on the logits' device (once)."""
        if self.device is not None:
            return
        n, steps = self.uniforms.shape
        self.device = device
        self.u = torch.as_tensor(self.uniforms, dtype=torch.float64, device=device)
        self.eos_ids = torch.tensor(sorted(self.eos), dtype=torch.long, device=device)
        self.tokens = torch.full((n, steps), -1, dtype=torch.long, device=device)
        self.values = torch.zeros((n, 3, steps), dtype=torch.float64, device=device)
        self.stats = torch.zeros((n, 3, steps), dtype=torch.float64, device=device) if self.step_stats else None

    def adaptor_for(self, slots: list[int]) -> Any:
        chosen = [self.adaptors[s] for s in slots]
        first = chosen[0]
        return first if all(a is first for a in chosen) else chosen


def register(job: Job) -> str:
    key = uuid.uuid4().hex
    _JOBS[key] = job
    return key


def unregister(key: str) -> None:
    _JOBS.pop(key, None)


def _opt_in(params: Any) -> tuple[Job, int] | None:
    extra = getattr(params, "extra_args", None) or {}
    value = extra.get(EXTRA_KEY) if isinstance(extra, dict) else None
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2 or value[0] not in _JOBS:
        raise ValueError(f"extra_args[{EXTRA_KEY!r}] must be [job key, slot] of a job registered in this process "
                         f"(typicality.lm.vllm_processor.register), got {value!r}; is the engine running in another "
                         "process? (set VLLM_ENABLE_V1_MULTIPROCESSING=0)")
    job, slot = _JOBS[value[0]], value[1]
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < len(job.adaptors):
        raise ValueError(f"extra_args[{EXTRA_KEY!r}]: slot must be an int in [0, {len(job.adaptors)}), got {slot!r}")
    return job, slot


class TypicalityLogitsProcessor(LogitsProcessor):
    """See the module docstring."""

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self.device = device
        #: batch row -> (job, slot, the request's output token list, which vLLM appends to in place)
        self.rows: dict[int, tuple[Job, int, list[int]]] = {}

    @classmethod
    def validate_params(cls, sampling_params: Any) -> None:
        if _opt_in(sampling_params) is None:
            return
        sp = sampling_params
        if sp.temperature != 1.0:
            raise ValueError(f"a typicality request must have temperature 1 (the scheme's temperature is part of its "
                             f"adaptor, applied by the logits processor), got {sp.temperature}")
        if sp.top_p != 1.0 or sp.top_k not in (0, -1, None) or sp.min_p != 0.0:
            raise ValueError("a typicality request must switch vLLM's own top-k, top-p and min-p off (the adaptor "
                             f"does the truncation), got top_k={sp.top_k}, top_p={sp.top_p}, min_p={sp.min_p}")

    def is_argmax_invariant(self) -> bool:
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for i in batch_update.removed:
            self.rows.pop(i, None)
        for i, params, _prompt, output in batch_update.added:
            found = _opt_in(params)
            if found is None:
                self.rows.pop(i, None)
            else:
                self.rows[i] = (*found, output)
        for a, b, direction in batch_update.moved:
            ra, rb = self.rows.pop(a, None), self.rows.pop(b, None)
            if ra is not None:
                self.rows[b] = ra
            if direction == MoveDirectionality.SWAP and rb is not None:
                self.rows[a] = rb

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rows:
            return logits
        by_job: dict[int, list[tuple[int, Job, int, int]]] = {}
        for i, (job, slot, output) in self.rows.items():
            by_job.setdefault(id(job), []).append((i, job, slot, len(output)))
        for items in by_job.values():
            job = items[0][1]
            job.on(logits.device)
            rows = [it[0] for it in items]
            slots = [it[2] for it in items]
            steps = [it[3] for it in items]
            if max(steps) >= job.max_steps:
                raise RuntimeError(f"vLLM asked for token {max(steps) + 1} of a string capped at {job.max_steps} "
                                   "tokens (max_tokens must equal the job's max_new_tokens)")
            idx = torch.tensor(rows, dtype=torch.long, device=logits.device)
            s = torch.tensor(slots, dtype=torch.long, device=logits.device)
            t = torch.tensor(steps, dtype=torch.long, device=logits.device)
            x = logits.index_select(0, idx).to(job.dtype)
            tok, vals, stats = draw_step(x, job.u[s, t], job.adaptor_for(slots), eos_ids=job.eos_ids,
                                         step_stats=job.step_stats)
            job.tokens[s, t] = tok
            job.values[s, :, t] = vals
            if stats is not None:
                job.stats[s, :, t] = stats
            forced = torch.full((len(rows), logits.shape[1]), float("-inf"), dtype=logits.dtype, device=logits.device)
            forced.scatter_(1, tok[:, None], 0.0)
            logits[idx] = forced
        return logits


__all__ = ["EXTRA_KEY", "Job", "TypicalityLogitsProcessor", "register", "unregister"]
