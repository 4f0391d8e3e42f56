"""Analysis of the real-model study (§6.2, App. F): local and global means, the IMHA, diagnostics, correlations,
the Simpson check, and the official procedure switched on piece by piece.

Input: a samples table (one row per string; columns in :data:`REQUIRED_COLUMNS`) and the schemes' metadata. For
each scheme (an adaptor T at a temperature τ) the strings are i.i.d. from the locally normalized adaptor
q_T(·|x) (Eq. 5) of the aligned model given the prompt x, and every prompt is used ``samples_per_prompt`` times.

**The IMHA and what it targets (Algorithm 1, docs/theory.md#b2).** The chain of a scheme uses its sampled strings as
proposals, each once, in a seeded random order; the first is the initial state y⁽⁰⁾. The log-weight of a string is

    log w(x, y) = log π̃_T(y|x) − log q_T(y|x) = Σ_{t=1}^{|y|+1} log Z_t(x, y_<t)       (columns log_pi_tilde − logq)

and a proposal y′ replaces the current y iff log w(y′) + E > log w(y), E ~ Exp(1) (``typicality.imha.imha_kernel``).
The chain's output is y⁽⁰⁾, …, y⁽ᴹ⁾ with M = n − 1: the initial state is kept, so the chain has as many states
as the sample has strings, and with every proposal accepted it *is* the sample, in the same order.

Pooled over prompts the proposal is the joint q(x, y) = u(x)·q_T(y|x) with u uniform over the prompts, so the
stationary law is

    π(x, y) ∝ u(x)·π̃_T(y|x) = u(x)·Z_T(x)·π_T(y|x),

the globally normalized adaptor applied to the joint model "pick a prompt uniformly, then continue". Its prompt
marginal is ∝ Z_T(x): prompts whose continuations keep more mass under the transform count more. It is *not* the
average over prompts of π_T(·|x); that would need every Z_T(x), which nobody can compute for a real model. The
proposals are also not i.i.d. draws from q(x, y): they are a stratified sample (each prompt exactly
``samples_per_prompt`` times) taken in a random order, i.e. draws without replacement from the finite set of
strings sampled. Each string given its prompt is an exact draw from q_T(·|x), the random order makes the sequence
exchangeable, and over a finite prompt set the chain differs from the textbook i.i.d.-proposal chain only by this
finite-population effect (the prompt frequencies are fixed instead of multinomial), which vanishes with the
number of prompts. Cramér's V (``typicality.diagnostics``) labels a state by (prompt_index, token_ids): duplicates
are the same state.

**Cross-check.** The self-normalized importance-sampling estimate Σ w f / Σ w over the same strings estimates the
same target with no code shared with the IMHA; its weights' ESS (Σw)²/Σw² says how informative it is.

**Statistics.** Local: over the sampled strings (the scheme's usable rows). Global: over the chain's states.
Corpus-level points: the chain output (and the sample, in the same order) cut into ``corpus_blocks`` disjoint
consecutive blocks, each block's mean log-prior and mean reward one point; optionally the paper's bootstrap
corpora, drawn with replacement from the chain (multinomial counts, since both means are linear in the counts).

**Capped strings** (``eos`` False: the generation hit max_new_tokens) are not elements of Σ*; they are excluded
unless ``include_capped``, and always counted (``n_capped``).

**A log-prior of −∞** (the prior gives some token probability 0) is legitimate, so the prior columns may hold −inf
(never NaN or +inf). Such a string stays in the sample and in the chain (the IMHA never looks at the prior), but
any mean over a set that contains it is −∞: it is reported as None with the reason, string-level correlations
exclude it, and corpus points whose mean is not finite are excluded; every exclusion is counted
(``n_prior_nonfinite`` per scheme, ``n_string_points_excluded`` and ``n_corpus_points_excluded`` pooled). The
same holds for a secret DPO reward β(log p_aligned − log p_prior), which is then +∞, and for the ``no_eos``
log-prior of a string whose eos term itself is −∞ (its value is unknown).

**Ablations** (:data:`ALL_ABLATIONS`): the whole summary recomputed with one of the official code's choices
switched on (docs/theory.md#c12, #r1, #r2, #r3, #r4, #r5, #r6, #r7), and ``paper`` with all of them at once.
Every ablation reuses the same seeded proposal order and exponential variates as ours (common random numbers), so
differences are due to the change, not to a new random stream.

>>> result = analyze(samples, schemes, AnalysisOptions(seed=0))      # doctest: +SKIP
>>> result["corpus_pearson"], result["simpson"]["reversal"]          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from typicality.corpora import weighted_correlation
from typicality.diagnostics import cramers_v, effective_sample_size
from typicality.imha import imha_corpus, imha_kernel

#: the official code clamps every per-token log-probability at −25 nats (docs/theory.md#r4)
CLAMP = 25.0

#: columns every analysis needs
REQUIRED_COLUMNS = (
    "scheme", "prompt_index", "sample_index", "token_ids", "n_tokens", "eos",
    "logp_aligned", "logq", "log_pi_tilde", "logp_prior", "reward",
)

#: the log-probability families: the sum over all tokens, its eos term and the clamped sum
_FAMILIES = ("logp_aligned", "logq", "log_pi_tilde", "logp_prior", "logp_prior_unconditioned")

ALL_ABLATIONS = (
    "unconditioned_prior", "no_eos", "clamp_25", "official_target", "hf_default_top_k", "accept_all",
    "corpus_resampling", "flipped_dpo_sign", "paper",
)

ABLATION_DESCRIPTIONS = {
    "unconditioned_prior": "log-prior of the continuation alone (BOS + continuation, no prompt), as the official "
                           "code scores it (R5)",
    "no_eos": "no eos term in any log-probability (prefix probabilities, as the official code scores them, R5): "
              "log-prior minus its eos term, IMHA weight (log π̃ − eos) − (log q − eos)",
    "clamp_25": "every per-token log-probability clamped at −25 nats (the official [0, 25] NLL clamp, R4), in the "
                "log-prior and the IMHA weights",
    "official_target": "IMHA weight log p_aligned − log q: the official code targets the untempered, untruncated "
                       "aligned model, not π_T (C12)",
    "hf_default_top_k": "each scheme replaced by its '+hf_top_k50' variant (transformers' default top_k = 50 "
                        "applied on top of the adaptor, R4)",
    "accept_all": "every proposal accepted (the official 1-tuple bug, R1): the 'global' chain is the sample itself",
    "corpus_resampling": "the official proposal: proposals resampled with replacement from the sampled strings "
                         "(imha_corpus, paper_chain_length steps), corpus points by bootstrap from the chain (R6)",
    "flipped_dpo_sign": "DPO secret reward with the official sign, −β(log p_aligned − log p_prior) (R2)",
    "paper": "all of the above at once (those that apply), capped strings included as the official code keeps "
             "them (R5); for DPO the official secret reward log p_prior_unconditioned − log p_aligned, each "
             "without eos and clamped, β = 1",
}

#: columns each ablation needs beyond REQUIRED_COLUMNS
_ABLATION_COLUMNS = {
    "unconditioned_prior": ("logp_prior_unconditioned",),
    "no_eos": ("logp_aligned_eos", "logq_eos", "log_pi_tilde_eos", "logp_prior_eos"),
    "clamp_25": ("logp_aligned_clamped", "logq_clamped", "log_pi_tilde_clamped", "logp_prior_clamped"),
    "official_target": (),
    "hf_default_top_k": (),
    "accept_all": (),
    "corpus_resampling": (),
    "flipped_dpo_sign": (),
    "paper": ("logp_aligned_eos", "logq_eos", "logp_aligned_clamped", "logq_clamped", "logp_prior_unconditioned",
              "logp_prior_unconditioned_eos", "logp_prior_unconditioned_clamped"),
}

#: a log-probability above this many nats per token is not a log-probability (e.g. an NLL passed by mistake)
_POSITIVE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of :func:`analyze` (validated on construction)."""

    seed: int = 0
    include_capped: bool = False
    corpus_blocks: int = 20
    bootstrap_corpora: int = 0
    bootstrap_corpus_size: int | None = None
    cramers_v_lag: int = 1
    secret_reward_beta: float | None = None
    ablations: tuple[str, ...] = ALL_ABLATIONS
    paper_chain_length: int = 200_000

    def __post_init__(self) -> None:
        def integer(name: str, low: int, *, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise ValueError(f"{name} must be an int >= {low}{' or None' if optional else ''}, got {v!r}")

        integer("seed", 0)
        integer("corpus_blocks", 1)
        integer("bootstrap_corpora", 0)
        integer("bootstrap_corpus_size", 1, optional=True)
        integer("cramers_v_lag", 1)
        integer("paper_chain_length", 1)
        if not isinstance(self.include_capped, bool):
            raise TypeError(f"include_capped must be a bool, got {self.include_capped!r}")
        beta = self.secret_reward_beta
        if beta is not None and (isinstance(beta, bool) or not isinstance(beta, int | float)
                                 or not math.isfinite(beta) or beta <= 0):
            raise ValueError(f"secret_reward_beta must be a finite number > 0 or None, got {beta!r}")
        if isinstance(self.ablations, str) or not isinstance(self.ablations, Sequence):
            raise TypeError(f"ablations must be a tuple of names, got {self.ablations!r}")
        unknown = [a for a in self.ablations if a not in ALL_ABLATIONS]
        if unknown:
            raise ValueError(f"ablations: unknown name(s) {unknown}; choose from {list(ALL_ABLATIONS)}")
        if len(set(self.ablations)) != len(self.ablations):
            raise ValueError(f"ablations must not repeat a name, got {list(self.ablations)}")
        object.__setattr__(self, "ablations", tuple(self.ablations))


@dataclass(frozen=True)
class Procedure:
    """One way to compute the summary: ours (the defaults), or with some of the official code's choices on.

    ``prior``: "conditioned" (logp_prior) or "unconditioned" (logp_prior_unconditioned). ``eos``: keep the eos
    term of every log-probability. ``clamp``: use the 25-nat clamped sums. ``official_target``: IMHA weight
    log p_aligned − log q instead of log π̃_T − log q. ``hf_default_top_k``: use each scheme's '+hf_top_k50'
    variant. ``accept_all``: accept every proposal. ``corpus_resampling``: the official proposal and bootstrap.
    ``flip_dpo_sign``, ``unit_beta``: the DPO secret reward's sign flipped, and β = 1. ``include_capped``: None
    takes the option's value.
    """

    prior: str = "conditioned"
    eos: bool = True
    clamp: bool = False
    official_target: bool = False
    hf_default_top_k: bool = False
    accept_all: bool = False
    corpus_resampling: bool = False
    flip_dpo_sign: bool = False
    unit_beta: bool = False
    include_capped: bool | None = None

    def __post_init__(self) -> None:
        if self.prior not in ("conditioned", "unconditioned"):
            raise ValueError(f"prior must be 'conditioned' or 'unconditioned', got {self.prior!r}")


OURS = Procedure()

#: the procedure of each ablation (``paper`` is assembled in :func:`analyze` from those that apply)
ABLATION_PROCEDURES = {
    "unconditioned_prior": Procedure(prior="unconditioned"),
    "no_eos": Procedure(eos=False),
    "clamp_25": Procedure(clamp=True),
    "official_target": Procedure(official_target=True),
    "hf_default_top_k": Procedure(hf_default_top_k=True),
    "accept_all": Procedure(accept_all=True),
    "corpus_resampling": Procedure(corpus_resampling=True),
    "flipped_dpo_sign": Procedure(flip_dpo_sign=True),
}


# ----- the table ---------------------------------------------------------------------------------------------


@dataclass
class _Table:
    """The samples as numpy arrays, validated."""

    n: int
    index: list  # the DataFrame's index labels, for error messages
    scheme: np.ndarray  # object array of names
    prompt_index: np.ndarray
    sample_index: np.ndarray
    n_tokens: np.ndarray
    eos: np.ndarray
    labels: np.ndarray  # identity of (prompt_index, token_ids): Cramér's V states
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    _rows: dict[str, np.ndarray] = field(default_factory=dict)

    def rows_of(self, scheme: str) -> np.ndarray:
        """The table rows of a scheme, in table order."""
        if not self._rows:
            codes, inverse = np.unique(self.scheme.astype(str), return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(codes) + 1))
            self._rows = {str(c): order[bounds[k]:bounds[k + 1]] for k, c in enumerate(codes)}
        return self._rows.get(scheme, np.zeros(0, dtype=np.int64))

    def where(self, i: int) -> str:
        return (f"row {self.index[i]!r} (scheme {self.scheme[i]!r}, prompt_index {int(self.prompt_index[i])}, "
                f"sample_index {int(self.sample_index[i])})")


