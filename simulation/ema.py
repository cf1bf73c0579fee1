"""EMA Workbench adapter: a scenario as an ``ema_workbench`` model, for exploratory modelling and scenario
discovery (PRIM, CART, feature scoring). The ``ema`` extra: ``pip install -e ".[ema]"``.

``ema_model("baseline")`` gives a model whose

- **uncertainties** are the scenario's ``uncertain:`` distributions, one per dotted path (EMA samples each
  uniformly over a range: see :func:`uncertainty_range`), plus any given with ``uncertainties=``; a
  calibration ``posterior:`` (the baseline's) is held at its weighted mean, not drawn: give the calibrated
  parameters to explore as ``uncertainties=`` (for example their posterior 5-95% ranges, docs/calibration.md);
- **levers** are the what-if page's value levers (``dashboard.levers.VALUE_LEVERS``), each over the range
  of its low and high settings in ``simulation.levers`` (docs/levers.md), and the ban on/off (``ban``);
- **outcomes** are sweep outcome names (``sweep.plan.DEFAULT_OUTCOMES`` by default): ``metric_end`` /
  ``_mean`` / ``_min`` / ``_max`` are ScalarOutcomes, a bare metric name is a TimeSeriesOutcome.

What you set is what runs: each experiment's sampled values become ``overrides`` of the run, which *pin*
their parameters (``runner.prepare`` -> ``config.pin``: the distribution is dropped, nothing is drawn), so
the value in EMA's experiments table is the value the model used. A replicate is run exactly as replicate
``r`` of ``simulation.run(scenario, overrides=..., seed=seed, replicates=...)`` (``prepare`` then
``run_replicate``, the runner's own two steps). With ``common_seeds`` (the default) every experiment uses
the same replicate seeds (``SeedSequence(seed, spawn_key=(r,))``), as a sweep with ``common_seeds``:
differences between experiments are the inputs' doing, not sampling noise, and an experiment re-run alone
gives the same numbers.

EMA names must be Python identifiers, so an uncertainty's name is its dotted path with ``.`` as ``__``
(``world.distillation_efficacy`` -> ``world__distillation_efficacy``); a lever's name is the what-if page's.
:func:`inputs` lists every name with its path, range and transform. See docs/ema.md.
"""

from __future__ import annotations

import math
import re
import warnings
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from .config import Scenario, ScenarioError, add_months, months_between, with_changes
from .config.distributions import Choice, LogNormal, Normal, Triangular, Uniform
from .config.parameters import Parameter, bounds_text, parameters
from .dashboard.levers import BAN_ACTIVE, CONSORTIUM, VALUE_LEVERS
from .experiments.runner import ReplicateSpec, prepare, run_replicate
from .sweep.plan import DEFAULT_OUTCOMES, NOT_SWEPT, metric_names, resolve_outcomes
from .sweep.spec import ParamSpec
from .sweep.task import scalar_outcomes

with warnings.catch_warnings():  # EMA 2.5 warns on import that its optional ipyparallel evaluator is missing
    warnings.filterwarnings("ignore", message=".*ipyparallel.*")
    try:
        import ema_workbench as ema
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'simulation.ema needs the EMA Workbench: pip install -e ".[ema]" (ema-workbench)'
        ) from err

TAIL = 0.01  # a normal or log-normal is explored from its 1st to its 99th percentile
BAN = "ban"  # the on/off lever of the open-weight ban
LOG10 = "_log10"  # suffix of a lever sampled in log10 (the value used is 10**x)

LOG_LEVERS = {"ban_threshold_flop"}  # sampled evenly in log10: EMA's lever is <name>_log10
# Ranges of a what-if lever that simulation.levers does not cover (the page has free text fields, no
# slider ranges): page units, log10 for LOG_LEVERS. Each spans what the shipped scenarios set or draw.
FALLBACK_RANGES: dict[str, tuple[float, float]] = {
    "ban_threshold_flop": (25.0, 28.0),  # log10 FLOP, around the shipped 1e26
    "china_capital": (0.2, 5.0),  # china_funding_squeeze draws 0.1-0.4; 1 = normal
    "china_compute_price": (1.0, 8.0),  # baseline 1.8; export_controls draws 3-8
    "distillation_efficacy": (0.0, 0.16),  # baseline draws 0.06-0.10
    "consortium_budget_musd": (150.0, 600.0),  # $M a month; sovereign_consortium draws 150-500
}


