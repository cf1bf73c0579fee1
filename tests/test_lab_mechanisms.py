"""Lab mechanisms, one at a time, on the small hand-made scenario (tests/conftest.py), with the expected
numbers computed by hand from the formulas in shared/domain.md's claims (F2, F5-F7, F9, F15, F16)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import SMALL_SCENARIO, lab_by_name

from simulation.agents.lab import RUNWAY_CAP_MONTHS
from simulation.config import scenario_from_dict
from simulation.model import EcosystemModel

ALPHA = SMALL_SCENARIO["world"]["eci_per_decade_compute"]  # 6 ECI points per 10x compute
P0 = SMALL_SCENARIO["world"]["compute_price_usd_per_flop_month"]
PRICE_DECLINE = SMALL_SCENARIO["world"]["compute_price_decline_per_year"]
DEPRECIATION = SMALL_SCENARIO["world"]["compute_depreciation_per_month"]
RUN_MONTHS = SMALL_SCENARIO["world"]["run_months"]
LAG = SMALL_SCENARIO["world"]["training_lag_months"]

# Only the named lab learns nothing by itself: no own research, spill-over, distillation or online RL.
NO_LEARNING = {
    "world.spillover_rate_per_month": 0.0,
    "world.rl_gain_eci_per_month": 0.0,
    "labs.closed_us.algo_progress_eci_per_month": 0.0,
    "labs.open_us.algo_progress_eci_per_month": 0.0,
    "labs.open_cn.algo_progress_eci_per_month": 0.0,
    "labs.open_us.distillation_ability": 0.0,
    "labs.open_cn.distillation_ability": 0.0,
}


def no_income(lab: str, staff: float, cash: float) -> dict:
    """Changes that leave ``lab`` (an open lab) with staff costs only: no revenue, subsidy, round or compute."""
    return {
        "world.open_revenue_fraction": 0.0,
        f"labs.{lab}.compute_spend_usd_per_month": 0.0,
        f"labs.{lab}.fundraise_probability_per_month": 0.0,
        f"labs.{lab}.subsidy_usd_per_month": 0.0,
        f"labs.{lab}.staff_usd_per_month": staff,
        f"labs.{lab}.initial_cash_usd": cash,
    }


def planned_spend(base: float, tick: int, growth: float = 2.0) -> float:
    return base * growth ** (tick / 12)


def compute_price(tick: int, bloc_multiplier: float) -> float:
    return P0 * (1 - PRICE_DECLINE) ** (tick / 12) * bloc_multiplier


# -- finance: exit, runway (F7, F19) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cash", "staff"),
    [
        (1e9, 3e8),  # 700, 400, 100 (million), then -200: exits at tick 4
        (9e8, 3e8),  # exactly 0 at tick 3 is not "out of cash": exits at tick 4
        (1e9, 1.1e9),  # out of cash on the first tick
    ],
)
def test_lab_without_income_exits_on_the_tick_cash_goes_negative(
    make_model, cash: float, staff: float
) -> None:
    exit_tick = math.floor(cash / staff) + 1  # first k with cash - k * staff < 0
    model = make_model(no_income("open_cn", staff, cash))
    lab = lab_by_name(model, "open_cn")
    j = lab.index
    pop = model.population
    assert lab.users > 0  # it has adopters to lose
    for tick in range(1, exit_tick):
        model.step()
        assert lab.active, tick
        assert lab.cash_usd == pytest.approx(cash - tick * staff, rel=1e-12, abs=1e-3)
        assert lab.runway_months == pytest.approx((cash - tick * staff) / staff)  # net burn = staff
    holders = np.flatnonzero(pop.choice == j)
    assert holders.size > 0
    alive_open_before = model.current["labs_alive_open"]
    model.step()
    assert model.tick == exit_tick
    assert not lab.active
    assert lab.cash_usd == pytest.approx(cash - exit_tick * staff)
    assert lab.cash_usd < 0
    assert lab.runway_months == 0.0
    # every former adopter chose again on this tick, and found another model
    assert not np.any(pop.choice == j)
    assert np.all(pop.choice[holders] >= 0)
    assert lab.users == 0
    assert model.current["labs_alive_open"] == alive_open_before - 1
    # dead stays dead, and its cash no longer moves
    cash_at_exit = lab.cash_usd
    for _ in range(2):
        model.step()
        assert not lab.active and lab.users == 0
        assert lab.cash_usd == cash_at_exit
        assert lab.compute_spend_usd == 0.0


@pytest.mark.parametrize(
    ("cash", "burn", "expected"),
    [
        (1000.0, 100.0, 10.0),
        (50.0, 200.0, 0.25),
        (1000.0, 0.0, RUNWAY_CAP_MONTHS),  # not burning
        (1000.0, -5.0, RUNWAY_CAP_MONTHS),  # earning more than spending
        (1e15, 1.0, RUNWAY_CAP_MONTHS),  # capped
        (-50.0, 10.0, 0.0),  # no negative runway
    ],
)
def test_runway_is_cash_over_net_burn(cash: float, burn: float, expected: float) -> None:
    from simulation.agents import Lab

    assert Lab.runway(cash, burn) == pytest.approx(expected)


def test_runway_in_the_model_counts_planned_compute_costs_revenue_and_subsidy(make_model) -> None:
    staff, cash, spend, subsidy = 1e7, 5e8, 2e7, 4e6
    changes = no_income("open_cn", staff, cash)
    changes.update(
        {"labs.open_cn.compute_spend_usd_per_month": spend, "labs.open_cn.subsidy_usd_per_month": subsidy}
    )
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    model.step()
    cash_after_finance = cash + subsidy - staff
    net_burn = planned_spend(spend, 1) + staff - subsidy
    assert lab.runway_months == pytest.approx(cash_after_finance / net_burn)


def test_revenue_costs_and_subsidy_by_hand(make_model) -> None:
    """Revenue comes from last month's usage: closed labs at their price less serving costs (gross margin),
    open labs only a fraction of what adopters pay for inference (F14, F19); patron money grows yearly."""
    model = make_model(
        {
            "world.closed_gross_margin": 0.4,
            "world.open_revenue_fraction": 0.05,
            "world.open_inference_price_usd_per_mtok": 0.5,
            "labs.open_us.subsidy_growth_per_year": 2.0,
            "world.runway_comfort_months": 1.0,
        }
    )
    closed, open_ = lab_by_name(model, "closed_us"), lab_by_name(model, "open_us")
    usage = {lab.name: lab.usage_mtok for lab in (closed, open_)}
    cash0 = {lab.name: lab.cash_usd for lab in (closed, open_)}
    assert min(usage.values()) > 0
    model.step()
    closed_sales = usage["closed_us"] * 5.0
    assert closed.revenue_usd == pytest.approx(closed_sales)
    assert closed.costs_usd == pytest.approx(1e8 + closed_sales * (1 - 0.4))
    assert open_.revenue_usd == pytest.approx(usage["open_us"] * 0.5 * 0.05)
    assert open_.costs_usd == pytest.approx(2e7)  # no serving costs: adopters run open weights themselves
    subsidy = 5e7 * 2.0 ** (1 / 12)
    assert open_.subsidy_usd() == pytest.approx(subsidy)
    for lab, sub in ((closed, 0.0), (open_, subsidy)):
        spend = planned_spend(SMALL_SCENARIO["labs"][lab.name]["compute_spend_usd_per_month"], 1)
        assert lab.raised_usd == 0.0
        assert lab.cash_usd == pytest.approx(cash0[lab.name] + lab.revenue_usd + sub - lab.costs_usd - spend)


def test_runway_capped_when_a_patron_covers_everything(make_model) -> None:
    model = make_model({"labs.closed_us.subsidy_usd_per_month": 1e10})
    model.step()
    assert lab_by_name(model, "closed_us").runway_months == RUNWAY_CAP_MONTHS


# -- compute (F2, F15, F7) ----------------------------------------------------------------------------------


def test_compute_purchase_at_the_bloc_price(make_model) -> None:
    model = make_model({"world.runway_comfort_months": 1.0})  # every lab buys all it planned
    labs = {name: lab_by_name(model, name) for name in ("closed_us", "open_us", "open_cn")}
    before = {name: lab.compute_flop_per_month for name, lab in labs.items()}
    model.step()
    bought_per_usd = {}
    for name, lab in labs.items():
        cfg = SMALL_SCENARIO["labs"][name]
        multiplier = SMALL_SCENARIO["blocs"][cfg["bloc"]]["compute_price_multiplier"]
        spend = planned_spend(cfg["compute_spend_usd_per_month"], 1)
        assert lab.compute_spend_usd == pytest.approx(spend)
        expected = before[name] * (1 - DEPRECIATION) + spend / compute_price(1, multiplier)
        assert lab.compute_flop_per_month == pytest.approx(expected, rel=1e-12)
        assert lab.training_flop == pytest.approx(expected * RUN_MONTHS, rel=1e-12)
        bought_per_usd[name] = (lab.compute_flop_per_month - before[name] * (1 - DEPRECIATION)) / spend
    # export controls (F15): the Chinese bloc's price multiplier of 2 halves the compute a dollar buys
    assert bought_per_usd["open_cn"] / bought_per_usd["closed_us"] == pytest.approx(0.5)
    assert bought_per_usd["open_us"] == pytest.approx(bought_per_usd["closed_us"])


@pytest.mark.parametrize("runway", [9.0, 0.5, 0.02])
def test_short_runway_scales_compute_purchases_and_research(make_model, runway: float) -> None:
    staff, spend0, comfort, min_fraction, floor, algo = 1e7, 2e7, 18.0, 0.1, 0.3, 0.5
    planned = planned_spend(spend0, 1)
    cash0 = staff + runway * (planned + staff)  # after paying staff at tick 1, runway is `runway`
    changes = no_income("open_cn", staff, cash0)
    changes.update(
        {
            "labs.open_cn.compute_spend_usd_per_month": spend0,
            "labs.open_cn.algo_progress_eci_per_month": algo,
            "labs.open_cn.distillation_ability": 0.0,
            "world.spillover_rate_per_month": 0.0,
            "world.runway_comfort_months": comfort,
            "world.min_spend_fraction": min_fraction,
            "world.research_funding_floor": floor,
        }
    )
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    capacity0, know_how0 = lab.compute_flop_per_month, lab.know_how_eci
    model.step()
    cash1 = cash0 - staff
    factor = min(1.0, max(min_fraction, runway / comfort))
    spend = min(planned * factor, cash1)  # never more than the cash it has
    assert lab.runway_months == pytest.approx(runway)
    assert lab.compute_spend_usd == pytest.approx(spend)
    assert lab.cash_usd == pytest.approx(cash1 - spend, abs=1e-3)
    assert lab.active  # cash may reach 0, but not below
    assert lab.compute_flop_per_month == pytest.approx(
        capacity0 * (1 - DEPRECIATION) + spend / compute_price(1, 2.0), rel=1e-12
    )
    # own research is cut with compute purchases, down to the funding floor
    assert lab.know_how_eci - know_how0 == pytest.approx(algo * (floor + (1 - floor) * factor))


@pytest.mark.parametrize(
    "changes",
    [
        # capacity fully retired every month and nothing bought: zero compute
        {"world.compute_depreciation_per_month": 1.0, "labs.open_cn.compute_spend_usd_per_month": 0.0},
        # nobody operates at the start: every lab enters in 2025-04
        {f"labs.{name}.enters": "2025-04" for name in ("closed_us", "open_us", "open_cn")},
    ],
    ids=["zero-compute", "all-labs-enter-later"],
)
def test_scenario_the_loader_accepts_runs(make_scenario, changes: dict) -> None:
    """A scenario is either refused with a ScenarioError or runs: no crash deep inside the model."""
    from simulation.config import ScenarioError

    try:
        scenario = make_scenario(changes)
    except ScenarioError:
        return
    model = EcosystemModel(scenario, seed=1)
    for _ in range(4):
        model.step()
    assert model.tick == 4


# -- capability (F2) ----------------------------------------------------------------------------------------


def test_capability_is_log_linear_in_effective_compute(make_model) -> None:
    model = make_model()
    lab = lab_by_name(model, "open_cn")  # training efficiency 4
    flop = lab.compute_flop_per_month
    assert lab.compute_term_eci() == pytest.approx(ALPHA * math.log10(flop * RUN_MONTHS * 4.0))
    base = lab.compute_term_eci()
    lab.compute_flop_per_month = 10 * flop
    assert lab.compute_term_eci() - base == pytest.approx(ALPHA)  # 10x compute: exactly one "decade"
    lab.compute_flop_per_month = 100 * flop
    assert lab.compute_term_eci() - base == pytest.approx(2 * ALPHA)


def test_ten_times_efficiency_is_worth_one_decade_of_compute(make_scenario) -> None:
    slow = EcosystemModel(make_scenario({"world.eci_per_decade_compute": 8.0}), seed=1)
    fast = EcosystemModel(
        make_scenario({"world.eci_per_decade_compute": 8.0, "labs.open_cn.training_efficiency": 40.0}), seed=1
    )
    diff = lab_by_name(fast, "open_cn").compute_term_eci() - lab_by_name(slow, "open_cn").compute_term_eci()
    assert diff == pytest.approx(8.0)


def test_internal_capability_is_compute_term_plus_know_how(make_model) -> None:
    model = make_model()
    for _ in range(3):
        model.step()
        for lab in model.lab_list:
            assert lab.internal_capability_eci == pytest.approx(lab.compute_term_eci() + lab.know_how_eci)


# -- online RL (F6) ------------------------------------------------------------------------------------------


def test_demanding_usage_share_and_rl_gain_in_the_model(make_model) -> None:
    model = make_model(NO_LEARNING | {"world.rl_gain_eci_per_month": 0.5})
    pop = model.population
    closed = lab_by_name(model, "closed_us")
    # by hand: usage of demanding-segment adopters on closed_us / demanding usage on any lab
    demanding = pop.demanding[pop.segment] & (pop.choice >= 0)
    share = pop.usage_mtok[demanding & (pop.choice == closed.index)].sum() / pop.usage_mtok[demanding].sum()
    assert 0 < share < 1
    assert closed.demanding_usage_share == pytest.approx(share)
    know_how0 = closed.know_how_eci
    model.step()
    assert closed.know_how_eci - know_how0 == pytest.approx(0.5 * share)


def test_rl_gain_proportional_to_demanding_share_and_none_for_open_labs(make_model) -> None:
    model = make_model({"world.rl_gain_eci_per_month": 0.5})
    closed, open_ = lab_by_name(model, "closed_us"), lab_by_name(model, "open_cn")
    closed.demanding_usage_share = 0.2
    few = closed.rl_gain()
    closed.demanding_usage_share = 0.6
    many = closed.rl_gain()
    assert few == pytest.approx(0.1)
    assert many == pytest.approx(0.3)
    open_.demanding_usage_share = 0.6
    assert open_.rl_gain() == 0.0


# -- distillation (F5) -----------------------------------------------------------------------------------------


def distil_changes(**extra: float) -> dict:
    changes = dict(NO_LEARNING)
    changes["labs.open_cn.distillation_ability"] = 0.6
    changes.update({k.replace("__", "."): v for k, v in extra.items()})
    return changes


def distil_rates(model: EcosystemModel, ticks: int) -> list[float]:
    """open_cn's know-how gain per ECI point of gap to the teacher, tick by tick."""
    lab, teacher = lab_by_name(model, "open_cn"), lab_by_name(model, "closed_us")
    rates = []
    for _ in range(ticks):
        gap = teacher.capability_true_eci - lab.internal_capability_eci  # teacher trains before it releases
        know_how0 = lab.know_how_eci
        model.step()
        assert gap > 0
        rates.append((lab.know_how_eci - know_how0) / gap)
    return rates


