"""Worker processes that die with their parent.

A worker of ``run.py`` or of a sweep must not outlive the process that started it: after ``kill -9`` of the
parent nobody would collect its results, and it would keep both cores busy. Two guards, both set up by
:func:`die_with_parent` in a worker's initializer:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker as soon as its parent exits,
  whatever the cause (SIGTERM, SIGKILL, a crash);
- everywhere, a daemon thread that polls the parent's pid once a second and exits the worker when the
  parent is gone (the worker is re-parented), which also covers grandchildren such as Dask's workers.

Nothing here imports Mesa or numpy.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
POLL_SECONDS = 1.0


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(parent_pid: int, poll_seconds: float = POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once ``parent_pid`` is no longer its
    parent, i.e. the parent died and the process was re-parented."""

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent_pid:
                os._exit(1)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this (worker) process exit when its parent does. Call it first thing in a worker.

    ``parent_pid``: the pid the worker was started by (default: the current parent). Passing the pid the
    parent recorded before starting the worker closes the race where the parent dies before this runs."""
    expected = os.getppid() if parent_pid is None else int(parent_pid)
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != expected:  # the parent died before the guard was in place
        os._exit(1)
    watch_parent(expected)
