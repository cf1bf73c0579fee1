"""The data dictionary: every column of a run folder's tables, declared once.

Each declaration gives a column's name, or a family's name pattern with ``{segment}``, ``{region}``,
``{bloc}``, ``{home}`` (a region that is also a bloc) or ``{parameter}`` placeholders, with its meaning in
one sentence, its unit, its type and its formula or source function. Two things are written from them:

- ``docs/outputs.md`` (``python -m simulation.datadict > docs/outputs.md``; a test fails when it is stale);
- ``datapackage.json`` in every run folder (:func:`data_package`, called by ``outputs.write_run``): a
  Frictionless Data Package describing each CSV's columns, types and units, which pandas, R
  (``frictionless::read_package``) and ``frictionless validate`` read.

A column with no declaration is an error (:class:`UndeclaredColumnError`, naming the column), and so is a
column whose data has another type than its declaration (:class:`DataDictionaryError`): a new metric cannot
reach a run folder undescribed, and a run folder is never written with a wrong description.

Unit convention: shares are fractions from 0 to 1 in every data file (CSV and JSON); percent appears only
where values are displayed (printed summaries, plots, reports), and each share's column description says so.
Data files keep full precision; :func:`format_value` rounds for people (``Shown``).

``python -m simulation.datadict RUN_DIR`` prints the data package of a saved run folder (for folders written
before run folders held one).
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import Scenario, scenario_from_dict
from .config.parameters import parameters, unit_of
from .outputs import (
    DATAPACKAGE,
    MANIFEST,
    PLOTS_DIR,
    SCENARIO_FILE,
    SUMMARY_CSV,
    SUMMARY_JSON,
    TABLES,
    RunFolderError,
    column_type,
    read_run,
)

TYPES = ("integer", "number", "boolean", "string", "yearmonth")  # Table Schema types used here
# the column types the manifest records (outputs.column_type) that each declared type accepts
DATA_TYPES = {
    "integer": ("int",),
    "number": ("int", "float"),
    "boolean": ("bool",),
    "string": ("text",),
    "yearmonth": ("text",),
}
TYPE_OF_DATA = {"int": "integer", "float": "number", "bool": "boolean", "text": "string"}
NUMERIC = ("integer", "number")
PLACEHOLDERS = {
    "segment": "each adopter segment of the scenario (`adopters.segments`)",
    "region": "each region of the scenario (`adopters.regions`)",
    "bloc": "each bloc of the scenario (`blocs`)",
    "home": "each region that is also a bloc (same key, e.g. `us`): home-grown against foreign open models",
    "parameter": "each uncertain parameter of the scenario (`uncertain`), by its dotted path",
}
DOCS_PAGE = "docs/outputs.md"


class DataDictionaryError(ValueError):
    """A table that the data dictionary does not describe as it is."""


class UndeclaredColumnError(DataDictionaryError):
    """Columns with no declaration in this module."""


# -- how values are shown to people ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """How a value is rounded where people read it (data files keep full precision)."""

    text: str  # for the docs: "percent, 1 decimal"
    scale: float = 1.0
    decimals: int | None = None
    significant: int | None = None
    suffix: str = ""
    compact: bool = False  # thousands, millions, ... as k, M, bn, tn

    def format(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(value, "__float__"):
            return str(value)
        number = float(value) * self.scale
        if self.significant is not None:
            text = compact(number, self.significant) if self.compact else f"{number:.{self.significant}g}"
        elif self.decimals is not None:
            decimals = self.decimals or (0 if number.is_integer() else 1)  # a median of counts may end in .5
            text = f"{number:,.{decimals}f}"
        else:
            text = str(value)
        if re.fullmatch(r"-0(\.0*)?", text):  # no minus sign on a value that rounds to zero
            text = text[1:]
        return text + self.suffix


def compact(number: float, significant: int) -> str:
    """``number`` to ``significant`` figures with k, M, bn or tn (1.23bn)."""
    for factor, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= factor:
            return f"{number / factor:.{significant}g}{suffix}"
    return f"{number:.{significant}g}"


PERCENT = Shown("percent, 1 decimal", scale=100, decimals=1, suffix="%")
ONE_DECIMAL = Shown("1 decimal", decimals=1)
TWO_DECIMALS = Shown("2 decimals", decimals=2)
THREE_DECIMALS = Shown("3 decimals", decimals=3)
WHOLE = Shown("whole number (1 decimal for a median halfway)", decimals=0)
MONEY = Shown("3 significant figures with k, M, bn, tn (1.23bn)", significant=3, compact=True)
FLOP_SHOWN = Shown("2 significant figures (3.1e+26)", significant=2)
THREE_FIGURES = Shown("3 significant figures", significant=3)
AS_IS = Shown("as is")


# -- declarations ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column, or a family of columns named by a pattern, as the data files hold it."""

    name: str  # or pattern: "open_share_usage_{segment}"
    meaning: str  # one plain sentence
    unit: str  # "" only for text
    type: str  # one of TYPES; "" for draws' parameter columns: the data's type
    formula: str  # how it is computed, or the function that computes it
    shown: Shown = AS_IS

    def __post_init__(self) -> None:
        if self.type and self.type not in TYPES:
            raise ValueError(f"{self.name}: type {self.type!r} is not one of {', '.join(TYPES)}")

    @property
    def placeholders(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.name)

    def filled(self, values: Mapping[str, str]) -> Column:
        """The declaration of one member of a family: placeholders replaced in name, meaning and formula."""
        if not values:
            return self
        fill = lambda text: re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)  # noqa: E731
        return replace(self, name=fill(self.name), meaning=fill(self.meaning), formula=fill(self.formula))


def fraction(of: str) -> str:
    """The unit of a share: a fraction, never percent, in the data."""
    return f"fraction of {of} (0-1)"


def is_fraction(unit: str) -> bool:
    return unit.startswith("fraction")


ECI, MONTHS, FLOP, COUNT = "ECI points", "months", "FLOP (physical)", "count"
USD, USD_MONTH, MTOK_MONTH = "USD", "USD per month", "million tokens per month"
USD_MTOK = "USD per million tokens"
TRUE_FALSE = "true/false (written True/False)"

