"""The study's stages: sample (aligned model), score (prior), reward, merge, analyse, report.

:func:`run_study` checks everything cheap first (config, prompts, device, that the model paths exist, that aligned
and prior share a tokenizer, that the reward loads, that the output directory holds no other config's results),
then runs the stages one model at a time (so one GPU holds one model), unit by unit (:mod:`typicality.lm.store`):

1. **sample**: the aligned model with each scheme's adaptor (:mod:`typicality.lm.sampling`) records the token ids
   and log p_aligned, log q_T, log π̃_T of every string;
2. **prior**: log p_prior(y | x) and the paper's unconditioned variant (:mod:`typicality.lm.scoring`);
3. **reward**: the reward model or function on the decoded text (skipped when only the DPO secret reward is used);
4. **merge** into ``samples.parquet`` (the secret reward β·(log p_aligned − log p_prior), Eq. 4, added here), then
   **analyse** (:mod:`typicality.lm.analysis`) into ``results.json``, and **report** (``figure.png``, ``report.md``).

Every stage works on any subset of the units: ``rank``/``world_size`` give process ``rank`` the units
``i % world_size == rank`` (under torchrun, :mod:`typicality.lm.distributed` passes them and coordinates the
processes), and the merge refuses to run while any unit is missing. Each unit is computed on its own, so its file
is the same whichever process computes it and whatever else was pending: a sharded or resumed run writes the same
``samples.parquet`` and ``results.json`` as one uninterrupted process (times go to ``timings.json``).

``sampling.backend`` chooses the engine of the sample and prior stages: transformers (:mod:`typicality.lm.sampling`,
:mod:`typicality.lm.scoring`) or vLLM (:mod:`typicality.lm.vllm_backend`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from typicality import __version__, jsonio
from typicality.lm.config import StudyConfig, fingerprint
from typicality.lm.prompts import Prompts, load_prompts
from typicality.lm.store import STAGES, RunDirectory, Unit, read_parquet, write_parquet_atomic

Progress = Callable[[str, int], Callable[[int], None]]


def _quiet(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def file_fingerprint(path: Path) -> str:
    """Size and SHA-256 of a file (of its first and last MiB, plus the size, for files over 8 MiB)."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with path.open("rb") as f:
        if size <= 8 << 20:
            h.update(f.read())
        else:
            h.update(f.read(1 << 20))
            f.seek(size - (1 << 20))
            h.update(f.read())
    return h.hexdigest()[:16]


def model_fingerprint(spec: str | None) -> str | None:
    """What identifies a model: its files' fingerprints (local folder or file), or the spec (hub id), or the
    reward function's source file."""
    if spec is None:
        return None
    head, sep, fn = spec.rpartition(":")
    if sep and head.endswith(".py") and Path(head).is_file():
        return fingerprint(["file-function", file_fingerprint(Path(head)), fn])
    p = Path(spec)
    if p.is_file():
        return fingerprint(["file", p.name, file_fingerprint(p)])
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
        return fingerprint(["folder", [[str(q.relative_to(p)), file_fingerprint(q)] for q in files]])
    if sep and "/" not in head:  # module:function
        try:
            found = importlib.util.find_spec(head)
        except (ImportError, ValueError):
            found = None
        origin = found.origin if found is not None else None
        if origin and Path(origin).is_file():
            return fingerprint(["module-function", head, file_fingerprint(Path(origin)), fn])
    return fingerprint(["spec", spec])


@dataclass
class StudyPlan:
    """What a run will do: the prompts, the units and each unit's key per stage."""

    config: StudyConfig
    prompts: Prompts
    units: list[Unit]
    keys: dict[tuple[Unit, str], str]
    fingerprints: dict[str, Any]
    reward_stage: bool

    def expected_files(self, root: Path) -> list[Path]:
        return [u.path(root, stage, key) for (u, stage), key in self.keys.items()]


