"""A calibration's specification: scenario, free parameters with priors, targets, distance, schedule.

Read from YAML (``calibration/baseline.yaml``) or given as a mapping; strict like the scenario schema
(unknown keys, NaN, true/false for numbers refused). :func:`load_spec` checks the spec against its scenario
before anything runs: every parameter path exists, both ends of every prior (and of every path it moves) are
inside the schema's bounds, every target names a row of ``data/calibration_targets.csv``, and every statistic
returns a finite number on a short test run. Any problem is one :class:`CalibrationError` naming the file,
key path and expectation.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..config import Scenario, ScenarioError, load_scenario, pin, with_changes
from ..config.base import Float, Frozen, Int
from ..config.loader import (
    _format_validation_error,
    _raise_unknown_path,
    check_node_graph,
    get_path,
    read_text,
    resolve_file,
)
from .statistics import Statistic

REPO = Path(__file__).resolve().parents[2]
TARGETS_CSV = REPO / "data" / "calibration_targets.csv"
Z90 = 1.6448536269514722  # a two-sided 90% interval is mean +- Z90 sd
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class CalibrationError(ScenarioError):
    """A calibration that cannot run, found before any run: ``file at key.path: problem``."""

    def __init__(self, file: str | Path | None, key_path: str, problem: str):
        super().__init__(file if file is not None else "<calibration>", key_path, problem)


class Uniform(Frozen):
    dist: Literal["uniform"]
    low: Float
    high: Float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


class LogUniform(Uniform):
    dist: Literal["loguniform"]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _positive(self) -> LogUniform:
        if self.low <= 0:
            raise ValueError(f"a log-uniform prior needs low above 0 (got {self.low:g})")
        return self


class TruncatedNormal(Frozen):
    dist: Literal["normal"]
    mean: Float
    sd: Float = Field(gt=0)
    low: Float
    high: Float

    @model_validator(mode="after")
    def _order(self) -> TruncatedNormal:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        return self


Prior = Annotated[Uniform | LogUniform | TruncatedNormal, Field(discriminator="dist")]


class FreeParameter(Frozen):
    """A parameter the data are asked about: a dotted scenario path with a bounded prior. ``moves``: other
    paths that shift with it, each by ``slope x (value - the scenario's value at this path)`` (e.g. a lab's
    true starting capability falls as its benchmark focus rises, since its measured score is fixed)."""

    prior: Prior
    moves: dict[str, Float] = Field(default_factory=dict, description="Dotted path -> slope.")
    source: str = Field(min_length=1, description="Where the prior's range comes from, or 'assumption: ...'.")


class Target(Frozen):
    """A published figure and the statistic of a run that is compared with it."""

    data: str = Field(description="The row's `target` in data/calibration_targets.csv.")
    period: str = Field(description="The row's `period` in data/calibration_targets.csv.")
    observed: Float
    interval: tuple[Float, Float] = Field(
        description="90% interval of the observation (published, or an assumption stated in `note`)."
    )
    scale: Literal["linear", "log"] = "linear"
    statistic: Statistic
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Target:
        lo, hi = self.interval
        if not lo < hi:
            raise ValueError(f"interval: low ({lo:g}) must be below high ({hi:g})")
        if self.scale == "log" and (lo <= 0 or self.observed <= 0):
            raise ValueError("a log-scale target needs a positive observation and interval")
        return self

    def transform(self, x: float) -> float:
        """The value in the space distances are measured in (log10 for ``scale: log``)."""
        if self.scale == "log":
            return math.log10(x) if x > 0 else -math.inf
        return x

    @property
    def sd(self) -> float:
        """Standard deviation of the observation in the transformed space, from its 90% interval."""
        lo, hi = self.interval
        return (self.transform(hi) - self.transform(lo)) / (2 * Z90)


class DistanceSpec(Frozen):
    """``scaled``: root mean square over targets of (statistic - observed) / sd, each in its scale; so 1 means
    the run misses the data by one observation sd per target on average."""

    kind: Literal["scaled"] = "scaled"


class PopulationSpec(Frozen):
    """ABC-SMC schedule: particles per generation, up to ``generations``; the tolerance of each generation is
    the ``quantile`` of the last generation's distances; stop early at ``min_epsilon`` or when fewer than
    ``min_acceptance_rate`` of the simulations are accepted."""

    size: Int = Field(ge=4, le=100_000)
    generations: Int = Field(ge=1, le=100)
    quantile: Float = Field(default=0.5, gt=0, lt=1)
    min_epsilon: Float = Field(default=0.0, ge=0)
    min_acceptance_rate: Float = Field(default=0.0, ge=0, le=1)
    transition: Literal["multivariate_normal", "local"] = Field(
        default="multivariate_normal",
        description="How particles are perturbed: one normal kernel fitted to the whole generation, or a "
        "kernel per particle from its nearest neighbours (pyabc's LocalTransition; for correlated posteriors).",
    )


class CalibrationSpec(Frozen):
    name: str = Field(description="Short name: the default output folder is calibration/<name>.")
    description: str = ""
    scenario: str = Field(description="A shipped scenario's name or a YAML path relative to the spec.")
    months: Int | None = Field(default=None, ge=2, le=600)
    adopters: Int | None = Field(default=None, ge=10, le=10_000_000)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes to the scenario (dotted path -> value), pinned."
    )
    seed: Int = Field(default=1, ge=0, le=2**63 - 1)
    parameters: dict[str, FreeParameter] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)
    distance: DistanceSpec = Field(default_factory=DistanceSpec)
    population: PopulationSpec
    predictive_draws: Int = Field(
        default=100, ge=2, le=100_000, description="Posterior predictive: runs, one particle each."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"expected one folder name (letters, digits, '_', '.', '-'), got {value!r}")
        return value


class Calibration:
    """A checked spec with its resolved scenario (horizon and adopters applied) and its file."""

    def __init__(self, spec: CalibrationSpec, scenario: Scenario, file: Path | None):
        self.spec = spec
        self.scenario = scenario
        self.file = file

    @property
    def names(self) -> list[str]:
        return list(self.spec.parameters)

    def moved_paths(self) -> list[str]:
        """Every path a particle sets: the free parameters, then the paths they move."""
        out = list(self.spec.parameters)
        for p in self.spec.parameters.values():
            out += [m for m in p.moves if m not in out]
        return out

    def changes(self, values: Mapping[str, float]) -> dict[str, float]:
        """Dotted path -> value for one particle (free parameters and the paths they move)."""
        base = self.scenario.model_dump()
        out: dict[str, float] = {}
        for name, par in self.spec.parameters.items():
            value = float(values[name])
            out[name] = value
            delta = value - float(get_path(base, name))
            for path, slope in par.moves.items():
                out[path] = float(get_path(base, path)) + slope * delta
        return out


def read_spec(path: str | Path) -> tuple[dict[str, Any], Path]:
    import yaml

    file = Path(path)
    text = read_text(file)
    try:
        check_node_graph(yaml.compose(text, Loader=yaml.SafeLoader), file)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError(file, "", f"malformed YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CalibrationError(file, "", "expected a mapping of keys at the top level")
    return data, file


def load_spec(
    spec: str | Path | Mapping[str, Any] | CalibrationSpec, *, test_run: bool = True
) -> Calibration:
    """Parse and check a spec (a YAML path, a mapping or a CalibrationSpec) against its scenario."""
    file: Path | None = None
    if isinstance(spec, CalibrationSpec):
        parsed = spec
    else:
        if isinstance(spec, Mapping):
            data = dict(spec)
        else:
            data, file = read_spec(spec)
        try:
            parsed = CalibrationSpec.model_validate(data)
        except ValidationError as err:
            key, problem = _format_validation_error(err)
            raise CalibrationError(file, _spec_path(key), problem) from None
    scenario = _scenario(parsed, file)
    cal = Calibration(parsed, scenario, file)
    check_parameters(cal)
    check_targets(cal)
    if test_run:
        check_statistics(cal)
    return cal


def _spec_path(key: str) -> str:
    """pydantic's location with the discriminator's tag dropped (``prior.uniform.low`` -> ``prior.low``)."""
    return re.sub(
        r"\.(uniform|loguniform|normal|window_mean|growth_per_year|price_ratio|price_decline)\.", ".", key
    )


def _scenario(spec: CalibrationSpec, file: Path | None) -> Scenario:
    ref = spec.scenario
    if file is not None and Path(ref).suffix:
        candidate = (file.parent / ref).resolve()
        ref = str(candidate)
    try:
        sc = load_scenario(resolve_file(ref))
        changes: dict[str, Any] = {}
        if spec.months is not None:
            changes["months"] = spec.months
        if spec.adopters is not None:
            changes["adopters.n"] = spec.adopters
        if changes:
            from ..experiments.runner import prepare

            sc = prepare(sc, months=spec.months, n_adopters=spec.adopters)
    except ScenarioError as err:
        raise CalibrationError(file, "scenario", f"{err}") from None
    if spec.overrides:
        try:
            sc = pin(sc, spec.overrides)
        except ScenarioError as err:
            raise CalibrationError(file, f"overrides.{err.key_path}", err.problem) from None
    return sc


def check_parameters(cal: Calibration) -> None:
    """Every free parameter and every path it moves exists and is a real number; both ends of each prior keep
    it (and the paths it moves) inside the schema's bounds."""
    dumped = cal.scenario.model_dump()
    file = cal.file
    for name, par in cal.spec.parameters.items():
        for path in [name, *par.moves]:
            key = f"parameters.{name}" if path == name else f"parameters.{name}.moves.{path}"
            try:
                value = get_path(dumped, path)
            except (KeyError, IndexError, ValueError, TypeError):
                try:
                    _raise_unknown_path(dumped, path, file)
                except ScenarioError as err:
                    problem = f"{err.problem} at {err.key_path}" if err.key_path != path else err.problem
                    raise CalibrationError(
                        file, key, f"{problem} in scenario {cal.scenario.name!r} (see run.py params)"
                    ) from None
            if not isinstance(value, float):
                raise CalibrationError(file, key, f"expected a real-valued parameter, got {value!r}")
    for name, par in cal.spec.parameters.items():
        for end in (par.prior.low, par.prior.high):
            try:
                with_changes(cal.scenario, cal.changes({**_centre(cal), name: end}))
            except ScenarioError as err:
                raise CalibrationError(
                    file,
                    f"parameters.{name}.prior",
                    f"the prior reaches {end:g}, where {err.key_path} is not allowed: "
                    f"{err.problem.split(' (got ')[0]}",
                ) from None


