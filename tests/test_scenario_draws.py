"""Every shipped scenario's distributions draw only values its schema accepts, over many seeds, without
running the model (a draw outside a bound used to crash a replicate mid-run)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config import load_scenario, with_changes
from simulation.experiments.runner import draw_parameters, replicate_seeds, shipped_scenarios

SEEDS = 300


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_every_draw_is_valid(path):
    scenario = load_scenario(path)
    if not scenario.uncertain:
        pytest.skip("nothing uncertain")
    bad = []
    for seed in range(SEEDS // 20):
        for seq in replicate_seeds(seed, 20):
            drawn = draw_parameters(scenario, seq)
            try:
                with_changes(scenario, drawn)
            except ValueError as err:  # ScenarioError
                bad.append((seed, str(err)))
    assert not bad, f"{len(bad)} of {SEEDS} draws invalid, e.g. {bad[0]}"


def test_draws_are_spread_over_the_distribution():
    """The check above would pass if nothing were drawn: the draws must vary and stay inside the range."""
    scenario = load_scenario("baseline")
    values = np.array(
        [draw_parameters(scenario, s)["world.distillation_efficacy"] for s in replicate_seeds(1, 200)]
    )
    assert 0.06 <= values.min() < 0.065 and 0.095 < values.max() <= 0.10
