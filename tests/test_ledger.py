"""The claim ledger: its verdicts, each asserted here from evidence computed independently of the ledger's code."""

from __future__ import annotations

import itertools
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
    "s62_tradeoff": "not-reproduced",
    "s62_acceptance": "artifact",
    "s7_logprior": "reproduced",
    "s7_reward": "not-reproduced",
    "appf_dpo": "reproduced",
    "cor1_bounded_logits": "holds",
    "appf_dpo_sign": "artifact",
    "c9": "false-as-stated",
    "c12": "artifact",
}
#: the claims checked on the offline miniature's committed report
MINIATURE = {"s62_tradeoff", "s62_acceptance", "s7_logprior", "s7_reward", "appf_dpo"}


@pytest.fixture(scope="module")
def ledger():
    return {e.id: e for e in run_ledger()}


def test_every_claim_has_its_expected_verdict_and_passing_evidence(ledger):
    assert list(ledger) == ORDER and set(ORDER) == set(EXPECTED) == set(REGISTRY)
    for cid, entry in ledger.items():
        assert entry.verdict == EXPECTED[cid], (cid, entry.verdict)
        assert entry.ok, [ev.description for ev in entry.evidence if not ev.passed]
        if cid in MINIATURE:
            assert entry.levels == ["empirical (miniature)"], (cid, entry.levels)
        elif entry.verdict not in ("pending", "artifact"):
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


def test_parallel_checking_gives_the_sequential_entries_in_order(ledger):
    ids = ["prop3", "eq8", "cor2", "prop1"]
    finished = []
    entries = run_ledger(ids, jobs=2, done=lambda e: finished.append(e.id))
    assert [e.id for e in entries] == ids and sorted(finished) == sorted(ids)
    for e in entries:
        assert (e.verdict, e.levels, e.ok) == (ledger[e.id].verdict, ledger[e.id].levels, ledger[e.id].ok)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="jobs"):
            run_ledger(ids, jobs=bad)


def test_verify_shows_one_line_per_claim_on_a_terminal(monkeypatch, capsys):
    import io
    import sys

    from typicality.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["verify", "--only", "prop3", "eq8"]) == 0
    lines = term.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].split()[:4] == ["[", "1/2]", "prop3", "false-as-stated"]
    assert "ok" in lines[1]
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: nothing but the table
    assert main(["verify", "--only", "prop3"]) == 0
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(SystemExit):
        main(["verify", "--jobs", "0"])
    assert "--jobs must be at least 1" in sys.stderr.getvalue()


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


# ----- the miniature's claims: the committed report, read without the ledger's code --------------------------------
def _mini_report():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "experiments" / "mini" / "full" / "report.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_miniature_corpus_correlations_from_the_corpus_points():
    """s62_tradeoff and appf_dpo: Pearson r of the committed corpus points, by scipy."""
    rep = _mini_report()
    for name, level, expected in (("rlhf", "global", lambda r: -0.5 < r < 0), ("rlhf", "local", lambda r: r > 0),
                                  ("dpo", "global", lambda r: r <= -0.5)):
        pts = np.array([p for s in rep["studies"][name]["schemes"] for p in s["corpus"][level]], dtype=float)
        r = stats.pearsonr(pts[:, 0], pts[:, 1]).statistic
        assert expected(r), (name, level, r)
        assert r == pytest.approx(rep["studies"][name]["correlations"][level]["corpus_pearson"], abs=1e-9)
    assert rep["studies"]["rlhf"]["correlations"]["global"]["string_pearson"] < 0


