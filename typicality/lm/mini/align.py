"""The miniature's aligned models: an RLHF analogue (RLOO) and a DPO model, fine-tuned from the prior with TRL.

The paper's §6.2 compares a prior p with models aligned to a reward r. The miniature builds both kinds on a CPU:

* :func:`train_rloo`: KL-regularized RL against the prior with TRL's ``RLOOTrainer`` — the objective
  E[r(y)] − β·KL(π ‖ p), whose optimum is the tilted prior π*(y | x) ∝ p(y | x)·exp(r(x, y)/β); the KL term enters
  the reward (β > 0 is required: β = 0 would be unregularized RL, not the paper's RLHF). The reward is scored on the
  completion text only (VADER's compound score in the miniature, bounded in [−1, 1]).
* :func:`make_preference_pairs` and :func:`train_dpo`: App. F's DPO model. Two continuations per prompt are sampled
  from the prior and labelled by the reward (tied pairs dropped: about half of the fortunes' continuations score
  exactly 0 under VADER), then TRL's ``DPOTrainer`` fits them. The study reads the DPO model through its implicit
  ("secret") reward r(x, y) = β·(log π(y | x) − log p(y | x)) (Eq. 4, :func:`typicality.lm.loading.secret_reward`).

Each trainer writes into one stage folder (``out_dir``, see :mod:`.cache`): TRL/transformers checkpoints in
``out_dir/checkpoints`` while it runs (an interrupted run resumes from the last one), then the model and its
tokenizer (``save_pretrained``, loadable by :func:`typicality.lm.loading.load_causal_lm`) and the ``DONE`` marker
holding the metrics; a finished stage is not redone. The checkpoints are deleted once the stage is done.

torch, transformers, datasets and trl are imported inside the functions.

>>> pairs = make_preference_pairs("runs/mini/prior", prompts, vader_reward, n_pairs=2000,
...                               max_new_tokens=32, seed=0)                                    # doctest: +SKIP
>>> train_dpo("runs/mini/prior", pairs, "runs/mini/dpo", beta=0.1, steps=150, lr=5e-5, seed=0,
...           threads=2)                                                                        # doctest: +SKIP
>>> train_rloo("runs/mini/prior", prompts, vader_reward, "runs/mini/rloo", beta=0.05, steps=200,
...            generations=4, max_new_tokens=32, lr=5e-5, seed=0, threads=2)                    # doctest: +SKIP
"""

from __future__ import annotations

import math
import numbers
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from typicality.lm.mini.cache import is_done, mark_done, read_done

__all__ = ["RewardFn", "make_preference_pairs", "train_dpo", "train_rloo"]

#: a reward scoring completion texts: texts -> one float per text (e.g. ``typicality.lm.mini.reward.vader_reward``)
RewardFn = Callable[[Sequence[str]], Any]

CHECKPOINTS = "checkpoints"


# --------------------------------------------------------------------------------------------- argument checks


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _seed(value: Any) -> int:
    return _positive_int("seed", value, minimum=0)


def _prompts(prompts: Any) -> list[str]:
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise TypeError(f"prompts must be a sequence of strings, got {type(prompts).__name__}")
    out = list(prompts)
    if not out:
        raise ValueError("prompts must not be empty, got 0 prompts")
    for i, p in enumerate(out):
        if not isinstance(p, str):
            raise TypeError(f"prompts[{i}] must be a str, got {type(p).__name__} {p!r}")
    return out


def _model_dir(name: str, value: Any) -> Path:
    path = Path(value)
    if not (path / "config.json").is_file():
        raise ValueError(f"{name} must be a transformers model folder (with config.json), got {str(value)!r}")
    return path


def _positions(model_dir: Path) -> int | None:
    """How many positions the model's config allows (GPT-2's ``n_positions``), None if it does not say."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_dir))
    value = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
    return int(value) if value else None


def _check_fits(model_dir: Path, tokenizer: Any, prompts: list[str], max_new_tokens: int) -> None:
    """``ValueError`` if the longest prompt plus ``max_new_tokens`` exceeds the model's positions."""
    positions = _positions(model_dir)
    if positions is None:
        return
    longest = max(len(tokenizer(p)["input_ids"]) for p in prompts)
    if longest + max_new_tokens > positions:
        raise ValueError(f"max_new_tokens={max_new_tokens} does not fit: the longest prompt has {longest} tokens and "
                         f"{str(model_dir)!r} has {positions} positions (at most {positions - longest} new tokens)")


