"""What you set is what runs, and no file, folder or signal makes a sweep lie, hang or leak: one sweep per
folder, names that stay under the output root, damaged parts set aside and rerun, failed runs retried (exit
status 1), workers that die with the sweep, the documented Dask configuration, and the SALib recipe.

Sweeps here run in this process (``workers=1``) or in fresh interpreters (``subprocess``), never in forked
workers: this file runs after ``test_sweep.py``, whose Dask test leaves threads behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import wait_for_exit, wait_for_first_exit
from pandas.testing import assert_frame_equal

from simulation.sweep import SweepError, SweepResult, load_sweep, sweep
from simulation.sweep import task as task_module
from simulation.sweep.cli import main
from simulation.sweep.spec import name_problem, parse_spec, safe_name
from simulation.sweep.storage import LOCK, lock_folder

ROOT = Path(__file__).resolve().parents[1]
# 4 * (2 + 2) Sobol' samples of 3 months: 16 runs, about 1 s in this process.
SPEC = {
    "base": "tiny",
    "parameters": {"world.eci_per_decade_compute": (3.0, 9.0), "blocs.china.capital_multiplier": (0.2, 2.0)},
    "sampler": "sobol",
    "n": 4,
    "months": 3,
    "outcomes": ["gap_months_true_mean", "gap_months_true"],
    "seed": 11,
}
TOTAL = 16
SPEC_YAML = """\
base: tiny
sampler: sobol
n: 4
months: 3
seed: 11
outcomes: [gap_months_true_mean, gap_months_true]
parameters:
  world.eci_per_decade_compute: {low: 3.0, high: 9.0}
  blocs.china.capital_multiplier: {low: 0.2, high: 2.0}
"""


def assert_same(a: SweepResult, b: SweepResult) -> None:
    assert_frame_equal(a.runs, b.runs)
    assert_frame_equal(a.series, b.series)


def wait_for(condition, timeout: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> SweepResult:
    """The sweep run uninterrupted, saved in a folder."""
    return sweep(**SPEC, workers=1, out=tmp_path_factory.mktemp("reference") / "sweep", progress=False)


# 1. One sweep per folder ----------------------------------------------------------------------------------


def test_a_folder_held_by_another_sweep_is_refused_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    with lock_folder(out):  # as another sweep would hold it (flock: also within one process)
        with pytest.raises(SweepError, match="is in use by another sweep") as info:
            sweep(**SPEC, workers=1, out=out, progress=False)
        assert str(out) in str(info.value) and f"(process {os.getpid()})" in str(info.value)
        assert [p.name for p in out.iterdir()] == [LOCK]
    assert not any(p.name == "manifest.json" for p in out.iterdir())


RACER = """\
import sys
from simulation.sweep import task
real, released = task.run_replicate, []

def held(spec):  # a sweep that has started runs holds its folder until the test says go (a line on stdin)
    if not released:
        released.append(sys.stdin.readline())
    return real(spec)

