"""The miniature report's statistics on inputs whose answers are known in closed form (no models needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from typicality.lm.mini import report


def test_clustered_standard_error_with_singleton_clusters_is_the_iid_one():
    x = np.random.default_rng(0).normal(size=50)
    m, se = report._clustered_mean(x, np.arange(50))
    assert m == pytest.approx(x.mean()) and se == pytest.approx(x.std(ddof=1) / math.sqrt(50), rel=1e-12)


def test_clustered_standard_error_of_duplicated_values_is_that_of_the_clusters():
    """Each cluster holds its value twice: the strings add no information beyond the clusters'."""
    x = np.random.default_rng(1).normal(size=40)
    m, se = report._clustered_mean(np.repeat(x, 2), np.repeat(np.arange(40), 2))
    assert m == pytest.approx(x.mean()) and se == pytest.approx(x.std(ddof=1) / math.sqrt(40), rel=1e-12)
    assert report._clustered_mean(np.array([]), np.array([])) == (None, None)
    assert report._clustered_mean(np.array([1.0, 2.0]), np.array([0, 0]))[1] is None  # one cluster: no error


def test_weighted_mean_is_the_mean_of_the_repeated_values():
    x, w = np.array([1.0, 4.0, -2.0]), np.array([3.0, 0.0, 1.0])
    m, se = report._weighted_mean(x, w, ess=4.0)
    rep = np.array([1.0, 1.0, 1.0, -2.0])
    assert m == pytest.approx(rep.mean()) and se == pytest.approx(rep.std(ddof=0) / 2.0)
    assert report._weighted_mean(x, w, ess=None)[1] is None
    assert report._weighted_mean(x, np.zeros(3), ess=4.0) == (None, None)


@pytest.mark.parametrize(("diff", "se", "decision"), [(3.0, 1.0, "agrees"), (2.99, 1.0, "undecided"),
                                                      (-3.0, 1.0, "contradicts"), (1.0, None, "undecided"),
                                                      (None, None, "n/a")])
def test_decisions_at_three_standard_errors(diff, se, decision):
    assert report._decide(diff, se)["decision"] == decision
    assert report._decide(10.0, 1.0, low_ess=True)["decision"] == "undecided"


def _scheme(name, adaptor, tau, lp, r, ess=100.0):
    level = {"log_prior": lp, "log_prior_se": 1.0, "reward": r, "reward_se": 0.01}
    return {"name": name, "adaptor": adaptor, "base": name.rsplit("@t", 1)[0], "temperature": tau,
            "local": level, "global": dict(level), "ess_log_prior": ess, "ess_reward": ess}


def test_section7_comparisons_on_constructed_schemes():
    schemes = [_scheme("top_p0.9@t0.5", "top_p", 0.5, -10, 0.5), _scheme("top_p0.9@t1", "top_p", 1.0, -20, 0.6),
               _scheme("top_p0.95@t0.5", "top_p", 0.5, -12, 0.5), _scheme("top_p0.95@t1", "top_p", 1.0, -19, 0.5),
               _scheme("ancestral@t1", "ancestral", 1.0, -30, 0.7, ess=5.0)]
    s7 = report._section7(schemes, "local")
    steps = {c["base"]: c for c in s7["temperature"]}
    assert steps["top_p0.9"]["log_prior"]["decision"] == "agrees"  # −10 → −20: 10/√2 standard errors
    assert steps["top_p0.9"]["reward"]["decision"] == "agrees"      # 0.5 → 0.6: 0.1/(0.01√2) = 7.1
    assert steps["top_p0.95"]["reward"]["decision"] == "undecided"  # no change
    anc = {c["base"]: c for c in s7["vs_ancestral"]}
    assert anc["top_p0.9"]["reward"]["decision"] == "agrees" and anc["top_p0.95"]["log_prior"]["decision"] == "agrees"
    nuc = {c["temperature"]: c for c in s7["nucleus"]}
    assert nuc[0.5]["log_prior"]["decision"] == "undecided"  # 2/√2 = 1.4 standard errors
    assert nuc[1.0]["reward"]["decision"] == "contradicts"  # 0.90's reward is the higher
    assert s7["summary"]["temperature.log_prior"] == {"agrees": 2, "contradicts": 0, "undecided": 0, "n/a": 0,
                                                      "total": 2}
    # globally, a scheme resting on ESS < 20 decides nothing (ancestral is exempt: its chain is the sample)
    low = [dict(s, ess_log_prior=5.0, ess_reward=5.0) if s["adaptor"] != "ancestral" else s for s in schemes]
    g = report._section7(low, "global")
    assert all(c["log_prior"]["decision"] == "undecided" for c in g["temperature"] + g["vs_ancestral"])


def test_the_committed_report_is_rendered_from_its_json():
    """experiments/mini/full/report.md holds exactly the numbers of report.json (regenerate both together:
    python -m typicality.lm.mini.report RUN experiments/mini/full)."""
    import json
    from pathlib import Path

    full = Path(__file__).resolve().parent.parent / "experiments" / "mini" / "full"
    rep = json.loads((full / "report.json").read_text(encoding="utf-8"))
    assert (full / "report.md").read_text(encoding="utf-8") == report.render_markdown(rep)
    assert rep["size"] == "full" and len(rep["studies"]["rlhf"]["schemes"]) == 31
    assert rep["total_seconds"] < 1800  # the budget: under 30 minutes on 2 cores, training included
