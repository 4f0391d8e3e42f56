"""The exact reference of tests/reference_lm.py, checked on its own before estimators are checked against it.

* the enumeration accounts for all the probability (enumerated + pruned = 1) and prunes little;
* its string log-probabilities are the teacher-forced scores of typicality.lm.scoring;
* the tiny LM ends strings often (p(eos | prefix) in [0.3, 0.8]) and its next-token distribution depends on the
  context;
* with a constant next-token distribution (ln_f.weight = 0) the model is an i.i.d. string model, whose measures
  are known in closed form and, independently, by summing over the symbol counts of each length.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from scipy.special import gammaln  # noqa: E402

from tests.reference_lm import BOS_ID, EOS_ID, enumerate_strings, exact_measures, tiny_enumerable_lm  # noqa: E402
from typicality.lm.loading import load_causal_lm  # noqa: E402
from typicality.lm.scoring import score_continuations  # noqa: E402

ALPHAS = (0.5, 2.0, 3.0)


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return tiny_enumerable_lm(tmp_path_factory.mktemp("reference") / "lm")


@pytest.fixture(scope="module")
def lm(path):
    return load_causal_lm(path, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def prompts(lm):
    return {"bos": [BOS_ID], "a b": list(lm.tokenizer("a b")["input_ids"])}


@pytest.fixture(scope="module")
def enums(lm, prompts):
    return {name: enumerate_strings(lm, ids) for name, ids in prompts.items()}


def test_the_model_loads_with_its_special_tokens(lm, prompts):
    assert lm.eos_token_ids == (EOS_ID,)
    assert lm.bos_token_id == BOS_ID
    assert lm.pad_token_id == BOS_ID
    assert lm.vocab_size == 4
    assert prompts["a b"] == [0, 2, 3]
    assert lm.model.lm_head.weight.data_ptr() != lm.model.transformer.wte.weight.data_ptr()


# ------------------------------------------------------------------------------------- (a) the mass is accounted for


@pytest.mark.parametrize("name", ["bos", "a b"])
def test_enumerated_and_pruned_mass_sum_to_one(enums, name):
    enum = enums[name]
    measures = exact_measures(enum, ALPHAS)
    assert abs(measures.mass + enum.pruned_mass - 1.0) < 1e-10
    assert 0.0 < enum.pruned_mass < 1e-8
    assert math.isclose(enum.pruned_mass, math.fsum(np.exp(enum.pruned_logprob).tolist()))
    assert len(enum.tokens) == enum.logp.size == enum.lengths.size > 1000
    assert all(t[-1] == EOS_ID and EOS_ID not in t[:-1] for t in enum.tokens)
    assert np.array_equal(enum.lengths, [len(t) for t in enum.tokens])
    assert len(set(enum.tokens)) == len(enum.tokens)
    assert enum.lengths.max() < enum.max_len
    # every symbol occurs, bos included
    assert {0, 2, 3} <= set(itertools.chain.from_iterable(enum.tokens))
    # the entropy is known to far better than any Monte-Carlo estimate
    assert 0.0 <= measures.entropy_error_bound < 1e-6
    assert all(measures.renyi_error_bound[a] < 1e-8 for a in ALPHAS if a > 1)
    assert measures.renyi[3.0] < measures.renyi[2.0] < measures.entropy < measures.renyi[0.5]
    assert measures.varentropy > 0


def test_enumeration_is_the_same_in_any_batch_size(lm, enums):
    small = enumerate_strings(lm, [BOS_ID], min_prob=1e-6, batch_size=7)
    big = enumerate_strings(lm, [BOS_ID], min_prob=1e-6, batch_size=4096)
    assert small.tokens == big.tokens
    np.testing.assert_allclose(small.logp, big.logp, rtol=0, atol=1e-6)
    # the strings of the coarser enumeration are among those of the finer one, with the same probabilities
    fine = dict(zip(enums["bos"].tokens, enums["bos"].logp, strict=True))
    np.testing.assert_allclose([fine[t] for t in small.tokens], small.logp, rtol=0, atol=1e-6)
    assert small.pruned_mass > enums["bos"].pruned_mass


# ------------------------------------------------------------------------------------- (b) teacher-forced scores


@pytest.mark.parametrize("name", ["bos", "a b"])
def test_string_logprobs_are_the_teacher_forced_scores(lm, prompts, enums, name):
    enum = enums[name]
    order = np.argsort(-enum.logp, kind="stable")
    rng = np.random.default_rng(0)
    with_bos = [i for i in order if BOS_ID in enum.tokens[i]][:3]
    picks = list(dict.fromkeys([*order[:8], *with_bos, *rng.choice(order[8:], size=9, replace=False)]))
    continuations = [list(enum.tokens[i]) for i in picks]
    assert max(len(c) for c in continuations) > 8
    scores = score_continuations(lm, [prompts[name]] * len(picks), continuations, batch_size=8)
    np.testing.assert_allclose(scores["total"], enum.logp[picks], rtol=0, atol=1e-5)
    log_eos = dict(zip(enum.prefixes, enum.prefix_log_eos, strict=True))
    np.testing.assert_allclose(scores["eos"], [log_eos[tuple(c[:-1])] for c in continuations], rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------- (c) eos is likely, and varies


@pytest.mark.parametrize("name", ["bos", "a b"])
def test_eos_is_likely_after_every_prefix_and_depends_on_the_context(enums, name):
    enum = enums[name]
    p_eos = np.exp(enum.prefix_log_eos)
    assert enum.prefix_log_eos.size == len(enum.prefixes) == enum.prefix_logprob.size == enum.prefix_log_min.size
    assert enum.prefixes[0] == () and enum.prefix_logprob[0] == 0.0
    assert p_eos.min() >= 0.3 and p_eos.max() <= 0.8
    assert p_eos.max() - p_eos.min() > 0.01
    # the smallest next-token probability (bos, here) is bounded away from 0 too
    assert np.all(enum.prefix_log_min > math.log(1e-4))
    # not only the last token and the position matter: prefixes sharing both still differ
    groups: dict[tuple[int, int], list[float]] = {}
    for prefix, p in zip(enum.prefixes, p_eos, strict=True):
        if prefix:
            groups.setdefault((len(prefix), prefix[-1]), []).append(float(p))
    assert max(max(v) - min(v) for v in groups.values()) > 0.005


# ------------------------------------------------------------------------------------- (d) the i.i.d. string model


def closed_form(log_eos: float, log_r: np.ndarray, alphas) -> dict:
    """Exact measures of the i.i.d. string model p(y) = e · Π_j r_{y_j} (e = p(eos), r the symbols' probabilities).

    The number L of symbols is geometric, P(L = n) = e (1 − e)^n, and given L the symbols are i.i.d. with
    q_i = r_i / (1 − e). So log p(Y) = log e + Σ_{j ≤ L} Z_j with Z = log r_S, S ~ q, a compound sum:
    H = −log e − E[L] E[Z], σ² = E[L] Var(Z) + Var(L) E[Z]², with E[L] = (1 − e)/e, Var(L) = (1 − e)/e²; and
    Σ_y p(y)^α = e^α Σ_n (Σ_i r_i^α)^n = e^α / (1 − Σ_i r_i^α) when Σ_i r_i^α < 1.
    """
    e = math.exp(log_eos)
    q = np.exp(log_r) / (1.0 - e)
    mean_z = float(np.sum(q * log_r))
    var_z = float(np.sum(q * (log_r - mean_z) ** 2))
    mean_l, var_l = (1.0 - e) / e, (1.0 - e) / e**2
    out = {"mass": 1.0, "entropy": -log_eos - mean_l * mean_z, "varentropy": mean_l * var_z + var_l * mean_z**2}
    for a in alphas:
        tail = float(np.sum(np.exp(a * log_r)))
        assert tail < 1
        out[a] = (a * log_eos - math.log1p(-tail)) / (1.0 - a)
    return out


def count_sums(log_eos: float, log_r: np.ndarray, alphas, *, log_min_prob: float, max_len: int) -> dict:
    """The same measures by summing over symbol counts: a string with counts n (Σ n < max_len) has probability
    e · Π r_i^{n_i} and there are multinomial(n) of them. Strings whose symbols have log-probability below
    ``log_min_prob`` are left out, as :func:`enumerate_strings` leaves them out (its prefix probabilities only
    fall along a string, so its pruning keeps exactly the strings whose last prefix is kept)."""
    k = log_r.size
    counts = np.indices((max_len,) * k).reshape(k, -1).T.astype(float)
    counts = counts[counts.sum(axis=1) < max_len]
    symbols_logp = counts @ log_r
    keep = symbols_logp >= log_min_prob
    margin = float(np.min(np.abs(symbols_logp - log_min_prob)))
    counts, symbols_logp = counts[keep], symbols_logp[keep]
    log_mult = gammaln(counts.sum(axis=1) + 1) - gammaln(counts + 1).sum(axis=1)
    logp = log_eos + symbols_logp
    w = np.exp(log_mult + logp)
    mass = math.fsum(w.tolist())
    entropy = -math.fsum((w * logp).tolist())
    out = {"mass": mass, "entropy": entropy, "varentropy": math.fsum((w * (logp + entropy) ** 2).tolist()),
           "strings": float(np.exp(log_mult).sum()), "margin": margin}
    for a in alphas:
        out[a] = math.log(math.fsum(np.exp(log_mult + a * logp).tolist())) / (1.0 - a)
    return out


@pytest.fixture(scope="module")
def iid(path):
    """The tiny LM with ln_f.weight = 0 (in float64): every next-token distribution is softmax(W b)."""
    lm = load_causal_lm(path, device="cpu", dtype="float64")
    with torch.no_grad():
        lm.model.transformer.ln_f.weight.zero_()
        logits = lm.model(input_ids=torch.tensor([[BOS_ID]])).logits[0, -1]
    step = torch.log_softmax(logits, dim=-1).numpy()
    return lm, step


def test_closed_form_equals_the_sum_over_counts():
    """The two independent formulas agree on an i.i.d. model, nothing pruned; strings of 100 symbols or more
    carry Σ_{n ≥ 100} e^α (Σ_i r_i^α)^n < 1e-14 of Σ p^α (α = 0.5: Σ_i r_i^α ≈ 0.72)."""
    log_p = np.log(np.array([0.002, 0.68, 0.303, 0.015]))  # <s>, </s>, a, b
    log_r = np.delete(log_p, EOS_ID)
    exact = closed_form(log_p[EOS_ID], log_r, ALPHAS)
    summed = count_sums(log_p[EOS_ID], log_r, ALPHAS, log_min_prob=-math.inf, max_len=100)
    for key in ("mass", "entropy", "varentropy", *ALPHAS):
        assert summed[key] == pytest.approx(exact[key], rel=1e-12, abs=1e-12), key


def test_iid_model_measures_are_exact(iid):
    lm, step = iid
    log_eos, log_r = float(step[EOS_ID]), np.delete(step, EOS_ID)
    enum = enumerate_strings(lm, [BOS_ID])
    # the model is i.i.d.: the same next-token distribution after every prefix
    assert np.ptp(enum.prefix_log_eos) < 1e-12 and np.ptp(enum.prefix_log_min) < 1e-12
    assert enum.prefix_log_eos[0] == pytest.approx(log_eos, abs=1e-14)
    measures = exact_measures(enum, ALPHAS)

    # an independent sum over the strings the enumeration keeps: exact, whatever was pruned
    same = count_sums(log_eos, log_r, ALPHAS, log_min_prob=math.log(enum.min_prob), max_len=enum.max_len)
    assert same["margin"] > 1e-9  # no string sits so close to the threshold that rounding could decide it
    assert same["strings"] == pytest.approx(len(enum.tokens), rel=1e-12)
    assert measures.mass == pytest.approx(same["mass"], rel=1e-12)
    assert 1.0 - same["mass"] == pytest.approx(enum.pruned_mass, rel=1e-4, abs=1e-15)
    for key, value in (("entropy", measures.entropy), ("varentropy", measures.varentropy)):
        assert value == pytest.approx(same[key], rel=1e-10, abs=1e-12), key
    for a in ALPHAS:
        assert measures.renyi[a] == pytest.approx(same[a], rel=1e-10, abs=1e-12), a

    # against the closed form of the untruncated model: off by the pruned part only, within its bounds
    exact = closed_form(log_eos, log_r, ALPHAS)
    assert enum.pruned_mass < 1e-8
    assert 0.0 <= exact["entropy"] - measures.entropy <= measures.entropy_error_bound + 1e-12
    # σ² has no bound: the missing strings weigh about pruned_mass · (log p + H)² ≈ 4e-9 · 30²
    assert abs(exact["varentropy"] - measures.varentropy) < 1e-5
    for a in ALPHAS:
        assert abs(exact[a] - measures.renyi[a]) <= measures.renyi_error_bound[a] + 1e-12
        if a > 1:
            assert abs(exact[a] - measures.renyi[a]) < 1e-8, a