def _lever_ranges() -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """Each what-if lever's range: from its lowest to its highest setting in ``simulation.levers.LEVERS``
    (the paired low/high runs of ``run.py levers``, docs/levers.md), in page units (log10 for
    LOG_LEVERS); FALLBACK_RANGES for a lever that table does not set."""
    from .levers import LEVERS as SETTINGS

    ranges, sources = {}, {}
    for field_name, (path, scale) in VALUE_LEVERS.items():
        values = [float(s[path]) / scale for lv in SETTINGS for s in (lv.low, lv.high) if path in s]
        if values:
            low, high = min(values), max(values)
            if field_name in LOG_LEVERS:
                low, high = math.log10(low), math.log10(high)
            ranges[field_name], sources[field_name] = (low, high), "simulation.levers"
        elif field_name in FALLBACK_RANGES:
            ranges[field_name], sources[field_name] = FALLBACK_RANGES[field_name], "simulation.ema"
    return ranges, sources


# What-if lever -> (low, high) explored, and where the range comes from; checked against the schema's
# bounds when a model is built. A lever with no range here is not offered.
LEVER_RANGES, LEVER_SOURCES = _lever_ranges()


@dataclass(frozen=True)
class Input:
    """One EMA parameter (an uncertainty or a lever) and the dotted path its value pins.

    ``scale``: the value used is the sampled one times ``scale`` (``log10``: ``10**x`` times ``scale``).
    ``kind`` is the parameter's type in the schema (float, int, bool or str)."""

    name: str
    path: str
    role: str  # "uncertainty" or "lever"
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None  # a categorical parameter's values
    scale: float = 1.0
    log10: bool = False
    source: str = ""  # where the range comes from, e.g. "uniform(low=0.06, high=0.1)"

    def value(self, sampled: Any) -> Any:
        """The value set in the scenario for a sampled ``sampled`` (numpy scalars as Python values)."""
        x = sampled.item() if isinstance(sampled, np.generic) else sampled
        if self.log10:
            return 10.0 ** float(x) * self.scale
        if self.kind == "bool":
            return bool(x)
        if self.kind == "int":
            return int(x)
        if self.kind == "float":
            return float(x) * self.scale
        return x

    def parameter(self) -> Any:
        """The EMA parameter."""
        if self.values is not None:
            if set(self.values) == {True, False} and all(isinstance(v, bool) for v in self.values):
                return ema.BooleanParameter(self.name)
            return ema.CategoricalParameter(self.name, list(self.values))
        if self.kind == "int" and not self.log10:
            return ema.IntegerParameter(self.name, int(self.low), int(self.high))
        return ema.RealParameter(self.name, float(self.low), float(self.high))


