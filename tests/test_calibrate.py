"""Calibration by ABC-SMC on a small scenario: parameters used to generate data are recovered inside the
posterior's 90% interval; a calibration killed midway and run again ends with a valid posterior and a complete
history; a bad spec exits 2 with one message before any run, writing nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("pyabc")

from simulation.calibrate import calibrate, load_spec  # noqa: E402
from simulation.calibrate.smc import stored_generations  # noqa: E402
from simulation.calibrate.statistics import run_statistics  # noqa: E402
from simulation.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ECI, RL = "world.eci_per_decade_compute", "world.rl_gain_eci_per_month"
TRUTH = {ECI: 7.0, RL: 0.3}


def small_spec(name: str = "small", **changes) -> dict:
    """Two free parameters of the tiny scenario (50 adopters, 6 months, 1 month of burn-in) and three
    benchmark statistics. The targets reuse rows of data/calibration_targets.csv as labels; their values are
    set by each test."""
    window = [0, 5]
    spec = {
        "name": name,
        "scenario": "tiny",
        "months": 6,
        "adopters": 50,
        "overrides": {"adopters.burn_in_months": 1},
        "seed": 2,
        "parameters": {
            ECI: {"prior": {"dist": "uniform", "low": 4.5, "high": 7.5}, "source": "assumption"},
            RL: {"prior": {"dist": "uniform", "low": 0.2, "high": 0.8}, "source": "assumption"},
        },
        "targets": {
            "closed_growth": {
                "data": "closed_frontier_eci",
                "period": "2024-12..2026-03",
                "observed": 12.2,
                "interval": [8.0, 16.0],
                "statistic": {
                    "name": "growth_per_year",
                    "column": "closed_frontier_benchmark_eci",
                    "ticks": window,
                    "kind": "difference",
                },
            },
            "gap_points": {
                "data": "eci_gap_points_open_vs_closed",
                "period": "2023-01..2025-10",
                "observed": 7.0,
                "interval": [0.0, 14.0],
                "statistic": {"name": "window_mean", "column": "gap_points_benchmark", "ticks": window},
            },
            "gap_months": {
                "data": "eci_gap_months_open_vs_closed",
                "period": "2023-01..2025-10",
                "observed": 3.5,
                "interval": [1.1, 5.3],
                "statistic": {"name": "window_mean", "column": "gap_months_benchmark", "ticks": window},
            },
        },
        "population": {"size": 20, "generations": 3},
        "predictive_draws": 10,
    }
    spec.update(changes)
    return spec


def test_parameters_that_made_the_data_are_recovered(tmp_path: Path) -> None:
    """Synthetic data: the statistics' mean over 4 runs at known parameters, with an interval of 1.645 sds of
    their run-to-run noise (at least a small floor). The known values must lie in the posterior's weighted
    90% interval, and the data must narrow the prior (else the test could not fail)."""
    cal = load_spec(small_spec(), test_run=False)
    runs = pd.DataFrame([run_statistics(cal, TRUTH, seed=100 + i) for i in range(4)])
    spec = small_spec()
    for name, target in spec["targets"].items():
        mean, sd = float(runs[name].mean()), max(float(runs[name].std()), 0.3)
        target.update(observed=mean, interval=[mean - 1.645 * sd, mean + 1.645 * sd])
    result = calibrate(spec, out=tmp_path / "cal", jobs=1, verbose=False)
    post, w = result.posterior, result.posterior["weight"].to_numpy()
    for path, truth in TRUTH.items():
        lo, hi = weighted_quantiles(post[path].to_numpy(), w, [0.05, 0.95])
        assert lo <= truth <= hi, (path, truth, lo, hi)
    prior_width = 7.5 - 4.5
    lo, hi = weighted_quantiles(post[ECI].to_numpy(), w, [0.05, 0.95])
    assert hi - lo < 0.8 * 0.9 * prior_width, (lo, hi)  # informative: narrower than the prior's 90%
    assert len(result.generations) == 3 and (result.generations["epsilon"].diff().dropna() < 0).all()
    assert result.generations["ess"].between(1, 20 + 1e-9).all()
    fit = pd.read_csv(result.folder / "fit.csv")
    assert list(fit["target"]) == list(spec["targets"]) and fit["inside"].dtype == bool
    for name in ("posterior_marginals", "posterior_pairs", "epsilon", "predictive"):
        assert (result.folder / "plots" / f"{name}.png").stat().st_size > 1000


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: list[float]) -> list[float]:
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / w.sum()
    return [float(x[order][np.searchsorted(cdf, q)]) for q in qs]


def test_a_killed_calibration_resumes_to_a_complete_history(tmp_path: Path) -> None:
    spec_path = tmp_path / "resume.yaml"
    spec = small_spec("resume", population={"size": 15, "generations": 2}, predictive_draws=4)
    spec_path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        str(ROOT / "run.py"),
        "calibrate",
        str(spec_path),
        "--out",
        str(out),
        "--jobs",
        "1",
    ]
    cmd += ["--no-plots", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while stored_generations(out) < 1:  # the first generation is in the database
            assert proc.poll() is None, "the calibration ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_at = stored_generations(out)
    assert killed_at == 1 and not (out / "posterior.parquet").exists()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    import pyabc

    history = pyabc.History("sqlite:///" + str(out / "history.db"), _id=1)
    pops = history.get_all_populations()
    assert list(pops.loc[pops["t"] >= 0, "t"]) == [0, 1]
    assert (pops.loc[pops["t"] >= 0, "particles"] == 15).all()
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 15 and np.isclose(post["weight"].sum(), 1) and (post["weight"] > 0).all()
    assert post[ECI].between(4.5, 7.5).all() and post[RL].between(0.2, 0.8).all()
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed_from_generation"] == 1 and manifest["generations"] == 2


BAD_SPECS = {
    "unknown parameter": (
        lambda s: s["parameters"].update({"world.distilation_efficacy": s["parameters"].pop(RL)}),
        "parameters.world.distilation_efficacy",
        "unknown parameter 'distilation_efficacy' (did you mean 'distillation_efficacy'?)",
    ),
    "prior outside the schema": (
        lambda s: s["parameters"][RL]["prior"].update(high=9.0),
        f"parameters.{RL}.prior",
        "the prior reaches 9, where world.rl_gain_eci_per_month is not allowed",
    ),
    "unknown target": (
        lambda s: s["targets"]["gap_points"].update(data="eci_gap_point"),
        "targets.gap_points.data",
        "no row ('eci_gap_point'",
    ),
    "statistic that raises": (
        lambda s: s["targets"]["gap_points"]["statistic"].update(column="gap_point_benchmark"),
        "targets.gap_points.statistic",
        "fails on a test run: no column 'gap_point_benchmark'",
    ),
    "window beyond the horizon": (
        lambda s: s["targets"]["gap_points"]["statistic"].update(ticks=[0, 12]),
        "targets.gap_points.statistic.ticks",
        "beyond the calibration's last tick 5",
    ),
    "unknown key": (lambda s: s.update(generations=3), "generations", "unknown key 'generations'"),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_a_bad_spec_exits_2_with_one_message_and_writes_nothing(tmp_path: Path, case: str, capsys) -> None:
    change, key, expected = BAD_SPECS[case]
    spec = small_spec()
    change(spec)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"error: {path} at {key}: ") and expected in lines[0], lines[0]
    assert not out.exists()


def test_another_spec_in_the_same_folder_is_refused(tmp_path: Path, capsys) -> None:
    """A folder holds one calibration's history; a changed spec must not continue it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "history.db").write_bytes(b"")
    (out / "spec_hash").write_text("0000\n")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_spec()))
    assert main(["calibrate", str(path), "--out", str(out)]) == 2
    assert "holds the history of a different spec" in capsys.readouterr().err


