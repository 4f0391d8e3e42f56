"""The miniature's report: what the offline miniature says about the paper's empirical claims, with numbers.

:func:`write_report` reads a finished run (``mini.json``, the ``study-*`` folders, the ``heldout`` stage) and writes
``report.json`` (every number), ``report.md`` (rendered from ``report.json`` alone, by :func:`render_markdown`, so
the two cannot disagree) and three figures. It answers:

* the string- and corpus-level correlations of log-prior and reward, for the RLHF analogue and for DPO with the
  secret reward of Eq. 4 (r = β·(log p_dpo − log p_prior)) and with the official code's opposite sign (R2), under our
  procedure (exact IMHA to π_T) and under the official one (the ``paper`` ablation: every proposal accepted, …);
* the qualitative claims of §7: the average log-prior ordered by temperature (and the reward in reverse order),
  every adaptor above ancestral sampling in log-prior (and below it in reward) at τ = 1, nucleus 0.90 against 0.95;
* the true IMHA acceptance rate of each scheme (the official code accepts every proposal, R1) and whether the local
  (q_T) and global (π_T) corpora differ;
* how far the alignment moved the VADER reward and the KL from the prior (the prior's own samples are the
  reference), and VADER's string-level correlation with the prior's log-probability, on the prior's samples and on
  the held-out fortunes (§5.3's Simpson argument assumes it positive).

Statistics. A local mean's standard error is clustered by prompt (two strings per prompt are not independent). A
global mean is a weighted mean over the chain's visits; its standard error is the weighted standard deviation over
√ESS, with the ESS the study computed from the chain. That is an approximation that cannot be trusted for a chain
with few distinct states, so every comparison involving a global mean with ESS < 20 is reported ``undecided``. A
comparison *agrees* with a claim when the difference in the claimed direction is at least 3 standard errors,
*contradicts* it at −3 or below, and is *undecided* between. Local and global means of one scheme are computed from
the same strings; their standard errors are combined as if independent, which overstates the error of the
difference when the two are positively correlated (conservative).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import write_atomic
from typicality.lm.store import savefig_atomic

__all__ = ["build_report", "render_markdown", "score_held_out", "write_figures", "write_report"]

FORMAT = "typicality.lm.mini.report/1"
#: |z| at which a comparison is decided
Z_DECIDE = 3.0
#: global means resting on fewer effective samples are never used to decide
MIN_ESS = 20.0
#: the paper's numbers (§6.2 Fig. 3 and App. F, as the official repository's figures give them)
PAPER = {
    "rlhf_corpus_pearson": -0.93, "rlhf_corpus_spearman": -0.83,
    "rlhf_string_pearson": 0.23, "rlhf_string_spearman": 0.38,
    "dpo_corpus_pearson": -0.97, "dpo_corpus_spearman": -0.97,
    "dpo_string_pearson": 0.45, "dpo_string_spearman": 0.41,
    "acceptance": 0.9999,
}
STUDIES = ("rlhf", "dpo")


# ---------------------------------------------------------------------------------------------------- held-out text

def score_held_out(folders: dict[str, str], size: dict[str, Any], path: Path) -> dict[str, Any]:
    """The held-out fortunes each prompt was cut from: log p_prior(continuation + eos | prompt) and VADER of the
    whole fortune (the study's reward sees prompt + continuation), written to ``path/heldout.json``.

    Continuations longer than the study's ``max_new_tokens`` (with eos) are left out and counted, so the scored
    texts are strings the study could have sampled.
    """
    from typicality.lm.loading import load_causal_lm
    from typicality.lm.mini.corpus import prompt_sources
    from typicality.lm.mini.reward import vader_reward
    from typicality.lm.scoring import prompt_ids, score_continuations

    corpus_dir = Path(folders["corpus"])
    held = json.loads((corpus_dir / "held_out.json").read_text(encoding="utf-8"))
    c = size["corpus"]
    sources = prompt_sources(held, c["prompt_words"], c["prompts"])
    lm = load_causal_lm(folders["prior"], device="cpu", dtype="float32")
    eos = lm.eos_token_ids[0]
    contexts = prompt_ids(lm.tokenizer, [p for p, _ in sources])
    limit = size["study"]["max_new_tokens"]
    kept, conts = [], []
    for i, (prompt, text) in enumerate(sources):
        ids = [*lm.tokenizer(text[len(prompt):], add_special_tokens=False)["input_ids"], eos]
        if len(ids) <= limit:
            kept.append(i)
            conts.append(ids)
    logp = score_continuations(lm, [contexts[i] for i in kept], conts, batch_size=32)["total"]
    vader = vader_reward([sources[i][1] for i in kept])
    rows = [{"prompt_index": i, "n_tokens": len(y), "logp_prior": float(lp), "vader": float(v)}
            for i, y, lp, v in zip(kept, conts, logp, vader, strict=True)]
    write_atomic(path / "heldout.json", json.dumps(rows) + "\n")
    info: dict[str, Any] = {"texts": len(sources), "scored": len(kept), "too_long": len(sources) - len(kept),
                            "max_new_tokens": limit,
                            "vader_zero_fraction": float(np.mean(vader == 0)) if kept else None,
                            "mean_tokens": float(np.mean([len(y) for y in conts])) if kept else None}
    info.update(_correlations(logp, vader))
    if kept:
        info["spearman_nonzero"] = _spearman(logp[vader != 0], vader[vader != 0])
        info["n_nonzero"] = int(np.sum(vader != 0))
    return info


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy import stats

    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(stats.spearmanr(x, y).statistic)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _correlations(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    x, y = np.asarray(x, float), np.asarray(y, float)
    return {"n": len(x), "pearson": _pearson(x, y), "spearman": _spearman(x, y)}


# ---------------------------------------------------------------------------------------------------- statistics

def _clustered_mean(x: np.ndarray, groups: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and its standard error clustered by group (the prompt)."""
    n = len(x)
    if n == 0:
        return None, None
    m = float(np.mean(x))
    _, inverse = np.unique(groups, return_inverse=True)
    g = int(inverse.max()) + 1
    if g < 2:
        return m, None
    sums = np.bincount(inverse, weights=x - m, minlength=g)
    return m, float(math.sqrt(g / (g - 1) * np.sum(sums**2)) / n)


def _weighted_mean(x: np.ndarray, w: np.ndarray, ess: float | None) -> tuple[float | None, float | None]:
    if w.sum() <= 0:
        return None, None
    m = float(np.sum(w * x) / np.sum(w))
    if ess is None or not ess > 1:
        return m, None
    var = float(np.sum(w * (x - m) ** 2) / np.sum(w))
    return m, math.sqrt(var / ess)


def _decide(diff: float | None, se: float | None, *, low_ess: bool = False) -> dict[str, Any]:
    """A difference in the claimed direction (positive = as claimed), its z and the decision."""
    if diff is None:
        return {"diff": None, "z": None, "decision": "n/a"}
    if low_ess:
        return {"diff": diff, "z": None, "decision": "undecided"}
    if se is None or se == 0:
        z = None if se is None else (math.inf if diff > 0 else -math.inf if diff < 0 else 0.0)
    else:
        z = diff / se
    if z is None:
        return {"diff": diff, "z": None, "decision": "undecided"}
    decision = "agrees" if z >= Z_DECIDE else "contradicts" if z <= -Z_DECIDE else "undecided"
    return {"diff": diff, "z": z if math.isfinite(z) else None, "decision": decision}


def _se_diff(*ses: float | None) -> float | None:
    if any(s is None for s in ses):
        return None
    return math.sqrt(sum(s * s for s in ses))  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------------- per study

def _scheme_stats(entry: dict, d: Any, beta: float | None) -> dict[str, Any]:
    """One scheme: local and global means with standard errors, acceptance, corpus points, the DPO identity."""
    rows = d[d["eos"]]
    n = len(rows)
    if n != entry["n"]:
        raise ValueError(f"scheme {entry['name']}: samples.parquet has {n} strings that ended, results.json "
                         f"{entry['n']}")
    lp = rows["logp_prior"].to_numpy(float)
    r = rows["reward"].to_numpy(float)
    groups = rows["prompt_index"].to_numpy()
    key = {(int(p), int(s)): i for i, (p, s) in enumerate(zip(rows["prompt_index"], rows["sample_index"],
                                                               strict=True))}
    w = np.zeros(n)
    for p, s, count in entry["chain_visits"]:
        w[key[(int(p), int(s))]] += count
    ess = entry.get("ess") or {}
    out: dict[str, Any] = {
        "name": entry["name"], "adaptor": entry["adaptor"], "params": entry["params"],
        "base": entry["name"].rsplit("@t", 1)[0], "temperature": entry["temperature"],
        "n": n, "capped": entry["n_capped"], "proposals": n - 1, "accepted": entry["accepted"],
        "acceptance": entry["acceptance_rate"],
        "cramers_v": entry["cramers_v"], "cramers_v_corrected": entry["cramers_v_corrected"],
        "ess_log_prior": ess.get("log_prior"), "ess_reward": ess.get("reward"),
        "importance_sampling": {"ess": entry["importance_sampling"]["ess"],
                                "log_prior": entry["importance_sampling"]["mean_logprob_prior"],
                                "reward": entry["importance_sampling"]["mean_reward"]},
    }
    lm_, lse = _clustered_mean(lp, groups)
    rm, rse = _clustered_mean(r, groups)
    out["local"] = {"log_prior": lm_, "log_prior_se": lse, "reward": rm, "reward_se": rse,
                    "length": float(rows["n_tokens"].mean()) if n else None}
    glp, glse = _weighted_mean(lp, w, out["ess_log_prior"])
    gr, grse = _weighted_mean(r, w, out["ess_reward"])
    out["global"] = {"log_prior": glp, "log_prior_se": glse, "reward": gr, "reward_se": grse,
                     "length": float(np.sum(w * rows["n_tokens"].to_numpy(float)) / w.sum()) if w.sum() else None}
    for level in ("local", "global"):  # the study's own means, recomputed here from the strings: they must agree
        mine, theirs = out[level]["log_prior"], entry[level]["mean_logprob_prior"]
        if mine is not None and theirs is not None and not math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(f"scheme {entry['name']}: {level} mean log-prior {mine} from the strings differs from "
                             f"the study's {theirs}")
    low = not (out["ess_log_prior"] or 0) >= MIN_ESS
    low_r = not (out["ess_reward"] or 0) >= MIN_ESS
    out["global_minus_local"] = {
        "log_prior": _two_sided(glp, lm_, _se_diff(glse, lse), low),
        "reward": _two_sided(gr, rm, _se_diff(grse, rse), low_r),
    }
    out["corpus"] = {"local": entry["corpus"]["local"], "global": entry["corpus"]["global"]}
    if beta is not None:  # DPO: avg log p_prior + avg r/β = avg log p_aligned on every corpus (Prop. 1, Z = 1)
        la = rows["logp_aligned"].to_numpy(float)
        dev = []
        for weights in (np.ones(n), w):
            s = weights.sum()
            if s > 0:
                a, b, c = (float(np.sum(weights * v) / s) for v in (lp, r, la))
                dev.append(abs(a + b / beta - c) / max(1.0, abs(c)))
        out["identity_deviation"] = max(dev) if dev else None
        out["identity_corpora"] = len(dev)
    return out


def _two_sided(a: float | None, b: float | None, se: float | None, low_ess: bool) -> dict[str, Any]:
    """Whether two means differ: |z| ≥ 3 (never decided on a global mean with ESS < 20)."""
    if a is None or b is None:
        return {"diff": None, "z": None, "decision": "n/a"}
    diff = a - b
    if low_ess or se is None or se == 0:
        return {"diff": diff, "z": None, "decision": "undecided"}
    z = diff / se
    return {"diff": diff, "z": z, "decision": "differ" if abs(z) >= Z_DECIDE else "undecided"}


def _study(root: Path, name: str, results: dict, prompts: list[str]) -> dict[str, Any]:
    import pandas as pd

    d = pd.read_parquet(root / f"study-{name}" / "samples.parquet")
    beta = results["options"]["secret_reward_beta"]
    schemes = [_scheme_stats(e, d[d["scheme"] == e["name"]], beta) for e in results["schemes"]]
    loc = results["local"]
    out: dict[str, Any] = {
        "reward": "VADER compound score of prompt + continuation" if beta is None else
                  f"the DPO secret reward β·(log p_dpo − log p_prior), β = {beta}",
        "beta": beta, "n_prompts": results["n_prompts"], "n_strings": results["n_strings"],
        "n_capped": results["n_capped"], "schemes": schemes,
        "correlations": {
            "global": {k: results[k] for k in ("string_pearson", "string_spearman", "corpus_pearson",
                                               "corpus_spearman")},
            "local": {k: loc[k] for k in ("string_pearson", "string_spearman", "corpus_pearson", "corpus_spearman")},
        },
        "corpus_blocks": results["options"]["corpus_blocks"],
        "simpson": {"within_positive": sum(1 for s in results["simpson"]["within_scheme"]
                                           if (s["string_pearson"] or 0) > 0),
                    "within_negative": sum(1 for s in results["simpson"]["within_scheme"]
                                           if (s["string_pearson"] or 0) < 0),
                    "schemes": len(results["simpson"]["within_scheme"])},
        "official": {},
    }
    for key in ("accept_all", "paper", "flipped_dpo_sign"):
        a = results["ablations"].get(key)
        if a and not a.get("skipped"):
            out["official"][key] = {k: a.get(k) for k in ("string_pearson", "string_spearman", "corpus_pearson",
                                                           "corpus_spearman")}
    if beta is not None:
        devs = [s["identity_deviation"] for s in schemes if s.get("identity_deviation") is not None]
        out["identity"] = {"corpora": sum(s["identity_corpora"] for s in schemes),
                           "max_relative_deviation": max(devs) if devs else None}
        # VADER of the DPO model's own ancestral strings (its reward column is the secret reward)
        anc = d[(d["scheme"] == "ancestral@t1") & d["eos"]]
        if len(anc):
            from typicality.lm.mini.reward import vader_pair_reward

            v = vader_pair_reward([prompts[int(i)] for i in anc["prompt_index"]], list(anc["text"]))
            out["ancestral_vader"] = _clustered_mean(v, anc["prompt_index"].to_numpy())
    anc_all = d[d["scheme"] == "ancestral@t1"]
    if len(anc_all):
        out["ancestral"] = _ancestral(anc_all)
    return out


def _ancestral(anc: Any) -> dict[str, Any]:
    """The aligned model's own strings (ancestral at τ = 1): KL(p_aligned ‖ p_prior) over the strings that ended."""
    ended = anc[anc["eos"]]
    diff = (ended["logp_aligned"] - ended["logp_prior"]).to_numpy(float)
    kl, kl_se = _clustered_mean(diff, ended["prompt_index"].to_numpy())
    tokens = float(ended["n_tokens"].sum())
    return {"n": len(anc), "capped": int((~anc["eos"]).sum()), "kl": kl, "kl_se": kl_se,
            "kl_per_token": float(diff.sum() / tokens) if tokens else None,
            "mean_tokens": float(ended["n_tokens"].mean()) if len(ended) else None}


# ---------------------------------------------------------------------------------------------------- §7

def _by_name(schemes: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for s in schemes}


def _level_value(s: dict, level: str, what: str) -> tuple[float | None, float | None, bool]:
    v = s[level]
    ess_key = "ess_log_prior" if what == "log_prior" else "ess_reward"
    low = level == "global" and s["name"] != "ancestral@t1" and not (s[ess_key] or 0) >= MIN_ESS
    return v[what], v[f"{what}_se"], low


def _compare(a: dict, b: dict, level: str, what: str, sign: int) -> dict[str, Any]:
    """sign·(a − b) in units of its standard error."""
    va, sa, la = _level_value(a, level, what)
    vb, sb, lb = _level_value(b, level, what)
    if va is None or vb is None:
        return _decide(None, None)
    return _decide(sign * (va - vb), _se_diff(sa, sb), low_ess=la or lb)


def _section7(schemes: list[dict], level: str) -> dict[str, Any]:
    by = _by_name(schemes)
    bases = list(dict.fromkeys(s["base"] for s in schemes if s["adaptor"] != "ancestral"))
    temperature = []
    for base in bases:
        mine = sorted((s for s in schemes if s["base"] == base), key=lambda s: s["temperature"])
        for a, b in itertools.pairwise(mine):
            temperature.append({"base": base, "from": a["temperature"], "to": b["temperature"],
                                # claim: log-prior falls as τ rises, the reward rises
                                "log_prior": _compare(a, b, level, "log_prior", +1),
                                "reward": _compare(b, a, level, "reward", +1)})
    vs_ancestral = []
    anc = by.get("ancestral@t1")
    if anc is not None:
        for base in bases:
            s = by.get(f"{base}@t1")
            if s is not None:
                # claim: every adaptor above ancestral in log-prior and below it in reward
                vs_ancestral.append({"base": base, "log_prior": _compare(s, anc, level, "log_prior", +1),
                                     "reward": _compare(anc, s, level, "reward", +1)})
    nucleus = []
    for s90 in schemes:
        if s90["base"] == "top_p0.9":
            s95 = by.get(f"top_p0.95@t{_tau_name(s90['temperature'])}")
            if s95 is not None:
                # claim: nucleus 0.90 gives a lower reward than 0.95 (and, being a smaller set, a higher log-prior)
                nucleus.append({"temperature": s90["temperature"],
                                "log_prior": _compare(s90, s95, level, "log_prior", +1),
                                "reward": _compare(s95, s90, level, "reward", +1)})
    out = {"temperature": temperature, "vs_ancestral": vs_ancestral, "nucleus": nucleus}
    out["summary"] = {f"{group}.{what}": _count([c[what] for c in out[group]])
                      for group in ("temperature", "vs_ancestral", "nucleus") for what in ("log_prior", "reward")}
    return out


def _tau_name(t: float) -> str:
    return format(t, "g")


def _count(decisions: list[dict], kinds: tuple[str, ...] = ("agrees", "contradicts", "undecided", "n/a")) -> dict:
    out = dict.fromkeys(kinds, 0)
    for d in decisions:
        out[d["decision"]] += 1
    out["total"] = len(decisions)
    return out


# ---------------------------------------------------------------------------------------------------- the report

def _imha(schemes: list[dict]) -> dict[str, Any]:
    rates = [s["acceptance"] for s in schemes if s["adaptor"] != "ancestral" and s["acceptance"] is not None]
    differ = {what: _count([s["global_minus_local"][what] for s in schemes if s["adaptor"] != "ancestral"],
                         ("differ", "undecided", "n/a"))
              for what in ("log_prior", "reward")}
    return {"schemes": len(rates), "min": min(rates) if rates else None,
            "median": float(np.median(rates)) if rates else None, "max": max(rates) if rates else None,
            "above_paper": sum(1 for r in rates if r > PAPER["acceptance"]),
            "ancestral": next((s["acceptance"] for s in schemes if s["adaptor"] == "ancestral"), None),
            "differ": differ}


def _stage_rows(mini: dict) -> list[dict[str, Any]]:
    rows = [{"stage": name, "seconds": info.get("stage_seconds")} for name, info in mini["training"].items()]
    for name, secs in mini["study_seconds"].items():
        reused = (mini.get("study_units_reused") or {}).get(name) or mini["studies"][name].get("units_reused") or {}
        rows.append({"stage": f"study-{name}", "seconds": secs["total"],
                     "parts": {k: v for k, v in secs.items() if k != "total"},
                     "reused_units": sum(reused.values())})
    if "heldout" in mini:
        rows.append({"stage": "heldout", "seconds": mini["heldout"].get("stage_seconds")})
    return rows


def _folder_mb(path: str | Path) -> float:
    return sum(f.stat().st_size for f in Path(path).glob("*.safetensors")) / 1e6


def build_report(root: str | Path) -> dict[str, Any]:
    """Every number of the report, from a finished run under ``root`` (see the module docstring)."""
    root = Path(root)
    if not (root / "mini.json").is_file():
        raise ValueError(f"root has no mini.json: {str(root)!r} is not a miniature run (typicality lm run mini "
                         "--out DIR writes one)")
    mini = json.loads((root / "mini.json").read_text(encoding="utf-8"))
    missing = [k for k in (*STUDIES, "prior") if k not in mini["studies"]]
    if missing or "heldout" not in mini:
        raise ValueError(f"{root}/mini.json is not a finished miniature run (missing: {missing or ['heldout']}); "
                         "run typicality lm run mini --out DIR first")
    prompts = json.loads((root / "corpus" / "prompts.json").read_text(encoding="utf-8"))
    tr = mini["training"]
    stages = _stage_rows(mini)
    rep: dict[str, Any] = {
        "format": FORMAT, "size": mini["size"], "sizes": mini["sizes"],
        "versions": mini["studies"]["rlhf"].get("versions"),
        "stages": stages, "total_seconds": sum(s["seconds"] or 0 for s in stages),
        "corpus": {k: tr["corpus"][k] for k in ("texts", "train", "held_out", "prompts")},
    }
    p = tr["prior"]
    rep["prior"] = {"parameters": p["parameters"], "held_out_loss": p["held_out_loss"], "train_loss": p["train_loss"],
                    "tokens_per_text": p["held_out_tokens"] / tr["corpus"]["held_out"],
                    "train_tokens": p["train_tokens"], "steps": p["steps"],
                    "weights_mb": {k: _folder_mb(root / k) for k in ("prior", "rloo", "dpo")}}
    rep["studies"] = {name: _study(root, name, mini["studies"][name], prompts) for name in STUDIES}
    ref = _study(root, "prior", mini["studies"]["prior"], prompts)
    anc = next(s for s in ref["schemes"] if s["adaptor"] == "ancestral")
    d = __import__("pandas").read_parquet(root / "study-prior" / "samples.parquet")
    ended = d[d["eos"]]
    prior_ref = {"n": anc["n"], "capped": anc["capped"], "vader": anc["local"]["reward"],
                 "vader_se": anc["local"]["reward_se"],
                 "vader_zero_fraction": float(np.mean(ended["reward"].to_numpy() == 0)) if len(ended) else None,
                 "string": _correlations(ended["logp_prior"].to_numpy(float), ended["reward"].to_numpy(float)),
                 "mean_tokens": anc["local"]["length"]}
    rlhf_anc = _by_name(rep["studies"]["rlhf"]["schemes"]).get("ancestral@t1")
    rl = rep["studies"]["rlhf"].get("ancestral", {})
    dp = rep["studies"]["dpo"].get("ancestral", {})
    dv = rep["studies"]["dpo"].get("ancestral_vader") or (None, None)
    align = {"prior": prior_ref, "rlhf": {}, "dpo": {}}
    for name, vader, vader_se, kl in (("rlhf", rlhf_anc and rlhf_anc["local"]["reward"],
                                       rlhf_anc and rlhf_anc["local"]["reward_se"], rl),
                                      ("dpo", dv[0], dv[1], dp)):
        delta = None if vader is None or prior_ref["vader"] is None else vader - prior_ref["vader"]
        align[name] = {"vader": vader, "vader_se": vader_se, "vader_change": delta,
                       "vader_change_z": _ratio(delta, _se_diff(vader_se, prior_ref["vader_se"])),
                       **{k: kl.get(k) for k in ("n", "capped", "kl", "kl_se", "kl_per_token", "mean_tokens")}}
    r_info, d_info = tr["rloo"], tr["dpo"]
    align["rlhf"]["training"] = {k: r_info.get(k) for k in ("beta", "steps", "reward_first", "reward_final",
                                                            "kl_first", "kl_final")}
    align["dpo"]["training"] = {k: d_info.get(k) for k in ("beta", "steps", "pairs", "loss_first", "loss_final",
                                                           "margin_first", "margin_final", "accuracy_final")}
    rep["alignment"] = align
    rep["heldout"] = {k: v for k, v in mini["heldout"].items() if k != "stage_seconds"}
    rep["section7"] = {name: {level: _section7(rep["studies"][name]["schemes"], level)
                              for level in ("local", "global")} for name in STUDIES}
    rep["imha"] = {name: _imha(rep["studies"][name]["schemes"]) for name in STUDIES}
    rep["paper"] = _against_paper(rep)
    return rep


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _sign_word(x: float | None) -> str:
    return "n/a" if x is None else "negative" if x < 0 else "positive" if x > 0 else "zero"


def _against_paper(rep: dict) -> list[dict[str, Any]]:
    """One row per empirical claim of the paper: the paper's figure, the miniature's, and whether they agree.

    ``agrees`` is ``"yes"``, ``"no"`` or ``"partly"`` by the rule stated in each row's ``rule``.
    """
    rows = []
    rl, dp = rep["studies"]["rlhf"], rep["studies"]["dpo"]
    g, lo = rl["correlations"]["global"], rl["correlations"]["local"]
    agrees = "yes" if (g["corpus_pearson"] or 0) <= -0.5 else "partly" if (g["corpus_pearson"] or 0) < 0 else "no"
    rows.append({"claim": "§6.2: corpus-level trade-off across the schemes (RLHF)",
                 "paper": f"r = {PAPER['rlhf_corpus_pearson']}, ρ = {PAPER['rlhf_corpus_spearman']}",
                 "values": {"global_pearson": g["corpus_pearson"], "global_spearman": g["corpus_spearman"],
                            "local_pearson": lo["corpus_pearson"], "local_spearman": lo["corpus_spearman"]},
                 "rule": "yes if the π_T corpora's r ≤ −0.5, partly if negative, no otherwise",
                 "agrees": agrees})
    s_pos = (g["string_pearson"] or 0) > 0
    reversal = s_pos and (g["corpus_pearson"] or 0) < 0
    rows.append({"claim": "§5.3/§6.2: positive string-level correlation reversed at the corpus level (Simpson)",
                 "paper": f"string r = {PAPER['rlhf_string_pearson']}, ρ = {PAPER['rlhf_string_spearman']}",
                 "values": {"global_pearson": g["string_pearson"], "global_spearman": g["string_spearman"],
                            "local_pearson": lo["string_pearson"], "local_spearman": lo["string_spearman"]},
                 "rule": "yes if the π_T string-level r is positive and the corpus-level r negative",
                 "agrees": "yes" if reversal else "no"})
    s7 = rep["section7"]["rlhf"]["local"]["summary"]
    for key, claim in (("temperature.log_prior", "§7: average log-prior falls as τ rises"),
                       ("temperature.reward", "§7: average reward rises as τ rises"),
                       ("vs_ancestral.log_prior", "§7: at τ = 1 every adaptor has a higher log-prior than ancestral"),
                       ("vs_ancestral.reward", "§7: at τ = 1 every adaptor has a lower reward than ancestral"),
                       ("nucleus.reward", "§7: nucleus 0.90 gives a lower reward than 0.95")):
        c = s7[key]
        ok = "yes" if c["total"] and c["agrees"] == c["total"] else "no" if c["contradicts"] or not c["total"] else \
            "partly"
        rows.append({"claim": claim, "paper": "holds in the paper's figure", "values": c,
                     "rule": "RLHF, local corpora (what the official figure shows, R1): yes if every comparison "
                             "agrees (≥ 3 standard errors), no if any contradicts",
                     "agrees": ok})
    im = rep["imha"]["rlhf"]
    rows.append({"claim": "IMHA acceptance above 99.99 %", "paper": "> 99.99 % (every proposal accepted, R1)",
                 "values": {k: im[k] for k in ("min", "median", "max", "above_paper", "schemes")},
                 "rule": "yes if every truncating or tempered scheme accepts more than 99.99 %",
                 "agrees": "yes" if im["schemes"] and im["above_paper"] == im["schemes"] else "no"})
    diff = im["differ"]["log_prior"]
    rows.append({"claim": "local ≈ global normalization (corpora)", "paper": "the same (from the 99.99 % acceptance)",
                 "values": {"differ_log_prior": diff["differ"], "differ_reward": im["differ"]["reward"]["differ"],
                            "schemes": diff["total"]},
                 "rule": "yes if no scheme's local and global mean log-prior differ (|z| ≥ 3)",
                 "agrees": "yes" if diff["differ"] == 0 else "no"})
    dg, off = dp["correlations"]["global"], dp["official"]
    paper_r = (off.get("paper") or {}).get("corpus_pearson")
    rows.append({"claim": "App. F: DPO corpus-level trade-off (secret reward)",
                 "paper": f"r = {PAPER['dpo_corpus_pearson']} (with the official sign, R2)",
                 "values": {"eq4_sign_global_pearson": dg["corpus_pearson"],
                            "eq4_sign_local_pearson": dp["correlations"]["local"]["corpus_pearson"],
                            "official_sign_global_pearson": (off.get("flipped_dpo_sign") or {}).get("corpus_pearson"),
                            "official_procedure_pearson": paper_r,
                            "official_procedure_eq4_sign_pearson": None if paper_r is None else -paper_r},
                 "rule": "yes if the π_T corpora's r with Eq. 4's sign is ≤ −0.5, partly if negative",
                 "agrees": "yes" if (dg["corpus_pearson"] or 0) <= -0.5 else "partly"
                 if (dg["corpus_pearson"] or 0) < 0 else "no"})
    pr, ho = rep["alignment"]["prior"]["string"], rep["heldout"]
    rows.append({"claim": "§5.3: reward and log-prior positively correlated at the string level (VADER)",
                 "paper": "assumed positive", "values": {"prior_samples_spearman": pr["spearman"],
                                                          "heldout_spearman": ho.get("spearman")},
                 "rule": "yes if both Spearman correlations are ≥ 0.1, no if both are below 0.1",
                 "agrees": "yes" if all((x or 0) >= 0.1 for x in (pr["spearman"], ho.get("spearman"))) else
                 "no" if all((x or 0) < 0.1 for x in (pr["spearman"], ho.get("spearman"))) else "partly"})
    return rows


# ---------------------------------------------------------------------------------------------------- markdown

def _f(x: Any, spec: str = ".3f") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return format(x, spec)


def _pm(v: float | None, se: float | None, spec: str = ".3f") -> str:
    return _f(v, spec) if se is None else f"{_f(v, spec)} ± {_f(se, spec)}"


def _z(c: dict) -> str:
    return f"{_f(c['diff'])} (z {_f(c['z'], '.1f')}, {c['decision']})"


def render_markdown(rep: dict[str, Any]) -> str:
    """report.md from report.json's content alone (every number printed is one of the JSON's, rounded)."""
    L: list[str] = []
    add = L.append
    add(f"# The offline miniature ({rep['size']} size): what it says about the paper's empirical claims\n")
    add("Regenerate: `typicality lm run mini --out runs/mini`, then copy `runs/mini/report/` here "
        "(`report.md` is rendered from `report.json` alone by `typicality.lm.mini.report.render_markdown`). "
        "Models: a GPT-2 prior trained from scratch on the FreeBSD fortunes, an RLHF analogue (RLOO towards VADER, "
        "KL-regularized), a DPO model on VADER-labelled pairs; all trained on 2 CPU cores inside the run. "
        "The paper's own 7B models were not run; every verdict below is about the miniature.\n")
    add("## Where the miniature agrees with the paper\n")
    add("| claim | paper | miniature | agrees | rule |\n|---|---|---|---|---|")
    for row in rep["paper"]:
        vals = ", ".join(f"{k} {_f(v) if isinstance(v, float) else v}" for k, v in row["values"].items())
        add(f"| {row['claim']} | {row['paper']} | {vals} | **{row['agrees']}** | {row['rule']} |")
    add("\n### In plain words\n")
    for line in _plain(rep):
        add(f"* {line}")
    add("")
    add("## Stages and times (2 CPU cores, one torch thread)\n")
    add("| stage | seconds |\n|---|---|")
    for s in rep["stages"]:
        note = f" (this run reused {s['reused_units']} finished units)" if s.get("reused_units") else ""
        add(f"| {s['stage']} | {_f(s['seconds'], '.1f')}{note} |")
    add(f"| **total** | **{_f(rep['total_seconds'], '.1f')}** |\n")
    c, p = rep["corpus"], rep["prior"]
    add("## Data and models\n")
    add(f"* Corpus: {c['texts']} fortunes ({c['train']} training, {c['held_out']} held out); {c['prompts']} prompts "
        f"(the first {rep['sizes']['corpus']['prompt_words']} words of held-out fortunes), "
        f"{rep['sizes']['study']['samples_per_prompt']} strings per prompt and scheme.")
    add(f"* Prior: {p['parameters']} parameters, {p['steps']} steps over {p['train_tokens']} training tokens; "
        f"held-out loss {_f(p['held_out_loss'])} nats/token (training {_f(p['train_loss'])}); "
        f"{_f(p['tokens_per_text'], '.1f')} tokens per held-out fortune. Weights: "
        + ", ".join(f"{k} {_f(v, '.1f')} MB" for k, v in p["weights_mb"].items()) + ".")
    a = rep["alignment"]
    pr = a["prior"]
    add("\n## How far alignment moved the reward and the KL\n")
    add("Ancestral strings (τ = 1) of each model for the same prompts; VADER mean ± standard error (clustered by "
        "prompt); KL(p_aligned ‖ p_prior) estimated by the mean of log p_aligned − log p_prior over the aligned "
        "model's strings that ended (capped strings are not strings of Σ* and are left out, counted).\n")
    add("| model | VADER | change vs prior (z) | KL nats/string | KL nats/token | mean tokens | capped |")
    add("|---|---|---|---|---|---|---|")
    add(f"| prior | {_pm(pr['vader'], pr['vader_se'])} | | | | {_f(pr['mean_tokens'], '.1f')} | {pr['capped']} of "
        f"{pr['n'] + pr['capped']} |")
    for name, label in (("rlhf", "RLOO (RLHF analogue)"), ("dpo", "DPO")):
        m = a[name]
        add(f"| {label} | {_pm(m['vader'], m['vader_se'])} | {_f(m['vader_change'], '+.3f')} "
            f"({_f(m['vader_change_z'], '.1f')}) | {_pm(m['kl'], m['kl_se'])} | {_f(m['kl_per_token'])} | "
            f"{_f(m['mean_tokens'], '.1f')} | {m['capped']} of {m['n']} |")
    t = a["rlhf"]["training"]
    add(f"\nRLOO training (β = {t['beta']}, {t['steps']} steps): batch reward {_f(t['reward_first'])} → "
        f"{_f(t['reward_final'])}, TRL's KL {_f(t['kl_first'])} → {_f(t['kl_final'])}. ")
    t = a["dpo"]["training"]
    add(f"DPO training (β = {t['beta']}, {t['steps']} steps, {t['pairs']} pairs): loss {_f(t['loss_first'])} → "
        f"{_f(t['loss_final'])}, reward margin {_f(t['margin_first'])} → {_f(t['margin_final'])}, preference "
        f"accuracy {_f(t['accuracy_final'])} on the last batches.\n")
    add("## Correlations of log-prior and reward\n")
    add("Pooled over all schemes. *Global*: the exact IMHA's corpora (π_T); *local*: the sampled strings (q_T), which "
        "is what the official code's corpora are, since it accepts every proposal (R1). Corpus level: "
        f"{rep['studies']['rlhf']['corpus_blocks']} corpora per scheme.\n")
    add("| study | level | Pearson (global) | Spearman (global) | Pearson (local) | Spearman (local) |")
    add("|---|---|---|---|---|---|")
    for name, label in (("rlhf", "RLHF analogue (VADER)"), ("dpo", "DPO, Eq. 4's sign")):
        cc = rep["studies"][name]["correlations"]
        for level in ("string", "corpus"):
            add(f"| {label} | {level} | {_f(cc['global'][level + '_pearson'])} | "
                f"{_f(cc['global'][level + '_spearman'])} | {_f(cc['local'][level + '_pearson'])} | "
                f"{_f(cc['local'][level + '_spearman'])} |")
    off = rep["studies"]["dpo"]["official"]
    if "flipped_dpo_sign" in off:
        f_ = off["flipped_dpo_sign"]
        add(f"| DPO, the official sign (R2) | string | {_f(f_['string_pearson'])} | {_f(f_['string_spearman'])} | | |")
        add(f"| DPO, the official sign (R2) | corpus | {_f(f_['corpus_pearson'])} | {_f(f_['corpus_spearman'])} | | |")
    add("\nThe official procedure on the miniature (the study's `paper` ablation: every proposal accepted, prior "
        "unconditioned and without eos, per-token clamp, capped strings kept; for DPO the official sign and β = 1):\n")
    add("| study | string r | string ρ | corpus r | corpus ρ |\n|---|---|---|---|---|")
    for name in STUDIES:
        o = rep["studies"][name]["official"].get("paper")
        if o:
            add(f"| {name} | {_f(o['string_pearson'])} | {_f(o['string_spearman'])} | {_f(o['corpus_pearson'])} | "
                f"{_f(o['corpus_spearman'])} |")
    idn = rep["studies"]["dpo"].get("identity", {})
    add(f"\nDPO: avg log p_prior + avg r/β = avg log p_dpo holds on all {idn.get('corpora')} corpora (local and global "
        f"per scheme) to a relative {_f(idn.get('max_relative_deviation'), '.1e')} (rounding): the secret reward is "
        "the log-ratio of the two models, so the corpus-level line across schemes is the variation of "
        "avg log p_dpo between schemes, not a consequence of typicality (C8).\n")
    for name in STUDIES:
        sp = rep["studies"][name]["simpson"]
        add(f"* {name}: within-scheme string-level r is positive in {sp['within_positive']} and negative in "
            f"{sp['within_negative']} of {sp['schemes']} schemes.")
    add("\n## The claims of §7\n")
    add("Each comparison is a difference in the claimed direction with its z (≥ 3: agrees, ≤ −3: contradicts, "
        "between: undecided; a global mean with ESS < 20 never decides).\n")
    for name in STUDIES:
        for level in ("local", "global"):
            s = rep["section7"][name][level]["summary"]
            add(f"* {name}, {level}: " + "; ".join(
                f"{k} {v['agrees']} agree, {v['contradicts']} contradict, {v['undecided']} undecided of {v['total']}"
                for k, v in s.items()))
    add("")
    s7 = rep["section7"]["rlhf"]["local"]
    add("RLHF analogue, local corpora, in detail:\n")
    add("| adaptor | τ → τ' | log-prior fall | reward rise |\n|---|---|---|---|")
    for c in s7["temperature"]:
        add(f"| {c['base']} | {_f(c['from'], 'g')} → {_f(c['to'], 'g')} | {_z(c['log_prior'])} | {_z(c['reward'])} |")
    add("\n| adaptor at τ = 1 | log-prior above ancestral | reward below ancestral |\n|---|---|---|")
    for c in s7["vs_ancestral"]:
        add(f"| {c['base']} | {_z(c['log_prior'])} | {_z(c['reward'])} |")
    add("\n| τ | log-prior: 0.90 above 0.95 | reward: 0.90 below 0.95 |\n|---|---|---|")
    for c in s7["nucleus"]:
        add(f"| {_f(c['temperature'], 'g')} | {_z(c['log_prior'])} | {_z(c['reward'])} |")
    add("\n## IMHA acceptance and local against global corpora\n")
    for name in STUDIES:
        im = rep["imha"][name]
        add(f"* {name}: acceptance over the {im['schemes']} non-ancestral schemes: min {_f(im['min'])}, median "
            f"{_f(im['median'])}, max {_f(im['max'])}; above 99.99 %: {im['above_paper']}; ancestral "
            f"{_f(im['ancestral'])} (q_T = π_T there, so every proposal is accepted). Local and global mean "
            f"log-prior differ in {im['differ']['log_prior']['differ']} of {im['differ']['log_prior']['total']} "
            f"schemes (reward: {im['differ']['reward']['differ']}).")
    for name in STUDIES:
        add(f"\n### {name}: per scheme\n")
        add("| scheme | n | capped | acceptance | ESS | local log-prior | global log-prior | local reward | "
            "global reward | global − local log-prior |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for s in rep["studies"][name]["schemes"]:
            lo, gl = s["local"], s["global"]
            add(f"| {s['name']} | {s['n']} | {s['capped']} | {_f(s['acceptance'])} | {_f(s['ess_log_prior'], '.0f')} "
                f"| {_pm(lo['log_prior'], lo['log_prior_se'], '.2f')} "
                f"| {_pm(gl['log_prior'], gl['log_prior_se'], '.2f')} "
                f"| {_pm(lo['reward'], lo['reward_se'])} | {_pm(gl['reward'], gl['reward_se'])} | "
                f"{_f(s['global_minus_local']['log_prior']['diff'], '.2f')} "
                f"({s['global_minus_local']['log_prior']['decision']}) |")
    ho = rep["heldout"]
    add("\n## VADER and the Simpson argument\n")
    add(f"* The prior's own strings: {_f(pr['vader_zero_fraction'])} of them have VADER exactly 0; string-level "
        f"Spearman of log p_prior and VADER {_f(pr['string']['spearman'])} (Pearson {_f(pr['string']['pearson'])}, "
        f"n = {pr['string']['n']}).")
    add(f"* The held-out fortunes ({ho.get('scored')} of {ho.get('texts')}; {ho.get('too_long')} longer than "
        f"{ho.get('max_new_tokens')} tokens left out): {_f(ho.get('vader_zero_fraction'))} have VADER exactly 0; "
        f"Spearman of log p_prior(continuation | prompt) and VADER {_f(ho.get('spearman'))} (Pearson "
        f"{_f(ho.get('pearson'))}; {_f(ho.get('spearman_nonzero'))} over the {ho.get('n_nonzero')} with VADER ≠ 0).")
    add("* §5.3's Simpson argument needs a positive string-level correlation; with VADER it is near zero, so the "
        "argument has nothing to reverse (and for i.i.d. corpora the corpus-level correlation equals the weighted "
        "string-level one anyway, C8).")
    add("\n## Caveats\n")
    add("* At τ > 1 the global target π_T ∝ Π p(y_t|·)^{1/τ} puts its mass on long, improbable strings; its "
        "normalizer may even be infinite (C7), and then π_T does not exist. The chains there accept a few per cent "
        "of the proposals and rest on a handful of strings (ESS in the table), within the length cap: their means "
        "are reported but decide nothing.")
    add("* Capped strings (no eos within the cap) are excluded from every mean and counted; the DPO model "
        f"writes long strings ({rep['studies']['dpo']['n_capped']} of "
        f"{rep['studies']['dpo']['n_capped'] + rep['studies']['dpo']['n_strings']} capped), which also biases its "
        "KL estimate.")
    add("* The miniature's models are tiny and trained for minutes; VADER is not a learned reward model. What the "
        "miniature can refute is a claim that should hold for any aligned model; what it cannot refute is a "
        "number measured on the paper's 7B models.")
    add("\nFigures: `tradeoff.png` (scheme means, log-prior against reward), `temperature.png` (local means against "
        "τ), `acceptance.png` (IMHA acceptance per scheme).")
    return "\n".join(L) + "\n"


def _plain(rep: dict[str, Any]) -> list[str]:
    """The agreements and disagreements in sentences, every number from the report."""
    rl, dp = rep["studies"]["rlhf"], rep["studies"]["dpo"]
    g, lo = rl["correlations"]["global"], rl["correlations"]["local"]
    off = (rl["official"].get("paper") or {}).get("corpus_pearson")
    pr, ho = rep["alignment"]["prior"]["string"], rep["heldout"]
    s7 = rep["section7"]["rlhf"]["local"]["summary"]
    im = rep["imha"]["rlhf"]
    dg = dp["correlations"]["global"]
    doff = (dp["official"].get("paper") or {}).get("corpus_pearson")
    weak = "weak " if abs(g["corpus_pearson"] or 0) < 0.5 else ""
    return [
        f"RLHF analogue: with the exact IMHA the corpora show a {weak}{_sign_word(g['corpus_pearson'])} "
        f"corpus-level correlation (r = {_f(g['corpus_pearson'])}, ρ = "
        f"{_f(g['corpus_spearman'])}), against the paper's −0.93. Over the sampled strings, which is what the official "
        f"code's corpora are (R1), it is {_sign_word(lo['corpus_pearson'])} (r = {_f(lo['corpus_pearson'])}), and the "
        f"whole official procedure gives r = {_f(off)} on the miniature.",
        f"The string-level correlation is {_sign_word(g['string_pearson'])} (r = {_f(g['string_pearson'])}), so "
        f"there is no positive correlation for a Simpson reversal to turn around; VADER hardly correlates with the "
        f"prior's log-probability at all (Spearman {_f(pr['spearman'])} on the prior's own strings, "
        f"{_f(ho.get('spearman'))} on held-out fortunes).",
        f"§7's log-prior orderings {_holds(s7, 'temperature.log_prior', 'vs_ancestral.log_prior')}: the log-prior "
        f"falls with temperature in {s7['temperature.log_prior']['agrees']} of {s7['temperature.log_prior']['total']} "
        f"steps and every adaptor is above ancestral at τ = 1 in {s7['vs_ancestral.log_prior']['agrees']} of "
        f"{s7['vs_ancestral.log_prior']['total']} cases, each by ≥ 3 standard errors. Its reward orderings "
        f"{_holds(s7, 'temperature.reward', 'vs_ancestral.reward', 'nucleus.reward')}: the reward falls with "
        f"temperature significantly in {s7['temperature.reward']['contradicts']} of "
        f"{s7['temperature.reward']['total']} steps and rises significantly in {s7['temperature.reward']['agrees']}; "
        f"{s7['vs_ancestral.reward']['contradicts']} adaptors have a significantly higher reward than ancestral at "
        f"τ = 1; nucleus 0.90 against 0.95 is undecided in {s7['nucleus.reward']['undecided']} of "
        f"{s7['nucleus.reward']['total']} temperatures.",
        f"The exact IMHA accepts a median {_f(im['median'])} of proposals (at most {_f(im['max'])}); "
        f"{im['above_paper']} of {im['schemes']} schemes reach 99.99 %. The local and global mean log-prior differ "
        f"significantly in {im['differ']['log_prior']['differ']} of {im['differ']['log_prior']['total']} schemes.",
        f"DPO: with Eq. 4's sign and the exact IMHA the corpus-level correlation is {_sign_word(dg['corpus_pearson'])} "
        f"(r = {_f(dg['corpus_pearson'])}; the paper: −0.97 with the opposite sign, R2). The official procedure gives "
        f"r = {_f(doff)} with the official sign, so r = {_f(None if doff is None else -doff)} with Eq. 4's: the "
        "sign of the official result is the sign of the secret reward. Either way the line is the identity "
        "avg log p_prior + avg r/β = avg log p_dpo (C8), not a consequence of typicality.",
    ]


def _holds(summary: dict[str, dict], *keys: str) -> str:
    """'hold' when every comparison agrees, 'are contradicted' when any contradicts, else 'are undecided'."""
    counts = [summary[k] for k in keys]
    if any(c["contradicts"] for c in counts):
        return "are contradicted"
    if all(c["total"] and c["agrees"] == c["total"] for c in counts):
        return "hold"
    return "are not all decided"


# ---------------------------------------------------------------------------------------------------- figures

def write_figures(rep: dict[str, Any], out_dir: str | Path) -> list[str]:
    """tradeoff.png, temperature.png and acceptance.png into ``out_dir``; returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    names = []
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    for i, name in enumerate(STUDIES):
        schemes = rep["studies"][name]["schemes"]
        for j, level in enumerate(("local", "global")):
            ax = axes[i][j]
            taus = sorted({s["temperature"] for s in schemes})
            cmap = plt.get_cmap("viridis", max(len(taus), 2))
            for s in schemes:
                pts = np.array([p for p in s["corpus"][level] if None not in p], float).reshape(-1, 2)
                color = cmap(taus.index(s["temperature"]))
                if len(pts):
                    ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.25, color=color)
                v = s[level]
                if v["log_prior"] is not None and v["reward"] is not None:
                    ax.scatter([v["log_prior"]], [v["reward"]], s=40, color=color, edgecolor="k",
                               marker="*" if s["adaptor"] == "ancestral" else "o")
            r = rep["studies"][name]["correlations"][level if level == "local" else "global"]["corpus_pearson"]
            ax.set_title(f"{name}, {level} corpora: corpus r = {_f(r)}")
            ax.set_xlabel("average log p_prior (nats)")
            ax.set_ylabel("average reward" if name == "rlhf" else "average secret reward")
    taus = sorted({s["temperature"] for name in STUDIES for s in rep["studies"][name]["schemes"]})
    cmap = plt.get_cmap("viridis", max(len(taus), 2))
    axes[0][0].legend(handles=[plt.Line2D([], [], marker="o", linestyle="", color=cmap(i), label=f"τ = {t:g}")
                               for i, t in enumerate(taus)], fontsize=7, title="large: scheme mean; small: corpora",
                      title_fontsize=7)
    fig.tight_layout()
    savefig_atomic(fig, out / "tradeoff.png", dpi=90)
    plt.close(fig)
    names.append("tradeoff.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    schemes = rep["studies"]["rlhf"]["schemes"]
    for base in dict.fromkeys(s["base"] for s in schemes if s["adaptor"] != "ancestral"):
        mine = sorted((s for s in schemes if s["base"] == base), key=lambda s: s["temperature"])
        for ax, what in zip(axes, ("log_prior", "reward"), strict=True):
            ax.errorbar([s["temperature"] for s in mine], [s["local"][what] for s in mine],
                        yerr=[s["local"][f"{what}_se"] or 0 for s in mine], marker="o", capsize=2, label=base)
    for s in schemes:
        if s["adaptor"] == "ancestral":
            for ax, what in zip(axes, ("log_prior", "reward"), strict=True):
                ax.scatter([s["temperature"]], [s["local"][what]], marker="*", s=120, color="k", label="ancestral")
    for ax, what in zip(axes, ("average log p_prior (nats)", "average VADER reward"), strict=True):
        ax.set_xlabel("temperature τ")
        ax.set_ylabel(what)
    axes[0].legend(fontsize=7)
    axes[0].set_title("RLHF analogue, local corpora")
    fig.tight_layout()
    savefig_atomic(fig, out / "temperature.png", dpi=90)
    plt.close(fig)
    names.append("temperature.png")

    fig, ax = plt.subplots(figsize=(11, 4))
    for k, name in enumerate(STUDIES):
        schemes = rep["studies"][name]["schemes"]
        xs = np.arange(len(schemes)) + (k - 0.5) * 0.35
        ax.bar(xs, [max(s["acceptance"] or 0, 1e-4) for s in schemes], width=0.35, label=name)
        ax.set_xticks(np.arange(len(schemes)), [s["name"] for s in schemes], rotation=90, fontsize=7)
    ax.axhline(PAPER["acceptance"], color="r", linestyle="--", label="the paper's > 99.99 %")
    ax.set_yscale("log")
    ax.set_ylabel("IMHA acceptance rate")
    ax.legend(fontsize=8)
    fig.tight_layout()
    savefig_atomic(fig, out / "acceptance.png", dpi=90)
    plt.close(fig)
    names.append("acceptance.png")
    return names


def write_report(root: str | Path, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Build the report of the run under ``root`` and write report.json, report.md and the figures to ``out_dir``
    (default ``root/report``), each file atomically; returns the report."""
    root = Path(root)
    out = Path(out_dir) if out_dir is not None else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    rep = build_report(root)
    text = json.dumps(rep, indent=1, allow_nan=False) + "\n"
    rep = json.loads(text)  # the markdown is rendered from exactly what the JSON file holds
    write_figures(rep, out)
    write_atomic(out / "report.json", text)
    write_atomic(out / "report.md", render_markdown(rep))
    return rep


def main(argv: list[str] | None = None) -> int:
    """``python -m typicality.lm.mini.report ROOT [OUT]``: rewrite the report of a finished run."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2:
        print("usage: python -m typicality.lm.mini.report ROOT [OUT]", file=sys.stderr)
        return 2
    try:
        write_report(args[0], args[1] if len(args) > 1 else None)
    except (ValueError, OSError) as e:
        print(f"typicality: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
