"""Same seed, bit-identical tables: serially, in processes, and through Mesa's own batch_run."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.experiments import replicate_seeds
from simulation.model import EcosystemModel


def test_same_seed_gives_identical_tables() -> None:
    a = simulation.run("tiny", replicates=2, seed=7)
    b = simulation.run("tiny", replicates=2, seed=7)
    pd.testing.assert_frame_equal(a.model, b.model)
    pd.testing.assert_frame_equal(a.labs, b.labs)


def test_serial_equals_parallel() -> None:
    serial = simulation.run("tiny", replicates=3, seed=3, jobs=1)
    parallel = simulation.run("tiny", replicates=3, seed=3, jobs=2)
    pd.testing.assert_frame_equal(serial.model, parallel.model)
    pd.testing.assert_frame_equal(serial.labs, parallel.labs)


def test_replicates_differ_and_seeds_are_spawned_by_index() -> None:
    res = simulation.run("tiny", replicates=3, seed=3)
    assert res.draws["model_seed"].nunique() == 3
    usage = res.model.pivot(index="tick", columns="replicate", values="open_share_usage")
    assert not np.allclose(usage[0], usage[1])
    # replicate i's seed does not depend on how many replicates were asked for
    first_two = replicate_seeds(3, 2)
    first_five = replicate_seeds(3, 5)
    assert [s.generate_state(2).tolist() for s in first_two] == [
        s.generate_state(2).tolist() for s in first_five[:2]
    ]


def test_replicate_k_is_the_same_alone_or_in_a_batch() -> None:
    batch = simulation.run("tiny", replicates=3, seed=11)
    single = simulation.run("tiny", replicates=1, seed=11)
    pd.testing.assert_frame_equal(
        batch.model[batch.model["replicate"] == 0].reset_index(drop=True), single.model
    )


def test_summary_interval_is_the_5th_and_95th_percentile_of_the_replicates() -> None:
    """The summary's median and 5-95% interval, by hand from the 5 replicates' values (sorted v0..v4, linear
    interpolation at positions 0.2, 2 and 3.8), for indicators taken at the last tick and over the run."""
    res = simulation.run("tiny", replicates=5, seed=3)
    model = res.model
    last = model[model["tick"] == model["tick"].max()].set_index("replicate")
    values = {
        "gap_months_true_end": last["gap_months_true"],
        "open_share_usage_end": last["open_share_usage"],
        "gap_months_true_mean": model.groupby("replicate")["gap_months_true"].mean(),
    }
    for indicator, series in values.items():
        v = np.sort(series.to_numpy(float))
        assert len(v) == 5 and v[0] < v[1] and v[3] < v[4], (indicator, v)  # a wrong quantile would show
        row = res.summary.loc[indicator]
        assert row["p5"] == pytest.approx(v[0] + 0.2 * (v[1] - v[0]), rel=1e-12), indicator
        assert row["median"] == pytest.approx(v[2], rel=1e-12), indicator
        assert row["p95"] == pytest.approx(v[3] + 0.8 * (v[4] - v[3]), rel=1e-12), indicator
        assert row["replicates"] == 5


def test_model_works_with_mesa_batch_run() -> None:
    rows = mesa.batch_run(
        EcosystemModel,
        parameters={"scenario": "tiny", "n_adopters": 100, "blocs__china__capital_multiplier": [0.5, 1.0]},
        max_steps=3,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    # one row per lab per run (agent reporters), model metrics repeated on each
    assert {r["RunId"] for r in rows} == {0, 1}
    assert {r["blocs__china__capital_multiplier"] for r in rows} == {0.5, 1.0}
    assert {r["lab"] for r in rows} >= {"openai", "deepseek"}
    assert all(0.0 <= r["open_share_usage"] <= 1.0 for r in rows)


def test_cash_reconciles_from_the_saved_lab_table() -> None:
    labs = simulation.run("tiny", replicates=1, seed=2).labs.sort_values(["lab", "tick"])
    for _, lab in labs.groupby("lab"):
        lab = lab[lab["alive"]]
        flows = (
            lab["revenue_usd"]
            + lab["subsidy_usd"]
            + lab["raised_usd"]
            - lab["costs_usd"]
            - lab["compute_spend_usd"]
        )
        expected = lab["cash_usd"].shift(1) + flows
        np.testing.assert_allclose(lab["cash_usd"].iloc[1:], expected.iloc[1:], rtol=1e-12)


def test_memory_stays_flat_over_many_runs() -> None:
    """A sweep worker runs thousands of models: what a run leaves behind must be small (Mesa < 3.4 keeps
    every model alive, mesa#3179; ``EcosystemModel.dispose`` empties it). Undisposed, a tiny run leaves
    ~300 KB."""
    import gc
    import tracemalloc

    from simulation.experiments.runner import ReplicateSpec, prepare, run_replicate

    scenario = prepare("tiny")
    for k in range(2):  # warm-up: first-use caches
        run_replicate(ReplicateSpec(scenario, k, 1, (k,)))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for k in range(2, 7):
            run_replicate(ReplicateSpec(scenario, k, 1, (k,)))
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown / 5 < 30_000, f"{grown / 5:.0f} bytes left behind per run"


def test_a_run_without_the_lab_table_has_the_same_model_table() -> None:
    """Sweeps and EMA read only model-level outcomes and skip the per-lab table: the model table is the same."""
    from simulation.config import load_scenario
    from simulation.experiments.runner import ReplicateSpec, run_replicate

    scenario = load_scenario("tiny")
    with_labs = run_replicate(ReplicateSpec(scenario, 1, 7, (1,)))
    without = run_replicate(ReplicateSpec(scenario, 1, 7, (1,), labs=False))
    pd.testing.assert_frame_equal(with_labs[0], without[0])
    assert without[1] is None and len(with_labs[1]) > 0 and with_labs[2] == without[2]
    model = EcosystemModel(scenario, seed=1, collect_labs=False)
    with pytest.raises(RuntimeError, match="no per-lab table"):
        model.lab_frame()
