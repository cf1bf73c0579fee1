"""The what-if page's levers and how they change a shipped scenario.

A lever left at the scenario's own value changes nothing. A moved lever becomes a dotted override or, when
one of the scenario's dated events sets the same parameter, changes that event's value (so the Chinese
capital multiplier in ``china_funding_squeeze`` is the depth of the squeeze from 2026-07 on); a parameter
set by a moved lever is no longer drawn per replicate. The open-weight ban is the event ``{at: ban_from,
set: {policy.ban.active: true}}``; consortium members are the labs the consortium's event tops up.
Everything is validated by the loader (``with_changes``): a bad value raises
:class:`~simulation.config.ScenarioError` with the loader's one-line message. Only shipped scenarios are
used, by name: any other value (a path, say) raises :class:`NotShipped` before anything is read.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..config import Scenario, ScenarioError, add_months, load_scenario, with_changes
from ..config.loader import SCENARIO_DIR, get_path, posterior_columns

NAME_SHOWN = 60  # characters of a refused scenario value echoed in the message
ADOPTERS = 3_000  # fewer than a full run's 10,000, so stepping and re-running feel immediate
BAN_ACTIVE = "policy.ban.active"
CONSORTIUM = "consortium"
SUPERPOWER_BLOCS = ("us", "china")  # consortium members are open labs outside these
MEMBER_TEMPLATE: dict[str, Any] = {"subsidy_usd_per_month": 5e7}  # members are topped up, not co-owned
# Levers field -> (dotted parameter path, parameter units per page unit)
VALUE_LEVERS: dict[str, tuple[str, float]] = {
    "ban_threshold_flop": ("policy.ban.threshold_flop", 1.0),
    "china_capital": ("blocs.china.capital_multiplier", 1.0),
    "china_compute_price": ("blocs.china.compute_price_multiplier", 1.0),
    "distillation_efficacy": ("world.distillation_efficacy", 1.0),
    "consortium_budget_musd": (f"labs.{CONSORTIUM}.subsidy_usd_per_month", 1e6),
}
LABELS = {
    "ban_threshold_flop": "ban threshold {} FLOP",
    "china_capital": "Chinese capital multiplier {}",
    "china_compute_price": "Chinese compute price multiplier {}",
    "distillation_efficacy": "distillation efficacy {}",
    "consortium_budget_musd": "consortium budget ${}M a month",
}


@dataclass(frozen=True)
class Levers:
    """What a workshop participant moves. ``consortium_budget_musd`` is None when the scenario has no
    consortium lab; ``ban_from`` matters only with ``ban`` on."""

    scenario: str = "baseline"
    seed: int = 1
    ban: bool = False
    ban_from: str = "2026-01"
    ban_threshold_flop: float = 1e26
    china_capital: float = 1.0
    china_compute_price: float = 1.8
    distillation_efficacy: float = 0.08
    consortium_budget_musd: float | None = None
    consortium_members: tuple[str, ...] = ()


class NotShipped(ScenarioError):
    """A scenario value that is not the name of a shipped scenario (nothing was read)."""

    def __init__(self, name: object, names: list[str]):
        if isinstance(name, str):
            shown = repr(name[:NAME_SHOWN]) + ("..." if len(name) > NAME_SHOWN else "")
        else:
            shown = f"a {type(name).__name__}"
        super().__init__("scenario", "", f"{shown} is not a shipped scenario (one of: {', '.join(names)})")


def scenario_names() -> list[str]:
    """The shipped scenarios, by name."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def check_shipped(name: object) -> str:
    """``name`` if it names a shipped scenario; otherwise NotShipped, before any file is opened."""
    names = scenario_names()
    if isinstance(name, str) and name in names:
        return name
    raise NotShipped(name, names)


def shipped(name: str) -> Scenario:
    """A shipped scenario as loaded (read once: scenarios are frozen); NotShipped for any other value."""
    return _load_shipped(check_shipped(name))


