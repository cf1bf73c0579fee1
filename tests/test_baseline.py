"""The baseline reproduces today's ecosystem (issue 2's checks), on medians of 20 replicates."""

from __future__ import annotations

import pandas as pd
import pytest

import simulation


@pytest.fixture(scope="module")
def baseline() -> simulation.Results:
    return simulation.run("baseline", replicates=20, seed=1, jobs=2)


@pytest.fixture(scope="module")
def median(baseline: simulation.Results) -> pd.DataFrame:
    """Median across replicates of every model metric, indexed by tick (0 = 2025-01)."""
    return baseline.model.groupby("tick").median(numeric_only=True)


def test_benchmark_gap_2025_to_mid_2026_matches_epoch(median: pd.DataFrame) -> None:
    # Epoch ECI: open models lag about 3.5-4 months on benchmarks.
    gap = median.loc[0:17, "gap_months_benchmark"].mean()
    assert 3.0 <= gap <= 6.0, gap


def test_true_gap_2025_to_mid_2026_is_6_to_10_months(median: pd.DataFrame) -> None:  # F1
    gap = median.loc[0:17, "gap_months_true"].mean()
    assert 6.0 <= gap <= 10.0, gap


def test_true_gap_exceeds_benchmark_gap_after_first_year(median: pd.DataFrame) -> None:  # F3
    after = median.loc[12:]
    assert (after["gap_months_true"] > after["gap_months_benchmark"]).all()


def test_gap_does_not_run_away(median: pd.DataFrame) -> None:  # F1: status quo
    drift = median.loc[12:23, "gap_months_true"].mean() - median.loc[0:11, "gap_months_true"].mean()
    assert -1.0 <= drift <= 3.0, drift


def test_open_adoption_is_concentrated_and_closed_market_has_few_providers(
    median: pd.DataFrame,
) -> None:  # F4
    end_2026 = median.loc[23]
    assert end_2026["top_open_share_of_open_usage"] > 0.40
    assert end_2026["closed_providers_over_5pct"] <= 5


def test_segments_split_as_observed(median: pd.DataFrame) -> None:  # F8, F17
    end_2026 = median.loc[23]
    kw = end_2026["open_share_usage_knowledge_workers"]
    assert 1 - kw > 0.70
    assert end_2026["open_share_usage_local_agents"] > 0.5
    assert end_2026["open_share_usage_enterprise_automation"] > kw
    assert end_2026["open_share_usage_developers"] > kw


def test_every_open_lab_earns_less_than_every_frontier_closed_lab(
    baseline: simulation.Results,
) -> None:  # F19
    revenue = baseline.labs.groupby(["lab", "open"])["revenue_usd"].mean().reset_index()
    open_max = revenue.loc[revenue["open"], "revenue_usd"].max()
    closed_min = revenue.loc[~revenue["open"], "revenue_usd"].min()
    assert open_max < closed_min


def test_summary_has_median_and_interval(baseline: simulation.Results) -> None:
    s = baseline.summary
    assert {"median", "p5", "p95", "replicates"} <= set(s.columns)
    assert (s["p5"] <= s["median"]).all() and (s["median"] <= s["p95"]).all()
    assert s.loc["gap_months_true_mean", "replicates"] == 20
