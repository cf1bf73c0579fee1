"""Lab mechanisms, one at a time, on the small hand-made scenario (tests/conftest.py), with the expected
numbers computed by hand from the formulas behind claims (F2, F5-F7, F9, F14-F16, F19) in docs/claims.md and
the labs' decision rules (simulation/agents/decisions.py), through the Lab inside a running model."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import SMALL_SCENARIO, lab_by_name

from simulation.agents.lab import RUNWAY_CAP_MONTHS
from simulation.agents.population import NONE
from simulation.config import scenario_from_dict
from simulation.config.schema import WorldConfig
from simulation.model import EcosystemModel

ALPHA = SMALL_SCENARIO["world"]["eci_per_decade_compute"]  # 6 ECI points per 10x compute
P0 = SMALL_SCENARIO["world"]["compute_price_usd_per_flop_month"]  # 5e-17 USD per FLOP/month
PRICE_DECLINE = SMALL_SCENARIO["world"]["compute_price_decline_per_year"]  # 0.3
DEPRECIATION = SMALL_SCENARIO["world"]["compute_depreciation_per_month"]  # 0.03
RUN_MONTHS = SMALL_SCENARIO["world"]["run_months"]  # 4
LAG = SMALL_SCENARIO["world"]["training_lag_months"]  # 2

# World parameters the small scenario leaves at their schema defaults, as the hand computations below use
# them (test_hand_computations_use_these_world_defaults checks them, so a changed default fails there).
DEFAULTS = {
    "reference_training_flop": 1e25,
    "max_capacity_growth_per_year": 5.0,
    "min_build_flop_per_month": 5e24,
    "reserve_months": 12.0,
    "deploy_months": 12.0,
    "runway_comfort_months": 18.0,
    "research_funding_floor": 0.3,
    "serving_cost_usd_per_mtok": 0.3,
    "serving_reference_training_flop": 3.3e24,
    "inference_gain_per_year": 3.0,
    "closed_max_markup": 2.0,
    "price_response_eci": 5.0,
    "open_revenue_fraction": 0.03,
    "distillation_efficacy": 0.08,
    "distillation_halflife_months": 30.0,
    "distillation_mtok_per_month": 1e5,
    "patron_patience_months": 12.0,
    "fundraise_trigger_months": 24.0,
    "round_months_of_burn": 24.0,
    "round_revenue_multiple": 3.0,
    "round_base_usd": 1e9,
    "proximity_scale_eci": 8.0,
}
MONTHLY_GROWTH = 5.0 ** (1 / 12)  # 1.1435298: the most capacity can grow in a month (5x a year)

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

# Nobody's capacity changes: nothing retires, and the build limit is 0 (growth x1 a year, no minimum build).
FROZEN_COMPUTE = {
    "world.max_capacity_growth_per_year": 1.0,
    "world.min_build_flop_per_month": 0.0,
    "world.compute_depreciation_per_month": 0.0,
}


def no_income(lab: str, staff: float, cash: float, reserve_months: float = 120.0) -> dict:
    """Changes that leave ``lab`` (an open lab) with staff costs only: no revenue, subsidy, round or
    distillation tokens. A lab keeps ``world.reserve_months`` of its burn in cash before buying compute; at
    120 months of staff, a lab whose cash is below that buys none."""
    return {
        "world.open_revenue_fraction": 0.0,
        "world.reserve_months": reserve_months,
        f"labs.{lab}.fundraise_probability_per_month": 0.0,
        f"labs.{lab}.subsidy_usd_per_month": 0.0,
        f"labs.{lab}.distillation_ability": 0.0,
        f"labs.{lab}.staff_usd_per_month": staff,
        f"labs.{lab}.initial_cash_usd": cash,
    }


def compute_price(tick: int, bloc_multiplier: float) -> float:
    """USD per FLOP/month of capacity: 5e-17 x 0.7^(tick / 12) x the bloc's multiplier."""
    return P0 * (1 - PRICE_DECLINE) ** (tick / 12) * bloc_multiplier


def test_hand_computations_use_these_world_defaults() -> None:
    world = WorldConfig()
    assert {key: getattr(world, key) for key in DEFAULTS} == DEFAULTS
    assert not set(DEFAULTS) & set(SMALL_SCENARIO["world"])  # the small scenario sets none of them


# -- finance: exit, runway, cash (F7, F14, F19) --------------------------------------------------------------


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
        assert lab.compute_spend_usd == 0.0  # cash below 120 months of staff: it buys no compute
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
    ("cash", "subsidy", "expected", "buys"),
    [
        # under its reserve of 120 months of burn, it buys nothing: runway = cash / (staff - subsidy)
        (1.1e8, 0.0, 10.0, False),  # 1.1e8 - 1e7 of staff = 1e8 left, burning 1e7 a month: 10 months
        (1.1e8, 6e6, 26.5, False),  # (1.1e8 + 6e6 - 1e7) / (1e7 - 6e6) = 1.06e8 / 4e6
        (1.25e7, 0.0, 0.25, False),  # 2.5e6 / 1e7
        # the patron pays 1e9: no reserve needed, it buys 1.1e9 / 12 of compute and still takes in more
        # than it spends: not burning
        (1.1e8, 1e9, RUNWAY_CAP_MONTHS, True),
        # far above its reserve: it buys at the build limit (5e24 FLOP/month = 4.85e8 USD), and 1e15 lasts
        # about 2e6 months at 4.95e8 a month: capped
        (1e15, 0.0, RUNWAY_CAP_MONTHS, True),
    ],
)
def test_runway_is_cash_over_net_burn(
    make_model, cash: float, subsidy: float, expected: float, buys: bool
) -> None:
    """Runway after this month's purchase = cash / (compute spend + staff - subsidy), capped; 0 at exit
    (test_lab_without_income_exits_on_the_tick_cash_goes_negative)."""
    changes = no_income("open_cn", 1e7, cash) | {"labs.open_cn.subsidy_usd_per_month": subsidy}
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    model.step()
    assert lab.active
    assert lab.runway_months == pytest.approx(expected)
    assert (lab.compute_spend_usd > 0.0) is buys


def test_runway_counts_compute_spend_costs_revenue_and_subsidy(make_model) -> None:
    """A market of 3e8 Mtok a month: open_cn's 5% of what its users pay (about 2.9e6) is about a third of its
    staff costs, so a runway or a purchase that left revenue out would be far off (a burn of 6e6, not
    3.1e6). Research funding stays below 1 so the operating runway shows in it too."""
    staff, cash0, subsidy, fraction = 1e7, 4.4e7, 4e6, 0.05
    changes = no_income("open_cn", staff, cash0, reserve_months=12.0)
    changes |= {
        "world.open_revenue_fraction": fraction,
        "world.market_mtok_per_month": 3e8,
        "labs.open_cn.subsidy_usd_per_month": subsidy,
    }
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    usage0 = lab.usage_mtok  # last month's usage, paid at last month's price
    model.step()
    price0 = 0.3 * math.sqrt(4e24 / 3.3e24)  # serving cost of its 4e24-FLOP model at tick 0: 0.33029
    revenue = usage0 * price0 * fraction
    assert 0.2 * staff < revenue < 0.5 * staff  # it matters: about a third of staff costs
    cash1 = cash0 + revenue + subsidy - staff
    burn = staff - revenue - subsidy  # about 3.1e6 a month before compute
    spend = (cash1 - 12 * burn) / 12  # cash above 12 months of burn, spread over 12 months: about 3.1e5
    assert 0 < spend < 5e24 * compute_price(1, 2.0)  # below the build limit (5e24 FLOP/month, 4.85e8 USD)
    assert lab.revenue_usd == pytest.approx(revenue)
    assert lab.compute_spend_usd == pytest.approx(spend)
    runway = (cash1 - spend) / (spend + burn)  # about 11.9 months
    assert lab.runway_months == pytest.approx(runway)
    operating_runway = (cash1 - spend) / burn  # research follows cash over operating burn: about 13.1 months
    assert operating_runway < 18.0
    assert lab.research_funding == pytest.approx(operating_runway / 18.0)