@cache
def _load_shipped(name: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{name}.yaml")  # by path: a file named like it in the cwd is not it


def defaults(scenario: str) -> Levers:
    """The levers where the shipped scenario puts them."""
    return _defaults(shipped(scenario), scenario)


def build(levers: Levers, n_adopters: int | None = ADOPTERS) -> Scenario:
    """The what-if scenario: the shipped one with the moved levers (raises ScenarioError)."""
    base = shipped(levers.scenario)
    delta = changes(levers, base)
    if n_adopters is not None:
        delta["adopters.n"] = int(n_adopters)
    return with_changes(base, delta) if delta else base


def changes(levers: Levers, base: Scenario) -> dict[str, Any]:
    """Dotted-path overrides that turn ``base`` into the what-if scenario (empty: nothing moved)."""
    start = _defaults(base, levers.scenario)
    dump = base.model_dump()
    events: list[dict[str, Any]] = copy.deepcopy(dump["events"])
    out: dict[str, Any] = {}
    dropped: list[str] = []  # uncertain paths (or prefixes ending in ".") no longer drawn
    if levers.seed != base.seed:
        out["seed"] = levers.seed
    for name, (path, scale) in VALUE_LEVERS.items():
        value = getattr(levers, name)
        if value is None or value == getattr(start, name):
            continue
        i = _last_event_setting(base, path)
        if i is None:
            out[path] = value * scale
            dropped.append(path)
        else:
            events[i]["set"][path] = value * scale
            dropped.append(f"events.{i}.set.{path}")
    if _ban(levers) != _ban(start):
        for i, event in enumerate(events):
            if event["set"].pop(BAN_ACTIVE, None) is not None:
                dropped.append(f"events.{i}.set.{BAN_ACTIVE}")
        if base.policy.ban.active:
            out[BAN_ACTIVE] = False
        if levers.ban:
            note = f"Open-weight ban from {levers.ban_from} (what-if)"
            events.append({"at": levers.ban_from, "set": {BAN_ACTIVE: True}, "note": note})
    if levers.consortium_budget_musd is not None and set(levers.consortium_members) != set(
        start.consortium_members
    ):
        dropped += _move_members(base, events, start.consortium_members, levers.consortium_members)
    kept = [i for i, e in enumerate(events) if e["set"]]
    new_events = [events[i] for i in kept]
    if new_events != dump["events"]:
        out["events"] = new_events
    uncertain = _still_uncertain(dump["uncertain"], dropped, {old: new for new, old in enumerate(kept)})
    if uncertain != dump["uncertain"]:
        out["uncertain"] = uncertain
    # distributions and posterior columns a lever replaced with its value are pinned (recorded in a saved
    # run's manifest; a pinned posterior column is not drawn)
    moved = [p for p in [*dump["uncertain"], *posterior_columns(base.posterior)] if p in dropped]
    if moved:
        out["pinned"] = list(dict.fromkeys([*dump["pinned"], *moved]))
    return out


def describe(levers: Levers, base: Scenario) -> list[str]:
    """The moved levers in plain words (empty: the scenario as shipped)."""
    start = _defaults(base, levers.scenario)
    dates = event_dates(base)
    said = [f"seed {levers.seed}"] if levers.seed != start.seed else []
    if _ban(levers) != _ban(start):
        said.append(f"open-weight ban from {levers.ban_from}" if levers.ban else "no open-weight ban")
    for name, label in LABELS.items():
        value = getattr(levers, name)
        if value is not None and value != getattr(start, name):
            said.append(label.format(f"{value:g}") + (f" (from {dates[name]})" if name in dates else ""))
    if levers.consortium_budget_musd is not None and set(levers.consortium_members) != set(
        start.consortium_members
    ):
        said.append("consortium members: " + (", ".join(levers.consortium_members) or "none"))
    return said


def event_dates(base: Scenario) -> dict[str, str]:
    """Levers field -> month of the scenario event whose value the lever sets (levers set from the start
    are not listed)."""
    out = {}
    for name, (path, _) in VALUE_LEVERS.items():
        i = _last_event_setting(base, path)
        if i is not None:
            out[name] = base.events[i].at
    return out


def member_candidates(base: Scenario) -> list[str]:
    """Labs the consortium can top up: open labs outside the US and China blocs, other than itself."""
    return [
        name
        for name, lab in base.labs.items()
        if lab.open_at_start and lab.bloc not in SUPERPOWER_BLOCS and name != CONSORTIUM
    ]


# -- internals ---------------------------------------------------------------------------------------


def _defaults(base: Scenario, name: str) -> Levers:
    has_consortium = CONSORTIUM in base.labs
    values = {
        field: _current(base, path) / scale
        for field, (path, scale) in VALUE_LEVERS.items()
        if has_consortium or field != "consortium_budget_musd"
    }
    ban_from = _ban_start(base)
    i = _consortium_event(base)
    members = tuple(m for m in member_candidates(base) if i is not None and _sets_member(base, i, m))
    return Levers(
        scenario=name,
        seed=base.seed,
        ban=ban_from is not None,
        ban_from=ban_from or add_months(base.start, min(12, base.months - 1)),
        consortium_members=members if has_consortium else (),
        **values,
    )


def _current(base: Scenario, path: str) -> float:
    """The value a parameter ends up with: the last event setting it, else the scenario's own."""
    i = _last_event_setting(base, path)
    return float(base.events[i].set[path] if i is not None else get_path(base.model_dump(), path))


def _last_event_setting(base: Scenario, path: str) -> int | None:
    found = [i for i, e in enumerate(base.events) if path in e.set]
    return found[-1] if found else None


def _ban_start(base: Scenario) -> str | None:
    if base.policy.ban.active:
        return base.start
    return next((e.at for e in base.events if e.set.get(BAN_ACTIVE) is True), None)


def _ban(levers: Levers) -> tuple[bool, str | None]:
    return levers.ban, levers.ban_from if levers.ban else None


def _consortium_event(base: Scenario) -> int | None:
    """The first event topping up a candidate member's subsidy."""
    candidates = member_candidates(base)
    return next(
        (i for i in range(len(base.events)) if any(_sets_member(base, i, m) for m in candidates)), None
    )


def _sets_member(base: Scenario, i: int, lab: str) -> bool:
    return f"labs.{lab}.subsidy_usd_per_month" in base.events[i].set


def _move_members(
    base: Scenario, events: list[dict[str, Any]], before: tuple[str, ...], after: tuple[str, ...]
) -> list[str]:
    """Edit the consortium event in place: members dropped lose its changes for them, new members get the
    same top-up as the first shipped member. Returns the uncertain-path prefixes no longer valid."""
    i = _consortium_event(base)
    if i is None:
        enters = base.labs[CONSORTIUM].enters or base.start
        events.append({"at": enters, "set": {}, "note": "Consortium tops up member labs (what-if)"})
        i = len(events) - 1
    sets = events[i]["set"]
    template = copy.deepcopy(MEMBER_TEMPLATE)
    if before:
        prefix = f"labs.{before[0]}."
        template = {k.removeprefix(prefix): v for k, v in sets.items() if k.startswith(prefix)}
    dropped = []
    for lab in set(before) - set(after):
        for key in [k for k in sets if k.startswith(f"labs.{lab}.")]:
            del sets[key]
        dropped.append(f"events.{i}.set.labs.{lab}.")
    for lab in set(after) - set(before):
        sets.update({f"labs.{lab}.{k}": copy.deepcopy(v) for k, v in template.items()})
    return dropped


def _still_uncertain(
    uncertain: dict[str, Any], dropped: list[str], new_index: dict[int, int]
) -> dict[str, Any]:
    """Uncertain parameters not set by a lever, with event indices renumbered after removed events."""
    out = {}
    for path, dist in uncertain.items():
        if any(path == d or (d.endswith(".") and path.startswith(d)) for d in dropped):
            continue
        parts = path.split(".")
        if parts[0] == "events":
            if int(parts[1]) not in new_index:
                continue
            path = ".".join(["events", str(new_index[int(parts[1])]), *parts[2:]])
        out[path] = dist
    return out