REPLICATE = Column(
    "replicate",
    "Replicate number: one run of the scenario with its own seed and drawn uncertain values (see draws.csv).",
    "index (0 to replicates - 1)",
    "integer",
    "`experiments.runner.simulate`: replicate i runs on `SeedSequence(seed).spawn(replicates)[i]`",
)
TICK = Column(
    "tick",
    "Month of the run, counted from the start; a row holds the state at the end of that month's step.",
    "months since the start (0: the start month)",
    "integer",
    "`EcosystemModel.tick` (Mesa's step count)",
)
DATE = Column(
    "date",
    "Calendar month of the tick.",
    "YYYY-MM",
    "yearmonth",
    "`Scenario.date_of(tick)`: the scenario's `start` plus `tick` months",
)

_SHARES = "`metrics.market_shares`"

MODEL_COLUMNS: tuple[Column, ...] = (
    REPLICATE,
    TICK,
    DATE,
    Column(
        "closed_frontier_true_eci",
        "Closed frontier: the best true capability any active closed lab has released so far.",
        ECI,
        "number",
        "`FrontierHistory.gaps`: running maximum of the best `capability_true_eci` among active closed labs "
        "(carried over when none is active)",
        ONE_DECIMAL,
    ),
    Column(
        "open_frontier_true_eci",
        "Open frontier: the best true capability among open models on the market this month, from open "
        "labs and from weights left out by labs that turned closed.",
        ECI,
        "number",
        "`FrontierHistory.gaps`: maximum `capability_true_eci` among active open offerings this month "
        "(not a running maximum: it falls when the best open lab exits)",
        ONE_DECIMAL,
    ),
    Column(
        "closed_frontier_benchmark_eci",
        "Closed frontier on benchmark scores: the best benchmark score any active closed lab has released "
        "so far.",
        ECI,
        "number",
        "`FrontierHistory.gaps`: running maximum of the best `capability_benchmark_eci` among active closed "
        "labs",
        ONE_DECIMAL,
    ),
    Column(
        "open_frontier_benchmark_eci",
        "Open frontier on benchmark scores: the best benchmark score among open models on the market this "
        "month.",
        ECI,
        "number",
        "`FrontierHistory.gaps`: maximum `capability_benchmark_eci` among active open offerings this month",
        ONE_DECIMAL,
    ),
    Column(
        "gap_months_true",
        "Capability gap in months: how long before this month the closed frontier first reached the open "
        "frontier's current true capability (negative when open models lead).",
        MONTHS,
        "number",
        "`metrics.gap_months` on true capability: the frontier histories from the scenario's `prehistory` "
        "on, linear interpolation between months",
        ONE_DECIMAL,
    ),
    Column(
        "gap_months_benchmark",
        "Capability gap in months measured on benchmark scores, comparable to Epoch AI's ECI lag "
        "(negative when open models lead).",
        MONTHS,
        "number",
        "`metrics.gap_months` on benchmark scores (true capability plus each lab's `benchmark_focus_eci`)",
        ONE_DECIMAL,
    ),
    Column(
        "gap_points_true",
        "Capability gap in ECI points: closed frontier minus open frontier, true capability.",
        ECI,
        "number",
        "`closed_frontier_true_eci - open_frontier_true_eci`",
        ONE_DECIMAL,
    ),
    Column(
        "gap_points_benchmark",
        "Capability gap in ECI points on benchmark scores: closed frontier minus open frontier.",
        ECI,
        "number",
        "`closed_frontier_benchmark_eci - open_frontier_benchmark_eci`",
        ONE_DECIMAL,
    ),
    Column(
        "open_share_users",
        "Share of adopters using a model who use an open one.",
        fraction("adopters using a model"),
        "number",
        f"{_SHARES}: adopters on open offerings / adopters on any offering",
        PERCENT,
    ),
    Column(
        "open_share_usage",
        "Share of token usage on open models.",
        fraction("usage"),
        "number",
        f"{_SHARES}: usage of open offerings / usage of all offerings",
        PERCENT,
    ),
    Column(
        "open_share_spend",
        "Share of adopters' spending that goes to open models.",
        fraction("spending"),
        "number",
        f"{_SHARES}: usage times this month's price, open offerings / all offerings",
        PERCENT,
    ),
    Column(
        "total_usage_mtok",
        "Token usage of all models by all adopters this month.",
        MTOK_MONTH,
        "number",
        f"{_SHARES}: sum of every offering's `usage_mtok`",
        THREE_FIGURES,
    ),
    Column(
        "total_spend_usd",
        "Adopters' spending on all models this month (usage times price).",
        USD_MONTH,
        "number",
        f"{_SHARES}: sum over offerings of `usage_mtok * price_usd_per_mtok`",
        MONEY,
    ),
    Column(
        "open_share_usage_{segment}",
        "Share of token usage by adopters of segment {segment} on open models.",
        fraction("the segment's usage"),
        "number",
        f"{_SHARES}: the segment's usage of open offerings / of all offerings",
        PERCENT,
    ),
    Column(
        "open_share_usage_region_{region}",
        "Share of token usage in region {region} on open models.",
        fraction("the region's usage"),
        "number",
        f"{_SHARES}: the region's usage of open offerings / of all offerings",
        PERCENT,
    ),
    Column(
        "unserved_share_usage",
        "Share of all demand (every adopter's token usage, with or without a model) from adopters who use no "
        "model: they took the outside option, or nothing they may use is on the market.",
        fraction("demand"),
        "number",
        "`metrics.market_shares`: usage of adopters without a model / usage of all adopters",
        PERCENT,
    ),
    Column(
        "unserved_share_usage_region_{region}",
        "Share of demand in region {region} from adopters who use no model (the outside option, or nothing "
        "usable).",
        fraction("the region's demand"),
        "number",
        "`metrics.market_shares`: the region's usage of adopters without a model / of all its adopters",
        PERCENT,
    ),
    Column(
        "usage_share_origin_{bloc}",
        "Share of all token usage on models, open or closed, made by labs of bloc {bloc}.",
        fraction("usage"),
        "number",
        f"{_SHARES}: usage of the bloc's offerings / all usage",
        PERCENT,
    ),
    Column(
        "open_usage_share_origin_{bloc}",
        "Share of open-model usage on open models made by labs of bloc {bloc}.",
        fraction("open-model usage"),
        "number",
        f"{_SHARES}: usage of the bloc's open offerings / usage of all open offerings",
        PERCENT,
    ),
    Column(
        "region_{region}_open_share_from_{bloc}",
        "Share of all token usage in region {region} on open models made by labs of bloc {bloc}.",
        fraction("the region's usage"),
        "number",
        f"{_SHARES}: the region's usage of the bloc's open offerings / the region's usage of all offerings",
        PERCENT,
    ),
    Column(
        "region_{home}_open_share_domestic",
        "Share of all token usage in region {home} on open models made by labs of its own bloc.",
        fraction("the region's usage"),
        "number",
        f"{_SHARES}: the region's usage of open offerings of bloc {{home}} / the region's usage of all "
        "offerings",
        PERCENT,
    ),
    Column(
        "region_{home}_open_share_foreign",
        "Share of all token usage in region {home} on open models made by labs of other blocs.",
        fraction("the region's usage"),
        "number",
        f"{_SHARES}: the region's usage of open offerings of other blocs / the region's usage of all "
        "offerings",
        PERCENT,
    ),
    Column(
        "top_open_share_of_open_usage",
        "Share of open-model usage held by the most-used open offering (each lab is one model family).",
        fraction("open-model usage"),
        "number",
        f"{_SHARES}: largest open offering's usage / usage of all open offerings",
        PERCENT,
    ),
    Column(
        "hhi_usage",
        "Concentration of usage across all offerings: Herfindahl-Hirschman index of usage shares "
        "(1: one offering has all usage).",
        "index (0-1)",
        "number",
        "`metrics.hhi`: sum of squared usage shares of all offerings",
        THREE_DECIMALS,
    ),
    Column(
        "hhi_open_usage",
        "Concentration of open-model usage across open offerings: Herfindahl-Hirschman index of their "
        "shares of open usage.",
        "index (0-1)",
        "number",
        "`metrics.hhi`: sum of squared shares of open usage of open offerings (0 with no open offering)",
        THREE_DECIMALS,
    ),
    Column(
        "closed_providers_over_5pct",
        "Number of closed labs holding more than 5% of closed-model usage.",
        COUNT,
        "number",
        f"{_SHARES}: closed offerings with usage above 0.05 x all closed usage (written as a decimal)",
        WHOLE,
    ),
    Column(
        "own_state_share_usage",
        "Share of token usage on models the adopter's own state co-owns (a consortium).",
        fraction("usage"),
        "number",
        "`metrics.own_state_shares`: usage where the adopter's region is among the lab's `owners` / all usage",
        PERCENT,
    ),
    Column(
        "own_state_share_usage_{segment}",
        "Share of token usage by adopters of segment {segment} on models their own state co-owns.",
        fraction("the segment's usage"),
        "number",
        "`metrics.own_state_shares`, within the segment",
        PERCENT,
    ),
    Column(
        "max_training_flop_{bloc}",
        "Largest training run among the active labs of bloc {bloc} (0 when it has none).",
        FLOP,
        "number",
        "`metrics.compute`: maximum `training_flop` (capacity x `world.run_months`) over the bloc's active "
        "labs",
        FLOP_SHOWN,
    ),
    Column(
        "frontier_training_flop",
        "Largest training run among all active labs.",
        FLOP,
        "number",
        "`metrics.compute`: maximum `training_flop` over active labs",
        FLOP_SHOWN,
    ),
    Column(
        "labs_alive_{bloc}",
        "Number of active labs of bloc {bloc}: entered and not out of cash (weights left out by a lab are "
        "not counted).",
        COUNT,
        "integer",
        "`metrics.compute`: labs of the bloc with `alive` true",
        WHOLE,
    ),
    Column(
        "labs_alive_open",
        "Number of active labs releasing open weights.",
        COUNT,
        "integer",
        "`metrics.compute`: active labs with `open` true",
        WHOLE,
    ),
    Column(
        "labs_release_capped",
        "Number of active labs whose current model was trained at an open-weight ban's threshold to stay legal "
        "(their answer to the ban, F9).",
        COUNT,
        "integer",
        "`metrics.compute`: active labs with `release` capped",
        WHOLE,
    ),
    Column(
        "labs_release_offshore",
        "Number of active labs releasing their open weights from abroad to escape an open-weight ban (F9).",
        COUNT,
        "integer",
        "`metrics.compute`: active labs with `release` offshore",
        WHOLE,
    ),
    Column(
        "labs_release_defy",
        "Number of active labs releasing banned open weights anyway, at the risk of the ban's sanction (F9).",
        COUNT,
        "integer",
        "`metrics.compute`: active labs with `release` defy",
        WHOLE,
    ),
    Column(
        "labs_alive_closed",
        "Number of active labs keeping their weights closed.",
        COUNT,
        "integer",
        "`metrics.compute`: active labs with `open` false",
        WHOLE,
    ),
)

