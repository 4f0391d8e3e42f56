"""The sampling back end against independent recomputations: a teacher-forced forward pass scored with the numpy
adaptors (the reference), exact first-token distributions, and invariance to batching.

Models are tiny transformers built from a config (typicality.lm.tiny), saved and loaded back through the real
loading code; float64 on the CPU, where the decoding loop's cached forward pass and a full teacher-forced pass agree
to rounding (1e-9 is far above float64 rounding of these sums and far below any real discrepancy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typicality.adaptors import softmax_rows  # noqa: E402
from typicality.lm.config import Scheme, default_scheme_name  # noqa: E402
from typicality.lm.loading import load_causal_lm  # noqa: E402
from typicality.lm.sampling import CLAMP_NATS, SampleRequest, TransformersBackend  # noqa: E402
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer  # noqa: E402

PROMPTS = ["Human: How do I bake bread? Assistant:", "Human: hi Assistant:", "The quick brown fox",
           "Human: Tell me a joke about the capital of France. Assistant:"]


def scheme(adaptor: str | None = None, temperature: float = 1.0, **params) -> Scheme:
    comps = () if adaptor is None else ((adaptor, tuple(sorted(params.items()))),)
    return Scheme(default_scheme_name(comps, temperature), comps, temperature)


SCHEMES = [scheme(), scheme(temperature=1.5), scheme("top_k", k=5), scheme("top_p", temperature=0.7, p=0.8),
           scheme("typical", p=0.9), scheme("eta", eps=0.0009, temperature=1.25), scheme("epsilon", eps=0.003),
           scheme("min_p", p=0.1, temperature=0.5)]


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def lm(request, tmp_path_factory):
    tok = tiny_tokenizer()
    model = tiny_causal_lm(tok, arch=request.param, eos_logit=1.5, logit_scale=2.0, seed=3)
    folder = save_tiny(tmp_path_factory.mktemp(request.param), model, tok)
    return load_causal_lm(str(folder), device="cpu", dtype="float64")


def requests_for(lm, schemes, samples=2):
    ids = [lm.tokenizer(p)["input_ids"] for p in PROMPTS]
    return [SampleRequest(i, j, s, tuple(ids[i])) for s in schemes for i in range(len(PROMPTS)) for j in range(samples)]


def teacher_forced(lm, prompt_ids, continuation):
    """log_softmax rows predicting each continuation token, from one full forward pass (float64)."""
    seq = torch.tensor([list(prompt_ids) + list(continuation)])
    with torch.no_grad():
        logits = lm.model(input_ids=seq).logits[0].double().numpy()
    return logits[len(prompt_ids) - 1:len(prompt_ids) - 1 + len(continuation)]


def test_recorded_scores_equal_a_teacher_forced_pass_token_by_token(lm):
    backend = TransformersBackend(lm, max_new_tokens=24, seed=7, batch_size=5, token_scores=True)
    reqs = requests_for(lm, SCHEMES)
    out = backend.sample(reqs)
    eos_ids = set(lm.eos_token_ids)
    ended = 0
    for req, s in zip(reqs, out, strict=True):
        adaptor = req.scheme.build()
        rows = teacher_forced(lm, req.prompt_ids, s.token_ids)
        p = softmax_rows(rows)
        w = adaptor.weights(p)  # the numpy reference T(p)
        y = np.array(s.token_ids)
        t = np.arange(len(y))
        assert np.all(w[t, y] > 0), "a sampled token is outside the kept set"
        logp = np.log(p[t, y])
        logw = np.log(w[t, y])
        logq = logw - np.log(w.sum(axis=1))
        np.testing.assert_allclose(s.token_scores["logp_aligned"], logp, rtol=0, atol=1e-9)
        np.testing.assert_allclose(s.token_scores["logq"], logq, rtol=0, atol=1e-9)
        np.testing.assert_allclose(s.token_scores["log_pi_tilde"], logw, rtol=0, atol=1e-9)
        for name, ref in (("logp_aligned", logp), ("logq", logq), ("log_pi_tilde", logw)):
            assert math.isclose(s.sums[name], ref.sum(), abs_tol=1e-8)
            assert math.isclose(s.sums[name + "_clamped"], np.maximum(ref, -CLAMP_NATS).sum(), abs_tol=1e-8)
            assert math.isclose(s.sums[name + "_eos"], ref[-1] if s.eos else 0.0, abs_tol=1e-9)
        # eos ends a string; a string without eos is capped at max_new_tokens
        if s.eos:
            ended += 1
            assert s.token_ids[-1] in eos_ids and not eos_ids & set(s.token_ids[:-1])
        else:
            assert len(s.token_ids) == 24 and not eos_ids & set(s.token_ids)
    assert 0 < ended < len(out), "the test model should produce both ended and capped strings"


def test_strings_do_not_depend_on_batching_or_company(lm):
    reqs = requests_for(lm, SCHEMES[:4], samples=3)
    base = TransformersBackend(lm, max_new_tokens=16, seed=11, batch_size=1).sample(reqs)
    for batch_size in (3, 64):
        other = TransformersBackend(lm, max_new_tokens=16, seed=11, batch_size=batch_size).sample(reqs)
        for a, b in zip(base, other, strict=True):
            assert a.token_ids == b.token_ids and a.eos == b.eos  # the strings: bit-identical
            # the sums may differ in the last bit: a vectorized exp or reduction treats an element differently
            # depending on where its row starts in the batch's buffer (SIMD lanes, thread splits)
            for k, v in a.sums.items():
                assert math.isclose(v, b.sums[k], rel_tol=1e-13, abs_tol=1e-13), k
    # a request's string is its own: reversed order and a subset give the same strings
    rev = TransformersBackend(lm, max_new_tokens=16, seed=11, batch_size=7).sample(reqs[::-1])
    assert [r.token_ids for r in rev[::-1]] == [r.token_ids for r in base]
    # different seeds or sample indices give different streams
    reseeded = TransformersBackend(lm, max_new_tokens=16, seed=12, batch_size=64).sample(reqs)
    assert [r.token_ids for r in reseeded] != [r.token_ids for r in base]
    assert len({tuple(r.token_ids) for r in base}) > len(base) // 2


@pytest.mark.parametrize("sch", [scheme(), scheme("top_k", k=3), scheme("top_p", temperature=0.5, p=0.6),
                                 scheme(temperature=2.0)])
def test_first_token_frequencies_match_q_T(lm, sch):
    """4000 first tokens of one prompt: every frequency within its Hoeffding interval (union bound, δ = 1e-9)."""
    n = 4000
    ids = tuple(lm.tokenizer(PROMPTS[0])["input_ids"])
    reqs = [SampleRequest(0, j, sch, ids) for j in range(n)]
    out = TransformersBackend(lm, max_new_tokens=1, seed=5, batch_size=500).sample(reqs)
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([ids])).logits[0, -1].double().numpy()
    exact = sch.build().local(softmax_rows(logits))
    freq = np.bincount([s.token_ids[0] for s in out], minlength=len(exact)) / n
    eps = math.sqrt(math.log(2 * len(exact) / 1e-9) / (2 * n))
    assert np.all(np.abs(freq - exact) <= eps)
    assert np.all(freq[exact == 0] == 0)


def test_float32_model_scores_agree_with_teacher_forcing_to_float32_accuracy(tmp_path):
    tok = tiny_tokenizer()
    folder = save_tiny(tmp_path / "m", tiny_causal_lm(tok, eos_logit=1.5, seed=1), tok)
    lm = load_causal_lm(str(folder), device="cpu", dtype="float32")
    reqs = requests_for(lm, [scheme("top_p", p=0.9)], samples=2)
    out = TransformersBackend(lm, max_new_tokens=12, seed=3, token_scores=True).sample(reqs)
    for req, s in zip(reqs, out, strict=True):
        rows = teacher_forced(lm, req.prompt_ids, s.token_ids)
        p = softmax_rows(rows)
        y = np.array(s.token_ids)
        # cached and full attention round differently in float32: agreement to ~1e-5 nats per token
        np.testing.assert_allclose(s.token_scores["logp_aligned"], np.log(p[np.arange(len(y)), y]), atol=1e-4)


def test_empty_prompt_is_an_error(lm):
    with pytest.raises(ValueError, match="no token"):
        TransformersBackend(lm, max_new_tokens=4, seed=0).sample([SampleRequest(0, 0, scheme(), ())])


def test_continuous_and_static_batching_give_the_same_strings(lm):
    """Rows appended to a running cache (continuous batching) against one static batch per group of prompts."""
    reqs = requests_for(lm, SCHEMES, samples=2)
    static = TransformersBackend(lm, max_new_tokens=20, seed=2, batch_size=6, continuous_batching=False,
                                 token_scores=True).sample(reqs)
    cont = TransformersBackend(lm, max_new_tokens=20, seed=2, batch_size=6, token_scores=True).sample(reqs)
    lengths = [len(s.token_ids) for s in static]
    assert min(lengths) < 20 and max(lengths) == 20  # rows finish at different times: refills happen
    for a, b in zip(static, cont, strict=True):
        assert a.token_ids == b.token_ids and a.eos == b.eos
        for k in a.token_scores:
            np.testing.assert_allclose(a.token_scores[k], b.token_scores[k], rtol=0, atol=1e-12)


def test_no_transformers_warper_can_interfere(lm):
    """The loop applies only our adaptor: a generation config asking for top_k = 5 and temperature 0.1 changes
    nothing (generate() would apply them)."""
    reqs = requests_for(lm, [scheme("top_p", p=0.95)], samples=2)
    before = TransformersBackend(lm, max_new_tokens=10, seed=4).sample(reqs)
    config = lm.model.generation_config
    saved = (config.top_k, config.temperature, config.do_sample)
    try:
        config.top_k, config.temperature, config.do_sample = 5, 0.1, True
        after = TransformersBackend(lm, max_new_tokens=10, seed=4).sample(reqs)
    finally:
        config.top_k, config.temperature, config.do_sample = saved
    assert [s.token_ids for s in before] == [s.token_ids for s in after]
