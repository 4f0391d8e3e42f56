"""Differential tests against Hugging Face transformers' warpers, and generate() with our LogitsProcessor.

Ours deliberately differs from HF in two documented ways, both tested here:
* top-p with probability ties straddling the nucleus boundary: HF keeps the tied tokens that its (unstable) sort
  puts last; we keep the whole tie class, so our kept set is a superset made only of tokens tied at the boundary;
* typical with p = 1: HF rejects it, we keep every token.
Elsewhere the kept sets are identical, except where float32 (HF) and float64 (ours) round a threshold comparison
differently: such draws are skipped (the reference's margin is below 1e-4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.reference_adaptors import REFERENCES
from typicality.adaptors import ADAPTORS, Compose, make

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from transformers.generation import logits_process as lp  # noqa: E402

HF = {
    "top_k": lambda v: lp.TopKLogitsWarper(top_k=v),
    "top_p": lambda v: lp.TopPLogitsWarper(top_p=v),
    "typical": lambda v: lp.TypicalLogitsWarper(mass=v),
    "epsilon": lambda v: lp.EpsilonLogitsWarper(epsilon=v),
    "eta": lambda v: lp.EtaLogitsWarper(epsilon=v),
    "min_p": lambda v: lp.MinPLogitsWarper(min_p=v),
    "temperature": lambda v: lp.TemperatureLogitsWarper(temperature=float(v)),
}
PARAMS = {
    "top_k": st.integers(1, 10),
    "top_p": st.sampled_from([0.1, 0.5, 0.8, 0.9, 0.95]),
    "typical": st.sampled_from([0.2, 0.5, 0.9, 0.95]),
    "epsilon": st.sampled_from([0.01, 0.05, 0.2]),
    "eta": st.sampled_from([0.0009, 0.01, 0.1, 0.5]),
    "min_p": st.sampled_from([0.02, 0.1, 0.5, 1.0]),
}


@st.composite
def logit_rows(draw):
    """float32 logits: values from a small grid (ties), −inf entries, one-hot and uniform rows."""
    n = draw(st.integers(2, 10))
    kind = draw(st.sampled_from(["grid", "grid", "free", "one_hot", "uniform"]))
    if kind == "one_hot":
        x = np.full(n, -np.inf)
        x[draw(st.integers(0, n - 1))] = 0.0
    elif kind == "uniform":
        x = np.zeros(n)
    else:
        values = st.sampled_from([-3.0, -1.0, 0.0, 0.5, 2.0, -np.inf]) if kind == "grid" else \
            st.floats(-8, 8, allow_nan=False, width=32)
        x = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
        assume(np.isfinite(x).any())
    return x.astype(np.float32)


def hf_kept(name, value, x):
    out = HF[name](value)(torch.zeros((1, 1), dtype=torch.long), torch.tensor(x[None, :]))[0].numpy()
    return set(np.flatnonzero(np.isfinite(out) & np.isfinite(x)))


@pytest.mark.parametrize("name", sorted(PARAMS))
@settings(max_examples=120)
@given(data=st.data())
def test_kept_sets_match_transformers(name, data):
    x = data.draw(logit_rows())
    value = data.draw(PARAMS[name])
    p = make(name, **{ADAPTORS[name][1]: value}).weights_from_logits(x.astype(np.float64)[None, :])[0]
    ours = set(np.flatnonzero(p > 0))
    probs = np.exp(x.astype(np.float64) - x.max())
    probs /= probs.sum()
    _, margin = REFERENCES[name](probs, value)
    assume(margin > 1e-4)
    theirs = hf_kept(name, value, x)
    if name == "top_k" and ours != theirs:
        # logits 0 and 1.2e-38 are distinct for HF but equal probabilities in float64: a tie, kept whole by us
        assert theirs < ours
        boundary = min(probs[i] for i in ours)
        assert all(probs[i] == boundary for i in ours - theirs)
    elif name == "top_p" and ours != theirs:
        # the documented difference: ties at the boundary, kept whole by us
        assert theirs < ours
        boundary = min(probs[i] for i in ours)
        assert all(math.isclose(probs[i], boundary, rel_tol=1e-9) for i in ours - theirs)
    else:
        assert ours == theirs


def test_top_p_tie_difference_is_real_and_documented():
    x = np.log(np.array([0.4, 0.3, 0.3], dtype=np.float32))  # nucleus 0.5: the two 0.3 tokens straddle it
    ours = set(np.flatnonzero(make("top_p", p=0.5).weights_from_logits(x.astype(np.float64))))
    assert ours == {0, 1, 2}
    assert hf_kept("top_p", 0.5, x) in ({0, 1}, {0, 2})
    with pytest.raises(ValueError):
        lp.TypicalLogitsWarper(mass=1.0)
    assert np.all(make("typical", p=1.0).weights(np.array([0.2, 0.8])) > 0)


@settings(max_examples=60)
@given(x=logit_rows(), t=st.sampled_from([0.5, 0.75, 1.25, 1.5]), top=st.sampled_from([0.5, 0.9]),
       k=st.integers(1, 4))
def test_hf_order_composition_matches_the_generate_pipeline(x, t, top, k):
    """temperature → top-k → top-p as transformers chains them; distributions equal to float32 accuracy."""
    ours = Compose(make("temperature", t=t), make("top_k", k=k), make("top_p", p=top)).local(
        make("top_p", p=1.0).weights_from_logits(x.astype(np.float64)))
    scores = torch.tensor(x[None, :])
    ids = torch.zeros((1, 1), dtype=torch.long)
    for w in (lp.TemperatureLogitsWarper(float(t)), lp.TopKLogitsWarper(k), lp.TopPLogitsWarper(top)):
        scores = w(ids, scores)
    theirs = torch.softmax(scores.double(), dim=-1)[0].numpy()
    tempered = np.exp((x.astype(np.float64) - x.max()) / t)
    tempered /= tempered.sum()
    _, margin = REFERENCES["top_p"](tempered * make("top_k", k=k).keep(tempered), top)
    assume(margin > 1e-4 and len(set(tempered[tempered > 0].round(12))) == np.count_nonzero(tempered))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def tiny_gpt2(seed=0, vocab=6):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(vocab_size=vocab, n_layer=1, n_embd=16, n_head=2, n_positions=16,
                                     bos_token_id=0, eos_token_id=vocab - 1, pad_token_id=vocab - 1)
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.mark.parametrize("name,value", [("top_k", 2), ("top_p", 0.6), ("temperature", 0.5), ("typical", 0.5)])
def test_generate_samples_what_weights_defines(name, value):
    """First generated tokens, 4000 draws: frequencies within Hoeffding intervals (δ = 1e-9 overall) of q_T."""
    from typicality.adaptors.hf import active_warpers, generate_kwargs

    model = tiny_gpt2()
    adaptor = make(name, **{ADAPTORS[name][1]: value})
    kwargs = generate_kwargs(adaptor)
    assert active_warpers(model, **dict(kwargs)) == ["TypicalityLogitsProcessor"]
    with torch.no_grad():
        logits = model(torch.zeros((1, 1), dtype=torch.long)).logits[0, -1].double().numpy()
    exact = adaptor.local(make("top_p", p=1.0).weights_from_logits(logits))
    n = 4000
    torch.manual_seed(1)
    with torch.no_grad():
        out = model.generate(torch.zeros((n, 1), dtype=torch.long), attention_mask=torch.ones((n, 1)),
                             max_new_tokens=1, **kwargs)
    freq = np.bincount(out[:, 1].numpy(), minlength=len(exact)) / n
    eps = math.sqrt(math.log(2 * len(exact) / 1e-9) / (2 * n))
    assert np.all(np.abs(freq - exact) <= eps), (freq, exact)
    assert np.all(freq[exact == 0] == 0)


def test_hf_defaults_would_truncate_silently():
    """Why generate_kwargs exists: a generation config with top_k = 50 adds HF's own warper."""
    from typicality.adaptors.hf import active_warpers

    model = tiny_gpt2()
    model.generation_config.top_k = 50
    assert "TopKLogitsWarper" in active_warpers(model, do_sample=True)
