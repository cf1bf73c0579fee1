"""Lab behaviour that mutation testing (benchmarks/mutation.py, benchmarks/mutants.md) found untested: the
state a lab starts in, an entrant's first month and first release, the growth investors look at, who spills
over to whom, and patrons of a small plan. Hand-computed values on the small scenario (tests/conftest.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import lab_by_name

from simulation.config.schema import WorldConfig

WORLD = WorldConfig()


def test_a_lab_starts_with_no_flows_of_money_and_no_limit_binding(make_model) -> None:
    model = make_model()
    for lab in model.lab_list:
        assert (lab.revenue_usd, lab.costs_usd, lab.raised_usd, lab.subsidy_received_usd) == (0.0,) * 4
        assert lab.compute_spend_usd == 0.0
        assert lab.build_limited is False
    row = model.lab_frame().query("tick == 0")
    assert (
        (row[["revenue_usd", "costs_usd", "raised_usd", "subsidy_usd", "compute_spend_usd"]] == 0).all().all()
    )
    assert row["build_limited"].tolist() == [False] * len(model.lab_list)


def test_a_lab_entering_a_month_after_the_start_is_not_on_the_market_at_the_start(make_model) -> None:
    model = make_model({"labs.open_us.enters": "2025-02"})  # the start is 2025-01: it enters at tick 1
    lab = lab_by_name(model, "open_us")
    assert not lab.entered and not lab.active
    assert lab.users == 0
    model.step()
    assert lab.entered and lab.active


def test_an_entrant_first_releases_its_offset_after_entering(make_model) -> None:
    # open_us: cadence 5, offset 1; it enters at tick 3 (2025-04) and first releases at tick 3 + 1
    model = make_model({"labs.open_us.enters": "2025-04"})
    lab = lab_by_name(model, "open_us")
    for _ in range(3):
        model.step()
    assert lab.active
    assert lab.last_release_tick == 3 - 5 + 1  # no release on entry
    model.step()
    assert lab.last_release_tick == 4


@pytest.mark.parametrize("name", ["closed_us", "open_us"])
def test_investors_look_at_revenue_growth_of_closed_labs_and_usage_growth_of_open_ones(
    make_model, name: str
) -> None:
    model = make_model()
    lab = lab_by_name(model, name)
    model.frontier_benchmark_eci = lab.capability_benchmark_eci  # at the frontier: proximity 1
    growing = [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75]  # exactly 7 months; 6-month growth 0.75 / 0.5 - 1
    flat = [2.0] * 7
    lab._revenue_history, lab._usage_history = (growing, flat) if name == "closed_us" else (flat, growing)
    assert lab.investor_appetite() == pytest.approx(1 + WORLD.momentum_weight * 0.5)
    lab._revenue_history, lab._usage_history = (flat, growing) if name == "closed_us" else (growing, flat)
    assert lab.investor_appetite() == pytest.approx(1.0)  # the other series does not count
    lab._revenue_history = lab._usage_history = growing[1:]  # 6 months: too short for a 6-month growth
    assert lab.investor_appetite() == pytest.approx(1.0)


def test_a_lab_does_not_spill_over_to_itself(make_model) -> None:
    model = make_model()
    is_open = np.array([lab.is_open for lab in model.lab_list])
    blocs = np.array([model.bloc_index[lab.bloc] for lab in model.lab_list])
    active = model.lab_active_mask()
    for lab in model.lab_list:
        rates = lab.spillover_rates(is_open, blocs, active)
        assert rates[lab.index] == 0.0
        assert np.all(np.delete(rates, lab.index) > 0)


def test_patrons_of_a_plan_under_one_usd_still_follow_adoption(make_model) -> None:
    model = make_model({"labs.open_us.subsidy_usd_per_month": 0.5})
    lab = lab_by_name(model, "open_us")
    lab.patron_support = 1.0
    lab.review_patronage(4.0)  # target min(4 ^ 0.5, 3) = 2, a twelfth of the way a month
    target = min(4.0**WORLD.patron_elasticity, WORLD.patron_max_support)
    assert lab.patron_support == pytest.approx(1.0 + (target - 1.0) / WORLD.patron_patience_months)
    assert math.isclose(target, 2.0)


def test_without_burn_in_a_lab_starts_with_no_users_and_runs(make_model) -> None:
    model = make_model({"adopters.burn_in_months": 0})
    for lab in model.lab_list:
        assert lab.users == 0 and lab.usage_mtok == 0.0 and lab.demanding_usage_share == 0.0
        assert lab.users_by_segment.tolist() == [0, 0]
    model.step()  # online RL reads last month's demanding share: 0 at the start
    assert all(np.isfinite(lab.know_how_eci) for lab in model.lab_list)


def test_the_starting_runway_nets_the_patron_plan_out_of_the_burn(make_model) -> None:
    model = make_model({"labs.open_us.subsidy_usd_per_month": 1e8})  # staff 2e7, cash 3e9
    lab = lab_by_name(model, "open_us")
    burn = lab.build_plan_usd() + 2e7 - 1e8  # building at the limit, plus staff, less the patron
    assert burn > 0
    assert lab.runway_months == pytest.approx(3e9 / burn)


def test_the_build_plan_is_the_build_limit_at_the_bloc_price(make_model) -> None:
    """open_us at the start: 1e25 FLOP/month of capacity, so its build limit is the 5e24 FLOP/month minimum
    (above 1e25 x (5^(1/12) - 1 + 0.03) = 1.7e24), at 5e-17 USD per FLOP/month: 2.5e8 USD; its starting
    runway is 3e9 / (2.5e8 + 2e7 of staff)."""
    lab = lab_by_name(make_model({"labs.open_us.subsidy_usd_per_month": 0.0}), "open_us")
    assert lab.build_limit_flop() == pytest.approx(5e24)
    assert lab.build_plan_usd() == pytest.approx(2.5e8)
    assert lab.runway_months == pytest.approx(3e9 / 2.7e8)


def test_a_lab_out_of_cash_reports_no_purchase_and_no_binding_limit(make_model) -> None:
    model = make_model(
        {
            "labs.open_cn.initial_cash_usd": 0.0,
            "labs.open_cn.fundraise_probability_per_month": 0.0,
            "world.open_revenue_fraction": 0.0,
        }
    )
    lab = lab_by_name(model, "open_cn")
    model.step()  # staff 1e7 from 0 cash: out at tick 1
    assert not lab.active
    assert lab.compute_spend_usd == 0.0 and lab.build_limited is False


def test_learnt_efficiency_accumulates_month_after_month(make_model) -> None:
    """Spill-over raises open_cn's efficiency at tick 1; from tick 2 an event stops spill-over: what it learnt
    stays (the gain is a stock, not this month's flow)."""
    model = make_model(
        {
            "world.spillover_rate_per_month": 0.05,
            "events": [{"at": "2025-03", "set": {"world.spillover_rate_per_month": 0.0}}],
        }
    )
    lab = lab_by_name(model, "open_us")  # efficiency 1, below open_cn's 4: it learns
    model.step()
    gained = lab.efficiency_gain_log10
    assert gained > 0.0
    model.step()
    assert lab.efficiency_gain_log10 == gained
    assert lab.training_efficiency == pytest.approx(10**gained)


@pytest.mark.parametrize(("threshold", "closes"), [(4e25, False), (3.99e25, True)])
def test_a_ban_binds_runs_above_its_threshold_not_at_it(make_model, threshold: float, closes: bool) -> None:
    """open_us trains on exactly 4e25 FLOP (1e25 FLOP/month x 4, capacity frozen): a ban at 4e25 does not bind
    it; one just below does, and its response is to close."""
    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "us",
            "policy.ban.threshold_flop": threshold,
            "labs.open_us.ban_response": "close",
            "world.max_capacity_growth_per_year": 1.0,
            "world.min_build_flop_per_month": 0.0,
            "world.compute_depreciation_per_month": 0.0,
        }
    )
    lab = lab_by_name(model, "open_us")
    model.step()
    assert lab.training_flop == 4e25
    assert lab.is_open is not closes


def test_the_switching_margin_keeps_a_deciding_lab_on_its_current_way(make_scenario) -> None:
    """open_us starts closed and decides at tick 1; open weights would pay more (tests/test_release.py), but
    with a margin of 10 times the closed payoff (its patron money) it keeps releasing closed."""
    from simulation.model import EcosystemModel

    scenario = make_scenario(
        {
            "labs.open_us.release_policy": None,
            "labs.open_us.initial_release": "closed",
            "world.release_switch_margin": 10.0,
        }
    )
    model = EcosystemModel(scenario, seed=3)
    lab = lab_by_name(model, "open_us")
    model.step()
    assert lab.release_payoffs["open"] > lab.release_payoffs["closed"] > 0.0
    assert lab.release_option == "closed" and not lab.is_open
