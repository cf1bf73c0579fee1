"""Agent-based simulation of the open-weight vs closed AI model ecosystem (Mesa)."""

from .config import Scenario, ScenarioError, load_scenario

__version__ = "0.1.0"

__all__ = ["Scenario", "ScenarioError", "__version__", "load_scenario"]
