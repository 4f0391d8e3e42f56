"""The miniature's tokenizer: a byte-level BPE trained on the training texts with the ``tokenizers`` library.

Byte-level BPE (GPT-2's scheme) covers every string, so no text is ever unknown. Special tokens:
``<|endoftext|>`` is both the beginning and the end of a text (GPT-2's convention), ``<|pad|>`` pads batches.
The tokenizer prepends ``<|endoftext|>`` when asked for special tokens (``add_special_tokens=True``, the default),
so a prompt starts the way every training text does: after an ``<|endoftext|>`` (the prior is trained on the
stream ``text <|endoftext|> text <|endoftext|> ...``).
Training is deterministic for the same texts and ``vocab_size`` (the trainer counts pairs exactly and breaks ties
by a fixed order). With about 2,000 tokens a fortune is about 34 tokens.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["EOS_TOKEN", "PAD_TOKEN", "train_tokenizer"]

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"


def train_tokenizer(texts: Sequence[str], vocab_size: int, out_dir: Path, *, add_bos: bool = True) -> Any:
    """Train a byte-level BPE of ``vocab_size`` tokens (the 256 bytes and the 2 special tokens included) on
    ``texts`` and save it to ``out_dir`` with ``save_pretrained``, so ``AutoTokenizer.from_pretrained(out_dir)``
    loads it. Returns the ``transformers.PreTrainedTokenizerFast``, with ``bos_token = eos_token =
    "<|endoftext|>"`` (id 0) and ``pad_token = "<|pad|>"`` (id 1); with ``add_bos`` it prepends the BOS when
    encoding with special tokens.
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 259:
        raise ValueError(f"vocab_size must be an integer >= 259 (256 bytes, 2 special tokens, 1 merge), "
                         f"got {vocab_size!r}")
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of strings, got {type(texts).__name__}")
    if not any(isinstance(t, str) and t for t in texts):
        raise ValueError("texts must hold at least one non-empty string, got an empty corpus")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS_TOKEN, PAD_TOKEN],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{EOS_TOKEN} $A", pair=f"{EOS_TOKEN} $A $B",
                                                           special_tokens=[(EOS_TOKEN, tok.token_to_id(EOS_TOKEN))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN,
                                   pad_token=PAD_TOKEN, unk_token=None, clean_up_tokenization_spaces=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    return fast
