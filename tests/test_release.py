"""Labs choose how to release (open or closed, and how to answer a ban) by payoffs; adopters have an
outside option. Hand-computed cases on the pure rules (``simulation.agents.strategy``), then the rules at
work in the small scenario of conftest.py."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from simulation.agents import strategy
from simulation.agents.population import NONE
from simulation.agents.strategy import Offer
from simulation.model import EcosystemModel

# -- the pure rules ----------------------------------------------------------------------------------------


def test_closed_payoff_is_the_margin_over_own_serving_plus_patron_minus_running_cost() -> None:
    got = strategy.release_payoff_usd(
        strategy.CLOSED,
        100.0,
        3.0,
        1.5,
        open_revenue_fraction=0.03,
        open_strategic_value=0.2,
        patron_usd=5.0,
        running_cost_usd=10.0,
    )
    assert got == pytest.approx(100 * (3.0 - 1.5) + 5 - 10)


@pytest.mark.parametrize("option", [strategy.OPEN, strategy.CAPPED, strategy.OFFSHORE, strategy.DEFY])
def test_open_payoff_values_usage_at_serving_cost_times_captured_and_strategic_value(option: str) -> None:
    got = strategy.release_payoff_usd(
        option, 100.0, 1.5, 1.5, open_revenue_fraction=0.03, open_strategic_value=0.2, patron_usd=7.0
    )
    assert got == pytest.approx(100 * 1.5 * 0.23 + 7)


def test_ban_running_costs_by_hand() -> None:
    kw = {"enforcement": 0.2, "lab_penalty_months": 24.0, "offshore_cost_fraction": 0.3}
    assert strategy.ban_running_cost_usd(strategy.OFFSHORE, 1e7, **kw) == pytest.approx(3e6)
    assert strategy.ban_running_cost_usd(strategy.DEFY, 1e7, **kw) == pytest.approx(0.2 * 24 * 1e7)
    for option in (strategy.CAPPED, strategy.OPEN, strategy.CLOSED):
        assert strategy.ban_running_cost_usd(option, 1e7, **kw) == 0.0


def test_a_lab_keeps_its_way_of_releasing_unless_another_is_clearly_better() -> None:
    assert strategy.choose_release({"closed": 120.0, "open": 100.0}, "open", 0.25) == "open"  # 120 <= 125
    assert strategy.choose_release({"closed": 126.0, "open": 100.0}, "open", 0.25) == "closed"
    assert strategy.choose_release({"closed": -5.0, "open": -10.0}, "open", 0.25) == "closed"  # -5 > -7.5
    assert strategy.choose_release({"closed": 1.0, "open": 1.0}, "open", 0.0) == "open"  # a tie: stay
    # the current way is not on offer (a ban binds): the best of the others
    assert strategy.choose_release({"capped": 3.0, "offshore": 4.0, "defy": 2.0}, "open", 0.25) == "offshore"


def test_offers_know_which_are_open() -> None:
    assert [Offer(o, 1.0, 1.0).is_open for o in ("closed", "open", "capped", "offshore", "defy")] == [
        False,
        True,
        True,
        True,
        True,
    ]


# -- market research ---------------------------------------------------------------------------------------


def test_expected_usage_splits_each_adopters_usage_by_logit_probabilities(make_model) -> None:
    """Two adopters, three offerings, utilities given: usage x exp(u_j) / (sum_k exp(u_k) + exp(outside)),
    summed by segment and scaled by population / sample."""
    model = make_model({"adopters.segments.general.outside_utility": 0.5})
    pop = model.population
    general, local = np.flatnonzero(pop.segment == 0)[0], np.flatnonzero(pop.segment == 1)[0]
    idx = np.array([general, local])
    u = np.array([[1.0, 0.0, -1.0], [-np.inf, 2.0, 2.0]])  # the local adopter cannot use the closed lab
    usage = pop.base_usage_mtok[idx] * pop.usage_growth[pop.segment[idx]] ** (model.tick / 12)
    got = pop.expected_usage_mtok(idx, u, model.tick)
    e = math.exp
    general_row = usage[0] * np.array([e(1), e(0), e(-1)]) / (e(1) + e(0) + e(-1) + e(0.5))
    local_row = usage[1] * np.array([0.0, 0.5, 0.5])  # no outside option in its segment
    np.testing.assert_allclose(got, np.array([general_row, local_row]) * pop.n / 2)


def test_research_utility_scores_only_what_an_adopter_may_use(make_model) -> None:
    model = make_model()
    pop = model.population
    idx = np.arange(pop.n)
    market = model.market()
    u = pop.research_utility(idx, market, model.tick)
    barred = pop.open_only[pop.segment][:, None] & ~market.is_open[None, :]  # local adopters, closed lab
    assert barred.sum() == (pop.segment == 1).sum()
    np.testing.assert_array_equal(u, np.where(barred, -np.inf, pop.utility(idx, market, model.tick)))


def test_stacked_utilities_give_each_markets_expected_usage(make_model) -> None:
    """Market research scores all of a lab's offers at once: a stack of K utility tables gives the K
    expected-usage tables each would give alone."""
    model = make_model({"adopters.segments.general.outside_utility": 0.5})
    pop = model.population
    idx = np.arange(pop.n)
    u = pop.research_utility(idx, model.market(), model.tick)
    other = u.copy()
    other[:, 1] += 1.5
    stacked = pop.expected_usage_mtok(idx, np.stack([u, other]), model.tick)
    np.testing.assert_allclose(stacked[0], pop.expected_usage_mtok(idx, u, model.tick), rtol=1e-12)
    np.testing.assert_allclose(stacked[1], pop.expected_usage_mtok(idx, other, model.tick), rtol=1e-12)
    assert stacked[1][:, 1].sum() > stacked[0][:, 1].sum()  # a better offer expects more usage


def test_logit_weights_of_shared_rows_give_each_markets_expected_usage(make_model) -> None:
    """The survey builds each offer's market from logit weights taken once per row with one shift per adopter:
    the usage each market expects is what its utility table gives, whatever the other rows."""
    model = make_model({"adopters.segments.general.outside_utility": 0.5})
    pop = model.population
    idx = np.arange(pop.n)
    u = pop.research_utility(idx, model.market(), model.tick)  # (n, L)
    offer = u[:, 1] + 40.0  # far better than anything: the shared shift comes from this row
    (base_w, offer_w), outside_w = pop.logit_weights(idx, model.tick, u.T, offer[None, :])
    w = np.stack([base_w, base_w.copy()])
    w[1, 1] = offer_w[0]
    got = pop.expected_usage_of_weights(idx, w, outside_w, model.tick)
    other = u.copy()
    other[:, 1] = offer
    np.testing.assert_allclose(got[0], pop.expected_usage_mtok(idx, u, model.tick), rtol=1e-9)
    np.testing.assert_allclose(got[1], pop.expected_usage_mtok(idx, other, model.tick), rtol=1e-9)


def test_can_use_is_access_to_the_current_model(make_model) -> None:
    """An adopter can use its model when it has one and its (segment, region) cell has access to it."""
    model = make_model()
    pop = model.population
    market = dataclasses.replace(model.market(), available=np.array([True, False, True]))
    access = pop.access(market)
    pop.choice[:3] = [-1, 1, 2]  # nothing; a lab that is gone; an available one
    expected = np.array([access[pop.cell[i], c] if c >= 0 else False for i, c in enumerate(pop.choice)])
    np.testing.assert_array_equal(pop.can_use(access), expected)
    assert not expected[:2].any() and expected[2]
    np.testing.assert_array_equal(pop.can_use(access, np.array([2, 0])), expected[[2, 0]])


def test_market_columns_copy_one_offering_per_change(make_model) -> None:
    model = make_model()
    market = model.market()
    cols = market.columns([(1, {}), (1, {"is_open": False, "log_price": 2.0}), (1, {"true_eci": 99.0})])
    assert cols.true_eci.tolist() == [market.true_eci[1], market.true_eci[1], 99.0]
    assert cols.is_open.tolist() == [bool(market.is_open[1]), False, bool(market.is_open[1])]
    assert cols.log_price.tolist() == [market.log_price[1], 2.0, market.log_price[1]]
    assert cols.affinity.shape == (market.affinity.shape[0], 3) and cols.owned.shape[1] == 3
    assert market.true_eci[1] != 99.0 and market.log_price[1] != 2.0  # the market itself is untouched


@pytest.mark.parametrize("start", ["open", "closed"])
def test_offers_researched_together_match_each_researched_alone(make_scenario, start: str) -> None:
    """closed_us weighs closing against opening (and, starting open, its weights left on the market if it
    closes): researching the offers together gives what each gives researched alone."""
    from simulation.agents.strategy import CLOSED, OPEN

    changes = {"labs.open_cn.release_policy": "closed"}  # a closed lab from the start (the gap needs one)
    model = EcosystemModel(_deciding(make_scenario, "closed_us", start, changes), seed=3)
    model.step()
    lab = next(x for x in model.lab_list if x.name == "closed_us")
    model.take_market_snapshot()
    offers = [
        Offer(CLOSED, lab.capability_true_eci + 2.0, lab.training_flop),
        Offer(OPEN, lab.capability_true_eci + 2.0, lab.training_flop),
        Offer(OPEN, lab.capability_true_eci, lab.released_training_flop),
    ]
    together = model.market_research(lab, offers)
    alone = [model.market_research(lab, [offer])[0] for offer in offers]
    for a, b in zip(together, alone, strict=True):
        assert a.usage_mtok == pytest.approx(b.usage_mtok, rel=1e-12)
        assert a.standing == pytest.approx(b.standing, rel=1e-12)
    assert together[0].usage_mtok != pytest.approx(together[1].usage_mtok, rel=1e-3)  # the offers differ


def test_a_survey_of_several_labs_gives_each_lab_its_own_research(make_scenario) -> None:
    """One survey of two deciding labs (one open now, whose closed offer keeps its weights on the market, one
    closed now) gives each what its own market research gives, and what the release phase hands it."""
    from simulation.agents.strategy import CLOSED, OPEN

    changes = {
        "labs.closed_us.release_policy": None,
        "labs.closed_us.initial_release": "open",
        "labs.open_us.release_policy": None,
        "labs.open_us.initial_release": "closed",
        "labs.open_cn.release_policy": "closed",
    }
    model = EcosystemModel(make_scenario(changes), seed=3)
    model.step()
    model.take_market_snapshot()
    requests = [
        (
            lab,
            [
                Offer(CLOSED, lab.capability_true_eci + 1.0, lab.training_flop),
                Offer(OPEN, lab.capability_true_eci + 1.0, lab.training_flop),
            ],
        )
        for lab in model.lab_list
        if lab.name in ("closed_us", "open_us")
    ]
    together = model.survey(requests)
    for (lab, offers), found in zip(requests, together, strict=True):
        alone = model.market_research(lab, offers)
        assert [r.usage_mtok for r in found] == pytest.approx([r.usage_mtok for r in alone], rel=1e-12)
        assert [r.standing for r in found] == pytest.approx([r.standing for r in alone], rel=1e-12)
    for lab, offers in requests:
        lab.drafts = offers
    model.research_drafts()
    assert model.research_of(requests[0][0], requests[0][1]) == together[0]
    assert model.research_of(requests[1][0], requests[1][1]) == together[1]


# -- the rules at work: who opens, who closes ------------------------------------------------------------


def _deciding(make_scenario, lab: str, start: str, changes=None):
    return make_scenario(
        {f"labs.{lab}.release_policy": None, f"labs.{lab}.initial_release": start} | dict(changes or {})
    )


def test_a_follower_with_a_cheap_rival_opens(make_scenario) -> None:
    """open_us (120 ECI) starts closed and decides at its first release (tick 1): open_cn's 124-ECI open
    model is better and cheaper, so a closed model has no markup (price = serving cost, margin 0), while
    open weights bring adoption: it opens."""
    model = EcosystemModel(_deciding(make_scenario, "open_us", "closed"), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_us")
    assert not lab.is_open and lab.release_option == "closed"
    model.step()
    assert lab.is_open and lab.release_option == "open"
    closed, open_ = lab.release_payoffs["closed"], lab.release_payoffs["open"]
    assert open_ > closed * (1 + model.params.world.release_switch_margin)


def test_a_follower_closed_model_earns_no_margin_so_its_payoff_is_its_patron_money(make_scenario) -> None:
    model = EcosystemModel(
        _deciding(make_scenario, "open_us", "closed", {"labs.open_us.subsidy_usd_per_month": 0.0}), seed=3
    )
    lab = next(x for x in model.lab_list if x.name == "open_us")
    model.step()
    assert lab.release_payoffs["closed"] == 0.0  # behind the best open model: markup 1, no patron
    assert lab.release_payoffs["open"] > 0.0


def test_a_leader_with_paying_users_closes_and_leaves_its_weights(make_scenario) -> None:
    """closed_us (130 ECI, far ahead) starts open and decides at its first release (tick 2): selling at its
    $5/Mtok over a ~$3.3 serving cost earns far more than open weights' value: it closes, and the model it
    served open stays on the market as weights."""
    # open_cn pinned closed so that a closed lab exists from the start (the frontier gap needs one)
    scenario = _deciding(make_scenario, "closed_us", "open", {"labs.open_cn.release_policy": "closed"})
    model = EcosystemModel(scenario, seed=3)
    lab = next(x for x in model.lab_list if x.name == "closed_us")
    assert lab.is_open
    model.step()
    assert lab.is_open  # no release at tick 1
    model.step()
    assert not lab.is_open and lab.release_option == "closed"
    assert lab.release_payoffs["closed"] > lab.release_payoffs["open"] * 1.25
    assert [x.name for x in model.offerings][-1] == "closed_us_open_weights"
    assert model.offerings[-1].active


def test_pinned_labs_do_not_decide(make_model) -> None:
    model = make_model()
    for _ in range(6):
        model.step()
    assert [lab.release_payoffs for lab in model.lab_list] == [{}, {}, {}]
    assert [lab.is_open for lab in model.lab_list] == [False, True, True]


# -- the ban acts through payoffs -------------------------------------------------------------------------

BAN = {
    "policy.ban.active": True,
    "policy.ban.jurisdiction": "us",
    "policy.ban.threshold_flop": 1e25,  # open_us's runs (4e25 FLOP) are above it
    "world.training_lag_months": 0,
}


def _ban_choice(make_scenario, changes) -> tuple[str, dict[str, float]]:
    model = EcosystemModel(make_scenario(BAN | changes), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_us")
    model.step()  # its release at tick 1
    return lab.release_option, lab.release_payoffs


def test_without_enforcement_or_sanction_a_ban_leaves_the_choice_to_the_payoffs_of_open(
    make_scenario,
) -> None:
    """Enforcement 0: defying costs nothing and adopters ignore the ban, so releasing anyway pays as an open
    release would; capping loses capability and offshoring costs money."""
    option, payoffs = _ban_choice(make_scenario, {"policy.ban.enforcement": 0.0})
    assert option == "defy"
    assert payoffs["defy"] > payoffs["offshore"] and payoffs["defy"] > payoffs["capped"]
    assert set(payoffs) == {"capped", "offshore", "defy"}  # pinned open: closing is not on offer


def test_a_sanction_makes_defiance_the_worst_answer(make_scenario) -> None:
    option, payoffs = _ban_choice(make_scenario, {"policy.ban.enforcement": 1.0})
    assert option in {"capped", "offshore"}
    # defying and offshoring ship the same model to the same adopters: they differ by running costs only
    staff = 2e7
    assert payoffs["offshore"] - payoffs["defy"] == pytest.approx(1.0 * 24 * staff - 0.3 * staff)
    # the same ban with no sanction on labs: defiance pays again; the ban moved the choice only through it
    option, _ = _ban_choice(
        make_scenario, {"policy.ban.enforcement": 1.0, "policy.ban.lab_penalty_months": 0.0}
    )
    assert option == "defy"


def test_offshoring_is_chosen_when_it_is_cheap_and_releases_are_then_unbound(make_scenario) -> None:
    changes = {"policy.ban.enforcement": 1.0, "policy.ban.offshore_cost_fraction": 0.0}
    model = EcosystemModel(make_scenario(BAN | changes), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_us")
    model.step()
    assert lab.release_option == "offshore" and lab.is_open and not lab.banned_here()
    assert lab.released_training_flop > 1e25  # released at full size, from abroad
    assert lab.legal_true_eci < lab.capability_true_eci  # still banned for adopters in the US


def test_a_deciding_lab_may_close_under_a_ban(make_scenario) -> None:
    changes = {
        "labs.open_us.release_policy": None,
        "labs.open_us.initial_release": "open",
        "policy.ban.enforcement": 1.0,
        "policy.ban.offshore_cost_fraction": 10.0,
    }
    option, payoffs = _ban_choice(make_scenario, changes)
    assert set(payoffs) == {"closed", "capped", "offshore", "defy"}
    assert option == max(payoffs, key=payoffs.get)


def test_offshore_running_cost_is_paid_in_finance(make_scenario) -> None:
    changes = {
        "policy.ban.enforcement": 1.0,
        "policy.ban.offshore_cost_fraction": 0.0,
        "labs.open_us.ban_response": "offshore",
    }
    model = EcosystemModel(make_scenario(BAN | changes | {"policy.ban.offshore_cost_fraction": 0.5}), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_us")
    model.step()
    assert lab.release_option == "offshore"
    model.step()
    serving_and_distillation = lab.costs_usd - 2e7 - 0.5 * 2e7
    assert serving_and_distillation == pytest.approx(lab.distillation_cost_usd())


# -- export controls raise a closed model's serving cost --------------------------------------------------


def test_a_closed_lab_serves_on_its_own_blocs_compute(make_scenario) -> None:
    """open_cn pinned closed: its serving cost is the world's times China's compute price multiplier (2)."""
    model = EcosystemModel(make_scenario({"labs.open_cn.release_policy": "closed"}), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_cn")
    assert lab.serving_cost == pytest.approx(
        2.0 * model.serving_cost_usd_per_mtok(lab.released_training_flop)
    )


# -- the outside option ------------------------------------------------------------------------------------


def test_adopters_leave_for_the_outside_option_when_it_is_worth_more(make_model) -> None:
    model = make_model(
        {
            "adopters.segments.general.outside_utility": 50.0,
            "adopters.segments.general.reconsider_rate_per_month": 1.0,
            "adopters.segments.general.switching_cost": 0.0,
        }
    )
    model.step()
    pop = model.population
    general = pop.segment == 0
    assert (pop.choice[general] == NONE).all()
    assert (pop.choice[~general] != NONE).all()  # local adopters have no outside option
    assert model.current["unserved_share_usage"] == pytest.approx(
        pop.usage_mtok[general].sum() / pop.usage_mtok.sum()
    )
    assert sum(lab.usage_mtok for lab in model.offerings) == pytest.approx(pop.usage_mtok[~general].sum())


def test_an_outside_option_nobody_takes_changes_no_other_draw(make_model) -> None:
    """The outside option draws its noise from a stream of its own: with a value nobody takes, every
    choice is as without it (common random numbers)."""
    runs = []
    for changes in ({}, {"adopters.segments.general.outside_utility": -100.0}):
        model = make_model(changes)
        for _ in range(6):
            model.step()
        runs.append(model.population.choice.copy())
    np.testing.assert_array_equal(*runs)


def test_adopters_who_opt_out_stay_out_until_they_reconsider(make_model) -> None:
    """At tick 1 every general adopter takes a very attractive outside option; from tick 2 an event makes it
    worthless and stops reconsidering: they are not forced back each month (nothing they use has gone)."""
    out = {
        "adopters.segments.general.outside_utility": 50.0,
        "adopters.segments.general.reconsider_rate_per_month": 1.0,
        "adopters.segments.general.switching_cost": 0.0,
    }
    later = {
        "adopters.segments.general.outside_utility": -100.0,
        "adopters.segments.general.reconsider_rate_per_month": 0.0,
    }
    model = make_model(out | {"events": [{"at": "2025-03", "set": later}]})
    general = model.population.segment == 0
    for _ in range(4):
        model.step()
    assert (model.population.choice[general] == NONE).all()
    assert model.population.opted_out[general].all() and not model.population.opted_out[~general].any()


def test_a_patron_budget_twice_as_large_builds_more_compute(make_scenario) -> None:
    """A consortium is a lab whose patrons are states: its budget buys compute through the purchase rule
    (money binds, not the build limit), so twice the budget builds more capacity."""
    capacity = []
    for budget in (5e7, 1e8):
        scenario = make_scenario(
            {"labs.open_us.subsidy_usd_per_month": budget, "labs.open_us.initial_cash_usd": 5e8}
        )
        model = EcosystemModel(scenario, seed=3)
        lab = next(x for x in model.lab_list if x.name == "open_us")
        for _ in range(6):
            model.step()
            assert not lab.build_limited  # money sets the purchase
        capacity.append(lab.compute_flop_per_month)
    assert capacity[1] > capacity[0] * 1.05


def test_a_closed_lab_under_a_ban_cannot_open_a_model_above_the_threshold(make_scenario) -> None:
    """closed_us (runs of 4e26 FLOP) decides under a ban with a 1e25 threshold: a model trained at the threshold
    is worse than the one it sells, so opening would mean publishing its banned-size model: not on offer, and
    nor are offshoring or defying for a lab that is closed."""
    scenario = _deciding(
        make_scenario,
        "closed_us",
        "closed",
        BAN | {"policy.ban.enforcement": 0.0, "policy.ban.lab_penalty_months": 0.0},
    )
    model = EcosystemModel(scenario, seed=3)
    lab = next(x for x in model.lab_list if x.name == "closed_us")
    offers = lab.release_offers(lab.capability_true_eci - 1.0, 4e26)
    assert [o.option for o in offers] == ["closed"]
    # a capped model that beats the current one may be opened (it is legal)
    offers = lab.release_offers(lab.capability_true_eci + 30.0, 4e26)
    assert [o.option for o in offers] == ["closed", "capped"] and offers[1].training_flop == 1e25


def test_a_closed_price_is_the_world_cost_marked_up_never_below_the_labs_own_cost(make_scenario) -> None:
    """open_cn pinned closed (China's compute costs 2x): its price is max(world cost x markup, own cost). With
    no open model within reach the markup is 2, so price = 2 x world cost = own cost; 2.5 ECI ahead of the
    best open model the markup is 1 + 1 x 2.5 / 5 = 1.5, below its own cost: it sells at cost."""
    model = EcosystemModel(make_scenario({"labs.open_cn.release_policy": "closed"}), seed=3)
    lab = next(x for x in model.lab_list if x.name == "open_cn")
    world = model.serving_cost_usd_per_mtok(4e25)
    assert lab.closed_price(130.0, 4e25, -np.inf) == pytest.approx((2.0 * world, 2.0 * world))
    assert lab.closed_price(130.0, 4e25, 127.5) == pytest.approx((2.0 * world, 2.0 * world))
    us = next(x for x in model.lab_list if x.name == "open_us")  # US compute: 1x; price not pinned
    assert us.closed_price(130.0, 4e25, 127.5) == pytest.approx((1.5 * world, world))
    assert us.closed_price(130.0, 4e25, 140.0) == pytest.approx((world, world))  # behind: at cost
