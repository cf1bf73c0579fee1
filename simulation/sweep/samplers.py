"""Sample designs: a full grid, or SALib's Latin hypercube, Sobol' (Saltelli) and Morris samples.

A design is a matrix in *sampler space* (one column per parameter; log10 of the value for ``log``
ranges), which is what SALib's analysis needs back; :func:`sample_values` turns it into the values the
runs use (powers of ten undone, whole numbers rounded for integer fields).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import numpy as np

from .spec import ParamSpec, SweepSpec

Kind = Literal["float", "int", "bool", "str"]


def problem(spec: SweepSpec) -> dict[str, Any]:
    """SALib's problem dict: names and bounds in sampler space."""
    bounds = []
    for p in spec.parameters.values():
        lo, hi = float(p.low or 0.0), float(p.high or 0.0)
        bounds.append([math.log10(lo), math.log10(hi)] if p.log else [lo, hi])
    return {"num_vars": len(spec.parameters), "names": list(spec.parameters), "bounds": bounds}


def design(spec: SweepSpec) -> np.ndarray | None:
    """The sample matrix in sampler space (samples x parameters); None for a grid (see ``sample_values``)."""
    if spec.sampler == "grid":
        return None
    prob = problem(spec)
    if spec.sampler == "lhs":
        from SALib.sample import latin

        return np.asarray(latin.sample(prob, spec.n, seed=spec.seed), dtype=float)
    if spec.sampler == "sobol":
        from SALib.sample import sobol

        return np.asarray(
            sobol.sample(prob, spec.n, calc_second_order=spec.second_order, seed=spec.seed), dtype=float
        )
    from SALib.sample import morris

    return np.asarray(morris.sample(prob, spec.n, num_levels=spec.levels, seed=spec.seed), dtype=float)


def coerce(value: Any, kind: Kind) -> Any:
    """A value as the parameter's field type takes it (floats rounded for whole-number fields)."""
    if kind == "float":
        return float(value)
    if kind == "int":
        return round(value) if isinstance(value, float) else int(value)
    if kind == "bool":
        return value if isinstance(value, bool) else bool(value)
    return None if value is None else str(value)


def grid_axis(p: ParamSpec, n: int | None, kind: Kind) -> list[Any]:
    """A grid's points for one parameter: its values, or ``n`` even (or log-even) points of its range."""
    if p.values is not None:
        raw: list[Any] = list(p.values)
    elif p.log:
        raw = list(np.geomspace(float(p.low or 0), float(p.high or 0), n))
    else:
        raw = list(np.linspace(float(p.low or 0), float(p.high or 0), n))
    return list(dict.fromkeys(coerce(v.item() if hasattr(v, "item") else v, kind) for v in raw))


def sample_values(spec: SweepSpec, kinds: dict[str, Kind], matrix: np.ndarray | None) -> list[dict[str, Any]]:
    """One dict (parameter path -> value as run) per sample, in sample order."""
    if spec.sampler == "grid":
        axes = [grid_axis(p, spec.n, kinds[path]) for path, p in spec.parameters.items()]
        return [dict(zip(spec.parameters, combo, strict=True)) for combo in itertools.product(*axes)]
    assert matrix is not None
    rows = []
    for x in matrix:
        row = {}
        for (path, p), v in zip(spec.parameters.items(), x, strict=True):
            value = 10.0 ** float(v) if p.log else float(v)
            value = min(max(value, float(p.low or 0)), float(p.high or 0))  # float round-off at the ends
            row[path] = coerce(value, kinds[path])
        rows.append(row)
    return rows
