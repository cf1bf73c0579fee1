"""Invariants that hold every tick, for random seeds and parameter draws on the small scenario (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    """Step the model, checking each lab's cash accounting on every tick from its attributes."""
    model = EcosystemModel(scenario, seed=seed)
    labs = model.lab_list
    for _ in range(TICKS):
        cash0 = {lab.name: lab.cash_usd for lab in labs}
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
            assert lab.runway_months >= 0.0
            assert lab.compute_spend_usd >= 0.0 and lab.raised_usd >= 0.0 and lab.revenue_usd >= 0.0
            assert lab.compute_spend_usd <= max(0.0, cash0[lab.name] + inflow - lab.costs_usd) + 1e-6
            assert lab.compute_flop_per_month > 0.0
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
    for column in numeric.columns:
        if "share" in column or column.startswith("hhi"):
            assert numeric[column].between(0.0, 1.0).all(), column

    labs = model.datacollector.get_agent_vars_dataframe().reset_index()
    assert not labs.select_dtypes(include="number").isna().any().any()
    assert (labs["runway_months"] >= 0).all()
    for tick, rows in labs.groupby("Step"):
        row = table.loc[table["tick"] == tick].iloc[0]
        usage = rows["usage_mtok"].to_numpy()
        is_open = rows["open"].to_numpy(dtype=bool)
        total = usage.sum()
        assert total > 0
        open_share, closed_share = usage[is_open].sum() / total, usage[~is_open].sum() / total
        assert open_share + closed_share == pytest.approx(1.0)
        assert row["open_share_usage"] == pytest.approx(open_share)
        assert row["total_usage_mtok"] == pytest.approx(total)
        assert rows["users"].sum() <= 150
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
        rows = labs[labs["lab"] == weights.name].sort_values("Step")
        assert rows["open"].all()
        out = rows[rows["alive"].astype(bool)]
        assert out["capability_true_eci"].nunique() <= 1 and out["capability_benchmark_eci"].nunique() <= 1
        assert weights.active == (not weights.source.is_open)

    # what the DataCollector recorded for the last tick is the labs' state
    last = labs[labs["Step"] == TICKS].set_index("lab")
    for lab in model.lab_list:
        assert last.loc[lab.name, "cash_usd"] == lab.cash_usd
        assert last.loc[lab.name, "runway_months"] == lab.runway_months


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_released_capability_never_falls_and_gap_is_finite(small_scenario: Scenario, seed: int) -> None:
    scenario = with_changes(small_scenario, {"adopters.n": 100, "adopters.burn_in_months": 1})
    model = EcosystemModel(scenario, seed=seed)
    previous = {lab.name: lab.capability_true_eci for lab in model.lab_list}
    for _ in range(TICKS):
        model.step()
        for lab in model.lab_list:
            assert lab.capability_true_eci >= previous[lab.name]
            previous[lab.name] = lab.capability_true_eci
        assert np.isfinite(model.current["gap_months_true"])
        assert np.isfinite(model.current["gap_months_benchmark"])
        # the open frontier is never ahead of the closed one in this scenario: gaps are not negative
        assert model.current["gap_months_true"] >= 0
