"""Back-off n-gram models and the ARPA file format (KenLM, SRILM, IRSTLM, ...).

An ARPA file lists n-grams of orders 1..N, each with a log10 probability and, for n-grams that can be extended, an
optional log10 back-off weight (absent means weight 1)::

    \\data\\
    ngram 1=4
    ngram 2=2

    \\1-grams:
    -99        <s>   -0.30103
    -0.30103   a     -0.0791812
    -0.60206   b
    -0.60206   </s>

    \\2-grams:
    -0.1249387 <s> a
    -0.4259687 a b

    \\end\\

**The back-off rule.** For a history h (the last N−1 words at most) and a word w,

    p(w | h) = P(h w)                    if the n-gram h·w is listed,
    p(w | h) = bow(h) · p(w | h[1:])     otherwise (bow(h) = 1 when h is not listed),

down to the unigrams, which list every word. ``<s>`` starts every string: it is the first word of the history and
never predicted (its unigram probability, conventionally −99, is ignored); ``</s>`` is eos. ``<unk>``, if the file
lists it, is an ordinary symbol like any other: a string containing a word the file does not list is an error,
never silently mapped to ``<unk>`` (map such words yourself if you want the toolkit's unknown-word class).

**The deterministic automaton.** The states are the *contexts* C: the empty context () and every listed n-gram of
order ≤ N−1 that does not end in ``</s>``. The start state is ``<s>`` (the empty context when the file does not
list ``<s>``). After reading w in state h the next state is δ(h, w) = L(h·w), the longest suffix of h·w that is a
context. This is deterministic and gives exactly the back-off probabilities, because of two facts:

1. C is prefix-closed: ARPA files list every prefix of a listed n-gram (checked on reading), and contexts are
   listed n-grams. Hence L(x·w) = L(L(x)·w) for every history x: L(x·w) = z·w with z·w ∈ C, so z ∈ C is a
   suffix of x, hence of L(x) (the longest one), so z·w is a suffix of L(x)·w; and every suffix of L(x)·w is one
   of x·w. By induction the state after any history x is L(x), computed one word at a time.
2. p(· | x) = p(· | L(x)): if x is not a context, no n-gram extends it (prefix closure) and bow(x) = 1 (it is
   not listed), so the back-off rule gives p(w | x) = p(w | x[1:]) for every w; repeat until a context.

The *back-off state* of a context h ≠ () is b(h) = L(h[1:]); by fact 2, p(w | h) = bow(h) · p(w | b(h)) for every
w not listed after h, and then also δ(h, w) = δ(b(h), w) (h·w is not a context, so L(h·w) is a suffix of
h[1:]·w and L(h[1:]·w) = L(b(h)·w) by fact 1). That is what :mod:`typicality.measures.backoff` uses as
failure transitions to compute every exact measure in time proportional to the listed n-grams.

**Validation.** Each context's next-word distribution (over Σ ∪ {eos}, ``<s>`` excluded) must sum to 1 within
``tol`` (default :data:`ARPA_ROW_TOLERANCE` = 1e-5). ARPA files print log10 values rounded to about 7 significant
digits: a value x printed with 6 decimals carries an absolute error up to 5·10⁻⁷, so 10^x carries a relative error
up to ln 10 · 5·10⁻⁷ ≈ 1.2·10⁻⁶, and a back-off row sum accumulates a few such errors (the back-off weight's own,
the listed probabilities', and the lower order's row, amplified by bow). Toolkit files sum to 1 within ~3·10⁻⁶;
1e-5 accepts them and still rejects real errors (a wrong back-off weight is off by 10⁻³ or more). Rows are never
renormalized: the measures are those of the numbers as written, so ``mass`` may differ from 1 by about
tol · (E|Y| + 1) (it reports the discrepancy). A file that fails gets an error naming the context and its line;
pass a larger ``tol`` if the file is known to be printed with fewer digits.

>>> m = BackoffLM.loads_arpa(EXAMPLE)
>>> m.alphabet, m.eos, m.order
(('a', 'b'), '</s>', 2)
>>> round(m.prob("a b"), 6)          # p(a | <s>) · p(b | a) · p(</s> | b)
0.070313
>>> m.context_of(m.state_after("a b"))
'b'
"""

from __future__ import annotations

import gzip
import math
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from typicality.models.base import (
    DEFAULT_MAX_LENGTH,
    String,
    StringTooLongError,
    SymbolTable,
    check_max_length,
    check_rng,
)

#: every context's next-word probabilities must sum to 1 within this (see the module docstring)
ARPA_ROW_TOLERANCE = 1e-5

EXAMPLE = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-99\t<s>\t-0.30103
-0.30103\ta\t-0.0791812
-0.60206\tb
-0.60206\t</s>

\\2-grams:
-0.1249387\t<s> a
-0.4259687\ta b

