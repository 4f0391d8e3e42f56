"""How the real-model study (§6.2, App. F) loads its language models and its reward.

The study samples continuations y of a prompt x from an *aligned* causal LM (through a sampling adaptor), scores
the same token ids under a *prior* causal LM, and scores the decoded text with a *reward*. Token ids pass from one
model to the other without being decoded and re-tokenized, so the two must share a tokenizer:
:func:`check_same_tokenizer` says so before any work is done.

* :func:`resolve_device`, :func:`resolve_dtype`: the device and float type, checked before anything is loaded.
* :func:`load_causal_lm`: a transformers folder, a hub id (from the local cache when ``HF_HUB_OFFLINE`` is set)
  or a ``.gguf`` file, as a :class:`LoadedLM` (model in eval mode, on the device, in the dtype, with its tokenizer).
* :func:`load_model_info`: the same specs, read without their weights (tokenizer, config, generation config),
  for the checks made before anything heavy is loaded.
* :func:`load_reward`: ``module:function``, ``path/to/file.py:function`` or a score model (sequence
  classification with one label, or a PKU safe-rlhf ``LlamaModelForScore`` with ``kind="safe-rlhf-score"``),
  as a :class:`Reward`: ``reward(prompts, continuations)`` → float64 array. :func:`check_reward_spec` makes its
  checks without reading model weights.
* :func:`secret_reward`: the reward implied by DPO alignment (Eq. 4 without its constant),
  r(x, y) = β·(log p_aligned(y|x) − log p_prior(y|x)).

torch and transformers are imported inside the functions that need them.

>>> aligned = load_causal_lm("path/to/aligned", device="auto")           # doctest: +SKIP
>>> prior = load_causal_lm("path/to/prior.gguf", device="auto")          # doctest: +SKIP
>>> check_same_tokenizer(aligned, prior)                                  # doctest: +SKIP
>>> reward = load_reward("my_rewards:sentiment")                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import numbers
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

#: dtype names :func:`resolve_dtype` accepts besides "auto"
DTYPES = ("float32", "float64", "bfloat16", "float16")

_CUDA = re.compile(r"cuda(?::(\d+))?")
_IDENTIFIER_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.\-]*(?:/[A-Za-z0-9][\w.\-]*)?")


# --------------------------------------------------------------------------------------------- device and dtype


def resolve_device(device: str | torch.device) -> torch.device:
    """The ``torch.device`` named by ``device``: "cpu", "cuda", "cuda:N", "mps" or "auto".

    "auto" is cuda:0 when CUDA is available, else cpu; "cuda" is the current CUDA device. A device that is not
    there (no CUDA, an index ≥ ``torch.cuda.device_count()``, no MPS) or an unknown name is a ``ValueError``
    naming ``device``, raised before any model is loaded.

    >>> resolve_device("cpu")                                             # doctest: +SKIP
    device(type='cpu')
    """
    import torch

    name = str(device).strip().lower()
    if name == "cpu":
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r}: MPS is not available on this machine")
        return torch.device("mps")
    match = _CUDA.fullmatch(name)
    if match is None:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available on this machine (torch {torch.__version__})")
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if match.group(1) is None else int(match.group(1))
    if index >= count:
        raise ValueError(f"device {device!r}: there is no CUDA device {index}, this machine has {count}")
    return torch.device("cuda", index)


def resolve_dtype(dtype: str | torch.dtype, device: str | torch.device = "cpu") -> torch.dtype:
    """The ``torch.dtype`` named by ``dtype``: "auto", "float32", "float64", "bfloat16" or "float16".

    "auto" is float32 on any device but CUDA (exact enough for log-probabilities and fast on a CPU), and on CUDA
    bfloat16 where the GPU supports it, else float16. A ``torch.dtype`` among these four is accepted as is.
    Anything else is a ``ValueError`` naming ``dtype``.

    >>> resolve_dtype("auto", "cpu")                                      # doctest: +SKIP
    torch.float32
    """
    import torch

    allowed = {name: getattr(torch, name) for name in DTYPES}
    if isinstance(dtype, torch.dtype):
        if dtype not in allowed.values():
            raise ValueError(f"dtype must be one of {DTYPES} or 'auto', got {dtype!r}")
        return dtype
    name = str(dtype).strip().lower()
    if name == "auto":
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        if dev.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if name not in allowed:
        raise ValueError(f"dtype must be one of {DTYPES} or 'auto', got {dtype!r}")
    return allowed[name]


# --------------------------------------------------------------------------------------------- the loaded model


def _ids(value: Any) -> list[int]:
    """A token id field (None, an int, or a list of ints) as a list."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


@dataclass
class LoadedLM:
    """A causal LM with its tokenizer, where it lives and in which float type.

    ``spec`` is what it was loaded from (a folder, a hub id, a ``.gguf`` file). The properties read the special
    token ids without changing the tokenizer or the model.
    """

    model: Any
    tokenizer: Any
    spec: str
    device: torch.device
    dtype: torch.dtype

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        """Every id that ends a string: the generation config's eos (an int or a list; the model config's if
        there is no generation config), then the tokenizer's, without repeats. Empty if none is set."""
        generation = getattr(self.model, "generation_config", None)
        source = generation if generation is not None else getattr(self.model, "config", None)
        found = _ids(getattr(source, "eos_token_id", None)) + _ids(getattr(self.tokenizer, "eos_token_id", None))
        return tuple(dict.fromkeys(found))

    @property
    def bos_token_id(self) -> int | None:
        """The tokenizer's BOS id, else the generation config's (or the model config's), else None."""
        tokenizer_bos = getattr(self.tokenizer, "bos_token_id", None)
        if tokenizer_bos is not None:
            return int(tokenizer_bos)
        for source in (getattr(self.model, "generation_config", None), getattr(self.model, "config", None)):
            ids = _ids(getattr(source, "bos_token_id", None))
            if ids:
                return ids[0]
        return None

    @property
    def pad_token_id(self) -> int | None:
        """The tokenizer's pad id, else the generation config's, else the first eos id (a tokenizer without a pad
        token is left as it is: padding positions are masked, so any id serves), else None."""
        tokenizer_pad = getattr(self.tokenizer, "pad_token_id", None)
        if tokenizer_pad is not None:
            return int(tokenizer_pad)
        ids = _ids(getattr(getattr(self.model, "generation_config", None), "pad_token_id", None))
        if ids:
            return ids[0]
        eos = self.eos_token_ids
        return eos[0] if eos else None

    @property
    def vocab_size(self) -> int:
        """The width of the logits: the rows of the output embedding, which may exceed ``len(tokenizer)`` (models
        pad it to a multiple of 64 or 128, say)."""
        return _logits_width(self.model)


