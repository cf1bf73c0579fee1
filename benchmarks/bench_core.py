"""Core speed figures (printed, not a timed test).

    python benchmarks/bench_core.py [--repeats 3]

1. One 48-month baseline replicate (model built + 47 steps + tables), with 10,000 and 100,000 adopters
   (targets: under 0.5 s and under 3 s on a 2-core machine).
2. The model's time per tick against a pure-numpy reference of the same adopter computation written
   here (reconsideration, Gumbel-top-k consideration set, utility, switching cost, tallies; the Gumbel noise drawn
   as the model draws it, ``population.gumbel``), on the same
   labs and adopters (aim: within 1.5x).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from simulation.agents.population import gumbel  # noqa: E402
from simulation.config import load_scenario, with_changes  # noqa: E402
from simulation.experiments.runner import ReplicateSpec, run_replicate  # noqa: E402
from simulation.model import EcosystemModel  # noqa: E402


def time_replicate(n: int, repeats: int) -> float:
    scenario = with_changes(load_scenario("baseline"), {"adopters.n": n})
    spec = ReplicateSpec(scenario, 0, 1, (0,))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_replicate(spec)
        best = min(best, time.perf_counter() - t0)
    return best


def reference_ticks(model: EcosystemModel, ticks: int, seed: int = 0) -> float:
    """Pure numpy: the adopter step alone, on the model's arrays and its labs as they stand."""
    pop = model.population
    market = model.market()
    world = model.params.world
    rng = np.random.default_rng(seed)
    seg, n, n_labs = pop.segment, pop.n, market.available.size
    choice = pop.choice.copy()
    tw = pop.terms.true_w[seg][:, None]
    trust_weight = np.where(market.is_open, pop.terms.open_trust_weight, 1.0)
    t0 = time.perf_counter()
    for tick in range(ticks):
        idx = np.flatnonzero(rng.random(n) < pop.reconsider_rate[seg])
        s = seg[idx]
        allowed = np.broadcast_to(market.available, (idx.size, n_labs)) & ~(
            pop.open_only[s][:, None] & ~market.is_open[None, :]
        )
        pop_w = np.log(pop.popularity[s] ** world.popularity_exponent + world.popularity_floor)
        score = pop_w + np.log(world.recency_boost) * market.recent[None, :] + market.affinity[s]
        score += gumbel(rng, (idx.size, n_labs))
        score[~allowed] = -np.inf
        k = pop.consider_k[s]
        threshold = -np.sort(-score, axis=1)[np.arange(idx.size), k - 1]
        considered = (score >= threshold[:, None]) & allowed
        cur = choice[idx]
        considered[np.arange(idx.size), cur] |= allowed[np.arange(idx.size), cur]
        perceived = tw[idx] * market.true_eci + (1 - tw[idx]) * market.benchmark_eci
        d = perceived - (pop.need0_eci[idx] + pop.need_growth[s] * tick)[:, None]
        u = pop.shortfall_w[s][:, None] * np.minimum(d, 0) + pop.surplus_w[s][:, None] * np.maximum(d, 0)
        u -= pop.terms.price_sens[s][:, None] * market.log_price
        u += (
            pop.control[idx][:, None] * market.is_open
            + pop.trust[idx][:, market.bloc] * trust_weight
            + market.affinity[s]
        )
        u += gumbel(rng, (idx.size, n_labs))
        u[~considered] = -np.inf
        best = np.argmax(u, axis=1)
        gain = u[np.arange(idx.size), best] - u[np.arange(idx.size), cur]
        choice[idx] = np.where(gain > pop.switching_cost[idx], best, cur)
        usage = pop.base_usage_mtok * pop.usage_growth[seg] ** (tick / 12)
        column = np.where(choice < 0, n_labs, choice)  # adopters without a model: the last column
        key = (seg.astype(np.int64) * len(pop.region_names) + pop.region) * (n_labs + 1) + column
        np.bincount(
            key, weights=usage, minlength=len(pop.segment_names) * len(pop.region_names) * (n_labs + 1)
        )
    return (time.perf_counter() - t0) / ticks


def model_ticks(n: int, ticks: int) -> tuple[float, EcosystemModel]:
    model = EcosystemModel("baseline", seed=1, n_adopters=n)
    t0 = time.perf_counter()
    for _ in range(ticks):
        model.step()
    return (time.perf_counter() - t0) / ticks, model


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  numpy {np.__version__}")
    for n, target in ((10_000, 0.5), (100_000, 3.0)):
        best = time_replicate(n, args.repeats)
        print(
            f"48-month baseline replicate, {n:>7,} adopters: {best:6.3f} s (best of {args.repeats}; target < {target} s)"
        )
    for n in (10_000, 100_000):
        per_tick, model = model_ticks(n, 47)
        ref = min(reference_ticks(model, 47, seed=r) for r in range(args.repeats))
        print(
            f"tick time, {n:>7,} adopters: model {per_tick * 1e3:6.2f} ms, pure-numpy adopter reference "
            f"{ref * 1e3:6.2f} ms, ratio {per_tick / ref:4.2f}x (aim <= 1.5x)"
        )


if __name__ == "__main__":
    main()
