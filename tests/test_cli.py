"""The command line (run.py / simulation.cli), end to end on the tiny scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulation import plotting
from simulation.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def run_folders(out: Path) -> list[Path]:
    return sorted(
        p for p in out.glob("*/*") if p.is_dir() and not p.is_symlink() and p.parent.name != "compare"
    )


def test_run_writes_a_folder_and_prints_a_summary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main([str(TINY), "--out", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    (folder,) = run_folders(out)
    assert folder.parent.name == "tiny"
    assert f"saved: {folder}" in printed
    assert "Gap, true capability (months)" in printed and "[5%, 95%]" in printed
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["replicates"] == 3
    assert "run.py" in manifest["command"] and "--jobs 1" in manifest["command"]
    assert len(list((folder / "plots").glob("*.png"))) == 4


@pytest.fixture
def no_plots(monkeypatch):
    """Skip the figures where a test is about the tables (the figures have their own tests)."""
    monkeypatch.setattr(plotting, "plot_run", lambda run, out_dir: [])


def test_same_seed_same_bytes_serial_or_parallel(tmp_path: Path, no_plots) -> None:
    common = ["tiny", "--replicates", "2", "--months", "6", "--seed", "7", "--out"]
    assert main([*common, str(tmp_path / "a"), "--jobs", "1"]) == 0
    assert main([*common, str(tmp_path / "b"), "--jobs", "2"]) == 0
    (a,), (b,) = run_folders(tmp_path / "a"), run_folders(tmp_path / "b")
    for name in ("timeseries.csv", "labs.csv", "draws.csv", "summary.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["months"] == 6 and manifest["replicates"] == 2


def test_several_scenarios_share_seeds(tmp_path: Path, no_plots) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("extends: tiny\nname: tiny_other\nseed: 99\n")
    out = tmp_path / "out"
    argv = [str(TINY), str(other), "--replicates", "2", "--months", "6", "--out", str(out), "--jobs", "1"]
    assert main(argv) == 0
    manifests = [json.loads((f / "manifest.json").read_text()) for f in run_folders(out)]
    assert sorted(m["scenario"]["name"] for m in manifests) == ["tiny", "tiny_other"]
    assert len({m["seed"] for m in manifests}) == 1
    seeds = [[d["model_seed"] for d in m["replicate_draws"]] for m in manifests]
    assert seeds[0] == seeds[1]


BAD_FILES = {
    "unknown_key.yaml": "extends: baseline\nname: bad\nmonthz: 12\n",
    "malformed.yaml": "extends: baseline\nname: [unclosed\n",
    "missing_extends.yaml": "extends: no_such_parent.yaml\nname: bad\n",
    "empty.yaml": "",
}


@pytest.mark.parametrize("filename", sorted(BAD_FILES))
def test_bad_file_exit_2_names_the_file_writes_nothing(tmp_path: Path, capsys, filename: str) -> None:
    bad = tmp_path / filename
    bad.write_text(BAD_FILES[filename])
    out = tmp_path / "out"
    assert main([str(TINY), str(bad), "--out", str(out), "--jobs", "1"]) == 2  # tiny is not run either
    err = capsys.readouterr().err
    assert filename in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_file_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "unknown_key.yaml"
    bad.write_text(BAD_FILES["unknown_key.yaml"])
    done = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), str(bad), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "unknown_key.yaml" in done.stderr and "monthz" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_override_names_the_option(tmp_path: Path, capsys) -> None:
    assert main(["tiny", "--adopters", "5", "--check"]) == 2
    err = capsys.readouterr().err
    assert "tiny.yaml" in err and "--adopters" in err


def test_check_validates_without_importing_mesa(tmp_path: Path) -> None:
    code = (
        "import sys; from simulation.cli import main; "
        f"code = main(['--check', {str(TINY)!r}, 'baseline']); "
        "print(code, 'mesa' in sys.modules, 'matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"ok: {TINY} (tiny)"
    assert lines[1] == "ok: baseline (baseline)"
    assert lines[-1] == "0 False False"
    assert not (tmp_path / "outputs").exists()


def test_list_shows_shipped_scenarios(capsys) -> None:
    assert main(["--list"]) == 0
    printed = capsys.readouterr().out
    tiny_line = next(line for line in printed.splitlines() if line.split()[:1] == ["tiny"])
    assert "300 adopters" in tiny_line  # its description
    assert "baseline" in printed


def test_ctrl_c_exits_130_and_leaves_no_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(plotting, "plot_run", interrupted)
    out = tmp_path / "out"
    assert main(["tiny", "--replicates", "2", "--months", "6", "--out", str(out), "--jobs", "1"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("command", ["compare", "sweep", "dashboard"])
def test_subcommands_are_dispatched(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    assert command in capsys.readouterr().out


def test_usage_errors_exit_2(capsys) -> None:
    assert main([]) == 2
    assert main(["tiny", "--replicates", "0"]) == 2
    assert main(["tiny", "--jobs", "many"]) == 2
    assert main(["--help"]) == 0


def test_unusable_out_folder_is_refused_before_running(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["tiny", "--out", str(blocker / "out")]) == 2
    assert "is not a folder" in capsys.readouterr().err
