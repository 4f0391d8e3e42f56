"""Study configs (TOML), presets, --set overrides and prompt files: validation with errors that name the key.

No torch needed: configs are parsed and validated before any model is touched.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from typicality.adaptors import Compose, make
from typicality.lm.config import (
    HF_TOP_K_SUFFIX,
    Scheme,
    default_scheme_name,
    load_config,
    parse_config,
    parse_set,
    preset_names,
    preset_text,
)
from typicality.lm.prompts import hh_first_human_turn, load_prompts, read_prompt_file, select
from typicality.lm.seeds import string_uniforms

MINIMAL = """
[models]
aligned = "aligned-model"
prior = "prior-model"
reward = "rewards:score"
[prompts]
file = "prompts.txt"
[[schemes]]
adaptor = "top_k"
params = { k = 30 }
temperatures = [0.5, 1.0]
"""


def write(tmp_path, text=MINIMAL, name="study.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_presets_are_complete_and_valid():
    names = preset_names()
    assert {"rlhf-llama2", "dpo-mistral"} <= set(names)
    for name in ("rlhf-llama2", "dpo-mistral"):
        c = load_config(name)
        # the paper's grid (docs/theory.md#d2): 6 adaptors × 5 temperatures + ancestral at τ = 1
        assert len(c.schemes) == 31
        assert sorted({s.temperature for s in c.schemes}) == [0.5, 0.75, 1.0, 1.25, 1.5]
        assert {s.adaptor_name for s in c.schemes} == {"top_k", "top_p", "typical", "eta", "ancestral"}
        assert c.sampling["samples_per_prompt"] == 2 and c.prompts["limit"] == 1000
        assert c.prompts["dataset"] == "Anthropic/hh-rlhf" and c.prompts["max_chars"] == 256
        # transformers' default top-k variants for every scheme that does not set top_k itself
        variants = [s for s in c.all_schemes if s.base is not None]
        assert len(variants) == 21 and all(s.name.endswith(HF_TOP_K_SUFFIX) for s in variants)
        for s in c.schemes:
            s.build()
    assert load_config("rlhf-llama2").prompts["template"] == "Human: {prompt} Assistant:"
    dpo = load_config("dpo-mistral")
    assert dpo.models["secret_reward_beta"] == 1.0 and dpo.models["reward"] is None
    assert dpo.prompts["template"] == "[INST] Human: {prompt} Assistant:[/INST]"
    with pytest.raises(ValueError, match="unknown preset"):
        preset_text("nope")


def test_minimal_config_defaults_and_scheme_expansion(tmp_path):
    (tmp_path / "prompts.txt").write_text("a\nb\n")
    c = load_config(write(tmp_path))
    assert [s.name for s in c.schemes] == ["top_k30@t0.5", "top_k30@t1"]
    assert c.sampling["max_new_tokens"] == 256 and c.sampling["seed"] == 42 and c.models["device"] == "auto"
    assert c.prompts["file"] == str((tmp_path / "prompts.txt").resolve())  # relative to the config file
    assert c.models["aligned"] == "aligned-model"  # not a path here: kept as a hub id
    json.dumps(c.to_json_dict())  # JSON-able


def test_scheme_builds_the_transform_of_its_order():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    s = Scheme("x", (("top_p", (("p", 0.8),)),), 0.5, "hf")
    ref = Compose(make("temperature", t=0.5), make("top_p", p=0.8)).weights(p)
    np.testing.assert_array_equal(s.build().weights(p), ref)
    ll = Scheme("x", (("top_p", (("p", 0.8),)),), 0.5, "llama.cpp")
    np.testing.assert_array_equal(ll.build().weights(p), Compose(make("top_p", p=0.8), make("temperature", t=0.5),
                                                                  order="given").weights(p))
    np.testing.assert_array_equal(Scheme("a", (), 1.0).build().weights(p), p)  # ancestral at τ = 1: T(p) = p
    # the key is what determines the samples, not the name
    assert Scheme("a", (), 1.0).key() == Scheme("b", (), 1.0).key() != Scheme("a", (), 2.0).key()
    assert default_scheme_name((("top_k", (("k", 30),)), ("min_p", (("p", 0.05),))), 0.75) == "top_k30+min_p0.05@t0.75"


@pytest.mark.parametrize("patch,match", [
    ("[bogus]\nx = 1\n", "unknown section"),
    ("[sampling]\nmax_new_tokens = 0\n", "sampling.max_new_tokens must be an integer >= 1"),
    ("[sampling]\nmax_tokens = 5\n", r"unknown key\(s\) \['max_tokens'\]"),
    ("[sampling]\norder = 'sideways'\n", "sampling.order"),
    ("[sampling]\nseed = -1\n", "sampling.seed"),
    ("[sampling]\nseed = true\n", "sampling.seed"),
    ("[models]\nsecret_reward_beta = -1\n", "secret_reward_beta"),
    ("[analysis]\nablations = ['bogus']\n", "analysis.ablations: unknown"),
])
def test_bad_values_are_named(tmp_path, patch, match):
    raw = tomllib.loads(MINIMAL)
    for section, values in tomllib.loads(patch).items():
        raw.setdefault(section, {}).update(values)
    with pytest.raises(ValueError, match=match):
        parse_config(raw)


@pytest.mark.parametrize("schemes,match", [
    ([{"adaptor": "bogus"}], "unknown adaptor 'bogus'"),
    ([{"adaptor": "top_k", "params": {"p": 3}}], "top_k"),
    ([{"adaptor": "top_k", "params": {"k": 0}}], "k must be"),
    ([{"adaptor": "top_p", "params": {"p": 1.5}}], "p must be in"),
    ([{"adaptor": "ancestral", "params": {"k": 1}}], "takes no params"),
    ([{"adaptor": "top_k", "params": {"k": 3}, "temperature": 0}], "temperature must be a finite number > 0"),
    ([{"adaptor": "top_k", "params": {"k": 3}, "temperature": 1, "temperatures": [1]}], "not both"),
    ([{"adaptor": "ancestral"}, {"adaptor": "ancestral", "name": "again"}], "same adaptor"),
    ([{"adaptor": "top_k", "params": {"k": 3}, "colour": "red"}], "unknown key"),
    ([{"adaptor": ["top_k", "top_p"], "params": {"k": 3}}], "list of 2 tables"),
    ([{"adaptor": "temperature", "params": {"t": 2.0}}], "give the temperature"),
    ([], "at least one"),
])
def test_bad_schemes_are_named(schemes, match):
    raw = tomllib.loads(MINIMAL)
    raw["schemes"] = schemes
    with pytest.raises(ValueError, match=match):
        parse_config(raw)


def test_compositions_and_names():
    raw = tomllib.loads(MINIMAL)
    raw["schemes"] = [{"adaptor": ["top_k", "min_p"], "params": [{"k": 40}, {"p": 0.05}], "temperature": 0.7},
                      {"adaptor": "ancestral", "name": "plain"}]
    c = parse_config(raw)
    assert [s.name for s in c.schemes] == ["top_k40+min_p0.05@t0.7", "plain"]
    assert c.schemes[0].adaptor_name == ["top_k", "min_p"] and c.schemes[0].params == [{"k": 40}, {"p": 0.05}]


def test_reward_or_secret_reward_and_one_prompt_source_are_required():
    raw = tomllib.loads(MINIMAL)
    del raw["models"]["reward"]
    with pytest.raises(ValueError, match="needs a 'reward'"):
        parse_config(raw)
    raw["models"]["secret_reward_beta"] = 0.1
    parse_config(raw)
    raw["prompts"]["dataset"] = "Anthropic/hh-rlhf"
    with pytest.raises(ValueError, match="exactly one of 'file'"):
        parse_config(raw)
    raw = tomllib.loads(MINIMAL)
    raw["prompts"]["template"] = "no placeholder"
    with pytest.raises(ValueError, match="must contain"):
        parse_config(raw)


def test_set_overrides(tmp_path):
    assert parse_set(["sampling.max_new_tokens=64", "models.aligned=some/hub-id", "models.device='cuda:1'",
                      "analysis.ablations=['no_eos']"]) == [
        ("sampling", "max_new_tokens", 64), ("models", "aligned", "some/hub-id"), ("models", "device", "cuda:1"),
        ("analysis", "ablations", ["no_eos"])]
    for bad, match in (("sampling.max_tokens=3", "unknown key 'sampling.max_tokens'"), ("nonsense", "section.key"),
                       ("schemes.adaptor=top_k", "cannot change")):
        with pytest.raises(ValueError, match=match):
            parse_set([bad])
    c = load_config(write(tmp_path), overrides=["sampling.max_new_tokens=8"])
    assert c.sampling["max_new_tokens"] == 8
    with pytest.raises(ValueError, match=r"sampling\.max_new_tokens must be an integer >= 1"):
        load_config(write(tmp_path), overrides=["sampling.max_new_tokens=zero"])


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(write(tmp_path, "[models\naligned = 1"))
    with pytest.raises(ValueError, match="directory"):
        load_config(tmp_path)
    (tmp_path / "latin1.toml").write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        load_config(tmp_path / "latin1.toml")


def test_prompt_files(tmp_path):
    (tmp_path / "p.txt").write_text("first\n\nsecond  \n")
    assert read_prompt_file(tmp_path / "p.txt") == ["first", "second  "]
    (tmp_path / "p.jsonl").write_text('{"prompt": "a"}\n{"prompt": "b", "id": 2}\n')
    assert read_prompt_file(tmp_path / "p.jsonl") == ["a", "b"]
    (tmp_path / "bad.jsonl").write_text('{"prompt": "a"}\n{"text": "b"}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_prompt_file(tmp_path / "bad.jsonl")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="no prompt"):
        read_prompt_file(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError):
        read_prompt_file(tmp_path / "nope.txt")
    p = load_prompts({"file": str(tmp_path / "p.jsonl"), "template": "Human: {prompt} Assistant:", "limit": 1})
    assert p.raw == ("a",) and p.templated == ("Human: a Assistant:",)
    assert select(["aa", "b", "ccc"], max_chars=3, shuffle_seed=None, limit=None) == ["aa", "b"]
    assert sorted(select(list("abcdef"), max_chars=None, shuffle_seed=42, limit=None)) == list("abcdef")


def test_hh_first_human_turn():
    text = "\n\nHuman: What is a cat?\n\nAssistant: An animal.\n\nHuman: And a dog?\n\nAssistant: Also."
    assert hh_first_human_turn(text) == "What is a cat?"


def test_string_streams_are_per_string():
    a = string_uniforms(42, "k", 3, 1, 10)
    assert np.array_equal(a, string_uniforms(42, "k", 3, 1, 10))
    assert np.array_equal(a[:4], string_uniforms(42, "k", 3, 1, 4))  # prefix-stable: T only truncates
    for other in (string_uniforms(43, "k", 3, 1, 10), string_uniforms(42, "j", 3, 1, 10),
                  string_uniforms(42, "k", 4, 1, 10), string_uniforms(42, "k", 3, 0, 10)):
        assert not np.array_equal(a, other)
    assert np.all((a >= 0) & (a < 1))
    with pytest.raises(ValueError, match="prompt_index"):
        string_uniforms(42, "k", -1, 0, 3)
