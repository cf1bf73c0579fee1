"""Calibration by ABC-SMC (pyabc): fit a scenario's free parameters to published figures.

``simulation.calibrate("calibration/baseline.yaml")`` or ``python run.py calibrate calibration/baseline.yaml``.
The spec (``spec.py``) names the scenario, the free parameters with priors, the targets with their
observations, the statistics (``statistics.py``), the distance (``distance.py``) and the population schedule;
pyabc runs it (``smc.py``) with its history in the calibration's folder, and ``outputs.py`` writes the
posterior, the fit table, figures and a manifest. A scenario takes its parameters jointly from the posterior
with ``posterior: <folder>/posterior.parquet`` (one particle per replicate, drawn by weight).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .spec import REPO, Calibration, CalibrationError, CalibrationSpec, load_spec

__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "CalibrationSpec",
    "calibrate",
    "default_folder",
    "load_spec",
]


@dataclass
class CalibrationResult:
    """A finished calibration: its folder, posterior (paths + ``weight``), fit table and generations."""

    folder: Path
    posterior: pd.DataFrame
    fit: pd.DataFrame
    generations: pd.DataFrame
    manifest: dict[str, Any]


def default_folder(cal: Calibration) -> Path:
    """``<spec's folder>/<name>`` (``calibration/baseline``), or ``calibration/<name>`` for a spec given in
    Python."""
    base = cal.file.parent if cal.file is not None else REPO / "calibration"
    return base / cal.spec.name


def calibrate(
    spec: str | Path | dict[str, Any] | CalibrationSpec,
    *,
    out: str | Path | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    plots: bool = True,
    verbose: bool = True,
) -> CalibrationResult:
    """Run (or finish) a calibration and write its folder; returns the result.

    Args:
        spec: a YAML path, a mapping or a CalibrationSpec (checked before anything runs: CalibrationError).
        out: the output folder (default :func:`default_folder`). If it holds the history of the same spec, the
            calibration continues from its last complete generation; of another spec, CalibrationError.
        jobs: worker processes (None or 0: every core; 1: this process).
        scheduler: a Dask scheduler address (``tcp://host:8786``): sample on that cluster instead.
        fresh: delete the folder's history and start again.
        plots: draw the figures (``plots/``).
    """
    import json

    from . import outputs, smc

    cal = load_spec(spec)
    folder = Path(out) if out is not None else default_folder(cal)
    jobs = int(jobs) if jobs else (os.cpu_count() or 1)
    history_file = folder / smc.HISTORY
    manifest_file = folder / outputs.MANIFEST
    stamp = folder / "spec_hash"
    if fresh:
        for name in (smc.HISTORY, outputs.MANIFEST, "spec_hash"):
            (folder / name).unlink(missing_ok=True)
    elif history_file.exists():
        stored = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else ""
        if stored != outputs.spec_hash(cal):
            raise CalibrationError(
                cal.file,
                "",
                f"{folder} holds the history of a different spec; rerun with --fresh (fresh=True) to start "
                "again, or choose another --out",
            )
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(outputs.spec_hash(cal) + "\n", encoding="utf-8")
    resumed_from = smc.stored_generations(folder)
    started = time.perf_counter()
    import numpy as np

    np.random.seed(cal.spec.seed % 2**32)  # the main process's draws (single-core sampler: the whole run)
    abc = smc.build(cal, jobs, scheduler)
    try:
        history = smc.open_history(abc, cal, folder, {"spec_hash": outputs.spec_hash(cal)})
        history = smc.run_generations(abc, history, cal, verbose=verbose)
    finally:
        if scheduler:
            abc.sampler.shutdown()  # closes the Dask client (the cluster is not ours to stop)
    sampling_s = time.perf_counter() - started
    posterior = outputs.posterior_table(cal, history)
    gens = outputs.generations_table(history)
    t0 = time.perf_counter()
    pred = outputs.predictive(cal, posterior, jobs if not scheduler else (os.cpu_count() or 1))
    predictive_s = time.perf_counter() - t0
    fit = outputs.fit_table(cal, pred)
    outputs.write_tables(folder, posterior, fit, pred, gens)
    if plots:
        outputs.plot_all(folder, cal, posterior, gens, pred, outputs.prior_sample(cal, 2000, cal.spec.seed))
    previous = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.exists() else {}
    extra = {
        "generations": int(len(gens)),
        "simulations": int(history.total_nr_simulations),
        "final_epsilon": float(gens["epsilon"].iloc[-1]),
        "final_ess": round(float(gens["ess"].iloc[-1]), 1),
        "resumed_from_generation": resumed_from,
        "sampler": "dask " + scheduler
        if scheduler
        else f"{'multicore' if jobs > 1 else 'single core'} ({jobs})",
        "sampling_wall_time_s": round(sampling_s + float(previous.get("sampling_wall_time_s", 0.0)), 2),
        "predictive_wall_time_s": round(predictive_s, 2),
        "predictive_draws": cal.spec.predictive_draws,
        "targets_inside": int(fit["inside"].sum()),
        "targets": int(len(fit)),
    }
    outputs.write_manifest(folder, cal, extra)
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    return CalibrationResult(folder, posterior, fit, gens, manifest)
