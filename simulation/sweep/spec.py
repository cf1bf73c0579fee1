"""A sweep's specification: what to vary, how to sample it, what to measure.

The same :class:`SweepSpec` comes from Python arguments (``simulation.sweep(...)``) or from a YAML file
(``run.py sweep sweeps/NAME.yaml``). Everything about the spec itself is checked here, with one clear
:class:`SweepError` naming the file and key path; checks against the base scenario are in ``plan.py``.

A parameter is a mapping ``{low, high, log}`` (a range) or ``{values: [...]}`` (a grid axis), or in short
a list of values; in Python also a tuple ``(low, high)`` for a range.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..config import ScenarioError
from ..config.loader import check_node_graph, read_text

SAMPLERS = ("grid", "lhs", "sobol", "morris")
Sampler = Literal["grid", "lhs", "sobol", "morris"]
# A sweep's name is one folder name under the output root (``outputs/sweeps/<name>``): never a path.
NAME_MAX = 100
NAME_CHARS = re.compile(r"[\w.-]+")  # letters (any script), digits, '_', '.', '-'


class SweepError(ScenarioError):
    """A sweep that cannot run (bad spec, parameter, outcome or output folder), found before any run.

    ``str(err)`` is the one message shown to the user: ``file at key.path: problem``."""

    def __init__(self, file: str | Path | None, key_path: str, problem: str):
        super().__init__(file if file is not None else "<sweep>", key_path, problem)


class ParamSpec(BaseModel):
    """One swept parameter: a range ``low``..``high`` (sampled, or ``n`` grid points; ``log``: evenly
    in log10) or explicit ``values`` (grid only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = None
    high: float | None = None
    log: bool = False
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> ParamSpec:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either low and high (a range) or values (a list), not both")
            if not self.values:
                raise ValueError("values is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (a range) or values (a list)")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low above 0 (got {self.low:g})")
        return self

    @property
    def is_range(self) -> bool:
        return self.values is None


class SweepSpec(BaseModel):
    """A whole sweep. Runs = samples x replicates; run ``i`` has seed ``SeedSequence(seed, spawn_key=(i,))``
    (with ``common_seeds``, ``spawn_key=(replicate,)``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        default="sweep",
        description=f"Short name: the default output folder outputs/sweeps/<name>, so one folder name (up to "
        f"{NAME_MAX} letters, digits, '_', '.' or '-', not starting with '.'), never a path.",
    )
    base: str = Field(default="baseline", description="Base scenario: a YAML path or a shipped name.")
    months: int | None = Field(default=None, ge=1, le=600, description="Shorter or longer horizon.")
    adopters: int | None = Field(default=None, ge=10, description="Number of simulated adopters.")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Fixed changes to the base.")
    parameters: dict[str, ParamSpec] = Field(min_length=1, description="Dotted path -> range or values.")
    sampler: Sampler = "sobol"
    n: int | None = Field(
        default=None,
        ge=1,
        description="grid: points per ranged parameter (not needed when every parameter lists its values); "
        "lhs: samples; sobol: base samples (a power of 2; n*(D+2) samples for D parameters); morris: "
        "trajectories (n*(D+1) samples).",
    )
    replicates: int = Field(default=1, ge=1, le=10_000, description="Runs per sample.")
    outcomes: list[str] | None = Field(
        default=None,
        description="Metric names (monthly series) and metric_end / _mean / _min / _max (scalars).",
    )
    seed: int = Field(default=0, ge=0, description="Root seed of run seeds and of the sampler.")
    common_seeds: bool = Field(
        default=False,
        description="Seed each run by its replicate index instead of its run index: replicate r of every "
        "sample shares random numbers (and drawn uncertain parameters), so differences between samples "
        "are not sampling noise (common random numbers).",
    )
    second_order: bool = Field(default=False, description="sobol: also second-order indices.")
    levels: int = Field(default=4, ge=2, le=100, description="morris: grid levels.")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _shorthands(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        return {path: _param_shorthand(v) for path, v in value.items()}


def check_sampler(spec: SweepSpec, file: str | Path | None = None) -> None:
    """Raise SweepError unless the sampler can use these parameters and this ``n``."""
    ranged = [p for p, s in spec.parameters.items() if s.is_range]
    listed = [p for p in spec.parameters if p not in ranged]
    if spec.sampler != "grid" and listed:
        raise SweepError(
            file,
            f"parameters.{listed[0]}",
            f"sampler {spec.sampler!r} needs a range (low, high) for every parameter, not values "
            "(use sampler: grid)",
        )
    least = 1 if spec.sampler == "grid" and not ranged else 2
    if spec.n is None:
        if spec.sampler == "grid" and not ranged:
            return  # every axis lists its values
        what = "points per ranged parameter" if spec.sampler == "grid" else "the number of samples"
        raise SweepError(file, "n", f"sampler {spec.sampler!r} needs n ({what})")
    if spec.n < least:
        raise SweepError(file, "n", f"sampler {spec.sampler!r} needs n of at least {least}, got {spec.n}")
    if spec.sampler == "sobol" and spec.n & (spec.n - 1):
        lower = 1 << (spec.n.bit_length() - 1)
        raise SweepError(
            file,
            "n",
            f"sampler 'sobol' needs n a power of 2 (Sobol' sequence), got {spec.n}; try {lower} or {lower * 2}",
        )


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a sweep's folder name under the output root, or None when it can."""
    if not name:
        return "is empty; give a short name such as funding_sensitivity"
    if len(name) > NAME_MAX:
        return f"is {len(name)} characters long; keep it to {NAME_MAX}"
    if "/" in name or "\\" in name or Path(name).is_absolute():
        return (
            f"{name!r} is a path; a name is one folder name under outputs/sweeps/ (no '/' or '\\'); "
            "to write elsewhere, choose the output folder (--out, out=)"
        )
    if name.startswith("."):
        return f"{name!r} starts with '.'; a name is a visible folder name under outputs/sweeps/"
    if not NAME_CHARS.fullmatch(name):
        bad = sorted({c for c in name if not NAME_CHARS.fullmatch(c)})
        return f"{name!r} holds {''.join(bad)!r}; use letters, digits, '_', '.' and '-'"
    return None


def safe_name(text: str) -> str:
    """A valid sweep name made from ``text`` (a scenario's or a file's name): other characters become '_'."""
    name = re.sub(r"[^\w.-]+", "_", text).lstrip("._")[:NAME_MAX].rstrip("_")
    return name or "sweep"


def _param_shorthand(value: Any) -> Any:
    """Python shorthands: a tuple is a range, a list is values."""
    if isinstance(value, tuple) and len(value) == 2:
        return {"low": value[0], "high": value[1]}
    if isinstance(value, list):
        return {"values": value}
    return value


def parse_spec(data: Mapping[str, Any], file: str | Path | None = None) -> SweepSpec:
    """Validate a mapping into a :class:`SweepSpec`; any problem is one :class:`SweepError`."""
    try:
        spec = SweepSpec.model_validate(dict(data))
    except ValidationError as err:
        key, problem = _describe(err)
        raise SweepError(file, key, problem) from None
    check_sampler(spec, file)
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec YAML file; ``base`` is resolved relative to the file when it names a file there."""
    path = Path(path)
    try:  # the scenario loader's guards: a regular UTF-8 file of bounded size, depth and alias expansion
        text = read_text(path)
        check_node_graph(yaml.compose(text, Loader=yaml.SafeLoader), path)
        data = yaml.safe_load(text)
    except ScenarioError as err:
        raise SweepError(path, "", err.problem) from None
    except RecursionError:
        raise SweepError(path, "", "nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise SweepError(path, "", f"malformed YAML: {where}{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise SweepError(path, "", "expected a mapping of keys (base, parameters, sampler, n, ...)")
    data.setdefault("name", safe_name(path.stem))
    base = data.get("base")
    if isinstance(base, str) and (path.parent / base).is_file():
        data["base"] = str(path.parent / base)
    return parse_spec(data, path)


def _describe(err: ValidationError) -> tuple[str, str]:
    """First error as (key path, problem) in a spec author's words."""
    e = err.errors()[0]
    loc = [str(p) for p in e["loc"] if not str(p).startswith("function-")]
    key = ".".join(loc)
    if e["type"] == "extra_forbidden":
        known = sorted((ParamSpec if len(loc) > 1 and loc[0] == "parameters" else SweepSpec).model_fields)
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        return key, f"unknown key {loc[-1]!r}" + (
            f" (did you mean {hint[0]!r}?)" if hint else f"; expected one of: {', '.join(known)}"
        )
    if e["type"] == "missing":
        return key, "required key is missing"
    if e["type"] == "too_short" and key == "parameters":
        return key, "give at least one parameter to sweep"
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] != "value_error" and not isinstance(e.get("input"), dict | list):
        msg += f" (got {e.get('input')!r})"
    return key, msg
