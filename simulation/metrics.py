"""Metrics: pure functions of the model state, one row of numbers per tick.

The capability gap in months (F1) is how long ago the closed frontier's released capability first reached
the open frontier's current one, by linear interpolation between months over a history that starts in the
scenario's ``prehistory``. Gaps are reported on true capability and on benchmark scores (F3).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .agents.strategy import BAN_OPTIONS
from .config.base import months_between

if TYPE_CHECKING:
    from .config import Scenario
    from .model import EcosystemModel


# -- gap arithmetic --------------------------------------------------------------------------------------


def months_since_reached(ticks: np.ndarray, series: np.ndarray, level: float, now: float) -> float:
    """Months between ``now`` and the first time the running maximum of ``series`` reached ``level``.

    ``ticks`` are increasing month indices. Linear interpolation between months; if the series already
    stood at ``level`` at its first point, the answer is a lower bound (``now - ticks[0]``)."""
    frontier = np.maximum.accumulate(series)
    hit = np.flatnonzero(frontier >= level)
    if hit.size == 0:
        return 0.0
    i = int(hit[0])
    if i == 0:
        return float(now - ticks[0])
    lo, hi = frontier[i - 1], frontier[i]
    frac = (level - lo) / (hi - lo) if hi > lo else 1.0
    return float(now - (ticks[i - 1] + frac * (ticks[i] - ticks[i - 1])))


def gap_months(ticks: np.ndarray, closed: np.ndarray, open_: np.ndarray) -> float:
    """Gap at the last tick: months ago the closed frontier reached the open frontier's current level.
    Negative when open leads: minus the months ago the open frontier reached the closed one's level."""
    now = ticks[-1]
    closed_best = float(np.max(closed))
    if open_[-1] <= closed_best:
        return months_since_reached(ticks, closed, float(open_[-1]), now)
    return -months_since_reached(ticks, open_, closed_best, now)