\\end\\
"""


class ArpaFormatError(ValueError):
    """A malformed ARPA file or back-off model; the message names the file and line (or the n-gram)."""


class NGramEntry(NamedTuple):
    """One listed n-gram: its words, probability (not log), back-off weight (None: absent) and source line."""

    words: tuple[str, ...]
    prob: float
    backoff: float | None = None
    line: int = 0


class Section(NamedTuple):
    """The k-grams of a model in columns: ``words`` flat (k per n-gram), probabilities, back-off weights (NaN:
    absent) and source lines (0: none)."""

    words: list[str]
    prob: np.ndarray
    backoff: np.ndarray
    line: np.ndarray


def _unsupported_dps(dps: int | None) -> None:
    if dps is not None:
        raise ValueError(
            f"dps={dps!r} is not supported by BackoffLM.log_prob / next_symbol_distribution: they are float64 "
            "products of the model's numbers; for mpmath on a small model use BackoffLM.to_finite_state() (the "
            "measures take dps directly, through that expansion)")


class BackoffLM(SymbolTable):
    """A back-off n-gram LM (the ARPA model), as a deterministic automaton over its contexts.

    Parameters
    ----------
    order:
        N ≥ 1, the highest order listed.
    ngrams:
        The listed n-grams: a mapping ``{ngram: (probability, backoff_weight)}`` (an n-gram is a tuple of words or
        a space-separated string; the back-off weight may be None), an iterable of :class:`NGramEntry`, or one
        :class:`Section` per order. Probabilities and weights are plain numbers, not logarithms
        (:meth:`from_arpa` converts).
    bos, eos:
        The start and end symbols (``<s>``, ``</s>``).
    tol:
        Tolerance of the row-sum check (see the module docstring).
    source:
        Name of the file the n-grams come from, for error messages.

    Attributes: ``alphabet``, ``eos``, ``symbols`` (eos last), ``order``, ``n_states``, ``start_index``, and the
    arrays of the failure-transition form used by :mod:`typicality.measures.backoff`: ``arc_state``, ``arc_sym``,
    ``arc_prob``, ``arc_dst`` (−1 for eos) of the listed n-grams grouped by context (``arc_ptr``), ``backoff``
    (b(h), −1 for the empty context), ``backoff_weight``, ``shadow_prob`` = p(w | b(h)) and ``shadow_dst`` =
    δ(b(h), w) of each listed n-gram h·w, ``eos_prob`` and ``row_sum`` of each context, and ``level_start`` (the
    contexts of length k are the states level_start[k] .. level_start[k+1] − 1).
    """

    _state_noun = "context"

    def __init__(
        self,
        order: int,
        ngrams: Mapping[Any, tuple[Any, Any]] | Iterable[NGramEntry] | Sequence[Section],
        *,
        bos: str = "<s>",
        eos: str = "</s>",
        tol: float = ARPA_ROW_TOLERANCE,
        source: str | None = None,
    ) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an int >= 1, got {order!r}")
        if not (isinstance(tol, float | int) and not isinstance(tol, bool) and tol >= 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
        if not isinstance(bos, str) or not bos or any(c.isspace() for c in bos) or bos == eos:
            raise ValueError(f"bos must be a symbol name without whitespace, different from eos, got {bos!r}")
        self.order = order
        self.bos = bos
        self.tol = float(tol)
        self.source = source
        if isinstance(ngrams, Sequence) and ngrams and all(isinstance(x, Section) for x in ngrams):
            sections = list(ngrams)
            if len(sections) != order:
                raise ValueError(f"expected {order} sections (one per order), got {len(sections)}")
        else:
            sections = _sections(_entries(ngrams), order, self._where)
        self._build(sections, eos)

    # ----- construction ----------------------------------------------------------------------------------------
    def _where(self, line: int, words: Sequence[str] | None = None) -> str:
        if line and self.source:
            return f"{self.source}:{line}"
        if line:
            return f"line {line}"
        return f"n-gram {' '.join(words or ())!r}"

    def _fail(self, section: Section, k: int, row: int, message: str) -> None:
        words = tuple(section.words[k * row:k * row + k])
        raise ArpaFormatError(f"{self._where(int(section.line[row]), words)}: "
                              + message.replace("{ngram}", repr(" ".join(words))))

    def _build(self, sections: list[Section], eos: str) -> None:
        bos, order = self.bos, self.order
        for k, sec in enumerate(sections, start=1):
            bad = np.flatnonzero(~((sec.prob >= 0) & (sec.prob <= 1 + 1e-12)))
            if bad.size:
                self._fail(sec, k, int(bad[0]), f"the probability of {{ngram}} must be in [0, 1], got "
                           f"{sec.prob[bad[0]]!r}")
            bad = np.flatnonzero(~(np.isnan(sec.backoff) | ((sec.backoff >= 0) & (sec.backoff < math.inf))))
            if bad.size:
                self._fail(sec, k, int(bad[0]), f"the back-off weight of {{ngram}} must be finite and >= 0, got "
                           f"{sec.backoff[bad[0]]!r}")
        # the vocabulary: the unigrams, <s> excluded (never predicted), eos last
        uni = sections[0]
        first: dict[str, int] = {}
        for i, w in enumerate(uni.words):
            if w in first:
                self._fail(uni, 1, i, f"the unigram {{ngram}} is listed twice (also on "
                           f"{self._where(int(uni.line[first[w]]), (w,))})")
            first[w] = i
        if eos not in first:
            raise ArpaFormatError(f"{self.source or 'the model'}: the end symbol {eos!r} is not listed as a unigram "
                                  "(pass eos= if the file names it differently)")
        alphabet = [w for w in uni.words if w not in (bos, eos)]
        self._symbols = (*alphabet, eos)
        self._init_symbols(alphabet, eos)
        V1 = len(self._symbols)
        bos_id, eos_id = V1, V1 - 1
        V2 = V1 + 1  # word ids inside contexts: the symbols and <s>
        word_id = dict(self._index)
        if bos in first:
            word_id[bos] = bos_id

        # contexts level by level, each identified by (its prefix's state, its last word): key = prefix·V2 + word
        level_keys: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]  # sorted keys per level (level 0: the root)
        level_states: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        level_words: list[np.ndarray] = [np.zeros((1, 0), dtype=np.int64)]
        level_start = [0, 1]
        ctx_line = [np.zeros(1, dtype=np.int64)]
        ctx_bow = [np.ones(1)]
        arcs: list[tuple[np.ndarray, ...]] = []
        for k, sec in enumerate(sections, start=1):
            count = len(sec.prob)
            ids = np.fromiter((word_id.get(w, -1) for w in sec.words), dtype=np.int64,
                              count=len(sec.words)).reshape(count, k)
            bad = np.flatnonzero((ids < 0).any(axis=1))
            if bad.size:
                w = next(w for w in sec.words[k * bad[0]:k * bad[0] + k] if w not in word_id)
                self._fail(sec, k, int(bad[0]), f"the word {w!r} of {{ngram}} is not listed as a unigram")
            bad = np.flatnonzero((ids[:, 1:] == bos_id).any(axis=1))
            if bad.size:
                self._fail(sec, k, int(bad[0]), f"{{ngram}}: {bos!r} may only begin an n-gram")
            bad = np.flatnonzero((ids[:, :-1] == eos_id).any(axis=1))
            if bad.size:
                self._fail(sec, k, int(bad[0]), f"{{ngram}}: {eos!r} may only end an n-gram")
            prefix = self._state_of(ids[:, :-1], level_keys, level_states, V2)
            bad = np.flatnonzero(prefix < 0)
            if bad.size:
                self._fail(sec, k, int(bad[0]), "the n-gram {ngram} is listed but its prefix is not (ARPA files "
                           "list every prefix of a listed n-gram)")
            last = ids[:, -1]
            is_ctx = (last != eos_id) if k <= order - 1 else np.zeros(count, dtype=bool)
            new = np.flatnonzero(is_ctx)
            states = level_start[-1] + np.arange(len(new))
            keys = prefix[new] * V2 + last[new]
            perm = np.argsort(keys, kind="stable")
            dup = np.flatnonzero(keys[perm][1:] == keys[perm][:-1])
            if dup.size:
                i, j = int(new[perm[dup[0]]]), int(new[perm[dup[0] + 1]])
                self._fail(sec, k, j, f"the n-gram {{ngram}} is listed twice (also on "
                           f"{self._where(int(sec.line[i]), sec.words[k * i:k * i + k])})")
            level_keys.append(keys[perm])
            level_states.append(states[perm])
            level_words.append(ids[new])
            level_start.append(level_start[-1] + len(new))
            ctx_line.append(sec.line[new])
            ctx_bow.append(np.where(np.isnan(sec.backoff[new]), 1.0, sec.backoff[new]))
            ext = np.full(count, -1, dtype=np.int64)
            ext[new] = states
            keep = last != bos_id  # <s> is never predicted: its unigram probability is in no row
            arcs.append((prefix[keep], last[keep], sec.prob[keep], sec.line[keep], ext[keep]))
        n = level_start[order] if order > 1 else 1
        self.n_states = n
        self.level_start = np.array(level_start[:order + 1], dtype=np.int64)
        self._level_keys, self._level_states, self._level_words = level_keys, level_states, level_words
        self.context_line = np.concatenate(ctx_line)[:n]
        self.backoff_weight = np.concatenate(ctx_bow)[:n]
        self.start_index = int(self._state_of(np.array([[bos_id]]), level_keys, level_states, V2)[0]) \
            if order > 1 and bos in first else 0
        if self.start_index < 0:
            self.start_index = 0

        # arcs sorted by (state, symbol), in CSR form; duplicates are errors
        state, sym, prob, line, ext = (np.concatenate(c) for c in zip(*arcs, strict=True))
        key = state * V1 + sym
        perm = np.argsort(key, kind="stable")
        key, line, ext = key[perm], line[perm], ext[perm]
        dup = np.flatnonzero(key[1:] == key[:-1])
        if dup.size:
            i = int(dup[0])
            words = (*self._names(self._context_ids(int(key[i] // V1))), self._symbols[int(key[i] % V1)])
            raise ArpaFormatError(f"{self._where(int(line[i + 1]), words)}: the n-gram {' '.join(words)!r} is listed "
                                  f"twice (also on {self._where(int(line[i]), words)})")
        self.arc_key = key
        self.arc_state = state[perm]
        self.arc_sym = sym[perm]
        self.arc_prob = prob[perm]
        self.arc_line = line
        self.arc_ext = ext
        self.arc_ptr = np.searchsorted(self.arc_state, np.arange(n + 1))

        # back-off states b(h) = L(h[1:]): the longest proper suffix of h that is a context
        back = np.full(n, -1, dtype=np.int64)
        for k in range(1, len(self.level_start) - 1):
            words = level_words[k]
            b = np.zeros(len(words), dtype=np.int64)
            found = np.zeros(len(words), dtype=bool)
            for i in range(1, k):
                s = self._state_of(words[:, i:], level_keys, level_states, V2)
                hit = (s >= 0) & ~found
                b[hit] = s[hit]
                found |= s >= 0
            back[self.level_start[k]:self.level_start[k + 1]] = b
        self.backoff = back

        # destinations δ(h, w) and shadows (p(w | b(h)), δ(b(h), w)), level by level (shorter contexts first)
        m = len(self.arc_sym)
        self.arc_dst = np.full(m, -1, dtype=np.int64)
        self.shadow_prob = np.zeros(m, dtype=np.float64)
        self.shadow_dst = np.full(m, -1, dtype=np.int64)
        root = slice(self.arc_ptr[0], self.arc_ptr[1])
        if order == 1:
            self.arc_dst[root] = np.where(self.arc_sym[root] == eos_id, -1, 0)
        else:
            self.arc_dst[root] = ext[root]
        for lev in range(1, len(self.level_start) - 1):
            lo, hi = self.arc_ptr[self.level_start[lev]], self.arc_ptr[self.level_start[lev + 1]]
            if lo == hi:
                continue
            idx = np.arange(lo, hi)
            p, d = self.walk(self.backoff[self.arc_state[idx]], self.arc_sym[idx])
            self.shadow_prob[idx] = p
            self.shadow_dst[idx] = d
            self.arc_dst[idx] = np.where(ext[idx] >= 0, ext[idx], d)
        self._check_rows()
        self.eos_prob = self.walk(np.arange(n), np.full(n, eos_id))[0]

    @staticmethod
    def _state_of(ids: np.ndarray, level_keys: list[np.ndarray], level_states: list[np.ndarray],
                  V2: int) -> np.ndarray:
        """The state of each row of word ids (a context), or −1 when it is not a context."""
        s = np.zeros(len(ids), dtype=np.int64)
        for j in range(ids.shape[1]):
            keys, states = level_keys[j + 1], level_states[j + 1]
            if len(keys) == 0:
                return np.full(len(ids), -1, dtype=np.int64)
            k = s * V2 + ids[:, j]
            pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
            s = np.where((s >= 0) & (keys[pos] == k), states[pos], -1)
        return s

    def _context_ids(self, state: int) -> tuple[int, ...]:
        lev = int(np.searchsorted(self.level_start, state, side="right")) - 1
        return tuple(self._level_words[lev][state - self.level_start[lev]].tolist())

    @property
    def symbols(self) -> tuple[str, ...]:
        """Σ ∪ {eos}, eos last (cached: the vocabulary of an ARPA file is large)."""
        return self._symbols

    def _names(self, ids: Sequence[int]) -> tuple[str, ...]:
        V1 = len(self._symbols)
        return tuple(self.bos if j == V1 else self._symbols[j] for j in ids)

    def _check_rows(self) -> None:
        """Every context's row sums to 1 within tol (computed through the back-off structure, never expanded)."""
        n = self.n_states
        listed = np.bincount(self.arc_state, weights=self.arc_prob, minlength=n)
        shadow = np.bincount(self.arc_state, weights=self.shadow_prob, minlength=n)
        total = listed.copy()
        for lev in range(1, len(self.level_start) - 1):
            s = np.arange(self.level_start[lev], self.level_start[lev + 1])
            total[s] = listed[s] + self.backoff_weight[s] * (total[self.backoff[s]] - shadow[s])
        bad = np.flatnonzero(~(np.abs(total - 1) <= self.tol))
        if bad.size:
            s = int(bad[np.argmax(np.abs(total[bad] - 1))])
            name = self.context_of(s)
            where = f"{self.source or 'ARPA model'}: the unigrams (empty context)" if s == 0 else \
                f"{self._where(int(self.context_line[s]), name.split())}: context {name!r}"
            detail = "" if s == 0 else (f" (listed n-grams {listed[s]:.9g}, backed-off mass "
                                        f"{self.backoff_weight[s]:.9g} × {total[self.backoff[s]] - shadow[s]:.9g})")
            raise ArpaFormatError(
                f"{where}: the next-word probabilities sum to {total[s]:.9g}, not 1 within tol={self.tol:g}{detail}"
                f"; {len(bad)} context(s) fail. Rows are never renormalized; if the file is printed with fewer "
                "digits than usual, pass a larger tol (load_arpa(path, tol=1e-4))")
        self.row_sum = total

    # ----- I/O ---------------------------------------------------------------------------------------------------
    @classmethod
    def from_arpa(cls, path: str | os.PathLike, *, bos: str = "<s>", eos: str = "</s>",
                  tol: float = ARPA_ROW_TOLERANCE) -> BackoffLM:
        """Read an ARPA file (``.gz`` is decompressed)."""
        p = Path(path)
        opener = gzip.open if p.suffix == ".gz" else open
        try:
            with opener(p, "rt", encoding="utf-8") as f:
                return cls._read(f, str(p), bos=bos, eos=eos, tol=tol)
        except FileNotFoundError:
            raise FileNotFoundError(f"model file not found: {p}") from None
        except UnicodeDecodeError as e:
            raise ArpaFormatError(f"{p}: not UTF-8 text ({e})") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as e:  # a truncated or damaged .gz file
            raise ArpaFormatError(f"{p}: damaged gzip file ({e})") from None
        except IsADirectoryError:
            raise ArpaFormatError(f"{p}: is a directory, not a model file") from None

    load = from_arpa

    @classmethod
    def loads_arpa(cls, text: str, *, bos: str = "<s>", eos: str = "</s>", tol: float = ARPA_ROW_TOLERANCE,
                   source: str = "<string>") -> BackoffLM:
        """Read an ARPA model from a string."""
        return cls._read(iter(text.splitlines()), source, bos=bos, eos=eos, tol=tol)

    @classmethod
    def _read(cls, lines: Iterable[str], source: str, **kwargs: Any) -> BackoffLM:
        order, sections = read_arpa(lines, source)
        return cls(order, sections, source=source, **kwargs)

    def _context_names(self) -> list[str]:
        """Every context as space-separated words, in state order."""
        names = [*self._symbols, self.bos]
        out = [""]
        for words in self._level_words[1:len(self.level_start) - 1]:
            out += [" ".join([names[j] for j in row]) for row in words.tolist()]
        return out

    def ngrams(self) -> Iterator[tuple[tuple[str, ...], float, float | None]]:
        """The listed n-grams in ARPA order: (words, probability, back-off weight or None)."""
        if self.order > 1 and self.start_index > 0:
            yield (self.bos,), 0.0, float(self.backoff_weight[self.start_index])
        ctx = self._context_names()
        for s, w, p, e in zip(self.arc_state.tolist(), self.arc_sym.tolist(), self.arc_prob.tolist(),
                              self.arc_ext.tolist(), strict=True):
            words = (*ctx[s].split(), self._symbols[w])
            yield words, p, None if e < 0 else float(self.backoff_weight[e])

    def dumps_arpa(self, *, digits: int | None = None) -> str:
        """The model as ARPA text (see :func:`write_arpa`)."""
        return "".join(_arpa_lines(self, digits))

    def save_arpa(self, path: str | os.PathLike, *, digits: int | None = None) -> None:
        """Write the model as an ARPA file (atomically; ``.gz`` is compressed); see :func:`write_arpa`."""
        write_arpa(self, path, digits=digits)

    # ----- the automaton -------------------------------------------------------------------------------------
    def walk(self, states: np.ndarray, syms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p(w | h) and δ(h, w) for arrays of contexts h and symbols w, by following back-off to a listed n-gram."""
        states = np.asarray(states, dtype=np.int64)
        syms = np.asarray(syms, dtype=np.int64)
        V1 = len(self.symbols)
        prob = np.ones(len(states), dtype=np.float64)
        dst = np.full(len(states), -1, dtype=np.int64)
        cur = states.copy()
        todo = np.arange(len(states))
        key = self.arc_key
        while todo.size:
            k = cur[todo] * V1 + syms[todo]
            pos = np.minimum(np.searchsorted(key, k), len(key) - 1)
            hit = key[pos] == k
            done = todo[hit]
            prob[done] *= self.arc_prob[pos[hit]]
            dst[done] = self.arc_dst[pos[hit]]
            todo = todo[~hit]
            prob[todo] *= self.backoff_weight[cur[todo]]
            cur[todo] = self.backoff[cur[todo]]
        return prob, dst

    def context_of(self, state: int) -> str:
        """The context of a state, space-separated (``""`` for the empty context)."""
        return " ".join(self._names(self._context_ids(state)))

    @property
    def contexts(self) -> list[str]:
        """Every context (state), in state order."""
        return [self.context_of(s) for s in range(self.n_states)]

    @property
    def n_ngrams(self) -> int:
        """The number of listed n-grams (the ``<s>`` unigram excluded): the size of the failure-transition form."""
        return len(self.arc_sym)

    def state_after(self, prefix: Sequence[str] | str) -> int | None:
        """The state reached from the start by reading ``prefix``; None if the prefix has probability 0."""
        s = self.start_index
        for j in self._indices(prefix, name="prefix"):
            p, d = self.walk(np.array([s]), np.array([j]))
            if p[0] == 0:
                return None
            s = int(d[0])
        return s

    def row(self, state: int) -> np.ndarray:
        """The full next-symbol distribution of a state over ``symbols`` (O(|Σ| · N); the measures never need it)."""
        chain = []
        s = state
        while s >= 0:
            chain.append(s)
            s = int(self.backoff[s])
        out = np.zeros(len(self.symbols))
        for s in reversed(chain):
            out *= self.backoff_weight[s]
            lo, hi = self.arc_ptr[s], self.arc_ptr[s + 1]
            out[self.arc_sym[lo:hi]] = self.arc_prob[lo:hi]
        return out

    # ----- protocol ----------------------------------------------------------------------------------------------
    def next_symbol_distribution(self, prefix: Sequence[str] | str, *, dps: int | None = None) -> np.ndarray:
        """p(· | prefix) over ``symbols``; ValueError if the prefix has probability 0."""
        _unsupported_dps(dps)
        s = self.state_after(prefix)
        if s is None:
            raise ValueError(f"prefix {prefix!r} has probability 0, so p(· | prefix) is undefined")
        return self.row(s)

    def log_prob(self, y: Sequence[str] | str, *, dps: int | None = None) -> float:
        """log p(y) in nats (−inf when p(y) = 0): Σ_t log p(y_t | state) by the back-off rule, eos included."""
        _unsupported_dps(dps)
        idx = [*self._indices(y), self.eos_index]
        s = self.start_index
        total = 0.0
        for j in idx:
            p, d = self.walk(np.array([s]), np.array([j]))
            if p[0] == 0:
                return float("-inf")
            total += math.log(p[0])
            s = int(d[0])
        return total

    def sample(self, rng: np.random.Generator, *, max_length: int | None = DEFAULT_MAX_LENGTH) -> String:
        """One string by ancestral sampling (each step draws from the state's full row)."""
        check_rng(rng)
        max_length = check_max_length(max_length)
        s = self.start_index
        out: list[str] = []
        while True:
            probs = self.row(s)
            j = self._draw(rng, probs)
            if j == self.eos_index:
                return tuple(out)
            out.append(self.alphabet[j])
            if max_length is not None and len(out) > max_length:
                raise StringTooLongError(f"no eos within max_length={max_length} symbols; the model may not be tight")
            s = int(self.walk(np.array([s]), np.array([j]))[1][0])

    @property
    def is_tight(self) -> bool:
        """Tight iff every reachable state can reach eos (decided exactly through the back-off structure)."""
        from typicality.measures.backoff import structure

        return structure(self).tight

    def to_finite_state(self, *, tol: float | None = None) -> Any:
        """The dense expansion: a :class:`~typicality.models.FiniteStateLM` over the same contexts, each with its full
        row (|contexts| × (|Σ| + 1) arcs: for small models — the reference of the tests, mpmath precision, and the
        certified fallback of :mod:`typicality.measures.backoff`).

        Built independently of the failure-transition arrays: from the listed n-grams alone, by applying the back-off
        rule to every (context, word) — p(w | h) = P(h·w) if listed, else bow(h)·p(w | h[1:]) — and taking the
        longest suffix of h·w that is a context as the next state. Probabilities are exact :class:`Fraction` products
        of the model's float64 numbers (no rounding of β·q), so the expansion is the back-off model exactly.
        """
        from fractions import Fraction

        from typicality.models.finite_state import FiniteStateLM

        table: dict[tuple[str, ...], tuple[Fraction, Fraction]] = {}
        for words, p, b in self.ngrams():
            table[words] = (Fraction(p), Fraction(1) if b is None else Fraction(b))
        contexts = {()} | {g for g in table if len(g) < self.order and g[-1] != self.eos}
        memo: dict[tuple[tuple[str, ...], str], Fraction] = {}

        def prob(h: tuple[str, ...], w: str) -> Fraction:
            key = (h, w)
            if key not in memo:
                if (*h, w) in table:
                    memo[key] = table[(*h, w)][0]
                elif not h:
                    memo[key] = Fraction(0)
                else:
                    memo[key] = table.get(h, (None, Fraction(1)))[1] * prob(h[1:], w)
            return memo[key]

        def next_state(x: tuple[str, ...]) -> tuple[str, ...]:
            for i in range(len(x) + 1):
                if x[i:] in contexts:
                    return x[i:]
            raise AssertionError("the empty context is a context")

        arcs: dict[str, dict[str, Any]] = {}
        for h in sorted(contexts, key=lambda c: (len(c), c)):
            row: dict[str, Any] = {}
            for w in self.symbols:
                p = prob(h, w)
                if p > 0:
                    row[w] = p if w == self.eos else (p, " ".join(next_state((*h, w))))
            arcs[" ".join(h)] = row
        start = (self.bos,) if (self.bos,) in contexts else ()
        return FiniteStateLM(self.alphabet, self.eos, " ".join(start), arcs, tol=self.tol if tol is None else tol)

    def __repr__(self) -> str:
        return (f"BackoffLM(order={self.order}, |Σ|={len(self.alphabet)}, contexts={self.n_states}, "
                f"n-grams={self.n_ngrams})")


# ----- helpers ---------------------------------------------------------------------------------------------------
def _check_number(x: Any, where: str, what: str) -> float:
    if isinstance(x, bool):
        raise ArpaFormatError(f"{where}: the {what} must be a number, got {x!r}")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ArpaFormatError(f"{where}: the {what} must be a number, got {x!r}") from None


def _entries(ngrams: Any) -> Iterator[NGramEntry]:
    if isinstance(ngrams, Mapping):
        for key, value in ngrams.items():
            words = tuple(key.split()) if isinstance(key, str) else tuple(key)
            if not (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2):
                raise ArpaFormatError(f"n-gram {' '.join(map(str, words))!r}: value must be (probability, "
                                      f"backoff_weight or None), got {value!r}")
            yield NGramEntry(words, value[0], value[1])
        return
    for e in ngrams:
        if not isinstance(e, NGramEntry):
            raise TypeError(f"ngrams must be a mapping or an iterable of NGramEntry, got an element {e!r}")
        yield e


def _sections(entries: Iterable[NGramEntry], order: int, where: Any) -> list[Section]:
    words: list[list[str]] = [[] for _ in range(order)]
    cols: list[list[tuple[float, float, int]]] = [[] for _ in range(order)]
    for e in entries:
        k = len(e.words)
        if not 1 <= k <= order:
            raise ArpaFormatError(f"{where(e.line, e.words)}: a {k}-gram in an order-{order} model")
        if k == 1 and not (isinstance(e.words[0], str) and e.words[0] and not any(c.isspace() for c in e.words[0])):
            raise ArpaFormatError(f"{where(e.line, e.words)}: words must be non-empty strings without whitespace, "
                                  f"got {e.words[0]!r}")
        prob = _check_number(e.prob, where(e.line, e.words), "probability")
        bow = math.nan if e.backoff is None else _check_number(e.backoff, where(e.line, e.words), "back-off weight")
        words[k - 1] += e.words
        cols[k - 1].append((prob, bow, e.line))
    out = []
    for w, c in zip(words, cols, strict=True):
        arr = np.array(c, dtype=np.float64).reshape(-1, 3)
        out.append(Section(w, arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].astype(np.int64)))
    return out


_HEADER = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"\\(\d+)-grams:$")


