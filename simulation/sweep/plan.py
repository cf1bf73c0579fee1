"""A sweep checked against its base scenario, before anything runs: the scenario as run, each parameter's
type, the samples, the outcomes, and the run tasks.

Each parameter is tried on the base scenario at its low and high end (or at each listed value) with
``with_changes``, so an unknown path or an out-of-range value fails here with the key path named. A swept
parameter that the scenario makes uncertain is no longer drawn: the sweep sets it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Scenario, ScenarioError, pin, with_changes
from ..config.loader import get_path, posterior_columns
from ..experiments.runner import prepare
from . import samplers
from .samplers import Kind
from .spec import SweepError, SweepSpec
from .task import STATS, RunTask, split_outcome

DEFAULT_OUTCOMES = (
    "gap_months_true_end",
    "gap_months_true_mean",
    "gap_months_benchmark_end",
    "open_share_usage_end",
    "open_share_usage_mean",
    "open_share_spend_end",
    "hhi_usage_end",
    "gap_months_true",
    "open_share_usage",
)
# Not model parameters. Events are swept by their own paths: ``events.0.at`` (the month, as values) or
# ``events.0.set.policy.ban.active`` (a value the event sets).
NOT_SWEPT = {"name", "description", "seed", "replicates", "uncertain", "expected_effects"}


@dataclass
class Plan:
    """A validated sweep: run ``i`` is sample ``i // replicates``, replicate ``i % replicates``."""

    spec: SweepSpec
    scenario: Scenario
    kinds: dict[str, Kind]
    design: np.ndarray | None
    samples: list[dict[str, Any]]
    scalars: list[str]
    series: list[str]

    @property
    def total(self) -> int:
        return len(self.samples) * self.spec.replicates

    def task(self, run: int) -> RunTask:
        sample, replicate = divmod(run, self.spec.replicates)
        return RunTask(
            run=run,
            sample=sample,
            replicate=replicate,
            scenario=self.scenario,
            changes=self.samples[sample],
            seed=self.spec.seed,
            seed_key=(replicate,) if self.spec.common_seeds else (run,),
            scalars=tuple(self.scalars),
            series=tuple(self.series),
        )

    def tasks(self, skip: set[int] | frozenset[int] = frozenset()) -> Iterator[RunTask]:
        """Tasks of the runs not in ``skip``, in run order (made lazily: nothing is held per run)."""
        return (self.task(r) for r in range(self.total) if r not in skip)

    def samples_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.samples, columns=list(self.spec.parameters))
        frame.insert(0, "sample", np.arange(len(frame)))
        return frame

    def fingerprint(self) -> str:
        """Identifies what the runs compute, so a resume never mixes two different sweeps."""
        data = {
            "spec": self.spec.model_dump(mode="json", exclude={"name", "base"}),
            "scenario": self.scenario.model_dump(mode="json"),
            "samples": self.samples,
        }
        text = json.dumps(data, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_plan(spec: SweepSpec, base: Scenario | None = None, file: str | Path | None = None) -> Plan:
    """Check ``spec`` against its base scenario (``base`` if given, else ``spec.base``) and plan the runs."""
    scenario = _base_scenario(spec, base, file)
    kinds = {path: _check_parameter(scenario, path, spec, file) for path in spec.parameters}
    drawn = set(scenario.uncertain) | set(posterior_columns(scenario.posterior))
    if any(p in drawn for p in spec.parameters):  # swept values win over distributions and posteriors
        current = scenario.model_dump()
        scenario = pin(scenario, {p: get_path(current, p) for p in spec.parameters if p in drawn})
    scalars, series = resolve_outcomes(spec.outcomes, metric_names(scenario), file)
    matrix = samplers.design(spec)
    samples = samplers.sample_values(spec, kinds, matrix)
    return Plan(spec, scenario, kinds, matrix, samples, scalars, series)


def _base_scenario(spec: SweepSpec, base: Scenario | None, file: str | Path | None) -> Scenario:
    try:
        return prepare(
            base if base is not None else spec.base,
            months=spec.months,
            n_adopters=spec.adopters,
            overrides=spec.overrides,
        )
    except ScenarioError as err:
        if err.file != "<scenario>":  # an error in the scenario file itself: its own message
            raise
        raise SweepError(file, "overrides", f"{err.key_path}: {err.problem}") from None


def _check_parameter(scenario: Scenario, path: str, spec: SweepSpec, file: str | Path | None) -> Kind:
    """The parameter's type; raises SweepError unless each end (or value) gives a valid scenario."""
    key = f"parameters.{path}"
    if path.split(".")[0] in NOT_SWEPT:
        raise SweepError(file, key, f"{path.split('.')[0]!r} cannot be swept")
    parts = path.split(".")
    if (
        parts[0] == "events"
        and len(parts) > 1
        and parts[1].isdigit()
        and int(parts[1]) >= len(scenario.events)
    ):
        raise SweepError(
            file,
            key,
            f"the base scenario has {len(scenario.events)} event(s) within its {scenario.months} months "
            "(events after a shortened horizon are dropped)",
        )
    try:
        current = get_path(scenario.model_dump(), path)
    except (KeyError, IndexError, ValueError, TypeError):
        try:
            with_changes(scenario, {path: None})
        except ScenarioError as err:
            raise SweepError(file, key, err.problem) from None
        raise SweepError(file, key, "unknown parameter") from None
    kind: Kind
    if isinstance(current, bool):
        kind = "bool"
    elif isinstance(current, int):
        kind = "int"
    elif isinstance(current, float):
        kind = "float"
    elif current is None or isinstance(current, str):
        kind = "str"
    else:
        raise SweepError(
            file, key, f"is a {type(current).__name__}; only numbers, true/false and text can be swept"
        )
    p = spec.parameters[path]
    if p.is_range and kind not in ("int", "float"):
        raise SweepError(file, key, f"a range needs a number, but this parameter is {kind}: give values")
    raw = [p.low, p.high] if p.is_range else list(p.values or [])
    for value in raw:
        try:
            value = samplers.coerce(value, kind)
        except (TypeError, ValueError):
            raise SweepError(file, key, f"{value!r} is not a valid {kind}") from None
        try:
            with_changes(scenario, {path: value})
        except ScenarioError as err:
            problem = err.problem if "(got" in err.problem else f"{err.problem} (with {value!r})"
            raise SweepError(file, key, problem) from None
    return kind


def metric_names(scenario: Scenario) -> list[str]:
    """The model's monthly metric columns for this scenario (from a 10-adopter model that is only built)."""
    from ..model import EcosystemModel

    probe = with_changes(
        scenario, {"adopters.n": 10, "months": 1, "adopters.burn_in_months": 1, "events": [], "uncertain": {}}
    )
    model = EcosystemModel(probe, seed=0)
    return [k for k, v in model.current.items() if k not in ("tick", "date") and not isinstance(v, str)]


def resolve_outcomes(
    names: Sequence[str] | None, metrics: Sequence[str], file: str | Path | None = None
) -> tuple[list[str], list[str]]:
    """Split outcome names into scalars (``metric_end``/``_mean``/``_min``/``_max``) and monthly series."""
    scalars: list[str] = []
    series: list[str] = []
    for i, name in enumerate(dict.fromkeys(DEFAULT_OUTCOMES if names is None else names)):
        metric, stat = split_outcome(name)
        if name in metrics:
            series.append(name)
        elif stat in STATS and metric in metrics:
            scalars.append(name)
        else:
            options = [*metrics, *(f"{m}_{s}" for m in metrics for s in STATS)]
            hint = difflib.get_close_matches(name, options, n=1)
            raise SweepError(
                file,
                f"outcomes[{i}]",
                f"unknown outcome {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + "; an outcome is a metric (a monthly series, e.g. gap_months_true) or a metric with "
                "_end, _mean, _min or _max (a scalar, e.g. gap_months_true_mean)",
            )
    return scalars, series
