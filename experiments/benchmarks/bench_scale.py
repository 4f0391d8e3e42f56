"""Benchmark: every exact measure at scale — float64 on a 50,000-word bigram (1 M arcs) and 50 digits on a
1,000-state model — against the previous algorithms, measured in the same run on sizes where they finish.

Targets (issue 10, item 5): (a) |Σ| = 50,000, 20 successors per context, all measures of ``measures()`` in float64
under the accuracy contract in < 60 s and < 4 GB on 2 cores; (b) a 1,000-state model (|Σ| = 999) at ``dps=50``
in < 60 s. Models: ``typicality.testing.random_sparse_bigram(vocab, successors, seed)``.

Baselines, each on the same model as the new path:
* float64: the sparse systems factorized by SuperLU (COLAMD ordering), as before the Krylov solver
  (``SparseResolventSolver.method = "splu"``), at ``--baseline-vocab`` (default 3,000, above the dense limit of 1,500
  states: SuperLU's fill-in grows like n², so 50,000 does not finish);
* dps: the dense ball-arithmetic path (``arb_mat`` built and solved at O(n³), Noda iteration for Perron roots),
  one precision, at ``--dps-baseline-vocab`` (default 299: 300 states, ~20 s; its O(n³) makes 1,000 states
  take over ten minutes).

Peak RSS is the process's high-water mark (``ru_maxrss``) after each stage, so it includes what came before.
Run: python experiments/benchmarks/bench_scale.py [--vocab 50000] [--successors 20] [--dps-vocab 999] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mpmath
from timing import median_time

from typicality import measures as M
from typicality.measures import finite_state as fs
from typicality.numerics import SparseResolventSolver
from typicality.testing import random_sparse_bigram


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def fresh(model):
    """The model without the measures' caches (so every timed call does all the work)."""
    model.__dict__.pop("_measures_prepared", None)
    return model


def all_measures(model, dps=None):
    return M.measures(fresh(model), ["0.5", "2"], dps=dps)


def float64_with(method: str, model) -> float:
    SparseResolventSolver.method = method
    try:
        t0 = time.perf_counter()
        all_measures(model)
        return time.perf_counter() - t0
    finally:
        SparseResolventSolver.method = "gmres"


def dense_dps_baseline(model, dps: int) -> None:
    """The previous certified path at one precision: dense arb_mat solves (T-measures and varentropy, the Rényi
    sum at α = 2), Noda iteration for ρ(T), regula falsi with dense Perron roots and sign tests for α₀."""
    P = fs.prepare(fresh(model))
    rel, _, prec = fs._digits_target(dps)
    ta = fs._TArb(P, prec)
    ta.varentropy()
    fs._renyi_arb(P, Fraction(2), prec)
    v = [fs._float_perron(fs._block(fs.Float64(), P.live, b, P.p64), 0.0, P.degree)[2] for b in P.blocks]
    with fs.Arb.context(prec) as num:
        p = num.array(P.p)
        for members, v0 in zip(P.blocks, v, strict=True):
            fs._arb_perron(fs._block(num, P.live, members, p), v0, prec)
    for members in P.blocks:
        a_hat, vec = fs._float_newton(P, members)
        fs._threshold_certified(P, members, a_hat, rel, prec, vec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--successors", type=int, default=20)
    ap.add_argument("--baseline-vocab", type=int, default=3_000)
    ap.add_argument("--dps", type=int, default=50)
    ap.add_argument("--dps-vocab", type=int, default=999)
    ap.add_argument("--dps-baseline-vocab", type=int, default=299)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run: 5,000 / 300 / 2,000 / 40)")
    args = ap.parse_args()
    if args.quick:
        args.vocab, args.dps_vocab, args.baseline_vocab, args.dps_baseline_vocab = 5_000, 300, 2_000, 40
    k, seed = args.successors, args.seed

    print(f"(a) float64, random sparse bigram |Σ| = {args.vocab:,}, {k} successors + eos per context")
    t0 = time.perf_counter()
    big = random_sparse_bigram(args.vocab, k, seed)
    t_build = time.perf_counter() - t0
    print(f"  model: {big.n_states:,} states, {len(big.arc_src):,} arcs, built in {t_build:.2f} s; "
          f"peak RSS {peak_rss_gb():.2f} GB")
    t0 = time.perf_counter()
    r = all_measures(big)
    t_big = time.perf_counter() - t0
    print(f"  H = {r.entropy:.12g}, σ² = {r.varentropy:.12g}, E|Y| = {r.expected_length:.12g}, "
          f"ρ(T) = {r.length_tail_rate:.12g}, α₀ = {r.renyi_finite_above:.12g}, H_2 = {r.renyi['2']:.12g}, "
          f"H_0.5 = {r.renyi['0.5']}; certified escalations: {r.accuracy.get('certified', {})}")
    print(f"  all measures: {t_big:8.2f} s (target < 60 s); peak RSS {peak_rss_gb():.2f} GB (target < 4 GB)")
    t_repeat = median_time(lambda: M.entropy(big), 3, warmup=0)
    print(f"  entropy again on the same model (cached solver work): {t_repeat * 1e3:.2f} ms")

    print(f"\n    baseline, same run: |Σ| = {args.baseline_vocab:,} (SuperLU fills in: n = 50,000 does not finish)")
    mid = random_sparse_bigram(args.baseline_vocab, k, seed)
    t_new = min(float64_with("gmres", mid) for _ in range(2))
    t_old = min(float64_with("splu", mid) for _ in range(2))
    print(f"  all measures, GMRES + refinement (new):   {t_new:8.3f} s")
    print(f"  all measures, SuperLU COLAMD (previous):  {t_old:8.3f} s   ratio {t_old / t_new:6.1f}x")

    print(f"\n(b) dps = {args.dps}, random sparse bigram |Σ| = {args.dps_vocab:,}, {k} successors")
    model = random_sparse_bigram(args.dps_vocab, min(k, args.dps_vocab), seed)
    t0 = time.perf_counter()
    r = all_measures(model, dps=args.dps)
    t_dps = time.perf_counter() - t0
    print(f"  {model.n_states:,} states, {len(model.arc_src):,} arcs: H = {mpmath.nstr(r.entropy, args.dps)}, "
          f"α₀ = {mpmath.nstr(r.renyi_finite_above, args.dps)}")
    print(f"  all measures at {args.dps} digits: {t_dps:8.2f} s (target < 60 s); peak RSS {peak_rss_gb():.2f} GB")

    small = random_sparse_bigram(args.dps_baseline_vocab, min(k, args.dps_baseline_vocab), seed)
    t0 = time.perf_counter()
    all_measures(small, dps=args.dps)
    t_new = time.perf_counter() - t0
    t0 = time.perf_counter()
    dense_dps_baseline(small, args.dps)
    t_old = time.perf_counter() - t0
    print(f"\n    baseline, same run: |Σ| = {args.dps_baseline_vocab} ({small.n_states} states)")
    print(f"  all measures, sparse refinement (new):              {t_new:8.3f} s")
    print(f"  T-measures, H_2, ρ(T), α₀ by dense arb_mat / Noda (previous, one precision): {t_old:8.3f} s   "
          f"ratio {t_old / t_new:6.1f}x")


if __name__ == "__main__":
    main()
