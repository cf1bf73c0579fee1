"""Run folders: write one run's results to a new, complete folder, and read a saved run back.

A run folder ``<out_root>/<scenario>/<YYYYmmdd-HHMMSS>-<id>/`` (UTC time, 6 hex digits) holds::

    timeseries.csv          model-level metrics, one row per (replicate, tick)
    labs.csv                per-lab series, one row per (replicate, tick, lab)
    draws.csv               each replicate's model seed and drawn uncertain values
    summary.csv, .json      key indicators: median and 5-95% interval across replicates
    scenario.resolved.yaml  the scenario exactly as run (seed and replicates as used)
    manifest.json           provenance: seeds, draws, pinned parameters, versions, git commit, command,
                            each table's columns, column types and rows; ``complete: true``
    datapackage.json        each CSV's columns with type, meaning, unit and formula: a Frictionless Data
                            Package made from the data dictionary (``datadict.py``; docs/outputs.md)
    plots/                  figures made from the files above (see ``plotting.py``)

The folder is built under a hidden ``.tmp-`` name next to its final place and renamed when complete, so a
folder with a run's name is always whole; on any error or Ctrl-C the temporary folder is removed. Results
holding NaN or infinite values are refused, and the folder is read back with the reader's checks before it is
marked complete, so every complete folder written here is one :func:`read_run` accepts.

Run folders are untrusted input when read back (:func:`read_run`): the manifest must be of this format
version, a JSON object with the expected keys and types, consistent with the resolved scenario (which must
be a valid scenario); every table a regular file in the folder (no link, FIFO or device), under a size
limit, with exactly the columns the manifest lists, numbers where numbers belong, finite, and the
replicates and months the manifest says. Anything else is one :class:`RunFolderError` naming the folder,
the file and what was expected.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import stat
import subprocess
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd
import yaml
from pandas.api import types as ptypes

from .config import ScenarioError, add_months, scenario_from_dict
from .config.loader import posterior_columns

if TYPE_CHECKING:
    from .experiments import Results

FORMAT_VERSION = 2  # 2: the manifest lists each table's columns and rows ("tables") and "pinned"
TABLES = {"model": "timeseries.csv", "labs": "labs.csv", "draws": "draws.csv"}
SUMMARY_CSV, SUMMARY_JSON = "summary.csv", "summary.json"
MANIFEST, SCENARIO_FILE, PLOTS_DIR = "manifest.json", "scenario.resolved.yaml", "plots"
DATAPACKAGE = "datapackage.json"  # from datadict.py; not read back: read_run checks the manifest's tables
TMP_PREFIX = ".tmp-"
PACKAGES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "mesa": "mesa",
    "pydantic": "pydantic",
    "matplotlib": "matplotlib",
    "simulation": "open-closed-ai-sim",
}
REPO_ROOT = Path(__file__).resolve().parents[1]


class RunFolderError(ValueError):
    """A path that is not a complete, sound run folder. ``str(err)`` is the one message shown to the user
    (one line: control characters from file contents are shown escaped, never printed)."""

    def __init__(self, message: str):
        super().__init__(one_line(message))


class NonFiniteResultsError(ValueError):
    """Results holding NaN or infinite values: never saved as a complete run."""


@dataclass
class RunData:
    """A saved run, read back: the tables as DataFrames, the resolved scenario and the manifest."""

    path: Path
    scenario: dict[str, Any]
    model: pd.DataFrame
    labs: pd.DataFrame
    draws: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.scenario.get("name", self.path.parent.name))


# -- writing ---------------------------------------------------------------------------------------------


def write_run(
    results: Results,
    out_root: str | Path = "outputs",
    command: str | None = None,
    wall_time_s: float | None = None,
) -> Path:
    """Write ``results`` to a new run folder under ``out_root/<scenario name>/`` and return its path."""
    from . import datadict, plotting  # matplotlib only when a run is written

    created = datetime.now(UTC)
    scenario_dir = Path(out_root) / safe_name(results.scenario.name)
    made_dirs = [d for d in (scenario_dir, *scenario_dir.parents) if not d.exists()]  # deepest first
    scenario_dir.mkdir(parents=True, exist_ok=True)
    final = _new_run_path(scenario_dir, created, results.seed, int(results.draws["replicate"].nunique()))
    tmp = scenario_dir / f"{TMP_PREFIX}{final.name}"
    tmp.mkdir()  # fails rather than reuse an existing folder
    try:
        check_finite(results)
        scenario = resolved_scenario(results)
        _write_tables(results, tmp)
        _write_yaml(tmp / SCENARIO_FILE, scenario)
        manifest = build_manifest(results, scenario, created, command, wall_time_s)
        _write_json(tmp / MANIFEST, {**manifest, "complete": False})
        run = _load(tmp, _read_manifest(tmp, complete=False))  # what was written passes the reader's checks
        # every column described, or no run folder: a column missing from datadict.py raises here
        package = datadict.data_package(
            manifest["tables"], results.scenario, list(results.summary.index), manifest["created_utc"]
        )
        _write_json(tmp / DATAPACKAGE, package)
        plotting.plot_run(run, tmp / PLOTS_DIR)
        _write_json(tmp / MANIFEST, {**manifest, "complete": True})  # last: the folder is now whole
        if final.exists():  # a clash of second and random id: practically never, but never overwrite
            raise FileExistsError(f"run folder {final} already exists")
        os.rename(tmp, final)
        point_latest(scenario_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in made_dirs:  # leave no trace: remove the folders made here, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return final


def safe_name(name: str) -> str:
    """A scenario name usable as one folder name (no separators, no leading dot)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return cleaned or "scenario"


