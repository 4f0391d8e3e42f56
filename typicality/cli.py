"""The ``typicality`` command line: a thin layer over the library (no computation lives only here)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

import mpmath

from typicality import __version__, jsonio
from typicality import measures as M
from typicality.entry import interrupted
from typicality.lm.distributed import ShardError
from typicality.models import examples
from typicality.models.arpa import load_arpa
from typicality.models.ngram import NGramLM

BUILTIN = "builtin:"

#: the JSON keys each subcommand's --json prints (a contract, listed in --help and checked by tests/test_cli.py)
MEASURES_KEYS = ("tight", "mass", "entropy", "varentropy", "expected_length", "eos_bound", "eos_bounded",
                 "length_tail_rate", "renyi", "renyi_finite_above", "units", "dps", "undefined", "accuracy",
                 "warnings")
BOUNDS_KEYS = ("n", "eps", "entropy", "varentropy", "chebyshev", "chernoff", "chernoff_orders", "chernoff_tails",
               "empirical_tail", "corpora", "seed", "note", "unavailable")
TOY_KEYS = ("entropy_aligned", "entropy_prior", "varentropy", "n_typical", "string_spearman", "string_pearson",
            "string_pearson_weighted", "corpus_pearson_typical", "corpus_spearman_typical", "corpus_pearson_all",
            "median_logprob_typical", "median_logprob_atypical", "eps_sweep", "corpus_pearson_typical_raw",
            "corpus_pearson_atypical", "median_logprob_typical_raw", "median_logprob_atypical_raw",
            "max_logprob_typical", "max_logprob_atypical", "chebyshev_bound", "config", "seconds")
VERIFY_KEYS = ("id", "verdict", "evidence", "details")


def _builtin_list() -> str:
    return ", ".join(BUILTIN + name for name in sorted(examples.EXAMPLES))


MODEL_HELP = ("a typicality.ngram/1 JSON file, an ARPA back-off file (.arpa, .arpa.gz, .lm, .lm.gz), - for either "
              "read from standard input, or a built-in example: {builtins}")


ARPA_SUFFIXES = (".arpa", ".arpa.gz", ".lm", ".lm.gz")


def load_model(spec: str) -> Any:
    """A model from a ``typicality.ngram/1`` JSON file, an ARPA back-off model (``.arpa``, ``.arpa.gz``, ``.lm``,
    ``.lm.gz``, or any file whose first non-blank line is ``\\data\\``), ``builtin:NAME`` for the paper's
    examples, or ``-`` for either format read from standard input."""
    if spec == "-":
        return _load_stdin()
    if spec.startswith(BUILTIN):
        name = spec[len(BUILTIN):]
        if name not in examples.EXAMPLES:
            raise ValueError(f"unknown built-in model {name!r}; choose from {sorted(examples.EXAMPLES)}")
        return examples.EXAMPLES[name]()
    _announce_large(spec)
    if spec.lower().endswith(ARPA_SUFFIXES) or _looks_like_arpa(spec):
        return load_arpa(spec)
    return NGramLM.load(spec)


#: model files above this size get a note on stderr before they are read (reading checks every probability exactly:
#: about 0.7 s per MB of JSON, measured on 2 cores with a 32 MB bigram model of a million probabilities)
LARGE_MODEL_BYTES = 5_000_000


def _announce_large(path: str) -> None:
    try:
        size = os.path.getsize(path)
    except OSError:  # missing or unreadable: the loader says so
        return
    if size > LARGE_MODEL_BYTES and os.path.isfile(path):
        print(f"typicality: reading {path} ({size / 1e6:,.0f} MB): every probability is checked exactly, about a "
              "second per MB", file=sys.stderr, flush=True)


def _load_stdin() -> Any:
    from typicality.models.arpa import BackoffLM

    if sys.stdin is None or sys.stdin.isatty():
        raise ValueError("model '-' reads the model from standard input, but nothing is piped in "
                         "(e.g. typicality measures - < model.json)")
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"model '-' (standard input) is not UTF-8 text: {e}") from None
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first == "\\data\\":
        return BackoffLM.loads_arpa(text, source="<stdin>")
    try:
        return NGramLM.from_json(text)
    except ValueError as e:
        raise ValueError(f"<stdin>: {e}") from None


def _shown(spec: str) -> str:
    return "<stdin>" if spec == "-" else spec


def _looks_like_arpa(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    return line.strip() == "\\data\\"
    except OSError:
        return False
    return False


def _fmt(x: Any, dps: int | None) -> str:
    if x is None:
        return "undefined"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, mpmath.mpf):
        return "inf" if mpmath.isinf(x) else mpmath.nstr(x, dps or 17)
    if isinstance(x, float):
        return "inf" if math.isinf(x) else f"{x:.15g}"
    return str(x)


def cmd_measures(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    alphas = args.alpha or list(M.DEFAULT_ALPHAS)
    units = "bits" if args.bits else "nats"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.RowSumWarning)  # reported below as notes (JSON: "warnings")
        result = M.measures(model, alphas, dps=args.dps, units=units)
    if args.json:
        print(jsonio.dumps(result.to_json_dict()))
        return 0
    d = args.dps
    u2 = f"{units}²"
    rows = [
        ("tight", _fmt(result.tight, d), ""),
        ("mass", _fmt(result.mass, d), "Σ_y p(y)"),
        ("entropy", _fmt(result.entropy, d), units),
        ("varentropy", _fmt(result.varentropy, d), u2),
        ("expected_length", _fmt(result.expected_length, d), "symbols"),
        ("eos_bound", _fmt(result.eos_bound, d),
         "ξ (Def. 3)" + ("; > 0 exactly (below float64's range): eos-bounded"
                         if result.eos_bounded and not result.eos_bound else "")),
        ("length_tail_rate", _fmt(result.length_tail_rate, d), "ρ: P(|Y|≥n) = ρ^(n+o(n))"),
        ("renyi_finite_above", _fmt(result.renyi_finite_above, d), "α₀: H_α < ∞ iff α > α₀"),
    ]
    rows += [(f"renyi[{k}]", _fmt(v, d), units) for k, v in result.renyi.items()]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{_shown(args.model)}  ({'float64' if d is None else f'mpmath, {d} digits'})")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{vwidth}}  {note}".rstrip())
    for reason in dict.fromkeys(result.undefined.values()):
        print(f"  note: {reason}")
    for note in result.warnings:
        print(f"  note: {note}")
    certified = result.accuracy.get("certified", {})
    if certified and d is None:
        print("  note: float64 could not certify " + ", ".join(certified) + "; recomputed in ball arithmetic ("
              + "; ".join(dict.fromkeys(certified.values())) + ")")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from typicality.ledger import run_ledger

    tty = sys.stderr.isatty()
    total = len(args.only) if args.only else None
    count = {"n": 0}

    def done(entry: Any) -> None:  # one line per claim as it finishes, on a terminal
        count["n"] += 1
        if tty:
            mark = "ok" if entry.ok else "FAILED"
            print(f"  [{count['n']:>2}/{total or len(REGISTRY)}] {entry.id:<16} {entry.verdict:<16} {mark:<6} "
                  f"{entry.seconds:5.1f}s", file=sys.stderr)

    from typicality.ledger import REGISTRY

    entries = run_ledger(args.only, done=done, jobs=args.jobs)
    if args.json:
        print(jsonio.dumps([e.to_json_dict() for e in entries]))
    else:
        print(format_ledger(entries))
    return 0 if all(e.ok for e in entries) else 1


def _integer(name: str, low: int = 1, high: int | None = None, why: str = "") -> Any:
    """An argparse type: an integer in [``low``, ``high``], with a message naming the option (``why``: the reason
    for ``high``)."""
    def parse(text: str) -> int:
        if len(text) > 100:
            raise argparse.ArgumentTypeError(f"{name} must be an integer of at most 100 digits, got {len(text)} "
                                             "characters")
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{name} must be at most {high}{why}, got {value}")
        return value

    return parse


def _positive_float(name: str) -> Any:
    """An argparse type: a finite float > 0, with a message naming the option."""
    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 100 else math.nan
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{name} must be a finite number > 0, got {text[:100]!r}")
        return value

    return parse


def format_ledger(entries: list) -> str:
    """The ledger as a table: id, verdict, evidence levels, seconds; failed checks listed below it."""
    rows = [("id", "verdict", "evidence", "time", "claim")]
    for e in entries:
        verdict = e.verdict if e.ok else f"{e.verdict} (expected {e.expected})"
        rows.append((e.id, verdict, ", ".join(e.levels) or "-", f"{e.seconds:.1f}s", e.title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(f"{r[i]:<{widths[i]}}" for i in range(4)) + "  " + r[4] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 5)
    skipped: dict[str, list[str]] = {}
    for e in entries:
        for ev in e.evidence:
            if ev.skipped:
                skipped.setdefault(f"{ev.level}: {ev.details.get('status', ev.description)}", []).append(e.id)
            elif not ev.passed:
                lines.append(f"FAILED {e.id} [{ev.level}]: {ev.description}")
    for reason, ids in skipped.items():
        lines.append(f"note: {reason} (so not reported for {', '.join(ids)})")
    n_ok = sum(e.ok for e in entries)
    total = sum(e.seconds for e in entries)
    lines.append(f"{n_ok}/{len(entries)} claims have the expected verdict and passing evidence ({total:.1f}s)")
    return "\n".join(lines)


def cmd_bounds(args: argparse.Namespace) -> int:
    import numpy as np

    from typicality import bounds as B

    model = load_model(args.model)
    n, eps = B.aep.check_n_eps(args.n, args.eps)
    out: dict[str, Any] = {"n": n, "eps": eps, "entropy": None, "varentropy": None, "chebyshev": None,
                           "chernoff": None, "chernoff_orders": {"upper": None, "lower": None},
                           "empirical_tail": None, "corpora": args.corpora, "seed": args.seed}
    try:
        out["entropy"] = float(M.entropy(model))
        out["chebyshev"] = B.chebyshev_bound(model, n, eps)
        out["varentropy"] = float(M.varentropy(model))
        c = B.chernoff_bound(model, n, eps)
        out["chernoff"] = c.bound
        out["chernoff_orders"] = {"upper": c.upper_order, "lower": c.lower_order}
        out["chernoff_tails"] = {"upper": c.upper_tail, "lower": c.lower_tail}
        if c.note:
            out["note"] = c.note
        if args.corpora:
            work = B.monte_carlo_symbols(model, n, args.corpora)
            progress = ProgressBar("Monte Carlo corpora") if work is None or work > PROGRESS_SYMBOLS else None
            try:
                out["empirical_tail"] = B.empirical_tail(model, n, eps, np.random.default_rng(args.seed),
                                                         args.corpora, max_symbols=args.max_symbols,
                                                         progress=progress, symbols=work)
            except B.MonteCarloTooLargeError as e:
                raise ValueError(f"--corpora {args.corpora} with --n {n}: {e} (--corpora 0 skips it; --max-symbols "
                                 "raises the limit)") from None
    except (B.BoundUnavailableError, M.UndefinedMeasureError) as e:
        reason = str(e)
        out["unavailable"] = reason if reason.startswith("bound not available") else f"bound not available: {reason}"
        if out["entropy"] is not None and math.isinf(out["entropy"]):
            out["entropy"] = "inf"
    if args.json:
        print(jsonio.dumps(out))
        return 0
    print(f"{_shown(args.model)}: N = {n}, ε = {eps:g}; P(|mean surprisal − H| ≥ ε) ≤ ...")
    if "unavailable" in out:
        print(f"  {out['unavailable']}")
        return 0
    print(f"  entropy H            {out['entropy']:.12g} nats")
    print(f"  varentropy σ²        {out['varentropy']:.12g} nats²")
    print(f"  Chebyshev σ²/(Nε²)   {out['chebyshev']:.6g}" + ("  (vacuous: ≥ 1)" if out["chebyshev"] >= 1 else ""))
    orders = out["chernoff_orders"]
    up = "none" if orders["upper"] is None else f"{orders['upper']:.6g}"
    lo = "none (lower tail empty)" if orders["lower"] is None else f"{orders['lower']:.6g}"
    print(f"  Chernoff (two-sided) {out['chernoff']:.6g}   orders: α = {up} (upper tail), α′ = {lo} (lower tail)")
    if "note" in out:
        print(f"  note: {out['note']}")
    if out["empirical_tail"] is not None:
        print(f"  Monte Carlo          {out['empirical_tail']:.6g}   ({args.corpora} corpora, seed {args.seed})")
    return 0


#: Monte Carlo work (symbol draws) above which ``bounds`` shows progress (≈ 7 s at 7.5e6 draws/s, measured)
PROGRESS_SYMBOLS = 5e7
#: default limit on the Monte Carlo work of ``bounds`` (≈ 1 minute at 7.5e6 draws/s, measured on 2 cores)
MAX_SYMBOLS = 5e8


class ProgressBar:
    """A progress line on stderr: redrawn in place on a terminal, every 10 % in a log."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        elapsed = time.perf_counter() - self.t0
        left = f"~{elapsed / frac - elapsed:4.1f}s left" if frac > 0 else "time left unknown"
        bar = "#" * int(30 * frac)
        line = f"{self.label} [{bar:<30}] {done}/{total}  {elapsed:5.1f}s elapsed, {left}"
        if self.tty:
            print("\r" + line, end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif int(10 * frac) > self.last_decile:
            self.last_decile = int(10 * frac)
            print(line, file=sys.stderr, flush=True)


def prepare_output_dir(path: str, option: str) -> None:
    """Create ``path`` (a directory) or check that it can be used, before any work: ValueError naming the option."""
    import tempfile
    from pathlib import Path

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {path!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path!r} cannot be written: {e.strerror or e}") from None


def cmd_toy(args: argparse.Namespace) -> int:

    from typicality.toy import ToyConfig, check_output_dir, run_toy

    config = ToyConfig(corpora=args.corpora, corpus_size=args.corpus_size, eps=args.eps, seed=args.seed,
                       faithful=args.faithful)
    if args.out is not None:
        prepare_output_dir(args.out, "--out")
        check_output_dir(args.out, config, "--out")
    run = run_toy(config, out_dir=args.out, progress=ProgressBar("corpora"))
    figures = []
    if args.out is not None:
        try:
            from typicality.figures import write_all

            figures = [str(p) for p in write_all(run, args.out)]
        except ImportError:
            print("typicality: note: matplotlib is not installed, so no figures were written "
                  "(pip install 'typicality[experiments]')", file=sys.stderr)
    r = run.result
    if args.json:
        print(jsonio.dumps(r.to_json_dict()))
        return 0
    mode = "faithful (the notebook's per-corpus draws)" if args.faithful else "fast (multinomial counts)"
    print(f"toy experiment (§6.1), {mode}: {config.corpora} corpora of {config.corpus_size} draws, ε = {config.eps}")
    rows = [
        ("H(p+), H(prior), σ²", f"{r.entropy_aligned:.3f}, {r.entropy_prior:.3f} nats, {r.varentropy:.3f}"),
        ("typical corpora", f"{r.n_typical}/{config.corpora}   (Chebyshev bound σ²/(Nε²) = {r.chebyshev_bound:.3g})"),
        ("string level, unweighted", f"Spearman {r.string_spearman:.2f}, Pearson {r.string_pearson:.2f}"),
        ("string level, p+-weighted", f"Pearson {r.string_pearson_weighted:.3f}"),
        ("corpus level, typical", f"Pearson {r.corpus_pearson_typical:.3f}, Spearman {r.corpus_spearman_typical:.3f} "
                                  f"(bootstrapped); {r.corpus_pearson_typical_raw:.3f} raw"),
        ("corpus level, all corpora", f"Pearson {r.corpus_pearson_all:.3f}"),
        ("median log p(corpus)", f"typical {r.median_logprob_typical:,.2f}, atypical {r.median_logprob_atypical:,.2f} "
                                 f"(raw {r.median_logprob_typical_raw:,.0f} vs {r.median_logprob_atypical_raw:,.0f})"),
        ("max log p(corpus)", f"typical {r.max_logprob_typical:,.0f}, atypical {r.max_logprob_atypical:,.0f}"),
    ]
    for name, value in rows:
        print(f"  {name:<27} {value}")
    def fmt(v: float | None) -> str:
        return "      -" if v is None else f"{v:+7.3f}"

    print("  ε sweep:   ε       typical   Chebyshev   r(typical)   r(resampled)")
    for row in r.eps_sweep:
        print(f"           {row['eps']:<8g} {row['typical_fraction']:7.3f} {row['chebyshev_bound']:11.3g}   "
              f"{fmt(row['pearson_typical'])}      {fmt(row['pearson_typical_resampled'])}")
    for f in figures:
        print(f"  wrote {f}")
    return 0


def _alpha(text: str) -> str:
    try:
        M.parse_alpha(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="typicality",
        description="Exact information measures, bounds and adaptors for language models "
                    "(Tan et al., 'A Probability-Quality Trade-off in Aligned Language Models').",
        epilog="The mathematics, with the paper's numbering and every correction: docs/theory.md in the source "
               "tree; the documentation site: mkdocs serve (from docs/). Exit status: 0 done, 1 a failed check or "
               "job, 2 bad input, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"typicality {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("measures", help="exact information measures of an n-gram model",
                       description="Exact measures of a typicality.ngram/1 JSON model, an ARPA back-off model "
                                   "(.arpa or .arpa.gz, as KenLM, SRILM, IRSTLM or typicality's Kneser–Ney "
                                   "estimator write them) or a built-in example (builtin:"
                                   + ", builtin:".join(sorted(examples.EXAMPLES)) + "): tightness, mass, entropy, "
                                   "varentropy, expected length, eos bound, length-tail rate and Rényi entropies, "
                                   "each certified to the accuracy it prints (see the README).")
    p.add_argument("model", help=MODEL_HELP.format(builtins=_builtin_list()))
    p.add_argument("--alpha", action="append", type=_alpha, metavar="A",
                   help="a Rényi order α > 0 or 'inf' (repeatable; default: 0.5 and 2)")
    p.add_argument("--dps", type=_integer("--dps", 5), metavar="N", help="compute with mpmath at N decimal digits")
    p.add_argument("--bits", action="store_true", help="report entropies in bits instead of nats")
    p.add_argument("--json", action="store_true", help="print JSON (keys: " + ", ".join(MEASURES_KEYS) + ")")
    p.set_defaults(func=cmd_measures)

    v = sub.add_parser("verify", help="run the claim ledger: every claim of the paper with a verdict and evidence",
                       description="Check each claim of the paper (symbolic derivations, certified ball arithmetic, "
                                   "Hypothesis properties, Monte Carlo, counterexamples) and print its verdict: "
                                   "holds, holds-corrected, false-as-stated, artifact, reproduced or not-reproduced "
                                   "(an empirical claim checked on the offline miniature), or pending. Exit status 1 "
                                   "if a verdict differs from the expected one or a check fails.")
    v.add_argument("--json", action="store_true", help="print JSON: a list of {" + ", ".join(VERIFY_KEYS) + "}")
    v.add_argument("--only", nargs="+", metavar="ID", help="check only these claims (e.g. prop3 thm2_lower)")
    v.add_argument("--jobs", "-j", type=_integer("--jobs"), default=1, metavar="N",
                   help="check claims in N processes at once (default 1)")
    v.set_defaults(func=cmd_verify)

    b = sub.add_parser("bounds", help="AEP bounds (Chebyshev, Chernoff) for an n-gram model",
                       description="For N i.i.d. strings of the model: H, σ², the Chebyshev bound σ²/(Nε²) (Eq. 11), "
                                   "the corrected two-sided Chernoff bound with its optimizing orders (Thm. 2, C3), "
                                   "and a Monte Carlo estimate of P(|mean surprisal − H| ≥ ε).")
    b.add_argument("model", help=MODEL_HELP.format(builtins=_builtin_list()))
    b.add_argument("--n", type=_integer("--n"), required=True, metavar="N", help="corpus size N >= 1")
    b.add_argument("--eps", type=_positive_float("--eps"), required=True, metavar="E", help="ε > 0")
    b.add_argument("--corpora", type=_integer("--corpora", 0), default=10_000, metavar="S",
                   help="simulated corpora for the Monte Carlo estimate (0 to skip; default 10000)")
    b.add_argument("--seed", type=_integer("--seed", 0), default=0, help="seed of the Monte Carlo estimate (default 0)")
    b.add_argument("--max-symbols", type=_positive_float("--max-symbols"), default=MAX_SYMBOLS, metavar="K",
                   help="refuse a Monte Carlo estimate expected to draw more than K symbols, i.e. corpora × N × "
                        f"(E|Y| + 1) (default {MAX_SYMBOLS:.0e}, about a minute; progress is shown above "
                        f"{PROGRESS_SYMBOLS:.0e})")
    b.add_argument("--json", action="store_true", help="print JSON (keys: " + ", ".join(BOUNDS_KEYS[:-2]) + "; "
                                                         "note when the Chernoff optimization says something, "
                                                         "unavailable (the reason) when H or σ² is undefined or "
                                                         "infinite)")
    b.set_defaults(func=cmd_bounds)

    t = sub.add_parser("toy", help="the toy experiment of §6.1, reproduced and audited",
                       description="Reproduce the paper's toy experiment (§6.1) and its audit (ledger entries c8, "
                                   "c9). The "
                                   "default fast mode draws count vectors from the multinomial; --faithful draws "
                                   "every corpus as the official notebook does and reproduces the published numbers.")
    t.add_argument("--faithful", action="store_true", help="the notebook's per-corpus draws (legacy numpy seeding)")
    t.add_argument("--eps", type=_positive_float("--eps"), default=0.001, help="ε of the typical set (default 0.001)")
    t.add_argument("--corpora", type=_integer("--corpora", 20), default=1000,
                   help="number of corpora, at least 20 (two groups of 10 bins; default 1000)")
    t.add_argument("--corpus-size", type=_integer("--corpus-size"), default=100_000,
                   help="draws per corpus (default 100000)")
    t.add_argument("--seed", type=_integer("--seed", 0, 2**32 - 1, " (= 2**32 - 1: it seeds numpy's legacy "
                                                               "RandomState, as the official notebook does)"),
                   default=42,
                   help="seed of the objects and the bootstrap (default 42)")
    t.add_argument("--out", metavar="DIR", help="write toy.json, the checkpoint corpora.npz (a rerun resumes from it) "
                                                "and the figures toy_distributions.png, figure1.png, eps_sweep.png "
                                                "here; with --faithful the same names end in -faithful "
                                                "(toy-faithful.json, ...), so both modes can share DIR")
    t.add_argument("--json", action="store_true", help="print the results as JSON (keys: " + ", ".join(TOY_KEYS)
                                                         + ")")
    t.set_defaults(func=cmd_toy)

    from typicality.lm.cli import add_parser as add_lm_parser

    add_lm_parser(sub)
    return parser


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """Warnings on the command line: one line each (``typicality: warning: ...``), without the source line."""
    print(f"typicality: warning: {_one_line(message)}", file=sys.stderr, flush=True)


def _one_line(message: Any) -> str:
    """A message on one line (a library's multi-line message, e.g. transformers' hub errors, joined)."""
    return " ".join(line.strip() for line in str(message).splitlines() if line.strip())


def _silence_stdout() -> None:
    """Point the standard output's file descriptor at /dev/null, so that flushing what is left at exit raises no
    second BrokenPipeError (the recipe of Python's signal documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a file descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    shown, warnings.showwarning = warnings.showwarning, _warning_line
    try:
        args = build_parser().parse_args(argv)  # inside: --help into a closed pipe, Ctrl-C while parsing
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below, not at interpreter exit
        return status
    except (ValueError, TypeError, FileNotFoundError, ImportError) as e:  # ImportError: an optional extra missing
        if interrupted(e):  # Ctrl-C while an extension module initialized
            print("typicality: interrupted", file=sys.stderr)
            return 130
        print(f"typicality: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except ShardError as e:  # a shard of a torchrun job failed (its traceback is in the run's logs/)
        print(f"typicality: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        kept = f"; finished work is kept in {out} (rerun the same command to resume)" if out else ""
        print(f"typicality: interrupted{kept}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, less, ...: stop quietly, as other command-line tools do
        _silence_stdout()
        return 0
    except OSError as e:  # a file or directory that cannot be read or written (a directory given as a file, ...)
        where = f"{e.filename}: " if e.filename else ""
        print(f"typicality: error: {where}{_one_line(e.strerror or e)}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug: one line here, the traceback on request
        if os.environ.get("TYPICALITY_DEBUG"):
            raise
        print(f"typicality: internal error: {type(e).__name__}: {_one_line(e)} (this is a bug; please report it with "
              "the command; TYPICALITY_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":
    raise SystemExit(main())