_LAB = "`metrics.lab_reporters`"
_OFFERING = "the lab's (for open weights: 0)"

LAB_COLUMNS: tuple[Column, ...] = (
    REPLICATE,
    TICK,
    DATE,
    Column(
        "lab",
        'The offering: a lab\'s key in the scenario, or "<lab>_open_weights" for the weights a lab left on the '
        "market when it turned closed.",
        "",
        "string",
        f"{_LAB}: `name`",
    ),
    Column(
        "kind",
        '"lab" for a lab; "open_weights" for weights left on the market by a lab that turned closed (they have '
        "no money, compute or training of their own: those columns are 0).",
        "",
        "string",
        f"{_LAB}: `kind`",
    ),
    Column("bloc", "The lab's bloc (for open weights: their lab's).", "", "string", f"{_LAB}: `bloc`"),
    Column(
        "open",
        "Whether the offering's weights are open this month (the lab's release policy).",
        TRUE_FALSE,
        "boolean",
        f"{_LAB}: `is_open`",
    ),
    Column(
        "release",
        "How the offering's current model was released: open, closed, or, under an open-weight ban, capped "
        "(trained at the threshold), offshore (released from abroad) or defy (released anyway); a lab chooses "
        "at each release unless its release policy is pinned (open weights: open).",
        "",
        "string",
        f"{_LAB}: `release_option`",
    ),
    Column(
        "alive",
        "Whether the offering is on the market: a lab that has entered and not run out of cash, or weights "
        "that have been left out.",
        TRUE_FALSE,
        "boolean",
        f"{_LAB}: `active`",
    ),
    Column(
        "capability_true_eci",
        "True capability of the offering's latest released model.",
        ECI,
        "number",
        f"{_LAB}: `capability_true_eci` (`Lab.release`)",
        ONE_DECIMAL,
    ),
    Column(
        "capability_benchmark_eci",
        "Benchmark score of the offering's latest released model (true capability plus the lab's "
        "benchmark focus).",
        ECI,
        "number",
        f"{_LAB}: `capability_benchmark_eci` (`Lab.release`)",
        ONE_DECIMAL,
    ),
    Column(
        "internal_capability_eci",
        "Capability the lab could train now, before the training lag and release: compute term plus "
        "know-how.",
        ECI,
        "number",
        f"{_LAB}: `internal_capability_eci` (`Lab.train`, `decisions.compute_term_eci`)",
        ONE_DECIMAL,
    ),
    Column(
        "compute_flop_per_month",
        "The lab's sustained training compute capacity.",
        "FLOP per month (physical)",
        "number",
        f"{_LAB}: `compute_flop_per_month` (`Lab.buy_compute`)",
        FLOP_SHOWN,
    ),
    Column(
        "training_flop",
        "Compute of one training run on the lab's current capacity.",
        FLOP,
        "number",
        f"{_LAB}: `training_flop` = `compute_flop_per_month * world.run_months`",
        FLOP_SHOWN,
    ),
    Column(
        "cash_usd",
        "Cash at the end of the month, after revenue, costs, money raised and the compute purchase.",
        USD,
        "number",
        f"{_LAB}: `cash_usd` (`Lab.finance`, `Lab.buy_compute`)",
        MONEY,
    ),
    Column(
        "runway_months",
        "Months of cash left at the current net burn, compute purchase included (240 for a lab not burning "
        "cash; 0 after exit).",
        MONTHS,
        "number",
        f"{_LAB}: `runway_months` (`decisions.runway_months`: cash / net burn, at most 240)",
        ONE_DECIMAL,
    ),
    Column(
        "revenue_usd",
        "Revenue this month from last month's usage at last month's price (an open lab keeps only "
        "`world.open_revenue_fraction` of it).",
        USD_MONTH,
        "number",
        f"{_LAB}: `revenue_usd` (`Lab.finance`)",
        MONEY,
    ),
    Column(
        "raised_usd",
        "Money raised from investors this month (0 without a round).",
        USD_MONTH,
        "number",
        f"{_LAB}: `raised_usd` (`Lab.fundraise`)",
        MONEY,
    ),
    Column(
        "compute_spend_usd",
        "Money spent on new compute this month.",
        USD_MONTH,
        "number",
        f"{_LAB}: `compute_spend_usd` (`decisions.compute_purchase`)",
        MONEY,
    ),
    Column(
        "costs_usd",
        "Running costs this month: staff, serving and distillation.",
        USD_MONTH,
        "number",
        f"{_LAB}: `costs_usd` (`Lab.finance`)",
        MONEY,
    ),
    Column(
        "subsidy_usd",
        "Patron money received this month (parent company, state or consortium).",
        USD_MONTH,
        "number",
        f"{_LAB}: `subsidy_received_usd` (`Lab.subsidy_usd`)",
        MONEY,
    ),
    Column(
        "patron_support",
        "Patron money relative to the patron's plan (1: as planned); it follows the adoption the lab wins.",
        "ratio to plan",
        "number",
        f"{_LAB}: `patron_support` (`decisions.update_patron_support`)",
        TWO_DECIMALS,
    ),
    Column(
        "build_limited",
        "Whether the build-out limit, not money, set this month's compute purchase.",
        TRUE_FALSE,
        "boolean",
        f"{_LAB}: `build_limited` (`decisions.compute_purchase`)",
    ),
    Column(
        "know_how_eci",
        "Know-how: what the lab's algorithms, data and post-training add to the compute term.",
        ECI,
        "number",
        f"{_LAB}: `know_how_eci` (`Lab.train`: research, spill-over, distillation, online RL)",
        ONE_DECIMAL,
    ),
    Column(
        "training_efficiency",
        "Effective FLOP per physical FLOP: the lab's own efficiency times what it has learnt from others' "
        "published methods.",
        "multiplier",
        "number",
        f"{_LAB}: `Lab.training_efficiency`",
        THREE_FIGURES,
    ),
    Column(
        "serving_cost_usd_per_mtok",
        "Cost of serving a million tokens of the offering's released model this month.",
        USD_MTOK,
        "number",
        f"{_LAB}: `serving_cost` (`EcosystemModel.serving_cost_usd_per_mtok`)",
        THREE_FIGURES,
    ),
    Column(
        "users",
        "Simulated adopters using the offering this month.",
        "count of adopters",
        "integer",
        f"{_LAB}: `users` (`EcosystemModel.market_step`)",
        WHOLE,
    ),
    Column(
        "usage_mtok",
        "Token usage of the offering this month.",
        MTOK_MONTH,
        "number",
        f"{_LAB}: `usage_mtok` (`EcosystemModel.market_step`)",
        THREE_FIGURES,
    ),
    Column(
        "price_usd_per_mtok",
        "What adopters pay per million tokens this month (open weights: their serving cost).",
        USD_MTOK,
        "number",
        f"{_LAB}: `price_usd_per_mtok()` (`Lab.set_price`, `OpenWeights.set_price`)",
        THREE_FIGURES,
    ),
    Column(
        "users_{segment}",
        "Simulated adopters of segment {segment} using the offering this month.",
        "count of adopters",
        "integer",
        f"{_LAB}: `users_by_segment`",
        WHOLE,
    ),
)