LATEST = "latest"  # in each scenario's folder: a link to its newest complete run


def _new_run_path(
    scenario_dir: Path, created: datetime, seed: int | None = None, replicates: int | None = None
) -> Path:
    """``<time>-seed<S>-r<R>-<id>`` (a run) or ``<time>-<id>`` (a comparison): sortable by time, telling
    runs of the same scenario apart."""
    what = f"-seed{seed}-r{replicates}" if seed is not None else ""
    while True:
        path = scenario_dir / f"{created:%Y%m%d-%H%M%S}{what}-{secrets.token_hex(3)}"
        if not path.exists():
            return path


def point_latest(scenario_dir: Path, run_dir: Path) -> None:
    """Make ``scenario_dir/latest`` a relative link to ``run_dir`` (replaced atomically; where links cannot
    be made, nothing: ``latest_run`` then falls back to the newest complete folder)."""
    link = scenario_dir / LATEST
    tmp = scenario_dir / f".{LATEST}-{secrets.token_hex(3)}"
    try:
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def run_folders(scenario_dir: Path) -> list[Path]:
    """The complete run folders of one scenario, oldest first (by name: names start with the time)."""
    runs = []
    for path in sorted(scenario_dir.iterdir()) if scenario_dir.is_dir() else []:
        if path.is_symlink() or not path.is_dir() or path.name.startswith("."):
            continue
        manifest = path / MANIFEST
        try:
            small = manifest.is_file() and manifest.stat().st_size < MANIFEST_MAX_BYTES
            if small and json.loads(manifest.read_text(encoding="utf-8")).get("complete") is True:
                runs.append(path)
        except (OSError, ValueError, AttributeError):
            continue
    return runs


def latest_run(scenario_dir: str | Path) -> Path | None:
    """The newest complete run of a scenario folder: where ``latest`` points if it points at a complete run,
    else the newest complete folder; None if there is none."""
    scenario_dir = Path(scenario_dir)
    runs = run_folders(scenario_dir)
    link = scenario_dir / LATEST
    if link.is_symlink():
        target = (scenario_dir / os.readlink(link)).resolve()
        for run in runs:
            if run.resolve() == target:
                return run
    return runs[-1] if runs else None


def check_finite(results: Results) -> None:
    """Raise :class:`NonFiniteResultsError` naming the table, column and first replicate and tick where a
    numeric column of the model, per-lab or draws table holds NaN or an infinity."""
    for attr, filename in TABLES.items():
        frame = getattr(results, attr)
        for column in frame.columns:
            series = frame[column]
            if ptypes.is_bool_dtype(series) or not ptypes.is_numeric_dtype(series):
                continue
            bad = ~np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                i = int(np.argmax(bad))
                raise NonFiniteResultsError(
                    f"not saving the {results.scenario.name} run: the {attr} table ({filename}) has "
                    f"{series.iloc[i]} in column {column!r} at {_row_place(frame, i)}"
                    f"{f' (and {int(bad.sum()) - 1} more)' if bad.sum() > 1 else ''}; "
                    "a run with NaN or infinite values is never saved as complete"
                )


def resolved_scenario(results: Results) -> dict[str, Any]:
    """The scenario as run, as plain data: seed and replicates are the ones actually used, so the
    saved ``scenario.resolved.yaml`` reproduces the run. ``pinned`` is left out (a scenario file may not
    set it: the loader fills it): the pinned values are in the file as plain values, and the manifest
    lists which they are."""
    data = results.scenario.model_dump(mode="json")
    data.pop("pinned", None)
    data["seed"] = int(results.seed)
    data["replicates"] = int(results.draws["replicate"].nunique())
    return data


def _write_tables(results: Results, folder: Path) -> None:
    for attr, filename in TABLES.items():
        getattr(results, attr).to_csv(folder / filename, index=False)
    results.summary.to_csv(folder / SUMMARY_CSV)
    _write_json(folder / SUMMARY_JSON, summary_dict(results.summary))


def summary_dict(summary: pd.DataFrame) -> dict[str, Any]:
    """``{"interval": ..., "replicates": n, "indicators": {name: {median, p5, p95}}}``."""
    indicators = {
        str(name): {col: _number(row[col]) for col in ("median", "p5", "p95")}
        for name, row in summary.iterrows()
    }
    replicates = int(summary["replicates"].iloc[0]) if len(summary) else 0
    return {"interval": "5-95% across replicates", "replicates": replicates, "indicators": indicators}