def _rewards(reward_fn: RewardFn, texts: list[str]) -> np.ndarray:
    """``reward_fn(texts)`` as a float64 array, checked for one finite value per text."""
    values = np.asarray(reward_fn(texts), dtype=np.float64)
    if values.shape != (len(texts),):
        raise ValueError(f"reward_fn must return one value per text: got shape {values.shape} for {len(texts)} texts")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"reward_fn returned a non-finite value: {values[~np.isfinite(values)][:3].tolist()}")
    return values


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Run with ``threads`` intra-op torch threads, restoring the previous number afterwards.

    Also silences transformers' deprecation of ``is_gradient_checkpointing``, which TRL calls on every step.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
            yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------- preference pairs


def make_preference_pairs(model_dir: str | Path, prompts: Sequence[str], reward_fn: RewardFn, *, n_pairs: int,
                          max_new_tokens: int, seed: int, max_draws: int | None = None, batch_size: int = 64,
                          with_prompt: bool = False) -> list[dict]:
    """Preference pairs for DPO: two continuations per prompt sampled from the model, ordered by the reward.

    Prompts are taken in turn (``prompts[i % len(prompts)]`` for the i-th draw); each draw samples two
    continuations y₁, y₂ ~ p(· | x) (ancestral sampling at temperature 1, at most ``max_new_tokens`` tokens, cut at
    eos), scores their decoded texts with ``reward_fn`` (the continuation alone, or ``prompt + continuation`` if
    ``with_prompt``, as the study's ``vader_pair_reward`` does) and keeps the pair ordered by reward: ``chosen``
    the higher, ``rejected`` the lower. Pairs with equal rewards are dropped (a tie carries no preference). Draws
    continue until ``n_pairs`` pairs are kept or ``max_draws`` draws (default ``4 * n_pairs``) are spent, so fewer
    than ``n_pairs`` may come back; none at all is a ``ValueError``.

    Deterministic for a ``seed`` (the global torch generator is forked, not reseeded). Returns dicts with keys
    ``prompt``, ``chosen``, ``rejected`` (continuation texts, without the prompt), ``chosen_reward`` and
    ``rejected_reward`` (floats, ``chosen_reward > rejected_reward``).
    """
    import torch

    from typicality.lm.loading import load_causal_lm

    model_dir = _model_dir("model_dir", model_dir)
    prompts = _prompts(prompts)
    n_pairs = _positive_int("n_pairs", n_pairs)
    max_new_tokens = _positive_int("max_new_tokens", max_new_tokens)
    seed = _seed(seed)
    max_draws = 4 * n_pairs if max_draws is None else _positive_int("max_draws", max_draws)
    batch_size = _positive_int("batch_size", batch_size)
    if not callable(reward_fn):
        raise TypeError(f"reward_fn must be callable, got {type(reward_fn).__name__}")

    lm = load_causal_lm(str(model_dir), device="cpu", dtype="float32")
    tokenizer, model = lm.tokenizer, lm.model
    _check_fits(model_dir, tokenizer, prompts, max_new_tokens)
    pad = lm.pad_token_id if lm.pad_token_id is not None else 0
    eos = list(lm.eos_token_ids) or None
    pairs: list[dict] = []
    draws = 0
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        while len(pairs) < n_pairs and draws < max_draws:
            batch = [prompts[(draws + j) % len(prompts)] for j in range(min(batch_size, max_draws - draws))]
            draws += len(batch)
            encoded = [tokenizer(p)["input_ids"] for p in batch]
            width = max(len(ids) for ids in encoded)
            input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in encoded])
            attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
            out = model.generate(input_ids=input_ids, attention_mask=attention, do_sample=True, temperature=1.0,
                                 top_k=0, top_p=1.0, max_new_tokens=max_new_tokens, num_return_sequences=2,
                                 pad_token_id=pad, eos_token_id=eos)
            texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
            scored = [batch[k // 2] + t for k, t in enumerate(texts)] if with_prompt else texts
            rewards = _rewards(reward_fn, scored)
            for j, prompt in enumerate(batch):
                (a, b), (ra, rb) = texts[2 * j:2 * j + 2], rewards[2 * j:2 * j + 2]
                if ra == rb:
                    continue
                chosen, rejected, rc, rr = (a, b, ra, rb) if ra > rb else (b, a, rb, ra)
                pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected,
                              "chosen_reward": float(rc), "rejected_reward": float(rr)})
                if len(pairs) == n_pairs:
                    break
    if not pairs:
        raise ValueError(f"no preference pairs left after dropping ties: all {draws} draws from {str(model_dir)!r} "
                         f"tied under reward_fn (max_new_tokens={max_new_tokens}); draw more (max_draws) or longer")
    return pairs


