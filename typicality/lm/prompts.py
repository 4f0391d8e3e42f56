"""The study's prompts: from a file (one per line, or JSON lines) or a `datasets` split (no torch here).

The paper's RLHF study (§6.2) takes the first human turn of the ``Anthropic/hh-rlhf`` test split, keeps prompts
shorter than 256 characters, shuffles them with seed 42, keeps 1000, and wraps each as
``"Human: {prompt} Assistant:"``; :func:`load_prompts` does each of those steps when the config asks for it.
The prompt list is part of every cache key, so a changed file never mixes with earlier results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import read_text


@dataclass(frozen=True)
class Prompts:
    raw: tuple[str, ...]  # the prompts as read (after selection)
    templated: tuple[str, ...]  # what the models are conditioned on
    source: str

    def __len__(self) -> int:
        return len(self.raw)


def hh_first_human_turn(text: str) -> str:
    """The first human turn of an hh-rlhf dialogue ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``."""
    head = text.split("\n\nAssistant:", 1)[0]
    marker = "Human:"
    i = head.find(marker)
    return (head[i + len(marker):] if i >= 0 else head).strip()


def read_prompt_file(path: str | Path) -> list[str]:
    """Prompts from a ``.txt`` file (one per non-empty line) or a ``.jsonl`` file (a ``"prompt"`` field per line)."""
    p = Path(path)
    text = read_text(p, "prompts.file")
    if p.suffix == ".jsonl":
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"prompts.file {str(p)!r} line {i} is not JSON: {e}") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str):
                raise ValueError(f"prompts.file {str(p)!r} line {i} needs a string field \"prompt\", got {line[:80]!r}")
            out.append(obj["prompt"])
    else:
        out = [line for line in text.splitlines() if line.strip()]
    if not out:
        raise ValueError(f"prompts.file {str(p)!r} holds no prompt")
    return out


def read_prompt_dataset(name: str, split: str, extract: str) -> list[str]:  # pragma: no cover - needs the Hub
    """Prompts from a Hugging Face ``datasets`` split (needs the ``datasets`` package and the data, cached or
    online)."""
    try:
        import datasets
    except ImportError:
        raise ValueError(f"prompts.dataset {name!r} needs the 'datasets' package (pip install datasets), or give "
                         "prompts.file") from None
    try:
        ds = datasets.load_dataset(name, split=split)
        if extract == "hh_first_human_turn":
            return [hh_first_human_turn(row["chosen"]) for row in ds]
        return [row[extract] for row in ds]
    except Exception as e:  # datasets raises many types (connection, missing split, missing column)
        raise ValueError(f"prompts.dataset {name!r} (split {split!r}, extract {extract!r}) could not be read: "
                         f"{type(e).__name__}: {e}") from None


def select(prompts: list[str], *, max_chars: int | None, shuffle_seed: int | None, limit: int | None) -> list[str]:
    """Keep prompts shorter than ``max_chars``, shuffle with ``shuffle_seed`` (numpy legacy permutation, the
    official code's ``Dataset.shuffle(seed)`` differs: exact prompt identity with the paper is not claimed), keep
    the first ``limit``."""
    out = [p for p in prompts if max_chars is None or len(p) < max_chars]
    if shuffle_seed is not None:
        order = np.random.RandomState(shuffle_seed).permutation(len(out))
        out = [out[i] for i in order]
    if limit is not None:
        out = out[:limit]
    if not out:
        raise ValueError("no prompt is left after prompts.max_chars/limit")
    return out


def load_prompts(section: Mapping[str, Any]) -> Prompts:
    """The prompts a config's ``[prompts]`` section describes."""
    if section.get("file") is not None:
        raw = read_prompt_file(section["file"])
        source = str(section["file"])
    else:
        raw = read_prompt_dataset(section["dataset"], section["split"], section["extract"])
        source = f"{section['dataset']}:{section['split']}"
    raw = select(raw, max_chars=section.get("max_chars"), shuffle_seed=section.get("shuffle_seed"),
                 limit=section.get("limit"))
    template = section.get("template", "{prompt}")
    return Prompts(tuple(raw), tuple(template.format(prompt=p) for p in raw), source)
