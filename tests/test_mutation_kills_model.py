"""The model's interface and bookkeeping (simulation/model.py) where mutation testing (benchmarks/mutation.py,
benchmarks/mutants.md) found no test: keyword parameters and seeds, the horizon, the random streams of the
burn-in, the ban's region in the market, patrons and online RL when nobody uses a kind of model, and dispose."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import lab_by_name

from simulation.model import STREAM_FORCED, STREAM_VOLUNTARY, EcosystemModel


def test_the_default_scenario_is_the_baseline() -> None:
    assert EcosystemModel(seed=1, n_adopters=20).params.name == "baseline"


def test_keyword_parameters_pin_their_values(small_scenario) -> None:
    model = EcosystemModel(small_scenario, seed=1, n_adopters=50, world__run_months=5.0)
    assert model.population.n == 50
    assert model.params.adopters.n == 50
    assert model.params.world.run_months == 5.0


def test_the_seed_given_is_the_seed_used_and_none_draws_a_fresh_one(small_scenario) -> None:
    assert EcosystemModel(small_scenario, seed=5).seed_used == 5
    assert EcosystemModel(small_scenario, rng=6).seed_used == 6  # Mesa's batch_run passes rng
    fresh = EcosystemModel(small_scenario)
    assert isinstance(fresh.seed_used, int)


def test_uncertain_parameters_are_drawn_from_the_seed() -> None:
    a = EcosystemModel("baseline", seed=11, n_adopters=20)
    b = EcosystemModel("baseline", seed=11, n_adopters=20)
    assert a.drawn and a.drawn == b.drawn
    assert EcosystemModel("baseline", seed=12, n_adopters=20).drawn != a.drawn


def test_different_seeds_give_different_random_streams(small_scenario) -> None:
    firsts = {EcosystemModel(small_scenario, seed=s).stream(STREAM_VOLUNTARY, 1).random() for s in range(30)}
    assert len(firsts) == 30


def test_the_model_runs_to_its_horizon_and_stops(make_model) -> None:
    model = make_model({"months": 4})
    steps = 0
    while model.running:
        model.step()
        steps += 1
        assert model.running is (model.tick < 3)
    assert steps == 3 and model.tick == 3  # ticks 0..3: four months


def test_each_burn_in_month_draws_from_its_own_streams(make_model, monkeypatch) -> None:
    model = make_model({"adopters.burn_in_months": 3})
    calls = []
    real = model.stream

    def stream(purpose, tick=None):
        calls.append((purpose, model.tick if tick is None else tick))
        return real(purpose, tick)

    monkeypatch.setattr(model, "stream", stream)
    model.burn_in()
    assert calls == [(p, t) for t in (-3, -2, -1) for p in (STREAM_VOLUNTARY, STREAM_FORCED)]


def test_the_market_names_the_ban_region_only_under_an_active_ban(make_model) -> None:
    assert make_model().market().ban_region == -1
    # inactive, even with a jurisdiction that is a region
    assert make_model({"policy.ban.jurisdiction": "china"}).market().ban_region == -1
    banned = make_model({"policy.ban.active": True, "policy.ban.jurisdiction": "china"})
    assert banned.market().ban_region == banned.region_names.index("china") == 1


def test_patrons_of_a_kind_nobody_uses_aim_at_nothing(make_model) -> None:
    model = make_model()
    model.usage = np.zeros_like(model.usage)
    model.review_patronage()
    lab = lab_by_name(model, "open_us")  # the small scenario's only subsidised lab
    assert lab.patron_support == pytest.approx(1.0 - 1.0 / 12)  # target 0, a twelfth of the way


def test_no_demanding_usage_means_no_online_rl(make_model) -> None:
    model = make_model({"adopters.segments.general.demanding": False})
    model.step()
    for lab in model.offerings:
        assert lab.demanding_usage_share == 0.0


def test_demanding_shares_below_one_mtok_are_shares(make_model) -> None:
    # a market of 1 Mtok a month: the demanding (general) segment uses 0.8 Mtok
    model = make_model({"world.market_mtok_per_month": 1.0})
    demanding = model.usage[model.population.demanding, :, :-1].sum(axis=(0, 1))
    assert 0 < demanding.sum() <= 1.0
    shares = [lab.demanding_usage_share for lab in model.offerings]
    assert shares == pytest.approx(list(demanding / demanding.sum()))
    assert sum(shares) == pytest.approx(1.0)


def test_dispose_empties_the_model(make_model) -> None:
    model = make_model()
    model.dispose()
    assert model.params is None and model.users is None and model.population is None
    assert model.offerings == [] and len(model.agents) == 0


def test_streams_are_per_tick_and_purpose(make_model) -> None:
    model = make_model()
    draw = lambda purpose, tick=None: model.stream(purpose, tick).random()  # noqa: E731
    assert draw(0, -3) == draw(0, -3)
    assert len({draw(0, -3), draw(0, -2), draw(0, 0), draw(1, -3)}) == 4
    assert draw(0) == draw(0, 0)  # at tick 0, no tick means this tick


def test_the_frontier_is_zero_when_no_lab_is_alive(make_model) -> None:
    model = make_model()
    for lab in model.lab_list:
        lab.alive = False
    model.record()
    assert model.frontier_benchmark_eci == 0.0


def test_the_model_table_records_the_seed_used(make_model) -> None:
    model = make_model(seed=17)
    model.step()
    table = model.datacollector.get_model_vars_dataframe()
    assert table["seed"].tolist() == [17, 17]


def research_markets(model: EcosystemModel) -> list:
    """From now on, every market of offers' columns that market research scores (without the month's market,
    which the month's first survey scores in front of its offers)."""
    markets = []
    research_utility = model.population.research_utility

    def spy(idx, market, tick):
        snapshot, scored = model._snapshot
        offers = market
        if scored is None:  # the snapshot's columns first, then the offers'
            n_base = snapshot.available.size
            assert np.array_equal(market.true_eci[:n_base], snapshot.true_eci)
            offers = market.columns([(j, {}) for j in range(n_base, market.available.size)])
        markets.append(offers)
        return research_utility(idx, market, tick)

    model.population.research_utility = spy
    return markets


