"""What the config resolution tells a user about a distribution it refuses, and where: the exact messages of
check_draws and pin (simulation/config/loader.py) that mutation testing (benchmarks/mutation.py,
benchmarks/mutants.md) found only loosely tested (the hostile-scenario tests look for the key alone)."""

from __future__ import annotations

import copy

import pytest
from conftest import SMALL_SCENARIO

from simulation.config import ScenarioError, scenario_from_dict
from simulation.config.loader import EXTENDS_DEPTH, load_raw, pin


def refused(uncertain: dict) -> ScenarioError:
    data = copy.deepcopy(SMALL_SCENARIO)
    data["uncertain"] = uncertain
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "f.yaml")
    return err.value


def test_a_continuous_distribution_on_a_whole_number_is_refused_with_the_fix() -> None:
    err = refused({"labs.open_us.release_cadence_months": {"dist": "normal", "mean": 5, "sd": 1}})
    assert err.file == "f.yaml"
    assert err.key_path == "uncertain.labs.open_us.release_cadence_months"
    assert err.problem == (
        "a normal distribution draws fractions, but this parameter is a whole number: "
        "use {dist: choice, values: [...]}"
    )


def test_a_choice_of_whole_numbers_is_accepted_for_a_whole_number() -> None:
    data = copy.deepcopy(SMALL_SCENARIO)
    data["uncertain"] = {"labs.open_us.release_cadence_months": {"dist": "choice", "values": [2, 6]}}
    scenario = scenario_from_dict(data, "f.yaml")
    assert "labs.open_us.release_cadence_months" in scenario.uncertain


@pytest.mark.parametrize(
    ("dist", "bound"),
    [
        ({"dist": "normal", "mean": 4.0, "sd": 1.0}, "greater than 0"),  # the lower end, -1e300, first
        ({"dist": "lognormal", "p10": 3.0, "p90": 5.0}, "less than or equal to 24"),  # lower end 0 is fine
    ],
)
def test_an_unbounded_distribution_is_refused_with_the_hint_to_truncate_it(dist: dict, bound: str) -> None:
    err = refused({"world.run_months": dist})
    assert err.key_path == "uncertain.world.run_months"
    assert err.problem == (
        f"the {dist['dist']} distribution can draw unbounded values, which is not allowed here: "
        f"Input should be {bound}; truncate it with low/high"
    )


def test_a_choice_that_can_draw_a_bad_value_names_it_and_gives_no_truncation_hint() -> None:
    err = refused({"world.run_months": {"dist": "choice", "values": [4.0, -1.0]}})
    assert err.problem == (
        "the choice distribution can draw -1.0, which is not allowed here: Input should be greater than 0"
    )


def test_a_truncated_normal_reaching_a_bad_value_names_it() -> None:
    err = refused({"world.run_months": {"dist": "normal", "mean": 4.0, "sd": 1.0, "low": 1.0, "high": 30.0}})
    assert err.problem == (
        "the normal distribution can draw 30.0, which is not allowed here: "
        "Input should be less than or equal to 24; truncate it with low/high"
    )


def test_pin_reports_the_file_it_was_given() -> None:
    scenario = scenario_from_dict(copy.deepcopy(SMALL_SCENARIO))
    with pytest.raises(ScenarioError) as err:
        pin(scenario, {"world.run_months": -1.0}, "g.yaml")
    assert (err.value.file, err.value.key_path) == ("g.yaml", "world.run_months")
    assert str(err.value) == "g.yaml at world.run_months: Input should be greater than 0 (got -1.0)"


# -- load_raw: extends chains ------------------------------------------------------------------------------


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text)
    return path


