"""Dated events reach every part of the model, including at the start month."""

import numpy as np

from simulation.config import load_scenario, with_changes
from simulation.model import EcosystemModel


def _scenario(events):
    sc = with_changes(
        load_scenario("tiny"), {"events": events, "adopters.n": 200, "adopters.burn_in_months": 1}
    )
    return sc


def test_start_month_event_reaches_adopters() -> None:
    sc = _scenario([{"at": "2025-01", "set": {"adopters.segments.sovereign.need_eci": 200.0}}])
    model = EcosystemModel(sc, seed=1)
    sovereign = model.population.segment == model.segment_names.index("sovereign")
    sd = sc.adopters.segments["sovereign"].need_sd_eci
    expected = 200.0 + sd * model.population.z_need[sovereign]
    np.testing.assert_allclose(model.population.need0_eci[sovereign], expected)


def test_later_event_changes_adopter_levels_from_that_month() -> None:
    sc = _scenario([{"at": "2025-04", "set": {"adopters.regions.us.trust_by_bloc": {"china": -5.0}}}])
    model = EcosystemModel(sc, seed=1)
    us = model.population.region == model.region_names.index("us")
    china = model.bloc_names.index("china")
    before = model.population.trust[us, china].copy()
    for _ in range(2):
        model.step()
    np.testing.assert_array_equal(model.population.trust[us, china], before)  # ticks 1-2: unchanged
    model.step()  # tick 3 = 2025-04
    sd = sc.adopters.regions["us"].trust_sd
    np.testing.assert_allclose(
        model.population.trust[us, china], -5.0 + sd * model.population.z_trust[us, china]
    )
