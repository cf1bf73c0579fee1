"""Release decisions (simulation/agents/strategy.py) where mutation testing (benchmarks/mutation.py,
benchmarks/mutants.md) found no test: the payoff without patron money, and the switching margin at its
boundary. Hand-computed, like tests/test_release.py."""

from __future__ import annotations

import pytest

from simulation.agents.strategy import CLOSED, OPEN, choose_release, release_payoff_usd


def test_a_payoff_without_patron_money_or_running_cost_is_what_the_usage_earns() -> None:
    # closed: 1e6 Mtok x (5 - 2) USD; open: 1e6 x 2 x (0.03 + 0.2)
    common = {"open_revenue_fraction": 0.03, "open_strategic_value": 0.2}
    assert release_payoff_usd(CLOSED, 1e6, 5.0, 2.0, **common) == pytest.approx(3e6)
    assert release_payoff_usd(OPEN, 1e6, 5.0, 2.0, **common) == pytest.approx(4.6e5)


@pytest.mark.parametrize(
    ("other", "chosen"),
    [(124.0, CLOSED), (125.0, CLOSED), (125.5, OPEN)],
    ids=["within", "exactly-the-margin", "beyond"],
)
def test_the_current_option_is_kept_unless_another_beats_it_by_more_than_the_margin(
    other: float, chosen: str
) -> None:
    # current 100, margin 0.25: another option must bring more than 125
    assert choose_release({CLOSED: 100.0, OPEN: other}, CLOSED, 0.25) == chosen
