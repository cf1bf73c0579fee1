"""Sensitivity indices with SALib: Sobol' first and total order with confidence intervals, Morris mu* and
sigma, RBD-FAST first order for a Latin hypercube; for a scalar outcome or for each month of a series.

An outcome is averaged over each sample's successful replicates before the analysis, so replicates lower
the noise instead of counting as samples. :func:`analyse` works on plain arrays (any function of the
samples, e.g. an analytic test function); :func:`indices`, :func:`indices_by_tick` and
:func:`indices_by_window` (of a monthly outcome's mean over windows of months: less noisy) on a sweep.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .samplers import problem as make_problem
from .spec import SweepError

if TYPE_CHECKING:
    from .api import SweepResult

COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "sigma", "mu"],
    "lhs": ["S1", "S1_conf"],
}


def analyse(
    sampler: str,
    problem: dict[str, Any],
    y: np.ndarray,
    x: np.ndarray | None = None,
    *,
    second_order: bool = False,
    levels: int = 4,
    seed: int = 0,
    num_resamples: int = 1000,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Indices of outputs ``y`` (one per sample, in design order) over the design ``x`` (sampler space;
    needed by morris and lhs). One row per parameter; for sobol with ``second_order`` the S2 matrix is in
    ``.attrs["S2"]``."""
    if sampler not in COLUMNS:
        raise SweepError(None, "sampler", f"indices need sampler sobol, morris or lhs, not {sampler!r}")
    y = np.asarray(y, dtype=float)
    names = list(problem["names"])
    rng = np.random.default_rng(seed)  # a Generator: SALib's Sobol' analysis ignores an int seed of 0
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if np.ptp(y) == 0:  # a constant outcome: nothing to attribute
            table = pd.DataFrame(0.0, index=names, columns=COLUMNS[sampler])
            table.index.name = "parameter"
            return table
        if sampler == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(
                problem,
                y,
                calc_second_order=second_order,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=rng,
            )
        elif sampler == "morris":
            from SALib.analyze import morris

            res = morris.analyze(
                problem,
                np.asarray(x, dtype=float),
                y,
                num_resamples=num_resamples,
                conf_level=conf_level,
                num_levels=levels,
                seed=rng,
            )
        else:
            from SALib.analyze import rbd_fast

            res = rbd_fast.analyze(
                problem,
                np.asarray(x, dtype=float),
                y,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=rng,
            )
    table = pd.DataFrame({c: np.asarray(res[c], dtype=float) for c in COLUMNS[sampler]}, index=names)
    table.index.name = "parameter"
    if sampler == "sobol" and second_order:
        table.attrs["S2"] = pd.DataFrame(np.asarray(res["S2"], dtype=float), index=names, columns=names)
    return table


def sample_means(result: SweepResult, values: pd.Series) -> np.ndarray:
    """Mean of ``values`` (indexed by run) over each sample's successful replicates, in sample order."""
    ok = result.runs.loc[result.runs["status"] == "ok", ["run", "sample"]].set_index("run")["sample"]
    means = values.groupby(ok.reindex(values.index)).mean()
    means = means.reindex(np.arange(len(result.samples)))
    missing = int(means.isna().sum())
    if missing:
        raise SweepError(
            result.path,
            "",
            f"{missing} of {len(means)} samples have no successful run with a value; "
            "indices need an outcome for every sample (see result.failures)",
        )
    return means.to_numpy(dtype=float)


def indices(result: SweepResult, outcome: str, **kwargs: Any) -> pd.DataFrame:
    """Indices of a scalar outcome: one row per parameter (``parameter`` column first)."""
    if outcome not in result.scalars:
        raise SweepError(
            result.path, "outcome", f"{outcome!r} is not a scalar outcome of this sweep ({result.scalars})"
        )
    y = sample_means(result, result.runs.set_index("run")[outcome])
    return _analyse_result(result, y, **kwargs).reset_index()


def indices_by_tick(result: SweepResult, metric: str, **kwargs: Any) -> pd.DataFrame:
    """Indices of a monthly outcome at each tick: one row per (tick, parameter), with the date."""
    if metric not in result.series_metrics:
        raise SweepError(
            result.path,
            "metric",
            f"{metric!r} is not a monthly outcome of this sweep ({result.series_metrics})",
        )
    wide = result.series.pivot(index="run", columns="tick", values=metric)
    dates = result.series.drop_duplicates("tick").set_index("tick")["date"]
    frames = []
    for tick in wide.columns:
        table = _analyse_result(result, sample_means(result, wide[tick]), **kwargs).reset_index()
        table.insert(0, "date", dates[tick])
        table.insert(0, "tick", int(tick))
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def _analyse_result(result: SweepResult, y: np.ndarray, **kwargs: Any) -> pd.DataFrame:
    spec = result.spec
    options: dict[str, Any] = {"second_order": spec.second_order, "levels": spec.levels, "seed": spec.seed}
    options.update(kwargs)
    return analyse(spec.sampler, make_problem(spec), y, result.design, **options)


WINDOW_MONTHS = 6  # releases come every 4-6 months: a window this long averages over the sawtooth


def indices_by_window(
    result: SweepResult, metric: str, months: int = WINDOW_MONTHS, **kwargs: Any
) -> pd.DataFrame:
    """Indices of a monthly outcome's mean over consecutive windows of ``months`` months (the last one
    may be shorter): one row per (window, parameter) with the window's first and last tick and date.
    Averaging over a window removes most of the month-to-month noise of a per-month index."""
    if metric not in result.series_metrics:
        raise SweepError(
            result.path,
            "metric",
            f"{metric!r} is not a monthly outcome of this sweep ({result.series_metrics})",
        )
    if months < 1:
        raise SweepError(result.path, "months", f"a window needs at least 1 month, not {months}")
    series = result.series[["run", "tick", metric]]
    ticks = np.sort(series["tick"].unique())
    dates = result.series.drop_duplicates("tick").set_index("tick")["date"]
    frames = []
    for i, start in enumerate(range(0, len(ticks), months)):
        inside = ticks[start : start + months]
        means = series[series["tick"].isin(inside)].groupby("run")[metric].mean()
        table = _analyse_result(result, sample_means(result, means), **kwargs).reset_index()
        first, last = int(inside[0]), int(inside[-1])
        table.insert(0, "last_date", dates[last])
        table.insert(0, "first_date", dates[first])
        table.insert(0, "last_tick", last)
        table.insert(0, "first_tick", first)
        table.insert(0, "window", i)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def too_uncertain(table: pd.DataFrame, column: str, conf: str | None) -> pd.Series:
    """Per row: whether the confidence interval's half-width is at least as large as the index itself
    (the index cannot be told from zero); False where there is no interval."""
    if conf is None or conf not in table:
        return pd.Series(False, index=table.index)
    return table[conf].abs() >= table[column].abs()
