"""Figures of a saved run, in one style made for a projector.

Everything here reads saved results only (a run folder or :class:`~simulation.outputs.RunData`), never a
live model. Colours are the Okabe-Ito colour-blind-safe palette; titles are plain words, axes carry
units, the x axis is calendar dates. Figures are drawn on :class:`matplotlib.figure.Figure` objects with
the Agg canvas, never through pyplot: nothing opens a window, no global figure list grows, and importing
this module leaves the user's own matplotlib backend alone (e.g. in a notebook).

``quantile_band`` and ``plot_band`` draw a median line with its 5-95% band across replicates;
``plot_overlays`` uses them to overlay several runs (one colour per scenario) for comparisons.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import cycler
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .outputs import RunData, read_run

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = list(OKABE_ITO.values())
LINE_COLOURS = [c for name, c in OKABE_ITO.items() if name != "yellow"]  # yellow is faint on white
BLOC_COLOURS = {
    "us": OKABE_ITO["blue"],
    "china": OKABE_ITO["vermillion"],
    "eu": OKABE_ITO["green"],
    "other": OKABE_ITO["orange"],
}
BLOC_NAMES = {"us": "US", "china": "China", "eu": "EU", "other": "Other"}
BLOC_LABS = {"us": "US labs", "china": "Chinese labs", "eu": "EU labs", "other": "Other labs"}
GREY = "#555555"

STYLE: dict[str, Any] = {
    "figure.figsize": (13.33, 7.5),  # 16:9
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.facecolor": "white",
    "font.size": 17,
    "axes.titlesize": 21,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 18,
    "xtick.labelsize": 16,
    "ytick.labelsize": 16,
    "legend.fontsize": 15,
    "legend.frameon": False,
    "figure.titlesize": 24,
    "figure.titleweight": "bold",
    "axes.prop_cycle": cycler(color=LINE_COLOURS),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#cccccc",
    "grid.linewidth": 0.8,
    "lines.linewidth": 3.0,
    "text.parse_math": False,  # names and notes from scenario files are drawn as written, never as math
}
BAND_ALPHA = 0.2
RUNWAY_DISPLAY_CAP_MONTHS = 60.0
QUANTILES = (0.05, 0.5, 0.95)
SMOOTH_MONTHS = 6  # the gap chart's smoothed line: a centred mean over this many months (releases every 4-6)

Run = RunData | str | Path


# -- reusable pieces -------------------------------------------------------------------------------------


@contextmanager
def style():
    """The one style of every figure (use around creating, drawing and saving a figure)."""
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure with the Agg canvas (no pyplot) and its axes, laid out with constrained layout."""
    fig = Figure(layout="constrained", figsize=kwargs.pop("figsize", None))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=kwargs.pop("squeeze", True), **kwargs)
    return fig, axes


