"""Agent-based simulation of the open-weight vs closed AI model ecosystem (Mesa)."""

from .calibrate import calibrate
from .compare import CompareError, compare
from .config import Scenario, ScenarioError, load_scenario
from .config.parameters import parameters
from .experiments import Results, simulate
from .levers import lever_effects
from .sweep import sweep

run = simulate  # ``simulation.run(scenario, replicates=20, seed=1) -> Results``
# ``simulation.compare([run_dir, ...], reference=None, out="outputs") -> Path`` (the function shadows the
# module of the same name; import its other names with ``from simulation.compare import ...``)
# ``simulation.sweep(base, parameters, sampler=..., n=...) -> SweepResult`` (likewise shadows the package
# of the same name; import its other names with ``from simulation.sweep import ...``); so does
# ``simulation.calibrate(spec, out=None, jobs=None) -> CalibrationResult`` (ABC-SMC, extra ``.[calibrate]``)

__version__ = "0.1.0"

__all__ = [
    "CompareError",
    "Results",
    "Scenario",
    "ScenarioError",
    "__version__",
    "calibrate",
    "compare",
    "lever_effects",
    "load_scenario",
    "parameters",
    "run",
    "simulate",
    "sweep",
]