def test_distillation_closes_a_fraction_of_the_gap_to_the_best_closed_model(make_model) -> None:
    model = make_model(distil_changes())
    (rate,) = distil_rates(model, 1)
    assert rate == pytest.approx(0.6 * 0.08 * 0.5 ** (1 / 30))  # ability * efficacy * decay at tick 1


def test_distillation_efficacy_halves_after_the_halflife(make_model) -> None:
    model = make_model(distil_changes(world__distillation_halflife_months=2.0))
    rates = distil_rates(model, 3)
    assert rates[2] / rates[0] == pytest.approx(0.5)  # tick 3 vs tick 1
    assert rates[1] / rates[0] == pytest.approx(0.5**0.5)


def test_bloc_distillation_access_scales_distillation(make_model) -> None:
    (full,) = distil_rates(make_model(distil_changes()), 1)
    (half,) = distil_rates(make_model(distil_changes(blocs__china__distillation_access=0.5)), 1)
    (none,) = distil_rates(make_model(distil_changes(blocs__china__distillation_access=0.0)), 1)
    assert half == pytest.approx(full / 2)
    assert none == 0.0


def test_no_distillation_gain_above_the_teacher(make_model) -> None:
    model = make_model(distil_changes(labs__open_cn__initial_capability_eci=140.0))
    lab, teacher = lab_by_name(model, "open_cn"), lab_by_name(model, "closed_us")
    assert lab.internal_capability_eci > teacher.capability_true_eci
    know_how0 = lab.know_how_eci
    model.step()
    assert lab.know_how_eci == know_how0


