"""The Coq proofs: no admitted proof and no new axiom, the build succeeds, and every main theorem depends only on
the standard library's axioms of the classical reals (printed with Print Assumptions)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

COQ = Path(__file__).resolve().parents[1] / "proofs" / "coq"
#: what Coq's standard Reals rest on (Print Assumptions shows these for any real-number theorem)
STANDARD_AXIOMS = {
    "ClassicalDedekindReals.sig_forall_dec",
    "ClassicalDedekindReals.sig_not_dec",
    "FunctionalExtensionality.functional_extensionality_dep",
}


def sources() -> list[Path]:
    return sorted(COQ.glob("*.v"))


def strip_comments(text: str) -> str:
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith("(*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*)", i) and depth:
            depth, i = depth - 1, i + 2
        else:
            if depth == 0:
                out.append(text[i])
            i += 1
    return "".join(out)


def test_no_admitted_proof_and_no_axiom():
    assert sources(), "no Coq sources"
    for path in sources():
        code = strip_comments(path.read_text())
        for word in ("Admitted", "admit", "Axiom", "Axioms", "Parameter", "Conjecture"):
            assert not re.search(rf"\b{word}\b", code), f"{path.name}: {word}"


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
    axioms = set(re.findall(r"^([A-Za-z_][\w.]*)\s*$", text, flags=re.M))
    print("\nAxioms used by the main theorems:", ", ".join(sorted(axioms)))
    print(text)
    assert axioms <= STANDARD_AXIOMS, axioms - STANDARD_AXIOMS

    from typicality.ledger import run_ledger

    entries = {e.id: e for e in run_ledger(["prop2", "prop4", "eq11"])}
    for entry in entries.values():
        assert "proved" in entry.levels and entry.ok


def test_ledger_says_not_built_instead_of_failing(tmp_path, monkeypatch):
    from typicality.ledger import core

    for path in sources():
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(core, "coq_dir", lambda: tmp_path)
    built, reason = core.coq_build_status()
    assert not built and reason.startswith("not built")
    evidence = core.proved("prop2")
    assert evidence.skipped and not evidence.passed
    (tmp_path / "BUILT").write_text("0" * 64 + "  Baer.v\n")
    built, reason = core.coq_build_status()
    assert not built and "changed since the last build" in reason
