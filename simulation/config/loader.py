"""Read scenario files into :class:`Scenario`: ``extends`` with deep merge, inline distributions,
events checked against the schema, and one clear :class:`ScenarioError` for anything wrong.

Only ``yaml.safe_load`` is used. Nothing here imports Mesa, so ``run.py --check`` stays fast.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from .distributions import Distribution
from .schema import Scenario

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"

# Fields events may not change: identity, horizon and initial state.
FROZEN_TOP = {
    "name",
    "description",
    "start",
    "months",
    "seed",
    "replicates",
    "prehistory",
    "events",
    "uncertain",
    "expected_effects",
}
FROZEN_FIELDS = {
    "enters",
    "bloc",
    "n",
    "adopter_share",
    "usage_share",
    "usage_sigma",
    "need_sd_eci",
    "trust_sd",
    "control_sd",
}

_DIST_ADAPTER: TypeAdapter = TypeAdapter(Distribution)


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str(err)`` is the one message shown to the user."""

    def __init__(self, file: str | Path | None, key_path: str, problem: str):
        self.file = str(file) if file is not None else "<scenario>"
        self.key_path = key_path
        self.problem = problem
        where = f" at {key_path}" if key_path else ""
        super().__init__(f"{self.file}{where}: {problem}")


# -- merging and paths ---------------------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key, recursively; anything else (lists included) in ``override`` replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and "dist" not in value:
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def split_path(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def _walk(data: Any, parts: list[str]) -> tuple[Any, Any]:
    """(parent node, key) for ``parts`` under ``data``. A mapping key may itself contain dots (an event's
    ``set`` keys are dotted paths), so at each mapping the longest run of parts that is a key wins."""
    node: Any = data
    i = 0
    while True:
        if isinstance(node, list):
            key: Any = int(parts[i])
            step = 1
        else:
            step = next((k for k in range(len(parts) - i, 0, -1) if ".".join(parts[i : i + k]) in node), 1)
            key = ".".join(parts[i : i + step])
        if i + step >= len(parts):
            return node, key
        node = node[key]
        i += step


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path``; raises KeyError/IndexError/ValueError/TypeError when there is none."""
    parent, key = _walk(data, split_path(path))
    return parent[key]


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` inside nested dicts, creating nothing: every parent must exist."""
    parent, key = _walk(data, split_path(path))
    if isinstance(parent, list):
        parent[key] = value
    else:
        parent[key]  # noqa: B018 - must exist
        parent[key] = value


def _known_keys(model: type[BaseModel] | None) -> list[str]:
    return sorted(model.model_fields) if model is not None else []


def _resolve_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Walk ``loc`` through Scenario, stepping over dict keys and list indices."""
    model: Any = Scenario
    i = 0
    while i < len(loc):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(loc[i]))
        if field is None:
            return None
        ann = field.annotation
        origin = getattr(ann, "__origin__", None)
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            i += 1
        elif (
            origin in (dict, list) and args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel)
        ):
            model = args[-1]
            i += 2  # the field, then the key or index
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _format_validation_error(err: ValidationError, prefix: str = "") -> tuple[str, str]:
    """First error of ``err`` as (key path, problem) in words a scenario author understands."""
    e = err.errors()[0]
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-after")))
    path = ".".join(str(p) for p in loc)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    if e["type"] == "extra_forbidden":
        key = str(loc[-1])
        parent = _resolve_model(loc[:-1])
        known = _known_keys(parent)
        hint = difflib.get_close_matches(key, known, n=1)
        msg = f"unknown key {key!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        elif known:
            msg += f"; expected one of: {', '.join(known)}"
        return path, msg
    if e["type"] == "missing":
        return path, "required key is missing"
    msg = e["msg"].removeprefix("Value error, ")
    if "input" in e and e["type"] not in ("value_error",) and not isinstance(e["input"], dict | list):
        msg += f" (got {e['input']!r})"
    return path, msg


# -- distributions -------------------------------------------------------------------------------------


def extract_distributions(data: Any, prefix: str = "") -> tuple[Any, dict[str, dict[str, Any]]]:
    """Replace every ``{dist: ...}`` mapping by ``None`` placeholders; return (data, {path: spec})."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(data, Mapping):
        if "dist" in data:
            return data, {prefix: dict(data)}
        out = {}
        for key, value in data.items():
            if prefix == "" and key in ("events", "uncertain", "expected_effects"):
                out[key] = value
                continue
            sub_path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping) and "dist" in value:
                found[sub_path] = dict(value)
                out[key] = value
            else:
                out[key], sub = extract_distributions(value, sub_path)
                found.update(sub)
        return out, found
    return data, found


