"""Hypothesis strategies for property tests over language models and probability vectors.

Used by typicality's own test suite and by the claim ledger's *property* evidence; public so that users can
write property suites over their own invariants. :func:`ill_conditioned_specs` draws the models that break naive
float64 linear algebra (loops that almost never end, probabilities below float64's range, rows off by the
tolerance), for checking the accuracy contract of :mod:`typicality.measures.accuracy`. A drawn n-gram model is
an :class:`NGramSpec` (order, alphabet, contexts with exact Fraction rows summing to exactly 1), so a test can
compute references from the rows alone.

>>> from hypothesis import given, settings
>>> from typicality import measures
>>> @settings(max_examples=5, derandomize=True)
... @given(ngram_specs(kind="tight"))
... def entropy_is_non_negative(spec):
...     assert measures.entropy(spec.build()) >= 0
>>> entropy_is_non_negative()
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

EOS = "</s>"
SYMBOLS = ("a", "b", "c", "d")
KINDS = ("any", "tight", "eos_bounded", "tight_not_eos_bounded", "not_tight")


@dataclass(frozen=True)
class NGramSpec:
    order: int
    alphabet: tuple[str, ...]
    contexts: dict[str, dict[str, Fraction]]

    def build(self):
        from typicality.models import NGramLM

        return NGramLM(self.order, EOS, self.contexts, alphabet=list(self.alphabet))

    @cached_property
    def model(self):
        return self.build()

    @property
    def eos_bound(self) -> Fraction:
        """min over all contexts (reachable or not) of p(eos | context)."""
        return min(row.get(EOS, Fraction(0)) for row in self.contexts.values())


@st.composite
def exact_rows(draw, symbols: tuple[str, ...], *, min_eos: int = 0, max_weight: int = 8,
               eos_zero: bool | None = None) -> dict[str, Fraction]:
    """A row over ``symbols`` + eos from small-integer weights, normalized exactly (sums to exactly 1).

    ``min_eos`` is a lower bound on the eos weight; ``eos_zero`` forces (True) or forbids (False) p(eos) = 0.
    """
    weights = [draw(st.integers(0, max_weight)) for _ in symbols]
    if eos_zero is True:
        eos = 0
    else:
        eos = draw(st.integers(max(min_eos, 1 if eos_zero is False else 0), max_weight + min_eos))
    total = sum(weights) + eos
    if total == 0:
        eos, total = 1, 1
    row = {a: Fraction(w, total) for a, w in zip(symbols, weights, strict=True) if w > 0}
    if eos:
        row[EOS] = Fraction(eos, total)
    return row


def all_contexts(order: int, alphabet: tuple[str, ...]) -> list[str]:
    """Every context of an order-n model: all words of length < n over the alphabet, space-joined."""
    out = []
    for k in range(order):
        out += [" ".join(c) for c in itertools.product(alphabet, repeat=k)]
    return out


@st.composite
def ngram_specs(draw, *, kind: str = "any", max_symbols: int = 3, max_order: int = 3,
                min_eos_weight: int = 1) -> NGramSpec:
    """Small n-gram models with exact rows. ``kind``:

    * ``eos_bounded``: every context gives eos weight ≥ ``min_eos_weight`` (≥ 1) in its row;
    * ``tight``: tight; eos may have probability 0 in some contexts;
    * ``tight_not_eos_bounded``: tight, with p(eos) = 0 in some reachable context (docs/theory.md#c2);
    * ``not_tight``: some reachable context cannot reach eos (a symbol repeated forever);
    * ``any``: no condition.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    k = draw(st.integers(1, max_symbols))
    order = draw(st.integers(1, max_order))
    alphabet = SYMBOLS[:k]
    contexts = {}
    for ctx in all_contexts(order, alphabet):
        if kind == "eos_bounded":
            contexts[ctx] = draw(exact_rows(alphabet, min_eos=min_eos_weight, eos_zero=False))
        else:
            contexts[ctx] = draw(exact_rows(alphabet))
    names = sorted(contexts)
    if kind == "tight_not_eos_bounded":
        ctx = draw(st.sampled_from(names))
        row = {a: p for a, p in contexts[ctx].items() if a != EOS}
        if not row:
            row = {draw(st.sampled_from(alphabet)): Fraction(1)}
        total = sum(row.values())
        contexts[ctx] = {a: p / total for a, p in row.items()}
    elif kind == "not_tight":
        a = draw(st.sampled_from(alphabet))
        contexts[" ".join([a] * (order - 1))] = {a: Fraction(1)}
        for m in range(order - 1):  # make the loop reachable: every shorter all-a context continues with a
            contexts[" ".join([a] * m)] = {a: Fraction(1)}
    spec = NGramSpec(order, alphabet, contexts)
    if kind != "any":
        from typicality.measures import eos_bound

        model = spec.model
        tight = model.is_tight
        if kind in ("tight", "eos_bounded"):
            assume(tight)
        elif kind == "tight_not_eos_bounded":
            assume(tight and eos_bound(model) == 0)
        elif kind == "not_tight":
            assume(not tight)
    return spec


@st.composite
def hard_rows(draw, symbols: tuple[str, ...], *, max_exponent: int = 420) -> dict[str, Fraction]:
    """A row that float64 finds hard, as exact decimals summing to exactly 1, with p(eos) > 0.

    Every entry but one is m·10⁻ᵈ (m in 1..9); d is mostly small, but often in the hundreds (down to 10⁻⁴²⁰, far
    below float64's range). The remaining entry takes 1 minus the others, so a row {a: 1 − 10⁻³⁰⁰, eos: 10⁻³⁰⁰}
    (a loop that almost never ends) and peaked rows like a Dirichlet with a tiny concentration both occur.
    """
    names = (*symbols, EOS)
    absorber = draw(st.sampled_from(names))
    exponent = st.one_of(st.integers(1, 4), st.integers(10, max_exponent))
    row: dict[str, Fraction] = {}
    for x in names:
        if x == absorber:
            continue
        if x != EOS and draw(st.booleans()) and draw(st.booleans()):
            continue  # probability 0
        row[x] = Fraction(draw(st.integers(1, 9)), 10 ** draw(exponent))
    rest = 1 - sum(row.values(), Fraction(0))
    assume(rest > 0)
    row[absorber] = rest
    return row


@st.composite
def ill_conditioned_specs(draw, *, max_symbols: int = 2, max_order: int = 2, max_exponent: int = 420,
                          off_by_tolerance: bool = False) -> NGramSpec:
    """Small tight n-gram models that are hard for float64 (rows from :func:`hard_rows`, so p(eos) > 0 everywhere):
    loops whose probability of ending is 10⁻³⁰⁰, peaked rows, probabilities below 10⁻³⁰⁸ written as exact decimals.

    With ``off_by_tolerance`` one reachable row is moved off 1 by up to the row tolerance (a multiple of 10⁻¹⁰ in
    [−10⁻⁹, 10⁻⁹], taken from or given to its largest entry), as a file with rounded decimals would be.
    """
    k = draw(st.integers(1, max_symbols))
    order = draw(st.integers(1, max_order))
    alphabet = SYMBOLS[:k]
    contexts = {ctx: draw(hard_rows(alphabet, max_exponent=max_exponent)) for ctx in all_contexts(order, alphabet)}
    if off_by_tolerance:
        ctx = draw(st.sampled_from(sorted(contexts)))
        row = dict(contexts[ctx])
        big = max(row, key=lambda x: row[x])
        row[big] += Fraction(draw(st.integers(-10, 10)), 10 ** 10)
        assume(row[big] >= 0)
        contexts[ctx] = row
    return NGramSpec(order, alphabet, contexts)


@st.composite
def unigram_rows(draw, max_symbols: int = 4) -> tuple[list[Fraction], Fraction]:
    """(symbol probabilities, eos probability) of a one-state model, eos > 0, exact."""
    k = draw(st.integers(1, max_symbols))
    weights = [draw(st.integers(0, 12)) for _ in range(k)]
    eos = draw(st.integers(1, 12))
    total = sum(weights) + eos
    return [Fraction(w, total) for w in weights], Fraction(eos, total)


@st.composite
def finite_support_distributions(draw, *, min_size: int = 1, max_size: int = 8) -> dict[tuple[str, ...], Fraction]:
    """{string: probability} over distinct short strings, exact, summing to 1 (for FiniteSupportLM)."""
    n = draw(st.integers(min_size, max_size))
    strings = draw(st.lists(st.lists(st.sampled_from(SYMBOLS[:2]), max_size=3).map(tuple), min_size=n,
                            max_size=n, unique=True))
    weights = [draw(st.integers(1, 20)) for _ in strings]
    total = sum(weights)
    return {y: Fraction(w, total) for y, w in zip(strings, weights, strict=True)}


def _distinct_successors(rng: np.random.Generator, rows: int, vocab: int, successors: int) -> np.ndarray:
    """``rows`` × ``successors`` symbol indices, distinct within each row, sorted, uniform over subsets of
    range(vocab) (rows with a repeat are redrawn)."""
    out = np.sort(rng.integers(0, vocab, size=(rows, successors)), axis=1)
    while True:
        bad = np.flatnonzero((np.diff(out, axis=1) == 0).any(axis=1))
        if bad.size == 0:
            return out
        out[bad] = np.sort(rng.integers(0, vocab, size=(bad.size, successors)), axis=1)


def random_sparse_bigram(vocab: int, successors: int, seed: int):
    """A random tight bigram LM over Σ = {w0, …, w<vocab−1>} with eos ``</s>``, for benchmarks at scale.

    Every context (the empty start context and each word) has ``successors`` distinct next words, drawn uniformly,
    plus eos; the row's ``successors + 1`` probabilities are Dirichlet(1, …, 1) draws in float64. p(eos | s) > 0
    everywhere, so the model is tight. The model has ``vocab + 1`` contexts and ``(vocab + 1)·(successors + 1)``
    arcs; it is stored in O(arcs) memory.

    >>> m = random_sparse_bigram(100, 5, 0)
    >>> m.n_states, len(m.arc_src), m.is_tight
    (101, 606, True)
    """
    from typicality.models import NGramLM

    for name, v, lo in (("vocab", vocab, 1), ("successors", successors, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    if successors > vocab:
        raise ValueError(f"successors must be <= vocab (distinct next words), got successors={successors!r} "
                         f"and vocab={vocab!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {seed!r}")
    vocab, successors = int(vocab), int(successors)
    rng = np.random.default_rng(int(seed))
    rows = vocab + 1  # context "" (state 0), then the words
    words = _distinct_successors(rng, rows, vocab, successors)
    probs = rng.dirichlet(np.ones(successors + 1), size=rows)
    alphabet = [f"w{i}" for i in range(vocab)]
    src = np.repeat(np.arange(rows, dtype=np.int64), successors + 1)
    sym = np.concatenate([words, np.full((rows, 1), vocab, dtype=words.dtype)], axis=1).reshape(-1)
    return NGramLM.from_arrays(2, EOS, alphabet, ["", *alphabet], src, sym, probs.reshape(-1))


class ModelDistributions:
    """Next-token distributions p(·|context) of a real causal LM, at contexts drawn from its own strings.

    The contexts are each prompt (or BOS alone) followed by a prefix of one of the model's ancestral samples, cut at
    every length up to ``max_new_tokens``: what an adaptor meets while decoding. Their distributions are computed
    once, in float64 from the model's logits, so drawing is cheap and deterministic; :meth:`strategy` draws one row
    (a float64 probability vector over the whole vocabulary, summing to 1 within rounding). Needs ``torch`` and
    ``transformers`` (``pip install 'typicality[lm]'``).

    >>> dists = ModelDistributions("path/to/model", ["Hello"], samples=4)     # doctest: +SKIP
    >>> @given(p=dists.strategy())                                            # doctest: +SKIP
    ... def test_top_p_keeps_the_mode(p):
    ...     assert make("top_p", p=0.9).local(p)[p.argmax()] > 0
    """

    def __init__(self, model, prompts=None, *, samples: int = 4, max_new_tokens: int = 16, seed: int = 0,
                 device: str = "cpu", max_contexts: int = 256) -> None:
        import torch

        from typicality.lm.loading import LoadedLM, load_causal_lm
        from typicality.lm.sampling import SampleRequest, TransformersBackend
        from typicality.lm.scoring import prompt_ids, start_context

        for name, value in (("samples", samples), ("max_new_tokens", max_new_tokens), ("max_contexts", max_contexts)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        lm = model if isinstance(model, LoadedLM) else load_causal_lm(str(model), device=device, dtype="float32")
        contexts = [start_context(lm)] if prompts is None else prompt_ids(lm.tokenizer, list(prompts))
        from typicality.lm.config import _parse_schemes

        ancestral = _parse_schemes([{"adaptor": "ancestral"}], "hf")[0]
        backend = TransformersBackend(lm, max_new_tokens=max_new_tokens, seed=seed)
        requests = [SampleRequest(i, j, ancestral, tuple(ctx)) for i, ctx in enumerate(contexts)
                    for j in range(samples)]
        pool: list[list[int]] = []
        for s in backend.sample(requests):
            ctx = list(contexts[s.prompt_index])
            ids = [t for t in s.token_ids if t not in lm.eos_token_ids]
            pool += [ctx + ids[:t] for t in range(len(ids) + 1)]
        unique = list(dict.fromkeys(tuple(c) for c in pool))[:max_contexts]
        rows = []
        with torch.inference_mode():
            for c in unique:
                logits = lm.model(input_ids=torch.tensor([c], device=lm.device)).logits[0, -1].double()
                rows.append(torch.softmax(logits, dim=-1).cpu().numpy())
        self.contexts = [list(c) for c in unique]
        self.probs = np.stack(rows)

    def __len__(self) -> int:
        return len(self.probs)

    def strategy(self):
        """A Hypothesis strategy drawing one of the distributions (a fresh copy, float64)."""
        return st.integers(0, len(self.probs) - 1).map(lambda i: self.probs[i].copy())


def model_distributions(model, prompts=None, **kwargs):
    """Shorthand for ``ModelDistributions(model, prompts, **kwargs).strategy()``."""
    return ModelDistributions(model, prompts, **kwargs).strategy()