DRAWS_COLUMNS: tuple[Column, ...] = (
    REPLICATE,
    Column(
        "model_seed",
        "Integer seed the replicate's Mesa model ran with.",
        "seed (63-bit integer)",
        "integer",
        "`seeding.model_seed`: child 1 of the replicate's seed sequence",
    ),
    Column(
        "{parameter}",
        "Value of the uncertain parameter {parameter} drawn for this replicate.",
        "the parameter's unit",
        "",  # the data's type: a choice may draw whole numbers, text or true/false
        "`seeding.draw_parameters`: one stream per parameter path (common random numbers)",
        THREE_FIGURES,
    ),
)

SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column(
        "indicator",
        "Key indicator: one row each (their meanings, units and formulas are in the resource's indicators).",
        "",
        "string",
        "`experiments.summary.indicators`",
    ),
    Column(
        "median",
        "Median across replicates of the indicator's value.",
        "the indicator's unit",
        "number",
        "`experiments.summary.summarise`: 0.5 quantile across replicates (linear interpolation)",
    ),
    Column(
        "p5",
        "5th percentile across replicates: lower end of the 5-95% interval.",
        "the indicator's unit",
        "number",
        "`experiments.summary.summarise`: 0.05 quantile across replicates (linear interpolation)",
    ),
    Column(
        "p95",
        "95th percentile across replicates: upper end of the 5-95% interval.",
        "the indicator's unit",
        "number",
        "`experiments.summary.summarise`: 0.95 quantile across replicates (linear interpolation)",
    ),
    Column(
        "replicates",
        "Number of replicates the quantiles are taken over.",
        COUNT,
        "integer",
        "`experiments.summary.summarise`",
    ),
)