def _column_names(samples: Any) -> set[str]:
    return {str(c) for c in samples.columns}


def _needed_columns(ablations: Sequence[str]) -> list[str]:
    need = list(REQUIRED_COLUMNS)
    for a in ablations:
        for c in _ABLATION_COLUMNS[a]:
            if c not in need:
                need.append(c)
    return need


def _integers(samples: Any, name: str, index: list) -> np.ndarray:
    raw = samples[name].to_numpy()
    if raw.dtype.kind in "iu":
        return raw.astype(np.int64)
    out = np.empty(len(raw), dtype=np.int64)
    for i, v in enumerate(raw):
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
            if isinstance(v, float | np.floating) and float(v).is_integer():
                out[i] = int(v)
                continue
            raise TypeError(f"column {name!r} must hold ints, got {v!r} at row {index[i]!r}")
        out[i] = int(v)
    return out


def _floats(samples: Any, name: str, index: list) -> np.ndarray:
    raw = samples[name].to_numpy()
    try:
        x = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(raw):
            try:
                float(v)
            except (TypeError, ValueError):
                raise TypeError(f"column {name!r} must hold numbers, got {v!r} at row {index[i]!r}") from None
        raise
    if raw.dtype == bool or (raw.dtype == object and any(isinstance(v, bool | np.bool_) for v in raw)):
        raise TypeError(f"column {name!r} must hold numbers, not booleans")
    return x


