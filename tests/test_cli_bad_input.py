"""The command line under bad input (issue: no traceback, no hang, no NaN): a table of inputs for every subcommand,
each ending in one line on stderr that names the parameter or file and the value, exit status 2, quickly.

Each case runs in a fresh interpreter (``python -m typicality``), as a user's shell would, with a time limit: a
case that hangs fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    return d


#: (arguments, words the one-line message must contain); {d} is the fixture's directory
CASES = [
    (["measures", "{d}"], ["{d}", "Is a directory"]),
    (["measures", "{d}/huge_exponent.json"], ["huge_exponent.json", "exponent"]),
    (["measures", "{d}/long_number.json"], ["long_number.json", "characters"]),
    (["measures", "builtin:c1", "--alpha", "1e400"], ["--alpha", "at most"]),
    (["measures", "builtin:c1", "--alpha", "1e99999999"], ["--alpha", "exponent"]),
    (["measures", "builtin:c1", "--dps", "100000"], ["dps", "at most 2000", "100000"]),
    (["measures", "builtin:c1", "--dps", "2"], ["--dps", "at least 5"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "1e-300"], ["eps", "1e-300", "too small"]),
    (["bounds", "builtin:c1", "--n", "10", "--eps", "0.1", "--seed", "-1"], ["--seed", "-1"]),
    (["toy", "--out", "{d}/afile", "--corpora", "40"], ["--out", "afile", "not a directory"]),
    (["toy", "--out", "{d}/afile/sub", "--corpora", "40"], ["--out", "afile/sub", "cannot be written"]),
    (["toy", "--seed", "x"], ["--seed", "'x'"]),
    (["verify", "--jobs", "0"], ["--jobs", "at least 1"]),
    (["verify", "--only", "nope"], ["nope"]),
]


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(c[0][:4]) for c in CASES])
def test_bad_input_is_one_line_naming_it(files, args, words):
    args = [a.format(d=files) for a in args]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "typicality", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
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