def test_distillation_never_lifts_a_lab_above_its_teacher(make_model) -> None:
    # the strongest possible distillation: ability 1, efficacy 1, full access, at tick 0
    model = make_model({"labs.open_cn.distillation_ability": 1.0, "world.distillation_efficacy": 1.0})
    lab = lab_by_name(model, "open_cn")
    internal = lab.internal_capability_eci
    for teacher in (internal - 5.0, internal, internal + 0.1, internal + 10.0, internal + 1000.0):
        gain = lab.distillation_gain(teacher)
        assert 0.0 <= gain <= max(0.0, teacher - internal) + 1e-12
        assert internal + gain <= max(teacher, internal) + 1e-9
    assert lab.distillation_gain(-np.inf) == 0.0  # no closed model to learn from


# -- spill-over (F16) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_changes", "weight"),
    [
        ({}, 1.0),  # open source lab in another bloc
        ({"labs.open_cn.bloc": "us"}, 2.0),  # same bloc: x same_bloc_spillover
        ({"labs.open_cn.release_policy": "closed"}, 0.2),  # closed source: x closed_source_spillover
        ({"labs.open_cn.bloc": "us", "labs.open_cn.release_policy": "closed"}, 0.4),
    ],
)
def test_spillover_weighs_same_bloc_and_open_sources_more(
    make_model, source_changes: dict, weight: float
) -> None:
    rate = 0.02
    model = make_model(
        NO_LEARNING
        | {
            "world.spillover_rate_per_month": rate,
            "world.same_bloc_spillover": 2.0,
            "world.closed_source_spillover": 0.2,
        }
        | source_changes
    )
    target, source, other = (lab_by_name(model, n) for n in ("open_us", "open_cn", "closed_us"))
    base = target.know_how_eci
    source.know_how_eci = base + 10.0  # 10 points ahead of the target
    other.know_how_eci = base - 100.0  # behind: nothing to learn from it
    model.step()
    assert target.know_how_eci - base == pytest.approx(rate * weight * 10.0)


