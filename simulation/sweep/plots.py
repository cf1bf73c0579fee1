"""Figures of a sweep, in the style of ``simulation.plotting`` (Agg canvas, no pyplot, saved and released):
index bars, each outcome against each parameter, a heatmap for a two-parameter grid, and indices over
the months for a monthly outcome.

Parameters and outcomes are named in plain words with their units, from the scenario schema's
descriptions (``simulation.datadict.parameter_label``) and the data dictionary (``metric_label``); the
dotted path stays beside each parameter's words. Shares are shown in percent. Where a confidence
interval is as wide as its index, the figure says so: the index cannot be told from zero.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import plotting as P
from ..datadict import Label, metric_label, parameter_label, parameter_rows
from .analysis import COLUMNS, WINDOW_MONTHS, indices_by_window, too_uncertain
from .spec import SweepError

if TYPE_CHECKING:
    from .api import SweepResult

# Which index to draw (and its confidence column) per sampler, with its plain-words name.
MAIN = {
    "sobol": [("S1", "S1_conf", "First order (S1)"), ("ST", "ST_conf", "Total order (ST)")],
    "morris": [("mu_star", "mu_star_conf", "Mean absolute effect (mu*)"), ("sigma", None, "Spread (sigma)")],
    "lhs": [("S1", "S1_conf", "First order (S1, RBD-FAST)")],
}
WRAP = 42  # characters per line of a parameter's words on an axis
CAUTION = {"color": "#8a3b00", "fontsize": 14, "fontweight": "bold", "pad": 14}
CAUTION_BOX = {"boxstyle": "round,pad=0.4", "facecolor": "#fff3e6", "edgecolor": "#8a3b00"}


class Names:
    """Plain words and units of a sweep's parameters and outcomes, from the scenario it ran on (the
    manifest's, else its base as the spec gives it)."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result

    @cached_property
    def scenario(self) -> Any:
        recorded = self.result.manifest.get("scenario")
        if recorded:
            return recorded
        from ..experiments.runner import prepare

        spec = self.result.spec
        try:
            return prepare(spec.base, months=spec.months, n_adopters=spec.adopters, overrides=spec.overrides)
        except Exception:  # noqa: BLE001 - no scenario: names as they are
            return {}

    @cached_property
    def rows(self) -> dict[str, Any]:
        return parameter_rows(self.scenario) if self.scenario else {}

    def parameter(self, path: str, width: int = WRAP) -> str:
        """'Bloc china: scales the chance and size\\nof fundraising ...\\n[blocs.china.capital_multiplier]'."""
        words, unit = parameter_label(path, self.rows)
        if words == path:
            return path
        text = "\n".join(textwrap.wrap(words + (f" ({unit})" if unit else ""), width))
        return f"{text}\n[{path}]"

    def outcome(self, name: str) -> Label:
        return metric_label(name, self.scenario) if self.scenario else Label(name, "")


def title(text: str) -> str:
    """A figure title wrapped to fit a 15-inch figure."""
    return "\n".join(textwrap.wrap(text, 64))


def show_caution(ax: Any, text: str, width: int = 110) -> None:
    """A caution in bold dark orange on a pale box, above the plot (under the figure's title), wrapped at
    ``width`` characters."""
    if text:
        ax.set_title(textwrap.fill(text, width), loc="left", bbox=CAUTION_BOX, **CAUTION)


def caption(result: SweepResult, what: str) -> str:
    spec = result.spec
    failed = len(result.failures)
    fails = f", {failed} failed" if failed else ""
    reps = f"{spec.replicates} replicate{'s' if spec.replicates != 1 else ''}"
    text = f"Sweep '{spec.name}' of '{spec.base}': {spec.sampler}, {len(result.samples)} samples x {reps}{fails}. {what}."
    return textwrap.fill(text, 150)


