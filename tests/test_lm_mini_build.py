"""The miniature end to end at its CI size (tiny models, a reduced grid): every stage runs, the outputs are complete
and consistent, a second run reuses everything, a changed configuration is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from typicality.lm.mini.build import build_models, run_mini, sizes


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    return root, run_mini(root, "ci")


def test_every_stage_and_scheme_is_there(mini):
    root, r = mini
    assert set(r["training"]) == {"corpus", "tokenizer", "prior", "rloo", "pairs", "dpo"}
    for info in r["training"].values():
        assert info["stage_seconds"] >= 0
    schemes = {s["name"] for s in r["studies"]["rlhf"]["schemes"]}
    assert schemes == {s["name"] for s in r["studies"]["dpo"]["schemes"]} and len(schemes) == 3
    assert set(r["studies"]) == {"rlhf", "dpo", "prior"}
    assert [s["name"] for s in r["studies"]["prior"]["schemes"]] == ["ancestral@t1"]
    for name, study in r["studies"].items():
        drawn = (1 if name == "prior" else 3) * study["n_prompts"] * r["sizes"]["study"]["samples_per_prompt"]
        assert study["n_prompts"] == r["training"]["corpus"]["prompts"]
        assert study["n_strings"] + study["n_capped"] == drawn
        for s in study["schemes"]:
            assert 0 < s["acceptance_rate"] <= 1
    # the run's summary holds the studies' own results
    for name in ("rlhf", "dpo"):
        on_disk = json.loads((root / f"study-{name}" / "results.json").read_text())
        assert on_disk["schemes"] == r["studies"][name]["schemes"]


def test_dpo_secret_reward_is_the_log_ratio_of_the_two_models(mini):
    """r = β·(log p_dpo − log p_prior) per string, so avg log p_prior + avg r/β = avg log p_dpo on every corpus."""
    import pandas as pd

    root, r = mini
    beta = r["sizes"]["dpo"]["beta"]
    d = pd.read_parquet(root / "study-dpo" / "samples.parquet")
    np.testing.assert_allclose(d["reward"], beta * (d["logp_aligned"] - d["logp_prior"]), rtol=1e-9, atol=1e-12)
    for _, g in d.groupby("scheme"):
        assert g["logp_prior"].mean() + g["reward"].mean() / beta == pytest.approx(g["logp_aligned"].mean(),
                                                                                   rel=1e-9, abs=1e-9)


def test_rlhf_reward_is_vader_in_its_bounds(mini):
    import pandas as pd

    root, _ = mini
    d = pd.read_parquet(root / "study-rlhf" / "samples.parquet")
    assert d["reward"].between(-1, 1).all()


def test_second_run_reuses_every_stage_and_a_changed_config_is_refused(mini):
    root, first = mini
    logs: list[str] = []
    again = build_models(root, sizes("ci"), log=logs.append)
    assert all("done earlier" in line for line in logs) and len(logs) == 6
    assert again["info"] == first["training"]
    changed = sizes("ci")
    changed["prior"]["steps"] += 1
    with pytest.raises(ValueError, match=r"stage 'prior'.*steps.*--force"):
        build_models(root, changed)


def test_prompts_that_do_not_fit_the_context_are_refused(tmp_path):
    s = sizes("ci")
    s["study"]["max_new_tokens"] = 60
    with pytest.raises(ValueError, match=r"study.max_new_tokens = 60 plus the longest prompt"):
        build_models(tmp_path, s)


def test_cli_lists_the_mini_presets_and_refuses_overrides(capsys):
    from typicality.cli import main

    assert main(["lm", "presets"]) == 0
    out = capsys.readouterr().out
    assert "mini " in out and "mini-ci" in out
    assert main(["lm", "run", "mini-ci", "--out", "unused", "--set", "sampling.seed=1"]) == 2
    assert "do not apply to the 'mini-ci' preset" in capsys.readouterr().err


def test_full_size_fits_the_prior_context_and_runs_the_paper_grid():
    from typicality.lm.mini.build import paper_schemes

    full = sizes("full")
    assert full["study"]["schemes"] == "paper" and len(paper_schemes()) == 7  # 6 adaptors × 5 temperatures + 1
    for stage in ("rloo", "pairs", "study"):
        assert full[stage]["max_new_tokens"] + 16 <= full["prior"]["context"]


# ----- the report ---------------------------------------------------------------------------------------------------
def test_report_is_complete_and_rendered_from_its_json(mini):
    from typicality.lm.mini.report import render_markdown

    root, r = mini
    out = root / "report"
    rep = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    assert md == render_markdown(rep)  # every number printed is the JSON's
    for name in ("tradeoff.png", "temperature.png", "acceptance.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("rlhf", "dpo"):
        got = {s["name"]: s for s in rep["studies"][name]["schemes"]}
        assert set(got) == {s["name"] for s in r["studies"][name]["schemes"]}
        for s in r["studies"][name]["schemes"]:
            g = got[s["name"]]
            assert 0 < g["acceptance"] <= 1 and g["acceptance"] == s["acceptance_rate"]
            assert g["accepted"] / g["proposals"] == pytest.approx(g["acceptance"], rel=1e-12)
            assert f"| {s['name']} | {g['n']} | {g['capped']} | {g['acceptance']:.3f} |" in md
    assert f"**{rep['total_seconds']:.1f}**" in md
    assert [row["stage"] for row in rep["stages"]] == ["corpus", "tokenizer", "prior", "rloo", "pairs", "dpo",
                                                       "study-rlhf", "study-dpo", "study-prior", "heldout"]
    assert rep["studies"]["dpo"]["identity"]["max_relative_deviation"] < 1e-12
    for row in rep["paper"]:
        assert row["agrees"] in ("yes", "no", "partly") and f"**{row['agrees']}**" in md


def test_report_means_are_those_of_the_strings(mini):
    """The report's local and global means, recomputed with pandas from samples.parquet and the chains' visits."""
    import pandas as pd

    root, r = mini
    rep = json.loads((root / "report" / "report.json").read_text())
    for name in ("rlhf", "dpo"):
        d = pd.read_parquet(root / f"study-{name}" / "samples.parquet")
        d = d[d["eos"]]
        for res, got in zip(r["studies"][name]["schemes"], rep["studies"][name]["schemes"], strict=True):
            g = d[d["scheme"] == res["name"]]
            assert got["local"]["log_prior"] == pytest.approx(g["logp_prior"].mean(), rel=1e-12)
            assert got["local"]["reward"] == pytest.approx(g["reward"].mean(), rel=1e-12, abs=1e-15)
            visits = pd.DataFrame(res["chain_visits"], columns=["prompt_index", "sample_index", "count"])
            m = g.merge(visits, on=["prompt_index", "sample_index"])
            assert m["count"].sum() == len(g)  # the chain has as many states as proposals + initial state
            assert got["global"]["reward"] == pytest.approx((m["reward"] * m["count"]).sum() / m["count"].sum(),
                                                            rel=1e-12, abs=1e-15)
    anc = pd.read_parquet(root / "study-rlhf" / "samples.parquet")
    anc = anc[(anc["scheme"] == "ancestral@t1") & anc["eos"]]
    assert rep["alignment"]["rlhf"]["kl"] == pytest.approx((anc["logp_aligned"] - anc["logp_prior"]).mean(),
                                                           rel=1e-12)
    prior = pd.read_parquet(root / "study-prior" / "samples.parquet")
    assert rep["alignment"]["prior"]["vader"] == pytest.approx(prior[prior["eos"]]["reward"].mean(), rel=1e-12,
                                                               abs=1e-15)
    held = json.loads((root / "heldout" / "heldout.json").read_text())
    assert rep["heldout"]["scored"] == len(held) and rep["heldout"]["texts"] == r["training"]["corpus"]["prompts"]


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    from typicality.lm.mini.report import build_report, main

    with pytest.raises(ValueError, match=r"root has no mini\.json"):
        build_report(tmp_path)
    assert main([str(tmp_path)]) == 2
    assert "root has no mini.json" in capsys.readouterr().err
    assert main([]) == 2
