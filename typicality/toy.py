"""The toy experiment of §6.1 (docs/theory.md#d1): the published recipe, a fast equivalent, and its audit (#c8, #c9).

Objects and models (the official notebook's recipe, numpy legacy seeding): ``RandomState(seed)`` draws
p₊ ~ Dirichlet(0.1·1) over 1000 objects, then u ~ U(−0.42, 0.42); prior = softmax(p₊^(1/42) + u); reward
r = log(p₊/prior) (β = 1, so Z = 1 exactly). Corpus i is 100,000 draws ``RandomState(i).choice(1000, p=p₊)``;
it is typical when |−avg log p₊ − H(p₊)| < ε = 0.001. Each group (typical, atypical) is then causally
bootstrapped: 10 equal-width bins of the average log-prior, 100 corpora per bin with replacement, each group
from a fresh ``RandomState(42)``. This reproduces every published number (tests/test_toy.py).

* **faithful** mode draws each corpus exactly as above (≈ 9 ms per corpus);
* **fast** mode draws each corpus's count vector from the multinomial with a ``numpy.random.Generator``
  (same distribution, different stream; ≈ 0.1 ms per corpus), since every statistic is linear in the counts.

The audit adds what the paper leaves out: the ε sweep (typical fraction, the Chebyshev bound σ²/(Nε²) — vacuous at
the ε used — and the correlation among typical corpora before and after the resampling), the p₊-weighted
string-level correlation (the one i.i.d. corpora inherit, docs/theory.md#c8) next to the unweighted one reported, and
the correlation over all corpora.

>>> toy = toy_objects()
>>> round(toy.entropy_aligned, 3), round(toy.entropy_prior, 3)
(5.005, 6.869)
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from typicality import jsonio
from typicality.corpora import (
    CorpusStatistics,
    causal_bootstrap,
    pearson,
    spearman,
    statistics_from_counts,
    typical_mask,
    weighted_correlation,
)
from typicality.parallel import plan, run_ranges

DEFAULT_SWEEP = (0.0003, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.006, 0.008, 0.012, 0.02, 0.03)


@dataclass(frozen=True)
class ToyObjects:
    aligned: np.ndarray  # p₊ over the objects
    prior: np.ndarray
    reward: np.ndarray  # log(p₊ / prior)

    @property
    def entropy_aligned(self) -> float:
        p = self.aligned[self.aligned > 0]
        return float(-(p * np.log(p)).sum())

    @property
    def entropy_prior(self) -> float:
        return float(-(self.prior * np.log(self.prior)).sum())

    @property
    def varentropy(self) -> float:
        """σ² = Var_{p₊}[−log p₊(Y)]."""
        p = self.aligned[self.aligned > 0]
        return float(p @ (np.log(p) + self.entropy_aligned) ** 2)


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def toy_objects(seed: int = 42, n_objects: int = 1000, concentration: float = 0.1, scaling: float = 42.0,
                noise: float = 0.42) -> ToyObjects:
    """The §6.1 toy distributions, drawn as the official notebook draws them (a legacy ``RandomState(seed)``)."""
    _check_positive_int("n_objects", n_objects, 2)
    for name, value in (("concentration", concentration), ("scaling", scaling)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rs = np.random.RandomState(seed)
    aligned = rs.dirichlet(concentration * np.ones(n_objects))
    u = rs.uniform(-noise, noise, n_objects)
    x = aligned ** (1.0 / scaling) + u
    prior = np.exp(x - x.max())
    prior /= prior.sum()  # the recipe's softmax
    with np.errstate(divide="ignore"):
        reward = np.log(aligned) - np.log(prior)
    return ToyObjects(aligned, prior, reward)


@dataclass(frozen=True)
class ToyConfig:
    corpora: int = 1000
    corpus_size: int = 100_000
    eps: float = 0.001
    seed: int = 42  # of the objects and of the bootstrap
    bins: int = 10
    per_bin: int = 100
    sweep: tuple[float, ...] = DEFAULT_SWEEP
    faithful: bool = False

    def __post_init__(self) -> None:
        _check_positive_int("corpora", self.corpora)
        _check_positive_int("corpus_size", self.corpus_size)
        _check_positive_int("bins", self.bins)
        _check_positive_int("per_bin", self.per_bin)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an int from 0 to 2**32 - 1 (it seeds numpy's legacy RandomState, as the "
                             f"official notebook does), got {self.seed!r}")
        for name, e in [("eps", self.eps)] + [("sweep", s) for s in self.sweep]:
            if isinstance(e, bool) or not isinstance(e, int | float) or not (e > 0 and math.isfinite(e)):
                raise ValueError(f"{name} must hold finite numbers > 0, got {e!r}")
        if self.corpora < 2 * self.bins:
            raise ValueError(f"corpora={self.corpora} is too few to fill {self.bins} bins in both the typical and "
                             f"the atypical group; use at least {2 * self.bins}")


# ----- drawing the corpora ----------------------------------------------------------------------------------------
Progress = Callable[[int, int], None]


def draw_faithful(toy: ToyObjects, config: ToyConfig, *, start: int = 0, stop: int | None = None,
                  progress: Progress | None = None) -> np.ndarray:
    """Count vectors of corpora ``start..stop`` exactly as the notebook draws them (``RandomState(i).choice``)."""
    stop = config.corpora if stop is None else stop
    k = len(toy.aligned)
    counts = np.empty((stop - start, k), dtype=np.int64)
    for i in range(start, stop):
        idx = np.random.RandomState(i).choice(k, size=config.corpus_size, p=toy.aligned)
        counts[i - start] = np.bincount(idx, minlength=k)
        if progress:
            progress(i + 1, config.corpora)
    return counts


def draw_fast(toy: ToyObjects, config: ToyConfig, rng: np.random.Generator) -> np.ndarray:
    """Count vectors of all corpora from the multinomial: the same law as :func:`draw_faithful`.

    Large runs are drawn by child generators (``rng.spawn``) on the thread pool: deterministic given ``rng``.
    """
    counts = np.empty((config.corpora, len(toy.aligned)), dtype=np.int64)
    ranges = plan(config.corpora, parallel=config.corpora >= 64)
    children = dict(zip(ranges, rng.spawn(len(ranges)), strict=True))

    def draw(a: int, b: int) -> None:
        counts[a:b] = children[(a, b)].multinomial(config.corpus_size, toy.aligned, size=b - a)

    run_ranges(draw, ranges)
    return counts


def corpus_statistics(toy: ToyObjects, counts: np.ndarray) -> CorpusStatistics:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_aligned = np.where(toy.aligned > 0, np.log(toy.aligned), 0.0)
        reward = np.where(toy.aligned > 0, toy.reward, 0.0)  # objects never drawn contribute nothing
    return statistics_from_counts(counts, np.log(toy.prior), reward, log_aligned)


def _checkpoint_key(config: ToyConfig) -> dict:
    return {"corpora": config.corpora, "corpus_size": config.corpus_size, "seed": config.seed,
            "faithful": config.faithful}


class CheckpointWarning(UserWarning):
    """A checkpoint in the output folder could not be used (damaged, foreign, or of other settings): recomputed."""


def output_name(faithful: bool, stem: str, suffix: str) -> str:
    """The file name of one output in a mode's own namespace: the fast mode writes ``toy.json``, ``corpora.npz``,
    ``figure1.png``, ...; the faithful mode ``toy-faithful.json``, ``corpora-faithful.npz``, ``figure1-faithful.png``,
    ... so that both modes can share one folder."""
    return f"{stem}{'-faithful' if faithful else ''}{suffix}"


def _read_checkpoint(path: Path, config: ToyConfig) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """(done, a, b, s) from a checkpoint of exactly these settings; None, with a CheckpointWarning saying why,
    for a damaged, foreign or mismatched file (never silently ignored)."""
    n = config.corpora

    def unusable(why: str) -> None:
        warnings.warn(CheckpointWarning(f"checkpoint {path} {why}; recomputing it (the file is replaced)"),
                      stacklevel=3)

    try:
        with np.load(path, allow_pickle=False) as saved:
            missing = {"a", "b", "s", "done", "key"} - set(saved.files)
            if missing:
                return unusable(f"is not a toy checkpoint (it lacks {sorted(missing)})")
            key = json.loads(str(saved["key"]))
            done = saved["done"]
            arrays = [np.asarray(saved[k]) for k in ("a", "b", "s")]
    except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile) as e:  # truncated, not npz, ...
        return unusable(f"cannot be read ({type(e).__name__}: {e})")
    if key != _checkpoint_key(config):
        return unusable(f"holds a run with other settings ({key}, not {_checkpoint_key(config)})")
    if done.shape != () or done.dtype.kind not in "iu" or not 0 <= int(done) <= n \
            or any(x.shape != (n,) or x.dtype != np.float64 or not np.isfinite(x[:int(done)]).all() for x in arrays):
        return unusable("is damaged (its counts or arrays do not match its settings)")
    return int(done), *arrays


def collect_statistics(toy: ToyObjects, config: ToyConfig, *, out_dir: str | os.PathLike | None = None,
                       progress: Progress | None = None, chunk: int = 50) -> CorpusStatistics:
    """Per-corpus statistics for every corpus, resuming from ``out_dir/corpora.npz`` (``corpora-faithful.npz`` in
    the faithful mode) when a run with the same settings was interrupted there (the checkpoint is rewritten
    atomically after every ``chunk`` corpora; one that cannot be used is reported with a CheckpointWarning and
    recomputed)."""
    n = config.corpora
    a, b, s = np.empty(n), np.empty(n), np.empty(n)
    done = 0
    path = Path(out_dir) / output_name(config.faithful, "corpora", ".npz") if out_dir is not None else None
    if path is not None and path.exists():
        saved = _read_checkpoint(path, config)
        if saved is not None:
            done = saved[0]
            a[:done], b[:done], s[:done] = (x[:done] for x in saved[1:])

    def save(count: int) -> None:
        if path is None:
            return
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(tmp, a=a, b=b, s=s, done=count, key=json.dumps(_checkpoint_key(config)))
        os.replace(tmp, path)

    if config.faithful:
        for lo in range(done, n, chunk):
            hi = min(n, lo + chunk)
            st = corpus_statistics(toy, draw_faithful(toy, config, start=lo, stop=hi, progress=progress))
            a[lo:hi], b[lo:hi], s[lo:hi] = st.avg_log_prior, st.avg_reward, st.avg_log_aligned
            save(hi)
    elif done < n:
        st = corpus_statistics(toy, draw_fast(toy, config, np.random.default_rng(config.seed)))
        a, b, s = st.avg_log_prior, st.avg_reward, st.avg_log_aligned
        save(n)
        if progress:
            progress(n, n)
    return CorpusStatistics(a, b, s, config.corpus_size)


# ----- the experiment ---------------------------------------------------------------------------------------------
@dataclass
class ToyResult:
    """The ``typicality toy --json`` contract (and a few more keys)."""

    entropy_aligned: float
    entropy_prior: float
    varentropy: float
    n_typical: int
    string_spearman: float
    string_pearson: float
    string_pearson_weighted: float
    corpus_pearson_typical: float  # after the causal bootstrap (the published −0.92)
    corpus_spearman_typical: float
    corpus_pearson_all: float
    median_logprob_typical: float
    median_logprob_atypical: float
    eps_sweep: list[dict]
    corpus_pearson_typical_raw: float  # before the bootstrap
    corpus_pearson_atypical: float
    median_logprob_typical_raw: float
    median_logprob_atypical_raw: float
    max_logprob_typical: float
    max_logprob_atypical: float
    chebyshev_bound: float
    config: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_json_dict(self) -> dict:
        return asdict(self)


def _bootstrapped(stats: CorpusStatistics, mask: np.ndarray, config: ToyConfig) -> CorpusStatistics:
    index = np.flatnonzero(mask)
    picks = causal_bootstrap(stats.avg_log_prior[index], config.bins, config.per_bin,
                             np.random.RandomState(config.seed))
    return stats.take(index[picks])


@dataclass(frozen=True)
class ToyRun:
    """Everything a figure needs: the objects, every corpus, the typical mask and the two bootstrapped groups."""

    result: ToyResult
    toy: ToyObjects
    corpus: CorpusStatistics
    typical: np.ndarray
    bootstrapped_typical: CorpusStatistics
    bootstrapped_atypical: CorpusStatistics


#: every file a run writes into its output folder, before the mode's suffix (see :func:`output_name`)
OUTPUT_FILES = (("toy", ".json"), ("corpora", ".npz"), ("toy_distributions", ".png"), ("figure1", ".png"),
                ("eps_sweep", ".png"))


def check_output_dir(out_dir: str | os.PathLike, config: ToyConfig, name: str = "out_dir") -> None:
    """ValueError before any work when ``out_dir`` is not a directory or one of the files a run writes there is in
    the way (a directory of that name)."""
    d = Path(out_dir)
    if not d.is_dir():
        raise ValueError(f"{name} {str(d)!r} is not a directory")
    for stem, suffix in OUTPUT_FILES:
        target = d / output_name(config.faithful, stem, suffix)
        if target.is_dir():
            raise ValueError(f"{name} {str(d)!r}: {target.name} is a directory, so the result cannot be written "
                             "there; remove or rename it")


def run_toy(config: ToyConfig = ToyConfig(), *, out_dir: str | os.PathLike | None = None,
            progress: Progress | None = None) -> ToyRun:
    """Run the toy experiment (faithful or fast) and its audit; ``out_dir`` gets toy.json and a checkpoint
    (toy-faithful.json and its own checkpoint in the faithful mode: see :func:`output_name`)."""
    t0 = time.perf_counter()
    if out_dir is not None:
        check_output_dir(out_dir, config)
    toy = toy_objects(config.seed)
    corpus = collect_statistics(toy, config, out_dir=out_dir, progress=progress)
    h = toy.entropy_aligned
    typical = typical_mask(corpus, h, config.eps)
    for name, group in (("typical", typical), ("atypical", ~typical)):
        if group.sum() == 0:
            raise ValueError(f"no {name} corpus at eps={config.eps}: the bins cannot be filled")
    boots = []
    for name, group in (("typical", typical), ("atypical", ~typical)):
        try:
            boots.append(_bootstrapped(corpus, group, config))
        except ValueError as e:
            raise ValueError(f"cannot bootstrap the {name} group ({int(group.sum())} corpora) into {config.bins} "
                             f"bins: {e}; use more corpora, another ε or fewer bins") from None
    boot_typ, boot_atyp = boots
    keep = toy.aligned > 0
    lp, r = np.log(toy.prior[keep]), toy.reward[keep]
    sweep = []
    for e in config.sweep:
        m = typical_mask(corpus, h, e)
        row = {"eps": e, "typical_fraction": float(m.mean()),
               "chebyshev_bound": toy.varentropy / (config.corpus_size * e * e),
               "pearson_typical": pearson(corpus.avg_log_prior[m], corpus.avg_reward[m]) if m.sum() > 2 else None,
               "pearson_typical_resampled": None}
        if m.sum() >= config.bins:
            try:
                bt = _bootstrapped(corpus, m, config)
                row["pearson_typical_resampled"] = pearson(bt.avg_log_prior, bt.avg_reward)
            except ValueError:  # an empty bin: the resampling is undefined at this ε
                pass
        sweep.append(row)
    result = ToyResult(
        entropy_aligned=h,
        entropy_prior=toy.entropy_prior,
        varentropy=toy.varentropy,
        n_typical=int(typical.sum()),
        string_spearman=spearman(lp, r),
        string_pearson=pearson(lp, r),
        string_pearson_weighted=weighted_correlation(lp, r, toy.aligned[keep]),
        corpus_pearson_typical=pearson(boot_typ.avg_log_prior, boot_typ.avg_reward),
        corpus_spearman_typical=spearman(boot_typ.avg_log_prior, boot_typ.avg_reward),
        corpus_pearson_all=pearson(corpus.avg_log_prior, corpus.avg_reward),
        median_logprob_typical=float(np.median(boot_typ.log_prob)),
        median_logprob_atypical=float(np.median(boot_atyp.log_prob)),
        eps_sweep=sweep,
        corpus_pearson_typical_raw=pearson(corpus.avg_log_prior[typical], corpus.avg_reward[typical]),
        corpus_pearson_atypical=pearson(boot_atyp.avg_log_prior, boot_atyp.avg_reward),
        median_logprob_typical_raw=float(np.median(corpus.log_prob[typical])),
        median_logprob_atypical_raw=float(np.median(corpus.log_prob[~typical])),
        max_logprob_typical=float(corpus.log_prob[typical].max()),
        max_logprob_atypical=float(corpus.log_prob[~typical].max()),
        chebyshev_bound=toy.varentropy / (config.corpus_size * config.eps**2),
        config=asdict(config),
        seconds=time.perf_counter() - t0,
    )
    if out_dir is not None:
        path = Path(out_dir) / output_name(config.faithful, "toy", ".json")
        jsonio.write_atomic(path, jsonio.dumps(result.to_json_dict()) + "\n")
    return ToyRun(result, toy, corpus, typical, boot_typ, boot_atyp)