def _logits_width(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None:
        out_features = getattr(head, "out_features", None)
        if out_features is not None:
            return int(out_features)
        return int(head.weight.shape[0])
    return int(model.config.get_text_config().vocab_size)


# --------------------------------------------------------------------------------------------- where a model is


def _hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set now (read at call time: huggingface_hub reads it once, at import)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return False
    return bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _looks_like_path(spec: str) -> bool:
    return (spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or "\\" in spec or spec.count("/") > 1
            or spec in (".", ".."))


@dataclass(frozen=True)
class _Source:
    """Where a model's files are: ``kind`` is "folder", "gguf" (``folder`` + ``gguf_file``) or "hub" (``name``
    is a hub id that transformers will download, online only)."""

    kind: str
    name: str
    gguf_file: str | None = None


def _locate(spec: str, *, revision: str | None, allow_gguf: bool = True) -> _Source:
    """Decide, without loading anything, what ``spec`` names; missing paths and uncached hub ids fail here."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec must be a folder, a hub id or a .gguf file, got {spec!r}")
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ValueError(f"spec {spec!r} is a file but not a .gguf file: give the model's folder instead")
        if not allow_gguf:
            raise ValueError(f"spec {spec!r}: a reward model cannot be loaded from a GGUF file (transformers reads "
                             "only causal LMs from GGUF); give the score model's folder")
        return _Source("gguf", str(path.parent), path.name)
    if path.is_dir():
        return _Source("folder", str(path))
    if spec.lower().endswith(".gguf"):
        raise FileNotFoundError(f"spec {spec!r}: no such GGUF file")
    if _looks_like_path(spec):
        raise FileNotFoundError(f"spec {spec!r}: no such file or folder")
    if not _HUB_ID.fullmatch(spec):
        raise ValueError(f"spec {spec!r} is neither a folder, a .gguf file nor a hub id ('org/name')")
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id=spec, revision=revision, local_files_only=True)
    except Exception as error:  # huggingface_hub raises several types for "not in the cache"
        if _hub_offline():
            raise ValueError(f"spec {spec!r} is neither a folder nor a cached hub id (HF_HUB_OFFLINE is set, so "
                             f"nothing is downloaded; revision {revision!r}): {error}") from error
        warnings.warn(f"{spec!r} is not a local folder, a .gguf file or a cached hub id: downloading it from the "
                      "Hugging Face hub (a model folder needs a path such as ./name; HF_HUB_OFFLINE=1 refuses "
                      "instead of downloading)", stacklevel=3)
        return _Source("hub", spec)
    return _Source("folder", folder)


def _weights_kwargs(source: _Source) -> dict[str, Any]:
    """``use_safetensors=True`` when the folder has safetensors files (so a pickle is never read instead)."""
    if source.kind == "folder" and any(Path(source.name).glob("*.safetensors")):
        return {"use_safetensors": True}
    return {}


def _require_gguf() -> None:
    try:
        import accelerate  # noqa: F401
        import gguf  # noqa: F401
    except ImportError as error:
        raise ValueError(f"loading a .gguf file needs the 'gguf' and 'accelerate' packages ({error}): "
                         "pip install gguf accelerate") from error


# --------------------------------------------------------------------------------------------- causal LMs


def load_causal_lm(spec: str, *, device: str | torch.device = "cpu", dtype: str | torch.dtype = "auto",
                   trust_remote_code: bool = False, revision: str | None = None) -> LoadedLM:
    """Load a causal LM and its tokenizer from a folder, a hub id or a ``.gguf`` file.

    * a folder: ``from_pretrained(folder)``, with ``use_safetensors=True`` when it holds safetensors files;
    * a hub id ("org/name"): from the local Hugging Face cache (at ``revision``). With ``HF_HUB_OFFLINE=1`` (read
      when this is called) an id that is not cached is a ``ValueError`` naming it; online, transformers downloads;
    * a ``.gguf`` file: ``from_pretrained(folder, gguf_file=name)`` for the model and the tokenizer (needs the
      ``gguf`` and ``accelerate`` packages), dequantized to ``dtype``. transformers' byte-level GGUF tokenizer
      gains a token that is not in the file (its class default ``<|endoftext|>``, at the id just past the
      vocabulary, where the model has no row); it is removed, so the tokenizer is the file's.

    The device and dtype are checked first (:func:`resolve_device`, :func:`resolve_dtype`), then that ``spec``
    exists (``FileNotFoundError`` for a missing path), before anything heavy. ``trust_remote_code`` is passed to
    transformers as given (False unless asked). The model is returned in eval mode, on the device, in the dtype.
    """
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    source, kwargs = _causal_source(spec, trust_remote_code=trust_remote_code, revision=revision)
    from transformers import AutoModelForCausalLM

    with _unloadable_hub_id(spec, source, "spec"):
        tokenizer = _load_tokenizer(source, kwargs)
        model = AutoModelForCausalLM.from_pretrained(source.name, **_dtype_kwargs(torch_dtype),
                                                     **_weights_kwargs(source), **_placement(dev), **kwargs)
    model = model.to(dev).eval()
    return LoadedLM(model=model, tokenizer=tokenizer, spec=spec, device=dev, dtype=torch_dtype)


@dataclass(frozen=True)
class ConfigOnlyModel:
    """A causal LM's configs without its weights, as :func:`load_model_info` returns it in ``LoadedLM.model``.

    It has what :class:`LoadedLM`'s properties read: ``config``, ``generation_config``, and
    ``get_output_embeddings()``, which is None, so that :attr:`LoadedLM.vocab_size` is the text config's
    ``vocab_size`` (the rows transformers gives the output embedding when it builds the model).
    """

    config: Any
    generation_config: Any

    def get_output_embeddings(self) -> None:
        return None


def load_model_info(spec: str, *, trust_remote_code: bool = False, revision: str | None = None) -> LoadedLM:
    """What the study checks before any weight is read: ``spec``'s tokenizer, model config and generation config.

    ``spec`` is what :func:`load_causal_lm` takes (a folder, a cached hub id, a ``.gguf`` file, located the same
    way, with the same errors), and the tokenizer is the one it would return (for a GGUF file without the token
    transformers adds). The returned :class:`LoadedLM` holds a :class:`ConfigOnlyModel` on the CPU in float32,
    so its ``eos_token_ids``, ``bos_token_id``, ``pad_token_id`` and ``vocab_size`` are those of the loaded model,
    and :func:`check_same_tokenizer` can compare two of them. The generation config is read as transformers reads
    it when it loads the model: ``generation_config.json`` if the folder has one, else derived from the model
    config (always so for a GGUF file). No weight file is opened (a GGUF file's metadata is read, not its tensors).

    >>> info = load_model_info("path/to/model.gguf")                      # doctest: +SKIP
    >>> info.eos_token_ids, info.vocab_size                               # doctest: +SKIP
    ((2,), 32000)
    """
    source, kwargs = _causal_source(spec, trust_remote_code=trust_remote_code, revision=revision)
    import torch
    from transformers import AutoConfig

    with _unloadable_hub_id(spec, source, "spec"):
        tokenizer = _load_tokenizer(source, kwargs)
        config = AutoConfig.from_pretrained(source.name, **kwargs)
        generation_config = _generation_config(source, config, revision)
    return LoadedLM(model=ConfigOnlyModel(config, generation_config), tokenizer=tokenizer, spec=spec,
                    device=torch.device("cpu"), dtype=torch.float32)


def _causal_source(spec: str, *, trust_remote_code: bool, revision: str | None) -> tuple[_Source, dict[str, Any]]:
    """Where a causal LM's files are (GGUF support checked) and the keywords its ``from_pretrained`` calls get."""
    source = _locate(spec, revision=revision)
    if source.kind == "gguf":
        _require_gguf()
    return source, _hf_kwargs(source, trust_remote_code=trust_remote_code, revision=revision)


def _hf_kwargs(source: _Source, *, trust_remote_code: bool, revision: str | None) -> dict[str, Any]:
    """The keywords every ``from_pretrained`` of ``source`` gets."""
    kwargs: dict[str, Any] = {"trust_remote_code": bool(trust_remote_code)}
    if source.kind == "hub":
        kwargs["revision"] = revision
    if source.kind == "gguf":
        kwargs["gguf_file"] = source.gguf_file
    return kwargs


@contextmanager
def _unloadable_hub_id(spec: str, source: _Source, label: str) -> Iterator[None]:
    """An ``OSError`` while loading a hub id (not a folder or a file, which exist) as a ``ValueError`` naming it."""
    try:
        yield
    except OSError as error:
        if source.kind != "hub":
            raise
        raise ValueError(f"{label} {spec!r} is neither a folder nor a hub id that could be loaded: "
                         f"{error}") from error


def _load_tokenizer(source: _Source, kwargs: dict[str, Any]) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.name, **kwargs)
    # a cheap test first (the file's tokens are the base vocabulary) before the file is read again
    if source.kind == "gguf" and any(i >= tokenizer.vocab_size for i in tokenizer.added_tokens_decoder):
        tokenizer = _without_tokens_beyond(tokenizer, _gguf_token_count(Path(source.name) / str(source.gguf_file)))
    return tokenizer


def _generation_config(source: _Source, config: Any, revision: str | None) -> Any:
    """The generation config ``from_pretrained`` gives the model: the folder's file, else one derived from
    ``config``; transformers reads no generation file beside a GGUF file."""
    from transformers import GenerationConfig

    if source.kind != "gguf":
        try:
            return GenerationConfig.from_pretrained(source.name, **({"revision": revision}
                                                                    if source.kind == "hub" else {}))
        except OSError:
            pass
    return GenerationConfig.from_model_config(config)


def _dtype_kwargs(dtype: torch.dtype) -> dict[str, Any]:
    """``dtype=`` for ``from_pretrained`` (transformers ≥ 4.56; ``torch_dtype=`` before, which 5.x deprecates)."""
    import transformers

    major, minor = (int(part) for part in re.findall(r"\d+", transformers.__version__)[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def _placement(device: torch.device) -> dict[str, Any]:
    """Load straight onto an accelerator (no full copy in host memory first) when accelerate is there."""
    if device.type == "cpu" or importlib.util.find_spec("accelerate") is None:
        return {}
    return {"device_map": {"": str(device)}}


def _gguf_token_count(path: Path) -> int:
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields.get("tokenizer.ggml.tokens")
    if field is None:
        raise ValueError(f"spec {str(path)!r}: the GGUF file has no tokenizer (no tokenizer.ggml.tokens)")
    return len(field.data)


def _without_tokens_beyond(tokenizer: Any, count: int) -> Any:
    """``tokenizer`` without the added tokens whose ids are ≥ ``count`` (unchanged if there are none)."""
    extra = [i for i in tokenizer.added_tokens_decoder if i >= count]
    if not extra:
        return tokenizer
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["id"] < count]
    backend = Tokenizer.from_str(json.dumps(state))
    special = {name: getattr(tokenizer, name, None) for name in ("bos_token", "eos_token", "unk_token", "pad_token")}
    rebuilt = PreTrainedTokenizerFast(tokenizer_object=backend, name_or_path=tokenizer.name_or_path,
                                      chat_template=getattr(tokenizer, "chat_template", None),
                                      add_bos_token=getattr(tokenizer, "add_bos_token", False),
                                      add_eos_token=getattr(tokenizer, "add_eos_token", False),
                                      **{k: v for k, v in special.items() if v is not None and
                                         backend.token_to_id(str(v)) is not None})
    return rebuilt


# --------------------------------------------------------------------------------------------- same tokenizer


def _token_map(tokenizer: Any) -> dict[str, int]:
    vocab = dict(tokenizer.get_vocab())
    for token_id, token in getattr(tokenizer, "added_tokens_decoder", {}).items():
        vocab.setdefault(str(token), int(token_id))
    return vocab


def check_same_tokenizer(a: LoadedLM, b: LoadedLM, names: tuple[str, str] = ("aligned", "prior")) -> int:
    """Raise ``ValueError`` unless ``a`` and ``b`` give every token the same id and end strings with the same ids.

    Token ids sampled from one model are scored by the other without re-tokenizing, so the two token → id maps
    (``get_vocab()`` with the added tokens) must be equal, and so must the sets of eos ids. The message names
    both models and the first id (or token) where they differ.

    The logits widths (:attr:`LoadedLM.vocab_size`) may differ, by padding rows of the output embedding: every
    id the tokenizer uses must have a row in both models (else ``ValueError``), and ids past the tokenizer's
    are rows no token uses. Returns the number of ids the tokenizer uses (its largest id + 1), which both
    models score; a sampler gives the ids from there on probability zero if the widths differ.
    """
    first, second = f"{names[0]} ({a.spec!r})", f"{names[1]} ({b.spec!r})"
    map_a, map_b = _token_map(a.tokenizer), _token_map(b.tokenizer)
    if map_a != map_b:
        by_id_a = {i: t for t, i in sorted(map_a.items(), key=lambda item: item[1], reverse=True)}
        by_id_b = {i: t for t, i in sorted(map_b.items(), key=lambda item: item[1], reverse=True)}
        differing = [i for i in sorted(set(by_id_a) | set(by_id_b)) if by_id_a.get(i) != by_id_b.get(i)]
        if differing:
            i = differing[0]
            detail = f"token id {i} is {by_id_a.get(i)!r} in {names[0]} and {by_id_b.get(i)!r} in {names[1]}"
        else:  # the same id → token maps, but a token spelled twice maps to different ids
            token = min((t for t in set(map_a) | set(map_b) if map_a.get(t) != map_b.get(t)), key=str)
            detail = f"token {token!r} has id {map_a.get(token)} in {names[0]} and {map_b.get(token)} in {names[1]}"
        raise ValueError(f"{first} and {second} do not share a tokenizer ({len(map_a)} vs {len(map_b)} tokens): "
                         f"{detail}. Token ids pass from one model to the other without re-tokenizing, so both "
                         "must use the same tokenizer.")
    eos_a, eos_b = sorted(a.eos_token_ids), sorted(b.eos_token_ids)
    if eos_a != eos_b:
        raise ValueError(f"{first} and {second} end strings with different eos token ids: {eos_a} "
                         f"({[a.tokenizer.convert_ids_to_tokens(i) for i in eos_a]}) vs {eos_b} "
                         f"({[b.tokenizer.convert_ids_to_tokens(i) for i in eos_b]})")
    used = max(map_a.values(), default=-1) + 1
    for name, lm in zip(names, (a, b), strict=True):
        width = lm.vocab_size
        if used > width:
            token = next(t for t, i in map_a.items() if i == used - 1)
            raise ValueError(f"{name} ({lm.spec!r}): token id {used - 1} ({token!r}) of its tokenizer is outside "
                             f"its model's logits (width {width})")
    return used


# --------------------------------------------------------------------------------------------- rewards


@runtime_checkable
class Reward(Protocol):
    """A reward on text: ``reward(prompts, continuations)`` → float64 array, one value per pair."""

    name: str

    def __call__(self, prompts: Sequence[str], continuations: Sequence[str]) -> np.ndarray: ...


def _check_texts(prompts: Sequence[str], continuations: Sequence[str]) -> None:
    for label, texts in (("prompts", prompts), ("continuations", continuations)):
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise ValueError(f"{label} must be a list of strings, got {type(texts).__name__}")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"{label}[{i}] must be a string, got {type(text).__name__} {text!r}")
    if len(prompts) != len(continuations):
        raise ValueError(f"continuations has {len(continuations)} items but prompts has {len(prompts)}")


def _validated(values: Any, n: int, name: str) -> np.ndarray:
    """``values`` as a float64 array of n finite reals, or a ValueError naming the function ``name``."""
    where = f"reward function {name}"
    if isinstance(values, str | bytes | Mapping) or values is None:
        raise ValueError(f"{where} returned {type(values).__name__} {values!r:.80}; expected a list of {n} real "
                         "numbers")
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    elif not isinstance(values, np.ndarray | Sequence) and hasattr(values, "__array__"):
        values = np.asarray(values)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{where} returned an array of shape {values.shape}; expected shape ({n},)")
        items = values.tolist()
    elif isinstance(values, Sequence):
        items = list(values)
    else:
        raise ValueError(f"{where} returned {type(values).__name__}; expected a list of {n} real numbers")
    if len(items) != n:
        raise ValueError(f"{where} returned {len(items)} values for {n} (prompt, continuation) pairs")
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"{where}: value at index {i} is {type(v).__name__} {v!r:.80}, not a real number")
        if not math.isfinite(v):
            raise ValueError(f"{where}: non-finite value {v!r} at index {i}")
    return np.asarray(items, dtype=np.float64)


