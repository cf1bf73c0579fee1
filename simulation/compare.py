"""Compare saved runs side by side: overlay figures, differences against a reference, one HTML report.

``compare([run_a, run_b, ...])`` reads run folders written by ``run.py`` and writes a new comparison folder
``<out>/compare/<YYYYmmdd-HHMMSS>-<id>/`` (UTC time, 6 hex digits), built under a hidden temporary name and
renamed when complete, like a run folder::

    report.html                    everything below in one self-contained page (offline, printable)
    differences.csv, .md           each key indicator per scenario minus the reference
    differences_by_replicate.csv   the per-replicate differences behind the paired intervals
    comparison.json                what was compared: run folders, reference, window, pairing, command
    plots/                         overlay figures, one colour per scenario

Runs that share the root seed and each replicate's model seed (several scenarios in one ``run.py``
command do) are *paired*: replicate i of each drew the same random numbers, so differences are taken
replicate by replicate and their 5-95% interval shows the scenario's effect, not sampling noise. Unpaired
runs get the difference of medians and the 5-95% range of all cross-replicate differences, flagged as
not paired. Anything that cannot be compared raises :class:`CompareError` before anything is written.

Run folders are untrusted: they are read with every check of :func:`~simulation.outputs.read_run`, and any
text from them (scenario, lab and bloc names, descriptions, event notes) is escaped where it is written:
HTML in the report, Markdown in differences.md, and cells a spreadsheet would take for a formula
neutralised (a leading ``'``) in the CSV files.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .config import add_months, months_between
from .datadict import compact, parameter_label, parameter_rows
from .experiments.summary import indicators
from .outputs import MANIFEST, TMP_PREFIX, RunData, RunFolderError, _new_run_path, latest_run, read_run

Align = Literal["truncate", "calendar"]
ALIGN_CHOICES: tuple[str, ...] = ("truncate", "calendar")
COMPARE_DIR = "compare"
FILES = {
    "report": "report.html",
    "csv": "differences.csv",
    "md": "differences.md",
    "replicates": "differences_by_replicate.csv",
    "manifest": "comparison.json",
    "plots": "plots",
}
BLOC_NAMES = {"us": "US", "china": "Chinese", "eu": "EU", "other": "Other"}
LAST_MONTHS = 12  # window averages over the last year compared: what a reader can hold against data
FOCUS_CAVEAT = "depends on the assumed benchmark focus"
# Key indicators in table order: name -> (label, unit, scale). Per-bloc ones are added by ``indicator_info``.
# The benchmark gap leads: it is what Epoch AI's ECI data measure; the true gap is the benchmark gap without
# each lab's assumed benchmark focus, so it is labelled as resting on that assumption.
INDICATORS: dict[str, tuple[str, str, float]] = {
    "gap_months_benchmark_last12": (
        f"Gap on benchmark scores, mean over the last {LAST_MONTHS} months (comparable to Epoch AI's ECI data)",
        "months",
        1,
    ),
    "gap_months_benchmark_end": ("Gap on benchmark scores at the end", "months", 1),
    "gap_months_benchmark_mean": ("Gap on benchmark scores, period average", "months", 1),
    "gap_months_true_last12": (
        f"Gap on true capability, mean over the last {LAST_MONTHS} months ({FOCUS_CAVEAT})",
        "months",
        1,
    ),
    "gap_months_true_end": (f"Gap on true capability at the end ({FOCUS_CAVEAT})", "months", 1),
    "gap_months_true_mean": (f"Gap on true capability, period average ({FOCUS_CAVEAT})", "months", 1),
    "gap_points_true_end": (f"Gap on true capability at the end ({FOCUS_CAVEAT})", "ECI points", 1),
    "open_share_usage_end": ("Open models' share of usage at the end", "%", 100),
    "open_share_usage_mean": ("Open models' share of usage, period average", "%", 100),
    "open_share_spend_end": ("Open models' share of spending at the end", "%", 100),
    "top_open_share_of_open_usage_end": ("Top open lab's share of open usage at the end", "%", 100),
    "hhi_usage_end": ("Usage concentration at the end (HHI, 0-1)", "index", 1),
}
QUANTILES = (0.05, 0.5, 0.95)


class CompareError(ValueError):
    """Runs that cannot be compared. ``str(err)`` is the one line shown to the user."""


@dataclass
class Pairing:
    """Whether a scenario's replicates pair with the reference's, over which replicates, and why (not)."""

    paired: bool
    replicates: list[int]
    reason: str


@dataclass
class Changes:
    """What a scenario changes relative to the reference, in readable pieces."""

    values: list[tuple[str, Any, Any]] = field(default_factory=list)  # (dotted path, reference, scenario)
    labs_added: list[str] = field(default_factory=list)
    labs_removed: list[str] = field(default_factory=list)
    events_added: list[str] = field(default_factory=list)
    events_removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.values, self.labs_added, self.labs_removed, self.events_added, self.events_removed))


@dataclass
class Compared:
    """One run in a comparison: its label, its model table and indicators over the compared window."""

    label: str
    run: RunData
    model: pd.DataFrame
    per_replicate: pd.DataFrame
    events: list[dict[str, Any]]


@dataclass
class Comparison:
    """Runs aligned on a common window (``runs[0]`` is the reference) and everything derived from them."""

    runs: list[Compared]
    align: str | None
    window: str
    axis: Literal["date", "month"]
    pairing: dict[str, Pairing]
    differences: pd.DataFrame
    by_replicate: pd.DataFrame
    changes: dict[str, Changes]

    @property
    def reference(self) -> Compared:
        return self.runs[0]


# -- the entry point -------------------------------------------------------------------------------------


def compare(
    run_dirs: Sequence[str | Path],
    reference: str | Path | None = None,
    out: str | Path = "outputs",
    align: Align | None = None,
    command: str | None = None,
) -> Path:
    """Compare run folders against ``reference`` (default: the first) and write a new comparison folder
    under ``out/compare/``; return its path. ``align``: how to compare runs of different lengths or
    start dates ("truncate": the first months they all have; "calendar": the calendar months they share).
    Raises :class:`CompareError` (nothing written) when the runs cannot be compared."""
    comparison = build(load_runs(run_dirs, reference), align)
    return write_comparison(comparison, out, command)


def resolve_run_dir(path: str | Path) -> Path:
    """A run folder as given, or, for a scenario's folder (``outputs/ban``), its newest complete run."""
    path = Path(path)
    if (path / MANIFEST).exists() or not path.is_dir():
        return path
    latest = latest_run(path)
    if latest is None:
        raise CompareError(f"{path}: not a run folder, nor a scenario folder with a complete run")
    return latest