def build_manifest(
    results: Results,
    scenario: dict[str, Any],
    created: datetime,
    command: str | None,
    wall_time_s: float | None,
) -> dict[str, Any]:
    """Everything needed to know what was run and to run it again (``complete`` is added by the writer)."""
    draws = [{k: _number(v) for k, v in row.items()} for row in results.draws.to_dict(orient="records")]
    tables = {filename: getattr(results, attr) for attr, filename in TABLES.items()}
    summary = results.summary
    return {
        "format": FORMAT_VERSION,
        "scenario": {"name": results.scenario.name, "description": results.scenario.description},
        "seed": int(results.seed),
        "replicates": len(draws),
        "months": results.scenario.months,
        "start": results.scenario.start,
        "adopters": results.scenario.adopters.n,
        "replicate_draws": draws,
        "resolved_scenario": scenario,
        "pinned": [str(p) for p in getattr(results.scenario, "pinned", [])],  # set explicitly, not drawn
        "versions": package_versions(),
        "git": git_state(),
        "command": command,
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "created_utc": created.isoformat(timespec="seconds"),
        "files": [*TABLES.values(), SUMMARY_CSV, SUMMARY_JSON, SCENARIO_FILE, DATAPACKAGE, PLOTS_DIR + "/"],
        "tables": {
            **{name: table_spec(t) for name, t in tables.items()},
            SUMMARY_CSV: table_spec(summary.reset_index()),
        },
    }


def table_spec(frame: pd.DataFrame) -> dict[str, Any]:
    """A table as the manifest records it: its columns in order, each column's type, and its rows."""
    columns = [str(c) for c in frame.columns]
    return {
        "columns": columns,
        "types": dict(zip(columns, map(column_type, frame.dtypes), strict=True)),
        "rows": len(frame),
    }


def column_type(dtype: Any) -> str:
    """ "int", "float", "bool" or "text": how a column is written and must read back."""
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_integer_dtype(dtype):
        return "int"
    if ptypes.is_float_dtype(dtype):
        return "float"
    return "text"


def package_versions(extra: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Versions of Python and the packages a run depends on, plus ``extra`` (key -> distribution name);
    read from metadata: nothing is imported."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, dist in {**PACKAGES, **(extra or {})}.items():
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def git_state(root: Path = REPO_ROOT) -> dict[str, Any] | None:
    """Commit of the source tree and whether it had uncommitted changes; None without git or a repo."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _number(value: Any) -> Any:
    """Plain JSON value: numpy scalars unboxed, NaN and infinities as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_number) + "\n", encoding="utf-8")


