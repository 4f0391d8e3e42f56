"""Ledger entries about sampling adaptors: Eq. 8, Example 1, Eq. 41 (§5.2), Algorithm 1."""

from __future__ import annotations

import math

import numpy as np

from typicality import bounds as B
from typicality import measures as M
from typicality.ledger.core import Evidence, claim, guarded, symbolic
from typicality.models import FiniteSupportLM, examples


@claim("eq8", "Eq. 8 (global normalization preserves the transform's scores)", "math.md B.2 Eq. 6–8, C7",
       "If 0 < Z_T < ∞, then π_T(y)/π_T(y′) = π̃_T(y)/π̃_T(y′) and π_T is tight. The paper assumes only "
       "Z_T < ∞ and calls π_T 'always tight'; Z_T can be ∞ (temperature τ > 1) or 0 (eos always truncated).",
       "holds-corrected")
def eq8() -> list[Evidence]:
    c1 = examples.c1_counterexample()
    z2, z15 = M.renyi_sum(c1, "0.5"), M.renyi_sum(c1, 1 / 1.5)
    return [
        symbolic("eq8"),
        Evidence("counterexample", "C7: global temperature on the C1 model: Z_T = Σ p^{1/τ} = ∞ at τ = 2 (no π_T "
                 f"exists), finite at τ = 1.5 (Z_T = {float(z15):.6f})", z2 == math.inf and math.isfinite(z15),
                 {"Z_tau_2": z2, "Z_tau_1.5": z15}),
    ]


@claim("example1", "Example 1 (local normalization reverses the order)", "math.md B.5, App. A",
       "With p(·|ε) = (0.5, 0.45, 0.05), p(·|a) = (0.5, 0.05, 0.45), p(·|b) = (0.3, 0.32, 0.38) over (a, b, eos) "
       "and top-2: p(a) > p(b) but q_T(a) < q_T(b).", "pending",
       note="needs typicality.adaptors (issue 4); the model is builtin:example1")
def example1() -> list[Evidence]:
    return []


@claim("alg1", "Algorithm 1 (IMHA samples the global adaptor)", "math.md B.2 Algorithm 1, C12, C-R R1",
       "The independent Metropolis–Hastings chain with proposals from q_T and weights w = Π_t Z_t has stationary "
       "law π_T.", "pending", note="needs the IMHA (issue 4)")
def alg1() -> list[Evidence]:
    return []


@claim("eq41", "Eq. 13/41 (§5.2: the adaptor can be 'pushed to the prior')", "math.md B.4 Eq. 13, B.9 Eq. 41, C6",
       "Paper (best reading): π_T(y | A=+) ∝ p(A=+ | y) · Π_t T(p_prior(·|y_<t))(y_t). Exact identity instead: for "
       "temperature, π_T(y | A=+) ∝ [p(A=+ | y) p_prior(y)]^{1/τ} (the reward is tempered too), and truncation "
       "sets are the aligned model's, not the prior's. Equal only at τ = 1 without truncation.", "false-as-stated")
def eq41() -> list[Evidence]:
    return [symbolic("eq41"), _tempered_counterexample()]


@guarded("counterexample")
def _tempered_counterexample() -> Evidence:
    """Three strings, a reward, β = 1: the true global-temperature target vs the paper's pushed-to-prior form."""
    prior = FiniteSupportLM({"a": "0.5", "b": "0.3", "a b": "0.2"})
    reward = {"a": -1.0, "b": 0.0, "a b": -2.0}  # r ≤ 0, so p(A=+ | y) = e^{r} (math.md C10)
    aligned, _ = B.tilt(prior, reward, 1.0)
    ys = prior.strings
    accept = np.array([math.exp(reward[" ".join(y)]) for y in ys])
    p_prior = np.array([float(prior.prob(y)) for y in ys])
    p_aligned = np.array([float(aligned.prob(y)) for y in ys])
    tv = {}
    for tau in (1.0, 2.0, 0.5):
        true = p_aligned ** (1 / tau)
        paper = accept * p_prior ** (1 / tau)
        tv[tau] = 0.5 * float(np.abs(true / true.sum() - paper / paper.sum()).sum())
    ok = tv[1.0] < 1e-12 and tv[2.0] > 0.05 and tv[0.5] > 0.05
    return Evidence("counterexample", "3-string prior, rewards (−1, 0, −2), β = 1: total variation between the "
                    f"global-temperature target and the paper's form is {tv[2.0]:.4f} at τ = 2, {tv[0.5]:.4f} at "
                    f"τ = 0.5, and {tv[1.0]:.1e} at τ = 1", ok, {"total_variation": tv})