def load_runs(run_dirs: Sequence[str | Path], reference: str | Path | None = None) -> list[RunData]:
    """Read the run folders (a scenario's folder stands for its newest complete run), the reference first
    (added if it is not among ``run_dirs``)."""
    paths = [resolve_run_dir(p) for p in run_dirs]
    if reference is not None:
        ref = resolve_run_dir(reference)
        at = next((i for i, p in enumerate(paths) if _same_path(p, ref)), None)
        paths = [ref, *(p for i, p in enumerate(paths) if i != at)]
    if len(paths) < 2:
        raise CompareError(f"compare needs at least two run folders (got {len(paths)})")
    try:
        return [read_run(p) for p in paths]
    except RunFolderError as err:
        raise CompareError(str(err)) from None


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def build(runs: Sequence[RunData], align: str | None = None) -> Comparison:
    """Align the runs on a common window and compute pairing, differences and scenario changes."""
    if align is not None and align not in ALIGN_CHOICES:
        raise CompareError(f"--align must be one of {', '.join(ALIGN_CHOICES)}, not {align!r}")
    if len(runs) < 2:
        raise CompareError(f"compare needs at least two run folders (got {len(runs)})")
    models, window, axis = align_models(runs, align)
    labels = unique_labels([r.name for r in runs])
    compared = [
        Compared(label, run, model, checked_indicators(run, model), events_in(run, model))
        for label, run, model in zip(labels, runs, models, strict=True)
    ]
    ref = compared[0]
    pairing = {c.label: pair(ref.run, c.run) for c in compared[1:]}
    table, by_rep = differences(ref, compared[1:], pairing)
    changes = {c.label: scenario_changes(ref.run.scenario, c.run.scenario) for c in compared[1:]}
    return Comparison(compared, align, window, axis, pairing, table, by_rep, changes)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Scenario names, with ``(run 2)``, ``(run 3)`` ... added where a name repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} (run {seen[name]})")
    return out


# -- alignment -------------------------------------------------------------------------------------------


def span(run: RunData) -> tuple[str, int]:
    """(first month 'YYYY-MM', number of months) of a run."""
    return str(run.manifest.get("start") or run.scenario["start"]), int(
        run.manifest.get("months") or run.scenario["months"]
    )


def align_models(
    runs: Sequence[RunData], align: str | None
) -> tuple[list[pd.DataFrame], str, Literal["date", "month"]]:
    """Each run's model table cut to the compared window, the window in words, and the x axis to plot on."""
    spans = [span(r) for r in runs]
    starts = {s for s, _ in spans}
    lengths = {m for _, m in spans}
    if len(starts) == 1 and len(lengths) == 1:
        start, months = spans[0]
        return [r.model for r in runs], _window_text(start, months), "date"
    if align is None:
        shown = "; ".join(f"{r.name}: {m} months from {s}" for r, (s, m) in zip(runs, spans, strict=True))
        raise CompareError(
            f"runs differ in length or start date ({shown}); "
            "use --align truncate (the first months they all have) or --align calendar (the months they share)"
        )
    if align == "truncate":
        months = min(lengths)
        models = [r.model[r.model["tick"] < months] for r in runs]
        if len(starts) == 1:
            return models, _window_text(spans[0][0], months) + ", the months all runs have", "date"
        return models, f"the first {months} months of each run (they start on different dates)", "month"
    first = max(s for s, _ in spans)  # calendar: 'YYYY-MM' strings sort by date
    last = min(add_months(s, m - 1) for s, m in spans)
    if first > last:
        raise CompareError("the runs share no calendar month, so --align calendar has nothing to compare")
    models = [r.model[(r.model["date"] >= first) & (r.model["date"] <= last)] for r in runs]
    return (
        models,
        _window_text(first, months_between(first, last) + 1) + ", the calendar months all runs share",
        "date",
    )


def _window_text(start: str, months: int) -> str:
    return f"{start} to {add_months(start, months - 1)} ({months} months)"