def test_cash_after_a_month_by_hand(make_model) -> None:
    """Cash at tick 2 = cash at tick 1 + revenue + subsidy + round - costs - compute spend, each term by hand:
    revenue from tick 1's usage at tick 1's price (closed labs: all of it; open labs: a fraction); costs =
    staff + serving (closed) + distillation tokens at the teacher's price; patron money growing yearly; a
    round capped by revenue; compute bought from cash above the reserve, up to the build limit (F7, F14,
    F19)."""
    model = make_model(
        {
            "world.open_revenue_fraction": 0.05,
            "world.distillation_mtok_per_month": 2e5,
            "world.patron_elasticity": 0.0,  # patrons' support target stays 1: the plan is paid
            "labs.open_us.subsidy_growth_per_year": 2.0,
            "labs.open_us.initial_cash_usd": 6e9,
            "labs.closed_us.fundraise_probability_per_month": 1.0,  # certain when raising, at appetite 1
            "labs.open_us.fundraise_probability_per_month": 0.0,
            "labs.open_cn.fundraise_probability_per_month": 0.0,
        }
    )
    closed, open_us, open_cn = (lab_by_name(model, n) for n in ("closed_us", "open_us", "open_cn"))
    model.step()
    # tick 1: nobody's released model has changed (closed_us releases at 2, open_cn at 3; open_us's tick-1
    # candidate, 120.01 - 2 x 0.5 = 119.01, is below its 120)
    assert [lab.released_training_flop for lab in (closed, open_us, open_cn)] == [4e26, 4e25, 4e24]
    assert closed.runway_months < 24.0 and closed.investor_appetite() == 1.0  # raises; at the frontier
    cash1 = {lab.name: lab.cash_usd for lab in model.lab_list}
    usage1 = {lab.name: lab.usage_mtok for lab in model.lab_list}
    capacity1 = {lab.name: lab.compute_flop_per_month for lab in model.lab_list}
    spend1 = closed.compute_spend_usd  # its tick-1 purchase, which a tick-2 round counts as burn
    model.step()

    decline = (0.7 / 3) ** (1 / 12)  # serving cost at tick 1: x (1 - 0.3) / 3 a year
    price_us, price_cn = compute_price(2, 1.0), compute_price(2, 2.0)

    # closed_us: sells at its pinned 5.0, serves at cost, raises
    revenue = usage1["closed_us"] * 5.0
    costs = 1e8 + usage1["closed_us"] * 0.3 * math.sqrt(4e26 / 3.3e24) * decline  # staff + serving
    limit = capacity1["closed_us"] * (MONTHLY_GROWTH - 1 + 0.03)  # 1.14e26 x 0.1735 > 5e24
    # a round: min(24 months of gross burn (costs + last month's compute), 3 years of revenue + 1e9)
    # x appetite 1 x multiplier 1
    raised = min(24 * (costs + spend1), 3 * 12 * revenue + 1e9)
    assert raised == 3 * 12 * revenue + 1e9  # revenue caps it: about 1.03e9
    cash = cash1["closed_us"] + revenue + raised - costs
    assert (cash - 12 * (costs - revenue)) / 12 > limit * price_us  # more than it can build: limited
    spend = limit * price_us
    expected = {"closed_us": (revenue, costs, 0.0, raised, spend, True, limit)}

    # open_us: 5% of what its users pay at serving cost; patron money doubling yearly; distils from closed_us
    revenue = usage1["open_us"] * 0.3 * math.sqrt(4e25 / 3.3e24) * decline * 0.05
    costs = 2e7 + 2e5 * 5.0  # staff + 2e5 Mtok at closed_us's price
    subsidy = 5e7 * 2.0 ** (2 / 12)
    limit = max(capacity1["open_us"] * (MONTHLY_GROWTH - 1 + 0.03), 5e24)  # 1.47e25 x 0.1735 < 5e24
    cash = cash1["open_us"] + revenue + subsidy - costs
    assert costs - revenue - subsidy < 0  # its patron pays for its operations: no reserve
    assert cash / 12 > limit * price_us
    expected["open_us"] = (revenue, costs, subsidy, 0.0, limit * price_us, True, limit)

    # open_cn: the same revenue rule, no patron; keeps 12 months of burn, spends the rest over 12 months
    revenue = usage1["open_cn"] * 0.3 * math.sqrt(4e24 / 3.3e24) * decline * 0.05
    costs = 1e7 + 2e5 * 5.0
    cash = cash1["open_cn"] + revenue - costs
    spend = (cash - 12 * (costs - revenue)) / 12
    assert spend < 5e24 * price_cn  # below its build limit (the 5e24 minimum)
    expected["open_cn"] = (revenue, costs, 0.0, 0.0, spend, False, spend / price_cn)

    for lab in model.lab_list:
        revenue, costs, subsidy, raised, spend, limited, added = expected[lab.name]
        assert lab.revenue_usd == pytest.approx(revenue), lab.name
        assert lab.costs_usd == pytest.approx(costs), lab.name
        assert lab.subsidy_received_usd == pytest.approx(subsidy), lab.name
        assert lab.raised_usd == pytest.approx(raised), lab.name
        assert lab.compute_spend_usd == pytest.approx(spend), lab.name
        assert lab.build_limited is limited, lab.name
        assert lab.cash_usd == pytest.approx(cash1[lab.name] + revenue + subsidy + raised - costs - spend)
        assert lab.compute_flop_per_month == pytest.approx(capacity1[lab.name] * 0.97 + added), lab.name


def test_runway_capped_when_a_patron_covers_everything(make_model) -> None:
    model = make_model({"labs.closed_us.subsidy_usd_per_month": 1e10})
    model.step()
    assert lab_by_name(model, "closed_us").runway_months == RUNWAY_CAP_MONTHS


# -- compute (F2, F15, F7) ----------------------------------------------------------------------------------


def test_compute_purchase_at_the_bloc_price(make_model) -> None:
    """No reserve and no minimum build: every lab has more cash than it can spend, so each builds exactly
    to the growth limit, at its bloc's price."""
    model = make_model({"world.reserve_months": 0.0, "world.min_build_flop_per_month": 0.0})
    labs = {name: lab_by_name(model, name) for name in ("closed_us", "open_us", "open_cn")}
    before = {name: lab.compute_flop_per_month for name, lab in labs.items()}
    cash_before = {name: lab.cash_usd for name, lab in labs.items()}
    model.step()
    bought_per_usd = {}
    for name, lab in labs.items():
        cfg = SMALL_SCENARIO["labs"][name]
        multiplier = SMALL_SCENARIO["blocs"][cfg["bloc"]]["compute_price_multiplier"]
        # replace the 3% retired and grow 5x a year: added = capacity x (5^(1/12) - 1 + 0.03)
        added = before[name] * (MONTHLY_GROWTH - 0.97)
        assert lab.build_limited
        assert lab.compute_spend_usd == pytest.approx(added * compute_price(1, multiplier))
        assert lab.cash_usd > 0.5 * cash_before[name]  # the limit binds: most of its cash stays
        assert lab.compute_flop_per_month == pytest.approx(before[name] * MONTHLY_GROWTH, rel=1e-12)
        assert lab.training_flop == pytest.approx(before[name] * MONTHLY_GROWTH * RUN_MONTHS, rel=1e-12)
        bought_per_usd[name] = added / lab.compute_spend_usd
    # export controls (F15): the Chinese bloc's price multiplier of 2 halves the compute a dollar buys
    assert bought_per_usd["open_cn"] / bought_per_usd["closed_us"] == pytest.approx(0.5)
    assert bought_per_usd["open_us"] == pytest.approx(bought_per_usd["closed_us"])


CN_PRICE_1 = 1e-16 * 0.7 ** (1 / 12)  # open_cn's compute price at tick 1: 5e-17 x 2 x 0.9707 = 9.707e-17
CN_LIMIT_USD = 5e24 * CN_PRICE_1  # its build limit at tick 1, the 5e24 FLOP/month minimum: 4.854e8 USD


