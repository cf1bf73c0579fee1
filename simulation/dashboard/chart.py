"""The what-if page's figure: the gap in months and adoption shares so far, the baseline faint behind.

Drawn with the project's plotting style and palette (``plotting.py``), at a size for a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..plotting import (
    BLOC_COLOURS,
    BLOC_NAMES,
    GREY,
    OKABE_ITO,
    mark_events,
    style,
    to_dates,
)

PAGE_STYLE = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "lines.linewidth": 2.2,
}
# The presentation layout: the figure spans a projector's width (1400-1920 px), read from the back.
PRESENTATION_STYLE = {
    "font.size": 15,
    "axes.titlesize": 18,
    "axes.labelsize": 15,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 14,
    "lines.linewidth": 3.0,
}
SIZES = {False: (14, 4.8), True: (21, 6.6)}  # inches; drawn at 90 dpi: 1260 and 1890 px wide
FAINT = {"color": GREY, "alpha": 0.35, "linewidth": 1.8}
GAPS = (  # the benchmark gap first: the one Epoch AI's data can check; the true one rests on an assumption
    ("gap_months_benchmark", "Benchmark scores", OKABE_ITO["vermillion"], "-"),
    ("gap_months_true", "True capability (assumed focus)", OKABE_ITO["blue"], "--"),
)


def figure(
    run: pd.DataFrame,
    baseline: pd.DataFrame,
    blocs: Sequence[str],
    events: Sequence[dict[str, Any]],
    span: tuple[str, str],
    presentation: bool = False,
) -> Figure:
    """Three panels: gap (months), open share of usage (%), open usage by lab origin (%), over ``span``
    (first and last month of the scenario), so the lines grow into a fixed frame. ``presentation``: wider,
    with larger type, for the presentation layout."""
    with style(), matplotlib.rc_context(PRESENTATION_STYLE if presentation else PAGE_STYLE):
        fig = Figure(figsize=SIZES[presentation])  # fixed margins: constrained layout is too slow for playing
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 3)
        fig.subplots_adjust(left=0.045, right=0.99, bottom=0.2, top=0.92, wspace=0.2)
        x_run, x_base = to_dates(run["date"]), to_dates(baseline["date"])
        ax = axes[0]
        for column, label, colour, ls in GAPS:
            ax.plot(x_base, baseline[column], linestyle=ls, **FAINT)
            ax.plot(x_run, run[column], color=colour, linestyle=ls, label=label)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title("Months open models trail")
        ax.set_ylabel("Gap (months)")

        ax = axes[1]
        ax.plot(x_base, baseline["open_share_usage"] * 100, **FAINT)
        ax.plot(x_run, run["open_share_usage"] * 100, color=OKABE_ITO["blue"])
        ax.set_title("Open models' share of usage")
        ax.set_ylabel("Share of token usage (%)")

        ax = axes[2]
        for bloc in blocs:
            column = f"open_usage_share_origin_{bloc}"
            colour = BLOC_COLOURS.get(bloc, GREY)
            if column in baseline:
                ax.plot(x_base, baseline[column] * 100, color=colour, alpha=0.3, linewidth=1.5)
            ax.plot(x_run, run[column] * 100, color=colour, label=BLOC_NAMES.get(bloc, bloc))
        ax.set_title("Open usage by lab origin")
        ax.set_ylabel("Share of open usage (%)")

        for ax in axes[1:]:
            ax.set_ylim(0, 100)
        first, last = to_dates(span)
        for ax in axes:
            _frame(ax, first, last, events)
        axes[0].plot([], [], label="Baseline (faint)", **FAINT)
        below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.1)}  # never over the lines
        axes[0].legend(ncols=2, **below)  # three would spill past the figure's left edge
        axes[1].plot([], [], label="What-if", color=OKABE_ITO["blue"])
        axes[1].plot([], [], label="Baseline (faint)", **FAINT)
        axes[1].legend(ncols=2, **below)
        axes[2].legend(ncols=len(blocs), **below)
        return fig


def _frame(ax: Axes, first: pd.Timestamp, last: pd.Timestamp, events: Sequence[dict[str, Any]]) -> None:
    ax.set_xlim(first, last)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # 4 years: every 6 months, no warning
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    mark_events(ax, events, notes_on=False)
