"""Scenario configuration: schema (typed, frozen) and loader (files, extends, distributions, errors)."""

from .base import add_months, months_between
from .loader import ScenarioError, load_scenario, pin, scenario_from_dict, with_changes
from .schema import Scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "add_months",
    "load_scenario",
    "months_between",
    "pin",
    "scenario_from_dict",
    "with_changes",
]
