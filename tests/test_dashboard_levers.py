"""The what-if page without a browser: levers -> scenario (overrides and events, validated by the loader),
the stepped run behind the page, saving, and ``run.py dashboard`` without Solara."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from simulation import plotting
from simulation.config import ScenarioError, load_scenario, with_changes
from simulation.config.loader import SCENARIO_DIR, load_raw, posterior_columns
from simulation.dashboard import cli
from simulation.dashboard.levers import (
    BAN_ACTIVE,
    Levers,
    build,
    changes,
    defaults,
    describe,
    event_dates,
    member_candidates,
    scenario_names,
)
from simulation.dashboard.session import WhatIf
from simulation.outputs import read_run

SMALL = 300  # adopters: these tests check wiring, not results


def ban_events(scenario) -> list[tuple[str, bool]]:
    return [(e.at, e.set[BAN_ACTIVE]) for e in scenario.events if BAN_ACTIVE in e.set]


def loader_message(scenario: str, overrides: dict) -> str:
    """What the loader itself says about these overrides."""
    with pytest.raises(ScenarioError) as err:
        with_changes(load_scenario(scenario), overrides)
    return str(err.value)


@pytest.mark.parametrize("name", scenario_names())
def test_levers_left_alone_change_nothing(name: str) -> None:
    levers = defaults(name)
    assert changes(levers, load_scenario(name)) == {}
    assert describe(levers, load_scenario(name)) == []
    assert build(levers, n_adopters=None) == load_scenario(name)


def test_ban_lever_adds_the_ban_event_at_the_chosen_month() -> None:
    levers = replace(defaults("baseline"), ban=True, ban_from="2025-09", ban_threshold_flop=3e25)
    scenario = build(levers)
    assert ban_events(scenario) == [("2025-09", True)]
    assert scenario.policy.ban.threshold_flop == 3e25 and not scenario.policy.ban.active
    assert scenario.adopters.n == 3_000
    assert describe(levers, load_scenario("baseline")) == [
        "open-weight ban from 2025-09",
        "ban threshold 3e+25 FLOP",
    ]


def test_ban_lever_moves_or_removes_a_scenarios_own_ban() -> None:
    shipped = defaults("ban")
    assert shipped.ban and shipped.ban_from == "2026-01"
    assert ban_events(build(replace(shipped, ban_from="2025-04"))) == [("2025-04", True)]
    assert ban_events(build(replace(shipped, ban=False))) == []
    # in safety_shock the ban is one change among several: only the ban moves
    shock = build(replace(defaults("safety_shock"), ban_from="2027-01"))
    assert ban_events(shock) == [("2027-01", True)]
    (rest,) = [e for e in shock.events if e.at == "2026-06"]
    assert "labs.meta.staff_usd_per_month" in rest.set and BAN_ACTIVE not in rest.set


def test_the_ban_takes_effect_in_the_model_at_its_month() -> None:
    from simulation.model import EcosystemModel

    model = EcosystemModel(build(replace(defaults("baseline"), ban=True, ban_from="2025-03"), SMALL))
    active = []
    for _ in range(3):
        model.step()
        active.append(model.params.policy.ban.active)
    assert active == [False, True, True]  # ticks 1, 2 (2025-03), 3


@pytest.mark.parametrize(
    ("levers", "overrides"),
    [
        ({"ban_threshold_flop": 0.0}, {"policy.ban.threshold_flop": 0.0}),
        ({"ban_threshold_flop": -1.0}, {"policy.ban.threshold_flop": -1.0}),
        ({"china_capital": 20.0}, {"blocs.china.capital_multiplier": 20.0}),
        ({"distillation_efficacy": 1.5}, {"world.distillation_efficacy": 1.5}),
        ({"seed": -1}, {"seed": -1}),
    ],
)
def test_bad_values_give_the_loaders_message(levers: dict, overrides: dict) -> None:
    with pytest.raises(ScenarioError) as err:
        build(replace(defaults("baseline"), **levers))
    assert str(err.value) == loader_message("baseline", overrides)


@pytest.mark.parametrize(
    ("month", "problem"),
    [
        ("2031-01", "events[0].at: 2031-01 is outside the horizon 2025-01..2028-12"),
        ("2024-12", "events[0].at: 2024-12 is outside the horizon 2025-01..2028-12"),
        ("2026-13", "events.0.at: expected a month as 'YYYY-MM', got '2026-13'"),
    ],
)
def test_a_ban_month_outside_the_run_gives_the_loaders_message(month: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as err:
        build(replace(defaults("baseline"), ban=True, ban_from=month))
    event = {"at": month, "set": {BAN_ACTIVE: True}, "note": "x"}
    assert str(err.value) == loader_message("baseline", {"events": [event]})
    assert problem in str(err.value)


def test_a_ban_month_is_not_judged_while_the_ban_is_off() -> None:
    assert changes(replace(defaults("baseline"), ban_from="2031-01"), load_scenario("baseline")) == {}


def test_a_lever_sets_the_value_of_the_scenarios_event_and_is_no_longer_drawn() -> None:
    base = load_scenario("china_funding_squeeze")
    uncertain = "events.0.set.blocs.china.capital_multiplier"
    assert uncertain in base.uncertain and event_dates(base) == {"china_capital": "2026-07"}
    scenario = build(replace(defaults("china_funding_squeeze"), china_capital=0.5))
    assert scenario.events[0].set["blocs.china.capital_multiplier"] == 0.5
    assert scenario.blocs["china"].capital_multiplier == 1.0  # before the squeeze: as shipped
    assert uncertain not in scenario.uncertain
    assert set(scenario.uncertain) == set(base.uncertain) - {uncertain}

    controls = build(replace(defaults("export_controls"), china_compute_price=8.0))
    assert controls.events[0].at == "2025-07"
    assert controls.events[0].set["blocs.china.compute_price_multiplier"] == 8.0


def test_levers_without_an_event_set_the_value_from_the_start() -> None:
    levers = replace(defaults("baseline"), china_capital=0.3, distillation_efficacy=0.02, seed=9)
    scenario = build(levers)
    assert scenario.blocs["china"].capital_multiplier == 0.3 and scenario.events == []
    assert scenario.world.distillation_efficacy == 0.02
    # a moved lever is not drawn: pinned (the baseline draws it from its posterior); the others still are
    assert "world.distillation_efficacy" in scenario.pinned
    assert "world.rl_gain_eci_per_month" in posterior_columns(scenario.posterior)
    assert "world.rl_gain_eci_per_month" not in scenario.pinned
    assert scenario.seed == 9


def test_consortium_budget_and_members() -> None:
    base = load_scenario("sovereign_consortium")
    shipped = defaults("sovereign_consortium")
    assert member_candidates(base) == ["mistral", "tii"]
    assert shipped.consortium_members == ("mistral", "tii")
    assert shipped.consortium_budget_musd == pytest.approx(325.0)  # central value of 150-500
    assert defaults("baseline").consortium_budget_musd is None

    scenario = build(replace(shipped, consortium_budget_musd=120, consortium_members=("mistral",)))
    assert scenario.labs["consortium"].subsidy_usd_per_month == 1.2e8
    assert "labs.consortium.subsidy_usd_per_month" not in scenario.uncertain
    (event,) = scenario.events
    assert sorted(event.set) == ["labs.mistral.subsidy_usd_per_month"]

    only_tii = build(replace(shipped, consortium_members=("tii",)))
    assert sorted(only_tii.events[0].set) == ["labs.tii.subsidy_usd_per_month"]
    with pytest.raises(ScenarioError, match="subsidy_usd_per_month"):
        build(replace(shipped, consortium_budget_musd=-5))


def test_whatif_keeps_the_month_and_refused_levers_keep_the_run() -> None:
    whatif = WhatIf(defaults("baseline"), n_adopters=SMALL)
    baseline = whatif.baseline()
    assert whatif.step(5) and whatif.tick == 5
    assert whatif.series()["gap_months_true"].tolist() == baseline["gap_months_true"][:6].tolist()

    moved = replace(defaults("baseline"), distillation_efficacy=0.4)
    whatif.apply(moved)
    assert whatif.tick == 5 and whatif.levers == moved
    with pytest.raises(ScenarioError):
        whatif.apply(replace(moved, ban_threshold_flop=0.0))
    assert whatif.tick == 5 and whatif.levers == moved
    whatif.step(100)
    assert whatif.done and whatif.tick == whatif.horizon == 47 and not whatif.step()
    whatif.reset()
    assert whatif.tick == 0


def test_save_writes_a_run_folder_as_run_py_does(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(plotting, "plot_run", lambda run, out_dir: [])  # figures are not the point
    whatif = WhatIf(replace(defaults("ban"), ban_from="2025-06"), n_adopters=SMALL)
    folder = whatif.save(tmp_path, replicates=2)
    assert folder.parent == tmp_path / "ban_whatif"
    run = read_run(folder)
    assert run.manifest["complete"] is True
    assert sorted(run.model["replicate"].unique()) == [0, 1]
    assert run.scenario["events"][0]["at"] == "2025-06"
    assert "open-weight ban from 2025-06" in run.scenario["description"]


def test_dashboard_command_without_solara_says_how_to_install(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["--port", "8765"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == cli.INSTALL_HINT and '".[dashboard]"' in err


def test_dashboard_command_help_and_bad_options(capsys) -> None:
    assert cli.main(["--help"]) == 0
    assert "--port" in capsys.readouterr().out
    assert cli.main(["--port", "x"]) == 2
    # the server module binds 127.0.0.1 itself; the token goes in the environment, not the command line
    assert cli.command(8800)[1:] == ["-m", "simulation.dashboard.server", "--port", "8800"]


def test_levers_dataclass_defaults_match_the_baseline() -> None:
    """Distillation efficacy aside: the baseline's is its posterior's weighted mean (docs/calibration.md),
    which a recalibration moves; the dataclass keeps the value written in scenarios/baseline.yaml."""
    shipped = defaults("baseline")
    assert replace(Levers(), distillation_efficacy=shipped.distillation_efficacy) == shipped
    assert (
        Levers().distillation_efficacy
        == load_raw(SCENARIO_DIR / "baseline.yaml")["world"]["distillation_efficacy"]
    )
