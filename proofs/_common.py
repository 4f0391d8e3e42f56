"""Shared pieces of the symbolic proofs: the :class:`Step` record and small sympy deciders.

Every decider returns ``True`` only when sympy *establishes* the fact (an exact zero, a sign known from the
assumptions on the symbols, a relational that evaluates to ``sympy.true``). "Could not decide" is ``False``, so a
proof step can fail but can never pass by default.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

__all__ = [
    "Step",
    "equal",
    "holds",
    "negative",
    "nonnegative",
    "positive",
    "quadratic_expectation",
    "same_set",
    "solution_set",
]


@dataclass(frozen=True)
class Step:
    """One verified step of a proof: what was checked, and whether sympy established it."""

    description: str
    ok: bool


def _is_zero(expression: sp.Expr) -> bool:
    return expression == 0 or expression.is_zero is True


def equal(left: sp.Expr, right: sp.Expr) -> bool:
    """Whether ``left - right`` simplifies to exactly 0.

    Tries cheap rewrites first (expand, ``expand_log(force=True)``, ``powsimp(force=True)``, ``together``) and only
    then ``simplify``; ``force=True`` is sound here because every proof declares its symbols positive where logs and
    powers are split.
    """
    difference = sp.sympify(left) - sp.sympify(right)
    if _is_zero(difference):
        return True
    rewrites = (
        sp.expand,
        lambda e: sp.expand(sp.expand_log(e, force=True)),
        lambda e: sp.expand(sp.powsimp(sp.expand_power_base(e, force=True), force=True)),
        lambda e: sp.together(sp.expand(sp.expand_log(e, force=True))),
        lambda e: sp.cancel(sp.expand(sp.expand_log(e, force=True))),
        lambda e: sp.logcombine(e, force=True),
        sp.simplify,
        lambda e: sp.simplify(sp.expand_log(e, force=True)),
    )
    return any(_is_zero(rewrite(difference)) for rewrite in rewrites)


def _established(expression: sp.Expr, prop: str) -> bool:
    """Whether sympy establishes ``expression.<prop>`` (e.g. is_positive) as is, factored or simplified."""
    expression = sp.sympify(expression)
    return any(getattr(c, prop) is True for c in (expression, sp.factor(expression), sp.simplify(expression)))


def positive(expression: sp.Expr) -> bool:
    """Whether sympy can show ``expression > 0`` from the assumptions on its symbols (or numerically, if closed)."""
    return _established(expression, "is_positive")


def negative(expression: sp.Expr) -> bool:
    """Whether sympy can show ``expression < 0``."""
    return positive(-sp.sympify(expression))


def nonnegative(expression: sp.Expr) -> bool:
    """Whether sympy can show ``expression >= 0``."""
    return _established(expression, "is_nonnegative")


def holds(relation: sp.Basic) -> bool:
    """Whether a sympy relational (``a > b``, ``Eq(a, b)``, ...) evaluates to ``sympy.true``.

    For closed-form numbers sympy decides ``>``/``<`` by exact-sign evaluation with guaranteed precision.
    """
    return bool(relation == sp.true)


def _intersect_interval(piece: sp.Set, domain: sp.Interval) -> sp.Set:
    """``piece ∩ domain`` for intervals whose endpoints sympy can order from the symbols' assumptions."""
    if not isinstance(piece, sp.Interval):
        return sp.Intersection(piece, domain)

    def order(a: sp.Expr, b: sp.Expr) -> int | None:  # sign of a - b when decidable
        if a == b:
            return 0
        difference = sp.simplify(a - b)
        if difference.is_zero:
            return 0
        if difference.is_positive:
            return 1
        if difference.is_negative:
            return -1
        return None

    start_order, end_order = order(piece.start, domain.start), order(piece.end, domain.end)
    if start_order is None or end_order is None:
        return sp.Intersection(piece, domain)
    start, left_open = ((piece.start, piece.left_open) if start_order > 0 else (domain.start, domain.left_open)
                        if start_order < 0 else (piece.start, piece.left_open or domain.left_open))
    end, right_open = ((piece.end, piece.right_open) if end_order < 0 else (domain.end, domain.right_open)
                       if end_order > 0 else (piece.end, piece.right_open or domain.right_open))
    return sp.Interval(start, end, left_open, right_open)