task.run_replicate = held
from simulation.sweep.cli import main
sys.exit(main([sys.argv[1], "--out", sys.argv[2], "--workers", "1", "--no-plots"]))
"""


def test_two_sweeps_into_one_new_folder_one_runs_and_the_other_is_refused(tmp_path: Path) -> None:
    """Two different sweeps started at once into the same new folder: exactly one writes it (its manifest
    matches its rows), the other exits 2 with one message naming the folder."""
    out = tmp_path / "shared"
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    values = {"a": [4.0, 8.0], "b": [5.0, 7.0]}
    procs = {}
    for key, vals in values.items():
        spec = tmp_path / f"{key}.yaml"
        spec.write_text(
            f"base: tiny\nsampler: grid\nmonths: 2\nparameters:\n  world.eci_per_decade_compute: {{values: {vals}}}\n"
            "outcomes: [gap_months_true_mean]\n"
        )
        procs[key] = subprocess.Popen(
            [sys.executable, str(script), str(spec), str(out)],
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        # the refused one exits at once; the one holding the folder waits for a line on its stdin
        first = wait_for_first_exit([p.pid for p in procs.values()], 60)
        assert first is not None, "neither sweep was refused"
        results = {}
        for key, p in procs.items():  # release the holder (the refused one's closed stdin is ignored)
            stdout, stderr = p.communicate("go\n", timeout=60)
            results[key] = (p.returncode, stdout, stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 2], results
    winner = next(key for key, (code, _, _) in results.items() if code == 0)
    loser = next(key for key in results if key != winner)
    err = results[loser][2].strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert (
        err.startswith(f"run.py sweep: {out}") and "is in use by another sweep" in err
    )  # "(process N)" when its pid was written by then
    res = load_sweep(out)
    assert res.manifest["spec"]["parameters"]["world.eci_per_decade_compute"]["values"] == values[winner]
    assert res.runs["world.eci_per_decade_compute"].tolist() == values[winner]
    assert [s["world.eci_per_decade_compute"] for s in res.manifest["samples"]] == values[winner]
    assert (res.runs["status"] == "ok").all() and len(res.runs) == res.manifest["total_runs"] == 2


# 2. Names stay under the output root ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../../x", "is a path"),
        ("/tmp/x", "is a path"),
        ("a/b", "is a path"),
        ("a\\b", "is a path"),
        ("", "is empty"),
        ("x" * 101, "is 101 characters long; keep it to 100"),
        ("..", "starts with '.'"),
        (".", "starts with '.'"),
        ("a b", "holds ' '"),
        ("a\x00b", "use letters, digits"),
        ("C:x", "holds ':'"),
    ],
)
def test_a_name_that_is_not_one_folder_name_is_refused(name: str, problem: str) -> None:
    with pytest.raises(SweepError) as info:
        parse_spec({**SPEC, "name": name})
    assert info.value.key_path == "name" and problem in str(info.value)


def test_cli_refuses_a_name_escaping_the_output_root_and_writes_nothing(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "bad.yaml").write_text("name: ../../../escaped\n" + SPEC_YAML)
    monkeypatch.chdir(work)
    assert main(["bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml at name: '../../../escaped' is a path" in err and "Traceback" not in err
    assert sorted(p.name for p in work.iterdir()) == ["bad.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # outputs/sweeps/../../../ = tmp_path


def test_default_names_from_files_and_scenarios_are_made_valid() -> None:
    for text in ("my scenario (v2)", "../x", "", "..", "a/b\\c", "é" * 150):
        assert name_problem(safe_name(text)) is None, text
    assert safe_name("my scenario (v2)") == "my_scenario_v2" and safe_name("ban_threshold") == "ban_threshold"


# 3. Damaged parts are set aside and rerun ------------------------------------------------------------------


def test_resume_sets_damaged_parts_aside_and_ends_with_the_uninterrupted_table(
    tmp_path: Path, reference: SweepResult
) -> None:
    out = tmp_path / "sweep"
    shutil.copytree(reference.path, out)
    runs_dir, series_dir = out / "parts" / "runs", out / "parts" / "series"
    cut = runs_dir / "run-000000.parquet"  # a copy cut short
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    hit = series_dir / "run-000005.parquet"  # bytes overwritten (past the 'PAR1' magic: a page)
    data = bytearray(hit.read_bytes())
    data[4:20] = b"\xff" * 16
    hit.write_bytes(bytes(data))
    (series_dir / "run-000009.parquet").write_bytes(b"")  # empty
    shutil.copy(runs_dir / "run-000014.parquet", runs_dir / "run-000015.parquet")  # whole, but not its run
    (out / "runs.parquet").write_bytes(b"garbage")  # the final table too
    damaged = ["runs/run-000000.parquet", "series/run-000005.parquet", "series/run-000009.parquet"]
    damaged.append("runs/run-000015.parquet")

    with pytest.warns(RuntimeWarning, match=r"4 damaged part file\(s\) .* set aside as \*\.corrupt"):
        resumed = sweep(**SPEC, workers=1, out=out, resume=True, progress=False)
    assert_same(reference, resumed)
    assert_same(reference, load_sweep(out))
    session = resumed.manifest["last_session"]
    assert session["runs"] == 4 and sorted(session["parts_set_aside"]) == sorted(
        f"parts/{d}.corrupt" for d in damaged
    )
    for d in damaged:  # kept for inspection
        assert (out / "parts" / f"{d}.corrupt").exists()
    again = sweep(**SPEC, workers=1, out=out, resume=True, progress=False)  # nothing left to do
    assert again.manifest["last_session"]["runs"] == 0


def test_a_damaged_manifest_is_refused_with_its_name(tmp_path: Path, reference: SweepResult) -> None:
    out = tmp_path / "sweep"
    shutil.copytree(reference.path, out)
    (out / "manifest.json").write_text('{"fingerprint": ')
    with pytest.raises(SweepError, match="manifest.json: cannot be read"):
        sweep(**SPEC, workers=1, out=out, resume=True, progress=False)
    with pytest.raises(SweepError, match="manifest.json: cannot be read"):
        load_sweep(out)


# 4. Failed runs: exit status 1, and --resume runs them again ---------------------------------------------


def test_failed_runs_exit_1_and_resume_retries_them_to_the_clean_table(
    tmp_path: Path, reference: SweepResult, monkeypatch, capsys
) -> None:
    real = task_module.run_replicate

    def flaky(spec):  # as runs lost with a killed worker
        if spec.spawn_key[0] in (3, 10):
            raise RuntimeError("worker lost")
        return real(spec)

    spec, out = tmp_path / "s.yaml", tmp_path / "out"
    spec.write_text(SPEC_YAML)
    command = [str(spec), "--out", str(out), "--workers", "1", "--no-plots"]
    monkeypatch.setattr(task_module, "run_replicate", flaky)
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "2 of 16 runs failed" in err and "to run them again: the same command with --resume" in err
    assert json.loads((out / "manifest.json").read_text())["runs_failed"] == 2

    assert main([*command, "--resume"]) == 1  # still failing: status 1 again
    assert "to run them again: the same command\n" in capsys.readouterr().err

    monkeypatch.setattr(task_module, "run_replicate", real)
    assert main([*command, "--resume"]) == 0
    assert "16 runs (0 failed)" in capsys.readouterr().out
    resumed = load_sweep(out)
    assert_same(reference, resumed)
    assert resumed.manifest["last_session"]["runs"] == 2
    assert resumed.manifest["last_session"]["retried_failed"] == 2
    assert resumed.manifest["runs_failed"] == 0


def test_cli_help_documents_the_exit_statuses(capsys) -> None:
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "1 done, but some runs failed" in text and "--resume" in text


# 5. Workers die with the sweep ------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[3])


def _session(sid: int) -> list[int]:
    """Living processes (not zombies) of a session: the sweep started as its leader and all it started."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    return [p for p in pids if (st := _stat(p)) is not None and st[1] == sid and st[0] not in "ZX"]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