def make_plan(config: StudyConfig, prompts: Prompts) -> StudyPlan:
    """Units (scheme × prompt range) and the hash of the inputs of each unit's stages."""
    m, s = config.models, config.sampling
    fps = {"aligned": model_fingerprint(m["aligned"]), "prior": model_fingerprint(m["prior"]),
           "reward": model_fingerprint(m["reward"])}
    step = s["prompts_per_unit"]
    units, keys = [], {}
    reward_stage = m["reward"] is not None
    for scheme in config.all_schemes:
        for start in range(0, len(prompts), step):
            stop = min(start + step, len(prompts))
            unit = Unit(scheme.name, start, stop)
            units.append(unit)
            sample_key = fingerprint({
                "aligned": fps["aligned"], "dtype": m["dtype"], "adaptor_dtype": s["adaptor_dtype"],
                "max_new_tokens": s["max_new_tokens"], "seed": s["seed"], "samples": s["samples_per_prompt"],
                "scheme": scheme.key(), "range": [start, stop], "prompts": list(prompts.templated[start:stop]),
                "token_scores": s["token_scores"], "trust_remote_code": m["trust_remote_code"]})
            keys[(unit, "sample")] = sample_key
            keys[(unit, "prior")] = fingerprint({"sample": sample_key, "prior": fps["prior"], "dtype": m["dtype"],
                                                 "token_scores": s["token_scores"]})
            if reward_stage:
                keys[(unit, "reward")] = fingerprint({"sample": sample_key, "reward": fps["reward"],
                                                      "dtype": m["dtype"], "max_length": m["reward_max_length"],
                                                      "kind": m["reward_kind"], "template": config.prompts["template"]})
    return StudyPlan(config, prompts, units, keys, fps, reward_stage)


@dataclass
class StudyRun:
    """What :func:`run_study` returns: the results (also in results.json) and where things were written."""

    results: dict[str, Any] | None
    out_dir: Path
    stage_seconds: dict[str, float] = field(default_factory=dict)
    units_done: dict[str, int] = field(default_factory=dict)
    units_reused: dict[str, int] = field(default_factory=dict)
    #: the stage running now (None between stages): what a failure report names
    stage: str | None = None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"typicality": __version__, "python": platform.python_version()}
    for name in ("torch", "transformers", "numpy", "pandas", "pyarrow"):
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = __import__(name)
            except ImportError:
                mod = None
        out[name] = getattr(mod, "__version__", None) if mod is not None else None
    return out


def preflight(config: StudyConfig) -> tuple[Prompts, Any, Any]:
    """Every cheap check, before any model weight is read: prompts, device, dtype, the models' tokenizers and
    configs (aligned and prior must share the tokenizer and the logits width), the reward spec.

    Returns the prompts, the resolved device and the aligned model's tokenizer.
    """
    from typicality.lm import loading

    prompts = load_prompts(config.prompts)
    m = config.models
    device = loading.resolve_device(m["device"])
    loading.resolve_dtype(m["dtype"], device)
    trust = m["trust_remote_code"]
    aligned = _named("models.aligned", loading.load_model_info, m["aligned"], trust_remote_code=trust)
    prior = _named("models.prior", loading.load_model_info, m["prior"], trust_remote_code=trust)
    loading.check_same_tokenizer(aligned, prior, names=("aligned", "prior"))
    if aligned.vocab_size != prior.vocab_size:
        raise ValueError(f"the aligned model ({m['aligned']!r}) has {aligned.vocab_size} logits and the prior "
                         f"({m['prior']!r}) {prior.vocab_size}: the prior could not score every id the aligned "
                         "model can sample")
    if config.sampling["backend"] == "vllm":
        from typicality.lm import vllm_backend
        from typicality.lm.scoring import prompt_ids

        lengths = [len(ids) for ids in prompt_ids(aligned.tokenizer, prompts.templated)]
        vllm_backend.check_config(config, {"aligned": aligned, "prior": prior}, lengths, device)
    if m["reward"] is not None:
        _named("models.reward", loading.check_reward_spec, m["reward"], kind=m["reward_kind"], trust_remote_code=trust)
        if is_function_spec(m["reward"]):
            smoke_test_reward(loading.load_reward(m["reward"]), prompts)
    return prompts, device, aligned.tokenizer


