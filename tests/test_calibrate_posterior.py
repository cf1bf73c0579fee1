"""A scenario that takes its parameters from a calibration's posterior: one particle per replicate, drawn by
weight from the replicate's seed (same seed, same particle), every column of it at once (correlations kept),
explicit values still winning, and the file checked at load with one message and exit code 2."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import simulation
from simulation.config import ScenarioError, load_scenario
from simulation.config.loader import REPO_DIR
from simulation.seeding import draw_parameters, replicate_seeds

ECI, DIST = "world.eci_per_decade_compute", "world.distillation_efficacy"
# three particles on a line: a draw that mixed columns of different particles would fall off it
PARTICLES = pd.DataFrame({ECI: [4.6, 6.0, 7.4], DIST: [0.01, 0.08, 0.15], "weight": [0.2, 0.5, 0.3]})


@pytest.fixture
def folder() -> Iterator[Path]:
    """A fresh folder inside the repository (a posterior must be inside it), removed afterwards."""
    path = REPO_DIR / "test-artifacts" / f"posterior-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def scenario_file(folder: Path, table: pd.DataFrame | None = PARTICLES, **body) -> Path:
    if table is not None:
        table.to_parquet(folder / "posterior.parquet", index=False)
    ref = (folder / "posterior.parquet").relative_to(REPO_DIR).as_posix()
    path = folder / "with_posterior.yaml"
    path.write_text(yaml.safe_dump({"extends": "tiny", "name": "with_posterior", "posterior": ref, **body}))
    return path


def draws(scenario: simulation.Scenario, n: int, seed: int = 1) -> pd.DataFrame:
    return pd.DataFrame([draw_parameters(scenario, s) for s in replicate_seeds(seed, n)])


def test_each_replicate_takes_one_whole_particle(folder: Path) -> None:
    sc = load_scenario(scenario_file(folder))
    assert ECI not in sc.uncertain and DIST not in sc.uncertain  # the posterior replaces the distributions
    assert (
        sc.posterior
        == scenario_file(folder, None).relative_to(REPO_DIR).parent.joinpath("posterior.parquet").as_posix()
    )  # this file's posterior replaces the one it inherits
    assert sc.world.eci_per_decade_compute == pytest.approx(float(PARTICLES[ECI] @ PARTICLES["weight"]))
    d = draws(sc, 400)
    pairs = set(zip(d[ECI], d[DIST], strict=True))
    assert pairs <= set(zip(PARTICLES[ECI], PARTICLES[DIST], strict=True))  # never a mixed particle
    assert np.corrcoef(d[ECI], d[DIST])[0, 1] > 0.99
    freq = d[ECI].value_counts(normalize=True).reindex(PARTICLES[ECI]).to_numpy()
    assert np.abs(freq - PARTICLES["weight"].to_numpy()).max() < 0.08  # 400 draws: sd about 0.025


def test_same_seed_same_particle_and_the_run_uses_it(folder: Path) -> None:
    sc = load_scenario(scenario_file(folder))
    a, b = draws(sc, 30, seed=7), draws(sc, 30, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert not draws(sc, 30, seed=8)[ECI].equals(a[ECI])
    res = simulation.run(sc, replicates=3, months=2, seed=7, overrides={"adopters.n": 50})
    np.testing.assert_array_equal(res.draws[ECI].to_numpy(), a[ECI].to_numpy()[:3])
    from simulation.model import EcosystemModel

    model = EcosystemModel(sc, seed=11, n_adopters=50)
    drawn = draw_parameters(sc, np.random.SeedSequence(11))
    assert model.params.world.eci_per_decade_compute == drawn[ECI]
    assert model.params.world.distillation_efficacy == drawn[DIST]


def test_explicit_values_win_over_the_posterior(folder: Path) -> None:
    child = scenario_file(folder, world={"distillation_efficacy": 0.02})
    sc = load_scenario(child)
    assert sc.pinned == [DIST] and sc.world.distillation_efficacy == 0.02
    d = draws(sc, 50)
    assert DIST not in d.columns and d[ECI].nunique() > 1  # the other column is still drawn
    by_override = simulation.run(
        load_scenario(scenario_file(folder)),
        replicates=2,
        months=2,
        overrides={ECI: 5.5, "adopters.n": 50},
    )
    assert ECI not in by_override.draws.columns and ECI in by_override.scenario.pinned
    assert by_override.scenario.world.eci_per_decade_compute == 5.5
    from simulation.model import EcosystemModel

    model = EcosystemModel(
        load_scenario(scenario_file(folder)), seed=3, n_adopters=50, world__eci_per_decade_compute=5.1
    )
    assert model.params.world.eci_per_decade_compute == 5.1 and ECI not in model.drawn


BAD = {
    "missing file": (None, "file not found"),
    "unknown column": (PARTICLES.rename(columns={DIST: "world.distilation_efficacy"}), "not a parameter"),
    "value beyond the schema's bounds": (
        PARTICLES.assign(**{DIST: [0.01, 0.08, 1.5]}),
        "less than or equal to 1",
    ),
    "weight zero": (PARTICLES.assign(weight=[0.0, 0.5, 0.5]), "positive finite"),
    "weight NaN": (PARTICLES.assign(weight=[np.nan, 0.5, 0.5]), "positive finite"),
    "no weights": (PARTICLES.drop(columns="weight"), "no 'weight' column"),
    "a whole-number parameter": (PARTICLES.assign(**{"months": [12.0, 12.0, 12.0]}), "not a real-valued"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_posterior_is_refused_at_load(folder: Path, case: str, capsys) -> None:
    table, expected = BAD[case]
    path = scenario_file(folder, table)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.key_path == "posterior" and expected in err.value.problem, str(err.value)
    from simulation.cli import main

    assert main([str(path), "--check"]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "posterior" in lines[0] and expected in lines[0]
    assert "Traceback" not in out.err


def test_a_posterior_outside_the_repository_is_refused(tmp_path: Path) -> None:
    PARTICLES.to_parquet(tmp_path / "posterior.parquet", index=False)
    for ref in (str(tmp_path / "posterior.parquet"), "../" * 6 + str(tmp_path)[1:] + "/posterior.parquet"):
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump({"extends": "tiny", "name": "s", "posterior": ref}))
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
        assert err.value.key_path == "posterior" and "outside the repository" in err.value.problem


def test_events_cannot_switch_the_posterior(folder: Path) -> None:
    path = scenario_file(folder, events=[{"at": "2025-06", "set": {"posterior": "x.parquet"}}])
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "cannot be changed by an event" in err.value.problem


# -- the shipped posterior is tied to the model code that produced it ------------------------------------

SPEC = REPO_DIR / "calibration" / "baseline.yaml"
SHIPPED = REPO_DIR / "calibration" / "baseline" / "manifest.json"


@pytest.mark.skipif(
    not SHIPPED.exists(), reason="no shipped calibration yet: python run.py calibrate " + str(SPEC)
)
def test_the_shipped_posterior_was_made_by_this_model() -> None:
    import json

    from simulation.calibrate.outputs import model_fingerprint
    from simulation.calibrate.spec import load_spec

    manifest = json.loads(SHIPPED.read_text(encoding="utf-8"))
    fingerprint = model_fingerprint(load_spec(SPEC, test_run=False))
    assert manifest["model_fingerprint"] == fingerprint, (
        "calibration/baseline is stale (the model code, the spec or the baseline changed): "
        "python run.py calibrate calibration/baseline.yaml --fresh"
    )


def test_the_fingerprint_follows_code_and_scenario_not_comments_or_draw_choices(tmp_path: Path) -> None:
    from simulation.calibrate.outputs import MODEL_GLOBS, model_fingerprint
    from simulation.calibrate.spec import load_spec

    for pattern in MODEL_GLOBS:
        for path in REPO_DIR.glob(pattern):
            target = tmp_path / path.relative_to(REPO_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    scenario = tmp_path / "scenarios" / "base.yaml"
    scenario.parent.mkdir()
    shutil.copy(REPO_DIR / "scenarios" / "baseline.yaml", scenario)
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec_path = tmp_path / "scenarios" / "cal.yaml"
    spec_path.write_text(yaml.safe_dump({**spec, "scenario": "base.yaml"}))
    cal = load_spec(spec_path, test_run=False)
    first = model_fingerprint(cal, root=tmp_path)
    model = tmp_path / "simulation" / "model.py"
    model.write_text(model.read_text() + "\n# a comment\n")
    assert model_fingerprint(cal, root=tmp_path) == first
    raw = yaml.safe_load(scenario.read_text())
    raw.pop("posterior", None)
    world_uncertain = {"world.rl_gain_eci_per_month": {"dist": "uniform", "low": 0.3, "high": 0.7}}
    scenario.write_text(yaml.safe_dump({**raw, "uncertain": world_uncertain}))
    assert model_fingerprint(cal, root=tmp_path) == first  # drawing from distributions or a posterior: same
    model.write_text(model.read_text() + "\nX = 1\n")
    assert model_fingerprint(cal, root=tmp_path) != first
    model.write_text(model.read_text().replace("\nX = 1\n", ""))
    raw["labs"]["qwen"]["initial_cash_usd"] *= 2
    scenario.write_text(yaml.safe_dump(raw))
    assert model_fingerprint(cal, root=tmp_path) != first
