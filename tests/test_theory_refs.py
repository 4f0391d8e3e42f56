"""The project stands on its own: every reference into the theory document resolves, and no file names a path
outside the repository.

* ``docs/theory.md`` gives each section an anchor (``{#id}`` or ``<a id="id">``); the code, the CLI's help, the
  ledger's ``source`` fields, the proofs and the README cite it as ``docs/theory.md#id`` (further anchors of the
  same citation follow as ``#id``, as do the cells of a table whose header names ``docs/theory.md``);
* every claim of the ledger has a section whose anchor is its id;
* no tracked file names the reconstruction notes the project was built from, or a folder outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
CITE = "docs/theory.md"
TOKEN = re.compile(r"(?<![\w&/#])#([a-z][a-z0-9]*(?:[-_][a-z0-9]+)*)")
SUFFIXES = {".py", ".md", ".toml", ".v", ".sh", ".txt", ".cfg", ".yml", ".yaml", ""}


def anchors() -> list[str]:
    text = THEORY.read_text(encoding="utf-8")
    return re.findall(r"\{#([\w-]+)\}", text) + re.findall(r'<a id="([\w-]+)"', text)


def tracked_files() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        paths = [ROOT / n for n in names.splitlines()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): every file
        paths = [p for p in ROOT.rglob("*") if ".git" not in p.parts and ".venv" not in p.parts[len(ROOT.parts):]]
    return [p for p in paths if p.is_file() and p.suffix in SUFFIXES and p.stat().st_size < 2_000_000]


def citations() -> list[tuple[str, int, str]]:
    """(file, line number, anchor) for every anchor cited as docs/theory.md#..."""
    out = []
    for path in tracked_files():
        if path in (THEORY, Path(__file__).resolve()):
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(lines):
            at = line.find(CITE)
            if at < 0:
                continue
            rest = line[at + len(CITE):]  # the first anchor, then any further "#id" of the same citation
            found = TOKEN.findall(rest)
            if not rest.strip():  # a table header: its column below, to the next blank line
                for below in lines[i + 1:]:
                    if not below.strip() or below.strip() == '"""':
                        break
                    found += TOKEN.findall(below)
            out += [(str(path.relative_to(ROOT)), i + 1, a) for a in dict.fromkeys(found)]
    return out


def test_the_theory_document_has_unique_anchors():
    names = anchors()
    assert len(names) > 100
    duplicates = sorted({a for a in names if names.count(a) > 1})
    assert not duplicates, duplicates


def test_every_cited_anchor_exists():
    known = set(anchors())
    cited = citations()
    assert len(cited) > 150, "the code should cite the theory document throughout"
    missing = [c for c in cited if c[2] not in known]
    assert not missing, missing[:20]


def test_every_claim_has_a_section_and_a_source_that_resolves():
    from typicality.ledger import REGISTRY

    known = set(anchors())
    assert set(REGISTRY) <= known, sorted(set(REGISTRY) - known)
    for claim_id, entry in REGISTRY.items():
        source = entry.source
        assert source.startswith((CITE + "#", "paper")), (claim_id, source)
        for anchor in re.findall(r"^docs/theory\.md#([\w-]+)", source) + TOKEN.findall(source):
            assert anchor in known, (claim_id, anchor)


#: what no file of the project may name: the notes it was built from and folders outside the repository
OUTSIDE = ["math" + ".md", "../" + "shared", "/work/" + "shared", "seed-" + "paper", "perf-" + "anchors",
           "anchors" + ".md", "STYLE" + ".md"]


@pytest.mark.parametrize("pattern", OUTSIDE)
def test_no_file_names_a_path_outside_the_repository(pattern):
    hits = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(text.splitlines()):
            if pattern in line:
                hits.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()[:100]}")
    assert not hits, hits[:20]


def test_the_claim_map_gives_each_claim_its_ledger_verdict():
    """The theory document's closing table lists every ledger claim with the verdict the ledger expects."""
    from typicality.ledger import REGISTRY

    text = THEORY.read_text(encoding="utf-8")
    table = text[text.index("{#claim-map}"):]
    rows = dict(re.findall(r"^\| `(\w+)` \| .*? \| ([a-z-]+) \| ", table, re.M))
    assert set(rows) == set(REGISTRY)
    assert {k: v for k, v in rows.items() if REGISTRY[k].verdict != v} == {}
