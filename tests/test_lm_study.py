"""The whole study on tiny transformers models, through the CLI: every number of samples.parquet recomputed by an
independent teacher-forced pass, the secret reward's sign, resuming after a kill, and bad input refused before any
work.

Models are built from a config (typicality.lm.tiny), saved as folders and loaded back by the real loading code.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from typicality.cli import main  # noqa: E402
from typicality.lm.cli import RESULTS_KEYS  # noqa: E402
from typicality.lm.config import load_config  # noqa: E402
from typicality.lm.study import run_study  # noqa: E402
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer  # noqa: E402

PROMPTS = ["How do I bake bread?", "What is the capital of France?", "Tell me a joke.", "hi",
           "Can you help me with my homework?", "Why is the sky blue?"]

REWARD = '''
def score(prompts, continuations):
    """A deterministic reward of the text: letters minus spaces, per character."""
    return [sum(ch.isalpha() for ch in c) / (1 + len(c)) - c.count(" ") / 10 for c in continuations]

def wrong_length(prompts, continuations):
    return [0.0] * (len(prompts) + 1)
'''

CONFIG = """
[models]
aligned = "aligned"
prior = "prior"
reward = "reward.py:score"
device = "cpu"
dtype = "float64"

[prompts]
file = "prompts.txt"
template = "Human: {{prompt}} Assistant:"

[sampling]
samples_per_prompt = 3
max_new_tokens = 14
seed = 7
batch_size = 4
prompts_per_unit = 2

[analysis]
corpus_blocks = 3

[[schemes]]
adaptor = "ancestral"

[[schemes]]
adaptor = "top_k"
params = {{ k = 5 }}
temperature = 0.7

