"""A sweep's output folder: every finished run saved at once, so nothing is lost and a sweep can resume.

::

    manifest.json               spec, sampler, parameter ranges, samples, design, versions, fingerprint
    parts/runs/run-000123.parquet    one row of the runs table per finished run (ok or error)
    parts/series/run-000123.parquet  that run's monthly series (written first; ok runs only)
    runs.parquet, series.parquet     the whole tables, written when the sweep completes

Every file is written under a ``.tmp-`` name and renamed into place, so a part that exists is whole;
a run counts as done when its row part exists. Tables have a fixed Arrow schema, so parts of successful
and failed runs read back into one table with the same types on any executor.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .spec import SweepError

if TYPE_CHECKING:
    import pyarrow as pa

    from .plan import Plan
    from .task import RunOutput

MANIFEST, RUNS_FILE, SERIES_FILE = "manifest.json", "runs.parquet", "series.parquet"
TMP_PREFIX = ".tmp-"
PART = re.compile(r"^run-(\d+)\.parquet$")
EXTRA_PACKAGES = {"SALib": "SALib", "pyarrow": "pyarrow", "dask": "dask", "distributed": "distributed"}


def run_schema(plan: Plan) -> pa.Schema:
    import pyarrow as pa

    types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}
    fields = [pa.field(c, pa.int64()) for c in ("run", "sample", "replicate")]
    fields += [pa.field(p, types[k]) for p, k in plan.kinds.items()]
    fields += [pa.field("seed", pa.int64()), pa.field("status", pa.string()), pa.field("error", pa.string())]
    fields += [pa.field(o, pa.float64()) for o in plan.scalars]
    return pa.schema(fields)


def series_schema(plan: Plan) -> pa.Schema:
    import pyarrow as pa

    fields = [pa.field("run", pa.int64()), pa.field("tick", pa.int64()), pa.field("date", pa.string())]
    return pa.schema(fields + [pa.field(m, pa.float64()) for m in plan.series])


def versions() -> dict[str, str | None]:
    from ..outputs import package_versions

    return package_versions(EXTRA_PACKAGES)


def build_manifest(plan: Plan) -> dict[str, Any]:
    """What the sweep is, in full: enough to read its tables back and to analyse them."""
    from ..outputs import git_state
    from .samplers import problem

    spec = plan.spec
    return {
        "format": 1,
        "kind": "sweep",
        "name": spec.name,
        "fingerprint": plan.fingerprint(),
        "spec": spec.model_dump(mode="json"),
        "sampler": spec.sampler,
        "parameters": {
            path: {**p.model_dump(mode="json"), "kind": plan.kinds[path]}
            for path, p in spec.parameters.items()
        },
        "problem": problem(spec) if spec.sampler != "grid" else None,
        "outcomes": {"scalars": plan.scalars, "series": plan.series},
        "samples": plan.samples,
        "design": None if plan.design is None else plan.design.tolist(),
        "total_runs": plan.total,
        "scenario": plan.scenario.model_dump(mode="json"),
        "versions": versions(),
        "git": git_state(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": False,
    }


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=repr) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class SweepStore:
    """The output folder of one sweep: open (new or resumed), add finished runs, read the tables."""

    def __init__(self, path: Path, plan: Plan):
        self.path = Path(path)
        self.runs_dir = self.path / "parts" / "runs"
        self.series_dir = self.path / "parts" / "series"
        self.run_schema = run_schema(plan)
        self.series_schema = series_schema(plan)

    @classmethod
    def open(cls, path: str | Path, plan: Plan, resume: bool) -> SweepStore:
        """A new sweep folder, or (``resume``) the folder of the same sweep left unfinished."""
        store = cls(Path(path), plan)
        manifest_path = store.path / MANIFEST
        if manifest_path.exists():
            if not resume:
                raise SweepError(
                    store.path,
                    "",
                    "already holds a sweep; resume it (resume=True, --resume) or choose "
                    "another output folder",
                )
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            if old.get("fingerprint") != plan.fingerprint():
                raise SweepError(
                    store.path,
                    "",
                    "holds a different sweep (its spec, base scenario or samples differ); "
                    "choose another output folder",
                )
        elif store.path.exists() and any(store.path.iterdir()):
            raise SweepError(store.path, "", "is not empty and holds no sweep; choose another output folder")
        else:
            store.path.mkdir(parents=True, exist_ok=True)
            write_json(manifest_path, build_manifest(plan))
        for folder in (store.runs_dir, store.series_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob(f"{TMP_PREFIX}*"):
                stale.unlink(missing_ok=True)
        return store

    def done(self) -> set[int]:
        """Indices of the runs already saved."""
        return {int(m.group(1)) for f in os.listdir(self.runs_dir) if (m := PART.match(f))}

    def add(self, output: RunOutput) -> None:
        """Save one finished run: its series first, then its row (which marks it done)."""
        import pyarrow as pa

        name = f"run-{int(output.row['run']):06d}.parquet"
        if output.series is not None:
            table = pa.Table.from_pandas(output.series, schema=self.series_schema, preserve_index=False)
            _write_parquet(table, self.series_dir / name)
        _write_parquet(pa.Table.from_pylist([output.row], schema=self.run_schema), self.runs_dir / name)

    def read_runs(self) -> pd.DataFrame:
        return _read_parts(self.runs_dir, self.run_schema)

    def read_series(self) -> pd.DataFrame:
        return _read_parts(self.series_dir, self.series_schema)

    def finish(self, runs: pd.DataFrame, series: pd.DataFrame, extra: dict[str, Any]) -> None:
        """Write the whole tables and mark the manifest complete."""
        import pyarrow as pa

        _write_parquet(
            pa.Table.from_pandas(runs, schema=self.run_schema, preserve_index=False), self.path / RUNS_FILE
        )
        _write_parquet(
            pa.Table.from_pandas(series, schema=self.series_schema, preserve_index=False),
            self.path / SERIES_FILE,
        )
        manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        manifest.update(extra, complete=True)
        write_json(self.path / MANIFEST, manifest)


def _write_parquet(table: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _read_parts(folder: Path, schema: pa.Schema) -> pd.DataFrame:
    """All parts of a folder as one table, sorted by run (and tick)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder / f for f in os.listdir(folder) if PART.match(f))
    tables: Iterable[pa.Table] = (pq.read_table(f, schema=schema) for f in files)
    table = pa.concat_tables(tables) if files else schema.empty_table()
    return sort_table(table.to_pandas())


def sort_table(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in ("run", "tick") if k in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def read_table(path: Path, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return sort_table(pq.read_table(path / name).to_pandas())
