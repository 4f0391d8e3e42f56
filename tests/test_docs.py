"""The documentation runs: every docstring example of the library, every example of the documentation pages, and
the documentation site itself (``mkdocs build --strict``, which fails on any broken link or reference)."""

import doctest
import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import typicality

ROOT = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: modules that need an optional engine (vLLM runs in its own environment, tests/test_vllm_environment.py)
NEEDS = {"typicality.lm.vllm_processor": "vllm", "typicality.lm.vllm_backend": "vllm"}
MODULES = sorted(m.name for m in pkgutil.walk_packages(typicality.__path__, "typicality.")
                 if not m.name.endswith("__main__"))
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None:
        pytest.skip(f"{name} needs {NEEDS[name]}")
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS, report=True)
    assert result.failed == 0


def test_the_documented_modules_have_examples():
    """The entry points users read first carry runnable examples."""
    for name in ("typicality.measures", "typicality.bounds.aep", "typicality.adaptors", "typicality.adaptors.custom",
                 "typicality.testing.strategies", "typicality.testing.adaptors", "typicality.ledger",
                 "typicality.induced"):
        assert doctest.DocTestFinder().find(importlib.import_module(name))[0].examples, name


@pytest.mark.parametrize("page", PAGES)
def test_documentation_page_examples(page):
    """The ``>>>`` examples of each page (code fences are dropped, so a fence never reads as expected output)."""
    text = "\n".join("" if line.startswith("```") else line
                     for line in (ROOT / page).read_text(encoding="utf-8").splitlines())
    test = doctest.DocTestParser().get_doctest(text, {}, page, page, 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    assert runner.failures == 0, page


def test_the_documentation_site_builds_strictly(tmp_path):
    """``mkdocs build --strict``: every page, the API reference from the docstrings, the theory document, and the
    ledger page generated from ``typicality verify --json`` (about a minute)."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs and mkdocstrings are missing: pip install -e '.[docs]'")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    site = tmp_path / "site"
    ledger = (site / "ledger" / "index.html").read_text(encoding="utf-8")
    from typicality.ledger import REGISTRY

    for claim in REGISTRY:  # every claim, as the ledger ran it
        assert f'href="../theory/#{claim}"' in ledger, claim
    assert (site / "theory" / "index.html").exists() and (site / "reference" / "testing" / "index.html").exists()
