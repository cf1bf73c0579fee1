"""What the three named scenarios do, measured: paired runs against the baseline (same seeds, so replicate
``i`` of both shares every random draw), effects as window means with 90% intervals across replicates.

- **Ban** (scenarios/ban.yaml): where US usage goes after the ban, as shares of all US demand (including
  adopters who use no model): US-built open models, foreign open models, closed models, none; and how the
  US open labs answered it.
- **Chinese funding squeeze** (scenarios/china_funding_squeeze.yaml): the lag before the gap moves
  (first month whose 3-month paired mean has an interval above zero) and its size over the last 12 months.
- **Sovereign consortium** (scenarios/sovereign_consortium.yaml): the sovereign open share and own-state
  share, and what a point of own-state share (sovereign adopters on the model their state co-owns) costs the
  states per month.

``python run.py findings`` prints the tables; ``docs/findings.md`` is generated from them (``python run.py
findings > docs/findings.md``) and embedded in docs/scenarios.md; a test fails when the model
has changed since (the same fingerprint as docs/levers.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .levers import fingerprint, mean_interval

DEFAULTS = {"replicates": 10, "seed": 1, "n_adopters": 2000}
SQUEEZE_LAG_WINDOW_MONTHS = 3
# the least paired effect that counts as the squeeze showing (a consistent but negligible difference does not)
MATERIAL = {"gap_months_benchmark": 0.25, "gap_months_true": 0.25, "open_usage_share_origin_china": 0.005}
LAST_MONTHS = 12


@dataclass(frozen=True)
class Findings:
    """The tables behind docs/findings.md: one DataFrame per named scenario, and the run settings."""

    ban: pd.DataFrame  # destination, baseline, scenario, effect, ci5, ci95 (shares of US demand)
    ban_answers: pd.DataFrame  # lab, answer, replicates (the last release option of US open labs)
    squeeze: pd.DataFrame  # outcome, lag_months, effect, ci5, ci95 (last 12 months)
    consortium: pd.DataFrame  # outcome, baseline, scenario, effect, ci5, ci95
    consortium_cost: dict[str, float]  # usd_per_month, usd_per_month_per_point, ci bounds of that
    settings: dict[str, Any]


def _window_means(model: pd.DataFrame, columns: list[str], from_tick: int) -> pd.DataFrame:
    """Per replicate, the mean of ``columns`` over ticks >= ``from_tick``."""
    return model[model["tick"] >= from_tick].groupby("replicate")[columns].mean()


def _paired(base: pd.DataFrame, scen: pd.DataFrame, column: str) -> dict[str, float]:
    effect, lo, hi = mean_interval((scen[column] - base[column]).to_numpy(float))
    return {
        "baseline": float(base[column].mean()),
        "scenario": float(scen[column].mean()),
        "effect": effect,
        "ci5": lo,
        "ci95": hi,
    }


def us_demand_shares(model: pd.DataFrame, region: str = "us") -> pd.DataFrame:
    """Each row's split of a region's demand (usage of every adopter there, with or without a model) into
    home-built open, foreign open, closed and none; the four add up to 1."""
    served = 1 - model[f"unserved_share_usage_region_{region}"]
    return pd.DataFrame(
        {
            "replicate": model["replicate"],
            "tick": model["tick"],
            "domestic_open": model[f"region_{region}_open_share_domestic"] * served,
            "foreign_open": model[f"region_{region}_open_share_foreign"] * served,
            "closed": (1 - model[f"open_share_usage_region_{region}"]) * served,
            "none": 1 - served,
        }
    )


def ban_destinations(base: pd.DataFrame, ban: pd.DataFrame, from_tick: int) -> pd.DataFrame:
    """Where US demand goes under the ban: paired effect on each destination's share, window mean."""
    b = _window_means(us_demand_shares(base), ["domestic_open", "foreign_open", "closed", "none"], from_tick)
    s = _window_means(us_demand_shares(ban), ["domestic_open", "foreign_open", "closed", "none"], from_tick)
    return pd.DataFrame([{"destination": col} | _paired(b, s, col) for col in b.columns])


def ban_answers(labs: pd.DataFrame, bloc: str = "us") -> pd.DataFrame:
    """How each lab of ``bloc`` open when the run started released at the end: count of replicates by
    release option."""
    first = labs[(labs["tick"] == 0) & (labs["kind"] == "lab") & (labs["bloc"] == bloc) & labs["open"]]
    names = sorted(first["lab"].unique())
    last = labs[(labs["tick"] == labs["tick"].max()) & labs["lab"].isin(names)]
    counts = last.groupby(["lab", "release"]).size().rename("replicates").reset_index()
    return counts.rename(columns={"release": "answer"})