def save(fig: Figure, path: Path) -> Path:
    """Save as PNG and release the figure's memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    fig.clear()
    return path


def to_dates(values: Iterable[str] | pd.Series) -> pd.DatetimeIndex:
    """``YYYY-MM`` strings to month-start timestamps."""
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(list(values), dtype=str), format="%Y-%m"))


def quantile_band(
    frame: pd.DataFrame, value: str, by: Sequence[str] = ("date",), scale: float = 1.0
) -> pd.DataFrame:
    """Median and 5-95% band of ``value`` across replicates, per ``by`` (default: per date).

    Returns one row per group with columns ``by``, ``p5``, ``median``, ``p95`` (times ``scale``) and
    ``x`` (the date as a timestamp when ``date`` is among ``by``)."""
    grouped = frame.groupby(list(by), sort=True)[value]
    band = grouped.quantile(list(QUANTILES)).unstack() * scale
    band.columns = ["p5", "median", "p95"]
    band = band.reset_index()
    if "date" in by:
        band["x"] = to_dates(band["date"])
    return band


def plot_band(
    ax: Axes,
    band: pd.DataFrame,
    *,
    color: str,
    label: str | None = None,
    linestyle: str = "-",
    x: str = "x",
    band_alpha: float = BAND_ALPHA,
) -> Line2D:
    """Draw a :func:`quantile_band`: the median as a line and the 5-95% range as a shaded band."""
    ax.fill_between(band[x], band["p5"], band["p95"], color=color, alpha=band_alpha, linewidth=0)
    (line,) = ax.plot(band[x], band["median"], color=color, linestyle=linestyle, label=label)
    return line


def format_date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def mark_events(ax: Axes, events: Sequence[dict[str, Any]], notes_on: bool = True) -> None:
    """A vertical line at each event date, with the event notes (same-date notes joined) in headroom
    added at the top of the axes so they never cover the data (``notes_on=False``: lines only)."""
    notes: dict[str, list[str]] = {}
    for event in events:
        notes.setdefault(str(event["at"]), []).append(str(event.get("note") or "change of parameters"))
    if not notes:
        return
    labels = {at: textwrap.fill("; ".join(texts), width=24) for at, texts in notes.items()}
    if notes_on:
        lines = max(label.count("\n") + 1 for label in labels.values())
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + (hi - lo) * 0.09 * lines)
    for at, label in sorted(labels.items()):
        x = mdates.date2num(to_dates([at])[0])
        ax.axvline(x, color=GREY, linestyle=":", linewidth=2.5)
        if not notes_on:
            continue
        ax.annotate(
            label,
            xy=(x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(6, -4),
            textcoords="offset points",
            va="top",
            ha="left",
            fontsize=14,
            color=GREY,
        )


def spread(values: Sequence[float], gap: float, lo: float, hi: float) -> np.ndarray:
    """Positions as close as possible to ``values`` (same order), at least ``gap`` apart, within
    [lo, hi] (the gap shrinks if they cannot all fit)."""
    y = np.asarray(values, dtype=float)
    if y.size == 0:
        return y
    order = np.argsort(y, kind="stable")
    pos = np.clip(y[order], lo, hi)
    gap = min(gap, (hi - lo) / max(y.size - 1, 1))
    for i in range(1, pos.size):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    if pos[-1] > hi:
        pos[-1] = hi
        for i in range(pos.size - 2, -1, -1):
            pos[i] = min(pos[i], pos[i + 1] - gap)
    out = np.empty_like(pos)
    out[order] = pos
    return out


def label_line_ends(
    ax: Axes, ends: Sequence[tuple[Any, float, str, str]], min_gap_fraction: float = 0.05
) -> None:
    """Name each line just right of the axes, level with its last point, spread so names do not
    overlap, with a thin leader to the line's end. ``ends`` holds (x, y, text, colour) per line."""
    if not ends:
        return
    x_lo, x_hi = ax.get_xlim()
    lo, hi = ax.get_ylim()
    ys = spread([e[1] for e in ends], (hi - lo) * min_gap_fraction, lo, hi)
    x_text = x_hi + (x_hi - x_lo) * 0.02
    for (x, y, text, colour), y_text in zip(ends, ys, strict=True):
        ax.annotate(
            text,
            xy=(mdates.date2num(x), y),
            xytext=(x_text, y_text),
            textcoords="data",
            va="center",
            ha="left",
            fontsize=14,
            color=colour,
            annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 1, "shrinkA": 0, "shrinkB": 3},
        )


def titles(fig: Figure, title: str, caption: str) -> None:
    """The figure's title at the top left and a grey caption (what is drawn) at the bottom left."""
    fig.suptitle(title, x=0.01, ha="left")
    fig.supxlabel(caption, x=0.01, ha="left", fontsize=14, color=GREY)


def caption(run: RunData, what: str = "Line: median; shading: 5-95% range") -> str:
    replicates = int(run.model["replicate"].nunique())
    return f"Scenario '{run.name}', {replicates} runs. {what}."


def bloc_colour(bloc: str, i: int = 0) -> str:
    return BLOC_COLOURS.get(bloc, LINE_COLOURS[(4 + i) % len(LINE_COLOURS)])


def as_run(run: Run) -> RunData:
    return run if isinstance(run, RunData) else read_run(run)


# -- the figures -----------------------------------------------------------------------------------------