def _is_prior(name: str) -> bool:
    return name.startswith("logp_prior") and not name.endswith("_clamped")


def _table(samples: Any, columns: Sequence[str]) -> _Table:
    """Validate the samples and extract the columns as arrays."""
    if not hasattr(samples, "columns") or not hasattr(samples, "index"):
        raise TypeError(f"samples must be a pandas DataFrame, got {type(samples).__name__}")
    missing = [c for c in columns if c not in _column_names(samples)]
    if missing:
        raise ValueError(f"samples: missing column(s) {missing}")
    n = len(samples)
    if n == 0:
        raise ValueError("samples is empty: no strings to analyse")
    index = list(samples.index)
    scheme = samples["scheme"].to_numpy(dtype=object)
    for i, s in enumerate(scheme):
        if not isinstance(s, str):
            raise TypeError(f"column 'scheme' must hold str, got {s!r} at row {index[i]!r}")
    prompt_index = _integers(samples, "prompt_index", index)
    sample_index = _integers(samples, "sample_index", index)
    n_tokens = _integers(samples, "n_tokens", index)
    eos_raw = samples["eos"].to_numpy()
    if eos_raw.dtype == bool:
        eos = eos_raw.copy()
    else:
        eos = np.empty(n, dtype=bool)
        for i, v in enumerate(eos_raw):
            if not isinstance(v, bool | np.bool_):
                raise TypeError(f"column 'eos' must hold bools, got {v!r} at row {index[i]!r}")
            eos[i] = bool(v)
    table = _Table(n, index, scheme, prompt_index, sample_index, n_tokens, eos, np.empty(0, dtype=np.int64))
    bad = np.flatnonzero(n_tokens < 0)
    if bad.size:
        raise ValueError(f"column 'n_tokens' must be >= 0, got {int(n_tokens[bad[0]])} at {table.where(bad[0])}")
    keys: dict[tuple, int] = {}
    states: dict[tuple, int] = {}
    labels = np.empty(n, dtype=np.int64)
    for i, ids in enumerate(samples["token_ids"].to_numpy()):
        if isinstance(ids, str | bytes) or not isinstance(ids, Sequence | np.ndarray):
            raise TypeError(f"column 'token_ids' must hold lists of ints, got {ids!r} at {table.where(i)}")
        array = np.asarray(ids)
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise TypeError(f"column 'token_ids' must hold lists of ints, got {ids!r} at {table.where(i)}")
        tokens = array.astype(np.int64).tobytes()
        if array.size != n_tokens[i]:
            raise ValueError(f"column 'token_ids' has {array.size} ids but n_tokens is {int(n_tokens[i])} at "
                             f"{table.where(i)}")
        key = (scheme[i], int(prompt_index[i]), int(sample_index[i]))
        if key in keys:
            raise ValueError(f"duplicate (scheme, prompt_index, sample_index) {key} at rows {index[keys[key]]!r} "
                             f"and {index[i]!r}")
        keys[key] = i
        labels[i] = states.setdefault((int(prompt_index[i]), tokens), len(states))
    table.labels = labels
    for name in columns:
        if name in REQUIRED_COLUMNS[:6]:
            continue
        x = _floats(samples, name, index)
        if _is_prior(name):  # −inf is legitimate (a prior probability 0), NaN and +inf are not
            bad = np.flatnonzero(~(x < np.inf))
            what = "NaN or +inf"
        else:
            bad = np.flatnonzero(~np.isfinite(x))
            what = "a non-finite value"
        if bad.size:
            raise ValueError(f"column {name!r} has {what} ({float(x[bad[0]])!r}) at {table.where(bad[0])}"
                             + (f" and {bad.size - 1} more row(s)" if bad.size > 1 else ""))
        if name != "reward":
            limit = _POSITIVE_TOLERANCE * np.maximum(n_tokens, 1)
            bad = np.flatnonzero(x > limit)
            if bad.size:
                raise ValueError(f"column {name!r} holds a log-probability > 0 ({float(x[bad[0]])!r}) at "
                                 f"{table.where(bad[0])}: pass log-probabilities, not NLLs")
        if name.endswith("_eos"):
            bad = np.flatnonzero(~eos & (x != 0.0))
            if bad.size:
                raise ValueError(f"column {name!r} must be 0.0 for a capped string (eos False), got "
                                 f"{float(x[bad[0]])!r} at {table.where(bad[0])}")
        table.columns[name] = x
    return table