def squeeze_effects(base: pd.DataFrame, squeeze: pd.DataFrame, event_tick: int) -> pd.DataFrame:
    """For the gaps and the Chinese open usage share: the lag (months from the squeeze to the first
    ``SQUEEZE_LAG_WINDOW_MONTHS``-month window whose paired mean has a 90% interval excluding zero and is at
    least ``MATERIAL`` in size; NaN if none) and the paired effect over the last ``LAST_MONTHS`` months."""
    outcomes = ["gap_months_benchmark", "gap_months_true", "open_usage_share_origin_china"]
    keyed = [frame.set_index(["replicate", "tick"])[outcomes] for frame in (base, squeeze)]
    diff = (keyed[1] - keyed[0]).reset_index()
    last = int(diff["tick"].max())
    rows = []
    for outcome in outcomes:
        lag = first = np.nan
        for k in range(0, last - event_tick - SQUEEZE_LAG_WINDOW_MONTHS + 2):
            lo_tick = event_tick + k
            window = diff[(diff["tick"] >= lo_tick) & (diff["tick"] < lo_tick + SQUEEZE_LAG_WINDOW_MONTHS)]
            mean, lo, hi = mean_interval(window.groupby("replicate")[outcome].mean().to_numpy(float))
            if (lo > 0 or hi < 0) and abs(mean) >= MATERIAL[outcome]:
                lag, first = float(k), mean
                break
        tail = diff[diff["tick"] > last - LAST_MONTHS].groupby("replicate")[outcome].mean()
        effect, lo, hi = mean_interval(tail.to_numpy(float))
        rows.append(
            {
                "outcome": outcome,
                "lag_months": lag,
                "first_effect": first,
                "effect": effect,
                "ci5": lo,
                "ci95": hi,
            }
        )
    return pd.DataFrame(rows)


def funded_labs(scenario: Any, base: Any) -> tuple[str, ...]:
    """Labs the scenario's states pay for: labs the base scenario does not have, and labs whose patron plan
    one of its events sets (``labs.<lab>.subsidy_usd_per_month``)."""
    topped_up = {
        path.split(".")[1]
        for event in scenario.events
        for path in event.set
        if path.startswith("labs.") and path.endswith(".subsidy_usd_per_month")
    }
    return tuple(sorted(set(scenario.labs) - set(base.labs) | topped_up))


def consortium_effects(
    base: Any, consortium: Any, from_tick: int, funded: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The consortium's effect on sovereign adoption (window mean from its start) and what it costs: the
    extra patron money its states pay per month (the consortium lab's subsidy, plus the top-ups of the
    labs they fund over their baseline subsidy), per point of own-state share: the share of sovereign usage on
    the model the adopter's own state co-owns, which is what the states pay for (F12)."""
    outcomes = ["open_share_usage_sovereign", "own_state_share_usage_sovereign", "open_share_usage"]
    b = _window_means(base.model, outcomes, from_tick)
    s = _window_means(consortium.model, outcomes, from_tick)
    table = pd.DataFrame([{"outcome": col} | _paired(b, s, col) for col in outcomes])

    def paid(labs: pd.DataFrame) -> pd.Series:
        rows = labs[(labs["tick"] >= from_tick) & labs["lab"].isin(funded)]
        return rows.groupby(["replicate", "tick"])["subsidy_usd"].sum().groupby("replicate").mean()

    extra = paid(consortium.labs).sub(paid(base.labs), fill_value=0.0)
    cost = float(extra.mean())
    row = table.set_index("outcome").loc["own_state_share_usage_sovereign"]
    points = 100 * row["effect"]
    per_point = cost / points if points > 0 else np.inf
    # the interval of the effect bounds the cost per point (cost is nearly the same in every replicate)
    lo_points, hi_points = 100 * row["ci5"], 100 * row["ci95"]
    return table, {
        "usd_per_month": cost,
        "usd_per_month_per_point": per_point,
        "per_point_low": cost / hi_points if hi_points > 0 else np.inf,
        "per_point_high": cost / lo_points if lo_points > 0 else np.inf,
    }


def scenario_findings(
    *,
    replicates: int = DEFAULTS["replicates"],
    seed: int = DEFAULTS["seed"],
    n_adopters: int = DEFAULTS["n_adopters"],
    jobs: int | None = None,
    progress: bool | None = False,
) -> Findings:
    """Run the baseline and the three named scenarios with common seeds and measure their effects."""
    from .config import load_scenario, months_between
    from .experiments import simulate

    kw = {
        "replicates": replicates,
        "seed": seed,
        "n_adopters": n_adopters,
        "jobs": jobs,
        "progress": progress,
    }
    runs = {
        name: simulate(name, **kw)
        for name in ("baseline", "ban", "china_funding_squeeze", "sovereign_consortium")
    }

    def event_tick(name: str) -> int:
        sc = load_scenario(name)
        return months_between(sc.start, sc.events[0].at)

    ban_tick = event_tick("ban")
    consortium = load_scenario("sovereign_consortium")
    start = months_between(consortium.start, consortium.labs["consortium"].enters)
    funded = funded_labs(consortium, load_scenario("baseline"))
    table, cost = consortium_effects(runs["baseline"], runs["sovereign_consortium"], start, funded)
    return Findings(
        ban=ban_destinations(runs["baseline"].model, runs["ban"].model, ban_tick),
        ban_answers=ban_answers(runs["ban"].labs[runs["ban"].labs["tick"] >= 0]),
        squeeze=squeeze_effects(
            runs["baseline"].model, runs["china_funding_squeeze"].model, event_tick("china_funding_squeeze")
        ),
        consortium=table,
        consortium_cost=cost,
        settings={"replicates": replicates, "seed": seed, "n_adopters": n_adopters},
    )


def _pct(x: float, sign: bool = True) -> str:
    return f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}"


