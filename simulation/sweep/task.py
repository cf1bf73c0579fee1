"""One run of a sweep, as a worker executes it: pure, picklable, and never raising for a model error.

A run's seed depends only on its index (``SeedSequence(seed, spawn_key=(run,))``, the ``run``-th child of
``SeedSequence(seed).spawn``), or with common seeds on its replicate index alone, so a sweep gives the same
table whichever worker runs what, and when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import Scenario, pin
from ..experiments.runner import ReplicateSpec, model_seed, run_replicate

STATS = ("end", "mean", "min", "max")


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs: its indices, the base scenario, the sampled values and the outcomes."""

    run: int
    sample: int
    replicate: int
    scenario: Scenario
    changes: Mapping[str, Any]
    seed: int
    seed_key: tuple[int, ...]
    scalars: tuple[str, ...]
    series: tuple[str, ...]


@dataclass
class RunOutput:
    """A finished run: its row of the runs table, and its monthly series (None if it failed)."""

    row: dict[str, Any]
    series: pd.DataFrame | None


def split_outcome(name: str) -> tuple[str, str]:
    """``gap_months_true_end`` -> (``gap_months_true``, ``end``)."""
    metric, _, stat = name.rpartition("_")
    return metric, stat


def scalar_outcomes(model_df: pd.DataFrame, names: Sequence[str]) -> dict[str, float]:
    """Scalars of one run's monthly metrics: value at the last tick, or mean/min/max over ticks."""
    out = {}
    for name in names:
        metric, stat = split_outcome(name)
        col = model_df[metric].astype(float)
        out[name] = float(col.iloc[-1] if stat == "end" else getattr(col, stat)())
    return out


def base_row(task: RunTask) -> dict[str, Any]:
    """A run's row before it runs: indices, sampled values, model seed, status ``ok``, outcomes NaN."""
    seq = np.random.SeedSequence(task.seed, spawn_key=task.seed_key)
    row: dict[str, Any] = {"run": task.run, "sample": task.sample, "replicate": task.replicate}
    row.update(task.changes)
    row.update(seed=model_seed(seq), status="ok", error=None)
    row.update(dict.fromkeys(task.scalars, math.nan))
    return row


def execute(task: RunTask) -> RunOutput:
    """Run one sweep run; a model error is recorded in the row (status ``error``), not raised."""
    row = base_row(task)
    try:
        scenario = pin(task.scenario, task.changes)  # a swept value wins over a distribution
        spec = ReplicateSpec(scenario, task.replicate, task.seed, task.seed_key, labs=False)
        model_df, _, _ = run_replicate(spec)
        row.update(scalar_outcomes(model_df, task.scalars))
    except Exception as exc:  # noqa: BLE001 - any model error is data for this run
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return RunOutput(row, None)
    series = model_df[["tick", "date", *task.series]].copy()
    series.insert(0, "run", task.run)
    return RunOutput(row, series)
