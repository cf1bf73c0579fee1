"""Every shipped scenario's distributions and posterior draw only values its schema accepts, over many
seeds, without running the model (a draw outside a bound used to crash a replicate mid-run)."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.config import load_scenario, with_changes
from simulation.config.loader import read_posterior
from simulation.experiments.runner import draw_parameters, replicate_seeds, shipped_scenarios

SEEDS = 300


@pytest.mark.parametrize("path", shipped_scenarios(), ids=lambda p: p.stem)
def test_every_draw_is_valid(path):
    scenario = load_scenario(path)
    # every shipped scenario draws something: its own distributions or the baseline's posterior particles
    assert scenario.uncertain or scenario.posterior is not None
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
    scenario = load_scenario("baseline")  # draws it from its calibration posterior
    values = np.array(
        [draw_parameters(scenario, s)["world.distillation_efficacy"] for s in replicate_seeds(1, 200)]
    )
    post = read_posterior(scenario.posterior)
    column = post.values[:, post.columns.index("world.distillation_efficacy")]
    assert set(values) <= set(column)  # whole particles' values
    assert len(set(values)) > 20 and values.max() - values.min() > 0.5 * (column.max() - column.min())