def plot_run(run: Run, out_dir: str | Path) -> list[Path]:
    """Every figure of a run into ``out_dir``; returns the written paths."""
    run = as_run(run)
    return [
        plot_gap(run, out_dir),
        plot_adoption(run, out_dir),
        plot_capabilities(run, out_dir),
        plot_runways(run, out_dir),
    ]


def plot_gap(run: Run, out_dir: str | Path) -> Path:
    """gap.png: months open models trail the closed frontier, on true capability and on benchmarks."""
    run = as_run(run)
    with style():
        fig, ax = new_figure()
        series = (
            ("gap_months_true", "True capability", OKABE_ITO["blue"], "-"),
            ("gap_months_benchmark", "Benchmark scores", OKABE_ITO["vermillion"], "--"),
        )
        for column, label, colour, ls in series:
            band = quantile_band(run.model, column)
            # the monthly series is a release sawtooth: drawn faint, with its 6-month centred mean on top
            raw = plot_band(ax, band, color=colour, linestyle=ls)
            raw.set_alpha(0.35)
            raw.set_linewidth(1.2)
            smooth = band["median"].rolling(SMOOTH_MONTHS, center=True, min_periods=1).mean()
            ax.plot(
                band["x"], smooth, color=colour, linestyle=ls, linewidth=3, label=f"{label} (6-month mean)"
            )
        ax.axhline(0, color="black", linewidth=1)
        format_date_axis(ax)
        ax.set_ylabel("Gap (months behind)")
        ax.set_xlabel("Date")
        mark_events(ax, run.scenario.get("events") or [])
        ax.legend(loc="best")
        titles(
            fig,
            "How many months open models trail the closed frontier",
            caption(
                run, "Thick: 6-month centred mean of the median; thin: monthly median; shading: 5-95% range"
            ),
        )
        return save(fig, Path(out_dir) / "gap.png")


def _with_events(what: str, run: RunData) -> str:
    """A caption's description, plus what the dotted lines are when the scenario has events."""
    if not run.scenario.get("events"):
        return what
    return f"{what}; dotted: scenario events (named on the gap chart)"


def plot_adoption(run: Run, out_dir: str | Path) -> Path:
    """adoption.png: open share of usage; share of open usage by origin bloc; open share by segment."""
    run = as_run(run)
    model = run.model
    blocs = [b for b in run.scenario.get("blocs") or {} if f"open_usage_share_origin_{b}" in model]
    segments = (run.scenario.get("adopters") or {}).get("segments") or {}
    segments = [s for s in segments if f"open_share_usage_{s}" in model]
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncols": 2, "fontsize": 14}
    with style():
        fig, axes = new_figure(1, 3, figsize=(20, 8), sharey=True)
        ax = axes[0]
        plot_band(ax, quantile_band(model, "open_share_usage", scale=100), color=OKABE_ITO["blue"])
        ax.set_title("Of all usage")
        ax.set_ylabel("Open models' share of token usage (%)")

        ax = axes[1]
        for i, bloc in enumerate(blocs):
            band = quantile_band(model, f"open_usage_share_origin_{bloc}", scale=100)
            plot_band(ax, band, color=bloc_colour(bloc, i), label=BLOC_NAMES.get(bloc, bloc))
        ax.set_title("Of open usage, by lab origin")
        ax.legend(**below)

        ax = axes[2]
        for i, seg in enumerate(segments):
            band = quantile_band(model, f"open_share_usage_{seg}", scale=100)
            plot_band(ax, band, color=LINE_COLOURS[i % len(LINE_COLOURS)], label=seg.replace("_", " "))
        ax.set_title("Of each type of user's usage")
        ax.legend(**below)

        events = run.scenario.get("events") or []
        for ax in axes:
            ax.set_ylim(0, 103)
            ax.set_xlabel("Date")
            format_date_axis(ax)
            mark_events(ax, events, notes_on=False)
        what = "Line: median; shading: 5-95% range" + ("; dotted: scenario events" if events else "")
        titles(fig, "How much open-weight models are used", caption(run, what))
        return save(fig, Path(out_dir) / "adoption.png")


