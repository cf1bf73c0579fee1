"""Invariants that hold every tick, for random seeds and parameter draws on the small scenario (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.agents.lab import RUNWAY_CAP_MONTHS
from simulation.agents.population import NONE
from simulation.config import Scenario, with_changes
from simulation.model import EcosystemModel

TICKS = 8

draws = st.fixed_dictionaries(
    {
        "blocs.china.capital_multiplier": st.sampled_from([0.0, 0.3, 1.0, 3.0]),
        "world.open_revenue_fraction": st.floats(0.0, 0.2),
        "adopters.segments.general.reconsider_rate_per_month": st.floats(0.0, 1.0),
        "adopters.segments.local.consideration_size": st.integers(1, 4),
        # some runs leave the Chinese lab short of cash: it raises, cuts compute, or exits
        "labs.open_cn.initial_cash_usd": st.sampled_from([5e7, 2e8, 1e9]),
        "labs.open_cn.fundraise_probability_per_month": st.floats(0.0, 1.0),
        "labs.open_us.subsidy_usd_per_month": st.sampled_from([0.0, 5e7]),
        # the closed frontier lab may enter late (the frontier is the prehistory's until then) or go bust
        "labs.closed_us.enters": st.sampled_from([None, "2025-03"]),
        "labs.closed_us.initial_capability_eci": st.sampled_from([130.0, 133.0]),
        "labs.closed_us.initial_cash_usd": st.sampled_from([2e8, 2e10]),
        "policy.ban.active": st.booleans(),
        "policy.ban.threshold_flop": st.sampled_from([1e24, 1e25, 1e27]),
        "labs.open_us.ban_response": st.sampled_from(
            ["close", "stop_open_releases", "train_below_threshold"]
        ),
    }
)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure is reproducible, CI is stable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def run_checking_cash(scenario: Scenario, seed: int) -> EcosystemModel:
    """Step the model, checking on every tick, from the agents' attributes and the adopters' choices, that
    the books balance: cash, compute capacity and runway against the month's money flows, and each
    offering's users and usage against the adopters who chose it."""
    model = EcosystemModel(scenario, seed=seed)
    labs = model.lab_list
    world = scenario.world
    for _ in range(TICKS):
        cash0 = {lab.name: lab.cash_usd for lab in labs}
        capacity0 = {lab.name: lab.compute_flop_per_month for lab in labs}
        in_business = {lab.name: lab.active or not lab.entered for lab in labs}  # may run finance this tick
        model.step()
        for lab in labs:
            ran_finance = in_business[lab.name] and lab.entered
            subsidy = lab.subsidy_received_usd if ran_finance else 0.0  # patrons review after the market
            inflow = lab.revenue_usd + subsidy + lab.raised_usd
            outflow = lab.costs_usd + lab.compute_spend_usd
            scale = max(abs(cash0[lab.name]), inflow, outflow, 1.0)
            assert lab.cash_usd == pytest.approx(cash0[lab.name] + inflow - outflow, abs=1e-9 * scale), (
                lab.name,
                model.tick,
            )
            if not ran_finance:
                assert inflow == outflow == 0.0
            if lab.active:
                # capacity: what was not retired plus what this month's spend bought at the bloc's price
                bought = lab.compute_spend_usd / model.compute_price_usd_per_flop_month(lab.bloc)
                expected = capacity0[lab.name] * (1 - world.compute_depreciation_per_month) + bought
                assert lab.compute_flop_per_month == pytest.approx(expected, rel=1e-12), (
                    lab.name,
                    model.tick,
                )
                assert lab.training_flop == pytest.approx(lab.compute_flop_per_month * world.run_months)
                # runway: cash after the purchase over this month's net burn, purchase included
                burn = outflow - lab.revenue_usd - subsidy
                runway = RUNWAY_CAP_MONTHS if burn <= 0 else min(RUNWAY_CAP_MONTHS, lab.cash_usd / burn)
                assert lab.runway_months == pytest.approx(runway, rel=1e-9), (lab.name, model.tick)
            else:  # not yet entered, or out of cash: no capacity bought or retired; an exit's runway is 0
                assert lab.compute_flop_per_month == capacity0[lab.name]
                assert lab.runway_months == 0.0 or not lab.entered
        # every adopter is counted once: with the offering it chose, or with nobody
        pop = model.population
        for entry in model.offerings:
            holders = pop.choice == entry.index
            assert entry.users == int(holders.sum()), entry.name
            assert entry.usage_mtok == pytest.approx(float(pop.usage_mtok[holders].sum()), rel=1e-12)
        assert sum(entry.users for entry in model.offerings) + int((pop.choice == NONE).sum()) == pop.n
        using = pop.choice != NONE
        assert model.current["total_usage_mtok"] == pytest.approx(
            float(pop.usage_mtok[using].sum()), rel=1e-12
        )
    return model


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), changes=draws)
def test_invariants_every_tick(small_scenario: Scenario, seed: int, changes: dict) -> None:
    scenario = with_changes(small_scenario, changes | {"adopters.n": 150, "adopters.burn_in_months": 2})
    model = run_checking_cash(scenario, seed)

    table = model.datacollector.get_model_vars_dataframe()
    assert list(table["tick"]) == list(range(TICKS + 1))
    numeric = table.select_dtypes(include="number")
    assert not numeric.isna().any().any()

    labs = model.lab_frame()
    assert not labs.select_dtypes(include="number").isna().any().any()
    # the best closed model ever released: the prehistory's, then the running best of active closed labs
    pre = scenario.prehistory
    closed_best = max(p.closed_eci for p in pre.points) - pre.closed_focus_eci
    for tick, rows in labs.groupby("tick"):
        row = table.loc[table["tick"] == tick].iloc[0]
        usage = rows["usage_mtok"].to_numpy()
        is_open = rows["open"].to_numpy(dtype=bool)
        alive = rows["alive"].to_numpy(dtype=bool)
        # the model's shares and frontiers, recomputed from the per-lab table
        assert row["open_share_usage"] == pytest.approx(usage[is_open].sum() / usage.sum())
        assert row["total_usage_mtok"] == pytest.approx(usage.sum())
        capability = rows["capability_true_eci"].to_numpy()
        assert row["open_frontier_true_eci"] == capability[alive & is_open].max()
        if (alive & ~is_open).any():
            closed_best = max(closed_best, capability[alive & ~is_open].max())
        assert row["closed_frontier_true_eci"] == closed_best
        assert row["gap_points_true"] == pytest.approx(closed_best - capability[alive & is_open].max())
        # alive counts agree with the lab rows (labs only, not the open weights closed labs leave)
        lab_rows = rows[rows["kind"] == "lab"]
        assert row["labs_alive_open"] == int((lab_rows["alive"] & lab_rows["open"]).sum())
        assert row["labs_alive_closed"] == int((lab_rows["alive"] & ~lab_rows["open"].astype(bool)).sum())
        # dead labs and weights not out yet have no users
        assert (rows.loc[~rows["alive"].astype(bool), "users"] == 0).all()
        # released benchmark = true capability + the lab's benchmark focus
        for lab_name, true, bench in lab_rows[
            ["lab", "capability_true_eci", "capability_benchmark_eci"]
        ].itertuples(index=False):
            assert bench == pytest.approx(true + scenario.labs[lab_name].benchmark_focus_eci)
    # open weights left by a lab that turned closed: open, frozen from the tick they are out, and only
    # for a lab that did turn closed
    for weights in model.open_weights:
        rows = labs[labs["lab"] == weights.name].sort_values("tick")
        assert rows["open"].all()
        out = rows[rows["alive"].astype(bool)]
        assert out["capability_true_eci"].nunique() <= 1 and out["capability_benchmark_eci"].nunique() <= 1
        assert weights.active == (not weights.source.is_open)

    # what the DataCollector recorded for the last tick is the labs' state
    last = labs[labs["tick"] == TICKS].set_index("lab")
    for lab in model.lab_list:
        assert last.loc[lab.name, "cash_usd"] == lab.cash_usd
        assert last.loc[lab.name, "runway_months"] == lab.runway_months


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_release_is_the_run_trained_a_lag_ago_on_the_cadence(small_scenario: Scenario, seed: int) -> None:
    """Released capability changes only on a lab's release months (every ``release_cadence_months`` from
    its offset), and then to the internal capability it had ``training_lag_months`` earlier (no ban here)."""
    scenario = with_changes(small_scenario, {"adopters.n": 100, "adopters.burn_in_months": 1})
    model = EcosystemModel(scenario, seed=seed)
    lag = scenario.world.training_lag_months
    internal = {lab.name: [lab.internal_capability_eci] for lab in model.lab_list}
    released = {lab.name: lab.capability_true_eci for lab in model.lab_list}
    changes = 0
    for _ in range(TICKS):
        model.step()
        for lab in model.lab_list:
            cfg = scenario.labs[lab.name]
            if lab.capability_true_eci != released[lab.name]:
                changes += 1
                assert (model.tick - cfg.release_offset_months) % cfg.release_cadence_months == 0, lab.name
                assert model.tick >= lag
                assert lab.capability_true_eci == internal[lab.name][model.tick - lag], lab.name
            released[lab.name] = lab.capability_true_eci
            internal[lab.name].append(lab.internal_capability_eci)
    assert changes > 0  # some lab released a better model: the check above was reached
