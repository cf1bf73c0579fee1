"""Summary statistics: pure functions of one run's tables (``Results.model`` and ``Results.labs`` rows of one
replicate), each over a window of ticks. They read the metric columns ``simulation/metrics.py`` computes each
tick (the gaps, shares and training runs that ``tests/test_baseline.py`` checks), so a calibration fits the
same numbers a run reports.

A spec names a statistic with its arguments, e.g. ``{name: window_mean, column: gap_months_benchmark, ticks:
[0, 9]}``; :data:`Statistic` validates that mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from ..config.base import Frozen, Int

if TYPE_CHECKING:
    from .spec import Calibration


# -- the functions ------------------------------------------------------------------------------------


def window(table: pd.DataFrame, first_tick: int, last_tick: int) -> pd.DataFrame:
    return table[(table["tick"] >= first_tick) & (table["tick"] <= last_tick)]


def window_mean(model: pd.DataFrame, column: str, first_tick: int, last_tick: int) -> float:
    """Mean of a model metric over ticks ``first_tick``..``last_tick`` (e.g. the benchmark gap in months)."""
    return float(window(model, first_tick, last_tick)[column].mean())


def growth_per_year(
    model: pd.DataFrame, column: str, first_tick: int, last_tick: int, kind: str = "ratio"
) -> float:
    """Yearly growth of a model metric between two ticks: ``ratio`` (x a year, e.g. training FLOP) or
    ``difference`` (points a year, e.g. the closed frontier's ECI)."""
    series = model.set_index("tick")[column]
    start, end = float(series.loc[first_tick]), float(series.loc[last_tick])
    years = (last_tick - first_tick) / 12
    if kind == "difference":
        return (end - start) / years
    return (end / start) ** (1 / years) if start > 0 and end > 0 else math.nan


def _on_market(labs: pd.DataFrame) -> pd.DataFrame:
    return labs[labs["alive"] & (labs["usage_mtok"] > 0) & (labs["price_usd_per_mtok"] > 0)]


def price_ratio(labs: pd.DataFrame, first_tick: int, last_tick: int) -> float:
    """Closed over open price: each tick, the usage-weighted geometric mean price (USD per million tokens) of
    closed models over that of open models; the geometric mean of that ratio over the window."""
    rows = _on_market(window(labs, first_tick, last_tick))
    log_price = np.log(rows["price_usd_per_mtok"].to_numpy(float))
    frame = pd.DataFrame(
        {
            "tick": rows["tick"],
            "open": rows["open"].astype(bool),
            "w": rows["usage_mtok"],
            "wlp": rows["usage_mtok"] * log_price,
        }
    )
    sums = frame.groupby(["tick", "open"])[["w", "wlp"]].sum()
    mean_log = (sums["wlp"] / sums["w"]).unstack("open")
    if True not in mean_log or False not in mean_log:
        return math.nan
    return float(np.exp((mean_log[False] - mean_log[True]).mean()))


def price_decline(labs: pd.DataFrame, first_tick: int, last_tick: int) -> float:
    """Fall of the price of a fixed capability, x a year: the cheapest model on the market at or above the
    best benchmark score of ``first_tick`` (the frontier then), its price at ``first_tick`` over its price at
    ``last_tick`` (Epoch AI's measure: the cheapest model reaching a given score)."""
    on = _on_market(labs)
    start = on[on["tick"] == first_tick]
    level = float(start["capability_benchmark_eci"].max())

    def cheapest(tick: int) -> float:
        rows = on[(on["tick"] == tick) & (on["capability_benchmark_eci"] >= level)]
        return float(rows["price_usd_per_mtok"].min()) if len(rows) else math.nan

    years = (last_tick - first_tick) / 12
    return (cheapest(first_tick) / cheapest(last_tick)) ** (1 / years)


# -- their spec -------------------------------------------------------------------------------------------


class _Windowed(Frozen):
    ticks: tuple[Int, Int] = Field(description="First and last tick of the window (0 = the start month).")

    @model_validator(mode="after")
    def _order(self) -> _Windowed:
        first, last = self.ticks
        if first < 0 or last < first:
            raise ValueError(f"ticks: expected 0 <= first <= last, got {list(self.ticks)}")
        return self


class WindowMean(_Windowed):
    name: Literal["window_mean"]
    column: str = Field(description="A model metric (a column of Results.model).")

    def __call__(self, model: pd.DataFrame, labs: pd.DataFrame) -> float:
        return window_mean(model, self.column, *self.ticks)


class GrowthPerYear(_Windowed):
    name: Literal["growth_per_year"]
    column: str
    kind: Literal["ratio", "difference"] = "ratio"

    @model_validator(mode="after")
    def _span(self) -> GrowthPerYear:
        if self.ticks[1] == self.ticks[0]:
            raise ValueError("ticks: a growth needs two different ticks")
        return self

    def __call__(self, model: pd.DataFrame, labs: pd.DataFrame) -> float:
        return growth_per_year(model, self.column, *self.ticks, kind=self.kind)


class PriceRatio(_Windowed):
    name: Literal["price_ratio"]

    def __call__(self, model: pd.DataFrame, labs: pd.DataFrame) -> float:
        return price_ratio(labs, *self.ticks)


class PriceDecline(_Windowed):
    name: Literal["price_decline"]

    @model_validator(mode="after")
    def _span(self) -> PriceDecline:
        if self.ticks[1] == self.ticks[0]:
            raise ValueError("ticks: a decline needs two different ticks")
        return self

    def __call__(self, model: pd.DataFrame, labs: pd.DataFrame) -> float:
        return price_decline(labs, *self.ticks)


Statistic = Annotated[WindowMean | GrowthPerYear | PriceRatio | PriceDecline, Field(discriminator="name")]


# -- one run -----------------------------------------------------------------------------------------------


def statistics_of(
    cal: Calibration, model: pd.DataFrame, labs: pd.DataFrame, *, check: bool = False
) -> dict[str, float]:
    """Every target's statistic on one run's tables. ``check``: raise a CalibrationError naming the target
    whose statistic raises or is not a finite number."""
    from .spec import CalibrationError

    out: dict[str, float] = {}
    for name, target in cal.spec.targets.items():
        try:
            value = float(target.statistic(model, labs))
        except Exception as exc:  # noqa: BLE001 - any failure of a statistic is reported as the spec's
            if not check:
                raise
            problem = f"no column {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
            raise CalibrationError(
                cal.file, f"targets.{name}.statistic", f"fails on a test run: {problem}"
            ) from None
        if check and not math.isfinite(value):
            raise CalibrationError(
                cal.file,
                f"targets.{name}.statistic",
                f"gives {value} on a test run; expected a finite number",
            )
        out[name] = value
    return out


def run_tables(cal: Calibration, values: Mapping[str, float], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run of the calibration's scenario with the free parameters at ``values`` (the others uncertain
    in the scenario are drawn from ``seed``, as a replicate of ``simulation.run`` draws them)."""
    from ..config import pin
    from ..experiments.runner import ReplicateSpec, run_replicate

    scenario = pin(cal.scenario, cal.changes(values))
    seq = np.random.SeedSequence(int(seed))
    model, labs, _ = run_replicate(ReplicateSpec(scenario, 0, int(seq.entropy), tuple(seq.spawn_key)))
    return model, labs


def run_statistics(
    cal: Calibration, values: Mapping[str, float], seed: int, *, check: bool = False
) -> dict[str, float]:
    model, labs = run_tables(cal, values, seed)
    return statistics_of(cal, model, labs, check=check)
