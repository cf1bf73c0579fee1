"""Open weights left by a lab that turns closed (simulation/agents/weights.py): what mutation testing
(benchmarks/mutation.py, benchmarks/mutants.md) found untested. They enter the market (a new offering) on the
tick their lab turns closed; their row reports zeros for money, compute and know-how (weights do not train or
earn), the frozen release's capabilities, including the version a ban lets complying adopters use, and the
serving cost of the frozen run as price."""

from __future__ import annotations

import numpy as np
import pytest

# the small scenario's US open lab turns closed at tick 1: a US ban on open weights above 1e25 FLOP
CLOSES_AT_TICK_1 = {
    "policy.ban.active": True,
    "policy.ban.jurisdiction": "us",
    "policy.ban.threshold_flop": 1e25,
    "labs.open_us.ban_response": "close",
}
ZERO = [
    "internal_capability_eci",  # the frozen release's true capability once out: checked apart
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
]


def test_weights_report_no_money_compute_or_training_and_the_frozen_release(make_model) -> None:
    model = make_model(CLOSES_AT_TICK_1 | {"world.training_lag_months": 0})
    assert len(model.offerings) == 3  # no weights before the lab turns closed
    released0 = model.offerings[1].capability_true_eci
    model.step()  # tick 1: open_us turns closed and leaves its 120 model (4e25 FLOP) on the market
    weights = model.offerings[3]
    assert weights.name == "open_us_open_weights" and weights.active
    row = model.lab_frame().query("tick == 1")
    row = row[row["lab"] == weights.name].iloc[0]
    assert row[ZERO[1:]].tolist() == [0] * (len(ZERO) - 1)
    assert row["internal_capability_eci"] == row["capability_true_eci"] == released0
    assert row["capability_benchmark_eci"] == released0 + 1.0
    assert row["build_limited"] is not None and not row["build_limited"]
    assert row["kind"] == "open_weights" and row["open"] and row["release"] == "open"
    serving = 0.3 * (4e25 / 3.3e24) ** 0.5 * (0.7 / 3) ** (1 / 12)  # its run's serving cost at tick 1
    assert row["price_usd_per_mtok"] == pytest.approx(serving) and row[
        "serving_cost_usd_per_mtok"
    ] == pytest.approx(serving)
    assert row["users"] == weights.users > 0 and row["usage_mtok"] == weights.usage_mtok > 0


def test_weights_out_carry_the_legal_version_of_the_frozen_release(make_model) -> None:
    model = make_model(CLOSES_AT_TICK_1 | {"world.training_lag_months": 0})
    model.step()
    weights = model.offerings[3]
    assert weights.active
    frozen = weights.frozen
    assert (weights.legal_true_eci, weights.legal_benchmark_eci) == (
        frozen.legal_true_eci,
        frozen.legal_benchmark_eci,
    )
    # released before the ban bound: the frozen model is itself the legal version (benchmark = true + focus 1)
    assert weights.legal_true_eci == pytest.approx(weights.capability_true_eci)
    assert weights.legal_benchmark_eci == pytest.approx(weights.capability_true_eci + 1.0)


def test_weights_once_out_are_not_left_again_and_the_closed_lab_keeps_its_new_users(make_model) -> None:
    """After the weights are out, the lab's later (closed) model keeps the adopters who choose it: the weights
    are not due again, so nobody is handed over a second time."""
    model = make_model(
        CLOSES_AT_TICK_1
        | {
            "world.training_lag_months": 0,
            "adopters.segments.general.reconsider_rate_per_month": 0.0,
            "adopters.segments.local.reconsider_rate_per_month": 0.0,
        }
    )
    model.step()
    weights, lab = model.offerings[3], model.offerings[1]
    assert weights.active and not lab.is_open and not weights.due()
    pop = model.population
    general = np.flatnonzero(pop.segment == model.segment_names.index("general"))[:10]
    pop.choice[general] = lab.index  # ten general adopters take its closed model
    model.step()
    assert not weights.due()
    assert (pop.choice[general] == lab.index).all()