@dataclass
class Experiment:
    """The model's function: EMA keyword arguments -> overrides (pinned) -> one replicate's outcomes.

    Picklable (EMA's multiprocessing evaluator sends it to its workers). ``bases`` holds the scenario to run
    for each value of the ban lever (``None``: the lever is absent from the experiment)."""

    bases: dict[bool | None, Scenario]
    inputs: dict[str, Input]
    scalars: tuple[str, ...]
    series: tuple[str, ...]
    seed: int
    common_seeds: bool = True

    def overrides(self, **sampled: Any) -> tuple[Scenario, dict[str, Any]]:
        """The scenario to run and the overrides that pin each sampled value."""
        unknown = sorted(set(sampled) - set(self.inputs) - {BAN})
        if unknown:
            raise TypeError(f"not an input of this model: {', '.join(unknown)}")
        ban = sampled.pop(BAN, None)
        base = self.bases[None if ban is None else bool(ban.item() if isinstance(ban, np.generic) else ban)]
        return base, {self.inputs[k].path: self.inputs[k].value(v) for k, v in sampled.items()}

    def seed_key(self, replicate: int, pins: Mapping[str, Any], ban: Any) -> tuple[int, ...]:
        """``(replicate,)`` with common seeds; otherwise also a CRC32 of the experiment's values, so each
        experiment has its own random numbers and is still reproducible."""
        if self.common_seeds:
            return (replicate,)
        on = None if ban is None else bool(ban)  # numpy's and Python's booleans alike
        text = repr(sorted((k, repr(v)) for k, v in pins.items())) + repr(on)
        return (replicate, zlib.crc32(text.encode()))

    def run(self, replicate: int = 0, **sampled: Any) -> tuple[Any, Any, dict[str, Any]]:
        """Run one replicate: (model table, scenario as run, drawn values). Pinned values are not drawn."""
        ban = sampled.get(BAN)
        base, pins = self.overrides(**sampled)
        scenario = prepare(base, overrides=pins)
        spec = ReplicateSpec(scenario, replicate, self.seed, self.seed_key(replicate, pins, ban), labs=False)
        model_df, _, drawn = run_replicate(spec)
        return model_df, scenario, drawn

    def __call__(self, replicate: int = 0, **sampled: Any) -> dict[str, Any]:
        model_df, _, _ = self.run(replicate, **sampled)
        out: dict[str, Any] = scalar_outcomes(model_df, self.scalars)
        for name in self.series:
            out[name] = model_df[name].to_numpy(dtype=float)
        return out


