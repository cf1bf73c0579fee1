"""Comparing saved runs (simulation.compare, ``run.py compare``), on tiny runs written in tmp folders."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t

import simulation
from simulation import plotting, simulate
from simulation.cli import main
from simulation.compare import CompareError, build, headlines, load_runs, scenario_changes
from simulation.outputs import write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
PLOTS = {"gap.png", "open_share.png", "open_usage_by_origin.png", "labs_alive.png"}
DIFFERENCE_PLOTS = {
    f"difference_{m}.png"
    for m in ("open_share_usage_region_us", "gap_months_true", "gap_months_benchmark", "open_share_usage")
}
BAN = """extends: tiny
name: tiny_ban
description: "Tiny with a US open-weight ban from 2025-04."
policy:
  ban: {jurisdiction: us, threshold_flop: 1.0e+26}
labs:
  meta: {ban_response: close}
events:
  - at: 2025-04
    set: {policy.ban.active: true}
    note: "US open-weight ban"
expected_effects:
  - metric: open_share_usage_region_us
    direction: down
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny run folders: the reference, a ban with the same seed, the reference with another seed, a
    shorter one, and one that starts three months later (figures of the runs themselves skipped)."""
    root = tmp_path_factory.mktemp("runs")
    ban = root / "ban.yaml"
    ban.write_text(BAN)
    later = root / "later.yaml"
    later.write_text("extends: tiny\nname: tiny_later\nstart: 2025-04\n")
    specs = {
        "reference": (TINY, {}),
        "ban": (ban, {}),
        "other_seed": (TINY, {"seed": 5}),
        "short": (TINY, {"months": 6}),
        "later": (later, {}),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])
        return {
            key: write_run(simulate(path, jobs=1, **kw), root / "out") for key, (path, kw) in specs.items()
        }


@pytest.fixture
def no_figures(monkeypatch):
    """Skip drawing the overlay figures where a test is about the numbers (slow: about 3 s a comparison)."""
    monkeypatch.setattr(plotting, "plot_overlays", lambda series, out_dir, axis="date": [])
    monkeypatch.setattr(plotting, "plot_differences", lambda charts, out_dir, axis="date": [])


def comparisons(out: Path) -> list[Path]:
    return sorted((out / "compare").iterdir()) if (out / "compare").is_dir() else []


def test_folder_layout(runs, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["ban"]], out=tmp_path)
    assert folder.parent == tmp_path / "compare"
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", folder.name)
    assert comparisons(tmp_path) == [folder]  # no temporary folder left
    for name in ["report.html", "differences.csv", "differences.md", "differences_by_replicate.csv"]:
        assert (folder / name).is_file(), name
    assert {p.name for p in (folder / "plots").iterdir()} == PLOTS | DIFFERENCE_PLOTS
    for png in (folder / "plots").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((folder / "comparison.json").read_text())
    assert manifest["reference"] == "tiny" and [r["label"] for r in manifest["runs"]] == ["tiny", "tiny_ban"]
    html = (folder / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(PLOTS | DIFFERENCE_PLOTS)
    assert html.index('id="headlines"') < html.index('id="scenarios"')  # the report leads with findings
    assert (
        '<li class="expected" data-metric="open_share_usage_region_us" data-window="2025-04 to 2025-12">'
        in html
    )
    assert html.count('<figure class="difference">') == len(DIFFERENCE_PLOTS)
    assert "<script" not in html and not re.search(r"(src|href)=\"(https?:|//)", html)
    assert "Baseline in miniature" in html and "Tiny with a US open-weight ban" in html  # descriptions
    assert "labs.meta.ban_response" in html and "2025-04 US open-weight ban" in html  # what changes
    assert "@media print" in html


def test_a_run_compared_with_itself_differs_by_exactly_zero(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["reference"]], out=tmp_path)
    table = pd.read_csv(folder / "differences.csv")
    assert set(table["scenario"]) == {"tiny (run 2)"} and table["paired"].all()
    assert (table[["difference", "difference_p5", "difference_p95"]] == 0).all().all()
    assert (pd.read_csv(folder / "differences_by_replicate.csv")["difference"] == 0).all()


def test_paired_differences_are_the_per_replicate_differences(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["ban"]], out=tmp_path)
    ref = pd.read_csv(runs["reference"] / "timeseries.csv")
    ban = pd.read_csv(runs["ban"] / "timeseries.csv")
    by_rep = pd.read_csv(folder / "differences_by_replicate.csv")
    table = pd.read_csv(folder / "differences.csv").set_index("indicator")
    for column, indicator, scale in [
        ("gap_months_true", "gap_months_true_end", 1),
        ("open_share_usage", "open_share_usage_end", 100),
        ("open_usage_share_origin_us", "open_usage_share_origin_us_end", 100),
    ]:
        end = [f[f["tick"] == 11].sort_values("replicate")[column].to_numpy() for f in (ban, ref)]
        by_hand = (end[0] - end[1]) * scale
        rows = by_rep[by_rep["indicator"] == indicator].sort_values("replicate")
        assert rows["replicate"].tolist() == [0, 1, 2]
        np.testing.assert_allclose(rows["difference"], by_hand, rtol=0, atol=1e-9)
        row = table.loc[indicator]
        assert bool(row["paired"]) and row["paired_replicates"] == 3
        lo, mid, hi = np.quantile(by_hand, [0.05, 0.5, 0.95])
        assert (row["difference_p5"], row["difference"], row["difference_p95"]) == pytest.approx(
            (lo, mid, hi)
        )
    assert table.loc["open_usage_share_origin_us_end", "difference"] != 0  # the ban does something


def test_runs_with_different_seeds_are_flagged_not_paired(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["other_seed"]], out=tmp_path)
    table = pd.read_csv(folder / "differences.csv").set_index("indicator")
    assert not table["paired"].any()
    assert table["interval"].str.startswith("NOT PAIRED").all()
    row = table.loc["open_share_usage_end"]
    assert row["difference"] == pytest.approx(row["scenario_median"] - row["reference_median"])
    assert "not paired: different root seeds (1 and 5)" in (folder / "differences.md").read_text()
    html = (folder / "report.html").read_text()
    assert 'class="warn">Not paired: different root seeds' in html and "NOT paired" in html
    assert pd.read_csv(folder / "differences_by_replicate.csv").empty


def test_reference_option_puts_that_run_first(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["ban"]], reference=runs["ban"], out=tmp_path)
    table = pd.read_csv(folder / "differences.csv")
    assert set(table["reference"]) == {"tiny_ban"} and set(table["scenario"]) == {"tiny"}


def test_cli_compare_writes_a_comparison(runs, no_figures, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["compare", str(runs["reference"]), str(runs["ban"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    (folder,) = comparisons(out)
    assert "tiny_ban vs tiny: paired over 3 replicates" in printed and str(folder) in printed
    sentences = printed.split("tiny_ban vs tiny:\n", 1)[1].splitlines()
    assert sentences[0].startswith("  - Gap in months on benchmark scores")  # checkable against data first
    assert sentences[1].startswith("  - Share of token usage in region us on open models")
    assert "(open_share_usage_region_us, expected down)" in sentences[1]
    assert any("(gap_months_true)" in line and "90% interval" in line for line in sentences)
    manifest = json.loads((folder / "comparison.json").read_text())
    assert manifest["command"].startswith("python run.py compare ")


def test_align_truncate_compares_the_common_months(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["short"]], out=tmp_path, align="truncate")
    manifest = json.loads((folder / "comparison.json").read_text())
    assert manifest["window"].startswith("2025-01 to 2025-06 (6 months)")
    table = pd.read_csv(folder / "differences.csv").set_index("indicator")
    ref = pd.read_csv(runs["reference"] / "timeseries.csv")
    at_month_6 = ref[ref["tick"] == 5]["gap_months_true"].median()
    assert table.loc["gap_months_true_end", "reference_median"] == pytest.approx(at_month_6)
    assert table["paired"].all()  # same root seed: replicate seeds do not depend on the length


def test_align_calendar_compares_the_shared_dates(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["later"]], out=tmp_path, align="calendar")
    manifest = json.loads((folder / "comparison.json").read_text())
    assert manifest["window"].startswith("2025-04 to 2025-12 (9 months)")
    table = pd.read_csv(folder / "differences.csv").set_index("indicator")
    later = pd.read_csv(runs["later"] / "timeseries.csv")
    in_window = later[later["date"] <= "2025-12"]
    mean_gap = in_window.groupby("replicate")["gap_months_true"].mean().median()
    assert table.loc["gap_months_true_mean", "scenario_median"] == pytest.approx(mean_gap)


def incomplete_copy(run: Path, where: Path) -> Path:
    copy = where / "incomplete"
    shutil.copytree(run, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    return copy


REFUSALS = {
    "not_a_run": (lambda r, tmp: [r["reference"], tmp], "not a run folder"),
    "missing": (lambda r, tmp: [r["reference"], tmp / "nowhere"], "not a folder"),
    "incomplete": (lambda r, tmp: [r["reference"], incomplete_copy(r["reference"], tmp)], "incomplete"),
    "lengths": (lambda r, tmp: [r["reference"], r["short"]], "--align"),
    "starts": (lambda r, tmp: [r["reference"], r["later"]], "differ in length or start date"),
    "one_run": (lambda r, tmp: [r["reference"]], "at least two run folders"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_exit_2_with_one_line_and_write_nothing(
    runs, no_figures, tmp_path: Path, capsys, case: str
) -> None:
    make_args, message = REFUSALS[case]
    args = [str(p) for p in make_args(runs, tmp_path)]
    out = tmp_path / "out"
    assert main(["compare", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_refusals_from_python_raise_compare_error(runs, no_figures, tmp_path: Path) -> None:
    with pytest.raises(CompareError, match="--align truncate"):
        simulation.compare([runs["reference"], runs["short"]], out=tmp_path)
    with pytest.raises(CompareError, match="--align must be one of truncate, calendar"):
        simulation.compare([runs["reference"], runs["short"]], out=tmp_path, align="sideways")  # type: ignore[arg-type]
    assert not (tmp_path / "compare").exists()


def test_scenario_changes_are_readable() -> None:
    ref = {
        "name": "a",
        "world": {"x": 1.0, "y": {"z": True}},
        "labs": {"l1": {"bloc": "us", "cash": 5}, "l2": {"bloc": "eu"}},
        "events": [{"at": "2026-01", "set": {"world.x": 2}, "note": "change x"}],
        "uncertain": {"world.x": {"dist": "uniform", "low": 0, "high": 1}},
    }
    other = {
        "name": "b",
        "world": {"x": 1.5, "y": {"z": True}},
        "labs": {"l1": {"bloc": "us", "cash": 6}, "l3": {"bloc": "china"}},
        "events": [],
        "uncertain": {},
    }
    changes = scenario_changes(ref, other)
    assert ("world.x", 1.0, 1.5) in changes.values and ("labs.l1.cash", 5, 6) in changes.values
    assert [p for p, _, _ in changes.values if p.startswith("uncertain")] == ["uncertain.world.x"]
    assert changes.labs_added == ["l3"] and changes.labs_removed == ["l2"]
    assert changes.events_removed == ["2026-01 change x (world.x = 2)"] and not changes.events_added
    assert not scenario_changes(ref, ref)


def test_run_with_several_scenarios_writes_runs_and_a_comparison(
    no_figures, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(plotting, "plot_run", lambda run, out_dir: [])
    ban = tmp_path / "ban.yaml"
    ban.write_text(BAN)
    out = tmp_path / "out"
    argv = [str(TINY), str(ban), "--replicates", "2", "--months", "6", "--out", str(out), "--jobs", "1"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["compare", "tiny", "tiny_ban"]
    (folder,) = comparisons(out)
    assert f"comparison: {folder / 'report.html'}" in capsys.readouterr().out
    manifest = json.loads((folder / "comparison.json").read_text())
    assert manifest["reference"] == "tiny" and manifest["command"] == "python run.py " + " ".join(argv)
    assert pd.read_csv(folder / "differences.csv")["paired"].all()


def window_effect(runs: dict[str, Path], key: str, column: str, since: str) -> np.ndarray:
    """Per replicate: the mean of ``column`` over the months from ``since``, from a run's timeseries.csv."""
    frame = pd.read_csv(runs[key] / "timeseries.csv")
    return frame[frame["date"] >= since].groupby("replicate")[column].mean().sort_index().to_numpy()