class _PlainDumper(yaml.SafeDumper):
    """Never writes anchors and aliases (the reader refuses them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _write_yaml(path: Path, data: Any) -> None:
    text = yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")


# -- reading ---------------------------------------------------------------------------------------------
#
# A run folder is untrusted input: it may come from elsewhere, be truncated or be edited. Every file is
# opened only if it is a regular file in the folder (not a link, FIFO or device: nothing can hang or stream
# forever) under a size limit, and checked in full before any of it is used; any problem is one
# RunFolderError naming the folder, the file and what was expected. Values from files are never echoed
# at length in messages: types are named instead, and short names are shown escaped.

MANIFEST_MAX_BYTES = 32 * 2**20  # the manifest lists every replicate's draws: 10,000 replicates fit
SCENARIO_MAX_BYTES = 2**20  # a resolved scenario is a few tens of kB
SUMMARY_MAX_BYTES = 16 * 2**20
TABLE_MAX_BYTES = 2 * 2**30
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # what yaml.safe_load uses, in C when built
MAX_NESTING = 40  # mappings and lists in the manifest and the scenario (the schema needs about 6)

# Column types as the manifest records them; the columns this code reads must have the type it reads.
COLUMN_TYPES = ("int", "float", "bool", "text")
NUMBER, ANY = ("int", "float"), COLUMN_TYPES
MODEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "replicate": ("int",),
    "tick": ("int",),
    "date": ("text",),
    **dict.fromkeys(
        (
            "gap_months_true",
            "gap_months_benchmark",
            "gap_points_true",
            "open_share_usage",
            "open_share_spend",
            "top_open_share_of_open_usage",
            "hhi_usage",
            "frontier_training_flop",
        ),
        NUMBER,
    ),
}
MODEL_BLOC_COLUMNS = ("open_usage_share_origin_{}", "labs_alive_{}")  # numbers, one per bloc
LAB_COLUMNS: dict[str, tuple[str, ...]] = {
    "replicate": ("int",),
    "tick": ("int",),
    **dict.fromkeys(("date", "lab", "kind", "bloc"), ("text",)),
    **dict.fromkeys(("open", "alive"), ("bool",)),
    **dict.fromkeys(("capability_true_eci", "runway_months"), NUMBER),
}
DRAWS_COLUMNS: dict[str, tuple[str, ...]] = {"replicate": ("int",), "model_seed": ("int",)}
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "indicator": ("text",),
    **dict.fromkeys(("median", "p5", "p95"), NUMBER),
    "replicates": ("int",),
}
LAB_KIND = "lab"

# manifest key -> (expected JSON types, what to say when it is something else)
_INT, _STR, _BOOL, _LIST, _OBJ = (int,), (str,), (bool,), (list,), (dict,)
MANIFEST_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "format": (_INT, "a whole number"),
    "scenario": (_OBJ, "an object with the scenario's name and description"),
    "seed": (_INT, "a whole number of at least 0"),
    "replicates": (_INT, "a whole number of at least 1"),
    "months": (_INT, "a whole number of at least 1"),
    "start": (_STR, "a month as text, YYYY-MM"),
    "adopters": (_INT, "a whole number of at least 1"),
    "replicate_draws": (_LIST, "a list with one object per replicate"),
    "resolved_scenario": (_OBJ, "the scenario as an object"),
    "pinned": (_LIST, "a list of parameter paths"),
    "versions": (_OBJ, "an object of package versions"),
    "git": ((dict, type(None)), "an object with commit and dirty, or null"),
    "command": ((str, type(None)), "text or null"),
    "wall_time_s": ((int, float, type(None)), "a number of seconds or null"),
    "created_utc": (_STR, "a date and time as text"),
    "files": (_LIST, "a list of file names"),
    "tables": (_OBJ, "an object giving each table's columns and rows"),
    "complete": (_BOOL, "true"),
}


def one_line(text: str, limit: int = 2000) -> str:
    """``text`` as one printable line: whitespace runs become one space, other control characters are
    shown as escapes (a file cannot move the cursor or colour a terminal), cut at ``limit`` characters."""
    text = " ".join(str(text).split())
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _show(value: Any, limit: int = 60) -> str:
    """A short value from a file, quoted and escaped for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "a whole number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def read_run(path: str | Path) -> RunData:
    """Read a complete run folder, checking every file; raise :class:`RunFolderError` for anything else."""
    path = Path(path)
    if not path.is_dir():
        raise RunFolderError(f"{path}: not a folder")
    manifest = _read_manifest(path)
    if path.name.startswith(TMP_PREFIX):
        raise RunFolderError(f"{path}: a temporary folder, not a finished run")
    return _load(path, manifest)


def _read_manifest(folder: Path, complete: bool = True) -> dict[str, Any]:
    """The manifest, checked for format, keys and types; ``complete``: also require ``complete: true``."""
    if not os.path.lexists(folder / MANIFEST):
        raise RunFolderError(f"{folder}: not a run folder (no {MANIFEST})")
    text = _read_text(folder, MANIFEST, MANIFEST_MAX_BYTES)
    try:
        manifest = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise RunFolderError(f"{folder}: unreadable {MANIFEST} (nested too deeply)") from None
    except ValueError as exc:
        raise RunFolderError(f"{folder}: unreadable {MANIFEST} (not JSON: {exc})") from None
    _check_manifest(folder, manifest, complete)
    return manifest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _check_manifest(folder: Path, manifest: Any, complete: bool) -> None:
    where = f"{folder}: {MANIFEST}"
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{where}: expected a JSON object, found {_json_kind(manifest)}")
    if "format" not in manifest:
        raise RunFolderError(
            f"{where}: no format version; this version reads run folders of format {FORMAT_VERSION}"
        )
    fmt = manifest["format"]
    if type(fmt) is not int or fmt != FORMAT_VERSION:
        found = fmt if type(fmt) is int else _json_kind(fmt)
        raise RunFolderError(
            f"{where}: format {_show(found) if isinstance(found, int) else found} found; this version reads "
            f"run folders of format {FORMAT_VERSION} only (run the scenario again to make one)"
        )
    if complete and manifest.get("complete") is not True:
        raise RunFolderError(f"{folder}: incomplete run folder (the run was interrupted or is being written)")
    if not _nested_within(manifest, MAX_NESTING):
        raise RunFolderError(f"{where}: nested more than {MAX_NESTING} levels deep")
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    extra = [k for k in manifest if k not in MANIFEST_KEYS]
    if missing:
        raise RunFolderError(f"{where}: missing key(s) {', '.join(missing)}")
    if extra:
        shown = ", ".join(_show(k, 40) for k in extra[:3]) + (" ..." if len(extra) > 3 else "")
        raise RunFolderError(f"{where}: unexpected key(s) {shown}; expected only {', '.join(MANIFEST_KEYS)}")
    for key, (types, what) in MANIFEST_KEYS.items():
        value = manifest[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise RunFolderError(f"{where}: {key} must be {what}, found {_json_kind(value)}")
    for key, least in (("seed", 0), ("replicates", 1), ("months", 1), ("adopters", 1)):
        if manifest[key] < least:
            raise RunFolderError(
                f"{where}: {key} must be a whole number of at least {least}, found {manifest[key]}"
            )
    wall = manifest["wall_time_s"]
    if wall is not None and not (math.isfinite(wall) and wall >= 0):
        raise RunFolderError(f"{where}: wall_time_s must be a number of seconds of at least 0 or null")
    try:
        datetime.fromisoformat(manifest["created_utc"])
    except ValueError:
        raise RunFolderError(f"{where}: created_utc must be a date and time (ISO 8601)") from None
    scenario = manifest["scenario"]
    if set(scenario) != {"name", "description"} or not all(isinstance(v, str) for v in scenario.values()):
        raise RunFolderError(f"{where}: scenario must be an object with text name and description only")
    if not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in manifest["versions"].items()
    ):
        raise RunFolderError(f"{where}: versions must map package names to version text or null")
    git = manifest["git"]
    if git is not None and not (
        set(git) == {"commit", "dirty"} and isinstance(git["commit"], str) and isinstance(git["dirty"], bool)
    ):
        raise RunFolderError(f"{where}: git must be null or an object with text commit and true/false dirty")
    for key in ("files", "pinned"):
        if not all(isinstance(v, str) for v in manifest[key]):
            raise RunFolderError(f"{where}: {key} must be a list of text")
    draws = manifest["replicate_draws"]
    if len(draws) != manifest["replicates"]:
        raise RunFolderError(
            f"{where}: replicate_draws has {len(draws)} entries; expected one per replicate "
            f"({manifest['replicates']})"
        )
    for i, draw in enumerate(draws):
        if not (
            isinstance(draw, dict)
            and type(draw.get("replicate")) is int
            and type(draw.get("model_seed")) is int
            and draw["replicate"] == i
        ):
            raise RunFolderError(
                f"{where}: replicate_draws[{i}] must be an object with replicate {i} and a whole-number "
                "model_seed"
            )
    _check_table_list(where, manifest["tables"])


