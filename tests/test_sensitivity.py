"""Sensitivity analysis finds known answers: analytic functions through our samplers and analysis, and
the model, where one parameter drives the gap and another (a ban threshold with no ban) does nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.sweep import SweepError, sweep
from simulation.sweep.analysis import analyse
from simulation.sweep.samplers import design, problem, sample_values
from simulation.sweep.spec import parse_spec

PI = float(np.pi)


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def analytic(sampler: str, n: int, bounds: tuple[float, float]) -> tuple[dict, np.ndarray]:
    spec = parse_spec({"parameters": {f"x{i}": bounds for i in (1, 2, 3)}, "sampler": sampler, "n": n})
    return problem(spec), design(spec)


def test_sobol_indices_of_the_ishigami_function() -> None:
    prob, x = analytic("sobol", 1024, (-PI, PI))
    assert x.shape == (1024 * 5, 3)
    table = analyse("sobol", prob, ishigami(x), seed=0, num_resamples=200)
    assert table.equals(analyse("sobol", prob, ishigami(x), seed=0, num_resamples=200))  # seeded intervals
    # known values: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    assert table["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert table["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.05)
    assert (table["S1_conf"] > 0).all() and (table["ST_conf"] < 0.15).all()


def test_morris_and_rbd_fast_rank_a_known_function() -> None:
    prob, x = analytic("morris", 20, (0.0, 1.0))
    table = analyse("morris", prob, 5 * x[:, 0] + x[:, 1] ** 2, x)
    assert table.loc["x1", "mu_star"] == pytest.approx(5.0)
    assert table.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-9)  # linear: no interaction
    assert table.loc["x2", "sigma"] > 0  # non-linear
    assert table.loc["x3", "mu_star"] == 0.0
    prob, x = analytic("lhs", 500, (-PI, PI))
    table = analyse("lhs", prob, ishigami(x), x)
    assert table["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.1)


def test_log_ranges_and_whole_numbers() -> None:
    spec = parse_spec(
        {
            "parameters": {"a": {"low": 1e24, "high": 1e27, "log": True}, "b": (0, 12)},
            "sampler": "grid",
            "n": 4,
        }
    )
    rows = sample_values(spec, {"a": "float", "b": "int"}, design(spec))
    assert sorted({r["a"] for r in rows}) == pytest.approx([1e24, 1e25, 1e26, 1e27], rel=1e-9)
    assert sorted({r["b"] for r in rows}) == [0, 4, 8, 12] and len(rows) == 16
    spec = parse_spec(
        {"parameters": {"a": {"low": 1e24, "high": 1e27, "log": True}}, "sampler": "lhs", "n": 50}
    )
    values = [r["a"] for r in sample_values(spec, {"a": "float"}, design(spec))]
    assert min(values) >= 1e24 and max(values) <= 1e27 and np.median(values) < 1e26


def test_the_model_driver_and_the_inert_parameter(tmp_path: Path) -> None:
    res = sweep(
        "tiny",
        {"world.eci_per_decade_compute": (3.0, 9.0), "policy.ban.threshold_flop": (1e24, 1e27)},
        sampler="sobol",
        n=8,
        outcomes=["gap_months_true_mean", "gap_months_true"],
        overrides={"uncertain": {}, "posterior": None},  # nothing drawn: the sweep's are the only inputs
        common_seeds=True,  # the same seeds at every point: an inert parameter has no effect at all
        workers=2,
        seed=2,
        progress=False,
    )
    table = res.indices("gap_months_true_mean").set_index("parameter")
    driver, inert = table.loc["world.eci_per_decade_compute"], table.loc["policy.ban.threshold_flop"]
    assert driver["ST"] > 0.6 and driver["S1"] > 0.5
    assert inert["ST"] < 0.1 and inert["ST"] < driver["ST"] / 5
    by_tick = res.indices_by_tick("gap_months_true")
    assert sorted(by_tick["tick"].unique()) == list(range(12)) and set(by_tick["date"]) >= {"2025-12"}
    last = by_tick[by_tick["tick"] == 11].set_index("parameter")["ST"]
    assert last["world.eci_per_decade_compute"] > last["policy.ban.threshold_flop"]
    from simulation.sweep import analysis

    windows = res.indices_by_window("gap_months_true", months=6)
    pd.testing.assert_frame_equal(windows, analysis.indices_by_window(res, "gap_months_true", months=6))
    assert len(windows) == 2 * len(table)  # two 6-month windows of 12 months, one row per parameter each
    with pytest.raises(SweepError, match="not a scalar outcome"):
        res.indices("open_share_usage_end")
    names = sorted(p.name for p in res.plot(tmp_path))
    assert names == [
        "indices_by_month_gap_months_true.png",
        "indices_gap_months_true_mean.png",
        "scatter_gap_months_true_mean.png",
    ]