LONG_SPEC = """\
base: tiny
sampler: grid
n: 2000
months: 3
parameters:
  world.eci_per_decade_compute: {low: 3.0, high: 9.0}
outcomes: [gap_months_true_mean]
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree in /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_local_worker_outlives_a_killed_sweep(tmp_path: Path, sig: signal.Signals) -> None:
    """The sweep runs as the leader of a new session: every process it starts (workers, Dask's and
    multiprocessing's helpers) is in that session, and none may be left once the sweep is killed."""
    spec, out, log = tmp_path / "long.yaml", tmp_path / "out", tmp_path / "stderr.txt"
    spec.write_text(LONG_SPEC)
    command = [sys.executable, str(ROOT / "run.py"), "sweep", str(spec), "--out", str(out)]
    command += ["--workers", "2", "--no-plots"]
    with log.open("w") as err:
        proc = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
    runs_dir = out / "parts" / "runs"
    try:
        # running: its workers exist and a run is saved (so the workers are past their set-up)
        wait_for(
            lambda: (
                proc.poll() is not None
                or (len(_session(proc.pid)) >= 3 and runs_dir.is_dir() and any(runs_dir.iterdir()))
            ),
            60,
            "the sweep's workers to run",
        )
        assert proc.poll() is None, log.read_text()
        _kill_and_expect_no_process_left(proc, sig)
    finally:
        _clean_up(proc)


def _kill_and_expect_no_process_left(proc: subprocess.Popen, sig: signal.Signals) -> None:
    """Kill the sweep and wait, on each process's exit notification (pidfd), for its whole session to go:
    any process still in the session 5 s later is a leak."""
    assert len(_session(proc.pid)) >= 3, "the sweep and at least two workers"
    os.kill(proc.pid, sig)
    assert wait_for_exit([proc.pid], 10) == [], "the sweep did not exit"
    proc.wait()
    deadline = time.monotonic() + 5
    left = _session(proc.pid)
    while left and time.monotonic() < deadline:  # a process may start another while dying: look again
        wait_for_exit(left, deadline - time.monotonic())
        left = _session(proc.pid)
    assert not left, f"left running: {[_cmdline(p) for p in left]}"


def _clean_up(proc: subprocess.Popen) -> None:
    for pid in _session(proc.pid):  # only what this test started, by pid
        os.kill(pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


HOG = """\
import os, sys
from pathlib import Path
from simulation.sweep.executors import open_executor

def hog(folder):
    Path(folder, f"busy-{os.getpid()}").touch()
    return sum(range(10**12))  # hours in C holding the GIL: no thread of this worker runs until it ends

if __name__ == "__main__":
    with open_executor("dask", 2) as (pool, slots):  # the LocalCluster a sweep starts
        futures = [pool.submit(hog, sys.argv[1]) for _ in range(2)]
        futures[0].result()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree in /proc")
def test_busy_dask_workers_die_with_the_sweep(tmp_path: Path) -> None:
    """The workers of the sweep's LocalCluster, each busy in a task that holds the GIL (so Dask's own watch
    of the parent, a thread, never runs), are gone within seconds of a SIGTERM to the sweep: the kernel
    kills them (the preload's PR_SET_PDEATHSIG)."""
    script, log = tmp_path / "hog.py", tmp_path / "stderr.txt"
    script.write_text(HOG)
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: proc.poll() is not None or len(list(tmp_path.glob("busy-*"))) >= 2,
            60,
            "both Dask workers to be busy",
        )
        assert proc.poll() is None, log.read_text()
        _kill_and_expect_no_process_left(proc, signal.SIGTERM)
    finally:
        _clean_up(proc)


# 6. The documented Dask configuration does what it says -----------------------------------------------------


def _docs_dask_config() -> dict:
    page = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", page, re.S) if "pre-spawn-environ" in b]
    assert len(blocks) == 1, "docs/sweeps.md: one yaml block with the workers' Dask configuration"
    return yaml.safe_load(blocks[0])


def _leaves(tree: dict, prefix: str = "") -> dict:
    """``{"distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1, ...}``: setting each leaf merges the
    file into Dask's defaults as Dask merges a config file."""
    out = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out.update(_leaves(value, path + ".") if isinstance(value, dict) else {path: value})
    return out


def _nanny_environment() -> tuple[dict, dict]:
    from distributed import Nanny

    nanny = Nanny("tcp://127.0.0.1:1", nthreads=1)  # built, never started: no thread, no process
    return nanny.pre_spawn_env, nanny.env


def test_the_documented_dask_config_removes_malloc_trim_threshold(monkeypatch) -> None:
    import dask

    from simulation.sweep.executors import PRE_SPAWN_ENVIRON, WORKER_CONFIG, dask_settings

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    pre_spawn, _ = _nanny_environment()
    assert "MALLOC_TRIM_THRESHOLD_" in pre_spawn  # Dask's default: what the configuration must remove

    leaves = _leaves(_docs_dask_config())
    with dask.config.set(leaves):
        pre_spawn, env = _nanny_environment()
        assert dask.config.get("distributed.worker.profile.enabled") is False
    assert "MALLOC_TRIM_THRESHOLD_" not in pre_spawn and "MALLOC_TRIM_THRESHOLD_" not in env
    assert {
        k: pre_spawn[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    } == dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), "1")

    # the same as the LocalCluster a sweep starts, whose settings pass the same check
    prefix = "distributed.nanny.pre-spawn-environ."
    assert {k.removeprefix(prefix): v for k, v in leaves.items() if k.startswith(prefix)} == PRE_SPAWN_ENVIRON
    for key, value in WORKER_CONFIG.items():
        assert leaves[key] == value, key
    with dask.config.set(dask_settings()):
        pre_spawn, env = _nanny_environment()
    assert "MALLOC_TRIM_THRESHOLD_" not in pre_spawn and "MALLOC_TRIM_THRESHOLD_" not in env


