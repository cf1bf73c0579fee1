"""Calibration speed and size (printed, not a timed test).

    python benchmarks/bench_calibrate.py [--spec calibration/baseline.yaml] [--replicates 20] [--no-calibration]

1. Agreement of sizes: every target's statistic at the spec's adopter count against 10,000 adopters, over
   ``--replicates`` seeds at the centre of the priors (common seeds); the difference of the means must be within
   its noise (|difference| < 2 standard errors), and is shown against the observation's sd (the scale the
   distance uses).
2. One calibration at the shipped size, on all cores, into a temporary folder: wall time, runs, runs a second,
   CPU seconds per run (target: under 20 minutes on a 2-core machine).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.calibrate import calibrate, load_spec  # noqa: E402
from simulation.calibrate.outputs import inside_summary  # noqa: E402
from simulation.calibrate.spec import Calibration, _centre  # noqa: E402
from simulation.calibrate.statistics import run_statistics  # noqa: E402

REFERENCE_ADOPTERS = 10_000


@functools.lru_cache(maxsize=4)
def _calibration(spec: str, adopters: int | None) -> Calibration:
    cal = load_spec(spec, test_run=False)
    if adopters is None:
        return cal
    return load_spec(cal.spec.model_copy(update={"adopters": adopters}), test_run=False)


def _stats(args: tuple[str, int | None, int]) -> dict[str, float]:
    spec, adopters, seed = args
    cal = _calibration(spec, adopters)
    return run_statistics(cal, _centre(cal), seed)


def agreement(spec: str, replicates: int, jobs: int) -> bool:
    cal = load_spec(spec, test_run=False)
    n = cal.scenario.adopters.n
    seeds = list(range(1, replicates + 1))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        small = pd.DataFrame(pool.map(_stats, [(spec, None, s) for s in seeds]))
        large = pd.DataFrame(pool.map(_stats, [(spec, REFERENCE_ADOPTERS, s) for s in seeds]))
    print(
        f"statistics at {n:,} vs {REFERENCE_ADOPTERS:,} adopters, {replicates} seeds each at the centre of "
        f"the priors ({time.perf_counter() - t0:.0f} s)"
    )
    print(
        f"  {'target':<28} {'mean ' + str(n):>12} {'mean 10000':>12} {'diff':>9} {'2 SE':>8} {'diff/obs sd':>11}"
    )
    ok = True
    for name, target in cal.spec.targets.items():
        a = np.array([target.transform(v) for v in small[name]])
        b = np.array([target.transform(v) for v in large[name]])
        diff = a.mean() - b.mean()
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        within = abs(diff) <= 2 * se
        ok &= bool(within)
        unit = " (log10)" if target.scale == "log" else ""
        print(
            f"  {name:<28} {a.mean():>12.4g} {b.mean():>12.4g} {diff:>+9.3g} {2 * se:>8.3g} "
            f"{diff / target.sd:>+11.2f}  {'within noise' if within else 'OUTSIDE noise'}{unit}"
        )
    print(f"  => {'all' if ok else 'NOT all'} statistics agree within their noise (|diff| <= 2 SE)")
    return ok


def time_calibration(spec: str, jobs: int) -> None:
    cal = load_spec(spec, test_run=False)
    with tempfile.TemporaryDirectory() as tmp:
        t0, cpu0 = time.perf_counter(), os.times()
        result = calibrate(spec, out=Path(tmp) / "cal", jobs=jobs, verbose=False)
        wall, cpu1 = time.perf_counter() - t0, os.times()
    cpu = (cpu1.user + cpu1.children_user + cpu1.system + cpu1.children_system) - (
        cpu0.user + cpu0.children_user + cpu0.system + cpu0.children_system
    )
    m = result.manifest
    runs = m["simulations"] + m["predictive_draws"]
    print(
        f"calibration {cal.spec.name}: {cal.scenario.adopters.n:,} adopters, {cal.scenario.months} months, "
        f"{m['population_size']} particles x {m['generations']} generations, {m['simulations']:,} runs + "
        f"{m['predictive_draws']} predictive; {jobs} workers"
    )
    print(
        f"  wall {wall / 60:.1f} min (sampling {m['sampling_wall_time_s'] / 60:.1f} min), {runs / wall:.1f} runs/s, "
        f"{cpu / runs:.3f} CPU s per run; target under 20 min on 2 cores; load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"  final tolerance {m['final_epsilon']:.3g}, effective sample size {m['final_ess']:.0f}")
    print(
        f"  {m['targets_inside']}/{m['targets']} observations inside the posterior predictive 90% interval:"
    )
    print("\n".join(inside_summary(result.fit)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", default=str(ROOT / "calibration" / "baseline.yaml"))
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-calibration", action="store_true", help="only the agreement of sizes")
    args = parser.parse_args()
    agreement(args.spec, args.replicates, args.jobs)
    if not args.no_calibration:
        time_calibration(args.spec, args.jobs)


if __name__ == "__main__":
    main()