class FunctionReward:
    """A Python function ``f(prompts, continuations) -> list[float]`` as a :class:`Reward`.

    Every result is checked: a sequence (or 1-d array) of exactly ``len(prompts)`` finite real numbers (bools
    are not numbers here), else a ``ValueError`` naming the function.
    """

    def __init__(self, function: Callable[[list[str], list[str]], Any], name: str) -> None:
        if not callable(function):
            raise ValueError(f"function must be callable, got {function!r}")
        self.function = function
        self.name = name

    def __call__(self, prompts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        _check_texts(prompts, continuations)
        if len(prompts) == 0:
            return np.zeros(0)
        return _validated(self.function(list(prompts), list(continuations)), len(prompts), self.name)

    def __repr__(self) -> str:
        return f"FunctionReward({self.name!r})"


def _check_batching(batch_size: Any, max_length: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length < 1):
        raise ValueError(f"max_length must be a positive integer or None, got {max_length!r}")


class _TokenizedReward:
    """What the model rewards share: ``prompt + continuation`` tokenized, truncated, scored in batches."""

    def __init__(self, model: Any, tokenizer: Any, name: str, *, batch_size: int = 8,
                 max_length: int | None = None) -> None:
        _check_batching(batch_size, max_length)
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size
        self.max_length = max_length

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def encode(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[list[int]]:
        """The token ids the model scores: ``prompt + continuation``, truncated to ``max_length``."""
        texts = [p + c for p, c in zip(prompts, continuations, strict=True)]
        truncate = {"truncation": True, "max_length": self.max_length} if self.max_length is not None else {}
        encoded = [list(ids) for ids in self.tokenizer(texts, **truncate)["input_ids"]]
        for i, ids in enumerate(encoded):
            if not ids:
                raise ValueError(f"reward model {self.name!r}: prompt + continuation {i} ({texts[i]!r:.80}) "
                                 "tokenizes to no token")
        return encoded

    def __call__(self, prompts: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        _check_texts(prompts, continuations)
        encoded = self.encode(prompts, continuations)
        scores = np.zeros(len(encoded))
        for start in range(0, len(encoded), self.batch_size):
            scores[start:start + self.batch_size] = self._score(encoded[start:start + self.batch_size])
        return scores

    def _score(self, batch: list[list[int]]) -> np.ndarray:
        raise NotImplementedError

    def _right_padded(self, batch: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``batch`` padded on the right (input ids, attention mask, on the model's device) and the pad id: the
        config's pad id if no text of the batch uses it, else the smallest id none uses."""

        used = {i for ids in batch for i in ids}
        pad = self.model.config.get_text_config().pad_token_id
        if pad is None or pad in used:
            pad = next((i for i in range(_input_rows(self.model)) if i not in used), None)
            if pad is None:
                raise ValueError(f"reward model {self.name!r}: a batch uses every token id, none is left to pad "
                                 "with; lower batch_size")
        from typicality.lm.padding import pad_batch

        input_ids, mask = pad_batch(batch, pad, side="right")
        return input_ids.to(self.device), mask.to(self.device), pad

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ModelReward(_TokenizedReward):
    """A score model (sequence classification, one label) as a :class:`Reward` on ``prompt + continuation``.

    The text is the prompt as given (already templated, "Human: … Assistant:") followed by the decoded
    continuation, tokenized with the model's tokenizer (its special tokens added as it adds them), truncated to
    ``max_length`` tokens on the tokenizer's ``truncation_side`` if given. Batches are padded on the right
    whatever the tokenizer's ``padding_side``: transformers' sequence classifiers are not given position ids,
    so with left padding a model with absolute positions (GPT-2) would see shifted positions and give another
    score (rotary ones, Llama, would not, up to rounding). The score is ``logits[:, 0]`` at the last real token
    of each row, in float64.

    transformers reads the score at the rightmost token that is not ``config.pad_token_id``, which is wrong
    when a text ends with that id (a pad token that doubles as eos, say). So each batch is padded with an id
    none of its texts uses (the config's pad id if it can be), set as ``pad_token_id`` for that forward pass only.
    """

    def __init__(self, model: Any, tokenizer: Any, name: str, *, batch_size: int = 8,
                 max_length: int | None = None) -> None:
        _check_batching(batch_size, max_length)
        num_labels = model.config.num_labels
        if num_labels != 1:
            raise ValueError(f"reward model {name!r} has num_labels = {num_labels}; a score model has one")
        super().__init__(model, tokenizer, name, batch_size=batch_size, max_length=max_length)

    def _score(self, batch: list[list[int]]) -> np.ndarray:
        import torch

        input_ids, mask, pad = self._right_padded(batch)
        config = self.model.config.get_text_config()
        saved = config.pad_token_id
        config.pad_token_id = pad
        try:
            with torch.inference_mode():
                logits = self.model(input_ids=input_ids, attention_mask=mask).logits
        finally:
            config.pad_token_id = saved
        return logits[:, 0].to(torch.float64).cpu().numpy()


class SafeRLHFScoreReward(_TokenizedReward):
    """A PKU safe-rlhf score model (``LlamaModelForScore``, the paper's ``ethz-spylab/reward_model``) as a
    :class:`Reward`: its *end score*, the linear score head applied to the backbone's last hidden state at the
    last real token of ``prompt + continuation``.

    ``model`` is the transformers backbone (a ``LlamaModel``); ``score_weight`` (shape (1, hidden)) and
    ``score_bias`` (shape (1,), or None) are the checkpoint's ``score_head.weight`` and ``score_head.bias``. The
    text is tokenized, truncated and padded on the right as :class:`ModelReward` does (the pad id is one no text
    of the batch uses, though here the score does not depend on it: it is read at each row's last real token).
    The head is applied in float64 on the CPU to the hidden state in the model's dtype (safe-rlhf applies it in
    the model's dtype, then casts to float32).
    """

    def __init__(self, model: Any, tokenizer: Any, name: str, score_weight: torch.Tensor,
                 score_bias: torch.Tensor | None = None, *, batch_size: int = 8,
                 max_length: int | None = None) -> None:
        import torch

        hidden = model.config.get_text_config().hidden_size
        if tuple(score_weight.shape) != (1, hidden):
            raise ValueError(f"reward model {name!r}: score_weight has shape {tuple(score_weight.shape)}, expected "
                             f"(1, {hidden}) (one score from the hidden size {hidden})")
        if score_bias is not None and tuple(score_bias.shape) != (1,):
            raise ValueError(f"reward model {name!r}: score_bias has shape {tuple(score_bias.shape)}, expected (1,)")
        super().__init__(model, tokenizer, name, batch_size=batch_size, max_length=max_length)
        self.score_weight = score_weight.detach().to("cpu", torch.float64)
        self.score_bias = None if score_bias is None else score_bias.detach().to("cpu", torch.float64)

    def _score(self, batch: list[list[int]]) -> np.ndarray:
        import torch

        input_ids, mask, _ = self._right_padded(batch)
        with torch.inference_mode():
            hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            rows = torch.arange(len(batch), device=hidden.device)
            last = torch.tensor([len(ids) - 1 for ids in batch], device=hidden.device)
            end = hidden[rows, last].to("cpu", torch.float64)
        scores = end @ self.score_weight.T
        if self.score_bias is not None:
            scores = scores + self.score_bias
        return scores[:, 0].numpy()


def _input_rows(model: Any) -> int:
    """The number of rows of the input embedding (the ids a model accepts)."""
    return int(model.get_input_embeddings().weight.shape[0])


def _reward_function(spec: str) -> FunctionReward | None:
    """The function named by ``module:function`` or ``path/to/file.py:function``; None if ``spec`` is neither."""
    if ":" not in spec or Path(spec).expanduser().is_dir():
        return None
    location, attribute = spec.rsplit(":", 1)
    if not _IDENTIFIER_PATH.fullmatch(attribute):
        raise ValueError(f"reward spec {spec!r}: {attribute!r} after the last ':' is not a function name")
    if location.endswith(".py"):
        path = Path(location).expanduser()
        if not path.is_file():
            raise ValueError(f"reward spec {spec!r}: no such file {location!r}")
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        stem = re.sub(r"\W", "_", path.stem)
        module_name = f"_typicality_reward_{stem}_{digest}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ValueError(f"reward spec {spec!r}: cannot load {location!r} as a Python module")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module  # so that dataclasses and pickling inside it work
        try:
            loader_spec.loader.exec_module(module)
        except Exception:
            sys.modules.pop(module_name, None)
            raise
    elif _IDENTIFIER_PATH.fullmatch(location):
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as error:
            raise ValueError(f"reward spec {spec!r}: cannot import module {location!r} ({error})") from error
    else:
        raise ValueError(f"reward spec {spec!r} has a ':' but is neither 'module:function' nor "
                         "'path/to/file.py:function'")
    function: Any = module
    for part in attribute.split("."):
        if not hasattr(function, part):
            raise ValueError(f"reward spec {spec!r}: {location!r} has no function {attribute!r}")
        function = getattr(function, part)
    if not callable(function):
        raise ValueError(f"reward spec {spec!r}: {attribute!r} in {location!r} is {type(function).__name__}, "
                         "not a function")
    return FunctionReward(function, spec)


#: the kinds of reward model :func:`load_reward` reads: "auto" (sequence classification with one label) and
#: "safe-rlhf-score" (PKU safe-rlhf's LlamaModelForScore, the score at the last token)
REWARD_KINDS = ("auto", "safe-rlhf-score", "vader")

#: the one spec of the reward kind "vader" (VADER's sentiment score, typicality.lm.mini.reward)
VADER_SPEC = "vader"

#: the checkpoint files a safe-rlhf score head is read from, in the order transformers prefers them
_CHECKPOINT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                     "pytorch_model.bin.index.json")


def _check_reward_kind(kind: Any) -> None:
    if kind not in REWARD_KINDS:
        raise ValueError(f"kind must be one of {REWARD_KINDS}, got {kind!r}")


def _check_reward_spec_text(spec: Any) -> None:
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"reward spec must be 'module:function', 'file.py:function' or a model, got {spec!r}")


def _vader_reward(spec: str) -> FunctionReward:
    """The reward kind "vader": VADER's compound score of ``prompt + continuation``, in [-1, 1]."""
    if spec != VADER_SPEC:
        raise ValueError(f"reward spec must be {VADER_SPEC!r} for kind 'vader', got {spec!r}")
    from typicality.lm.mini.reward import _analyzer, vader_pair_reward

    _analyzer()  # a missing vaderSentiment is an ImportError naming it, here rather than at the first call
    return FunctionReward(vader_pair_reward, VADER_SPEC)


def _reward_config(spec: str, source: _Source, kind: str, kwargs: dict[str, Any]) -> Any:
    """The reward model's config, checked for ``kind`` before any weight is read."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source.name, **kwargs)
    architectures = getattr(config, "architectures", None)
    if kind == "auto":
        if config.num_labels != 1:
            hint = ""
            if any(str(name).endswith("ForScore") for name in architectures or ()):
                hint = " (this looks like a PKU safe-rlhf score model: load it with kind='safe-rlhf-score')"
            raise ValueError(f"reward model {spec!r} has num_labels = {config.num_labels} (architectures "
                             f"{architectures}); a score model has exactly one label{hint}")
        return config
    score_dim = getattr(config, "score_dim", None)
    if score_dim is None:
        score_dim = 1
    if isinstance(score_dim, bool) or not isinstance(score_dim, int) or score_dim != 1:
        raise ValueError(f"reward model {spec!r} (kind 'safe-rlhf-score') has score_dim = {score_dim!r} in its "
                         "config; a reward has one score (score_dim = 1)")
    if getattr(config, "do_normalize", False):
        raise ValueError(f"reward model {spec!r} (kind 'safe-rlhf-score') has do_normalize = true in its config: "
                         "its scores are normalized by running statistics, which this loader does not apply")
    return config


def _checkpoint_file(source: _Source, filename: str, revision: str | None) -> Path | None:
    """``filename`` of the model's folder (downloaded for a hub id), or None if it has none."""
    if source.kind == "folder":
        path = Path(source.name) / filename
        return path if path.is_file() else None
    from transformers.utils import cached_file

    found = cached_file(source.name, filename, revision=revision, _raise_exceptions_for_missing_entries=False)
    return None if found is None else Path(found)


def _read_tensors(path: Path, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """The tensors of ``names`` that the checkpoint file ``path`` holds (safetensors or a torch pickle)."""
    if path.name.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as file:
            present = set(file.keys())
            return {name: file.get_tensor(name) for name in names if name in present}
    import torch

    try:  # mapped, so that only the head's bytes of a large shard are read
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # a file in torch's legacy (non-zip) format cannot be mapped
        state = torch.load(path, map_location="cpu", weights_only=True)
    return {name: state[name].clone() for name in names if name in state}


def _safe_rlhf_score_head(spec: str, source: _Source, config: Any,
                          revision: str | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``score_head.weight`` and (if the config's ``bias`` is true) ``score_head.bias`` from the checkpoint files,
    checked against the config: a missing or misshapen tensor is a ``ValueError`` naming ``spec``."""
    names = ["score_head.weight", "score_head.bias"]
    bias = bool(getattr(config, "bias", False))
    for filename in _CHECKPOINT_FILES:
        path = _checkpoint_file(source, filename, revision)
        if path is None:
            continue
        if filename.endswith(".index.json"):
            weight_map = json.loads(path.read_text()).get("weight_map", {})
            tensors: dict[str, torch.Tensor] = {}
            for shard in dict.fromkeys(weight_map[name] for name in names if name in weight_map):
                shard_path = _checkpoint_file(source, shard, revision)
                if shard_path is None:
                    raise ValueError(f"reward model {spec!r}: {filename} names the shard {shard!r}, which is "
                                     "missing")
                tensors.update(_read_tensors(shard_path, names))
        else:
            tensors = _read_tensors(path, names)
        break
    else:
        raise ValueError(f"reward model {spec!r} (kind 'safe-rlhf-score'): {source.name!r} has none of the "
                         f"checkpoint files {_CHECKPOINT_FILES}")
    where = f"reward model {spec!r} (kind 'safe-rlhf-score', checkpoint {filename})"
    if "score_head.weight" not in tensors:
        raise ValueError(f"{where} has no tensor 'score_head.weight': a safe-rlhf score model keeps its score "
                         "head there (is this a LlamaModelForScore checkpoint?)")
    if bias and "score_head.bias" not in tensors:
        raise ValueError(f"{where}: its config has bias = true but the checkpoint has no 'score_head.bias'")
    if not bias and "score_head.bias" in tensors:
        raise ValueError(f"{where} has a 'score_head.bias' but its config has bias = "
                         f"{getattr(config, 'bias', None)!r}; safe-rlhf would ignore that bias")
    hidden = config.get_text_config().hidden_size
    weight = tensors["score_head.weight"]
    if tuple(weight.shape) != (1, hidden):
        raise ValueError(f"{where}: score_head.weight has shape {tuple(weight.shape)}, expected (1, {hidden}) "
                         f"(score_dim 1, hidden size {hidden})")
    head_bias = tensors.get("score_head.bias")
    if head_bias is not None and tuple(head_bias.shape) != (1,):
        raise ValueError(f"{where}: score_head.bias has shape {tuple(head_bias.shape)}, expected (1,)")
    return weight, head_bias


def _check_backbone_loaded(spec: str, info: Mapping[str, Any]) -> None:
    """A backbone weight that transformers did not find in the checkpoint (so initialized at random) is an error."""
    for key, what in (("missing_keys", "are missing from the checkpoint (under the prefix 'model.')"),
                      ("mismatched_keys", "have another shape in the checkpoint")):
        found = sorted(str(k) for k in info.get(key) or ())
        if found:
            raise ValueError(f"reward model {spec!r} (kind 'safe-rlhf-score'): {len(found)} backbone weight(s) "
                             f"{what} and would be random: {found[:5]}")
    if info.get("error_msgs"):
        raise ValueError(f"reward model {spec!r} (kind 'safe-rlhf-score'): loading the backbone failed: "
                         f"{info['error_msgs']}")


def check_reward_spec(spec: str, *, kind: str = "auto", trust_remote_code: bool = False,
                      revision: str | None = None) -> None:
    """The checks of :func:`load_reward` that read no model weight, with its errors.

    A function spec (``module:function``, ``path/to/file.py:function``) is resolved: the module is imported or
    the file executed, and the function looked up. A model spec is located (a missing path is a
    ``FileNotFoundError``; a GGUF file, an uncached hub id offline, a ``ValueError``), its config and tokenizer
    are read and the config checked for ``kind``: one label for "auto"; for "safe-rlhf-score" a ``score_dim`` of
    1 (or none), and the score head read from the checkpoint (a few numbers; for a hub id not in the cache,
    online, this downloads the file that holds it) and checked against the config.
    """
    _check_reward_kind(kind)
    _check_reward_spec_text(spec)
    if kind == "vader":
        _vader_reward(spec)
        return
    if _reward_function(spec) is not None:
        return
    source = _locate(spec, revision=revision, allow_gguf=False)
    kwargs = _hf_kwargs(source, trust_remote_code=trust_remote_code, revision=revision)
    with _unloadable_hub_id(spec, source, "reward spec"):
        config = _reward_config(spec, source, kind, kwargs)
        _load_tokenizer(source, kwargs)
        if kind == "safe-rlhf-score":
            _safe_rlhf_score_head(spec, source, config, revision)


def load_reward(spec: str, *, kind: str = "auto", device: str | torch.device = "cpu",
                dtype: str | torch.dtype = "auto", batch_size: int = 8, max_length: int | None = None,
                trust_remote_code: bool = False, revision: str | None = None) -> Reward:
    """Load the reward named by ``spec``.

    * ``module:function`` (an importable module) or ``path/to/file.py:function`` (loaded from the file): a
      :class:`FunctionReward`, called as ``f(prompts, continuations) -> list[float]`` and checked every call.
      A missing module, file or function is a ``ValueError`` naming it, here.
    * anything else (a folder or a hub id, which has no ':'): a reward model, located like
      :func:`load_causal_lm`, of ``kind``:

      - "auto": a score model loaded with ``AutoModelForSequenceClassification``, as a :class:`ModelReward`; a
        model whose config does not have ``num_labels == 1`` (a causal LM, say) is a ``ValueError`` before its
        weights are read.
      - "safe-rlhf-score": a PKU safe-rlhf ``LlamaModelForScore`` (the paper's ``ethz-spylab/reward_model``), as
        a :class:`SafeRLHFScoreReward`. Its config must have ``score_dim`` 1 (a missing one counts as 1) and
        no ``do_normalize``; the score head (``score_head.weight``, and ``score_head.bias`` if the config's
        ``bias`` is true) is read from the checkpoint files (safetensors, else ``pytorch_model*.bin``, sharded
        through the index or not) and checked first, then the backbone is loaded with ``AutoModel`` (a
        ``LlamaModel`` for ``model_type`` "llama"; its weights are the checkpoint's under ``model.``): a backbone
        weight missing from the checkpoint, which transformers would initialize at random, is a ``ValueError``.
      - "vader": ``spec`` must be ``"vader"``; VADER's sentiment compound score of ``prompt + continuation``, in
        [-1, 1], as a :class:`FunctionReward` (:mod:`typicality.lm.mini.reward`; needs the vaderSentiment
        package, else an ``ImportError`` naming it). No model is loaded.

      ``device``, ``dtype``, ``trust_remote_code`` and ``revision`` apply to the model only, and so do
      ``batch_size`` and ``max_length`` (checked before anything is loaded). Any other ``kind`` is a
      ``ValueError``.

    >>> load_reward("my_rewards:length")(["Human: hi Assistant:"], [" hello"])     # doctest: +SKIP
    array([6.])
    >>> load_reward("ethz-spylab/reward_model", kind="safe-rlhf-score", device="cuda")   # doctest: +SKIP
    SafeRLHFScoreReward('ethz-spylab/reward_model')
    """
    _check_reward_kind(kind)
    _check_reward_spec_text(spec)
    if kind == "vader":
        return _vader_reward(spec)
    function = _reward_function(spec)
    if function is not None:
        return function
    _check_batching(batch_size, max_length)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    source = _locate(spec, revision=revision, allow_gguf=False)
    from transformers import AutoModel, AutoModelForSequenceClassification

    kwargs = _hf_kwargs(source, trust_remote_code=trust_remote_code, revision=revision)
    load = {**_dtype_kwargs(torch_dtype), **_weights_kwargs(source), **_placement(dev), **kwargs}
    with _unloadable_hub_id(spec, source, "reward spec"):
        config = _reward_config(spec, source, kind, kwargs)
        tokenizer = _load_tokenizer(source, kwargs)
        if kind == "auto":
            model = AutoModelForSequenceClassification.from_pretrained(source.name, config=config, **load)
            return ModelReward(model.to(dev).eval(), tokenizer, spec, batch_size=batch_size, max_length=max_length)
        weight, bias = _safe_rlhf_score_head(spec, source, config, revision)
        model, info = AutoModel.from_pretrained(source.name, config=config, output_loading_info=True, **load)
    _check_backbone_loaded(spec, info)
    return SafeRLHFScoreReward(model.to(dev).eval(), tokenizer, spec, weight, bias, batch_size=batch_size,
                               max_length=max_length)


def secret_reward(logp_aligned: Any, logp_prior: Any, beta: float) -> np.ndarray:
    """The reward implied by DPO alignment, Eq. 4 without its constant: r(x, y) = β·(log p_aligned(y|x) −
    log p_prior(y|x)), in nats times β, elementwise over float64 arrays of equal shape.

    The paper's App. F uses β = 1. Its official code computes the negative of this (prior minus aligned); the
    sign here is Eq. 4's: strings the aligned model favours over the prior get a higher reward.
    ``beta`` must be a finite number > 0. NaN inputs are an error, and so is −inf in both at the same index
    (the difference is undefined); −inf in one of them gives ±inf.

    >>> secret_reward([-1.0, -5.0], [-3.0, -2.0], beta=0.5)
    array([ 1. , -1.5])
    """
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not math.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    aligned = np.asarray(logp_aligned, dtype=np.float64)
    prior = np.asarray(logp_prior, dtype=np.float64)
    if aligned.shape != prior.shape:
        raise ValueError(f"logp_prior has shape {prior.shape} but logp_aligned has shape {aligned.shape}")
    for label, values in (("logp_aligned", aligned), ("logp_prior", prior)):
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            raise ValueError(f"{label} is NaN at index {int(bad[0])}")
    with np.errstate(invalid="ignore"):
        reward = float(beta) * (aligned - prior)
    undefined = np.flatnonzero(np.isnan(reward))
    if undefined.size:
        raise ValueError(f"logp_aligned and logp_prior are both {aligned.flat[undefined[0]]} at index "
                         f"{int(undefined[0])}: their difference is undefined")
    return reward
