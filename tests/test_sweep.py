"""Sweeps end to end on the tiny scenario: checks before any run, failed runs recorded, resume after a
kill, the command line, and the identical table on local processes and on a Dask LocalCluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from simulation.sweep import SweepError, SweepResult, load_sweep, sweep
from simulation.sweep import task as task_module
from simulation.sweep.cli import main
from simulation.sweep.executors import run_all
from simulation.sweep.plan import make_plan
from simulation.sweep.spec import SweepSpec, load_spec
from simulation.sweep.task import RunOutput

# 4 * (2 + 2) Sobol' samples x 2 replicates = 32 runs of 12 months with 300 adopters.
SPEC = {
    "base": "tiny",
    "parameters": {"world.eci_per_decade_compute": (3.0, 9.0), "blocs.china.capital_multiplier": (0.2, 2.0)},
    "sampler": "sobol",
    "n": 4,
    "replicates": 2,
    "outcomes": ["gap_months_true_mean", "open_share_usage_end", "gap_months_true"],
    "seed": 3,
}
TOTAL = 32


def parts(folder: Path) -> int:
    runs = folder / "parts" / "runs"
    return sum(1 for f in runs.glob("run-*.parquet")) if runs.exists() else 0


def assert_same(a: SweepResult, b: SweepResult) -> None:
    assert_frame_equal(a.runs, b.runs)
    assert_frame_equal(a.series, b.series)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> SweepResult:
    """The sweep run uninterrupted on two local worker processes."""
    return sweep(**SPEC, workers=2, out=tmp_path_factory.mktemp("reference") / "sweep", progress=False)


def test_tidy_tables_with_seeds_from_the_run_index(reference: SweepResult) -> None:
    runs, series = reference.runs, reference.series
    assert list(runs.columns[:5]) == ["run", "sample", "replicate", *SPEC["parameters"]]
    assert list(runs.columns[5:]) == [
        "seed",
        "status",
        "error",
        "gap_months_true_mean",
        "open_share_usage_end",
    ]
    assert runs["run"].tolist() == list(range(TOTAL)) and (runs["status"] == "ok").all()
    assert runs["sample"].tolist() == [r // 2 for r in range(TOTAL)]
    assert runs["seed"].nunique() == TOTAL  # replicates of a sample differ; every run its own seed
    assert list(series.columns) == ["run", "tick", "date", "gap_months_true"]
    assert len(series) == TOTAL * 12 and series["date"].iloc[0] == "2025-01"
    # the saved folder reads back to the same result, with its manifest
    again = load_sweep(reference.path)
    assert_same(reference, again)
    manifest = again.manifest
    assert manifest["complete"] and manifest["total_runs"] == TOTAL and manifest["sampler"] == "sobol"
    assert len(manifest["samples"]) == 16 and len(manifest["design"]) == 16
    assert manifest["parameters"]["world.eci_per_decade_compute"]["low"] == 3.0
    assert manifest["versions"]["SALib"] and manifest["versions"]["pyarrow"]


def test_an_existing_sweep_folder_is_never_overwritten(reference: SweepResult) -> None:
    with pytest.raises(SweepError, match="already holds a sweep"):
        sweep(**SPEC, out=reference.path)
    with pytest.raises(SweepError, match="holds a different sweep"):
        sweep(**{**SPEC, "seed": 4}, out=reference.path, resume=True)
    done = sweep(**SPEC, out=reference.path, resume=True, progress=False)  # complete: runs nothing
    assert done.manifest["last_session"]["runs"] == 0
    assert_same(reference, done)


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            {"parameters": {"labs.deepseek.training_eficiency": (0.5, 2.0)}},
            "parameters.labs.deepseek",
            "did you mean 'training_efficiency'",
        ),
        (
            {"parameters": {"world.eci_per_decade_compute": (9.0, 3.0)}},
            "parameters.world.eci_per_decade_compute",
            "low (9) must be below high (3)",
        ),
        ({"sampler": "sobl"}, "sampler", "'grid', 'lhs', 'sobol' or 'morris'"),
        ({"n": 6}, "n", "power of 2"),
        ({"n": 0}, "n", "greater than or equal to 1"),
        ({"n": None}, "n", "sampler 'sobol' needs n (the number of samples)"),
        (
            {"parameters": {"world.training_lag_months": (0, 13)}},
            "parameters.world.training_lag_months",
            "less than or equal to 12",
        ),
        ({"outcomes": ["gap_month_true_mean"]}, "outcomes[0]", "did you mean 'gap_months_true_mean'"),
        ({"parameters": {"world.run_months": [1.0, 2.0]}}, "parameters.world.run_months", "needs a range"),
    ],
)
def test_a_bad_sweep_fails_before_any_run(tmp_path: Path, change: dict, where: str, message: str) -> None:
    out = tmp_path / "sweep"
    with pytest.raises(SweepError) as info:
        sweep(**{**SPEC, **change}, out=out)
    assert info.value.key_path.startswith(where) and message in str(info.value)
    assert not out.exists()


def test_events_are_swept_by_their_own_paths(tmp_path: Path) -> None:
    """The ban's start month and whether its event switches it on: 2 x 2 cells of the ban scenario."""
    res = sweep(
        "ban",
        {"events.0.at": ["2025-03", "2025-09"], "events.0.set.policy.ban.active": [False, True]},
        sampler="grid",
        outcomes=["region_us_open_share_domestic", "labs_release_capped_end", "labs_release_offshore_end"],
        months=13,  # the shipped event (2026-01, tick 12) must be inside the horizon to be moved
        n_adopters=400,
        common_seeds=True,
        workers=1,
        out=tmp_path / "sweep",
        progress=False,
    )
    runs = res.runs.set_index(["events.0.at", "events.0.set.policy.ban.active"])
    answers = runs["labs_release_capped_end"] + runs["labs_release_offshore_end"]
    assert answers.loc[("2025-03", False)] == answers.loc[("2025-09", False)] == 0  # no ban, no answer
    assert answers.loc[("2025-03", True)] > 0  # bound US labs cap their runs or release from abroad
    series = res.series.pivot(index="tick", columns="run", values="region_us_open_share_domestic")
    late_on = int(runs.loc[("2025-09", True), "run"])
    off = int(runs.loc[("2025-09", False), "run"])
    assert (series.loc[:7, late_on] == series.loc[:7, off]).all()  # identical until the ban starts (tick 8)


