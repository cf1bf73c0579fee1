"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Both pools are driven the same way, through the ``concurrent.futures`` interface: a bounded window of
runs in flight (so memory stays flat however many runs there are), each result handed to ``on_output`` as
it finishes. Local workers are forked like the runner's (``START_METHOD``, ``_init_worker``: one BLAS
thread, Ctrl-C left to the parent). A Dask LocalCluster is started with the fix for the nanny's malloc setting (the
nanny's default environment sets ``MALLOC_TRIM_THRESHOLD_``, which makes numpy-heavy tasks ~1.7x slower)
and without the workers' statistical profiler; a cluster started elsewhere without them gets a warning.

Workers die with the sweep: a local worker's initializer (the runner's ``_init_worker``) and a
LocalCluster worker's preload (:mod:`simulation.sweep.worker_guard`) call
:func:`simulation.lifecycle.die_with_parent` with the pid of the sweep process, recorded before they
start, so a sweep killed (SIGTERM, SIGKILL, a crash) leaves no worker behind busy with runs nobody will
collect.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from multiprocessing import get_context
from typing import Any, Literal

from ..experiments.runner import START_METHOD, _init_worker
from .spec import SweepError
from .task import RunOutput, RunTask, base_row, execute
from .worker_guard import PARENT_PID_ENV

ExecutorKind = Literal["local", "dask"]
WORKER_ENV = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
# The nanny's environment before it spawns a worker. Dask merges a configured mapping into its default one,
# which sets MALLOC_TRIM_THRESHOLD_: only a null value removes a default key (distributed.nanny drops
# None values), so it is given as None: right both when this mapping replaces the default (dask.config.set,
# as below) and when a config file is merged into it (docs/sweeps.md).
PRE_SPAWN_ENVIRON: dict[str, int | None] = {"MALLOC_TRIM_THRESHOLD_": None, **WORKER_ENV}
# What the nanny writes into this process's environment before spawning (and leaves there): restored after.
NANNY_ENV_KEYS = (*PRE_SPAWN_ENVIRON, "PYTHONHASHSEED")
WORKER_PRELOAD = "simulation.sweep.worker_guard"  # its dask_setup reads PARENT_PID_ENV
# Dask's statistical profiler samples the running task every 10 ms; on a busy 2-core machine this made
# model runs ~1.7x slower in wall time (the task thread waits for the GIL), so workers we start go without.
# Its housekeeping timers (event-loop watchdog every 20 ms, memory monitor every 100 ms, system monitor every
# 500 ms) cost an idle 2-worker LocalCluster 15% of a core (measured: parent 8.1%, each worker 3.3%); at these
# intervals, 2.5%. Runs take seconds, so nothing needs watching more often.
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
IN_FLIGHT_PER_WORKER = 4  # tasks queued per parallel slot, so no worker waits for the next
# Runs per Dask task: each task costs the scheduler and the worker a few ms of bookkeeping and a copy of the
# base scenario; a few runs per task share both. Each run is still stored as its task finishes.
RUNS_PER_TASK = {"local": 1, "dask": 4}


def check_executor(executor: str, workers: int | None, scheduler: str | None) -> None:
    """Raise SweepError for an unknown executor, a bad worker count, or a scheduler without Dask."""
    if executor not in ("local", "dask"):
        raise SweepError(None, "executor", f"unknown executor {executor!r}; expected 'local' or 'dask'")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise SweepError(None, "workers", f"expected a whole number of at least 1, got {workers!r}")
    if scheduler and executor != "dask":
        raise SweepError(None, "scheduler", "a scheduler address needs executor 'dask'")


@contextlib.contextmanager
def open_executor(
    kind: ExecutorKind, workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Executor | None, int]]:
    """(executor, parallel slots); executor None means run in this process (local with one worker)."""
    if kind == "dask":
        with _dask_executor(workers, scheduler) as opened:
            yield opened
        return
    n = workers or os.cpu_count() or 1
    if n == 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            yield None, 1
        return
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=get_context(START_METHOD),
        initializer=_init_worker,  # dies with this process (simulation.lifecycle), one BLAS thread
        initargs=(os.getpid(),),  # the parent's pid, recorded before any worker starts
    )
    try:
        yield pool, n
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def dask_settings() -> dict[str, Any]:
    """The Dask configuration of the LocalCluster a sweep starts (``dask.config.set`` keys)."""
    return {"distributed.nanny.pre-spawn-environ": dict(PRE_SPAWN_ENVIRON), **WORKER_CONFIG}