def test_miniature_acceptance_and_orderings_from_the_scheme_means():
    """s62_acceptance, s7_logprior, s7_reward: acceptance from the accepted counts; the orderings from the
    per-scheme local means and standard errors (a one-sided normal test at 3 standard errors)."""
    rep = _mini_report()
    for name in ("rlhf", "dpo"):
        rates = [s["accepted"] / s["proposals"] for s in rep["studies"][name]["schemes"] if s["adaptor"] != "ancestral"]
        assert len(rates) == 30 and max(rates) < 0.9999
    by = {s["name"]: s for s in rep["studies"]["rlhf"]["schemes"]}
    taus = ["0.5", "0.75", "1", "1.25", "1.5"]
    bases = ["top_k30", "top_k50", "top_p0.9", "top_p0.95", "typical0.9", "eta0.0009"]

    def z(a, b, what):
        x, y = by[a]["local"], by[b]["local"]
        return (x[what] - y[what]) / math.hypot(x[what + "_se"], y[what + "_se"])

    falls = [z(f"{b}@t{t0}", f"{b}@t{t1}", "log_prior") for b in bases for t0, t1 in itertools.pairwise(taus)]
    assert min(falls) >= 3  # the log-prior falls with τ at every step
    assert min(z(f"{b}@t1", "ancestral@t1", "log_prior") for b in bases) >= 3
    rises = [z(f"{b}@t{t1}", f"{b}@t{t0}", "reward") for b in bases for t0, t1 in itertools.pairwise(taus)]
    assert max(rises) < 3 and min(rises) <= -3  # the reward never rises significantly with τ, and sometimes falls
    below = [z("ancestral@t1", f"{b}@t1", "reward") for b in bases]
    assert max(below) < 3 and min(below) <= -3


def test_miniature_evidence_fails_when_the_report_disagrees(monkeypatch):
    """The miniature's evidence can fail: corpus points that no longer give the printed r, or a scheme accepting
    every proposal, make the checks fail."""
    import copy

    from typicality.ledger import mini_claims

    rep = _mini_report()
    broken = copy.deepcopy(rep)
    for s in broken["studies"]["rlhf"]["schemes"]:
        s["corpus"]["global"] = [[x, -x] for x, _ in s["corpus"]["global"]]
    monkeypatch.setattr(mini_claims, "_load", lambda: broken)
    assert not REGISTRY["s62_tradeoff"].check().ok
    broken = copy.deepcopy(rep)
    s = broken["studies"]["dpo"]["schemes"][0]
    s["accepted"] = s["proposals"]
    monkeypatch.setattr(mini_claims, "_load", lambda: broken)
    assert not REGISTRY["s62_acceptance"].check().ok
    monkeypatch.setattr(mini_claims, "_load", lambda: None)
    entry = REGISTRY["s7_logprior"].check()
    assert all(e.skipped for e in entry.evidence) and "not part of this installation" in entry.evidence[0].description


def test_the_c1_and_baer_evidence_fail_on_a_wrong_model():
    """The certified divergence of Σ p^½ is computed from the model's transitions and Baer's H = ∞ from the model's
    own probabilities: a wrong model makes each fail (they are not restatements of closed forms)."""
    import mpmath

    from typicality.ledger import model_claims, renyi_claims
    from typicality.models import BaerLM, NGramLM

    assert renyi_claims._certified_c1_divergence().passed
    converging = NGramLM(1, "</s>", {"": {"a": "0.125", "b": "0.125", "</s>": "0.75"}})  # Σ p^½ < ∞
    assert not renyi_claims._certified_c1_divergence(converging).passed

    class Perturbed(BaerLM):  # p(a | a^1500) off by one part in 10^20
        def next_symbol_distribution(self, prefix, *, dps=None):
            cont, stop = super().next_symbol_distribution(prefix, dps=dps)
            if len(prefix) == 1500:
                cont = cont * (1 - mpmath.mpf(10) ** -20)
            return np.array([cont, stop], dtype=object)

    assert model_claims._certified_baer().passed
    assert not model_claims._certified_baer(Perturbed()).passed


def test_the_official_imha_rule_is_run_not_assumed():
    """The artifact is shown by running the official acceptance expression: with the comma removed (the intended
    test) the evidence fails, and the expression itself accepts everything whatever the weights."""
    from typicality.ledger import adaptor_claims

    assert adaptor_claims._official_rule_run().passed
    assert not adaptor_claims._official_rule_run(adaptor_claims.intended_acceptance).passed
    assert adaptor_claims.official_acceptance(-1000.0, 0.999) is True
    assert adaptor_claims.intended_acceptance(-1000.0, 0.999) is False


