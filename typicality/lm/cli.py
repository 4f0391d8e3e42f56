"""``typicality lm``: the real-model study from the command line (a thin layer over :mod:`typicality.lm.study`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from typicality import jsonio

#: the top-level keys of results.json (``lm run --json``); optional ones: bootstrap, dpo (a secret reward)
RESULTS_KEYS = ("format", "options", "schemes", "n_strings", "n_capped", "string_spearman", "string_pearson",
                "corpus_spearman", "corpus_pearson", "n_string_points", "n_string_points_excluded", "n_corpus_points",
                "n_corpus_points_excluded", "local", "bootstrap", "undefined", "simpson", "dpo", "procedure",
                "ablations", "config", "models", "n_prompts", "samples_per_prompt", "versions", "device", "backend",
                "prompts_source")
#: the top-level keys of theory.json (``lm theory --json``)
THEORY_KEYS = ("format", "model", "confidence", "settings", "vocab_size", "eos_token_ids", "device", "prompts",
               "seconds", "sampling_seconds")

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
    from typicality.lm import distributed
    from typicality.lm.config import load_config
    from typicality.lm.study import run_study

    shard = distributed.from_environment()
    if args.config in MINI_PRESETS:
        if shard is not None:
            raise ValueError(f"the {args.config!r} preset trains its models in one process and cannot be sharded: run "
                             f"it without torchrun (it takes about {'25' if args.config == 'mini' else '1'} minute(s) "
                             "on 2 CPU cores)")
        return cmd_mini(args)
    if shard is not None:  # under torchrun: before anything starts CUDA
        distributed.pin_local_device(shard)
    overrides = list(args.set or [])
    if args.device is not None:
        overrides.append(f'models.device="{args.device}"')
    config = load_config(args.config, overrides=overrides)
    if shard is None:
        run = run_study(config, args.out, force=args.force, progress=_progress_factory(),
                        log=lambda msg: print(f"typicality: {msg}", file=sys.stderr))
    else:
        tag = f"typicality [rank {shard.rank}/{shard.world_size}]"
        run = distributed.run_sharded(config, args.out, shard, force=args.force,
                                      progress=_progress_factory() if shard.rank == 0 else None,
                                      log=lambda msg: print(f"{tag}: {msg}", file=sys.stderr))
    r = run.results
    if r is None:
        print(f"typicality: this process's units are done; rank 0 merges the results into {args.out}",
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
        lo, gl = s["local"] or {}, s["global"] or {}  # None: no string of the scheme ended (all capped)
        lines.append(f"{s['name']:<28} {s['n']:>6} {s['n_capped']:>6}  {_f(lo.get('mean_logprob_prior'), '10.2f')} "
                     f"{_f(lo.get('mean_reward'), '8.3f')}  {_f(gl.get('mean_logprob_prior'), '11.2f')} "
                     f"{_f(gl.get('mean_reward'), '8.3f')}  {_f(s['acceptance_rate'], '6.3f')} "
                     f"{_f(s['cramers_v'], '6.3f')} {_f(s['cramers_v_corrected'], '6.3f')}")
    lines.append(f"string level: Spearman {_f(r['string_spearman'])}, Pearson {_f(r['string_pearson'])}; "
                 f"corpus level: Spearman {_f(r['corpus_spearman'])}, Pearson {_f(r['corpus_pearson'])}")
    lines.append(f"wrote {out}/samples.parquet, results.json, figure.png, report.md")
    return "\n".join(lines)


def distributed_environment() -> object:
    from typicality.lm.distributed import from_environment

    return from_environment()


def cmd_theory(args: argparse.Namespace) -> int:
    from typicality.lm.prompts import read_prompt_file
    from typicality.lm.theory import TheoryConfig, run_theory
    from typicality.lm.theory.report import format_summary as theory_summary
    from typicality.lm.theory.report import write_report as write_theory_report

    if distributed_environment() is not None:
        raise ValueError("typicality lm theory runs in one process (its estimates need every string of a prompt "
                         "together); torchrun shards only typicality lm run")
    prompts = None
    if args.prompts is not None:
        prompts = tuple(read_prompt_file(args.prompts))
        if not args.prompts.endswith(".jsonl"):
            from pathlib import Path

            blank = sum(1 for line in Path(args.prompts).read_text(encoding="utf-8").splitlines() if not line.strip())
            if blank:
                print(f"typicality: note: --prompts {args.prompts!r}: {blank} empty line(s) skipped (the unconditioned "
                      "distribution is the default without --prompts)", file=sys.stderr)
    settings = {k: v for k, v in (("samples", args.samples), ("max_new_tokens", args.max_new_tokens),
                                  ("seed", args.seed), ("adaptor_samples", args.adaptor_samples),
                                  ("confidence", args.confidence), ("batch_size", args.batch_size)) if v is not None}
    if args.no_adaptors:
        settings["schemes"] = ()
    if args.chat:
        settings["chat"] = True
    config = TheoryConfig(args.model, prompts=prompts, device=args.device or "cpu", **settings)
    r = run_theory(config, args.out, force=args.force, progress=_progress_factory(),
                   log=lambda msg: print(f"typicality: {msg}", file=sys.stderr))
    if args.out is not None:
        write_theory_report(r, args.out)
    if args.json:
        from typicality.lm.theory.run import to_json

        print(jsonio.dumps(to_json(r)))
        return 0
    print(theory_summary(r))
    if args.out is not None:
        print(f"wrote {args.out}/theory.json, report.md and figures")
    return 0


def _count(name: str, low: int = 1) -> Any:
    from typicality.cli import _integer  # the one integer-option parser of both command lines

    return _integer(name, low)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--confidence must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"--confidence must be strictly between 0 and 1, got {text!r}")
    return value


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
                        "or a preset. Results: DIR/samples.parquet, results.json, figure.png, report.md (times in "
                        "timings.json). Shard it over K processes or GPUs with torchrun: torchrun --nproc-per-node K "
                        "-m typicality lm run CONFIG --out DIR (the same results as one process). [sampling] backend "
                        "= \"vllm\" samples and scores on vLLM engines (pip install 'typicality[vllm]').")
    r.add_argument("config", help="a .toml config file or a preset name (typicality lm presets); the presets mini "
                                  "and mini-ci train their own models first (the offline miniature)")
    r.add_argument("--out", required=True, metavar="DIR", help="the run directory (resumed if it holds this config)")
    r.add_argument("--device", help="cpu | cuda | cuda:N | mps | auto (overrides models.device)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. --set sampling.max_new_tokens=64 (repeatable)")
    r.add_argument("--force", action="store_true", help="use DIR even if it holds another config's results "
                                                         "(they are deleted)")
    r.add_argument("--json", action="store_true", help="print results.json to stdout (keys: " + ", ".join(RESULTS_KEYS)
                                                         + "; the README's Outputs says what each holds)")
    r.set_defaults(func=cmd_run)
    p = lsub.add_parser("presets", help="list the shipped presets", description="List the presets shipped with "
                        "typicality, or print one with --show NAME (copy it to a file to edit it).")
    p.add_argument("--show", metavar="NAME", help="print the preset's TOML")
    p.set_defaults(func=cmd_presets)
    t = lsub.add_parser("theory", help="the paper's bounds and adaptor invariants estimated on a real model",
                        description="Sample the model's own strings (per prompt, or unconditioned from BOS) and "
                                    "report, with confidence intervals: entropy and varentropy, Rényi entropies and "
                                    "their monotonicity (Prop. 4), the frequency of atypical corpora against the "
                                    "Chebyshev (Eq. 11) and corrected Chernoff (Thm. 2) bounds with verdicts, eos "
                                    "statistics (Def. 3, Cor. 1), and per adaptor of the paper's grid: q_T's eos "
                                    "fraction, the IMHA acceptance rate and the global normalizer Z_T. Capped "
                                    "strings are kept as censored values, never dropped.")
    t.add_argument("model", help="a transformers folder, a hub id in the local cache, or a .gguf file")
    t.add_argument("--prompts", metavar="FILE", help="prompts, one per line (.txt) or a \"prompt\" field per line "
                                                     "(.jsonl); default: the unconditioned distribution after BOS")
    t.add_argument("--samples", type=_count("--samples", 4), metavar="N",
                   help="strings per prompt for the estimates (default 1000)")
    t.add_argument("--max-new-tokens", type=_count("--max-new-tokens"), metavar="T",
                   help="length cap; a string reaching it is censored (default 256)")
    t.add_argument("--seed", type=_count("--seed", 0), metavar="S", help="random seed (default 0)")
    t.add_argument("--adaptor-samples", type=_count("--adaptor-samples"), metavar="M",
                   help="strings per adaptor and prompt (default 200)")
    t.add_argument("--no-adaptors", action="store_true", help="skip the adaptor checks")
    t.add_argument("--chat", action="store_true", help="wrap each prompt as a user message in the model's chat "
                                                        "template (instruct models)")
    t.add_argument("--confidence", type=_fraction, metavar="C", help="the intervals' level (default 0.95)")
    t.add_argument("--batch-size", type=_count("--batch-size"), metavar="B", help="strings per forward pass (32)")
    t.add_argument("--device", help="cpu | cuda | cuda:N | mps | auto (default cpu)")
    t.add_argument("--out", metavar="DIR", help="write theory.json, report.md and figures there (resumable)")
    t.add_argument("--force", action="store_true", help="reuse DIR although it holds another run's results")
    t.add_argument("--json", action="store_true", help="print the results as JSON, as in theory.json (keys: "
                                                         + ", ".join(THEORY_KEYS) + "; ∞ written as \"inf\")")
    t.set_defaults(func=cmd_theory)