@pytest.mark.parametrize(
    ("cash", "subsidy", "spend", "runway"),
    [
        # 1e7 - 1e7 of staff = 0: nothing to spend, no runway
        (1e7, 0.0, 0.0, 0.0),
        # 9e7 after staff, under the reserve of 12 x 1e7: buys nothing; runway 9e7 / 1e7
        (1e8, 0.0, 0.0, 9.0),
        # 2.4e8 after staff: (2.4e8 - 1.2e8) / 12 = 1e7; runway (2.4e8 - 1e7) / (1e7 + 1e7)
        (2.5e8, 0.0, 1e7, 11.5),
        # more cash buys more: (4.9e8 - 1.2e8) / 12 = 3.0833e7; runway 4.5917e8 / 4.0833e7
        (5e8, 0.0, 3.7e8 / 12, (4.9e8 - 3.7e8 / 12) / (3.7e8 / 12 + 1e7)),
        # (9.99e9 - 1.2e8) / 12 = 8.2e8 > 4.854e8: the build limit binds; runway (9.99e9 - 4.854e8) / 4.954e8
        (1e10, 0.0, CN_LIMIT_USD, (9.99e9 - CN_LIMIT_USD) / (CN_LIMIT_USD + 1e7)),
        # a patron pays more than staff: no reserve, 1.3e8 / 12 a month; burn 1.0833e7 - 1e7 = 8.33e5
        (1.2e8, 2e7, 1.3e8 / 12, (1.3e8 - 1.3e8 / 12) / (1.3e8 / 12 - 1e7)),
    ],
    ids=["broke", "under-reserve", "above-reserve", "richer", "build-limited", "patron-pays"],
)
def test_purchase_spends_cash_above_the_reserve_and_research_follows_the_runway(
    make_model, cash: float, subsidy: float, spend: float, runway: float
) -> None:
    """A lab keeps 12 months of operating burn (staff net of patron money) in cash, spreads the rest over 12
    months of compute purchases up to what can be built (the 5e24 FLOP/month minimum here); its research is
    funded in proportion to its operating runway (cash after the purchase over operating burn), up to 18
    months, above a floor of 0.3 (F7)."""
    staff, algo = 1e7, 0.5
    changes = no_income("open_cn", staff, cash, reserve_months=12.0) | NO_LEARNING
    changes |= {
        "labs.open_cn.subsidy_usd_per_month": subsidy,
        "labs.open_cn.algo_progress_eci_per_month": algo,
    }
    model = make_model(changes)
    lab = lab_by_name(model, "open_cn")
    capacity0, know_how0 = lab.compute_flop_per_month, lab.know_how_eci
    model.step()
    cash1 = cash + subsidy - staff
    assert lab.active  # cash may reach 0, but not below
    assert lab.compute_spend_usd == pytest.approx(spend, abs=1e-3)
    assert lab.build_limited is (spend == CN_LIMIT_USD)
    assert lab.cash_usd == pytest.approx(cash1 - spend, abs=1e-3)
    assert lab.compute_flop_per_month == pytest.approx(capacity0 * 0.97 + spend / CN_PRICE_1, rel=1e-12)
    assert lab.runway_months == pytest.approx(runway, abs=1e-12)
    # research follows the operating runway: cash after the purchase over staff net of patron money
    burn = staff - subsidy
    operating = 240.0 if burn <= 0 else min(240.0, max(0.0, cash1 - spend) / burn)
    funding = min(operating / 18.0, 1.0)
    assert lab.research_funding == pytest.approx(funding, abs=1e-12)
    # own research is cut with the runway, down to the funding floor
    assert lab.know_how_eci - know_how0 == pytest.approx(algo * (0.3 + 0.7 * funding))


def test_more_cash_never_cuts_research(make_model) -> None:
    """Two labs alike but for cash: the richer one keeps at least as much of its research funded (F7)."""
    funding = {}
    for cash in (1.3e8, 1e9):  # 1.2e8 after staff: exactly its reserve; 9.9e8: 8.7e8 above it
        model = make_model(no_income("open_cn", 1e7, cash, reserve_months=12.0))
        lab = lab_by_name(model, "open_cn")
        model.step()
        funding[cash] = lab.research_funding
    # research follows the operating runway: 1.2e8 / 1e7 = 12 months (12 / 18 funded) against
    # (9.9e8 - 8.7e8 / 12 of compute) / 1e7 = 91.75 months (fully funded)
    assert funding[1.3e8] == pytest.approx(12.0 / 18.0)
    assert funding[1e9] == 1.0


def test_the_loader_refuses_retiring_all_capacity_in_a_month(make_scenario) -> None:
    """Depreciation of 1 (all capacity retired every month) is refused for its value, naming the key."""
    from simulation.config import ScenarioError

    with pytest.raises(ScenarioError, match=r"world\.compute_depreciation_per_month.*less than 1"):
        make_scenario({"world.compute_depreciation_per_month": 1.0})


# the largest depreciation below 1 leaves 2**-53 of capacity: 1e-300 FLOP/month is 1.1e-316 after a month
# and underflows to exactly 0.0 after two
ZERO_COMPUTE = {
    "world.compute_depreciation_per_month": 1 - 2**-53,
    "labs.open_cn.initial_compute_flop_per_month": 1e-300,
} | no_income("open_cn", 1e7, 1e9)


def test_a_lab_whose_compute_reaches_zero_keeps_its_model_and_the_run_goes_on(make_model) -> None:
    """open_cn's capacity falls to exactly 0 FLOP/month at tick 2 (it buys none: cash under its reserve).
    Its compute term is floored at one effective FLOP, 6 log10(1 / 1e25) = -150 points, so its internal
    capability is know-how - 150; it keeps its released 124 model (never replaced by a worse one), whose
    4e-300-FLOP run is served at the cost of a 1-FLOP run (the floor); the bloc's largest run is 0; the gaps
    stay finite."""
    model = make_model(ZERO_COMPUTE | NO_LEARNING)
    lab = lab_by_name(model, "open_cn")
    assert lab.compute_term_eci() == pytest.approx(-150.0)  # 1.6e-299 effective FLOP: below the floor too
    for _ in range(4):
        model.step()
        assert lab.active and lab.compute_spend_usd == 0.0
        if model.tick >= 2:
            assert lab.compute_flop_per_month == 0.0 and lab.training_flop == 0.0
            assert model.current["max_training_flop_china"] == 0.0
        assert lab.compute_term_eci() == pytest.approx(-150.0)
        assert lab.internal_capability_eci == pytest.approx(122.8 - 150.0)
        assert lab.capability_true_eci == 124.0 and lab.released_training_flop == 4e-300
        decline = (0.7 / 3) ** (model.tick / 12)
        assert lab.price_usd_per_mtok() == pytest.approx(
            0.3 * math.sqrt(1 / 3.3e24) * decline, rel=1e-9, abs=0
        )
        assert lab.users > 0
        assert np.isfinite(model.current["gap_months_true"]) and np.isfinite(model.current["gap_points_true"])
    assert model.current["open_frontier_true_eci"] == 124.0  # its model is still the best open one


def test_nobody_operates_until_every_lab_enters(make_model) -> None:
    """Every lab enters in 2025-04 (tick 3): before, no model is on the market, nobody uses one and every
    share is 0; from tick 3 all three are on the market, each with users."""
    model = make_model({f"labs.{name}.enters": "2025-04" for name in ("closed_us", "open_us", "open_cn")})
    for _ in range(3):  # ticks 0, 1, 2
        row = model.current
        assert [lab.active for lab in model.lab_list] == [False, False, False]
        assert (model.population.choice == NONE).all()
        assert row["total_usage_mtok"] == 0.0 and row["open_share_usage"] == 0.0
        assert row["labs_alive_open"] == row["labs_alive_closed"] == 0
        assert all(lab.cash_usd == lab.cfg.initial_cash_usd for lab in model.lab_list)
        model.step()
    assert model.tick == 3 and [lab.active for lab in model.lab_list] == [True, True, True]
    assert all(lab.users > 0 for lab in model.lab_list)
    assert model.current["labs_alive_open"] == 2 and model.current["labs_alive_closed"] == 1


