"""The miniature's prior: a small GPT-2 trained from scratch on CPU, resumable from checkpoints.

Data: every text is encoded as ``text <|endoftext|>`` (no special tokens added by the tokenizer) and the texts are
concatenated into one stream, cut into blocks of ``context`` tokens. Since the tokenizer prepends
``<|endoftext|>`` to a prompt, a prompt looks like the start of a text in the stream. Step ``s`` trains on
``batch_size`` blocks drawn with replacement by a generator seeded with ``(seed, s)``, so the batches depend only on
the seed and the step, not on the history of a run; dropout is 0 by default. A run interrupted after a checkpoint
and resumed therefore repeats the uninterrupted run exactly (same operations in the same order on the same
numbers; the tests check equality of the final weights).

Optimizer: AdamW (betas 0.9, 0.95, weight decay 0.1 on matrices only), a linear warm-up over ``warmup`` steps then
a cosine decay to 10 % of ``lr``; gradients clipped to norm 1.

Checkpoint (``checkpoint.pt`` in ``out_dir``, written to a temporary file then ``os.replace``): model, optimizer,
scheduler, torch RNG state, the step and the settings (a resume with other settings is a ``ValueError``), every
``checkpoint_every`` steps and when a call stops early (``max_steps_this_call``). At the end the model and
tokenizer are saved with ``save_pretrained(out_dir)`` (so :func:`typicality.lm.loading.load_causal_lm` loads the
folder), ``prior_info.json`` records the result, and the checkpoint is deleted; a call on a finished folder
returns that record without training.

Losses are in nats per predicted token.
"""
from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from typicality.jsonio import write_atomic, write_via_temp

__all__ = ["CHECKPOINT_FILE", "INFO_FILE", "encode_stream", "held_out_loss", "train_prior"]

CHECKPOINT_FILE = "checkpoint.pt"
INFO_FILE = "prior_info.json"


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def encode_stream(texts: Sequence[str], tokenizer: Any) -> list[int]:
    """The token ids of ``text <|endoftext|>`` for every text, concatenated."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("tokenizer has no eos_token_id; train it with train_tokenizer")
    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
        ids.append(eos)
    return ids


def _blocks(texts: Sequence[str], tokenizer: Any, context: int, name: str) -> Any:
    import torch

    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise ValueError(f"{name} must be a non-empty sequence of strings, got {texts!r:.80}")
    ids = encode_stream(texts, tokenizer)
    n = len(ids) // context
    if n == 0:
        raise ValueError(f"{name} holds {len(ids)} tokens, fewer than one block of context={context}")
    return torch.tensor(ids[:n * context], dtype=torch.long).view(n, context)


def held_out_loss(model: Any, blocks: Any, batch_size: int = 64) -> float:
    """Mean next-token loss (nats/token) of ``model`` over the rows of ``blocks`` (each row predicts its tokens
    1 .. context-1)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, blocks.shape[0], batch_size):
            batch = blocks[start:start + batch_size]
            logits = model(input_ids=batch).logits[:, :-1].float()
            target = batch[:, 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                                     reduction="sum")
            total += float(loss)
            count += target.numel()
    model.train(was_training)
    return total / count


