"""Labs' decisions (simulation/agents/decisions.py) on hand-computed cases: each rule's exact value, and the
property the issue asks of it (more money buys more compute until the build limit binds; efficiency x2 acts
as compute x2; winning adoption raises patron money; prices fall at the stated rate)."""

from __future__ import annotations

import math

import pytest

from simulation.agents import decisions as d

PRICE = 5e-17  # USD per FLOP/month of capacity


def buy(cash, burn=0.0, limit=1e30, reserve=12.0, deploy=12.0):
    return d.compute_purchase(cash, burn, PRICE, limit, reserve_months=reserve, deploy_months=deploy)


def test_purchase_spends_cash_above_the_reserve_over_the_deploy_months():
    # reserve 12 x 1e8 = 1.2e9; (2.4e9 - 1.2e9) / 12 = 1e8 USD -> 1e8 / 5e-17 = 2e24 FLOP/month
    p = buy(2.4e9, burn=1e8)
    assert p.spend_usd == pytest.approx(1e8)
    assert p.added_flop_per_month == pytest.approx(2e24)
    assert not p.build_limited


def test_operations_that_pay_for_themselves_need_no_reserve():
    assert buy(1.2e9, burn=-5e7).spend_usd == pytest.approx(1e8)


def test_a_lab_below_its_reserve_buys_nothing():
    p = buy(1e9, burn=1e8)
    assert p.spend_usd == 0.0 and p.added_flop_per_month == 0.0 and not p.build_limited


def test_more_cash_buys_more_compute_until_the_build_limit_binds():
    limit = 4e24  # FLOP/month -> at most 2e8 USD
    spends = [buy(c, limit=limit) for c in (1.2e9, 2.4e9, 3.6e9, 1e11)]
    assert [p.spend_usd for p in spends] == pytest.approx([1e8, 2e8, 2e8, 2e8])
    assert [p.build_limited for p in spends] == [False, True, True, True]
    assert spends[-1].added_flop_per_month == pytest.approx(limit)


def test_build_limit_keeps_growth_at_the_stated_rate():
    # 1e26 x (8^(1/12) - 1 + 0.02) = 1e26 x (0.189207 + 0.02)
    limit = d.build_limit_flop_per_month(1e26, 8.0, 1e24, 0.02)
    assert limit == pytest.approx(1e26 * (2 ** (3 / 12) - 1 + 0.02))
    # a capacity at the limit every month for a year grows exactly 8x
    cap = 1e26
    for _ in range(12):
        cap = cap * (1 - 0.02) + d.build_limit_flop_per_month(cap, 8.0, 0.0, 0.02)
    assert cap == pytest.approx(8e26, rel=1e-3)
    assert d.build_limit_flop_per_month(1e20, 8.0, 3e24, 0.02) == 3e24  # anyone can rent this much


def test_research_funding_and_runway():
    assert d.research_funding(9.0, 18.0) == 0.5
    assert d.research_funding(40.0, 18.0) == 1.0
    assert d.research_funding(0.0, 18.0) == 0.0
    assert d.runway_months(1e9, 1e8, 240) == pytest.approx(10.0)
    assert d.runway_months(1e9, 0.0, 240) == 240
    assert d.runway_months(-5.0, 1.0, 240) == 0.0
    assert d.runway_months(1e15, 1.0, 240) == 240


def test_investor_appetite():
    assert d.investor_appetite(0.0, 0.0, 8.0, 1.0) == 1.0
    assert d.investor_appetite(8.0, 0.0, 8.0, 1.0) == pytest.approx(math.exp(-1))
    assert d.investor_appetite(0.0, 0.5, 8.0, 1.0) == pytest.approx(1.5)
    assert d.investor_appetite(0.0, 10.0, 8.0, 1.0) == 3.0  # momentum capped at +2
    assert d.investor_appetite(-5.0, -3.0, 8.0, 1.0) == 0.0  # ahead of the frontier counts as 0; -100%