# -- capability (F2) ----------------------------------------------------------------------------------------


def test_capability_is_log_linear_in_effective_compute(make_model) -> None:
    model = make_model()
    lab = lab_by_name(model, "open_cn")  # 1e24 FLOP/month x 4 months, training efficiency 4
    flop = lab.training_flop
    assert flop == pytest.approx(4e24)
    # relative to the 1e25-FLOP reference: 6 log10(4e24 x 4 / 1e25) = 6 log10(1.6) = 1.2247
    assert lab.compute_term_eci() == pytest.approx(ALPHA * math.log10(1.6))
    base = lab.compute_term_eci()
    lab.training_flop = 10 * flop
    assert lab.compute_term_eci() - base == pytest.approx(ALPHA)  # 10x compute: exactly one "decade"
    lab.training_flop = 100 * flop
    assert lab.compute_term_eci() - base == pytest.approx(2 * ALPHA)
    lab.training_flop = flop / 1.6  # 2.5e24 x efficiency 4 = the reference: no compute term
    assert lab.compute_term_eci() == pytest.approx(0.0, abs=1e-12)


def test_ten_times_efficiency_is_worth_one_decade_of_compute(make_scenario) -> None:
    slow = EcosystemModel(make_scenario({"world.eci_per_decade_compute": 8.0}), seed=1)
    fast = EcosystemModel(
        make_scenario({"world.eci_per_decade_compute": 8.0, "labs.open_cn.training_efficiency": 40.0}), seed=1
    )
    diff = lab_by_name(fast, "open_cn").compute_term_eci() - lab_by_name(slow, "open_cn").compute_term_eci()
    assert diff == pytest.approx(8.0)


def test_know_how_is_initial_state_and_capability_adds_it_to_the_compute_term(make_model) -> None:
    """Internal capability = 6 log10(run FLOP x efficiency / 1e25) + know-how, the know-how being the
    scenario's initial state: changing a lab's compute moves its capability along the scaling law and leaves
    its know-how alone (no residual re-fitted to the initial capability, F2)."""
    model = make_model()
    expected = {
        "closed_us": (120.4, ALPHA * math.log10(4e26 / 1e25)),  # 9.612
        "open_us": (116.4, ALPHA * math.log10(4e25 / 1e25)),  # 3.612
        "open_cn": (122.8, ALPHA * math.log10(4e24 * 4.0 / 1e25)),  # 1.225
    }
    for lab in model.lab_list:
        know_how, term = expected[lab.name]
        assert lab.know_how_eci == know_how
        assert lab.internal_capability_eci == pytest.approx(term + know_how)
    ten_times = lab_by_name(make_model({"labs.open_cn.initial_compute_flop_per_month": 1e25}), "open_cn")
    assert ten_times.know_how_eci == 122.8
    assert ten_times.internal_capability_eci == pytest.approx(ALPHA * math.log10(16.0) + 122.8)
    assert ten_times.capability_true_eci == 124.0  # the released model is the scenario's, until a release


def test_internal_capability_is_compute_term_plus_know_how(make_model) -> None:
    model = make_model()
    for _ in range(3):
        model.step()
        for lab in model.lab_list:
            term = ALPHA * math.log10(lab.training_flop * lab.training_efficiency / 1e25)
            assert lab.internal_capability_eci == pytest.approx(term + lab.know_how_eci)


def test_efficiency_x2_raises_internal_capability_by_alpha_log2_at_the_next_training(make_model) -> None:
    """An event doubles open_cn's training efficiency (4 -> 8) from tick 2: that tick's training adds
    6 log10(2) = 1.806 ECI points to its internal capability, as twice the compute would (F2, F18)."""
    event = {"at": "2025-03", "set": {"labs.open_cn.training_efficiency": 8.0}}
    model = make_model(NO_LEARNING | FROZEN_COMPUTE | {"events": [event]})
    lab = lab_by_name(model, "open_cn")
    internal = [lab.internal_capability_eci]
    for _ in range(3):
        model.step()
        internal.append(lab.internal_capability_eci)
    assert lab.know_how_eci == 122.8 and lab.training_flop == 4e24  # nothing else moved
    assert internal[1] == pytest.approx(internal[0], abs=1e-12)
    assert internal[2] - internal[1] == pytest.approx(ALPHA * math.log10(2.0))
    assert internal[3] == pytest.approx(internal[2], abs=1e-12)
    assert lab.training_efficiency == pytest.approx(8.0)


def test_efficiency_spills_over_in_log10(make_model) -> None:
    """Labs close spillover_rate x (open 1 or closed 0.2) x (same bloc 2) of the log10 gap to each more
    efficient lab per month; the compute term rises by 6 x that (F16, F18). Efficiencies: closed_us 2,
    open_us 1, open_cn 4."""
    model = make_model(
        NO_LEARNING
        | FROZEN_COMPUTE
        | {
            "world.spillover_rate_per_month": 0.02,
            "world.same_bloc_spillover": 2.0,
            "world.closed_source_spillover": 0.2,
            "labs.closed_us.training_efficiency": 2.0,
        }
    )
    labs = {lab.name: lab for lab in model.lab_list}
    term0 = {name: lab.compute_term_eci() for name, lab in labs.items()}
    model.step()
    log2, log4 = math.log10(2.0), math.log10(4.0)
    gains = {
        "closed_us": 0.02 * (log4 - log2),  # from open_cn (open, other bloc); open_us is behind
        "open_us": 0.02 * 0.2 * 2.0 * log2 + 0.02 * log4,  # closed_us (closed, same bloc) + open_cn
        "open_cn": 0.0,  # the most efficient learns nothing
    }
    base = {"closed_us": 2.0, "open_us": 1.0, "open_cn": 4.0}
    for name, lab in labs.items():
        assert lab.efficiency_gain_log10 == pytest.approx(gains[name], abs=1e-15), name
        assert lab.training_efficiency == pytest.approx(base[name] * 10 ** gains[name]), name
        assert lab.compute_term_eci() - term0[name] == pytest.approx(ALPHA * gains[name], abs=1e-12), name


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

RATE_AT_TICK_1 = 0.6 * 0.08 * 0.5 ** (1 / 30)  # open_cn: ability x efficacy x decay at tick 1 x access 1


def distil_changes(**extra: float) -> dict:
    """Only open_cn learns, by distillation (ability 0.6); its teacher, closed_us, has 130 - 122.8 = 7.2
    points more know-how (its capability 130 is 6 points above open_cn's 124)."""
    changes = dict(NO_LEARNING)
    changes["labs.open_cn.distillation_ability"] = 0.6
    changes["labs.closed_us.initial_know_how_eci"] = 130.0
    changes.update({k.replace("__", "."): v for k, v in extra.items()})
    return changes


def distil_rates(model: EcosystemModel, ticks: int) -> list[float]:
    """open_cn's know-how gain per ECI point of know-how gap to the teacher lab, tick by tick."""
    lab, teacher = lab_by_name(model, "open_cn"), lab_by_name(model, "closed_us")
    rates = []
    for _ in range(ticks):
        gap = teacher.know_how_eci - lab.know_how_eci  # both train on the same snapshot
        know_how0 = lab.know_how_eci
        model.step()
        assert gap > 0
        rates.append((lab.know_how_eci - know_how0) / gap)
    return rates


def test_distillation_closes_a_fraction_of_the_know_how_gap_to_the_teacher_lab(make_model) -> None:
    model = make_model(distil_changes() | FROZEN_COMPUTE)
    lab = lab_by_name(model, "open_cn")
    internal0, know_how0 = lab.internal_capability_eci, lab.know_how_eci
    (rate,) = distil_rates(model, 1)
    assert rate == pytest.approx(RATE_AT_TICK_1)
    assert lab.know_how_eci - know_how0 == pytest.approx(RATE_AT_TICK_1 * 7.2)  # 0.3427 ECI points
    # it learns know-how, not compute: the compute term is its own, unchanged
    assert lab.internal_capability_eci - internal0 == pytest.approx(RATE_AT_TICK_1 * 7.2)


