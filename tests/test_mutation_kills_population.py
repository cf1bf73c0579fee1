"""Adopter population details that mutation testing (benchmarks/mutation.py, benchmarks/mutants.md) found
untested: how usage is split within a segment, per-adopter draws, trust, usage growth, the hand-over of a
closed lab's adopters, popularity of an unused segment, and the largest-remainder split."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import SMALL_SCENARIO

from simulation.agents.population import _counts_to_labels
from simulation.config import scenario_from_dict
from simulation.model import EcosystemModel


def test_each_segment_holds_its_usage_share_of_the_market(make_model) -> None:
    pop = make_model().population
    market = SMALL_SCENARIO["world"]["market_mtok_per_month"]
    for s, share in enumerate((0.8, 0.2)):  # general, local
        assert pop.base_usage_mtok[pop.segment == s].sum() == pytest.approx(share * market)
    assert np.all(pop.base_usage_mtok > 0)
    assert np.unique(pop.base_usage_mtok[pop.segment == 0]).size == np.sum(pop.segment == 0)  # log-normal


def test_needs_and_switching_costs_are_drawn_per_adopter(make_model) -> None:
    pop = make_model().population
    assert pop.z_need.shape == pop.switch_draw.shape == (pop.n,)
    assert np.unique(pop.z_need).size == pop.n and np.unique(pop.switch_draw).size == pop.n


def test_trust_is_the_region_mean_plus_sd_times_the_adopter_draw() -> None:
    data = copy.deepcopy(SMALL_SCENARIO)
    data["adopters"]["regions"]["us"]["trust_by_bloc"] = {"us": 0.3}  # no view of China: mean 0
    model = EcosystemModel(scenario_from_dict(data), seed=3)
    pop = model.population
    sd = np.array([model.params.adopters.regions[r].trust_sd for r in pop.region_names])[pop.region]
    mean = np.array([[0.3, 0.0], [-1.0, 0.5]])[pop.region]
    np.testing.assert_allclose(pop.trust, mean + pop.z_trust * sd[:, None])


def test_usage_grows_at_the_yearly_rate(make_model) -> None:
    model = make_model({"adopters.segments.general.usage_growth_per_year": 2.0})
    pop = model.population
    market = model.market()
    rng = np.random.default_rng(0)
    pop.choose(market, 6, rng, rng, model.params.world, 0.0)  # half a year: x sqrt(yearly growth)
    rates = [model.params.adopters.segments[s].usage_growth_per_year for s in pop.segment_names]
    assert rates[0] == 2.0
    growth = np.array([rate**0.5 for rate in rates])[pop.segment]
    np.testing.assert_allclose(pop.usage_mtok, pop.base_usage_mtok * growth)


def test_hand_over_moves_adopters_and_adds_popularity(make_model) -> None:
    pop = make_model().population
    pop.popularity = np.array([[0.5, 0.3, 0.1, 0.1], [0.2, 0.2, 0.4, 0.2]])
    holders = pop.choice == 1
    pop.hand_over(1, 3)
    np.testing.assert_allclose(pop.popularity, [[0.5, 0.0, 0.1, 0.4], [0.2, 0.0, 0.4, 0.4]])
    assert not np.any(pop.choice == 1) and np.all(pop.choice[holders] == 3)


def test_a_segment_nobody_uses_has_no_popularity(make_model) -> None:
    pop = make_model().population
    usage = np.zeros((2, 2, 4))
    usage[0, 1, 0] = 3.0
    usage[0, 0, 2] = 1.0
    usage[1, :, 3] = 5.0  # the no-model column does not count
    pop.update_popularity(usage)
    np.testing.assert_array_equal(pop.popularity, [[0.75, 0.0, 0.25], [0.0, 0.0, 0.0]])


def test_counts_by_largest_remainder() -> None:
    # exact 2, 1.2, 0.8: floors 2, 1, 0 and the one left goes to the largest remainder (0.8)
    np.testing.assert_array_equal(_counts_to_labels([0.5, 0.3, 0.2], 4), [0, 0, 1, 2])
    np.testing.assert_array_equal(_counts_to_labels([1, 1, 1], 4), [0, 0, 1, 2])  # ties: first come


def test_needs_and_switching_costs_scale_the_adopter_draws(make_model) -> None:
    model = make_model()
    pop = model.population
    segs = [model.params.adopters.segments[s] for s in pop.segment_names]
    need = np.array([s.need_eci for s in segs])[pop.segment]
    sd = np.array([s.need_sd_eci for s in segs])[pop.segment]
    cost = np.array([s.switching_cost for s in segs])[pop.segment]
    np.testing.assert_allclose(pop.need0_eci, need + sd * pop.z_need)
    np.testing.assert_allclose(pop.switching_cost, cost * pop.switch_draw)


def test_popularity_is_a_share_within_each_segment(make_model) -> None:
    pop = make_model().population
    usage = np.zeros((2, 2, 4))
    usage[0, 0, :3] = [3.0, 0.0, 1.0]
    usage[1, 1, :3] = [0.0, 4.0, 0.0]
    pop.update_popularity(usage)
    np.testing.assert_array_equal(pop.popularity, [[0.75, 0.0, 0.25], [0.0, 1.0, 0.0]])


def test_a_lone_adopter_choosing_gets_a_model(make_model) -> None:
    model = make_model({"adopters.burn_in_months": 0})
    pop = model.population
    market = model.market()
    table, group = pop.access(market)
    a = np.array([0])
    assert pop.choice[0] == -1
    pop._decide(a, market, table[group[a]], 0, np.random.default_rng(1), model.params.world)
    assert pop.choice[0] >= 0


def test_without_burn_in_usage_at_the_start_is_the_base_usage_of_nobody_s_model(make_model) -> None:
    model = make_model({"adopters.burn_in_months": 0})
    assert model.usage[:, :, :-1].sum() == 0.0
    assert model.usage[:, :, -1].sum() == pytest.approx(model.population.base_usage_mtok.sum())


def test_tied_remainders_go_to_the_first_categories() -> None:
    # exact 5.7, 5.7, 3.8, 3.8: floors 5, 5, 3, 3 and 3 left; the two 0.8 remainders, then the first 0.7
    # (an unstable sort may give it to the second)
    np.testing.assert_array_equal(np.bincount(_counts_to_labels([3.0, 3.0, 2.0, 2.0], 19)), [6, 5, 4, 4])
