"""File I/O: JSON output (numbers at full precision, mpmath results as exact decimal literals), atomic writes, and
text input with errors that name the file and what it is for."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Like :func:`json.dumps`, but a :class:`~decimal.Decimal` is written as a bare JSON number."""
    marker = "\x00DECIMAL:"
    escaped = marker.replace("\x00", "\\u0000")  # how json.dumps writes the marker

    def default(x: Any) -> Any:
        if isinstance(x, Decimal):
            return marker + str(x) + marker
        raise TypeError(f"cannot write {type(x).__name__} as JSON")

    text = json.dumps(obj, indent=indent, default=default, allow_nan=False)
    # the marker string came out quoted: unquote it so that the number is a JSON number
    return text.replace('"' + escaped, "").replace(escaped + '"', "")


def write_via_temp(path: str | os.PathLike, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` to a temporary file next to ``path`` (with the same suffix, so writers that append one do not),
    then rename it to ``path``: readers never see half a file, and a failed write leaves nothing behind."""
    p = Path(path)
    tmp = p.with_name(f".{p.stem}.{os.getpid()}.tmp{p.suffix}")
    try:
        write(tmp)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file, flushed to disk, and a rename."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    write_via_temp(path, write)


def read_text(path: str | os.PathLike, what: str) -> str:
    """The UTF-8 text of a file; a directory, a missing file or another encoding is an error naming ``what``
    (e.g. ``"prompts.file"``) and the path."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{what} {str(p)!r} is a directory, not a file")
    if not p.exists():
        raise FileNotFoundError(f"{what} {str(p)!r} does not exist")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} {str(p)!r} is not UTF-8 text: {e}") from None
