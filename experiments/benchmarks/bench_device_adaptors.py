"""Benchmark: ``DeviceAdaptor.process`` (float64 and float32) against the transformers warper, on one device.

Same batch (default 256 × 50,000 float32 logits, standard normal × 3) and adaptor parameters as
bench_adaptors.py's CASES, on the same device; median of ``--repeats`` runs, measured side by side in one process
(on a GPU the timed function ends with torch.cuda.synchronize). The ratio is ours / HF (target ≤ 1.5). The last
columns: ``transform`` (scores and offset, which the sampler needs for log Z_t) / ``process``, float64; and the
float64 adaptor called as a LogitsProcessor (kept sets decided in float64, scores returned in float32) / HF.

Measured on a shared 2-core AMD EPYC (torch 2.13.0+cpu, transformers 5.24), three runs with 2 threads while the
machine was otherwise quiet (ranges), and one with ``--threads 1`` (in parentheses):

===========  ==========  ========================  ========================  =================  ===========
adaptor      HF          float64 / HF              float32 / HF              transform/process  __call__/HF
===========  ==========  ========================  ========================  =================  ===========
temperature  29–30 ms    **2.37–2.42** (2.30)      1.17–1.30 (1.03)          1.5–1.7            2.1
top_k        63–73 ms    1.23–1.43 (1.07)          0.79–0.90 (0.69)          1.5–1.7            1.0
top_p        821–830 ms  0.43–0.44 (0.36)          0.36 (0.32)               1.0                0.4
typical      1.14–1.17 s 0.39–0.42 (0.38)          0.30–0.33 (0.26)          1.0                0.4
epsilon      112–128 ms  1.03–1.22 (0.90)          0.58–0.67 (0.41)          1.0                0.8
eta          307–321 ms  0.47–0.52 (0.44)          0.26–0.29 (0.25)          1.0–1.2            0.4
min_p        112–115 ms  0.77–0.90 (0.73)          0.46–0.54 (0.41)          1.4–1.7            0.5
===========  ==========  ========================  ========================  =================  ===========

Not met: temperature in float64. HF's warper is one float32 division (read 4 bytes, write 4 per logit); float64
scores write 8 bytes per logit into freshly allocated memory, and here the page faults of fresh memory dominate:
``logits.to(torch.float64)`` alone takes 53–63 ms, 1.8–2.2× HF's whole warper, before any division. float32
meets it (the rest is the one max reduction that validates the input). As a LogitsProcessor (last column) the
float64 adaptor divides in float64 block by block and returns float32 (2.1×); truncations there never write
float64 scores at all. The other float64 ratios stay under 1.5 because kept sets are found on the float32 logits
(exact comparisons against thresholds rounded up to float32), top-k writes its few survivors into rows of −inf,
and top-p/typical sort only candidates (1,024, then 4,096, ...) instead of the whole vocabulary.

``transform`` adds one float64 exp pass (the offset lse(x)) where ``process`` needs none (temperature, top-k,
min-p); where a step needs the normalizer anyway it is shared, so transform ≈ process.

On an oversubscribed machine (more runnable threads than cores) every timing inflates, ours more than HF's: the
blocked CPU engine runs more, smaller parallel regions, and each thread barrier can wait out a scheduler time
slice. Use an idle machine, or ``--threads 1``. The GPU path (one block, no per-row loops) was not measured here.

Run: python experiments/benchmarks/bench_device_adaptors.py [--device cpu|cuda] [--rows 256] [--vocab 50000]
     [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse

from bench_adaptors import CASES
from timing import median_time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    import torch
    from transformers.generation import logits_process as lp

    from typicality.adaptors import make
    from typicality.lm.adaptors import to_device

    hf = {"temperature": lambda v: lp.TemperatureLogitsWarper(float(v)), "top_k": lp.TopKLogitsWarper,
          "top_p": lp.TopPLogitsWarper, "typical": lp.TypicalLogitsWarper, "epsilon": lp.EpsilonLogitsWarper,
          "eta": lambda v: lp.EtaLogitsWarper(v, device=args.device), "min_p": lp.MinPLogitsWarper}
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    scores = (torch.randn((args.rows, args.vocab), generator=gen) * 3).to(device)
    ids = torch.zeros((args.rows, 1), dtype=torch.long, device=device)

    def timed(fn):
        def run():
            fn()
            sync()
        return median_time(run, args.repeats)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"{args.rows} x {args.vocab} float32 logits on {name}, median of {args.repeats}")
    print(f"{'adaptor':12s} {'HF':>9s} {'float64':>9s} {'ratio':>6s} {'float32':>9s} {'ratio':>6s} "
          f"{'transform/process':>18s} {'__call__/HF':>12s}")
    for adaptor_name, param, value in CASES:
        adaptor = make(adaptor_name, **{param: value})
        warper = hf[adaptor_name](value)
        f64, f32 = to_device(adaptor), to_device(adaptor, dtype=torch.float32)
        t_hf = timed(lambda w=warper: w(ids, scores))
        t64 = timed(lambda a=f64: a.process(scores))
        t32 = timed(lambda a=f32: a.process(scores))
        t_tr = timed(lambda a=f64: a.transform(scores))
        t_call = timed(lambda a=f64: a(ids, scores))
        print(f"{adaptor_name:12s} {t_hf * 1e3:6.1f} ms {t64 * 1e3:6.1f} ms {t64 / t_hf:6.2f} {t32 * 1e3:6.1f} ms "
              f"{t32 / t_hf:6.2f} {t_tr / t64:18.2f} {t_call / t_hf:12.2f}")


if __name__ == "__main__":
    main()
