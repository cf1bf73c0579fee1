"""``python run.py sweep sweeps/NAME.yaml [--executor local|dask] [--scheduler ADDRESS] [--workers N]
[--resume] [--out DIR]``: run a sweep spec, save its tables, indices and figures, print the indices.

The output folder (default ``outputs/sweeps/<name>``) receives each run as it finishes, and is held by
this sweep alone (a second sweep into it is refused). After a crash or Ctrl-C, the same command with
``--resume`` runs what is missing, failed or damaged. It then holds ``runs.parquet``, ``series.parquet``,
``runs.csv``, ``indices.csv``, ``indices_by_month.csv`` and ``indices_by_window.csv`` (6-month windows;
samplers sobol, morris, lhs) and ``plots/``.

Exit codes: 0 every run ok; 1 done, but some runs failed (saved with their error; ``--resume`` runs them
again); 2 a bad spec, option or output folder (also one in use by another sweep); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ScenarioError

if TYPE_CHECKING:
    from .api import SweepResult

EXIT_OK, EXIT_FAILED_RUNS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EPILOG = (
    "exit status: 0 every run ok; 1 done, but some runs failed (saved with their error; run the same "
    "command with --resume to run them again); 2 a bad spec, option or output folder (also one in use by "
    "another sweep); 130 interrupted (finished runs are saved: --resume)"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run.py sweep",
        description="Run a parameter sweep (grid, Latin hypercube, Sobol' or Morris) of a scenario and its "
        "sensitivity analysis; every run is saved as it finishes.",
        epilog=EPILOG,
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec (see sweeps/)")
    p.add_argument("--executor", choices=("local", "dask"), default="local", help="default: local processes")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler of a running cluster, e.g. tcp://host:8786 (implies --executor dask)",
    )
    p.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish the sweep saved in the output folder: run again every run that is missing, failed, or "
        "whose saved file is damaged (set aside as *.corrupt)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/sweeps/<name>)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``run.py sweep``; returns the process exit code."""
    try:
        args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    if args.scheduler and args.executor != "dask":
        args.executor = "dask"
    from .spec import load_spec

    out: Path | None = None
    try:
        spec = load_spec(args.spec)
        out = Path(args.out) if args.out else Path("outputs") / "sweeps" / spec.name
        from .api import run_sweep

        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                result = run_sweep(
                    spec,
                    file=args.spec,
                    executor=args.executor,
                    workers=args.workers,
                    scheduler=args.scheduler,
                    out=out,
                    resume=args.resume,
                    then=lambda res: report(res, plots=not args.no_plots),  # in the folder, still held
                )
        finally:  # outside the recording context: shown once, never recorded again (no endless loop)
            for w in list(caught):
                if issubclass(w.category, RuntimeWarning):
                    print(f"run.py sweep: warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except ScenarioError as err:  # SweepError too
        print(f"run.py sweep: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as err:
        print(f"run.py sweep: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            f"\nrun.py sweep: interrupted; finished runs are saved in {out}: run again with --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    failed = len(result.failures)
    if failed:
        print(
            f"run.py sweep: {failed} of {len(result.runs)} runs failed (their errors are in runs.csv); "
            f"to run them again: the same command{'' if args.resume else ' with --resume'}",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return EXIT_OK


def report(result: SweepResult, plots: bool = True) -> None:
    """Write runs.csv, the index tables and figures next to the parquet tables; print a summary."""
    import pandas as pd

    from .analysis import COLUMNS

    assert result.path is not None
    path = result.path
    result.runs.to_csv(path / "runs.csv", index=False)
    failed = result.failures
    print(f"{len(result.runs)} runs ({len(failed)} failed) saved in {path}")
    for _, row in failed.head(5).iterrows():
        print(f"  run {row['run']} (sample {row['sample']}): {row['error']}")
    if result.spec.sampler in COLUMNS:
        tables = []
        for outcome in result.scalars:
            try:
                tables.append(result.indices(outcome).assign(outcome=outcome))
            except ScenarioError as err:
                print(f"  no indices for {outcome}: {err.problem}")
        if tables:
            indices = pd.concat(tables, ignore_index=True)
            indices = indices[["outcome", *indices.columns.drop("outcome")]]
            indices.to_csv(path / "indices.csv", index=False)
            with pd.option_context("display.width", 160, "display.max_columns", 20):
                print(indices.round(3).to_string(index=False))
        by_month, by_window = [], []
        for metric in result.series_metrics:
            try:
                by_month.append(result.indices_by_tick(metric).assign(outcome=metric))
                by_window.append(result.indices_by_window(metric).assign(outcome=metric))
            except ScenarioError:
                continue
        if by_month:
            pd.concat(by_month, ignore_index=True).to_csv(path / "indices_by_month.csv", index=False)
        if by_window:
            pd.concat(by_window, ignore_index=True).to_csv(path / "indices_by_window.csv", index=False)
    elif result.spec.sampler == "grid" and result.scalars:
        table = grid_table(result)
        table.to_csv(path / "grid.csv", index=False)
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(f"mean over replicates of each grid point (also in {path / 'grid.csv'}):")
            print(table.round(4).to_string(index=False))
    if plots:
        written = result.plot(path / "plots")
        print(f"{len(written)} figures in {path / 'plots'}")


def grid_table(result: SweepResult):
    """One row per grid point: the swept values, the replicates that ran, and each scalar outcome's mean."""
    runs = result.runs[result.runs["status"] == "ok"]
    params = list(result.spec.parameters)
    table = runs.groupby("sample")[[*params, *result.scalars]].mean(numeric_only=True)
    table.insert(len(params), "replicates", runs.groupby("sample").size())
    first = runs.groupby("sample")[params].first()  # the swept values as given (text and true/false too)
    table[params] = first
    return table.reset_index(drop=True)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value
