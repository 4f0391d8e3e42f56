"""The adaptor property suite on a real model's own next-token distributions (typicality.testing.ModelDistributions):
the invariants the library holds its adaptors to, on the distributions a tiny transformers model produces while
decoding (300 tokens, contexts from its own samples)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from hypothesis import given, settings
from hypothesis import strategies as st

from typicality.adaptors import make
from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer
from typicality.testing import ModelDistributions

GRID = [("top_k", {"k": 30}), ("top_k", {"k": 50}), ("top_p", {"p": 0.9}), ("top_p", {"p": 0.95}),
        ("typical", {"p": 0.9}), ("eta", {"eps": 0.0009}), ("epsilon", {"eps": 0.001}), ("min_p", {"p": 0.1})]


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    tok = tiny_tokenizer()
    folder = save_tiny(tmp_path_factory.mktemp("props"), tiny_causal_lm(tok, eos_logit=1.0, seed=3), tok)
    return ModelDistributions(str(folder), ["Human: hello", "The quick"], samples=3, max_new_tokens=12)


def test_the_pool_holds_the_models_distributions(dists):
    assert len(dists) >= 10 and dists.probs.shape[1] == 300
    np.testing.assert_allclose(dists.probs.sum(axis=1), 1.0, atol=1e-12)
    assert len({tuple(c) for c in dists.contexts}) == len(dists)


def test_adaptor_invariants_on_the_models_distributions(dists):
    @settings(max_examples=60, deadline=None)
    @given(p=dists.strategy(), which=st.sampled_from(GRID), seed=st.integers(0, 2**32 - 1))
    def check(p, which, seed):
        name, params = which
        adaptor = make(name, **params)
        w = adaptor.weights(p)
        q = adaptor.local(p)
        kept = w > 0
        assert kept.any() and np.all(w >= 0) and np.all(w[~kept] == 0)
        np.testing.assert_array_equal(w[kept], p[kept])  # truncation leaves kept weights untouched
        assert math.isclose(q.sum(), 1.0, rel_tol=0, abs_tol=1e-12) and np.array_equal(q > 0, kept)
        if name != "typical":
            assert kept[np.argmax(p)]
        perm = np.random.default_rng(seed).permutation(len(p))  # permutation equivariance
        np.testing.assert_array_equal(adaptor.weights(p[perm]), w[perm])

    check()


def test_kept_sets_nest_in_the_parameter_on_the_models_distributions(dists):
    @settings(max_examples=30, deadline=None)
    @given(p=dists.strategy())
    def check(p):
        def kept(a):
            return set(np.flatnonzero(a.weights(p) > 0))

        assert kept(make("top_k", k=30)) <= kept(make("top_k", k=50))
        assert kept(make("top_p", p=0.9)) <= kept(make("top_p", p=0.95))
        assert kept(make("min_p", p=0.2)) <= kept(make("min_p", p=0.1))

    check()


def test_bad_arguments_are_refused(dists):
    with pytest.raises(ValueError, match="samples must be a positive integer"):
        ModelDistributions("unused", samples=0)
