"""Loading the real-model study's models and reward (typicality.lm.loading), on tiny models built from a config.

Nothing is downloaded: the models come from typicality.lm.tiny, saved into tmp_path as transformers folders or as
a GGUF file written by save_tiny_gguf.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typicality.lm import tiny  # noqa: E402
from typicality.lm.loading import (  # noqa: E402
    ConfigOnlyModel,
    FunctionReward,
    LoadedLM,
    ModelReward,
    Reward,
    SafeRLHFScoreReward,
    check_reward_spec,
    check_same_tokenizer,
    load_causal_lm,
    load_model_info,
    load_reward,
    resolve_device,
    resolve_dtype,
    secret_reward,
)

TEXTS = ["Human: What is the capital of France? Assistant:", " The quick brown fox", "zebra <s> </s>x",
         "héllo wörld 😀", ""]


@pytest.fixture(scope="module")
def tok():
    return tiny.tiny_tokenizer()


@pytest.fixture(scope="module")
def llama(tok):
    return tiny.tiny_causal_lm(tok, arch="llama", seed=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, llama, tok):
    return tiny.save_tiny(tmp_path_factory.mktemp("llama"), llama, tok)


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory, llama, tok):
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    return tiny.save_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", llama, tok)


def logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].double()


IDS = [1, 40, 72, 85, 44, 268, 68, 273, 2, 90]


# ------------------------------------------------------------------------------------------- device and dtype


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    expected = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert resolve_device("auto") == expected
    for bad in ("tpu", "cuda:x", "cuda:-1", "gpu", ""):
        with pytest.raises(ValueError, match="device"):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available() and torch.cuda.device_count() > 7, reason="has a cuda:7")
def test_missing_cuda_device_is_a_value_error(folder):
    with pytest.raises(ValueError, match=r"device 'cuda:7'"):
        resolve_device("cuda:7")
    with pytest.raises(ValueError, match=r"device 'cuda:7'"):  # before anything is loaded
        load_causal_lm(str(folder), device="cuda:7")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_value_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resolve_dtype():
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("float64") == torch.float64
    assert resolve_dtype("bfloat16") == torch.bfloat16
    assert resolve_dtype("float16") == torch.float16
    assert resolve_dtype(torch.float32) == torch.float32
    for bad in ("float8", "int8", "fp32", torch.int64):
        with pytest.raises(ValueError, match="dtype"):
            resolve_dtype(bad)


# ------------------------------------------------------------------------------------------- causal LMs


def test_folder_round_trip(folder, llama, tok):
    lm = load_causal_lm(str(folder))
    assert isinstance(lm, LoadedLM) and not lm.model.training
    assert lm.device == torch.device("cpu") and lm.dtype == torch.float32 and lm.model.dtype == torch.float32
    assert torch.equal(logits(lm.model, IDS), logits(llama, IDS))
    assert lm.eos_token_ids == (tok.eos_token_id,)
    assert (lm.bos_token_id, lm.pad_token_id, lm.vocab_size) == (tok.bos_token_id, tok.pad_token_id, len(tok))
    assert check_same_tokenizer(lm, lm) == len(tok)


def test_folder_in_float64(folder, llama):
    lm = load_causal_lm(str(folder), dtype="float64")
    assert lm.model.dtype == torch.float64
    assert torch.allclose(logits(lm.model, IDS), logits(llama, IDS), atol=1e-5)


def test_gguf_round_trip(gguf_file, folder, llama, tok):
    lm = load_causal_lm(str(gguf_file))
    assert not lm.model.training and lm.model.dtype == torch.float32
    diff = (logits(lm.model, IDS) - logits(llama, IDS)).abs().max().item()
    assert diff < 1e-5, diff
    for text in TEXTS:
        assert lm.tokenizer(text)["input_ids"] == tok(text)["input_ids"], text
    # the tokenizer is the file's: transformers' extra <|endoftext|> (id 300, no model row) is gone
    assert len(lm.tokenizer) == len(tok) == lm.vocab_size
    assert lm.eos_token_ids == (tok.eos_token_id,) and lm.pad_token_id == tok.pad_token_id
    assert check_same_tokenizer(load_causal_lm(str(folder)), lm) == len(tok)


def test_gguf_rotary_rows_are_permuted(tmp_path, llama, tok, monkeypatch):
    """Without llama.cpp's row order for attn_q/attn_k, transformers' un-permutation gives other logits."""
    pytest.importorskip("gguf")
    monkeypatch.setattr(tiny, "_interleave_rotary_halves", lambda weight, n_head: weight)
    path = tiny.save_tiny_gguf(tmp_path / "unpermuted.gguf", llama, tok)
    lm = load_causal_lm(str(path))
    assert (logits(lm.model, IDS) - logits(llama, IDS)).abs().max().item() > 1e-4


def test_gguf_float16(tmp_path, llama, tok):
    pytest.importorskip("gguf")
    path = tiny.save_tiny_gguf(tmp_path / "half.gguf", llama, tok, dtype="float16")
    lm = load_causal_lm(str(path))  # dequantized to float32 ("auto" on a CPU)
    assert lm.model.dtype == torch.float32
    assert (logits(lm.model, IDS) - logits(llama, IDS)).abs().max().item() < 1e-2


def test_gguf_needs_gguf_and_accelerate(gguf_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)
    with pytest.raises(ValueError, match="pip install gguf accelerate"):
        load_causal_lm(str(gguf_file))


def test_save_tiny_gguf_rejects_gpt2(tmp_path, tok):
    with pytest.raises(ValueError, match="model must be a Llama"):
        tiny.save_tiny_gguf(tmp_path / "g.gguf", tiny.tiny_causal_lm(tok, arch="gpt2"), tok)


def test_missing_paths(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_causal_lm(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"missing\.gguf"):
        load_causal_lm(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match=r"not a \.gguf file"):
        load_causal_lm(str(folder / "config.json"))


def test_uncached_hub_id_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = "typicality-tests/no-such-model-in-any-cache"
    with pytest.raises(ValueError, match="neither a folder nor a cached hub id") as info:
        load_causal_lm(spec)
    assert spec in str(info.value)


def test_token_id_properties(llama, tok):
    model = copy.deepcopy(llama)
    model.generation_config.eos_token_id = [5, tok.eos_token_id]
    model.generation_config.pad_token_id = None
    no_pad = copy.deepcopy(tok)
    no_pad.pad_token = None
    lm = LoadedLM(model, no_pad, "tiny", torch.device("cpu"), torch.float32)
    assert lm.eos_token_ids == (5, tok.eos_token_id)
    assert lm.pad_token_id == 5  # the first eos id ...
    assert no_pad.pad_token is None and model.generation_config.pad_token_id is None  # ... nothing changed


# ------------------------------------------------------------------------------------------- model info, no weights


def assert_same_info(info, lm):
    """``info`` (from load_model_info) says what ``lm`` (from load_causal_lm, same spec) says."""
    assert isinstance(info, LoadedLM) and isinstance(info.model, ConfigOnlyModel)
    assert (info.device, info.dtype) == (torch.device("cpu"), torch.float32)
    assert info.eos_token_ids == lm.eos_token_ids
    assert (info.bos_token_id, info.pad_token_id, info.vocab_size) == (lm.bos_token_id, lm.pad_token_id,
                                                                        lm.vocab_size)
    assert info.tokenizer.get_vocab() == lm.tokenizer.get_vocab() and len(info.tokenizer) == len(lm.tokenizer)
    assert info.tokenizer.added_tokens_decoder.keys() == lm.tokenizer.added_tokens_decoder.keys()
    for text in TEXTS:
        assert info.tokenizer(text)["input_ids"] == lm.tokenizer(text)["input_ids"], text
    assert check_same_tokenizer(info, lm) == len(lm.tokenizer)


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory, tok):
    model = tiny.tiny_causal_lm(tok, arch="gpt2", seed=2)
    model.generation_config.eos_token_id = [tok.eos_token_id, 7]  # read from generation_config.json
    return tiny.save_tiny(tmp_path_factory.mktemp("gpt2"), model, tok)


def test_model_info_of_folders(folder, gpt2_folder):
    assert_same_info(load_model_info(str(folder)), load_causal_lm(str(folder)))
    info = load_model_info(str(gpt2_folder))
    assert info.eos_token_ids == (info.tokenizer.eos_token_id, 7)
    assert info.model.get_output_embeddings() is None
    assert_same_info(info, load_causal_lm(str(gpt2_folder)))


def test_model_info_of_gguf(gguf_file):
    info = load_model_info(str(gguf_file))
    assert_same_info(info, load_causal_lm(str(gguf_file)))
    assert 300 not in info.tokenizer.added_tokens_decoder  # transformers' extra <|endoftext|> is gone here too


def test_model_info_of_cached_hub_id(folder, tmp_path, monkeypatch):
    """A hub id in the local cache (a snapshot folder, found by huggingface_hub) reads like its folder."""
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--typicality-tests--tiny-llama"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    info = load_model_info("typicality-tests/tiny-llama")
    assert info.spec == "typicality-tests/tiny-llama"
    assert_same_info(info, load_causal_lm(str(folder)))


def test_model_info_reads_no_weights(folder, tmp_path):
    """With no generation_config.json (derived from the config, as transformers does) and then with garbage in
    place of the weights, the info is still the loaded model's."""
    copied = shutil.copytree(folder, tmp_path / "copy")
    (copied / "generation_config.json").unlink()
    lm = load_causal_lm(str(copied))
    assert_same_info(load_model_info(str(copied)), lm)
    (copied / "model.safetensors").write_bytes(b"not a safetensors file")
    info = load_model_info(str(copied))
    assert_same_info(info, lm)
    assert not hasattr(info.model, "parameters")
    from safetensors import SafetensorError

    with pytest.raises(SafetensorError):  # the weights are unreadable indeed
        load_causal_lm(str(copied))
    (copied / "model.safetensors").unlink()
    assert_same_info(load_model_info(str(copied)), lm)


