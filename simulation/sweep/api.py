"""``simulation.sweep(...)``: run a sweep to a tidy table, saving every run as it finishes.

res = simulation.sweep("baseline", {"labs.deepseek.training_efficiency": (0.5, 8.0)},
                       sampler="sobol", n=64, outcomes=["gap_months_true_mean", "gap_months_true"])
res.runs      # one row per run: run, sample, replicate, parameter values, seed, status, error, outcomes
res.series    # one row per (run, tick): run, tick, date, the monthly outcomes
res.indices("gap_months_true_mean")   # Sobol' S1/ST with confidence intervals (or Morris mu*, sigma)
"""

from __future__ import annotations

import contextlib
import importlib.util
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..config import Scenario
from .executors import RUNS_PER_TASK, ExecutorKind, check_executor, open_executor, run_all
from .plan import make_plan
from .spec import SweepError, SweepSpec, parse_spec, safe_name
from .storage import CORRUPT, MANIFEST, RUNS_FILE, SERIES_FILE, SweepStore, read_manifest, read_table

if TYPE_CHECKING:
    from .task import RunOutput


@dataclass
class SweepResult:
    """A finished sweep's tables (sorted by run), its samples and spec, and the folder it is saved in
    (None when it ran in a temporary folder)."""

    runs: pd.DataFrame
    series: pd.DataFrame
    samples: pd.DataFrame
    design: np.ndarray | None
    spec: SweepSpec
    scalars: list[str]
    series_metrics: list[str]
    path: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.parameters)

    @property
    def failures(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] != "ok"]

    def indices(self, outcome: str, **kwargs: Any) -> pd.DataFrame:
        """Sensitivity indices of a scalar outcome (see :func:`simulation.sweep.analysis.indices`)."""
        from .analysis import indices

        return indices(self, outcome, **kwargs)

    def indices_by_tick(self, metric: str, **kwargs: Any) -> pd.DataFrame:
        """Sensitivity indices of a monthly outcome at each tick."""
        from .analysis import indices_by_tick

        return indices_by_tick(self, metric, **kwargs)

    def indices_by_window(self, metric: str, **kwargs: Any) -> pd.DataFrame:
        """Sensitivity indices of a monthly outcome's mean over consecutive windows (6 months by default):
        far less noisy than month by month (see :func:`simulation.sweep.analysis.indices_by_window`)."""
        from .analysis import indices_by_window

        return indices_by_window(self, metric, **kwargs)

    def plot(self, out_dir: str | Path) -> list[Path]:
        """Every figure that applies to this sweep, saved as PNG in ``out_dir``."""
        from .plots import plot_sweep

        return plot_sweep(self, Path(out_dir))


