"""The vLLM back end's tests (tests/test_lm_vllm.py), run in the virtual environment that has vLLM.

vLLM's CPU build pins an older transformers than the rest of the suite wants, so it lives in an environment of its
own: ``.ci/run`` builds it and sets ``TYPICALITY_VLLM_PYTHON`` to its interpreter, and this test runs the vLLM
tests there, so that the README's one test command covers them. Without that variable the test is skipped,
except in CI, where a missing vLLM environment is a failure (the vLLM tests would otherwise silently not run).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_vllm_back_end_passes_its_tests_in_its_own_environment():
    python = os.environ.get("TYPICALITY_VLLM_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("CI is set but TYPICALITY_VLLM_PYTHON is not: .ci/run must build the vLLM environment")
        pytest.skip("no vLLM environment here (.ci/run builds one and sets TYPICALITY_VLLM_PYTHON)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_lm_vllm.py"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    summary = proc.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 10 and "skipped" not in summary, summary