def hhi(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index of shares that sum to 1 (0..1; 1 is a monopoly)."""
    total = shares.sum()
    if total <= 0:
        return 0.0
    s = shares / total
    return float(np.sum(s * s))


def share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


@dataclass
class FrontierHistory:
    """Monthly closed and open frontiers (released capability), true and benchmark, from the prehistory on."""

    ticks: list[float] = field(default_factory=list)
    closed_true: list[float] = field(default_factory=list)
    open_true: list[float] = field(default_factory=list)
    closed_bench: list[float] = field(default_factory=list)
    open_bench: list[float] = field(default_factory=list)

    @classmethod
    def from_prehistory(cls, scenario: Scenario) -> FrontierHistory:
        """Monthly points interpolated from the scenario's prehistory (benchmark ECI; true = minus focus)."""
        hist = cls()
        pre = scenario.prehistory
        if not pre.points:
            return hist
        months = np.array([months_between(scenario.start, p.date) for p in pre.points], dtype=float)
        order = np.argsort(months)
        months = months[order]
        closed = np.array([p.closed_eci for p in pre.points])[order]
        open_ = np.array([p.open_eci for p in pre.points])[order]
        grid = np.arange(months[0], min(months[-1], -1) + 1)
        grid = grid[grid < 0]
        for t in grid:
            c, o = float(np.interp(t, months, closed)), float(np.interp(t, months, open_))
            hist._add(t, c - pre.closed_focus_eci, o - pre.open_focus_eci, c, o)
        return hist

    def _add(
        self, tick: float, closed_true: float, open_true: float, closed_bench: float, open_bench: float
    ) -> None:
        self.ticks.append(tick)
        self.closed_true.append(closed_true)
        self.open_true.append(open_true)
        self.closed_bench.append(closed_bench)
        self.open_bench.append(open_bench)

    def append(self, model: EcosystemModel) -> None:
        """Add the current tick's frontiers: best released model among active closed / open labs."""
        closed = [lab for lab in model.offerings if lab.active and not lab.is_open]
        open_ = [lab for lab in model.offerings if lab.active and lab.is_open]  # incl. left-behind weights
        best = lambda labs, attr, prev: max((getattr(lab, attr) for lab in labs), default=prev)  # noqa: E731
        prev = lambda series: series[-1] if series else -np.inf  # noqa: E731
        self._add(
            float(model.tick),
            best(closed, "capability_true_eci", prev(self.closed_true)),
            best(open_, "capability_true_eci", -np.inf),
            best(closed, "capability_benchmark_eci", prev(self.closed_bench)),
            best(open_, "capability_benchmark_eci", -np.inf),
        )

    def gaps(self) -> dict[str, float]:
        t = np.asarray(self.ticks)
        ct, ot = np.asarray(self.closed_true), np.asarray(self.open_true)
        cb, ob = np.asarray(self.closed_bench), np.asarray(self.open_bench)
        closed_true_now, closed_bench_now = float(np.max(ct)), float(np.max(cb))
        return {
            "closed_frontier_true_eci": closed_true_now,
            "open_frontier_true_eci": float(ot[-1]),
            "closed_frontier_benchmark_eci": closed_bench_now,
            "open_frontier_benchmark_eci": float(ob[-1]),
            "gap_months_true": gap_months(t, ct, ot),
            "gap_months_benchmark": gap_months(t, cb, ob),
            "gap_points_true": closed_true_now - float(ot[-1]),
            "gap_points_benchmark": closed_bench_now - float(ob[-1]),
        }


# -- the per-tick row ------------------------------------------------------------------------------------


def market_shares(
    users: np.ndarray,
    usage: np.ndarray,
    is_open: np.ndarray,
    lab_bloc: np.ndarray,
    price: np.ndarray,
    segment_names: list[str],
    region_names: list[str],
    bloc_names: list[str],
) -> dict[str, float]:
    """Adoption shares from (S, R, L+1) tallies of users and usage (last column: no model).

    Shares are of adopters (or usage) that use some model. Sums over labs are matrix products with 0/1
    masks (a few per tick instead of one numpy call per segment, region and bloc)."""
    unserved = usage[:, :, -1]  # (S, R): usage of adopters who use no model (outside option, or none usable)
    potential = usage.sum(axis=2)
    users, usage = users[:, :, :-1], usage[:, :, :-1]
    lab_usage = usage.sum(axis=(0, 1))
    lab_users = users.sum(axis=(0, 1))
    spend = lab_usage * price
    total_usage, total_users = lab_usage.sum(), lab_users.sum()
    open_mask = is_open.astype(float)
    open_usage = lab_usage @ open_mask
    out: dict[str, float] = {
        "open_share_users": share(lab_users @ open_mask, total_users),
        "open_share_usage": share(open_usage, total_usage),
        "open_share_spend": share(spend @ open_mask, spend.sum()),
        "total_usage_mtok": float(total_usage),
        "total_spend_usd": float(spend.sum()),
    }
    out["unserved_share_usage"] = share(unserved.sum(), potential.sum())
    seg_usage = usage.sum(axis=1)  # (S, L)
    seg_open, seg_total = seg_usage @ open_mask, seg_usage.sum(axis=1)
    for s, name in enumerate(segment_names):
        out[f"open_share_usage_{name}"] = share(seg_open[s], seg_total[s])
    reg_usage = usage.sum(axis=0)  # (R, L)
    reg_open, reg_total = reg_usage @ open_mask, reg_usage.sum(axis=1)
    for r, name in enumerate(region_names):
        out[f"open_share_usage_region_{name}"] = share(reg_open[r], reg_total[r])
        out[f"unserved_share_usage_region_{name}"] = share(unserved[:, r].sum(), potential[:, r].sum())
    of_bloc = (lab_bloc[:, None] == np.arange(len(bloc_names))[None, :]).astype(float)  # (L, B)
    open_of_bloc = of_bloc * open_mask[:, None]
    bloc_usage, bloc_open = lab_usage @ of_bloc, lab_usage @ open_of_bloc  # (B,)
    reg_bloc_open = reg_usage @ open_of_bloc  # (R, B)
    for b, name in enumerate(bloc_names):
        out[f"usage_share_origin_{name}"] = share(bloc_usage[b], total_usage)
        out[f"open_usage_share_origin_{name}"] = share(bloc_open[b], open_usage)
        for r, region in enumerate(region_names):
            out[f"region_{region}_open_share_from_{name}"] = share(reg_bloc_open[r, b], reg_total[r])
    for r, region in enumerate(region_names):
        if region in bloc_names:  # a region that is also a bloc: home-grown vs foreign open models (F9, F10)
            home = bloc_names.index(region)
            foreign = reg_usage[r] @ (open_mask * (lab_bloc != home))
            out[f"region_{region}_open_share_domestic"] = share(reg_bloc_open[r, home], reg_total[r])
            out[f"region_{region}_open_share_foreign"] = share(foreign, reg_total[r])
    open_lab_usage = lab_usage[is_open]
    out["top_open_share_of_open_usage"] = (
        share(open_lab_usage.max(), open_usage) if open_lab_usage.size else 0.0
    )
    out["hhi_usage"] = hhi(lab_usage)
    out["hhi_open_usage"] = hhi(open_lab_usage) if open_lab_usage.size else 0.0
    closed_usage = lab_usage[~is_open]
    closed_total = closed_usage.sum()
    out["closed_providers_over_5pct"] = (
        float(np.sum(closed_usage > 0.05 * closed_total)) if closed_total > 0 else 0.0
    )
    return out


def own_state_shares(usage: np.ndarray, owned: np.ndarray, segment_names: list[str]) -> dict[str, float]:
    """Share of usage on models the adopter's own state co-owns (a consortium, F12), overall and by segment,
    from the (S, R, L+1) usage tally and the (R, L) ownership matrix."""
    usage = usage[:, :, :-1]
    own = (usage * owned[None, :, :]).sum(axis=2)  # (S, R)
    total = usage.sum(axis=2)
    out = {"own_state_share_usage": share(own.sum(), total.sum())}
    for s, name in enumerate(segment_names):
        out[f"own_state_share_usage_{name}"] = share(own[s].sum(), total[s].sum())
    return out


def compute(model: EcosystemModel) -> dict[str, Any]:
    """All model-level metrics for the current tick, as one flat dict of numbers (plus the date)."""
    offerings = model.offerings  # the market's columns: labs, then open weights left by closed labs
    is_open = np.array([x.is_open for x in offerings])
    _, owned, lab_bloc = model.market_parameters()  # (R, L) co-owned, (L,) bloc index
    price = np.array([x.price_usd_per_mtok() for x in offerings])
    row: dict[str, Any] = {"tick": model.tick, "date": model.date}
    row.update(model.history.gaps())
    row.update(
        market_shares(
            model.users,
            model.usage,
            is_open,
            lab_bloc,
            price,
            model.segment_names,
            model.region_names,
            model.bloc_names,
        )
    )
    row.update(own_state_shares(model.usage, owned, model.segment_names))
    labs = model.lab_list
    n_labs = len(labs)  # labs alive and training runs: labs only
    active, is_open, lab_bloc = model.lab_active_mask(), is_open[:n_labs], lab_bloc[:n_labs]
    runs = np.where(active, model.lab_vector("training_flop"), 0.0)
    for b, name in enumerate(model.bloc_names):  # largest training run by bloc (F2, F15)
        row[f"max_training_flop_{name}"] = float(runs[lab_bloc == b].max(initial=0.0))
    row["frontier_training_flop"] = float(runs.max(initial=0.0))
    for b, name in enumerate(model.bloc_names):
        row[f"labs_alive_{name}"] = int(np.sum(active & (lab_bloc == b)))
    row["labs_alive_open"] = int(np.sum(active & is_open))
    row["labs_alive_closed"] = int(np.sum(active & ~is_open))
    options = [lab.release_option for lab in labs if lab.active]
    for option in BAN_ANSWERS:  # how labs answer an open-weight ban (F9)
        row[f"labs_release_{option}"] = options.count(option)
    return row


BAN_ANSWERS = BAN_OPTIONS  # release options only a binding ban offers


def lab_reporters(segment_names: list[str]) -> dict[str, Any]:
    """DataCollector agent reporters: the per-lab time series (units in the names)."""
    reporters: dict[str, Any] = {
        "lab": "name",
        "kind": "kind",  # "lab", or "open_weights" left on the market by a lab that turned closed
        "bloc": "bloc",
        "open": "is_open",
        "release": "release_option",  # how its current model was released: open, closed, capped, offshore, defy
        "alive": "active",
        "capability_true_eci": "capability_true_eci",
        "capability_benchmark_eci": "capability_benchmark_eci",
        "internal_capability_eci": "internal_capability_eci",
        "compute_flop_per_month": "compute_flop_per_month",
        "training_flop": "training_flop",
        "cash_usd": "cash_usd",
        "runway_months": "runway_months",
        "revenue_usd": "revenue_usd",
        "raised_usd": "raised_usd",
        "compute_spend_usd": "compute_spend_usd",
        "costs_usd": "costs_usd",  # staff, serving and distillation
        "subsidy_usd": "subsidy_received_usd",
        "patron_support": "patron_support",  # patron money relative to plan (follows adoption)
        "build_limited": "build_limited",  # True: the build-out limit, not money, set the purchase
        "know_how_eci": "know_how_eci",
        "training_efficiency": "training_efficiency",  # own x learnt from others
        "serving_cost_usd_per_mtok": "serving_cost",
        "users": "users",
        "usage_mtok": "usage_mtok",
        "price_usd_per_mtok": _LabPrice(),
    }
    for s, name in enumerate(segment_names):
        reporters[f"users_{name}"] = _LabSegmentUsers(s)
    return reporters


class LabRow:
    """One lab's values of :func:`lab_reporters` (attribute names first, then callables) as a tuple, read with
    one ``attrgetter``: Mesa's ``DataCollector`` calls each reporter on each lab, about 350 calls a tick with
    14 labs (``model.Collector``)."""

    def __init__(self, reporters: dict[str, Any]):
        kinds = [isinstance(r, str) for r in reporters.values()]
        if kinds != sorted(kinds, reverse=True):
            raise ValueError("lab reporters: attribute names must come before callables")
        self._attrs = operator.attrgetter(*(r for r in reporters.values() if isinstance(r, str)))
        self._calls = [r for r in reporters.values() if not isinstance(r, str)]

    def __call__(self, entry: Any) -> tuple[Any, ...]:
        return (*self._attrs(entry), *(call(entry) for call in self._calls))


class _LabPrice:
    def __call__(self, lab: Any) -> float:
        return lab.price_usd_per_mtok()


class _LabSegmentUsers:
    def __init__(self, s: int):
        self.s = s

    def __call__(self, lab: Any) -> int:
        return int(lab.users_by_segment[self.s])
