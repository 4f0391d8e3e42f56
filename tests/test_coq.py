"""The Coq proofs: no admitted proof and no new axiom, the build succeeds, and every main theorem depends only on
the standard library's axioms of the classical reals (printed with Print Assumptions)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from typicality.ledger import coq

COQ = Path(__file__).resolve().parents[1] / "proofs" / "coq"
def sources() -> list[Path]:
    return sorted(COQ.glob("*.v"))


def test_no_admitted_proof_and_no_top_level_assumption():
    assert sources(), "no Coq sources"
    for path in sources():
        assert coq.source_problems(path.read_text(), path.name) == []


def test_the_source_check_catches_every_kind_of_assumption():
    text = """(* Axiom in a comment is fine *)
Section S.
  Variable x : nat.
  Hypothesis hx : x = 1.
  Context (y : nat).
End S.
Hypothesis cheat : False.
Local Axiom ax : nat.
Variables (a b : nat).
#[local] Parameter p : nat.
Conjecture c : 1 = 2.
Theorem t : 1 = 1. Proof. admit. Admitted.
"""
    found = coq.source_problems(text, "x.v")
    assert [p.split(":")[1] for p in found] == ["7", "8", "9", "10", "11", "12", "12"]
    assert all("x.v:" in p for p in found)


def test_printed_assumptions_are_parsed_whatever_their_layout():
    text = """Axioms:
ClassicalDedekindReals.sig_forall_dec
  : forall P : nat -> Prop,
    (forall n : nat, {P n} + {~ P n}) -> {n : nat | ~ P n} + {forall n : nat, P n}
cheat : False
Closed under the global context
Axioms:
Classical_Prop.classic : forall P : Prop, P \\/ ~ P
"""
    assert coq.parse_assumptions(text) == [{"ClassicalDedekindReals.sig_forall_dec", "cheat"}, set(),
                                           {"Classical_Prop.classic"}]


def test_every_source_is_built_in_order():
    listed = [line for line in (COQ / "_CoqProject").read_text().splitlines() if line and not line.startswith("-")]
    assert sorted(listed) == sorted(p.name for p in sources())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (CI installs it from Debian)")
def test_build_and_print_assumptions():
    result = subprocess.run(["bash", str(COQ / "build.sh")], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (COQ / "assumptions.txt").read_text()
    blocks = text.count("Axioms:") + text.count("Closed under the global context")
    theorems = len(re.findall(r"^Print Assumptions", (COQ / "Assumptions.v").read_text(), flags=re.M))
    assert blocks == theorems
    printed = coq.assumptions_by_theorem(COQ)
    axioms = set().union(*printed.values())
    print("\nAxioms used by the main theorems:", ", ".join(sorted(axioms)))
    assert axioms <= coq.ALLOWED_AXIOMS, axioms - coq.ALLOWED_AXIOMS
    cited = {t for _, names in coq.COQ_THEOREMS.values() for t in names}
    assert cited <= set(printed), cited - set(printed)

    from typicality.ledger import run_ledger

    entries = {e.id: e for e in run_ledger(["prop2", "prop4", "eq11"])}
    for entry in entries.values():
        assert any(level.startswith("proved") for level in entry.levels) and entry.ok
    assert "proved (finite support)" in entries["eq11"].levels
    assert "proved (finite support, non-strict)" in entries["prop4"].levels


def test_ledger_says_not_built_instead_of_failing(tmp_path, monkeypatch):
    from typicality.ledger import core

    for path in sources():
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(coq, "coq_dir", lambda: tmp_path)
    built, reason = coq.coq_build_status()
    assert not built and reason.startswith("not built")
    evidence = core.proved("prop2")
    assert evidence.skipped and not evidence.passed
    (tmp_path / "BUILT").write_text("0" * 64 + "  Baer.v\n")
    built, reason = coq.coq_build_status()
    assert not built and "changed since the last build" in reason


def _build_by_hand(d: Path, theorems: list[str]) -> None:
    """Compile Common.v and Finite.v of ``d`` with coqc directly (not through build.sh, whose source check would
    refuse a cheat), print the assumptions of ``theorems``, and stamp the build as build.sh would."""
    import hashlib

    (d / "Assumptions.v").write_text("From Typicality Require Import Common Finite.\n"
                                     + "".join(f"Print Assumptions {t}.\n" for t in theorems))
    for name in ("Common.v", "Finite.v"):
        done = subprocess.run(["coqc", "-R", ".", "Typicality", name], cwd=d, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    out = subprocess.run(["coqc", "-R", ".", "Typicality", "Assumptions.v"], cwd=d, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (d / "assumptions.txt").write_text(out.stdout)
    (d / "BUILT").write_text("".join(f"{hashlib.sha256((d / n).read_bytes()).hexdigest()}  {n}\n"
                                     for n in ("Common.v", "Finite.v", "Assumptions.v")))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (CI installs it from Debian)")
@pytest.mark.parametrize("cheat, caught_by_source", [
    ("Hypothesis cheat : False.\nTheorem markov_cheat : 1 = 2.\nProof. destruct cheat. Qed.\n", True),
    # no keyword in the source: only Coq's printed assumptions show the extra axiom
    ("From Coq Require Import ProofIrrelevance.\nTheorem markov_cheat (P : Prop) (p q : P) : p = q.\n"
     "Proof. apply proof_irrelevance. Qed.\n", False),
])
def test_a_cheating_proof_is_refused_by_the_build_the_tests_and_the_ledger(tmp_path, monkeypatch, cheat,
                                                                           caught_by_source):
    from typicality.ledger import core

    for name in ("Common.v", "Finite.v", "build.sh", "_CoqProject"):
        shutil.copy(COQ / name, tmp_path / name)
    (tmp_path / "_CoqProject").write_text("-R . Typicality\nCommon.v\nFinite.v\nAssumptions.v\n")
    (tmp_path / "Finite.v").write_text((COQ / "Finite.v").read_text() + "\n" + cheat)
    (tmp_path / "Assumptions.v").write_text("From Typicality Require Import Common Finite.\nPrint Assumptions markov.\n"
                                            "Print Assumptions markov_cheat.\n")
    # the build refuses it (source check) or builds it (the source looks clean) ...
    built = subprocess.run(["bash", str(tmp_path / "build.sh")], capture_output=True, text=True, timeout=600)
    assert (built.returncode != 0) == caught_by_source, built.stderr
    # ... the tests' source check agrees ...
    assert bool(coq.source_problems((tmp_path / "Finite.v").read_text(), "Finite.v")) == caught_by_source
    # ... and, built by hand and cited by a claim, the ledger refuses to call it proved
    _build_by_hand(tmp_path, ["markov", "markov_cheat"])
    monkeypatch.setattr(coq, "coq_dir", lambda: tmp_path)
    monkeypatch.setitem(coq.COQ_THEOREMS, "eq11", ("Finite.v", ("markov", "markov_cheat")))
    evidence = core.proved("eq11")
    assert not evidence.passed and not evidence.skipped
    extra = evidence.details["assumptions_beyond_allowed"]
    assert list(extra) == ["markov_cheat"] and extra["markov_cheat"]
    # the honest theorem alone, in the same build, is proved
    monkeypatch.setitem(coq.COQ_THEOREMS, "eq11", ("Finite.v", ("markov",)))
    assert core.proved("eq11").passed == (not caught_by_source)  # a top-level Hypothesis taints the whole file