def test_an_event_value_of_the_wrong_type_fails_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(SweepError) as info:
        sweep("ban", {"events.0.at": ["2026-13"]}, sampler="grid", out=tmp_path / "s", progress=False)
    assert info.value.key_path == "parameters.events.0.at"
    assert not (tmp_path / "s").exists()
    with pytest.raises(SweepError) as info:  # the ban's event (2026-01) is beyond a 12-month horizon
        sweep(
            "ban", {"events.0.at": ["2025-06"]}, sampler="grid", months=12, out=tmp_path / "s", progress=False
        )
    assert "has 0 event(s) within its 12 months" in str(info.value)


SHIPPED_SPECS = sorted((Path(__file__).resolve().parents[1] / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_SPECS, ids=lambda p: p.stem)
def test_shipped_sweep_specs_are_valid_and_say_what_they_cost(path: Path) -> None:
    plan = make_plan(load_spec(path), file=path)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and plan.total > 0
    assert f"{plan.total} runs" in path.read_text(), f"{path.name}: state the number of runs ({plan.total})"


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch) -> None:
    real = task_module.run_replicate

    def flaky(spec):
        if spec.spawn_key[0] in (1, 4):
            raise RuntimeError("boom")
        return real(spec)

    monkeypatch.setattr(task_module, "run_replicate", flaky)  # forked workers inherit the patch
    res = sweep(
        "tiny",
        {"world.eci_per_decade_compute": [4.0, 8.0]},
        sampler="grid",
        n=2,
        replicates=3,
        outcomes=["gap_months_true_mean", "gap_months_true"],
        workers=2,
        out=tmp_path / "sweep",
        progress=False,
    )
    runs = res.runs
    assert len(runs) == 6 and runs["status"].tolist() == ["ok", "error", "ok", "ok", "error", "ok"]
    failed = runs[runs["status"] == "error"]
    assert (failed["error"] == "RuntimeError: boom").all() and failed["gap_months_true_mean"].isna().all()
    assert runs.loc[runs["status"] == "ok", "gap_months_true_mean"].notna().all()
    assert sorted(res.series["run"].unique()) == [0, 2, 3, 5]
    assert res.manifest["runs_failed"] == 2


class LosesAWorker(Executor):
    """Runs each submitted task at once, except that a task holding run ``lost`` fails as a task on a lost
    cluster worker would."""

    def __init__(self, lost: int):
        self.lost = lost
        self.batches: list[list[int]] = []

    def submit(self, fn, batch):  # type: ignore[override]
        self.batches.append([task.run for task in batch])
        fut: Future = Future()
        if any(task.run == self.lost for task in batch):
            fut.set_exception(OSError("worker lost"))
        else:
            fut.set_result(fn(batch))
        return fut


