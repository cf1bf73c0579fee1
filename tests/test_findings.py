"""The named scenarios' measured effects (simulation/findings.py, docs/findings.md): exact arithmetic on
hand-made tables, and the page is what the current model gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulation.config import load_scenario
from simulation.findings import (
    ban_answers,
    ban_destinations,
    consortium_effects,
    funded_labs,
    squeeze_effects,
    us_demand_shares,
)
from simulation.levers import fingerprint

ROOT = Path(__file__).resolve().parents[1]


def _model(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _us(replicate, tick, domestic, foreign, open_share, unserved) -> dict:
    return {
        "replicate": replicate,
        "tick": tick,
        "region_us_open_share_domestic": domestic,
        "region_us_open_share_foreign": foreign,
        "open_share_usage_region_us": open_share,
        "unserved_share_usage_region_us": unserved,
    }


def test_us_demand_splits_into_four_destinations_that_add_up() -> None:
    frame = us_demand_shares(_model([_us(0, 0, 0.1, 0.3, 0.4, 0.2)]))
    row = frame.iloc[0]
    assert row["domestic_open"] == pytest.approx(0.08)  # 0.1 of served usage x 0.8 served
    assert row["foreign_open"] == pytest.approx(0.24)
    assert row["closed"] == pytest.approx(0.48)
    assert row["none"] == pytest.approx(0.2)
    assert row[["domestic_open", "foreign_open", "closed", "none"]].sum() == pytest.approx(1.0)


def test_ban_destinations_are_paired_window_means() -> None:
    """Two replicates, ticks 0-2, the window from tick 1: the ban moves 0.05 of US demand from US-built open
    models to closed ones in replicate 0 and 0.07 in replicate 1 (mean 0.06)."""
    base, ban = [], []
    for r, moved in ((0, 0.05), (1, 0.07)):
        for t in range(3):
            base.append(_us(r, t, 0.20, 0.30, 0.50, 0.0))
            shift = moved if t >= 1 else 0.0
            ban.append(_us(r, t, 0.20 - shift, 0.30, 0.50 - shift, 0.0))
    table = ban_destinations(_model(base), _model(ban), from_tick=1).set_index("destination")
    assert table.loc["domestic_open", "effect"] == pytest.approx(-0.06)
    assert table.loc["closed", "effect"] == pytest.approx(+0.06)
    assert table.loc["foreign_open", "effect"] == pytest.approx(0.0)
    assert table.loc["domestic_open", "baseline"] == pytest.approx(0.20)
    # t(0.95, 1) x sd(0.05, 0.07) / sqrt(2) = 6.3138 x 0.014142 / 1.41421
    half = 6.313752 * np.std([0.05, 0.07], ddof=1) / np.sqrt(2)
    assert table.loc["closed", "ci5"] == pytest.approx(0.06 - half, rel=1e-5)


def test_ban_answers_count_replicates_by_last_release_option() -> None:
    labs = pd.DataFrame(
        [
            {"replicate": r, "tick": t, "lab": lab, "kind": "lab", "bloc": bloc, "open": o, "release": rel}
            for r, rel in ((0, "offshore"), (1, "closed"), (2, "offshore"))
            for t, o in ((0, True), (5, rel != "closed"))
            for lab, bloc in (("meta", "us"), ("qwen", "china"))
        ]
    )
    got = ban_answers(labs)
    assert got.to_dict("records") == [
        {"lab": "meta", "answer": "closed", "replicates": 1},
        {"lab": "meta", "answer": "offshore", "replicates": 2},
    ]


def test_squeeze_lag_is_the_first_window_whose_interval_excludes_zero() -> None:
    """The gap difference is 0 until 4 months after the squeeze (tick 10), then 1 or 1.2 months by replicate:
    the first 3-month window whose interval excludes zero starts at month 2 (it holds ticks 12-14, two of
    them shifted)."""
    rows_b, rows_s = [], []
    for r, size in ((0, 1.0), (1, 1.2), (2, 1.1)):
        for t in range(30):
            base = {"replicate": r, "tick": t, "gap_months_benchmark": 5.0, "gap_months_true": 8.0}
            base["open_usage_share_origin_china"] = 0.5
            shifted = dict(base)
            if t >= 14:
                shifted["gap_months_true"] += size
            rows_b.append(base)
            rows_s.append(shifted)
    table = squeeze_effects(_model(rows_b), _model(rows_s), event_tick=10).set_index("outcome")
    assert table.loc["gap_months_true", "lag_months"] == 2.0  # window 12-14 holds tick 14
    assert table.loc["gap_months_true", "first_effect"] == pytest.approx(1.1 / 3)  # one shifted month of 3
    assert table.loc["gap_months_true", "effect"] == pytest.approx(1.1)  # last 12 months
    assert np.isnan(table.loc["gap_months_benchmark", "lag_months"])  # never moves


def test_consortium_cost_per_point_is_extra_patron_money_over_the_effect() -> None:
    def run(own_state: list[float], subsidies: dict[str, float]):
        model = _model(
            [
                {
                    "replicate": r,
                    "tick": t,
                    "open_share_usage_sovereign": 0.6,
                    "own_state_share_usage_sovereign": own_state[r],
                    "open_share_usage": 0.4,
                }
                for r in range(2)
                for t in range(4)
            ]
        )
        labs = pd.DataFrame(
            [
                {"replicate": r, "tick": t, "lab": lab, "subsidy_usd": usd}
                for r in range(2)
                for t in range(4)
                for lab, usd in subsidies.items()
            ]
        )
        return SimpleNamespace(model=model, labs=labs)

    base = run([0.0, 0.0], {"mistral": 0.0, "tii": 1e7})
    consortium = run([0.02, 0.04], {"mistral": 5e7, "tii": 5e7, "consortium": 3e8})
    table, cost = consortium_effects(base, consortium, from_tick=0, funded=("consortium", "mistral", "tii"))
    assert table.set_index("outcome").loc["own_state_share_usage_sovereign", "effect"] == pytest.approx(0.03)
    assert table.set_index("outcome").loc["open_share_usage_sovereign", "effect"] == 0.0
    assert cost["usd_per_month"] == pytest.approx(5e7 + 4e7 + 3e8)
    assert cost["usd_per_month_per_point"] == pytest.approx(3.9e8 / 3.0)


def test_findings_page_is_up_to_date_and_in_the_scenarios_page() -> None:
    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert f"Model fingerprint: `{fingerprint()}`" in page, (
        "the model or a shipped scenario changed: python run.py findings > docs/findings.md, then "
        "python -m simulation.config.docs > docs/scenarios.md"
    )
    scenarios = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert "## What the named scenarios do" in scenarios and fingerprint() in scenarios


def test_findings_command_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "run.py", "findings", "--replicates", "2", "--adopters", "300", "--jobs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for heading in ("where US demand goes", "lag and size", "effect and cost"):
        assert heading in out
    assert "| US-built open models |" in out and "| meta |" in out


def test_the_labs_a_consortium_pays_for_come_from_the_scenario() -> None:
    """The new consortium lab, and the labs whose patron plan the scenario's event sets."""
    base, consortium = load_scenario("baseline"), load_scenario("sovereign_consortium")
    assert funded_labs(consortium, base) == ("consortium", "mistral", "tii")
    assert funded_labs(base, base) == ()
