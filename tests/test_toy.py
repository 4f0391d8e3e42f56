"""The toy experiment: the faithful mode against an independent direct computation, the fast mode against the
faithful one and the exact moments, the published numbers at full scale, resumption, and bad input."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from typicality.corpora import causal_bootstrap, equal_width_bins
from typicality.toy import CheckpointWarning, ToyConfig, collect_statistics, draw_fast, run_toy, toy_objects


def direct_statistics(toy, n_corpora, size):
    """The notebook's way, written out: per corpus, seed the global legacy generator, draw indices, average."""
    state = np.random.get_state()
    try:
        rows = []
        for i in range(n_corpora):
            np.random.seed(i)
            idx = np.random.choice(len(toy.aligned), size=size, p=toy.aligned)
            rows.append((np.log(toy.prior)[idx].mean(), toy.reward[idx].mean(), np.log(toy.aligned)[idx].sum()))
    finally:
        np.random.set_state(state)
    return np.array(rows)


def test_objects_match_the_legacy_global_stream():
    state = np.random.get_state()
    np.random.seed(42)
    aligned = np.random.dirichlet(0.1 * np.ones(1000))
    u = np.random.uniform(-0.42, 0.42, 1000)
    np.random.set_state(state)
    toy = toy_objects()
    np.testing.assert_array_equal(toy.aligned, aligned)
    x = aligned ** (1 / 42) + u
    np.testing.assert_allclose(toy.prior, np.exp(x) / np.exp(x).sum(), rtol=1e-12)


def test_faithful_mode_at_reduced_scale_matches_direct_computation():
    config = ToyConfig(corpora=40, corpus_size=3000, faithful=True, eps=0.02, bins=2, per_bin=10)
    toy = toy_objects()
    stats = collect_statistics(toy, config)
    ref = direct_statistics(toy, 40, 3000)
    np.testing.assert_allclose(stats.avg_log_prior, ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(stats.avg_reward, ref[:, 1], rtol=1e-12)
    np.testing.assert_allclose(stats.log_prob, ref[:, 2], rtol=1e-12)
    typical = np.abs(-ref[:, 2] / 3000 - toy.entropy_aligned) < 0.02
    run = run_toy(config)
    assert run.result.n_typical == int(typical.sum())


def test_causal_bootstrap_is_pandas_groupby_sample():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300)
    codes = equal_width_bins(x, 10)
    assert np.array_equal(codes, pd.cut(x, bins=10, labels=False))
    ours = causal_bootstrap(x, 10, 100, np.random.RandomState(42))
    df = pd.DataFrame({"x": x, "bin": pd.cut(x, bins=10)})
    state = np.random.get_state()
    np.random.seed(42)
    try:
        theirs = df.groupby("bin", observed=False).sample(n=100, replace=True).index.to_numpy()
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(ours, theirs)


def mom(x, k=166):
    m = len(x) // k
    return float(np.median(x[: m * k].reshape(k, m).mean(axis=1)))