def _scheme_metadata(schemes: Any, table: _Table) -> dict[str, dict]:
    if isinstance(schemes, Mapping | str) or not isinstance(schemes, Sequence):
        raise TypeError(f"schemes must be a list of dicts, got {type(schemes).__name__}")
    meta: dict[str, dict] = {}
    for k, s in enumerate(schemes):
        if not isinstance(s, Mapping):
            raise TypeError(f"schemes[{k}] must be a dict, got {s!r}")
        for key in ("name", "adaptor", "params", "temperature"):
            if key not in s:
                raise ValueError(f"schemes[{k}] lacks the key {key!r}")
        name = s["name"]
        if not isinstance(name, str) or not name:
            raise ValueError(f"schemes[{k}]['name'] must be a non-empty str, got {name!r}")
        if name in meta:
            raise ValueError(f"schemes: the name {name!r} occurs twice")
        meta[name] = dict(s)
        meta[name].setdefault("base", None)
    for name, s in meta.items():
        base = s["base"]
        if base is None:
            continue
        if base not in meta:
            raise ValueError(f"scheme {name!r} has base {base!r}, which is not in schemes")
        if meta[base]["base"] is not None:
            raise ValueError(f"scheme {name!r} has base {base!r}, which itself has a base")
    variants: dict[str, str] = {}
    for name, s in meta.items():
        if s["base"] is not None:
            if s["base"] in variants:
                raise ValueError(f"schemes {variants[s['base']]!r} and {name!r} share the base {s['base']!r}")
            variants[s["base"]] = name
    in_table = set(table.scheme.tolist())
    extra = sorted(in_table - set(meta))
    if extra:
        raise ValueError(f"samples: scheme(s) {extra} are not in schemes")
    absent = [name for name in meta if name not in in_table]
    if absent:
        raise ValueError(f"schemes: {absent} have no rows in samples")
    return meta


# ----- per-string values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StringValues:
    """Per-row values under one procedure: log-prior, reward and IMHA log-weight (arrays over the table's rows)."""

    log_prior: np.ndarray
    reward: np.ndarray
    log_weight: np.ndarray


def _family(table: _Table, family: str, procedure: Procedure) -> np.ndarray:
    """Σ_t term_t of a log-probability family, with the procedure's eos and clamp choices.

    Without eos: the sum minus the eos term (clamped: the clamped sum minus max(eos term, −25)); where both are −∞
    the difference is unknown and comes out NaN, which the statistics treat like −∞ (excluded, counted).
    """
    c = table.columns
    total = c[f"{family}_clamped"] if procedure.clamp else c[family]
    if procedure.eos:
        return total
    eos_term = c[f"{family}_eos"]
    if procedure.clamp:
        eos_term = np.maximum(eos_term, -CLAMP)
    with np.errstate(invalid="ignore"):
        return total - eos_term


def _values(table: _Table, procedure: Procedure, beta: float | None) -> StringValues:
    prior = _family(table, "logp_prior" if procedure.prior == "conditioned" else "logp_prior_unconditioned",
                    procedure)
    q = _family(table, "logq", procedure)
    target = _family(table, "logp_aligned" if procedure.official_target else "log_pi_tilde", procedure)
    if beta is None:
        reward = table.columns["reward"].copy()
    else:
        aligned = _family(table, "logp_aligned", procedure)
        with np.errstate(invalid="ignore"):
            reward = (1.0 if procedure.unit_beta else beta) * (aligned - prior)
    if procedure.flip_dpo_sign:
        reward = -reward
    return StringValues(prior, reward, target - q)


def string_values(samples: Any, procedure: Procedure = OURS, *,
                  secret_reward_beta: float | None = None) -> StringValues:
    """The per-string log-prior, reward and IMHA log-weight that :func:`analyze` uses under ``procedure``.

    log-prior: logp_prior (or logp_prior_unconditioned), minus the eos term without eos, the clamped column with
    the clamp. Reward: the ``reward`` column, or with ``secret_reward_beta`` the DPO secret reward
    β·(log p_aligned − log p_prior) (Eq. 4) from the same choices (β = 1 with ``unit_beta``), negated with
    ``flip_dpo_sign``. Log-weight: log π̃_T − log q_T (official target: log p_aligned − log q_T), same choices.
    """
    if not isinstance(procedure, Procedure):
        raise TypeError(f"procedure must be a Procedure, got {procedure!r}")
    cols = list(REQUIRED_COLUMNS)
    prior = "logp_prior" if procedure.prior == "conditioned" else "logp_prior_unconditioned"
    families = {prior, "logq", "logp_aligned" if procedure.official_target else "log_pi_tilde"}
    if secret_reward_beta is not None:
        families.add("logp_aligned")
    for f in sorted(families):
        cols.append(f"{f}_clamped" if procedure.clamp else f)
        if not procedure.eos:
            cols.append(f"{f}_eos")
    return _values(_table(samples, list(dict.fromkeys(cols))), procedure, secret_reward_beta)


# ----- statistics --------------------------------------------------------------------------------------------


