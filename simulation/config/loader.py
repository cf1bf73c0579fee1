"""Read scenario files into :class:`Scenario`: ``extends`` with deep merge, inline distributions,
events checked against the schema, and one clear :class:`ScenarioError` for anything wrong.

Files are untrusted input. Only regular files up to ``MAX_FILE_BYTES`` are read, as UTF-8, with
``yaml.safe_load`` after the YAML node graph was checked for depth and alias expansion; ``extends`` names a
shipped scenario or a file in the extending file's own folder tree. Nothing here imports Mesa, so
``run.py --check`` stays fast.

An explicit value always wins over a distribution (:func:`pin`): a value given in a file that extends
another, an override, a sweep, a lever or a ``mesa.batch_run`` keyword pins that parameter for the run;
its distribution is dropped and the path is listed in ``Scenario.pinned``.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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
    "posterior",
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

MAX_FILE_BYTES = 1_000_000  # a scenario is a few kB; this keeps a huge file from hogging memory and time
MAX_DEPTH = 40  # nesting of mappings and lists (the schema needs 6)
MAX_NODES = 200_000  # YAML nodes after alias expansion (the baseline has about 2,000)
EXTENDS_DEPTH = 20  # files in one extends chain
FAR = 1e300  # stands for an unbounded end of a distribution when its draws are checked against the schema


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``str(err)`` is the one message shown to the user."""

    def __init__(self, file: str | Path | None, key_path: str, problem: str):
        self.file = str(file) if file is not None else "<scenario>"
        self.key_path = key_path
        self.problem = problem
        where = f" at {key_path}" if key_path else ""
        super().__init__(f"{self.file}{where}: {problem}")

    def __reduce__(self):  # survives pickling, so a worker process's error reaches the user intact
        return (type(self), (self.file, self.key_path, self.problem))


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


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes, decoded as UTF-8; ScenarioError otherwise
    (a FIFO, a device such as /dev/zero, a folder, a binary or huge file never hangs or fills memory)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
        hint = difflib.get_close_matches(Path(path).stem, known, n=1)
        near = f" (did you mean the shipped scenario {hint[0]!r}?)" if hint else ""
        raise ScenarioError(path, "", f"file not found{near}") from None
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read file: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(path, "", "not a regular file")
    if info.st_size > limit:
        raise ScenarioError(path, "", f"file too large ({info.st_size:,} bytes; at most {limit:,})")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read file: {exc.strerror}") from None
    if len(raw) > limit:
        raise ScenarioError(path, "", f"file too large (more than {limit:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            path,
            "",
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); is it a YAML file?",
        ) from None


