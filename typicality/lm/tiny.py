"""Tiny transformers models built from a config, with their own tokenizer: no download, seconds on a CPU.

For tests, benchmarks and the GPU check: a byte-level BPE tokenizer trained with ``tokenizers`` on a few built-in
sentences (or your texts), and randomly initialized causal LMs (Llama or GPT-2 architecture) and score models
(sequence classification with one label) that share it. ``save_tiny`` writes them as ordinary transformers folders
(safetensors), which the real loading code (:mod:`typicality.lm.loading`) then reads back; ``save_tiny_gguf``
writes a tiny Llama and its tokenizer as one GGUF file, as llama.cpp's converter would;
``save_tiny_safe_rlhf_score`` writes a score model in PKU safe-rlhf's layout (the paper's reward model's).

>>> tok = tiny_tokenizer()                                  # doctest: +SKIP
>>> model = tiny_causal_lm(tok, arch="llama", seed=0)       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"

#: a few sentences to train the tiny tokenizer on (any text would do)
SENTENCES = (
    "Human: How do I bake bread? Assistant: Mix flour, water, salt and yeast, let it rise, then bake it.",
    "Human: What is the capital of France? Assistant: The capital of France is Paris.",
    "Human: Tell me a joke. Assistant: Why did the chicken cross the road? To get to the other side.",
    "Human: Can you help me with my homework? Assistant: Of course, what is the question?",
    "The quick brown fox jumps over the lazy dog. A good day starts with a good breakfast.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Happy families are all alike; every unhappy family is unhappy in its own way.",
    "I love this wonderful, beautiful, excellent world! This is terrible, awful and sad.",
)


def tiny_tokenizer(texts: Sequence[str] = SENTENCES, *, vocab_size: int = 300, add_bos: bool = True) -> Any:
    """A ``PreTrainedTokenizerFast`` (byte-level BPE) with ``<s>``, ``</s>``, ``<pad>``; prepends BOS if ``add_bos``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS, UNK],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts) * 4, trainer=trainer)
    if add_bos:
        bos_id = tok.token_to_id(BOS)
        tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B",
                                                           special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                   unk_token=UNK, clean_up_tokenization_spaces=False)


def _config(tokenizer: Any, arch: str, *, hidden: int, layers: int, heads: int, seed: int, **extra: Any) -> Any:
    from transformers import GPT2Config, LlamaConfig

    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    vocab = len(tokenizer)
    if arch == "llama":
        return LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                           num_hidden_layers=layers, num_attention_heads=heads,
                           num_key_value_heads=max(1, heads // 2), max_position_embeddings=1024,
                           tie_word_embeddings=False, **ids, **extra)
    if arch == "gpt2":
        return GPT2Config(vocab_size=vocab, n_embd=hidden, n_layer=layers, n_head=heads, n_positions=1024,
                          **ids, **extra)
    raise ValueError(f"arch must be 'llama' or 'gpt2', got {arch!r}")


def tiny_causal_lm(tokenizer: Any, *, arch: str = "llama", hidden: int = 32, layers: int = 2, heads: int = 4,
                   seed: int = 0, logit_scale: float = 1.0, eos_logit: float | None = None) -> Any:
    """A randomly initialized causal LM over ``tokenizer``'s vocabulary (float32, eval mode).

    ``logit_scale`` multiplies the output embedding: > 1 gives peakier next-token distributions, < 1 flatter ones.
    ``eos_logit`` (e.g. 2.0) makes eos likely enough that strings end after a few tokens.
    """
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(_config(tokenizer, arch, hidden=hidden, layers=layers, heads=heads,
                                                     seed=seed))
    if logit_scale != 1.0:
        with torch.no_grad():
            model.get_output_embeddings().weight.mul_(logit_scale)
    if eos_logit is not None:
        # point the eos row of the output layer along the mean final hidden state, so that the eos logit is about
        # eos_logit on average: strings then end after a few tokens instead of running to the cap
        with torch.no_grad():
            g = torch.Generator().manual_seed(seed)
            ids = torch.randint(0, len(tokenizer), (16, 12), generator=g)
            h = model(input_ids=ids, output_hidden_states=True).hidden_states[-1].reshape(-1, model.config.hidden_size)
            mean = h.mean(0)
            model.get_output_embeddings().weight[tokenizer.eos_token_id] = eos_logit * mean / mean.norm() ** 2
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval()


def tiny_reward_model(tokenizer: Any, *, arch: str = "llama", hidden: int = 32, layers: int = 2, heads: int = 4,
                      seed: int = 0) -> Any:
    """A randomly initialized score model (sequence classification, one label) over ``tokenizer``'s vocabulary."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(seed)
    config = _config(tokenizer, arch, hidden=hidden, layers=layers, heads=heads, seed=seed, num_labels=1)
    return AutoModelForSequenceClassification.from_config(config).eval()


def save_tiny(path: str | Path, model: Any, tokenizer: Any) -> Path:
    """Save a model and its tokenizer as a transformers folder (safetensors); returns the folder."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(p, safe_serialization=True)
    tokenizer.save_pretrained(p)
    return p