def test_fast_mode_has_the_law_of_the_faithful_mode():
    """Both samplers against the exact moments of the corpus averages (median of means, δ ≤ 1e-9 each), and
    against each other (DKW: each empirical CDF within t of the truth with probability ≥ 1 − 2e^{−2nt²})."""
    toy = toy_objects()
    n, size = 2000, 2000
    faithful = collect_statistics(toy, ToyConfig(corpora=n, corpus_size=size, faithful=True))
    fast = collect_statistics(toy, ToyConfig(corpora=n, corpus_size=size))
    lp = np.log(toy.prior)
    mean = float(toy.aligned @ lp)
    var1 = float(toy.aligned @ (lp - mean) ** 2)  # one draw
    mu4 = float(toy.aligned @ (lp - mean) ** 4)
    var_mean = var1 / size
    fourth = (3 * (size - 1) * var1**2 + mu4) / size**3  # E[(X̄ − μ)⁴] for the mean of `size` i.i.d. draws
    groups = math.sqrt(166 / (n // 166 * 166))  # median of 166 means: Chebyshev per group, Hoeffding across
    for stats in (faithful, fast):
        assert abs(mom(stats.avg_log_prior) - mean) <= 2 * math.sqrt(var_mean) * groups
        assert abs(mom((stats.avg_log_prior - mean) ** 2) - var_mean) <= 2 * math.sqrt(fourth - var_mean**2) * groups
    t = math.sqrt(math.log(4 / 1e-9) / (2 * n))
    grid = np.quantile(np.r_[faithful.avg_log_prior, fast.avg_log_prior], np.linspace(0.01, 0.99, 99))
    f1 = (faithful.avg_log_prior[:, None] <= grid).mean(axis=0)
    f2 = (fast.avg_log_prior[:, None] <= grid).mean(axis=0)
    assert np.max(np.abs(f1 - f2)) <= 2 * t


@pytest.mark.slow
def test_published_numbers_at_full_scale():
    """docs/theory.md#d1: every number of the §6.1 toy, from the faithful mode (about 10 s)."""
    r = run_toy(ToyConfig(faithful=True)).result
    assert round(r.entropy_aligned, 3) == 5.005 and round(r.entropy_prior, 3) == 6.869
    assert round(r.varentropy, 3) == 1.424
    assert r.n_typical == 213
    assert round(r.string_spearman, 2) == 0.43 and round(r.string_pearson, 2) == 0.49
    assert round(r.corpus_pearson_typical, 2) == -0.92 and round(r.corpus_spearman_typical, 2) == -0.92
    assert round(r.median_logprob_typical, 2) == -500523.78
    assert round(r.median_logprob_atypical, 2) == -500718.75
    # the re-run numbers of docs/theory.md#c8, #c9
    assert round(r.corpus_pearson_all, 3) == -0.121 and round(r.string_pearson_weighted, 3) == -0.129
    assert round(r.corpus_pearson_typical_raw, 3) == -0.816 and round(r.corpus_pearson_atypical, 2) == -0.34
    assert round(r.median_logprob_typical_raw) == -500537 and round(r.median_logprob_atypical_raw) == -500639
    sweep = {row["eps"]: row for row in r.eps_sweep}
    for eps, fraction, pearson in ((0.0005, 0.108, -0.935), (0.001, 0.213, -0.816), (0.002, 0.433, -0.564),
                                   (0.004, 0.726, -0.344), (0.008, 0.969, -0.147), (0.012, 0.997, -0.126)):
        assert sweep[eps]["typical_fraction"] == pytest.approx(fraction, abs=5e-4)
        assert sweep[eps]["pearson_typical"] == pytest.approx(pearson, abs=5e-4)
    assert sweep[0.001]["chebyshev_bound"] == pytest.approx(14.24, abs=0.01)


def test_resume_after_interruption(tmp_path):
    """Interrupted after the checkpoint at 50 corpora, a rerun draws only corpora 51..60 and gets the same result."""
    config = ToyConfig(corpora=60, corpus_size=2000, faithful=True, eps=0.02, bins=2, per_bin=10)
    reference = run_toy(config)

    def interrupt(done, total):
        if done == 55:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_toy(config, out_dir=tmp_path, progress=interrupt)
    with np.load(tmp_path / "corpora-faithful.npz") as saved:
        assert int(saved["done"]) == 50
    assert not (tmp_path / "toy-faithful.json").exists()
    drawn = []
    resumed = run_toy(config, out_dir=tmp_path, progress=lambda done, total: drawn.append(done))
    assert drawn == list(range(51, 61))
    np.testing.assert_array_equal(resumed.corpus.avg_log_prior, reference.corpus.avg_log_prior)
    assert json.loads((tmp_path / "toy-faithful.json").read_text())["n_typical"] == reference.result.n_typical
    # a different configuration does not reuse the checkpoint, and says so
    other = ToyConfig(corpora=60, corpus_size=2500, faithful=True, eps=0.02, bins=2, per_bin=10)
    drawn.clear()
    with pytest.warns(CheckpointWarning, match="other settings"):
        run_toy(other, out_dir=tmp_path, progress=lambda done, total: drawn.append(done))
    assert drawn[0] == 1


SMALL = ToyConfig(corpora=60, corpus_size=2000, faithful=True, eps=0.02, bins=2, per_bin=10)


def _npz(path, **arrays):
    np.savez(path, **arrays)


def _checkpoint_arrays(done=20, n=60, **changes):
    arrays = {"a": np.zeros(n), "b": np.zeros(n), "s": np.zeros(n), "done": done,
              "key": json.dumps({"corpora": n, "corpus_size": 2000, "seed": 42, "faithful": True})}
    arrays.update(changes)
    return arrays


#: (how the checkpoint is damaged, words of the warning)
DAMAGED = {
    "not a zip file": (lambda p: p.write_bytes(b"garbage"), "cannot be read"),
    "truncated": (lambda p: (_npz(p, **_checkpoint_arrays()), p.write_bytes(p.read_bytes()[:300])), "cannot be read"),
    "foreign npz": (lambda p: _npz(p, x=np.arange(3)), "not a toy checkpoint"),
    "pickled objects": (lambda p: _npz(p, **_checkpoint_arrays(a=np.array([{}], dtype=object))), "cannot be read"),
    "key not JSON": (lambda p: _npz(p, **_checkpoint_arrays(key="{")), "cannot be read"),
    "other settings": (lambda p: _npz(p, **_checkpoint_arrays(key=json.dumps({"corpora": 5}))), "other settings"),
    "done beyond corpora": (lambda p: _npz(p, **_checkpoint_arrays(done=61)), "damaged"),
    "short arrays": (lambda p: _npz(p, **_checkpoint_arrays(a=np.zeros(3))), "damaged"),
    "NaN in finished corpora": (lambda p: _npz(p, **_checkpoint_arrays(b=np.full(60, np.nan))), "damaged"),
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_or_foreign_checkpoint_is_reported_and_recomputed(tmp_path, damage):
    """Never silently ignored, never trusted: a warning names the file and why, and the result is the reference."""
    reference = run_toy(SMALL)
    make, words = DAMAGED[damage]
    make(tmp_path / "corpora-faithful.npz")
    with pytest.warns(CheckpointWarning, match=words) as caught:
        run = run_toy(SMALL, out_dir=tmp_path)
    assert "corpora-faithful.npz" in str(caught[0].message)
    np.testing.assert_array_equal(run.corpus.avg_log_prior, reference.corpus.avg_log_prior)
    np.testing.assert_array_equal(run.corpus.avg_reward, reference.corpus.avg_reward)
    with np.load(tmp_path / "corpora-faithful.npz") as saved:  # replaced by a good one
        assert int(saved["done"]) == SMALL.corpora


def test_faithful_and_fast_modes_share_a_folder(tmp_path):
    """Each mode writes its own files; running one does not overwrite (or resume from) the other's."""
    fast = ToyConfig(corpora=60, corpus_size=2000, eps=0.02, bins=2, per_bin=10)
    run_toy(SMALL, out_dir=tmp_path)
    faithful_json = (tmp_path / "toy-faithful.json").read_bytes()
    faithful_npz = (tmp_path / "corpora-faithful.npz").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)  # the fast mode does not even look at the other file
        run_toy(fast, out_dir=tmp_path)
    assert (tmp_path / "toy-faithful.json").read_bytes() == faithful_json
    assert (tmp_path / "corpora-faithful.npz").read_bytes() == faithful_npz
    assert json.loads((tmp_path / "toy.json").read_text())["config"]["faithful"] is False
    assert json.loads((tmp_path / "toy-faithful.json").read_text())["config"]["faithful"] is True


def test_an_output_path_in_the_way_is_refused_before_any_work(tmp_path):
    (tmp_path / "toy-faithful.json").mkdir()
    calls = []
    with pytest.raises(ValueError, match=r"toy-faithful\.json is a directory"):
        run_toy(SMALL, out_dir=tmp_path, progress=lambda done, total: calls.append(done))
    assert calls == []
    with pytest.raises(ValueError, match="is not a directory"):
        run_toy(SMALL, out_dir=tmp_path / "missing")


def test_bad_input():
    for kwargs, msg in (({"corpora": 0}, "corpora must be an int >= 1"), ({"corpus_size": -5}, "corpus_size"),
                        ({"eps": 0.0}, "eps must hold finite numbers > 0"), ({"eps": -1e-3}, "eps"),
                        ({"corpora": 15}, "too few to fill 10 bins")):
        with pytest.raises(ValueError, match=msg):
            ToyConfig(**kwargs)
    with pytest.raises(ValueError, match="bin 1 of 3 is empty"):
        causal_bootstrap(np.array([0.0, 0.0, 1.0]), 3, 5, np.random.RandomState(0))
    with pytest.raises(ValueError, match="no atypical corpus"):
        run_toy(ToyConfig(corpora=40, corpus_size=1000, eps=10.0, bins=2))


def test_fast_draws_are_counts():
    toy = toy_objects()
    counts = draw_fast(toy, ToyConfig(corpora=30, corpus_size=500), np.random.default_rng(0))
    assert counts.shape == (30, 1000) and np.all(counts.sum(axis=1) == 500)
