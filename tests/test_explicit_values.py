"""An explicit value always wins over a distribution, at every entry point: a file that extends another, an
override of ``simulation.run``, ``EcosystemModel`` keywords (``mesa.batch_run``), a sweep and a lever. The
pinned path is dropped from ``uncertain`` and listed in ``pinned``; the run uses the value."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import mesa
import numpy as np
import pytest
import yaml

import simulation
from simulation.config import ScenarioError, load_scenario, pin
from simulation.config.loader import posterior_columns
from simulation.model import EcosystemModel

PATH = "world.distillation_efficacy"  # drawn in the baseline: a column of its calibrated posterior
SMALL = {"adopters.n": 60, "adopters.burn_in_months": 1}


def child(tmp_path: Path, body: dict, name: str = "child") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"extends": "baseline", "name": name, **body}))
    return path


def test_baseline_draws_the_parameter():
    """The premise: without an explicit value the parameter is drawn (from the baseline's posterior)."""
    sc = load_scenario("baseline")
    assert PATH in posterior_columns(sc.posterior) and sc.pinned == []
    res = simulation.run("tiny", replicates=2, months=2, overrides=SMALL)
    assert PATH in res.draws.columns and res.draws[PATH].nunique() == 2


def test_a_child_file_pins_what_it_sets(tmp_path):
    sc = load_scenario(child(tmp_path, {"world": {"distillation_efficacy": 0.04}}))
    assert sc.world.distillation_efficacy == 0.04
    assert PATH not in sc.uncertain and sc.pinned == [PATH]
    assert "world.rl_gain_eci_per_month" in posterior_columns(sc.posterior)  # the others are still drawn


def test_a_child_value_out_of_bounds_is_refused(tmp_path):
    """It used to pass --check: the parent's distribution overwrote it with its central value."""
    with pytest.raises(ScenarioError) as err:
        load_scenario(child(tmp_path, {"world": {"distillation_efficacy": 4}}))
    assert err.value.key_path == PATH and "less than or equal to 1" in err.value.problem


def test_a_grandchild_keeps_the_pin(tmp_path):
    child(tmp_path, {"world": {"distillation_efficacy": 0.04}})
    grand = tmp_path / "grand.yaml"
    grand.write_text(yaml.safe_dump({"extends": "child.yaml", "name": "grand", "months": 6}))
    sc = load_scenario(grand)
    assert sc.world.distillation_efficacy == 0.04 and sc.pinned == [PATH]


def test_a_child_may_make_it_uncertain_again(tmp_path):
    """Without the posterior (``posterior: null``) a child's distribution applies (docs/calibration.md)."""
    body = {"posterior": None, "uncertain": {PATH: {"dist": "uniform", "low": 0.01, "high": 0.02}}}
    sc = load_scenario(child(tmp_path, body))
    assert sc.uncertain[PATH].high == 0.02 and sc.pinned == []


def test_overrides_pin_and_the_run_uses_the_value(tmp_path):
    """The child file, the override and EcosystemModel keywords give the same tables; another value differs."""
    kw = {"replicates": 2, "months": 6, "seed": 4}
    by_override = simulation.run("tiny", overrides={PATH: 0.0, **SMALL}, **kw)
    assert PATH not in by_override.draws.columns
    assert by_override.scenario.pinned == [PATH]
    path = tmp_path / "tiny_child.yaml"
    path.write_text(
        yaml.safe_dump({"extends": "tiny", "name": "tiny_child", "world": {"distillation_efficacy": 0.0}})
    )
    by_file = simulation.run(path, overrides=SMALL, **kw)
    cols = [c for c in by_override.model.columns if c != "date"]
    np.testing.assert_array_equal(
        by_file.model[cols].to_numpy(float), by_override.model[cols].to_numpy(float)
    )
    high = simulation.run("tiny", overrides={PATH: 0.5, **SMALL}, **kw)
    gap = "gap_months_true"
    assert not np.array_equal(high.model[gap].to_numpy(), by_override.model[gap].to_numpy())


def test_model_keywords_pin_and_the_rest_is_drawn():
    model = EcosystemModel("tiny", seed=7, world__distillation_efficacy=0.03, n_adopters=40)
    assert model.params.world.distillation_efficacy == 0.03
    assert PATH not in model.drawn and "world.rl_gain_eci_per_month" in model.drawn
    assert model.params.pinned == [PATH] and model.params.uncertain == {}
    model.dispose()


def test_the_model_draws_as_a_replicate_does():
    """EcosystemModel(seed=s) draws the uncertain values that replicate seed s draws in simulation.run."""
    from simulation.seeding import draw_parameters

    sc = load_scenario("tiny")
    model = EcosystemModel(sc, seed=11)
    assert model.drawn == draw_parameters(sc, np.random.SeedSequence(11))
    assert model.params.world.distillation_efficacy == model.drawn[PATH]
    model.dispose()


def test_pin_drops_distributions_under_a_mapping():
    sc = load_scenario("baseline")
    pinned = pin(sc, {"world": sc.world.model_dump() | {"distillation_efficacy": 0.05}})
    world_drawn = {p for p in [*sc.uncertain, *posterior_columns(sc.posterior)] if p.startswith("world.")}
    assert world_drawn and set(pinned.pinned) == world_drawn  # every drawn world.* parameter is pinned
    assert pinned.uncertain == {}


def test_batch_run_stops_at_the_horizon_and_seeds_each_iteration():
    """mesa.batch_run: each iteration gets its own recorded seed (and its own draws), and the model stops at
    the scenario's last month however large max_steps is."""
    params = {"scenario": "tiny", "n_adopters": 40, "months": 4, "world__distillation_efficacy": [0.02, 0.2]}
    batch_kw: dict = {"iterations": 2}
    if "rng" in inspect.signature(mesa.batch_run).parameters:  # Mesa >= 3.4: iterations is deprecated
        batch_kw = {"rng": [None, None]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rows = mesa.batch_run(
            EcosystemModel,
            params,
            number_processes=1,
            max_steps=30,
            data_collection_period=1,
            display_progress=False,
            **batch_kw,
        )
    last = max(r["Step"] for r in rows)
    ends = [r for r in rows if r["Step"] == last]
    # months 4 -> ticks 0..3 (before 3.4 batch_run reports steps 0..model.steps - 1, so not the last one)
    assert last == (3 if tuple(map(int, mesa.__version__.split(".")[:2])) >= (3, 4) else 2)
    assert all(r["tick"] == r["Step"] for r in rows)
    seeds = {r["RunId"]: r["seed"] for r in ends}
    assert len(set(seeds.values())) == 4  # 2 values x 2 iterations, all different seeds
    assert {r["world__distillation_efficacy"] for r in ends} == {0.02, 0.2}


def test_months_keyword_is_a_parameter():
    """``months`` (a top-level field) is set like any other keyword."""
    model = EcosystemModel("tiny", seed=1, n_adopters=40, months=3)
    while model.running:
        model.step()
    assert model.tick == 2
    model.dispose()


def test_a_sweep_pins_what_it_sweeps(tmp_path):
    """A swept value is the value the run uses: the sweep's scenario lists it as pinned, and two values
    give different outcomes with the same seeds."""
    from simulation.sweep.plan import make_plan
    from simulation.sweep.spec import SweepSpec

    spec = SweepSpec.model_validate(
        {"name": "s", "base": "tiny", "sampler": "grid", "parameters": {PATH: {"values": [0.0, 0.4]}}}
    )
    plan = make_plan(spec)
    assert PATH in plan.scenario.pinned and PATH not in plan.scenario.uncertain
    res = simulation.sweep(
        "tiny",
        {PATH: [0.0, 0.4]},
        sampler="grid",
        replicates=1,
        common_seeds=True,
        months=12,
        n_adopters=80,
        outcomes=["gap_months_true_mean"],
        workers=1,
        out=tmp_path / "sweep",
    )
    runs = res.runs.set_index(PATH)
    assert set(runs.index) == {0.0, 0.4}
    assert runs.loc[0.0, "gap_months_true_mean"] != runs.loc[0.4, "gap_months_true_mean"]


def test_a_dashboard_lever_pins_what_it_moves():
    from dataclasses import replace

    from simulation.dashboard.levers import build, defaults

    scenario = build(replace(defaults("baseline"), distillation_efficacy=0.02), 100)
    assert scenario.world.distillation_efficacy == 0.02 and PATH not in scenario.uncertain
    assert scenario.pinned == [PATH]
    squeeze = build(replace(defaults("china_funding_squeeze"), china_capital=0.5), 100)
    path = "events.0.set.blocs.china.capital_multiplier"
    assert squeeze.events[0].set["blocs.china.capital_multiplier"] == 0.5 and squeeze.pinned == [path]


def test_a_shorter_horizon_drops_the_distributions_of_dropped_events():
    """china_funding_squeeze draws the value its 2026-07 event sets: a 2-month run has no such event, and
    its distribution goes with it; a 24-month run keeps both."""
    short = simulation.experiments.prepare("china_funding_squeeze", months=2)
    assert short.events == [] and not any(p.startswith("events.") for p in short.uncertain)
    longer = simulation.experiments.prepare("china_funding_squeeze", months=24)
    assert "events.0.set.blocs.china.capital_multiplier" in longer.uncertain
    res = simulation.run("china_funding_squeeze", replicates=1, months=2, overrides=SMALL)
    assert res.model["tick"].max() == 1
