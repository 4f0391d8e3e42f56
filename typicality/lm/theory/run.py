"""``typicality lm theory``: the paper's bounds and the adaptor invariants, estimated on a real causal LM.

For each prompt (or the unconditioned distribution after BOS) the model's own strings are sampled ancestrally
(τ = 1, no truncation) to eos, with a length cap; a capped string is kept and counted as censored
(:mod:`.estimators`). From them:

* entropy and varentropy with intervals (:func:`.estimators.entropy_interval`, :func:`.estimators.varentropy_interval`);
* Rényi entropies on a grid of orders, and Prop. 4's monotonicity (:func:`.estimators.renyi_interval`);
* the AEP: the frequency of atypical corpora against Chebyshev's bound (Eq. 11) and the corrected Chernoff bound
  (Thm. 2, C3), with verdicts (:mod:`.aep`);
* eos statistics (Def. 3, Cor. 1): the smallest p(eos | prefix) over every sampled prefix and its quantiles, the
  corrected Prop. 3 threshold it would imply (C1: α₀ ≤ log|Σ| / (log|Σ| + log 1/(1 − ξ)) if ξ held at every
  prefix), and the bounded-logit argument made concrete: with δ the smallest next-token probability seen, H_α = ∞
  for α ≤ log|Σ| / log(1/δ) *if δ held everywhere* (every string of n symbols then has p ≥ δ^{n+1}). Both are what
  the observed values imply, not certificates: unseen prefixes may do worse.

Then, for each adaptor scheme, strings are sampled from q_T (:mod:`typicality.lm.sampling`) and give: the fraction
that ends with eos (q_T's tightness), the exact IMHA's acceptance rate and ESS over them (Algorithm 1), an estimate
of the global normalizer Z_T = E_q[π̃_T/q_T] with an interval (C7: π_T exists only when 0 < Z_T < ∞), and Eq. 8 on
the sampled strings: the fraction of pairs that q_T orders differently from π̃_T (which π_T orders like).

Work is saved per prompt (``DIR/units/``, written atomically), so an interrupted run resumes without redoing
finished prompts; a folder made with other settings is refused unless ``force``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from typicality.jsonio import write_atomic, write_via_temp
from typicality.lm.theory import aep as aep_mod
from typicality.lm.theory import estimators as est

__all__ = ["DEFAULT_ALPHAS", "TheoryConfig", "analyze_prompt", "run_theory", "to_json"]

FORMAT = "typicality.lm.theory/3"
DEFAULT_ALPHAS = (0.5, 0.7, 0.9, 0.95, 1.05, 1.1, 1.5, 2.0, 3.0)
#: the paper's adaptor grid at τ = 1 (§6.2): each adaptor's invariants are checked on the model's distributions
DEFAULT_SCHEMES = (
    {"adaptor": "top_k", "params": {"k": 30}}, {"adaptor": "top_k", "params": {"k": 50}},
    {"adaptor": "top_p", "params": {"p": 0.9}}, {"adaptor": "top_p", "params": {"p": 0.95}},
    {"adaptor": "typical", "params": {"p": 0.9}}, {"adaptor": "eta", "params": {"eps": 0.0009}},
    {"adaptor": "ancestral", "temperature": 0.75},
)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class TheoryConfig:
    """What ``typicality lm theory`` runs. ``prompts=None``: the unconditioned distribution (BOS only)."""

    model: str
    prompts: tuple[str, ...] | None = None
    samples: int = 1000
    max_new_tokens: int = 256
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    confidence: float = 0.95
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    schemes: tuple[dict[str, Any], ...] = DEFAULT_SCHEMES
    adaptor_samples: int = 200
    batch_size: int = 32
    #: wrap each prompt as a user message in the tokenizer's chat template (with the assistant's turn opened)
    chat: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"model must be a non-empty path or hub id, got {self.model!r}")
        for name in ("samples", "max_new_tokens", "adaptor_samples", "batch_size"):
            _positive_int(name, getattr(self, name))
        if self.samples < 4:
            raise ValueError(f"samples must be at least 4 (intervals need a variance), got {self.samples}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed!r}")
        est.check_confidence(self.confidence)
        for a in self.alphas:
            if isinstance(a, bool) or not isinstance(a, int | float) or not (a > 0 and a != 1 and math.isfinite(a)):
                raise ValueError(f"alphas must be finite orders > 0 other than 1, got {a!r}")
        if self.prompts is not None:
            if isinstance(self.prompts, str) or not all(isinstance(p, str) for p in self.prompts):
                raise TypeError(f"prompts must be a sequence of strings or None, got {self.prompts!r:.80}")
            empty = [i for i, p in enumerate(self.prompts) if not p.strip()]
            if empty:
                raise ValueError(f"prompts[{empty[0]}] is empty: give no prompts for the unconditioned distribution "
                                 "(BOS only), or remove the empty prompt")

    def fingerprint(self) -> str:
        text = json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True, default=str)  # units' layout too
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------- analysis

def _eos_stats(log_eos: np.ndarray, log_min: np.ndarray, vocab: int, n_eos: int) -> dict[str, Any]:
    """The eos statistics of Def. 3 / Cor. 1 over every sampled prefix (see the module doc)."""
    if len(log_eos) == 0:
        return {"prefixes": 0}
    xi = float(np.exp(log_eos.min()))
    delta = float(np.exp(log_min.min()))
    sigma = max(vocab - n_eos, 1)
    q = np.exp(np.quantile(log_eos, [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 1.0]))
    prop3 = None
    if 0 < xi < 1 and sigma > 1:
        prop3 = math.log(sigma) / (math.log(sigma) + math.log(1 / (1 - xi)))
    cor1 = None if not 0 < delta < 1 or sigma < 2 else math.log(sigma) / math.log(1 / delta)
    return {"prefixes": len(log_eos), "min_eos_probability": xi,
            "eos_quantiles": dict(zip(("min", "q01", "q05", "q25", "median", "q75", "max"), map(float, q),
                                      strict=True)),
            "alphabet": sigma, "prop3_threshold_if_min_held": prop3,
            "min_token_probability": delta, "infinite_renyi_below_if_min_held": cor1}


def _kendall_discordance(a: np.ndarray, b: np.ndarray) -> float | None:
    """Fraction of pairs (with distinct values in both) that ``a`` and ``b`` order differently."""
    n = len(a)
    if n < 2:
        return None
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu(np.ones((n, n), dtype=bool), 1) & (da != 0) & (db != 0)
    total = int(upper.sum())
    return None if total == 0 else float(np.sum((da != db) & upper) / total)


def _eos_along_the_way(log_p_eos: np.ndarray | None, log_q_eos: np.ndarray | None) -> dict[str, Any]:
    """How the adaptor changes the eos probability over the prefixes its own strings went through."""
    if log_p_eos is None or log_q_eos is None or len(log_p_eos) == 0:
        return {}
    p, q = np.exp(log_p_eos), np.exp(log_q_eos)
    dropped = (q == 0) & (p > 0)
    return {"steps": len(p), "mean_p_eos": float(p.mean()), "mean_q_eos": float(q.mean()),
            "eos_dropped_fraction": float(dropped.mean()),
            "eos_ratio_median": float(np.median(q[p > 0] / p[p > 0])) if np.any(p > 0) else None}


def _adaptor_stats(logq: np.ndarray, log_pi_tilde: np.ndarray, eos: np.ndarray, seed: int,
                   confidence: float, log_p_eos: np.ndarray | None = None,
                   log_q_eos: np.ndarray | None = None) -> dict[str, Any]:
    from scipy import stats
    from scipy.special import logsumexp

    from typicality.diagnostics import effective_sample_size
    from typicality.imha import imha_kernel

    n = len(logq)
    out: dict[str, Any] = {"n": n, "eos_fraction": float(eos.mean()) if n else None,
                           "eos_along_the_way": _eos_along_the_way(log_p_eos, log_q_eos)}
    ended = eos.astype(bool)
    lw = (log_pi_tilde - logq)[ended]
    m = len(lw)
    if m >= 2 and np.all(np.isfinite(lw)):
        rng = np.random.default_rng([seed, 7])
        states, accepted = imha_kernel(lw, rng)
        chain = np.r_[0, states]
        out["acceptance_rate"] = accepted / (m - 1)
        try:
            out["ess"] = float(effective_sample_size(lw[chain]))
        except ValueError:  # a chain that never moved: its ESS is undefined, and the acceptance rate says why
            out["ess"] = None
        log_mean = float(logsumexp(lw) - math.log(m))
        w = np.exp(lw - lw.max())
        rel = float(w.std(ddof=1) / math.sqrt(m) / w.mean())
        z = float(stats.t.ppf(0.5 + confidence / 2, m - 1))
        # Z_T = E_q[π̃/q] over strings that end: the capped ones are not strings, so this is a lower estimate when
        # q_T is not tight (their mass is missing)
        out["log_normalizer"] = {"estimate": log_mean,
                                 "low": log_mean + math.log(1 - z * rel) if z * rel < 1 else -math.inf,
                                 "high": log_mean + math.log1p(z * rel), "n": m,
                                 "weights_ess": float(w.sum() ** 2 / np.sum(w**2))}
        out["eq8_discordant_pairs"] = _kendall_discordance(logq[ended], log_pi_tilde[ended])
    else:
        out["acceptance_rate"] = None
        out["log_normalizer"] = {"estimate": None, "low": None, "high": None, "n": m}
        out["eq8_discordant_pairs"] = None
    return out


def analyze_prompt(logp: np.ndarray, capped: np.ndarray, log_eos: np.ndarray, log_min: np.ndarray, *,
                   alphas: Sequence[float], confidence: float, vocab: int, n_eos: int) -> dict[str, Any]:
    """Every estimate for one prompt from its ancestral strings (arrays as recorded by the sampler)."""
    h = est.entropy_interval(logp, capped, confidence=confidence)
    v = est.varentropy_interval(logp, capped, confidence=confidence)
    ended = ~np.asarray(capped, dtype=bool)
    renyi = [est.renyi_interval(logp, a, capped, confidence=confidence) for a in alphas]
    with_h = [*renyi, {"alpha": 1.0, **{k: h[k] for k in ("estimate", "low", "high")}}]
    out = {"n_samples": len(logp), "n_capped": int(np.sum(capped)), "entropy": h, "varentropy": v,
           "renyi": renyi, "renyi_monotone": est.monotone_check(with_h),
           "aep": aep_mod.aep_rows(logp, h, v, confidence=confidence) if not np.any(capped) else [],
           **_eos_stats(log_eos, log_min, vocab, n_eos)}
    if np.any(capped):
        # the strings that ended are i.i.d. draws from p conditioned on ending within the cap, a distribution of its
        # own; its surprisal is −log p(y) + log P(L ≤ cap), a constant shift, so varentropy and the AEP event are
        # those of −log p(y) over the ended strings (the entropy is shifted by the unknown log P(L ≤ cap) ≤ 0)
        lp_ended = np.asarray(logp)[ended]
        he = est.entropy_interval(lp_ended, confidence=confidence)
        ve = est.varentropy_interval(lp_ended, confidence=confidence)
        out["ended"] = {"fraction": float(ended.mean()), "mean_surprisal": he, "varentropy": ve,
                        "aep": aep_mod.aep_rows(lp_ended, he, ve, confidence=confidence),
                        "note": "p conditioned on ending within the cap: the AEP rows and the varentropy are exactly "
                                "those of that distribution; its entropy is the mean surprisal here plus "
                                "log P(L ≤ cap)"}
        out["aep_note"] = ("no AEP rows for p itself: capped strings make corpus means censored values (raise the "
                           "cap); see 'ended' for p conditioned on ending within the cap")
    elif not out["aep"]:
        out["aep_note"] = (f"no AEP rows: fewer than {aep_mod.MIN_CORPORA} corpora of one string, or no "
                           "varentropy estimate (more samples)")
    return out


# ---------------------------------------------------------------------------------------------------- running

def _prepare_dir(out: Path, config: TheoryConfig, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "units").mkdir(exist_ok=True)
    except OSError as e:
        raise ValueError(f"out {str(out)!r} cannot be created: {e.strerror or e}") from None
    stamp = out / "theory-config.json"
    if stamp.exists():
        old = json.loads(stamp.read_text(encoding="utf-8"))
        if old.get("fingerprint") != config.fingerprint():
            if not force:
                raise ValueError(f"out {str(out)!r} holds a theory run with other settings ({old.get('settings')}); "
                                 "use another folder, or force=True (--force) to delete its results")
            for f in (out / "units").glob("*.npz"):
                f.unlink()
    (out / "units").mkdir(exist_ok=True)
    write_atomic(stamp, json.dumps({"fingerprint": config.fingerprint(), "settings": asdict(config)},
                                   default=str, indent=1) + "\n")


def _sample_unit(lm: Any, backend: Any, scheme: Any, prompt_ids: list[int], prompt_index: int, n: int,
                 progress: Callable[[int], None] | None) -> Any:
    from typicality.lm.sampling import SampleRequest

    reqs = [SampleRequest(prompt_index, j, scheme, tuple(prompt_ids)) for j in range(n)]
    return backend.sample(reqs, progress=progress)


def run_theory(config: TheoryConfig, out_dir: str | Path | None = None, *, force: bool = False,
               progress: Callable[[str, int], Callable[[int], None]] | None = None,
               log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the theory checks (see the module doc); writes ``DIR/theory.json`` (and units) when ``out_dir`` is given,
    and returns the results."""
    from typicality.lm.config import _parse_schemes
    from typicality.lm.loading import load_causal_lm
    from typicality.lm.sampling import TransformersBackend
    from typicality.lm.scoring import prompt_ids as tokenize_prompts
    from typicality.lm.scoring import start_context

    say = log or (lambda msg: None)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        _prepare_dir(out, config, force)
    t0 = time.perf_counter()
    lm = load_causal_lm(config.model, device=config.device, dtype=config.dtype)
    if not lm.eos_token_ids:
        raise ValueError(f"model {config.model!r} has no eos token: its strings never end, so p(·|x) is not a "
                         "distribution over strings and nothing here is defined")
    if config.prompts is None:
        if config.chat:
            raise ValueError("chat=True needs prompts: the chat template wraps each prompt as a user message")
        contexts = [start_context(lm)]
    elif config.chat:
        if getattr(lm.tokenizer, "chat_template", None) is None:
            raise ValueError(f"model {config.model!r} has no chat template; run without chat (--chat)")
        contexts = [list(lm.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=True,
                                                          add_generation_prompt=True, return_dict=True)["input_ids"])
                    for p in config.prompts]
    else:
        contexts = tokenize_prompts(lm.tokenizer, list(config.prompts))
    labels = [None] if config.prompts is None else list(config.prompts)
    ancestral = _parse_schemes([{"adaptor": "ancestral"}], "hf")[0]
    schemes = list(_parse_schemes([dict(s) for s in config.schemes], "hf")) if config.schemes else []
    sampler = TransformersBackend(lm, max_new_tokens=config.max_new_tokens, seed=config.seed,
                                  batch_size=config.batch_size, step_stats=True)
    adaptor_sampler = TransformersBackend(lm, max_new_tokens=config.max_new_tokens, seed=config.seed,
                                          batch_size=config.batch_size, step_stats=True)
    results = []
    for i, (label, ctx) in enumerate(zip(labels, contexts, strict=True)):
        unit = None if out is None else out / "units" / f"prompt-{i:05d}.npz"
        if unit is not None and unit.exists():
            data = dict(np.load(unit))
            say(f"prompt {i}: done earlier")
        else:
            t_unit = time.perf_counter()
            tick = progress(f"p{i} anc", config.samples) if progress else None
            strings = _sample_unit(lm, sampler, ancestral, ctx, i, config.samples, tick)
            data = {
                "logp": np.array([s.sums["logp_aligned"] for s in strings]),
                "capped": np.array([not s.eos for s in strings]),
                "n_tokens": np.array([len(s.token_ids) for s in strings]),
                "tokens_flat": np.array([t for s in strings for t in s.token_ids], dtype=np.int64),
                "log_eos": np.concatenate([s.token_scores["log_eos"] for s in strings]),
                "log_min": np.concatenate([s.token_scores["log_min"] for s in strings]),
            }
            for k, scheme in enumerate(schemes):
                tick = progress(f"p{i} {k + 1}/{len(schemes)}", config.adaptor_samples) if progress else None
                got = _sample_unit(lm, adaptor_sampler, scheme, ctx, i, config.adaptor_samples, tick)
                data[f"s{k}_logq"] = np.array([s.sums["logq"] for s in got])
                data[f"s{k}_log_pi_tilde"] = np.array([s.sums["log_pi_tilde"] for s in got])
                data[f"s{k}_eos"] = np.array([s.eos for s in got])
                data[f"s{k}_log_p_eos"] = np.concatenate([s.token_scores["log_eos"] for s in got])
                data[f"s{k}_log_q_eos"] = np.concatenate([s.token_scores["log_q_eos"] for s in got])
            data["seconds"] = np.array(time.perf_counter() - t_unit)
            if unit is not None:
                write_via_temp(unit, lambda tmp, arrays=data: np.savez(tmp, **arrays))
        res = {"prompt": label, **analyze_prompt(data["logp"], data["capped"], data["log_eos"], data["log_min"],
                                                 alphas=config.alphas, confidence=config.confidence,
                                                 vocab=lm.vocab_size, n_eos=len(lm.eos_token_ids))}
        res["mean_tokens"] = float(np.mean(data["n_tokens"]))
        res["sampling_seconds"] = float(data["seconds"]) if "seconds" in data else None
        res["adaptors"] = [{"adaptor": s.adaptor_name, "params": s.params, "temperature": s.temperature,
                            **_adaptor_stats(data[f"s{k}_logq"], data[f"s{k}_log_pi_tilde"], data[f"s{k}_eos"],
                                             config.seed + i, config.confidence, data.get(f"s{k}_log_p_eos"),
                                             data.get(f"s{k}_log_q_eos"))}
                           for k, s in enumerate(schemes)]
        results.append(res)
    report = {"format": FORMAT, "model": config.model, "confidence": config.confidence,
              "settings": {k: v for k, v in asdict(config).items() if k not in ("model", "prompts")},
              "vocab_size": lm.vocab_size, "eos_token_ids": list(lm.eos_token_ids), "device": str(lm.device),
              "prompts": results, "seconds": time.perf_counter() - t0,
              "sampling_seconds": (sum(r["sampling_seconds"] for r in results)
                                   if all(r["sampling_seconds"] is not None for r in results) else None)}
    if out is not None:
        from typicality import jsonio

        write_atomic(out / "theory.json", jsonio.dumps(to_json(report)) + "\n")
    return report


def to_json(x: Any) -> Any:
    """The results with numpy scalars as Python numbers and ±∞ as the strings "inf" / "-inf" (JSON has no ∞; an
    unbounded side of an interval is a result, not a missing value, so it is not written as null)."""
    if isinstance(x, dict):
        return {str(k): to_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [to_json(v) for v in x]
    if isinstance(x, bool | str) or x is None:
        return x
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        f = float(x)
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if math.isnan(f):
            raise ValueError("a NaN reached the theory results")  # never written: a NaN is a bug, not a value
        return f
    if isinstance(x, np.bool_):
        return bool(x)
    return x