def lab_medians(labs: pd.DataFrame, value: str, min_alive_fraction: float = 0.5) -> pd.DataFrame:
    """Median of ``value`` per (lab, date) over replicates where the lab is alive; NaN where it is alive
    in fewer than ``min_alive_fraction`` of the replicates (not entered yet, or gone)."""
    alive = labs["alive"].astype(bool)
    frame = labs.assign(_value=labs[value].where(alive), _alive=alive, _open=labs["open"].astype(float))
    out = frame.groupby(["lab", "date"], sort=True).agg(
        median=("_value", "median"), alive=("_alive", "mean"), open=("_open", "mean")
    )
    out.loc[out["alive"] < min_alive_fraction, "median"] = np.nan
    out = out.reset_index()
    out["x"] = to_dates(out["date"])
    return out


def ordered_blocs(blocs: pd.Series) -> list[str]:
    """The distinct blocs in the colour scheme's order (us, china, eu, other), unknown ones last."""
    order = list(BLOC_COLOURS)
    return sorted(
        dict.fromkeys(blocs.astype(str)), key=lambda b: order.index(b) if b in order else len(order)
    )


def _lab_lines(
    ax: Axes,
    run: RunData,
    value: str,
    clip: float | None = None,
    labs_only: bool = False,
    bloc: str | None = None,
) -> tuple[list[Line2D], list[Line2D]]:
    """One median line per lab: colour by origin bloc, dashed while open in most replicates and solid while
    closed (a lab that turns closed changes style), names at line ends. ``labs_only`` leaves out the open
    weights closed labs leave on the market (they have no finances). Returns legend handles for the colours
    and for the line styles. ``bloc``: only that bloc's labs."""
    labs = run.labs
    if labs_only and "kind" in labs:
        labs = labs[labs["kind"] == "lab"]
    if bloc is not None:
        labs = labs[labs["bloc"].astype(str) == bloc]
    medians = lab_medians(labs, value)
    first = labs.sort_values("tick", kind="stable").groupby("lab", sort=False).first()
    last_open = labs[labs["tick"] == labs["tick"].max()].groupby("lab")["open"].mean()
    ends = []
    for lab, rows in medians.groupby("lab", sort=False):
        info = first.loc[lab]
        colour = bloc_colour(str(info["bloc"]))
        y = rows["median"].clip(upper=clip) if clip is not None else rows["median"]
        is_open = (rows["open"] >= 0.5).to_numpy()
        joins = np.r_[False, is_open[1:] != is_open[:-1]]  # the first month of a new state joins the last
        for state, style in ((True, "--"), (False, "-")):
            keep = (is_open == state) | joins
            ax.plot(rows["x"], y.where(keep), color=colour, linestyle=style, linewidth=2.5)
        valid = y.notna()
        if valid.any():
            name = str(lab)
            if bool(info["open"]) and last_open.get(lab, 1.0) < 0.5:
                name += " (turned closed)"
            ends.append((rows["x"][valid].iloc[-1], float(y[valid].iloc[-1]), name, colour))
    label_line_ends(ax, ends)
    blocs = ordered_blocs(first["bloc"])
    colours = [Line2D([], [], color=bloc_colour(b), label=BLOC_LABS.get(b, f"{b} labs")) for b in blocs]
    styles = [
        Line2D([], [], color=GREY, linestyle="-", label="closed weights"),
        Line2D([], [], color=GREY, linestyle="--", label="open weights"),
    ]
    return colours, styles


def key_above(ax: Axes, top: list[Line2D], bottom: list[Line2D]) -> None:
    """A two-row legend just above the axes: ``top`` on the first row, ``bottom`` on the second."""
    ncols = max(len(top), len(bottom))
    blank = Line2D([], [], linestyle="none", label=" ")
    top = top + [blank] * (ncols - len(top))
    bottom = bottom + [blank] * (ncols - len(bottom))
    handles = [h for pair in zip(top, bottom, strict=True) for h in pair]  # legends fill column by column
    ax.legend(handles=handles, ncols=ncols, loc="lower left", bbox_to_anchor=(0, 1.01), borderaxespad=0)