def test_distillation_efficacy_halves_after_the_halflife(make_model) -> None:
    model = make_model(distil_changes(world__distillation_halflife_months=2.0))
    rates = distil_rates(model, 3)
    assert rates[0] == pytest.approx(0.6 * 0.08 * 0.5 ** (1 / 2))
    assert rates[2] / rates[0] == pytest.approx(0.5)  # tick 3 vs tick 1
    assert rates[1] / rates[0] == pytest.approx(0.5**0.5)


def test_bloc_distillation_access_scales_distillation(make_model) -> None:
    (full,) = distil_rates(make_model(distil_changes()), 1)
    (half,) = distil_rates(make_model(distil_changes(blocs__china__distillation_access=0.5)), 1)
    (none,) = distil_rates(make_model(distil_changes(blocs__china__distillation_access=0.0)), 1)
    assert full == pytest.approx(RATE_AT_TICK_1)
    assert half == pytest.approx(full / 2)
    assert none == 0.0


@pytest.mark.parametrize(
    ("changes", "gap"),
    [
        # the small scenario: open_cn is 6 points behind closed_us in capability (124 vs 130) but 2.4 ahead
        # in know-how (122.8 vs 120.4): nothing to learn by distilling
        ({}, 0.0),
        # ahead in capability (140 vs 130) but 7.2 behind in know-how: it learns
        ({"labs.open_cn.initial_capability_eci": 140.0, "labs.closed_us.initial_know_how_eci": 130.0}, 7.2),
    ],
    ids=["behind-in-capability-ahead-in-know-how", "ahead-in-capability-behind-in-know-how"],
)
def test_distillation_follows_the_know_how_gap_not_the_capability_gap(
    make_model, changes: dict, gap: float
) -> None:
    model = make_model(NO_LEARNING | {"labs.open_cn.distillation_ability": 0.6} | changes)
    lab, teacher = lab_by_name(model, "open_cn"), lab_by_name(model, "closed_us")
    assert teacher.know_how_eci - lab.know_how_eci == pytest.approx(gap if gap else -2.4)
    know_how0 = lab.know_how_eci
    model.step()
    if gap == 0.0:
        assert lab.know_how_eci == know_how0
    else:
        assert lab.know_how_eci - know_how0 == pytest.approx(RATE_AT_TICK_1 * gap)


def test_the_teacher_is_the_lab_behind_the_best_closed_model(make_model) -> None:
    """Two closed labs: open_us (closed here) has the best model, 135, and know-how 125; closed_us has more
    know-how (130) behind a weaker model (130). open_cn distils from the best model: 125 - 122.8 = 2.2."""
    model = make_model(
        distil_changes()
        | {
            "labs.open_us.release_policy": "closed",
            "labs.open_us.initial_capability_eci": 135.0,
            "labs.open_us.initial_know_how_eci": 125.0,
        }
    )
    lab = lab_by_name(model, "open_cn")
    know_how0 = lab.know_how_eci
    model.step()
    assert lab.know_how_eci - know_how0 == pytest.approx(RATE_AT_TICK_1 * 2.2)


def test_distillation_when_an_open_lab_leads_learns_from_the_best_closed_model(make_model) -> None:
    """open_us (open) leads: its 140 model is 10 points above closed_us's 130, with know-how 132. Distillers
    still learn from the lab behind the best *closed* model (F5: only closed APIs are distilled): open_cn
    closes RATE x (125 - 122.8) of its know-how gap to closed_us, not RATE x (132 - 122.8) to the leader,
    and pays closed_us's price for its tokens. The leader distils too (ability 0.2) but knows more than the
    teacher: it learns nothing. The gap is negative: the open frontier passed 130 at tick -0.625."""
    model = make_model(
        distil_changes()
        | {
            "labs.open_us.initial_capability_eci": 140.0,
            "labs.open_us.initial_know_how_eci": 132.0,
            "labs.open_us.distillation_ability": 0.2,
            "labs.closed_us.initial_know_how_eci": 125.0,
            "world.distillation_mtok_per_month": 2e5,
        }
    )
    cn, leader = lab_by_name(model, "open_cn"), lab_by_name(model, "open_us")
    # open prehistory 127 - 3 = 124 at tick -1, then 140: 130 reached (130 - 124) / 16 of the way
    assert model.current["gap_months_true"] == pytest.approx(-0.625)
    assert model.teacher_price_usd_per_mtok == 5.0  # closed_us's price, not the leader's serving cost
    know_how0, leader0 = cn.know_how_eci, leader.know_how_eci
    model.step()
    assert cn.know_how_eci - know_how0 == pytest.approx(RATE_AT_TICK_1 * 2.2)
    assert leader.know_how_eci == leader0
    assert cn.costs_usd == pytest.approx(1e7 + 2e5 * 5.0) and leader.costs_usd == pytest.approx(
        2e7 + 2e5 * 5.0
    )


def test_when_the_frontier_closed_lab_goes_bust_the_next_closed_lab_takes_its_place(make_model) -> None:
    """closed_us (the 130 frontier) has 1.5e8 of cash, 1e8 of staff a month and no rounds: it is out of cash
    at tick 2. open_us is a second closed lab here, priced at 3.0, with a 128.6 model (know-how 125). From
    the tick closed_us exits: distillers learn from open_us's know-how (125), no longer closed_us's (130),
    the price distillers pay next month is open_us's, investors measure proximity to open_us's benchmark
    score, and the closed series of the history carries open_us's model. The reported closed frontier and
    the gap stay those of the best closed model ever released (running maximum, docs/model.md 7.7): with the
    open frontier flat, the gap grows by one month a month."""
    model = make_model(
        distil_changes()
        | {
            "labs.closed_us.initial_cash_usd": 1.5e8,
            "labs.closed_us.fundraise_probability_per_month": 0.0,
            "labs.open_us.release_policy": "closed",
            "labs.open_us.initial_know_how_eci": 125.0,
            "labs.open_us.price_usd_per_mtok": 3.0,
            "labs.open_us.subsidy_usd_per_month": 0.0,
            "world.distillation_mtok_per_month": 2e5,
        }
    )
    frontier, second, cn = (lab_by_name(model, n) for n in ("closed_us", "open_us", "open_cn"))
    model.step()  # tick 1: open_us releases what it trained: 6 log10(4e25 / 1e25) + 125
    assert cn.know_how_eci - 122.8 == pytest.approx(RATE_AT_TICK_1 * (130.0 - 122.8))  # from closed_us
    second_eci = ALPHA * math.log10(4.0) + 125.0
    assert frontier.active and second.capability_true_eci == pytest.approx(second_eci)
    assert model.teacher_price_usd_per_mtok == 5.0 and model.frontier_benchmark_eci == 130.5
    assert frontier.users > 0
    gap1 = model.current["gap_months_true"]
    know_how1 = cn.know_how_eci
    model.step()  # tick 2: closed_us cannot pay its staff
    assert not frontier.active and frontier.cash_usd < 0 and frontier.users == 0
    assert model.current["labs_alive_closed"] == 1
    assert cn.know_how_eci - know_how1 == pytest.approx(0.6 * 0.08 * 0.5 ** (2 / 30) * (125.0 - know_how1))
    assert cn.costs_usd == pytest.approx(1e7 + 2e5 * 5.0)  # this month's tokens at last month's price
    assert model.teacher_price_usd_per_mtok == 3.0
    assert model.frontier_benchmark_eci == pytest.approx(second_eci + 1.0)  # its benchmark focus
    assert model.history.closed_true[-1] == pytest.approx(second_eci)
    assert model.current["closed_frontier_true_eci"] == 130.0
    assert model.current["open_frontier_true_eci"] == 124.0
    assert model.current["gap_months_true"] == pytest.approx(gap1 + 1.0)
    model.step()  # tick 3
    assert cn.costs_usd == pytest.approx(1e7 + 2e5 * 3.0)


