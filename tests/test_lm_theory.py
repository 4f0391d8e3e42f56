"""typicality lm theory on tiny transformers models: the JSON contract, resumption, refusals, and the eos
statistics against a direct computation over the sampled prefixes."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from typicality.lm.cli import THEORY_KEYS
from typicality.lm.theory import TheoryConfig, run_theory
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tok = tiny_tokenizer()
    return str(save_tiny(tmp_path_factory.mktemp("theory-model"), tiny_causal_lm(tok, eos_logit=3.0, seed=1), tok))


@pytest.fixture(scope="module")
def run(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("theory-out")
    config = TheoryConfig(model, prompts=("Human: hello", "The quick"), samples=200, max_new_tokens=64,
                          adaptor_samples=40, schemes=({"adaptor": "top_k", "params": {"k": 5}},
                                                       {"adaptor": "top_p", "params": {"p": 0.9}}))
    return config, out, run_theory(config, out)


def test_json_holds_the_contract_keys(run):
    _, out, _r = run
    data = json.loads((out / "theory.json").read_text())
    assert set(data) == set(THEORY_KEYS)  # the keys `lm theory --help` lists
    assert data["confidence"] == 0.95 and len(data["prompts"]) == 2
    for p in data["prompts"]:
        assert {"prompt", "n_samples", "n_capped", "entropy", "varentropy", "min_eos_probability", "renyi", "aep",
                "adaptors"} <= set(p)
        for key in ("entropy", "varentropy"):
            assert {"estimate", "low", "high"} <= set(p[key])
        assert all({"alpha", "estimate", "low", "high"} <= set(x) for x in p["renyi"])
        assert all({"n", "eps", "empirical", "chebyshev", "chernoff", "verdict"} <= set(x) for x in p["aep"])
        assert [a["adaptor"] for a in p["adaptors"]] == ["top_k", "top_p"]
        for a in p["adaptors"]:
            assert {"adaptor", "params", "temperature", "eos_fraction", "acceptance_rate", "log_normalizer"} <= set(a)
            assert 0 <= a["eos_fraction"] <= 1
            if a["acceptance_rate"] is not None:
                assert 0 <= a["acceptance_rate"] <= 1
        assert p["n_samples"] == 200


def test_eos_statistics_equal_a_direct_computation_over_the_sampled_prefixes(run, model):
    """Every prefix of every sampled string, forwarded through the model: the minimum of p(eos | prefix)."""
    import torch

    from typicality.lm.loading import load_causal_lm
    from typicality.lm.scoring import prompt_ids

    config, out, r = run
    lm = load_causal_lm(model, device="cpu", dtype="float32")
    ctx = prompt_ids(lm.tokenizer, [config.prompts[0]])[0]
    unit = np.load(out / "units" / "prompt-00000.npz")
    flat, lengths = unit["tokens_flat"], unit["n_tokens"]
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    eos = lm.eos_token_ids[0]
    found = []
    with torch.inference_mode():
        for s, n in zip(starts[:40], lengths[:40], strict=True):
            ids = torch.tensor([ctx + flat[s:s + n].tolist()])
            logits = lm.model(input_ids=ids).logits[0].double()
            logp = torch.log_softmax(logits, dim=-1)[len(ctx) - 1:len(ctx) - 1 + n, eos]
            found.append(logp.numpy())
    direct = np.concatenate(found)
    recorded = unit["log_eos"][: len(direct)]
    np.testing.assert_allclose(recorded, direct, atol=1e-5)
    assert r["prompts"][0]["min_eos_probability"] == pytest.approx(float(np.exp(unit["log_eos"].min())), rel=1e-12)


def test_a_second_run_reuses_the_units_and_other_settings_are_refused(run):
    config, out, first = run
    logs = []
    again = run_theory(config, out, log=logs.append)
    assert logs == ["prompt 0: done earlier", "prompt 1: done earlier"]
    assert again["prompts"] == first["prompts"]
    other = TheoryConfig(config.model, prompts=config.prompts, samples=201, max_new_tokens=64)
    with pytest.raises(ValueError, match="holds a theory run with other settings"):
        run_theory(other, out)


def test_bad_input(model, tmp_path, capsys):
    from typicality.cli import main

    with pytest.raises(ValueError, match=r"prompts\[1\] is empty"):
        TheoryConfig(model, prompts=("a", " "))
    with pytest.raises(ValueError, match="samples must be at least 4"):
        TheoryConfig(model, samples=2)
    for args, message in ((["--samples", "0"], "--samples must be at least 4, got 0"),
                          (["--confidence", "1"], "--confidence must be strictly between 0 and 1")):
        with pytest.raises(SystemExit) as e:
            main(["lm", "theory", model, *args])
        assert e.value.code == 2 and message in capsys.readouterr().err
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n\nworld\n")
    assert main(["lm", "theory", model, "--prompts", str(prompts), "--samples", "8", "--max-new-tokens", "8",
                 "--no-adaptors", "--json"]) == 0
    captured = capsys.readouterr()
    assert "1 empty line(s) skipped" in captured.err
    data = json.loads(captured.out)
    assert [p["prompt"] for p in data["prompts"]] == ["hello", "world"]


def test_an_out_folder_that_cannot_be_one_is_refused(model, tmp_path):
    (tmp_path / "file").write_text("x")
    for bad in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(ValueError, match=r"out .* (is a file|cannot be created)"):
            run_theory(TheoryConfig(model, samples=4, max_new_tokens=4, schemes=()), bad)


def test_a_model_without_eos_is_refused(tmp_path):
    tok = tiny_tokenizer()
    m = tiny_causal_lm(tok, seed=0)
    m.config.eos_token_id = None
    m.generation_config.eos_token_id = None
    tok.eos_token = None
    folder = save_tiny(tmp_path / "no-eos", m, tok)
    with pytest.raises(ValueError, match="no eos token"):
        run_theory(TheoryConfig(str(folder), samples=4, max_new_tokens=4))


def test_capped_strings_get_the_conditioned_analysis_and_eos_dropping_is_measured(model, tmp_path):
    """A low cap censors some strings: the entropy keeps only its low end, and the strings that ended are analysed
    as draws from p conditioned on ending (AEP rows included). top_k with k = 1 drops eos at every step where eos is
    not the mode, ancestral sampling never does."""
    config = TheoryConfig(model, prompts=("Human: hello",), samples=200, max_new_tokens=16, adaptor_samples=30,
                          schemes=({"adaptor": "top_k", "params": {"k": 1}}, {"adaptor": "ancestral"}))
    r = run_theory(config, tmp_path / "capped")
    p = r["prompts"][0]
    assert p["n_capped"] > 0 and p["entropy"]["estimate"] is None and p["entropy"]["high"] == float("inf")
    assert p["aep"] == [] and "ended" in p and p["ended"]["fraction"] == pytest.approx(1 - p["n_capped"] / 200)
    assert p["ended"]["aep"] and p["ended"]["mean_surprisal"]["estimate"] is not None
    greedy, anc = p["adaptors"]
    assert greedy["eos_along_the_way"]["eos_dropped_fraction"] > 0.5
    assert anc["eos_along_the_way"]["eos_dropped_fraction"] == 0
    assert anc["eos_along_the_way"]["mean_q_eos"] == pytest.approx(anc["eos_along_the_way"]["mean_p_eos"], rel=1e-6)
