"""The run directory: units of work written atomically, keyed by a hash of everything they depend on.

A study is cut into *units*: one scheme × one range of prompts. Each stage (sample, prior, reward) writes one
parquet file per unit, named by the unit and the hash of its inputs::

    DIR/run.json                                      what produced this directory (refused if foreign)
    DIR/units/<scheme>/p000000-000064.sample.<key>.parquet
    DIR/units/<scheme>/p000000-000064.prior.<key>.parquet
    DIR/units/<scheme>/p000000-000064.reward.<key>.parquet
    DIR/samples.parquet, DIR/results.json, DIR/figure.png, DIR/report.md, DIR/timings.json
    DIR/logs/rank-<r>-error.txt                       a failed shard's traceback (torchrun)

A unit whose file exists is done: an interrupted run resumes there and never redoes it. A file with another key is
another config's result: the run refuses to start (``--force`` deletes such files), so results never mix. Files
are written to a temporary name and renamed, so a killed process leaves no half-written unit.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typicality import jsonio

STAGES = ("sample", "prior", "reward")
RUN_FILE = "run.json"
RUN_FORMAT = "typicality.lm.run/1"
OUTPUTS = ("samples.parquet", "results.json", "figure.png", "report.md", "timings.json")
_UNIT_RE = re.compile(r"^p(\d{6,})-(\d{6,})\.(sample|prior|reward)\.([0-9a-f]{16})\.parquet$")


def slug(name: str) -> str:
    """A file-system-safe folder name for a scheme name (distinct names stay distinct via a hash suffix)."""
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", name)
    if safe != name:
        import hashlib

        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return safe


@dataclass(frozen=True)
class Unit:
    scheme: str
    start: int  # first prompt index
    stop: int  # one past the last

    def path(self, root: Path, stage: str, key: str) -> Path:
        return root / "units" / slug(self.scheme) / f"p{self.start:06d}-{self.stop:06d}.{stage}.{key}.parquet"


def savefig_atomic(fig: Any, path: Path, **kwargs: Any) -> None:
    """A matplotlib figure saved as PNG atomically (``kwargs`` go to ``savefig``)."""
    jsonio.write_via_temp(path, lambda tmp: fig.savefig(tmp, format="png", **kwargs))


def write_parquet_atomic(frame: Any, path: Path) -> None:
    """Write a pandas DataFrame as parquet via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    jsonio.write_via_temp(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_parquet(path: Path) -> Any:
    import pandas as pd

    return pd.read_parquet(path)


class RunDirectory:
    """The output directory of one study (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def prepare(self, run_info: dict[str, Any], expected: Iterable[Path], *, force: bool) -> None:
        """Create or adopt the directory; refuse foreign contents and other configs' units unless ``force``."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise ValueError(f"--out {str(root)!r} exists and is not a directory")
        if root.is_dir():
            marker = root / RUN_FILE
            entries = [p for p in root.iterdir() if not p.name.startswith(".")]
            if entries and not marker.exists() and not force:
                raise ValueError(f"--out {str(root)!r} is not empty and is not a typicality run directory "
                                 "(no run.json); choose another directory, or --force to use it anyway")
            stale = self.stale_units(set(expected))
            if stale:
                if not force:
                    example = stale[0].relative_to(root)
                    raise ValueError(f"--out {str(root)!r} holds {len(stale)} result file(s) of a different config "
                                     f"(e.g. {example}); rerun with the same config to resume, choose another "
                                     "directory, or --force to delete them")
                for p in stale:
                    p.unlink()
                for d in sorted((root / "units").glob("*"), reverse=True):
                    if d.is_dir() and not any(d.iterdir()):
                        d.rmdir()
            for p in root.glob(".*.tmp*"):  # leftovers of a killed writer
                p.unlink()
            for p in (root / "units").rglob(".*.tmp*") if (root / "units").exists() else ():
                p.unlink()
        try:
            root.mkdir(parents=True, exist_ok=True)
            jsonio.write_atomic(root / RUN_FILE, jsonio.dumps({"format": RUN_FORMAT, **run_info}))
        except OSError as e:
            raise ValueError(f"--out {str(root)!r} cannot be written: {e.strerror or e}") from None

    def unit_files(self) -> list[Path]:
        base = self.root / "units"
        return sorted(p for p in base.rglob("*.parquet") if _UNIT_RE.match(p.name)) if base.exists() else []

    def stale_units(self, expected: set[Path]) -> list[Path]:
        return [p for p in self.unit_files() if p not in expected]

    def run_info(self) -> dict[str, Any] | None:
        p = self.root / RUN_FILE
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def clear_outputs(self) -> None:
        for name in OUTPUTS:
            p = self.root / name
            if p.is_file():
                p.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
