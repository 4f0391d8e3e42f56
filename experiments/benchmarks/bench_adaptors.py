"""Benchmark: ``Adaptor.weights`` on a 256 × 50,000 batch against the transformers warper for the same adaptor.

Both run on the CPU with the machine's threads (torch intra-op threads; typicality splits rows over a thread pool).
transformers receives float32 logits (what generate() hands it), typicality float64 probabilities (what
``weights`` is defined on), each validated as its library does. Median of ``--repeats`` runs, measured side by
side in one process; the ratio is ours / HF (target ≤ 1.5).

Run: python experiments/benchmarks/bench_adaptors.py [--rows 256] [--vocab 50000] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import median_time

from typicality.adaptors import make

CASES = [("temperature", "t", 0.7), ("top_k", "k", 50), ("top_p", "p", 0.9), ("typical", "p", 0.9),
         ("epsilon", "eps", 3e-4), ("eta", "eps", 9e-4), ("min_p", "p", 0.05)]




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import torch
    from transformers.generation import logits_process as lp

    hf = {"temperature": lambda v: lp.TemperatureLogitsWarper(float(v)), "top_k": lp.TopKLogitsWarper,
          "top_p": lp.TopPLogitsWarper, "typical": lp.TypicalLogitsWarper, "epsilon": lp.EpsilonLogitsWarper,
          "eta": lp.EtaLogitsWarper, "min_p": lp.MinPLogitsWarper}
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((args.rows, args.vocab)) * 3).astype(np.float32)
    x = logits.astype(np.float64)
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    scores = torch.from_numpy(logits)
    ids = torch.zeros((args.rows, 1), dtype=torch.long)
    print(f"{args.rows} x {args.vocab}, torch threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'adaptor':12s} {'typicality':>12s} {'transformers':>13s} {'ratio':>7s}")
    for name, param, value in CASES:
        ours = make(name, **{param: value})
        warper = hf[name](value)
        t_ours = median_time(lambda a=ours: a.weights(probs), args.repeats)
        t_hf = median_time(lambda w=warper: w(ids, scores), args.repeats)
        print(f"{name:12s} {t_ours * 1e3:9.1f} ms {t_hf * 1e3:10.1f} ms {t_ours / t_hf:7.2f}")


if __name__ == "__main__":
    main()