def test_runs_go_out_in_batches_and_a_lost_batch_is_recorded_run_by_run() -> None:
    spec = SweepSpec(
        base="tiny",
        parameters={"world.eci_per_decade_compute": [4.0, 8.0]},
        sampler="grid",
        n=2,
        replicates=3,
        outcomes=["gap_months_true_mean"],
        months=4,
    )
    plan = make_plan(spec)
    outputs: list[RunOutput] = []
    pool = LosesAWorker(lost=3)
    run_all(plan.tasks(), pool, slots=1, on_output=outputs.append, runs_per_task=4)
    assert pool.batches == [[0, 1, 2, 3], [4, 5]]
    rows = sorted((o.row for o in outputs), key=lambda row: row["run"])
    assert [row["status"] for row in rows] == ["error"] * 4 + ["ok"] * 2
    assert {row["error"] for row in rows[:4]} == {"OSError: worker lost"}
    assert all(o.series is None for o in outputs if o.row["status"] == "error")


def test_common_seeds_share_random_numbers_across_samples(tmp_path: Path) -> None:
    res = sweep(
        "tiny",
        {"world.eci_per_decade_compute": [4.0, 8.0]},
        sampler="grid",
        n=2,
        replicates=2,
        months=3,
        common_seeds=True,
        outcomes=["gap_months_true_end"],
        workers=1,
        progress=False,
    )
    seeds = res.runs["seed"].tolist()
    assert seeds[0] == seeds[2] and seeds[1] == seeds[3] and seeds[0] != seeds[1]