def index_limits(sampler: str, values: np.ndarray) -> tuple[float, float] | None:
    """Axis limits for indices on the 0-1 scale (Sobol', RBD-FAST): wide intervals of small samples are
    cut at -0.25 and 1.25 rather than squashing the indices; None for Morris (outcome units)."""
    if sampler == "morris":
        return None
    finite = values[np.isfinite(values)]
    lo = min(float(finite.min(initial=0.0)) - 0.05, 0.0)
    hi = max(float(finite.max(initial=1.0)) + 0.05, 1.0)
    return max(lo, -0.25), min(hi, 1.25)


def scaled(table: pd.DataFrame, sampler: str, label: Label) -> pd.DataFrame:
    """Morris effects are in the outcome's units: shown in display units (a share's in percentage
    points). Sobol' and RBD-FAST indices are shares of variance, unscaled."""
    if sampler != "morris" or label.scale == 1:
        return table
    out = table.copy()
    for column in ("mu_star", "mu_star_conf", "sigma", "mu"):
        if column in out:
            out[column] = out[column] * label.scale
    return out


def effect_unit(label: Label) -> str:
    return "percentage points" if label.unit == "%" else label.unit


def caution_text(flagged: int, total: int, sampler: str, outside: int = 0) -> str:
    """The plain caution a figure carries when intervals are as wide as the indices they belong to."""
    parts = []
    if flagged:
        parts.append(
            f"Caution: {flagged} of {total} indices have a 95% interval at least as wide as the index itself "
            "(hatched): they cannot be told from zero, nor ranked. More samples (n) or replicates narrow them."
        )
    if outside and sampler != "morris":
        parts.append(
            f"{outside} estimate(s) outside 0-1 (shares of variance cannot be): sampling noise, not an effect."
        )
    return "\n".join(parts)


def plot_indices(
    result: SweepResult, outcome: str, table: pd.DataFrame, out_dir: Path, names: Names | None = None
) -> Path:
    """indices_<outcome>.png: each parameter's indices as horizontal bars with confidence intervals; bars
    whose interval is as wide as the index hatched, with a caution saying so."""
    names = names or Names(result)
    sampler = result.spec.sampler
    label = names.outcome(outcome)
    bars = MAIN[sampler]
    table = scaled(table, sampler, label).iloc[::-1].reset_index(drop=True)  # first parameter on top
    y = np.arange(len(table))
    height = 0.8 / len(bars)
    flagged = outside = total = 0
    with P.style():
        fig, ax = P.new_figure(figsize=(15, max(5.0, 2.0 + 1.5 * len(table))))
        for i, (col, conf, bar_label) in enumerate(bars):
            err = table[conf].to_numpy() if conf else None
            pos = y - (i - (len(bars) - 1) / 2) * height  # first index on top
            wide = too_uncertain(table, col, conf).to_numpy()
            colour = P.LINE_COLOURS[i]
            ax.barh(pos, table[col], height=height, xerr=err, label=bar_label, color=colour, capsize=4)
            if wide.any():
                ax.barh(
                    pos[wide], table[col].to_numpy()[wide], height=height, color="white", alpha=0.55,
                    hatch="//", edgecolor=colour, linewidth=0,
                )  # fmt: skip
            flagged += int(wide.sum())
            total += len(table) if conf else 0
            values = table[col].to_numpy(dtype=float)
            outside += int(((values < 0) | (values > 1)).sum())
        ax.set_yticks(y, [names.parameter(p) for p in table["parameter"]], fontsize=13)
        limits = index_limits(sampler, _spans(table, bars))
        if limits:
            ax.set_xlim(*limits)
        ax.axvline(0, color="black", linewidth=1)
        if sampler == "morris":
            unit = effect_unit(label)
            ax.set_xlabel(f"Effect on {label.text}" + (f" ({unit})" if unit else ""))
        else:
            ax.set_xlabel("Sensitivity index: share of the outcome's variance (0-1)")
            ax.axvline(1, color=P.GREY, linewidth=1, linestyle=":")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        show_caution(ax, caution_text(flagged, total, sampler, outside), width=80)
        P.titles(
            fig, title(f"What drives: {label.text}"), caption(result, "Bars: index; whiskers: 95% interval")
        )
        return P.save(fig, out_dir / f"indices_{outcome}.png")


