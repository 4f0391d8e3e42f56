"""Sharding a study over processes with torchrun: ``torchrun --nproc-per-node K -m typicality lm run CONFIG --out DIR``.

torchrun (torch.distributed's launcher) starts K processes and gives each ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``
and the address of its key–value store. :func:`run_sharded` then:

1. rank 0 runs every cheap check and prepares ``DIR`` (the others wait, so no two processes touch the directory
   at once); an error there stops every process with rank 0's message;
2. every rank samples, scores and rewards its units (``i % K == rank``, :func:`typicality.lm.study.shard_units`),
   each unit computed on its own, so its file does not depend on the sharding;
3. every rank reports to the store (done, or its error with the stage it was in, its traceback written to
   ``DIR/logs/rank-<r>-error.txt``); rank 0 waits for all, and merges, analyses and reports only if every shard
   succeeded: a failed shard is named and nothing partial is written (finished units are kept: rerun the same
   command to resume).

The processes coordinate through the rendezvous store alone (``torch.distributed.rendezvous("env://")``), with no
process group: a vLLM engine creates its own process group inside each process, and a default group of ours would
collide with it. A process that dies outright (killed, out of memory) makes torchrun stop the others.

On GPUs each process uses the GPU of its ``LOCAL_RANK`` (:func:`pin_local_device` restricts
``CUDA_VISIBLE_DEVICES`` to it before CUDA starts), so ``models.device = "cuda"`` or ``"auto"`` means that GPU.
Across nodes ``DIR`` must be on a file system that every node sees.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from typicality import jsonio
from typicality.lm.config import StudyConfig

#: how long a process waits for the others (a shard of a large study may take days)
WAIT = timedelta(days=7)
_PREFIX = "typicality.lm.run/"


class ShardError(RuntimeError):
    """A shard (or rank 0's preparation) failed: nothing was merged."""


@dataclass(frozen=True)
class Shard:
    """This process's place in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int


def from_environment(environ: Any = None) -> Shard | None:
    """The shard torchrun describes in the environment, or None outside torchrun (or with one process).

    Malformed values are a ValueError naming the variable."""
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    values = {}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        text = env.get(name, "0" if name == "LOCAL_RANK" else None)
        if text is None:
            raise ValueError(f"WORLD_SIZE is set ({env['WORLD_SIZE']!r}) but {name} is not: start the processes with "
                             "torchrun, or unset WORLD_SIZE")
        try:
            values[name] = int(text)
        except ValueError:
            raise ValueError(f"environment variable {name} must be an integer, got {text!r}") from None
    shard = Shard(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"])
    if shard.world_size < 1 or not 0 <= shard.rank < shard.world_size or shard.local_rank < 0:
        raise ValueError(f"torchrun environment out of range: RANK={shard.rank}, WORLD_SIZE={shard.world_size}, "
                         f"LOCAL_RANK={shard.local_rank}")
    return shard if shard.world_size > 1 else None


def pin_local_device(shard: Shard, environ: Any = None) -> None:
    """Let this process see only the GPU of its local rank (the ``LOCAL_RANK``-th of those visible), before CUDA
    starts; no effect on a machine without GPUs."""
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip()]
        if not ids:
            return
        env["CUDA_VISIBLE_DEVICES"] = ids[shard.local_rank % len(ids)]
    else:
        env["CUDA_VISIBLE_DEVICES"] = str(shard.local_rank)


def check_device(config: StudyConfig) -> None:
    device = config.models["device"].strip().lower()
    if device.startswith("cuda:"):
        raise ValueError(f"models.device = {config.models['device']!r}: under torchrun each process uses the GPU of "
                         "its LOCAL_RANK; set models.device to 'cuda' or 'auto'")


def _store(shard: Shard) -> Any:
    import torch.distributed as dist

    store, rank, world_size = next(dist.rendezvous("env://", timeout=WAIT))
    if (rank, world_size) != (shard.rank, shard.world_size):  # pragma: no cover (torchrun sets both)
        raise ShardError(f"the rendezvous says rank {rank} of {world_size}, the environment {shard.rank} of "
                         f"{shard.world_size}")
    return store


def _put(store: Any, key: str, value: dict[str, Any]) -> None:
    store.set(_PREFIX + key, json.dumps(value))


def _get(store: Any, key: str) -> dict[str, Any]:
    store.wait([_PREFIX + key], WAIT)
    return json.loads(store.get(_PREFIX + key).decode())


def _failure(shard: Shard, root: Path | None, stage: str | None, error: BaseException) -> dict[str, Any]:
    """The status a failed process reports; its traceback goes to DIR/logs/rank-<r>-error.txt."""
    where = None
    if root is not None:
        try:
            where = root / "logs" / f"rank-{shard.rank}-error.txt"
            where.parent.mkdir(parents=True, exist_ok=True)
            jsonio.write_atomic(where, "".join(traceback.format_exception(error)))
        except OSError:
            where = None
    return {"ok": False, "stage": stage, "error": f"{type(error).__name__}: {error}",
            "traceback": None if where is None else str(where)}


def _describe(shard: Shard, status: dict[str, Any]) -> str:
    return (f"shard {shard.rank} of {shard.world_size} (rank {shard.rank}) failed"
            + (f" in stage {status['stage']}" if status.get("stage") else "") + f": {status['error']}"
            + (f" (traceback in {status['traceback']})" if status.get("traceback") else ""))


def run_sharded(config: StudyConfig, out_dir: str | Path, shard: Shard, *, force: bool = False,
                progress: Any = None, log: Callable[[str], None] | None = None) -> Any:
    """This process's part of a torchrun job (see the module docstring): a
    :class:`typicality.lm.study.StudyRun`, with ``results`` set on rank 0 once everything is merged."""
    from typicality.lm import study

    say = log or (lambda msg: None)
    check_device(config)
    store = _store(shard)
    if shard.rank == 0:
        try:
            ctx = study.prepare_study(config, out_dir, force=force, progress=progress, log=say,
                                      world_size=shard.world_size)
        except BaseException as e:
            _put(store, "ready", {"ok": False, "error": f"{type(e).__name__}: {e}"})
            raise
        _put(store, "ready", {"ok": True})
    else:
        ready = _get(store, "ready")
        if not ready["ok"]:
            raise ShardError(f"rank 0 could not start the run ({ready['error']}); see its message")
        ctx = study.prepare_study(config, out_dir, progress=progress, log=say, adopt=False,
                                  world_size=shard.world_size)
    run = study.StudyRun(None, ctx.root)
    mine = study.shard_units(ctx.plan, shard.rank, shard.world_size)
    say(f"shard {shard.rank} of {shard.world_size}: {len(mine)} of {len(ctx.plan.units)} unit(s)")
    try:
        study.run_stages(ctx, mine, run)
    except BaseException as e:
        status = _failure(shard, ctx.root, run.stage, e)
        _put(store, f"done/{shard.rank}", status)
        if not isinstance(e, Exception):  # KeyboardInterrupt, SystemExit
            raise
        raise ShardError(_describe(shard, status) + ". Finished units are kept: rerun the same command to resume.") \
            from e
    _put(store, f"done/{shard.rank}", {"ok": True, **study.timing_record(run, shard.rank, ctx.device)})
    if shard.rank != 0:
        return run
    reports = [_get(store, f"done/{r}") for r in range(shard.world_size)]
    failed = [(r, rep) for r, rep in enumerate(reports) if not rep["ok"]]
    if failed:
        lines = [_describe(Shard(r, shard.world_size, 0), rep) for r, rep in failed]
        raise ShardError("; ".join(lines) + f". Nothing merged: {ctx.root}/samples.parquet and results.json are not "
                         "written. Finished units are kept: rerun the same command to resume.")
    missing = study.missing_units(ctx)
    if missing:
        unit, stage = missing[0]
        owner = ctx.plan.units.index(unit) % shard.world_size
        raise ShardError(f"every shard reported success, but {len(missing)} unit file(s) are missing under "
                         f"{ctx.root} (e.g. {unit.scheme} prompts {unit.start}-{unit.stop}, stage {stage}, written "
                         f"by rank {owner}): --out must be a directory that every process sees (a shared file "
                         "system across nodes). Nothing merged.")
    t0 = time.perf_counter()
    study.finish_study(ctx, run, [{k: v for k, v in rep.items() if k != "ok"} for rep in reports])
    say(f"merged {len(ctx.plan.units)} unit(s) of {shard.world_size} shards in {time.perf_counter() - t0:.1f} s")
    return run


__all__ = ["Shard", "ShardError", "check_device", "from_environment", "pin_local_device", "run_sharded"]