def test_resume_after_a_kill_gives_the_uninterrupted_table(tmp_path: Path, reference: SweepResult) -> None:
    out = tmp_path / "sweep"
    script = tmp_path / "run_sweep.py"
    script.write_text(
        "import sys\nfrom simulation.sweep import sweep\n"
        f"sweep(**{SPEC!r}, workers=2, out=sys.argv[1], progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script), str(out)], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while parts(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and its worker processes
        proc.wait()
    saved = parts(out)
    assert 0 < saved < TOTAL, f"the kill came too late or too early ({saved} runs saved)"
    assert not json.loads((out / "manifest.json").read_text())["complete"]

    resumed = sweep(**SPEC, workers=1, out=out, resume=True, progress=False)
    assert resumed.manifest["last_session"]["runs"] == TOTAL - saved
    assert_same(reference, resumed)


def test_command_line_grid_with_heatmaps(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "grid.yaml"
    spec.write_text(
        "base: tiny\nsampler: grid\nn: 2\nmonths: 6\nparameters:\n"
        "  blocs.china.capital_multiplier: {low: 0.2, high: 2.0}\n"
        "  policy.ban.enforcement: {values: [0.0, 1.0]}\n"
        "outcomes: [open_share_usage_end]\n"
    )
    out = tmp_path / "out"
    assert main([str(spec), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert f"4 runs (0 failed) saved in {out}" in printed
    runs = pd.read_csv(out / "runs.csv")
    # a grid sweep prints (and saves) its table: one row per grid point, the outcome's mean over replicates
    grid = pd.read_csv(out / "grid.csv")
    assert "mean over replicates of each grid point" in printed
    assert len(grid) == 4 and (grid["replicates"] == 1).all()
    np.testing.assert_allclose(
        grid["open_share_usage_end"], runs.sort_values("sample")["open_share_usage_end"]
    )
    assert runs[["blocs.china.capital_multiplier", "policy.ban.enforcement"]].values.tolist() == [
        [0.2, 0.0],
        [0.2, 1.0],
        [2.0, 0.0],
        [2.0, 1.0],
    ]
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "heatmap_open_share_usage_end.png",
        "scatter_open_share_usage_end.png",
    ]


def test_command_line_bad_spec_exits_2_naming_file_and_key(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "base: tiny\nsampler: lhs\nn: 4\nparameters:\n  world.eci_per_decade_compute: {low: 9, high: 3}\n"
    )
    assert main([str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{spec} at parameters.world.eci_per_decade_compute: low (9) must be below high (3)" in err
    spec.write_text("base: tiny\nsampler: lhs\nn: 4\nparameters: {months: {low: 2, high: 5}}\nreplicate: 2\n")
    assert main([str(spec)]) == 2
    assert "unknown key 'replicate' (did you mean 'replicates'?)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dask_local_cluster_gives_the_same_table(tmp_path: Path, reference: SweepResult, recwarn) -> None:
    """Last in this file: Dask leaves threads behind, and the other tests fork."""
    res = sweep(**SPEC, executor="dask", workers=2, out=tmp_path / "sweep", progress=False)
    assert_same(reference, res)
    assert not [w for w in recwarn if "Dask workers run slower" in str(w.message)]
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ


def test_a_sweep_can_be_planned_on_a_scenario_with_uncertain_event_values():
    """export_controls draws the value its event sets; planning must not trip over that path."""
    from simulation.sweep.plan import make_plan
    from simulation.sweep.spec import SweepSpec

    spec = SweepSpec.model_validate(
        {
            "name": "ec",
            "base": "export_controls",
            "sampler": "grid",
            "parameters": {"blocs.china.capital_multiplier": {"values": [0.5, 1.0]}},
        }
    )
    plan = make_plan(spec)
    assert "events.0.set.blocs.china.compute_price_multiplier" in plan.scenario.uncertain
    assert len(plan.samples) == 2


def test_figures_speak_the_schema_and_caution_where_intervals_are_wide(
    reference: SweepResult, tmp_path: Path, monkeypatch
) -> None:
    """Axes name parameters and outcomes in the schema's words with units and the dotted path beside;
    shares in percent; bars whose interval is as wide as the index are counted in a caution; the indices
    over time are window averages, drawn within 0-1, with noisy windows said to be noise."""
    import matplotlib.text

    from simulation import plotting
    from simulation.datadict import parameter_label, parameter_rows
    from simulation.sweep import analysis, plots

    drawn: dict[str, list[str]] = {}
    axes: dict[str, list[dict]] = {}  # per figure, per axes: y label, dots, lines (save clears the figure)
    save = plotting.save

    def keep(fig, path):
        drawn[path.name] = [t.get_text().replace("\n", " ") for t in fig.findobj(matplotlib.text.Text)]
        axes[path.name] = [
            {
                "ylabel": ax.get_ylabel().replace("\n", " "),
                "dots": [c.get_offsets().copy() for c in ax.collections],
                "lines": [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()],
            }
            for ax in fig.axes
            if ax.get_visible()
        ]
        return save(fig, path)

    monkeypatch.setattr(plotting, "save", keep)
    reference.plot(tmp_path)
    rows = parameter_rows(reference.manifest["scenario"])
    words, _ = parameter_label("world.eci_per_decade_compute", rows)
    assert words != "world.eci_per_decade_compute" and words.startswith("ECI points gained")
    bars = " | ".join(drawn["indices_gap_months_true_mean.png"])
    assert (
        "What drives: Gap on true capability (rests on the assumed benchmark focus), mean over the run"
        in bars
    )
    assert "[world.eci_per_decade_compute]" in bars and words.split(" ")[0] in bars

    table = reference.indices("gap_months_true_mean")
    flagged = int(sum((table[c + "_conf"].abs() >= table[c].abs()).sum() for c in ("S1", "ST")))
    assert flagged > 0  # 16 samples: intervals this wide are the point of the caution
    assert f"Caution: {flagged} of 4 indices have a 95% interval at least as wide as the index" in bars

    scatter = axes["scatter_open_share_usage_end.png"][0]
    assert scatter["ylabel"] == "Share of token usage on open models, at the end (%)"
    shown = scatter["dots"][0][:, 1]
    ok = reference.runs[reference.runs["status"] == "ok"]
    np.testing.assert_allclose(np.sort(shown), np.sort(ok["open_share_usage_end"].to_numpy() * 100))

    windows = analysis.indices_by_window(reference, "gap_months_true")
    assert sorted(windows["window"].unique()) == [0, 1] and set(windows["first_date"]) == {
        "2025-01",
        "2025-07",
    }
    first = reference.series[reference.series["tick"] < 6].groupby("run")["gap_months_true"].mean()
    by_hand = analysis._analyse_result(reference, analysis.sample_means(reference, first))
    got = windows[windows["window"] == 0].set_index("parameter")["ST"]
    np.testing.assert_allclose(got.loc[by_hand.index], by_hand["ST"])
    over_time = axes["indices_by_month_gap_months_true.png"][0]
    assert over_time["lines"] and over_time["ylabel"] == "Total order (ST)"
    for y in over_time["lines"]:
        assert ((y >= 0) & (y <= 1)).all()
    noisy = plots.noisy_windows(windows, "ST", "ST_conf")
    said = " | ".join(drawn["indices_by_month_gap_months_true.png"])
    assert ("Noise dominates" in said) == bool(noisy.any())
    assert "mean over 6 months" in said