def _check_table_list(where: str, tables: dict[str, Any]) -> None:
    names = [*TABLES.values(), SUMMARY_CSV]
    if sorted(tables) != sorted(names):
        raise RunFolderError(f"{where}: tables must describe exactly {', '.join(names)}")
    for name, spec in tables.items():
        ok = (
            isinstance(spec, dict)
            and set(spec) == {"columns", "types", "rows"}
            and isinstance(spec["columns"], list)
            and all(isinstance(c, str) and c for c in spec["columns"])
            and len(set(spec["columns"])) == len(spec["columns"])
            and isinstance(spec["types"], dict)
            and sorted(spec["types"]) == sorted(spec["columns"])
            and all(isinstance(t, str) and t in COLUMN_TYPES for t in spec["types"].values())
            and type(spec["rows"]) is int
            and spec["rows"] >= 0
        )
        if not ok:
            raise RunFolderError(
                f"{where}: tables.{name} must be an object with columns (distinct names), types (one of "
                f"{', '.join(COLUMN_TYPES)} for each column) and rows (a whole number)"
            )


def _nested_within(data: Any, limit: int) -> bool:
    """Whether ``data`` (JSON-like) nests mappings and lists at most ``limit`` deep (no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return True


def _load(path: Path, manifest: dict[str, Any]) -> RunData:
    """The files of a run folder whose manifest passed :func:`_read_manifest`, each checked in full and
    against the manifest (the writer uses this too, before the folder is marked complete)."""
    scenario = _read_scenario(path, manifest)
    blocs, labs, uncertain = (set(scenario.get(key) or {}) for key in ("blocs", "labs", "uncertain"))
    tables = manifest["tables"]
    # drawn values of a choice may be whole numbers, text or true/false; any other drawn value is a number
    choices = {p for p, d in (scenario.get("uncertain") or {}).items() if (d or {}).get("dist") == "choice"}
    required: dict[str, dict[str, tuple[str, ...]]] = {
        TABLES["model"]: {
            **MODEL_COLUMNS,
            **{c.format(b): NUMBER for c in MODEL_BLOC_COLUMNS for b in sorted(blocs)},
        },
        TABLES["labs"]: LAB_COLUMNS,
        TABLES["draws"]: {**DRAWS_COLUMNS, **{p: ANY if p in choices else NUMBER for p in sorted(uncertain)}},
        SUMMARY_CSV: SUMMARY_COLUMNS,
    }
    for name, columns in required.items():
        types = tables[name]["types"]
        missing = [c for c in columns if c not in types]
        if missing:
            raise RunFolderError(
                f"{path}: {MANIFEST}: tables.{name} does not list column(s) "
                + ", ".join(map(_show, missing[:5]))
            )
        wrong = [c for c, allowed in columns.items() if types[c] not in allowed]
        if wrong:
            column = wrong[0]
            raise RunFolderError(
                f"{path}: {MANIFEST}: tables.{name} gives column {_show(column)} the type {types[column]}; "
                f"expected {' or '.join(columns[column])}"
            )
    draws_file = TABLES["draws"]
    # a scenario with a calibration posterior also draws its columns (read from the repository's file)
    posterior = scenario.get("posterior")
    from_posterior = set(posterior_columns(posterior)) if isinstance(posterior, str) else set()
    extra = [
        c for c in tables[draws_file]["columns"] if c not in required[draws_file] and c not in from_posterior
    ]
    if extra:
        raise RunFolderError(
            f"{path}: {MANIFEST}: tables.{draws_file} lists {_show(extra[0])}, which the scenario does not "
            "make uncertain; expected replicate, model_seed and one column per uncertain or posterior parameter"
        )
    wrong = [
        c
        for c in from_posterior & set(tables[draws_file]["columns"])
        if tables[draws_file]["types"][c] not in NUMBER
    ]
    if wrong:
        raise RunFolderError(
            f"{path}: {MANIFEST}: tables.{draws_file} gives posterior column {_show(wrong[0])} the type "
            f"{tables[draws_file]['types'][wrong[0]]}; expected {' or '.join(NUMBER)}"
        )
    frames = {}
    for name in required:
        limit = SUMMARY_MAX_BYTES if name == SUMMARY_CSV else TABLE_MAX_BYTES
        frame = _read_table(path, name, limit, tables[name]["types"])
        _check_table(path, name, frame, tables[name])
        frames[name] = frame
    replicates, months = manifest["replicates"], manifest["months"]
    dates = [add_months(manifest["start"], t) for t in range(months)]
    _check_grid(path, TABLES["model"], frames[TABLES["model"]], replicates, dates, per_cell=1)
    _check_grid(path, TABLES["labs"], frames[TABLES["labs"]], replicates, dates, per_cell=None)
    _check_labs(path, frames[TABLES["labs"]], blocs, labs)
    _check_draws(path, frames[TABLES["draws"]], manifest)
    summary = frames[SUMMARY_CSV]
    _check_summary(path, summary, replicates)
    return RunData(
        path=path,
        scenario=scenario,
        model=frames[TABLES["model"]],
        labs=frames[TABLES["labs"]],
        draws=frames[TABLES["draws"]],
        summary=summary.set_index("indicator"),
        manifest=manifest,
    )


# -- files -----------------------------------------------------------------------------------------------


def _open_regular(folder: Path, name: str, limit: int) -> BinaryIO:
    """``folder/name`` opened for reading if it is a regular file (not a link, FIFO, device or folder) of at
    most ``limit`` bytes. Checked before opening and again on the open file, so it cannot be swapped."""
    path = folder / name
    try:
        _check_regular(folder, name, os.lstat(path), limit)
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: run folder is missing {name}") from None
    except OSError as exc:
        raise RunFolderError(f"{folder}: cannot read {name} ({exc.strerror})") from None
    flags = os.O_RDONLY
    for flag in ("O_NONBLOCK", "O_NOFOLLOW", "O_NOCTTY", "O_BINARY"):
        flags |= getattr(os, flag, 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise RunFolderError(f"{folder}: cannot read {name} ({exc.strerror})") from None
    try:
        _check_regular(folder, name, os.fstat(fd), limit)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_regular(folder: Path, name: str, info: os.stat_result, limit: int) -> None:
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(mode)
            else "a folder"
            if stat.S_ISDIR(mode)
            else "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise RunFolderError(f"{folder}: {name} is {kind}; expected a regular file")
    if info.st_size > limit:
        raise RunFolderError(f"{folder}: {name} is too large ({info.st_size:,} bytes; at most {limit:,})")


def _read_text(folder: Path, name: str, limit: int) -> str:
    try:
        with _open_regular(folder, name, limit) as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise RunFolderError(f"{folder}: cannot read {name} ({exc.strerror})") from None
    if len(raw) > limit:
        raise RunFolderError(f"{folder}: {name} is too large (more than {limit:,} bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunFolderError(
            f"{folder}: unreadable {name} (not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _read_scenario(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The resolved scenario: YAML without aliases, a valid scenario, the same as the manifest says."""
    text = _read_text(folder, SCENARIO_FILE, SCENARIO_MAX_BYTES)
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=SAFE_LOADER)):
            raise RunFolderError(f"{folder}: {SCENARIO_FILE} uses YAML aliases; a resolved scenario has none")
        data = yaml.load(text, Loader=SAFE_LOADER)  # the loader yaml.safe_load uses (in C)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise RunFolderError(
            f"{folder}: unreadable {SCENARIO_FILE} (malformed YAML: {at}{exc.problem})"
        ) from None
    except (yaml.YAMLError, RecursionError):
        raise RunFolderError(f"{folder}: unreadable {SCENARIO_FILE} (malformed YAML)") from None
    if not isinstance(data, dict):
        raise RunFolderError(
            f"{folder}: {SCENARIO_FILE} must be a scenario (a mapping of keys), found {_json_kind(data)}"
        )
    if not _nested_within(data, MAX_NESTING) or not all(isinstance(k, str) for k in data):
        raise RunFolderError(f"{folder}: {SCENARIO_FILE} is not a scenario (odd keys or nested too deeply)")
    try:
        scenario = scenario_from_dict(data, folder / SCENARIO_FILE)
    except ScenarioError as err:
        at = f" at {err.key_path}" if err.key_path else ""
        raise RunFolderError(
            f"{folder}: {SCENARIO_FILE} is not a valid scenario{at}: {err.problem}"
        ) from None
    except Exception as exc:  # the validator on odd shapes (say a list where a mapping belongs): refused too
        raise RunFolderError(
            f"{folder}: {SCENARIO_FILE} is not a valid scenario ({type(exc).__name__})"
        ) from None
    if data != manifest["resolved_scenario"]:
        raise RunFolderError(
            f"{folder}: {SCENARIO_FILE} differs from the resolved scenario recorded in {MANIFEST}"
        )
    pinned = getattr(scenario, "pinned", None) if "pinned" in data else None
    facts = {
        "seed": scenario.seed,
        "replicates": scenario.replicates,
        "months": scenario.months,
        "start": scenario.start,
        "adopters": scenario.adopters.n,
        "scenario": {"name": scenario.name, "description": scenario.description},
        **({"pinned": list(pinned)} if pinned is not None else {}),
    }
    for key, value in facts.items():
        if manifest[key] != value:
            raise RunFolderError(f"{folder}: {MANIFEST} and {SCENARIO_FILE} disagree on {key}")
    drawn_columns = set(manifest["tables"][TABLES["draws"]]["columns"])  # what the run drew per replicate
    dropped = [p for p in manifest["pinned"] if p in scenario.uncertain or p in drawn_columns]
    if dropped:
        raise RunFolderError(
            f"{folder}: {MANIFEST}: pinned lists {_show(dropped[0])}, which the scenario still draws"
        )
    return data


