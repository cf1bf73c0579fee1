"""Open weights left by a lab that turns closed (simulation/agents/weights.py): what mutation testing
(benchmarks/mutation.py, benchmarks/mutants.md) found untested. Before they are out they report zeros (and a
placeholder price of 1); once out they carry every capability of the frozen release, including the version a
ban lets complying adopters use."""

from __future__ import annotations

import pytest

# the small scenario's US open lab turns closed at tick 1: a US ban on open weights above 1e25 FLOP
CLOSES_AT_TICK_1 = {
    "policy.ban.active": True,
    "policy.ban.jurisdiction": "us",
    "policy.ban.threshold_flop": 1e25,
    "labs.open_us.ban_response": "close",
}
ZERO = [
    "capability_true_eci",
    "capability_benchmark_eci",
    "internal_capability_eci",
    "compute_flop_per_month",
    "training_flop",
    "cash_usd",
    "runway_months",
    "revenue_usd",
    "raised_usd",
    "compute_spend_usd",
    "costs_usd",
    "subsidy_usd",
    "patron_support",
    "know_how_eci",
    "training_efficiency",
    "users",
    "usage_mtok",
]


def test_weights_not_yet_out_report_nothing_and_a_placeholder_price(make_model) -> None:
    # no burn-in: tick 0 is recorded straight from the agents' starting state
    model = make_model(CLOSES_AT_TICK_1 | {"adopters.burn_in_months": 0})
    weights = model.offerings[3]
    assert weights.name == "open_us_open_weights" and not weights.active
    row = model.datacollector.get_agent_vars_dataframe().xs(0, level="Step")
    row = row[row["lab"] == weights.name].iloc[0]
    assert row[ZERO].tolist() == [0] * len(ZERO)
    assert row["build_limited"] is not None and not row["build_limited"]
    assert (row["price_usd_per_mtok"], row["serving_cost_usd_per_mtok"]) == (1.0, 1.0)
    assert weights.users == 0 and weights.usage_mtok == 0.0


def test_weights_out_carry_the_legal_version_of_the_frozen_release(make_model) -> None:
    model = make_model(CLOSES_AT_TICK_1 | {"world.training_lag_months": 0})
    weights = model.offerings[3]
    model.step()
    assert weights.active
    frozen = weights.frozen
    assert (weights.legal_true_eci, weights.legal_benchmark_eci) == (
        frozen.legal_true_eci,
        frozen.legal_benchmark_eci,
    )
    # released before the ban bound: the frozen model is itself the legal version (benchmark = true + focus 1)
    assert weights.legal_true_eci == pytest.approx(weights.capability_true_eci)
    assert weights.legal_benchmark_eci == pytest.approx(weights.capability_true_eci + 1.0)
