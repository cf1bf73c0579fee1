"""Run folders (simulation.outputs) and figures (simulation.plotting), on the tiny scenario."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest

from simulation import load_scenario, plotting, simulate
from simulation.outputs import NonFiniteResultsError, RunData, RunFolderError, read_run, write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
TABLE_FILES = ["timeseries.csv", "labs.csv", "draws.csv", "summary.csv", "summary.json"]
PLOTS = ["gap.png", "adoption.png", "capabilities.png", "runways.png"]


@pytest.fixture(scope="module")
def results():
    return simulate(TINY, jobs=1)


@pytest.fixture(scope="module")
def run_dir(results, tmp_path_factory) -> Path:
    return write_run(results, tmp_path_factory.mktemp("out"), command="python run.py tiny", wall_time_s=1.5)


def test_folder_layout(run_dir: Path) -> None:
    assert run_dir.parent.name == "tiny"
    assert re.fullmatch(r"\d{8}-\d{6}-seed\d+-r\d+-[0-9a-f]{6}", run_dir.name)
    for name in [*TABLE_FILES, "manifest.json", "scenario.resolved.yaml"]:
        assert (run_dir / name).is_file(), name
    for name in PLOTS:
        png = run_dir / "plots" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    # no temporary folder left; ``latest`` points at the run
    assert sorted(p.name for p in run_dir.parent.iterdir()) == sorted([run_dir.name, "latest"])
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()


def test_manifest_records_the_run(run_dir: Path, results) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest)[-1] == "complete" and manifest["complete"] is True
    assert manifest["scenario"]["name"] == "tiny"
    assert manifest["seed"] == results.seed
    assert manifest["replicates"] == 3 and manifest["months"] == 12
    assert manifest["resolved_scenario"]["adopters"]["n"] == 300
    seeds = [d["model_seed"] for d in manifest["replicate_draws"]]
    assert seeds == results.draws["model_seed"].tolist()
    assert {"python", "numpy", "pandas", "mesa", "pydantic", "matplotlib", "simulation"} <= set(
        manifest["versions"]
    )
    assert manifest["versions"]["mesa"]
    assert manifest["git"] is None or re.fullmatch(r"[0-9a-f]{40}", manifest["git"]["commit"])
    assert manifest["command"] == "python run.py tiny" and manifest["wall_time_s"] == 1.5
    assert manifest["created_utc"].endswith("+00:00")
    assert manifest["format"] == 2 and manifest["pinned"] == []
    model = manifest["tables"]["timeseries.csv"]
    assert model["columns"] == list(results.model.columns) and model["rows"] == 36
    assert model["types"]["tick"] == "int" and model["types"]["date"] == "text"
    assert model["types"]["gap_months_true"] == "float"
    assert manifest["tables"]["labs.csv"]["types"]["open"] == "bool"
    assert manifest["tables"]["summary.csv"]["columns"] == ["indicator", "median", "p5", "p95", "replicates"]


def test_summary_json_matches_summary(run_dir: Path, results) -> None:
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["replicates"] == 3
    gap = data["indicators"]["gap_months_true_end"]
    assert gap["median"] == pytest.approx(results.summary.loc["gap_months_true_end", "median"])
    assert gap["p5"] == pytest.approx(results.summary.loc["gap_months_true_end", "p5"])
    assert gap["p95"] == pytest.approx(results.summary.loc["gap_months_true_end", "p95"])


def test_read_run_round_trip(run_dir: Path, results) -> None:
    run = read_run(run_dir)
    assert isinstance(run, RunData) and run.name == "tiny"
    pd.testing.assert_frame_equal(run.model, results.model, check_dtype=False, check_exact=True)
    assert len(run.labs) == len(results.labs)
    assert run.labs["open"].dtype == bool
    assert run.summary.loc["gap_months_true_end", "median"] == pytest.approx(
        results.summary.loc["gap_months_true_end", "median"]
    )
    assert run.scenario["name"] == "tiny" and run.manifest["complete"] is True


def test_resolved_scenario_reloads_as_run(run_dir: Path, results) -> None:
    reloaded = load_scenario(run_dir / "scenario.resolved.yaml")
    assert reloaded == results.scenario.model_copy(update={"seed": results.seed, "replicates": 3})


def test_read_run_refuses_what_is_not_a_complete_run(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="not a folder"):
        read_run(tmp_path / "missing")
    with pytest.raises(RunFolderError, match="not a run folder"):
        read_run(tmp_path)
    partial = tmp_path / "partial"
    partial.mkdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    with pytest.raises(RunFolderError, match="incomplete"):
        read_run(partial)
    (partial / "manifest.json").write_text("{not json")
    with pytest.raises(RunFolderError, match="unreadable"):
        read_run(partial)


@pytest.mark.parametrize(
    ("table", "filename", "column", "value"),
    [("model", "timeseries.csv", "gap_months_true", np.nan), ("labs", "labs.csv", "cash_usd", -np.inf)],
)
def test_results_with_nan_or_inf_are_never_saved(
    results, tmp_path: Path, table: str, filename: str, column: str, value: float
) -> None:
    frame = getattr(results, table).copy()
    first = frame.index[(frame["replicate"] == 1) & (frame["tick"] == 4)][0]
    later = frame.index[(frame["replicate"] == 2) & (frame["tick"] == 9)][0]
    frame.loc[[first, later], column] = value
    bad = copy.copy(results)
    setattr(bad, table, frame)
    out = tmp_path / "out"
    with pytest.raises(NonFiniteResultsError) as caught:
        write_run(bad, out)
    message = str(caught.value)
    assert f"({filename})" in message and f"column {column!r}" in message
    assert "at replicate 1, tick 4" in message and "(and 1 more)" in message  # the first one is named
    assert not out.exists()  # no run folder, no temporary folder, no scenario folder


def test_a_folder_the_reader_would_refuse_is_never_marked_complete(results, tmp_path: Path) -> None:
    """The writer reads its folder back with every check of read_run before marking it complete."""
    bad = copy.copy(results)
    bad.draws = results.draws.assign(**{"world.not_drawn": 1.0})
    out = tmp_path / "out"
    with pytest.raises(RunFolderError, match="does not make uncertain"):
        write_run(bad, out)
    assert not out.exists()


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_write_leaves_no_folder(results, tmp_path: Path, monkeypatch, error) -> None:
    def fail(*args, **kwargs):
        raise error("stopped while drawing")

    monkeypatch.setattr(plotting, "plot_run", fail)
    out = tmp_path / "out"
    with pytest.raises(error):
        write_run(results, out)
    assert not out.exists()  # nor the scenario folder, nor a .tmp- folder

    earlier = out / "tiny" / "20250101-000000-abcdef"  # an existing run is left alone
    earlier.mkdir(parents=True)
    with pytest.raises(error):
        write_run(results, out)
    assert [p.name for p in (out / "tiny").iterdir()] == [earlier.name]


def test_two_writes_make_two_folders(results, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(plotting, "plot_run", lambda run, out_dir: [])
    first, second = write_run(results, tmp_path), write_run(results, tmp_path)
    assert first != second and first.is_dir() and second.is_dir()


def test_figures_from_a_saved_folder_or_run_data(run_dir: Path, tmp_path: Path) -> None:
    from_folder = plotting.plot_gap(run_dir, tmp_path / "a")
    from_data = plotting.plot_gap(read_run(run_dir), tmp_path / "b")
    assert from_folder.name == from_data.name == "gap.png"
    assert from_folder.stat().st_size > 10_000


def test_quantile_band() -> None:
    frame = pd.DataFrame(
        {"replicate": [0, 1, 2, 0, 1, 2], "date": ["2025-01"] * 3 + ["2025-02"] * 3, "v": [1, 2, 3, 4, 5, 6]}
    )
    band = plotting.quantile_band(frame, "v", scale=10)
    assert band["median"].tolist() == [20, 50]
    assert band["p5"].tolist() == pytest.approx([11, 41])
    assert band["x"].dt.month.tolist() == [1, 2]


def test_spread_keeps_labels_apart_inside_limits() -> None:
    ys = plotting.spread([5, 5, 5, 0, 10], gap=2, lo=0, hi=10)
    assert ys.min() >= 0 and ys.max() <= 10
    assert min(abs(a - b) for i, a in enumerate(ys) for b in ys[i + 1 :]) >= 2 - 1e-9


def test_a_lab_that_turns_closed_changes_line_style_where_it_closes() -> None:
    """Dashed while open in most replicates, solid after; the two pieces meet at the first closed month."""
    from types import SimpleNamespace

    dates = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    labs = pd.DataFrame(
        {
            "replicate": 0,
            "tick": range(5),
            "date": dates,
            "lab": "meta",
            "bloc": "us",
            "open": [True, True, False, False, False],
            "alive": True,
            "capability_true_eci": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    fig, ax = plotting.new_figure()
    plotting._lab_lines(ax, SimpleNamespace(labs=labs), "capability_true_eci")
    drawn = {line.get_linestyle(): np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()}
    np.testing.assert_array_equal(drawn["--"], [1.0, 2.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(drawn["-"], [np.nan, np.nan, 3.0, 4.0, 5.0])
    matplotlib.pyplot.close(fig)


def test_gap_chart_draws_the_six_month_mean_over_the_faint_monthly_median(run_dir: Path, monkeypatch) -> None:
    """The thick line of gap.png is the centred 6-month mean of the monthly median (the release sawtooth is
    drawn thin); time plots mark scenario events with dotted lines."""
    from simulation import plotting
    from simulation.outputs import read_run

    figures = {}
    monkeypatch.setattr(plotting, "save", lambda fig, path: figures.setdefault(path.name, fig) and path)
    run = read_run(run_dir)
    plotting.plot_gap(run, run_dir / "plots")
    (ax,) = figures["gap.png"].axes
    thick = [line for line in ax.get_lines() if line.get_linewidth() == 3]
    assert [line.get_label() for line in thick] == [
        "True capability (6-month mean)",
        "Benchmark scores (6-month mean)",
    ]
    median = run.model.groupby("date")["gap_months_true"].median()
    expected = median.rolling(6, center=True, min_periods=1).mean().to_numpy()
    np.testing.assert_allclose(thick[0].get_ydata(), expected)
    # the same run with an event: a dotted line at its date on the capabilities and runway charts too
    run.scenario["events"] = [{"at": "2025-03", "set": {}, "note": "test event"}]
    for plot in (plotting.plot_capabilities, plotting.plot_runways):
        figures.clear()
        plot(run, run_dir / "plots")
        (fig,) = figures.values()
        dotted = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == ":"]
        assert any(
            plotting.mdates.num2date(line.get_xdata()[0]).strftime("%Y-%m") == "2025-03" for line in dotted
        )


def test_runways_are_small_multiples_by_bloc(run_dir: Path, monkeypatch) -> None:
    """One panel per origin bloc, each with only its own labs' lines (plus the raise trigger)."""
    from simulation import plotting
    from simulation.outputs import read_run

    figures = {}
    monkeypatch.setattr(plotting, "save", lambda fig, path: figures.setdefault(path.name, fig) and path)
    run = read_run(run_dir)
    plotting.plot_runways(run, run_dir / "plots")
    panels = [ax for ax in figures["runways.png"].axes if ax.get_visible()]
    blocs = list(dict.fromkeys(run.labs.loc[run.labs["kind"] == "lab", "bloc"]))
    assert sorted(ax.get_title(loc="left") for ax in panels) == sorted(
        plotting.BLOC_LABS.get(b, f"{b} labs") for b in blocs
    )
    us = next(ax for ax in panels if ax.get_title(loc="left") == plotting.BLOC_LABS["us"])
    us_labs = set(run.labs.loc[(run.labs["bloc"] == "us") & (run.labs["kind"] == "lab"), "lab"])
    assert {t.get_text().removesuffix(" (turned closed)") for t in us.texts} == us_labs
