"""Key indicators of a run: median and 5-95% interval across replicates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ..config import Scenario

QUANTILES = {"median": 0.5, "p5": 0.05, "p95": 0.95}


def indicators(model: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One row per replicate, one column per key indicator (values at the last tick, or means over ticks)."""
    last_tick = model["tick"].max()
    end = model[model["tick"] == last_tick].set_index("replicate")
    by_rep = model.groupby("replicate")
    out = pd.DataFrame(index=end.index)
    out["gap_months_true_end"] = end["gap_months_true"]
    out["gap_months_benchmark_end"] = end["gap_months_benchmark"]
    out["gap_months_true_mean"] = by_rep["gap_months_true"].mean()
    out["gap_months_benchmark_mean"] = by_rep["gap_months_benchmark"].mean()
    out["gap_points_true_end"] = end["gap_points_true"]
    out["open_share_usage_end"] = end["open_share_usage"]
    out["open_share_spend_end"] = end["open_share_spend"]
    out["open_share_usage_mean"] = by_rep["open_share_usage"].mean()
    for bloc in scenario.blocs:
        out[f"open_usage_share_origin_{bloc}_end"] = end[f"open_usage_share_origin_{bloc}"]
    out["top_open_share_of_open_usage_end"] = end["top_open_share_of_open_usage"]
    first = model[model["tick"] == model["tick"].min()].set_index("replicate")
    years = (last_tick - model["tick"].min()) / 12
    if years > 0:  # growth of the largest training run, multiplier per year (Epoch: 4-5x, F2)
        out["frontier_compute_growth_per_year"] = (
            end["frontier_training_flop"] / first["frontier_training_flop"]
        ) ** (1 / years)
    out["hhi_usage_end"] = end["hhi_usage"]
    for bloc in scenario.blocs:
        out[f"labs_alive_{bloc}_end"] = end[f"labs_alive_{bloc}"]
    return out


def summarise(model: pd.DataFrame, labs: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Indicator x (median, p5, p95, replicates) table."""
    per_rep = indicators(model, scenario)
    table = pd.DataFrame({name: per_rep.quantile(q) for name, q in QUANTILES.items()})
    table["replicates"] = len(per_rep)
    table.index.name = "indicator"
    return table