def test_spillover_exact_for_every_lab(make_model) -> None:
    rate, same_bloc, closed_factor = 0.03, 3.0, 0.25
    model = make_model(
        NO_LEARNING
        | {
            "world.spillover_rate_per_month": rate,
            "world.same_bloc_spillover": same_bloc,
            "world.closed_source_spillover": closed_factor,
        }
    )
    labs = model.lab_list
    for lab, know_how in zip(labs, (10.0, 20.0, 35.0), strict=True):
        lab.know_how_eci = know_how
    before = {lab.name: lab.know_how_eci for lab in labs}
    model.step()
    for lab in labs:
        expected = 0.0
        for src in labs:
            if src is lab:
                continue
            w = rate * (1.0 if src.is_open else closed_factor) * (same_bloc if src.bloc == lab.bloc else 1.0)
            expected += w * max(0.0, before[src.name] - before[lab.name])
        assert lab.know_how_eci - before[lab.name] == pytest.approx(expected), lab.name
    # the leader learns nothing from labs behind it
    assert labs[2].know_how_eci == before[labs[2].name]


def test_dead_labs_spill_nothing(make_model) -> None:
    model = make_model(
        NO_LEARNING | {"world.spillover_rate_per_month": 0.02} | no_income("open_cn", 1e9, 1e8)
    )
    target, dead = lab_by_name(model, "open_us"), lab_by_name(model, "open_cn")
    lab_by_name(model, "closed_us").know_how_eci = target.know_how_eci - 100.0
    dead.know_how_eci = target.know_how_eci + 50.0
    base = target.know_how_eci
    model.step()  # open_cn runs out of cash in finance, before training
    assert not dead.active
    assert target.know_how_eci == base


