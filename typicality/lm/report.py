"""The report of the real-model study: a figure in the style of the paper's Fig. 2 and a short ``report.md``.

Both read the dict of :func:`typicality.lm.analysis.analyze` (the figure also the samples table, to place the
chain's states); both are written atomically (a temporary file in the same folder, then ``os.replace``), so a
reader never sees half a file. matplotlib is imported inside :func:`write_figure` only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import write_atomic
from typicality.lm.analysis import ABLATION_DESCRIPTIONS, OURS, string_values
from typicality.lm.store import savefig_atomic


def _check_analysis(analysis: Any) -> None:
    if not isinstance(analysis, Mapping):
        raise TypeError(f"analysis must be the dict that analyze returns, got {type(analysis).__name__}")
    missing = [k for k in ("schemes", "options", "string_pearson", "corpus_pearson", "simpson", "ablations")
               if k not in analysis]
    if missing:
        raise ValueError(f"analysis lacks the key(s) {missing}: pass the dict that analyze returns")


def _fmt(x: Any, digits: int = 3) -> str:
    """A number for a table; undefined values (None) print as "n/a"."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) >= 1e4 or (x != 0 and abs(x) < 1e-3) else f"{x:.{digits}f}"
    return str(x)


def _delta(x: Any) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


# ----- the figure --------------------------------------------------------------------------------------------


