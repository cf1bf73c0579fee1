"""Scenario files: one clear ScenarioError naming the key path for anything wrong; `extends` deep merge;
inline distributions; events checked against the schema and the horizon."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import SMALL_SCENARIO

from simulation.config import ScenarioError, load_scenario, scenario_from_dict, with_changes
from simulation.config.distributions import LogNormal, Triangular, Uniform
from simulation.experiments import replicate_seeds
from simulation.experiments.runner import draw_parameters


def write(tmp_path: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
    return path


def set_in(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return data


def load_error(tmp_path: Path, data: dict[str, Any] | str) -> ScenarioError:
    path = write(tmp_path, "scenario.yaml", data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert "scenario.yaml" in str(err)  # the message names the file
    return err


@pytest.fixture
def data(scenario_dict: dict[str, Any]) -> dict[str, Any]:
    return scenario_dict


def test_valid_file_loads_like_the_mapping(tmp_path: Path, data: dict[str, Any]) -> None:
    scenario = load_scenario(write(tmp_path, "ok.yaml", data))
    assert scenario.model_dump() == scenario_from_dict(data).model_dump()
    assert scenario.labs["open_cn"].training_efficiency == 4.0
    assert scenario.world.training_lag_months == 2  # from the file, not the default (3)


# -- key errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dotted", "suggestion"),
    [
        ("month", "months"),
        ("world.run_month", "run_months"),
        ("labs.closed_us.staf_usd_per_month", "staff_usd_per_month"),
        ("adopters.segments.local.open_onyl", "open_only"),
        ("blocs.china.capital_multiplyer", "capital_multiplier"),
        ("policy.ban.treshold_flop", "threshold_flop"),
    ],
)
def test_unknown_key_names_its_path_and_suggests(
    tmp_path: Path, data: dict, dotted: str, suggestion: str
) -> None:
    if dotted.startswith("policy"):
        data["policy"] = {"ban": {}}
    err = load_error(tmp_path, set_in(data, dotted, 1))
    assert err.key_path == dotted
    assert dotted in str(err)
    assert f"did you mean '{suggestion}'" in str(err)


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path, data: dict) -> None:
    err = load_error(tmp_path, set_in(data, "blocs.china.zzzz", 1))
    assert err.key_path == "blocs.china.zzzz"
    assert "capital_multiplier" in err.problem and "distillation_access" in err.problem


@pytest.mark.parametrize(
    ("dotted", "value", "words"),
    [
        ("months", "twelve", ["integer", "twelve"]),
        ("labs.open_cn.training_efficiency", "fast", ["number", "fast"]),
        ("adopters.segments.local.open_only", "maybe", ["boolean"]),
        ("labs.closed_us.release_policy", "semi", ["'open' or 'closed'"]),
        ("start", "January", ["YYYY-MM"]),
    ],
)
def test_wrong_type_names_the_key(
    tmp_path: Path, data: dict, dotted: str, value: Any, words: list[str]
) -> None:
    err = load_error(tmp_path, set_in(data, dotted, value))
    assert err.key_path == dotted
    for word in words:
        assert word in str(err)


@pytest.mark.parametrize(
    ("dotted", "value", "words"),
    [
        ("world.run_months", 0, "greater than 0"),
        ("blocs.china.distillation_access", 1.5, "less than or equal to 1"),
        ("adopters.n", 5, "greater than or equal to 10"),
        ("labs.open_cn.fundraise_probability_per_month", -0.1, "greater than or equal to 0"),
        ("adopters.segments.general.consideration_size", 0, "greater than or equal to 1"),
    ],
)
def test_value_out_of_range_names_the_key(
    tmp_path: Path, data: dict, dotted: str, value: Any, words: str
) -> None:
    err = load_error(tmp_path, set_in(data, dotted, value))
    assert err.key_path == dotted
    assert words in err.problem
    assert repr(value) in err.problem  # says what it got


def test_missing_required_key(tmp_path: Path, data: dict) -> None:
    del data["labs"]["closed_us"]["bloc"]
    err = load_error(tmp_path, data)
    assert err.key_path == "labs.closed_us.bloc"
    assert "missing" in err.problem


def test_cross_field_errors_name_the_offending_key(tmp_path: Path, data: dict) -> None:
    data["labs"]["open_cn"]["bloc"] = "india"
    assert "labs.open_cn.bloc: unknown bloc 'india'" in str(load_error(tmp_path, data))
    data = copy.deepcopy(SMALL_SCENARIO)
    data["adopters"]["regions"]["us"]["adopter_share"] = 0.5
    assert "adopters.regions" in str(load_error(tmp_path, data))


# -- file errors -------------------------------------------------------------------------------------------


def test_missing_extends_file(tmp_path: Path, data: dict) -> None:
    data["extends"] = "no_such_parent.yaml"
    err = load_error(tmp_path, data)
    assert err.key_path == "extends"
    assert "no_such_parent.yaml" in err.problem and "not found" in err.problem


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("/nonexistent/dir/scenario.yaml")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("name: bad\nmonths: 12\n  world: 3\n", 3, 8),  # the ':' after an over-indented key
        ("name: bad\n\tmonths: 3\n", 2, 1),  # a tab
        ("name: bad\nlabs: {a: 1\nmonths: 2\n", 3, 7),  # unclosed flow mapping
    ],
)
def test_malformed_yaml_gives_line_and_column(tmp_path: Path, text: str, line: int, column: int) -> None:
    err = load_error(tmp_path, text)
    assert "malformed YAML" in err.problem
    assert f"line {line}, column {column}" in err.problem


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert "empty" in load_error(tmp_path, text).problem


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in load_error(tmp_path, "- a\n- b\n").problem


# -- events -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["2026-01", "2024-12", "2030-06"])
def test_event_outside_the_horizon(tmp_path: Path, data: dict, at: str) -> None:
    data["events"] = [{"at": "2025-06", "set": {"blocs.china.capital_multiplier": 0.5}}]
    data["events"].append({"at": at, "set": {"blocs.china.capital_multiplier": 0.2}})
    err = load_error(tmp_path, data)
    assert "events[1].at" in str(err)
    assert "outside the horizon 2025-01..2025-12" in str(err)


@pytest.mark.parametrize("at", ["2025-01", "2025-12"])
def test_event_on_the_horizon_edges_is_fine(data: dict, at: str) -> None:
    data["events"] = [{"at": at, "set": {"blocs.china.capital_multiplier": 0.5}}]
    assert scenario_from_dict(data).events[0].at == at


@pytest.mark.parametrize(
    ("path", "missing", "hint"),
    [
        ("labs.no_such_lab.staff_usd_per_month", "no_such_lab", None),
        ("labs.open_cm.staff_usd_per_month", "open_cm", "open_cn"),
        ("blocs.india.capital_multiplier", "india", None),
        ("blocs.china.capital_multipler", "capital_multipler", "capital_multiplier"),
        ("world.no_such_knob", "no_such_knob", None),
    ],
)
def test_event_naming_unknown_lab_bloc_or_parameter(
    tmp_path: Path, data: dict, path: str, missing: str, hint: str | None
) -> None:
    data["events"] = [{"at": "2025-06", "set": {path: 1.0}}]
    err = load_error(tmp_path, data)
    assert err.key_path.startswith("events[0].set")
    assert missing in str(err)
    if hint:
        assert f"did you mean '{hint}'" in str(err)


@pytest.mark.parametrize(
    "path",
    [
        "labs.open_cn.initial_cash_usd",
        "labs.closed_us.initial_capability_eci",
        "labs.open_us.initial_compute_flop_per_month",
    ],
)
def test_event_may_not_set_initial_state(tmp_path: Path, data: dict, path: str) -> None:
    data["events"] = [{"at": "2025-06", "set": {path: 1.0}}]
    err = load_error(tmp_path, data)
    assert err.key_path == f"events[0].set.{path}"
    assert "fixed when the run starts" in err.problem


@pytest.mark.parametrize("path", ["months", "start", "labs.open_cn.bloc", "adopters.n"])
def test_event_may_not_change_identity_or_horizon(tmp_path: Path, data: dict, path: str) -> None:
    data["events"] = [{"at": "2025-06", "set": {path: 3}}]
    err = load_error(tmp_path, data)
    assert err.key_path == f"events[0].set.{path}"


def test_event_value_is_validated(tmp_path: Path, data: dict) -> None:
    data["events"] = [{"at": "2025-06", "set": {"blocs.china.capital_multiplier": -1}}]
    err = load_error(tmp_path, data)
    assert err.key_path == "events[0].set.blocs.china.capital_multiplier"
    assert "greater than or equal to 0" in err.problem


def test_valid_event_loads(data: dict) -> None:
    data["events"] = [{"at": "2025-06", "set": {"blocs.china.capital_multiplier": 0.3}, "note": "squeeze"}]
    scenario = scenario_from_dict(data)
    assert scenario.events[0].set == {"blocs.china.capital_multiplier": 0.3}
    assert scenario.month_index(scenario.events[0].at) == 5


# -- extends --------------------------------------------------------------------------------------------------


def test_extends_deep_merges(tmp_path: Path, data: dict) -> None:
    data["events"] = [{"at": "2025-03", "set": {"blocs.china.capital_multiplier": 0.5}}]
    write(tmp_path, "base.yaml", data)
    child = {
        "extends": "base.yaml",
        "name": "child",
        "world": {"run_months": 6},
        "labs": {"open_cn": {"training_efficiency": 8.0}},
        "prehistory": {"points": [{"date": "2024-10", "closed_eci": 128.0, "open_eci": 120.0}]},
        "events": [{"at": "2025-09", "set": {"blocs.china.capital_multiplier": 0.2}}],
    }
    scenario = load_scenario(write(tmp_path, "child.yaml", child))
    base = scenario_from_dict(data)
    assert scenario.name == "child"
    assert scenario.world.run_months == 6
    # siblings of overridden keys come from the parent, not from schema defaults
    assert scenario.world.training_lag_months == 2
    assert scenario.world.market_mtok_per_month == 1e6
    assert scenario.labs["open_cn"].training_efficiency == 8.0
    assert scenario.labs["open_cn"].model_dump(exclude={"training_efficiency"}) == base.labs[
        "open_cn"
    ].model_dump(exclude={"training_efficiency"})
    assert scenario.labs["closed_us"] == base.labs["closed_us"]
    assert scenario.adopters == base.adopters
    # lists replace, except events, which append to the parent's
    assert [p.date for p in scenario.prehistory.points] == ["2024-10"]
    assert scenario.prehistory.closed_focus_eci == 0.5
    assert [e.at for e in scenario.events] == ["2025-03", "2025-09"]


def test_extends_chains_and_detects_cycles(tmp_path: Path, data: dict) -> None:
    write(tmp_path, "grandparent.yaml", data)
    write(tmp_path, "parent.yaml", {"extends": "grandparent.yaml", "months": 10})
    scenario = load_scenario(write(tmp_path, "child.yaml", {"extends": "parent.yaml", "name": "c"}))
    assert (scenario.months, scenario.name, scenario.seed) == (10, "c", 7)
    write(tmp_path, "a.yaml", {"extends": "b.yaml", "name": "a"})
    write(tmp_path, "b.yaml", {"extends": "a.yaml", "name": "b"})
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(tmp_path / "a.yaml")


# -- overrides -------------------------------------------------------------------------------------------------


def test_overrides_and_with_changes_name_bad_paths(tmp_path: Path, data: dict, small_scenario) -> None:
    path = write(tmp_path, "ok.yaml", data)
    assert (
        load_scenario(path, {"blocs.china.capital_multiplier": 0.3}).blocs["china"].capital_multiplier == 0.3
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, {"blocs.china.capital_multiplyer": 0.3})
    assert info.value.key_path == "blocs.china.capital_multiplyer"
    assert "did you mean 'capital_multiplier'" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        with_changes(small_scenario, {"world.run_months": -1})
    assert info.value.key_path == "world.run_months"


# -- distributions -------------------------------------------------------------------------------------------------


def test_inline_distributions_move_to_uncertain_and_validate_with_central_value(
    tmp_path: Path, data: dict
) -> None:
    data["labs"]["open_cn"]["training_efficiency"] = {"dist": "lognormal", "p10": 2, "p90": 8, "high": 10_000}
    data["world"]["run_months"] = {"dist": "uniform", "low": 2, "high": 6}
    data["blocs"]["china"]["capital_multiplier"] = {
        "dist": "triangular",
        "low": 0.1,
        "mode": 0.4,
        "high": 1.0,
    }
    data["world"]["distillation_efficacy"] = {"dist": "normal", "mean": 0.05, "sd": 0.01, "low": 0, "high": 1}
    data["labs"]["open_us"]["ban_response"] = {"dist": "choice", "values": ["close", "stop_open_releases"]}
    scenario = load_scenario(write(tmp_path, "u.yaml", data))
    assert set(scenario.uncertain) == {
        "labs.open_cn.training_efficiency",
        "world.run_months",
        "blocs.china.capital_multiplier",
        "world.distillation_efficacy",
        "labs.open_us.ban_response",
    }
    assert isinstance(scenario.uncertain["labs.open_cn.training_efficiency"], LogNormal)
    assert scenario.labs["open_cn"].training_efficiency == pytest.approx(4.0)  # median sqrt(2 * 8)
    assert scenario.world.run_months == pytest.approx(4.0)  # (2 + 6) / 2
    assert scenario.blocs["china"].capital_multiplier == pytest.approx(0.4)  # the mode
    assert scenario.world.distillation_efficacy == pytest.approx(0.05)
    assert scenario.labs["open_us"].ban_response == "close"  # the first value


def test_distribution_whose_central_value_is_invalid(tmp_path: Path, data: dict) -> None:
    data["world"]["run_months"] = {"dist": "uniform", "low": -4, "high": 2}  # central -1
    err = load_error(tmp_path, data)
    assert err.key_path == "world.run_months"
    assert "greater than 0" in err.problem


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"dist": "lognormal", "p10": 8, "p90": 2}, "above"),
        ({"dist": "uniform", "low": 3, "high": 1}, "above"),
        ({"dist": "lognormal", "p10": -1, "p90": 2}, "greater than 0"),
        ({"dist": "cauchy", "loc": 1}, "cauchy"),
    ],
)
def test_invalid_distribution_names_the_parameter(tmp_path: Path, data: dict, spec: dict, words: str) -> None:
    data["labs"]["open_cn"]["training_efficiency"] = spec
    err = load_error(tmp_path, data)
    assert err.key_path.startswith("labs.open_cn.training_efficiency")
    assert words in str(err)


def test_uncertain_section_must_name_a_parameter(tmp_path: Path, data: dict) -> None:
    data["uncertain"] = {"world.no_such_knob": {"dist": "uniform", "low": 0, "high": 1}}
    err = load_error(tmp_path, data)
    assert err.key_path == "world.no_such_knob"
    assert "no such parameter" in err.problem


def test_lognormal_p10_p90_are_the_10th_and_90th_percentiles() -> None:
    dist = LogNormal(dist="lognormal", p10=2.0, p90=8.0)
    rng = np.random.default_rng(12345)
    draws = np.array([dist.draw(rng) for _ in range(20_000)])
    # binomial sd of a 10% fraction over 20,000 draws is 0.0021: allow 5 sd
    assert np.mean(draws < 2.0) == pytest.approx(0.10, abs=0.0105)
    assert np.mean(draws > 8.0) == pytest.approx(0.10, abs=0.0105)
    assert np.median(draws) == pytest.approx(dist.central(), rel=0.03)
    assert dist.central() == pytest.approx(math.sqrt(2.0 * 8.0))


def test_other_distributions_stay_in_range() -> None:
    rng = np.random.default_rng(1)
    uniform = Uniform(dist="uniform", low=1.0, high=3.0)
    tri = Triangular(dist="triangular", low=0.0, mode=0.2, high=1.0)
    u = np.array([uniform.draw(rng) for _ in range(2000)])
    t = np.array([tri.draw(rng) for _ in range(2000)])
    assert u.min() >= 1.0 and u.max() <= 3.0 and abs(u.mean() - 2.0) < 0.05
    assert t.min() >= 0.0 and t.max() <= 1.0 and abs(t.mean() - 0.4) < 0.02  # mean (0 + 0.2 + 1) / 3


def test_replicate_draws_follow_the_distribution(data: dict) -> None:
    data["labs"]["open_cn"]["training_efficiency"] = {"dist": "lognormal", "p10": 2, "p90": 8, "high": 10_000}
    scenario = scenario_from_dict(data)
    seeds = replicate_seeds(99, 400)
    draws = np.array([draw_parameters(scenario, s)["labs.open_cn.training_efficiency"] for s in seeds])
    assert len(set(draws.tolist())) == 400  # a fresh value per replicate
    assert np.mean(draws < 2.0) == pytest.approx(0.10, abs=0.05)
    again = [draw_parameters(scenario, s)["labs.open_cn.training_efficiency"] for s in replicate_seeds(99, 3)]
    np.testing.assert_array_equal(again, draws[:3])  # same seed, same draws
