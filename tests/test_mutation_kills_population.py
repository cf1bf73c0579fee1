"""Adopter population details that mutation testing (benchmarks/mutation.py, benchmarks/mutants.md) found
untested: how usage is split within a segment, per-adopter draws, trust, usage growth, the hand-over of a
closed lab's adopters, popularity of an unused segment, and the largest-remainder split."""

from __future__ import annotations

import copy
import dataclasses

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
    a = np.array([0])
    assert pop.choice[0] == -1
    pop._decide(a, market, pop.access(market), 0, np.random.default_rng(1), model.params.world)
    assert pop.choice[0] >= 0


def test_without_burn_in_usage_at_the_start_is_the_base_usage_of_nobody_s_model(make_model) -> None:
    model = make_model({"adopters.burn_in_months": 0})
    assert model.usage[:, :, :-1].sum() == 0.0
    assert model.usage[:, :, -1].sum() == pytest.approx(model.population.base_usage_mtok.sum())


def test_tied_remainders_go_to_the_first_categories() -> None:
    # exact 5.7, 5.7, 3.8, 3.8: floors 5, 5, 3, 3 and 3 left; the two 0.8 remainders, then the first 0.7
    # (an unstable sort may give it to the second)
    np.testing.assert_array_equal(np.bincount(_counts_to_labels([3.0, 3.0, 2.0, 2.0], 19)), [6, 5, 4, 4])


def test_control_is_the_segment_value_plus_sd_times_a_draw_per_adopter(make_model) -> None:
    model = make_model(
        {"adopters.segments.general.control_value": 1.5, "adopters.segments.general.control_sd": 0.5}
    )
    pop = model.population
    assert pop.z_control.shape == (pop.n,) and np.unique(pop.z_control).size == pop.n
    general = pop.segment == model.segment_names.index("general")
    np.testing.assert_allclose(pop.control[general], 1.5 + 0.5 * pop.z_control[general])


def test_a_recent_release_wins_attention_by_the_recency_boost(make_model) -> None:
    """Consideration set of 1, no noise: lab 0 is a little more popular (0.5 vs 0.4), lab 1 released
    recently (boost 2): log(0.4 + 0.01) + log 2 > log(0.5 + 0.01), so adopters see lab 1 and take it; without
    the boost they would see lab 0."""
    model = make_model(
        {
            "adopters.segments.general.consideration_size": 1,
            "adopters.segments.local.consideration_size": 1,
            "world.recency_boost": 2.0,
        }
    )
    pop = model.population
    market = model.market()
    general = np.flatnonzero(pop.segment == model.segment_names.index("general"))
    pop.choice[general] = -1
    pop.popularity[:] = [0.5, 0.4, 0.1]
    chosen = {}
    for recent in ([False, True, False], [False, False, False]):
        m = dataclasses.replace(market, recent=np.array(recent))
        pop.choice[general] = -1
        pop._decide(general, m, pop.access(m), 0, NoNoise(), model.params.world)
        chosen[recent[1]] = set(pop.choice[general].tolist())
    assert chosen == {True: {1}, False: {0}}


def test_a_lab_added_at_the_end_leaves_every_other_lab_s_noise_unchanged(make_model) -> None:
    """The choice noise is drawn lab-major from one stream (outside option first, then each lab's consideration
    and utility draws): appending a lab nobody can use leaves every adopter's choice as it was, draw for draw."""
    model = make_model()
    pop, world = model.population, model.params.world
    market = model.market()
    idx = np.arange(pop.n)
    choice, opted_out = pop.choice.copy(), pop.opted_out.copy()
    pop._decide(idx, market, pop.access(market), 0, np.random.default_rng(7), world)
    chosen = pop.choice.copy()
    assert not np.array_equal(chosen, choice)  # the draws matter: adopters do change models
    pop.choice[:], pop.opted_out[:] = choice, opted_out
    n_labs = market.available.size
    pop.add_offering()
    wider = market.columns([(j, {}) for j in range(n_labs)] + [(0, {"available": False})])
    pop._decide(idx, wider, pop.access(wider), 0, np.random.default_rng(7), world)
    np.testing.assert_array_equal(pop.choice, chosen)


class NoNoise:
    """A Generator stand-in for ``_decide``: every Gumbel draw 0 (choices follow the weights and utilities)."""

    def standard_exponential(self, size=None) -> np.ndarray:
        return np.ones(size)  # Gumbel draws are -ln E (population.gumbel): every one is 0


def test_expected_usage_of_adopters_with_nothing_usable_is_zero(make_model) -> None:
    """Market research over adopters who can use no offering and have no outside option: no usage anywhere
    (not whatever memory held), even next to adopters who do use something."""
    model = make_model()
    pop = model.population
    idx = np.arange(pop.n)
    utility = np.full((pop.n, 3), -np.inf)
    utility[::2, 0] = 0.0  # even adopters can use lab 0 only
    with np.errstate(invalid="ignore"):
        expected = pop.expected_usage_mtok(idx, utility, 0)
    assert np.isfinite(expected).all()
    by_segment = np.bincount(pop.segment[::2], weights=pop.base_usage_mtok[::2], minlength=2)
    np.testing.assert_allclose(expected[:, 0], by_segment)
    assert (expected[:, 1:] == 0.0).all()


def test_expected_usage_of_a_sample_of_one_is_scaled_to_the_population(make_model) -> None:
    model = make_model()
    pop = model.population
    utility = np.array([[0.0, -np.inf, -np.inf]])  # adopter 0 can only use lab 0: all its usage goes there
    expected = pop.expected_usage_mtok(np.array([0]), utility, 0)
    s = pop.segment[0]
    assert expected[s, 0] == pytest.approx(pop.base_usage_mtok[0] * pop.n)
    assert expected.sum() == pytest.approx(pop.base_usage_mtok[0] * pop.n)