def test_distillation_never_lifts_a_lab_above_its_teacher(make_model) -> None:
    # the strongest possible distillation: ability 1, efficacy 1, full access, at tick 0
    model = make_model({"labs.open_cn.distillation_ability": 1.0, "world.distillation_efficacy": 1.0})
    lab = lab_by_name(model, "open_cn")
    know_how = lab.know_how_eci
    for teacher in (know_how - 5.0, know_how, know_how + 0.1, know_how + 10.0, know_how + 1000.0):
        gain = lab.distillation_gain(teacher)
        assert 0.0 <= gain <= max(0.0, teacher - know_how) + 1e-12
        assert know_how + gain <= max(teacher, know_how) + 1e-9
    assert lab.distillation_gain(-np.inf) == 0.0  # no closed model to learn from


def test_distillers_pay_the_teacher_price_for_their_tokens(make_model) -> None:
    """Each month a distilling lab buys distillation_mtok_per_month from the best closed model's API at last
    month's price (closed_us pins 5.0); a lab that does not distil, or whose bloc has no access, pays none."""
    model = make_model({"world.distillation_mtok_per_month": 2e5, "blocs.us.distillation_access": 0.0})
    open_us, open_cn = lab_by_name(model, "open_us"), lab_by_name(model, "open_cn")
    for _ in range(3):
        model.step()
        if model.tick >= 2:
            assert model.teacher_price_usd_per_mtok == 5.0
            assert open_cn.costs_usd == pytest.approx(1e7 + 2e5 * 5.0)  # staff + 1e6 of tokens
            assert open_us.costs_usd == pytest.approx(2e7)  # ability 0.2 but no API access: staff only


def test_distillation_is_paid_for_in_the_first_month(make_model) -> None:
    """At tick 1 finance charges last month's prices: revenue at each lab's tick-0 price, and distillation
    tokens at the teacher's tick-0 price, which is 5.0 (closed_us pins it)."""
    model = make_model({"world.distillation_mtok_per_month": 2e5})
    assert lab_by_name(model, "closed_us").price_usd_per_mtok() == 5.0
    model.step()
    assert lab_by_name(model, "open_cn").costs_usd == pytest.approx(1e7 + 2e5 * 5.0)


# -- prices (F14) ----------------------------------------------------------------------------------------------


def test_open_models_are_priced_at_serving_cost_falling_at_the_stated_rate(make_model) -> None:
    """Serving cost = 0.3 x sqrt(training FLOP / 3.3e24) at the start, falling by (1 - hardware decline) /
    inference gain a year: here (1 - 0.5) / 2 = 1/4 a year, so half in 6 months. Open models sell at it."""
    model = make_model(
        FROZEN_COMPUTE | {"world.compute_price_decline_per_year": 0.5, "world.inference_gain_per_year": 2.0}
    )
    start = {
        "closed_us": 0.3 * math.sqrt(4e26 / 3.3e24),  # 3.30289
        "open_us": 0.3 * math.sqrt(4e25 / 3.3e24),  # 1.04447
        "open_cn": 0.3 * math.sqrt(4e24 / 3.3e24),  # 0.33029
    }
    labs = model.lab_list
    for tick in range(8):
        if tick:
            model.step()
        for lab in labs:
            assert (
                lab.released_training_flop == {"closed_us": 4e26, "open_us": 4e25, "open_cn": 4e24}[lab.name]
            )
            assert lab.serving_cost == pytest.approx(start[lab.name] * 0.25 ** (tick / 12)), (lab.name, tick)
            expected_price = 5.0 if lab.name == "closed_us" else lab.serving_cost  # closed_us pins 5.0
            assert lab.price_usd_per_mtok() == pytest.approx(expected_price), (lab.name, tick)
        if tick == 6:
            assert lab_by_name(model, "open_us").price_usd_per_mtok() == pytest.approx(start["open_us"] / 2)


@pytest.mark.parametrize(
    ("open_cn_eci", "response", "max_markup", "markup"),
    [
        (124.0, 12.0, 2.0, 1.5),  # lead 130 - 124 = 6 of 12: halfway from cost (1) to the maximum (2)
        (124.0, 5.0, 2.0, 2.0),  # lead 6 >= 5: the full markup
        (127.0, 6.0, 3.0, 2.0),  # lead 3 of 6: 1 + (3 - 1) x 0.5
        (130.0, 5.0, 2.0, 1.0),  # level: at cost
        (135.0, 5.0, 2.0, 1.0),  # an open model leads: at cost
    ],
)
def test_closed_price_is_serving_cost_marked_up_by_the_lead_over_the_best_open_model(
    make_model, open_cn_eci: float, response: float, max_markup: float, markup: float
) -> None:
    model = make_model(
        {
            "labs.closed_us.price_usd_per_mtok": None,  # the lab sets it
            "labs.open_cn.initial_capability_eci": open_cn_eci,
            "world.price_response_eci": response,
            "world.closed_max_markup": max_markup,
        }
    )
    closed = lab_by_name(model, "closed_us")
    model.step()
    # no release has changed a model at tick 1 (closed_us releases at 2, open_cn at 3, open_us's tick-1
    # candidate 119.01 is below its 120): the best open model is open_cn's
    assert [lab.capability_true_eci for lab in model.lab_list] == [130.0, 120.0, open_cn_eci]
    serving = 0.3 * math.sqrt(4e26 / 3.3e24) * (0.7 / 3) ** (1 / 12)  # 3.30289 x 0.88579 = 2.92568
    assert closed.serving_cost == pytest.approx(serving)
    assert closed.price_usd_per_mtok() == pytest.approx(serving * markup)
    assert model.teacher_price_usd_per_mtok == closed.price_usd_per_mtok()  # what distillers pay


# -- patrons (F7, F19) -----------------------------------------------------------------------------------------


