"""Stage folders for the offline miniature: one folder per stage, fingerprinted by its configuration.

A stage (tokenizer, prior, an aligned model, ...) writes everything into ``root/name``. The folder records the
configuration it was built from in ``stage.json`` (its sha256 fingerprint plus the configuration itself); a rerun with
a different configuration refuses to mix the two (``ValueError`` naming the stage, the differing keys and ``--force``)
unless ``force=True``, which wipes the folder. A finished stage holds a ``DONE`` marker with a small JSON record
(timings, losses); an unfinished one has no marker and is resumed or redone by its stage.

Example::

    path = stage_dir(root, "prior", {"layers": 2, "dim": 128})
    if not is_done(path):
        info = train(...)
        mark_done(path, info)
    info = read_done(path)
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from typicality.jsonio import write_atomic

__all__ = ["fingerprint", "is_done", "mark_done", "read_done", "stage_dir"]

STAGE_FILE = "stage.json"
DONE_FILE = "DONE"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def fingerprint(name: str, config: dict) -> str:
    """The sha256 (hex) of the canonical JSON of ``{"stage": name, "config": config}``."""
    return hashlib.sha256(_canonical({"stage": name, "config": config}).encode("utf-8")).hexdigest()



def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys where ``old`` and ``new`` differ, each with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{prefix}{key}"
            if key not in old:
                out.append(f"{where}: (absent) -> {new[key]!r}")
            elif key not in new:
                out.append(f"{where}: {old[key]!r} -> (absent)")
            else:
                out.extend(_differences(old[key], new[key], where + "."))
        return out
    if _canonical(old) != _canonical(new):
        return [f"{prefix.rstrip('.') or '(config)'}: {old!r} -> {new!r}"]
    return []


def stage_dir(root: Path, name: str, config: dict, *, force: bool = False) -> Path:
    """Return ``root/name``, created and fingerprinted by ``config`` (a JSON-able dict).

    An existing folder whose ``stage.json`` records another fingerprint raises ``ValueError`` naming the stage and
    the differing keys (old -> new), unless ``force``, which deletes the folder and starts it afresh. A folder with
    the same fingerprint is returned as is (its contents, e.g. a checkpoint or ``DONE``, are kept).
    """
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"name must be a non-empty folder name, got {name!r}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    path = Path(root) / name
    record = {"stage": name, "fingerprint": fingerprint(name, config), "config": json.loads(_canonical(config))}
    stage_file = path / STAGE_FILE
    if path.exists():
        old = None
        if stage_file.exists():
            old = json.loads(stage_file.read_text(encoding="utf-8"))
        if old is not None and old.get("fingerprint") == record["fingerprint"]:
            return path
        if not force:
            if old is None:
                why = f"it exists without a {STAGE_FILE}"
            else:
                diffs = _differences(old.get("config"), record["config"]) or ["(stage name)"]
                why = "its configuration differs: " + "; ".join(diffs)
            raise ValueError(f"stage {name!r} at {path}: {why}; pass --force (force=True) to delete it and rebuild")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    write_atomic(stage_file, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def is_done(path: Path) -> bool:
    """Whether the stage folder holds its ``DONE`` marker."""
    return (Path(path) / DONE_FILE).is_file()


def mark_done(path: Path, info: dict) -> None:
    """Write the ``DONE`` marker (atomically) holding ``info`` as JSON, e.g. timings and losses."""
    if not isinstance(info, dict):
        raise TypeError(f"info must be a dict, got {type(info).__name__}")
    write_atomic(Path(path) / DONE_FILE, json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")


def read_done(path: Path) -> dict:
    """The ``info`` written by :func:`mark_done`; ``FileNotFoundError`` if the stage is not done."""
    marker = Path(path) / DONE_FILE
    if not marker.is_file():
        raise FileNotFoundError(f"stage at {path} is not done (no {DONE_FILE} marker)")
    return json.loads(marker.read_text(encoding="utf-8"))