# -- tables ----------------------------------------------------------------------------------------------


def _read_table(folder: Path, name: str, limit: int, types: dict[str, str]) -> pd.DataFrame:
    """A CSV table as written by :func:`write_run`: text columns as text, as they are; an empty cell
    elsewhere as missing; nothing else guessed (``nan`` or ``NA`` stay text, so a number column holding
    them is refused). pandas' warnings are refusals, not noise on stderr."""
    text = [c for c, t in types.items() if t == "text"]
    with _open_regular(folder, name, limit) as fh, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return pd.read_csv(
                fh,
                dtype=dict.fromkeys(text, str),
                keep_default_na=False,
                na_values={c: [""] for c in types if c not in text},
                index_col=False,
                low_memory=False,
                encoding="utf-8",
            )
        except Exception as exc:  # any parser failure (bad bytes, ragged rows, ...) means an unreadable table
            raise RunFolderError(
                f"{folder}: unreadable {name} ({_brief(exc)}); expected a CSV table"
            ) from None


def _brief(exc: BaseException) -> str:
    text = one_line(str(exc), 160) or type(exc).__name__
    return text.replace("Error tokenizing data. C error: ", "")


def _row_place(frame: pd.DataFrame, i: int) -> str:
    """Where row ``i`` is: its replicate and tick when the table has them, and its line in the file."""
    parts = []
    for column in ("replicate", "tick", "lab"):
        if column in frame.columns:
            value = frame[column].iloc[i]
            parts.append(f"{column} {value}" if column != "lab" else f"lab {_show(value, 40)}")
    return ", ".join([*parts, f"line {i + 2}"])