def _schedule(warmup: int, steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return factor


def _atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    write_via_temp(path, lambda tmp: torch.save(obj, tmp))


def train_prior(train_texts: Sequence[str], held_out_texts: Sequence[str], tokenizer: Any, out_dir: Path, *,
                layers: int = 2, dim: int = 128, heads: int = 4, context: int = 64, steps: int = 3000,
                batch_size: int = 32, lr: float = 3e-3, warmup: int = 100, weight_decay: float = 0.1,
                dropout: float = 0.0, seed: int = 0, threads: int | None = 1, checkpoint_every: int = 200,
                eval_every: int = 500, max_steps_this_call: int | None = None,
                callback: Callable[[int, float], None] | None = None, progress: bool = True,
                log: Callable[[str], None] | None = None) -> dict:
    """Train a GPT-2 of ``layers`` x ``dim`` (``heads`` heads, ``context`` positions) from scratch for ``steps``
    steps of ``batch_size`` blocks and save it to ``out_dir``; resume from ``out_dir``'s checkpoint if there is one.

    ``threads`` sets ``torch.set_num_threads`` for the call (restored after; None keeps torch's setting): one thread
    per process is fastest when another process uses a core. ``max_steps_this_call`` stops the call (after a
    checkpoint) once the run reaches that step, returning ``{"finished": False, "step": ...}``; ``callback(step,
    loss)`` is called after every step (raising from it interrupts the run; the last checkpoint survives). With
    ``progress`` a line (step, training loss, held-out loss every ``eval_every`` steps, speed) goes to ``log``
    (default: stderr) every ``checkpoint_every`` steps.

    Returns ``{"finished": True, "held_out_loss": nats/token, "train_loss": mean loss of the last 50 steps,
    "seconds": wall time of this call, "train_seconds": total over calls, "steps", "parameters", "tokens_per_step",
    "train_tokens", "held_out_tokens", "resumed_from": step or None}``, also written to ``prior_info.json``.
    """
    for name, value in (("layers", layers), ("dim", dim), ("heads", heads), ("context", context), ("steps", steps),
                        ("batch_size", batch_size), ("checkpoint_every", checkpoint_every),
                        ("eval_every", eval_every)):
        _positive_int(name, value)
    if context < 2:
        raise ValueError(f"context must be at least 2, got {context!r}")
    if dim % heads:
        raise ValueError(f"dim must be a multiple of heads, got dim={dim!r}, heads={heads!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer, got {warmup!r}")
    for name, value, low in (("lr", lr, 0.0), ("weight_decay", weight_decay, None), ("dropout", dropout, None)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
                or (low is not None and value <= low):
            raise ValueError(f"{name} must be a finite number {'> 0' if low is not None else '>= 0'}, got {value!r}")
    if dropout >= 1:
        raise ValueError(f"dropout must be < 1, got {dropout!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if threads is not None:
        _positive_int("threads", threads)
    if max_steps_this_call is not None:
        _positive_int("max_steps_this_call", max_steps_this_call)

    out = Path(out_dir)
    info_path = out / INFO_FILE
    if info_path.is_file():
        return json.loads(info_path.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    emit = log if log is not None else (lambda line: print(line, file=sys.stderr, flush=True))

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        started = time.perf_counter()
        train_blocks = _blocks(train_texts, tokenizer, context, "train_texts")
        held_blocks = _blocks(held_out_texts, tokenizer, context, "held_out_texts")
        config = GPT2Config(vocab_size=len(tokenizer), n_positions=context, n_embd=dim, n_layer=layers,
                            n_head=heads, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                            pad_token_id=tokenizer.pad_token_id)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = GPT2LMHeadModel(config)
            rng_state = torch.get_rng_state()
        model.train()
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, steps))
        hyper = {"layers": layers, "dim": dim, "heads": heads, "context": context, "batch_size": batch_size, "lr": lr,
                 "warmup": warmup, "weight_decay": weight_decay, "dropout": dropout, "seed": seed, "steps": steps,
                 "train_tokens": int(train_blocks.numel())}
        step, resumed_from, spent = 0, None, 0.0
        recent: list[float] = []
        ckpt_path = out / CHECKPOINT_FILE
        if ckpt_path.is_file():
            ckpt = torch.load(ckpt_path, weights_only=False)
            if ckpt["hyper"] != hyper:
                differ = sorted(k for k in hyper if ckpt["hyper"].get(k) != hyper[k])
                raise ValueError(f"checkpoint {ckpt_path} was written with other settings ({', '.join(differ)}); "
                                 "delete it or use another out_dir")
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            rng_state = ckpt["rng_state"]
            step, spent, recent = ckpt["step"], ckpt["train_seconds"], ckpt["recent"]
            resumed_from = step
            if progress:
                emit(f"prior: resumed from step {step} ({ckpt_path})")

        def checkpoint() -> None:
            _atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                "scheduler": scheduler.state_dict(), "rng_state": torch.get_rng_state(),
                                "step": step, "hyper": hyper,
                                "train_seconds": spent + time.perf_counter() - started, "recent": recent},
                               ckpt_path)

        stop = steps if max_steps_this_call is None else min(steps, max_steps_this_call)
        n_blocks = train_blocks.shape[0]
        last_log = time.perf_counter()
        last_step = step
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(rng_state)
            while step < stop:
                picker = torch.Generator().manual_seed(seed * 1_000_003 + step)
                batch = train_blocks[torch.randint(n_blocks, (batch_size,), generator=picker)]
                loss = model(input_ids=batch, labels=batch).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                value = loss.detach().item()
                recent = [*recent, value][-50:]
                if callback is not None:
                    callback(step, value)
                if step % checkpoint_every == 0 or step == stop:
                    if step < steps:
                        checkpoint()
                    if progress:
                        now = time.perf_counter()
                        line = (f"prior: step {step}/{steps}  loss {sum(recent) / len(recent):.3f}  "
                                f"{(step - last_step) / max(now - last_log, 1e-9):.1f} steps/s")
                        if step % eval_every == 0 or step == steps:
                            line += f"  held-out {held_out_loss(model, held_blocks):.3f}"
                        emit(line)
                        last_log, last_step = now, step
        if step < steps:
            return {"finished": False, "step": step, "steps": steps,
                    "seconds": time.perf_counter() - started}
        held = held_out_loss(model, held_blocks)
        seconds = time.perf_counter() - started
        model.eval()
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
        info = {"finished": True, "held_out_loss": held, "train_loss": sum(recent) / len(recent),
                "seconds": seconds, "train_seconds": spent + seconds, "steps": steps,
                "parameters": sum(p.numel() for p in model.parameters()),
                "tokens_per_step": batch_size * context, "train_tokens": int(train_blocks.numel()),
                "held_out_tokens": int(held_blocks.numel()), "resumed_from": resumed_from,
                "threads": torch.get_num_threads(), "config": hyper}
        write_atomic(info_path, json.dumps(info, indent=2, sort_keys=True) + "\n")
        if ckpt_path.exists():
            ckpt_path.unlink()
        return info
    finally:
        torch.set_num_threads(old_threads)