def ema_model(
    scenario: Scenario | str | Path = "baseline",
    *,
    outcomes: Iterable[str] | None = None,
    levers: Iterable[str] | Mapping[str, Any] | None = None,
    uncertainties: Mapping[str, Any] | None = None,
    replicates: int = 1,
    months: int | None = None,
    n_adopters: int | None = None,
    seed: int | None = None,
    common_seeds: bool = True,
    ban_from: str | None = None,
    levers_as_uncertainties: bool = False,
    tail: float = TAIL,
    name: str | None = None,
) -> Any:
    """An ``ema_workbench.Model`` (``ReplicatorModel`` when ``replicates`` > 1) of ``scenario``.

    Args:
        scenario: a Scenario, a YAML path or a shipped scenario's name.
        outcomes: sweep outcome names (default ``sweep.plan.DEFAULT_OUTCOMES``): ``gap_months_true_mean``
            and the like are ScalarOutcomes, a metric name (``gap_months_true``) a TimeSeriesOutcome.
        levers: lever names (of :func:`lever_names`), or a mapping name -> ``(low, high)`` (``True`` for
            the default range; for ``ban``, ``True``); ``[]`` for none. Default: every value lever whose
            parameter is neither uncertain nor pinned in the scenario, and the ban. A lever named here takes its parameter
            from the scenario's uncertainties.
        uncertainties: more uncertainties, or other ranges for the scenario's: dotted path -> ``(low,
            high)`` or ``{"low": .., "high": ..}`` (a range), a list or ``{"values": [...]}``
            (categorical), or a distribution as in a scenario file (``{"dist": "triangular", ...}``).
            Checked against the schema's bounds.
        replicates: runs per experiment. Above 1 a ReplicatorModel: each outcome is the mean over the
            replicates (a time series: the mean of each month).
        months, n_adopters: a shorter or longer run, fewer or more adopters (as ``simulation.run``).
        seed: root of the replicate seeds (default: the scenario's ``seed``).
        common_seeds: every experiment uses the same replicate seeds (default); False: an experiment's
            seeds also depend on its values (still reproducible).
        ban_from: the month (YYYY-MM) the ban lever's ban starts; default: the scenario's own ban start,
            else 12 months in (at most the last month), as on the what-if page.
        levers_as_uncertainties: put the levers in ``model.uncertainties`` too (none in ``model.levers``),
            so that ``perform_experiments(model, n)`` samples uncertainties and levers jointly: open
            exploration and scenario discovery over both. Their role in :func:`inputs` stays "lever".
        tail: a normal or log-normal uncertainty is explored between this quantile and 1 - tail.
        name: EMA's model name (default: the scenario's name, letters and digits only).
    """
    sc = prepare(scenario, months=months, n_adopters=n_adopters)
    if sc.posterior is not None:
        # a calibration posterior is held at its weighted mean (what the loaded scenario holds): EMA explores
        # ranges, one value per input, so give the calibrated parameters you want explored as uncertainties=
        sc = with_changes(sc, {"posterior": None})
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1 (got {replicates})")
    if not 0 < tail < 0.5:
        raise ValueError(f"tail must be between 0 and 0.5 (got {tail})")
    table = {p.path: p for p in parameters(sc)}
    extra = {
        path: _uncertainty_input(sc, table, path, spec, tail) for path, spec in (uncertainties or {}).items()
    }
    lever_inputs, ban = _levers(sc, table, levers, extra)
    claimed = [i.path for i in lever_inputs]
    scenario_uncertain = {
        path: _distribution_input(table[path], dist, tail)
        for path, dist in sc.uncertain.items()
        if path not in extra and not any(_covers(c, path) or _covers(path, c) for c in claimed)
    }
    u_inputs = [*scenario_uncertain.values(), *extra.values()]
    # metric_names builds a model with no events, so uncertain event paths would not resolve: drop them
    metrics = metric_names(with_changes(sc, {"uncertain": {}}))
    scalars, series = resolve_outcomes(list(outcomes) if outcomes is not None else None, metrics)

    all_inputs = {i.name: i for i in [*u_inputs, *lever_inputs]}
    if len(all_inputs) != len(u_inputs) + len(lever_inputs):
        raise ValueError("two inputs have the same EMA name")
    bases: dict[bool | None, Scenario] = {None: sc}
    if ban:
        bases.update(_ban_scenarios(sc, ban_from))
    function = Experiment(
        bases=bases,
        inputs=all_inputs,
        scalars=tuple(scalars),
        series=tuple(series),
        seed=sc.seed if seed is None else int(seed),
        common_seeds=common_seeds,
    )
    model_name = name or re.sub(r"[^A-Za-z0-9]", "", sc.name)
    if not model_name or not model_name[0].isalpha():
        model_name = "m" + model_name
    if replicates == 1:
        model = ema.Model(model_name, function=function)
        model.outcomes = [ema.ScalarOutcome(n) for n in scalars] + [ema.TimeSeriesOutcome(n) for n in series]
    else:
        model = ema.ReplicatorModel(model_name, function=function)
        model.replications = [{"replicate": r} for r in range(replicates)]
        model.outcomes = [ema.ScalarOutcome(n, function=np.mean) for n in scalars] + [
            ema.TimeSeriesOutcome(n, function=partial(np.mean, axis=0)) for n in series
        ]
    lever_parameters = [i.parameter() for i in lever_inputs] + ([ema.BooleanParameter(BAN)] if ban else [])
    if levers_as_uncertainties:
        model.uncertainties = [i.parameter() for i in u_inputs] + lever_parameters
    else:
        model.uncertainties = [i.parameter() for i in u_inputs]
        model.levers = lever_parameters
    return model


def inputs(model: Any) -> list[Input]:
    """Every input of a model made by :func:`ema_model`: uncertainties, then levers (the ban lever has path
    ``policy.ban.active``, and its scenarios are in ``model.function.bases``)."""
    function: Experiment = model.function
    out = list(function.inputs.values())
    if True in function.bases:
        out.append(Input(BAN, BAN_ACTIVE, "lever", "bool", values=(False, True), source="what-if ban"))
    return out