def test_patron_support_moves_toward_the_adoption_won_after_the_market() -> None:
    """After each month's market a patron moves its support 1/patience of the way to (standing among the
    active labs)^elasticity, standing = (0.75 usage share + 0.25 developers' usage share) x number of active
    labs; next month's subsidy is the plan times that support."""
    data = copy.deepcopy(SMALL_SCENARIO)
    segments = data["adopters"]["segments"]
    segments["general"] |= {"adopter_share": 0.5, "usage_share": 0.6}
    segments["developers"] = {"adopter_share": 0.2, "usage_share": 0.2, "need_eci": 118.0}
    data["world"] |= {
        "patron_elasticity": 1.0,
        "patron_patience_months": 4.0,
        "patron_max_support": 3.0,
        "patron_developer_weight": 0.25,
    }
    data["labs"]["closed_us"]["subsidy_usd_per_month"] = 1e8  # the only closed lab: an equal share
    model = EcosystemModel(scenario_from_dict(data), seed=3)
    pop = model.population
    closed, open_us, open_cn = (lab_by_name(model, n) for n in ("closed_us", "open_us", "open_cn"))
    dev = model.segment_names.index("developers")

    def standing(lab) -> float:
        labs = (closed, open_us, open_cn)
        usage = np.array([pop.usage_mtok[pop.choice == x.index].sum() for x in labs])
        devs = np.array([pop.usage_mtok[(pop.choice == x.index) & (pop.segment == dev)].sum() for x in labs])
        j = labs.index(lab)
        return (0.75 * usage[j] / usage.sum() + 0.25 * devs[j] / devs.sum()) * 3  # three active labs

    before_market = standing(open_us)
    model.step()
    target = min(standing(open_us), 3.0)  # elasticity 1
    support = 1.0 + (target - 1.0) / 4.0
    assert abs(support - (1.0 + (before_market - 1.0) / 4.0)) > 1e-3  # the test tells which month it used
    assert open_us.patron_support == pytest.approx(support)
    closed_support = 1.0 + (min(standing(closed), 3.0) - 1.0) / 4.0
    assert closed_support != pytest.approx(1.0, abs=1e-3)
    assert closed.patron_support == pytest.approx(closed_support)
    assert open_cn.patron_support == 1.0  # no patron to review
    model.step()
    assert open_us.subsidy_received_usd == pytest.approx(5e7 * support)  # no yearly growth here
    assert closed.subsidy_received_usd == pytest.approx(1e8 * closed_support)


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
    # a pinned price counts only for a closed lab: open weights are served at serving cost
    model = make_model(changes | {"labs.open_us.price_usd_per_mtok": 5.0})
    open_us, open_cn = lab_by_name(model, "open_us"), lab_by_name(model, "open_cn")
    assert open_us.training_flop == pytest.approx(4e25)  # 1e25 FLOP/month x 4 months
    model.step()
    assert open_us.is_open is not open_us_turns_closed
    assert open_cn.is_open  # a Chinese lab is not bound by a US ban, whatever its compute
    assert model.current["labs_alive_open"] == (1 if open_us_turns_closed else 2)
    if open_us_turns_closed:
        assert open_us.price_usd_per_mtok() == pytest.approx(5.0)  # now sells API access at its own price
    else:  # its 4e25-FLOP model at serving cost: 0.3 x sqrt(4e25 / 3.3e24) x (0.7 / 3)^(1/12) = 0.92518
        assert open_us.price_usd_per_mtok() == pytest.approx(
            0.3 * math.sqrt(4e25 / 3.3e24) * (0.7 / 3) ** (1 / 12)
        )


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
            "labs.open_us.initial_know_how_eci": 125.0,  # so that a model capped at 2e25 FLOP beats its 120
            "world.training_lag_months": 0,
        }
    )
    lab = lab_by_name(model, "open_us")  # efficiency 1, first release at tick 1 (offset 1)
    released0 = lab.capability_true_eci
    model.step()
    assert lab.training_flop > threshold  # it still has (and keeps) the compute
    # it learnt 0.02 of the log10 gap to open_cn's efficiency 4 (spill-over): 4^0.02 = 1.0281
    assert lab.training_efficiency == pytest.approx(4**0.02)
    # trained on threshold compute: 6 log10(2e25 x 1.0281 / 1e25) = 1.878, plus its know-how
    capped = ALPHA * math.log10(threshold * 4**0.02 / 1e25) + lab.know_how_eci
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
    assert [x.name for x in model.offerings] == ["closed_us", "open_us", "open_cn"]  # no weights left yet
    released0 = lab.capability_true_eci
    holders = model.population.choice == lab.index
    popularity0 = model.population.popularity[:, lab.index].copy()
    assert holders.sum() > 10
    model.step()  # tick 1: the ban binds, the lab turns closed and releases its new (closed) model
    assert [x.name for x in model.offerings] == ["closed_us", "open_us", "open_cn", "open_us_open_weights"]
    weights = model.offerings[3]
    assert weights.kind == "open_weights" and model.population.popularity.shape[1] == 4
    assert not lab.is_open
    assert lab.capability_true_eci > released0  # its first closed release
    assert weights.active and weights.is_open
    assert weights.capability_true_eci == released0  # the last open release, frozen
    assert weights.capability_benchmark_eci == released0 + 1.0  # the lab's benchmark focus
    # served at the serving cost of its 4e25-FLOP model: 0.3 x sqrt(4e25 / 3.3e24) x (0.7 / 3)^(1/12)
    assert weights.price_usd_per_mtok() == pytest.approx(1.044466 * 0.885791, rel=1e-6)
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
    # that the weights count on the open frontier: test_left_behind_weights_that_are_the_best_open_model_...


def test_open_weights_enter_the_market_when_their_lab_closes(make_model, make_scenario) -> None:
    not_in_force = {"policy.ban.threshold_flop": 1e25, "labs.open_us.ban_response": "close"}
    model = make_model(not_in_force)
    for _ in range(4):
        model.step()
    assert len(model.offerings) == 3  # nobody closed: no weights left
    closed_by_event = make_scenario(
        {"events": [{"at": "2025-04", "set": {"labs.open_cn.release_policy": "closed"}}]}
    )
    model = EcosystemModel(closed_by_event, seed=3)
    released = []
    for _ in range(4):
        model.step()
        released.append([x.name for x in model.offerings[3:] if x.active])
    assert released == [[], [], ["open_cn_open_weights"], ["open_cn_open_weights"]]  # from tick 3 on


def test_weights_of_a_lab_reopened_and_closed_again_are_its_newer_open_release(make_scenario) -> None:
    events = [
        {"at": "2025-03", "set": {"labs.open_us.release_policy": "closed"}},  # tick 2
        {"at": "2025-05", "set": {"labs.open_us.release_policy": "open"}},  # tick 4
        {"at": "2025-10", "set": {"labs.open_us.release_policy": "closed"}},  # tick 9
    ]
    model = EcosystemModel(make_scenario({"events": events, "world.training_lag_months": 0}), seed=3)
    lab = lab_by_name(model, "open_us")
    frozen = []
    for _ in range(10):
        model.step()
        weights = model.weights_of.get("open_us")
        frozen.append(weights.capability_true_eci if weights is not None and weights.active else None)
        if model.tick == 8:
            newer_open = lab.capability_true_eci  # released open at tick 6 (cadence 5, offset 1)
    assert len(model.offerings) == 4  # one entry for the lab's weights, updated when it closes again
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
    lab = lab_by_name(model, "open_us")
    out = []
    for _ in range(6):
        model.step()
        out.append("open_us" in model.weights_of and model.weights_of["open_us"].active)
        if model.tick == 3:
            served_open = lab.capability_true_eci
    assert out == [False, False, False, True, True, True]
    assert model.weights_of["open_us"].capability_true_eci == served_open


def test_a_lab_that_enters_closing_leaves_no_weights(make_scenario) -> None:
    """It was never on the market open: it enters at tick 2 and the ban closes it in that month's release."""
    model = EcosystemModel(make_scenario(CLOSES_AT_TICK_1 | {"labs.open_us.enters": "2025-03"}), seed=3)
    lab = lab_by_name(model, "open_us")
    for _ in range(4):
        model.step()
        assert len(model.offerings) == 3
    assert lab.active and not lab.is_open


def test_weights_stay_when_the_lab_closes_and_runs_out_of_cash_in_the_same_month(make_scenario) -> None:
    shock = {"labs.open_us.release_policy": "closed", "labs.open_us.staff_usd_per_month": 1e12}
    model = EcosystemModel(
        make_scenario({"events": [{"at": "2025-03", "set": shock}]} | NO_RECONSIDERING), seed=3
    )
    lab = lab_by_name(model, "open_us")
    model.step()
    holders = model.population.choice == lab.index
    assert holders.sum() > 10
    model.step()  # tick 2: closed by the event, out of cash in finance
    weights = model.offerings[3]
    assert not lab.active and weights.active
    np.testing.assert_array_equal(model.population.choice == weights.index, holders)