# --------------------------------------------------------------------------------------------- shared trainer plumbing


def _common_args(out_dir: Path, *, steps: int, lr: float, seed: int, batch_size: int, save_steps: int | None,
                 logging_steps: int | None, progress: bool) -> dict:
    """TrainingArguments shared by both trainers: CPU, float32, checkpoints inside the stage folder."""
    return {
        "output_dir": str(out_dir / CHECKPOINTS),
        "max_steps": steps,
        "learning_rate": lr,
        "lr_scheduler_type": "constant",
        "per_device_train_batch_size": batch_size,
        "gradient_accumulation_steps": 1,
        "seed": seed,
        "data_seed": seed,
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "activation_checkpointing": False,              # TRL's default is on; no memory to save at this size
        "report_to": "none",
        "save_strategy": "steps",
        "save_steps": save_steps or max(1, steps // 10),
        "save_total_limit": 2,
        "logging_steps": logging_steps or max(1, steps // 20),
        "disable_tqdm": not progress,
        "dataloader_num_workers": 0,
    }


def _run(trainer: Any, out_dir: Path, progress: bool) -> tuple[float, int | None]:
    """Train (from the last checkpoint in the stage folder if there is one); returns (seconds, resumed step)."""
    from transformers import PrinterCallback
    from transformers.trainer_utils import get_last_checkpoint

    if not progress:
        trainer.remove_callback(PrinterCallback)
    ckpt_dir = out_dir / CHECKPOINTS
    last = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    resumed = int(Path(last).name.rsplit("-", 1)[1]) if last else None
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    return time.perf_counter() - start, resumed


def _finish(trainer: Any, tokenizer: Any, out_dir: Path, info: dict) -> dict:
    """Save model and tokenizer into the stage folder, drop the checkpoints, write ``DONE``."""
    trainer.model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
    mark_done(out_dir, info)
    return info


def _history(trainer: Any, keys: Sequence[str]) -> list[dict]:
    """The logged training rows (step plus the ``keys`` present), in order."""
    rows = []
    for entry in trainer.state.log_history:
        row = {k: float(entry[k]) for k in keys if k in entry}
        if row:
            rows.append({"step": int(entry.get("step", 0)), **row})
    return rows


def _first_last(rows: list[dict], key: str) -> tuple[float | None, float | None]:
    values = [r[key] for r in rows if key in r]
    return (values[0], values[-1]) if values else (None, None)


# --------------------------------------------------------------------------------------------- RLOO (RLHF analogue)


def train_rloo(prior_dir: str | Path, prompts: Sequence[str], reward_fn: RewardFn, out_dir: str | Path, *,
               beta: float, steps: int, generations: int, max_new_tokens: int, lr: float, seed: int, threads: int,
               prompts_per_step: int = 4, with_prompt: bool = False, save_steps: int | None = None,
               logging_steps: int | None = None, progress: bool = True, callbacks: Sequence[Any] = ()) -> dict:
    """The RLHF analogue: fine-tune the prior by KL-regularized RL (TRL's ``RLOOTrainer``) towards ``reward_fn``.

    Each step samples ``generations`` completions (≤ ``max_new_tokens`` tokens, temperature 1) for each of
    ``prompts_per_step`` prompts, scores the completion texts with ``reward_fn`` (``prompt + completion`` if
    ``with_prompt``), subtracts β times the per-sequence KL estimate to the frozen prior, and takes a
    policy-gradient step with the leave-one-out baseline. ``beta`` must be > 0 (a ``ValueError`` otherwise): the
    aligned model is then an approximation of p(y | x)·exp(r/β).

    ``out_dir`` is the stage folder (:func:`.cache.stage_dir`): if it is already done, its recorded metrics are
    returned and nothing is trained; a run stopped part-way resumes from its last checkpoint (every ``save_steps``).
    ``callbacks`` are extra ``transformers.TrainerCallback`` s; ``progress=False`` silences the progress bar and logs.

    Returns (and records in ``DONE``) ``method``, ``beta``, ``steps``, ``seconds`` (this call's training time),
    ``resumed_from_step``, ``reward_first``/``reward_final`` (mean reward of the first and last logging windows),
    ``kl_first``/``kl_final`` (TRL's mean per-token KL estimate to the prior), ``loss_final`` and ``history``.
    """
    out_dir = Path(out_dir)
    if is_done(out_dir):
        return read_done(out_dir)
    prior_dir = _model_dir("prior_dir", prior_dir)
    prompts = _prompts(prompts)
    if not callable(reward_fn):
        raise TypeError(f"reward_fn must be callable, got {type(reward_fn).__name__}")
    beta = _positive_float("beta", beta)
    steps = _positive_int("steps", steps)
    generations = _positive_int("generations", generations, minimum=2)
    max_new_tokens = _positive_int("max_new_tokens", max_new_tokens)
    lr = _positive_float("lr", lr)
    seed = _seed(seed)
    threads = _positive_int("threads", threads)
    prompts_per_step = _positive_int("prompts_per_step", prompts_per_step)

    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import RLOOConfig, RLOOTrainer

    def reward(prompts: list[str], completions: list[str], **_: Any) -> list[float]:
        texts = [p + c for p, c in zip(prompts, completions, strict=True)] if with_prompt else list(completions)
        return _rewards(reward_fn, texts).tolist()

    reward.__name__ = getattr(reward_fn, "__name__", "reward")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _torch_threads(threads):
        tokenizer = AutoTokenizer.from_pretrained(str(prior_dir))
        _check_fits(prior_dir, tokenizer, prompts, max_new_tokens)
        args = RLOOConfig(
            **_common_args(out_dir, steps=steps, lr=lr, seed=seed, batch_size=prompts_per_step * generations,
                           save_steps=save_steps, logging_steps=logging_steps, progress=progress),
            beta=beta, num_generations=generations, max_completion_length=max_new_tokens, temperature=1.0,
            top_k=0, top_p=1.0, use_vllm=False, model_init_kwargs={"dtype": "float32"}, log_completions=False,
        )
        trainer = RLOOTrainer(model=str(prior_dir), reward_funcs=reward, args=args,
                              train_dataset=Dataset.from_dict({"prompt": prompts}), processing_class=tokenizer,
                              callbacks=list(callbacks) or None)
        seconds, resumed = _run(trainer, out_dir, progress)
    rows = _history(trainer, ("reward", "kl", "loss", "entropy", "completions/mean_length"))
    reward_first, reward_final = _first_last(rows, "reward")
    kl_first, kl_final = _first_last(rows, "kl")
    info = {"method": "rloo", "prior": str(prior_dir), "beta": beta, "steps": steps, "generations": generations,
            "prompts_per_step": prompts_per_step, "with_prompt": bool(with_prompt), "max_new_tokens": max_new_tokens,
            "lr": lr, "seed": seed,
            "seconds": seconds, "resumed_from_step": resumed, "reward_first": reward_first,
            "reward_final": reward_final, "kl_first": kl_first, "kl_final": kl_final,
            "loss_final": _first_last(rows, "loss")[1], "history": rows}
    return _finish(trainer, tokenizer, out_dir, info)


# --------------------------------------------------------------------------------------------- DPO (App. F)


def _pairs(pairs: Any) -> list[dict]:
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(f"pairs must be a sequence of dicts, got {type(pairs).__name__}")
    out = list(pairs)
    if not out:
        raise ValueError("pairs must not be empty, got 0 pairs (did every sampled pair tie?)")
    for i, pair in enumerate(out):
        if not isinstance(pair, dict):
            raise TypeError(f"pairs[{i}] must be a dict, got {type(pair).__name__}")
        for key in ("prompt", "chosen", "rejected"):
            if not isinstance(pair.get(key), str):
                raise ValueError(f"pairs[{i}][{key!r}] must be a str, got {pair.get(key)!r}")
    return out


def train_dpo(prior_dir: str | Path, pairs: Sequence[dict], out_dir: str | Path, *, beta: float, steps: int,
              lr: float, seed: int, threads: int, batch_size: int = 16, save_steps: int | None = None,
              logging_steps: int | None = None, progress: bool = True, callbacks: Sequence[Any] = ()) -> dict:
    """App. F's DPO model: fine-tune the prior on preference ``pairs`` with TRL's ``DPOTrainer`` (sigmoid loss).

    The loss is −log σ(β·[(log π(y_w|x) − log p(y_w|x)) − (log π(y_l|x) − log p(y_l|x))]) with the prior p frozen as
    the reference, so the trained model carries the implicit reward r = β·(log π − log p) that the study reads back
    (``secret_reward_beta = beta``). ``pairs`` as made by :func:`make_preference_pairs` (only ``prompt``, ``chosen``
    and ``rejected`` are used); ``beta`` must be > 0. A pair longer than the prior's positions once re-tokenized
    (a decoded sample need not re-tokenize to the ids it was sampled as) keeps its start.

    Stage folder, resumption, ``callbacks`` and ``progress`` as in :func:`train_rloo`. Returns (and records in
    ``DONE``) ``method``, ``beta``, ``steps``, ``pairs``, ``seconds``, ``resumed_from_step``, ``loss_first``/
    ``loss_final``, ``margin_first``/``margin_final`` and ``accuracy_final`` (TRL's logged reward margins and
    accuracies on the training batches) and ``history``.
    """
    out_dir = Path(out_dir)
    if is_done(out_dir):
        return read_done(out_dir)
    prior_dir = _model_dir("prior_dir", prior_dir)
    pairs = _pairs(pairs)
    beta = _positive_float("beta", beta)
    steps = _positive_int("steps", steps)
    lr = _positive_float("lr", lr)
    seed = _seed(seed)
    threads = _positive_int("threads", threads)
    batch_size = _positive_int("batch_size", batch_size)

    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    data = Dataset.from_dict({k: [p[k] for p in pairs] for k in ("prompt", "chosen", "rejected")})
    out_dir.mkdir(parents=True, exist_ok=True)
    with _torch_threads(threads):
        tokenizer = AutoTokenizer.from_pretrained(str(prior_dir))
        args = DPOConfig(
            **_common_args(out_dir, steps=steps, lr=lr, seed=seed, batch_size=batch_size, save_steps=save_steps,
                           logging_steps=logging_steps, progress=progress),
            # a sampled continuation may re-tokenize longer than it was sampled: cut the end at the model's positions
            beta=beta, loss_type=["sigmoid"], model_init_kwargs={"dtype": "float32"},
            max_length=_positions(prior_dir) or 1024, truncation_mode="keep_start",
        )
        trainer = DPOTrainer(model=str(prior_dir), args=args, train_dataset=data, processing_class=tokenizer,
                             callbacks=list(callbacks) or None)
        seconds, resumed = _run(trainer, out_dir, progress)
    rows = _history(trainer, ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected"))
    loss_first, loss_final = _first_last(rows, "loss")
    margin_first, margin_final = _first_last(rows, "rewards/margins")
    info = {"method": "dpo", "prior": str(prior_dir), "beta": beta, "steps": steps, "pairs": len(pairs),
            "batch_size": batch_size, "lr": lr, "seed": seed, "seconds": seconds, "resumed_from_step": resumed,
            "loss_first": loss_first, "loss_final": loss_final, "margin_first": margin_first,
            "margin_final": margin_final, "accuracy_final": _first_last(rows, "rewards/accuracies")[1],
            "history": rows}
    return _finish(trainer, tokenizer, out_dir, info)