@contextlib.contextmanager
def local_cluster(workers: int | None = None) -> Iterator[str]:
    """Start a Dask LocalCluster of ``workers`` single-thread worker processes (default: one a core) with
    the settings above, workers that exit when this process does, and yield its scheduler address;
    stopped on exit."""
    import dask
    from distributed import LocalCluster

    saved = {key: os.environ.get(key) for key in NANNY_ENV_KEYS}
    with contextlib.ExitStack() as stack:
        for key, value in saved.items():
            stack.callback(_restore_env, key, value)
        stack.enter_context(dask.config.set(dask_settings()))
        cluster = stack.enter_context(
            LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                preload=[WORKER_PRELOAD],
                env={PARENT_PID_ENV: str(os.getpid())},  # the nannies run in this process
            )
        )
        yield cluster.scheduler_address


@contextlib.contextmanager
def _dask_executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, int]]:
    from distributed import Client

    with contextlib.ExitStack() as stack:
        address = scheduler or stack.enter_context(local_cluster(workers))
        client = stack.enter_context(Client(address))
        client.run(_one_blas_thread)
        _warn_slow_workers(client)
        slots = sum(client.nthreads().values()) or 1
        yield client.get_executor(pure=False), slots


def _worker_settings() -> tuple[str | None, bool]:
    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), bool(
        dask.config.get("distributed.worker.profile.enabled")
    )


def _warn_slow_workers(client: Any) -> None:
    """Warn when workers run with settings that slow model runs (a cluster started without the fixes)."""
    settings = client.run(_worker_settings).values()
    problems = []
    if any(malloc is not None for malloc, _ in settings):
        problems.append(
            "MALLOC_TRIM_THRESHOLD_ is set (set distributed.nanny.pre-spawn-environ to "
            f"{PRE_SPAWN_ENVIRON}, None meaning null)"
        )
    if any(profile for _, profile in settings):
        problems.append("the statistical profiler is on (set distributed.worker.profile.enabled to false)")
    if problems:
        warnings.warn(
            "Dask workers run slower than they could: " + "; ".join(problems) + ", in the dask config of the "
            "cluster (see simulation/sweep/executors.py)",
            RuntimeWarning,
            stacklevel=4,
        )


def _restore_env(key: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def _one_blas_thread() -> None:
    """Run on every Dask worker, also on clusters this sweep did not start."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run_all(
    tasks: Iterable[RunTask],
    executor: Executor | None,
    slots: int,
    on_output: Callable[[RunOutput], None],
    runs_per_task: int = 1,
) -> None:
    """Execute every task, ``runs_per_task`` runs to a submitted task; ``on_output`` gets each run's result
    as its task finishes (in any order)."""
    if executor is None:
        for task in tasks:
            on_output(execute(task))
        return
    it = iter(tasks)
    pending: dict[Future, list[RunTask]] = {}

    def fill() -> None:
        while len(pending) < slots * IN_FLIGHT_PER_WORKER and (batch := list(islice(it, runs_per_task))):
            pending[executor.submit(execute_batch, batch)] = batch

    try:
        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                for output in _results(fut, pending.pop(fut)):
                    on_output(output)
            fill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def execute_batch(tasks: list[RunTask]) -> list[RunOutput]:
    """Several runs in one task (a model error is recorded in its run's row, never raised)."""
    return [execute(task) for task in tasks]


def _results(fut: Future, tasks: list[RunTask]) -> list[RunOutput]:
    """The task's run outputs; a failure outside the model (a worker lost on a cluster) is recorded for each
    of its runs like a model error, but a broken local pool stops the sweep (finished runs are saved;
    resume to finish)."""
    try:
        return fut.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:  # noqa: BLE001
        outputs = []
        for task in tasks:
            row = base_row(task)
            row.update(status="error", error=f"{type(exc).__name__}: {exc}")
            outputs.append(RunOutput(row, None))
        return outputs
