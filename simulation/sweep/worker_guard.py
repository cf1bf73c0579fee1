"""Dask preload of the workers of a LocalCluster that a sweep starts: the worker exits when the sweep
process does (:func:`simulation.lifecycle.die_with_parent`).

The sweep passes its pid in the worker's environment (``SIMULATION_SWEEP_PARENT_PID``, set by the nanny
before the worker is created), so a sweep that dies while the worker starts is noticed too.
"""

from __future__ import annotations

import os
from typing import Any

from ..lifecycle import die_with_parent

PARENT_PID_ENV = "SIMULATION_SWEEP_PARENT_PID"


def dask_setup(worker: Any = None) -> None:
    """Called by Dask in the worker process before the worker starts."""
    text = os.environ.get(PARENT_PID_ENV, "")
    if not text.isdigit():
        return
    pid = int(text)
    # The nannies run in the sweep process, which spawns the workers. A worker started through another
    # process (multiprocessing-method: forkserver) has that process as parent: Dask's own watch of its
    # parent applies; the sweep gone already means exit now.
    if os.getppid() == pid or not _alive(pid):
        die_with_parent(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
