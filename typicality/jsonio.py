"""JSON output: numbers at full precision (mpmath results as exact decimal literals) and atomic writes."""

from __future__ import annotations

import json
import os
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


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename, so readers never see half a file."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