def test_fundraise_odds_and_size():
    kw = {"trigger_months": 24.0, "base_probability": 0.2, "round_usd": 1e9}
    assert d.fundraise(0.5, 30.0, 1.0, 1.0, **kw) == 0.0  # runway long enough: no round
    assert d.fundraise(0.19, 10.0, 1.0, 1.0, **kw) == 1e9  # 0.19 < 0.2
    assert d.fundraise(0.21, 10.0, 1.0, 1.0, **kw) == 0.0
    assert d.fundraise(0.09, 10.0, 0.5, 1.0, **kw) == pytest.approx(5e8)  # p = 0.1, size x 0.5
    assert d.fundraise(0.11, 10.0, 0.5, 1.0, **kw) == 0.0
    # the capital multiplier scales odds and size: up as well as down
    assert d.fundraise(0.39, 10.0, 1.0, 2.0, **kw) == pytest.approx(2e9)
    assert d.fundraise(0.05, 10.0, 1.0, 0.2, **kw) == 0.0  # p = 0.04


def test_patrons_follow_adoption():
    assert d.patron_support_target(4.0, 0.5, 3.0) == pytest.approx(2.0)
    assert d.patron_support_target(0.25, 0.5, 3.0) == pytest.approx(0.5)
    assert d.patron_support_target(100.0, 0.5, 3.0) == 3.0
    assert d.patron_support_target(0.0, 0.5, 3.0) == 0.0
    assert d.update_patron_support(1.0, 2.0, 4.0) == pytest.approx(1.25)
    # an equal share among 5 open labs is 1; twice the usage share (weight 0.5 on developers)
    assert d.relative_share(0.2, 0.2, 0.5, 5) == pytest.approx(1.0)
    assert d.relative_share(0.4, 0.2, 0.5, 5) == pytest.approx(1.5)


def test_serving_cost_scales_with_model_size_and_falls_at_the_stated_rate():
    kw = {
        "reference_cost_usd_per_mtok": 0.3,
        "reference_training_flop": 1e24,
        "hardware_decline_per_year": 0.3,
        "inference_gain_per_year": 3.0,
    }
    assert d.serving_cost_usd_per_mtok(1e24, 0, **kw) == pytest.approx(0.3)
    assert d.serving_cost_usd_per_mtok(1e26, 0, **kw) == pytest.approx(3.0)  # 100x FLOP: 10x size
    # a year later: x 0.7 / 3
    assert d.serving_cost_usd_per_mtok(1e24, 12, **kw) == pytest.approx(0.3 * 0.7 / 3)
    assert d.serving_cost_usd_per_mtok(1e24, 24, **kw) == pytest.approx(0.3 * (0.7 / 3) ** 2)


def test_closed_markup_answers_open_competition():
    assert d.closed_markup(10.0, 2.0, 5.0) == 2.0
    assert d.closed_markup(2.5, 2.0, 5.0) == pytest.approx(1.5)
    assert d.closed_markup(-3.0, 2.0, 5.0) == 1.0  # an open model is better: priced at cost
    assert d.closed_markup(1.0, 3.0, 0.0) == 3.0


def test_efficiency_x2_acts_as_compute_x2():
    base = d.compute_term_eci(1e25, 1.0, 6.0, 1e25)
    assert base == 0.0
    assert d.compute_term_eci(1e25, 2.0, 6.0, 1e25) == pytest.approx(6 * math.log10(2))
    assert d.compute_term_eci(2e25, 1.0, 6.0, 1e25) == pytest.approx(d.compute_term_eci(1e25, 2.0, 6.0, 1e25))
    assert d.compute_term_eci(1e26, 0.1, 6.0, 1e25) == pytest.approx(0.0)


def test_distillation_rate_and_catch_up():
    assert d.distillation_rate(0.5, 0.08, 30.0, 0, 1.0) == pytest.approx(0.04)
    assert d.distillation_rate(0.5, 0.08, 30.0, 30, 1.0) == pytest.approx(0.02)  # halved after a half-life
    assert d.distillation_rate(0.5, 0.08, 30.0, 0, 0.25) == pytest.approx(0.01)
    assert d.distillation_rate(1.0, 5.0, 30.0, 0, 1.0) == 1.0
    assert d.catch_up(10.0, 0.04) == pytest.approx(0.4)
    assert d.catch_up(-2.0, 0.5) == 0.0  # ahead: nothing to learn
