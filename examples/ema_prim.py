"""Scenario discovery with the EMA Workbench: which uncertainties and levers leave a wide benchmark gap?

    python examples/ema_prim.py [--experiments 400] [--processes 2] [--outcome gap_months_benchmark_end]
                                [--threshold 9] [--min-density 0.8]

Builds the baseline as an EMA model (``simulation.ema.ema_model``: the scenario's uncertain parameters, one
more uncertainty, and the what-if levers, sampled jointly by Latin hypercube), runs the experiments over
processes, and runs PRIM on "``outcome`` above ``threshold``". Prints the peeling trajectory and the box
with the highest coverage among those with density at least ``min-density``; writes the experiments,
trajectory and box limits as CSV and two figures to outputs/ema/. A reduced run (1,000 adopters, 36
months, one replicate per experiment, about a minute on 2 cores); for conclusions use more experiments,
adopters and replicates. Needs the ``ema`` extra (``pip install -e ".[ema]"``).
"""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.ema import ema_model, inputs_table

EXTRA = {"labs.deepseek.training_efficiency": (1.0, 8.0)}  # F15, F18: as examples/sensitivity_gap.py
OUTCOMES = ["gap_months_benchmark_end", "gap_months_true_end", "gap_months_true_mean", "open_share_usage_end"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=400, help="Latin hypercube samples (default 400)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes; 1 runs serially")
    parser.add_argument("--outcome", default="gap_months_benchmark_end", choices=OUTCOMES)
    parser.add_argument("--threshold", type=float, default=9.0, help="cases of interest: outcome above this")
    parser.add_argument("--min-density", type=float, default=0.8, help="least density of the box shown")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--adopters", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the Latin hypercube sample")
    parser.add_argument("--out", default="outputs/ema", help="output folder (default outputs/ema)")
    args = parser.parse_args()

    import ema_workbench as ema
    from ema_workbench.analysis import prim

    model = ema_model(
        "baseline",
        months=args.months,
        n_adopters=args.adopters,
        uncertainties=EXTRA,
        outcomes=OUTCOMES,
        levers_as_uncertainties=True,  # sample levers with the uncertainties: discovery over both
    )
    print(f"EMA Workbench {ema.__version__}; inputs of the model:")
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(
            inputs_table(model)[["name", "role", "path", "low", "high", "transform"]].to_string(index=False)
        )

    started = time.perf_counter()
    sampling = _sampling_kwargs(ema, args.seed)
    if args.processes > 1:
        with ema.MultiprocessingEvaluator(model, n_processes=args.processes) as evaluator:
            experiments, outcomes = evaluator.perform_experiments(args.experiments, **sampling)
    else:
        experiments, outcomes = ema.perform_experiments(model, args.experiments, **sampling)
    print(f"\n{len(experiments)} experiments in {time.perf_counter() - started:.0f} s")

    names = [i for i in inputs_table(model)["name"]]
    x = experiments[names].copy()
    x["ban"] = x["ban"].astype(float)  # on/off as 0/1: PRIM's categorical boxes do not work on pandas >= 2.2
    scalars = pd.DataFrame({k: v for k, v in outcomes.items() if np.ndim(v) == 1})
    y = scalars[args.outcome].to_numpy() > args.threshold
    print(f"cases of interest: {args.outcome} > {args.threshold:g} in {y.sum()} of {len(y)} ({y.mean():.0%})")
    if not 0 < y.sum() < len(y):
        raise SystemExit("no contrast to explain: change --threshold")

    # EMA 2.x requires a density threshold; 3.0 dropped it (every box is returned)
    extra = {"threshold": args.min_density} if "threshold" in inspect.signature(prim.Prim).parameters else {}
    box = prim.Prim(x, y, **extra).find_box()
    trajectory = box.peeling_trajectory
    dense = trajectory[trajectory["density"] >= args.min_density]
    i = int(dense["coverage"].idxmax()) if len(dense) else int(trajectory["density"].idxmax())
    print("\nPeeling trajectory (every 4th box, and the chosen one):")
    shown = trajectory[(trajectory.index % 4 == 0) | (trajectory.index == i)]
    print(shown[["coverage", "density", "mass", "res_dim"]].round(3).to_string())

    limits = box.box_lims[i]
    restricted = [c for c in limits.columns if not np.isclose(limits[c], box.box_lims[0][c]).all()]
    row = trajectory.loc[i]
    print(
        f"\nBox {i}: coverage {row['coverage']:.2f}, density {row['density']:.2f}, "
        f"{int(row['res_dim'])} restricted dimension(s), {row['mass']:.0%} of the experiments"
    )
    for name in restricted:
        low, high = limits[name]
        text = ("on" if low > 0 else "on or off") if name == "ban" else f"{low:.4g} to {high:.4g}"
        print(f"  {name:40s} {text}")
    print("\nEMA's view of the box (quasi-p-values: small = the restriction is significant):")
    box.inspect(i)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([experiments[names], scalars], axis=1).to_csv(out / "experiments.csv", index=False)
    trajectory.to_csv(out / "peeling_trajectory.csv")
    limits[restricted].T.set_axis(["low", "high"], axis=1).to_csv(out / "box_limits.csv")
    _figure(box.show_tradeoff()).savefig(out / "prim_tradeoff.png", dpi=120, bbox_inches="tight")
    _figure(box.inspect(i, style="graph")).savefig(out / "prim_box.png", dpi=120, bbox_inches="tight")
    print(
        f"\nWrote experiments.csv, peeling_trajectory.csv, box_limits.csv, prim_tradeoff.png, prim_box.png to {out}/"
    )


def _figure(drawn):
    """The matplotlib figure in what EMA's plotting returns (a figure, a list of them, or (figure, axes))."""
    while isinstance(drawn, list | tuple):
        drawn = drawn[0]
    return drawn if hasattr(drawn, "savefig") else drawn.figure


def _sampling_kwargs(ema, seed: int) -> dict:
    """A reproducible Latin hypercube: EMA 3 takes a seed, EMA 2 draws from numpy's global generator."""
    if int(ema.__version__.split(".")[0]) >= 3:
        return {"uncertainty_sampling_kwargs": {"rng": seed}}
    np.random.seed(seed)
    return {}


if __name__ == "__main__":  # needed: EMA's worker processes start by importing this file (spawn)
    main()
