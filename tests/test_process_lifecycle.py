"""Workers of a multi-process ``run.py`` die with it: after SIGTERM or SIGKILL of the parent no process of
its tree is left (Ctrl-C is tested in test_cli.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def alive_children(pid: int) -> list[int]:
    """Processes (not zombies) whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, ppid = fields[0], int(fields[1])
        if ppid == pid and state != "Z":
            out.append(int(entry.name))
    return out


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_die_with_the_parent(tmp_path, sig):
    cmd = [sys.executable, "run.py", "tiny", "--replicates", "40", "--jobs", "2", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: len(alive_children(proc.pid)) >= 2, 30), "the workers never started"
        workers = alive_children(proc.pid)
        os.kill(proc.pid, sig)
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(is_alive(w) for w in workers), 5), [w for w in workers if is_alive(w)]
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in alive_children(proc.pid):
            os.kill(w, signal.SIGKILL)
