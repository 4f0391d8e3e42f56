"""The theory run's report: a terminal summary, ``report.md`` (from the results alone) and three figures.

Figures: ``aep.png`` (per prompt: the frequency of atypical corpora with its interval against the Chebyshev and
Chernoff bounds, as N grows, at the largest bound target), ``renyi.png`` (H_α against α with intervals, H at α = 1)
and ``eos.png`` (the distribution of p(eos | prefix) over every sampled prefix, from the saved units).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import write_atomic
from typicality.lm.store import savefig_atomic

__all__ = ["format_summary", "render_markdown", "write_report"]


def _f(x: Any, spec: str = ".4g") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return format(x, spec)


def _iv(d: dict[str, Any] | None, spec: str = ".4g") -> str:
    if not d:
        return "n/a"
    return f"{_f(d.get('estimate'), spec)} [{_f(d.get('low'), spec)}, {_f(d.get('high'), spec)}]"


def _label(p: dict[str, Any]) -> str:
    return "(unconditioned)" if p["prompt"] is None else repr(p["prompt"][:60])


def format_summary(r: dict[str, Any]) -> str:
    """One block per prompt for the terminal."""
    lines = [f"model {r['model']}; intervals at {r['confidence']:.0%}; |V| = {r['vocab_size']}"]
    for p in r["prompts"]:
        lines.append(f"\nprompt {_label(p)}: {p['n_samples']} strings ({p['n_capped']} capped), mean length "
                     f"{_f(p['mean_tokens'], '.1f')} tokens")
        lines.append(f"  entropy     {_iv(p['entropy'])} nats")
        lines.append(f"  varentropy  {_iv(p['varentropy'])}")
        lines.append("  Rényi       " + "  ".join(f"H_{r_['alpha']:g} {_iv(r_, '.3g')}" for r_ in p["renyi"]))
        mono = p["renyi_monotone"]
        lines.append(f"  monotone in α (Prop. 4): estimates {'yes' if mono['estimates_monotone'] else 'no'}, "
                     f"violation proven: {'yes' if mono['violation_proven'] else 'no'}")
        lines.append(f"  min p(eos|prefix) {_f(p.get('min_eos_probability'))} over {p.get('prefixes')} prefixes; "
                     f"min next-token probability {_f(p.get('min_token_probability'))}")
        verdicts: dict[str, int] = {}
        for row in p["aep"]:
            for b in ("chebyshev", "chernoff"):
                key = f"{b} {row[b]['verdict']}"
                verdicts[key] = verdicts.get(key, 0) + 1
        lines.append("  AEP: " + (", ".join(f"{k}: {v}" for k, v in sorted(verdicts.items())) or p.get("aep_note",
                                                                                                       "no rows")))
        if "ended" in p:
            e = p["ended"]
            ev: dict[str, int] = {}
            for row in e["aep"]:
                for b in ("chebyshev", "chernoff"):
                    ev[f"{b} {row[b]['verdict']}"] = ev.get(f"{b} {row[b]['verdict']}", 0) + 1
            lines.append(f"  p conditioned on ending ({e['fraction']:.3f} of strings): mean surprisal "
                         f"{_iv(e['mean_surprisal'])}, varentropy {_iv(e['varentropy'])}; AEP: "
                         + (", ".join(f"{k}: {v}" for k, v in sorted(ev.items())) or "no rows"))
        for a in p["adaptors"]:
            way = a.get("eos_along_the_way") or {}
            lines.append(f"  {a['adaptor']} {a['params']} τ={a['temperature']:g}: eos fraction "
                         f"{_f(a['eos_fraction'], '.3f')}, eos dropped at {_f(way.get('eos_dropped_fraction'), '.3f')} "
                         f"of steps, acceptance {_f(a['acceptance_rate'], '.3f')}, "
                         f"log Z_T {_iv(a['log_normalizer'], '.3g')}")
    return "\n".join(lines)


def render_markdown(r: dict[str, Any]) -> str:
    """report.md from the results (every number printed is one of theirs)."""
    L = [f"# Theory on a real model: {r['model']}\n",
         f"Intervals at {r['confidence']:.0%}. Vocabulary {r['vocab_size']} ids, eos {r['eos_token_ids']}, device "
         f"{r['device']}, settings: " + ", ".join(f"{k} = {v}" for k, v in r["settings"].items() if k != "extra")
         + f". Time {r['seconds']:.1f} s (this run); sampling, over all prompts as first run: "
         f"{_f(r.get('sampling_seconds'), '.1f')} s.\n",
         "How to read it: an interval's unbounded side (∞) is what censoring leaves (capped strings' surprisal is "
         "only a lower bound); α < 1 Rényi intervals rest on a CLT for heavy-tailed terms and carry an ESS warning "
         "when a few strings dominate; eos and δ thresholds are what the observed minima would imply if they held "
         "at every prefix, not certificates. AEP verdicts compare the frequency's Clopper–Pearson interval with "
         "the bound's interval (from the intervals of σ², H and S_α): consistent, violated, undecided, or vacuous "
         "(no verdict when the bound is ≥ 1).\n"]
    for p in r["prompts"]:
        L.append(f"## Prompt {_label(p)}\n")
        L.append(f"* {p['n_samples']} strings, {p['n_capped']} capped, mean length {_f(p['mean_tokens'], '.1f')} "
                 "tokens")
        L.append(f"* entropy {_iv(p['entropy'])} nats; varentropy {_iv(p['varentropy'])}")
        for key in ("note",):
            for name in ("entropy", "varentropy"):
                if p[name].get(key):
                    L.append(f"  * {name}: {p[name][key]}")
        L.append(f"* p(eos | prefix) over {p.get('prefixes')} prefixes: min {_f(p.get('min_eos_probability'))}, "
                 + ", ".join(f"{k} {_f(v)}" for k, v in (p.get("eos_quantiles") or {}).items() if k != "min"))
        L.append(f"* if the minimum held at every prefix (Def. 3, ξ = {_f(p.get('min_eos_probability'))}): the "
                 f"corrected Prop. 3 gives H_α < ∞ for α > {_f(p.get('prop3_threshold_if_min_held'))} (C1)")
        L.append(f"* smallest next-token probability δ = {_f(p.get('min_token_probability'))}: if it held "
                 f"everywhere, H_α = ∞ for α ≤ {_f(p.get('infinite_renyi_below_if_min_held'))} (|Σ| = "
                 f"{p.get('alphabet')})")
        L.append("\n| α | H_α | low | high | method | ESS | warning |\n|---|---|---|---|---|---|---|")
        for x in p["renyi"]:
            L.append(f"| {x['alpha']:g} | {_f(x['estimate'])} | {_f(x['low'])} | {_f(x['high'])} | "
                     f"{x.get('method', '')} | {_f(x.get('ess'), '.1f')} | {x.get('warning', '')} |")
        mono = p["renyi_monotone"]
        L.append(f"\nProp. 4 (H_α non-increasing): estimates monotone: {mono['estimates_monotone']}; a violation "
                 f"proven by the intervals: {mono['violation_proven']}.\n")
        if p["aep"]:
            L.extend(_aep_table(p["aep"]))
        else:
            L.append(f"AEP: {p.get('aep_note', 'no rows')}")
        if "ended" in p:
            e = p["ended"]
            L.append(f"\n**p conditioned on ending within the cap** ({_f(e['fraction'], '.4f')} of the strings ended): "
                     f"mean surprisal {_iv(e['mean_surprisal'])}, varentropy {_iv(e['varentropy'])}. {e['note']}.\n")
            if e["aep"]:
                L.extend(_aep_table(e["aep"]))
        if p["adaptors"]:
            L.append("\n| adaptor | params | τ | eos fraction | mean p(eos) → q_T(eos) along its strings | eos dropped "
                     "(steps) | IMHA acceptance | ESS | log Z_T [interval] | q_T vs π̃_T discordant pairs |\n"
                     "|---|---|---|---|---|---|---|---|---|---|")
            for a in p["adaptors"]:
                way = a.get("eos_along_the_way") or {}
                L.append(f"| {a['adaptor']} | {a['params']} | {a['temperature']:g} | {_f(a['eos_fraction'], '.3f')} "
                         f"| {_f(way.get('mean_p_eos'))} → {_f(way.get('mean_q_eos'))} | "
                         f"{_f(way.get('eos_dropped_fraction'), '.3f')} | {_f(a['acceptance_rate'], '.3f')} | "
                         f"{_f(a.get('ess'), '.1f')} | {_iv(a['log_normalizer'])} | "
                         f"{_f(a['eq8_discordant_pairs'], '.4f')} |")
        L.append("")
    L.append("Figures: `aep.png` (ε fixed, N growing: the concentration of the mean surprisal against both bounds; p "
             "conditioned on ending where p has capped strings), "
             "`renyi.png`, `eos.png`.")
    return "\n".join(L) + "\n"


def _aep_table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| grid | N | ε | corpora | atypical frequency [interval] | Chebyshev [interval] | verdict | Chernoff "
           "[interval] | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        out.append(f"| {row.get('grid', '')} | {row['n']} | {_f(row['eps'])} | {row['corpora']} | "
                   f"{_iv(row['empirical'])} | "
                   f"{_iv(row['chebyshev'])} | {row['chebyshev']['verdict']} | {_iv(row['chernoff'])} | "
                   f"{row['chernoff']['verdict']} |")
    return out


def _num(x: Any) -> float:
    if isinstance(x, str):
        return math.inf if x == "inf" else -math.inf
    return math.nan if x is None else float(x)


def write_report(r: dict[str, Any], out_dir: str | Path) -> None:
    """report.md and the figures into ``out_dir`` (the eos histogram reads the saved units)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    write_atomic(out / "report.md", render_markdown(r))
    prompts = r["prompts"]
    k = len(prompts)
    fig, axes = plt.subplots(1, k, figsize=(5 * k, 4), squeeze=False)
    for ax, p in zip(axes[0], prompts, strict=True):
        rows = p["aep"] or (p.get("ended") or {}).get("aep") or []
        if rows:
            first = max((row for row in rows if row["n"] == 1), key=lambda row: row["chebyshev"]["estimate"])
            sel = [first] + [row for row in rows if row.get("grid") == "eps"]
            ns = [row["n"] for row in sel]
            f = np.array([_num(row["empirical"]["estimate"]) for row in sel])
            lo = np.array([_num(row["empirical"]["low"]) for row in sel])
            hi = np.array([_num(row["empirical"]["high"]) for row in sel])
            ax.errorbar(ns, f, yerr=[f - lo, hi - f], marker="o", capsize=3, label="atypical frequency")
            ax.plot(ns, [_num(row["chebyshev"]["estimate"]) for row in sel], "s--", label="Chebyshev σ²/(Nε²)")
            ax.plot(ns, [_num(row["chernoff"]["estimate"]) for row in sel], "^--", label="Chernoff (C3)")
            ax.set_xscale("log", base=2)
            which = "" if p["aep"] else " (p conditioned on ending)"
            ax.set_title(f"{_label(p)}{which}: ε = {first['eps']:.3g} fixed", fontsize=8)
            ax.set_xlabel("corpus size N")
            ax.legend(fontsize=7)
        else:
            ax.set_title(f"{_label(p)}: no AEP rows", fontsize=8)
    fig.tight_layout()
    savefig_atomic(fig, out / "aep.png", dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, k, figsize=(5 * k, 4), squeeze=False)
    for ax, p in zip(axes[0], prompts, strict=True):
        pts = sorted([*p["renyi"], {"alpha": 1.0, **p["entropy"]}], key=lambda x: x["alpha"])
        al = [x["alpha"] for x in pts]
        est = np.array([_num(x["estimate"]) for x in pts])
        lo = np.array([_num(x["low"]) for x in pts])
        hi = np.array([_num(x["high"]) for x in pts])
        finite_hi = np.where(np.isfinite(hi), hi, np.nan)
        ax.plot(al, est, "o-", label="estimate")
        ax.fill_between(al, lo, finite_hi, alpha=0.25, label="interval (open above where ∞)")
        ax.set_xlabel("α")
        ax.set_ylabel("H_α (nats)")
        ax.set_title(_label(p), fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, out / "renyi.png", dpi=90)
    plt.close(fig)

    fig, axes = plt.subplots(1, k, figsize=(5 * k, 4), squeeze=False)
    for i, (ax, p) in enumerate(zip(axes[0], prompts, strict=True)):
        unit = out / "units" / f"prompt-{i:05d}.npz"
        if unit.exists():
            log_eos = np.load(unit)["log_eos"]
            ax.hist(log_eos / math.log(10), bins=60)
            ax.set_xlabel("log10 p(eos | prefix)")
            ax.set_ylabel("prefixes")
        ax.set_title(_label(p), fontsize=8)
    fig.tight_layout()
    savefig_atomic(fig, out / "eos.png", dpi=90)
    plt.close(fig)
