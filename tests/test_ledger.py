"""The claim ledger: its verdicts, each asserted here from evidence computed independently of the ledger's code."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from tests.reference import is_tight_spec, unigram_closed_forms
from typicality.ledger import ORDER, REGISTRY, run_ledger

# The verdict of every claim, and the independent check below that supports it.
EXPECTED = {
    "eq8": "holds-corrected",
    "eq11": "holds",
    "prop1": "holds",
    "prop2": "holds",
    "prop3": "false-as-stated",
    "prop3_corrected": "holds-corrected",
    "prop4": "holds",
    "prop5": "holds",
    "lemma1": "holds",
    "cor1": "holds-corrected",
    "cor2": "holds-corrected",
    "cor3": "holds-corrected",
    "thm2_upper": "holds",
    "thm2_lower": "holds-corrected",
    "example1": "holds",
    "eq41": "false-as-stated",
    "alg1": "holds",
    "imha_official": "artifact",
    "cramers_v": "artifact",
    "simpson": "false-as-stated",
    "c8": "false-as-stated",
}


@pytest.fixture(scope="module")
def ledger():
    return {e.id: e for e in run_ledger()}


def test_every_claim_has_its_expected_verdict_and_passing_evidence(ledger):
    assert list(ledger) == ORDER and set(ORDER) == set(EXPECTED) == set(REGISTRY)
    for cid, entry in ledger.items():
        assert entry.verdict == EXPECTED[cid], (cid, entry.verdict)
        assert entry.ok, [ev.description for ev in entry.evidence if not ev.passed]
        if entry.verdict not in ("pending", "artifact"):
            assert entry.evidence and "symbolic" in entry.levels
        if entry.verdict == "false-as-stated":
            assert "counterexample" in entry.levels, cid
        assert entry.to_json_dict()["evidence"] == entry.levels


def test_json_entries_have_the_contract_keys(ledger):
    import json

    from typicality import jsonio

    data = json.loads(jsonio.dumps([e.to_json_dict() for e in ledger.values()]))
    for item in data:
        assert set(item) == {"id", "verdict", "evidence", "details"}
        assert item["details"]["statement"]


def test_a_failed_check_changes_the_verdict():
    from typicality.ledger.core import Claim, Evidence

    bad = Claim("x", "x", "x", "x", "holds", lambda: [Evidence("property", "fails", False)])
    entry = bad.check()
    assert entry.verdict == "check-failed" and not entry.ok
    crash = Claim("y", "y", "y", "y", "holds", lambda: 1 / 0)
    entry = crash.check()
    assert entry.verdict == "check-failed" and "ZeroDivisionError" in entry.evidence[0].description


# ----- independent evidence for the verdicts ------------------------------------------------------------------------
def c1_closed_forms(alphas=()):
    return unigram_closed_forms([Fraction(1, 4), Fraction(1, 4)], Fraction(1, 2), alphas)


def test_prop3_false_and_cor1_by_closed_forms():
    """C1 is eos-bounded (ξ = ½) with H = 3 ln 2 but Σ p^α = ∞ for α ≤ ½; the uniform 3-way model (a zero-weight
    Transformer) likewise diverges for α ≤ log 2 / log 3."""
    ref = c1_closed_forms(("0.5", "0.25", "0.6"))
    assert ref["eos_bound"] == 0.5 and float(ref["entropy"]) == pytest.approx(3 * math.log(2))
    assert ref["renyi[0.5]"] == ref["renyi[0.25]"] == float("inf") and math.isfinite(ref["renyi[0.6]"])
    third = Fraction(1, 3)
    uniform = unigram_closed_forms([third, third], third, ("0.6", "0.65"))
    assert uniform["renyi[0.6]"] == float("inf") and math.isfinite(uniform["renyi[0.65]"])


def test_prop3_corrected_bound_holds_on_one_state_models():
    """α₀ (closed form: root of Σ p_a^α = 1) ≤ log|Σ| / (log|Σ| + log 1/(1−ξ)) on a grid of one-state models."""
    for k in (2, 3, 5):
        for eos in (Fraction(1, 10), Fraction(1, 2), Fraction(9, 10)):
            probs = [(1 - eos) / k] * k
            alpha0 = float(unigram_closed_forms(probs, eos)["alpha0"])
            bound = math.log(k) / (math.log(k) + math.log(1 / (1 - float(eos))))
            assert alpha0 <= bound + 1e-12  # equality for uniform symbols: the bound is sharp


def test_cor2_c2_is_tight_but_not_eos_bounded():
    contexts = {"": {"a": Fraction(1)}, "a": {"b": Fraction(1)}, "b": {"a": Fraction(1, 2), "</s>": Fraction(1, 2)}}
    assert is_tight_spec(2, contexts) == (True, False)


def test_eq8_c7_normalizer_diverges_at_tau_2():
    """Σ_y p(y)^{1/2} for C1: every length contributes 2ⁿ (½ 4⁻ⁿ)^{1/2} = 2^{−1/2}."""
    terms = [2**n * (0.5 * 4.0**-n) ** 0.5 for n in range(60)]
    assert all(t == pytest.approx(2**-0.5) for t in terms)


def test_eq41_tempered_targets_differ():
    prior = np.array([0.5, 0.3, 0.2])
    reward = np.array([-1.0, 0.0, -2.0])
    aligned = prior * np.exp(reward) / np.sum(prior * np.exp(reward))
    for tau, differs in ((1.0, False), (2.0, True)):
        true = aligned ** (1 / tau) / np.sum(aligned ** (1 / tau))
        paper = np.exp(reward) * prior ** (1 / tau)
        paper /= paper.sum()
        assert bool(np.abs(true - paper).sum() > 0.1) is differs


def test_c8_and_simpson_tempered_model_has_no_tradeoff():
    """p₊ ∝ prior²: the reward is an increasing affine function of log prior, so every corpus average is too."""
    prior = np.random.default_rng(3).dirichlet(np.ones(20))
    aligned = prior**2 / np.sum(prior**2)
    reward = np.log(aligned) - np.log(prior)
    slope, intercept = np.polyfit(np.log(prior), reward, 1)
    assert slope == pytest.approx(1.0) and np.allclose(reward, slope * np.log(prior) + intercept)


def test_simpson_toy_correlations_weighted_and_unweighted():
    """The official toy recipe (numpy legacy seed 42), recomputed here: unweighted r = 0.49, p₊-weighted r = −0.13."""
    rs = np.random.RandomState(42)
    aligned = rs.dirichlet(0.1 * np.ones(1000))
    x = aligned ** (1 / 42) + rs.uniform(-0.42, 0.42, 1000)
    prior = np.exp(x) / np.exp(x).sum()
    lp, r = np.log(prior), np.log(aligned / prior)
    assert stats.pearsonr(lp, r)[0] == pytest.approx(0.4856, abs=1e-3)
    w = aligned
    cov = np.sum(w * (lp - w @ lp) * (r - w @ r))
    weighted = cov / np.sqrt(np.sum(w * (lp - w @ lp) ** 2) * np.sum(w * (r - w @ r) ** 2))
    assert weighted == pytest.approx(-0.1294, abs=1e-3)