def _interval(lo: float, hi: float, scale: float = 100.0, digits: int = 1) -> str:
    return f"[{scale * lo:+.{digits}f}, {scale * hi:+.{digits}f}]"


def markdown(f: Findings) -> str:
    """docs/findings.md: the three named scenarios' measured effects, with how they were measured."""
    s = f.settings
    lines = [
        "# What the named scenarios do",
        "",
        "Generated by `python run.py findings > docs/findings.md` (simulation/findings.py); a test "
        "fails when the model has changed since. Each scenario is run against the baseline with the same "
        f"seeds ({s['replicates']} replicates, seed {s['seed']}, {s['n_adopters']:,} adopters): effects are "
        "paired differences (scenario minus baseline) averaged over a window, with 90% intervals across "
        "replicates (t distribution). These are findings of the model as it is, not targets: nothing was "
        "tuned toward them.",
        "",
        f"Model fingerprint: `{fingerprint()}`",
        "",
        "## Open-weight ban: where US demand goes",
        "",
        "Shares of all US demand (usage of every US adopter, including those who use no model), mean over the "
        "months the ban is in force, in percent; effect in percentage points.",
        "",
        "| destination | baseline | ban | effect (points) | 90% interval |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {
        "domestic_open": "US-built open models",
        "foreign_open": "foreign open models",
        "closed": "closed models",
        "none": "no model (outside option)",
    }
    for r in f.ban.itertuples():
        lines.append(
            f"| {names[r.destination]} | {_pct(r.baseline, False)} | {_pct(r.scenario, False)} | "
            f"{_pct(r.effect)} | {_interval(r.ci5, r.ci95)} |"
        )
    lines += ["", "How the US labs that were open in January 2025 release at the end of the ban run "]
    lines[-1] += "(replicates choosing each answer; `capped`: trained at the threshold, `offshore`: released "
    lines[-1] += "from abroad, `defy`: released anyway, `closed`: sells API access instead):"
    lines += ["", "| lab | answers |", "|---|---|"]
    for lab, group in f.ban_answers.groupby("lab"):
        answers = ", ".join(f"{a} {n}" for a, n in zip(group["answer"], group["replicates"], strict=True))
        lines.append(f"| {lab} | {answers} |")
    lines += [
        "",
        "## Chinese funding squeeze: lag and size",
        "",
        f"Lag: months from the squeeze (2026-07) to the first {SQUEEZE_LAG_WINDOW_MONTHS}-month window whose "
        "paired mean has a 90% interval excluding zero and is at least 0.25 months (gaps) or 0.5 points "
        f"(shares) in size (none: never). Size: mean over the last {LAST_MONTHS} months.",
        "",
        "| outcome | lag (months) | effect in that first window | effect, last 12 months | 90% interval |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in f.squeeze.itertuples():
        share = r.outcome.startswith("open_usage")
        lag = "none" if np.isnan(r.lag_months) else f"{r.lag_months:.0f}"
        if share:
            first = "" if np.isnan(r.first_effect) else f"{_pct(r.first_effect)} points"
            effect, interval = f"{_pct(r.effect)} points", _interval(r.ci5, r.ci95)
        else:
            first = "" if np.isnan(r.first_effect) else f"{r.first_effect:+.2f} months"
            effect, interval = f"{r.effect:+.2f} months", _interval(r.ci5, r.ci95, scale=1.0, digits=2)
        lines.append(f"| `{r.outcome}` | {lag} | {first} | {effect} | {interval} |")
    c = f.consortium_cost
    lines += [
        "",
        "## Sovereign consortium: effect and cost",
        "",
        "Mean from the consortium's start (2026-01) to the end, in percent; effect in percentage points.",
        "",
        "| outcome | baseline | consortium | effect (points) | 90% interval |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in f.consortium.itertuples():
        lines.append(
            f"| `{r.outcome}` | {_pct(r.baseline, False)} | {_pct(r.scenario, False)} | {_pct(r.effect)} | "
            f"{_interval(r.ci5, r.ci95)} |"
        )
    lines += [
        "",
        f"The states pay ${c['usd_per_month'] / 1e6:,.0f}M a month more than in the baseline (the consortium "
        "lab's subsidy and the top-ups of Mistral and TII). "
        + (
            "A point of own-state share (sovereign usage on the model the adopter's own state co-owns) costs "
            f"${c['usd_per_month_per_point'] / 1e6:,.0f}M a month "
            f"(from ${c['per_point_low'] / 1e6:,.0f}M to "
            + (
                "an unbounded cost"
                if not np.isfinite(c["per_point_high"])
                else f"${c['per_point_high'] / 1e6:,.0f}M"
            )
            + " over the effect's interval)."
            if np.isfinite(c["usd_per_month_per_point"])
            else "The own-state share does not rise: no cost per point can be given."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - python -m simulation.findings
    print(markdown(scenario_findings(jobs=None, progress=None)))
