"""The adaptor property suite, for adaptors of your own: :func:`check_adaptor`.

The invariants are those the library holds its own seven adaptors to (its test suite runs this function on each
of them, so the suite users get is the one the project trusts). Each is checked by Hypothesis on generated
next-symbol distributions (exact ties, zeros, one-hot and uniform rows; logits with ties and −inf) and on small
exact models; the first failure is shrunk to a minimal example and raised as :class:`AdaptorCheckError` naming the
invariant and the example.

===========================  =====================================================================================
invariant                    statement (p a normalized next-symbol distribution, C(p) the kept set)
===========================  =====================================================================================
``shape``                    T(p) is a float64 array of p's shape
``finite``                   T(p) is finite and ≥ 0
``kept set``                 C(p) is non-empty and inside the support of p
``zero off the kept set``    T(p)(v) = 0 exactly for v ∉ C(p)
``truncation keeps p``       a pure truncation leaves p unchanged on C(p): T(p) = p · 1{C(p)} (Eq. 39, S = id; no
                             renormalization: the scale of T(p) is the IMHA weight)
``keeps the argmax``         every most probable symbol is kept (for adaptors that promise it)
``local``                    q_T = T(p) / Σ T(p) is finite, sums to 1 and vanishes exactly off C(p)
``permutation``              permuting the symbols permutes C(p) and T(p)
``batch``                    a batch of rows gives the rows' results
``monotone``                 C(p) grows (or shrinks) with the parameter, for a factory and ``monotone`` given
``q_T tight``                on tight n-gram models, q_T is tight exactly when eos stays reachable from every
                             reachable state through kept arcs
``Eq. 8``                    π_T(y) · Z_T = Π_t T(p(·|y_<t))(y_t) for every string, where π_T exists
``IMHA``                     the final states of independent IMHA chains have law π_T (Hoeffding, δ = 1e-9,
                             plus the chains' total-variation bound)
===========================  =====================================================================================

>>> from typicality.adaptors import make
>>> report = check_adaptor(make("top_k", k=2), max_examples=20)
>>> report.skipped
{'monotone': 'no factory with monotone given'}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from typicality.adaptors.base import Adaptor, softmax_rows
from typicality.testing.strategies import ngram_specs

INVARIANTS = ("shape", "finite", "kept set", "zero off the kept set", "truncation keeps p", "keeps the argmax",
              "local", "permutation", "batch", "monotone", "q_T tight", "Eq. 8", "IMHA")


class AdaptorCheckError(AssertionError):
    """An invariant failed: ``invariant`` names it, ``example`` is the (shrunk) input that shows it."""

    def __init__(self, invariant: str, message: str, example: Any = None) -> None:
        super().__init__(f"{invariant}: {message}" + ("" if example is None else f" (example: {example!r})"))
        self.invariant, self.example = invariant, example


@dataclass
class AdaptorReport:
    """What :func:`check_adaptor` ran: the invariants checked (all held: a failure raises instead) and those
    skipped, with the reason."""

    adaptor: str
    checked: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


@st.composite
def next_symbol_distributions(draw, min_size: int = 1, max_size: int = 12) -> np.ndarray:
    """Probability vectors from small-integer weights: exact ties, zeros, one-hot and uniform rows all occur."""
    n = draw(st.integers(min_size, max_size))
    w = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n).filter(lambda v: sum(v) > 0))
    p = np.array(w, dtype=np.float64)
    return p / p.sum()


@st.composite
def logits(draw, min_size: int = 1, max_size: int = 12) -> np.ndarray:
    """Logit vectors with ties (half-integers), −inf entries (never all of them) and wide ranges."""
    n = draw(st.integers(min_size, max_size))
    values = draw(st.lists(st.one_of(st.integers(-8, 8).map(lambda k: k / 2), st.just(-np.inf),
                                     st.floats(-60, 60, allow_nan=False)), min_size=n, max_size=n)
                  .filter(lambda v: any(x > -np.inf for x in v)))
    return np.array(values, dtype=np.float64)


def _rows():
    return st.one_of(next_symbol_distributions(), logits().map(softmax_rows))


def _kept(adaptor: Adaptor, p: np.ndarray) -> np.ndarray:
    kept = np.asarray(adaptor.support(p))
    if kept.shape != p.shape or kept.dtype != np.bool_:
        raise AdaptorCheckError("kept set", f"support(p) must be a boolean mask of shape {p.shape}", p)
    return kept


def check_row(adaptor: Adaptor, p: np.ndarray, *, keeps_argmax: bool) -> None:
    """Every per-row invariant on one distribution ``p`` (raises AdaptorCheckError)."""
    try:
        w = adaptor.weights(p)
    except Exception as e:
        raise AdaptorCheckError("finite", f"weights raised {type(e).__name__}: {e}", p) from e
    if not isinstance(w, np.ndarray) or w.shape != p.shape or w.dtype != np.float64:
        raise AdaptorCheckError("shape", f"T(p) must be float64 of shape {p.shape}, got "
                                f"{getattr(w, 'dtype', type(w))} {getattr(w, 'shape', '')}", p)
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise AdaptorCheckError("finite", f"T(p) = {w} is not finite and non-negative", p)
    kept = _kept(adaptor, p)
    if not kept.any() or (kept & ~(p > 0)).any():
        raise AdaptorCheckError("kept set", f"C(p) = {np.flatnonzero(kept).tolist()} is empty or keeps a symbol of "
                                "probability 0", p)
    if (w[~kept] != 0).any():
        raise AdaptorCheckError("zero off the kept set", f"T(p) = {w} is not 0 off C(p) = "
                                f"{np.flatnonzero(kept).tolist()}", p)
    if all(step.is_truncation for step in adaptor.steps) and not np.array_equal(w[kept], p[kept]):
        raise AdaptorCheckError("truncation keeps p", f"T(p) = {w} differs from p on its kept set: a truncation must "
                                "not rescale or renormalize (the scale of T(p) is the IMHA weight)", p)
    if keeps_argmax and not kept[p == p.max()].all():
        raise AdaptorCheckError("keeps the argmax", f"C(p) = {np.flatnonzero(kept).tolist()} drops a most probable "
                                "symbol", p)
    q = adaptor.local(p)
    if not (np.isfinite(q).all() and abs(q.sum() - 1) <= 1e-9 and (q[~kept] == 0).all() and (q >= 0).all()):
        raise AdaptorCheckError("local", f"q_T = {q} is not a distribution on C(p)", p)


def _permutation(adaptor: Adaptor, p: np.ndarray, perm: np.ndarray) -> None:
    kept, w = _kept(adaptor, p), adaptor.weights(p)
    kept_p, w_p = _kept(adaptor, p[perm]), adaptor.weights(p[perm])
    if not np.array_equal(kept_p, kept[perm]) or not np.allclose(w_p, w[perm], rtol=1e-12, atol=0):
        raise AdaptorCheckError("permutation", f"C(p[perm]) = {np.flatnonzero(kept_p).tolist()} is not "
                                f"C(p)[perm] = {np.flatnonzero(kept[perm]).tolist()} (perm {perm.tolist()})", p)


def _batch(adaptor: Adaptor, rows: list[np.ndarray]) -> None:
    size = min(len(r) for r in rows)
    block = np.stack([r[:size] / r[:size].sum() for r in rows if r[:size].sum() > 0])
    if not len(block):
        return
    together = adaptor.weights(block)
    alone = np.stack([adaptor.weights(r) for r in block])
    if not np.allclose(together, alone, rtol=1e-12, atol=0):
        raise AdaptorCheckError("batch", "a batch of rows does not give the rows' own T(p)", block)


def _q_tight_matches_reachability(adaptor: Adaptor, model: Any) -> None:
    from typicality.induced import local_model

    q = local_model(model, adaptor)
    pos = np.asarray(q.arc_logprob, dtype=np.float64) > -np.inf
    src, dst, sym = q.arc_src[pos], q.arc_dst[pos], q.arc_sym[pos]
    succ: dict[int, set[int]] = {}
    ends = set(src[sym == q.eos_index].tolist())
    for a, b in zip(src.tolist(), dst.tolist(), strict=True):
        if b >= 0:
            succ.setdefault(a, set()).add(b)
    reach, stack = {q.start_index}, [q.start_index]
    while stack:
        for b in succ.get(stack.pop(), ()):
            if b not in reach:
                reach.add(b)
                stack.append(b)
    pred: dict[int, set[int]] = {}
    for a, bs in succ.items():
        for b in bs:
            pred.setdefault(b, set()).add(a)
    can_end, stack = set(ends), list(ends)
    while stack:
        for a in pred.get(stack.pop(), ()):
            if a not in can_end:
                can_end.add(a)
                stack.append(a)
    expected = reach <= can_end
    if bool(q.is_tight) != expected:
        raise AdaptorCheckError("q_T tight", f"q_T.is_tight = {q.is_tight}, but eos is {'' if expected else 'not '}"
                                "reachable from every reachable state through kept arcs", model)


def _eq8(adaptor: Adaptor, model: Any, max_length: int = 4) -> bool:
    """π_T(y)·Z_T against the transform's product along y, for every string up to max_length; False if π_T does not
    exist."""
    from typicality.induced import NormalizerError, global_model

    try:
        g = global_model(model, adaptor)
    except NormalizerError:
        return False
    symbols = list(model.alphabet)
    for n in range(max_length + 1):
        for y in itertools.product(symbols, repeat=n):
            score = 1.0
            for t in range(n + 1):
                try:
                    p = np.asarray(model.next_symbol_distribution(list(y[:t])), dtype=np.float64)
                except ValueError:  # a prefix of probability 0: π̃_T(y) = 0
                    score = 0.0
                    break
                w = adaptor.weights(p)
                score *= float(w[model.symbols.index(y[t]) if t < n else model.symbols.index(model.eos)])
            got = float(g.prob(list(y))) * g.normalizer
            if not math.isclose(got, score, rel_tol=1e-9, abs_tol=1e-300):
                raise AdaptorCheckError("Eq. 8", f"π_T(y)·Z_T = {got!r} but Π_t T(p)(y_t) = {score!r} for y = {y}",
                                        model)
    return True


def _imha(adaptor: Adaptor, model: Any, chains: int, steps: int, seed: int) -> str | None:
    from typicality.diagnostics import hoeffding_radius, markov_tv_bound
    from typicality.imha import doeblin_constant, final_state_frequencies
    from typicality.induced import global_model

    g = global_model(model, adaptor)
    lam = doeblin_constant(model, adaptor)
    if lam <= 0:
        return "the IMHA weights are unbounded on this model (no Doeblin constant)"
    freq, _ = final_state_frequencies(model, adaptor, chains, steps, np.random.default_rng(seed))
    top = sorted(freq, key=freq.get, reverse=True)[:10]
    radius = hoeffding_radius(chains, 1e-9 / len(top)) + markov_tv_bound(lam, steps)
    worst = max(abs(freq[y] - float(g.prob(list(y)))) for y in top)
    if worst > radius:
        raise AdaptorCheckError("IMHA", f"final-state frequencies differ from π_T by {worst:.4f} > {radius:.4f}", model)
    return None


def check_adaptor(adaptor: Adaptor | Callable[[Any], Adaptor], *, parameters: Sequence[Any] | None = None,
                  monotone: str | None = None, keeps_argmax: bool = True, rows: Any = None,
                  max_examples: int = 200, models: int = 20, imha_chains: int = 50_000, seed: int = 0
                  ) -> AdaptorReport:
    """Run every adaptor invariant (see the module docstring) on ``adaptor``; raise :class:`AdaptorCheckError` at
    the first failure, return an :class:`AdaptorReport` otherwise.

    ``adaptor`` is an :class:`~typicality.adaptors.Adaptor` (a subclass of your own, a
    :class:`~typicality.adaptors.Truncation` or :class:`~typicality.adaptors.Scaling`, or a composition), or a
    factory ``parameter -> Adaptor`` checked at every value of ``parameters``; with ``monotone="increasing"`` (the
    kept set grows with the parameter, as top-k's with k) or ``"decreasing"`` (as ε-sampling's with ε) the kept
    sets are also compared across parameters. ``keeps_argmax=False`` for adaptors that may drop the most probable
    symbol (locally typical sampling). ``rows`` replaces the generated distributions by a strategy of your own, e.g.
    a real model's (:class:`typicality.testing.ModelDistributions`). Deterministic: Hypothesis runs derandomized,
    the IMHA with ``seed``.
    """
    if isinstance(adaptor, Adaptor):
        if parameters is not None or monotone is not None:
            raise ValueError("parameters and monotone need a factory (a function parameter -> Adaptor), got an "
                             f"adaptor {adaptor!r}")
        instances = [adaptor]
    elif callable(adaptor):
        if not parameters:
            raise ValueError("a factory needs parameters: the values to check it at")
        instances = [adaptor(v) for v in parameters]
        for v, a in zip(parameters, instances, strict=True):
            if not isinstance(a, Adaptor):
                raise TypeError(f"the factory must return an Adaptor, got {a!r} for the parameter {v!r}")
    else:
        raise TypeError(f"adaptor must be an Adaptor or a factory parameter -> Adaptor, got {adaptor!r}")
    if monotone not in (None, "increasing", "decreasing"):
        raise ValueError(f"monotone must be None, 'increasing' or 'decreasing', got {monotone!r}")
    for name, v, low in (("max_examples", max_examples, 1), ("models", models, 0), ("imha_chains", imha_chains, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    report = AdaptorReport(repr(adaptor) if isinstance(adaptor, Adaptor) else
                           f"{getattr(adaptor, '__name__', 'factory')} at {list(parameters)}")
    run = settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                   report_multiple_bugs=False,
                   suppress_health_check=list(HealthCheck))
    source = _rows() if rows is None else rows

    @run
    @given(p=source, i=st.integers(0, len(instances) - 1))
    def rows_hold(p, i):
        check_row(instances[i], p, keeps_argmax=keeps_argmax)

    @run
    @given(p=source, i=st.integers(0, len(instances) - 1), data=st.data())
    def permutation_holds(p, i, data):
        perm = np.array(data.draw(st.permutations(range(len(p)))), dtype=np.int64)
        _permutation(instances[i], p, perm)

    @run
    @given(block=st.lists(source, min_size=2, max_size=5), i=st.integers(0, len(instances) - 1))
    def batch_holds(block, i):
        _batch(instances[i], block)

    rows_hold()
    permutation_holds()
    batch_holds()
    report.checked += ["shape", "finite", "kept set", "zero off the kept set", "local", "permutation", "batch"]
    if all(all(step.is_truncation for step in a.steps) for a in instances):
        report.checked.append("truncation keeps p")
    else:
        report.skipped["truncation keeps p"] = "a scaling step rescales p"
    if keeps_argmax:
        report.checked.append("keeps the argmax")
    else:
        report.skipped["keeps the argmax"] = "keeps_argmax=False"

    if monotone is not None:
        order = sorted(range(len(instances)), key=lambda k: parameters[k])  # type: ignore[index]

        @run
        @given(p=source)
        def monotone_holds(p):
            kept = [_kept(instances[k], p) for k in order]
            for a, b in itertools.pairwise(kept):
                small, large = (a, b) if monotone == "increasing" else (b, a)
                if (small & ~large).any():
                    raise AdaptorCheckError("monotone", f"the kept sets {[np.flatnonzero(k).tolist() for k in kept]} "
                                            f"at the parameters {sorted(parameters)} are not {monotone}", p)

        monotone_holds()
        report.checked.append("monotone")
    else:
        report.skipped["monotone"] = "no factory with monotone given"

    if models:
        checked_eq8 = {"n": 0}

        @settings(max_examples=models, derandomize=True, database=None, deadline=None, report_multiple_bugs=False,
                  suppress_health_check=list(HealthCheck))
        @given(spec=ngram_specs(kind="tight", max_symbols=2, max_order=2), i=st.integers(0, len(instances) - 1))
        def models_hold(spec, i):
            m = spec.build()
            _q_tight_matches_reachability(instances[i], m)
            checked_eq8["n"] += _eq8(instances[i], m)

        models_hold()
        report.checked.append("q_T tight")
        if checked_eq8["n"]:
            report.checked.append("Eq. 8")
        else:
            report.skipped["Eq. 8"] = "π_T existed on none of the generated models"
    else:
        report.skipped["q_T tight"] = report.skipped["Eq. 8"] = "models=0"

    if imha_chains:
        from typicality.induced import NormalizerError
        from typicality.models import examples

        reasons = []
        for a in instances:
            try:
                reason = _imha(a, examples.example1_bigram(), imha_chains, 30, seed)
            except NormalizerError as e:
                reason = f"π_T does not exist on Example 1's model ({e})"
            if reason:
                reasons.append(reason)
        if len(reasons) < len(instances):
            report.checked.append("IMHA")
        else:
            report.skipped["IMHA"] = reasons[0]
    else:
        report.skipped["IMHA"] = "imha_chains=0"
    return report