def inputs_table(model: Any) -> Any:
    """:func:`inputs` as a pandas DataFrame."""
    import pandas as pd

    rows = [
        {
            "name": i.name,
            "role": i.role,
            "path": i.path,
            "kind": i.kind,
            "low": i.low,
            "high": i.high,
            "values": i.values,
            "transform": _transform_text(i),
            "source": i.source,
        }
        for i in inputs(model)
    ]
    return pd.DataFrame(rows)


def paths(model: Any) -> dict[str, str]:
    """EMA name -> the dotted path its value pins."""
    return {i.name: i.path for i in inputs(model)}


def lever_names(scenario: Scenario | str | Path = "baseline") -> list[str]:
    """The levers :func:`ema_model` offers for ``scenario`` (EMA names)."""
    sc = prepare(scenario)
    return [_lever_name(f) for f in VALUE_LEVERS if _lever_available(sc, f)] + [BAN]


def uncertainty_range(dist: Any, tail: float = TAIL) -> tuple[float, float]:
    """The range EMA samples (uniformly) for a scenario distribution.

    uniform and triangular: their support ``[low, high]``. normal and log-normal: from the ``tail`` (1st)
    to the ``1 - tail`` (99th) percentile of the distribution as the scenario draws it, that is after any
    truncation to ``[low, high]``: an unbounded end needs a cut, and a truncation far in a tail (often
    there only to meet the schema's bounds) would otherwise stretch the range over values that are
    almost never drawn. Both ends lie within the truncation."""
    if isinstance(dist, Uniform | Triangular):
        return float(dist.low), float(dist.high)
    if isinstance(dist, Normal):
        nd, to, back = NormalDist(dist.mean, dist.sd), (lambda x: x), (lambda z: z)
    elif isinstance(dist, LogNormal):
        nd, back = NormalDist(dist.mu, max(dist.sigma, 1e-300)), math.exp
        to = lambda x: math.log(x) if x > 0 else -math.inf  # noqa: E731
    else:
        raise TypeError(f"no range for a {type(dist).__name__} distribution (a choice is categorical)")
    lo = 0.0 if dist.low is None else nd.cdf(to(dist.low))
    hi = 1.0 if dist.high is None else nd.cdf(to(dist.high))

    def quantile(q: float) -> float:
        x = back(nd.inv_cdf(min(max(lo + q * (hi - lo), 1e-300), 1 - 1e-16)))
        x = x if dist.low is None else max(x, dist.low)
        return x if dist.high is None else min(x, dist.high)

    return quantile(tail), quantile(1 - tail)


# -- internals ---------------------------------------------------------------------------------------


def ema_name(path: str) -> str:
    """A dotted path as an EMA (Python identifier) name: ``.`` becomes ``__``, anything else ``_``."""
    name = re.sub(r"\W", "_", path.replace(".", "__"))
    return name if name.isidentifier() else f"p_{name}"


def _covers(change: str, path: str) -> bool:
    return path == change or path.startswith(change + ".")


def _parameter(table: Mapping[str, Parameter], path: str) -> Parameter:
    if path.split(".")[0] in NOT_SWEPT:
        raise ValueError(f"{path}: {path.split('.')[0]!r} cannot be an uncertainty or a lever")
    if path not in table:
        raise ValueError(f"{path}: not a parameter of this scenario (see simulation.parameters)")
    return table[path]


def _distribution_input(param: Parameter, dist: Any, tail: float, name: str | None = None) -> Input:
    source = param.uncertain or _dist_text(dist)
    name = name or ema_name(param.path)
    if isinstance(dist, Choice):
        return Input(name, param.path, "uncertainty", param.type, values=tuple(dist.values), source=source)
    low, high = uncertainty_range(dist, tail)
    if param.type == "int":
        low, high = math.ceil(low), math.floor(high)
    if not low < high:
        raise ValueError(f"{param.path}: {source} leaves no range to explore ({low:g} to {high:g})")
    return Input(name, param.path, "uncertainty", param.type, low=low, high=high, source=source)


