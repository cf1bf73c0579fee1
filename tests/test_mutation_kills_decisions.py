"""Edges of labs' decisions that mutation testing (benchmarks/mutation.py, benchmarks/mutants.md) found
untested: each clamp's exact bound, the boundary of a fundraising draw, and the guards against zero compute.
Exact values on hand-computed cases, like tests/test_decisions.py."""

from __future__ import annotations

import math

import pytest

from simulation.agents import decisions as d


def test_investor_momentum_is_clamped_to_minus_one_and_two():
    # weight 0.5: momentum -3 counts as -1 -> 1 - 0.5 = 0.5 (not 1 - 0.5 x 3 < 0 -> 0)
    assert d.investor_appetite(0.0, -3.0, 8.0, 0.5) == pytest.approx(0.5)
    # momentum 10 counts as +2 -> 1 + 0.5 x 2 = 2 (not 1 + 0.5 x 3)
    assert d.investor_appetite(0.0, 10.0, 8.0, 0.5) == pytest.approx(2.0)


def test_investor_appetite_is_capped_at_three():
    # 1 + 2 x 2 = 5 -> 3
    assert d.investor_appetite(0.0, 2.0, 8.0, 2.0) == 3.0


def test_a_draw_equal_to_the_odds_raises_nothing():
    kw = {"trigger_months": 24.0, "base_probability": 0.25, "round_usd": 1e9}
    assert d.fundraise(0.25, 10.0, 1.0, 1.0, **kw) == 0.0  # the round closes when draw < p, not <=
    assert d.fundraise(0.2499, 10.0, 1.0, 1.0, **kw) == 1e9


def test_a_round_is_not_scaled_up_by_appetite_above_one():
    kw = {"trigger_months": 24.0, "base_probability": 0.2, "round_usd": 1e9}
    # appetite 2.5: odds 0.5 but the round stays round_usd x min(2.5, 1) = 1e9
    assert d.fundraise(0.1, 10.0, 2.5, 1.0, **kw) == pytest.approx(1e9)
    assert d.fundraise(0.1, 10.0, 2.5, 0.5, **kw) == pytest.approx(5e8)


def test_serving_cost_of_an_untrained_model_is_that_of_one_flop():
    kw = {
        "reference_cost_usd_per_mtok": 0.3,
        "reference_training_flop": 1.0,
        "hardware_decline_per_year": 0.3,
        "inference_gain_per_year": 3.0,
    }
    # max(0, 1) / 1 = 1 -> the reference cost (not sqrt(2) x it)
    assert d.serving_cost_usd_per_mtok(0.0, 0, **kw) == pytest.approx(0.3)
    assert d.serving_cost_usd_per_mtok(1.0, 0, **kw) == pytest.approx(0.3)


def test_compute_term_of_no_compute_is_that_of_one_flop():
    assert d.compute_term_eci(0.0, 1.0, 6.0, 1.0) == 0.0  # log10(max(0, 1) / 1)
    assert d.compute_term_eci(0.5, 1.0, 6.0, 1e25) == pytest.approx(-6 * 25)


def test_closed_markup_is_linear_for_a_small_response_distance():
    # response 0.5 ECI: lead 0.25 is half-way -> 1 + (3 - 1) x 0.5
    assert d.closed_markup(0.25, 3.0, 0.5) == pytest.approx(2.0)
    assert d.closed_markup(0.0, 3.0, 1.0) == pytest.approx(1.0)


def test_catch_up_closes_at_most_the_whole_gap():
    assert d.catch_up(10.0, 1.5) == pytest.approx(10.0)
    assert d.catch_up(10.0, -0.5) == 0.0
    assert math.isclose(d.catch_up(10.0, 1.0), 10.0)