[[schemes]]
adaptor = "top_p"
params = {{ p = 0.9 }}
temperature = 1.25
{extra}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    tok = tiny_tokenizer()
    save_tiny(root / "aligned", tiny_causal_lm(tok, eos_logit=1.5, logit_scale=2.0, seed=1), tok)
    save_tiny(root / "prior", tiny_causal_lm(tok, eos_logit=1.0, logit_scale=2.0, seed=2), tok)
    other = tiny_tokenizer(["completely different text, other merges, zebra quartz " * 3])
    save_tiny(root / "foreign", tiny_causal_lm(other, seed=3), other)
    (root / "reward.py").write_text(REWARD)
    (root / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    return root


def config_file(root: Path, name: str = "study.toml", extra: str = "", **replace: str) -> Path:
    text = CONFIG.format(extra=extra)
    for old, new in replace.items():
        text = text.replace(old, new)
    p = root / name
    p.write_text(text)
    return p


def run_cli(*args: str, capsys=None) -> tuple[int, str, str]:
    code = main(list(args))
    if capsys is None:
        return code, "", ""
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def finished(workspace, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    run = run_study(load_config(config_file(workspace)), out)
    return out, run


def teacher_forced_logp(model, context, continuation):
    seq = torch.tensor([list(context) + list(continuation)])
    with torch.no_grad():
        logits = model(input_ids=seq).logits[0].double()
    rows = torch.log_softmax(logits[len(context) - 1:len(context) - 1 + len(continuation)], dim=-1)
    return rows[torch.arange(len(continuation)), torch.tensor(continuation)].numpy()


def test_outputs_and_every_score_recomputed(workspace, finished):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, _run = finished
    results = json.loads((out / "results.json").read_text())
    samples = pd.read_parquet(out / "samples.parquet")
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "top_k5@t0.7" in (out / "report.md").read_text()
    for key in ("scheme", "prompt_index", "sample_index", "token_ids", "eos", "logp_aligned", "logq",
                "log_pi_tilde", "logp_prior", "logp_prior_unconditioned", "reward"):
        assert key in samples.columns
    assert len(samples) == 3 * len(PROMPTS) * 3
    assert [s["name"] for s in results["schemes"]] == ["ancestral@t1", "top_k5@t0.7", "top_p0.9@t1.25"]
    assert set(results) <= set(RESULTS_KEYS) and set(RESULTS_KEYS) - set(results) <= {"bootstrap", "dpo"}
    for s in results["schemes"]:
        for key in ("name", "adaptor", "params", "temperature", "n", "n_capped", "local", "global",
                    "acceptance_rate", "cramers_v", "cramers_v_corrected", "ess"):
            assert key in s
        rows = samples[samples.scheme == s["name"]]
        assert s["n_capped"] == int((~rows.eos).sum())
    for key in ("string_spearman", "string_pearson", "corpus_spearman", "corpus_pearson", "config", "versions",
                "device", "backend"):
        assert key in results
    # how the run went is kept apart from what it found, so that a resumed or sharded run writes the same results
    assert "stage_seconds" not in results
    timings = json.loads((out / "timings.json").read_text())
    assert timings["world_size"] == 1 and set(timings["ranks"][0]["stage_seconds"]) == {"sample", "prior", "reward"}
    assert results["versions"]["torch"] == torch.__version__ and results["device"] == "cpu"

    tok = AutoTokenizer.from_pretrained(workspace / "aligned")
    aligned = AutoModelForCausalLM.from_pretrained(workspace / "aligned", dtype=torch.float64).eval()
    prior = AutoModelForCausalLM.from_pretrained(workspace / "prior", dtype=torch.float64).eval()
    reward_ns: dict = {}
    exec(REWARD, reward_ns)
    eos = tok.eos_token_id
    assert samples.eos.any() and (~samples.eos).any()
    for _, row in samples.iloc[::5].iterrows():
        y = [int(t) for t in row.token_ids]
        prompt = f"Human: {PROMPTS[row.prompt_index]} Assistant:"
        ctx = tok(prompt)["input_ids"]
        lp_aligned = teacher_forced_logp(aligned, ctx, y)
        lp_prior = teacher_forced_logp(prior, ctx, y)
        lp_uncond = teacher_forced_logp(prior, [tok.bos_token_id], y)
        assert math.isclose(row.logp_aligned, lp_aligned.sum(), abs_tol=1e-8)
        assert math.isclose(row.logp_prior, lp_prior.sum(), abs_tol=1e-8)
        assert math.isclose(row.logp_prior_unconditioned, lp_uncond.sum(), abs_tol=1e-8)
        assert math.isclose(row.logp_prior_eos, lp_prior[-1] if row.eos else 0.0, abs_tol=1e-9)
        assert math.isclose(row.logp_prior_clamped, np.maximum(lp_prior, -25).sum(), abs_tol=1e-8)
        assert row.eos == (y[-1] == eos) and (row.eos or len(y) == 14)
        text = tok.decode(y[:-1] if row.eos else y, skip_special_tokens=True)
        assert row.text == text
        assert row.reward == reward_ns["score"]([prompt], [text])[0]


def test_secret_reward_has_eq4_sign(workspace, tmp_path):
    cfg = config_file(workspace, "dpo.toml", **{'reward = "reward.py:score"': "secret_reward_beta = 0.5"})
    run = run_study(load_config(cfg), tmp_path / "dpo")
    samples = pd.read_parquet(tmp_path / "dpo" / "samples.parquet")
    np.testing.assert_allclose(samples.reward, 0.5 * (samples.logp_aligned - samples.logp_prior), rtol=0, atol=1e-12)
    # strings the aligned model prefers over the prior get the higher reward (Eq. 4)
    i, j = samples.reward.idxmax(), samples.reward.idxmin()
    assert (samples.logp_aligned - samples.logp_prior)[i] > (samples.logp_aligned - samples.logp_prior)[j]
    assert "flipped_dpo_sign" in run.results["ablations"]


def test_rerun_reuses_everything_and_changes_nothing(workspace, finished):
    out, first = finished
    before = {p: p.stat().st_mtime_ns for p in (out / "units").rglob("*.parquet")}
    again = run_study(load_config(config_file(workspace)), out)
    assert again.units_done == {"sample": 0, "prior": 0, "reward": 0}
    assert {p: p.stat().st_mtime_ns for p in (out / "units").rglob("*.parquet")} == before
    assert again.results["schemes"] == first.results["schemes"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT (Ctrl-C)"])
def test_a_killed_run_resumes_without_redoing_or_losing_units(workspace, finished, tmp_path, sig):
    out = tmp_path / "killed"
    cfg = config_file(workspace)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    stderr = (tmp_path / "stderr.txt").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "typicality", "lm", "run", str(cfg), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=stderr, env=env, start_new_session=True)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            done = [p for p in (out / "units").rglob("*.sample.*.parquet") if not p.name.startswith(".")] \
                if (out / "units").exists() else []  # (a name starting with "." is a temporary file)
            if len(done) >= 2:
                break
            time.sleep(0.01)
        os.killpg(proc.pid, sig)  # to the process group, as a terminal sends Ctrl-C
    finally:
        proc.wait()
    if sig == signal.SIGINT:  # Ctrl-C: one line naming the kept work, exit status 130, no traceback
        stderr.seek(0)
        text = stderr.read()
        assert proc.returncode == 130, (proc.returncode, text[-3000:])
        assert "Traceback" not in text, text[-3000:]
        assert text.strip().splitlines()[-1] == (f"typicality: interrupted; finished work is kept in {out} (rerun the "
                                                 "same command to resume)")
    kept = {p: p.stat().st_mtime_ns for p in (out / "units").rglob("*.parquet") if not p.name.startswith(".")}
    total_units = 3 * 3 * 3  # schemes × prompt ranges × stages
    assert 2 <= len(kept) < total_units, "the kill should land in the middle of the run"
    resumed = run_study(load_config(cfg), out)
    assert resumed.units_reused["sample"] >= 2
    for p, mtime in kept.items():
        assert p.stat().st_mtime_ns == mtime  # finished units are never redone
    assert not list(out.rglob(".*.tmp*"))
    # each unit is computed on its own, so the resumed run's outputs are those of the uninterrupted one, bit for bit
    for name in ("samples.parquet", "results.json"):
        assert (out / name).read_bytes() == (finished[0] / name).read_bytes(), name


def test_interrupt_keeps_finished_units(workspace, tmp_path):
    out = tmp_path / "interrupted"
    cfg = load_config(config_file(workspace))
    strings = {"n": 0}

    def progress(label, total):
        def tick(n):
            strings["n"] += n
            if label == "sample" and strings["n"] > 6:  # during the second unit (6 strings per unit)
                raise KeyboardInterrupt
        return tick

    with pytest.raises(KeyboardInterrupt):
        run_study(cfg, out, progress=progress)
    done = sorted((out / "units").rglob("*.parquet"))
    assert done and all(".sample." in p.name for p in done)
    resumed = run_study(cfg, out)
    assert resumed.units_reused["sample"] == len(done)


def test_another_config_in_the_same_directory_is_refused(workspace, finished, tmp_path, capsys):
    out, _ = finished
    other = config_file(workspace, "seed.toml", **{"seed = 7": "seed = 8"})
    before = sorted(p.name for p in (out / "units").rglob("*"))
    code, _, err = run_cli("lm", "run", str(other), "--out", str(out), capsys=capsys)
    assert code == 2 and "different config" in err and "--force" in err
    assert sorted(p.name for p in (out / "units").rglob("*")) == before
    foreign = tmp_path / "notarun"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    code, _, err = run_cli("lm", "run", str(other), "--out", str(foreign), capsys=capsys)
    assert code == 2 and "not a typicality run directory" in err
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_force_replaces_only_what_changed(workspace, tmp_path):
    out = tmp_path / "force"
    run_study(load_config(config_file(workspace)), out)
    samples_before = {p.name: p.stat().st_mtime_ns for p in (out / "units").rglob("*.sample.*.parquet")}
    changed = config_file(workspace, "changed-reward.toml", **{"reward.py:score": "reward2.py:score"})
    (workspace / "reward2.py").write_text(REWARD.replace("/ 10", "/ 5"))
    with pytest.raises(ValueError, match="different config"):
        run_study(load_config(changed), out)
    run = run_study(load_config(changed), out, force=True)
    assert run.units_done == {"sample": 0, "prior": 0, "reward": 9}  # the samples and prior scores are kept
    assert {p.name: p.stat().st_mtime_ns for p in (out / "units").rglob("*.sample.*.parquet")} == samples_before


@pytest.mark.parametrize("change,match", [
    ({'prior = "prior"': 'prior = "foreign"'}, "do not share a tokenizer"),
    ({'prior = "prior"': 'prior = "missing-folder/x/y"'}, "missing-folder"),
    ({'file = "prompts.txt"': 'file = "nope.txt"'}, "nope.txt"),
    ({"reward.py:score": "reward.py:nothing"}, "nothing"),
    ({"reward.py:score": "reward.py:wrong_length"}, "returned 3 values for 2"),
    ({'device = "cpu"': 'device = "cuda:7"'}, "cuda:7"),
    ({'adaptor = "ancestral"': 'adaptor = "nucleus"'}, "unknown adaptor 'nucleus'"),
    ({"max_new_tokens = 14": "max_new_tokens = -3"}, "max_new_tokens"),
    ({"[sampling]": "[sampling\n"}, "not valid TOML"),
])
def test_bad_input_is_refused_before_any_work(workspace, tmp_path, capsys, change, match):
    cfg = config_file(workspace, "bad.toml", **change)
    out = tmp_path / "out"
    code, _, err = run_cli("lm", "run", str(cfg), "--out", str(out), capsys=capsys)
    assert code == 2, err
    assert match in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() or not list(out.rglob("*.parquet"))


def test_set_and_presets_from_the_cli(workspace, tmp_path, capsys):
    code, _, err = run_cli("lm", "run", str(config_file(workspace)), "--out", str(tmp_path / "o"),
                           "--set", "sampling.max_tokens=3", capsys=capsys)
    assert code == 2 and "unknown key 'sampling.max_tokens'" in err
    code, out, _ = run_cli("lm", "presets", capsys=capsys)
    assert code == 0 and "rlhf-llama2" in out and "dpo-mistral" in out
    code, out, _ = run_cli("lm", "presets", "--show", "dpo-mistral", capsys=capsys)
    assert code == 0 and "secret_reward_beta" in out


def test_sharded_run_equals_one_process(workspace, finished, tmp_path):
    """Two processes' shares of the units (rank 1, then rank 0, which merges) give the one-process table."""
    out = tmp_path / "sharded"
    cfg = load_config(config_file(workspace))
    first = run_study(cfg, out, rank=1, world_size=2)
    assert first.results is None
    merged = run_study(cfg, out, rank=0, world_size=2)
    assert merged.results is not None
    a = pd.read_parquet(out / "samples.parquet")
    b = pd.read_parquet(finished[0] / "samples.parquet")
    assert [list(x) for x in a.token_ids] == [list(x) for x in b.token_ids]
    for col in ("logp_aligned", "logq", "log_pi_tilde", "logp_prior", "logp_prior_unconditioned", "reward"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-12)


def test_a_gguf_aligned_model_runs_with_a_folder_prior(workspace, tmp_path):
    """The aligned model from a GGUF file, the prior from a folder: the tokenizers agree, the study runs, and the
    recorded log p_aligned equals a teacher-forced pass of the original (float32 GGUF weights, exact)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from typicality.lm.tiny import save_tiny_gguf

    tok = AutoTokenizer.from_pretrained(workspace / "aligned")
    model = AutoModelForCausalLM.from_pretrained(workspace / "aligned", dtype=torch.float32)
    gguf = save_tiny_gguf(tmp_path / "gguf" / "aligned.gguf", model, tok)
    cfg = config_file(workspace, "gguf.toml", **{'aligned = "aligned"': f'aligned = "{gguf}"',
                                                 'dtype = "float64"': 'dtype = "float32"'})
    run_study(load_config(cfg), tmp_path / "out")
    samples = pd.read_parquet(tmp_path / "out" / "samples.parquet")
    model64 = model.double().eval()
    for _, row in samples.iloc[::17].iterrows():
        ctx = tok(f"Human: {PROMPTS[row.prompt_index]} Assistant:")["input_ids"]
        ref = teacher_forced_logp(model64, ctx, [int(t) for t in row.token_ids]).sum()
        assert math.isclose(row.logp_aligned, ref, abs_tol=1e-3 * len(row.token_ids))
