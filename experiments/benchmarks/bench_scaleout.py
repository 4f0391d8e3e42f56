"""Benchmark: the study's throughput on the engines it scales out on: transformers vs vLLM, one process vs two.

Each contender runs the same study (``typicality lm run``, the models of ``bench_study.py``: randomly initialized
Llamas built from a config, 6 schemes of every adaptor kind) from a fresh directory, as a user would:

* ``transformers ×1``: the transformers back end, one process (the baseline);
* ``transformers ×2``: the same, sharded over two processes with torchrun (``typicality.lm.distributed``);
* ``vllm ×1`` and ``vllm ×2``: ``sampling.backend = "vllm"``, when an interpreter with vLLM is given
  (``--vllm-python``, e.g. the ``.venv-vllm`` that ``.ci/run`` builds; vLLM lives in its own environment).

Printed per contender: tokens per second of the sample stage (sampled tokens / the slowest rank's sample-stage
seconds) and of the prior stage (scored continuation tokens, conditioned and unconditioned, / its seconds), the
command's wall time, and each ratio to the baseline measured in this run. The two-process runs are checked to write
the samples of the one-process run of their back end (strings identical).

Two processes need two devices to gain: on a GPU machine each rank gets the GPU of its LOCAL_RANK (one GPU: both
share it); on a CPU each rank gets one thread (torchrun's OMP_NUM_THREADS=1), against the one-process run's
``--threads``.

Run: python experiments/benchmarks/bench_scaleout.py [--prompts 64] [--max-new-tokens 128] [--threads 2]
     [--vllm-python .venv-vllm/bin/python]
On a GPU, a few hundred million parameters: --device cuda --hidden 1024 --layers 24 --heads 16 --prompts 256
     --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from bench_study import make_workspace  # noqa: E402


def run(python: str, cfg: Path, out: Path, *, nproc: int, backend: str, threads: int | None) -> dict:
    launcher = ([python, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m"]
                if nproc > 1 else [python, "-m"])
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "PYTHONPATH")}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    if threads and nproc == 1:
        env["OMP_NUM_THREADS"] = str(threads)
    cmd = [*launcher, "typicality", "lm", "run", str(cfg), "--out", str(out), "--set", f'sampling.backend="{backend}"']
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{backend} ×{nproc} failed:\n{proc.stderr[-3000:]}")
    import pandas as pd

    timings = json.loads((out / "timings.json").read_text())
    samples = pd.read_parquet(out / "samples.parquet")
    tokens = int(samples["n_tokens"].sum())
    sample_s = max(r["stage_seconds"]["sample"] for r in timings["ranks"])
    prior_s = max(r["stage_seconds"]["prior"] for r in timings["ranks"])
    return {"wall": wall, "sample_tps": tokens / sample_s, "prior_tps": 2 * tokens / prior_s, "tokens": tokens,
            "strings": [tuple(y) for y in samples["token_ids"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--prompts-per-unit", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2,
                    help="2 with --hidden 64: heads of 32, which vLLM's CPU kernels take")
    ap.add_argument("--eos-logit", type=float, default=1.5)
    ap.add_argument("--threads", type=int, default=None, help="the one-process runs' threads (default: torch's)")
    ap.add_argument("--device", default=None, help="cpu | cuda (default: cuda when torch sees a GPU, else cpu)")
    ap.add_argument("--vllm-python", default=None, help="an interpreter that has vLLM (and typicality) installed")
    args = ap.parse_args()
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    contenders = [("transformers", 1, sys.executable), ("transformers", 2, sys.executable)]
    if args.vllm_python:
        contenders += [("vllm", 1, args.vllm_python), ("vllm", 2, args.vllm_python)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = make_workspace(root, args)
        text = cfg.read_text().replace(f"prompts_per_unit = {args.prompts}",
                                       f"prompts_per_unit = {args.prompts_per_unit}")
        cfg.write_text(text)
        print(f"6 schemes × {args.prompts} prompts × {args.samples} samples, max_new_tokens {args.max_new_tokens}, "
              f"batch {args.batch_size}, {args.prompts_per_unit} prompts per unit; Llama {args.hidden}×{args.layers} "
              f"on {args.device}")
        results = {}
        for backend, nproc, python in contenders:
            results[(backend, nproc)] = run(python, cfg, root / f"{backend}-{nproc}", nproc=nproc, backend=backend,
                                            threads=args.threads)
        base = results[("transformers", 1)]
        print(f"{'contender':<16} {'sample tok/s':>13} {'ratio':>6} {'prior tok/s':>12} {'ratio':>6} {'wall s':>8} "
              f"{'ratio':>6}")
        for (backend, nproc), r in results.items():
            name = f"{backend} ×{nproc}"
            print(f"{name:<16} {r['sample_tps']:13,.0f} {r['sample_tps'] / base['sample_tps']:6.2f}"
                  f" {r['prior_tps']:12,.0f} {r['prior_tps'] / base['prior_tps']:6.2f} {r['wall']:8.1f} "
                  f"{base['wall'] / r['wall']:6.2f}")
        for backend in ("transformers", "vllm"):
            if (backend, 2) in results:
                same = results[(backend, 1)]["strings"] == results[(backend, 2)]["strings"]
                print(f"{backend}: two processes wrote {'the same' if same else 'DIFFERENT'} strings as one")
        if ("vllm", 1) in results:
            a, b = base["strings"], results[("vllm", 1)]["strings"]
            same = sum(x == y for x, y in zip(a, b, strict=True))
            print(f"vllm vs transformers: {same} of {len(a)} strings identical "
                  "(not required: the logits differ in the last bits)")


if __name__ == "__main__":
    main()