def test_market_research_prices_each_offer_and_keeps_the_weights_open(make_scenario) -> None:
    """closed_us starts open and decides at tick 2 between closing (its pinned 5.0 USD/Mtok) and staying open.
    Its research scores one column per offer, priced as offered, and, for the closed offer, its own current
    model left on the market as open weights at serving cost."""
    scenario = make_scenario(
        {
            "labs.closed_us.release_policy": None,
            "labs.closed_us.initial_release": "open",
            "labs.open_cn.release_policy": "closed",
        }
    )
    model = EcosystemModel(scenario, seed=3)
    lab = lab_by_name(model, "closed_us")
    model.step()
    markets = research_markets(model)
    serving = model.serving_cost_usd_per_mtok(lab.released_training_flop)  # tick 1's; tick 2's below
    model.step()  # tick 2: it decides
    assert set(lab.release_payoffs) == {"closed", "open"}
    decline = (0.7 / 3) ** (1 / 12)  # serving costs fall from tick 1 to tick 2
    columns = [(o, p) for m in markets for o, p in zip(m.is_open.tolist(), m.log_price.tolist(), strict=True)]
    closed = [price for is_open, price in columns if not is_open]
    assert closed == [pytest.approx(np.log(5.0))]
    opened = sorted(price for is_open, price in columns if is_open)
    assert len(opened) == 2  # the open offer, and its weights next to the closed offer
    assert np.log(serving * decline) == pytest.approx(opened[0])
    assert max(opened) < np.log(5.0) - 0.1  # open weights at serving cost, not at the closed price


def test_closed_models_carry_full_trust_and_open_ones_the_open_trust_weight(make_model) -> None:
    """Twins but for open weights: an open model's utility exceeds the closed one's by control plus the
    share of origin trust it loses, (0.4 - 1) x trust."""
    model = make_model({"world.open_trust_weight": 0.4})
    market = model.market()
    assert model.population.terms.open_trust_weight == 0.4
    twins = market.columns([(0, {"is_open": False}), (0, {"is_open": True})])  # closed_us's column, twice
    pop = model.population
    idx = np.arange(pop.n)
    u = pop.utility(idx, twins, model.tick)
    us = model.bloc_names.index("us")
    np.testing.assert_allclose(u[:, 1] - u[:, 0], pop.control + (0.4 - 1.0) * pop.trust[:, us], atol=1e-12)


def test_under_a_ban_research_shows_a_closed_offer_as_its_own_legal_version(make_scenario) -> None:
    """closed_us (US, 4e26 FLOP, above the 1e26 threshold) starts open and decides at tick 2 under a US ban:
    a closed offer is not banned, so adopters in the US may use the newest model (legal = newest), even
    though the lab's current open model is only legal in its older version."""
    scenario = make_scenario(
        {
            "labs.closed_us.release_policy": None,
            "labs.closed_us.initial_release": "open",
            "labs.open_cn.release_policy": "closed",
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "us",
            "policy.ban.threshold_flop": 1e26,
        }
    )
    model = EcosystemModel(scenario, seed=3)
    lab = lab_by_name(model, "closed_us")
    model.step()
    markets = research_markets(model)
    model.step()  # tick 2: it decides
    columns = [
        (true, legal)
        for m in markets
        for true, legal in zip(
            m.true_eci[~m.is_open].tolist(), m.legal_true_eci[~m.is_open].tolist(), strict=True
        )
    ]
    assert "closed" in lab.release_payoffs
    ((true, legal),) = columns
    assert true > 130.0  # a newer model than the one on the market
    assert legal == true


def test_research_rescores_weights_already_on_the_market_in_place(make_model) -> None:
    """open_us closed at tick 1 (its weights are column 3); were it open again and weighing a closed offer,
    its research scores its current model in the weights' column: as many columns as offerings."""
    from simulation.agents.strategy import CLOSED, Offer

    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "us",
            "policy.ban.threshold_flop": 1e25,
            "labs.open_us.ban_response": "close",
        }
    )
    model.step()
    lab = lab_by_name(model, "open_us")
    assert "open_us" in model.weights_of and len(model.offerings) == 4
    lab.is_open = True  # as if reopened
    shapes = []
    expected_usage = model.population.expected_usage_of_weights

    def spy(idx, weights, outside_weight, tick):
        shapes.append(weights.shape[-2])  # offerings first
        return expected_usage(idx, weights, outside_weight, tick)

    model.population.expected_usage_of_weights = spy
    model.take_market_snapshot()
    model.market_research(lab, [Offer(CLOSED, lab.capability_true_eci, lab.released_training_flop)])
    assert shapes == [4]


def test_dispose_leaves_no_arrays_markets_or_agents_behind(make_model) -> None:
    import mesa

    from simulation.agents import Market

    def holds(value) -> bool:
        if isinstance(value, np.ndarray):
            return value.size > 0
        if isinstance(value, Market | mesa.Agent):
            return True
        if isinstance(value, dict):
            return any(holds(v) for v in value.values())
        if isinstance(value, tuple | list | set):
            return any(holds(v) for v in value)
        return False

    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "us",
            "policy.ban.threshold_flop": 1e25,
            "labs.open_us.ban_response": "close",
        }
    )
    model.step()  # open_us leaves its weights; the month's research snapshot is taken
    model.dispose()
    assert [name for name, value in vars(model).items() if holds(value)] == []