def per_replicate(run: RunData, model: pd.DataFrame) -> pd.DataFrame:
    """Key indicators per replicate over the window (``indicators`` reads only the scenario's blocs), with
    the gaps' means over the window's last :data:`LAST_MONTHS` months (``<metric>_last12``)."""
    blocs = run.scenario.get("blocs") or {}
    table = indicators(model, SimpleNamespace(blocs=blocs))  # type: ignore[arg-type]
    last = model[model["tick"] > model["tick"].max() - LAST_MONTHS].groupby("replicate")
    for metric in ("gap_months_benchmark", "gap_months_true"):
        table[f"{metric}_last12"] = last[metric].mean()
    return table


def checked_indicators(run: RunData, model: pd.DataFrame) -> pd.DataFrame:
    """:func:`per_replicate`, refused with a :class:`CompareError` naming the run folder when its model
    table lacks a column an indicator needs or an indicator comes out NaN or infinite (say a zero it
    divides by): a comparison never shows a number it could not compute."""
    try:
        table = per_replicate(run, model)
    except KeyError as err:
        raise CompareError(
            f"{run.path}: timeseries.csv has no column {err.args[0]!r}, which the comparison needs"
        ) from None
    numbers = table.apply(pd.to_numeric, errors="coerce")
    bad = [str(c) for c in numbers.columns if not np.isfinite(numbers[c].to_numpy(dtype=float)).all()]
    if bad:
        raise CompareError(
            f"{run.path}: indicator {bad[0]!r} is not a finite number in every replicate "
            "(from the values in timeseries.csv over the compared window)"
        )
    return table


def events_in(run: RunData, model: pd.DataFrame) -> list[dict[str, Any]]:
    """The run's scenario events whose month falls inside the compared window."""
    dates = set(model["date"].astype(str))
    return [e for e in run.scenario.get("events") or [] if str(e.get("at")) in dates]


# -- pairing and differences -----------------------------------------------------------------------------


def pair(reference: RunData, run: RunData) -> Pairing:
    """Paired when both runs have the same root seed and the same model seed for every replicate they
    both have (replicate seeds are spawned by index, so runs of different sizes share their first ones)."""
    seeds = (reference.manifest.get("seed"), run.manifest.get("seed"))
    if seeds[0] != seeds[1]:
        return Pairing(False, [], f"not paired: different root seeds ({seeds[0]} and {seeds[1]})")
    ref_seeds = reference.draws.set_index("replicate")["model_seed"]
    run_seeds = run.draws.set_index("replicate")["model_seed"]
    common = sorted(set(ref_seeds.index) & set(run_seeds.index))
    if not common or any(ref_seeds[i] != run_seeds[i] for i in common):
        return Pairing(False, [], "not paired: the replicates' model seeds differ")
    return Pairing(True, [int(i) for i in common], f"paired over {len(common)} replicates (shared seeds)")


def indicator_info(name: str) -> tuple[str, str, float]:
    """(label, unit, scale) of an indicator; per-bloc indicators are named after their bloc."""
    if name in INDICATORS:
        return INDICATORS[name]
    for prefix, label, unit, scale in (
        ("open_usage_share_origin_", "Share of open usage from {} labs at the end", "%", 100.0),
        ("labs_alive_", "{} labs alive at the end", "labs", 1.0),
    ):
        if name.startswith(prefix) and name.endswith("_end"):
            bloc = name[len(prefix) : -len("_end")]
            return label.format(BLOC_NAMES.get(bloc, bloc)), unit, scale
    return name, "", 1.0


def difference_unit(unit: str) -> str:
    """Unit of a difference: shares in % differ by percentage points."""
    return "percentage points" if unit == "%" else unit


def ordered_indicators(columns: Sequence[str]) -> list[str]:
    """Indicators in table order: the fixed ones, then per-bloc shares, then labs alive, then the rest."""
    rank = {name: i for i, name in enumerate(INDICATORS)}

    def key(name: str) -> tuple[int, int]:
        if name in rank:
            return 0, rank[name]
        return (
            1 if name.startswith("open_usage_share_origin_") else 2 if name.startswith("labs_alive_") else 3
        ), 0

    return sorted(columns, key=key)


