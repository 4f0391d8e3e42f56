"""The Coq side of the ledger: which theorems back each ``proved``, and whether they really are proved.

``proved`` evidence passes only when all of these hold:

1. ``proofs/coq/build.sh`` built the current sources (its ``BUILT`` stamp holds every source's SHA-256, and each
   ``.vo`` exists);
2. no source states an assumption at top level: ``Hypothesis``, ``Variable(s)``, ``Context``, ``Parameter(s)``,
   ``Axiom(s)``, ``Conjecture`` outside a ``Section`` (inside one, closed by ``End``, they become premises of the
   theorems), nor ``Admitted``/``admit`` anywhere (:func:`source_problems`; the build runs the same check);
3. ``Print Assumptions`` of every theorem the claim cites (``assumptions.txt``, written by the build from
   ``Assumptions.v``) lists nothing outside :data:`ALLOWED_AXIOMS`, the standard library's axioms of the classical
   reals that the build really uses (:func:`parse_assumptions`).

The second check reads the source, the third what Coq itself reports, so a cheat that slips past one (a
``Hypothesis`` spelled in a way the source check misses, an axiom imported from elsewhere) is caught by the other.

Each claim's evidence carries its *scope*: what the theorems prove of the claim (:data:`SCOPES`), shown next to
``proved`` in the ledger, e.g. ``proved (finite support)``.

``python -m typicality.ledger.coq check-sources DIR`` runs check 2 on the ``.v`` files of DIR (the build calls it).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from pathlib import Path

#: the axioms a ``proved`` theorem may rest on: Coq's classical reals (ClassicalDedekindReals), functional
#: extensionality (used through the reals' library) and excluded middle
ALLOWED_AXIOMS = frozenset({
    "ClassicalDedekindReals.sig_forall_dec",
    "ClassicalDedekindReals.sig_not_dec",
    "FunctionalExtensionality.functional_extensionality_dep",
    "Classical_Prop.classic",
})

#: the Coq theorems (file, names) behind each claim's `proved` evidence (proofs/coq/)
COQ_THEOREMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "eq11": ("Finite.v", ("markov", "chebyshev", "aep_chebyshev")),
    "eq8": ("Adaptors.v", ("eq8_ratio", "eq8_order", "eq8_tight")),
    "example1": ("Adaptors.v", ("example1_reversal", "example1_kept")),
    "prop2": ("Baer.v", ("baer_positive", "baer_partial_sums", "baer_tight", "baer_entropy_diverges")),
    "prop3": ("Prop3.v", ("counterexample_tight", "prop3_counterexample", "global_temperature_diverges")),
    "prop3_corrected": ("Prop3.v", ("eos_bounded_masses", "prop3_corrected", "prop3_corrected_eos_bounded")),
    "cor1": ("Prop3.v", ("prop3_corrected_eos_bounded",)),
    "prop4": ("Renyi.v", ("renyi_monotone",)),
}

#: what the cited theorems prove of each claim (the ledger prints it next to `proved`)
SCOPES: dict[str, str] = {
    "eq11": "finite support",
    "eq8": "any countable string set",
    "example1": "the example's model",
    "prop2": "Baer's model",
    "prop3": "the counterexample model",
    "prop3_corrected": "eos-bounded models, eos-boundedness aggregated by length",
    "cor1": "through the corrected Prop. 3; Transformers' eos-boundedness taken as given",
    "prop4": "finite support, non-strict",
}

#: vernacular that adds an assumption when it is not inside a Section
_ASSUMING = ("Hypothesis", "Hypotheses", "Variable", "Variables", "Context", "Parameter", "Parameters", "Axiom",
             "Axioms", "Conjecture")
_NEVER = ("Admitted", "admit")
_SENTENCE_START = re.compile(r"(?:^|(?<=\.)\s)\s*(?:#\[[^\]]*\]\s*)?(?:Local\s+|Global\s+|Polymorphic\s+)*"
                             r"([A-Z][A-Za-z]*)\b")


def coq_dir() -> Path:
    from typicality import proofs

    return Path(proofs.__file__).resolve().parent / "coq"


def strip_comments(text: str) -> str:
    """The text without its (possibly nested) ``(* ... *)`` comments; newlines kept, so line numbers still hold."""
    out, depth, i = [], 0, 0
    while i < len(text):
        if text.startswith("(*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*)", i) and depth:
            depth, i = depth - 1, i + 2
        else:
            if depth == 0 or text[i] == "\n":
                out.append(text[i])
            i += 1
    return "".join(out)


def source_problems(text: str, name: str = "<source>") -> list[str]:
    """Every top-level assumption and every admitted proof in a Coq source, as ``name:line: message``."""
    code = strip_comments(text)
    problems = []
    depth = 0
    for lineno, line in enumerate(code.splitlines(), 1):
        for word in _NEVER:
            if re.search(rf"\b{word}\b", line):
                problems.append(f"{name}:{lineno}: {word} (an unfinished proof)")
        for match in _SENTENCE_START.finditer(line):
            word = match.group(1)
            if word == "Section":
                depth += 1
            elif word == "End" and depth:
                depth -= 1
            elif word in _ASSUMING and depth == 0:
                problems.append(f"{name}:{lineno}: {word} at top level (an assumption every later theorem may use "
                                "unstated; put it in a Section, or prove it)")
    return problems


def parse_assumptions(text: str) -> list[set[str]]:
    """The assumptions of each ``Print Assumptions`` block of Coq's output, in order.

    A block starts with ``Axioms:`` (then one assumption per line, its name at the start of the line, with or
    without ``: type`` after it, types continuing on indented lines) or is ``Closed under the global context``
    (no assumption). Section variables and other kinds Coq lists under their own headers are assumptions too."""
    blocks: list[set[str]] = []
    current: set[str] | None = None
    for line in text.splitlines():
        if line.startswith("Closed under the global context"):
            blocks.append(set())
            current = None
        elif line.rstrip() == "Axioms:":
            current = set()
            blocks.append(current)
        elif re.fullmatch(r"[A-Z][A-Za-z ]*:\s*", line):  # another kind in the same block ("Section Variables:")
            if current is None:
                current = set()
                blocks.append(current)
        elif current is not None and line and not line[0].isspace():
            name = re.match(r"^([A-Za-z_][\w.']*)", line)
            if name:
                current.add(name.group(1))
    return blocks


def printed_theorems(assumptions_v: str) -> list[str]:
    """The theorems ``Assumptions.v`` prints, in order."""
    return re.findall(r"^\s*Print\s+Assumptions\s+([\w.']+)\s*\.", strip_comments(assumptions_v), flags=re.M)


def assumptions_by_theorem(d: Path) -> dict[str, set[str]]:
    """Each printed theorem's assumptions, from the build's ``assumptions.txt``; ValueError if the two disagree."""
    names = printed_theorems((d / "Assumptions.v").read_text())
    blocks = parse_assumptions((d / "assumptions.txt").read_text())
    if len(names) != len(blocks):
        raise ValueError(f"assumptions.txt has {len(blocks)} Print Assumptions blocks for {len(names)} theorems "
                         "printed by Assumptions.v: rebuild with proofs/coq/build.sh")
    return dict(zip(names, blocks, strict=True))


def coq_build_status(d: Path | None = None) -> tuple[bool, str]:
    """(built, reason): the stamp written by proofs/coq/build.sh matches the current sources."""
    d = coq_dir() if d is None else d
    stamp = d / "BUILT"
    if not d.is_dir():
        return False, "not built: proofs/coq is not part of this installation"
    if not stamp.exists():
        has_coq = shutil.which("coqc") is not None
        return False, ("not built: run proofs/coq/build.sh" if has_coq else
                       "not built: Coq is not installed (apt-get install coq libcoq-interval libcoq-coquelicot)")
    recorded = {}
    for line in stamp.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        recorded[name.strip()] = digest
    for name, digest in recorded.items():
        source = d / name
        if not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != digest:
            return False, f"not built: {name} changed since the last build (run proofs/coq/build.sh)"
        if not source.with_suffix(".vo").exists():
            return False, f"not built: {name} has no .vo (run proofs/coq/build.sh)"
    return True, "built"


def check_proof(claim_id: str, d: Path | None = None) -> tuple[bool, dict[str, object]]:
    """Whether the claim's theorems are proved in the build at ``d``: stated, no source problem, and only allowed
    axioms in their printed assumptions. Returns (passed, details)."""
    d = coq_dir() if d is None else d
    file, theorems = COQ_THEOREMS[claim_id]
    text = (d / file).read_text()
    missing = [t for t in theorems if not re.search(rf"\b(Theorem|Lemma|Corollary)\s+{t}\b", strip_comments(text))]
    problems = [p for f in sorted(d.glob("*.v")) for p in source_problems(f.read_text(), f.name)]
    try:
        printed = assumptions_by_theorem(d)
    except (OSError, ValueError) as e:
        return False, {"missing": missing, "source_problems": problems, "assumptions": f"unreadable: {e}"}
    unprinted = [t for t in theorems if t not in printed]
    extra = {t: sorted(printed[t] - ALLOWED_AXIOMS) for t in theorems if t in printed and printed[t] - ALLOWED_AXIOMS}
    details: dict[str, object] = {"missing": missing, "source_problems": problems, "not_printed": unprinted,
                                  "assumptions_beyond_allowed": extra,
                                  "assumptions": {t: sorted(printed.get(t, ())) for t in theorems}}
    return not (missing or problems or unprinted or extra), details


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "check-sources":
        print("usage: python -m typicality.ledger.coq check-sources DIR", file=sys.stderr)
        return 2
    problems = [p for f in sorted(Path(args[1]).glob("*.v")) for p in source_problems(f.read_text(), f.name)]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