def test_headlines_give_the_mean_paired_window_difference(runs) -> None:
    comparison = build(load_runs([runs["reference"], runs["ban"]]))
    (rows,) = headlines(comparison).values()
    assert [h.metric for h in rows] == [
        "gap_months_benchmark",  # what data can check leads
        "open_share_usage_region_us",  # then the scenario's expected effect
        "open_share_usage",
        "gap_months_true",
    ]
    assert rows[1].expected == "down" and all(h.expected is None for h in rows if h is not rows[1])
    for h in rows:
        # the ban starts in 2025-04 and the run is 12 months long: every window is the months from the event
        ban, ref = (window_effect(runs, key, h.metric, "2025-04") for key in ("ban", "reference"))
        diffs = ban - ref
        half = t.ppf(0.95, diffs.size - 1) * diffs.std(ddof=1) / np.sqrt(diffs.size)
        assert h.effect == pytest.approx(diffs.mean(), abs=1e-12)
        assert (h.low, h.high) == pytest.approx((diffs.mean() - half, diffs.mean() + half), abs=1e-12)
        assert h.levels == pytest.approx((ref.mean(), ban.mean()), abs=1e-12)
        assert h.paired and h.replicates == 3 and h.window == "2025-04 to 2025-12"
        assert "mean over 2025-04 to 2025-12, from the scenario's first event" in h.text
        assert "(90% interval over 3 paired replicates)" in h.text
        if (h.low <= 0 <= h.high) != ("does not move detectably" in h.text):
            raise AssertionError(h.text)
    us = rows[1]
    scale, unit = 100, "points"  # a share: its difference in percentage points, 1 decimal (datadict)
    shown = [
        f"{v * scale:+.1f}".replace("+0.0", "0.0").replace("-0.0", "0.0")
        for v in (us.effect, us.low, us.high)
    ]
    assert us.text.startswith(
        "Share of token usage in region us on open models (open_share_usage_region_us, expected down), "
    )
    assert f"{shown[0]} {unit} [{shown[1]}, {shown[2]}]" in us.text
    levels = f"tiny_ban {us.levels[1] * 100:.1f}%, tiny {us.levels[0] * 100:.1f}%; difference"
    assert levels in us.text
    bench, true = rows[0], rows[-1]
    assert bench.text.startswith("Gap in months on benchmark scores, comparable to Epoch AI's ECI data")
    assert "depends on the assumed benchmark focus" in true.text
    assert f"{true.effect:+.1f}".replace("+0.0", "0.0").replace("-0.0", "0.0") + " months [" in true.text