def test_a_circular_extends_names_the_chain(tmp_path) -> None:
    write(tmp_path, "a.yaml", "name: a\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    with pytest.raises(ScenarioError) as err:
        load_raw(tmp_path / "a.yaml")
    assert (err.value.file, err.value.key_path) == (str((tmp_path / "a.yaml").resolve()), "extends")
    assert err.value.problem == "circular extends: a.yaml -> b.yaml -> a.yaml"


def test_an_extends_chain_of_twenty_files_loads_and_of_twenty_one_is_refused(tmp_path) -> None:
    for k in range(EXTENDS_DEPTH):  # f0 extends f1 ... f19, which extends nothing: 20 files
        write(
            tmp_path,
            f"f{k}.yaml",
            f"name: f{k}\nmonths: {k + 1}\n" + (f"extends: f{k + 1}.yaml\n" if k < 19 else ""),
        )
    assert load_raw(tmp_path / "f0.yaml")["months"] == 1
    write(tmp_path, "g.yaml", "name: g\nextends: f0.yaml\n")  # 21 files
    with pytest.raises(ScenarioError) as err:
        load_raw(tmp_path / "g.yaml")
    assert (err.value.file, err.value.key_path) == (str((tmp_path / "f19.yaml").resolve()), "extends")
    assert err.value.problem == "more than 20 files in one extends chain"


def test_extends_must_be_a_file_name(tmp_path) -> None:
    write(tmp_path, "a.yaml", "name: a\nextends: 5\n")
    with pytest.raises(ScenarioError) as err:
        load_raw(tmp_path / "a.yaml")
    assert (err.value.file, err.value.key_path) == (str((tmp_path / "a.yaml").resolve()), "extends")
    assert err.value.problem == "expected a file name, got 5"


BASE = """name: base
world:
  distillation_efficacy: {dist: uniform, low: 0.06, high: 0.10}
  run_months: 4.0
uncertain:
  world.run_months: {dist: uniform, low: 3.0, high: 5.0}
  events.0.set.world.rl_gain_eci_per_month: {dist: uniform, low: 0.3, high: 0.7}
events:
  - at: "2026-01"
    set:
      world.rl_gain_eci_per_month: 0.5
"""
RUN_MONTHS = {"dist": "uniform", "low": 3.0, "high": 5.0}
EVENT_DIST = {"dist": "uniform", "low": 0.3, "high": 0.7}
NEW_EVENT = "events:\n  - at: '2026-02'\n    set:\n      world.rl_gain_eci_per_month: 0.6\n"


def test_replacing_events_drops_the_distributions_on_the_old_events(tmp_path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "child.yaml", "name: child\nextends: base.yaml\nevents_mode: replace\n" + NEW_EVENT)
    merged = load_raw(tmp_path / "child.yaml")
    assert "events_mode" not in merged
    assert merged["events"] == [{"at": "2026-02", "set": {"world.rl_gain_eci_per_month": 0.6}}]
    assert merged["uncertain"] == {"world.run_months": RUN_MONTHS}  # only the stale event path is gone
    assert merged["pinned"] == []


def test_appended_events_keep_the_distributions_on_the_base_events(tmp_path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "child.yaml", "name: child\nextends: base.yaml\n" + NEW_EVENT)
    merged = load_raw(tmp_path / "child.yaml")
    assert [e["at"] for e in merged["events"]] == ["2026-01", "2026-02"]
    assert merged["uncertain"] == {
        "world.run_months": RUN_MONTHS,
        "events.0.set.world.rl_gain_eci_per_month": EVENT_DIST,
    }
    assert "pinned" not in merged


def test_pinned_paths_accumulate_down_an_extends_chain(tmp_path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "mid.yaml", "name: mid\nextends: base.yaml\nworld:\n  run_months: 4.5\n")
    # the child pins the base's inline distribution
    write(tmp_path, "child.yaml", "name: child\nextends: mid.yaml\nworld:\n  distillation_efficacy: 0.02\n")
    merged = load_raw(tmp_path / "child.yaml")
    assert merged["pinned"] == ["world.run_months", "world.distillation_efficacy"]
    assert merged["uncertain"] == {"events.0.set.world.rl_gain_eci_per_month": EVENT_DIST}
    assert merged["world"] == {"distillation_efficacy": 0.02, "run_months": 4.5}


def test_a_child_file_pins_what_it_sets_of_the_posterior_it_extends() -> None:
    """The base file takes two parameters from a posterior, one of them (the research funding floor) with no
    distribution anywhere else in the chain; a file extending it sets that one: it is pinned at the child's
    value (never drawn), the other still comes from the posterior."""
    import shutil
    import uuid

    import pandas as pd
    import yaml

    from simulation.config import load_scenario
    from simulation.config.loader import REPO_DIR
    from simulation.seeding import draw_parameters, replicate_seeds

    eci, floor = "world.eci_per_decade_compute", "world.research_funding_floor"
    folder = REPO_DIR / "test-artifacts" / f"posterior-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        particles = pd.DataFrame({eci: [4.6, 6.0, 7.4], floor: [0.2, 0.3, 0.4], "weight": [0.2, 0.5, 0.3]})
        particles.to_parquet(folder / "posterior.parquet", index=False)
        ref = (folder / "posterior.parquet").relative_to(REPO_DIR).as_posix()
        (folder / "base.yaml").write_text(
            yaml.safe_dump({"extends": "tiny", "name": "base", "posterior": ref})
        )
        assert floor not in load_scenario("tiny").uncertain  # only the posterior puts a distribution on it
        child = folder / "child.yaml"
        child.write_text(
            yaml.safe_dump(
                {"extends": "base.yaml", "name": "child", "world": {"research_funding_floor": 0.25}}
            )
        )
        sc = load_scenario(child)
        assert sc.pinned == [floor] and sc.world.research_funding_floor == 0.25
        drawn = [draw_parameters(sc, s) for s in replicate_seeds(1, 20)]
        assert all(floor not in d for d in drawn)
        assert {d[eci] for d in drawn} <= {4.6, 6.0, 7.4} and len({d[eci] for d in drawn}) > 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