def _centre(cal: Calibration) -> dict[str, float]:
    return {n: float(get_path(cal.scenario.model_dump(), n)) for n in cal.spec.parameters}


def known_targets(path: Path = TARGETS_CSV) -> set[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {(row["target"], row["period"]) for row in csv.DictReader(fh)}


def check_targets(cal: Calibration) -> None:
    known = known_targets()
    months = cal.scenario.months
    for name, target in cal.spec.targets.items():
        if (target.data, target.period) not in known:
            names = sorted({t for t, _ in known})
            hint = (
                f"; its periods there: {sorted(p for t, p in known if t == target.data)}"
                if target.data in names
                else f"; expected one of: {', '.join(names)}"
            )
            raise CalibrationError(
                cal.file,
                f"targets.{name}.data",
                f"no row ({target.data!r}, period {target.period!r}) in data/calibration_targets.csv{hint}",
            )
        last = target.statistic.ticks[1]
        if last > months - 1:
            raise CalibrationError(
                cal.file,
                f"targets.{name}.statistic.ticks",
                f"tick {last} is beyond the calibration's last tick {months - 1} (months: {months})",
            )


def check_statistics(cal: Calibration) -> None:
    """One short run at the centre of the priors; every statistic must give a finite number."""
    from .statistics import run_statistics

    try:
        run_statistics(cal, _centre(cal), seed=cal.spec.seed, check=True)
    except CalibrationError as err:
        raise CalibrationError(cal.file, err.key_path, err.problem) from None
