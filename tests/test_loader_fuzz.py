"""Malformed model files, generated: the loader gives a valid model or a clean error naming the file, quickly.

What a user's file can hold is open-ended, so Hypothesis writes the files: arbitrary JSON, near-valid
``typicality.ngram/1`` documents whose probabilities are arbitrary strings and numbers (absurd exponents, thousands
of digits, nan, hex, signs), ARPA texts with random sections and lines, and arbitrary bytes. For each file,
``typicality.cli.load_model`` (what every subcommand calls) must return a model or raise ValueError, TypeError or
FileNotFoundError (the CLI's exit status 2) whose message names the file, within a time limit; and a returned
model's exact mass must be a finite number, never NaN.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from typicality import measures as M
from typicality.cli import load_model

LIMIT_S = 5.0  # per file; valid files of this size load in milliseconds
CLEAN = (ValueError, TypeError, FileNotFoundError)
SYMBOLS = st.sampled_from(["a", "b", "</s>", "<s>", "", "a b", "é", "\x00", "nan"])

number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-10**12, 10**12)),
    st.builds(lambda n: "0." + "3" * n, st.integers(0, 30_000)),
    st.sampled_from(["", "0x1p-3", "1/2", "½", "--1", "+0.5", "0.5 ", "1e", ".", "Infinity", "-0", "1_0", "٠.٥"]),
    st.text(max_size=8),
)
probability = st.one_of(number_text, st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                        st.none(), st.booleans(), st.lists(st.integers(), max_size=2))
rows = st.dictionaries(SYMBOLS, probability, max_size=4)
near_valid = st.fixed_dictionaries(
    {"format": st.sampled_from(["typicality.ngram/1", "typicality.ngram/2", 1]),
     "order": st.one_of(st.integers(-1, 4), st.floats(), st.text(max_size=2)),
     "eos": st.one_of(SYMBOLS, st.integers()),
     "contexts": st.one_of(st.dictionaries(st.sampled_from(["", "a", "b", "a a", "zzz"]), rows, max_size=4),
                           st.lists(rows, max_size=2))},
    optional={"alphabet": st.lists(SYMBOLS, max_size=4), "extra": st.integers()})
any_json = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                    max_size=4), max_leaves=20)
arpa_line = st.one_of(
    st.sampled_from(["\\data\\", "\\end\\", "\\1-grams:", "\\2-grams:", "", "ngram 1=2", "ngram 2=1", "ngram 1=-1",
                     "ngram 1=99999999999999999999"]),
    st.builds(lambda lp, w, bo: f"{lp}\t{w}" + (f"\t{bo}" if bo else ""), number_text, SYMBOLS,
              st.one_of(st.just(""), number_text)),
    st.text(max_size=12),
)
arpa_text = st.lists(arpa_line, max_size=14).map(lambda lines: "\\data\\\n" + "\n".join(lines) + "\n")


def _check(path: Path) -> None:
    t0 = time.perf_counter()
    try:
        model = load_model(str(path))
    except CLEAN as e:
        assert path.name in str(e) or "model file" in str(e), f"the message does not name the file: {e}"
    else:
        mass = M.mass(model)
        assert not math.isnan(float(mass)), "a loaded model's mass is NaN"
    seconds = time.perf_counter() - t0
    assert seconds < LIMIT_S, f"{seconds:.1f} s for a {path.stat().st_size}-byte file"


FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(doc=st.one_of(near_valid, any_json))
def test_json_documents(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("fuzz") / "model.json"
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    _check(path)


@FUZZ
@given(text=arpa_text, gz=st.booleans())
def test_arpa_texts(tmp_path_factory, text, gz):
    import gzip

    path = tmp_path_factory.mktemp("fuzz") / ("model.arpa.gz" if gz else "model.arpa")
    data = text.encode("utf-8", "replace")  # (a lone surrogate of st.text as "?")
    path.write_bytes(gzip.compress(data) if gz else data)
    _check(path)


@FUZZ
@given(data=st.binary(max_size=300), name=st.sampled_from(["model.json", "model.arpa", "model.arpa.gz", "model"]))
def test_arbitrary_bytes(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    _check(path)
