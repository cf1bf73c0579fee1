"""One participant's what-if run: the levers, the scenario they give, the model stepped month by month,
the baseline drawn behind it, and saving a replicate set as ``run.py`` does.

The stepped run is one Mesa model at the scenario's seed (passed explicitly: a model built without one
draws a fresh seed) with uncertain parameters at their central values; the baseline is the same with the
shipped baseline (common random numbers), so with no lever moved on ``baseline`` the two lines coincide.
No web packages here: the page (``app.py``) only calls this.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..config import Scenario, with_changes
from ..experiments import simulate
from ..model import EcosystemModel
from ..outputs import write_run
from .levers import ADOPTERS, Levers, build, describe, shipped

BASELINE = "baseline"


@lru_cache(maxsize=8)
def baseline_series(seed: int, n_adopters: int) -> pd.DataFrame:
    """The shipped baseline run to its horizon with this seed and adopter count (run once, then cached)."""
    scenario = with_changes(shipped(BASELINE), {"adopters.n": n_adopters, "seed": seed})
    model = EcosystemModel(scenario, seed=scenario.seed, draw_uncertain=False)
    for _ in range(scenario.months - 1):
        model.step()
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    model.dispose()
    return series


class WhatIf:
    """A stepped what-if run. ``apply`` takes new levers (keeping the month reached), ``step`` advances,
    ``save`` writes a replicate set. Thread-safe: the page's play loop and clicks share one instance."""

    def __init__(self, levers: Levers, n_adopters: int = ADOPTERS):
        self.n_adopters = n_adopters
        self._lock = threading.RLock()
        self.levers = levers
        self.scenario: Scenario = build(levers, n_adopters)
        self.model = EcosystemModel(self.scenario, seed=self.scenario.seed, draw_uncertain=False)

    # -- levers and stepping ------------------------------------------------------------------------------
    def apply(self, levers: Levers) -> None:
        """Use new levers from the start, re-run to the month reached; raises ScenarioError (and keeps the
        current run) when the loader refuses them. The same levers again change nothing."""
        if levers == self.levers:
            return
        scenario = build(levers, self.n_adopters)
        with self._lock:
            model = EcosystemModel(scenario, seed=scenario.seed, draw_uncertain=False)
            for _ in range(min(self.tick, scenario.months - 1)):
                model.step()
            self.model.dispose()  # a workshop tries many what-ifs: memory stays flat
            self.levers, self.scenario, self.model = levers, scenario, model

    def step(self, months: int = 1) -> bool:
        """Advance up to ``months`` months; False when the run was already at its horizon."""
        with self._lock:
            moved = False
            for _ in range(months):
                if self.done:
                    break
                self.model.step()
                moved = True
            return moved

    def reset(self) -> None:
        with self._lock:
            self.model.dispose()
            self.model = EcosystemModel(self.scenario, seed=self.scenario.seed, draw_uncertain=False)

    @property
    def tick(self) -> int:
        return self.model.tick

    @property
    def horizon(self) -> int:
        """The last tick (months after the start)."""
        return self.scenario.months - 1

    @property
    def done(self) -> bool:
        return self.tick >= self.horizon

    def series(self) -> pd.DataFrame:
        """The run so far: one row per month with every model-level metric."""
        with self._lock:
            return self.model.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def baseline(self) -> pd.DataFrame:
        return baseline_series(self.scenario.seed, self.n_adopters)

    def changes(self) -> list[str]:
        """The moved levers in plain words."""
        return describe(self.levers, shipped(self.levers.scenario))

    # -- saving --------------------------------------------------------------------------------------------
    def save(self, out_root: str | Path, replicates: int) -> Path:
        """Run ``replicates`` replicates of the what-if scenario (uncertain parameters drawn, except those
        set by moved levers) and write a run folder under ``out_root`` exactly as ``run.py`` does."""
        with self._lock:
            levers, scenario = self.levers, self.scenario
        said = describe(levers, shipped(levers.scenario))
        scenario = with_changes(
            scenario,
            {
                "name": f"{levers.scenario}_whatif",
                "description": f"{levers.scenario} with "
                + ("; ".join(said) or "no lever moved")
                + f" (what-if page, {self.n_adopters} adopters)",
            },
        )
        started = time.perf_counter()
        results = simulate(scenario, replicates=replicates, seed=scenario.seed, jobs=1)
        command = f"python run.py dashboard (what-if page: Save this run, {replicates} replicates)"
        return write_run(results, out_root, command=command, wall_time_s=time.perf_counter() - started)
