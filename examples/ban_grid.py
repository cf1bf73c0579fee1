"""The open-weight ban over its threshold and its enforcement: a grid, in under a minute.

    python examples/ban_grid.py [--executor dask] [--workers 2]

3 thresholds x 3 enforcement levels x 2 replicates = 18 runs of the ban scenario with 2,000 adopters over
36 months (the ban starts in month 12). ``sweeps/ban_threshold.yaml`` is the full-size version. Figures
(heatmaps) go to outputs/examples/ban_grid/.
"""

from __future__ import annotations

import argparse

import simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    res = simulation.sweep(
        "ban",
        {
            "policy.ban.threshold_flop": {"low": 1e25, "high": 1e27, "log": True},
            "policy.ban.enforcement": [0.0, 0.5, 1.0],
        },
        sampler="grid",
        n=3,
        replicates=2,
        n_adopters=2_000,
        months=36,
        outcomes=["region_us_open_share_domestic_end", "region_us_open_share_foreign_end"],
        executor=args.executor,
        workers=args.workers,
        seed=1,
        common_seeds=True,  # replicate r of every cell shares random numbers
    )
    print(f"{len(res.runs)} runs, {len(res.failures)} failed")
    for outcome in res.scalars:
        table = res.runs.pivot_table(
            index="policy.ban.enforcement", columns="policy.ban.threshold_flop", values=outcome
        )
        print(f"\n{outcome} (mean of replicates; rows: enforcement, columns: threshold FLOP)")
        print(table.rename(columns=lambda v: f"{v:.0e}").round(3))
    paths = res.plot("outputs/examples/ban_grid")
    print(f"\n{len(paths)} figures in outputs/examples/ban_grid/")


if __name__ == "__main__":  # needed for executor="dask", whose workers start by importing this file
    main()