# -- public API ----------------------------------------------------------------------------------------


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML file into a mapping, with line and column on syntax errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ScenarioError(path, "", f"malformed YAML: {where}{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, "", f"malformed YAML: {exc}") from None
    if data is None:
        raise ScenarioError(path, "", "the file is empty; expected a scenario mapping")
    if not isinstance(data, dict):
        raise ScenarioError(
            path, "", f"expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    return data


def resolve_file(path: str | Path) -> Path:
    """A scenario path as given, or the name of a shipped scenario (``ban`` -> scenarios/ban.yaml)."""
    p = Path(path)
    if p.exists() or p.suffix:
        return p
    shipped = SCENARIO_DIR / f"{p.name}.yaml"
    return shipped if shipped.exists() else p


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged mapping of ``path`` and everything it ``extends`` (not yet validated)."""
    path = resolve_file(path).resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise ScenarioError(path, "extends", f"circular extends: {chain}")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", f"expected a file name, got {parent!r}")
    parent_path = (path.parent / parent).resolve()
    if not parent_path.exists():
        raise ScenarioError(path, "extends", f"file {parent!r} not found (looked for {parent_path})")
    base = load_raw(parent_path, (*_seen, path))
    if "events" in data and "events" in base and data.pop("events_mode", "append") == "append":
        data = dict(data)
        data["events"] = list(base["events"]) + list(data["events"] or [])
    return deep_merge(base, data)


def scenario_from_dict(data: Mapping[str, Any], file: str | Path | None = None) -> Scenario:
    """Validate a merged mapping into a :class:`Scenario` (distributions and events checked too)."""
    data, inline = extract_distributions(dict(data))
    data = copy.deepcopy(data)
    uncertain: dict[str, Any] = dict(data.get("uncertain") or {})
    uncertain.update(inline)
    parsed_dists = {}
    for path, spec in uncertain.items():
        try:
            dist = _DIST_ADAPTER.validate_python(spec)
        except ValidationError as err:
            key, problem = _format_validation_error(err)
            raise ScenarioError(file, f"{path}.{key}" if key else path, problem) from None
        parsed_dists[path] = dist
        try:
            get_path(data, path)
        except (KeyError, IndexError, ValueError, TypeError):
            raise ScenarioError(file, path, "no such parameter to make uncertain") from None
        set_path(data, path, dist.central())
    data["uncertain"] = {p: d.model_dump() for p, d in parsed_dists.items()}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        key, problem = _format_validation_error(err)
        raise ScenarioError(file, key, problem) from None
    check_events(scenario, file)
    return scenario


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, merge, validate. ``overrides`` (dotted path -> value) are applied before validation."""
    resolved = resolve_file(path)
    data = load_raw(resolved)
    if overrides:
        data = apply_to_dict(data, overrides, resolved)
    return scenario_from_dict(data, resolved)


def apply_to_dict(data: dict[str, Any], changes: Mapping[str, Any], file: Any = None) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for path, value in changes.items():
        try:
            get_path(out, path)
        except (KeyError, IndexError, ValueError, TypeError):
            _raise_unknown_path(out, path, file)
        set_path(out, path, value)
    return out


def _raise_unknown_path(data: Mapping[str, Any], path: str, file: Any) -> None:
    parts = split_path(path)
    node: Any = data
    for i, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            continue
        known = sorted(node) if isinstance(node, Mapping) else []
        hint = difflib.get_close_matches(part, known, n=1)
        where = ".".join(parts[: i + 1])
        msg = f"unknown parameter {part!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        elif known:
            msg += f"; expected one of: {', '.join(known[:20])}"
        raise ScenarioError(file, where, msg)
    raise ScenarioError(file, path, "unknown parameter")


def with_changes(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A new validated scenario with ``changes`` (dotted path -> value) applied."""
    data = apply_to_dict(scenario.model_dump(), changes)
    try:
        new = Scenario.model_validate(data)
    except ValidationError as err:
        key, problem = _format_validation_error(err)
        raise ScenarioError(None, key, problem) from None
    if any(split_path(p)[0] == "events" for p in changes):
        check_events(new)
    return new


def check_events(scenario: Scenario, file: Any = None) -> None:
    """Every event path must name an existing, event-settable parameter and give it a valid value."""
    dumped = scenario.model_dump()
    for i, event in enumerate(scenario.events):
        for path, value in event.set.items():
            key = f"events[{i}].set.{path}"
            parts = split_path(path)
            if not parts or parts[0] in FROZEN_TOP:
                raise ScenarioError(
                    file, key, f"{parts[0] if parts else path!r} cannot be changed by an event"
                )
            if parts[-1].startswith("initial_") or parts[-1] in FROZEN_FIELDS:
                raise ScenarioError(
                    file, key, f"{parts[-1]!r} is fixed when the run starts; events can set only parameters"
                )
            try:
                get_path(dumped, path)
            except (KeyError, IndexError, ValueError, TypeError):
                try:
                    _raise_unknown_path(dumped, path, file)
                except ScenarioError as err:
                    raise ScenarioError(file, key, err.problem) from None
            try:
                Scenario.model_validate(apply_to_dict(dumped, {path: value}))
            except ValidationError as err:
                _, problem = _format_validation_error(err)
                raise ScenarioError(file, key, problem) from None