def test_model_info_missing_paths(tmp_path, folder, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_model_info(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"missing\.gguf"):
        load_model_info(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match=r"not a \.gguf file"):
        load_model_info(str(folder / "config.json"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="neither a folder nor a cached hub id"):
        load_model_info("typicality-tests/no-such-model-in-any-cache")



# ------------------------------------------------------------------------------------------- same tokenizer


def test_tokenizer_mismatch_names_both(llama, tok):
    other = tiny.tiny_tokenizer(["Completely different words: zygote, quartz, jukebox, vexing fjords."] * 3)
    a = LoadedLM(llama, tok, "aligned-folder", torch.device("cpu"), torch.float32)
    b = LoadedLM(tiny.tiny_causal_lm(other), other, "prior-folder", torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="do not share a tokenizer") as info:
        check_same_tokenizer(a, b)
    message = str(info.value)
    assert "aligned ('aligned-folder')" in message and "prior ('prior-folder')" in message
    assert "token id" in message


def test_eos_mismatch(llama, tok):
    model = copy.deepcopy(llama)
    model.generation_config.eos_token_id = [tok.eos_token_id, 7]
    a = LoadedLM(llama, tok, "a", torch.device("cpu"), torch.float32)
    b = LoadedLM(model, tok, "b", torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="different eos token ids"):
        check_same_tokenizer(a, b, names=("policy", "reference"))


def test_padded_logits_width(tok):
    """Widths may differ by rows no token uses; a tokenizer id with no row in its model is an error."""
    wide = tiny.tiny_causal_lm(tok)
    wide.resize_token_embeddings(len(tok) + 20)
    a = LoadedLM(tiny.tiny_causal_lm(tok), tok, "a", torch.device("cpu"), torch.float32)
    b = LoadedLM(wide, tok, "b", torch.device("cpu"), torch.float32)
    assert b.vocab_size == len(tok) + 20
    assert check_same_tokenizer(a, b) == len(tok)
    narrow = tiny.tiny_causal_lm(tok)
    narrow.resize_token_embeddings(len(tok) - 1)
    c = LoadedLM(narrow, tok, "c", torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="outside its model's logits"):
        check_same_tokenizer(a, c)


# ------------------------------------------------------------------------------------------- rewards

REWARDS = '''
import math

def length(prompts, continuations):
    return [float(len(c)) for c in continuations]

def wrong_length(prompts, continuations):
    return [0.0] * (len(prompts) + 1)

def with_nan(prompts, continuations):
    return [1.0, math.nan] + [0.0] * (len(prompts) - 2)

def a_string(prompts, continuations):
    return "good"

def string_items(prompts, continuations):
    return ["1.0"] * len(prompts)

def as_array(prompts, continuations):
    import numpy as np
    return np.arange(len(prompts), dtype=np.float32)

def matrix(prompts, continuations):
    import numpy as np
    return np.zeros((len(prompts), 1))

NOT_A_FUNCTION = 3
'''


@pytest.fixture
def reward_module(tmp_path, monkeypatch):
    name = "typicality_test_rewards_module"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(REWARDS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name
    sys.modules.pop(name, None)


PROMPTS = ["Human: hi Assistant:", "Human: tell me a joke Assistant:", "Human: bye Assistant:"]
CONTINUATIONS = [" hello", " Why did the chicken cross the road?", ""]


def test_function_reward_from_module(reward_module):
    reward = load_reward(f"{reward_module}:length")
    assert isinstance(reward, FunctionReward) and isinstance(reward, Reward)
    assert reward.name == f"{reward_module}:length"
    out = reward(PROMPTS, CONTINUATIONS)
    assert out.dtype == np.float64 and out.tolist() == [float(len(c)) for c in CONTINUATIONS]


def test_function_reward_from_file(tmp_path):
    path = tmp_path / "my rewards.py"
    path.write_text(textwrap.dedent(REWARDS))
    reward = load_reward(f"{path}:length")
    assert reward(PROMPTS, CONTINUATIONS).tolist() == [6.0, 36.0, 0.0]


@pytest.mark.parametrize(("function", "match"), [
    ("wrong_length", "returned 4 values for 3"),
    ("with_nan", "non-finite value nan at index 1"),
    ("a_string", "returned str"),
    ("string_items", "value at index 0 is str"),
    ("matrix", r"array of shape \(3, 1\)"),
])
def test_bad_reward_results(reward_module, function, match):
    reward = load_reward(f"{reward_module}:{function}")
    with pytest.raises(ValueError, match=match) as info:
        reward(PROMPTS, CONTINUATIONS)
    assert f"{reward_module}:{function}" in str(info.value)


def test_reward_returning_an_array(reward_module):
    assert load_reward(f"{reward_module}:as_array")(PROMPTS, CONTINUATIONS).tolist() == [0.0, 1.0, 2.0]


def test_missing_reward_function(reward_module, tmp_path):
    with pytest.raises(ValueError, match="no_such_module_xyz"):
        load_reward("no_such_module_xyz:length")
    with pytest.raises(ValueError, match=r"nope\.py"):
        load_reward(f"{tmp_path / 'nope.py'}:length")
    with pytest.raises(ValueError, match="has no function 'missing'"):
        load_reward(f"{reward_module}:missing")
    with pytest.raises(ValueError, match="not a function"):
        load_reward(f"{reward_module}:NOT_A_FUNCTION")


def test_reward_input_checks(reward_module):
    reward = load_reward(f"{reward_module}:length")
    with pytest.raises(ValueError, match="continuations has 2 items but prompts has 3"):
        reward(PROMPTS, CONTINUATIONS[:2])
    assert reward([], []).shape == (0,)


def direct_score(model, ids):
    """The score head at the last token of an unpadded sequence, computed without transformers' pooling."""
    with torch.no_grad():
        hidden = model.base_model(input_ids=torch.tensor([ids])).last_hidden_state
        return model.score(hidden)[0, -1, 0].double().item()


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_score_model(tmp_path, tok, arch):
    rm = tiny.tiny_reward_model(tok, arch=arch, seed=3)
    rm.config.pad_token_id = tok.eos_token_id  # a pad that doubles as eos: the trap of "rightmost non-pad"
    path = tiny.save_tiny(tmp_path / "rm", rm, tok)
    reward = load_reward(str(path), batch_size=2)
    assert isinstance(reward, ModelReward)
    continuations = [*CONTINUATIONS[:2], " bye</s>"]  # different lengths; the last ends with the pad id
    expected = [direct_score(rm, tok(p + c)["input_ids"]) for p, c in zip(PROMPTS, continuations, strict=True)]
    assert tok(PROMPTS[2] + continuations[2])["input_ids"][-1] == rm.config.pad_token_id
    got = reward(PROMPTS, continuations)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    reward.tokenizer.padding_side = "left"  # the tokenizer's padding side does not matter
    np.testing.assert_allclose(reward(PROMPTS, continuations), got, rtol=0, atol=1e-6)
    assert reward.model.config.pad_token_id == tok.eos_token_id  # restored after each batch


def test_left_padding_shifts_absolute_positions(tok):
    """Why ModelReward pads on the right: GPT-2 given left-padded rows and no position ids scores differently."""
    rm = tiny.tiny_reward_model(tok, arch="gpt2", seed=3)
    texts = ["Human: hi", "Human: tell me a long joke please"]
    batch = tok(texts, padding=True, padding_side="left", return_tensors="pt")
    with torch.no_grad():
        left = rm(**batch).logits[0, 0].item()
    assert abs(left - direct_score(rm, tok(texts[0])["input_ids"])) > 1e-3


def test_score_model_max_length(tmp_path, tok):
    rm = tiny.tiny_reward_model(tok, seed=4)
    path = tiny.save_tiny(tmp_path / "rm", rm, tok)
    reward = load_reward(str(path), max_length=5)
    ids = tok(PROMPTS[1] + CONTINUATIONS[1])["input_ids"][:5]
    np.testing.assert_allclose(reward(PROMPTS[1:2], CONTINUATIONS[1:2]), [direct_score(rm, ids)], rtol=1e-5)
    with pytest.raises(ValueError, match="max_length"):
        load_reward(str(path), max_length=0)
    with pytest.raises(ValueError, match="batch_size"):
        load_reward(str(path), batch_size=0)


def test_causal_lm_is_not_a_reward(folder):
    with pytest.raises(ValueError, match="num_labels = 2"):
        load_reward(str(folder))


def test_reward_spec_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="neither 'module:function'"):
        load_reward("not a module:fn")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_reward(str(tmp_path / "a" / "nowhere"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="neither a folder nor a cached hub id"):
        load_reward("typicality-tests/no-such-reward-model")


def test_unknown_reward_kind(reward_module, folder):
    for spec in (f"{reward_module}:length", str(folder)):
        with pytest.raises(ValueError, match=r"kind must be one of .* got 'score'"):
            load_reward(spec, kind="score")
        with pytest.raises(ValueError, match=r"kind must be one of .* got 'score'"):
            check_reward_spec(spec, kind="score")


def test_check_reward_spec_functions(reward_module, tmp_path):
    """Function specs are resolved as load_reward resolves them, with the same errors."""
    assert check_reward_spec(f"{reward_module}:length") is None
    path = tmp_path / "rewards.py"
    path.write_text(textwrap.dedent(REWARDS))
    assert check_reward_spec(f"{path}:as_array") is None
    for spec, match in [("no_such_module_xyz:length", "no_such_module_xyz"),
                        (f"{tmp_path / 'nope.py'}:length", r"nope\.py"),
                        (f"{reward_module}:missing", "has no function 'missing'"),
                        (f"{reward_module}:NOT_A_FUNCTION", "not a function"),
                        ("not a module:fn", "neither 'module:function'"),
                        ("", "reward spec must be")]:
        with pytest.raises(ValueError, match=match):
            check_reward_spec(spec)
        with pytest.raises(ValueError, match=match):
            load_reward(spec)


def test_check_reward_spec_models(tmp_path, tok, folder, gguf_file, monkeypatch):
    """Model specs are located and their configs checked, without reading the weights."""
    path = tiny.save_tiny(tmp_path / "rm", tiny.tiny_reward_model(tok), tok)
    (path / "model.safetensors").write_bytes(b"not a safetensors file")
    assert check_reward_spec(str(path)) is None
    with pytest.raises(ValueError, match="num_labels = 2"):
        check_reward_spec(str(folder))
    with pytest.raises(ValueError, match="cannot be loaded from a GGUF file"):
        check_reward_spec(str(gguf_file))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        check_reward_spec(str(tmp_path / "a" / "nowhere"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="neither a folder nor a cached hub id"):
        check_reward_spec("typicality-tests/no-such-reward-model")


# ------------------------------------------------------------------------------------------- safe-rlhf score model


def end_scores(path, texts):
    """The safe-rlhf end score of each text, computed from the checkpoint without the loader: a LlamaModel given the
    state dict's ``model.*`` tensors, its last hidden state at the text's last token, times the score head."""
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaModel

    state = load_file(path / "model.safetensors")
    backbone = LlamaModel(LlamaConfig.from_pretrained(path)).eval()
    backbone.load_state_dict({k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")},
                             strict=True)
    head = state["score_head.weight"].double()
    bias = state["score_head.bias"].double() if "score_head.bias" in state else torch.zeros(1, dtype=torch.float64)
    scores = []
    for ids in texts:
        with torch.no_grad():
            hidden = backbone(input_ids=torch.tensor([ids])).last_hidden_state[0, -1].double()
        scores.append((head @ hidden + bias).item())
    return scores


def edit_json(path, **changes):
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def edit_weights(folder, edit):
    from safetensors.torch import load_file, save_file

    state = load_file(folder / "model.safetensors")
    edit(state)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})


SAFE_CONTINUATIONS = [" hello", " Why did the chicken cross the road?", " bye<pad>", " a"]
SAFE_PROMPTS = [*PROMPTS, "Human: what? Assistant:"]


def safe_ids(tok):
    return [tok(p + c)["input_ids"] for p, c in zip(SAFE_PROMPTS, SAFE_CONTINUATIONS, strict=True)]


@pytest.fixture(scope="module")
def safe_rlhf_checkpoints(tmp_path_factory, tok):
    """bias → (a tiny safe-rlhf checkpoint, the end scores of SAFE_PROMPTS + SAFE_CONTINUATIONS and then of the
    second of them truncated to 5 tokens). Tests that change the checkpoint change a copy (``safe_rlhf``)."""
    ids = safe_ids(tok)
    checkpoints = {}
    for bias in (False, True):
        path = tiny.save_tiny_safe_rlhf_score(tmp_path_factory.mktemp("safe-rlhf") / "rm", tok, seed=5, bias=bias)
        checkpoints[bias] = (path, end_scores(path, [*ids, ids[1][:5]]))
    return checkpoints


@pytest.mark.parametrize("bias", [False, True])
def test_safe_rlhf_score_reward(safe_rlhf_checkpoints, tok, bias):
    path, expected = safe_rlhf_checkpoints[bias]
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["LlamaModelForScore"] and config["model_type"] == "llama"
    assert (config["score_dim"], config["bias"]) == (1, bias) and "num_labels" not in config
    assert check_reward_spec(str(path), kind="safe-rlhf-score") is None
    reward = load_reward(str(path), kind="safe-rlhf-score", batch_size=3)
    assert isinstance(reward, SafeRLHFScoreReward) and isinstance(reward, Reward)
    assert (reward.score_bias is not None) == bias
    ids = safe_ids(tok)
    assert len({len(i) for i in ids[:3]}) > 1  # the first batch is padded
    assert ids[2][-1] == config["pad_token_id"]  # a text ending with the config's pad id
    got = reward(SAFE_PROMPTS, SAFE_CONTINUATIONS)
    assert got.dtype == np.float64 and got.shape == (4,)
    np.testing.assert_allclose(got, expected[:4], rtol=1e-5, atol=1e-6)
    assert np.ptp(got) > 1e-3
    reward.max_length = 5
    np.testing.assert_allclose(reward(SAFE_PROMPTS[1:2], SAFE_CONTINUATIONS[1:2]), expected[4:], rtol=1e-5,
                               atol=1e-6)


@pytest.fixture
def safe_rlhf(safe_rlhf_checkpoints, tmp_path):
    """A copy of the bias-free checkpoint, and its end scores of SAFE_PROMPTS + SAFE_CONTINUATIONS."""
    path, expected = safe_rlhf_checkpoints[False]
    return shutil.copytree(path, tmp_path / "rm"), expected[:4]


def shard(folder, layout):
    """Rewrite model.safetensors as pytorch_model.bin ("bin"), or as two shards with an index ("sharded-bin",
    "sharded-safetensors"; the score head in the second)."""
    from safetensors.torch import load_file, save_file

    state = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    if layout == "bin":
        torch.save(state, folder / "pytorch_model.bin")
        return
    suffix = layout.removeprefix("sharded-")
    names = sorted(state)
    parts = [names[:len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for i, part in enumerate(parts):
        filename = f"{'model' if suffix == 'safetensors' else 'pytorch_model'}-{i + 1:05d}-of-00002.{suffix}"
        tensors = {name: state[name] for name in part}
        if suffix == "safetensors":
            save_file(tensors, str(folder / filename), metadata={"format": "pt"})
        else:
            torch.save(tensors, folder / filename)
        weight_map.update(dict.fromkeys(part, filename))
    index = "model.safetensors.index.json" if suffix == "safetensors" else "pytorch_model.bin.index.json"
    (folder / index).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


@pytest.mark.parametrize("layout", ["bin", "sharded-safetensors", "sharded-bin"])
def test_safe_rlhf_checkpoint_layouts(safe_rlhf, layout):
    path, expected = safe_rlhf
    shard(path, layout)
    assert not (path / "model.safetensors").exists()
    check_reward_spec(str(path), kind="safe-rlhf-score")
    got = load_reward(str(path), kind="safe-rlhf-score")(SAFE_PROMPTS, SAFE_CONTINUATIONS)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_safe_rlhf_missing_score_head(safe_rlhf):
    path, _ = safe_rlhf
    edit_weights(path, lambda state: state.pop("score_head.weight"))
    for check in (check_reward_spec, load_reward):
        with pytest.raises(ValueError, match=r"has no tensor 'score_head\.weight'") as info:
            check(str(path), kind="safe-rlhf-score")
        assert str(path) in str(info.value)


def test_safe_rlhf_missing_backbone_weight(safe_rlhf):
    """transformers would initialize a missing backbone weight at random: an error."""
    path, _ = safe_rlhf
    edit_weights(path, lambda state: state.pop("model.layers.1.mlp.up_proj.weight"))
    with pytest.raises(ValueError, match=r"missing from the checkpoint .*'layers\.1\.mlp\.up_proj\.weight'"):
        load_reward(str(path), kind="safe-rlhf-score")


def test_safe_rlhf_misplaced_backbone(safe_rlhf):
    """Weights under another prefix than 'model.' leave the whole backbone missing."""
    path, _ = safe_rlhf

    def rename(state):
        for name in [n for n in state if n.startswith("model.")]:
            state["backbone." + name.removeprefix("model.")] = state.pop(name)

    edit_weights(path, rename)
    with pytest.raises(ValueError, match=r"backbone weight.* missing from the checkpoint"):
        load_reward(str(path), kind="safe-rlhf-score")


def test_safe_rlhf_config_checks(safe_rlhf):
    path, expected = safe_rlhf
    config = path / "config.json"
    edit_json(config, score_dim=None)  # no score_dim: one score, as safe-rlhf defaults
    check_reward_spec(str(path), kind="safe-rlhf-score")
    got = load_reward(str(path), kind="safe-rlhf-score")(SAFE_PROMPTS, SAFE_CONTINUATIONS)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    edit_json(config, score_dim=2)
    for check in (check_reward_spec, load_reward):
        with pytest.raises(ValueError, match=r"score_dim = 2 .*score_dim = 1"):
            check(str(path), kind="safe-rlhf-score")
    edit_json(config, score_dim=1, do_normalize=True)
    with pytest.raises(ValueError, match="do_normalize"):
        check_reward_spec(str(path), kind="safe-rlhf-score")
    edit_json(config, do_normalize=False, bias=True)
    with pytest.raises(ValueError, match=r"bias = true but the checkpoint has no 'score_head\.bias'"):
        check_reward_spec(str(path), kind="safe-rlhf-score")
    edit_json(config, bias=False)
    edit_weights(path, lambda state: state.update({"score_head.bias": torch.ones(1)}))
    with pytest.raises(ValueError, match=r"has a 'score_head\.bias' but its config has bias = False"):
        load_reward(str(path), kind="safe-rlhf-score")
    edit_weights(path, lambda state: state.update({"score_head.weight": torch.ones(1, 7)}))
    edit_json(config, bias=True)
    with pytest.raises(ValueError, match=r"score_head\.weight has shape \(1, 7\), expected \(1, 32\)"):
        check_reward_spec(str(path), kind="safe-rlhf-score")


def test_safe_rlhf_folder_as_kind_auto(safe_rlhf):
    """Without num_labels in its config transformers says 2: kind "auto" refuses it, and says which kind to use."""
    path, _ = safe_rlhf
    for check in (check_reward_spec, load_reward):
        with pytest.raises(ValueError, match=r"num_labels = 2 .*LlamaModelForScore.*kind='safe-rlhf-score'"):
            check(str(path))


# ------------------------------------------------------------------------------------------- secret reward


def test_secret_reward_sign():
    # Eq. 4: r = β (log p_aligned − log p_prior): the string the aligned model prefers gets the higher reward
    got = secret_reward([-1.0, -5.0, -2.0], [-3.0, -2.0, -2.0], beta=0.5)
    assert got.dtype == np.float64 and got.tolist() == [1.0, -1.5, 0.0]
    assert secret_reward(np.array([-10.0]), np.array([-4.0]), 1).tolist() == [-6.0]
    assert secret_reward([-np.inf], [-1.0], 1.0).tolist() == [-np.inf]


@pytest.mark.parametrize("beta", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_secret_reward_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        secret_reward([-1.0], [-2.0], beta)


def test_secret_reward_bad_inputs():
    with pytest.raises(ValueError, match="logp_prior has shape"):
        secret_reward([-1.0, -2.0], [-1.0], 1.0)
    with pytest.raises(ValueError, match="logp_aligned is NaN at index 1"):
        secret_reward([-1.0, np.nan], [-1.0, -1.0], 1.0)
    with pytest.raises(ValueError, match="both -inf at index 0"):
        secret_reward([-np.inf], [-np.inf], 1.0)
