"""What each policy lever does: paired low/high runs with common seeds, effects as window means.

For every lever the dashboard and the shipped scenarios expose, run the scenario with the lever low and
high (same seeds, so replicate ``i`` of both shares every random draw; the lever's paths are pinned), and
report the effect on the benchmark gap, the true gap, the open share of usage and the lever's own first
outcome: the mean over the last ``WINDOW_MONTHS`` months of (high - low), with a 90% interval of that mean
across replicates (t distribution). ``python run.py levers`` prints the table; ``docs/levers.md`` is
generated from it (``python run.py levers --markdown > docs/levers.md``) and a test fails when the model
has changed since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WINDOW_MONTHS = 24
OUTCOMES = ("gap_months_benchmark", "gap_months_true", "open_share_usage")
DEFAULTS = {"replicates": 10, "seed": 1, "n_adopters": 2000}
# files whose content decides the table: a change to any of them makes docs/levers.md stale
FINGERPRINT_GLOBS = (
    "simulation/agents/*.py",
    "simulation/model.py",
    "simulation/metrics.py",
    "simulation/seeding.py",
    "simulation/levers.py",
    "simulation/config/schema.py",
    "simulation/config/distributions.py",
    "simulation/experiments/runner.py",
    "scenarios/*.yaml",
)


@dataclass(frozen=True)
class Lever:
    """A lever: in ``scenario``, the parameters ``low`` and ``high`` set (dotted path -> value), and the
    outcome the docs say it moves (``expect``: metric, "up" or "down", going from low to high)."""

    name: str
    scenario: str
    low: Mapping[str, Any]
    high: Mapping[str, Any]
    expect: tuple[str, str]
    label: str
    why: str = ""
    outcomes: tuple[str, ...] = field(default=OUTCOMES)

    def setting(self, which: str) -> str:
        values = self.low if which == "low" else self.high
        return ", ".join(f"{p.rsplit('.', 1)[-1]}={_fmt(v)}" for p, v in values.items())


LEVERS: tuple[Lever, ...] = (
    Lever(
        "china_capital_down",
        "baseline",
        {"blocs.china.capital_multiplier": 0.2},
        {"blocs.china.capital_multiplier": 1.0},
        ("max_training_flop_china", "up"),
        "Chinese capital multiplier 0.2 -> 1",
        "More investor money for Chinese labs buys more compute (F7)",
    ),
    Lever(
        "china_capital_up",
        "baseline",
        {"blocs.china.capital_multiplier": 1.0},
        {"blocs.china.capital_multiplier": 5.0},
        ("max_training_flop_china", "up"),
        "Chinese capital multiplier 1 -> 5",
        "The upside: money keeps buying compute until the build limit binds (F2, F7)",
    ),
    Lever(
        "us_capital",
        "baseline",
        {"blocs.us.capital_multiplier": 0.5},
        {"blocs.us.capital_multiplier": 2.0},
        ("max_training_flop_us", "up"),
        "US capital multiplier 0.5 -> 2",
        "US labs raise more and build more (F2, F7)",
    ),
    Lever(
        "chinese_patrons",
        "baseline",
        {"labs.deepseek.subsidy_usd_per_month": 1.5e7, "labs.qwen.subsidy_usd_per_month": 4e7},
        {"labs.deepseek.subsidy_usd_per_month": 1.2e8, "labs.qwen.subsidy_usd_per_month": 3.2e8},
        ("max_training_flop_china", "up"),
        "Patron subsidies of DeepSeek and Qwen x0.5 -> x4",
        "Patron money (High-Flyer, Alibaba) buys compute (F12, F19)",
    ),
    Lever(
        "china_compute_price",
        "baseline",
        {"blocs.china.compute_price_multiplier": 1.0},
        {"blocs.china.compute_price_multiplier": 5.0},
        ("max_training_flop_china", "down"),
        "Chinese compute price multiplier 1 -> 5 (export controls)",
        "Dearer chips buy less compute (F15)",
    ),
    Lever(
        "deepseek_efficiency",
        "baseline",
        {"labs.deepseek.training_efficiency": 1.0},
        {"labs.deepseek.training_efficiency": 4.0},
        ("open_frontier_true_eci", "up"),
        "DeepSeek training efficiency 1 -> 4",
        "Efficiency multiplies effective compute (F15, F18)",
    ),
    Lever(
        "distillation",
        "baseline",
        {"world.distillation_efficacy": 0.0},
        {"world.distillation_efficacy": 0.16},
        ("gap_months_true", "down"),
        "Distillation efficacy 0 -> 0.16",
        "Distilling closed APIs is a catch-up channel (F5)",
    ),
    Lever(
        "consortium_budget",
        "sovereign_consortium",
        {"labs.consortium.subsidy_usd_per_month": 1.5e8},
        {"labs.consortium.subsidy_usd_per_month": 6e8},
        ("max_training_flop_eu", "up"),
        "Consortium budget $150M -> $600M a month",
        "A bigger budget buys the consortium (an EU-bloc lab) more compute and a better model; whether its "
        "owners' sovereign adopters use it more is a finding (F12)",
        (*OUTCOMES, "own_state_share_usage_sovereign", "open_share_usage_sovereign"),
    ),
    Lever(
        "consortium_members",
        "sovereign_consortium",
        {
            "events.0.set.labs.mistral.subsidy_usd_per_month": 0.0,
            "events.0.set.labs.tii.subsidy_usd_per_month": 0.0,
        },
        {
            "events.0.set.labs.mistral.subsidy_usd_per_month": 5e7,
            "events.0.set.labs.tii.subsidy_usd_per_month": 5e7,
        },
        ("max_training_flop_other", "up"),
        "Consortium tops up Mistral and TII: no -> $50M a month each",
        "Member labs funded by the consortium build more (TII is the 'other' bloc's lab) (F12)",
        (*OUTCOMES, "open_share_usage_sovereign"),
    ),
    Lever(
        "sovereign_ownership",
        "sovereign_consortium",
        {"adopters.segments.sovereign.ownership_value": 0.0},
        {"adopters.segments.sovereign.ownership_value": 2.0},
        ("own_state_share_usage_sovereign", "up"),
        "Sovereign adopters' value of a model their state co-owns 0 -> 2",
        "Co-ownership (jurisdiction, control) draws the owners' sovereign adopters to the consortium (F12, F13)",
        (*OUTCOMES, "open_share_usage_sovereign"),
    ),
    Lever(
        "ban_threshold",
        "ban",
        {"policy.ban.threshold_flop": 1e26},
        {"policy.ban.threshold_flop": 1e28},
        ("labs_alive_open", "up"),
        "Ban threshold 1e26 -> 1e28 FLOP",
        "A higher threshold binds fewer US open releases: fewer labs close to answer it (F9)",
        (*OUTCOMES, "region_us_open_share_domestic"),
    ),
    Lever(
        "ban_enforcement",
        "ban",
        {"policy.ban.enforcement": 0.1},
        {"policy.ban.enforcement": 0.9},
        ("region_us_open_share_foreign", "down"),
        "Ban enforcement 0.1 -> 0.9",
        "More US adopters kept from banned foreign models (F9)",
    ),
    Lever(
        "ban_lab_sanction",
        "ban",
        {"policy.ban.lab_penalty_months": 0.0},
        {"policy.ban.lab_penalty_months": 48.0},
        ("labs_release_defy", "down"),
        "Sanction on a US lab releasing banned weights: none -> 48 months of staff costs",
        "Without a sanction bound labs release anyway; with one they cap, offshore or close (F9)",
        (*OUTCOMES, "region_us_open_share_domestic"),
    ),
    Lever(
        "ban_offshore_cost",
        "ban",
        {"policy.ban.offshore_cost_fraction": 0.05, "policy.ban.lab_penalty_months": 48.0},
        {"policy.ban.offshore_cost_fraction": 3.0, "policy.ban.lab_penalty_months": 48.0},
        ("labs_release_offshore", "down"),
        "Cost of releasing from abroad 5% -> 300% of staff costs (sanction 48 months)",
        "Cheap offshoring keeps US labs releasing full-size open models from abroad (F9)",
        (*OUTCOMES, "region_us_open_share_domestic"),
    ),
    Lever(
        "ban_compliance",
        "ban",
        {
            f"adopters.segments.{s}.ban_penalty": 0.2
            for s in ("knowledge_workers", "enterprise_automation", "developers")
        },
        {
            f"adopters.segments.{s}.ban_penalty": 6.0
            for s in ("knowledge_workers", "enterprise_automation", "developers")
        },
        ("region_us_open_share_foreign", "down"),
        "US users' cost of using banned weights (knowledge workers, enterprises, developers) 0.2 -> 6",
        "Adopters who comply keep to legal versions: banned foreign releases lose US users (F9)",
    ),
    Lever(
        "open_strategic_value",
        "baseline",
        {"world.open_strategic_value": 0.0},
        {"world.open_strategic_value": 1.0},
        ("labs_alive_open", "up"),
        "What open adoption is worth to a lab: 0 -> 1 x serving cost",
        "Labs that value open adoption more release open more often (F7, F19)",
    ),
    Lever(
        "us_trust_in_china",
        "baseline",
        {"adopters.regions.us.trust_by_bloc.china": -1.5},
        {"adopters.regions.us.trust_by_bloc.china": 0.0},
        ("region_us_open_share_foreign", "up"),
        "US adopters' trust in Chinese labs -1.5 -> 0",
        "Distrust keeps US adopters from Chinese models (F12, F13)",
    ),
    Lever(
        "sovereign_control",
        "baseline",
        {"adopters.segments.sovereign.control_value": 0.0},
        {"adopters.segments.sovereign.control_value": 1.2},
        ("open_share_usage_sovereign", "up"),
        "Sovereign adopters' value of self-hosting 0 -> 1.2",
        "Control over the weights draws sovereign users to open models (F12, F14)",
    ),
)


def lever_effects(
    levers: Sequence[Lever] | None = None,
    *,
    scenario: str | None = None,
    replicates: int = DEFAULTS["replicates"],
    seed: int = DEFAULTS["seed"],
    n_adopters: int = DEFAULTS["n_adopters"],
    jobs: int | None = None,
    progress: bool | None = False,
) -> pd.DataFrame:
    """One row per (lever, outcome): the paired effect of going from the lever's low to its high setting,
    as the mean over the last ``WINDOW_MONTHS`` months, with a 90% interval across replicates.

    Columns: lever, scenario, label, outcome, low, high (settings in words), effect, ci5, ci95,
    expected ("up"/"down" for the lever's stated outcome, else empty), holds (the interval excludes zero
    in the stated direction; empty for other outcomes)."""
    from .experiments import simulate

    chosen = [
        lv for lv in (LEVERS if levers is None else levers) if scenario is None or lv.scenario == scenario
    ]
    rows: list[dict[str, Any]] = []
    for lever in chosen:
        outcomes = list(dict.fromkeys([lever.expect[0], *lever.outcomes]))
        window: dict[str, pd.DataFrame] = {}
        for which, values in (("low", lever.low), ("high", lever.high)):
            res = simulate(
                lever.scenario,
                replicates=replicates,
                seed=seed,
                n_adopters=n_adopters,
                overrides=dict(values),
                jobs=jobs,
                progress=progress,
            )
            model = res.model
            last = model["tick"].max()
            recent = model[model["tick"] > last - WINDOW_MONTHS]
            window[which] = recent.groupby("replicate")[outcomes].mean()
        diff = window["high"] - window["low"]
        for outcome in outcomes:
            effect, lo, hi = mean_interval(diff[outcome].to_numpy(float))
            expected = lever.expect[1] if outcome == lever.expect[0] else ""
            holds: bool | None = None
            if expected:
                holds = bool(lo > 0) if expected == "up" else bool(hi < 0)
            rows.append(
                {
                    "lever": lever.name,
                    "scenario": lever.scenario,
                    "label": lever.label,
                    "outcome": outcome,
                    "low": lever.setting("low"),
                    "high": lever.setting("high"),
                    "effect": effect,
                    "ci5": lo,
                    "ci95": hi,
                    "expected": expected,
                    "holds": holds,
                }
            )
    return pd.DataFrame(rows)


def mean_interval(diffs: np.ndarray, level: float = 0.90) -> tuple[float, float, float]:
    """Mean of paired differences and its two-sided ``level`` interval (t distribution, n - 1 d.f.)."""
    from scipy.stats import t

    n = diffs.size
    mean = float(diffs.mean())
    if n < 2:
        return mean, mean, mean
    half = float(t.ppf(0.5 + level / 2, n - 1) * diffs.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def fingerprint(root: Path = ROOT) -> str:
    """A hash of what decides the lever table: the model code without its comments, docstrings and blank
    lines, and the shipped scenarios' parsed content; so edits to comments and docstrings leave it unchanged
    and it is the same on every Python version."""
    import yaml

    digest = hashlib.sha256()
    for pattern in FINGERPRINT_GLOBS:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode())
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".py":
                digest.update(code_text(text).encode())
            else:
                digest.update(repr(yaml.safe_load(text)).encode())
    return digest.hexdigest()[:16]


def code_text(source: str) -> str:
    """``source`` without comments, docstrings, trailing spaces and blank lines."""
    import ast
    import io
    import tokenize

    lines = source.splitlines()
    drop: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                first = lines[body[0].lineno - 1].lstrip()
                if first[:1] in "'\"" or first[:2].lower() in ("r'", 'r"'):
                    drop.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    comment_at = {
        tok.start[0]: tok.start[1]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    kept = []
    for number, line in enumerate(lines, start=1):
        if number in drop:
            continue
        line = line[: comment_at[number]] if number in comment_at else line
        if line.strip():
            kept.append(line.rstrip())
    return "\n".join(kept)


UNITS = {
    "gap_months_benchmark": "months",
    "gap_months_true": "months",
    "open_frontier_true_eci": "ECI points",
}


def markdown(table: pd.DataFrame, *, replicates: int, seed: int, n_adopters: int) -> str:
    """docs/levers.md: how it was made, then one section per lever."""
    lines = [
        "# What the levers do",
        "",
        "<!-- Generated by `python run.py levers --markdown > docs/levers.md`. Do not edit by hand: a test "
        "fails when the model or the shipped scenarios change after this page was made. -->",
        "",
        f"Each lever is run low and high with the same seeds ({replicates} replicates, seed {seed}, "
        f"{n_adopters:,} adopters, 48 months from 2025-01); the lever's parameters are pinned, everything "
        "else uncertain is drawn alike in both. An effect is the mean over the last "
        f"{WINDOW_MONTHS} months of (high - low), with a 90% interval of that mean across replicates. "
        "Shares are fractions (0.01 = one percentage point); FLOP are of the largest training run. "
        "**Stated** is the direction the lever's own outcome is expected to move; **holds** says whether "
        "the interval excludes zero in that direction. These are the model's findings, not targets.",
        "",
        f"Model fingerprint: `{fingerprint()}`",
        "",
        "| lever | scenario | outcome | effect | 90% interval | stated | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        holds = "" if r["holds"] is None or pd.isna(r["holds"]) else ("yes" if r["holds"] else "**no**")
        lines.append(
            f"| {r['label']} | {r['scenario']} | `{r['outcome']}` | {_fmt(r['effect'], sign=True)} | "
            f"[{_fmt(r['ci5'], sign=True)}, {_fmt(r['ci95'], sign=True)}] | {r['expected']} | {holds} |"
        )
    lines += ["", "## Why each lever should act", ""]
    for lever in LEVERS:
        lines.append(
            f"- **{lever.label}** (`{lever.name}`): {lever.why}. Paths: "
            + ", ".join(f"`{p}`" for p in lever.low)
            + "."
        )
    return "\n".join(lines) + "\n"


def _fmt(value: Any, sign: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        return str(value)
    v = float(value)
    text = f"{v:.2e}" if v != 0 and (abs(v) >= 100000.0 or abs(v) < 0.001) else f"{v:.3g}"
    return f"+{text}" if sign and v > 0 else text
