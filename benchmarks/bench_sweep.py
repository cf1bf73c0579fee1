"""Sweep speed figures (printed, not a timed test).

    python benchmarks/bench_sweep.py [--runs 1000] [--efficiency-runs 100] [--no-dask] [--scheduler ADDRESS]\
        [--rounds 5]

Runs of the baseline (1 replicate each, 10,000 adopters, 48 months; a Latin hypercube over three funding
levers so every run differs):

1. ``--runs`` runs with the local executor on all cores (target: 1,000 runs in under 2 minutes on a
   2-core machine); the time includes planning, saving each run and reading the tables back, but not
   the first imports (a 2-run warm-up sweep comes first).
2. Dask against local processes (target: within 15%): ``--runs`` runs each, alternated in ``--rounds``
   rounds on one cluster (a LocalCluster of one single-thread worker a core, with the settings
   ``run.py sweep --executor dask`` uses; or ``--scheduler ADDRESS``), because a shared VM's speed drifts;
   the cluster's start and stop are timed apart; the tables must be identical.
3. Parallel efficiency: ``--efficiency-runs`` runs on 1 worker (in-process) and on 2 worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pandas.testing import assert_frame_equal  # noqa: E402

from simulation.sweep import SweepResult, sweep  # noqa: E402
from simulation.sweep.executors import local_cluster  # noqa: E402

PARAMETERS = {
    "blocs.china.capital_multiplier": (0.2, 2.0),
    "labs.deepseek.subsidy_usd_per_month": (1e7, 1e8),
    "world.fundraise_trigger_months": (6.0, 48.0),
}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker processes, once reaped)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_sweep(runs: int, root: Path, **kwargs: object) -> tuple[float, SweepResult]:
    """Wall time of a whole sweep (printed with the CPU time it used: on a busy machine, wall time is
    shared with other processes)."""
    out = Path(tempfile.mkdtemp(dir=root))
    c0, t0 = cpu_seconds(), time.perf_counter()
    res = sweep(
        "baseline",
        PARAMETERS,
        sampler="lhs",
        n=runs,
        outcomes=["gap_months_true_mean", "open_share_usage_end", "gap_months_true"],
        out=out / "sweep",
        progress=False,
        seed=1,
        **kwargs,  # type: ignore[arg-type]
    )
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    assert len(res.runs) == runs and not len(res.failures)
    print(
        f"   ({runs} runs, {kwargs or 'defaults'}: wall {elapsed:.1f} s, CPU of this process and its local "
        f"workers {cpu:.1f} s, {cpu / runs * 1000:.0f} ms a run; a running cluster's workers are not counted)"
    )
    return elapsed, res


def dask_against_local(runs: int, rounds: int, cores: int, scheduler: str | None, root: Path) -> None:
    """Figure 2: the same sweep on local processes and on Dask, alternated in ``rounds`` rounds of
    ``runs / rounds`` runs on one cluster, so both see the same machine (on a shared VM its speed drifts
    by 10-20% within minutes); the cluster's start and stop are timed apart."""
    per_round = max(1, runs // rounds)
    t_local = t_dask = 0.0
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        address = scheduler or stack.enter_context(local_cluster(cores))
        t_start = time.perf_counter() - t0
        for _ in range(rounds):
            t, local = timed_sweep(per_round, root, workers=cores)
            t_local += t
            t, on_dask = timed_sweep(per_round, root, executor="dask", scheduler=address)
            t_dask += t
            assert_frame_equal(on_dask.runs, local.runs)
            assert_frame_equal(on_dask.series, local.series)
        t1 = time.perf_counter()
    t_stop = time.perf_counter() - t1
    where = f"the cluster at {scheduler}" if scheduler else f"a LocalCluster of {cores} workers"
    with_start = (t_dask + t_start + t_stop) / t_local
    print(
        f"2. {rounds} x {per_round} runs alternated: local {t_local:.1f} s, Dask on {where} {t_dask:.1f} s = "
        f"{t_dask / t_local:.2f}x local (target within 1.15x); starting it {t_start:.1f} s and stopping it "
        f"{t_stop:.1f} s more: {with_start:.2f}x; identical tables"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Sweep speed figures.")
    parser.add_argument("--runs", type=int, default=1000, help="runs of the main figure (default 1000)")
    parser.add_argument(
        "--efficiency-runs", type=int, help="runs for 1 vs 2 workers (default min(runs, 100))"
    )
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask comparison")
    parser.add_argument("--scheduler", help="compare against a running Dask cluster at this address")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of local and Dask (default 5)")
    args = parser.parse_args()
    eff_runs = args.efficiency_runs or min(args.runs, 100)
    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        print("   warm-up (imports, first model build):")
        timed_sweep(2, root, workers=1)

        t_all, local = timed_sweep(args.runs, root)
        per_run = t_all / args.runs
        print(
            f"1. local, {cores} workers: {args.runs} runs in {t_all:.1f} s ({per_run * 1000:.0f} ms a run, "
            f"{args.runs / t_all:.2f} runs/s); 1,000 runs: ~{per_run * 1000 / 60:.1f} min (target < 2 min)"
        )

        if not args.no_dask:
            dask_against_local(args.runs, args.rounds, cores, args.scheduler, root)

        t1, _ = timed_sweep(eff_runs, root, workers=1)
        t2, _ = timed_sweep(eff_runs, root, workers=2)
        speedup = t1 / t2
        print(
            f"3. {eff_runs} runs: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s: speed-up {speedup:.2f}x, "
            f"parallel efficiency {speedup / 2:.0%}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":  # the Dask workers start by importing this file
    main()