def differences(
    ref: Compared, others: Sequence[Compared], pairing: dict[str, Pairing]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The difference table (one row per scenario and indicator, in display units) and the per-replicate
    differences behind the paired rows."""
    rows, rep_rows = [], []
    for other in others:
        p = pairing[other.label]
        common = [c for c in ref.per_replicate.columns if c in other.per_replicate.columns]
        for name in ordered_indicators(common):
            label, unit, scale = indicator_info(name)
            r, s = ref.per_replicate[name] * scale, other.per_replicate[name] * scale
            if p.paired:
                diff = s.loc[p.replicates] - r.loc[p.replicates]
                lo, mid, hi = np.quantile(diff.to_numpy(float), QUANTILES)
                interval = "paired: 5-95% of the per-replicate differences"
                rep_rows += [
                    {
                        "scenario": other.label,
                        "indicator": name,
                        "unit": difference_unit(unit),
                        "replicate": int(i),
                        "reference_value": float(r.loc[i]),
                        "scenario_value": float(s.loc[i]),
                        "difference": float(diff.loc[i]),
                    }
                    for i in p.replicates
                ]
            else:
                cross = np.subtract.outer(s.to_numpy(float), r.to_numpy(float)).ravel()
                lo, hi = np.quantile(cross, (QUANTILES[0], QUANTILES[2]))
                mid = float(s.median() - r.median())
                interval = "NOT PAIRED: difference of medians; 5-95% of all cross-replicate differences"
            rows.append(
                {
                    "scenario": other.label,
                    "reference": ref.label,
                    "indicator": name,
                    "label": label,
                    "unit": unit,
                    "difference_unit": difference_unit(unit),
                    "reference_median": float(r.median()),
                    "scenario_median": float(s.median()),
                    "difference": float(mid),
                    "difference_p5": float(lo),
                    "difference_p95": float(hi),
                    "paired": p.paired,
                    "paired_replicates": len(p.replicates),
                    "reference_replicates": len(r),
                    "scenario_replicates": len(s),
                    "interval": interval,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(
        rep_rows,
        columns=[
            "scenario",
            "indicator",
            "unit",
            "replicate",
            "reference_value",
            "scenario_value",
            "difference",
        ],
    )


# -- headlines: the effect of each scenario, in sentences -------------------------------------------------

KEY_METRICS = ("gap_months_benchmark", "open_share_usage", "gap_months_true")
LEAD_METRICS = ("gap_months_benchmark",)  # before the expected effects: what data can check
KEY_LABELS = {  # plain labels that say what a reader can check and what rests on an assumption
    "gap_months_benchmark": "Gap in months on benchmark scores, comparable to Epoch AI's ECI data",
    "gap_months_true": f"Gap in months on true capability, which {FOCUS_CAVEAT} of each lab",
}
HEADLINE_LEVEL = 0.90
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,80}")
YEAR_MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True)
class HeadlineSpec:
    """A metric to headline: the direction the scenario's ``expected_effects`` give (None for a key
    indicator) and the month its window starts from (``after:``; None: the default window)."""

    metric: str
    expected: str | None = None
    after: str | None = None


@dataclass
class Headline:
    """One scenario's effect on one timeseries metric: the mean over replicates of (scenario minus
    reference) of the metric's mean over the headline's window, with its 90% interval when the runs are
    paired. The window: for an expected effect, the months from its ``after:`` month (default: the
    scenario's first event, else the whole window); for a key indicator, the last :data:`LAST_MONTHS`
    months compared (from the first event if that is later). ``effect``, ``low``, ``high`` and ``levels``
    (reference and scenario means) are in the data's units (shares as fractions); ``text`` is the plain
    sentence (not escaped)."""

    scenario: str
    metric: str
    meaning: str
    expected: str | None  # the direction the scenario's expected_effects give, None for a key indicator
    effect: float | None  # None: the metric is not in both runs, or its window is outside the comparison
    low: float | None
    high: float | None
    paired: bool
    replicates: int
    window: str  # "YYYY-MM to YYYY-MM"
    text: str
    reference: str = ""
    levels: tuple[float, float] | None = None  # (reference, scenario) window means over replicates
    why: str = ""  # how the window was chosen, in words

    @property
    def moves(self) -> bool:
        """True when the interval excludes zero."""
        return self.low is not None and self.high is not None and not (self.low <= 0 <= self.high)

    @property
    def start(self) -> str:
        """The window's first month."""
        return self.window.split(" to ")[0]


def headline_metrics(compared: Compared) -> list[HeadlineSpec]:
    """The metrics to headline for a scenario: the benchmark gap first (checkable against data), then
    the scenario's ``expected_effects`` metrics in the order it gives them, then the other key metrics.
    A metric the scenario names as an expected effect keeps its direction and ``after:`` month."""
    expected: dict[str, HeadlineSpec] = {}
    for effect in compared.run.scenario.get("expected_effects") or []:
        metric = effect.get("metric") if isinstance(effect, dict) else None
        if isinstance(metric, str) and METRIC_NAME.fullmatch(metric) and metric not in expected:
            after = effect.get("after")
            after = str(after) if after is not None and YEAR_MONTH.fullmatch(str(after)) else None
            expected[metric] = HeadlineSpec(metric, str(effect.get("direction") or "") or None, after)
    out = {m: expected.get(m, HeadlineSpec(m)) for m in LEAD_METRICS}
    out.update((m, spec) for m, spec in expected.items() if m not in out)
    for metric in KEY_METRICS:
        out.setdefault(metric, HeadlineSpec(metric))
    return list(out.values())


def positioned(model: pd.DataFrame) -> pd.DataFrame:
    """The model table with ``pos``: the month's place in the compared window (0 = its first month), so
    runs aligned on different start dates line up month by month."""
    out = model.copy()
    out["pos"] = out["tick"] - out["tick"].min()
    return out


def effect_start(compared: Compared) -> tuple[int, str]:
    """(window position, 'YYYY-MM') of the scenario's first event in the window, or of the window's start."""
    dates = sorted(set(compared.model["date"].astype(str)))
    events = sorted(str(e.get("at")) for e in compared.events)
    first = events[0] if events else dates[0]
    return dates.index(first), first


def headline_window(compared: Compared, spec: HeadlineSpec) -> tuple[int, str, str] | None:
    """(window position, first month, why in words) of a headline's averaging window; None when an
    expected effect's ``after:`` month is after the compared window."""
    dates = sorted(set(compared.model["date"].astype(str)))
    event_pos, event = effect_start(compared)
    if spec.after is not None:
        later = [i for i, d in enumerate(dates) if d >= spec.after]
        if not later:
            return None
        return later[0], dates[later[0]], "from the month the expected effect is given for"
    if spec.expected is not None:
        why = "from the scenario's first event" if compared.events else "the whole window"
        return event_pos, event, why
    last = max(len(dates) - LAST_MONTHS, 0)
    if event_pos > last:
        return event_pos, event, f"from the scenario's first event (in the last {LAST_MONTHS} months)"
    if last == 0:
        return 0, dates[0], f"the whole window (under {LAST_MONTHS + 1} months)"
    return last, dates[last], f"the last {LAST_MONTHS} months"


def monthly_differences(
    ref: Compared, other: Compared, metric: str, replicates: Sequence[int]
) -> pd.DataFrame:
    """Scenario minus reference of ``metric`` per paired replicate and month of the window (data units):
    columns replicate, pos, date (the scenario's), difference."""
    a = positioned(other.model).set_index(["replicate", "pos"])
    b = positioned(ref.model).set_index(["replicate", "pos"])
    keep = a.index.intersection(b.index)
    keep = keep[keep.get_level_values("replicate").isin(list(replicates))]
    diff = a.loc[keep, metric].astype(float) - b.loc[keep, metric].astype(float)
    out = diff.rename("difference").reset_index()
    out["date"] = a.loc[keep, "date"].astype(str).to_numpy()
    return out.sort_values(["replicate", "pos"], ignore_index=True)


def window_means(compared: Compared, metric: str, start: int) -> pd.Series:
    """Per replicate: the mean of ``metric`` over the window's months from position ``start``."""
    frame = positioned(compared.model)
    frame = frame[frame["pos"] >= start]
    return frame.groupby("replicate")[metric].mean().astype(float)


def headlines(comparison: Comparison) -> dict[str, list[Headline]]:
    """For each scenario against the reference, one :class:`Headline` per metric of
    :func:`headline_metrics` (the benchmark gap first, then the expected effects)."""
    from .levers import mean_interval

    ref = comparison.reference
    out: dict[str, list[Headline]] = {}
    for other in comparison.runs[1:]:
        p = comparison.pairing[other.label]
        last = str(other.model["date"].astype(str).max())
        describe = _describer(other)
        rows = []
        for spec in headline_metrics(other):
            meaning, show, level = describe(spec.metric)
            effect = low = high = None
            levels = None
            found = headline_window(other, spec)
            start, first, why = found if found is not None else (0, str(spec.after), "")
            present = all(
                spec.metric in c.model.columns and pd.api.types.is_numeric_dtype(c.model[spec.metric])
                for c in (ref, other)
            )
            if present and found is not None:
                s, r = window_means(other, spec.metric, start), window_means(ref, spec.metric, start)
                levels = (float(r.mean()), float(s.mean()))
                if p.paired:
                    diffs = (s.loc[p.replicates] - r.loc[p.replicates]).to_numpy(float)
                    effect, low, high = mean_interval(diffs, HEADLINE_LEVEL)
                else:
                    effect = float(s.mean() - r.mean())
            h = Headline(
                other.label,
                spec.metric,
                meaning,
                spec.expected,
                effect,
                low,
                high,
                p.paired,
                len(p.replicates),
                f"{first} to {last}",
                "",
                ref.label,
                levels,
                why,
            )
            h.text = headline_text(h, show, p.reason, level, inside=found is not None, present=present)
            rows.append(h)
        out[other.label] = rows
    return out


def _describer(compared: Compared) -> Any:
    """A function metric -> (short meaning, formatter of a difference in display units, formatter of a
    level), from the data dictionary's declaration of the run's timeseries columns (rounding as declared);
    the key gaps get the labels of :data:`KEY_LABELS`."""
    from . import datadict
    from .config import scenario_from_dict

    try:
        scenario: Any = scenario_from_dict(compared.run.scenario)
    except Exception:  # noqa: BLE001 - a scenario the dictionary cannot read falls back to plain numbers
        scenario = None

    def describe(metric: str) -> tuple[str, Any, Any]:
        try:
            (decl,) = datadict.declarations(datadict.TABLES["model"], [metric], scenario)
        except Exception:  # noqa: BLE001
            return metric, lambda v: _signed(f"{v:.3g}"), lambda v: f"{v:.3g}"
        meaning = KEY_LABELS.get(metric) or re.split(r": | \(|, ", decl.meaning.rstrip("."), maxsplit=1)[0]
        unit = "" if datadict.is_fraction(decl.unit) else f" {decl.unit}" if decl.unit else ""
        if datadict.is_fraction(decl.unit):
            fmt = lambda v: _signed(decl.shown.format(v).removesuffix("%")) + " points"  # noqa: E731
        else:
            fmt = lambda v: _signed(decl.shown.format(v)) + unit  # noqa: E731
        return meaning, fmt, lambda v: decl.shown.format(v) + unit

    return describe


def _signed(text: str) -> str:
    """A leading + on a rounded number that is neither negative nor zero."""
    if text.startswith("-") or not _nonzero(text):
        return text
    return "+" + text


def _nonzero(text: str) -> bool:
    """Whether a rounded number's text has a digit other than 0 (before any unit)."""
    return any(ch in "123456789" for ch in text.split(" ")[0])


def headline_text(
    h: Headline, show: Any, reason: str, level: Any = None, inside: bool = True, present: bool = True
) -> str:
    """The sentence of a headline, e.g. 'Gap in months on benchmark scores, comparable to Epoch AI's ECI
    data (gap_months_benchmark), mean over 2028-01 to 2028-12, the last 12 months: ban 9.8 months, baseline
    9.7 months; difference +0.1 months [+0.0, +0.2] (90% interval over 8 paired replicates).'"""
    name = f"{h.meaning} ({h.metric}" + (f", expected {h.expected})" if h.expected else ")")
    if not present:
        return f"{name}: not in the timeseries of both runs, so no effect can be given."
    if not inside or h.effect is None:
        return f"{name}: its window starts {h.start}, after the compared window, so no effect can be given."
    where = f"mean over {h.window}, {h.why}" if h.why else f"mean over {h.window}"
    levels = ""
    if h.levels is not None and level is not None:
        levels = f"{h.scenario} {level(h.levels[1])}, {h.reference} {level(h.levels[0])}; "
    number = show(h.effect)
    if h.low is None or h.high is None:
        return f"{name}, {where}: {levels}difference of the replicate means {number}; {reason}, so no interval is given."
    lo, hi = show(h.low).split(" ")[0], show(h.high).split(" ")[0]
    interval = f"{number} [{lo}, {hi}]"
    over = f"{int(HEADLINE_LEVEL * 100)}% interval over {h.replicates} paired replicates"
    if not h.moves:
        return f"{name}, {where}: {levels}difference {interval}, does not move detectably ({over})."
    if not (_nonzero(lo) or _nonzero(hi)):
        return f"{name}, {where}: {levels}difference {interval}, no change at this precision ({over})."
    return f"{name}, {where}: {levels}difference {interval} ({over})."


def headline_lines(comparison: Comparison, found: dict[str, list[Headline]] | None = None) -> list[str]:
    """The headlines as printable lines: one heading per scenario, one indented sentence per metric."""
    found = headlines(comparison) if found is None else found
    lines = []
    for label, rows in found.items():
        lines.append(f"{label} vs {comparison.reference.label}:")
        lines += [f"  - {h.text}" for h in rows]
    return lines


def difference_bands(
    comparison: Comparison, found: dict[str, list[Headline]]
) -> dict[str, list[tuple[str, pd.DataFrame]]]:
    """Per headline metric, for each paired scenario: (label, band) with the paired difference per month
    in display units (shares in percentage points): columns pos, date, mean, p5, p95."""
    ref = comparison.reference
    out: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for other in comparison.runs[1:]:
        p = comparison.pairing[other.label]
        if not p.paired:
            continue
        for h in found.get(other.label, []):
            if h.effect is None:
                continue
            scale = 100.0 if h.metric in other.model and _is_share(other, h.metric) else 1.0
            diffs = monthly_differences(ref, other, h.metric, p.replicates)
            grouped = diffs.groupby(["pos", "date"], sort=True)["difference"]
            band = pd.DataFrame(
                {
                    "mean": grouped.mean() * scale,
                    "p5": grouped.quantile(QUANTILES[0]) * scale,
                    "p95": grouped.quantile(QUANTILES[2]) * scale,
                }
            ).reset_index()
            out.setdefault(h.metric, []).append((other.label, band))
    return out


def _is_share(compared: Compared, metric: str) -> bool:
    from . import datadict
    from .config import scenario_from_dict

    try:
        (decl,) = datadict.declarations(
            datadict.TABLES["model"], [metric], scenario_from_dict(compared.run.scenario)
        )
    except Exception:  # noqa: BLE001
        return False
    return datadict.is_fraction(decl.unit)


# -- what a scenario changes -----------------------------------------------------------------------------

SKIPPED_KEYS = ("name", "description", "events", "labs", "expected_effects")


def scenario_changes(reference: dict[str, Any], scenario: dict[str, Any]) -> Changes:
    """A readable diff of two resolved scenarios: changed values by dotted path (labs both have included),
    labs added or removed, events added or removed. Names, descriptions and expected effects are left out."""
    out = Changes()
    ref_flat, sc_flat = flatten(_without(reference)), flatten(_without(scenario))
    ref_labs, sc_labs = reference.get("labs") or {}, scenario.get("labs") or {}
    out.labs_added = [lab for lab in sc_labs if lab not in ref_labs]
    out.labs_removed = [lab for lab in ref_labs if lab not in sc_labs]
    for lab in (lab for lab in sc_labs if lab in ref_labs):
        ref_flat.update(flatten(ref_labs[lab], f"labs.{lab}"))
        sc_flat.update(flatten(sc_labs[lab], f"labs.{lab}"))
    for key in dict.fromkeys([*ref_flat, *sc_flat]):
        a, b = ref_flat.get(key, MISSING), sc_flat.get(key, MISSING)
        if a != b:
            out.values.append((key, a, b))
    ref_events = [describe_event(e) for e in reference.get("events") or []]
    sc_events = [describe_event(e) for e in scenario.get("events") or []]
    out.events_added = [e for e in sc_events if e not in ref_events]
    out.events_removed = [e for e in ref_events if e not in sc_events]
    return out


def plain_changes(changes: Changes, scenario: dict[str, Any]) -> list[str]:
    """What a scenario changes in plain words, one line per changed value, from the schema's descriptions
    and units (``simulation.parameters``), e.g. "Lab meta: what the lab does when an open-weight ban binds
    its next open release: stop_open_releases -> close". Uncertain values say what they are drawn from;
    events say their month and what they set. A path the schema does not describe keeps its dotted name."""
    rows = parameter_rows(scenario)
    lines = [_plain_value(path, a, b, rows) for path, a, b in changes.values]
    lines += [f"Lab added: {lab}" for lab in changes.labs_added]
    lines += [f"Lab removed: {lab}" for lab in changes.labs_removed]
    for kind, events in (("Event added", changes.events_added), ("Event removed", changes.events_removed)):
        for text in events:
            lines.append(f"{kind}: {_plain_event(text, scenario, rows)}")
    return lines


def _plain_number(value: Any, unit: str) -> str:
    money = unit.startswith("USD") and isinstance(value, int | float) and not isinstance(value, bool)
    text = compact(float(value), 3) if money else format_value(value)
    return f"{text} {unit}" if unit and unit != "YYYY-MM" and value is not MISSING else text


def _plain_distribution(value: Any, unit: str) -> str:
    if not isinstance(value, dict) or "dist" not in value:
        return _plain_number(value, unit)
    rest = {k: v for k, v in value.items() if k != "dist" and v is not None}
    if value["dist"] == "uniform" and {"low", "high"} <= set(rest):
        shown = f"uniform from {format_value(rest['low'])} to {format_value(rest['high'])}"
    else:
        shown = f"{value['dist']} ({', '.join(f'{k} {format_value(v)}' for k, v in rest.items())})"
    return f"drawn per replicate, {shown}" + (f" {unit}" if unit else "")


def _plain_value(path: str, a: Any, b: Any, rows: dict[str, Any]) -> str:
    if path.startswith("uncertain."):
        target = path[len("uncertain.") :]
        name, unit = parameter_label(target, rows)
        where = ""
        found = re.match(r"events\.(\d+)\.set\.", target)
        if found:
            at = rows.get(f"events.{found[1]}.at")
            where = f" (in the event of {at.value})" if at is not None else " (in an event)"
        before = "fixed" if a is MISSING else _plain_distribution(a, unit)
        return f"{name}{where}: {_plain_distribution(b, unit)}, instead of {before}"
    name, unit = parameter_label(path, rows)
    return f"{name}: {_plain_number(a, unit)} \u2192 {_plain_number(b, unit)}"


def _plain_event(text: str, scenario: dict[str, Any], rows: dict[str, Any]) -> str:
    """An event of :func:`describe_event` in plain words: its month, its note and what it sets."""
    for i, event in enumerate(scenario.get("events") or []):
        if describe_event(event) != text:
            continue
        sets = []
        for key, value in (event.get("set") or {}).items():
            name, unit = parameter_label(f"events.{i}.set.{key}", rows)
            sets.append(f"{name[:1].lower()}{name[1:]} = {_plain_number(value, unit)}")
        note = event.get("note") or "change of parameters"
        return f"from {event.get('at')}, {note}" + (f": {'; '.join(sets)}" if sets else "")
    return text


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


MISSING: Any = _Missing()


def _without(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in SKIPPED_KEYS}


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to ``{dotted.path: value}``; lists stay whole values. Under ``uncertain`` the keys
    are themselves dotted paths and each distribution is one value."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if prefix != "uncertain" and isinstance(value, dict):  # an empty mapping adds no path
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def describe_event(event: dict[str, Any]) -> str:
    """'2026-01 US open-weight ban (policy.ban.active = true)'."""
    changes = ", ".join(f"{k} = {format_value(v)}" for k, v in (event.get("set") or {}).items())
    note = event.get("note") or "change of parameters"
    return f"{event.get('at')} {note}" + (f" ({changes})" if changes else "")


def format_value(value: Any) -> str:
    """A parameter value in plain text: numbers short, mappings as ``k=v``, lists compact."""
    if value is MISSING:
        return "(not set)"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


# -- writing ---------------------------------------------------------------------------------------------


def write_comparison(comparison: Comparison, out: str | Path = "outputs", command: str | None = None) -> Path:
    """Write the comparison folder under ``out/compare/`` (temporary folder, renamed when complete)."""
    from . import plotting, report  # matplotlib only when a comparison is written

    created = datetime.now(UTC)
    parent = Path(out) / COMPARE_DIR
    made_dirs = [d for d in (parent, *parent.parents) if not d.exists()]  # deepest first
    parent.mkdir(parents=True, exist_ok=True)
    final = _new_run_path(parent, created)
    tmp = parent / f"{TMP_PREFIX}{final.name}"
    tmp.mkdir()
    try:
        plots = plotting.plot_overlays(overlay_series(comparison), tmp / FILES["plots"], comparison.axis)
        found = headlines(comparison)
        plots += plotting.plot_differences(
            difference_series(comparison, found), tmp / FILES["plots"], comparison.axis
        )
        spreadsheet_safe(comparison.differences).to_csv(tmp / FILES["csv"], index=False)
        spreadsheet_safe(comparison.by_replicate).to_csv(tmp / FILES["replicates"], index=False)
        (tmp / FILES["md"]).write_text(markdown_table(comparison), encoding="utf-8")
        manifest = comparison_manifest(comparison, created, command)
        (tmp / FILES["manifest"]).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        html = report.render(comparison, plots, manifest, found)
        (tmp / FILES["report"]).write_text(html, encoding="utf-8")
        if final.exists():
            raise FileExistsError(f"comparison folder {final} already exists")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in made_dirs:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return final


def overlay_series(comparison: Comparison) -> list[Any]:
    """The runs as :class:`plotting.OverlaySeries`, in scenario colours (the reference first)."""
    from .plotting import OverlaySeries, scenario_style

    series = []
    for i, c in enumerate(comparison.runs):
        colour, linestyle = scenario_style(i)
        series.append(OverlaySeries(c.label, c.model, colour, span(c.run)[0], c.events, linestyle))
    return series


def difference_series(comparison: Comparison, found: dict[str, list[Headline]]) -> list[Any]:
    """The paired differences over time as :class:`plotting.DifferenceChart`, one per headline metric."""
    from .plotting import DifferenceChart, scenario_style

    colours = {c.label: scenario_style(i) for i, c in enumerate(comparison.runs)}
    meanings = {h.metric: h.meaning for rows in found.values() for h in rows}
    charts = []
    for metric, bands in difference_bands(comparison, found).items():
        share = _is_share(comparison.runs[1], metric)
        unit = "percentage points" if share else _unit_of(comparison.runs[1], metric)
        charts.append(
            DifferenceChart(
                metric,
                f"Paired difference from {comparison.reference.label}: {meanings.get(metric, metric)}",
                f"Difference ({unit})" if unit else "Difference",
                [(label, *colours[label], band) for label, band in bands],
                [
                    h.start
                    for rows in found.values()
                    for h in rows
                    if h.metric == metric and h.effect is not None
                ],
            )
        )
    return charts


def _unit_of(compared: Compared, metric: str) -> str:
    from . import datadict
    from .config import scenario_from_dict

    try:
        (decl,) = datadict.declarations(
            datadict.TABLES["model"], [metric], scenario_from_dict(compared.run.scenario)
        )
    except Exception:  # noqa: BLE001
        return ""
    return decl.unit


def comparison_manifest(comparison: Comparison, created: datetime, command: str | None) -> dict[str, Any]:
    """What was compared, for provenance (``comparison.json``)."""
    return {
        "created_utc": created.isoformat(timespec="seconds"),
        "command": command,
        "reference": comparison.reference.label,
        "align": comparison.align,
        "window": comparison.window,
        "runs": [
            {
                "label": c.label,
                "path": str(c.run.path.resolve()),
                "seed": c.run.manifest.get("seed"),
                "replicates": c.run.manifest.get("replicates"),
            }
            for c in comparison.runs
        ],
        "pairing": {label: p.reason for label, p in comparison.pairing.items()},
        "files": [*FILES.values()],
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|#~!$])")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells a spreadsheet would read as a formula (beginning with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return) begin with ``'`` instead; numbers stay numbers."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(formula_safe)
    return out


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def formula_safe(value: Any) -> Any:
    """One cell: text that a spreadsheet would evaluate gets a leading ``'``; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def md(text: Any) -> str:
    """Text from a run folder for Markdown: one line, HTML special characters as entities (no raw HTML),
    and Markdown's own (emphasis, code, links, table bars, headings) escaped with a backslash."""
    one_line = " ".join(str(text).split())
    return MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))


