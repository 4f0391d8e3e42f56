"""The command line under Ctrl-C and closed pipes (issue: no traceback, no hang): every subcommand, in a fresh
interpreter, as a shell runs it.

* A closed pipe (``typicality ... | head`` after head has exited): the read end is closed before the process starts,
  so every write fails (deterministically, not by timing); the process exits 0 and prints nothing on stderr.
* Ctrl-C (SIGINT to the process group, as a terminal sends it) in the middle of the work: exit status 130 and one
  line, no traceback (also from the worker processes of ``verify --jobs``); an interrupted toy run resumes to the
  result of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def typicality(*args: str) -> list[str]:
    return [sys.executable, "-m", "typicality", *args]


#: commands that write to standard output (help texts, tables, JSON)
WRITERS = [
    ["--help"],
    ["--version"],
    ["measures", "--help"],
    ["measures", "builtin:c1"],
    ["measures", "builtin:example1", "--json", "--dps", "30"],
    ["bounds", "builtin:c1", "--n", "100", "--eps", "0.5", "--corpora", "100"],
    ["bounds", "builtin:c1", "--n", "100", "--eps", "0.5", "--json", "--corpora", "0"],
    ["verify", "--only", "prop3"],
    ["verify", "--only", "prop3", "--json"],
    ["toy", "--corpora", "100", "--eps", "0.002", "--json"],
    ["lm", "--help"],
    ["lm", "presets"],
    ["lm", "presets", "--show", "rlhf-llama2"],
]


@pytest.mark.parametrize("args", WRITERS, ids=" ".join)
def test_a_closed_pipe_exits_quietly(args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write gets EPIPE
    try:
        proc = subprocess.run(typicality(*args), stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                              cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL)
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr[-2000:]
    progress = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("corpora [")]
    assert progress == [], proc.stderr[-2000:]


def _interrupt_when(args: list[str], ready, timeout: float = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``typicality args`` in its own process group; once ``ready()`` holds, send SIGINT to the group."""
    proc = subprocess.Popen(typicality(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=ENV, start_new_session=True, stdin=subprocess.DEVNULL)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None and not ready():
            time.sleep(0.02)
        assert proc.poll() is None, "the command finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _started(seconds: float):
    t0 = time.time()
    return lambda: time.time() - t0 > seconds


@pytest.mark.parametrize("args, after", [
    (["verify", "--jobs", "2"], 6.0),  # worker processes get the SIGINT too
    (["bounds", "builtin:c1", "--n", "200000", "--eps", "0.01", "--corpora", "10000", "--max-symbols", "1e10"], 4.0),
    (["toy", "--faithful", "--corpora", "2000"], 3.0),
], ids=["verify --jobs 2", "bounds (Monte Carlo)", "toy --faithful"])
def test_ctrl_c_is_one_line_and_status_130(args, after):
    proc = _interrupt_when(args, _started(after))
    assert proc.returncode == 130, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == "typicality: interrupted", proc.stderr[-3000:]


def test_ctrl_c_keeps_the_toy_checkpoint_and_a_rerun_resumes_it(tmp_path):
    args = ["toy", "--faithful", "--corpora", "600", "--corpus-size", "100000", "--eps", "0.002", "--json"]
    out = tmp_path / "interrupted"
    checkpoint = out / "corpora-faithful.npz"
    proc = _interrupt_when([*args, "--out", str(out)], checkpoint.exists)
    assert proc.returncode == 130, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("typicality: interrupted; finished work is kept in") and str(out) in last, last
    assert not (out / "toy-faithful.json").exists()
    import numpy as np

    with np.load(checkpoint) as saved:
        done = int(saved["done"])
    assert 0 < done < 600

    resumed = subprocess.run(typicality(*args, "--out", str(out)), capture_output=True, text=True, cwd=ROOT, env=ENV,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    whole = subprocess.run(typicality(*args), capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert whole.returncode == 0, whole.stderr[-3000:]
    a, b = json.loads(resumed.stdout), json.loads(whole.stdout)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