def _named(key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, with the config key prefixed to its error messages."""
    try:
        return fn(*args, **kwargs)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{key}: {e}") from None
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None


def is_function_spec(spec: str) -> bool:
    """``module:function`` or ``file.py:function`` (what :func:`typicality.lm.loading.load_reward` calls)."""
    return ":" in spec and not Path(spec).expanduser().is_dir()


def smoke_test_reward(reward: Any, prompts: Prompts) -> None:
    """Call a reward function on two made-up pairs, so that a function returning the wrong number of values or
    non-numbers fails now, not after the sampling."""
    pairs = ([prompts.templated[0], prompts.templated[-1]], ["", " Thank you, that is very helpful."])
    try:
        reward(*pairs)
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"reward function {reward.name} failed on a test call with 2 (prompt, continuation) "
                         f"pairs: {type(e).__name__}: {e}") from e


def run_study(config: StudyConfig, out_dir: str | Path, *, force: bool = False, progress: Progress | None = None,
              rank: int = 0, world_size: int = 1, log: Callable[[str], None] | None = None) -> StudyRun:
    """Run (or resume) the study of ``config`` into ``out_dir``; see the module docstring.

    ``rank``/``world_size`` without torchrun: this process does the units ``i % world_size == rank`` and rank 0
    merges once every unit exists (run the ranks one after another, or as jobs sharing the directory; under
    torchrun, :func:`typicality.lm.distributed.run_sharded` coordinates them).
    """
    check_shard(rank, world_size)
    ctx = prepare_study(config, out_dir, force=force, progress=progress, log=log, world_size=world_size)
    run = StudyRun(None, ctx.root)
    run_stages(ctx, shard_units(ctx.plan, rank, world_size), run)
    if rank != 0:
        return run
    missing = missing_units(ctx)
    if missing:
        ctx.say(f"{len(missing)} unit(s) of other processes are not done yet; merge when they are")
        return run
    finish_study(ctx, run, [timing_record(run, rank, ctx.device)])
    return run


def check_shard(rank: Any, world_size: Any) -> None:
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be an int >= 1, got {world_size!r}")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < world_size:
        raise ValueError(f"rank must be an int in [0, {world_size}), got {rank!r}")


def shard_units(plan: StudyPlan, rank: int, world_size: int) -> list[Unit]:
    """The units of process ``rank`` of ``world_size``: every ``world_size``-th, starting at ``rank``."""
    return [u for i, u in enumerate(plan.units) if i % world_size == rank]


def prepare_study(config: StudyConfig, out_dir: str | Path, *, force: bool = False, progress: Progress | None = None,
                  log: Callable[[str], None] | None = None, adopt: bool = True,
                  world_size: int = 1) -> _StageContext:
    """The cheap checks (:func:`preflight`), the plan, and (with ``adopt``) the run directory made ready: created,
    or checked to hold only this config's units (``force`` deletes others'). ``world_size`` processes must each
    have a unit to do."""
    from typicality.lm.scoring import prompt_ids

    prompts, device, tokenizer = preflight(config)
    plan = make_plan(config, prompts)
    if world_size > len(plan.units):
        n_ranges = len(plan.units) // max(1, len(config.all_schemes))
        raise ValueError(f"{world_size} processes but this study has only {len(plan.units)} unit(s) of work "
                         f"({len(config.all_schemes)} scheme(s) × {n_ranges} range(s) of up to "
                         f"{config.sampling['prompts_per_unit']} prompts, from {len(prompts)} prompt(s)): "
                         f"{world_size - len(plan.units)} process(es) would have nothing to do; start at most "
                         f"{len(plan.units)} (torchrun --nproc-per-node), or lower sampling.prompts_per_unit")
    run_dir = RunDirectory(out_dir)
    if adopt:
        run_dir.prepare({"config": config.to_json_dict(), "fingerprints": plan.fingerprints},
                        plan.expected_files(run_dir.root), force=force)
    return _StageContext(config, plan, run_dir.root, prompts, prompt_ids(tokenizer, prompts.templated),
                         progress or _quiet, log or (lambda msg: None), str(device))


def run_stages(ctx: _StageContext, units: Sequence[Unit], run: StudyRun) -> None:
    """Sample, score and reward ``units`` (those not done yet), recording times and counts in ``run``."""
    run.stage = None
    for stage, runner in (("sample", _sample_units), ("prior", _prior_units), ("reward", _reward_units)):
        run.stage = stage
        t0 = time.perf_counter()
        ours = [u for u in units if (u, stage) in ctx.plan.keys]
        pending = [u for u in ours if not ctx.path(u, stage).exists()]
        run.units_reused[stage] = len(ours) - len(pending)
        if pending:
            runner(ctx, pending)
            _free_memory()
        run.stage_seconds[stage] = time.perf_counter() - t0
        run.units_done[stage] = len(pending)
    run.stage = None


def missing_units(ctx: _StageContext) -> list[tuple[Unit, str]]:
    plan = ctx.plan
    return [(u, st) for u in plan.units for st in STAGES if (u, st) in plan.keys and not ctx.path(u, st).exists()]


def timing_record(run: StudyRun, rank: int, device: str) -> dict[str, Any]:
    """What one process did: its stage times and unit counts (for ``timings.json``)."""
    return {"rank": rank, "host": platform.node(), "device": device, "stage_seconds": dict(run.stage_seconds),
            "units_done": dict(run.units_done), "units_reused": dict(run.units_reused)}


def finish_study(ctx: _StageContext, run: StudyRun, ranks: list[dict[str, Any]]) -> None:
    """Merge every unit into ``samples.parquet``, analyse into ``results.json``, write the report, and record how
    the run went in ``timings.json`` (``ranks``: :func:`timing_record` of each process).

    ``results.json`` holds only what the config and the models determine (the results, the config, the versions,
    the device), so a resumed or sharded run writes the same file as one uninterrupted process; times and unit
    counts go to ``timings.json``."""
    config, plan, root = ctx.config, ctx.plan, ctx.root
    m, s = config.models, config.sampling
    t0 = time.perf_counter()
    samples = merge_units(plan, root)
    write_parquet_atomic(samples, root / "samples.parquet")
    run.stage_seconds["merge"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    from typicality.lm.analysis import AnalysisOptions, analyze

    a = config.analysis
    options = AnalysisOptions(seed=a["seed"], include_capped=a["include_capped"], corpus_blocks=a["corpus_blocks"],
                              bootstrap_corpora=a["bootstrap_corpora"],
                              bootstrap_corpus_size=a["bootstrap_corpus_size"], cramers_v_lag=a["cramers_v_lag"],
                              secret_reward_beta=m["secret_reward_beta"], paper_chain_length=a["paper_chain_length"],
                              **({"ablations": tuple(a["ablations"])} if a["ablations"] is not None else {}))
    analysis = analyze(samples, [sch.to_json_dict() for sch in config.all_schemes], options)
    run.stage_seconds["analysis"] = time.perf_counter() - t0
    meta = {"models": {k: m[k] for k in ("aligned", "prior", "reward", "secret_reward_beta")},
            "n_prompts": len(ctx.prompts), "samples_per_prompt": s["samples_per_prompt"], "versions": versions(),
            "device": ctx.device, "backend": s["backend"], "prompts_source": ctx.prompts.source}
    results = {**analysis, "config": config.to_json_dict(), **meta}
    jsonio.write_atomic(root / "results.json", jsonio.dumps(results))
    t0 = time.perf_counter()
    from typicality.lm.report import write_figure, write_report

    try:
        write_figure(analysis, samples, root / "figure.png")
    except ImportError:
        ctx.say("matplotlib is not installed, so no figure was written (pip install 'typicality[lm]')")
    write_report(analysis, {**meta, "stage_seconds": run.stage_seconds, "processes": len(ranks)},
                 root / "report.md")
    run.stage_seconds["report"] = time.perf_counter() - t0
    timings = {"world_size": len(ranks), "ranks": ranks,
               "rank0_stage_seconds": dict(run.stage_seconds)}
    jsonio.write_atomic(root / "timings.json", jsonio.dumps(timings))
    run.results = results


@dataclass
class _StageContext:
    """What every stage needs: the config, the plan, where units go, the prompts and their token ids."""

    config: StudyConfig
    plan: StudyPlan
    root: Path
    prompts: Prompts
    prompt_ids: list[list[int]]
    progress: Progress
    say: Callable[[str], None]
    device: str

    def path(self, unit: Unit, stage: str) -> Path:
        return unit.path(self.root, stage, self.plan.keys[(unit, stage)])

    def strings(self, units: Sequence[Unit]) -> int:
        return sum((u.stop - u.start) * self.config.sampling["samples_per_prompt"] for u in units)


def _sample_units(ctx: _StageContext, pending: list[Unit]) -> None:
    """Stage 1: the aligned model samples every pending unit's strings, recording their scores.

    Each unit is sampled on its own (the batch never mixes units), so a unit's rows, down to the last bit of every
    recorded sum, do not depend on which other units were pending: a resumed or sharded run writes the same files
    as one uninterrupted process."""
    import pandas as pd

    from typicality.lm.sampling import SampleRequest
    from typicality.lm.scoring import decode_continuations

    m, s = ctx.config.models, ctx.config.sampling
    ctx.say(f"sampling: {len(pending)} unit(s), {ctx.strings(pending)} strings from {m['aligned']} "
            f"({s['backend']} back end)")
    with _engine(ctx, "aligned") as (backend, lm):
        eos_ids = set(lm.eos_token_ids)
        schemes = {sch.name: sch for sch in ctx.config.all_schemes}
        tick = ctx.progress("sample", ctx.strings(pending))
        for unit in pending:
            group = [SampleRequest(i, j, schemes[unit.scheme], tuple(ctx.prompt_ids[i]))
                     for i in range(unit.start, unit.stop) for j in range(s["samples_per_prompt"])]
            sampled = backend.sample_groups([group], progress=tick)[0]
            frame = pd.DataFrame([r.row() for r in sampled])
            frame["text"] = decode_continuations(lm.tokenizer, [r.token_ids for r in sampled], eos_ids)
            write_parquet_atomic(frame, ctx.path(unit, "sample"))


@contextmanager
def _engine(ctx: _StageContext, role: str) -> Iterator[tuple[Any, Any]]:
    """The back end of ``sampling.backend`` on model ``role`` ("aligned": a sampler; "prior": a scorer, as a
    function ``score(contexts, continuations, **kw)``) and the model's :class:`~typicality.lm.loading.LoadedLM`
    (for vLLM its configs only: tokenizer, special ids); freed on exit."""
    from typicality.lm import loading

    m, s = ctx.config.models, ctx.config.sampling
    spec = m[role]
    if s["backend"] == "vllm":
        from typicality.lm import vllm_backend

        info = loading.load_model_info(spec, trust_remote_code=m["trust_remote_code"])
        eos_ids = sorted(info.eos_token_ids)
        # the prior scores prompt + continuation and generates one token (vLLM's scoring is a generation)
        length = max((len(p) for p in ctx.prompt_ids), default=1) + s["max_new_tokens"] + (role == "prior")
        llm = vllm_backend.open_engine(spec, dtype=m["dtype"], max_model_len=length,
                                       seed=s["seed"], max_num_seqs=s["batch_size"],
                                       trust_remote_code=m["trust_remote_code"], sampling=role == "aligned")
        try:
            if role == "aligned":
                yield vllm_backend.VLLMBackend(llm, eos_ids, max_new_tokens=s["max_new_tokens"], seed=s["seed"],
                                               adaptor_dtype=s["adaptor_dtype"], token_scores=s["token_scores"]), info
            else:
                def score(contexts: Any, continuations: Any, **kw: Any) -> Any:
                    kw.pop("batch_size", None)
                    return vllm_backend.score_continuations(llm, contexts, continuations, eos_ids, **kw)

                yield score, info
        finally:
            vllm_backend.close_engine(llm)
        return
    lm = loading.load_causal_lm(spec, device=m["device"], dtype=m["dtype"], trust_remote_code=m["trust_remote_code"])
    try:
        if role == "aligned":
            from typicality.lm.sampling import TransformersBackend

            yield (TransformersBackend(lm, max_new_tokens=s["max_new_tokens"], seed=s["seed"],
                                       adaptor_dtype=s["adaptor_dtype"], batch_size=s["batch_size"],
                                       token_scores=s["token_scores"]), lm)
        else:
            from typicality.lm.scoring import score_continuations

            yield partial(score_continuations, lm), lm
    finally:
        del lm
        _free_memory()


def _prior_units(ctx: _StageContext, pending: list[Unit]) -> None:
    """Stage 2: log p_prior(y | x) and the unconditioned variant (BOS + y) of every pending unit's strings."""
    import pandas as pd

    from typicality.lm.scoring import start_context

    m, s = ctx.config.models, ctx.config.sampling
    ctx.say(f"scoring under the prior: {len(pending)} unit(s) with {m['prior']} ({s['backend']} back end)")
    with _engine(ctx, "prior") as (score, lm):
        bos = start_context(lm)
        tick = ctx.progress("prior", 2 * ctx.strings(pending))
        kw = {"batch_size": ctx.config.scoring["batch_size"], "progress": tick, "token_scores": s["token_scores"]}
        for unit in pending:
            frame = read_parquet(ctx.path(unit, "sample"))
            ys = [list(y) for y in frame["token_ids"]]
            cond = score([ctx.prompt_ids[i] for i in frame["prompt_index"]], ys, **kw)
            uncond = score([bos] * len(ys), ys, **kw)
            out = pd.DataFrame({"prompt_index": frame["prompt_index"], "sample_index": frame["sample_index"]})
            for name, res in (("logp_prior", cond), ("logp_prior_unconditioned", uncond)):
                out[name], out[name + "_eos"], out[name + "_clamped"] = res["total"], res["eos"], res["clamped"]
                if s["token_scores"]:
                    out["token_" + name] = [list(map(float, v)) for v in res["tokens"]]
            write_parquet_atomic(out, ctx.path(unit, "prior"))


