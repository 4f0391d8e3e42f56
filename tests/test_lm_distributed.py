"""Sharding the study with torchrun: two CPU processes write the same samples.parquet and results.json as one, a
failed shard is named and nothing partial is merged, more processes than units are refused before any work, and the
torchrun environment is read strictly.

The processes are real: ``python -m torch.distributed.run --standalone --nproc-per-node 2 -m typicality lm run``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from tests.launch import typicality_lm
from typicality.lm import distributed
from typicality.lm.config import load_config
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer

ROOT = Path(__file__).resolve().parents[1]

PROMPTS = ["How do I bake bread?", "What is the capital of France?", "Tell me a joke.", "hi",
           "Can you help me with my homework?"]

#: a reward function that fails in the process named by TYPICALITY_TEST_FAIL_RANK (a real failure of user code,
#: in one shard only: the smoke test of the preflight calls it with 2 pairs, the reward stage with more)
REWARD = '''
import os

def score(prompts, continuations):
    if len(prompts) > 2 and os.environ.get("RANK") == os.environ.get("TYPICALITY_TEST_FAIL_RANK", "none"):
        raise RuntimeError("the reward service is down")
    return [sum(ch.isalpha() for ch in c) / (1 + len(c)) for c in continuations]
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
template = "Human: {prompt} Assistant:"

[sampling]
samples_per_prompt = 3
max_new_tokens = 12
seed = 11
batch_size = 4
prompts_per_unit = 2

[analysis]
corpus_blocks = 3

[[schemes]]
adaptor = "ancestral"

[[schemes]]
adaptor = "typical"
params = { p = 0.9 }
temperature = 0.8
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    tok = tiny_tokenizer()
    save_tiny(root / "aligned", tiny_causal_lm(tok, eos_logit=1.5, logit_scale=2.0, seed=4), tok)
    save_tiny(root / "prior", tiny_causal_lm(tok, eos_logit=1.0, logit_scale=2.0, seed=5), tok)
    (root / "reward.py").write_text(REWARD)
    (root / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    (root / "study.toml").write_text(CONFIG)
    return root


typicality = typicality_lm


@pytest.fixture(scope="module")
def one_process(workspace, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "out"
    proc = typicality("run", str(workspace / "study.toml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_two_processes_write_what_one_writes(workspace, one_process, tmp_path):
    out = tmp_path / "two"
    proc = typicality("run", str(workspace / "study.toml"), "--out", str(out), nproc=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[rank 1/2]" in proc.stderr and "shard 1 of 2" in proc.stderr
    for name in ("samples.parquet", "results.json"):
        assert (out / name).read_bytes() == (one_process / name).read_bytes(), name
    timings = json.loads((out / "timings.json").read_text())
    assert timings["world_size"] == 2 and [r["rank"] for r in timings["ranks"]] == [0, 1]
    # the units were split: each rank sampled some, and together all 2 schemes × 3 prompt ranges
    done = [r["units_done"]["sample"] for r in timings["ranks"]]
    assert all(d > 0 for d in done) and sum(done) == 6


def test_a_failed_shard_is_named_and_nothing_is_merged(workspace, one_process, tmp_path):
    out = tmp_path / "failed"
    proc = typicality("run", str(workspace / "study.toml"), "--out", str(out), nproc=2,
                      env={"TYPICALITY_TEST_FAIL_RANK": "1"})
    assert proc.returncode != 0
    assert "shard 1 of 2 (rank 1) failed in stage reward: RuntimeError: the reward service is down" in proc.stderr
    # no traceback of ours on the console (torchrun prints its own launcher's when a worker exits non-zero)
    assert "Nothing merged" in proc.stderr and f'File "{ROOT / "typicality"}' not in proc.stderr
    assert not (out / "samples.parquet").exists() and not (out / "results.json").exists()
    log = (out / "logs" / "rank-1-error.txt").read_text()
    assert "the reward service is down" in log and "Traceback" in log
    # the finished units are kept and the rerun completes the same results as one process
    kept = {p: p.stat().st_mtime_ns for p in (out / "units").rglob("*.parquet")}
    assert kept
    proc = typicality("run", str(workspace / "study.toml"), "--out", str(out), nproc=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    for name in ("samples.parquet", "results.json"):
        assert (out / name).read_bytes() == (one_process / name).read_bytes(), name


def test_more_processes_than_units_is_refused_before_any_work(workspace, tmp_path):
    small = workspace / "small.toml"
    small.write_text(CONFIG.split("[[schemes]]")[0] + '[[schemes]]\nadaptor = "ancestral"\n')
    out = tmp_path / "small"
    proc = typicality("run", str(small), "--out", str(out), "--set", "prompts.limit=2", nproc=3)
    assert proc.returncode != 0
    assert "3 processes but this study has only 1 unit(s) of work" in proc.stderr
    assert "start at most 1" in proc.stderr
    assert not out.exists()


def test_the_torchrun_environment_is_read_strictly():
    assert distributed.from_environment({}) is None
    assert distributed.from_environment({"WORLD_SIZE": "1", "RANK": "0"}) is None  # one process: a plain run
    assert distributed.from_environment({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == \
        distributed.Shard(2, 4, 0)
    for env, word in (({"WORLD_SIZE": "2"}, "RANK"), ({"WORLD_SIZE": "two", "RANK": "0"}, "WORLD_SIZE"),
                      ({"WORLD_SIZE": "2", "RANK": "2"}, "out of range"),
                      ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "-1"}, "out of range")):
        with pytest.raises(ValueError, match=word):
            distributed.from_environment(env)


def test_each_process_sees_the_gpu_of_its_local_rank():
    env: dict[str, str] = {}
    distributed.pin_local_device(distributed.Shard(3, 4, 1), env)
    assert env["CUDA_VISIBLE_DEVICES"] == "1"
    env = {"CUDA_VISIBLE_DEVICES": "4,6"}
    distributed.pin_local_device(distributed.Shard(1, 2, 1), env)
    assert env["CUDA_VISIBLE_DEVICES"] == "6"


def test_a_fixed_gpu_index_is_refused_under_torchrun(workspace):
    config = load_config(workspace / "study.toml", overrides=['models.device="cuda:1"'])
    with pytest.raises(ValueError, match="LOCAL_RANK"):
        distributed.check_device(config)


def test_the_vllm_back_end_without_vllm_names_the_extra(workspace, tmp_path):
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vLLM is installed here")
    proc = typicality("run", str(workspace / "study.toml"), "--out", str(tmp_path / "v"), "--set",
                      'sampling.backend="vllm"')
    assert proc.returncode == 2 and "typicality[vllm]" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "v").exists()