def _dist_text(dist: Any) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in dist.model_dump(exclude={"dist"}).items() if v is not None)
    return f"{dist.dist}({args})"


def _uncertainty_input(
    sc: Scenario, table: Mapping[str, Parameter], path: str, spec: Any, tail: float
) -> Input:
    """A given uncertainty: a range, values, or a scenario-style distribution, checked like a sweep's."""
    param = _parameter(table, path)
    if isinstance(spec, Mapping) and "dist" in spec:
        from pydantic import TypeAdapter, ValidationError

        from .config.distributions import Distribution

        try:
            dist = TypeAdapter(Distribution).validate_python(dict(spec))
        except ValidationError as err:
            raise ValueError(f"{path}: {err.errors()[0]['msg']}") from None
        inp = _distribution_input(param, dist, tail)
    else:
        ps = _param_spec(path, spec)
        if ps.log:
            raise ValueError(f"{path}: EMA samples a range evenly; a log range is not supported here")
        if ps.values is not None:
            inp = Input(
                ema_name(path), path, "uncertainty", param.type, values=tuple(ps.values), source="given"
            )
        else:
            if param.type not in ("float", "int"):
                raise ValueError(f"{path}: a range needs a number, but this parameter is {param.type}")
            inp = Input(
                ema_name(path), path, "uncertainty", param.type, low=ps.low, high=ps.high, source="given"
            )
    _check_input(sc, param, inp)
    return inp


def _param_spec(path: str, spec: Any) -> ParamSpec:
    try:
        if isinstance(spec, ParamSpec):
            return spec
        if isinstance(spec, tuple) and len(spec) == 2:
            return ParamSpec(low=spec[0], high=spec[1])
        if isinstance(spec, list):
            return ParamSpec(values=spec)
        if isinstance(spec, Mapping):
            return ParamSpec(**spec)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
    raise ValueError(f"{path}: give (low, high), a list of values, or a distribution mapping (got {spec!r})")


def _check_input(sc: Scenario, param: Parameter, inp: Input, what: str = "") -> None:
    """The input's values (each end of a range, each listed value) are within the schema's bounds and
    give a valid scenario."""
    ends = list(inp.values) if inp.values is not None else [inp.low, inp.high]
    used = [inp.value(v) for v in ends]
    label = what or inp.path
    if inp.values is None:
        for v in used:
            if (
                param.low is not None and (v < param.low or (v == param.low and not param.low_inclusive))
            ) or (
                param.high is not None and (v > param.high or (v == param.high and not param.high_inclusive))
            ):
                raise ValueError(
                    f"{label}: the range {used[0]:g} to {used[1]:g} leaves the schema's bounds {bounds_text(param)}"
                )
    for v in used:
        try:
            with_changes(sc, {inp.path: v})
        except ScenarioError as err:
            raise ValueError(f"{label}: {err.problem} (with {v!r})") from None


def _lever_name(field_name: str) -> str:
    return field_name + LOG10 if field_name in LOG_LEVERS else field_name


def _lever_available(sc: Scenario, field_name: str) -> bool:
    """Whether the scenario has the lever's parameter (the consortium lever needs a consortium lab)."""
    path = VALUE_LEVERS[field_name][0]
    return not path.startswith(f"labs.{CONSORTIUM}.") or CONSORTIUM in sc.labs


def _lever_path(sc: Scenario, path: str) -> str:
    """Where a lever's value goes: the last event setting the parameter (its value from that month on, as
    on the what-if page), else the parameter itself."""
    found = [i for i, e in enumerate(sc.events) if path in e.set]
    return f"events.{found[-1]}.set.{path}" if found else path