def _check_table(folder: Path, name: str, frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    """Columns exactly as the manifest lists them, the rows it counts, and each column of the type it
    gives: whole numbers, finite numbers, True/False, or text; no empty cell except in text."""
    where = f"{folder}: {name}"
    found, listed = [str(c) for c in frame.columns], spec["columns"]
    if found != listed:
        missing = [c for c in listed if c not in found]
        extra = [c for c in found if c not in listed]
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(map(_show, missing[:3]))}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(map(_show, extra[:3]))}")
        detail = "; ".join(parts) or "columns in another order"
        raise RunFolderError(f"{where}: {detail}; expected the {len(listed)} columns {MANIFEST} lists")
    if len(frame) != spec["rows"]:
        raise RunFolderError(
            f"{where}: {len(frame)} rows; expected {spec['rows']} as {MANIFEST} says (truncated or edited?)"
        )
    for column, kind in spec["types"].items():
        series = frame[column]
        if kind == "text":
            continue
        missing = series.isna().to_numpy()
        if missing.any():
            raise RunFolderError(
                f"{where}: empty or missing value in column {_show(column)} at "
                f"{_row_place(frame, int(np.argmax(missing)))}"
            )
        if kind == "bool":
            if not ptypes.is_bool_dtype(series):
                raise RunFolderError(f"{where}: column {_show(column)} must hold True or False only")
            continue
        if ptypes.is_bool_dtype(series) or not ptypes.is_numeric_dtype(series):
            coerced = pd.to_numeric(series, errors="coerce").isna().to_numpy()
            i = int(np.argmax(coerced)) if coerced.any() else 0
            raise RunFolderError(
                f"{where}: column {_show(column)} must hold numbers, found text at {_row_place(frame, i)}"
            )
        if kind == "int" and not ptypes.is_integer_dtype(series):
            raise RunFolderError(f"{where}: column {_show(column)} must hold whole numbers")
        if ptypes.is_float_dtype(series):
            bad = ~np.isfinite(series.to_numpy(dtype=float))
            if bad.any():
                i = int(np.argmax(bad))
                raise RunFolderError(
                    f"{where}: column {_show(column)} holds {series.iloc[i]} at {_row_place(frame, i)}; "
                    "expected finite numbers"
                )