def _colours(plt: Any, n: int) -> list:
    # tab10 for up to 10 schemes (distinct hues even when faded); tab20's pairs look alike at low alpha
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    cmap = plt.get_cmap("turbo")
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def write_figure(analysis: dict, samples: Any, path: str | os.PathLike) -> Path:
    """Fig. 2 of the paper, from our analysis: log-prior (x) against reward (y).

    Left, string level: the IMHA chain's states of every scheme (one colour per scheme, marker area ∝ visits).
    Right, corpus level: the corpus points (blocks of each chain; bootstrap corpora as small dots when the
    analysis drew them). Each panel's title gives the pooled Pearson r and Spearman ρ. Strings or points with a
    non-finite value (log-prior −∞) are not drawn; the analysis counts them.
    """
    _check_analysis(analysis)
    out = Path(path)
    beta = analysis["options"].get("secret_reward_beta")
    values = string_values(samples, OURS, secret_reward_beta=beta)
    scheme_col = samples["scheme"].to_numpy(dtype=object)
    prompt = samples["prompt_index"].to_numpy()
    sample = samples["sample_index"].to_numpy()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = analysis["schemes"]
    colours = _colours(plt, len(entries))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2))
    try:
        for entry, colour in zip(entries, colours, strict=True):
            visits = entry.get("chain_visits") or []
            if visits:
                rows = np.flatnonzero(scheme_col == entry["name"])
                where = {(int(prompt[r]), int(sample[r])): r for r in rows}
                try:
                    picked = np.array([where[(p, s)] for p, s, _ in visits])
                except KeyError as e:
                    raise ValueError(f"scheme {entry['name']!r}: the chain visits {e.args[0]} (prompt_index, "
                                     "sample_index), which is not in samples; pass the table that was "
                                     "analysed") from None
                counts = np.array([v for _, _, v in visits], dtype=np.float64)
                x, y = values.log_prior[picked], values.reward[picked]
                ok = np.isfinite(x) & np.isfinite(y)
                left.scatter(x[ok], y[ok], s=8 * np.sqrt(counts[ok]), color=colour, alpha=0.6, linewidths=0,
                             label=entry["name"])
            corpus = entry.get("corpus") or {}
            boot = (corpus.get("bootstrap") or {}).get("points") or []
            pts = np.array([p for p in boot if None not in p], dtype=np.float64).reshape(-1, 2)
            if len(pts):
                right.scatter(pts[:, 0], pts[:, 1], s=2, color=colour, alpha=0.25, linewidths=0)
            pts = np.array([p for p in corpus.get("global", []) if None not in p], dtype=np.float64).reshape(-1, 2)
            if len(pts):
                right.scatter(pts[:, 0], pts[:, 1], s=14, color=colour, alpha=0.85, linewidths=0,
                              label=entry["name"])
        reward_label = "secret reward β·(log p_aligned − log p_prior)" if beta is not None else "reward"
        left.set_xlabel("log p_prior(y)")
        left.set_ylabel(reward_label)
        left.set_title(f"strings (IMHA chain states): Pearson {_fmt(analysis['string_pearson'], 2)}, "
                       f"Spearman {_fmt(analysis['string_spearman'], 2)}", fontsize=9)
        right.set_xlabel("corpus average log p_prior")
        right.set_ylabel(f"corpus average {reward_label}")
        right.set_title(f"corpora (blocks of each chain): Pearson {_fmt(analysis['corpus_pearson'], 2)}, "
                        f"Spearman {_fmt(analysis['corpus_spearman'], 2)}", fontsize=9)
        handles, labels = right.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=7, frameon=False)
            fig.subplots_adjust(bottom=0.12 + 0.03 * ((len(labels) - 1) // 6))
        savefig_atomic(fig, out, dpi=120, bbox_inches="tight")  # a reader never sees half a PNG
    finally:
        plt.close(fig)
    return out


# ----- the report --------------------------------------------------------------------------------------------


def _mapping_lines(x: Any, unit: str = "") -> str:
    if isinstance(x, Mapping):
        return ", ".join(f"{k}: {f'{v:.4g}' if isinstance(v, float) else v}{unit}" for k, v in x.items()) or "—"
    if isinstance(x, Sequence) and not isinstance(x, str):
        return ", ".join(str(v) for v in x) or "—"
    return "not given" if x is None else str(x)


def _scheme_table(entries: list[dict]) -> list[str]:
    lines = ["| scheme | n | capped | local log-prior | local reward | global log-prior | global reward | "
             "acceptance | V | Ṽ | ESS log-prior / reward / length |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        local, glob = e.get("local") or {}, e.get("global") or {}
        ess = e.get("ess") or {}
        lines.append(
            f"| {e['name']} | {e['n']} | {e['n_capped']} | {_fmt(local.get('mean_logprob_prior'))} | "
            f"{_fmt(local.get('mean_reward'))} | {_fmt(glob.get('mean_logprob_prior'))} | "
            f"{_fmt(glob.get('mean_reward'))} | {_fmt(e.get('acceptance_rate'))} | {_fmt(e.get('cramers_v'))} | "
            f"{_fmt(e.get('cramers_v_corrected'))} | {_fmt(ess.get('log_prior'), 0)} / {_fmt(ess.get('reward'), 0)}"
            f" / {_fmt(ess.get('length'), 0)} |")
    undefined = [f"* {e['name']}: {k}: {v}" for e in entries for k, v in (e.get("undefined") or {}).items()]
    for level in ("local", "global"):
        undefined += [f"* {e['name']} ({level}): {k}: {v}" for e in entries
                      for k, v in ((e.get(level) or {}).get("undefined") or {}).items()]
    if undefined:
        lines += ["", "Undefined values (n/a):", *undefined]
    return lines


def _ablation_table(analysis: dict) -> list[str]:
    lines = ["| ablation | corpus r | Δ corpus r | string r | Δ string r | what changes |",
             "|---|---|---|---|---|---|",
             f"| ours | {_fmt(analysis['corpus_pearson'])} | | {_fmt(analysis['string_pearson'])} | | "
             "IMHA to π_T with eos, no clamp, prompt-conditioned prior, fresh proposals |"]
    for name, a in analysis["ablations"].items():
        description = a.get("description", ABLATION_DESCRIPTIONS.get(name, ""))
        if "skipped" in a:
            lines.append(f"| {name} | skipped | | | | {description}. Skipped: {a['skipped']} |")
            continue
        change = a.get("change") or {}
        lines.append(f"| {name} | {_fmt(a.get('corpus_pearson'))} | {_delta(change.get('corpus_pearson'))} | "
                     f"{_fmt(a.get('string_pearson'))} | {_delta(change.get('string_pearson'))} | {description} |")
    return lines


TARGET_NOTES = [
    "* Each scheme's chain uses its sampled strings as proposals, each once, in a seeded random order (the first "
    "is the initial state); the log-weight is log π̃_T(y|x) − log q_T(y|x) = Σ_t log Z_t. The chain's output "
    "includes the initial state, so with every proposal accepted it is the sample itself.",
    "* Pooled over prompts the chain targets π(x, y) ∝ u(x)·π̃_T(y|x) = u(x)·Z_T(x)·π_T(y|x): the global "
    "adaptor applied to \"pick a prompt uniformly, then continue\". Prompts are weighted by their normaliser "
    "Z_T(x); this is not the average over prompts of π_T(·|x).",
    "* The proposals are a stratified sample (every prompt the same number of times) in random order, not i.i.d. "
    "prompt draws: the prompt frequencies are fixed rather than multinomial, a finite-population effect that "
    "vanishes with the number of prompts.",
    "* The importance-sampling column of the JSON (Σ w f / Σ w over the same strings) estimates the same target "
    "with no code shared with the chain.",
    "* Cramér's V grows like sqrt((K − 1)/n) for independent draws (docs/theory.md#r3): it measures the chain length "
    "more than convergence; Bergsma's Ṽ removes that bias.",
    "* Capped strings (no eos) are not strings of Σ*: excluded unless include_capped, always counted. A log-prior "
    "of −∞ (prior probability 0) makes a mean undefined (n/a); such strings are excluded from correlations, with "
    "counts in the JSON.",
]


def write_report(analysis: dict, meta: dict, path: str | os.PathLike) -> Path:
    """``report.md``: models and configuration (from ``meta``: models, n_prompts, samples_per_prompt, versions,
    device, stage_seconds), the per-scheme table, the pooled correlations, the Simpson check, the ablation table
    (corpus- and string-level Pearson r and how far each moves from ours), and what the IMHA targets."""
    _check_analysis(analysis)
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    options = analysis["options"]
    beta = options.get("secret_reward_beta")
    reward = f"DPO secret reward β·(log p_aligned − log p_prior), β = {beta}" if beta else "the reward column"
    lines = ["# Probability–quality trade-off: the real-model study (§6.2" + (", App. F DPO" if beta else "") + ")",
             "", "## Models and configuration", "",
             f"* models: {_mapping_lines(meta.get('models'))}",
             f"* prompts: {_fmt(meta.get('n_prompts'))}, samples per prompt: {_fmt(meta.get('samples_per_prompt'))}",
             f"* strings analysed: {analysis.get('n_strings')} (capped: {analysis.get('n_capped')}, "
             f"{'included' if options.get('include_capped') else 'excluded'})",
             f"* device: {_mapping_lines(meta.get('device'))}",
             f"* versions: {_mapping_lines(meta.get('versions'))}",
             f"* stage seconds: {_mapping_lines(meta.get('stage_seconds'), ' s')}",
             "* analysis options: " + ", ".join(f"{k} = {v}" for k, v in options.items() if k != "ablations"),
             f"* reward: {reward}",
             "", "## Per scheme", "",
             "Local: the sampled strings (q_T). Global: the IMHA chain's states (π_T). Means in nats; "
             "acceptance = accepted / proposals; V and Ṽ: Cramér's V at lag "
             f"{options.get('cramers_v_lag', 1)} (uncorrected, Bergsma-corrected).", ""]
    lines += _scheme_table(analysis["schemes"])
    local = analysis.get("local") or {}
    lines += ["", "## Pooled correlations (log-prior vs reward)", "",
              "| level | Pearson (global) | Spearman (global) | Pearson (local) | Spearman (local) |",
              "|---|---|---|---|---|",
              f"| strings | {_fmt(analysis['string_pearson'])} | {_fmt(analysis.get('string_spearman'))} | "
              f"{_fmt(local.get('string_pearson'))} | {_fmt(local.get('string_spearman'))} |",
              f"| corpora ({options.get('corpus_blocks')} blocks per scheme) | {_fmt(analysis['corpus_pearson'])} | "
              f"{_fmt(analysis.get('corpus_spearman'))} | {_fmt(local.get('corpus_pearson'))} | "
              f"{_fmt(local.get('corpus_spearman'))} |"]
    boot = analysis.get("bootstrap")
    if boot:
        lines.append(f"| corpora (bootstrap, {boot.get('corpora_per_scheme')} per scheme) | "
                     f"{_fmt(boot.get('corpus_pearson'))} | {_fmt(boot.get('corpus_spearman'))} | | |")
    for k, v in (analysis.get("undefined") or {}).items():
        lines.append(f"\n* {k}: n/a ({v})")
    simpson = analysis["simpson"]
    n_within = len(simpson.get("within_scheme", []))
    lines += ["", "## Simpson check", "",
              f"* within-scheme string-level Pearson r: {simpson.get('n_within_positive')} positive, "
              f"{simpson.get('n_within_negative')} negative (of {n_within} schemes)",
              f"* pooled string level r = {_fmt(simpson.get('string_pearson'))}, corpus level r = "
              f"{_fmt(simpson.get('corpus_pearson'))}: reversal {_fmt(simpson.get('reversal'))}",
              f"* {simpson.get('note', '')}",
              "", "## Ablations: the official procedure switched on piece by piece", "",
              "Each row recomputes the whole analysis with one change (``paper``: all at once); Δ is the change "
              "from ours. Pearson r, global (chain) level.", ""]
    lines += _ablation_table(analysis)
    lines += ["", "## What the IMHA targets", "", *TARGET_NOTES, ""]
    out = Path(path)
    write_atomic(out, "\n".join(lines))
    return out