def _relation_to_set(relation: sp.Basic, variable: sp.Symbol) -> sp.Set:
    """Turn ``variable > a``, ``a <= variable``, ... (and And/Or of them) into a set, for symbolic bounds ``a``."""
    if isinstance(relation, sp.And):
        result = sp.S.Reals
        for part in relation.args:
            part_set = _relation_to_set(part, variable)
            result = _intersect_interval(part_set, result) if isinstance(result, sp.Interval) else result & part_set
        return result
    if isinstance(relation, sp.Or):
        return sp.Union(*(_relation_to_set(part, variable) for part in relation.args))
    if not isinstance(relation, sp.core.relational.Relational):
        raise NotImplementedError(f"cannot turn {relation} into a set of {variable}")
    if relation.rhs == variable:
        relation = relation.reversed
    if relation.lhs != variable or variable in relation.rhs.free_symbols:
        raise NotImplementedError(f"cannot turn {relation} into a set of {variable}")
    bound = relation.rhs
    if isinstance(relation, sp.StrictGreaterThan):
        return sp.Interval.open(bound, sp.oo)
    if isinstance(relation, sp.GreaterThan):
        return sp.Interval(bound, sp.oo)
    if isinstance(relation, sp.StrictLessThan):
        return sp.Interval.open(-sp.oo, bound)
    if isinstance(relation, sp.LessThan):
        return sp.Interval(-sp.oo, bound)
    raise NotImplementedError(f"cannot turn {relation} into a set of {variable}")


def solution_set(inequality: sp.Basic, variable: sp.Symbol, domain: sp.Interval = sp.S.Reals) -> sp.Set:
    """The set of ``variable`` in ``domain`` where ``inequality`` holds, as sympy solves it.

    The intersection with ``domain`` is done piece by piece so that symbolic endpoints whose order follows from the
    assumptions (e.g. a positive symbol against 0) are resolved instead of left as an unevaluated Intersection.
    """
    try:
        solved = solve_univariate_inequality(inequality, variable, relational=False)
    except NotImplementedError:  # symbolic coefficients: reduce_inequalities handles the linear/polynomial case
        solved = _relation_to_set(sp.reduce_inequalities(inequality, variable), variable)
    pieces = solved.args if isinstance(solved, sp.Union) else (solved,)
    if domain == sp.S.Reals:
        return solved
    return sp.Union(*(_intersect_interval(piece, domain) for piece in pieces))


def same_set(left: sp.Set, right: sp.Set) -> bool:
    """Whether two unions of intervals are equal, comparing symbolic endpoints with :func:`equal`."""
    if left == right:
        return True
    left_pieces = left.args if isinstance(left, sp.Union) else (left,)
    right_pieces = right.args if isinstance(right, sp.Union) else (right,)
    if len(left_pieces) != len(right_pieces):
        return False
    for a, b in zip(left_pieces, right_pieces, strict=True):
        if not (isinstance(a, sp.Interval) and isinstance(b, sp.Interval)):
            return False
        if (a.left_open, a.right_open) != (b.left_open, b.right_open):
            return False
        for end_a, end_b in ((a.start, b.start), (a.end, b.end)):
            if end_a != end_b and (end_a.is_infinite or end_b.is_infinite or not equal(end_a, end_b)):
                return False
    return True


def quadratic_expectation(
    expression: sp.Expr, draws: Sequence[Iterable[sp.Symbol]], moments: Mapping[frozenset, sp.Expr]
) -> sp.Expr:
    """Expectation of a polynomial of degree <= 2 in centred random variables, using independence.

    ``draws`` groups the centred variables by i.i.d. draw (e.g. ``[(a1, b1), (a2, b2)]``); variables of different
    draws are independent and every centred variable has mean 0. ``moments`` maps ``frozenset({u, v})`` (or
    ``frozenset({u})`` for ``E[u**2]``) to the second moment of two variables of the *same* draw. So
    E[u v] = moments[{u, v}] within a draw, E[u v] = E[u] E[v] = 0 across draws, E[u] = 0, and E[const] = const.
    """
    draw_of = {variable: index for index, group in enumerate(draws) for variable in group}
    variables = list(draw_of)
    polynomial = sp.Poly(sp.expand(expression), *variables)
    if polynomial.total_degree() > 2:
        raise ValueError(f"quadratic_expectation needs degree <= 2, got {polynomial.total_degree()}")
    result = sp.Integer(0)
    for exponents, coefficient in polynomial.terms():
        factors = [variable for variable, power in zip(variables, exponents, strict=True) for _ in range(power)]
        if not factors:
            result += coefficient
        elif len(factors) == 2 and draw_of[factors[0]] == draw_of[factors[1]]:
            result += coefficient * moments[frozenset(factors)]
        # one centred factor, or two from independent draws: the expectation factorises into a zero mean.
    return result