def check_node_graph(node: yaml.Node | None, path: Path) -> None:
    """Refuse YAML whose nesting or alias expansion is beyond the limits, before anything walks it.

    An alias makes a node appear again wherever it is referenced; a few lines of nested aliases expand to
    billions of nodes. The expanded size is counted on the graph (each node once, memoised)."""
    if node is None:
        return
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    # iterative post-order walk; a node on the current path again would be a recursive alias
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    on_path: set[int] = set()
    while stack:
        current, done = stack.pop()
        key = id(current)
        if done:
            on_path.discard(key)
            children = _children(current)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            if depths[key] > MAX_DEPTH:
                raise ScenarioError(path, "", f"nested more than {MAX_DEPTH} levels deep")
            if sizes[key] > MAX_NODES:
                raise ScenarioError(
                    path, "", f"too large once its aliases are expanded (more than {MAX_NODES:,} values)"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ScenarioError(path, "", "a recursive alias (an anchor used inside itself)")
        on_path.add(key)
        stack.append((current, True))
        if len(on_path) > MAX_DEPTH + 1:
            raise ScenarioError(path, "", f"nested more than {MAX_DEPTH} levels deep")
        stack.extend((c, False) for c in _children(current) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML file into a mapping, with line and column on syntax errors."""
    text = read_text(path)
    try:
        check_node_graph(yaml.compose(text, Loader=yaml.SafeLoader), path)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ScenarioError(path, "", f"malformed YAML: {where}{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, "", f"malformed YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(path, "", f"nested more than {MAX_DEPTH} levels deep") from None
    if data is None:
        raise ScenarioError(path, "", "the file is empty; expected a scenario mapping")
    if not isinstance(data, dict):
        raise ScenarioError(
            path, "", f"expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    if "pinned" in data:
        raise ScenarioError(path, "pinned", "is filled by the loader; to pin a parameter, give it a value")
    return data


def resolve_file(path: str | Path) -> Path:
    """A scenario path as given, or the name of a shipped scenario (``ban`` -> scenarios/ban.yaml)."""
    p = Path(path)
    if p.exists() or p.suffix:
        return p
    shipped = SCENARIO_DIR / f"{p.name}.yaml"
    return shipped if shipped.exists() else p


def resolve_extends(path: Path, parent: str) -> Path:
    """The file that ``path`` extends: a file in ``path``'s own folder tree (``baseline.yaml``,
    ``bases/x.yaml``), or else a shipped scenario by name (``baseline`` or ``baseline.yaml``). Absolute paths,
    ``..`` and symlinks leading out of the folder are refused."""
    folder = path.parent.resolve()
    if not parent or "\x00" in parent or os.path.isabs(parent):
        raise ScenarioError(
            path, "extends", f"expected a scenario name or a path inside {folder}, got {parent!r}"
        )
    candidates = [parent] if Path(parent).suffix else [f"{parent}.yaml", parent]
    for name in candidates:
        target = (folder / name).resolve()
        if not target.is_relative_to(folder):
            raise ScenarioError(
                path,
                "extends",
                f"{parent!r} is outside the scenario's folder {folder}; name a shipped "
                "scenario or a file in that folder or below",
            )
        if target.exists():
            if not target.is_file():
                raise ScenarioError(path, "extends", f"{parent!r} is not a regular file")
            return target
    shipped = SCENARIO_DIR / f"{Path(parent).stem}.yaml"
    if Path(parent).name == parent and Path(parent).suffix in ("", ".yaml") and shipped.exists():
        return shipped.resolve()
    known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    hint = difflib.get_close_matches(Path(parent).stem, known, n=1)
    raise ScenarioError(
        path,
        "extends",
        f"file {parent!r} not found in {folder} and not a shipped scenario"
        + (f" (did you mean {hint[0]!r}?)" if hint else ""),
    )


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged mapping of ``path`` and everything it ``extends`` (not yet validated). A value this file
    gives for a parameter that a base made uncertain pins it (listed under ``pinned``)."""
    path = resolve_file(path).resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise ScenarioError(path, "extends", f"circular extends: {chain}")
    if len(_seen) >= EXTENDS_DEPTH:
        raise ScenarioError(path, "extends", f"more than {EXTENDS_DEPTH} files in one extends chain")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(path, "extends", f"expected a file name, got {parent!r}")
    base = load_raw(resolve_extends(path, parent), (*_seen, path))
    replace_events = data.pop("events_mode", "append") != "append"
    if "events" in data and "events" in base and not replace_events:
        data = dict(data)
        data["events"] = list(base["events"]) + list(data["events"] or [])
    merged = deep_merge(base, data)
    base_dists = set(base.get("uncertain") or {}) | set(extract_distributions(base)[1])
    base_dists |= set(posterior_columns(base.get("posterior")))
    given = set(explicit_paths(data))
    pinned = [p for p in sorted(base_dists) if p in given]
    stale = [p for p in base_dists if replace_events and "events" in data and split_path(p)[0] == "events"]
    if pinned or stale:
        merged["uncertain"] = {
            k: v for k, v in (merged.get("uncertain") or {}).items() if k not in pinned and k not in stale
        }
        merged["pinned"] = list(dict.fromkeys([*(base.get("pinned") or []), *pinned]))
    return merged


def explicit_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the plain values (not distributions) a file gives, events and tables aside."""
    out: list[str] = []
    if isinstance(data, Mapping) and "dist" not in data:
        for key, value in data.items():
            if prefix == "" and key in ("events", "uncertain", "expected_effects", "pinned", "posterior"):
                continue
            out += explicit_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif not isinstance(data, Mapping):
        out.append(prefix)
    return out


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
    check_draws(scenario, file)
    if scenario.posterior is not None:
        scenario = apply_posterior(scenario, file)
    return scenario


def check_draws(scenario: Scenario, file: Any = None) -> None:
    """Every value each distribution can draw must be valid where it goes: both ends of its range (an
    unbounded end stands as +-1e300, which any bounded parameter refuses) or each of its choices; only a
    choice can make a whole number, a true/false or a text uncertain."""
    dumped = scenario.model_dump()
    for path, dist in scenario.uncertain.items():
        key = f"uncertain.{path}"
        target = get_path(dumped, path)
        if dist.dist != "choice" and (isinstance(target, bool | str) or target is None):
            raise ScenarioError(
                file,
                key,
                f"a {dist.dist} distribution draws numbers, but this parameter "
                "is not a number: use {dist: choice, values: [...]}",
            )
        if dist.dist != "choice" and isinstance(target, int):
            raise ScenarioError(
                file,
                key,
                f"a {dist.dist} distribution draws fractions, but this "
                "parameter is a whole number: use {dist: choice, values: [...]}",
            )
        for value in dist.support():
            probe = max(-FAR, min(FAR, value)) if isinstance(value, float) else value
            try:
                with_changes(scenario, {path: probe})
            except ScenarioError as err:
                shown = "unbounded values" if isinstance(value, float) and math.isinf(value) else f"{value!r}"
                raise ScenarioError(
                    file,
                    key,
                    f"the {dist.dist} distribution can draw {shown}, which is not allowed here: "
                    f"{err.problem.split(' (got ')[0]}"
                    + ("; truncate it with low/high" if dist.dist in ("normal", "lognormal") else ""),
                ) from None


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, merge, validate. ``overrides`` (dotted path -> value) pin their parameters (:func:`pin`)."""
    resolved = resolve_file(path)
    scenario = scenario_from_dict(load_raw(resolved), resolved)
    return pin(scenario, overrides, resolved) if overrides else scenario


def pin(scenario: Scenario, changes: Mapping[str, Any], file: Any = None) -> Scenario:
    """``scenario`` with explicit values: each path in ``changes`` gets its value, and any distribution
    at or under that path is dropped and its path listed in ``pinned``. The one way every entry point
    (overrides, sweeps, levers, ``mesa.batch_run`` keywords) applies what a user sets."""
    changes = dict(changes)
    dropped = [p for p in scenario.uncertain if any(_covers(c, p) for c in changes)]
    from_posterior = [p for p in posterior_columns(scenario.posterior) if any(_covers(c, p) for c in changes)]
    if dropped or from_posterior:
        changes["uncertain"] = {p: d.model_dump() for p, d in scenario.uncertain.items() if p not in dropped}
        changes["pinned"] = list(dict.fromkeys([*scenario.pinned, *dropped, *from_posterior]))
    try:
        return with_changes(scenario, changes)
    except ScenarioError as err:
        raise ScenarioError(file, err.key_path, err.problem) from None


def _covers(change: str, path: str) -> bool:
    """Whether setting dotted ``change`` sets ``path`` (the same path, or a mapping that holds it)."""
    return path == change or path.startswith(change + ".")


def apply_to_dict(data: dict[str, Any], changes: Mapping[str, Any], file: Any = None) -> dict[str, Any]:
    """A copy of ``data`` with ``changes`` (dotted path -> value) set; an unknown path is refused."""
    return _apply_in_place(copy.deepcopy(data), changes, file)


def _apply_in_place(data: dict[str, Any], changes: Mapping[str, Any], file: Any = None) -> dict[str, Any]:
    for path, value in changes.items():
        try:
            get_path(data, path)
        except (KeyError, IndexError, ValueError, TypeError):
            _raise_unknown_path(data, path, file)
        set_path(data, path, value)
    return data


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
    data = _apply_in_place(scenario.model_dump(), changes)  # a fresh dump: no copy needed
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


# -- a calibration's posterior -------------------------------------------------------------------------

REPO_DIR = SCENARIO_DIR.parent
WEIGHT = "weight"


@dataclass(frozen=True)
class Posterior:
    """A calibration's posterior as read from its Parquet file: parameter paths, particles and weights
    (normalised to sum to 1)."""

    columns: tuple[str, ...]
    values: np.ndarray  # (particles, columns)
    weights: np.ndarray  # (particles,)

    def mean(self) -> dict[str, float]:
        return {c: float(v) for c, v in zip(self.columns, self.weights @ self.values, strict=True)}


def posterior_file(ref: str) -> Path:
    """The file a scenario's ``posterior`` names: a path inside the repository (relative to its root)."""
    path = Path(ref)
    resolved = (path if path.is_absolute() else REPO_DIR / path).resolve()
    if "\x00" in ref or not resolved.is_relative_to(REPO_DIR.resolve()):
        raise ValueError(f"{ref!r} is outside the repository {REPO_DIR}; give a path inside it")
    return resolved


def read_posterior(ref: str) -> Posterior:
    """The posterior at ``ref``, read once per process while the file is unchanged (ValueError when it
    cannot be used: missing, unreadable, no positive finite weights, values that are not finite numbers)."""
    path = posterior_file(ref)
    try:
        info = os.stat(path)
    except OSError:
        raise ValueError(
            f"{ref!r}: file not found (run its calibration first: python run.py calibrate)"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{ref!r}: not a regular file")
    return _read_posterior(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=8)
def _read_posterior(path: str, mtime_ns: int, size: int) -> Posterior:
    import pandas as pd

    try:
        table = pd.read_parquet(path)
    except ImportError:
        raise ValueError('reading a posterior needs pyarrow: pip install -e ".[calibrate]"') from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one message
        raise ValueError(f"{Path(path).name}: not a readable Parquet table ({type(exc).__name__})") from None
    if WEIGHT not in table.columns:
        raise ValueError(f"{Path(path).name}: no {WEIGHT!r} column")
    if len(table) == 0 or len(table.columns) < 2:
        raise ValueError(f"{Path(path).name}: expected particles (rows) and parameter columns")
    columns = tuple(str(c) for c in table.columns if c != WEIGHT)
    try:
        values = table[list(columns)].to_numpy(dtype=float)
        weights = table[WEIGHT].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{Path(path).name}: every column must hold numbers") from None
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError(f"{Path(path).name}: weights must be positive finite numbers")
    bad = [c for c, ok in zip(columns, np.all(np.isfinite(values), axis=0), strict=True) if not ok]
    if bad:
        raise ValueError(f"{Path(path).name}: column {bad[0]!r} holds a value that is not a finite number")
    return Posterior(columns, values, weights / weights.sum())


def posterior_columns(ref: Any) -> tuple[str, ...]:
    """The parameter paths of the posterior ``ref`` names; none when there is none or it cannot be read
    (the scenario's validation then says why)."""
    if not isinstance(ref, str):
        return ()
    try:
        return read_posterior(ref).columns
    except ValueError:
        return ()


def apply_posterior(scenario: Scenario, file: Any = None) -> Scenario:
    """Check the scenario's posterior against the schema (paths exist and are real numbers; the lowest and
    highest value of each column are allowed), take its columns out of ``uncertain`` and hold its weighted
    mean at every column that is not pinned (the draws replace it per replicate)."""
    key = "posterior"
    try:
        post = read_posterior(scenario.posterior)
    except ValueError as err:
        raise ScenarioError(file, key, str(err)) from None
    dumped = scenario.model_dump()
    for col in post.columns:
        try:
            target = get_path(dumped, col)
        except (KeyError, IndexError, ValueError, TypeError):
            raise ScenarioError(file, key, f"column {col!r} is not a parameter of this scenario") from None
        if not isinstance(target, float):
            raise ScenarioError(
                file, key, f"column {col!r} is not a real-valued parameter (it is {target!r})"
            )
    free = [c for c in post.columns if c not in scenario.pinned]
    for ends in (post.values.min(axis=0), post.values.max(axis=0)):
        probe = {c: float(v) for c, v in zip(post.columns, ends, strict=True) if c in free}
        try:
            with_changes(scenario, probe)
        except ScenarioError as err:
            raise ScenarioError(
                file,
                key,
                f"column {err.key_path!r} holds {probe.get(err.key_path, '?')!r}, which is not allowed: "
                f"{err.problem.split(' (got ')[0]}",
            ) from None
    mean = post.mean()
    changes: dict[str, Any] = {c: mean[c] for c in free}
    changes["uncertain"] = {
        p: d.model_dump() for p, d in scenario.uncertain.items() if not any(_covers(c, p) for c in free)
    }
    try:
        return with_changes(scenario, changes)
    except ScenarioError as err:
        raise ScenarioError(file, key, f"its weighted mean is not allowed: {err}") from None
