"""MkDocs hook: the claim ledger page, generated at build time from ``typicality verify --json``.

The page is never written by hand, so it cannot drift from what the ledger checks: each build runs the ledger
(about 20 s with two processes) and renders its JSON. ``TYPICALITY_LEDGER_JSON=FILE`` renders a saved output of
``typicality verify --json`` instead (for a quick local preview).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from mkdocs.structure.files import File

LEVELS = {"symbolic": "sympy derivation", "certified": "ball arithmetic", "property": "Hypothesis property",
          "empirical": "Monte Carlo", "counterexample": "counterexample", "proved": "Coq proof"}


def _ledger() -> list[dict]:
    saved = os.environ.get("TYPICALITY_LEDGER_JSON")
    if saved:
        with open(saved, encoding="utf-8") as f:
            return json.load(f)
    proc = subprocess.run([sys.executable, "-m", "typicality", "verify", "--json", "--jobs", "2"],
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):  # 1: a verdict differs; the page shows it
        raise RuntimeError(f"typicality verify failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _links(source: str) -> str:
    """'docs/theory.md#b8 Prop. 3, #c1' as Markdown links into the theory page."""
    text = source.replace("docs/theory.md#", "#")
    return re.sub(r"(?<![\w&/])#([a-z][\w-]*)", r"[\1](theory.md#\1)", text)


def _cell(text: str) -> str:
    """Text for a table cell or a list item: no table separators, no line breaks, no bracket read as a link."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("[", "\\[").replace("]", "\\]")


def render(entries: list[dict]) -> str:
    lines = ["# The claim ledger", "",
             "Every claim of the paper with its verdict and the evidence that was run, as `typicality verify --json` "
             "reported it when this site was built (the page is generated, never edited by hand). Each id links to "
             "its section of the [theory](theory.md).", "",
             "| claim | verdict | evidence | as expected | title |", "|---|---|---|---|---|"]
    for e in entries:
        d = e["details"]
        ok = "yes" if d["ok"] else f"**no** (expected {d['expected_verdict']})"
        lines.append(f"| [{e['id']}](theory.md#{e['id']}) | `{e['verdict']}` | {', '.join(e['evidence']) or '-'} | "
                     f"{ok} | {_cell(d['title'])} |")
    for e in entries:
        d = e["details"]
        lines += ["", f"## {e['id']}: {_cell(d['title'])}", "",
                  f"**Verdict:** `{e['verdict']}` · **source:** {_links(d['source'])}", "",
                  f"**Statement checked:** {_cell(d['statement'])}", ""]
        if d.get("note"):
            lines += [f"*{d['note']}*", ""]
        for c in d["checks"]:
            mark = "skipped" if c["skipped"] else ("passed" if c["passed"] else "**FAILED**")
            scope = f" ({c['scope']})" if c.get("scope") else ""
            lines.append(f"- {LEVELS.get(c['level'], c['level'])}{scope}, {mark}: {_cell(c['description'])}")
    return "\n".join(lines) + "\n"


def on_files(files, config):
    files.append(File.generated(config, "ledger.md", content=render(_ledger())))
    return files
