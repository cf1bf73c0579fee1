"""A sweep's output folder: every finished run saved at once, so nothing is lost and a sweep can resume.

::

    manifest.json               spec, sampler, parameter ranges, samples, design, versions, fingerprint
    .sweep.lock                 held (flock) by the one sweep writing the folder; holds its pid
    parts/runs/run-000123.parquet    one row of the runs table per finished run (ok or error)
    parts/series/run-000123.parquet  that run's monthly series (written first; ok runs only)
    runs.parquet, series.parquet     the whole tables, written when the sweep completes

One sweep at a time writes a folder: :meth:`SweepStore.open` takes an exclusive, non-blocking lock on
``.sweep.lock`` before it looks at the folder and keeps it until the sweep's last write; a second sweep
into the same folder is refused at once (the kernel drops the lock when its holder dies, so a killed sweep
never leaves the folder locked). Every file is written under a ``.tmp-`` name and renamed into place, with
Parquet page checksums and a digest of its content; a resume reads every part back, and a part that does
not read back whole (a damaged disk, a copy cut short) is set aside as ``*.corrupt`` and its run runs
again. A run counts as done when its row part reads back (and, for a run that succeeded, its series part).
Tables have a fixed Arrow schema, so parts of successful and failed runs read back into one table with the
same types on any executor.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .spec import SweepError

if TYPE_CHECKING:
    import pyarrow as pa

    from .plan import Plan
    from .task import RunOutput

try:
    import fcntl
except ImportError:  # Windows: no flock; a folder is then not locked
    fcntl = None  # type: ignore[assignment]

MANIFEST, RUNS_FILE, SERIES_FILE = "manifest.json", "runs.parquet", "series.parquet"
LOCK = ".sweep.lock"
TMP_PREFIX = ".tmp-"
CORRUPT = ".corrupt"
DIGEST_KEY = b"sweep.sha256"  # Parquet key-value metadata: digest of the part's content
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


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest; SweepError when it is missing or unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(folder, "", "holds no sweep (no manifest.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SweepError(folder, MANIFEST, f"cannot be read ({exc}); choose another output folder") from None
    if not isinstance(data, dict):
        raise SweepError(folder, MANIFEST, "is not a sweep manifest; choose another output folder")
    return data


# File descriptors of the locks this process holds: closed in forked children (a worker must not keep a
# lock alive after its parent is gone). Never unlocked there: flock(LOCK_UN) would release the parent's.
_HELD: set[int] = set()


def _close_held_locks() -> None:
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_locks)


@contextlib.contextmanager
def lock_folder(folder: str | Path) -> Iterator[Path]:
    """Hold ``folder`` (created if missing) exclusively for this sweep; SweepError at once if another sweep
    holds it. The lock file stays (removing it would race with a sweep about to lock it)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise SweepError(path, "", "is a file, not a folder; choose another output folder")
    if (
        path.is_dir()
        and not (path / MANIFEST).exists()
        and not (path / LOCK).exists()
        and any(path.iterdir())
    ):  # nobody's sweep: leave no lock file in it
        raise SweepError(path, "", "is not empty and holds no sweep; choose another output folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SweepError(path, "", f"cannot be used as a sweep folder: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f" (process {holder})" if holder.isdigit() else ""
                raise SweepError(
                    path,
                    "",
                    f"is in use by another sweep{who}; wait for it to finish, or choose another output "
                    "folder",
                ) from None
            except OSError as exc:
                raise SweepError(path, "", f"cannot be locked: {exc.strerror or exc}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD.add(fd)
        try:
            yield path
        finally:
            _HELD.discard(fd)
    finally:
        os.close(fd)  # releases the lock


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=repr) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class SweepStore:
    """The output folder of one sweep, held exclusively while open: open it (new, or resumed after a check
    of every saved part), add finished runs, read the tables, close it. Use it as a context manager."""

    def __init__(self, path: Path, plan: Plan):
        self.path = Path(path)
        self.runs_dir = self.path / "parts" / "runs"
        self.series_dir = self.path / "parts" / "series"
        self.run_schema = run_schema(plan)
        self.series_schema = series_schema(plan)
        self.total = plan.total
        self.saved: dict[int, str] = {}  # run -> status of the runs whose parts read back whole
        self.set_aside: list[Path] = []  # parts that did not, renamed to *.corrupt this session
        self._lock: contextlib.ExitStack | None = None

    @classmethod
    def open(cls, path: str | Path, plan: Plan, resume: bool) -> SweepStore:
        """A new sweep folder, or (``resume``) the folder of the same sweep left unfinished; the folder is
        locked from before it is looked at until :meth:`close`."""
        store = cls(Path(path), plan)
        store._lock = contextlib.ExitStack()
        store._lock.enter_context(lock_folder(store.path))
        try:
            store._prepare(plan, resume)
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self, plan: Plan, resume: bool) -> None:
        manifest_path = self.path / MANIFEST
        if manifest_path.exists():
            if not resume:
                raise SweepError(
                    self.path,
                    "",
                    "already holds a sweep; resume it (resume=True, --resume) or choose "
                    "another output folder",
                )
            old = read_manifest(self.path)
            if old.get("fingerprint") != plan.fingerprint():
                raise SweepError(
                    self.path,
                    "",
                    "holds a different sweep (its spec, base scenario or samples differ); "
                    "choose another output folder",
                )
        elif any(f.name != LOCK for f in self.path.iterdir()):
            raise SweepError(self.path, "", "is not empty and holds no sweep; choose another output folder")
        else:
            write_json(manifest_path, build_manifest(plan))
        for folder in (self.runs_dir, self.series_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob(f"{TMP_PREFIX}*"):
                stale.unlink(missing_ok=True)
        self._check_parts()

    def close(self) -> None:
        """Release the folder."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_parts(self) -> None:
        """Read every saved part back; record each whole run's status in ``saved`` and set aside (rename to
        ``*.corrupt``) any part that is unreadable, damaged or not this run's, so that its run runs again."""
        self.saved = {}
        for name in sorted(os.listdir(self.runs_dir)):
            if not (m := PART.match(name)):
                continue
            run = int(m.group(1))
            row_part = self.runs_dir / name
            try:
                table = read_part(row_part, self.run_schema)
                if run >= self.total or table.num_rows != 1 or table["run"][0].as_py() != run:
                    raise ValueError(f"not the row of run {run}")
            except Exception:  # noqa: BLE001 - whatever the damage, the run runs again
                self._set_aside(row_part)
                continue
            status = table["status"][0].as_py()
            if status == "ok":
                series_part = self.series_dir / name
                if not series_part.exists():
                    continue  # its row without its series: run it again
                try:
                    series = read_part(series_part, self.series_schema)
                    if series.num_rows == 0 or set(series["run"].to_pylist()) != {run}:
                        raise ValueError(f"not the series of run {run}")
                except Exception:  # noqa: BLE001
                    self._set_aside(series_part)
                    continue
            self.saved[run] = status

    def _set_aside(self, part: Path) -> None:
        target = part.with_name(part.name + CORRUPT)
        i = 1
        while target.exists():
            target, i = part.with_name(f"{part.name}{CORRUPT}-{i}"), i + 1
        os.replace(part, target)
        self.set_aside.append(target)

    def done(self) -> set[int]:
        """Runs saved whole with status ok (a resume runs every other run: missing, failed or set aside)."""
        return {run for run, status in self.saved.items() if status == "ok"}

    def mark_incomplete(self) -> None:
        """Runs are about to be (re)run: until they are saved, the folder is not a finished sweep."""
        manifest = read_manifest(self.path)
        if manifest.get("complete"):
            manifest["complete"] = False
            write_json(self.path / MANIFEST, manifest)

    def add(self, output: RunOutput) -> None:
        """Save one finished run: its series first, then its row (which marks it done)."""
        import pyarrow as pa

        name = f"run-{int(output.row['run']):06d}.parquet"
        if output.series is not None:
            table = pa.Table.from_pandas(output.series, schema=self.series_schema, preserve_index=False)
            _write_parquet(table, self.series_dir / name)
        else:  # a failed run has no series, also when an earlier attempt left one
            (self.series_dir / name).unlink(missing_ok=True)
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
        manifest = read_manifest(self.path)
        manifest.update(extra, complete=True)
        write_json(self.path / MANIFEST, manifest)


