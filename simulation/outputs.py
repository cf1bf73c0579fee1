"""Run folders: write one run's results to a new, complete folder, and read a saved run back.

A run folder ``<out_root>/<scenario>/<YYYYmmdd-HHMMSS>-<id>/`` (UTC time, 6 hex digits) holds::

    timeseries.csv          model-level metrics, one row per (replicate, tick)
    labs.csv                per-lab series, one row per (replicate, tick, lab)
    draws.csv               each replicate's model seed and drawn uncertain values
    summary.csv, .json      key indicators: median and 5-95% interval across replicates
    scenario.resolved.yaml  the scenario exactly as run (seed and replicates as used)
    manifest.json           provenance: seeds, draws, versions, git commit, command; ``complete: true``
    plots/                  figures made from the files above (see ``plotting.py``)

The folder is built under a hidden ``.tmp-`` name next to its final place and renamed when complete, so a
folder with a run's name is always whole; on any error or Ctrl-C the temporary folder is removed.
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
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

if TYPE_CHECKING:
    from .experiments import Results

FORMAT_VERSION = 1
TABLES = {"model": "timeseries.csv", "labs": "labs.csv", "draws": "draws.csv"}
SUMMARY_CSV, SUMMARY_JSON = "summary.csv", "summary.json"
MANIFEST, SCENARIO_FILE, PLOTS_DIR = "manifest.json", "scenario.resolved.yaml", "plots"
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
    """A path that is not a complete run folder. ``str(err)`` is the one message shown to the user."""


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
    from . import plotting  # matplotlib only when a run is written

    created = datetime.now(UTC)
    scenario_dir = Path(out_root) / safe_name(results.scenario.name)
    made_dirs = [d for d in (scenario_dir, *scenario_dir.parents) if not d.exists()]  # deepest first
    scenario_dir.mkdir(parents=True, exist_ok=True)
    final = _new_run_path(scenario_dir, created)
    tmp = scenario_dir / f"{TMP_PREFIX}{final.name}"
    tmp.mkdir()  # fails rather than reuse an existing folder
    try:
        scenario = resolved_scenario(results)
        _write_tables(results, tmp)
        _write_yaml(tmp / SCENARIO_FILE, scenario)
        manifest = build_manifest(results, scenario, created, command, wall_time_s)
        _write_json(tmp / MANIFEST, {**manifest, "complete": False})
        plotting.plot_run(_load(tmp, manifest), tmp / PLOTS_DIR)
        _write_json(tmp / MANIFEST, {**manifest, "complete": True})  # last: the folder is now whole
        if final.exists():  # a clash of second and random id: practically never, but never overwrite
            raise FileExistsError(f"run folder {final} already exists")
        os.rename(tmp, final)
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


def _new_run_path(scenario_dir: Path, created: datetime) -> Path:
    while True:
        path = scenario_dir / f"{created:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        if not path.exists():
            return path


def resolved_scenario(results: Results) -> dict[str, Any]:
    """The scenario as run, as plain data: seed and replicates are the ones actually used, so the
    saved ``scenario.resolved.yaml`` reproduces the run."""
    data = results.scenario.model_dump(mode="json")
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
        "versions": package_versions(),
        "git": git_state(),
        "command": command,
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "created_utc": created.isoformat(timespec="seconds"),
        "files": [*TABLES.values(), SUMMARY_CSV, SUMMARY_JSON, SCENARIO_FILE, PLOTS_DIR + "/"],
    }


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


def _write_yaml(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# -- reading ---------------------------------------------------------------------------------------------


def read_run(path: str | Path) -> RunData:
    """Read a complete run folder; raise :class:`RunFolderError` for anything else."""
    path = Path(path)
    if not path.is_dir():
        raise RunFolderError(f"{path}: not a folder")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise RunFolderError(f"{path}: not a run folder (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: unreadable {MANIFEST} ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("complete") is not True:
        raise RunFolderError(f"{path}: incomplete run folder (the run was interrupted or is being written)")
    if path.name.startswith(TMP_PREFIX):
        raise RunFolderError(f"{path}: a temporary folder, not a finished run")
    return _load(path, manifest)


def _load(path: Path, manifest: dict[str, Any]) -> RunData:
    """The tables of a run folder, without checking that it is complete (the writer uses this)."""
    needed = [*TABLES.values(), SUMMARY_CSV, SCENARIO_FILE]
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        raise RunFolderError(f"{path}: run folder is missing {', '.join(missing)}")
    try:
        tables = {attr: pd.read_csv(path / filename) for attr, filename in TABLES.items()}
        summary = pd.read_csv(path / SUMMARY_CSV, index_col="indicator")
        scenario = yaml.safe_load((path / SCENARIO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise RunFolderError(f"{path}: unreadable run file ({exc})") from None
    return RunData(path=path, scenario=scenario, summary=summary, manifest=manifest, **tables)
