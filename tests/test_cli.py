"""The command line: the JSON contract of ``typicality measures``, errors, and ``typicality verify``."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from decimal import Decimal

import pytest

from typicality.cli import main

CONTRACT = {"tight", "mass", "entropy", "varentropy", "expected_length", "eos_bound", "renyi", "renyi_finite_above"}


def run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own errors (a bad option value): exit status 2
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def write_model(tmp_path, contexts, order=2, name="m.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"format": "typicality.ngram/1", "order": order, "eos": "</s>",
                                "contexts": contexts}))
    return path


def test_measures_json_contract(tmp_path, capsys):
    path = write_model(tmp_path, {"": {"a": 1.0}, "a": {"b": 1.0}, "b": {"a": 0.5, "</s>": 0.5}})
    code, out, _ = run(capsys, "measures", str(path), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= CONTRACT
    assert data["tight"] is True
    assert data["entropy"] == pytest.approx(2 * math.log(2), rel=1e-14)
    assert data["varentropy"] == pytest.approx(2 * math.log(2) ** 2, rel=1e-12)
    assert data["expected_length"] == pytest.approx(4.0)
    assert data["eos_bound"] == 0
    assert set(data["renyi"]) == {"0.5", "2"}  # the default orders, keyed as written
    assert data["renyi"]["2"] == pytest.approx(math.log(3), rel=1e-14)
    assert data["renyi_finite_above"] == 0


def test_measures_alpha_keys_inf_and_threshold(capsys):
    _, out, _ = run(capsys, "measures", "builtin:c1", "--json", "--alpha", "0.50", "--alpha", "2.0",
                       "--alpha", "inf")
    data = json.loads(out)
    assert set(data["renyi"]) == {"0.50", "2.0", "inf"}
    assert data["renyi"]["0.50"] == "inf"
    assert data["renyi"]["inf"] == pytest.approx(math.log(2))
    assert data["renyi_finite_above"] == pytest.approx(0.5, abs=1e-14)


def test_measures_dps_gives_full_precision_numbers(capsys):
    _, out, _ = run(capsys, "measures", "builtin:c1", "--json", "--dps", "40", "--bits")
    data = json.loads(out, parse_float=Decimal)
    assert abs(data["entropy"] - 3) < Decimal("1e-38")  # H = 3 bits
    assert abs(data["varentropy"] - 8) < Decimal("1e-38")


def test_non_tight_model_reports_undefined(tmp_path, capsys):
    path = write_model(tmp_path, {"": {"a": 0.5, "</s>": 0.5}, "a": {"a": 1.0}})
    code, out, _ = run(capsys, "measures", str(path), "--json")
    data = json.loads(out)
    assert code == 0 and data["tight"] is False
    assert data["mass"] == pytest.approx(0.5)
    assert data["entropy"] is None and data["renyi"]["2"] is None and data["renyi_finite_above"] is None
    assert "not tight" in data["undefined"]["entropy"]
    code, out, _ = run(capsys, "measures", str(path))
    assert "undefined" in out and "not tight" in out


def test_bad_inputs_exit_2_with_a_message(tmp_path, capsys):
    path = write_model(tmp_path, {"": {"a": 0.7, "</s>": 0.2}, "a": {"</s>": 1}})
    code, out, err = run(capsys, "measures", str(path))
    assert code == 2 and out == "" and "context '': probabilities sum to 0.9" in err
    code, _, err = run(capsys, "measures", str(tmp_path / "nope.json"))
    assert code == 2 and "model file not found" in err
    code, _, err = run(capsys, "measures", "builtin:nope")
    assert code == 2 and "unknown built-in model 'nope'" in err
    with pytest.raises(SystemExit) as e:
        main(["measures", "builtin:c1", "--alpha", "-1"])
    assert e.value.code == 2
    assert "alpha must be > 0, got '-1'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["measures", "builtin:c1", "--dps", "2"])
    assert "at least 5" in capsys.readouterr().err


def test_verify_only_reports_the_ledger_contract(capsys):
    code, out, _ = run(capsys, "verify", "--json", "--only", "prop3", "cor2")
    assert code == 0
    entries = json.loads(out)
    assert [e["id"] for e in entries] == ["prop3", "cor2"]
    for e in entries:
        assert set(e) == {"id", "verdict", "evidence", "details"}
    assert entries[0]["verdict"] == "false-as-stated" and "counterexample" in entries[0]["evidence"]
    assert entries[1]["verdict"] == "holds-corrected"
    code, _, err = run(capsys, "verify", "--only", "nope")
    assert code == 2 and "unknown claim id" in err


def test_bounds_json_contract_and_values(capsys):
    code, out, _ = run(capsys, "bounds", "builtin:c1", "--n", "50", "--eps", "0.5", "--json", "--corpora", "2000")
    assert code == 0
    data = json.loads(out)
    assert {"entropy", "varentropy", "chebyshev", "chernoff", "chernoff_orders", "empirical_tail"} <= set(data)
    assert data["chebyshev"] == pytest.approx(8 * math.log(2) ** 2 / (50 * 0.25), rel=1e-12)
    assert 0.5 < data["chernoff_orders"]["upper"] < 1 < data["chernoff_orders"]["lower"]
    assert 0 <= data["empirical_tail"] <= 1


def test_bounds_unavailable_and_bad_input(tmp_path, capsys):
    code, out, _ = run(capsys, "bounds", "builtin:baer", "--n", "10", "--eps", "0.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["chebyshev"] is None and data["chernoff"] is None
    assert data["unavailable"].startswith("bound not available") and "infinite" in data["unavailable"]
    path = write_model(tmp_path, {"": {"a": 0.5, "</s>": 0.5}, "a": {"a": 1.0}})
    code, out, _ = run(capsys, "bounds", str(path), "--n", "10", "--eps", "0.5")
    assert code == 0 and "bound not available" in out and "not tight" in out
    for bad, msg in ((["--n", "0", "--eps", "1"], "--n must be at least 1, got 0"),
                     (["--n", "5", "--eps", "0"], "--eps must be a finite number > 0, got '0'"),
                     (["--n", "5", "--eps", "-1"], "--eps must be a finite number > 0, got '-1'")):
        code, _, err = run(capsys, "bounds", "builtin:c1", *bad)
        assert code == 2 and msg in err, err


@pytest.mark.skipif(shutil.which("typicality") is None, reason="console script not installed")
def test_console_script_help():
    out = subprocess.run(["typicality", "measures", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--alpha" in out and "--dps" in out and "--bits" in out and "--json" in out


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(monkeypatch):
    """`typicality measures ... | head -1`: the reader has gone when the output comes; no BrokenPipeError traceback."""
    class Gone:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["measures", "builtin:example1", "--json"]) == 0


TOY_KEYS = {"entropy_aligned", "entropy_prior", "varentropy", "n_typical", "string_spearman", "string_pearson",
            "string_pearson_weighted", "corpus_pearson_typical", "corpus_spearman_typical", "corpus_pearson_all",
            "median_logprob_typical", "median_logprob_atypical", "eps_sweep"}


def _keys(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    return set(data[0] if isinstance(data, list) else data)


def test_help_lists_every_json_key_and_every_builtin_model(capsys):
    """Every key a --json output can hold (over inputs that reach the optional ones) is the documented list, and
    that list is what --help prints; every built-in model is named in the help of the commands that take one."""
    from typicality import cli
    from typicality.models import examples

    observed = {
        "measures": _keys(capsys, "measures", "builtin:example1"),
        "bounds": set().union(*(_keys(capsys, "bounds", m, "--n", "10", "--eps", e, "--corpora", "10")
                                for m, e in (("builtin:c1", "0.5"), ("builtin:c1", "3"), ("builtin:baer", "0.5")))),
        "toy": _keys(capsys, "toy", "--corpora", "100", "--eps", "0.002"),
        "verify": _keys(capsys, "verify", "--only", "prop3"),
    }
    documented = {"measures": cli.MEASURES_KEYS, "bounds": cli.BOUNDS_KEYS, "toy": cli.TOY_KEYS,
                  "verify": cli.VERIFY_KEYS}
    for command, keys in observed.items():
        assert keys == set(documented[command]), (command, keys ^ set(documented[command]))
        code, out, _ = run(capsys, command, "--help")
        text = " ".join(out.split())
        assert code == 0
        for key in keys:
            assert key in text, (command, key)
        if command in ("measures", "bounds"):
            for name in examples.EXAMPLES:
                assert f"builtin:{name}" in text, (command, name)


def test_toy_json_contract_and_files(tmp_path, capsys):
    code, out, _ = run(capsys, "toy", "--corpora", "300", "--corpus-size", "20000", "--eps", "0.008", "--json",
                       "--out", str(tmp_path))
    assert code == 0
    data = json.loads(out)
    assert set(data) >= TOY_KEYS
    assert data["entropy_aligned"] == pytest.approx(5.0053, abs=1e-4)
    for row in data["eps_sweep"]:
        assert {"eps", "typical_fraction", "chebyshev_bound", "pearson_typical"} <= set(row)
    assert json.loads((tmp_path / "toy.json").read_text())["n_typical"] == data["n_typical"]
    if importlib.util.find_spec("matplotlib"):
        for name in ("toy_distributions.png", "figure1.png", "eps_sweep.png"):
            assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_toy_bad_input(capsys):
    for args, msg in ((["--corpora", "0"], "--corpora must be at least 20"), (["--eps", "-0.1"], "eps"),
                      (["--corpus-size", "0"], "--corpus-size must be at least 1"),
                      (["--corpora", "10"], "--corpora must be at least 20"),
                      (["--corpora", "100", "--corpus-size", "1000"], "no typical corpus"),
                      (["--corpora", "100", "--corpus-size", "1000", "--eps", "0.02"], "cannot bootstrap the")):
        code, _, err = run(capsys, "toy", *args)
        assert code == 2 and msg in err, err
