"""``python run.py sweep sweeps/NAME.yaml [--executor local|dask] [--scheduler ADDRESS] [--workers N]
[--resume] [--out DIR]``: run a sweep spec, save its tables, indices and figures, print the indices.

The output folder (default ``outputs/sweeps/<name>``) receives each run as it finishes; after a crash or
Ctrl-C, the same command with ``--resume`` runs only what is missing. It then holds ``runs.parquet``,
``series.parquet``, ``runs.csv``, ``indices.csv`` and ``indices_by_month.csv`` (samplers sobol, morris,
lhs) and ``plots/``.

Exit codes: 0 done (failed runs are listed); 2 a bad spec, option or output folder; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ScenarioError

if TYPE_CHECKING:
    from .api import SweepResult

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run.py sweep",
        description="Run a parameter sweep (grid, Latin hypercube, Sobol' or Morris) of a scenario and its "
        "sensitivity analysis; every run is saved as it finishes.",
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec (see sweeps/)")
    p.add_argument("--executor", choices=("local", "dask"), default="local", help="default: local processes")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler of a running cluster, e.g. tcp://host:8786 (implies --executor dask)",
    )
    p.add_argument("--workers", type=_positive_int, metavar="N", help="worker processes (default: all cores)")
    p.add_argument("--resume", action="store_true", help="finish the sweep left in the output folder")
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

        result = run_sweep(
            spec,
            file=args.spec,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            out=out,
            resume=args.resume,
        )
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
    report(result, plots=not args.no_plots)
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
        by_month = []
        for metric in result.series_metrics:
            try:
                by_month.append(result.indices_by_tick(metric).assign(outcome=metric))
            except ScenarioError:
                continue
        if by_month:
            pd.concat(by_month, ignore_index=True).to_csv(path / "indices_by_month.csv", index=False)
    if plots:
        written = result.plot(path / "plots")
        print(f"{len(written)} figures in {path / 'plots'}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value
