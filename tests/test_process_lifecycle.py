"""Workers of a multi-process ``run.py`` die with it: after SIGTERM or SIGKILL of the parent no process of
its tree is left (Ctrl-C is tested in test_cli.py). Deaths are awaited on the kernel's exit notifications
(pidfds), not on a clock."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_for_exit

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


def wait_for(predicate, seconds: float) -> bool:
    """Until ``predicate()`` holds (the workers appearing: no event to wait on without changing run.py)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# run.py, each replicate replaced by hours of work in C after it says it has started: a worker that is busy when
# its parent dies exits only by the guards (an idle one would also exit at the end of its task queue)
BUSY_RUN = """\
import os, sys
from pathlib import Path
from simulation.experiments import runner

def hog(spec):
    Path(sys.argv[1], f"busy-{os.getpid()}").touch()
    return sum(range(10**12))

runner.run_replicate = hog
from simulation.cli import main
sys.exit(main(["tiny", "--replicates", "4", "--jobs", "2", "--out", sys.argv[1]]))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_busy_workers_die_with_the_parent(tmp_path, sig):
    script = tmp_path / "busy_run.py"
    script.write_text(BUSY_RUN)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: list[int] = []
    try:
        busy = lambda: sorted(int(f.name.split("-")[1]) for f in tmp_path.glob("busy-*"))  # noqa: E731
        assert wait_for(lambda: len(busy()) >= 2 or proc.poll() is not None, 60), "the workers never started"
        assert proc.poll() is None, "run.py ended early"
        workers = busy()
        assert sorted(alive_children(proc.pid)) == workers
        os.kill(proc.pid, sig)
        assert wait_for_exit([proc.pid], 10) == [], "the parent did not exit"
        proc.wait()
        assert wait_for_exit(workers, 5) == [], "busy workers outlived the parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:  # by pid: after the parent's death they are no longer its children
            with contextlib.suppress(ProcessLookupError):
                os.kill(w, signal.SIGKILL)
