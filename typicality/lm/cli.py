"""``typicality lm``: the real-model study from the command line (a thin layer over :mod:`typicality.lm.study`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from typicality import jsonio


def _progress_factory() -> Any:
    from typicality.cli import ProgressBar

    def make(label: str, total: int) -> Any:
        bar = ProgressBar(f"{label:<7}")
        state = {"done": 0}
        if total:
            bar(0, total)

        def tick(n: int) -> None:
            state["done"] += n
            bar(min(state["done"], total), total)

        return tick

    return make


#: presets that train their own models first (typicality.lm.mini.build), and the size each runs
MINI_PRESETS = {"mini": "full", "mini-ci": "ci"}


def cmd_mini(args: argparse.Namespace) -> int:
    from typicality.lm.mini.build import run_mini

    if args.set or args.device is not None:
        raise ValueError(f"--set and --device do not apply to the {args.config!r} preset: it trains its own models on "
                         "the CPU, with the sizes of typicality.lm.mini.build.SIZES (use run_mini with your own sizes)")
    r = run_mini(args.out, MINI_PRESETS[args.config], force=args.force, progress=_progress_factory(),
                 log=lambda msg: print(f"typicality: {msg}", file=sys.stderr))
    if args.json:
        print(jsonio.dumps(r))
        return 0
    for name, info in r["training"].items():
        print(f"{name:<10} {info['stage_seconds']:8.1f} s")
    for name, study in r["studies"].items():
        print(f"\nstudy {name} ({r['study_seconds'][name]['total']:.1f} s)")
        print(format_summary(study, f"{args.out}/study-{name}"))
    print(f"\nwrote {args.out}/mini.json and {args.out}/report/ (report.md, report.json, figures); total "
          f"{r['seconds']:.1f} s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from typicality.lm.config import load_config
    from typicality.lm.study import run_study

    if args.config in MINI_PRESETS:
        return cmd_mini(args)
    overrides = list(args.set or [])
    if args.device is not None:
        overrides.append(f'models.device="{args.device}"')
    config = load_config(args.config, overrides=overrides)
    run = run_study(config, args.out, force=args.force, progress=_progress_factory(),
                    log=lambda msg: print(f"typicality: {msg}", file=sys.stderr))
    r = run.results
    if r is None:
        print(f"typicality: this process's units are done; results are merged by rank 0 into {args.out}",
              file=sys.stderr)
        return 0
    if args.json:
        print(jsonio.dumps(r))
        return 0
    print(format_summary(r, str(run.out_dir)))
    return 0


def _f(x: Any, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def format_summary(r: dict[str, Any], out: str) -> str:
    """The per-scheme table and the pooled correlations, for the terminal."""
    lines = [f"{'scheme':<28} {'n':>6} {'capped':>6}  {'local logp':>10} {'local r':>8}  {'global logp':>11} "
             f"{'global r':>8}  {'accept':>6} {'V':>6} {'Ṽ':>6}"]
    for s in r["schemes"]:
        lo, gl = s["local"], s["global"]
        lines.append(f"{s['name']:<28} {s['n']:>6} {s['n_capped']:>6}  {_f(lo['mean_logprob_prior'], '10.2f')} "
                     f"{_f(lo['mean_reward'], '8.3f')}  {_f(gl['mean_logprob_prior'], '11.2f')} "
                     f"{_f(gl['mean_reward'], '8.3f')}  {_f(s['acceptance_rate'], '6.3f')} "
                     f"{_f(s['cramers_v'], '6.3f')} {_f(s['cramers_v_corrected'], '6.3f')}")
    lines.append(f"string level: Spearman {_f(r['string_spearman'])}, Pearson {_f(r['string_pearson'])}; "
                 f"corpus level: Spearman {_f(r['corpus_spearman'])}, Pearson {_f(r['corpus_pearson'])}")
    lines.append(f"wrote {out}/samples.parquet, results.json, figure.png, report.md")
    return "\n".join(lines)


def cmd_presets(args: argparse.Namespace) -> int:
    from typicality.lm.config import load_config, preset_names, preset_text

    if args.show:
        print(preset_text(args.show), end="")
        return 0
    for name in preset_names():
        config = load_config(name)
        first = preset_text(name).lstrip().splitlines()[0].lstrip("# ").strip()
        print(f"{name:<14} {len(config.schemes):>3} schemes  {first}")
    print(f"{'mini':<14} {31:>3} schemes  The offline miniature: a GPT-2 prior, RLOO and DPO models trained on the "
          "FreeBSD fortunes on CPU, VADER reward, both studies")
    print(f"{'mini-ci':<14} {3:>3} schemes  The miniature at tiny sizes (an end-to-end check in about a minute)")
    return 0


def add_parser(sub: Any) -> None:
    """Add ``lm`` and its subcommands to the main parser's subparsers."""
    lm = sub.add_parser("lm", help="the real-model study (§6.2, App. F) on transformers models",
                        description="Sample from an aligned causal LM with sampling adaptors, score under the prior "
                                    "and a reward, run the exact IMHA per scheme and the paper's analysis, with the "
                                    "official code's choices switched on one at a time (ablations).")
    lsub = lm.add_subparsers(dest="lm_command", required=True)
    r = lsub.add_parser("run", help="run or resume a study", description="Run (or resume) a study from a TOML config "
                        "or a preset. Results: DIR/samples.parquet, results.json, figure.png, report.md.")
    r.add_argument("config", help="a .toml config file or a preset name (typicality lm presets); the presets mini "
                                  "and mini-ci train their own models first (the offline miniature)")
    r.add_argument("--out", required=True, metavar="DIR", help="the run directory (resumed if it holds this config)")
    r.add_argument("--device", help="cpu | cuda | cuda:N | mps | auto (overrides models.device)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. --set sampling.max_new_tokens=64 (repeatable)")
    r.add_argument("--force", action="store_true", help="use DIR even if it holds another config's results "
                                                         "(they are deleted)")
    r.add_argument("--json", action="store_true", help="print results.json to stdout")
    r.set_defaults(func=cmd_run)
    p = lsub.add_parser("presets", help="list the shipped presets", description="List the presets shipped with "
                        "typicality, or print one with --show NAME (copy it to a file to edit it).")
    p.add_argument("--show", metavar="NAME", help="print the preset's TOML")
    p.set_defaults(func=cmd_presets)