def read_arpa(lines: Iterable[str], source: str = "<string>") -> tuple[int, list[Section]]:
    """Parse ARPA text into (order, one :class:`Section` per order), probabilities and weights as plain numbers.

    Text before ``\\data\\`` is ignored; the counts must match the sections; fields are separated by whitespace;
    log10 values are converted with 10**x (``-inf`` is probability 0); errors name ``source:line``.
    """
    it = iter(enumerate(lines, start=1))
    for _, raw in it:
        if raw.strip() == "\\data\\":
            break
    else:
        raise ArpaFormatError(f"{source}: no \\data\\ line: not an ARPA file")
    counts: list[int] = []
    lineno = 0
    pending: tuple[int, str] | None = None
    for lineno, raw in it:
        line = raw.strip()
        if not line:
            if counts:
                break
            continue
        m = _HEADER.match(line)
        if not m:
            pending = (lineno, line)
            break
        if int(m.group(1)) != len(counts) + 1:
            raise ArpaFormatError(f"{source}:{lineno}: expected 'ngram {len(counts) + 1}=COUNT', got {line!r}")
        counts.append(int(m.group(2)))
    if not counts:
        raise ArpaFormatError(f"{source}:{lineno}: \\data\\ must be followed by 'ngram 1=COUNT' lines")
    order = len(counts)
    sections: list[Section] = []
    k = 0
    header_line = 0
    words: list[str] = []
    logp: list[str] = []
    bows: list[str] = []
    where: list[int] = []

    def close(at: int) -> None:
        if k == 0:
            return
        if len(logp) != counts[k - 1]:
            raise ArpaFormatError(f"{source}:{header_line}: \\data\\ announces {counts[k - 1]} {k}-grams but the "
                                  f"section lists {len(logp)} (up to line {at})")
        sections.append(_section(words, logp, bows, where, source))

    def rest() -> Iterator[tuple[int, str]]:
        if pending is not None:
            yield pending
        for n, r in it:
            yield n, r.strip()

    ended = False
    for lineno, line in rest():
        if not line:
            continue
        if line[0] == "\\":
            close(lineno)
            if line == "\\end\\":
                if k != order:
                    raise ArpaFormatError(f"{source}:{lineno}: \\end\\ before the {k + 1}-grams section")
                ended = True
                break
            m = _SECTION.match(line)
            if not m or int(m.group(1)) != k + 1:
                raise ArpaFormatError(f"{source}:{lineno}: expected '\\{k + 1}-grams:' or '\\end\\', got {line!r}")
            k += 1
            if k > order:
                raise ArpaFormatError(f"{source}:{lineno}: a {k}-grams section, but \\data\\ announces order {order}")
            header_line = lineno
            words, logp, bows, where = [], [], [], []
            continue
        if k == 0:
            raise ArpaFormatError(f"{source}:{lineno}: expected '\\1-grams:', got {line!r}")
        fields = line.split()
        if len(fields) == k + 1:
            bows.append("")
        elif len(fields) == k + 2:
            bows.append(fields[-1])
        else:
            raise ArpaFormatError(f"{source}:{lineno}: a {k}-gram line needs a log10 probability, {k} word(s) and "
                                  f"optionally a log10 back-off weight; got {len(fields)} fields: {line!r}")
        logp.append(fields[0])
        words += fields[1:k + 1]
        where.append(lineno)
    if not ended:
        raise ArpaFormatError(f"{source}:{lineno}: the file ends without \\end\\ (truncated?)")
    return order, sections