def test_headline_windows_follow_each_expected_effect_and_the_last_year(tmp_path: Path) -> None:
    """An expected effect's ``after:`` month starts its own window; key indicators average the last 12
    months compared (here, 24-month runs without events: 2026-01 to 2026-12); an ``after:`` beyond the
    window gives no effect and says why."""
    root = tmp_path
    late = root / "late.yaml"
    late.write_text(
        "extends: tiny\nname: tiny_late\nmonths: 24\nexpected_effects:\n"
        "  - {metric: gap_months_true, direction: up, after: 2025-09}\n"
        "  - {metric: open_share_usage, direction: down}\n"
        "  - {metric: hhi_usage, direction: up, after: 2031-01}\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])
        long_ref = write_run(simulate(TINY, jobs=1, months=24, replicates=2), root / "late-out")
        long_run = write_run(simulate(late, jobs=1, replicates=2), root / "late-out")
    (rows,) = headlines(build(load_runs([long_ref, long_run]))).values()
    by = {h.metric: h for h in rows}
    assert [h.metric for h in rows] == [
        "gap_months_benchmark",
        "gap_months_true",
        "open_share_usage",
        "hhi_usage",
    ]
    assert by["gap_months_true"].window == "2025-09 to 2026-12" and by["gap_months_true"].expected == "up"
    assert "from the month the expected effect is given for" in by["gap_months_true"].text
    assert by["open_share_usage"].window == "2025-01 to 2026-12"  # expected, no after, no event: all of it
    assert by["gap_months_benchmark"].window == "2026-01 to 2026-12"
    assert "the last 12 months" in by["gap_months_benchmark"].text
    frames = {k: pd.read_csv(f / "timeseries.csv") for k, f in (("ref", long_ref), ("run", long_run))}
    means = {
        k: f[f["date"] >= "2025-09"].groupby("replicate")["gap_months_true"].mean() for k, f in frames.items()
    }
    assert by["gap_months_true"].effect == pytest.approx((means["run"] - means["ref"]).mean(), abs=1e-12)
    hhi = by["hhi_usage"]
    assert hhi.effect is None and "starts 2031-01, after the compared window" in hhi.text


def test_report_says_what_changes_in_plain_words(runs, no_figures, tmp_path: Path) -> None:
    folder = simulation.compare([runs["reference"], runs["ban"]], out=tmp_path)
    html = (folder / "report.html").read_text()
    changes = html[html.index('id="changes"') : html.index('id="figures"')]
    plain = changes[changes.index('<ul class="changes plain">') : changes.index("<details>")]
    assert "Lab meta: what the lab does when an open-weight ban binds its next open release" in plain
    assert "from 2025-04, US open-weight ban: whether the ban is in force = true" in plain
    assert "labs.meta.ban_response" not in plain  # the dotted paths only in the details block
    assert "<summary>As dotted parameter paths</summary>" in changes and "labs.meta.ban_response" in changes


def test_unpaired_headlines_say_so_and_give_no_interval(runs) -> None:
    comparison = build(load_runs([runs["reference"], runs["other_seed"]]))
    (rows,) = headlines(comparison).values()
    for h in rows:
        by_hand = (
            window_effect(runs, "other_seed", h.metric, "2025-01").mean()
            - window_effect(runs, "reference", h.metric, "2025-01").mean()
        )
        assert h.effect == pytest.approx(by_hand, abs=1e-12)  # no events: the whole window
        assert h.low is None and h.high is None and not h.paired
        assert "not paired: different root seeds (1 and 5), so no interval is given" in h.text
        assert "[" not in h.text and "difference of the replicate means" in h.text
