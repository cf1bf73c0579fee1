"""Gap arithmetic (F1), concentration (F4) and adoption shares on hand-made series and tallies."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.metrics import gap_months, hhi, market_shares, months_since_reached

# -- months_since_reached / gap_months ------------------------------------------------------------------


def test_level_reached_between_two_months_is_interpolated() -> None:
    # closed frontier 102 at tick 1, 104 at tick 2: it stood at 103 half-way, at tick 1.5
    ticks = np.array([0.0, 1.0, 2.0])
    assert months_since_reached(ticks, np.array([100.0, 102.0, 104.0]), 103.0, now=2.0) == pytest.approx(0.5)


def test_gap_from_closed_and_open_series() -> None:
    ticks = np.array([0.0, 1.0, 2.0])
    closed = np.array([100.0, 102.0, 104.0])
    open_ = np.array([95.0, 99.0, 103.0])
    assert gap_months(ticks, closed, open_) == pytest.approx(0.5)


def test_gap_exactly_on_a_month() -> None:
    ticks = np.arange(6.0)
    closed = np.array([100.0, 101.0, 102.0, 103.0, 104.0, 105.0])
    open_ = np.full(6, 102.0)
    # closed stood at 102 at tick 2; now is tick 5
    assert gap_months(ticks, closed, open_) == pytest.approx(3.0)


def test_gap_uses_running_maximum_of_closed_frontier() -> None:
    # a dip after a peak does not count as "reaching" the level later: first reached between tick 0 and 1
    ticks = np.array([0.0, 1.0, 2.0, 3.0])
    closed = np.array([100.0, 105.0, 101.0, 106.0])
    assert months_since_reached(ticks, closed, 103.0, now=3.0) == pytest.approx(3.0 - 0.6)
    assert gap_months(ticks, closed, np.array([90.0, 95.0, 99.0, 103.0])) == pytest.approx(2.4)


def test_interpolation_starts_from_the_frontier_not_a_dip() -> None:
    # series 100, 102, 101, 104: the frontier is 100, 102, 102, 104, so 103 is reached at tick 2.5
    # (interpolating from the dip, 101 at tick 2, would wrongly give tick 2.67)
    ticks = np.array([0.0, 1.0, 2.0, 3.0])
    assert months_since_reached(
        ticks, np.array([100.0, 102.0, 101.0, 104.0]), 103.0, now=3.0
    ) == pytest.approx(0.5)


def test_negative_gap_when_open_leads() -> None:
    ticks = np.array([0.0, 1.0, 2.0])
    closed = np.array([100.0, 101.0, 102.0])
    open_ = np.array([99.0, 103.0, 105.0])
    # open frontier first reached the closed best (102) at 99 + 3/4 * (103 - 99): tick 0.75, 1.25 months ago
    assert gap_months(ticks, closed, open_) == pytest.approx(-1.25)


def test_gap_zero_when_level_reached_now() -> None:
    ticks = np.array([0.0, 1.0, 2.0])
    assert gap_months(ticks, np.array([100.0, 101.0, 102.0]), np.array([90.0, 91.0, 102.0])) == pytest.approx(
        0.0
    )


def test_level_already_reached_at_first_point_gives_lower_bound() -> None:
    ticks = np.array([-4.0, -3.0, -2.0, -1.0, 0.0])
    closed = np.array([110.0, 111.0, 112.0, 113.0, 114.0])
    assert months_since_reached(ticks, closed, 105.0, now=0.0) == pytest.approx(4.0)


def test_gap_with_negative_and_fractional_ticks() -> None:
    ticks = np.array([-3.0, -2.0, -1.0, 0.0])
    closed = np.array([120.0, 124.0, 128.0, 132.0])
    open_ = np.array([110.0, 115.0, 120.0, 125.0])
    # 125 is a quarter of the way from 124 (tick -2) to 128 (tick -1): tick -1.75, 1.75 months before 0
    assert gap_months(ticks, closed, open_) == pytest.approx(1.75)


# -- hhi -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ([1.0], 1.0),
        ([0.5, 0.5], 0.5),
        ([0.25, 0.25, 0.25, 0.25], 0.25),
        ([0.6, 0.3, 0.1], 0.36 + 0.09 + 0.01),
        ([6.0, 3.0, 1.0], 0.36 + 0.09 + 0.01),  # not yet normalised
        ([0.0, 0.0], 0.0),  # nobody: no concentration
    ],
)
def test_hhi(shares: list[float], expected: float) -> None:
    assert hhi(np.array(shares)) == pytest.approx(expected)


# -- market_shares ---------------------------------------------------------------------------------------


@pytest.fixture
def tally() -> dict:
    """Segments (general, local) x regions (us, china) x labs (closed_us, open_us, open_cn, none)."""
    usage = np.array(
        [
            [[10.0, 5.0, 5.0, 7.0], [0.0, 0.0, 20.0, 3.0]],  # general: us, china
            [[0.0, 4.0, 6.0, 1.0], [0.0, 0.0, 10.0, 0.0]],  # local: us, china
        ]
    )
    users = np.array(
        [
            [[3, 1, 2, 5], [0, 0, 4, 1]],
            [[0, 2, 2, 1], [0, 0, 6, 0]],
        ]
    )
    return {
        "users": users,
        "usage": usage,
        "is_open": np.array([False, True, True]),
        "lab_bloc": np.array([0, 0, 1]),
        "price": np.array([5.0, 0.6, 0.6]),
        "segment_names": ["general", "local"],
        "region_names": ["us", "china"],
        "bloc_names": ["us", "china"],
    }


def test_market_shares_on_hand_made_tally(tally: dict) -> None:
    out = market_shares(**tally)
    # lab usage (no-model column excluded): closed_us 10, open_us 9, open_cn 41; total 60
    assert out["total_usage_mtok"] == pytest.approx(60.0)
    assert out["open_share_usage"] == pytest.approx(50 / 60)
    # users: closed_us 3, open_us 3, open_cn 14 (adopters without a model excluded)
    assert out["open_share_users"] == pytest.approx(17 / 20)
    # spend: 10*5 = 50, 9*0.6 = 5.4, 41*0.6 = 24.6
    assert out["total_spend_usd"] == pytest.approx(80.0)
    assert out["open_share_spend"] == pytest.approx(30 / 80)
    assert out["open_share_usage_general"] == pytest.approx(30 / 40)
    assert out["open_share_usage_local"] == pytest.approx(1.0)
    assert out["open_share_usage_region_us"] == pytest.approx(20 / 30)
    assert out["open_share_usage_region_china"] == pytest.approx(1.0)
    assert out["usage_share_origin_us"] == pytest.approx(19 / 60)
    assert out["usage_share_origin_china"] == pytest.approx(41 / 60)
    assert out["open_usage_share_origin_us"] == pytest.approx(9 / 50)
    assert out["open_usage_share_origin_china"] == pytest.approx(41 / 50)
    assert out["region_us_open_share_from_china"] == pytest.approx(11 / 30)
    assert out["region_us_open_share_from_us"] == pytest.approx(9 / 30)
    assert out["region_china_open_share_from_us"] == pytest.approx(0.0)
    assert out["region_china_open_share_from_china"] == pytest.approx(1.0)
    assert out["top_open_share_of_open_usage"] == pytest.approx(41 / 50)
    assert out["hhi_usage"] == pytest.approx((10**2 + 9**2 + 41**2) / 60**2)
    assert out["hhi_open_usage"] == pytest.approx((9**2 + 41**2) / 50**2)
    assert out["closed_providers_over_5pct"] == 1.0


def test_market_shares_with_nobody_using_anything(tally: dict) -> None:
    tally["usage"] = np.zeros_like(tally["usage"])
    tally["usage"][..., -1] = 5.0  # everyone is in the no-model column
    tally["users"] = np.zeros_like(tally["users"])
    tally["users"][..., -1] = 3
    out = market_shares(**tally)
    values = np.array([v for v in out.values()], dtype=float)
    assert np.all(np.isfinite(values))
    assert out["open_share_usage"] == 0.0
    assert out["total_usage_mtok"] == 0.0
    assert out["hhi_usage"] == 0.0


# -- gaps of a model at tick 0, from the prehistory ------------------------------------------------------


def test_model_gap_at_start_interpolates_prehistory(make_model) -> None:
    # Closed benchmark 120.5 in 2024-06 (tick -7) rising to 126.5 in 2024-12 (tick -1); focus 0.5, so the
    # closed true frontier climbs 1 ECI point a month from 120 to 126 and is 130 at tick 0 (closed_us).
    model = make_model(
        {
            "prehistory.points": [
                {"date": "2024-06", "closed_eci": 120.5, "open_eci": 110.0},
                {"date": "2024-12", "closed_eci": 126.5, "open_eci": 116.0},
            ]
        }
    )
    row = model.current
    # open true frontier now: max(open_us 120, open_cn 124) = 124, reached by closed at tick -3
    assert row["open_frontier_true_eci"] == pytest.approx(124.0)
    assert row["closed_frontier_true_eci"] == pytest.approx(130.0)
    assert row["gap_months_true"] == pytest.approx(3.0)
    assert row["gap_points_true"] == pytest.approx(6.0)
    # benchmarks: open max(120 + 1, 124 + 4) = 128; closed 126.5 at tick -1, 130.5 at tick 0 -> tick -0.625
    assert row["open_frontier_benchmark_eci"] == pytest.approx(128.0)
    assert row["gap_months_benchmark"] == pytest.approx(0.625)