def sweep(
    base: Scenario | str | Path = "baseline",
    parameters: Mapping[str, Any] | None = None,
    *,
    sampler: str = "sobol",
    n: int | None = None,
    replicates: int = 1,
    outcomes: Sequence[str] | None = None,
    executor: ExecutorKind = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    common_seeds: bool = False,
    months: int | None = None,
    n_adopters: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    second_order: bool = False,
    levels: int = 4,
    name: str | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Sweep ``parameters`` (dotted path -> ``(low, high)`` range or list of values) of a base scenario.

    Args:
        base: a Scenario, a YAML path or a shipped scenario's name.
        sampler: "grid" (``n`` points per range, or the values), "lhs" (``n`` samples), "sobol"
            (``n`` a power of 2: ``n*(D+2)`` samples) or "morris" (``n`` trajectories: ``n*(D+1)``).
        replicates: runs per sample; run ``i``'s seed is ``SeedSequence(seed).spawn(...)[i]``, or with
            ``common_seeds`` that of its replicate index (replicate r of every sample shares random
            numbers: for stochastic outcomes, Sobol' indices then measure the parameters, not the noise).
        outcomes: metric names for monthly series, ``metric_end``/``_mean``/``_min``/``_max`` for
            scalars (default: the gap in months and open shares).
        executor, workers, scheduler: "local" processes (default all cores; 1: this process) or "dask"
            (``scheduler`` address of a running cluster, else a LocalCluster of ``workers`` processes).
        out: folder that receives each run as it finishes (default: a temporary folder), held by this
            sweep alone while it runs (another sweep into it is refused); ``resume`` finishes the sweep
            saved there: it runs again every run not saved whole with status ok (missing, failed, or a
            damaged part file, which is set aside as ``*.corrupt``).
        months, n_adopters, overrides: fixed changes to the base, as in ``simulation.run``.

    Everything is checked before any run: a bad path, range, sampler, ``n`` or outcome raises
    :class:`SweepError`. A run that raises is recorded (``status="error"``) and the sweep goes on;
    ``resume`` runs it again."""
    data: dict[str, Any] = {
        "name": name
        if name is not None
        else safe_name(base.name if isinstance(base, Scenario) else Path(str(base)).stem),
        "base": base.name if isinstance(base, Scenario) else str(base),
        "months": months,
        "adopters": n_adopters,
        "overrides": dict(overrides or {}),
        "parameters": dict(parameters or {}),
        "sampler": sampler,
        "n": n,
        "replicates": replicates,
        "outcomes": None if outcomes is None else list(outcomes),
        "seed": seed,
        "common_seeds": common_seeds,
        "second_order": second_order,
        "levels": levels,
    }
    spec = parse_spec(data)
    return run_sweep(
        spec,
        base=base if isinstance(base, Scenario) else None,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        out=out,
        resume=resume,
        progress=progress,
    )


def run_sweep(
    spec: SweepSpec,
    *,
    base: Scenario | None = None,
    file: str | Path | None = None,
    executor: ExecutorKind = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    then: Callable[[SweepResult], None] | None = None,
) -> SweepResult:
    """Run a validated spec (the API and the CLI both end here). ``then`` is called with the result while
    the folder is still held by this sweep (the CLI writes its reports and figures there)."""
    check_executor(executor, workers, scheduler)
    require_extras(spec.sampler, executor)
    plan = make_plan(spec, base, file)
    with _folder(out) as folder, SweepStore.open(folder, plan, resume) as store:
        done = store.done()  # runs saved whole and ok: failed, missing and damaged runs run (again)
        if store.set_aside:
            warnings.warn(
                f"{len(store.set_aside)} damaged part file(s) in {store.path / 'parts'} set aside as "
                f"*{CORRUPT} (kept for inspection); their runs run again",
                RuntimeWarning,
                stacklevel=2,
            )
        if len(done) < plan.total:
            store.mark_incomplete()
        failed = 0
        bar = _progress_bar(plan.total, len(done), spec.name, progress)
        bar.set_postfix_str(f"{failed} failed", refresh=False)

        def on_output(output: RunOutput) -> None:
            nonlocal failed
            store.add(output)
            failed += output.row["status"] != "ok"
            bar.set_postfix_str(f"{failed} failed", refresh=False)
            bar.update()

        t0 = time.perf_counter()
        try:
            with open_executor(executor, workers, scheduler) as (pool, slots):
                run_all(plan.tasks(done), pool, slots, on_output, RUNS_PER_TASK[executor])
        finally:
            bar.close()
        try:
            runs, series = store.read_runs(), store.read_series()
        except Exception as exc:  # noqa: BLE001 - a part damaged while this sweep ran
            raise SweepError(
                store.path, "parts", f"a saved run does not read back ({exc}); resume to run it again"
            ) from None
        series = series[series["run"].isin(runs.loc[runs["status"] == "ok", "run"])].reset_index(drop=True)
        extra = {
            "runs_ok": int((runs["status"] == "ok").sum()),
            "runs_failed": int((runs["status"] != "ok").sum()),
            "last_session": {
                "executor": executor,
                "workers": workers,
                "runs": plan.total - len(done),
                "retried_failed": sum(1 for status in store.saved.values() if status != "ok"),
                "parts_set_aside": [str(p.relative_to(store.path)) for p in store.set_aside],
                "wall_time_s": round(time.perf_counter() - t0, 3),
            },
        }
        store.finish(runs, series, extra)
        result = SweepResult(
            runs=runs,
            series=series,
            samples=plan.samples_frame(),
            design=plan.design,
            spec=spec,
            scalars=plan.scalars,
            series_metrics=plan.series,
            path=None if out is None else store.path,
            manifest=read_manifest(store.path),
        )
        if then is not None:
            then(result)
        return result


def load_sweep(path: str | Path) -> SweepResult:
    """A completed sweep read back from its folder."""
    path = Path(path)
    manifest = read_manifest(path)
    if not manifest.get("complete"):
        raise SweepError(path, "", "holds an unfinished sweep; resume it first")
    try:
        spec = SweepSpec.model_validate(manifest["spec"])
    except (KeyError, ValidationError) as exc:
        raise SweepError(path, MANIFEST, f"holds no sweep spec this version can read ({exc})") from None
    samples = pd.DataFrame(manifest["samples"], columns=list(spec.parameters))
    samples.insert(0, "sample", np.arange(len(samples)))
    design = None if manifest["design"] is None else np.asarray(manifest["design"], dtype=float)
    return SweepResult(
        runs=read_table(path, RUNS_FILE),
        series=read_table(path, SERIES_FILE),
        samples=samples,
        design=design,
        spec=spec,
        scalars=list(manifest["outcomes"]["scalars"]),
        series_metrics=list(manifest["outcomes"]["series"]),
        path=path,
        manifest=manifest,
    )


def require_extras(sampler: str, executor: str) -> None:
    """Raise ImportError naming the missing optional packages (the ``sweep`` extra)."""
    needed = [
        "pyarrow",
        *(["SALib"] if sampler != "grid" else []),
        *(["distributed"] if executor == "dask" else []),
    ]
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"sweeps need {', '.join(missing)}: pip install -e '.[sweep]'")


@contextlib.contextmanager
def _folder(out: str | Path | None) -> Iterator[Path]:
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        yield Path(tmp)


def _progress_bar(total: int, done: int, label: str, progress: bool | None) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: forking a threaded process is unsafe
    return tqdm(
        total=total,
        initial=done,
        desc=label,
        unit="run",
        disable=None if progress is None else not progress,
    )
