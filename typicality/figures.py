"""Figures of the toy experiment (App. G, Fig. 1, and the ε sweep of the audit); matplotlib is imported here only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from typicality.toy import ToyRun, output_name


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)  # atomic: a reader never sees half a PNG
    return path


def toy_distributions(run: ToyRun, path: Path) -> Path:
    """App. G: p₊, the prior and the reward over the objects."""
    plt = _plt()
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    ids = np.arange(len(run.toy.aligned))
    for ax, values, label in zip(axes, (run.toy.aligned, run.toy.prior, run.toy.reward),
                                 ("p(y | A=+)", "prior p(y)", "reward r(y)"), strict=True):
        ax.bar(ids, values, width=1.0)
        ax.set_ylabel(label)
    axes[-1].set_xlabel("object id")
    fig.suptitle("Toy distributions (App. G)")
    out = _save(fig, path)
    plt.close(fig)
    return out


def figure1(run: ToyRun, path: Path) -> Path:
    """Fig. 1: string-level (objects) and corpus-level (bootstrapped corpora) log-prior vs reward."""
    plt = _plt()
    r = run.result
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    keep = run.toy.aligned > 0
    left.scatter(np.log(run.toy.prior[keep]), run.toy.reward[keep], s=np.clip(run.toy.aligned[keep] * 3e3, 2, 60),
                 alpha=0.5)
    left.set_xlabel("log p_prior(y)")
    left.set_ylabel("r(y)")
    left.set_title(f"strings: Pearson {r.string_pearson:.2f} unweighted, {r.string_pearson_weighted:.2f} "
                   "p₊-weighted (size ∝ p₊)", fontsize=9)
    for stats, label in ((run.bootstrapped_atypical, "atypical"), (run.bootstrapped_typical, "typical")):
        right.scatter(stats.avg_log_prior, stats.avg_reward, s=6, alpha=0.4, label=label)
    right.set_xlabel("corpus average log p_prior")
    right.set_ylabel("corpus average reward")
    right.set_title(f"corpora (bootstrapped): typical Pearson {r.corpus_pearson_typical:.2f}; all corpora, raw "
                    f"{r.corpus_pearson_all:.2f}", fontsize=9)
    right.legend()
    out = _save(fig, path)
    plt.close(fig)
    return out


def eps_sweep(run: ToyRun, path: Path) -> Path:
    """The audit: correlation among typical corpora, typical fraction and Chebyshev bound against ε."""
    plt = _plt()
    sweep = run.result.eps_sweep
    eps = [row["eps"] for row in sweep]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax.plot(eps, [row["pearson_typical"] for row in sweep], "o-", label="typical corpora, raw")
    ax.plot(eps, [row["pearson_typical_resampled"] for row in sweep], "s--", label="after bin resampling")
    ax.axhline(run.result.string_pearson_weighted, color="gray", ls=":", label="p₊-weighted string level")
    spread = np.sqrt(run.result.varentropy / run.corpus.size)
    ax.axvline(spread, color="red", ls=":", label="σ/√N (spread of the mean surprisal)")
    ax.set_xscale("log")
    ax.set_xlabel("ε")
    ax.set_ylabel("Pearson r (avg log-prior, avg reward)")
    ax.legend(fontsize=8)
    ax2.plot(eps, [row["typical_fraction"] for row in sweep], "o-", label="typical fraction")
    ax2.plot(eps, [min(row["chebyshev_bound"], 2.0) for row in sweep], "s--", label="Chebyshev σ²/(Nε²) (clipped at 2)")
    ax2.axhline(1.0, color="gray", ls=":")
    ax2.set_xscale("log")
    ax2.set_xlabel("ε")
    ax2.legend(fontsize=8)
    out = _save(fig, path)
    plt.close(fig)
    return out


def write_all(run: ToyRun, out_dir: str | os.PathLike) -> list[Path]:
    """The three figures, named for the run's mode (``figure1.png``; ``figure1-faithful.png`` in the faithful
    mode, so that both modes can share a folder)."""
    d = Path(out_dir)
    def name(stem: str) -> Path:
        return d / output_name(bool(run.result.config["faithful"]), stem, ".png")

    return [toy_distributions(run, name("toy_distributions")), figure1(run, name("figure1")),
            eps_sweep(run, name("eps_sweep"))]