def _section(words: list[str], logp: list[str], bows: list[str], where: list[int], source: str) -> Section:
    """Columns of one section: log10 text to numbers (checked, with the line of the first bad value)."""
    def numbers(texts: list[str], what: str) -> np.ndarray:
        try:
            x = np.array(texts, dtype=np.float64)
        except ValueError:
            x = None
        if x is not None:
            bad = np.isposinf(x) | np.isnan(x)
            if what == "probability":
                bad |= x > 0
            if not bad.any():
                return x
            i = int(np.argmax(bad))
        else:
            i = next(i for i, t in enumerate(texts) if not _is_number(t))
        reason = "is positive (a probability above 1)" if x is not None and x[i] > 0 and what == "probability" \
            else "must be a finite number or -inf"
        raise ArpaFormatError(f"{source}:{where[i]}: the log10 {what} {texts[i]!r} {reason}")

    lp = numbers(logp, "probability")
    absent = np.array([not t for t in bows], dtype=bool)
    lb = numbers([t or "0" for t in bows], "back-off weight")
    lb[absent] = np.nan
    with np.errstate(over="ignore"):
        return Section(words, 10.0 ** lp, 10.0 ** lb, np.array(where, dtype=np.int64))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _format(x: float, digits: int | None) -> str:
    if x == 0:
        return "0"
    if math.isinf(x):
        return "-inf"
    return repr(x) if digits is None else f"{x:.{digits}g}"


