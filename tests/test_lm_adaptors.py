"""``typicality.lm.adaptors``: the torch adaptors against the numpy reference classes, exactly.

On Hypothesis-generated batches of logit rows (ties from a small grid, −inf entries, one-hot and uniform rows, free
floats), for every adaptor and for compositions in each order, the torch kept set equals the numpy kept set of
``weights(softmax_rows(logits))``, exp(log_weights) equals numpy's ``weights`` to 1e-12 and softmax(process) its
q_T to 1e-12 (float64); float32 mode agrees to float32 accuracy. Each engine path is exercised: the GPU-style
path (one block, masks) and the CPU path (blocks of rows, row-by-row thresholds, top-p/typical candidates grown
from 2, top-k survivors written into rows of −inf).

Two kinds of draws are skipped, both rounding-level, never loosened: (1) a comparison within rounding of its
threshold: the reference margin (tests/reference_adaptors.py, per step on the renormalized current weights) is
below 1e-9 (1e-4 in float32 mode); numpy sums and exponentiates in another order than torch, so either side may
round the other way there. (2) two different finite logits closer than 1e-9 (``logit_gap``): numpy's float64
probabilities may round them to the same number, a tie numpy keeps whole, while torch ranks the logits
themselves; the reference margins cannot see this (they work on the already rounded probabilities).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.reference_adaptors import REFERENCES
from typicality.adaptors import ADAPTORS, Adaptor, Compose, make, softmax_rows

torch = pytest.importorskip("torch")
lm_adaptors = pytest.importorskip("typicality.lm.adaptors")
DeviceAdaptor, to_device = lm_adaptors.DeviceAdaptor, lm_adaptors.to_device

PARAMS = {
    "temperature": st.sampled_from([0.5, 0.75, 1.0, 1.25, 1.5]),
    "top_k": st.integers(1, 10),
    "top_p": st.sampled_from([0.1, 0.5, 0.8, 0.9, 0.95, 1.0]),
    "typical": st.sampled_from([0.2, 0.5, 0.9, 0.95]),
    "epsilon": st.sampled_from([0.01, 0.05, 0.2]),
    "eta": st.sampled_from([0.0009, 0.01, 0.1, 0.5]),
    "min_p": st.sampled_from([0.02, 0.1, 0.5, 1.0]),
}
GRID = [-3.0, -1.0, 0.0, 0.5, 2.0, -math.inf]

#: engine settings: the GPU-style path (whole batch, masks) and the CPU path forced onto small inputs
ENGINES = {
    "masks": {"CPU_BLOCK_BYTES": 1 << 40, "ROWWISE_VOCAB": 1 << 40},
    "rows": {"CPU_BLOCK_BYTES": 1, "ROWWISE_VOCAB": 1, "FIRST_CANDIDATES": 2, "GROWTH": 2, "SPARSE_TOP_K": 1},
}


@contextlib.contextmanager
def engine(name):
    saved = {k: getattr(lm_adaptors, k) for k in ENGINES[name]}
    try:
        for k, v in ENGINES[name].items():
            setattr(lm_adaptors, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(lm_adaptors, k, v)


@st.composite
def logit_batches(draw, *, width=64):
    """(rows, V) float64 logits: values from a small grid (ties), −inf entries, one-hot and uniform rows, free floats
    (``width=32``: float32 numbers)."""
    n_rows, V = draw(st.integers(1, 4)), draw(st.integers(2, 10))
    rows = []
    for _ in range(n_rows):
        kind = draw(st.sampled_from(["grid", "grid", "free", "one_hot", "uniform"]))
        if kind == "one_hot":
            x = np.full(V, -np.inf)
            x[draw(st.integers(0, V - 1))] = draw(st.sampled_from([0.0, 3.5, -7.0]))
        elif kind == "uniform":
            x = np.full(V, draw(st.sampled_from([0.0, 1.5, -20.0])))
        else:
            values = st.sampled_from(GRID) if kind == "grid" else st.floats(-8, 8, width=width)
            x = np.array(draw(st.lists(values, min_size=V, max_size=V)), dtype=np.float64)
            assume(np.isfinite(x).any())
        rows.append(x)
    return np.stack(rows)


def adaptor_of(name, value):
    return make(name, **{ADAPTORS[name][1]: value})


def param_value(step):
    (value,) = step.params().values()
    return value


def reference_margin(adaptor, p):
    """The smallest reference margin over the truncation steps, each on the renormalized current weights."""
    margin = math.inf
    for row in p:
        w = row.copy()
        for step in adaptor.steps:
            if step.is_truncation:
                q = w / w.sum()
                margin = min(margin, REFERENCES[step.name](q, param_value(step))[1])
                w = w * step.keep(q)
            else:
                w = w ** (1.0 / step.t)
    return margin


def logit_gap(x):
    """The smallest distance between two different finite logits of a row (∞ if there are none)."""
    gaps = [np.diff(np.unique(row[np.isfinite(row)])) for row in x]
    return min((float(g.min()) for g in gaps if g.size), default=math.inf)


def check_against_numpy(adaptor, x, *, dtype, logits_dtype, margin_needed, atol):
    """The torch results on logits x (numpy float64, values exact in logits_dtype) against numpy's."""
    p = softmax_rows(x)
    assume(reference_margin(adaptor, p) > margin_needed and logit_gap(x) > margin_needed)
    w = adaptor.weights(p)
    logits = torch.tensor(x, dtype=logits_dtype)
    before = logits.clone()
    device = to_device(adaptor, dtype=dtype)
    scores, offset = device.transform(logits)
    assert scores.dtype == dtype and offset.dtype == dtype and offset.shape == logits.shape[:-1]
    np.testing.assert_array_equal(np.isfinite(scores.numpy()), w > 0)  # the same kept sets
    np.testing.assert_allclose(device.log_weights(logits).exp().double().numpy(), w, rtol=0, atol=atol)
    processed = device.process(logits)
    assert processed.dtype == dtype
    np.testing.assert_array_equal(np.isfinite(processed.numpy()), w > 0)
    q = torch.softmax(processed.double(), dim=-1).numpy()
    np.testing.assert_allclose(q, w / w.sum(axis=-1, keepdims=True), rtol=0, atol=atol)
    assert torch.equal(logits, before)  # the logits are never modified


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(PARAMS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_each_adaptor_matches_numpy_in_float64(engine_name, name, data):
    logits_dtype = data.draw(st.sampled_from([torch.float64, torch.float32]))
    x = data.draw(logit_batches(width=64 if logits_dtype == torch.float64 else 32))
    with engine(engine_name):
        check_against_numpy(adaptor_of(name, data.draw(PARAMS[name])), x, dtype=torch.float64,
                            logits_dtype=logits_dtype, margin_needed=1e-9, atol=1e-12)


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
def test_top_p_keeps_the_boundary_tie_class(engine_name):
    """Nucleus 0.5 of (0.4, 0.3, 0.3, 0): the two 0.3 tokens straddle the boundary and are kept together."""
    x = torch.log(torch.tensor([[0.4, 0.3, 0.3, 0.0]], dtype=torch.float64))
    with engine(engine_name):
        kept = torch.isfinite(to_device(make("top_p", p=0.5)).process(x))
    assert kept.tolist() == [[True, True, True, False]]


@pytest.mark.parametrize("order", ["hf", "llama.cpp", "given"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_compositions_match_numpy_in_float64(order, data):
    names = data.draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=2, max_size=4))
    adaptor = Compose(*(adaptor_of(n, data.draw(PARAMS[n])) for n in names), order=order)
    logits_dtype = data.draw(st.sampled_from([torch.float64, torch.float32]))
    x = data.draw(logit_batches(width=64 if logits_dtype == torch.float64 else 32))
    with engine(data.draw(st.sampled_from(sorted(ENGINES)))):
        check_against_numpy(adaptor, x, dtype=torch.float64, logits_dtype=logits_dtype, margin_needed=1e-9,
                            atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_float32_mode_agrees_to_float32_accuracy(data):
    names = data.draw(st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3))
    adaptor = Compose(*(adaptor_of(n, data.draw(PARAMS[n])) for n in names), order=data.draw(
        st.sampled_from(["hf", "llama.cpp", "given"])))
    x = data.draw(logit_batches(width=32))
    with engine(data.draw(st.sampled_from(sorted(ENGINES)))):
        check_against_numpy(adaptor, x, dtype=torch.float32, logits_dtype=torch.float32, margin_needed=1e-4,
                            atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(x=logit_batches(width=32), names=st.lists(st.sampled_from(sorted(PARAMS)), min_size=1, max_size=3),
       data=st.data())
def test_logits_processor_call_is_process_cast_back(x, names, data):
    adaptor = Compose(*(adaptor_of(n, data.draw(PARAMS[n])) for n in names))
    scores = torch.tensor(x, dtype=torch.float32)
    for dtype in (torch.float64, torch.float32):
        device = to_device(adaptor, dtype=dtype)
        out = device(torch.zeros((len(x), 1), dtype=torch.long), scores)
        assert out.dtype == torch.float32
        assert torch.equal(out, device.process(scores).to(torch.float32))


def test_batch_axes_and_offset_give_the_mass():
    """Leading axes are batch axes; logsumexp(scores) − offset = log Z_t = log Σ_v T(p)(v)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((2, 3, 50), generator=gen, dtype=torch.float64) * 2
    adaptor = Compose(make("temperature", t=0.7), make("top_p", p=0.8))
    scores, offset = to_device(adaptor).transform(x)
    assert scores.shape == x.shape and offset.shape == (2, 3)
    w = adaptor.weights(softmax_rows(x.numpy()))
    np.testing.assert_allclose((torch.logsumexp(scores, -1) - offset).numpy(), np.log(w.sum(-1)), rtol=0, atol=1e-12)


def test_long_rows_use_candidates_and_agree_with_numpy():
    """V = 5,000 > FIRST_CANDIDATES: the top-p and typical candidate sets must grow for the flat rows. (Continuous
    logits, fixed seed: no threshold is within rounding; the exact reference is too slow at this size.)"""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((6, 5000), generator=gen) * torch.tensor([0.1, 0.5, 1.0, 3.0, 6.0, 12.0])[:, None]
    p = softmax_rows(x.double().numpy())
    for name, value in [("top_p", 0.95), ("typical", 0.9), ("top_k", 700), ("top_k", 50), ("eta", 3e-4),
                        ("epsilon", 1e-4), ("min_p", 0.01), ("temperature", 0.6)]:
        adaptor = adaptor_of(name, value)
        w = adaptor.weights(p)
        got = to_device(adaptor).log_weights(x).exp().numpy()
        np.testing.assert_array_equal(got > 0, w > 0)
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-12)


def test_typical_one_keeps_every_token_of_positive_probability():
    """As documented (numpy's Typical(1.0) can drop tokens of probability ~1e-17 when its float64 cumulative sum
    reaches 1 before them)."""
    x = torch.tensor([[0.0, -1.0, -math.inf, 3.0]])
    np.testing.assert_array_equal(torch.isfinite(to_device(make("typical", p=1.0)).process(x)).numpy(),
                                  [[True, True, False, True]])


def test_bad_input_names_the_row_and_the_parameter():
    device = to_device(make("top_k", k=2))
    with pytest.raises(ValueError, match=r"nan at index \(0, 1\)"):
        device.process(torch.tensor([[0.0, math.nan]]))
    with pytest.raises(ValueError, match=r"inf at index \(0, 1, 1\)"):
        device.transform(torch.tensor([[[0.0, 1.0], [0.0, math.inf]]]))
    with pytest.raises(ValueError, match="row 1 is all −inf"):
        device.process(torch.tensor([[0.0, 1.0], [-math.inf, -math.inf]]))
    with pytest.raises(TypeError, match="floating-point"):
        device.process(torch.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="torch tensor"):
        device.process(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="non-empty last"):
        device.process(torch.zeros((2, 0)))
    with pytest.raises(ValueError, match="dtype"):
        DeviceAdaptor(make("top_k", k=2), dtype=torch.float16)
    with pytest.raises(TypeError, match="adaptor must be"):
        DeviceAdaptor("top_k")

    class Custom(Adaptor):
        name = "custom"

    with pytest.raises(TypeError, match="no torch implementation"):
        DeviceAdaptor(Custom())
    # validate=False trusts the input (no check, no host synchronization)
    assert device.process(torch.tensor([[0.0, 1.0]]), validate=False).shape == (1, 2)


def test_half_precision_logits_are_widened_exactly():
    x = torch.tensor([[0.5, -1.25, 2.0, -math.inf]], dtype=torch.bfloat16)
    out = to_device(make("top_k", k=2))(None, x)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, torch.tensor([[0.5, -math.inf, 2.0, -math.inf]], dtype=torch.bfloat16))


@pytest.mark.slow
def test_generate_with_the_device_adaptor_as_logits_processor():
    """In model.generate, with every HF warper neutralized: top-k 1 is greedy decoding, and each token sampled
    under temperature + top-p lies in the kept set that numpy computes from the model's own logits."""
    transformers = pytest.importorskip("transformers")
    from typicality.adaptors.hf import NEUTRAL_SAMPLING, active_warpers
    from typicality.lm.tiny import tiny_causal_lm, tiny_tokenizer

    tok = tiny_tokenizer()
    model = tiny_causal_lm(tok, logit_scale=4.0)
    prompt = tok(["Human: What is the capital"], return_tensors="pt")

    def kwargs(adaptor):
        return {"do_sample": True, **NEUTRAL_SAMPLING,
                "logits_processor": transformers.LogitsProcessorList([to_device(adaptor)])}

    assert active_warpers(model, **kwargs(make("top_k", k=1))) == ["DeviceAdaptor"]
    with torch.no_grad():
        greedy = model.generate(**prompt, do_sample=False, max_new_tokens=6)
        torch.manual_seed(0)
        sampled = model.generate(**prompt, max_new_tokens=6, **kwargs(make("top_k", k=1)))
    assert torch.equal(sampled, greedy)

    adaptor = Compose(make("temperature", t=0.7), make("top_p", p=0.6))
    n = 64
    ids = prompt["input_ids"].repeat(n, 1)
    with torch.no_grad():
        logits = model(ids[:1]).logits[0, -1].double().numpy()
        torch.manual_seed(1)
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, **kwargs(adaptor))
    kept = set(np.flatnonzero(adaptor.weights(softmax_rows(logits)) > 0))
    assert set(out[:, -1].tolist()) <= kept
