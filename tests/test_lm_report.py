"""The report of the real-model study: the figure and report.md are written, complete, and atomically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_lm_analysis import finite_model, hand_table, sample_table, scheme
from typicality.adaptors import Compose, make
from typicality.lm.analysis import ALL_ABLATIONS, AnalysisOptions, analyze
from typicality.lm.report import write_figure, write_report

META = {"models": {"aligned": "tiny-aligned", "prior": "tiny-prior", "reward": "tiny-rm"}, "n_prompts": 150,
        "samples_per_prompt": 2, "versions": {"python": "3.11", "torch": "none"}, "device": "cpu",
        "stage_seconds": {"sample": 1.5, "score": 2.25, "analysis": 0.5}}


@pytest.fixture(scope="module")
def study():
    model = finite_model(7)
    adaptors = {"top_k2@t1.0": make("top_k", k=2), "top_p0.9@t1.0": make("top_p", p=0.9),
                "t0.7@t0.7": make("temperature", t=0.7),
                "top_p0.9@t1.0+hf_top_k50": Compose(make("top_p", p=0.9), make("top_k", k=2))}
    frames = [sample_table(name, model, a, 300, seed=i)[0] for i, (name, a) in enumerate(adaptors.items())]
    samples = pd.concat(frames, ignore_index=True)
    schemes = [scheme("top_k2@t1.0"), scheme("top_p0.9@t1.0", adaptor="top_p"),
               scheme("t0.7@t0.7", adaptor="temperature", temperature=0.7),
               scheme("top_p0.9@t1.0+hf_top_k50", base="top_p0.9@t1.0", adaptor="top_p")]
    analysis = analyze(samples, schemes, AnalysisOptions(bootstrap_corpora=10, paper_chain_length=2000))
    return samples, analysis


def test_figure_and_report_are_written_atomically(tmp_path, study):
    samples, analysis = study
    png = write_figure(analysis, samples, tmp_path / "fig2.png")
    md = write_report(analysis, META, str(tmp_path / "report.md"))
    assert png == tmp_path / "fig2.png" and md == tmp_path / "report.md"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig2.png", "report.md"]  # no temporary files left
    text = md.read_text(encoding="utf-8")
    for entry in analysis["schemes"]:
        assert f"| {entry['name']} |" in text
    assert "top_p0.9@t1.0+hf_top_k50" not in text.split("## Per scheme")[1].split("## Pooled")[0]
    ablations = text.split("## Ablations")[1]
    for name in ALL_ABLATIONS:
        assert f"| {name} |" in ablations
    assert "| flipped_dpo_sign | skipped |" in ablations
    for needle in ("tiny-aligned", "## Simpson check", "u(x)·π̃_T(y|x)", "stage seconds: sample: 1.5 s",
                   "Pooled correlations"):
        assert needle in text
    # rewriting replaces the files in place
    write_report(analysis, META, md)
    write_figure(analysis, samples, png)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig2.png", "report.md"]


def test_undefined_values_and_minus_infinity(tmp_path):
    t = hand_table()
    t.loc[1, "logp_prior"] = -np.inf
    t.loc[1, "logp_prior_eos"] = -np.inf
    schemes = [scheme("A"), scheme("B")]
    analysis = analyze(t, schemes, AnalysisOptions(ablations=("clamp_25",)))
    write_figure(analysis, t, tmp_path / "f.png")
    text = write_report(analysis, {}, tmp_path / "r.md").read_text(encoding="utf-8")
    assert "n/a" in text and "not given" in text and "prior probability 0" in text


def test_bad_input(tmp_path, study):
    samples, analysis = study
    with pytest.raises(TypeError, match="analysis must be the dict"):
        write_report([], META, tmp_path / "r.md")
    with pytest.raises(ValueError, match="lacks the key"):
        write_report({"schemes": []}, META, tmp_path / "r.md")
    with pytest.raises(TypeError, match="meta must be a dict"):
        write_report(analysis, None, tmp_path / "r.md")
    other = samples.copy()
    other["prompt_index"] += 10_000
    with pytest.raises(ValueError, match="not in samples"):
        write_figure(analysis, other, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_the_terminal_summary_of_a_scheme_whose_strings_were_all_capped():
    """A scheme with no ended string has no local or global means (None): the summary prints '-' (it raised
    TypeError before)."""
    from typicality.lm.cli import format_summary

    capped = {"name": "eta0.3@t1", "n": 0, "n_capped": 12, "local": None, "global": None, "acceptance_rate": None,
              "cramers_v": None, "cramers_v_corrected": None}
    ended = {"name": "ancestral@t1", "n": 3, "n_capped": 1, "local": {"mean_logprob_prior": -4.5, "mean_reward": 0.25},
             "global": {"mean_logprob_prior": -4.0, "mean_reward": 0.5}, "acceptance_rate": 0.5, "cramers_v": 0.1,
             "cramers_v_corrected": 0.0}
    text = format_summary({"schemes": [ended, capped], "string_spearman": None, "string_pearson": 0.1,
                           "corpus_spearman": None, "corpus_pearson": None}, "out")
    row = next(line for line in text.splitlines() if line.startswith("eta0.3@t1"))
    assert row.split()[1:4] == ["0", "12", "-"]
    assert "-4.50" in text and "0.250" in text
