"""The ``typicality`` command line: a thin layer over the library (no computation lives only here)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

import mpmath

from typicality import __version__, jsonio
from typicality import measures as M
from typicality.models import examples
from typicality.models.ngram import NGramLM

BUILTIN = "builtin:"


def load_model(spec: str) -> Any:
    """A model from a ``typicality.ngram/1`` JSON file, or ``builtin:NAME`` for the paper's examples."""
    if spec.startswith(BUILTIN):
        name = spec[len(BUILTIN):]
        if name not in examples.EXAMPLES:
            raise ValueError(f"unknown built-in model {name!r}; choose from {sorted(examples.EXAMPLES)}")
        return examples.EXAMPLES[name]()
    return NGramLM.load(spec)


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
        ("eos_bound", _fmt(result.eos_bound, d), "ξ (Def. 3)"),
        ("length_tail_rate", _fmt(result.length_tail_rate, d), "ρ: P(|Y|≥n) = ρ^(n+o(n))"),
        ("renyi_finite_above", _fmt(result.renyi_finite_above, d), "α₀: H_α < ∞ iff α > α₀"),
    ]
    rows += [(f"renyi[{k}]", _fmt(v, d), units) for k, v in result.renyi.items()]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"{args.model}  ({'float64' if d is None else f'mpmath, {d} digits'})")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{vwidth}}  {note}".rstrip())
    for reason in dict.fromkeys(result.undefined.values()):
        print(f"  note: {reason}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from typicality import verify

    def progress(msg: str) -> None:
        if sys.stderr.isatty():
            print(f"  ... {msg:<56}", file=sys.stderr, end="\r")

    checks = verify.run_checks(progress=progress)
    failed = [c for c in checks if not c.ok]
    if args.json:
        print(jsonio.dumps([c.to_json_dict() for c in checks]))
    else:
        if sys.stderr.isatty():
            print(" " * 64, file=sys.stderr, end="\r")
        width = max(len(c.id) for c in checks)
        for c in checks:
            status = "ok  " if c.ok else "FAIL"
            print(f"{status}  {c.id:<{width}}  {_fmt(c.value, 20):>24}  ref {_fmt(c.reference, 20):>24}  "
                  f"{c.seconds:6.3f}s  {c.source}")
        print(f"{len(checks) - len(failed)}/{len(checks)} checks agree with their independent references")
    return 1 if failed else 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < 5:
        raise argparse.ArgumentTypeError(f"must be at least 5, got {value}")
    return value


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
                    "(Tan et al., 'A Probability-Quality Trade-off in Aligned Language Models').")
    parser.add_argument("--version", action="version", version=f"typicality {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("measures", help="exact information measures of an n-gram model",
                       description="Exact measures of a typicality.ngram/1 JSON model (or builtin:c1, builtin:c2, "
                                   "builtin:example1, builtin:baer): tightness, mass, entropy, varentropy, expected "
                                   "length, eos bound, length-tail rate and Rényi entropies.")
    p.add_argument("model", help="path to a typicality.ngram/1 JSON file, or builtin:NAME")
    p.add_argument("--alpha", action="append", type=_alpha, metavar="A",
                   help="a Rényi order α > 0 or 'inf' (repeatable; default: 0.5 and 2)")
    p.add_argument("--dps", type=_positive_int, metavar="N", help="compute with mpmath at N decimal digits")
    p.add_argument("--bits", action="store_true", help="report entropies in bits instead of nats")
    p.add_argument("--json", action="store_true", help="print JSON (keys: tight, mass, entropy, varentropy, "
                                                         "expected_length, eos_bound, renyi, renyi_finite_above)")
    p.set_defaults(func=cmd_measures)

    v = sub.add_parser("verify", help="check the exact measures of the paper's examples against independent "
                                      "references",
                       description="Run the checks of typicality.verify and print one line per check; "
                                   "exit status 1 if any disagrees.")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, M.UndefinedMeasureError) as e:
        print(f"typicality: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

