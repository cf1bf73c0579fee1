"""Finding runs: folder names carry seed and replicates, ``latest`` points at the newest complete run,
``run.py runs`` lists them, ``compare`` takes a scenario's folder, and a misspelt name gets a suggestion."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.outputs import latest_run, run_folders

NAME = re.compile(r"^\d{8}-\d{6}-seed(\d+)-r(\d+)-[0-9a-f]{6}$")


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    for seed in (3, 4):
        assert (
            main(
                [
                    "tiny",
                    "--replicates",
                    "2",
                    "--months",
                    "4",
                    "--seed",
                    str(seed),
                    "--out",
                    str(out),
                    "--jobs",
                    "1",
                ]
            )
            == 0
        )
    return out


def test_folder_names_and_latest(out: Path):
    runs = run_folders(out / "tiny")
    assert [NAME.match(r.name).groups() for r in runs] == [("3", "2"), ("4", "2")]
    assert latest_run(out / "tiny") == runs[-1]
    assert (out / "tiny" / "latest").resolve() == runs[-1].resolve()


def test_latest_falls_back_to_the_newest_complete_run(out: Path, tmp_path: Path):
    import shutil

    copy = tmp_path / "tiny"
    shutil.copytree(out / "tiny", copy, symlinks=True)
    (copy / "latest").unlink()
    (copy / "20990101-000000-seed9-r2-abcdef").mkdir()  # incomplete (no manifest): never "latest"
    assert latest_run(copy) == run_folders(copy)[-1]
    assert latest_run(tmp_path / "nowhere") is None


def test_runs_lists_them(out: Path, capsys):
    assert main(["runs", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "tiny:" in text and "seed 3, 2 replicates, 4 months from 2025-01, 300 adopters" in text
    assert text.count("<- latest") == 1 and "seed 4" in text.split("<- latest")[0].splitlines()[-1]


def test_compare_takes_a_scenario_folder(out: Path, capsys):
    first = run_folders(out / "tiny")[0]
    assert main(["compare", str(out / "tiny"), str(first), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "saved:" in printed
    assert main(["compare", str(out / "nothing_here"), str(first), "--out", str(out)]) == 2


def test_a_misspelt_scenario_gets_a_suggestion(capsys):
    assert main(["bann", "--check"]) == 2
    assert "did you mean the shipped scenario 'ban'?" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for command in ("compare", "runs", "params", "levers", "sweep", "dashboard"):
        assert f"{command} " in text, command
