"""The benchmark scripts read the model's internals (the pure-numpy reference of the adopter step reads the
population's arrays): a change to those must not break them silently. Tiny sizes; timings are not checked."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_core_reference_step_runs_on_the_model_s_arrays() -> None:
    bench = load("bench_core")
    per_tick, model = bench.model_ticks(300, 2)
    assert per_tick > 0
    assert bench.reference_ticks(model, 2, seed=0) > 0


def test_bench_core_times_a_replicate() -> None:
    assert load("bench_core").time_replicate(200, 1) > 0
