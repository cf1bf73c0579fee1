"""The data dictionary (simulation.datadict): every CSV of a run folder read through its datapackage.json,
every column described, the declared types those of the data, and docs/outputs.md in step."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation import cli, metrics, simulate
from simulation.config import load_scenario
from simulation.datadict import (
    DATA_TYPES,
    INDICATORS,
    NUMERIC,
    PANDAS_EXAMPLE,
    PLACEHOLDERS,
    TABLE_COLUMNS,
    TYPES,
    DataDictionaryError,
    UndeclaredColumnError,
    data_package,
    describe_columns,
    format_value,
    indicator_declarations,
    main,
    markdown,
    package_name,
    run_folder_package,
)
from simulation.experiments.runner import shipped_scenarios
from simulation.outputs import DATAPACKAGE, MANIFEST, SUMMARY_CSV, TABLES, read_run, write_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
YEARMONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
INTEGER = re.compile(r"[+-]?\d+")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    code = cli.main(["tiny", "--replicates", "2", "--months", "4", "--out", str(out), "--jobs", "1"])
    assert code == 0
    (folder,) = [p for p in (out / "tiny").iterdir() if p.name != "latest"]
    return folder


@pytest.fixture(scope="module")
def package(run_dir: Path) -> dict:
    return json.loads((run_dir / DATAPACKAGE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(TINY)


def resources(package: dict) -> dict[str, dict]:
    return {r["name"]: r for r in package["resources"]}


# -- the package in a run folder -------------------------------------------------------------------------


def test_every_csv_of_the_folder_is_a_resource(run_dir: Path, package: dict) -> None:
    assert package["profile"] == "tabular-data-package"
    assert re.fullmatch(r"[-a-z0-9._/]+", package["name"])
    assert sorted(r["path"] for r in package["resources"]) == sorted(p.name for p in run_dir.glob("*.csv"))
    assert sorted(r["path"] for r in package["resources"]) == sorted([*TABLES.values(), SUMMARY_CSV])
    for resource in package["resources"]:
        assert resource["profile"] == "tabular-data-resource" and resource["format"] == "csv"
        assert resource["name"] == Path(resource["path"]).stem and resource["description"]
    assert package["licenses"][0]["name"] == "MIT"
    assert any("Epoch AI" in s["title"] and "CC-BY" in s["title"] for s in package["sources"])
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    assert DATAPACKAGE in manifest["files"] and manifest["complete"] is True
    assert package["created"] == manifest["created_utc"]
    read_run(run_dir)  # the folder still passes the reader's checks


def test_every_column_is_described(run_dir: Path, package: dict) -> None:
    for resource in package["resources"]:
        fields = resource["schema"]["fields"]
        header = (run_dir / resource["path"]).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert [f["name"] for f in fields] == header, resource["name"]
        for f in fields:
            where = f"{resource['name']}.{f['name']}"
            assert f["type"] in TYPES, where
            assert f["description"].strip() and f["formula"].strip(), where
            if f["type"] in NUMERIC:
                assert f.get("unit", "").strip(), f"{where}: a number needs a unit"
                assert f["unit"] in f["description"], where
            assert f["constraints"]["required"] is True, where


def test_declared_types_are_the_manifests(run_dir: Path, package: dict) -> None:
    tables = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))["tables"]
    for resource in package["resources"]:
        written = tables[resource["path"]]["types"]
        for f in resource["schema"]["fields"]:
            assert written[f["name"]] in DATA_TYPES[f["type"]], (resource["name"], f["name"])


def check_cells(resource: dict, raw: pd.DataFrame) -> None:
    """Table Schema's rules for the types and constraints used here, on the cells as written."""
    for f in resource["schema"]["fields"]:
        cells, where = raw[f["name"]], f"{resource['name']}.{f['name']}"
        assert (cells != "").all(), f"{where}: empty cell"
        if f["type"] == "integer":
            assert cells.str.fullmatch(INTEGER).all(), where
        elif f["type"] == "number":
            assert all(math.isfinite(float(c)) for c in cells), where
        elif f["type"] == "boolean":
            assert cells.isin(f["trueValues"] + f["falseValues"]).all(), where
        elif f["type"] == "yearmonth":
            assert cells.str.fullmatch(YEARMONTH).all(), where
        if "enum" in f["constraints"]:
            assert cells.isin(f["constraints"]["enum"]).all(), where


