"""Every parameter of a scenario as a row: dotted path, type, value, bounds, unit, description, and whether
it is uncertain (drawn per replicate) or pinned. For analysts' own tools (EMA Workbench, SALib, notebooks):
``simulation.parameters("baseline")`` or ``python run.py params baseline [--json]``.

The bounds and descriptions are read from the schema, so this table cannot drift from what the loader
accepts. No Mesa here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .loader import load_scenario
from .schema import Scenario

# sections that are not parameters: identity, tables of claims, and the loader's own records
SKIPPED = {"name", "description", "expected_effects", "uncertain", "pinned", "posterior"}

# unit from the end of a parameter's name (the schema puts units in names where they are ambiguous)
UNIT_SUFFIXES: list[tuple[str, str]] = [
    ("_eci_per_month", "ECI points per month"),
    ("_eci", "ECI points"),
    ("_usd_per_month", "USD per month"),
    ("_usd_per_mtok", "USD per million tokens"),
    ("_usd_per_flop_month", "USD per FLOP/month of capacity"),
    ("_usd", "USD"),
    ("_flop_per_month", "FLOP per month"),
    ("_flop", "FLOP"),
    ("_mtok_per_month", "million tokens per month"),
    ("_per_month", "per month"),
    ("_per_year", "per year"),
    ("_months", "months"),
]
NAMED_UNITS = {
    "start": "YYYY-MM",
    "at": "YYYY-MM",
    "enters": "YYYY-MM",
    "date": "YYYY-MM",
    "months": "months",
    "seed": "",
    "replicates": "",
    "n": "adopters",
}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a scenario. ``low``/``high`` are the schema's bounds (None: unbounded);
    ``low_inclusive``/``high_inclusive`` say whether the bound itself is allowed."""

    path: str
    type: str
    value: Any
    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    unit: str
    description: str
    uncertain: str  # the distribution, e.g. "uniform(low=0.06, high=0.1)"; empty when fixed
    pinned: bool


def parameters(scenario: Scenario | str | Path = "baseline") -> list[Parameter]:
    """Every settable parameter of ``scenario`` (a Scenario, a YAML path or a shipped name), in schema order."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    rows: list[Parameter] = []
    _walk_model(sc, "", rows, sc)
    return rows


def parameters_table(scenario: Scenario | str | Path = "baseline") -> Any:
    """:func:`parameters` as a pandas DataFrame (imports pandas)."""
    import pandas as pd

    return pd.DataFrame([asdict(p) for p in parameters(scenario)])


def _walk_model(model: BaseModel, prefix: str, rows: list[Parameter], sc: Scenario) -> None:
    for name, info in type(model).model_fields.items():
        if not prefix and name in SKIPPED:
            continue
        path = f"{prefix}.{name}" if prefix else name
        _walk_value(getattr(model, name), info.annotation, info, path, name, rows, sc)


def _walk_value(
    value: Any,
    annotation: Any,
    info: FieldInfo | None,
    path: str,
    name: str,
    rows: list[Parameter],
    sc: Scenario,
) -> None:
    if isinstance(value, BaseModel):
        _walk_model(value, path, rows, sc)
        return
    if isinstance(value, dict):
        inner = get_args(annotation)[-1] if get_origin(annotation) is dict else Any
        if path.startswith("events.") and path.endswith(".set"):
            for key, item in value.items():
                rows.append(
                    _row(f"{path}.{key}", item, None, _field_info(sc, key), key.rsplit(".", 1)[-1], sc)
                )
            return
        for key, item in value.items():
            _walk_value(item, inner, _annotated_info(inner, info), f"{path}.{key}", name, rows, sc)
        return
    if isinstance(value, list):
        inner = get_args(annotation)[0] if get_args(annotation) else Any
        for i, item in enumerate(value):
            _walk_value(item, inner, None, f"{path}.{i}", name, rows, sc)
        return
    rows.append(_row(path, value, annotation, info, name, sc))


def _annotated_info(inner: Any, outer: FieldInfo | None) -> FieldInfo | None:
    """For ``dict[str, Annotated[float, Field(ge=..)]]``: the value's own bounds, with the dict's description."""
    metadata = [m for m in getattr(inner, "__metadata__", ()) if isinstance(m, FieldInfo)]
    if not metadata:
        return outer
    merged = FieldInfo.merge_field_infos(*metadata)
    merged.description = outer.description if outer is not None else None
    return merged


def _field_info(sc: Scenario, dotted: str) -> FieldInfo | None:
    """The schema field a dotted path (an event's key) names, walking models and dicts."""
    model: Any = type(sc)
    info: FieldInfo | None = None
    for part in dotted.split("."):
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                return None
            model = info.annotation
        elif get_origin(model) is dict:
            value_type = get_args(model)[-1]
            if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                model = value_type
            else:
                return _annotated_info(value_type, info)
        else:
            return info
    return info


def _row(
    path: str, value: Any, annotation: Any, info: FieldInfo | None, name: str, sc: Scenario
) -> Parameter:
    low = high = None
    low_inc = high_inc = True
    for m in info.metadata if info is not None else []:
        if isinstance(m, at.Ge):
            low, low_inc = float(m.ge), True
        elif isinstance(m, at.Gt):
            low, low_inc = float(m.gt), False
        elif isinstance(m, at.Le):
            high, high_inc = float(m.le), True
        elif isinstance(m, at.Lt):
            high, high_inc = float(m.lt), False
    dist = sc.uncertain.get(path)
    uncertain = ""
    if dist is not None:
        args = ", ".join(f"{k}={v!r}" for k, v in dist.model_dump(exclude={"dist"}).items() if v is not None)
        uncertain = f"{dist.dist}({args})"
    elif path not in sc.pinned and path in _posterior_columns(sc.posterior):
        uncertain = f"posterior({sc.posterior})"  # one particle per replicate; the value is its weighted mean
    return Parameter(
        path=path,
        type=type(value).__name__ if value is not None else "null",
        value=value,
        low=low,
        high=high,
        low_inclusive=low_inc,
        high_inclusive=high_inc,
        unit=unit_of(name),
        description=(info.description or "") if info is not None else "",
        uncertain=uncertain,
        pinned=path in sc.pinned,
    )


def _posterior_columns(ref: str | None) -> tuple[str, ...]:
    from .loader import posterior_columns  # loader imports this module's callers: import late

    return posterior_columns(ref)


def unit_of(name: str) -> str:
    """The unit a parameter's name states (``initial_cash_usd`` -> USD); empty for plain numbers."""
    if name in NAMED_UNITS:
        return NAMED_UNITS[name]
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def bounds_text(p: Parameter) -> str:
    """``[0, 1]``, ``(0, inf)`` and so on."""
    if p.low is None and p.high is None:
        return ""
    lo = "-inf" if p.low is None else f"{p.low:g}"
    hi = "inf" if p.high is None else f"{p.high:g}"
    return f"{'[' if p.low_inclusive and p.low is not None else '('}{lo}, {hi}{']' if p.high_inclusive and p.high is not None else ')'}"
