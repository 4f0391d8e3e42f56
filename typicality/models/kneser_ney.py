"""Interpolated Kneser–Ney n-gram estimation, as a back-off model (:class:`~typicality.models.arpa.BackoffLM`).

Each string is padded as ``<s> w₁ … wₙ </s>``. With a(g) the *adjusted count* of an n-gram g — its count for the
highest order N and for n-grams that begin with ``<s>``, else the number of distinct words that precede it
(N₁₊(• g), the continuation count) — and a discount D(a) per order,

    p(w | h) = (a(h w) − D(a(h w)))⁺ / a(h •) + γ(h) · p(w | h[1:]),    γ(h) = Σ_w D(a(h w)) / a(h •),

down to the unigrams, which interpolate with the uniform distribution over the vocabulary V (every word seen or
given, ``</s>`` and ``<unk>``; ``<s>`` is never predicted): p(w) = (a(w) − D(a(w)))⁺ / a(•) + γ(()) / |V|.

Interpolated KN *is* a back-off model: for a word w never seen after h, a(h w) = 0 and p(w | h) = γ(h) · p(w | h[1:])
exactly, so the ARPA form lists every seen n-gram with its interpolated probability and gives each context h the
back-off weight γ(h). Every row then sums to 1 exactly (1 − Σ D / a + γ · 1), up to float64 rounding (~1e-15);
:func:`~typicality.models.arpa.write_arpa` writes enough digits to keep that.

Discounts (Chen & Goodman 1999): ``"modified"`` uses three per order, D₁, D₂, D₃₊ = j − (j + 1) Y t_{j+1} / t_j with
Y = t₁ / (t₁ + 2 t₂) and t_j the number of n-grams of that order with adjusted count j; when a t_j is 0 or a
discount falls outside (0, j] (tiny corpora) the order falls back to ``"plain"``: one discount D = Y (0.5 if
there are no singletons).

>>> m = train_kneser_ney(["a b", "a b b", "b a"], order=2)
>>> m.alphabet
('<unk>', 'a', 'b')
>>> float(abs(m.row_sum - 1).max()) < 1e-14
True
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from typicality.models.arpa import BackoffLM, Section

DISCOUNTS = ("modified", "plain")


def _discounts(adjusted: Iterable[int], kind: str) -> tuple[float, float, float]:
    """(D₁, D₂, D₃₊) for one order from its adjusted counts."""
    t = Counter(c for c in adjusted if c <= 4)
    t1, t2, t3, t4 = (t.get(j, 0) for j in (1, 2, 3, 4))
    if t1 == 0:
        return 0.5, 0.5, 0.5
    y = t1 / (t1 + 2 * t2)
    if kind == "modified" and t2 and t3 and t4:
        d = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
        if all(0 < dj <= j for j, dj in enumerate(d, start=1)):
            return d
    return y, y, y


def train_kneser_ney(
    sentences: Iterable[Sequence[str] | str],
    order: int,
    *,
    discount: str = "modified",
    vocabulary: Iterable[str] | None = None,
    unk: str = "<unk>",
    bos: str = "<s>",
    eos: str = "</s>",
) -> BackoffLM:
    """An interpolated Kneser–Ney model of ``order`` ≥ 1 trained on ``sentences``.

    ``sentences``: strings (split on whitespace) or sequences of words. ``vocabulary``: if given, every other word
    is replaced by ``unk`` (so the model's states stay few); ``unk`` is always in the vocabulary, with the
    probability that KN's uniform interpolation gives the unseen. ``discount``: ``"modified"`` or ``"plain"``.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an int >= 1, got {order!r}")
    if discount not in DISCOUNTS:
        raise ValueError(f"discount must be one of {DISCOUNTS}, got {discount!r}")
    vocab = None if vocabulary is None else set(vocabulary)
    specials = {bos, eos}
    if vocab is not None and vocab & specials:
        raise ValueError(f"vocabulary must not contain {bos!r} or {eos!r}, got {sorted(vocab & specials)}")
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    n_sentences = 0
    for i, sentence in enumerate(sentences):
        words = sentence.split() if isinstance(sentence, str) else list(sentence)
        if specials.intersection(words):
            raise ValueError(f"sentence {i}: contains {sorted(specials.intersection(words))}, which the model adds "
                             "itself")
        if vocab is not None:
            words = [w if w in vocab else unk for w in words]
        toks = (bos, *words, eos)
        for k in range(1, order + 1):
            counts[k - 1].update(zip(*(toks[j:] for j in range(k)), strict=False))
        n_sentences += 1
    for (w,) in counts[0]:
        if not isinstance(w, str) or not w or any(c.isspace() for c in w):
            raise ValueError(f"words must be non-empty strings without whitespace, got {w!r}")
    if n_sentences == 0:
        raise ValueError("sentences is empty: nothing to estimate from")

    # adjusted counts: raw at the highest order and for n-grams that begin with <s>, else continuation counts
    adjusted: list[dict[tuple[str, ...], int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(counts[order - 1])
    for k in range(order - 1, 0, -1):
        cont: Counter[tuple[str, ...]] = Counter(g[1:] for g in counts[k])
        adjusted[k - 1] = {g: (c if g[0] == bos else cont[g]) for g, c in counts[k - 1].items()}
    del adjusted[0][(bos,)]

    words_seen = {g[0] for g in adjusted[0]}
    predicted = sorted(words_seen | (vocab or set()) | {unk, eos})

    # unigrams
    a1 = adjusted[0]
    D = _discounts(a1.values(), discount)
    total = sum(a1.values())
    gamma = sum(D[min(c, 3) - 1] for c in a1.values()) / total
    probs: dict[tuple[str, ...], float] = {}
    for w in predicted:
        c = a1.get((w,), 0)
        probs[(w,)] = (max(c - D[min(c, 3) - 1], 0.0) if c else 0.0) / total + gamma / len(predicted)

    # higher orders: group by context, interpolate with the order below
    bows: dict[tuple[str, ...], float] = {}
    all_probs = [probs]
    for k in range(2, order + 1):
        ak = adjusted[k - 1]
        D = _discounts(ak.values(), discount)
        by_context: dict[tuple[str, ...], list[tuple[tuple[str, ...], int]]] = defaultdict(list)
        for g, c in ak.items():
            by_context[g[:-1]].append((g, c))
        lower = all_probs[-1]
        pk: dict[tuple[str, ...], float] = {}
        for h, items in by_context.items():
            tot = sum(c for _, c in items)
            g_h = sum(D[min(c, 3) - 1] for _, c in items) / tot
            bows[h] = g_h
            for g, c in items:
                pk[g] = max(c - D[min(c, 3) - 1], 0.0) / tot + g_h * lower[g[1:]]
        all_probs.append(pk)

    sections = []
    for k, pk in enumerate(all_probs, start=1):
        grams = list(pk)
        probs_k = list(pk.values())
        bows_k = [bows.get(g, math.nan) for g in grams]
        if k == 1 and order >= 2:
            grams.insert(0, (bos,))
            probs_k.insert(0, 0.0)
            bows_k.insert(0, bows.get((bos,), math.nan))
        sections.append(Section([w for g in grams for w in g], np.array(probs_k), np.array(bows_k),
                                np.zeros(len(grams), dtype=np.int64)))
    return BackoffLM(order, sections, bos=bos, eos=eos)
