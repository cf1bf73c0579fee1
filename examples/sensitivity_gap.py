"""What drives the capability gap? Sobol' indices over four levers of the baseline, in under a minute.

    python examples/sensitivity_gap.py [--executor dask] [--workers 2]

A reduced sweep (2,000 adopters, 24 months, n=16: 16 x (4 + 2) = 96 runs); for conclusions raise ``n``
(64 or more) and drop ``n_adopters`` and ``months``. Figures go to outputs/examples/sensitivity_gap/.
"""

from __future__ import annotations

import argparse

import pandas as pd

import simulation

PARAMETERS = {
    "labs.deepseek.training_efficiency": {"low": 1.0, "high": 8.0, "log": True},  # F15, F18
    "world.distillation_efficacy": (0.02, 0.15),  # F5
    "world.rl_gain_eci_per_month": (0.1, 1.0),  # F6
    "blocs.china.capital_multiplier": (0.2, 2.0),  # F7
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    res = simulation.sweep(
        "baseline",
        PARAMETERS,
        sampler="sobol",
        n=16,
        n_adopters=2_000,
        months=24,
        outcomes=["gap_months_true_mean", "open_share_usage_end", "gap_months_true"],
        executor=args.executor,
        workers=args.workers,
        seed=1,
        common_seeds=True,  # replicate r of every sample shares random numbers
    )
    print(f"{len(res.runs)} runs, {len(res.failures)} failed")
    for outcome in ("gap_months_true_mean", "open_share_usage_end"):
        print(f"\nSobol' indices of {outcome} (95% intervals are wide at n=16):")
        print(res.indices(outcome).round(2).to_string(index=False))
    by_month = res.indices_by_tick("gap_months_true")
    print("\nTotal-order index of the gap, every 6 months:")
    table = by_month[by_month["tick"] % 6 == 5].pivot(index="date", columns="parameter", values="ST")
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(table.round(2))
    paths = res.plot("outputs/examples/sensitivity_gap")
    print(f"\n{len(paths)} figures in outputs/examples/sensitivity_gap/")


if __name__ == "__main__":  # needed for executor="dask", whose workers start by importing this file
    main()