def test_prop1_evidence_fails_when_the_library_is_off_and_needs_informative_examples(monkeypatch):
    """Prop. 1's property is checked against an independent 50-digit computation: a tradeoff constant off by 1e-9
    fails it; and a property whose examples are all uninformative fails for lack of power."""
    import dataclasses

    from hypothesis import strategies as st

    from typicality import bounds as B
    from typicality.ledger import aep_claims
    from typicality.ledger.properties import property_check

    good = aep_claims.prop1()[1]
    assert good.passed and good.details["informative"] >= 30 and good.details["min_ratio"] >= 1
    original = B.tradeoff
    monkeypatch.setattr(B, "tradeoff", lambda *a, **k: dataclasses.replace(original(*a, **k),
                                                                          constant=original(*a, **k).constant + 1e-9))
    assert not aep_claims.prop1()[1].passed
    idle = property_check("nothing can fail", lambda x: {"informative": False}, st.integers(), min_informative=5)
    assert not idle.passed and "0 of" in idle.description


def test_the_dpo_sign_artifact_is_shown_by_the_official_expression():
    """With Eq. 4's sign in place of the official expression the evidence fails (the 'trade-off' disappears)."""
    from typicality.ledger import corpus_claims

    assert corpus_claims._dpo_sign_flip().passed
    assert not corpus_claims._dpo_sign_flip(official=lambda lp, la: la - lp).passed
    lp, la = np.log([0.5, 0.25]), np.log([0.7, 0.1])
    np.testing.assert_allclose(corpus_claims.official_secret_reward(lp, la), lp - la)


def test_eq8_zero_normalizer_within_the_hypothesis_and_the_library_witness_for_simpson():
    """Z_T = 0 < ∞ (the paper's only hypothesis) already breaks 'π_T is always tight': the evidence enumerates the
    weights and fails on a model whose eos can be the top symbol. The Simpson witness is the library's tilt of a
    FiniteSupportLM, checked here against prior² computed directly."""
    from typicality.ledger import adaptor_claims, corpus_claims
    from typicality.models import NGramLM

    assert adaptor_claims._zero_normalizer().passed
    eos_on_top = NGramLM(1, "</s>", {"": {"a": "0.3", "b": "0.2", "</s>": "0.5"}})
    assert not adaptor_claims._zero_normalizer(eos_on_top).passed
    prior, aligned, reward = corpus_claims._tempered_model()
    np.testing.assert_allclose(aligned, prior**2 / np.sum(prior**2), rtol=1e-12)
    np.testing.assert_allclose(reward, np.log(prior), rtol=1e-12)


def test_the_aep_properties_have_power(monkeypatch):
    """ε is chosen so that the bounds are informative: a Chebyshev bound that is a tenth too small is caught."""
    from typicality import bounds as B
    from typicality.ledger import aep_claims

    good = aep_claims.eq11()[2]
    assert good.level == "property" and good.passed and good.details["informative"] >= 12
    original = B.chebyshev_bound
    monkeypatch.setattr(B, "chebyshev_bound", lambda *a, **k: original(*a, **k) / 10)
    assert not aep_claims.eq11()[2].passed


def test_c9_and_c12_evidence_have_teeth():
    """c9's enumeration fails on a uniform distribution (every corpus equally probable, nothing to show); c12's
    targets coincide at τ = 1, the control that makes their distance at τ = 0.7 meaningful."""
    from fractions import Fraction

    from typicality.ledger import adaptor_claims, corpus_claims

    assert corpus_claims._most_probable_corpus_is_atypical().passed
    assert not corpus_claims._most_probable_corpus_is_atypical(probs=(Fraction(1, 4),) * 4).passed
    e = adaptor_claims._official_target_differs()
    assert e.passed and e.details["tv_tau_1"] < 1e-12 < 0.05 < e.details["tv_tau_0.7"]


def test_eq41_truncation_half_fails_without_truncation():
    """With top-3 on 3 strings nothing is truncated and the two targets agree: the evidence then fails."""
    from typicality.ledger import adaptor_claims

    assert adaptor_claims._truncation_counterexample().passed
    assert not adaptor_claims._truncation_counterexample(k=3).passed