def test_hand_over_moves_adopters_and_popularity(make_model) -> None:
    pop = make_model(CLOSES_AT_TICK_1).population
    assert pop.add_offering() == 3 and pop.n_labs == 4
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
    run. Here open_us buys no compute (no patron, its 1e9 of cash under its reserve of 120 months of 2e7 of
    staff) and its capacity shrinks 30% a month: at tick 1 (the snapshot for the tick-3 release) the run had
    2.8e25 FLOP, above the 2e25 threshold; by tick 3 capacity is below it."""
    threshold = 2e25
    model = make_model(
        BAN
        | {
            "policy.ban.threshold_flop": threshold,
            "labs.open_us.ban_response": response,
            "labs.open_us.subsidy_usd_per_month": 0.0,
            "labs.open_us.initial_cash_usd": 1e9,
            "labs.open_us.fundraise_probability_per_month": 0.0,
            "world.reserve_months": 120.0,
            "labs.open_us.initial_know_how_eci": 125.0,  # so that a model capped at 2e25 FLOP beats its 120
            "labs.open_us.release_offset_months": 3,
            "world.compute_depreciation_per_month": 0.3,
        }
    )
    lab = lab_by_name(model, "open_us")
    released0 = lab.capability_true_eci
    know_how, flop = {}, {}
    efficiency = {}
    for _ in range(3):
        model.step()
        assert lab.compute_spend_usd == 0.0
        know_how[model.tick], flop[model.tick] = lab.know_how_eci, lab.training_flop
        efficiency[model.tick] = lab.training_efficiency
    assert flop[3 - LAG] == pytest.approx(2.8e25) and flop[3] < threshold
    # at tick 1 it had learnt 0.02 of the log10 gap to open_cn's efficiency 4 (spill-over): 4^0.02
    assert efficiency[3 - LAG] == pytest.approx(4**0.02)
    # the tick-1 run trained down to the threshold: 6 log10(2e25 x 4^0.02 / 1e25) + its know-how then
    capped = ALPHA * math.log10(threshold * 4**0.02 / 1e25) + know_how[3 - LAG]
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
    lab.costs_usd, lab.compute_spend_usd = 1e7, 2e7  # this month's costs, last month's compute purchase
    model.finance_draws = np.full(len(model.lab_list), draw)
    # size: min(24 months x 3e7 of gross burn, 3 years x 0 of revenue + 1e9) = 7.2e8, times appetite 1
    # and the capital multiplier, which scales the size up as well as down
    expected = 7.2e8 * multiplier if raises else 0.0
    assert lab.fundraise() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "revenue", "costs", "spend", "expected"),
    [
        ("closed_us", 0.0, 1e8, 8e8, 1e9),  # min(24 x 9e8, 0 + 1e9): no revenue, at most the 1e9 base
        ("closed_us", 1e8, 1e8, 8e8, 4.6e9),  # min(2.16e10, 3 x 12 x 1e8 + 1e9)
        ("closed_us", 1e9, 1e8, 4e8, 1.2e10),  # min(24 x 5e8, 3.7e10): 24 months of gross burn
        # appetite exp(-2.5 / 8) = 0.7316 (2.5 benchmark points behind): min(24 x 1e7, 1e9) x 0.7316
        ("open_cn", 0.0, 1e7, 0.0, 2.4e8 * math.exp(-2.5 / 8.0)),
    ],
)
def test_round_size_is_months_of_gross_burn_capped_by_a_revenue_multiple(
    make_model, name: str, revenue: float, costs: float, spend: float, expected: float
) -> None:
    model = make_model({f"labs.{name}.fundraise_probability_per_month": 1.0})
    lab = lab_by_name(model, name)
    lab.runway_months = 10.0
    lab.revenue_usd, lab.costs_usd, lab.compute_spend_usd = revenue, costs, spend
    model.finance_draws = np.zeros(len(model.lab_list))
    assert lab.fundraise() == pytest.approx(expected)


@pytest.mark.parametrize(("runway", "raises"), [(23.9, True), (24.0, False), (30.0, False)])
def test_no_fundraising_with_a_long_runway(make_model, runway: float, raises: bool) -> None:
    model = make_model()
    lab = lab_by_name(model, "closed_us")
    lab.runway_months = runway  # the trigger is 24 months
    lab.costs_usd, lab.compute_spend_usd = 1e7, 2e7  # a round would be 7.2e8
    model.finance_draws = np.zeros(len(model.lab_list))
    assert lab.fundraise() == (pytest.approx(7.2e8) if raises else 0.0)


@pytest.mark.parametrize("multiplier", [0.0, 1.0])
def test_capital_multiplier_zero_means_no_rounds_in_a_run(make_model, multiplier: float) -> None:
    changes = no_income("open_cn", 1e7, 2e8) | {  # runway 20 months: it raises when it can
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
        assert max(raised) > 0  # short runway, odds 1 x appetite 0.73: it raises


# -- events -----------------------------------------------------------------------------------------------------------


def test_event_changes_parameters_from_its_month_on(make_model) -> None:
    model = make_model(
        {
            "events": [
                {
                    "at": "2025-04",  # tick 3
                    "set": {"blocs.china.capital_multiplier": 0.2, "labs.open_cn.staff_usd_per_month": 3e7},
                }
            ],
            "labs.open_cn.distillation_ability": 0.0,  # buys no distillation tokens: costs are its staff
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
        "ai": data["labs"]["open_us"] | {"ban_response": "close", "price_usd_per_mtok": 7.0},  # once closed
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
    assert ai.revenue_usd == pytest.approx(usage_before * 7.0)  # open, it would earn 3% of serving cost
    assert not ai.is_open


def test_left_behind_weights_that_are_the_best_open_model_set_the_open_frontier(make_model) -> None:
    """With the only other open lab far behind, the open frontier after open_us turns closed is exactly its
    frozen weights: without them it would be open_cn's, 20 points lower (F9)."""
    weak_cn = {"labs.open_cn.initial_capability_eci": 100.0, "labs.open_cn.initial_know_how_eci": 98.8}
    model = make_model(CLOSES_AT_TICK_1 | NO_RECONSIDERING | weak_cn | {"world.training_lag_months": 0})
    lab, cn = lab_by_name(model, "open_us"), lab_by_name(model, "open_cn")
    released0 = lab.capability_true_eci
    for _ in range(3):
        model.step()
        assert not lab.is_open
        assert model.history.open_true[-1] == released0  # the weights, frozen at the last open release
        assert cn.capability_true_eci < released0 - 10  # open_cn alone would set a far lower frontier
    assert model.current["open_frontier_true_eci"] == released0


def test_market_research_in_the_first_month_of_a_ban_weighs_the_penalty_adopters_face(make_model) -> None:
    """open_us releases at tick 6 (cadence 5, offset 1), the month a US ban above 1e24 FLOP starts: its run
    is bound, so it weighs capped, offshore and defy by market research over adopters' utilities. Adopters
    choose this month at the ban's enforcement (0.7); the research must see them as they will choose, not at
    last month's enforcement (0: no ban yet), which is all choose() had set (fixed in f1c098d)."""
    model = make_model(
        {
            "events": [{"at": "2025-07", "set": {"policy.ban.active": True}}],
            "policy.ban.jurisdiction": "us",
            "policy.ban.threshold_flop": 1e24,
            "policy.ban.enforcement": 0.7,
            "labs.open_us.ban_response": "decide",
        }
    )
    seen: dict[int, list[float]] = {}
    survey = model.survey

    def spy(requests):
        seen.setdefault(model.tick, []).append(model.population.enforcement)
        return survey(requests)

    model.survey = spy
    for _ in range(7):
        model.step()
    assert 6 in seen  # open_us decided in the ban's first month
    assert seen[6] == [0.7] * len(seen[6])


def test_a_deciding_lab_weighs_finite_payoffs_when_some_adopters_can_use_nothing(make_model) -> None:
    """Both open labs start without cash and exit at tick 1; closed_us decides how to release (no pinned
    policy). At its tick-2 release, its closed offer leaves the open-only local adopters (no outside option
    in the small scenario) nothing to use: they add no usage to it, but the general segment's usage of the
    closed model is still there, so every option has a finite payoff to compare."""
    broke = {"initial_cash_usd": 0.0, "subsidy_usd_per_month": 0.0, "fundraise_probability_per_month": 0.0}
    model = make_model(
        {"labs.closed_us.release_policy": None, "labs.closed_us.initial_release": "closed"}
        | {f"labs.{lab}.{key}": value for lab in ("open_us", "open_cn") for key, value in broke.items()}
    )
    lab = lab_by_name(model, "closed_us")
    with np.errstate(invalid="ignore"):
        model.step()
        model.step()  # tick 2: closed_us releases and decides
    assert [x.active for x in model.lab_list] == [True, False, False]
    assert set(lab.release_payoffs) == {"closed", "open"}
    assert all(np.isfinite(v) for v in lab.release_payoffs.values()), lab.release_payoffs