def plot_scatter(result: SweepResult, outcome: str, out_dir: Path, names: Names | None = None) -> Path:
    """scatter_<outcome>.png: the outcome of each run against each parameter."""
    names = names or Names(result)
    label = names.outcome(outcome)
    ok = result.runs[result.runs["status"] == "ok"]
    params = result.parameters
    ncols = min(len(params), 3)
    nrows = math.ceil(len(params) / ncols)
    with P.style():
        fig, axes = P.new_figure(nrows, ncols, figsize=(6.8 * ncols, 6.0 * nrows), sharey=True)
        axes = np.asarray(axes, dtype=object).reshape(nrows, ncols)
        for ax, path in zip(axes.flat, params, strict=False):
            ax.scatter(
                ok[path], ok[outcome] * label.scale, s=18, alpha=0.6, color=P.OKABE_ITO["blue"], linewidths=0
            )
            if result.spec.parameters[path].log:
                ax.set_xscale("log")
            ax.set_xlabel(names.parameter(path, width=36), fontsize=13)
        for ax in axes.flat[len(params) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("\n".join(textwrap.wrap(label.axis, 40)), fontsize=14)
        P.titles(fig, title(f"{label.text} against each parameter"), caption(result, "One dot per run"))
        return P.save(fig, out_dir / f"scatter_{outcome}.png")


def plot_heatmap(result: SweepResult, outcome: str, out_dir: Path, names: Names | None = None) -> Path:
    """heatmap_<outcome>.png: a two-parameter grid, mean outcome over replicates in each cell."""
    names = names or Names(result)
    label = names.outcome(outcome)
    x_param, y_param = result.parameters
    ok = result.runs[result.runs["status"] == "ok"]
    cells = ok.groupby([y_param, x_param])[outcome].mean().unstack(x_param)
    cells = cells.reindex(
        index=sorted(result.samples[y_param].unique()), columns=sorted(result.samples[x_param].unique())
    )
    values = cells.to_numpy(dtype=float) * label.scale
    with P.style():
        fig, ax = P.new_figure(figsize=(14, 8))
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
        ax.grid(False)
        ax.set_xticks(range(len(cells.columns)), [_fmt(v) for v in cells.columns])
        ax.set_yticks(range(len(cells.index)), [_fmt(v) for v in cells.index])
        ax.set_xlabel(names.parameter(x_param, width=60), fontsize=14)
        ax.set_ylabel(names.parameter(y_param, width=36), fontsize=14)
        finite = values[np.isfinite(values)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        if values.size <= 100:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    colour = "black" if v > middle else "white"
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=13, color=colour)
        fig.colorbar(image, ax=ax, label="\n".join(textwrap.wrap(label.axis, 36)))
        P.titles(fig, title(f"{label.text} over the grid"), caption(result, "Cell: mean over replicates"))
        return P.save(fig, out_dir / f"heatmap_{outcome}.png")


def noisy_windows(table: pd.DataFrame, column: str, conf: str | None) -> pd.Series:
    """Per window: True when no parameter's index is larger than its interval's half-width, i.e. noise
    dominates every index of that window (always False without intervals)."""
    return too_uncertain(table, column, conf).groupby(table["window"]).all()


def plot_indices_by_tick(
    result: SweepResult,
    metric: str,
    out_dir: Path,
    names: Names | None = None,
    months: int = WINDOW_MONTHS,
) -> Path:
    """indices_by_month_<metric>.png: the main index of each parameter over the months, each point the
    index of the metric's mean over a window of ``months`` months (per-month indices are mostly noise:
    they are in indices_by_month.csv). Indices are drawn within 0-1 with estimates outside marked at the
    edge; windows where every interval is as wide as its index are shaded and said to be noise."""
    names = names or Names(result)
    sampler = result.spec.sampler
    label = names.outcome(metric)
    col, conf, index_name = MAIN[sampler][-1 if sampler == "sobol" else 0]
    windows = scaled(indices_by_window(result, metric, months), sampler, label)
    noisy = noisy_windows(windows, col, conf)
    bounded = sampler != "morris"
    outside = 0
    with P.style():
        fig, ax = P.new_figure(figsize=(15, 7.5))
        firsts = windows.drop_duplicates("window").set_index("window")
        starts = P.to_dates(firsts["first_date"])
        ends = P.to_dates(firsts["last_date"]) + pd.offsets.MonthEnd(0)
        for w, is_noisy in noisy.items():
            if is_noisy:
                ax.axvspan(starts[w], ends[w], color="#dddddd", alpha=0.7, linewidth=0, zorder=0)
        n_params = windows["parameter"].nunique()
        for i, (path, rows) in enumerate(windows.groupby("parameter", sort=False)):
            at = rows["window"].to_numpy()
            dodge = pd.to_timedelta((i - (n_params - 1) / 2) * 12, unit="D")  # side by side in a window
            x = starts[at] + (ends[at] - starts[at]) / 2 + dodge
            colour = P.LINE_COLOURS[i % len(P.LINE_COLOURS)]
            value = rows[col].to_numpy(dtype=float)
            shown = np.clip(value, 0, 1) if bounded else value
            words, _ = parameter_label(path, names.rows)
            legend = "\n".join(textwrap.wrap(f"{words} [{path}]", 38))
            if conf:
                half = rows[conf].to_numpy(dtype=float)
                lo, hi = value - half, value + half
                if bounded:
                    lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
                yerr = np.vstack([shown - lo, hi - shown]).clip(min=0)
                ax.errorbar(x, shown, yerr=yerr, color=colour, marker="o", capsize=5, label=legend)
            else:
                ax.plot(x, shown, color=colour, marker="o", label=legend)
            if bounded:
                over, under = value > 1, value < 0
                outside += int(over.sum() + under.sum())
                ax.scatter(
                    x[over], np.ones(over.sum()), marker="^", s=120, color=colour, edgecolor="black", zorder=5
                )
                ax.scatter(
                    x[under],
                    np.zeros(under.sum()),
                    marker="v",
                    s=120,
                    color=colour,
                    edgecolor="black",
                    zorder=5,
                )
        if bounded:
            ax.set_ylim(-0.03, 1.05)
        P.format_date_axis(ax)
        ax.set_xlabel("Date (each point: a window of the months around it)")
        ax.set_ylabel(index_name + ("" if bounded else f" ({effect_unit(label)})"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=12)
        said = [
            f"Each point: the index of the metric's mean over {months} months (per-month indices, mostly "
            "noise, are in indices_by_month.csv); whiskers: 95% interval"
            + (", cut at 0 and 1" if bounded else "")
        ]
        if bounded and outside:
            said.append(f"triangles: {outside} estimate(s) beyond 0 or 1, which is sampling noise")
        text = "; ".join(said)
        if bool(noisy.any()):
            show_caution(
                ax,
                f"Noise dominates in the grey window(s) ({int(noisy.sum())} of {len(noisy)}): there every "
                "interval is as wide as its index, so no parameter can be said to matter more than another.",
            )
        P.titles(fig, title(f"What drives: {label.text}, over time"), caption(result, text))
        return P.save(fig, out_dir / f"indices_by_month_{metric}.png")


def plot_sweep(result: SweepResult, out_dir: Path) -> list[Path]:
    """Every figure that applies: scatter (and index bars, or a heatmap for a two-parameter grid) per
    scalar outcome, and indices over time per monthly outcome."""
    paths = []
    names = Names(result)
    analysable = result.spec.sampler in COLUMNS
    for outcome in result.scalars:
        if not result.runs[outcome].notna().any():
            continue
        paths.append(plot_scatter(result, outcome, out_dir, names))
        if result.spec.sampler == "grid" and len(result.parameters) == 2:
            paths.append(plot_heatmap(result, outcome, out_dir, names))
        if analysable:
            with contextlib.suppress(SweepError):  # a sample without any successful run: no indices
                paths.append(plot_indices(result, outcome, result.indices(outcome), out_dir, names))
    for metric in result.series_metrics if analysable else []:
        with contextlib.suppress(SweepError):
            paths.append(plot_indices_by_tick(result, metric, out_dir, names))
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