def _check_grid(
    folder: Path, name: str, frame: pd.DataFrame, replicates: int, dates: list[str], per_cell: int | None
) -> None:
    """Replicates 0..n-1 and ticks 0..months-1 as the manifest says, each (replicate, tick) present
    (``per_cell`` times, if given), and each date the month of its tick."""
    where = f"{folder}: {name}"
    months = len(dates)
    for column, top in (("replicate", replicates), ("tick", months)):
        values = frame[column].to_numpy()
        bad = (values < 0) | (values >= top)
        if bad.any():
            i = int(np.argmax(bad))
            raise RunFolderError(
                f"{where}: {column} {values[i]} at line {i + 2} is outside 0..{top - 1} ({MANIFEST}: "
                f"{replicates} replicates of {months} months)"
            )
    cells = frame.groupby(["replicate", "tick"]).size()
    if len(cells) != replicates * months:
        raise RunFolderError(
            f"{where}: has {len(cells)} (replicate, tick) pairs; expected all {replicates * months} "
            f"({replicates} replicates of {months} months, as {MANIFEST} says)"
        )
    if per_cell is not None and (cells != per_cell).any():
        (rep, tick) = cells[cells != per_cell].index[0]
        raise RunFolderError(f"{where}: replicate {rep}, tick {tick} appears more than once")
    expected = np.asarray(dates, dtype=object)[frame["tick"].to_numpy()]
    wrong = frame["date"].to_numpy(dtype=object) != expected
    if wrong.any():
        i = int(np.argmax(wrong))
        raise RunFolderError(
            f"{where}: date {_show(frame['date'].iloc[i], 20)} at {_row_place(frame, i)}; "
            f"expected {expected[i]}"
        )


def _check_labs(folder: Path, frame: pd.DataFrame, blocs: set[str], labs: set[str]) -> None:
    where = f"{folder}: {TABLES['labs']}"
    twice = frame.duplicated(["replicate", "tick", "lab"]).to_numpy()
    if twice.any():
        i = int(np.argmax(twice))
        raise RunFolderError(f"{where}: a lab appears twice at {_row_place(frame, i)}")
    unknown_bloc = ~frame["bloc"].isin(sorted(blocs)).to_numpy()
    if unknown_bloc.any():
        i = int(np.argmax(unknown_bloc))
        raise RunFolderError(
            f"{where}: bloc {_show(frame['bloc'].iloc[i], 40)} at {_row_place(frame, i)} is not one of the "
            f"scenario's blocs"
        )
    unknown_lab = ((frame["kind"] == LAB_KIND) & ~frame["lab"].isin(sorted(labs))).to_numpy()
    if unknown_lab.any():
        i = int(np.argmax(unknown_lab))
        raise RunFolderError(f"{where}: {_row_place(frame, i)} names a lab the scenario does not have")


def _check_draws(folder: Path, frame: pd.DataFrame, manifest: dict[str, Any]) -> None:
    where = f"{folder}: {TABLES['draws']}"
    if frame["replicate"].tolist() != list(range(manifest["replicates"])):
        raise RunFolderError(
            f"{where}: replicates must be 0..{manifest['replicates'] - 1}, one row each, in order"
        )
    seeds = [d["model_seed"] for d in manifest["replicate_draws"]]
    if frame["model_seed"].tolist() != seeds:
        raise RunFolderError(f"{where}: model seeds differ from those in {MANIFEST}")


def _check_summary(folder: Path, frame: pd.DataFrame, replicates: int) -> None:
    where = f"{folder}: {SUMMARY_CSV}"
    if frame["indicator"].duplicated().any() or (frame["indicator"] == "").any():
        raise RunFolderError(f"{where}: indicator names must be distinct and not empty")
    if (frame["replicates"] != replicates).any():
        raise RunFolderError(f"{where}: replicates must be {replicates} on every row, as {MANIFEST} says")
