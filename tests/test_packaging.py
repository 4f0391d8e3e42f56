"""The explicit package list in pyproject.toml covers every subpackage (a wheel would silently lack a missing one)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "typicality").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
    assert config["package-dir"]["typicality.proofs"] == "proofs" and "typicality.proofs" in listed
