"""Adopter choices (F4, F9, F14, F17): open-only segments, stickiness, switching costs, consideration sets,
bans and tallies, on the small hand-made scenario. Where exact outcomes are needed the random streams are
replaced by noiseless stand-ins (``choose`` takes its generators as arguments)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
from conftest import SMALL_SCENARIO, lab_by_name

from simulation.agents.population import NONE
from simulation.config import scenario_from_dict
from simulation.model import EcosystemModel


class NoNoiseRng:
    """Stands in for a numpy Generator in ``AdopterPopulation.choose``: ``random`` returns a constant (who
    reconsiders) and every Gumbel draw is 0, so choices follow the deterministic weights and utilities."""

    def __init__(self, random_value: float = 0.0):
        self.random_value = random_value

    def random(self, size=None) -> np.ndarray:
        return np.full(size, self.random_value)

    def standard_exponential(self, size=None) -> np.ndarray:
        return np.ones(size)  # Gumbel draws are -ln E (population.gumbel): every one is 0

    def spawn(self, n_children: int) -> list[NoNoiseRng]:
        return [NoNoiseRng(self.random_value) for _ in range(n_children)]


EVERYONE_RECONSIDERS = 0.0  # random() < reconsider rate for every adopter
NOBODY_RECONSIDERS = 1.0


def choose(model: EcosystemModel, market, voluntary: NoNoiseRng) -> None:
    """One choice step on ``market``; forced re-choices (no usable model) are noiseless too."""
    p = model.params
    enforcement = p.policy.ban.enforcement if p.policy.ban.active else 0.0
    model.population.choose(market, model.tick, voluntary, NoNoiseRng(), p.world, enforcement)


def six_lab_model(**changes) -> EcosystemModel:
    """The small scenario with three more open labs (6 labs): room for consideration sets to matter."""
    data = copy.deepcopy(SMALL_SCENARIO)
    data["labs"]["open_cn2"] = dict(data["labs"]["open_cn"], initial_capability_eci=121.0)
    data["labs"]["open_cn3"] = dict(data["labs"]["open_cn"], initial_capability_eci=118.0)
    data["labs"]["open_us2"] = dict(data["labs"]["open_us"], initial_capability_eci=119.0)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return EcosystemModel(scenario_from_dict(data), seed=5)


# -- open-only segments (F17) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_local_adopters_never_hold_a_closed_model(make_model, seed: int) -> None:
    # open_us turns closed at tick 1 (ban with response "close"): its local adopters must leave it; they
    # keep its released weights (column 3) or move to another open model
    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.threshold_flop": 1e25,
            "labs.open_us.ban_response": "close",
        },
        seed=seed,
    )
    pop = model.population
    local = pop.segment == model.segment_names.index("local")
    open_us = lab_by_name(model, "open_us")
    assert np.any(pop.choice[local] == open_us.index)  # before the ban bites, some local adopters use it
    on_open_us = local & (pop.choice == open_us.index)
    for _ in range(6):
        model.step()
        if model.tick == 1:
            # they keep the weights they hold; only those who reconsider this month may move
            assert np.mean(pop.choice[on_open_us] == 3) > 0.8
        open_offerings = [x.index for x in model.offerings if x.is_open]
        assert np.all(np.isin(pop.choice[local], open_offerings)), model.tick
        for lab in model.offerings:
            if not lab.is_open:
                assert lab.users_by_segment[model.segment_names.index("local")] == 0
    assert not open_us.is_open
    assert model.offerings[3].name == "open_us_open_weights" and model.offerings[3].is_open


# -- stickiness and switching costs (F4, F14) -------------------------------------------------------------------


def test_adopters_who_do_not_reconsider_keep_their_model(make_model) -> None:
    model = make_model()
    pop = model.population
    before = pop.choice.copy()
    assert np.all(before != NONE)
    market = model.market()
    # make another lab far better: nobody who keeps their model may notice
    better = dataclasses.replace(
        market, true_eci=market.true_eci + np.array([0.0, 0.0, 40.0]), benchmark_eci=market.benchmark_eci + 40
    )
    choose(model, better, NoNoiseRng(NOBODY_RECONSIDERS))
    np.testing.assert_array_equal(pop.choice, before)


def test_no_reconsideration_in_a_run_means_no_change(make_model) -> None:
    model = make_model(
        {
            "adopters.segments.general.reconsider_rate_per_month": 0.0,
            "adopters.segments.local.reconsider_rate_per_month": 0.0,
        }
    )
    before = model.population.choice.copy()
    assert np.all(before != NONE)  # the burn-in gave everyone a model
    for _ in range(6):
        model.step()
        np.testing.assert_array_equal(model.population.choice, before)


def test_adopter_switches_only_when_gain_beats_switching_cost(make_model) -> None:
    model = make_model(
        {
            "adopters.segments.general.consideration_size": 3,  # everyone sees every lab
            "adopters.segments.local.consideration_size": 3,
        }
    )
    pop = model.population
    market = model.market()
    open_only = pop.open_only[pop.segment]
    pop.choice[:] = np.where(
        open_only, lab_by_name(model, "open_us").index, lab_by_name(model, "closed_us").index
    )
    idx = np.arange(pop.n)
    utility = pop.utility(idx, market, model.tick)
    utility[
        open_only[:, None] & ~market.is_open[None, :]
    ] = -np.inf  # local adopters cannot use closed models
    best = utility.argmax(axis=1)
    gain = utility[idx, best] - utility[idx, pop.choice]
    current = pop.choice.copy()
    # three groups of adopters who would gain by moving: cost below, equal to and above the gain
    wants = np.flatnonzero(gain > 0.05)
    below, equal, above = wants[0::3], wants[1::3], wants[2::3]
    assert min(len(below), len(equal), len(above)) >= 10
    pop.switching_cost[below] = gain[below] / 2
    pop.switching_cost[equal] = gain[equal]
    pop.switching_cost[above] = gain[above] * 2
    content = np.flatnonzero(gain == 0)  # already on their best model
    pop.switching_cost[content] = 0.0
    choose(model, market, NoNoiseRng(EVERYONE_RECONSIDERS))  # no noise: utility as computed above
    np.testing.assert_array_equal(pop.choice[below], best[below])
    np.testing.assert_array_equal(pop.choice[equal], current[equal])  # a tie is not a gain
    np.testing.assert_array_equal(pop.choice[above], current[above])
    np.testing.assert_array_equal(pop.choice[content], current[content])


# -- consideration sets (F4) -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_consideration_set_is_top_k_plus_current_model(k: int) -> None:
    model = six_lab_model(
        adopters__segments__general__consideration_size=k, adopters__segments__local__consideration_size=k
    )
    pop, market = model.population, model.market()
    n, n_labs = pop.n, market.available.size
    # Without noise, the k most popular labs a segment may use are considered. Make popularity fall and
    # capability rise with the lab index: the models adopters would like best are the least visible.
    popularity = np.array([0.40, 0.25, 0.15, 0.10, 0.06, 0.04])
    pop.popularity = np.tile(popularity, (len(model.segment_names), 1))
    capability = np.linspace(120.0, 145.0, n_labs)
    market = dataclasses.replace(
        market,
        available=np.ones(n_labs, dtype=bool),
        recent=np.zeros(n_labs, dtype=bool),
        true_eci=capability,
        benchmark_eci=capability,
        legal_true_eci=capability,
        legal_benchmark_eci=capability,
    )
    allowed = np.tile(market.available, (n, 1)) & ~(
        pop.open_only[pop.segment][:, None] & ~market.is_open[None, :]
    )
    # half the adopters hold their least popular allowed model (the last one: outside the top k, so the set
    # must add it for them to compare it), half hold none
    has_model = np.arange(n) % 2 == 0
    last_allowed = n_labs - 1 - allowed[:, ::-1].argmax(axis=1)
    pop.choice[:] = np.where(has_model, last_allowed, NONE)
    current = pop.choice.copy()
    pop.switching_cost[:] = 0.0  # any gain is enough to move
    utility = pop.utility(np.arange(n), market, model.tick)
    choose(model, market, NoNoiseRng(EVERYONE_RECONSIDERS))
    expected = np.empty(n, dtype=int)
    unlimited = np.empty(n, dtype=int)
    outside_top_k = 0
    for i in range(n):
        usable = np.flatnonzero(allowed[i])
        seen = set(usable[np.argsort(-popularity[usable], kind="stable")[:k]].tolist())
        if current[i] != NONE:
            outside_top_k += int(current[i]) not in seen
            seen.add(int(current[i]))
        assert len(seen) <= k + 1
        expected[i] = max(seen, key=lambda j, i=i: utility[i, j])
        unlimited[i] = usable[utility[i, usable].argmax()]
    np.testing.assert_array_equal(pop.choice, expected)
    # the current model had to be added: for most holders it is not among the k most popular
    assert outside_top_k > 0.4 * has_model.sum()
    # and adding it mattered: without it most holders would have chosen otherwise
    held = np.flatnonzero(has_model & (current != NONE))
    top_k_only = [
        max(
            np.flatnonzero(allowed[i])[np.argsort(-popularity[allowed[i]], kind="stable")[:k]],
            key=lambda j, i=i: utility[i, j],
        )
        for i in held
    ]
    assert np.mean(np.array(top_k_only) != expected[held]) > 0.5
    # the limited attention mattered for those without a model: many would choose differently seeing all
    assert np.mean((expected != unlimited)[~has_model]) > 0.5


# -- bans (F9) ------------------------------------------------------------------------------------------------------


def test_adopters_in_the_jurisdiction_weigh_the_expected_penalty_against_the_legal_release(
    make_model,
) -> None:
    """Under a ban an adopter in its region takes, model by model, the better of the newest release minus
    enforcement x its segment's ban penalty and the legal (older) release (F9). Here the legal version of the
    Chinese model is 40 points behind: general-segment adopters (penalty 20, expected cost 10) shun it, local
    ones (penalty 0) keep using the newest: the leak is their decision."""
    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "us",
            "policy.ban.enforcement": 0.5,
            "adopters.segments.general.ban_penalty": 20.0,
            "adopters.segments.local.ban_penalty": 0.0,
            "adopters.segments.general.consideration_size": 3,
            "adopters.segments.local.consideration_size": 3,
        }
    )
    pop = model.population
    cn = lab_by_name(model, "open_cn").index
    plain = model.market()
    old_release = np.where(np.arange(3) == cn, 40.0, 0.0)  # the legal release is 40 points behind the newest
    plain = dataclasses.replace(
        plain,
        legal_true_eci=plain.true_eci - old_release,
        legal_benchmark_eci=plain.benchmark_eci - old_release,
    )
    banned = dataclasses.replace(plain, ban_region=model.region_names.index("us"))
    unbanned = dataclasses.replace(plain, ban_region=-1)
    legal_only = dataclasses.replace(
        plain, true_eci=plain.legal_true_eci, benchmark_eci=plain.legal_benchmark_eci
    )
    idx = np.arange(pop.n)
    in_us = pop.region == model.region_names.index("us")
    cost = np.where(pop.segment == 0, 0.5 * 20.0, 0.0)[:, None] * (np.arange(3) == cn)[None, :]
    newest, legal = pop.utility(idx, unbanned, model.tick), pop.utility(idx, legal_only, model.tick)
    expected_u = np.where(in_us[:, None], np.maximum(newest - cost, legal), newest)
    np.testing.assert_allclose(pop.utility(idx, banned, model.tick), expected_u)
    pop.choice[:] = NONE
    choose(model, banned, NoNoiseRng(EVERYONE_RECONSIDERS))
    expected_u[pop.open_only[pop.segment][:, None] & ~banned.is_open[None, :]] = -np.inf
    np.testing.assert_array_equal(pop.choice, expected_u.argmax(axis=1))
    general_us, local_us = in_us & (pop.segment == 0), in_us & (pop.segment == 1)
    assert not np.any(pop.choice[general_us] == cn)  # the expected penalty outweighs the newest model's edge
    assert np.any(pop.choice[local_us] == cn)  # no penalty: they take the newest (the leak)
    # outside the jurisdiction nothing changes
    np.testing.assert_allclose(pop.utility(idx[~in_us], banned, model.tick), newest[~in_us])


def test_no_ban_outside_the_jurisdiction_or_when_inactive(make_model) -> None:
    model = make_model({"policy.ban.active": False})
    assert model.market().ban_region == -1
    model = make_model({"policy.ban.active": True, "policy.ban.jurisdiction": "china"})
    assert model.market().ban_region == model.region_names.index("china")


# -- tallies -----------------------------------------------------------------------------------------------------


def test_tally_counts_every_adopter_once(make_model) -> None:
    model = make_model()
    pop = model.population
    pop.choice[:10] = NONE  # some adopters without a model
    users, usage = pop.tally()
    assert users.shape == (2, 2, 4)  # segments x regions x (labs + no model)
    assert users.sum() == pop.n == 300
    assert usage.sum() == pytest.approx(pop.usage_mtok.sum())
    # segment and region sizes are exact (largest remainder): 210/90 and 180/120
    np.testing.assert_array_equal(users.sum(axis=(1, 2)), [210, 90])
    np.testing.assert_array_equal(users.sum(axis=(0, 2)), [180, 120])
    assert users[..., -1].sum() == 10
    for j in range(3):
        assert users[..., j].sum() == np.sum(pop.choice == j)
        assert usage[..., j].sum() == pytest.approx(pop.usage_mtok[pop.choice == j].sum())
    for lab in model.offerings:  # what the labs were told at the last market step
        assert lab.users == int(model.users[..., lab.index].sum())


def test_tally_sums_to_n_every_tick(make_model) -> None:
    model = make_model()
    for _ in range(5):
        model.step()
        users, _ = model.population.tally()
        assert users.sum() == 300
        assert sum(lab.users for lab in model.offerings) + users[..., -1].sum() == 300


# -- start-up and events on adopters --------------------------------------------------------------------------


def test_model_without_burn_in_starts_with_nobody_using_a_model(make_model) -> None:
    model = make_model({"adopters.burn_in_months": 0})
    assert np.all(model.population.choice == NONE)
    assert all(lab.users == 0 for lab in model.offerings)
    assert model.current["open_share_usage"] == 0.0
    model.step()
    assert np.all(model.population.choice != NONE)  # nobody without a model stays without one


@pytest.mark.parametrize(
    ("path", "value", "who", "labs_shift"),
    [
        # F13: US adopters' trust in Chinese models falls from -0.5 to -5.5; open weights feel only
        # world.open_trust_weight (0.5 here) of origin trust
        ("adopters.regions.us.trust_by_bloc.china", -5.5, ("region", "us"), {"open_cn": -5.0 * 0.5}),
        # F12/F14: general adopters value self-hosting 2 utility units more (mean 0 -> 2)
        (
            "adopters.segments.general.control_value",
            2.0,
            ("segment", "general"),
            {"open_us": 2.0, "open_cn": 2.0},
        ),
    ],
)
def test_events_on_adopter_preferences_take_effect_from_their_month(
    path: str, value: float, who: tuple[str, str], labs_shift: dict[str, float]
) -> None:
    """The loader accepts these events (no refusal to hide behind); each moves the utility its group of
    adopters has for each lab by exactly the shift it implies, from its month on."""
    data = copy.deepcopy(SMALL_SCENARIO)
    data["world"]["open_trust_weight"] = 0.5
    data["events"] = [{"at": "2025-03", "set": {path: value}}]  # tick 2
    scenario = scenario_from_dict(data)
    model = EcosystemModel(scenario, seed=3)
    pop = model.population
    kind, name = who
    group = np.flatnonzero(
        pop.region == model.region_names.index(name)
        if kind == "region"
        else pop.segment == model.segment_names.index(name)
    )
    model.step()
    market = model.market()
    before = pop.utility(group, market, 1)
    model.step()  # tick 2: the event applies
    after = pop.utility(group, market, 1)
    for lab in model.lab_list:
        np.testing.assert_allclose(
            after[:, lab.index] - before[:, lab.index], labs_shift.get(lab.name, 0.0), atol=1e-9
        )


# -- utility by hand (an independent check of the choice step's deterministic part) ---------------------------


def test_utility_by_hand_for_two_adopters_and_three_labs_at_two_months(make_model) -> None:
    """u = shortfall_w * min(d, 0) + surplus_w * max(d, 0) - price_sensitivity * ln(price) + control * open
    + trust[bloc] * (1 if closed, open_trust_weight if open) + affinity, with d = perceived - need,
    perceived = w * true + (1 - w) * bench, need = need0 + need_growth * tick. Segment defaults: w 0.5, shortfall 0.6, surplus 0.05, price 0.5,
    need growth 0.5 a month. Every number below is worked out by hand in the comments."""
    model = make_model()
    pop = model.population
    a = int(np.flatnonzero(pop.segment == 0)[0])  # a 'general' adopter
    b = int(np.flatnonzero(pop.segment == 1)[0])  # a 'local' adopter
    pop.need0_eci[[a, b]] = [126.0, 112.0]
    pop.control[[a, b]] = [0.2, 0.0]
    pop.trust[a] = [0.3, -0.5]  # us, china
    pop.trust[b] = [-1.0, 0.5]
    market = dataclasses.replace(
        model.market(),
        true_eci=np.array([130.0, 120.0, 124.0]),
        benchmark_eci=np.array([130.5, 121.0, 128.0]),
        log_price=np.log([5.0, 0.5, 0.33]),
        is_open=np.array([False, True, True]),
        bloc=np.array([0, 0, 1]),
        affinity=np.zeros((2, 3)),
        ban_region=-1,
    )
    # perceived: 130.25, 120.5, 126; -0.5 ln(price): -0.804719, +0.346574, +0.554331
    expected = {
        0: [
            # need 126: d = 4.25 -> 0.2125 - 0.804719 + 0.3 (trust, closed: weight 1)
            # d = -5.5 -> -3.3 + 0.346574 + 0.2 (control) + 0.15 (trust 0.3 x 0.5)
            # d = 0 -> 0 + 0.554331 + 0.2 - 0.25
            [-0.292219, -2.603426, 0.504331],
            # local, need 112: d = 18.25 -> 0.9125 - 0.804719 - 1.0; d = 8.5 -> 0.425 + 0.346574 - 0.5;
            # d = 14 -> 0.7 + 0.554331 + 0.25
            [-0.892219, 0.271574, 1.504331],
        ],
        6: [
            # need 129: d = 1.25 -> 0.0625; d = -8.5 -> -5.1; d = -3 -> -1.8
            [-0.442219, -4.403426, -1.295669],
            # need 115: d = 15.25 -> 0.7625; d = 5.5 -> 0.275; d = 11 -> 0.55
            [-1.042219, 0.121574, 1.354331],
        ],
    }
    for tick, rows in expected.items():
        np.testing.assert_allclose(pop.utility(np.array([a, b]), market, tick), rows, atol=1e-6)


def test_co_ownership_adds_the_segment_ownership_value_for_owner_regions_only(make_model) -> None:
    """A lab co-owned by region 'us' (F12): its utility for US adopters exceeds an identical unowned lab's by
    their segment's ownership value; for Chinese adopters, or with an ownership value of 0, by nothing."""
    model = make_model({"adopters.segments.general.ownership_value": 1.5})
    pop = model.population
    base = model.market()
    twins = dataclasses.replace(
        base,
        true_eci=np.array([125.0, 125.0, 125.0]),
        benchmark_eci=np.array([125.0, 125.0, 125.0]),
        log_price=np.zeros(3),
        is_open=np.array([True, True, True]),
        bloc=np.array([0, 0, 0]),
        affinity=np.zeros((2, 3)),
        owned=np.array([[False, True, False], [False, False, False]]),  # us co-owns lab 1
        ban_region=-1,
    )
    idx = np.arange(pop.n)
    u = pop.utility(idx, twins, 0)
    gain = u[:, 1] - u[:, 0]
    in_us, general = pop.region == 0, pop.segment == 0
    np.testing.assert_allclose(gain[in_us & general], 1.5)
    np.testing.assert_allclose(gain[~(in_us & general)], 0.0, atol=1e-12)  # other regions; local segment: 0
    neutral = make_model()  # ownership_value 0 (the default): no preference left
    u0 = neutral.population.utility(idx, twins, 0)
    np.testing.assert_allclose(u0[:, 1] - u0[:, 0], 0.0, atol=1e-12)