# Summary indicators (rows of summary.csv): a timeseries metric with one of these endings, or declared below.
INDICATOR_ENDINGS = {
    "_end": (
        "Value at the last month of the run.",
        "the value of `{metric}` at the last tick, per replicate",
    ),
    "_mean": ("Mean over all months of the run.", "the mean of `{metric}` over all ticks, per replicate"),
}
INDICATORS: tuple[Column, ...] = (
    Column(
        "frontier_compute_growth_per_year",
        "Yearly growth of the largest training run over the run (Epoch AI: 4-5x a year).",
        "multiplier per year",
        "number",
        "`(frontier_training_flop at the last tick / at the first tick) ^ (1 / years)`, years = (last tick - "
        "first tick) / 12; not made for a one-month run",
        TWO_DECIMALS,
    ),
)

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    TABLES["model"]: MODEL_COLUMNS,
    TABLES["labs"]: LAB_COLUMNS,
    TABLES["draws"]: DRAWS_COLUMNS,
    SUMMARY_CSV: SUMMARY_COLUMNS,
}
TABLE_INFO: dict[str, tuple[str, list[str]]] = {  # file -> (what a row is, primary key)
    TABLES["model"]: ("Model-level metrics: one row per replicate and month.", ["replicate", "tick"]),
    TABLES["labs"]: (
        "Per-lab series: one row per replicate, month and offering (labs, and weights left on the market "
        "by labs that turned closed).",
        ["replicate", "tick", "lab"],
    ),
    TABLES["draws"]: (
        "One row per replicate: its model seed and the values drawn for the scenario's uncertain parameters.",
        ["replicate"],
    ),
    SUMMARY_CSV: (
        "Key indicators, one row each: median and 5-95% interval across replicates.",
        ["indicator"],
    ),
}
FOREIGN_KEYS: dict[str, list[tuple[list[str], str, list[str]]]] = {
    TABLES["model"]: [(["replicate"], TABLES["draws"], ["replicate"])],
    TABLES["labs"]: [(["replicate", "tick"], TABLES["model"], ["replicate", "tick"])],
}
FILES: dict[str, str] = {  # everything a run folder holds, for the docs
    TABLES["model"]: "model-level metrics, one row per (replicate, month)",
    TABLES["labs"]: "per-lab series, one row per (replicate, month, offering)",
    TABLES["draws"]: "each replicate's model seed and drawn uncertain values",
    SUMMARY_CSV: "key indicators: median and 5-95% interval across replicates",
    SUMMARY_JSON: 'the same as JSON: `{"interval", "replicates", "indicators": {name: {median, p5, p95}}}`',
    SCENARIO_FILE: "the scenario exactly as run (seed and replicates as used): runs it again",
    MANIFEST: "provenance: seeds, draws, pinned parameters, versions, git commit, command, each table's "
    "columns, types and rows; `complete: true` once the folder is whole",
    DATAPACKAGE: "this dictionary for the run's own columns, machine-readable (Frictionless Data Package)",
    PLOTS_DIR + "/": "figures made from the tables (shares in percent)",
}

LICENSE = {"name": "MIT", "title": "MIT License", "path": "https://opensource.org/licenses/MIT"}
EPOCH_SOURCE = {
    "title": 'Epoch AI, "Epoch Capabilities Index", AI Benchmarking Hub (2025), CC-BY 4.0: credit Epoch AI. '
    "Columns in ECI points and the gaps computed from them are on the ECI scale, and the frontier history "
    "before the start comes from Epoch AI's data (data/README.md).",
    "path": "https://epoch.ai/benchmarks",
}
SOFTWARE_SOURCE = {"title": "open-closed-ai-sim: agent-based simulation on Mesa (MIT License)"}


# -- resolving a table's actual columns ------------------------------------------------------------------


def _scenario(scenario: Scenario | Mapping[str, Any]) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else scenario_from_dict(scenario)


def _table(name: str) -> str:
    """A table's file name, from the file name or the ``Results`` attribute ("model", "summary")."""
    if name in TABLE_COLUMNS:
        return name
    files = {**TABLES, "summary": SUMMARY_CSV}
    if name in files:
        return files[name]
    raise DataDictionaryError(
        f"no table {name!r}; the tables are {', '.join(TABLE_COLUMNS)} (or {', '.join(files)})"
    )


def _names(sc: Scenario) -> dict[str, list[str]]:
    blocs, regions = list(sc.blocs), list(sc.adopters.regions)
    return {
        "segment": list(sc.adopters.segments),
        "region": regions,
        "bloc": blocs,
        "home": [r for r in regions if r in blocs],
        "parameter": sorted(_drawn(sc)),
    }


def _drawn(sc: Scenario) -> set[str]:
    """Paths the scenario draws per replicate: its distributions and its posterior's columns not pinned."""
    from .config.loader import posterior_columns

    return set(sc.uncertain) | {c for c in posterior_columns(sc.posterior) if c not in sc.pinned}


def _expand(column: Column, names: Mapping[str, list[str]]) -> Iterator[tuple[str, Column]]:
    keys = column.placeholders
    for combo in itertools.product(*(names[k] for k in keys)):
        member = column.filled(dict(zip(keys, combo, strict=True)))
        yield member.name, member


def _catalogue(columns: Sequence[Column], sc: Scenario) -> dict[str, Column]:
    """Every column name the declarations give for this scenario; a plain name wins over a family member
    of the same name (as in ``metrics.compute``, where ``labs_alive_open`` is written last)."""
    names = _names(sc)
    out: dict[str, Column] = {}
    for column in sorted(columns, key=lambda c: bool(c.placeholders)):
        for name, member in _expand(column, names):
            out.setdefault(name, member)
    return out


def _parameter_column(member: Column, sc: Scenario, schema: Mapping[str, Any]) -> Column:
    """A draws column: meaning and unit from the parameter's schema description (docs/scenarios.md)."""
    path = member.name
    p = schema.get(path)
    described = f" {p.description}" if p is not None and p.description else ""
    unit = (p.unit if p is not None else unit_of(path.rsplit(".", 1)[-1])) or "as in the scenario"
    if path in sc.uncertain:
        dist = p.uncertain if p is not None and p.uncertain else type(sc.uncertain[path]).__name__
    else:
        dist = f"the calibration posterior {sc.posterior} (one particle per replicate)"
    meaning = f"{member.meaning}{described}"
    return replace(member, meaning=meaning, unit=unit, formula=f"{member.formula}; drawn from {dist}")


