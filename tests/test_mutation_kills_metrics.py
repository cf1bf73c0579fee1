"""Metrics that mutation testing (benchmarks/mutation.py, benchmarks/mutants.md) found untested: the per-lab
columns and what each reports, the frontier history (who counts as closed or open, an empty side, the
prehistory grid), the gap when open leads only now, home-grown vs foreign open usage, and counts when nobody
is alive. Hand-made inputs with exact expectations, like tests/test_metrics.py."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import SMALL_SCENARIO

from simulation import metrics
from simulation.config import scenario_from_dict
from simulation.metrics import FrontierHistory, gap_months, market_shares

# output column -> Lab attribute (price_usd_per_mtok and users_<segment> are computed)
LAB_COLUMNS = {
    "lab": "name",
    "kind": "kind",
    "bloc": "bloc",
    "open": "is_open",
    "release": "release_option",  # how its current model was released (open, closed, capped, ...)
    "alive": "active",
    "capability_true_eci": "capability_true_eci",
    "capability_benchmark_eci": "capability_benchmark_eci",
    "internal_capability_eci": "internal_capability_eci",
    "compute_flop_per_month": "compute_flop_per_month",
    "training_flop": "training_flop",
    "cash_usd": "cash_usd",
    "runway_months": "runway_months",
    "revenue_usd": "revenue_usd",
    "raised_usd": "raised_usd",
    "compute_spend_usd": "compute_spend_usd",
    "costs_usd": "costs_usd",
    "subsidy_usd": "subsidy_received_usd",
    "patron_support": "patron_support",
    "build_limited": "build_limited",
    "know_how_eci": "know_how_eci",
    "training_efficiency": "training_efficiency",
    "serving_cost_usd_per_mtok": "serving_cost",
    "users": "users",
    "usage_mtok": "usage_mtok",
}


def test_lab_columns_report_the_lab_attributes(make_model) -> None:
    model = make_model()
    model.step()
    frame = model.lab_frame().query("tick == 1").drop(columns="tick")
    assert list(frame.columns) == [*LAB_COLUMNS, "price_usd_per_mtok", "users_general", "users_local"]
    for lab in model.lab_list:
        row = frame[frame["lab"] == lab.name].iloc[0]
        for column, attr in LAB_COLUMNS.items():
            assert row[column] == getattr(lab, attr), column
        assert row["price_usd_per_mtok"] == lab.price_usd_per_mtok()
        assert [row["users_general"], row["users_local"]] == list(lab.users_by_segment)


def test_counts_and_largest_runs_when_no_lab_is_alive(make_model) -> None:
    model = make_model()
    model.step()
    for lab in model.lab_list:
        lab.alive = False
    row = metrics.compute(model)
    assert row["frontier_training_flop"] == 0.0
    assert row["max_training_flop_us"] == row["max_training_flop_china"] == 0.0
    assert (row["labs_alive_open"], row["labs_alive_closed"], row["labs_alive_us"]) == (0, 0, 0)
    for lab in model.lab_list:
        lab.alive = True
    row = metrics.compute(model)
    assert (row["labs_alive_open"], row["labs_alive_closed"], row["labs_alive_china"]) == (2, 1, 1)


def test_negative_gap_when_open_leads_only_now() -> None:
    ticks = np.array([0.0, 1.0, 2.0])
    # open was behind at tick 1 and leads at tick 2: it reached closed's best (102) at 1 + 2/5
    assert gap_months(
        ticks, np.array([100.0, 101.0, 102.0]), np.array([99.0, 100.0, 105.0])
    ) == pytest.approx(-0.6)


def lab(active: bool, is_open: bool, true: float) -> SimpleNamespace:
    return SimpleNamespace(
        active=active, is_open=is_open, capability_true_eci=true, capability_benchmark_eci=true + 1.0
    )


def test_frontier_history_counts_active_labs_of_each_kind() -> None:
    hist = FrontierHistory()
    offerings = [lab(True, False, 100.0), lab(True, True, 105.0), lab(False, False, 110.0)]
    hist.append(SimpleNamespace(offerings=offerings, tick=0))
    # no active closed lab: the closed frontier stays where it was; no open one: -inf
    hist.append(SimpleNamespace(offerings=[lab(True, True, 107.0), lab(False, False, 120.0)], tick=1))
    hist.append(SimpleNamespace(offerings=[lab(True, False, 103.0), lab(False, True, 130.0)], tick=2))
    assert hist.ticks == [0.0, 1.0, 2.0]
    assert hist.closed_true == [100.0, 100.0, 103.0]
    assert hist.closed_bench == [101.0, 101.0, 104.0]
    assert hist.open_true == [105.0, 107.0, -np.inf]
    assert hist.open_bench == [106.0, 108.0, -np.inf]


def test_gaps_by_hand() -> None:
    hist = FrontierHistory()
    for t, ct, ot, cb, ob in [(0, 100, 95, 101, 96), (1, 102, 99, 103, 100), (2, 104, 103, 105, 106)]:
        hist._add(float(t), ct, ot, cb, ob)
    assert hist.gaps() == pytest.approx(
        {
            "closed_frontier_true_eci": 104.0,
            "open_frontier_true_eci": 103.0,
            "closed_frontier_benchmark_eci": 105.0,
            "open_frontier_benchmark_eci": 106.0,
            "gap_months_true": 0.5,  # closed stood at 103 half-way between ticks 1 and 2
            "gap_months_benchmark": -1 / 6,  # open reached 105 at 1 + 5/6
            "gap_points_true": 1.0,
            "gap_points_benchmark": -1.0,
        }
    )


def test_prehistory_is_monthly_up_to_the_month_before_the_start(small_scenario) -> None:
    hist = FrontierHistory.from_prehistory(small_scenario)
    # points 2024-06 (tick -7: 126 / 116) and 2024-12 (tick -1: 130.5 / 127); focus 0.5 closed, 3 open
    assert hist.ticks == list(range(-7, 0))
    np.testing.assert_allclose(hist.closed_bench, [126.0 + 0.75 * k for k in range(7)])
    np.testing.assert_allclose(hist.open_bench, [116.0 + 11 / 6 * k for k in range(7)])
    np.testing.assert_allclose(hist.closed_true, [125.5 + 0.75 * k for k in range(7)])
    np.testing.assert_allclose(hist.open_true, [113.0 + 11 / 6 * k for k in range(7)])


def test_a_prehistory_point_at_the_start_month_adds_no_tick_zero() -> None:
    data = copy.deepcopy(SMALL_SCENARIO)
    data["prehistory"]["points"] = [
        {"date": "2024-11", "closed_eci": 126.0, "open_eci": 116.0},
        {"date": "2025-01", "closed_eci": 130.0, "open_eci": 120.0},
    ]
    hist = FrontierHistory.from_prehistory(scenario_from_dict(data))
    assert hist.ticks == [-2, -1]  # tick 0 is the model's own
    np.testing.assert_allclose(hist.closed_bench, [126.0, 128.0])


def test_home_grown_and_foreign_open_usage_by_region() -> None:
    # one segment, regions us and china, labs: closed us, open us, open china (+ the no-model column)
    usage = np.array([[[4.0, 3.0, 1.0, 2.0], [0.5, 0.2, 0.3, 0.0]]])
    users = np.ones_like(usage)
    args = (np.array([False, True, True]), np.array([0, 0, 1]), np.ones(3), ["s"], ["us", "china"])
    out = market_shares(users, usage, *args, ["us", "china"])
    assert out["region_us_open_share_domestic"] == pytest.approx(3 / 8)
    assert out["region_us_open_share_foreign"] == pytest.approx(1 / 8)
    assert out["region_china_open_share_domestic"] == pytest.approx(0.3)
    assert out["region_china_open_share_foreign"] == pytest.approx(0.2)
    assert out["closed_providers_over_5pct"] == 1.0
    # a region that is not a bloc gets no home-grown split
    out = market_shares(users, usage, *args[:-1], ["eu", "china"], ["us", "china"])
    assert "region_eu_open_share_domestic" not in out and "region_china_open_share_domestic" in out
    # closed usage under 1 Mtok in all still counts its providers
    small = market_shares(users, usage * 0.1, *args, ["us", "china"])
    assert small["closed_providers_over_5pct"] == 1.0


def test_months_since_reached_at_the_edges() -> None:
    ticks = np.array([0.0, 1.0, 2.0])
    # the level stood there from the first point: a lower bound, now - first tick
    assert metrics.months_since_reached(ticks, np.array([102.0, 102.0, 103.0]), 102.0, now=2.0) == 2.0
    # reached exactly at the last point
    assert metrics.months_since_reached(ticks, np.array([100.0, 101.0, 102.0]), 102.0, now=2.0) == 0.0
    assert metrics.months_since_reached(ticks, np.array([100.0, 101.0, 102.0]), 101.0, now=2.0) == 1.0
    # never reached
    assert metrics.months_since_reached(ticks, np.array([100.0, 101.0, 102.0]), 105.0, now=2.0) == 0.0


def test_closed_providers_over_five_percent_and_no_open_labs() -> None:
    # one segment and region; three closed labs with 94, 5 (exactly 5%: not over) and 1 Mtok
    usage = np.array([[[94.0, 5.0, 1.0, 0.0]]])
    out = market_shares(
        np.ones_like(usage), usage, np.zeros(3, bool), np.zeros(3, int), np.ones(3), ["s"], ["us"], ["us"]
    )
    assert out["closed_providers_over_5pct"] == 1.0
    assert out["hhi_open_usage"] == 0.0 and out["top_open_share_of_open_usage"] == 0.0
    assert out["hhi_usage"] == pytest.approx(0.94**2 + 0.05**2 + 0.01**2)


def test_own_state_shares_by_hand() -> None:
    # 2 segments x 2 regions x 2 labs (+ no model); region 0 co-owns lab 0
    usage = np.array([[[3.0, 1.0, 9.0], [2.0, 2.0, 0.0]], [[0.0, 4.0, 0.0], [1.0, 0.0, 0.0]]])
    owned = np.array([[1.0, 0.0], [0.0, 0.0]])
    out = metrics.own_state_shares(usage, owned, ["a", "b"])
    assert out == pytest.approx(
        {"own_state_share_usage": 3 / 13, "own_state_share_usage_a": 3 / 8, "own_state_share_usage_b": 0.0}
    )


def test_the_prehistory_grid_runs_to_the_last_point_not_the_second() -> None:
    data = copy.deepcopy(SMALL_SCENARIO)
    data["prehistory"]["points"] = [
        {"date": "2024-06", "closed_eci": 126.0, "open_eci": 116.0},  # tick -7
        {"date": "2024-09", "closed_eci": 129.0, "open_eci": 119.0},  # tick -4
        {"date": "2024-12", "closed_eci": 130.5, "open_eci": 127.0},  # tick -1
    ]
    hist = FrontierHistory.from_prehistory(scenario_from_dict(data))
    assert hist.ticks == list(range(-7, 0))
    np.testing.assert_allclose(hist.closed_bench, [126.0, 127.0, 128.0, 129.0, 129.5, 130.0, 130.5])


def test_unserved_usage_is_the_no_model_column_over_all_usage() -> None:
    # one segment, regions us and china, labs: closed us, open us (+ the no-model column)
    usage = np.array([[[10.0, 20.0, 5.0], [0.0, 30.0, 15.0]]])
    users = np.ones_like(usage, dtype=int)
    out = market_shares(
        users,
        usage,
        np.array([False, True]),
        np.array([0, 0]),
        np.array([1.0, 1.0]),
        ["general"],
        ["us", "china"],
        ["us", "china"],
    )
    assert out["unserved_share_usage"] == pytest.approx(20.0 / 80.0)
    assert out["unserved_share_usage_region_us"] == pytest.approx(5.0 / 35.0)
    assert out["unserved_share_usage_region_china"] == pytest.approx(15.0 / 45.0)
    assert out["total_usage_mtok"] == pytest.approx(60.0)  # served usage only


def test_largest_training_run_by_bloc(make_model) -> None:
    # 4 months of 1e26, 1e25 (US) and 1e24 FLOP/month (China) at the start
    row = make_model().current
    assert row["max_training_flop_us"] == pytest.approx(4e26)
    assert row["max_training_flop_china"] == pytest.approx(4e24)
    assert row["frontier_training_flop"] == pytest.approx(4e26)


def test_a_lab_row_reads_attributes_then_callables_in_column_order() -> None:
    from types import SimpleNamespace

    from simulation.metrics import LabRow

    row = LabRow({"lab": "name", "cash": "cash_usd", "double": lambda x: 2 * x.cash_usd})
    assert row(SimpleNamespace(name="a", cash_usd=1.5)) == ("a", 1.5, 3.0)
    with pytest.raises(ValueError, match="attribute names must come before callables"):
        LabRow({"double": lambda x: x, "lab": "name"})