def test_help_lists_every_subcommand(capsys) -> None:
    from simulation.cli import COMMANDS

    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    missing = [c for c in COMMANDS if f"{c} " not in text]
    assert not missing, missing
    assert main(["calibrate", "--help"]) == 0
    assert "--scheduler" in capsys.readouterr().out


def test_statistics_on_a_handmade_run() -> None:
    from simulation.calibrate.statistics import growth_per_year, price_decline, price_ratio, window_mean

    model = pd.DataFrame({"tick": [0, 1, 2, 3], "gap": [4.0, 2.0, 6.0, 8.0], "flop": [1.0, 2.0, 4.0, 8.0]})
    assert window_mean(model, "gap", 1, 2) == 4.0
    assert growth_per_year(model, "flop", 0, 3) == pytest.approx(8.0**4)  # 8x in 3 months
    assert growth_per_year(model, "gap", 0, 2, kind="difference") == pytest.approx(12.0)
    labs = pd.DataFrame(
        {
            "tick": [0, 0, 0, 1, 1, 1],
            "open": [False, True, True, False, True, True],
            "alive": [True] * 6,
            "usage_mtok": [1.0, 1.0, 3.0, 1.0, 1.0, 0.0],  # the last one has no users: left out
            "price_usd_per_mtok": [8.0, 0.5, 2.0, 4.0, 0.25, 0.01],
            "capability_benchmark_eci": [140.0, 130.0, 139.0, 141.0, 140.0, 150.0],
        }
    )
    # tick 0: open mean log price weighted 1:3 -> exp((ln .5 + 3 ln 2)/4) = 2**0.5; ratio 8/2**.5; tick 1: 16
    assert price_ratio(labs, 0, 1) == pytest.approx(np.sqrt(8 / 2**0.5 * 16))
    # the best score at tick 0 is 140 at 8 USD; at tick 1 the cheapest at 140 or above costs 0.25: 32x in a month
    assert price_decline(labs, 0, 1) == pytest.approx(32.0**12)


def test_the_distance_scales_each_target_by_its_observation_sd() -> None:
    from simulation.calibrate.distance import ScaledDistance
    from simulation.calibrate.spec import Target

    stat = {"name": "window_mean", "column": "x", "ticks": [0, 1]}
    z90 = 1.6448536269514722
    lin = Target(data="d", period="p", observed=3.0, interval=[3 - z90, 3 + z90], statistic=stat)  # sd 1
    log = Target(data="d", period="p", observed=10.0, interval=[1.0, 100.0], scale="log", statistic=stat)
    d = ScaledDistance.of({"a": lin, "b": log})
    obs = {"a": 3.0, "b": 10.0}
    assert d({"a": 3.0, "b": 10.0}, obs) == 0
    assert d({"a": 5.0, "b": 10.0}, obs) == pytest.approx(np.sqrt(4 / 2))  # 2 sds on one of two targets
    sd_log = 2 / (2 * z90)
    assert d.z_scores({"a": 3.0, "b": 100.0}, obs)["b"] == pytest.approx(1 / sd_log)
    assert d({"a": float("nan"), "b": 10.0}, obs) == float("inf")
    assert d({"a": 3.0, "b": 0.0}, obs) == float("inf")