def save_tiny_safe_rlhf_score(path: str | Path, tokenizer: Any, *, seed: int = 0, bias: bool = False) -> Path:
    """Write a tiny score model in PKU safe-rlhf's ``LlamaModelForScore`` layout; returns the folder.

    That is how the paper's reward model (``ethz-spylab/reward_model``) is stored: a ``config.json`` of
    ``model_type`` "llama" with ``architectures = ["LlamaModelForScore"]``, ``score_dim = 1`` and ``bias``, and
    one ``model.safetensors`` with a randomly initialized Llama backbone under ``model.`` (``model.embed_tokens``,
    ``model.layers.N.…``, ``model.norm``) and a linear score head ``score_head.weight`` of shape (1, hidden), plus
    ``score_head.bias`` if ``bias``; and ``tokenizer``'s files. The config has no ``num_labels``.
    :func:`typicality.lm.loading.load_reward` reads it with ``kind="safe-rlhf-score"``.

    >>> save_tiny_safe_rlhf_score(tmp / "rm", tok, bias=True)          # doctest: +SKIP
    """
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaModel

    torch.manual_seed(seed)
    config = _config(tokenizer, "llama", hidden=32, layers=2, heads=4, seed=seed)
    backbone = LlamaModel(config)
    head = torch.nn.Linear(config.hidden_size, 1, bias=bool(bias))
    tensors = {f"model.{name}": t.detach().contiguous() for name, t in backbone.state_dict().items()}
    tensors.update({f"score_head.{name}": t.detach().contiguous() for name, t in head.state_dict().items()})
    config.architectures = ["LlamaModelForScore"]
    config.score_dim = 1
    config.bias = bool(bias)
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(p)
    save_file(tensors, str(p / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(p)
    return p


def _interleave_rotary_halves(weight: Any, n_head: int) -> Any:
    """Reorder each head's rows from transformers' rotary layout to llama.cpp's.

    transformers rotates the pair (i, i + d/2) of a head of width d ("rotate_half"); llama.cpp rotates adjacent
    pairs (2i, 2i + 1). So row i of a head goes to 2i and row i + d/2 to 2i + 1. transformers' GGUF loader
    applies the inverse to ``attn_q`` and ``attn_k`` (with the key-value head count for ``attn_k``).
    """
    rows = weight.shape[0]
    if rows % (2 * n_head):
        raise ValueError(f"weight has {rows} rows, not a multiple of 2 × n_head = {2 * n_head}")
    half = rows // n_head // 2
    return weight.reshape(n_head, 2, half, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def save_tiny_gguf(path: str | Path, model: Any, tokenizer: Any, *, dtype: str = "float32") -> Path:
    """Write a tiny Llama and its byte-level BPE tokenizer as one GGUF file; returns the file's path.

    The layout is what llama.cpp's converter writes for a Llama checkpoint: ``general.architecture = "llama"``
    with the ``llama.*`` hyperparameters, tensors under llama.cpp's names (``token_embd``, ``blk.N.attn_q``, …,
    ``output``), the rows of ``attn_q`` / ``attn_k`` reordered for llama.cpp's rotary layout, and the tokenizer
    as ``tokenizer.ggml.model = "gpt2"`` with its tokens (in id order), token types (special tokens are
    CONTROL), merges and bos / eos / pad / unk ids. ``dtype`` is ``"float32"`` (F32) or ``"float16"`` (F16
    matrices, F32 norms, as llama.cpp does). transformers reads it back with
    ``from_pretrained(folder, gguf_file=name)`` for both the model and the tokenizer. The token list is the
    tokenizer's (llama.cpp would pad it with ``[PAD<i>]`` tokens up to a larger ``vocab_size``; tiny models
    have none).

    >>> save_tiny_gguf(tmp / "tiny.gguf", tiny_causal_lm(tok), tok)   # doctest: +SKIP
    """
    import json

    import gguf
    import numpy as np

    config = model.config
    if getattr(config, "model_type", None) != "llama":
        raise ValueError(f"model must be a Llama (tiny_causal_lm(tok, arch='llama')), got model_type "
                         f"{getattr(config, 'model_type', None)!r}")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    p = Path(path)
    if p.suffix != ".gguf":
        raise ValueError(f"path must end in .gguf, got {str(p)!r}")
    p.parent.mkdir(parents=True, exist_ok=True)

    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA]
    writer = gguf.GGUFWriter(p, arch)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    rope = getattr(config, "rope_parameters", None) or {}
    writer.add_name("typicality-tiny-llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32 if dtype == "float32" else gguf.LlamaFileType.MOSTLY_F16)

    # the tokenizer: every id below the model's vocabulary size, in id order
    vocab = tokenizer.get_vocab()
    by_id = {i: t for t, i in vocab.items()}
    if sorted(by_id) != list(range(len(by_id))):
        raise ValueError("tokenizer ids must be 0, 1, …, len(tokenizer) − 1 with no gaps")
    special = set(tokenizer.all_special_ids)
    tokens = [by_id[i] for i in range(len(by_id))]
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(by_id))]
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    for name, add in (("bos_token_id", writer.add_bos_token_id), ("eos_token_id", writer.add_eos_token_id),
                      ("pad_token_id", writer.add_pad_token_id), ("unk_token_id", writer.add_unk_token_id)):
        token_id = getattr(tokenizer, name)
        if token_id is not None:
            add(token_id)
    bos_first = tokenizer("a")["input_ids"][:1] == [tokenizer.bos_token_id]
    writer.add_add_bos_token(bool(bos_first))
    writer.add_add_eos_token(False)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for hf_name, tensor in model.state_dict().items():
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name!r}")
        array = tensor.detach().to("cpu").float().numpy()
        if gguf_name.endswith("attn_q.weight"):
            array = _interleave_rotary_halves(array, config.num_attention_heads)
        elif gguf_name.endswith("attn_k.weight"):
            array = _interleave_rotary_halves(array, config.num_key_value_heads)
        # llama.cpp keeps vectors (the norms) in F32 whatever the file type
        if dtype == "float16" and array.ndim > 1:
            array = array.astype(np.float16)
        writer.add_tensor(gguf_name, np.ascontiguousarray(array))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return p
