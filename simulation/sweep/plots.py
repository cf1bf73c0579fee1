"""Figures of a sweep, in the style of ``simulation.plotting`` (Agg canvas, no pyplot, saved and released):
index bars, each outcome against each parameter, a heatmap for a two-parameter grid, and indices month
by month for a monthly outcome."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import plotting as P
from .analysis import COLUMNS
from .spec import SweepError

if TYPE_CHECKING:
    from .api import SweepResult

# Which index to draw (and its confidence column) per sampler, with its plain-words name.
MAIN = {
    "sobol": [("S1", "S1_conf", "First order (S1)"), ("ST", "ST_conf", "Total order (ST)")],
    "morris": [("mu_star", "mu_star_conf", "Mean absolute effect (mu*)"), ("sigma", None, "Spread (sigma)")],
    "lhs": [("S1", "S1_conf", "First order (S1, RBD-FAST)")],
}


def caption(result: SweepResult, what: str) -> str:
    spec = result.spec
    failed = len(result.failures)
    fails = f", {failed} failed" if failed else ""
    reps = f"{spec.replicates} replicate{'s' if spec.replicates != 1 else ''}"
    return f"Sweep '{spec.name}' of '{spec.base}': {spec.sampler}, {len(result.samples)} samples x {reps}{fails}. {what}."


def index_limits(sampler: str, values: np.ndarray) -> tuple[float, float] | None:
    """Axis limits for indices on the 0-1 scale (Sobol', RBD-FAST): wide intervals of small samples are
    cut at -0.25 and 1.25 rather than squashing the indices; None for Morris (outcome units)."""
    if sampler == "morris":
        return None
    finite = values[np.isfinite(values)]
    lo = min(float(finite.min(initial=0.0)) - 0.05, 0.0)
    hi = max(float(finite.max(initial=1.0)) + 0.05, 1.0)
    return max(lo, -0.25), min(hi, 1.25)


def plot_indices(result: SweepResult, outcome: str, table: pd.DataFrame, out_dir: Path) -> Path:
    """indices_<outcome>.png: each parameter's indices as horizontal bars with confidence intervals."""
    bars = MAIN[result.spec.sampler]
    table = table.iloc[::-1]  # first parameter on top
    y = np.arange(len(table))
    height = 0.8 / len(bars)
    with P.style():
        fig, ax = P.new_figure(figsize=(13.33, max(4.0, 1.4 + 1.0 * len(table))))
        for i, (col, conf, label) in enumerate(bars):
            err = table[conf].to_numpy() if conf else None
            pos = y - (i - (len(bars) - 1) / 2) * height  # first index on top
            ax.barh(pos, table[col], height=height, xerr=err, label=label, color=P.LINE_COLOURS[i], capsize=4)
        ax.set_yticks(y, table["parameter"])
        limits = index_limits(result.spec.sampler, _spans(table, bars))
        if limits:
            ax.set_xlim(*limits)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_xlabel("Sensitivity index" if result.spec.sampler != "morris" else f"Effect on {outcome}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        P.titles(fig, f"What drives {outcome}", caption(result, "Bars: index; whiskers: 95% interval"))
        return P.save(fig, out_dir / f"indices_{outcome}.png")


def plot_scatter(result: SweepResult, outcome: str, out_dir: Path) -> Path:
    """scatter_<outcome>.png: the outcome of each run against each parameter."""
    ok = result.runs[result.runs["status"] == "ok"]
    params = result.parameters
    ncols = min(len(params), 3)
    nrows = math.ceil(len(params) / ncols)
    with P.style():
        fig, axes = P.new_figure(nrows, ncols, figsize=(6.5 * ncols, 5.5 * nrows), sharey=True)
        axes = np.asarray(axes, dtype=object).reshape(nrows, ncols)
        for ax, path in zip(axes.flat, params, strict=False):
            ax.scatter(ok[path], ok[outcome], s=18, alpha=0.6, color=P.OKABE_ITO["blue"], linewidths=0)
            if result.spec.parameters[path].log:
                ax.set_xscale("log")
            ax.set_xlabel(path, fontsize=14)
        for ax in axes.flat[len(params) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel(outcome, fontsize=14)
        P.titles(fig, f"{outcome} against each parameter", caption(result, "One dot per run"))
        return P.save(fig, out_dir / f"scatter_{outcome}.png")


def plot_heatmap(result: SweepResult, outcome: str, out_dir: Path) -> Path:
    """heatmap_<outcome>.png: a two-parameter grid, mean outcome over replicates in each cell."""
    x_param, y_param = result.parameters
    ok = result.runs[result.runs["status"] == "ok"]
    cells = ok.groupby([y_param, x_param])[outcome].mean().unstack(x_param)
    cells = cells.reindex(
        index=sorted(result.samples[y_param].unique()), columns=sorted(result.samples[x_param].unique())
    )
    values = cells.to_numpy(dtype=float)
    with P.style():
        fig, ax = P.new_figure()
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
        ax.grid(False)
        ax.set_xticks(range(len(cells.columns)), [_fmt(v) for v in cells.columns])
        ax.set_yticks(range(len(cells.index)), [_fmt(v) for v in cells.index])
        ax.set_xlabel(x_param)
        ax.set_ylabel(y_param)
        finite = values[np.isfinite(values)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        if values.size <= 100:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    colour = "black" if v > middle else "white"
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=13, color=colour)
        fig.colorbar(image, ax=ax, label=outcome)
        P.titles(fig, f"{outcome} over the grid", caption(result, "Cell: mean over replicates"))
        return P.save(fig, out_dir / f"heatmap_{outcome}.png")


def plot_indices_by_tick(result: SweepResult, metric: str, table: pd.DataFrame, out_dir: Path) -> Path:
    """indices_by_month_<metric>.png: the main index of each parameter, month by month."""
    col, conf, label = MAIN[result.spec.sampler][-1 if result.spec.sampler == "sobol" else 0]
    with P.style():
        fig, ax = P.new_figure()
        for i, (path, rows) in enumerate(table.groupby("parameter", sort=False)):
            x = P.to_dates(rows["date"])
            colour = P.LINE_COLOURS[i % len(P.LINE_COLOURS)]
            ax.plot(x, rows[col], color=colour, label=path)
            if conf:
                lo, hi = rows[col] - rows[conf], rows[col] + rows[conf]
                ax.fill_between(x, lo, hi, color=colour, alpha=P.BAND_ALPHA, linewidth=0)
        limits = index_limits(result.spec.sampler, _spans(table, [(col, conf, label)]))
        if limits:
            ax.set_ylim(*limits)
        P.format_date_axis(ax)
        ax.set_xlabel("Date")
        ax.set_ylabel(label)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=13)
        P.titles(
            fig,
            f"What drives {metric}, month by month",
            caption(result, "Line: index; shading: 95% interval"),
        )
        return P.save(fig, out_dir / f"indices_by_month_{metric}.png")


def plot_sweep(result: SweepResult, out_dir: Path) -> list[Path]:
    """Every figure that applies: scatter (and index bars, or a heatmap for a two-parameter grid) per
    scalar outcome, and indices month by month per monthly outcome."""
    paths = []
    analysable = result.spec.sampler in COLUMNS
    for outcome in result.scalars:
        if not result.runs[outcome].notna().any():
            continue
        paths.append(plot_scatter(result, outcome, out_dir))
        if result.spec.sampler == "grid" and len(result.parameters) == 2:
            paths.append(plot_heatmap(result, outcome, out_dir))
        if analysable:
            with contextlib.suppress(SweepError):  # a sample without any successful run: no indices
                paths.append(plot_indices(result, outcome, result.indices(outcome), out_dir))
    for metric in result.series_metrics if analysable else []:
        with contextlib.suppress(SweepError):
            paths.append(plot_indices_by_tick(result, metric, result.indices_by_tick(metric), out_dir))
    return paths


def _spans(table: pd.DataFrame, bars: list[tuple[str, str | None, str]]) -> np.ndarray:
    """Every index value and the ends of its confidence interval."""
    parts = [table[col].to_numpy(dtype=float) for col, _, _ in bars]
    for col, conf, _ in bars:
        if conf:
            parts += [
                table[col].to_numpy(float) - table[conf].to_numpy(float),
                table[col].to_numpy(float) + table[conf].to_numpy(float),
            ]
    return np.concatenate(parts)


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