def _reward_units(ctx: _StageContext, pending: list[Unit]) -> None:
    """Stage 3: the reward of every pending unit's strings (prompt, decoded continuation)."""
    import numpy as np
    import pandas as pd

    from typicality.lm import loading

    m = ctx.config.models
    ctx.say(f"scoring rewards: {len(pending)} unit(s) with {m['reward']}")
    reward = loading.load_reward(m["reward"], device=m["device"], dtype=m["dtype"], kind=m["reward_kind"],
                                 batch_size=ctx.config.scoring["reward_batch_size"],
                                 max_length=m["reward_max_length"], trust_remote_code=m["trust_remote_code"])
    column = "reward" if m["secret_reward_beta"] is None else "reward_model"
    tick = ctx.progress("reward", ctx.strings(pending))
    for unit in pending:
        frame = read_parquet(ctx.path(unit, "sample"))
        values = np.asarray(reward([ctx.prompts.templated[i] for i in frame["prompt_index"]], list(frame["text"])),
                            dtype=np.float64)
        tick(len(frame))
        out = pd.DataFrame({"prompt_index": frame["prompt_index"], "sample_index": frame["sample_index"],
                            column: values})
        write_parquet_atomic(out, ctx.path(unit, "reward"))


def merge_units(plan: StudyPlan, root: Path) -> Any:
    """One table of every string: sample ⨝ prior ⨝ reward per unit, in scheme, prompt, sample order."""
    import pandas as pd

    beta = plan.config.models["secret_reward_beta"]
    frames = []
    on = ["prompt_index", "sample_index"]
    for unit in plan.units:
        frame = read_parquet(unit.path(root, "sample", plan.keys[(unit, "sample")]))
        frame = frame.merge(read_parquet(unit.path(root, "prior", plan.keys[(unit, "prior")])), on=on,
                            how="left", validate="one_to_one")
        if (unit, "reward") in plan.keys:
            frame = frame.merge(read_parquet(unit.path(root, "reward", plan.keys[(unit, "reward")])), on=on,
                                how="left", validate="one_to_one")
        frames.append(frame)
    samples = pd.concat(frames, ignore_index=True)
    if beta is not None:
        from typicality.lm.loading import secret_reward

        samples["reward"] = secret_reward(samples["logp_aligned"].to_numpy(), samples["logp_prior"].to_numpy(), beta)
    order = {sch.name: i for i, sch in enumerate(plan.config.all_schemes)}
    samples = samples.sort_values(["scheme", "prompt_index", "sample_index"],
                                  key=lambda c: c.map(order) if c.name == "scheme" else c, kind="stable")
    return samples.reset_index(drop=True)


def _free_memory() -> None:
    import gc

    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


__all__ = ["StudyPlan", "StudyRun", "check_shard", "finish_study", "make_plan", "merge_units", "missing_units",
           "model_fingerprint", "preflight", "prepare_study", "run_stages", "run_study", "shard_units",
           "timing_record", "versions"]
