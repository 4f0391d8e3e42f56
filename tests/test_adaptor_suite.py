"""typicality.testing.check_adaptor catches broken adaptors, each for the right reason, and adaptors of your own
(a Truncation, a Scaling, a subclass) work everywhere the built-in ones do.

The built-in adaptors themselves pass the same suite in tests/test_adaptors.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from typicality.adaptors import Adaptor, Scaling, Truncation, make
from typicality.testing import AdaptorCheckError, check_adaptor


def _top_k_values(q, k):
    kth = -np.sort(-q, axis=-1)[..., min(k, q.shape[-1]) - 1: min(k, q.shape[-1])]
    return q >= kth


class Renormalizing(Adaptor):
    """top-2 that returns q_T instead of T(p): the IMHA weight (Σ T(p)) is lost."""

    name = "renormalizing"

    def keep(self, q):
        return _top_k_values(q, 2)

    def weights(self, probs, *, validate=True, out=None):
        w = super().weights(probs, validate=validate, out=out)
        return w / w.sum(axis=-1, keepdims=True)


def _drop_the_argmax(q):
    below = (q < q.max(axis=-1, keepdims=True)) & (q > 0)
    return np.where(below.any(axis=-1, keepdims=True), below, q > 0)


def _first_index_of_the_max(q):  # breaks ties by position: not permutation-equivariant
    mask = np.zeros(q.shape, dtype=bool)
    np.put_along_axis(mask, q.argmax(axis=-1)[..., None], True, axis=-1)
    return mask


BROKEN = [
    ("renormalizes", Renormalizing(), {}, "truncation keeps p"),
    ("drops the argmax", Truncation(_drop_the_argmax, name="no_argmax"), {}, "keeps the argmax"),
    ("empty kept set", Truncation(lambda q: q > 0.5, name="above_half"), {}, "kept set"),
    ("keeps a zero", Truncation(lambda q: np.ones(q.shape, dtype=bool), name="everything") if False else
     Truncation(lambda q: np.ones_like(q, dtype=bool) | (q == 0), name="with_zeros"), {}, None),
    ("ties by position", Truncation(_first_index_of_the_max, name="first_max"), {"keeps_argmax": False},
     "permutation"),
    ("NaN weights", Scaling(lambda logw: np.where(logw < -2, np.nan, logw), name="nan_tail"), {}, "finite"),
    ("mask of the wrong type", Truncation(lambda q: q.astype(int), name="int_mask"), {}, "finite"),
]


@pytest.mark.parametrize("name, adaptor, options, invariant", [b for b in BROKEN if b[3]],
                         ids=[b[0] for b in BROKEN if b[3]])
def test_a_broken_adaptor_fails_for_the_right_reason(name, adaptor, options, invariant):
    with pytest.raises(AdaptorCheckError) as caught:
        check_adaptor(adaptor, max_examples=100, models=3, imha_chains=0, **options)
    assert caught.value.invariant == invariant, str(caught.value)
    assert caught.value.example is not None


def test_a_parameter_that_moves_the_kept_set_the_wrong_way_fails_monotone():
    def shrinking_top_k(k):  # declared increasing, but the kept set shrinks as the parameter grows
        return make("top_k", k=6 - k)

    with pytest.raises(AdaptorCheckError) as caught:
        check_adaptor(shrinking_top_k, parameters=[1, 2, 3], monotone="increasing", max_examples=100, models=0,
                      imha_chains=0)
    assert caught.value.invariant == "monotone"


def test_keeping_every_symbol_is_no_truncation_but_keeps_zeros_out():
    """Keeping p = 0 symbols is not an error of the adaptor: the kept set is the support of T(p), so a mask that
    includes zero-probability symbols gives the identity, which passes."""
    report = check_adaptor(BROKEN[3][1], max_examples=50, models=2, imha_chains=0)
    assert "kept set" in report.checked


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="parameters and monotone need a factory"):
        check_adaptor(make("top_k", k=2), monotone="increasing")
    with pytest.raises(ValueError, match="a factory needs parameters"):
        check_adaptor(lambda k: make("top_k", k=k))
    with pytest.raises(TypeError, match="must return an Adaptor"):
        check_adaptor(lambda k: k, parameters=[1])
    with pytest.raises(ValueError, match="monotone must be"):
        check_adaptor(lambda k: make("top_k", k=k), parameters=[1], monotone="up")
    with pytest.raises(TypeError, match="an Adaptor or a factory"):
        check_adaptor("top_k")
    with pytest.raises(ValueError, match="max_examples must be an int >= 1"):
        check_adaptor(make("top_k", k=2), max_examples=0)
    with pytest.raises(TypeError, match="keep must be a function"):
        Truncation(3)
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        Truncation(lambda q: q > 0, name="")


def _min_p(q, ratio):
    return q >= ratio * q.max(axis=-1, keepdims=True)


def test_an_adaptor_of_your_own_passes_and_works_everywhere():
    """min-p written as a function: it passes the suite, and local_model, global_model, the IMHA and the
    transformers processor treat it exactly as the built-in min-p."""
    from typicality.imha import imha
    from typicality.induced import global_model, local_model
    from typicality.models import examples

    mine = Truncation(_min_p, name="my_min_p", ratio=0.5)
    builtin = make("min_p", p=0.5)
    report = check_adaptor(lambda r: Truncation(_min_p, name="my_min_p", ratio=r), parameters=[0.01, 0.1, 0.5, 1.0],
                           monotone="decreasing", max_examples=100, models=5, imha_chains=20_000)
    assert {"monotone", "IMHA", "Eq. 8", "truncation keeps p"} <= set(report.checked)
    m = examples.example1_bigram()
    np.testing.assert_array_equal(local_model(m, mine).arc_logprob, local_model(m, builtin).arc_logprob)
    assert global_model(m, mine).normalizer == global_model(m, builtin).normalizer
    a = imha(m, mine, 2000, np.random.default_rng(0), chains=2)
    b = imha(m, builtin, 2000, np.random.default_rng(0), chains=2)
    np.testing.assert_array_equal(a.acceptance_rate, b.acceptance_rate)
    my_temperature = Scaling(lambda logw, t: logw / t, name="my_temperature", t=0.7)
    assert global_model(m, my_temperature).normalizer == pytest.approx(
        global_model(m, make("temperature", t=0.7)).normalizer, rel=1e-12)


def test_an_adaptor_of_your_own_in_the_transformers_processor():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from typicality.adaptors.hf import logits_processor

    scores = torch.tensor([[2.0, 1.0, 0.5, -1.0, float("-inf")]], dtype=torch.float32)
    mine = logits_processor(Truncation(_min_p, name="my_min_p", ratio=0.5))(None, scores.clone())
    builtin = logits_processor(make("min_p", p=0.5))(None, scores.clone())
    assert torch.equal(mine, builtin)