# -- release (F1, F3) ----------------------------------------------------------------------------------------------


def test_release_on_cadence_from_lagged_internal_capability(make_model) -> None:
    model = make_model()
    labs = model.lab_list
    internal = {lab.name: [lab.internal_capability_eci] for lab in labs}  # index = tick
    released = {lab.name: [lab.capability_true_eci] for lab in labs}
    for _ in range(11):
        model.step()
        for lab in labs:
            internal[lab.name].append(lab.internal_capability_eci)
            released[lab.name].append(lab.capability_true_eci)
            assert lab.capability_benchmark_eci == pytest.approx(
                lab.capability_true_eci + SMALL_SCENARIO["labs"][lab.name].get("benchmark_focus_eci", 0.0)
            )
    n_checked_releases = 0
    for lab in labs:
        cfg = SMALL_SCENARIO["labs"][lab.name]
        cadence, offset = cfg["release_cadence_months"], cfg["release_offset_months"]
        release_ticks = set(range(offset, 12, cadence))  # e.g. closed_us: 2, 6, 10
        for t in range(1, 12):
            prev = released[lab.name][t - 1]
            if t not in release_ticks:
                assert released[lab.name][t] == prev, (lab.name, t)
            elif t - LAG >= 0:
                assert released[lab.name][t] == pytest.approx(max(prev, internal[lab.name][t - LAG])), (
                    lab.name,
                    t,
                )
                n_checked_releases += released[lab.name][t] > prev
    assert n_checked_releases >= 5  # the checks above saw real releases, not only unchanged values


def test_release_never_replaces_a_model_with_a_worse_one(make_model) -> None:
    model = make_model({"world.training_lag_months": 0})
    lab = lab_by_name(model, "closed_us")  # releases at tick 2 (offset 2)
    model.step()
    before = lab.capability_true_eci
    lab.know_how_eci -= 50.0  # whatever it trains now is far worse than its released model
    model.step()
    assert model.tick == 2
    assert lab.capability_true_eci == before
    assert lab.capability_benchmark_eci == pytest.approx(before + 0.5)


# -- open-weight ban (F9) ----------------------------------------------------------------------------------------------

BAN = {"policy.ban.active": True, "policy.ban.jurisdiction": "us"}