def markdown_table(comparison: Comparison) -> str:
    """The difference table as Markdown: one section per scenario, its pairing said in words. Every text
    from a run folder is escaped (:func:`md`)."""
    ref = md(comparison.reference.label)
    lines = [
        f"# Differences from the reference, {ref}",
        "",
        f"Compared over {md(comparison.window)}. Values at the last month compared, or averages over the "
        "period where the indicator says so; shares in %, their differences in percentage points.",
        "",
    ]
    for label, rows in comparison.differences.groupby("scenario", sort=False):
        p = comparison.pairing[str(label)]
        lines += [f"## {md(label)} minus {ref}", "", f"**{md(p.reason)}.** " + interval_note(p.paired), ""]
        lines += [
            f"| Indicator | Unit | {ref} | {md(label)} | Difference | 5% | 95% |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in rows.itertuples():
            lines.append(
                f"| {md(row.label)} | {md(row.unit)} "
                f"| {num(row.reference_median)} | {num(row.scenario_median)} "
                f"| {num(row.difference, sign=True)} | {num(row.difference_p5, sign=True)} "
                f"| {num(row.difference_p95, sign=True)} |"
            )
        lines.append("")
    return "\n".join(lines)


def interval_note(paired: bool) -> str:
    if paired:
        return (
            "Difference: median of the per-replicate differences (scenario minus reference, same seeds); "
            "5%-95%: interval of those paired differences."
        )
    return (
        "The intervals are NOT paired: difference of the medians; 5%-95% of the differences between every "
        "replicate of one run and every replicate of the other (wider than a paired interval would be)."
    )


def num(value: float, sign: bool = False) -> str:
    """A number for tables: 1 decimal from 10 on, 2 from 1, else 3; ``sign`` puts + on positives; a true
    minus sign."""
    decimals = 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:{'+' if sign else ''}.{decimals}f}".replace("-", "\u2212")