def plot_capabilities(run: Run, out_dir: str | Path) -> Path:
    """capabilities.png: each lab's released true capability (median across replicates)."""
    run = as_run(run)
    with style():
        fig, ax = new_figure(figsize=(14, 8.5))
        format_date_axis(ax)
        ax.set_ylabel("True capability (ECI points)")
        ax.set_xlabel("Date")
        key_above(ax, *_lab_lines(ax, run, "capability_true_eci"))
        mark_events(ax, run.scenario.get("events") or [], notes_on=False)
        titles(
            fig,
            "Capability of each lab's latest released model",
            caption(run, _with_events("Lines: medians", run)),
        )
        return save(fig, Path(out_dir) / "capabilities.png")


def plot_runways(run: Run, out_dir: str | Path) -> Path:
    """runways.png: months of cash left at each lab's burn rate (median), capped for display, one panel per
    origin bloc (small multiples: 14 crossing lines on one chart cannot be read)."""
    run = as_run(run)
    cap = RUNWAY_DISPLAY_CAP_MONTHS
    labs = run.labs[run.labs["kind"] == "lab"] if "kind" in run.labs else run.labs
    blocs = ordered_blocs(labs["bloc"])
    ncols = 2 if len(blocs) > 1 else 1
    nrows = -(-len(blocs) // ncols)
    trigger = (run.scenario.get("world") or {}).get("fundraise_trigger_months")
    events = run.scenario.get("events") or []
    with style():
        fig, axes = new_figure(
            nrows, ncols, figsize=(14, 4.2 * nrows + 1.5), sharex=True, sharey=True, squeeze=False
        )
        flat = list(axes.flat)
        styles: list[Line2D] = []
        for ax, bloc in zip(flat, blocs, strict=False):
            format_date_axis(ax)
            ax.set_ylim(0, cap * 1.04)
            _, styles = _lab_lines(ax, run, "runway_months", clip=cap, labs_only=True, bloc=bloc)
            ax.set_title(BLOC_LABS.get(bloc, f"{bloc} labs"), loc="left", color=bloc_colour(bloc))
            if trigger is not None and trigger < cap:
                ax.axhline(trigger, color="black", linestyle=":", linewidth=2)
            mark_events(ax, events, notes_on=False)
        for ax in flat[len(blocs) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel("Runway (months)")
        if trigger is not None and trigger < cap:
            styles.append(
                Line2D(
                    [], [], color="black", linestyle=":", label=f"labs raise money below {trigger:g} months"
                )
            )
        fig.legend(handles=styles, loc="outside lower center", ncols=len(styles), frameon=False)
        titles(
            fig,
            "Each lab's runway: months of cash left",
            caption(
                run,
                _with_events(f"Lines: medians; runways over {cap:.0f} months are drawn at {cap:.0f}", run),
            ),
        )
        return save(fig, Path(out_dir) / "runways.png")


# -- overlays of several runs (comparisons) --------------------------------------------------------------

SCENARIO_LINESTYLES = ["-", "--", "-.", (0, (5, 1, 1, 1, 1, 1))]  # tell scenarios apart in grey print too


@dataclass
class OverlaySeries:
    """One scenario in an overlay figure: its model table cut to the compared window, its colour and line
    style, and its events (``at``, ``note``) inside the window. ``start`` is the run's first month."""

    label: str
    model: pd.DataFrame
    colour: str
    start: str
    events: list[dict[str, Any]] = field(default_factory=list)
    linestyle: Any = "-"


@dataclass(frozen=True)
class Overlay:
    """An overlay figure: one panel per (metric column, panel title), every scenario drawn in each."""

    filename: str
    title: str
    ylabel: str
    panels: tuple[tuple[str, str], ...]
    scale: float = 1.0
    ylim: tuple[float, float | None] | None = None  # None at the top: automatic
    zero_line: bool = False


def scenario_style(i: int) -> tuple[str, Any]:
    """Colour and line style of the ``i``-th scenario of a comparison (the reference is 0)."""
    return LINE_COLOURS[i % len(LINE_COLOURS)], SCENARIO_LINESTYLES[i % len(SCENARIO_LINESTYLES)]


def overlays(blocs: Sequence[str]) -> list[Overlay]:
    """The headline overlay figures of a comparison, for the given origin blocs."""
    origin = tuple((f"open_usage_share_origin_{b}", BLOC_LABS.get(b, f"{b} labs")) for b in blocs)
    alive = tuple((f"labs_alive_{b}", BLOC_LABS.get(b, f"{b} labs")) for b in blocs)
    return [
        Overlay(
            "gap.png",
            "How many months open models trail the closed frontier",
            "Gap (months behind)",
            (("gap_months_true", "On true capability"), ("gap_months_benchmark", "On benchmark scores")),
            zero_line=True,
        ),
        Overlay(
            "open_share.png",
            "Open models' share of all token usage",
            "Share of usage (%)",
            (("open_share_usage", "Of all usage"),),
            scale=100,
            ylim=(0, 100),
        ),
        Overlay(
            "open_usage_by_origin.png",
            "Share of open-model usage by the labs' origin",
            "Share of open usage (%)",
            origin,
            scale=100,
            ylim=(0, 100),
        ),
        Overlay("labs_alive.png", "Labs still in business, by origin", "Labs alive", alive, ylim=(0, None)),
    ]


def plot_overlays(series: Sequence[OverlaySeries], out_dir: str | Path, axis: str = "date") -> list[Path]:
    """Every overlay figure of a comparison into ``out_dir``. ``axis``: "date" (calendar months) or
    "month" (months since each run's start, when the runs start on different dates)."""
    blocs = list(dict.fromkeys(b for s in series for b in _blocs_in(s.model)))
    return [plot_overlay(series, overlay, out_dir, axis) for overlay in overlays(blocs)]


def _blocs_in(model: pd.DataFrame) -> list[str]:
    prefix = "labs_alive_"
    return [c[len(prefix) :] for c in model.columns if c.startswith(prefix) and c[len(prefix) :] in BLOC_LABS]


def plot_overlay(series: Sequence[OverlaySeries], overlay: Overlay, out_dir: str | Path, axis: str) -> Path:
    """One overlay figure: per panel, each scenario's median line and 5-95% band in its colour; scenario
    events as numbered dotted lines, explained in the caption."""
    n = len(overlay.panels)
    nrows, ncols = (1, n) if n <= 2 else (2, (n + 1) // 2)
    size = {1: (13.33, 7.5), 2: (16, 7.5)}.get(n, (8 * ncols, 5.2 * nrows + 1.8))
    events = _numbered_events(series, axis)
    with style():
        fig, axes = new_figure(nrows, ncols, figsize=size, sharey=True, squeeze=False)
        flat = list(axes.flat)
        for ax, (column, panel_title) in zip(flat, overlay.panels, strict=False):
            for s in series:
                if column in s.model:
                    band = _overlay_band(s.model, column, overlay.scale, axis)
                    plot_band(ax, band, color=s.colour, linestyle=s.linestyle)
            if overlay.zero_line:
                ax.axhline(0, color="black", linewidth=1)
            ax.set_title(panel_title if n > 1 else "")
            if axis == "date":
                format_date_axis(ax)
            ax.set_xlabel("Date" if axis == "date" else "Months since the start of each run")
        for ax in flat[n:]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel(overlay.ylabel)
        if overlay.ylim:
            flat[0].set_ylim(*overlay.ylim)
        lo, hi = flat[0].get_ylim()
        if events:
            flat[0].set_ylim(lo, hi + (hi - lo) * 0.08)  # headroom for the event numbers (y is shared)
        for ax in flat[:n]:
            _mark_numbered_events(ax, events)
        handles = [Line2D([], [], color=s.colour, linestyle=s.linestyle, label=s.label) for s in series]
        fig.legend(handles=handles, loc="outside right upper", title="Scenario", alignment="left")
        titles(fig, overlay.title, _overlay_caption(series, events))
        return save(fig, Path(out_dir) / overlay.filename)


def _overlay_band(model: pd.DataFrame, column: str, scale: float, axis: str) -> pd.DataFrame:
    if axis == "date":
        return quantile_band(model, column, scale=scale)
    band = quantile_band(model, column, by=("tick",), scale=scale)
    band["x"] = band["tick"]
    return band


def _numbered_events(series: Sequence[OverlaySeries], axis: str) -> list[tuple[float, str, str]]:
    """Events of every scenario as (x, colour, key text), numbered in date order; an event that several
    scenarios share is drawn once, in grey, and names them all."""
    from .config import months_between

    found: dict[tuple[float, str], list[OverlaySeries]] = {}
    for s in series:
        for event in s.events:
            at, note = str(event["at"]), str(event.get("note") or "change of parameters")
            x = mdates.date2num(to_dates([at])[0]) if axis == "date" else months_between(s.start, at)
            found.setdefault((float(x), f"{at} {note}"), []).append(s)
    out = []
    for (x, text), owners in sorted(found.items()):
        colour = owners[0].colour if len(owners) == 1 else GREY
        out.append((x, colour, f"{text} ({', '.join(dict.fromkeys(o.label for o in owners))})"))
    return out


def _mark_numbered_events(ax: Axes, events: Sequence[tuple[float, str, str]]) -> None:
    for number, (x, colour, _) in enumerate(events, start=1):
        ax.axvline(x, color=colour, linestyle=":", linewidth=2.5)
        ax.annotate(
            str(number),
            xy=(x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -4),
            textcoords="offset points",
            va="top",
            ha="left",
            fontsize=14,
            fontweight="bold",
            color=colour,
        )


def _overlay_caption(series: Sequence[OverlaySeries], events: Sequence[tuple[float, str, str]]) -> str:
    counts = sorted({int(s.model["replicate"].nunique()) for s in series})
    runs = " or ".join(str(c) for c in counts)
    text = f"Lines: median across {runs} runs per scenario; shading: 5-95% range."
    if events:
        keys = [f"{i}: {textwrap.shorten(key, 90)}" for i, (_, _, key) in enumerate(events, start=1)]
        text += " Dotted lines: scenario events.\n" + "\n".join(keys)
    return text


@dataclass
class DifferenceChart:
    """A paired difference over time for one metric: per scenario (label, colour, line style, band with
    columns pos, date, mean, p5, p95 in display units)."""

    metric: str
    title: str
    ylabel: str
    series: list[tuple[str, str, Any, pd.DataFrame]]
    starts: list[str] = field(default_factory=list)  # first months ('YYYY-MM') of the headline windows

    @property
    def filename(self) -> str:
        return f"difference_{self.metric}.png"


def plot_differences(
    charts: Sequence[DifferenceChart], out_dir: str | Path, axis: str = "date"
) -> list[Path]:
    """Each paired-difference chart into ``out_dir``: per scenario the mean difference per month as a line
    and its 5-95% range across replicates as a band, a zero line, the y axis scaled to the difference."""
    return [plot_difference(chart, out_dir, axis) for chart in charts]


def plot_difference(chart: DifferenceChart, out_dir: str | Path, axis: str) -> Path:
    with style():
        fig, ax = new_figure(figsize=(13.33, 5.5))
        for label, colour, linestyle, band in chart.series:
            x = to_dates(band["date"]) if axis == "date" else band["pos"]
            ax.fill_between(x, band["p5"], band["p95"], color=colour, alpha=BAND_ALPHA, linewidth=0)
            ax.plot(x, band["mean"], color=colour, linestyle=linestyle, label=label)
        ax.axhline(0, color="black", linewidth=1)
        starts = sorted(set(chart.starts)) if axis == "date" else []
        for start in starts:
            ax.axvline(to_dates([start])[0], color=GREY, linestyle="--", linewidth=1.5)
        ax.autoscale(axis="y", tight=False)
        lo, hi = ax.get_ylim()
        if hi - lo < 1e-9:  # a difference of exactly zero: a small symmetric axis around it
            ax.set_ylim(-1, 1)
        if axis == "date":
            format_date_axis(ax)
        ax.set_xlabel("Date" if axis == "date" else "Months since the start of the compared window")
        ax.set_ylabel(chart.ylabel)
        ax.legend(loc="upper left", title="Scenario minus reference")
        what = "Line: mean paired difference (same seeds) per month; shading: 5-95% range."
        if starts:
            what += f" Dashed: the headline's average runs from {' / '.join(starts)} on."
        titles(fig, chart.title, what)
        return save(fig, Path(out_dir) / chart.filename)
