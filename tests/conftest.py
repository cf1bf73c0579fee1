"""Shared fixtures: a small hand-made scenario (3 labs, 2 blocs, 2 segments, 2 regions, 300 adopters) so
mechanism tests can be computed by hand and run in milliseconds."""

from __future__ import annotations

import copy
import os
import select
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from simulation.config import Scenario, scenario_from_dict, with_changes

# Lab order (= index in the adopter arrays) follows the mapping order below.
CLOSED_US, OPEN_US, OPEN_CN = "closed_us", "open_us", "open_cn"

SMALL_SCENARIO: dict[str, Any] = {
    "name": "small",
    "description": "Hand-made test scenario: one closed US lab, one open US lab, one open Chinese lab.",
    "start": "2025-01",
    "months": 12,
    "seed": 7,
    "replicates": 2,
    "world": {
        "eci_per_decade_compute": 6.0,
        "run_months": 4.0,
        "training_lag_months": 2,
        "compute_price_usd_per_flop_month": 5e-17,
        "compute_price_decline_per_year": 0.3,
        "compute_depreciation_per_month": 0.03,
        "market_mtok_per_month": 1e6,
    },
    "blocs": {
        "us": {"capital_multiplier": 1.0, "compute_price_multiplier": 1.0, "distillation_access": 1.0},
        "china": {"capital_multiplier": 1.0, "compute_price_multiplier": 2.0, "distillation_access": 1.0},
    },
    "labs": {
        CLOSED_US: {
            "bloc": "us",
            "release_policy": "closed",
            "initial_capability_eci": 130.0,
            "benchmark_focus_eci": 0.5,
            "initial_know_how_eci": 120.4,  # 130 - 6 log10(4e26 / 1e25)
            "initial_compute_flop_per_month": 1e26,
            "staff_usd_per_month": 1e8,
            "initial_cash_usd": 2e10,
            "fundraise_probability_per_month": 0.2,
            "release_cadence_months": 4,
            "release_offset_months": 2,
            "price_usd_per_mtok": 5.0,
        },
        OPEN_US: {
            "bloc": "us",
            "release_policy": "open",
            "initial_capability_eci": 120.0,
            "benchmark_focus_eci": 1.0,
            "initial_know_how_eci": 116.4,  # 120 - 6 log10(4e25 / 1e25)
            "initial_compute_flop_per_month": 1e25,
            "staff_usd_per_month": 2e7,
            "initial_cash_usd": 3e9,
            "subsidy_usd_per_month": 5e7,
            "distillation_ability": 0.2,
            "release_cadence_months": 5,
            "release_offset_months": 1,
        },
        OPEN_CN: {
            "bloc": "china",
            "release_policy": "open",
            "initial_capability_eci": 124.0,
            "benchmark_focus_eci": 4.0,
            "initial_know_how_eci": 122.8,  # 124 - 6 log10(1.6e25 / 1e25)
            "initial_compute_flop_per_month": 1e24,
            "staff_usd_per_month": 1e7,
            "initial_cash_usd": 1e9,
            "training_efficiency": 4.0,
            "distillation_ability": 0.6,
            "release_cadence_months": 3,
            "release_offset_months": 3,
        },
    },
    "adopters": {
        "n": 300,
        "burn_in_months": 3,
        "segments": {
            "general": {
                "adopter_share": 0.7,
                "usage_share": 0.8,
                "need_eci": 125.0,
                "demanding": True,
                "reconsider_rate_per_month": 0.2,
                "consideration_size": 2,
            },
            "local": {
                "adopter_share": 0.3,
                "usage_share": 0.2,
                "need_eci": 115.0,
                "open_only": True,
                "reconsider_rate_per_month": 0.2,
                "consideration_size": 2,
            },
        },
        "regions": {
            "us": {"adopter_share": 0.6, "trust_by_bloc": {"us": 0.3, "china": -0.5}},
            "china": {"adopter_share": 0.4, "trust_by_bloc": {"us": -1.0, "china": 0.5}},
        },
    },
    "prehistory": {
        "closed_focus_eci": 0.5,
        "open_focus_eci": 3.0,
        "points": [
            {"date": "2024-06", "closed_eci": 126.0, "open_eci": 116.0},
            {"date": "2024-12", "closed_eci": 130.5, "open_eci": 127.0},
        ],
    },
    "events": [],
}


@pytest.fixture
def scenario_dict() -> dict[str, Any]:
    """A fresh deep copy of the small scenario as a plain mapping (safe to edit)."""
    return copy.deepcopy(SMALL_SCENARIO)


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """The small scenario, validated by the loader."""
    return scenario_from_dict(copy.deepcopy(SMALL_SCENARIO))


@pytest.fixture
def make_scenario(small_scenario: Scenario) -> Callable[..., Scenario]:
    """``make_scenario({dotted.path: value, ...})``: the small scenario with changes applied."""

    def _make(changes: Mapping[str, Any] | None = None) -> Scenario:
        return with_changes(small_scenario, dict(changes)) if changes else small_scenario

    return _make


@pytest.fixture
def make_model(make_scenario: Callable[..., Scenario]) -> Callable[..., Any]:
    """``make_model({dotted.path: value}, seed=3)``: an EcosystemModel of the small scenario at tick 0."""
    from simulation.model import EcosystemModel

    def _make(changes: Mapping[str, Any] | None = None, seed: int = 3) -> EcosystemModel:
        return EcosystemModel(make_scenario(changes), seed=seed)

    return _make


def lab_by_name(model: Any, name: str) -> Any:
    """The Lab agent called ``name`` (labs are Mesa agents of type Lab)."""
    from simulation.agents import Lab

    (lab,) = [agent for agent in model.agents_by_type[Lab] if agent.name == name]
    return lab


def wait_for_exit(pids: Iterable[int], timeout: float) -> list[int]:
    """Block until every process in ``pids`` has exited (a zombie counts as exited), woken by the kernel's
    exit notification on a pidfd for each (Linux 5.3+), not by polling on a clock; returns the pids still
    running after ``timeout`` seconds. A pid that is already gone counts as exited."""
    fds: dict[int, int] = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    try:
        while fds:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for fd, _ in poller.poll(remaining * 1000):
                poller.unregister(fd)
                os.close(fd)
                del fds[fd]
    finally:
        for fd in fds:
            os.close(fd)
    return sorted(fds.values())


def wait_for_first_exit(pids: Iterable[int], timeout: float) -> int | None:
    """Block until one of ``pids`` exits (pidfd exit notification); its pid, or None after ``timeout``."""
    fds = {os.pidfd_open(pid): pid for pid in pids}
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        ready = poller.poll(timeout * 1000)
        return fds[ready[0][0]] if ready else None
    finally:
        for fd in fds:
            os.close(fd)