def declarations(table: str, columns: Sequence[str], scenario: Scenario | Mapping[str, Any]) -> list[Column]:
    """The declaration of each of ``columns`` of ``table`` (families expanded with the scenario's names);
    :class:`UndeclaredColumnError` naming every column that has none."""
    table, sc = _table(table), _scenario(scenario)
    catalogue = _catalogue(TABLE_COLUMNS[table], sc)
    missing = [c for c in columns if c not in catalogue]
    if missing:
        raise UndeclaredColumnError(
            f"{table}: no declaration for column(s) {', '.join(map(repr, missing))}; declare each in "
            "simulation/datadict.py (name, meaning, unit, type, formula) and run "
            f"python -m simulation.datadict > {DOCS_PAGE}"
        )
    found = [catalogue[c] for c in columns]
    drawn = _drawn(sc) if table == TABLES["draws"] else set()
    if any(c.name in drawn for c in found):
        schema = {p.path: p for p in parameters(sc)}
        found = [_parameter_column(c, sc, schema) if c.name in drawn else c for c in found]
    return found


def describe_columns(
    table_name: str,
    columns: Sequence[str],
    scenario: Scenario | Mapping[str, Any],
    types: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Table Schema fields for the actual columns of a run's table: name, type, description (meaning and
    unit), unit and formula. ``types`` (column -> "int", "float", "bool" or "text", as the manifest records
    them) are checked against the declared types, and give the type of draws' parameter columns.

    Raises :class:`UndeclaredColumnError` for columns with no declaration and :class:`DataDictionaryError`
    for a column whose data is not of its declared type."""
    table = _table(table_name)
    fields = []
    for name, column in zip(columns, declarations(table, columns, scenario), strict=True):
        kind = column.type
        if types is not None:
            written = types.get(name)
            if written not in TYPE_OF_DATA:
                raise DataDictionaryError(f"{table}: no type given for column {name!r}")
            if not kind:
                kind = TYPE_OF_DATA[written]
            elif written not in DATA_TYPES[kind]:
                raise DataDictionaryError(
                    f"{table}: column {name!r} is written as {written} but declared {kind} in "
                    "simulation/datadict.py; change the declaration or the code that makes the column"
                )
        fields.append(field(column, kind or "number"))
    return fields


def field(column: Column, kind: str) -> dict[str, Any]:
    """One Table Schema field."""
    out: dict[str, Any] = {"name": column.name, "type": kind, "description": description(column)}
    if column.unit:
        out["unit"] = column.unit
    out["formula"] = column.formula
    if kind == "boolean":
        out["trueValues"], out["falseValues"] = ["True"], ["False"]
    out["constraints"] = {"required": True}
    return out


def description(column: Column) -> str:
    """The meaning, then the unit; a share says it is a fraction, not percent."""
    if not column.unit:
        return column.meaning
    if is_fraction(column.unit):
        return f"{column.meaning} Unit: {column.unit}, not percent (percent only where displayed)."
    return f"{column.meaning} Unit: {column.unit}."


def indicator_declarations(names: Sequence[str], scenario: Scenario | Mapping[str, Any]) -> list[Column]:
    """The declaration of each summary indicator: ``<metric>_end`` and ``<metric>_mean`` from the metric's
    own, others from :data:`INDICATORS`; :class:`UndeclaredColumnError` for any other."""
    sc = _scenario(scenario)
    explicit = _catalogue(INDICATORS, sc)
    metrics = _catalogue([c for c in MODEL_COLUMNS if c not in (REPLICATE, TICK, DATE)], sc)
    out, missing = [], []
    for name in names:
        if name in explicit:
            out.append(explicit[name])
            continue
        for ending, (said, how) in INDICATOR_ENDINGS.items():
            metric = metrics.get(name[: -len(ending)]) if name.endswith(ending) else None
            if metric is not None and metric.type in NUMERIC:
                formula = f"{how.format(metric=metric.name)} (`experiments.summary.indicators`)"
                meaning = f"{metric.meaning} {said}"
                out.append(replace(metric, name=name, meaning=meaning, type="number", formula=formula))
                break
        else:
            missing.append(name)
    if missing:
        raise UndeclaredColumnError(
            f"{SUMMARY_CSV}: no declaration for indicator(s) {', '.join(map(repr, missing))}; name it "
            f"<metric>{' or <metric>'.join(INDICATOR_ENDINGS)} after a declared timeseries metric, or declare it "
            "in INDICATORS in simulation/datadict.py"
        )
    return out


def format_value(
    table: str, column: str, value: Any, scenario: Scenario | Mapping[str, Any], indicator: bool = False
) -> str:
    """``value`` of a column (or, with ``indicator``, of a summary indicator) rounded for people: shares
    as percent with 1 decimal, months and ECI points with 1 decimal, money and FLOP to a few figures."""
    if indicator:
        (column_decl,) = indicator_declarations([column], scenario)
    else:
        (column_decl,) = declarations(table, [column], scenario)
    return column_decl.shown.format(value)


# -- labels for figures and reports -----------------------------------------------------------------------

PLAIN_OWNERS = {"labs": "lab", "blocs": "bloc", "segments": "segment", "regions": "region"}
PLAIN_LABELS = {  # the two gaps told apart in a few words
    "gap_months_true": "Gap on true capability (rests on the assumed benchmark focus)",
    "gap_months_benchmark": "Gap on benchmark scores (as Epoch AI's ECI data measure it)",
}
OUTCOME_STATS = {
    "end": "at the end",
    "mean": "mean over the run",
    "min": "lowest month",
    "max": "highest month",
}


@dataclass(frozen=True)
class Label:
    """A metric or outcome as a figure shows it: plain words, the display unit ("%" for shares) and the
    factor from data units to display units."""

    text: str
    unit: str
    scale: float = 1.0

    @property
    def axis(self) -> str:
        """'Gap in months (months)', 'Share of token usage on open models (%)'."""
        return f"{self.text} ({self.unit})" if self.unit else self.text


def short_meaning(meaning: str) -> str:
    """The first clause of a declared meaning: 'Capability gap in months: how long ...' -> 'Capability gap
    in months'."""
    return re.split(r": | \(|, ", meaning.rstrip("."), maxsplit=1)[0]


