"""The command line under bad input (issue: no traceback, no hang, no NaN): a table of inputs for every subcommand,
each ending in one line on stderr that names the parameter or file and the value, exit status 2, quickly.

Each case runs in a fresh interpreter (``python -m typicality``), as a user's shell would, with a time limit: a
case that hangs fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typicality.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOD_MODEL = {"format": "typicality.ngram/1", "order": 1, "eos": "</s>", "contexts": {"": {"a": "0.5", "</s>": "0.5"}}}


def model_with(probability: str) -> dict:
    return {**GOOD_MODEL, "contexts": {"": {"a": probability, "</s>": "0.5"}}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "afile").write_text("not a directory")
    (d / "huge_exponent.json").write_text(json.dumps(model_with("1e-99999999")))
    (d / "long_number.json").write_text(json.dumps(model_with("0." + "5" * 2_000_000)))
    (d / "latin1.json").write_bytes(json.dumps(model_with("0.5")).replace("a", "\u00e9").encode("latin-1"))
    (d / "notjson.json").write_text("{")
    (d / "list.json").write_text("[1, 2]")
    (d / "damaged.arpa.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data" * 4)
    (d / "bad.arpa").write_text("\\data\\\nngram 1=5\n\n\\1-grams:\n-0.3 </s>\n\\end\\\n")
    nines = "0." + "9" * 300  # p(eos) = 1e-300 exactly: E|Y| = 1e300, so nothing can be sampled
    (d / "eos300.json").write_text(json.dumps({**GOOD_MODEL, "order": 2, "contexts": {
        "": {"a": "1"}, "a": {"a": nines, "</s>": "1e-300"}}}))
    (d / "faithful").mkdir()
    (d / "faithful" / "toy-faithful.json").mkdir()
    (d / "notoml.toml").write_text("[sampling\n")
    (d / "config.toml").write_text('[models]\naligned = "./aligned"\nprior = "./prior"\nreward = "reward.py:score"\n'
                                   '[prompts]\nfile = "good.txt"\n[[schemes]]\nadaptor = "ancestral"\n')
    (d / "good.txt").write_text("hello\n")
    (d / "prompts.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    return d


#: (arguments, words the one-line message must contain); {d} is the fixture's directory
CASES = [
    # measures: model files
    (["measures", "{d}"], ["{d}", "is a directory"]),
    (["measures", "{d}/missing.json"], ["missing.json", "not found"]),
    (["measures", "{d}/huge_exponent.json"], ["huge_exponent.json", "exponent"]),
    (["measures", "{d}/long_number.json"], ["long_number.json", "characters"]),
    (["measures", "{d}/latin1.json"], ["latin1.json", "not UTF-8"]),
    (["measures", "{d}/notjson.json"], ["notjson.json", "not valid JSON"]),
    (["measures", "{d}/list.json"], ["list.json"]),
    (["measures", "{d}/damaged.arpa.gz"], ["damaged.arpa.gz", "damaged gzip"]),
    (["measures", "{d}/bad.arpa"], ["bad.arpa"]),
    (["measures", "builtin:nope"], ["nope", "built-in"]),
    (["measures", "-"], ["<stdin>"]),  # standard input is empty here
    # measures: options
    (["measures", "builtin:c1", "--alpha", "1e400"], ["--alpha", "at most"]),
    (["measures", "builtin:c1", "--alpha", "1e99999999"], ["--alpha", "exponent"]),
    (["measures", "builtin:c1", "--alpha", "-1"], ["--alpha", "-1"]),
    (["measures", "builtin:c1", "--alpha", "nan"], ["--alpha", "nan"]),
    (["measures", "builtin:c1", "--alpha", "abc"], ["--alpha", "abc"]),
    (["measures", "builtin:c1", "--dps", "100000"], ["dps", "at most 2000", "100000"]),
    (["measures", "builtin:c1", "--dps", "2"], ["--dps", "at least 5"]),
    (["measures", "builtin:c1", "--dps", "9" * 5000], ["--dps", "at most 100 digits"]),
    (["measures", "builtin:c1", "--dps", "x"], ["--dps", "'x'"]),
    # bounds
    (["bounds", "builtin:c1", "--n", "10", "--eps", "1e-300"], ["eps", "1e-300", "too small"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "nan"], ["--eps", "nan"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "1e300"], ["eps", "1e+300", "too large"]),
    (["bounds", "builtin:c1", "--n", "9" * 99, "--eps", "1e140"], ["eps", "too large"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "-1"], ["--eps", "-1"]),
    (["bounds", "builtin:c1", "--n", "0", "--eps", "0.1"], ["--n", "at least 1"]),
    (["bounds", "builtin:c1", "--n", "1e8", "--eps", "0.1"], ["--n", "'1e8'"]),
    (["bounds", "builtin:c1", "--n", "100000000", "--eps", "0.1"], ["--corpora", "--n", "symbols", "--max-symbols"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "0.1", "--seed", "-1"], ["--seed", "-1"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "0.1", "--corpora", "-1"], ["--corpora", "-1"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "0.1", "--max-symbols", "0"], ["--max-symbols", "0"]),
    (["bounds", "{d}/eos300.json", "--n", "10", "--eps", "0.1"], ["E|Y|", "on average"]),
    (["bounds", "{d}", "--n", "10", "--eps", "0.1"], ["{d}", "is a directory"]),
    # toy
    (["toy", "--out", "{d}/afile", "--corpora", "40"], ["--out", "afile", "not a directory"]),
    (["toy", "--out", "{d}/afile/sub", "--corpora", "40"], ["--out", "afile/sub", "cannot be written"]),
    (["toy", "--out", "/proc/typicality-test", "--corpora", "40"], ["--out", "/proc/typicality-test", "cannot"]),
    (["toy", "--out", "{d}/faithful", "--faithful", "--corpora", "40"], ["--out", "toy-faithful.json",
                                                                       "is a directory"]),
    (["toy", "--seed", "x"], ["--seed", "'x'"]),
    (["toy", "--seed", str(2**40)], ["--seed", "2**32 - 1", str(2**40)]),
    (["toy", "--corpora", "5"], ["--corpora", "at least 20"]),
    (["toy", "--corpus-size", "0"], ["--corpus-size", "at least 1"]),
    (["toy", "--eps", "0"], ["--eps", "'0'"]),
    (["toy", "--eps", "inf"], ["--eps", "inf"]),
    # verify
    (["verify", "--jobs", "0"], ["--jobs", "at least 1"]),
    (["verify", "--jobs", "x"], ["--jobs", "'x'"]),
    (["verify", "--only", "nope"], ["nope"]),
    # lm
    (["lm", "run", "{d}/missing.toml", "--out", "{d}/run"], ["missing.toml"]),
    (["lm", "run", "{d}", "--out", "{d}/run"], ["{d}", "directory"]),
    (["lm", "run", "{d}/notoml.toml", "--out", "{d}/run"], ["notoml.toml", "TOML"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run", "--set", "nokey"], ["--set", "nokey"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run", "--set", "sampling.seed=-1"], ["sampling.seed", "-1"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run", "--set", "sampling.nokey=1"], ["--set", "sampling.nokey"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run", "--device", "bogus"], ["device", "bogus"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run", "--set", "prompts.shuffle_seed=" + str(2**40)],
     ["prompts.shuffle_seed", "2**32 - 1"]),
    (["lm", "run", "{d}/config.toml", "--out", "{d}/run"], ["aligned"]),  # the model folder does not exist
    (["lm", "run", "mini-ci", "--out", "{d}/afile"], ["afile"]),
    (["lm", "presets", "--show", "nope"], ["nope"]),
    (["lm", "theory", "{d}/missing", "--samples", "2"], ["--samples", "at least 4"]),
    (["lm", "theory", "{d}/missing"], ["missing"]),
    (["lm", "theory", "{d}/missing", "--prompts", "{d}/prompts.txt"], ["prompts.txt", "UTF-8"]),
    (["lm", "theory", "{d}/missing", "--confidence", "2"], ["--confidence", "2"]),
]


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(c[0][:4]) for c in CASES])
def test_bad_input_is_one_line_naming_it(files, args, words):
    args = [a.format(d=files) for a in args]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "typicality", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "error" in last, proc.stderr
    for word in words:
        assert word.format(d=files) in last, (word, last)
    assert seconds < 20, f"{seconds:.1f} s"


def test_an_unexpected_error_is_one_line_and_the_traceback_is_on_request(monkeypatch, capsys):
    """A bug still ends in one line (exit 1), with TYPICALITY_DEBUG=1 giving the traceback."""
    from typicality import cli

    def boom(args):
        raise ZeroDivisionError("float division by zero")

    parser = cli.build_parser

    def patched():
        p = parser()
        p.set_defaults(func=boom)
        for action in p._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    assert cli.main(["measures", "builtin:c1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError" in err and "TYPICALITY_DEBUG" in err
    monkeypatch.setenv("TYPICALITY_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["measures", "builtin:c1"])


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**120, max_value=10**120).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-9, 9), st.integers(-10**9, 10**9)),
    st.text(alphabet="0123456789.eE+-_ xn", max_size=12),
)
OPTIONS = [
    ("bounds", ["builtin:c1", "--corpora", "0"], {"--n": "10", "--eps": "0.5"}),
    ("bounds", ["builtin:example1", "--corpora", "0"], {"--n": "10", "--eps": "0.5"}),
    ("bounds", ["builtin:c1", "--n", "10", "--eps", "0.5", "--corpora", "3"], {"--seed": "0", "--max-symbols": "1e6"}),
    ("measures", ["builtin:example1"], {"--alpha": "2"}),
    ("measures", ["builtin:c1"], {"--dps": "15"}),
]


@settings(max_examples=150, deadline=None)
@given(which=st.integers(0, len(OPTIONS) - 1), pick=st.integers(0, 1), value=numbers)
def test_any_number_for_any_numeric_option_is_a_result_or_one_clean_line(which, pick, value):
    """The class behind `--eps 1e-300`, `--alpha 1e400`, `--seed -1`, `--dps 100000`: whatever a numeric option gets,
    the command answers (0) or refuses in one line naming the option (2), quickly, never a traceback."""
    command, fixed, options = OPTIONS[which]
    name = list(options)[min(pick, len(options) - 1)]
    args = [command, *fixed]
    for option, default in options.items():
        args += [option, value if option == name else default]
    err = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as e:  # argparse's refusal of a value
            code = e.code
    text = err.getvalue()
    assert code in (0, 2), (args, code, text)
    assert "Traceback" not in text and "internal error" not in text, (args, text)
    if code == 2:
        line = text.strip().splitlines()[-1]
        assert name.lstrip("-") in line or name.lstrip("-").replace("-", "_") in line, (args, line)
    assert time.perf_counter() - t0 < 20, args