def _rng(seed: int, name: str, purpose: str) -> np.random.Generator:
    """A generator determined by the seed, the scheme's name and the purpose (stable across runs and machines)."""
    digest = hashlib.sha256(f"{purpose}\x00{name}".encode()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def _mean(values: np.ndarray, key: str, out: dict, undefined: dict, what: str) -> None:
    """out[key] = the mean, or None with the reason when a value is infinite (or unknown)."""
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if values.size == 0:
        out[key] = None
        undefined[key] = "no strings"
    elif bad:
        out[key] = None
        undefined[key] = (f"{bad} of {values.size} {what} are not finite (log-prior −∞: the prior gives a token "
                          "probability 0), so the mean is not a finite number")
    else:
        out[key] = float(np.mean(values))


def _midranks(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their ranks) of the data in which x[i] occurs counts[i] times."""
    order = np.argsort(x, kind="stable")
    xs, cs = x[order], counts[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    group = np.add.reduceat(cs, starts)
    last = np.cumsum(group)
    mid = last - (group - 1) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(mid, np.diff(np.r_[starts, len(xs)]))
    return ranks


def _correlations(x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> dict:
    """Pearson and Spearman correlation of the data in which (x[i], y[i]) occurs counts[i] times.

    Equal to scipy's pearsonr/spearmanr on the expanded data (Spearman = Pearson of the average ranks); points
    with a non-finite coordinate are excluded and counted.
    """
    c = np.ones(len(x), dtype=np.float64) if counts is None else np.asarray(counts, dtype=np.float64)
    present = c > 0
    finite = np.isfinite(x) & np.isfinite(y)
    keep = present & finite
    out: dict[str, Any] = {"pearson": None, "spearman": None, "n_points": int(c[keep].sum()),
                           "n_excluded": int(c[present & ~finite].sum()), "undefined": {}}
    xs, ys, cs = x[keep], y[keep], c[keep]
    if out["n_points"] < 3:
        reason = f"{out['n_points']} points with finite values; a correlation needs at least 3"
    elif np.ptp(xs) == 0:
        reason = f"the log-prior is constant over the {out['n_points']} points"
    elif np.ptp(ys) == 0:
        reason = f"the reward is constant over the {out['n_points']} points"
    else:
        out["pearson"] = _clip(weighted_correlation(xs, ys, cs))
        out["spearman"] = _clip(weighted_correlation(_midranks(xs, cs), _midranks(ys, cs), cs))
        return out
    out["undefined"] = {"pearson": reason, "spearman": reason}
    return out


def _clip(r: float) -> float:
    if not math.isfinite(r):  # pragma: no cover - excluded by the constant checks above
        raise ArithmeticError(f"correlation came out {r!r}")
    return max(-1.0, min(1.0, float(r)))


def _points(means_x: np.ndarray, means_y: np.ndarray) -> list[list[float | None]]:
    return [[float(a) if math.isfinite(a) else None, float(b) if math.isfinite(b) else None]
            for a, b in zip(means_x.tolist(), means_y.tolist(), strict=True)]


def _block_means(rows: np.ndarray, blocks: list[np.ndarray], values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.array([values[rows[b]].mean() for b in blocks])


def _count_means(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Means of corpora given by count vectors (rows of counts), NaN where a corpus holds a non-finite value."""
    finite = np.isfinite(values)
    size = counts.sum(axis=1)
    means = counts @ np.where(finite, values, 0.0) / size
    means[counts @ (~finite).astype(np.float64) > 0] = np.nan
    return means


@dataclass
class _Chain:
    """One scheme's run under one procedure."""

    name: str  # the main scheme's name
    source: str  # the scheme whose strings were used (differs with hf_default_top_k)
    rows: np.ndarray  # the usable rows, in proposal order
    chain: np.ndarray  # table row of every chain state
    accepted: int
    proposals: int  # number of proposals tested
    local_points: tuple[np.ndarray, np.ndarray]
    global_points: tuple[np.ndarray, np.ndarray]
    bootstrap_points: tuple[np.ndarray, np.ndarray] | None
    bootstrap_size: int | None


def _bootstrap(chain: np.ndarray, n_corpora: int, size: int, values: StringValues,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Corpora of ``size`` states drawn with replacement from the chain, as multinomial counts over its distinct
    states (every statistic is linear in the counts)."""
    uniq, visits = np.unique(chain, return_counts=True)
    counts = rng.multinomial(size, visits / visits.sum(), size=n_corpora).astype(np.float64)
    return _count_means(counts, values.log_prior[uniq]), _count_means(counts, values.reward[uniq])


def _run_chain(name: str, source: str, rows: np.ndarray, values: StringValues, procedure: Procedure,
               options: AnalysisOptions, bootstrap: bool) -> _Chain:
    n = len(rows)
    rng = _rng(options.seed, source, "imha")
    order = rows[rng.permutation(n)]
    blocks_local = np.array_split(np.arange(n), min(options.corpus_blocks, n))
    local = (_block_means(order, blocks_local, values.log_prior), _block_means(order, blocks_local, values.reward))
    boot, boot_size = None, None
    if procedure.corpus_resampling:
        crng = _rng(options.seed, source, "corpus_resampling")
        steps = options.paper_chain_length
        picks, accepted = imha_corpus(values.log_weight[order], steps, crng, accept_all=procedure.accept_all)
        chain = order[picks]
        boot_size = options.bootstrap_corpus_size or steps
        n_corpora = options.bootstrap_corpora or options.corpus_blocks
        glob = _bootstrap(chain, n_corpora, boot_size, values, crng)
        return _Chain(name, source, order, chain, int(accepted), steps, local, glob, None, None)
    if procedure.accept_all:
        states, accepted = np.arange(n), n - 1
    else:
        out, accepted = imha_kernel(values.log_weight[order], rng)
        states = np.r_[0, out]
    chain = order[states]
    blocks = np.array_split(np.arange(len(chain)), min(options.corpus_blocks, len(chain)))
    glob = (_block_means(chain, blocks, values.log_prior), _block_means(chain, blocks, values.reward))
    if bootstrap and options.bootstrap_corpora > 0:
        boot_size = options.bootstrap_corpus_size or len(chain)
        boot = _bootstrap(chain, options.bootstrap_corpora, boot_size, values, _rng(options.seed, source,
                                                                                       "bootstrap"))
    return _Chain(name, source, order, chain, int(accepted), n - 1, local, glob, boot, boot_size)


def _means(rows: np.ndarray, values: StringValues, table: _Table) -> dict:
    out: dict[str, Any] = {}
    undefined: dict[str, str] = {}
    _mean(values.log_prior[rows], "mean_logprob_prior", out, undefined, "log-priors")
    _mean(values.reward[rows], "mean_reward", out, undefined, "rewards")
    out["mean_length"] = float(np.mean(table.n_tokens[rows]))
    out["n"] = len(rows)
    out["n_prior_nonfinite"] = int(np.count_nonzero(~np.isfinite(values.log_prior[rows])))
    out["undefined"] = undefined
    return out


def _ess(chain: np.ndarray, values: StringValues, table: _Table) -> dict:
    out: dict[str, Any] = {"undefined": {}}
    for key, trace in (("log_prior", values.log_prior[chain]), ("reward", values.reward[chain]),
                       ("length", table.n_tokens[chain].astype(np.float64))):
        try:
            out[key] = float(effective_sample_size(trace))
        except ValueError as e:
            out[key] = None
            out["undefined"][key] = str(e)
    return out


def _importance_sampling(rows: np.ndarray, values: StringValues) -> dict:
    """Self-normalized importance sampling: Σ w f / Σ w with w = exp(log π̃ − log q), and ESS = (Σw)²/Σw²."""
    lw = values.log_weight[rows]
    w = np.exp(lw - lw.max())
    w /= w.sum()
    out: dict[str, Any] = {"ess": float(1.0 / np.sum(w**2))}
    undefined: dict[str, str] = {}
    for key, f in (("mean_logprob_prior", values.log_prior[rows]), ("mean_reward", values.reward[rows])):
        bad = ~np.isfinite(f)
        if np.any(bad):
            out[key] = None
            undefined[key] = (f"{int(np.count_nonzero(bad))} strings have a non-finite value (log-prior −∞), so "
                              "the weighted mean is not finite")
        else:
            out[key] = float(w[~bad] @ f[~bad])
    out["undefined"] = undefined
    return out


def _cramers_v(chain: np.ndarray, table: _Table, lag: int) -> tuple[dict, dict]:
    try:
        cv = cramers_v(table.labels[chain], lag=lag)
    except ValueError as e:
        reason = str(e)
        return {"cramers_v": None, "cramers_v_corrected": None, "cramers_v_states": None}, \
               {"cramers_v": reason, "cramers_v_corrected": reason}
    return {"cramers_v": cv.v, "cramers_v_corrected": cv.v_corrected,
            "cramers_v_states": int(np.unique(table.labels[chain]).size)}, {}


def _visit_counts(chain: np.ndarray, n_rows: int) -> np.ndarray:
    return np.bincount(chain, minlength=n_rows).astype(np.float64)


def _pooled(chains: list[_Chain], values: StringValues, n_rows: int) -> dict:
    """The four pooled correlations (global: chain states; corpus: the chains' corpus points), and the local ones."""
    out: dict[str, Any] = {"undefined": {}}
    if chains:
        counts = sum(_visit_counts(c.chain, n_rows) for c in chains)
        local_counts = sum(_visit_counts(c.rows, n_rows) for c in chains)
    else:
        counts = local_counts = np.zeros(n_rows)
    for prefix, string_counts, points in (
            ("", counts, [c.global_points for c in chains]),
            ("local_", local_counts, [c.local_points for c in chains])):
        s = _correlations(values.log_prior, values.reward, string_counts)
        cx = np.concatenate([p[0] for p in points]) if points else np.zeros(0)
        cy = np.concatenate([p[1] for p in points]) if points else np.zeros(0)
        k = _correlations(cx, cy)
        target = out if not prefix else out.setdefault("local", {"undefined": {}})
        for level, corr in (("string", s), ("corpus", k)):
            for kind in ("spearman", "pearson"):
                key = f"{level}_{kind}"
                target[key] = corr[kind]
                if kind in corr["undefined"]:
                    target["undefined"][key] = corr["undefined"][kind]
            target[f"n_{level}_points"] = corr["n_points"]
            target[f"n_{level}_points_excluded"] = corr["n_excluded"]
    return out


def _usable(table: _Table, source: str, include_capped: bool) -> tuple[np.ndarray, int]:
    rows = table.rows_of(source)
    capped = int(np.count_nonzero(~table.eos[rows]))
    if not include_capped:
        rows = rows[table.eos[rows]]
    return rows, capped


def _run(table: _Table, meta: dict[str, dict], procedure: Procedure, options: AnalysisOptions,
         detailed: bool) -> dict:
    """The summary of every main scheme and the pooled correlations under one procedure."""
    beta = options.secret_reward_beta
    values = _values(table, procedure, beta)
    include_capped = options.include_capped if procedure.include_capped is None else procedure.include_capped
    variants = {s["base"]: name for name, s in meta.items() if s["base"] is not None}
    chains: list[_Chain] = []
    per_scheme: list[dict] = []
    for name, s in meta.items():
        if s["base"] is not None:
            continue
        source = variants.get(name, name) if procedure.hf_default_top_k else name
        rows, capped = _usable(table, source, include_capped)
        entry: dict[str, Any] = {"name": name}
        if detailed:
            entry.update(adaptor=_jsonable(s["adaptor"], f"schemes[{name!r}]['adaptor']"),
                         params=_jsonable(s["params"], f"schemes[{name!r}]['params']"),
                         temperature=_jsonable(s["temperature"], f"schemes[{name!r}]['temperature']"))
        if source != name:
            entry["strings_from"] = source
        entry.update(n=len(rows), n_capped=capped)
        if len(rows) < 2:
            entry.update({"local": None, "global": None, "acceptance_rate": None, "accepted": None})
            if detailed:
                entry.update(cramers_v=None, cramers_v_corrected=None, cramers_v_states=None, ess=None,
                             importance_sampling=None, string_pearson=None, string_spearman=None, corpus=None,
                             chain_visits=[])
            entry["undefined"] = {"scheme": f"{len(rows)} usable string(s) ({capped} capped "
                                            f"{'included' if include_capped else 'excluded'}); the IMHA needs at "
                                            "least 2"}
            per_scheme.append(entry)
            continue
        c = _run_chain(name, source, rows, values, procedure, options, bootstrap=detailed)
        chains.append(c)
        entry["local"] = _means(c.rows, values, table)
        entry["global"] = _means(c.chain, values, table)
        entry["acceptance_rate"] = c.accepted / c.proposals
        entry["accepted"] = c.accepted
        entry["undefined"] = {}
        if detailed:
            _detail(entry, c, values, table, options)
        per_scheme.append(entry)
    out = _pooled(chains, values, table.n)
    boot = [c for c in chains if c.bootstrap_points is not None]
    if detailed and boot:
        k = _correlations(np.concatenate([c.bootstrap_points[0] for c in boot]),
                          np.concatenate([c.bootstrap_points[1] for c in boot]))
        out["bootstrap"] = {"corpus_spearman": k["spearman"], "corpus_pearson": k["pearson"],
                            "n_corpus_points": k["n_points"], "n_corpus_points_excluded": k["n_excluded"],
                            "corpora_per_scheme": options.bootstrap_corpora, "undefined": k["undefined"]}
    out["schemes"] = per_scheme
    out["n_strings"] = int(sum(len(c.rows) for c in chains))
    out["n_capped"] = int(sum(e["n_capped"] for e in per_scheme))
    out["_chains"] = chains
    out["_values"] = values
    return out


def _detail(entry: dict, c: _Chain, values: StringValues, table: _Table, options: AnalysisOptions) -> None:
    cv, cv_undefined = _cramers_v(c.chain, table, options.cramers_v_lag)
    entry.update(cv)
    entry["undefined"].update(cv_undefined)
    entry["ess"] = _ess(c.chain, values, table)
    entry["importance_sampling"] = _importance_sampling(c.rows, values)
    within = _correlations(values.log_prior, values.reward, _visit_counts(c.chain, table.n))
    entry["string_pearson"], entry["string_spearman"] = within["pearson"], within["spearman"]
    for kind in ("pearson", "spearman"):
        if kind in within["undefined"]:
            entry["undefined"][f"string_{kind}"] = within["undefined"][kind]
    local = _correlations(values.log_prior[c.rows], values.reward[c.rows])
    entry["local"]["string_pearson"], entry["local"]["string_spearman"] = local["pearson"], local["spearman"]
    for kind in ("pearson", "spearman"):
        if kind in local["undefined"]:
            entry["local"]["undefined"][f"string_{kind}"] = local["undefined"][kind]
    blocks = np.array_split(np.arange(len(c.chain)), min(options.corpus_blocks, len(c.chain)))
    corpus: dict[str, Any] = {"blocks": len(blocks), "block_sizes": [len(b) for b in blocks],
                              "local": _points(*c.local_points), "global": _points(*c.global_points)}
    if c.bootstrap_points is not None:
        corpus["bootstrap"] = {"corpus_size": c.bootstrap_size, "points": _points(*c.bootstrap_points)}
    entry["corpus"] = corpus
    rows, visits = np.unique(c.chain, return_counts=True)
    entry["chain_visits"] = [[int(table.prompt_index[r]), int(table.sample_index[r]), int(v)]
                             for r, v in zip(rows.tolist(), visits.tolist(), strict=True)]


def _jsonable(x: Any, where: str) -> Any:
    """Scheme metadata as JSON values (numpy scalars converted); a non-finite float is an error."""
    if isinstance(x, np.generic):
        x = x.item()
    if x is None or isinstance(x, bool | int | str):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{where} must be finite, got {x!r}")
        return x
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in x.items()}
    if isinstance(x, Sequence):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(x)]
    raise TypeError(f"{where} must be JSON-like (numbers, strings, lists, dicts), got {x!r}")


def _summary(run: dict, ours: dict | None) -> dict:
    """An ablation's summary: per-scheme means and acceptance rates, the pooled correlations, and how much the
    four global correlations moved relative to ours."""
    keys = ("string_spearman", "string_pearson", "corpus_spearman", "corpus_pearson")
    out: dict[str, Any] = {k: run[k] for k in keys}
    out["local"] = {k: run["local"][k] for k in keys} | {"undefined": run["local"]["undefined"]}
    out["undefined"] = run["undefined"]
    out["n_strings"], out["n_capped"] = run["n_strings"], run["n_capped"]
    out["schemes"] = [{k: e[k] for k in ("name", "strings_from", "n", "n_capped", "local", "global",
                                         "acceptance_rate", "undefined") if k in e} for e in run["schemes"]]
    if ours is not None:
        out["change"] = {k: (None if run[k] is None or ours[k] is None else run[k] - ours[k]) for k in keys}
    return out


SIMPSON_NOTE = ("Corpora of different schemes are samples from different distributions (one adaptor and "
                "temperature each), not i.i.d. corpora from the aligned model, so Prop. 1 does not predict the "
                "corpus-level line (docs/theory.md#c8): avg log-prior + avg reward/β = avg log p_aligned + log Z holds "
                "for every corpus, and the line across schemes follows how avg log p_aligned varies between them.")


def _simpson(run: dict) -> dict:
    within = [{"name": e["name"], "string_pearson": e.get("string_pearson"),
               "string_spearman": e.get("string_spearman")} for e in run["schemes"]]
    signs = [w["string_pearson"] for w in within if w["string_pearson"] is not None]
    out: dict[str, Any] = {
        "within_scheme": within,
        "n_within_positive": sum(1 for r in signs if r > 0),
        "n_within_negative": sum(1 for r in signs if r < 0),
        "string_pearson": run["string_pearson"], "string_spearman": run["string_spearman"],
        "corpus_pearson": run["corpus_pearson"], "corpus_spearman": run["corpus_spearman"],
        "undefined": {},
    }
    for kind in ("pearson", "spearman"):
        s, k = run[f"string_{kind}"], run[f"corpus_{kind}"]
        key = "reversal" if kind == "pearson" else "reversal_spearman"
        if s is None or k is None or s == 0 or k == 0:
            out[key] = None
            out["undefined"][key] = "the pooled string-level or the corpus-level correlation is undefined or 0"
        else:
            out[key] = bool((s > 0) != (k > 0))
    out["note"] = SIMPSON_NOTE
    return out


def _paper_procedure(options: AnalysisOptions, has_variants: bool) -> tuple[Procedure, list[str]]:
    applied = ["unconditioned_prior", "no_eos", "clamp_25", "official_target", "accept_all", "corpus_resampling"]
    p = Procedure(prior="unconditioned", eos=False, clamp=True, official_target=True, accept_all=True,
                  corpus_resampling=True, include_capped=True)
    if has_variants:
        p = replace(p, hf_default_top_k=True)
        applied.append("hf_default_top_k")
    if options.secret_reward_beta is not None:
        p = replace(p, flip_dpo_sign=True, unit_beta=True)
        applied.append("flipped_dpo_sign")
    return p, applied


def analyze(samples: Any, schemes: list[dict], options: AnalysisOptions | None = None) -> dict:
    """The analysis of a samples table: per-scheme local and global (IMHA) summaries, pooled correlations, the
    Simpson check and the ablations; a JSON-ready dict (no NaN: None plus a reason under ``undefined``).

    See the module docstring for what the chain targets and how −∞ log-priors and capped strings are treated.
    Keys: ``format``, ``options``, ``schemes`` (main schemes, in the order given: name, adaptor, params,
    temperature, n, n_capped, local and global {mean_logprob_prior, mean_reward, mean_length, n,
    n_prior_nonfinite, undefined}, acceptance_rate, accepted, cramers_v, cramers_v_corrected, cramers_v_states,
    ess {log_prior, reward, length}, importance_sampling {mean_logprob_prior, mean_reward, ess}, string_pearson,
    string_spearman, corpus {blocks, block_sizes, local, global, [bootstrap]}, chain_visits [[prompt_index,
    sample_index, visits]], undefined), ``n_strings``, ``n_capped``, the four pooled correlations
    ``string_spearman``, ``string_pearson``, ``corpus_spearman``, ``corpus_pearson`` with their point counts,
    ``local`` (the same four from the samples), ``bootstrap`` (when drawn), ``undefined``, ``simpson``, ``dpo``
    (DPO runs), ``procedure`` and ``ablations`` ({name: summary or {description, skipped}}).
    """
    options = AnalysisOptions() if options is None else options
    if not isinstance(options, AnalysisOptions):
        raise TypeError(f"options must be an AnalysisOptions, got {options!r}")
    table = _table(samples, _needed_columns(options.ablations))
    meta = _scheme_metadata(schemes, table)
    main = _run(table, meta, OURS, options, detailed=True)
    out: dict[str, Any] = {"format": "typicality.lm.analysis/1", "options": _options_json(options)}
    out["schemes"] = main["schemes"]
    out["n_strings"], out["n_capped"] = main["n_strings"], main["n_capped"]
    for k in ("string_spearman", "string_pearson", "corpus_spearman", "corpus_pearson", "n_string_points",
              "n_string_points_excluded", "n_corpus_points", "n_corpus_points_excluded"):
        out[k] = main[k]
    out["local"] = main["local"]
    if "bootstrap" in main:
        out["bootstrap"] = main["bootstrap"]
    out["undefined"] = main["undefined"]
    out["simpson"] = _simpson(main)
    if options.secret_reward_beta is not None:
        beta = options.secret_reward_beta
        diff = np.abs(main["_values"].reward - table.columns["reward"])
        finite = np.isfinite(diff)
        out["dpo"] = {"secret_reward_beta": beta,
                      "reward": "β·(logp_aligned − logp_prior), recomputed from the columns (Eq. 4)",
                      "reward_column_max_abs_difference": float(diff[finite].max()) if finite.any() else None,
                      "n_reward_nonfinite": int(np.count_nonzero(~np.isfinite(main["_values"].reward)))}
    out["procedure"] = ("IMHA per scheme over its sampled strings (each once, seeded random order, the first the "
                        "initial state), log-weight log_pi_tilde − logq; target π(x, y) ∝ u(x)·π̃_T(y|x) pooled "
                        "over prompts (prompt marginal ∝ Z_T(x)); the chain output includes the initial state")
    has_variants = any(s["base"] is not None for s in meta.values())
    ablations: dict[str, Any] = {}
    for name in options.ablations:
        description = ABLATION_DESCRIPTIONS[name]
        if name == "hf_default_top_k" and not has_variants:
            ablations[name] = {"description": description,
                               "skipped": "no '+hf_top_k50' schemes (with a base) were sampled"}
            continue
        if name == "flipped_dpo_sign" and options.secret_reward_beta is None:
            ablations[name] = {"description": description,
                               "skipped": "not a DPO run (secret_reward_beta is None): the reward is a reward "
                                          "model's score, whose sign is not in question"}
            continue
        if name == "paper":
            procedure, applied = _paper_procedure(options, has_variants)
        else:
            procedure, applied = ABLATION_PROCEDURES[name], [name]
        summary = _summary(_run(table, meta, procedure, options, detailed=False), main)
        ablations[name] = {"description": description, "applied": applied} | summary
    out["ablations"] = ablations
    _check_json(out, "analysis")
    return out


def _options_json(options: AnalysisOptions) -> dict:
    d = asdict(options)
    d["ablations"] = list(options.ablations)
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


def _check_json(x: Any, where: str) -> None:
    """Every number finite and every value a JSON type: the output contract, checked rather than hoped for."""
    if isinstance(x, dict):
        for k, v in x.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a str")
            _check_json(v, f"{where}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _check_json(v, f"{where}[{i}]")
    elif isinstance(x, float):
        if not math.isfinite(x):  # pragma: no cover - a bug if it happens
            raise ArithmeticError(f"{where} is {x!r}; undefined numbers must be None with a reason")
    elif not (x is None or isinstance(x, bool | int | str)):  # pragma: no cover - a bug if it happens
        raise TypeError(f"{where} has the non-JSON value {x!r}")