def _levers(
    sc: Scenario,
    table: Mapping[str, Parameter],
    levers: Iterable[str] | Mapping[str, Any] | None,
    extra: Mapping[str, Input],
) -> tuple[list[Input], bool]:
    by_name = {_lever_name(f): f for f in VALUE_LEVERS}
    explicit = levers is not None
    if levers is None:
        wanted: dict[str, Any] = {
            n: True for n, f in by_name.items() if _lever_available(sc, f) and f in LEVER_RANGES
        }
        wanted[BAN] = True
    elif isinstance(levers, Mapping):
        wanted = dict(levers)
    else:
        wanted = dict.fromkeys(levers, True)
    unknown = [n for n in wanted if n not in by_name and n != BAN]
    if unknown:
        raise ValueError(f"unknown lever(s) {', '.join(unknown)}; levers: {', '.join([*by_name, BAN])}")
    ban = bool(wanted.pop(BAN, False))
    out = []
    for lever, spec in wanted.items():
        field_name = by_name[lever]
        if not _lever_available(sc, field_name):
            if explicit:
                raise ValueError(f"lever {lever}: the scenario has no {CONSORTIUM!r} lab")
            continue
        base_path, scale = VALUE_LEVERS[field_name]
        path = _lever_path(sc, base_path)
        if any(_covers(path, p) or _covers(p, path) for p in extra):
            raise ValueError(f"lever {lever}: {path} is also given as an uncertainty; it cannot be both")
        if not explicit and any(_covers(path, p) or _covers(p, path) for p in [*sc.uncertain, *sc.pinned]):
            continue  # uncertain in the scenario (an uncertainty unless asked for), or pinned by the user
        if spec is True:
            if field_name not in LEVER_RANGES:
                raise ValueError(f"lever {lever}: no default range; give (low, high)")
            low, high = LEVER_RANGES[field_name]
        else:
            ps = _param_spec(f"lever {lever}", spec)
            if ps.low is None or ps.high is None or ps.log:
                raise ValueError(f"lever {lever}: give a range (low, high)")
            low, high = ps.low, ps.high
        param = table[path]
        inp = Input(
            lever,
            path,
            "lever",
            param.type,
            low=float(low),
            high=float(high),
            scale=scale,
            log10=field_name in LOG_LEVERS,
            source="given" if spec is not True else LEVER_SOURCES[field_name],
        )
        _check_input(sc, param, inp, f"lever {lever}")
        out.append(inp)
    return out, ban


def _ban_scenarios(sc: Scenario, ban_from: str | None) -> dict[bool, Scenario]:
    """The scenario without any open-weight ban, and with a ban from ``ban_from``: every event setting the
    ban sets it off, and the ban is one event appended (so the indices of uncertain event paths hold)."""
    setting = [i for i, e in enumerate(sc.events) if BAN_ACTIVE in e.set]
    off = with_changes(sc, {BAN_ACTIVE: False, **{f"events.{i}.set.{BAN_ACTIVE}": False for i in setting}})
    if ban_from is None:
        own = [sc.events[i].at for i in setting if sc.events[i].set[BAN_ACTIVE] is True]
        if sc.policy.ban.active:
            ban_from = sc.start
        elif own:
            ban_from = min(own, key=lambda at: months_between(sc.start, at))
        else:
            ban_from = add_months(sc.start, min(12, sc.months - 1))
    if not 0 <= months_between(sc.start, ban_from) < sc.months:
        raise ValueError(f"ban_from {ban_from} is outside the run ({sc.start} and {sc.months} months)")
    event = {
        "at": ban_from,
        "set": {BAN_ACTIVE: True},
        "note": f"Open-weight ban from {ban_from} (EMA lever)",
    }
    on = with_changes(off, {"events": [*off.model_dump()["events"], event]})
    return {False: off, True: on}


def _transform_text(i: Input) -> str:
    if i.log10:
        return f"10**x * {i.scale:g}" if i.scale != 1 else "10**x"
    if i.scale != 1:
        return f"x * {i.scale:g}"
    return ""


__all__ = [
    "DEFAULT_OUTCOMES",
    "LEVER_RANGES",
    "LEVER_SOURCES",
    "Experiment",
    "Input",
    "ema_model",
    "ema_name",
    "inputs",
    "inputs_table",
    "lever_names",
    "paths",
    "uncertainty_range",
]