def content_digest(table: pa.Table) -> str:
    """A digest of a table's values (not of its bytes), stored in each part to check it reads back whole:
    numbers without nulls by their bytes, anything else by its Python values."""
    import numpy as np
    import pyarrow as pa

    h = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        h.update(f"{name}:{column.type}:{len(column)}:".encode())
        if column.null_count == 0 and (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            h.update(np.ascontiguousarray(column.to_numpy()).tobytes())
        else:
            h.update(json.dumps(column.to_pylist(), default=str).encode())
    return h.hexdigest()[:32]


def _write_parquet(table: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    meta = dict(table.schema.metadata or {})
    meta[DIGEST_KEY] = content_digest(table).encode()
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    pq.write_table(table.replace_schema_metadata(meta), tmp, write_page_checksum=True)
    os.replace(tmp, path)


def read_part(path: Path, schema: pa.Schema) -> pa.Table:
    """One part, checked: its page checksums, its columns, and the digest of its values (when it has one:
    parts written before digests are taken as they read). Raises on any damage."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path, page_checksum_verification=True) as part:
        table = part.read()
    stored = (table.schema.metadata or {}).get(DIGEST_KEY)
    if table.schema.names != schema.names:
        raise ValueError(f"{path.name}: columns {table.schema.names}, expected {schema.names}")
    table = table.cast(schema)
    if stored is not None and stored.decode("ascii", "replace") != content_digest(table):
        raise ValueError(f"{path.name}: its values do not match their digest")
    return table


def _read_parts(folder: Path, schema: pa.Schema) -> pd.DataFrame:
    """All parts of a folder as one table, sorted by run (and tick)."""
    import pyarrow as pa

    files = sorted(folder / f for f in os.listdir(folder) if PART.match(f))
    tables: Iterable[pa.Table] = (read_part(f, schema) for f in files)
    table = pa.concat_tables(tables) if files else schema.empty_table()
    return sort_table(table.to_pandas())


def sort_table(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in ("run", "tick") if k in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def read_table(path: Path, name: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return sort_table(pq.read_table(path / name).to_pandas())