def test_tables_read_through_the_package_with_the_declared_types(run_dir: Path, package: dict) -> None:
    namespace: dict = {}
    exec(PANDAS_EXAMPLE.replace('"outputs/baseline/latest"', repr(str(run_dir))), namespace)  # the docs' code
    read_table = namespace["read_table"]
    frames = {}
    for name, resource in resources(package).items():
        frame = frames[name] = read_table(run_dir, name)
        raw = pd.read_csv(run_dir / resource["path"], dtype=str, keep_default_na=False)
        check_cells(resource, raw)
        for f in resource["schema"]["fields"]:
            series, where = frame[f["name"]], f"{name}.{f['name']}"
            if f["type"] in ("string", "yearmonth"):
                assert series.map(type).eq(str).all(), where  # text, whether pandas' str or object dtype
            else:
                assert (
                    series.dtype
                    == {"integer": np.int64, "number": np.float64, "boolean": np.bool_}[f["type"]]
                )
        key = resource["schema"]["primaryKey"]
        assert not frame.duplicated(key).any(), f"{name}: primary key {key} not unique"
    for name, resource in resources(package).items():
        for fk in resource["schema"].get("foreignKeys", []):
            own = frames[name][fk["fields"]].drop_duplicates()
            other = frames[fk["reference"]["resource"]][fk["reference"]["fields"]]
            joined = own.merge(other, left_on=fk["fields"], right_on=fk["reference"]["fields"], how="left")
            assert len(joined) == len(own) and own.isin(other.to_dict("list")).all().all(), name
    assert (namespace["model"].columns == frames["timeseries"].columns).all()


def test_shares_are_fractions_and_say_so(run_dir: Path, package: dict) -> None:
    model = pd.read_csv(run_dir / TABLES["model"])
    shares = [
        f for f in resources(package)["timeseries"]["schema"]["fields"] if f["unit"].startswith("fraction")
    ]
    assert len(shares) > 10
    for f in shares:
        assert "not percent" in f["description"], f["name"]
        assert model[f["name"]].between(0, 1 + 1e-9).all(), f["name"]
    indicators = {i["name"]: i for i in resources(package)["summary"]["indicators"]}
    assert indicators["open_share_usage_end"]["unit"].startswith("fraction")
    assert "not percent" in indicators["open_share_usage_end"]["description"]


def test_summary_indicators_are_described(run_dir: Path, package: dict) -> None:
    summary = resources(package)["summary"]
    names = pd.read_csv(run_dir / SUMMARY_CSV)["indicator"].tolist()
    assert [i["name"] for i in summary["indicators"]] == names
    assert summary["schema"]["fields"][0]["constraints"]["enum"] == names
    for indicator in summary["indicators"]:
        assert indicator["description"] and indicator["unit"] and indicator["formula"], indicator["name"]


