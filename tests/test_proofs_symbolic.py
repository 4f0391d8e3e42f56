"""The symbolic proofs in proofs/ (one sympy module per claim of the paper) still run and still prove their claim."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
import sympy as sp

REPO_ROOT = Path(__file__).resolve().parents[1]
PROOFS_DIR = REPO_ROOT / "proofs"

try:  # installed as typicality.proofs once pyproject maps the package
    proofs = importlib.import_module("typicality.proofs")
except ImportError:
    sys.path.insert(0, str(REPO_ROOT))
    proofs = importlib.import_module("proofs")

common = importlib.import_module(f"{proofs.__name__}._common")
CLAIM_FILES = sorted(path for path in PROOFS_DIR.glob("*.py") if not path.name.startswith("_"))


@pytest.mark.parametrize("claim_id", sorted(proofs.ALL))
def test_every_step_of_the_proof_is_established(claim_id):
    steps = proofs.run(claim_id)
    assert steps, f"{claim_id}: check() returned no steps"
    assert all(isinstance(step, common.Step) for step in steps)
    failed = [step.description for step in steps if not step.ok]
    assert not failed, f"{claim_id}: steps not established: {failed}"


@pytest.mark.parametrize("claim_id", sorted(proofs.ALL))
def test_claim_id_matches_its_key_and_file(claim_id):
    module = proofs.ALL[claim_id]
    assert claim_id == module.CLAIM
    assert module.__name__.rsplit(".", 1)[-1] == claim_id
    # every derivation says which statement of the paper it checks (its section, equation or proposition number)
    cites = re.search(r"Paper|§|\b(Eq|Prop|Cor|Def|Thm|App)\.|Algorithm|Lemma|Theorem|Example|math\.md",
                      module.__doc__ or "")
    assert cites, f"{claim_id}: the docstring must cite the paper's numbering"


def test_every_claim_file_is_registered():
    assert {path.stem for path in CLAIM_FILES} == set(proofs.ALL)


def test_run_rejects_an_unknown_claim():
    with pytest.raises(KeyError, match="unknown claim_id"):
        proofs.run("no_such_claim")


HARD_CODED_OK = re.compile(r"Step\((?:[^()]|\([^()]*\))*?,\s*(?:ok\s*=\s*)?(?:True|False|1|0)\s*,?\s*\)", re.DOTALL)


def _constant_ok_arguments(tree: ast.AST) -> list[int]:
    """Line numbers of Step(...) calls whose ok argument is a literal (or a bare bool(literal))."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Step"):
            continue
        ok = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "ok"), None)
        if ok is None:
            continue
        if isinstance(ok, ast.Constant) or (
            isinstance(ok, ast.Call) and getattr(ok.func, "id", None) == "bool" and ok.args
            and isinstance(ok.args[0], ast.Constant)
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", CLAIM_FILES, ids=lambda path: path.stem)
def test_no_step_is_hard_coded(path):
    source = path.read_text(encoding="utf-8")
    assert not HARD_CODED_OK.search(source), f"{path.name}: a Step with a literal ok value"
    assert not _constant_ok_arguments(ast.parse(source)), f"{path.name}: Step(..., <constant>) at lines " \
        f"{_constant_ok_arguments(ast.parse(source))}"


def test_the_deciders_can_fail():
    """A step can only pass if sympy establishes it: the deciders answer False on false or undecided facts."""
    x = sp.Symbol("x", positive=True)
    y = sp.Symbol("y", real=True)
    assert common.equal(sp.log(x**2), 2 * sp.log(x))
    assert not common.equal(x, x + 1)
    assert not common.equal(sp.log(x + 1), sp.log(x) + 1)
    assert common.positive(x + 1) and not common.positive(x - 1) and not common.positive(y)
    assert common.negative(-x) and not common.negative(y)
    assert common.nonnegative(y**2) and not common.nonnegative(y)
    assert common.holds(sp.log(3) > 1) and not common.holds(sp.log(2) > 1) and not common.holds(y > 0)
    assert common.solution_set(y**2 < 1, y) == sp.Interval.open(-1, 1)
    assert common.same_set(sp.Interval(x / (x + 1), sp.oo), sp.Interval(1 / (1 + 1 / x), sp.oo))
    assert not common.same_set(sp.Interval(x, sp.oo), sp.Interval.open(x, sp.oo))


def test_the_hard_coded_step_detector_catches_literals():
    for source in ('Step("d", True)', 'Step("d", ok=True)', 'Step(\n    "d",\n    True,\n)', 'Step("a (b)", False)'):
        assert HARD_CODED_OK.search(source), source
        assert _constant_ok_arguments(ast.parse(source)), source
    for source in ('Step("d", equal(a, b))', 'Step("d, True", holds(x > 0))'):
        assert not _constant_ok_arguments(ast.parse(source)), source


def test_quadratic_expectation_uses_independence():
    a1, a2, b1 = sp.symbols("a1 a2 b1", real=True)
    s, c = sp.symbols("s c", positive=True)
    moments = {frozenset({a1}): s, frozenset({a2}): s, frozenset({b1}): s, frozenset({a1, b1}): c}
    draws = [(a1, b1), (a2,)]
    assert common.quadratic_expectation(a1 * b1 + a1 * a2 + 3 + a2, draws, moments) == c + 3
    with pytest.raises(ValueError, match="degree"):
        common.quadratic_expectation(a1**3, draws, moments)