# 7. The SALib recipe in docs/sweeps.md reads the sweep's own files -------------------------------------------


def test_the_documented_salib_recipe_gives_the_sweeps_indices(reference: SweepResult, capsys) -> None:
    page = (ROOT / "docs" / "sweeps.md").read_text(encoding="utf-8")
    section = page.split("## Reading a Sobol' sweep with SALib", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1).replace('"outputs/sweeps/funding_sensitivity"', repr(str(reference.path)))
    namespace: dict = {}
    exec(compile(source, "docs/sweeps.md", "exec"), namespace)  # noqa: S102 - the documented recipe
    capsys.readouterr()
    ours = reference.indices("gap_months_true_mean").set_index("parameter")
    si = namespace["si"]
    assert len(namespace["y"]) == TOTAL == reference.spec.n * (len(SPEC["parameters"]) + 2)
    assert list(si["S1"]) == pytest.approx(list(ours["S1"]))
    assert list(si["ST"]) == pytest.approx(list(ours["ST"]))


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\xff\xfe" * 50,
        "name: caf\xe9\n".encode("latin-1"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                for i in range(9)
            )
        ).encode(),
        ("p: " + "[" * 400 + "]" * 400 + "\n").encode(),
    ],
    ids=["binary", "latin1", "alias-bomb", "deep"],
)
def test_hostile_spec_files_are_refused(tmp_path, content, capsys):
    """A binary, non-UTF-8, alias-bomb or deeply nested spec: exit 2, one line, no traceback, fast."""
    import time

    from simulation.cli import main

    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    started = time.monotonic()
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().count("\n") == 0 and "spec.yaml" in err, err
    assert not (tmp_path / "out").exists()


def test_a_spec_that_is_a_fifo_is_refused(tmp_path, capsys):
    import os

    from simulation.cli import main

    os.mkfifo(tmp_path / "spec.yaml")
    assert main(["sweep", str(tmp_path / "spec.yaml")]) == 2
    assert "not a regular file" in capsys.readouterr().err