@pytest.mark.parametrize(
    ("changes", "open_us_turns_closed"),
    [
        (BAN | {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "close"}, True),
        (BAN | {"policy.ban.threshold_flop": 1e27, "labs.open_us.ban_response": "close"}, False),  # below it
        (BAN | {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "stop_open_releases"}, False),
        (
            BAN | {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "train_below_threshold"},
            False,
        ),
        ({"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "close"}, False),  # not in force
    ],
)
def test_ban_with_close_response_turns_a_bound_open_lab_closed(
    make_model, changes: dict, open_us_turns_closed: bool
) -> None:
    model = make_model(changes)
    open_us, open_cn = lab_by_name(model, "open_us"), lab_by_name(model, "open_cn")
    assert open_us.training_flop == pytest.approx(4e25)  # 1e25 FLOP/month x 4 months
    model.step()
    assert open_us.is_open is not open_us_turns_closed
    assert open_cn.is_open  # a Chinese lab is not bound by a US ban, whatever its compute
    assert model.current["labs_alive_open"] == (1 if open_us_turns_closed else 2)
    if open_us_turns_closed:
        assert open_us.price_usd_per_mtok() == pytest.approx(5.0)  # now sells API access at its own price


def test_ban_binds_only_the_jurisdictions_labs(make_model) -> None:
    model = make_model(
        {
            "policy.ban.active": True,
            "policy.ban.jurisdiction": "china",
            "policy.ban.threshold_flop": 1e24,
            "labs.open_cn.ban_response": "close",
            "labs.open_us.ban_response": "close",
        }
    )
    model.step()
    assert not lab_by_name(model, "open_cn").is_open  # 4e24 FLOP > 1e24
    assert lab_by_name(model, "open_us").is_open


def test_ban_with_train_below_threshold_caps_release_at_threshold_compute(make_model) -> None:
    threshold = 2e25
    model = make_model(
        BAN
        | {
            "policy.ban.threshold_flop": threshold,
            "labs.open_us.ban_response": "train_below_threshold",
            "world.training_lag_months": 0,
        }
    )
    lab = lab_by_name(model, "open_us")  # efficiency 1, first release at tick 1 (offset 1)
    released0 = lab.capability_true_eci
    model.step()
    assert lab.training_flop > threshold  # it still has (and keeps) the compute
    capped = ALPHA * math.log10(threshold * 1.0) + lab.know_how_eci  # trained on threshold compute
    assert capped > released0  # so the capped model is released
    assert lab.is_open
    assert lab.capability_true_eci == pytest.approx(capped)
    assert lab.released_training_flop == pytest.approx(threshold)
    assert lab.capability_benchmark_eci == pytest.approx(capped + 1.0)
    assert lab.legal_true_eci == pytest.approx(capped)  # below the threshold: legal in the jurisdiction


def test_ban_with_stop_open_releases_keeps_the_current_model(make_model) -> None:
    model = make_model(
        BAN
        | {
            "policy.ban.threshold_flop": 2e25,
            "labs.open_us.ban_response": "stop_open_releases",
            "world.training_lag_months": 0,
        }
    )
    lab = lab_by_name(model, "open_us")
    released0 = lab.capability_true_eci
    for _ in range(7):  # past its releases at ticks 1 and 6
        model.step()
        assert lab.training_flop > 2e25
        assert lab.capability_true_eci == released0
        assert lab.is_open and lab.active


NO_RECONSIDERING = {
    "adopters.segments.general.reconsider_rate_per_month": 0.0,
    "adopters.segments.local.reconsider_rate_per_month": 0.0,
}
CLOSES_AT_TICK_1 = BAN | {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "close"}


def test_a_lab_that_turns_closed_leaves_its_open_weights_and_its_adopters_keep_them(make_model) -> None:
    model = make_model(CLOSES_AT_TICK_1 | NO_RECONSIDERING | {"world.training_lag_months": 0})
    lab = lab_by_name(model, "open_us")
    weights = model.offerings[3]
    assert [x.name for x in model.offerings] == ["closed_us", "open_us", "open_cn", "open_us_open_weights"]
    assert weights.kind == "open_weights" and not weights.active and weights.users == 0
    released0 = lab.capability_true_eci
    holders = model.population.choice == lab.index
    popularity0 = model.population.popularity[:, lab.index].copy()
    assert holders.sum() > 10
    model.step()  # tick 1: the ban binds, the lab turns closed and releases its new (closed) model
    assert not lab.is_open
    assert lab.capability_true_eci > released0  # its first closed release
    assert weights.active and weights.is_open
    assert weights.capability_true_eci == released0  # the last open release, frozen
    assert weights.capability_benchmark_eci == released0 + 1.0  # the lab's benchmark focus
    assert weights.price_usd_per_mtok() == pytest.approx(0.6)  # served at inference cost
    # nobody reconsiders: every holder runs the released weights, nobody the closed model
    np.testing.assert_array_equal(model.population.choice == weights.index, holders)
    assert lab.users == 0 and weights.users == holders.sum()
    assert weights.usage_mtok == pytest.approx(model.population.usage_mtok[holders].sum())
    np.testing.assert_allclose(model.population.popularity[:, weights.index] > 0, popularity0 > 0)
    assert model.current["labs_alive_open"] == 1 and model.current["labs_alive_closed"] == 2
    for _ in range(6):
        model.step()
        assert weights.capability_true_eci == released0 and weights.revenue_usd == 0.0
    assert weights.users == holders.sum()  # still nobody reconsiders
    assert model.history.open_true[-1] >= released0  # the weights count on the open frontier


def test_open_weights_only_for_labs_a_scenario_can_close(make_model, make_scenario) -> None:
    assert len(make_model().offerings) == 3
    not_in_force = {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "close"}
    assert len(make_model(not_in_force).offerings) == 3
    closed_by_event = make_scenario(
        {"events": [{"at": "2025-04", "set": {"labs.open_cn.release_policy": "closed"}}]}
    )
    model = EcosystemModel(closed_by_event, seed=3)
    weights = model.offerings[3]
    assert weights.name == "open_cn_open_weights"
    released = []
    for _ in range(4):
        model.step()
        released.append(weights.active)
    assert released == [False, False, True, True]  # from the event's month (tick 3) on


def test_weights_of_a_lab_reopened_and_closed_again_are_its_newer_open_release(make_scenario) -> None:
    events = [
        {"at": "2025-03", "set": {"labs.open_us.release_policy": "closed"}},  # tick 2
        {"at": "2025-05", "set": {"labs.open_us.release_policy": "open"}},  # tick 4
        {"at": "2025-10", "set": {"labs.open_us.release_policy": "closed"}},  # tick 9
    ]
    model = EcosystemModel(make_scenario({"events": events, "world.training_lag_months": 0}), seed=3)
    lab, weights = lab_by_name(model, "open_us"), model.offerings[3]
    frozen = []
    for _ in range(10):
        model.step()
        frozen.append(weights.capability_true_eci if weights.active else None)
        if model.tick == 8:
            newer_open = lab.capability_true_eci  # released open at tick 6 (cadence 5, offset 1)
    first = frozen[1]
    assert frozen[:2] == [None, first] and frozen[2:8] == [first] * 6
    assert newer_open > first and frozen[8] == newer_open == frozen[9]


def test_weights_are_the_model_adopters_could_last_take_as_open(make_scenario) -> None:
    """A lab closed at the start, opened by an event at tick 2 and closed at tick 4 (no release date in
    between): the model it served openly in ticks 2-3 stays out."""
    opened = {"at": "2025-03", "set": {"labs.open_us.release_policy": "open"}}  # tick 2
    closed = {"at": "2025-05", "set": {"labs.open_us.release_policy": "closed"}}  # tick 4
    scenario = make_scenario({"labs.open_us.release_policy": "closed", "events": [opened, closed]})
    model = EcosystemModel(scenario, seed=3)
    lab, weights = lab_by_name(model, "open_us"), model.offerings[3]
    out = []
    for _ in range(6):
        model.step()
        out.append(weights.active)
        if model.tick == 3:
            served_open = lab.capability_true_eci
    assert out == [False, False, False, True, True, True]
    assert weights.capability_true_eci == served_open


def test_a_lab_that_enters_closing_leaves_no_weights(make_scenario) -> None:
    """It was never on the market open: it enters at tick 2 and the ban closes it in that month's release."""
    model = EcosystemModel(make_scenario(CLOSES_AT_TICK_1 | {"labs.open_us.enters": "2025-03"}), seed=3)
    lab, weights = lab_by_name(model, "open_us"), model.offerings[3]
    for _ in range(4):
        model.step()
        assert not weights.active
    assert lab.active and not lab.is_open


def test_weights_stay_when_the_lab_closes_and_runs_out_of_cash_in_the_same_month(make_scenario) -> None:
    shock = {"labs.open_us.release_policy": "closed", "labs.open_us.staff_usd_per_month": 1e12}
    model = EcosystemModel(
        make_scenario({"events": [{"at": "2025-03", "set": shock}]} | NO_RECONSIDERING), seed=3
    )
    lab, weights = lab_by_name(model, "open_us"), model.offerings[3]
    model.step()
    holders = model.population.choice == lab.index
    assert holders.sum() > 10
    model.step()  # tick 2: closed by the event, out of cash in finance
    assert not lab.active and weights.active
    np.testing.assert_array_equal(model.population.choice == weights.index, holders)


def test_hand_over_moves_adopters_and_popularity(make_model) -> None:
    pop = make_model(CLOSES_AT_TICK_1).population
    pop.choice[:] = [1, 0, 2, 1, -1, 3] * 50
    pop.popularity[:] = [[0.5, 0.3, 0.2, 0.0], [0.1, 0.6, 0.3, 0.0]]
    pop.hand_over(1, 3)
    np.testing.assert_array_equal(pop.choice[:6], [3, 0, 2, 3, -1, 3])
    np.testing.assert_allclose(pop.popularity, [[0.5, 0.0, 0.2, 0.3], [0.1, 0.0, 0.3, 0.6]])


def test_ban_lets_foreign_releases_out_but_keeps_complying_adopters_on_the_legal_one(make_model) -> None:
    model = make_model(
        BAN | {"policy.ban.threshold_flop": 1e24, "labs.open_us.ban_response": "train_below_threshold"}
    )
    foreign, closed, bound = (lab_by_name(model, n) for n in ("open_cn", "closed_us", "open_us"))
    legal0 = foreign.legal_true_eci
    for _ in range(7):
        model.step()
        assert closed.legal_true_eci == closed.capability_true_eci  # closed models are not banned
        assert bound.legal_true_eci == bound.capability_true_eci  # trained down to the threshold
    # open_cn released at ticks 3 and 6 on about 4e24 FLOP (> 1e24): new, but not legal in the US
    assert foreign.capability_true_eci > legal0
    assert foreign.released_training_flop > 1e24
    assert foreign.legal_true_eci == legal0
    assert foreign.legal_benchmark_eci == pytest.approx(legal0 + 4.0)


@pytest.mark.parametrize("response", ["train_below_threshold", "stop_open_releases"])
def test_ban_caps_the_compute_of_the_run_actually_released(make_model, response: str) -> None:
    """With a training lag, the model released at tick t was trained at tick t - lag: the ban must judge *that*
    run. Here open_us buys no compute and its capacity shrinks 30% a month: at tick 1 (the snapshot for the
    tick-3 release) the run had 2.8e25 FLOP, above the 2e25 threshold; by tick 3 capacity is below it."""
    threshold = 2e25
    model = make_model(
        BAN
        | {
            "policy.ban.threshold_flop": threshold,
            "labs.open_us.ban_response": response,
            "labs.open_us.compute_spend_usd_per_month": 0.0,
            "labs.open_us.release_offset_months": 3,
            "world.compute_depreciation_per_month": 0.3,
        }
    )
    lab = lab_by_name(model, "open_us")
    released0 = lab.capability_true_eci
    know_how, flop = {}, {}
    for _ in range(3):
        model.step()
        know_how[model.tick], flop[model.tick] = lab.know_how_eci, lab.training_flop
    assert flop[3 - LAG] == pytest.approx(2.8e25) and flop[3] < threshold
    capped = ALPHA * math.log10(threshold) + know_how[3 - LAG]  # the tick-1 run trained down to the threshold
    assert capped > released0
    # no open model trained above the threshold comes out: capped, or no release at all
    expected = capped if response == "train_below_threshold" else released0
    assert lab.capability_true_eci == pytest.approx(expected)
    if response == "train_below_threshold":
        assert lab.released_training_flop <= threshold
    else:  # nothing new came out: the model in use is still the one released before the ban
        assert lab.released_training_flop == pytest.approx(4e25)


# -- fundraising (F7) ----------------------------------------------------------------------------------------------


def test_investor_appetite_by_hand(make_model) -> None:
    model = make_model()
    # at tick 0 the benchmark frontier is closed_us's 130.5; no lab has 7 months of usage history yet
    assert lab_by_name(model, "closed_us").investor_appetite() == pytest.approx(1.0)
    # open_cn: benchmark 124 + 4 = 128, 2.5 points behind, proximity scale 8
    assert lab_by_name(model, "open_cn").investor_appetite() == pytest.approx(math.exp(-2.5 / 8.0))


def test_investor_appetite_rises_with_six_month_usage_growth(make_model) -> None:
    model = make_model({"world.momentum_weight": 0.7, "world.proximity_scale_eci": 10.0})
    lab = lab_by_name(model, "open_cn")
    usage = {}
    for _ in range(8):
        model.step()
        usage[model.tick] = lab.usage_mtok
    distance = max(0.0, model.frontier_benchmark_eci - lab.capability_benchmark_eci)
    momentum = min(2.0, max(-1.0, usage[8] / usage[2] - 1))  # this month against six months earlier
    expected = math.exp(-distance / 10.0) * (1 + 0.7 * momentum)
    assert momentum != 0.0
    assert lab.investor_appetite() == pytest.approx(min(3.0, max(0.0, expected)))


@pytest.mark.parametrize(
    ("multiplier", "draw", "raises"),
    [
        (1.0, 0.15, True),  # odds 0.2 x 1
        (0.5, 0.15, False),  # odds 0.1
        (0.5, 0.05, True),
        (2.0, 0.30, True),  # odds 0.4
        (2.0, 0.45, False),
        (0.0, 0.0, False),  # no capital at all: never raises
    ],
)
def test_fundraising_odds_scale_with_bloc_capital_multiplier(
    make_model, multiplier: float, draw: float, raises: bool
) -> None:
    model = make_model({"blocs.us.capital_multiplier": multiplier})
    lab = lab_by_name(model, "closed_us")  # probability 0.2 a month, appetite 1 at the frontier
    lab.runway_months = 10.0  # below the 24-month trigger
    model.finance_draws = np.full(len(model.lab_list), draw)
    gross_burn = 5e8 + 1e8  # planned compute + staff at tick 0
    expected = 24.0 * gross_burn * min(multiplier, 1.0) if raises else 0.0  # round_months_of_burn = 24
    assert lab.fundraise() == pytest.approx(expected)


def test_no_fundraising_with_a_long_runway(make_model) -> None:
    model = make_model()
    lab = lab_by_name(model, "closed_us")
    lab.runway_months = 30.0
    model.finance_draws = np.zeros(len(model.lab_list))
    assert lab.fundraise() == 0.0


@pytest.mark.parametrize("multiplier", [0.0, 1.0])
def test_capital_multiplier_zero_means_no_rounds_in_a_run(make_model, multiplier: float) -> None:
    changes = no_income("open_cn", 1e7, 2e8) | {
        "labs.open_cn.compute_spend_usd_per_month": 2e7,
        "labs.open_cn.fundraise_probability_per_month": 1.0,
        "blocs.china.capital_multiplier": multiplier,
    }
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    raised = []
    for _ in range(6):
        model.step()
        raised.append(lab.raised_usd)
    if multiplier == 0.0:
        assert raised == [0.0] * 6
    else:
        assert max(raised) > 0  # short runway, certain odds at full appetite: it raises


# -- events -----------------------------------------------------------------------------------------------------------


def test_event_changes_parameters_from_its_month_on(make_model) -> None:
    model = make_model(
        {
            "events": [
                {
                    "at": "2025-04",  # tick 3
                    "set": {"blocs.china.capital_multiplier": 0.2, "labs.open_cn.staff_usd_per_month": 3e7},
                }
            ]
        }
    )
    lab = lab_by_name(model, "open_cn")
    for tick in range(1, 7):
        model.step()
        after = tick >= 3
        assert model.params.blocs["china"].capital_multiplier == (0.2 if after else 1.0), tick
        assert lab.costs_usd == (3e7 if after else 1e7), tick  # open lab: staff only, no serving costs


def test_event_in_the_first_month_applies_at_tick_zero(make_model) -> None:
    model = make_model({"events": [{"at": "2025-01", "set": {"blocs.china.capital_multiplier": 0.5}}]})
    assert model.params.blocs["china"].capital_multiplier == 0.5


def test_event_can_close_an_open_lab(make_model) -> None:
    model = make_model({"events": [{"at": "2025-03", "set": {"labs.open_us.release_policy": "closed"}}]})
    lab = lab_by_name(model, "open_us")
    model.step()
    assert lab.is_open
    model.step()
    assert not lab.is_open
    assert model.current["labs_alive_closed"] == 2


def test_event_on_one_lab_does_not_touch_a_lab_whose_name_is_a_suffix() -> None:
    """Lab 'ai' was closed by the ban (ban_response: close). An event about lab 'openai' must not reopen it:
    on the event's tick 'ai' still earns as a closed lab (usage x its own price)."""
    data = copy.deepcopy(SMALL_SCENARIO)
    data["labs"] = {
        "openai": data["labs"]["closed_us"],
        "ai": data["labs"]["open_us"] | {"ban_response": "close"},
        "open_cn": data["labs"]["open_cn"],
    }
    data["policy"] = {"ban": {"active": True, "jurisdiction": "us", "threshold_flop": 1e25}}
    data["events"] = [{"at": "2025-04", "set": {"labs.openai.price_usd_per_mtok": 6.0}}]
    data["events"].append({"at": "2025-04", "set": {"labs.openai.release_policy": "closed"}})
    model = EcosystemModel(scenario_from_dict(data), seed=3)
    ai = lab_by_name(model, "ai")
    for _ in range(2):
        model.step()
    assert not ai.is_open
    usage_before = ai.usage_mtok = 1234.0  # its former users kept its open weights: give it some
    model.step()  # tick 3: the events apply
    assert ai.revenue_usd == pytest.approx(usage_before * ai.cfg.price_usd_per_mtok)
    assert not ai.is_open
