"""Benchmark: the toy experiment's corpora at the paper's scale (1000 corpora × 100,000 draws), faithful vs fast.

faithful: per corpus, ``RandomState(i).choice(1000, 100000, p=p₊)`` and the averages (the notebook's recipe,
vectorized within a corpus); fast: every count vector from one multinomial call, the averages as a matrix
product. Both produce the per-corpus statistics every later step uses; the ratio is faithful / fast (target ≥ 100×).

Run: python experiments/benchmarks/bench_toy.py [--corpora 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse

from timing import median_time

from typicality.toy import ToyConfig, collect_statistics, toy_objects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=int, default=1000)
    ap.add_argument("--corpus-size", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    toy = toy_objects()
    fast = ToyConfig(corpora=args.corpora, corpus_size=args.corpus_size)
    faithful = ToyConfig(corpora=args.corpora, corpus_size=args.corpus_size, faithful=True)
    collect_statistics(toy, fast)
    t_fast = median_time(lambda: collect_statistics(toy, fast), max(args.repeats, 5))
    t_faithful = median_time(lambda: collect_statistics(toy, faithful), args.repeats, warmup=0)
    print(f"toy corpora: {args.corpora} x {args.corpus_size:,} draws over 1000 objects")
    print(f"faithful (per-corpus RandomState(i).choice): {t_faithful:8.3f} s  ({t_faithful / args.corpora * 1e3:.2f} "
          "ms per corpus)")
    print(f"fast (multinomial counts):                   {t_fast:8.3f} s  ({t_fast / args.corpora * 1e3:.3f} ms per "
          "corpus)")
    print(f"speed ratio faithful / fast: {t_faithful / t_fast:,.0f}x   (target ≥ 100x)")


if __name__ == "__main__":
    main()