def test_frictionless_validates_the_package(run_dir: Path) -> None:
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(str(run_dir / DATAPACKAGE))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_a_saved_folder_gives_the_same_package(run_dir: Path, package: dict, capsys) -> None:
    assert run_folder_package(run_dir) == package
    assert main([str(run_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == package
    assert main([str(run_dir / "plots")]) == 2 and "error:" in capsys.readouterr().err


# -- the declarations ------------------------------------------------------------------------------------


def test_docs_page_is_up_to_date() -> None:
    page = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    assert page == markdown(), "run: python -m simulation.datadict > docs/outputs.md"


def test_declarations_are_complete() -> None:
    for table, columns in {**TABLE_COLUMNS, "indicators": INDICATORS}.items():
        names = [c.name for c in columns]
        assert len(names) == len(set(names)), table
        for c in columns:
            assert c.meaning.endswith(".") and c.formula, (table, c.name)
            assert c.unit or c.type in ("string",), (table, c.name)
            assert set(c.placeholders) <= set(PLACEHOLDERS), (table, c.name)


def test_an_undeclared_metric_stops_the_run_being_saved(monkeypatch, tmp_path: Path) -> None:
    compute = metrics.compute
    monkeypatch.setattr(metrics, "compute", lambda model: {**compute(model), "brand_new_metric": 0.5})
    results = simulate(TINY, replicates=1, months=2, jobs=1)
    assert "brand_new_metric" in results.model.columns
    with pytest.raises(UndeclaredColumnError, match=r"timeseries\.csv: .*'brand_new_metric'.*datadict\.py"):
        write_run(results, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # no folder, complete or not


def test_undeclared_columns_are_all_named(tiny) -> None:
    with pytest.raises(UndeclaredColumnError) as err:
        describe_columns("timeseries.csv", ["tick", "fake_metric", "open_share_usage_martians"], tiny)
    assert "'fake_metric'" in str(err.value) and "'open_share_usage_martians'" in str(err.value)
    with pytest.raises(UndeclaredColumnError, match="'users_martians'"):
        describe_columns("labs", ["users_knowledge_workers", "users_martians"], tiny)
    with pytest.raises(UndeclaredColumnError, match="'world.not_drawn'"):
        describe_columns("draws", ["replicate", "world.not_drawn"], tiny)
    with pytest.raises(UndeclaredColumnError, match="'tick_end'"):  # a metric that is not a number
        indicator_declarations(["gap_months_true_end", "tick_end", "date_end"], tiny)


def test_a_column_of_another_type_than_declared_is_refused(tiny) -> None:
    with pytest.raises(
        DataDictionaryError, match="'labs_alive_open' is written as float but declared integer"
    ):
        describe_columns("timeseries.csv", ["labs_alive_open"], tiny, {"labs_alive_open": "float"})
    with pytest.raises(DataDictionaryError, match="'open'"):
        describe_columns("labs.csv", ["open"], tiny, {"open": "int"})
    (field,) = describe_columns("labs.csv", ["users"], tiny, {"users": "int"})
    assert field["type"] == "integer" and field["unit"] == "count of adopters"


def test_every_lab_reporter_is_declared(tiny) -> None:
    columns = ["replicate", "tick", "date", *metrics.lab_reporters(list(tiny.adopters.segments))]
    fields = describe_columns("labs", columns, tiny)
    assert [f["name"] for f in fields] == columns


def test_families_expand_with_the_scenarios_names(tiny) -> None:
    (domestic, from_china, seg) = describe_columns(
        "timeseries.csv",
        ["region_eu_open_share_domestic", "region_us_open_share_from_china", "open_share_usage_developers"],
        tiny,
    )
    assert "region eu" in domestic["description"] and "bloc china" in from_china["description"]
    assert "segment developers" in seg["description"]
    with pytest.raises(UndeclaredColumnError):  # rest_of_world is a region, not a bloc
        describe_columns("timeseries.csv", ["region_rest_of_world_open_share_domestic"], tiny)
    (drawn,) = describe_columns(
        "draws", ["world.rl_gain_eci_per_month"], tiny, {"world.rl_gain_eci_per_month": "float"}
    )
    assert drawn["unit"] == "ECI points per month" and "calibration posterior" in drawn["formula"]
    assert "Online-RL gain" in drawn["description"]


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_every_shipped_scenario_is_described(path: Path) -> None:
    results = simulate(path, replicates=1, n_adopters=60, jobs=1)  # whole horizon: events may be drawn
    tables = {name: getattr(results, attr) for attr, name in TABLES.items()}
    tables[SUMMARY_CSV] = results.summary.reset_index()
    package = data_package(tables, results.scenario, list(results.summary.index))
    assert [len(r["schema"]["fields"]) for r in package["resources"]] == [
        len(t.columns) for t in tables.values()
    ]


def test_values_are_rounded_for_people(tiny) -> None:
    assert format_value("timeseries.csv", "open_share_usage", 0.45235, tiny) == "45.2%"
    assert format_value("timeseries.csv", "gap_months_true", 8.1926, tiny) == "8.2"
    assert format_value("timeseries.csv", "frontier_training_flop", 3.14e26, tiny) == "3.1e+26"
    assert format_value("labs", "cash_usd", 1.234e9, tiny) == "1.23bn"
    assert format_value("labs", "users", np.int64(1234), tiny) == "1,234"
    assert format_value("labs", "open", True, tiny) == "True"
    assert format_value("summary", "labs_alive_us_end", 7.0, tiny, indicator=True) == "7"
    assert format_value("summary", "labs_alive_us_end", 6.5, tiny, indicator=True) == "6.5"
    assert format_value("timeseries.csv", "gap_months_true", -0.04, tiny) == "0.0"
    assert (
        format_value("summary", "open_usage_share_origin_china_end", 0.7536, tiny, indicator=True) == "75.4%"
    )


def test_package_names_are_valid_whatever_the_scenario_name() -> None:
    for name in ("tiny", "Ünïcode scenario/../x", "...", "A_B.c-d"):
        assert re.fullmatch(r"[-a-z0-9._/]+", package_name(name)), name
