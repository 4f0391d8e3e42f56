"""Run the command line as a user's shell would: ``python -m typicality lm ...``, or the same under torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def typicality_lm(*args: str, nproc: int = 1, env: dict[str, str] | None = None,
                  timeout: float = 1200) -> subprocess.CompletedProcess:
    """``typicality lm ARGS`` in a fresh interpreter (``nproc`` > 1: under torchrun, standalone), one thread per
    process, without any torchrun variables of the caller's environment."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m"]
                if nproc > 1 else [sys.executable, "-m"])
    full = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    full.update({"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([*launcher, "typicality", "lm", *args], capture_output=True, text=True, env=full,
                          timeout=timeout)