def _arpa_lines(model: BackoffLM, digits: int | None) -> Iterator[str]:
    """ARPA text, section by section; the n-grams are the arcs (grouped by context length) and the <s> unigram."""
    has_bos = model.order > 1 and model.start_index > 0
    ctx = model._context_names()
    ls, ptr = model.level_start, model.arc_ptr
    counts = [int(ptr[ls[k]] - ptr[ls[k - 1]]) for k in range(1, model.order + 1)]
    counts[0] += has_bos
    yield "\\data\\\n"
    for k, c in enumerate(counts, start=1):
        yield f"ngram {k}={c}\n"
    with np.errstate(divide="ignore"):
        logp = np.log10(model.arc_prob).tolist()
        logb = np.log10(model.backoff_weight).tolist()
    sep = [f"{c} " if c else "" for c in ctx]
    syms = model.symbols
    for k in range(1, model.order + 1):
        yield f"\n\\{k}-grams:\n"
        if k == 1 and has_bos:
            yield f"-99\t{model.bos}\t{_format(logb[model.start_index], digits)}\n"
        lo, hi = int(ptr[ls[k - 1]]), int(ptr[ls[k]])
        for s, w, e, lp in zip(model.arc_state[lo:hi].tolist(), model.arc_sym[lo:hi].tolist(),
                               model.arc_ext[lo:hi].tolist(), logp[lo:hi], strict=True):
            bow = "" if e < 0 else f"\t{_format(logb[e], digits)}"
            yield f"{_format(lp, digits)}\t{sep[s]}{syms[w]}{bow}\n"
    yield "\n\\end\\\n"


def write_arpa(model: BackoffLM, path: str | os.PathLike, *, digits: int | None = None) -> None:
    """Write ``model`` as an ARPA file: log10 values with ``digits`` significant digits, or (default None) the
    shortest text that reads back as the same float64 log10 value; 10^x and log10 are not exact inverses in
    float64, so each number reads back within a few units in its last place (the rows still sum to 1 to ~1e-15).

    The ``<s>`` unigram gets the conventional log10 probability −99 (never used); zero is written ``-inf``.
    """
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(tmp, "wt", encoding="utf-8") as f:
        f.writelines(_arpa_lines(model, digits))
    os.replace(tmp, p)


def load_arpa(path: str | os.PathLike, **kwargs: Any) -> BackoffLM:
    """Read an ARPA file into a :class:`BackoffLM` (same as :meth:`BackoffLM.from_arpa`)."""
    return BackoffLM.from_arpa(path, **kwargs)
