"""The miniature's aligned models (typicality.lm.mini.align): preference pairs, RLOO and DPO with TRL on a CPU.

The prior is a tiny random GPT-2 over a word-level vocabulary of sentiment-bearing words, so that its samples get
non-zero VADER scores (and ties) often; everything is built in the test, nothing is downloaded.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("datasets")
vader_module = pytest.importorskip("vaderSentiment.vaderSentiment")

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

from typicality.lm.loading import load_causal_lm  # noqa: E402
from typicality.lm.mini.align import make_preference_pairs, train_dpo, train_rloo  # noqa: E402
from typicality.lm.tiny import save_tiny, tiny_causal_lm  # noqa: E402

WORDS = ["the", "a", "day", "it", "was", "is", "and", "so", "very", "not", "good", "great", "love", "happy",
         "wonderful", "nice", "bad", "awful", "hate", "sad", "terrible", "ugly"]
PROMPTS = ["the day was", "it is", "a day", "and so", "it was very", "the"]
_ANALYZER = vader_module.SentimentIntensityAnalyzer()


def vader(texts):
    """VADER's compound score of each text, in [-1, 1] (a local stand-in for mini.reward.vader_reward)."""
    return np.array([_ANALYZER.polarity_scores(t)["compound"] for t in texts])


def word_tokenizer():
    """A byte-level word tokenizer: each word is one token (with and without its leading space), BOS prepended."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tokens = ["<pad>", "<s>", "</s>", "<unk>"] + [w for word in WORDS for w in (word, "\u0120" + word)]
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                  unk_token="<unk>", clean_up_tokenization_spaces=False)


@pytest.fixture(scope="module")
def prior(tmp_path_factory) -> Path:
    tok = word_tokenizer()
    model = tiny_causal_lm(tok, arch="gpt2", hidden=32, layers=2, heads=4, seed=0, eos_logit=1.0)
    return save_tiny(tmp_path_factory.mktemp("mini") / "prior", model, tok)


def completion_log_probs(model_dir: Path, prompts, completions) -> np.ndarray:
    """log p(y eos | x) of each completion text y after its prompt x, by our own forward pass (not TRL's)."""
    lm = load_causal_lm(str(model_dir), device="cpu", dtype="float32")
    eos = lm.tokenizer.eos_token_id
    out = []
    with torch.no_grad():
        for x, y in zip(prompts, completions, strict=True):
            px = lm.tokenizer(x)["input_ids"]
            py = lm.tokenizer(y, add_special_tokens=False)["input_ids"] + [eos]
            ids = torch.tensor([px + py])
            logp = torch.log_softmax(lm.model(input_ids=ids).logits[0, :-1].double(), dim=-1)
            targets = ids[0, 1:]
            picked = logp[torch.arange(len(targets)), targets][len(px) - 1:]
            out.append(float(picked.sum()))
    return np.array(out)


def weights(model_dir: Path) -> dict:
    lm = load_causal_lm(str(model_dir), device="cpu", dtype="float32")
    return {k: v.clone() for k, v in lm.model.state_dict().items()}


# --------------------------------------------------------------------------------------------- preference pairs


def test_pairs_are_ordered_untied_and_deterministic(prior):
    seen = []

    def recording_vader(texts):
        values = vader(texts)
        seen.extend(values.tolist())
        return values

    pairs = make_preference_pairs(prior, PROMPTS, recording_vader, n_pairs=100, max_draws=48, max_new_tokens=6,
                                  seed=3)
    drawn = np.array(seen).reshape(-1, 2)
    assert len(drawn) == 48
    untied = int(np.sum(drawn[:, 0] != drawn[:, 1]))
    assert 0 < untied < 48                                  # both ties and preferences occur at this size
    assert len(pairs) == untied                             # exactly the ties are dropped
    for pair in pairs:
        assert set(pair) == {"prompt", "chosen", "rejected", "chosen_reward", "rejected_reward"}
        assert pair["prompt"] in PROMPTS
        assert pair["chosen_reward"] > pair["rejected_reward"]
        assert vader([pair["chosen"]])[0] == pair["chosen_reward"]
        assert vader([pair["rejected"]])[0] == pair["rejected_reward"]
    again = make_preference_pairs(prior, PROMPTS, vader, n_pairs=100, max_draws=48, max_new_tokens=6, seed=3)
    assert again == pairs
    other = make_preference_pairs(prior, PROMPTS, vader, n_pairs=100, max_draws=48, max_new_tokens=6, seed=4)
    assert other != pairs
    few = make_preference_pairs(prior, PROMPTS, vader, n_pairs=3, max_draws=48, max_new_tokens=6, seed=3)
    assert few == pairs[:3]                                 # stops once n_pairs are kept


def test_pairs_can_score_prompt_plus_continuation(prior):
    seen = []

    def recording_vader(texts):
        seen.extend(texts)
        return vader(texts)

    pairs = make_preference_pairs(prior, PROMPTS, recording_vader, n_pairs=100, max_draws=24, max_new_tokens=6,
                                  seed=3, with_prompt=True)
    assert len(seen) == 48 and all(t.startswith(PROMPTS[(k // 2) % len(PROMPTS)]) for k, t in enumerate(seen))
    for pair in pairs:
        assert vader([pair["prompt"] + pair["chosen"]])[0] == pair["chosen_reward"]


def test_pairs_reject_all_ties_and_bad_input(prior):
    with pytest.raises(ValueError, match="no preference pairs left after dropping ties"):
        make_preference_pairs(prior, PROMPTS, lambda texts: np.zeros(len(texts)), n_pairs=4, max_new_tokens=4,
                              seed=0)
    with pytest.raises(ValueError, match="n_pairs"):
        make_preference_pairs(prior, PROMPTS, vader, n_pairs=0, max_new_tokens=4, seed=0)
    with pytest.raises(ValueError, match="prompts must not be empty"):
        make_preference_pairs(prior, [], vader, n_pairs=2, max_new_tokens=4, seed=0)
    with pytest.raises(ValueError, match="one value per text"):
        make_preference_pairs(prior, PROMPTS, lambda texts: [0.5], n_pairs=2, max_new_tokens=4, seed=0)
    with pytest.raises(ValueError, match=r"max_new_tokens=1100 does not fit: .* 1024 positions"):
        make_preference_pairs(prior, PROMPTS, vader, n_pairs=2, max_new_tokens=1100, seed=0)
    with pytest.raises(ValueError, match="model_dir"):
        make_preference_pairs(prior.parent / "nothing", PROMPTS, vader, n_pairs=2, max_new_tokens=4, seed=0)


def test_trainers_reject_bad_parameters(prior, tmp_path):
    common = {"steps": 2, "lr": 1e-3, "seed": 0, "threads": 1}
    with pytest.raises(ValueError, match=r"beta must be a finite number > 0, got 0"):
        train_rloo(prior, PROMPTS, vader, tmp_path / "r", beta=0.0, generations=2, max_new_tokens=4, **common)
    with pytest.raises(ValueError, match=r"generations must be an int >= 2, got 1"):
        train_rloo(prior, PROMPTS, vader, tmp_path / "r", beta=0.05, generations=1, max_new_tokens=4, **common)
    with pytest.raises(TypeError, match="steps must be an int"):
        train_rloo(prior, PROMPTS, vader, tmp_path / "r", beta=0.05, generations=2, max_new_tokens=4,
                   **{**common, "steps": 2.5})
    with pytest.raises(ValueError, match=r"beta must be a finite number > 0, got -0.1"):
        train_dpo(prior, [{"prompt": "a", "chosen": " good", "rejected": " bad"}], tmp_path / "d", beta=-0.1,
                  **common)
    with pytest.raises(ValueError, match="pairs must not be empty"):
        train_dpo(prior, [], tmp_path / "d", beta=0.1, **common)
    with pytest.raises(ValueError, match=r"pairs\[0\]\['chosen'\]"):
        train_dpo(prior, [{"prompt": "a", "rejected": " bad"}], tmp_path / "d", beta=0.1, **common)
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()


# --------------------------------------------------------------------------------------------- RLOO


class _Record(TrainerCallback):
    def __init__(self):
        self.args = None
        self.steps = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.args = args

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def test_rloo_trains_with_beta_and_saves_a_loadable_changed_model(prior, tmp_path):
    before = vader_of_samples(prior)
    record = _Record()
    out = tmp_path / "rloo"
    info = train_rloo(prior, PROMPTS, vader, out, beta=0.05, steps=30, generations=4, max_new_tokens=6, lr=1e-2,
                      seed=0, threads=2, prompts_per_step=4, progress=False, callbacks=[record])
    assert record.args.beta == 0.05 and record.args.num_generations == 4
    assert type(record.args).__name__ == "RLOOConfig"
    assert record.steps == list(range(1, 31))
    assert info["method"] == "rloo" and info["steps"] == 30 and info["seconds"] > 0
    assert info["kl_final"] is not None and info["reward_final"] is not None
    assert (out / "DONE").is_file() and not (out / "checkpoints").exists()
    w0, w1 = weights(prior), weights(out)
    assert w0.keys() == w1.keys()
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)
    after = vader_of_samples(out)
    assert after > before + 0.2                             # the mean VADER reward of fresh samples went up
    # a finished stage is not redone: the recorded metrics come back and no step runs
    again = _Record()
    assert train_rloo(prior, PROMPTS, vader, out, beta=0.05, steps=30, generations=4, max_new_tokens=6, lr=1e-2,
                      seed=0, threads=2, progress=False, callbacks=[again]) == info
    assert again.steps == []


def vader_of_samples(model_dir: Path, n: int = 192) -> float:
    """Mean VADER of fresh samples (independent of TRL's logs): untied pairs are not needed, all draws count."""
    seen = []

    def recording_vader(texts):
        values = vader(texts)
        seen.extend(values.tolist())
        return values

    with contextlib.suppress(ValueError):                  # every draw tied: the recorded rewards still count
        make_preference_pairs(model_dir, PROMPTS, recording_vader, n_pairs=n, max_draws=n // 2, max_new_tokens=6,
                              seed=11)
    return float(np.mean(seen))


# --------------------------------------------------------------------------------------------- DPO


def test_dpo_raises_the_implicit_reward_margin_on_its_pairs(prior, tmp_path):
    pairs = make_preference_pairs(prior, PROMPTS, vader, n_pairs=24, max_new_tokens=6, seed=0)
    out = tmp_path / "dpo"
    info = train_dpo(prior, pairs, out, beta=0.1, steps=10, lr=5e-3, seed=0, threads=2, batch_size=8,
                     progress=False)
    assert info["method"] == "dpo" and info["pairs"] == len(pairs) and info["loss_final"] is not None
    prompts = [p["prompt"] for p in pairs]
    margin = {}
    for name, model_dir in (("prior", prior), ("dpo", out)):
        chosen = completion_log_probs(model_dir, prompts, [p["chosen"] for p in pairs])
        rejected = completion_log_probs(model_dir, prompts, [p["rejected"] for p in pairs])
        margin[name] = (chosen, rejected)
    # implicit reward r = β (log π − log p); its margin chosen − rejected starts at 0 and must grow
    beta = 0.1
    r_chosen = beta * (margin["dpo"][0] - margin["prior"][0])
    r_rejected = beta * (margin["dpo"][1] - margin["prior"][1])
    assert float(np.mean(r_chosen - r_rejected)) > 0.05
    assert float(np.mean(r_chosen > r_rejected)) > 0.6


# --------------------------------------------------------------------------------------------- resumption


class _Interrupt(TrainerCallback):
    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt(f"interrupted at step {self.at}")


@pytest.mark.parametrize("method", ["rloo", "dpo"])
def test_an_interrupted_stage_resumes_from_its_checkpoint(prior, tmp_path, method):
    out = tmp_path / method
    if method == "rloo":
        def run(callbacks):
            return train_rloo(prior, PROMPTS, vader, out, beta=0.05, steps=6, generations=2, max_new_tokens=4,
                              lr=1e-3, seed=0, threads=2, prompts_per_step=2, save_steps=2, progress=False,
                              callbacks=callbacks)
    else:
        pairs = make_preference_pairs(prior, PROMPTS, vader, n_pairs=8, max_new_tokens=4, seed=0)

        def run(callbacks):
            return train_dpo(prior, pairs, out, beta=0.1, steps=6, lr=1e-3, seed=0, threads=2, batch_size=2,
                             save_steps=2, progress=False, callbacks=callbacks)

    with pytest.raises(KeyboardInterrupt):
        run([_Interrupt(5)])
    assert not (out / "DONE").exists()
    assert (out / "checkpoints" / "checkpoint-4").is_dir()
    record = _Record()
    info = run([record])
    assert info["resumed_from_step"] == 4
    assert record.steps == [5, 6]                           # only the missing steps ran
    assert (out / "DONE").is_file() and not (out / "checkpoints").exists()
    load_causal_lm(str(out), device="cpu")
