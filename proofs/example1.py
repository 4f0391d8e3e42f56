"""Example 1 (App. A): local normalization of top-2 reverses the order of two strings' probabilities.

docs/theory.md#b5, Eqs. 14-19. Over (a, b, eos): p(. | eps) = (0.5, 0.45, 0.05), p(. | a) = (0.5, 0.05, 0.45),
p(. | b) = (0.3, 0.32, 0.38), and top-k with k = 2. (The paper's numbers did not survive; this instance is
the one of docs/theory.md#example1.) Every token the two strings use is in its top-2 set, so the transform score
equals p:

    score(a) = p(a | eps) p(eos | a) = 0.225  >  score(b) = p(b | eps) p(eos | b) = 0.171,

yet with the per-step masses Z_1(eps) = 0.95, Z_2(a) = 0.95, Z_2(b) = 0.70 the locally normalized model has

    q(a) = 0.225 / (0.95 * 0.95) = 0.24931...  <  q(b) = 0.171 / (0.95 * 0.70) = 0.25714...

Everything here is exact rational arithmetic. The mechanism: q(a) < q(b) iff score(a)/Z_2(a) < score(b)/Z_2(b)
(the common Z_1 cancels); and the globally normalized adaptor keeps the score order (Eq. 8).
"""

import sympy as sp

from ._common import Step, equal, holds

CLAIM = "example1"


def check() -> list[Step]:
    R = sp.Rational
    start = {"a": R(1, 2), "b": R(45, 100), "eos": R(5, 100)}
    after_a = {"a": R(1, 2), "b": R(5, 100), "eos": R(45, 100)}
    after_b = {"a": R(3, 10), "b": R(32, 100), "eos": R(38, 100)}

    def top2_mass(row):
        return sum(sorted(row.values(), reverse=True)[:2])

    def in_top2(row, symbol):
        return row[symbol] >= sorted(row.values(), reverse=True)[1]

    score_a, score_b = start["a"] * after_a["eos"], start["b"] * after_b["eos"]
    z1, z_a, z_b = top2_mass(start), top2_mass(after_a), top2_mass(after_b)
    q_a, q_b = score_a / (z1 * z_a), score_b / (z1 * z_b)
    z_tilde = sp.Symbol("Z_T", positive=True)
    return [
        Step("each row sums to 1", all(equal(sum(r.values()), 1) for r in (start, after_a, after_b))),
        Step("the symbols used (a then eos, b then eos) are all inside their top-2 sets",
             in_top2(start, "a") and in_top2(start, "b") and in_top2(after_a, "eos") and in_top2(after_b, "eos")),
        Step("score(a) = 9/40 = 0.225 and score(b) = 171/1000 = 0.171", equal(score_a, R(9, 40))
             and equal(score_b, R(171, 1000))),
        Step("p(a) > p(b) (the transform score order)", holds(sp.Gt(score_a, score_b))),
        Step("per-step masses Z_1 = 19/20, Z_2(a) = 19/20, Z_2(b) = 7/10",
             equal(z1, R(19, 20)) and equal(z_a, R(19, 20)) and equal(z_b, R(7, 10))),
        Step("q(a) = 90/361 ≈ 0.2493", equal(q_a, R(90, 361))),
        Step("q(b) = 18/70 ≈ 0.2571", equal(q_b, R(18, 70))),
        Step("q(a) < q(b): the order reverses", holds(sp.Lt(q_a, q_b))),
        Step("reversal iff score(a)/Z_2(a) < score(b)/Z_2(b)",
             holds(sp.Eq(sp.Lt(q_a, q_b), sp.Lt(score_a / z_a, score_b / z_b)))),
        Step("the global adaptor keeps the order: score(a)/Z_T > score(b)/Z_T for any Z_T > 0",
             holds(sp.Gt(score_a / z_tilde - score_b / z_tilde, 0))),
    ]
