"""Run folders are untrusted input: a malformed, tampered or hostile folder is refused with one message and
nothing written, never read into a comparison that lies, hangs or leaks; text from a folder is escaped in
every file a comparison writes; pinned parameters are recorded. One tiny run is written per module and
copied, then tampered, for each case."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from simulation import plotting, simulate
from simulation.cli import main
from simulation.compare import (
    CompareError,
    build,
    formula_safe,
    md,
    overlay_series,
    spreadsheet_safe,
    write_comparison,
)
from simulation.outputs import RunFolderError, read_run, write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
SECONDS_PER_CASE = 5


class Hung(BaseException):
    """Raised by the alarm: a case took too long (a BaseException, so no ``except Exception`` hides it)."""


@contextlib.contextmanager
def deadline(seconds: int = SECONDS_PER_CASE) -> Iterator[None]:
    """Fail, rather than hang the test run, if the block takes longer than ``seconds`` (Unix)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def alarm(signum, frame):
        raise Hung(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """A complete tiny run folder (2 replicates, 4 months, figures skipped), written once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])
        results = simulate(TINY, replicates=2, months=4, jobs=1)
        return write_run(results, tmp_path_factory.mktemp("base"), command="python run.py tiny")


@pytest.fixture
def no_overlays(monkeypatch):
    monkeypatch.setattr(plotting, "plot_overlays", lambda series, out_dir, axis="date": [])


# -- tampering -------------------------------------------------------------------------------------------


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(file: str, line: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell (``line`` 1 is the first data row)."""

    def tamper(folder: Path) -> None:
        rows = rows_of(folder / file)
        rows[line][rows[0].index(column)] = value
        write_rows(folder / file, rows)

    return tamper


def edit_rows(file: str, change: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        write_rows(folder / file, change(rows_of(folder / file)))

    return tamper


def drop_column(rows: list[list[str]], column: str) -> list[list[str]]:
    i = rows[0].index(column)
    return [r[:i] + r[i + 1 :] for r in rows]


def rename_column(rows: list[list[str]], old: str, new: str) -> list[list[str]]:
    rows[0][rows[0].index(old)] = new
    return rows


def swap_columns(rows: list[list[str]], a: int, b: int) -> list[list[str]]:
    for r in rows:
        r[a], r[b] = r[b], r[a]
    return rows


def edit_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        change(manifest)
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return tamper


def set_key(key: str, value: object) -> Callable[[Path], None]:
    return edit_manifest(lambda m: m.__setitem__(key, value))


def write_file(file: str, content: str | bytes) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        path = folder / file
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return tamper


def replace_text(file: str, old: str, new: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        text = (folder / file).read_text(encoding="utf-8")
        assert old in text
        (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")

    return tamper


def fifo(file: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / file).unlink()
        os.mkfifo(folder / file)  # opening it for reading would wait for a writer forever

    return tamper


def dev_zero(file: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / file).unlink()
        (folder / file).symlink_to("/dev/zero")  # reading it would never end

    return tamper


def folder_instead(file: str) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        (folder / file).unlink()
        (folder / file).mkdir()

    return tamper


def remove(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


def truncate(file: str, fraction: float) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        data = (folder / file).read_bytes()
        (folder / file).write_bytes(data[: int(len(data) * fraction)])

    return tamper


def sparse_huge(file: str, size: int) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        with (folder / file).open("r+b") as fh:
            fh.truncate(size)  # sparse: no time or disk spent

    return tamper


def both(*tampers: Callable[[Path], None]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        for t in tampers:
            t(folder)

    return tamper


def add_draws_column(folder: Path) -> None:
    rows = rows_of(folder / "draws.csv")
    write_rows(folder / "draws.csv", [rows[0] + ["world.bonus"], *(r + ["1.0"] for r in rows[1:])])

    def declare(manifest: dict) -> None:
        manifest["tables"]["draws.csv"]["columns"].append("world.bonus")
        manifest["tables"]["draws.csv"]["types"]["world.bonus"] = "float"

    edit_manifest(declare)(folder)


def declare_text(table: str, column: str) -> Callable[[Path], None]:
    """The manifest says a column of numbers is text (and the table holds text there)."""

    def declare(manifest: dict) -> None:
        manifest["tables"][table]["types"][column] = "text"

    return both(edit_manifest(declare), set_cell(table, 1, column, "<b>x</b>"))


BILLION_LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)

MODEL, LABS, DRAWS, SUMMARY = "timeseries.csv", "labs.csv", "draws.csv", "summary.csv"
MANIFEST, SCENARIO = "manifest.json", "scenario.resolved.yaml"

# case -> (tamper the copied folder, the file the message must name, text the message must contain)
CORPUS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # columns
    "missing_column": (
        edit_rows(MODEL, lambda r: drop_column(r, "gap_months_true")),
        MODEL,
        "missing column(s) 'gap_months_true'",
    ),
    "extra_column": (
        edit_rows(MODEL, lambda r: [r[0] + ["bonus"], *(x + ["1"] for x in r[1:])]),
        MODEL,
        "unexpected column(s) 'bonus'",
    ),
    "renamed_column_with_terminal_escape": (
        edit_rows(MODEL, lambda r: rename_column(r, "hhi_usage", "hhi\x1b[2J_usage")),
        MODEL,
        "missing column(s) 'hhi_usage'",
    ),
    "reordered_columns": (edit_rows(LABS, lambda r: swap_columns(r, 8, 9)), LABS, "columns in another order"),
    "draws_column_the_scenario_does_not_draw": (add_draws_column, MANIFEST, "does not make uncertain"),
    # cell types and values
    "text_in_numeric_column": (
        set_cell(MODEL, 2, "open_share_usage", "lots"),
        MODEL,
        "'open_share_usage' must hold numbers, found text at replicate 0, tick 1",
    ),
    "nan_text": (set_cell(MODEL, 1, "gap_months_true", "NaN"), MODEL, "must hold numbers"),
    "empty_cell": (set_cell(MODEL, 3, "hhi_usage", ""), MODEL, "empty or missing value"),
    "inf": (set_cell(MODEL, 1, "gap_months_true", "inf"), MODEL, "holds inf at replicate 0, tick 0"),
    "minus_inf_in_labs": (set_cell(LABS, 5, "capability_true_eci", "-inf"), LABS, "expected finite numbers"),
    "overflow_to_inf": (set_cell(MODEL, 4, "open_share_spend", "1e999"), MODEL, "expected finite numbers"),
    "fraction_as_replicate": (set_cell(MODEL, 1, "replicate", "0.5"), MODEL, "must hold whole numbers"),
    "flag_not_true_false": (set_cell(LABS, 1, "open", "maybe"), LABS, "True or False"),
    "summary_text": (set_cell(SUMMARY, 1, "median", "<b>big</b>"), SUMMARY, "must hold numbers"),
    # ranges and consistency with the manifest
    "replicate_out_of_range": (set_cell(MODEL, 1, "replicate", "7"), MODEL, "outside 0..1"),
    "wrong_date": (set_cell(MODEL, 2, "date", "2031-01"), MODEL, "expected 2025-02"),
    "duplicate_row": (edit_rows(MODEL, lambda r: [*r[:-1], r[1]]), MODEL, "(replicate, tick) pairs"),
    "row_removed": (edit_rows(MODEL, lambda r: r[:-1]), MODEL, "rows; expected 8"),
    "unknown_bloc": (set_cell(LABS, 1, "bloc", "atlantis"), LABS, "not one of the scenario's blocs"),
    "unknown_lab": (set_cell(LABS, 1, "lab", "ghost"), LABS, "names a lab the scenario does not have"),
    "model_seed_changed": (set_cell(DRAWS, 1, "model_seed", "12345"), DRAWS, "model seeds differ"),
    # damaged tables
    "truncated_csv": (truncate(MODEL, 0.6), MODEL, "expected"),
    "ragged_row": (edit_rows(MODEL, lambda r: [*r[:-1], r[-1] + ["9"]]), MODEL, "unreadable timeseries.csv"),
    "binary_garbage": (write_file(LABS, bytes(range(256)) * 8), LABS, "unreadable labs.csv"),
    "empty_table": (write_file(DRAWS, ""), DRAWS, "unreadable draws.csv"),
    "missing_table": (remove(SUMMARY), SUMMARY, "missing summary.csv"),
    "table_is_a_folder": (folder_instead(DRAWS), DRAWS, "is a folder; expected a regular file"),
    "table_is_a_fifo": (fifo(MODEL), MODEL, "is a FIFO (named pipe); expected a regular file"),
    "table_links_to_dev_zero": (dev_zero(LABS), LABS, "is a symbolic link; expected a regular file"),
    # the manifest
    "manifest_not_json": (write_file(MANIFEST, "{not json"), MANIFEST, "not JSON"),
    "manifest_not_utf8": (write_file(MANIFEST, b'{"format": "\xff"}'), MANIFEST, "not UTF-8"),
    "manifest_a_list": (write_file(MANIFEST, "[1, 2]"), MANIFEST, "expected a JSON object, found a list"),
    "manifest_nested_deep": (write_file(MANIFEST, "[" * 200_000), MANIFEST, "nested too deeply"),
    "manifest_nan_literal": (
        replace_text(MANIFEST, '"wall_time_s": null', '"wall_time_s": NaN'),
        MANIFEST,
        "NaN is not a number JSON allows",
    ),
    "manifest_huge": (sparse_huge(MANIFEST, 40 * 2**20), MANIFEST, "too large"),
    "manifest_is_a_fifo": (fifo(MANIFEST), MANIFEST, "FIFO"),
    "manifest_links_to_dev_zero": (dev_zero(MANIFEST), MANIFEST, "symbolic link"),
    "format_other": (
        set_key("format", 1),
        MANIFEST,
        "format 1 found; this version reads run folders of format 2",
    ),
    "format_missing": (
        edit_manifest(lambda m: m.pop("format")),
        MANIFEST,
        "no format version; this version reads run folders of format 2",
    ),
    "format_as_text": (set_key("format", "2"), MANIFEST, "format text found"),
    "seed_as_text": (set_key("seed", "1"), MANIFEST, "seed must be a whole number of at least 0, found text"),
    "seed_as_html": (
        set_key("seed", "<script>alert(1)</script>"),
        MANIFEST,
        "seed must be a whole number of at least 0, found text",
    ),
    "seed_as_bool": (
        set_key("seed", True),
        MANIFEST,
        "seed must be a whole number of at least 0, found true",
    ),
    "seed_negative": (set_key("seed", -1), MANIFEST, "seed must be a whole number of at least 0, found -1"),
    "replicates_negative": (
        set_key("replicates", -2),
        MANIFEST,
        "replicates must be a whole number of at least 1",
    ),
    "replicates_more_than_drawn": (set_key("replicates", 3), MANIFEST, "replicate_draws has 2 entries"),
    "incomplete": (set_key("complete", False), "", "incomplete run folder"),
    "complete_as_text": (set_key("complete", "true"), "", "incomplete run folder"),
    "unexpected_key": (set_key("evil\x1b[31m", 1), MANIFEST, "unexpected key(s) 'evil\\x1b[31m'"),
    "missing_key": (edit_manifest(lambda m: m.pop("tables")), MANIFEST, "missing key(s) tables"),
    "wall_time_as_text": (set_key("wall_time_s", "fast"), MANIFEST, "wall_time_s must be a number"),
    "git_odd": (set_key("git", {"commit": 5}), MANIFEST, "git must be null or an object"),
    "months_disagree": (set_key("months", 5), MANIFEST, "disagree on months"),
    "pinned_but_drawn": (
        set_key("pinned", ["world.eci_per_decade_compute"]),
        MANIFEST,
        "pinned lists 'world.eci_per_decade_compute', which the scenario still draws",
    ),
    "manifest_types_a_number_column_as_text": (
        declare_text(MODEL, "gap_months_true"),
        MANIFEST,
        "tables.timeseries.csv gives column 'gap_months_true' the type text; expected int or float",
    ),
    "tables_type_unknown": (
        edit_manifest(lambda m: m["tables"]["labs.csv"]["types"].__setitem__("open", "complex")),
        MANIFEST,
        "types (one of int, float, bool, text for each column)",
    ),
    "tables_rows_odd": (
        edit_manifest(lambda m: m["tables"]["labs.csv"].__setitem__("rows", "many")),
        MANIFEST,
        "tables.labs.csv must be",
    ),
    # the resolved scenario
    "scenario_a_list": (
        write_file(SCENARIO, "- a\n- b\n"),
        SCENARIO,
        "must be a scenario (a mapping of keys)",
    ),
    "scenario_empty": (write_file(SCENARIO, ""), SCENARIO, "found null"),
    "scenario_invalid_yaml": (write_file(SCENARIO, "name: [unclosed\n"), SCENARIO, "malformed YAML"),
    "scenario_unknown_key": (
        replace_text(SCENARIO, "name: tiny\n", "name: tiny\nbogus_key: 1\n"),
        SCENARIO,
        "is not a valid scenario at bogus_key",
    ),
    "scenario_differs_from_manifest": (
        replace_text(SCENARIO, "Baseline in miniature", "Something else"),
        SCENARIO,
        "differs from the resolved scenario recorded in manifest.json",
    ),
    "scenario_alias_bomb": (write_file(SCENARIO, BILLION_LAUGHS), SCENARIO, "aliases"),
    "scenario_is_a_fifo": (fifo(SCENARIO), SCENARIO, "FIFO"),
    "scenario_links_to_dev_zero": (dev_zero(SCENARIO), SCENARIO, "symbolic link"),
    "scenario_and_manifest_tampered_alike": (
        both(
            replace_text(SCENARIO, "months: 4", "months: 0"),
            edit_manifest(lambda m: m["resolved_scenario"].__setitem__("months", 0)),
        ),
        SCENARIO,
        "not a valid scenario at months",
    ),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_a_malformed_run_folder_is_refused_with_one_message_and_nothing_written(
    base_run: Path, tmp_path: Path, capsys, case: str
) -> None:
    tamper, file, expected = CORPUS[case]
    if ("fifo" in case and not hasattr(os, "mkfifo")) or (
        "dev_zero" in case and not Path("/dev/zero").exists()
    ):
        pytest.skip("needs FIFOs and /dev/zero")
    folder = tmp_path / "run"
    shutil.copytree(base_run, folder)
    tamper(folder)
    out = tmp_path / "out"
    with deadline():
        code = main(["compare", str(folder), str(base_run), "--out", str(out)])
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {folder}: ") and file in err and expected in err, err
    assert "\x1b" not in err and "<script" not in err and "<img" not in err
    assert captured.out == ""
    assert not out.exists()
    with deadline(), pytest.raises(RunFolderError):  # the same refusal from Python
        read_run(folder)


def test_an_untampered_copy_is_accepted(base_run: Path, tmp_path: Path, no_overlays, capsys) -> None:
    """The corpus is made by copying: the copy itself is fine, so each refusal is the tampering's."""
    folder = tmp_path / "run"
    shutil.copytree(base_run, folder)
    out = tmp_path / "out"
    assert main(["compare", str(folder), str(base_run), "--out", str(out)]) == 0, capsys.readouterr().err
    assert read_run(folder).manifest == read_run(base_run).manifest


def test_manifest_and_report_record_pinned_parameters(base_run: Path, tmp_path: Path, no_overlays) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])
        results = simulate(
            TINY, replicates=2, months=4, jobs=1, overrides={"world.eci_per_decade_compute": 6.5}
        )
        folder = write_run(results, tmp_path / "runs")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["pinned"] == ["world.eci_per_decade_compute"]
    assert "world.eci_per_decade_compute" not in manifest["resolved_scenario"]["uncertain"]
    assert manifest["resolved_scenario"]["world"]["eci_per_decade_compute"] == 6.5
    assert "world.eci_per_decade_compute" not in read_run(folder).draws.columns
    assert json.loads((base_run / "manifest.json").read_text())["pinned"] == []

    report = write_comparison(build([read_run(base_run), read_run(folder)]), tmp_path / "out") / "report.html"
    html = report.read_text()
    assert "set explicitly, not drawn: <code>world.eci_per_decade_compute</code>" in html
    assert "none (every uncertain parameter was drawn)" in html  # the base run's provenance


HOSTILE = """extends: tiny
name: tiny_hostile
description: "<script>alert(1)</script> & | # `code` *bold* [link](http://x)"
events:
  - at: 2025-02
    set: {policy.ban.active: false}
    note: "<img src=x onerror=alert(2)> $\\\\foo{$ =cmd|' /C calc'!A0"
"""


def test_text_from_run_folders_is_escaped_in_report_and_figures(
    base_run: Path, tmp_path: Path, no_overlays
) -> None:
    """A hostile description and event note, through real files; the note is also drawn in a run figure
    and an overlay figure (text matplotlib would parse as broken math must not stop a run or a comparison)."""
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plotting, "plot_run", lambda run, out_dir: [])
        folder = write_run(simulate(path, replicates=2, months=4, jobs=1), tmp_path / "runs")
    run = read_run(folder)
    assert plotting.plot_gap(run, tmp_path / "figures").is_file()
    comparison = build([read_run(base_run), run])
    gap_overlay = plotting.overlays([])[0]
    assert plotting.plot_overlay(
        overlay_series(comparison), gap_overlay, tmp_path / "figures", "date"
    ).is_file()

    html = (write_comparison(comparison, tmp_path / "out") / "report.html").read_text()
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; | # `code` *bold* [link](http://x)" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_names_are_escaped_in_markdown_and_neutralised_in_csv(
    base_run: Path, tmp_path: Path, no_overlays
) -> None:
    """Defence in depth: names the schema would refuse, put straight into the runs, are still written
    safely by every writer of a comparison."""
    run = read_run(base_run)
    formula = '=HYPERLINK("http://x","y")'
    markup = "<script>alert(1)</script>|# `x` *y*"
    runs = [dataclasses.replace(run, scenario={**run.scenario, "name": name}) for name in (formula, markup)]
    folder = write_comparison(build(runs), tmp_path / "out")

    with (folder / "differences.csv").open(newline="") as fh:
        table = list(csv.DictReader(fh))
    assert table and all(row["reference"] == "'" + formula for row in table)
    assert all(row["scenario"] == markup for row in table)  # not a formula: left as it is
    float(table[0]["difference"])  # numbers stay numbers
    with (folder / "differences_by_replicate.csv").open(newline="") as fh:
        by_rep = list(csv.DictReader(fh))
    assert by_rep and all(not row["scenario"].startswith(("=", "+", "-", "@")) for row in by_rep)

    text = (folder / "differences.md").read_text()
    assert "<" not in text and ">" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\|\\# \\`x\\` \\*y\\*" in text
    for line in text.splitlines():
        if line.startswith("| Indicator"):
            assert line.replace("\\|", "").count("|") == 8  # the name's bar does not add a column

    html = (folder / "report.html").read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert json.loads((folder / "comparison.json").read_text())["reference"] == formula


def test_formula_and_markdown_escapes() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert formula_safe(text) == "'" + text
    assert formula_safe("tiny") == "tiny" and formula_safe(-1.5) == -1.5 and formula_safe(3) == 3
    assert md("a<b>&c | #d `e` *f* _g_ [h](i)\nj") == (
        "a&lt;b&gt;&amp;c \\| \\#d \\`e\\` \\*f\\* \\_g\\_ \\[h\\](i) j"
    )
    frame = pd.DataFrame({"name": ["=x", "ok"], "value": [-1.0, 2.0]})
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist() == ["'=x", "ok"] and safe["value"].tolist() == [-1.0, 2.0]
    assert frame["name"].tolist() == ["=x", "ok"]  # the comparison's own table is left as it is


def test_an_indicator_that_cannot_be_computed_is_refused_not_shown(
    base_run: Path, tmp_path: Path, capsys
) -> None:
    """Values that pass every check of the reader but make an indicator infinite (a zero it divides by)
    stop the comparison with one message; nothing is written."""
    if "frontier_compute_growth_per_year" not in read_run(base_run).summary.index:
        pytest.skip("no indicator divides by a value of the model table")
    folder = tmp_path / "run"
    shutil.copytree(base_run, folder)
    set_cell(MODEL, 1, "frontier_training_flop", "0.0")(folder)
    out = tmp_path / "out"
    assert main(["compare", str(folder), str(base_run), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder}: indicator 'frontier_compute_growth_per_year' is not a finite")
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_a_model_table_without_a_needed_column_is_refused(base_run: Path) -> None:
    run = read_run(base_run)
    short = dataclasses.replace(run, model=run.model.drop(columns="hhi_usage"))
    with pytest.raises(CompareError, match="timeseries.csv has no column 'hhi_usage'"):
        build([run, short])
