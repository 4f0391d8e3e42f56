"""Reproduce the toy experiment of §6.1 from config.json: results/toy-faithful.json (toy.json for a config with
"faithful": false) and the figures, resumable.

Run: python experiments/toy/run.py [--config experiments/toy/config.json] [--out experiments/toy/results]
(the same as `typicality toy --faithful --out DIR`, with the settings in a file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from typicality.cli import ProgressBar
from typicality.figures import write_all
from typicality.toy import ToyConfig, run_toy

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=HERE / "config.json")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    settings = {k: v for k, v in json.loads(args.config.read_text()).items() if k != "comment"}
    args.out.mkdir(parents=True, exist_ok=True)
    run = run_toy(ToyConfig(**settings), out_dir=args.out, progress=ProgressBar("corpora"))
    for path in write_all(run, args.out):
        print(f"wrote {path}")
    r = run.result
    print(f"typical {r.n_typical}/{settings['corpora']}, corpus-level r (typical, resampled) "
          f"{r.corpus_pearson_typical:.2f}, medians {r.median_logprob_typical:,.2f} / {r.median_logprob_atypical:,.2f}")


if __name__ == "__main__":
    main()