def metric_label(name: str, scenario: Scenario | Mapping[str, Any]) -> Label:
    """A timeseries metric, or an outcome ``<metric>_end``, ``_mean``, ``_min`` or ``_max`` (sweeps,
    summary indicators), in plain words with its display unit; the name itself when undeclared."""
    try:
        sc = _scenario(scenario)
        catalogue = _catalogue(MODEL_COLUMNS, sc)
    except Exception:  # noqa: BLE001 - a scenario the schema cannot read: names as they are
        return Label(name, "")
    metric, stat = name, ""
    if name not in catalogue:
        head, _, tail = name.rpartition("_")
        if tail in OUTCOME_STATS and head in catalogue:
            metric, stat = head, OUTCOME_STATS[tail]
    column = catalogue.get(metric)
    if column is None:
        return Label(name, "")
    text = PLAIN_LABELS.get(metric) or short_meaning(column.meaning)
    text += f", {stat}" if stat else ""
    if is_fraction(column.unit):
        return Label(text, "%", 100.0)
    return Label(text, column.unit)


def parameter_rows(scenario: Scenario | Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of ``scenario`` by dotted path (:func:`simulation.config.parameters.parameters`);
    empty when the schema cannot read the scenario."""
    try:
        return {p.path: p for p in parameters(_scenario(scenario))}
    except Exception:  # noqa: BLE001 - a scenario the schema cannot read keeps its dotted paths
        return {}


def parameter_label(path: str, rows: Mapping[str, Any]) -> tuple[str, str]:
    """(plain words, unit) of a parameter's dotted path from the schema's description (``rows`` from
    :func:`parameter_rows`): its owner (lab, bloc, segment, region) and the description's first sentence
    without asides, e.g. ('Bloc china: scales the chance and size of fundraising for the bloc's labs', '').
    The path itself when the schema does not describe it."""
    row = rows.get(path)
    if row is None or not row.description:
        return path, ""
    sentence = re.sub(r"\s*\([^()]*\)", "", row.description)  # asides and claim numbers out
    sentence = re.split(r"(?<=[a-z0-9])(?<!e\.g)(?<!i\.e)(?:\. |: )", sentence, maxsplit=1)[0]
    sentence = sentence.strip().rstrip(".").removesuffix(f", {row.unit}").strip(" ,")
    parts = path.split(".")
    if len(parts) > 3 and parts[0] == "events" and parts[2] == "set":
        parts = parts[3:]
    for i, part in enumerate(parts[:-1]):
        if part in PLAIN_OWNERS and i + 1 < len(parts) - 1:
            owner = f"{PLAIN_OWNERS[part].capitalize()} {parts[i + 1]}"
            return f"{owner}: {sentence[:1].lower()}{sentence[1:]}", row.unit
    return sentence, row.unit


# -- the data package ------------------------------------------------------------------------------------


def package_name(scenario_name: str) -> str:
    """A Data Package name (lower case letters, digits, ``-._/``) for a run of the scenario."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", scenario_name.lower()).strip("-._")
    return f"open-closed-ai-sim-{cleaned or 'scenario'}"


def data_package(
    tables: Mapping[str, Any],
    scenario: Scenario | Mapping[str, Any],
    indicators: Sequence[str] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """A Frictionless Tabular Data Package describing a run folder's CSV tables.

    Args:
        tables: file name -> ``{"columns": [...], "types": {column: "int" | "float" | "bool" | "text"}}``
            as the manifest's ``tables`` records them (or the DataFrame as written: columns and dtypes);
            every CSV table of a run folder (``outputs.TABLES`` and ``summary.csv``) must be there.
        scenario: the scenario as run (a Scenario or the resolved scenario's mapping).
        indicators: the summary's indicator names (its rows), each described in the summary resource.
        created: when the run was made (ISO 8601).
    """
    sc = _scenario(scenario)
    missing = [name for name in TABLE_COLUMNS if name not in tables]
    if missing:
        raise DataDictionaryError(f"no columns given for {', '.join(missing)}")
    resources = []
    for name in TABLE_COLUMNS:
        columns, types = _columns_and_types(tables[name])
        what, key = TABLE_INFO[name]
        schema: dict[str, Any] = {
            "fields": describe_columns(name, columns, sc, types),
            "missingValues": [""],
            "primaryKey": key,
        }
        if name in FOREIGN_KEYS:
            schema["foreignKeys"] = [
                {"fields": own, "reference": {"resource": Path(other).stem, "fields": theirs}}
                for own, other, theirs in FOREIGN_KEYS[name]
            ]
        resource: dict[str, Any] = {
            "profile": "tabular-data-resource",
            "name": Path(name).stem,
            "path": name,
            "description": what,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": schema,
        }
        if name == SUMMARY_CSV and indicators is not None:
            described = indicator_declarations(list(indicators), sc)
            indicator = next(f for f in schema["fields"] if f["name"] == "indicator")
            indicator["constraints"]["enum"] = list(indicators)
            resource["indicators"] = [
                {"name": c.name, "description": description(c), "unit": c.unit, "formula": c.formula}
                for c in described
            ]
        resources.append(resource)
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": package_name(sc.name),
        "title": f"Simulation run of the scenario {sc.name}",
        "description": (
            f"{sc.description} Tables of one run of open-closed-ai-sim: {sc.months} months from {sc.start}. "
            "Shares are fractions from 0 to 1 (percent only where displayed); money in USD; compute in "
            "physical FLOP unless stated; capability in ECI points. Columns are described in "
            f"{DOCS_PAGE} of the project."
        ).strip(),
        "licenses": [LICENSE],
        "sources": [EPOCH_SOURCE, SOFTWARE_SOURCE],
    }
    if created is not None:
        package["created"] = created
    package["resources"] = resources
    return package


def _columns_and_types(table: Any) -> tuple[list[str], dict[str, str]]:
    if isinstance(table, Mapping):
        return list(table["columns"]), dict(table["types"])
    columns = [str(c) for c in table.columns]  # a DataFrame
    return columns, dict(zip(columns, map(column_type, table.dtypes), strict=True))


def run_folder_package(folder: str | Path) -> dict[str, Any]:
    """The data package of a saved run folder, from its manifest, scenario and summary (read and checked
    by ``outputs.read_run``)."""
    run = read_run(folder)
    return data_package(
        run.manifest["tables"],
        run.scenario,
        indicators=[str(i) for i in run.summary.index],
        created=run.manifest["created_utc"],
    )


# -- docs/outputs.md -------------------------------------------------------------------------------------

PANDAS_EXAMPLE = '''\
import json
from pathlib import Path

import pandas as pd

PANDAS_TYPES = {"integer": "int64", "number": "float64", "boolean": "bool", "string": str, "yearmonth": str}


def read_table(run_dir, name):
    """A table of a run folder ("timeseries", "labs", "draws", "summary") with its declared types."""
    package = json.loads((Path(run_dir) / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["name"] == name)
    fields = resource["schema"]["fields"]
    return pd.read_csv(
        Path(run_dir) / resource["path"],
        dtype={f["name"]: PANDAS_TYPES[f["type"]] for f in fields},
        keep_default_na=False,  # text stays text ("NA" is not missing); an empty number cell is an error
    )


model = read_table("outputs/baseline/latest", "timeseries")
'''

R_EXAMPLE = """\
library(frictionless)
run <- read_package("outputs/baseline/latest/datapackage.json")
model <- read_resource(run, "timeseries")
"""

INTRO = """# Run outputs: what a run folder holds

<!-- Generated by `python -m simulation.datadict > docs/outputs.md` from simulation/datadict.py.
     Do not edit by hand: a test fails when this page is stale. -->

Each saved run (`python run.py SCENARIO`, the dashboard's what-if, or `simulation.outputs.write_run(results)`)
is a new folder `outputs/<scenario>/<YYYYmmdd-HHMMSS>-seed<S>-r<R>-<id>/` (UTC time; `latest` links to
the newest). It is built under a temporary name and renamed when whole, so a folder with a run's name is
complete. It holds:
"""

CONVENTIONS = """
## Units and rounding

- **Shares are fractions from 0 to 1** in every data file (CSV and JSON): `0.452` is 45.2%. Percent appears only
  where values are displayed (the summary `run.py` prints, plots, comparison reports); every share's column
  description says so.
- **Time**: one tick is one month; `tick` counts months from the scenario's `start` (tick 0 is the start month)
  and `date` is the calendar month, `YYYY-MM`. Flows (revenue, costs, usage) are per month.
- **Money** in US dollars (USD) as the scenario gives them; **compute** in physical FLOP (effective FLOP is
  physical FLOP times `training_efficiency`); **usage** in million tokens (Mtok).
- **Capability** in ECI points, the scale of Epoch AI's Epoch Capabilities Index (credit Epoch AI, CC-BY 4.0;
  see `data/README.md`). True capability is what a model can do; the benchmark score adds the lab's benchmark
  focus. Gaps in months compare the open frontier with the closed frontier's history.
- **Precision**: data files keep full precision (Python's shortest round-trip form); round only where people
  read. Where the project displays a value it rounds as the "shown as" column says
  (`simulation.datadict.format_value`).
"""

LOADING = f"""
## Loading the tables

Every run folder has a `datapackage.json` (a [Frictionless](https://datapackage.org/) Tabular Data Package):
for each CSV, each column's name, type (`integer`, `number`, `boolean`, `string`, `yearmonth`), description,
`unit` and `formula`, the tables' keys (`replicate` joins the three tables; `replicate, tick` joins `labs` to
`timeseries`), and for `summary.csv` each indicator's meaning and unit (its `indicators` list). Booleans are
written `True`/`False`. No cell is empty.

pandas, with the declared types:

```python
{PANDAS_EXAMPLE}```

R, with the [frictionless](https://docs.ropensci.org/frictionless/) package (dates become the month's first day):

```r
{R_EXAMPLE}```

Check a folder with `pip install frictionless` and `frictionless validate outputs/baseline/latest/datapackage.json`.
`simulation.outputs.read_run(folder)` reads a folder with stricter checks (`simulation/outputs.py`); for a folder
written before run folders held a `datapackage.json`, `python -m simulation.datadict RUN_DIR` prints one.
"""

CREDIT = """
## Licence and credit

The software is MIT-licensed (the package's `licenses`). Capability columns (ECI points) and the gaps computed from
them are on the scale of Epoch AI's Epoch Capabilities Index, and the frontier history before the start comes from
Epoch AI's data, published under CC-BY 4.0: credit **Epoch AI, "Epoch Capabilities Index"** when you use them (the
package's `sources`; `data/README.md`).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_rows(columns: Sequence[Column], head: str = "column") -> list[str]:
    rows = [f"| {head} | type | unit | meaning | formula or source | shown as |", "|---|---|---|---|---|---|"]
    for c in columns:
        kind = c.type or "as drawn"
        shown = c.shown.text if c.shown is not AS_IS else ""
        rows.append(
            f"| `{c.name}` | {kind} | {_cell(c.unit)} | {_cell(c.meaning)} | {_cell(c.formula)} | {shown} |"
        )
    return rows


def markdown() -> str:
    """docs/outputs.md, from the declarations."""
    lines = [INTRO.rstrip(), ""]
    lines += ["| file | what it holds |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(what)} |" for name, what in FILES.items()]
    lines += [CONVENTIONS.rstrip(), LOADING.rstrip(), "", "## Columns", ""]
    lines.append(
        "Families of columns are named by patterns: one column for "
        + "; ".join(f"`{{{k}}}`: {v}" for k, v in PLACEHOLDERS.items())
        + ". A new column without a declaration in `simulation/datadict.py` stops the run from being saved "
        "(and fails the tests)."
    )
    for name, columns in TABLE_COLUMNS.items():
        what, key = TABLE_INFO[name]
        lines += ["", f"### `{name}`", "", f"{what} Key: {', '.join(f'`{k}`' for k in key)}.", ""]
        if name == TABLES["draws"]:
            lines += [
                "A `{parameter}` column's meaning and unit are the parameter's own, from the schema "
                "(docs/scenarios.md); its type is the drawn values' (a `choice` may draw whole numbers, "
                "text or true/false).",
                "",
            ]
        lines += _table_rows(columns)
    lines += ["", "### Summary indicators (rows of `summary.csv`)", ""]
    endings = "; ".join(
        f"`<metric>{ending}` is {how.format(metric='<metric>')}"
        for ending, (_, how) in INDICATOR_ENDINGS.items()
    )
    lines.append(
        f"Each is computed per replicate, then summarised by its median and 5-95% interval. For a `timeseries.csv` "
        f"metric, {endings}: its meaning, unit and rounding are the metric's. A run's `summary.csv` and the "
        "`indicators` list of its `datapackage.json` name the ones it has. Others:"
    )
    lines += ["", *_table_rows(INDICATORS, "indicator"), CREDIT.rstrip(), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stdout.write(markdown())
        return 0
    if len(args) == 1 and not args[0].startswith("-"):
        try:
            package = run_folder_package(args[0])
        except (RunFolderError, DataDictionaryError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(json.dumps(package, indent=2))
        return 0
    print("usage: python -m simulation.datadict [RUN_DIR]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
