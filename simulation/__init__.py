"""Agent-based simulation of the open-weight vs closed AI model ecosystem (Mesa)."""

from .config import Scenario, ScenarioError, load_scenario
from .experiments import Results, simulate

run = simulate  # ``simulation.run(scenario, replicates=20, seed=1) -> Results``

__version__ = "0.1.0"

__all__ = ["Results", "Scenario", "ScenarioError", "__version__", "load_scenario", "run", "simulate"]
