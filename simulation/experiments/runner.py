"""Run a scenario: replicates with independent seeds, drawn uncertain parameters, serial or in processes.

A model run is a function of (scenario, replicate seed): ``run_replicate`` is pure and picklable, so the
same seed gives bit-identical tables whatever the number of processes (tested: serial equals parallel).
Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(replicates)`` by index; drawn values of
uncertain parameters use a stream per parameter path, so scenarios that share paths and seeds share draws
(common random numbers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Scenario, load_scenario, months_between, pin, with_changes
from ..config.loader import SCENARIO_DIR
from ..lifecycle import die_with_parent
from ..seeding import draw_parameters, model_seed, replicate_seeds
from .summary import summarise


@dataclass(frozen=True)
class ReplicateSpec:
    """Everything one replicate needs: the scenario, its index and seed sequence."""

    scenario: Scenario
    replicate: int
    seed_entropy: int
    spawn_key: tuple[int, ...]
    labs: bool = True  # False: no per-lab table (returned as None), for callers that read only model metrics

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.spawn_key)


@dataclass
class Results:
    """Tidy results of one scenario's replicates.

    ``model``: one row per (replicate, tick) with every model-level metric; ``labs``: one row per
    (replicate, tick, lab); ``draws``: one row per replicate with its seed and drawn parameter values;
    ``summary``: key indicators with median and 5-95% interval across replicates."""

    scenario: Scenario
    model: pd.DataFrame
    labs: pd.DataFrame
    draws: pd.DataFrame
    seed: int
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarise(self.model, self.labs, self.scenario)


def run_replicate(spec: ReplicateSpec) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any]]:
    """Run one replicate to the horizon; return (model rows, lab rows or None if ``spec.labs`` is False,
    drawn values with the seed)."""
    from ..model import EcosystemModel  # imported here: validating a file must not import Mesa

    seq = spec.seed_sequence
    drawn = draw_parameters(spec.scenario, seq)
    # drawn values in, distributions out: the model draws nothing more
    scenario = with_changes(spec.scenario, {**drawn, "uncertain": {}}) if drawn else spec.scenario
    seed = model_seed(seq)
    model = EcosystemModel(scenario, seed=seed, collect_labs=spec.labs)
    for _ in range(scenario.months - 1):
        model.step()
    model_df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    model_df = model_df.drop(columns="seed")  # a replicate's seed is in its draws row
    model_df.insert(0, "replicate", spec.replicate)
    labs_df = None
    if spec.labs:
        labs_df = model.lab_frame()
        labs_df.insert(0, "replicate", spec.replicate)
        labs_df.insert(2, "date", labs_df["tick"].map(scenario.date_of))
    model.dispose()  # memory stays flat however many runs a process makes
    return model_df, labs_df, {"replicate": spec.replicate, "model_seed": seed, **drawn}


# fork: workers start at once and scripts need no ``if __name__ == "__main__"`` guard; elsewhere spawn.
START_METHOD = "fork" if "fork" in get_all_start_methods() else "spawn"


def _init_worker(parent_pid: int | None = None) -> None:
    """Worker set-up: exit with the parent (SIGTERM or SIGKILL of ``run.py`` leaves no worker behind), one
    BLAS thread (numpy's BLAS otherwise oversubscribes the cores), and Ctrl-C left to the parent, which
    cancels what is queued and cleans up."""
    import signal

    from threadpoolctl import threadpool_limits

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)


def prepare(
    scenario: Scenario | str | Path,
    *,
    months: int | None = None,
    n_adopters: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Load (if needed) and apply run-time changes: ``overrides`` pin their parameters (an explicit value
    wins over a distribution); events beyond a shortened horizon are dropped."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if overrides:
        sc = pin(sc, overrides)
    if n_adopters is not None:
        sc = with_changes(sc, {"adopters.n": n_adopters})
    if months is not None and months != sc.months:
        horizon = with_changes(sc, {"months": months, "events": [], "uncertain": {}}).months  # valid months
        kept = [i for i, e in enumerate(sc.events) if months_between(sc.start, e.at) < horizon]
        new_index = {old: new for new, old in enumerate(kept)}
        uncertain = {}  # distributions on dropped events go with them; the others follow their event
        for path, dist in sc.uncertain.items():
            parts = path.split(".")
            if parts[0] == "events":
                if int(parts[1]) not in new_index:
                    continue
                path = ".".join(["events", str(new_index[int(parts[1])]), *parts[2:]])
            uncertain[path] = dist.model_dump()
        events = [sc.events[i].model_dump() for i in kept]
        sc = with_changes(sc, {"months": horizon, "events": events, "uncertain": uncertain})
    return sc


def simulate(
    scenario: Scenario | str | Path = "baseline",
    *,
    replicates: int | None = None,
    seed: int | None = None,
    months: int | None = None,
    n_adopters: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    jobs: int | None = 1,
    progress: bool | None = False,
) -> Results:
    """Run ``replicates`` replicates of a scenario and return tidy :class:`Results`.

    Args:
        scenario: a Scenario, a YAML path or a shipped scenario's name ("ban").
        replicates, seed, months, n_adopters: default to the scenario's values.
        overrides: dotted parameter path -> value (e.g. ``{"blocs.china.capital_multiplier": 0.3}``).
        jobs: worker processes; 1 runs in this process; None or 0 uses every core.
        progress: a progress bar (None: only on a terminal).
    """
    sc = prepare(scenario, months=months, n_adopters=n_adopters, overrides=overrides)
    if replicates is not None or seed is not None:  # checked against the schema's bounds like a file's
        given = {"replicates": replicates, "seed": seed}
        sc = with_changes(sc, {k: v for k, v in given.items() if v is not None})
    replicates, seed = sc.replicates, sc.seed
    specs = [
        ReplicateSpec(sc, i, int(s.entropy), tuple(s.spawn_key))
        for i, s in enumerate(replicate_seeds(seed, replicates))
    ]
    outputs = run_specs(specs, jobs=jobs, progress=progress, label=sc.name)
    model_df = pd.concat([o[0] for o in outputs], ignore_index=True)
    labs_df = pd.concat([o[1] for o in outputs], ignore_index=True)
    draws = pd.DataFrame([o[2] for o in outputs])
    return Results(scenario=sc, model=model_df, labs=labs_df, draws=draws, seed=seed)


def run_specs(
    specs: Sequence[ReplicateSpec], *, jobs: int | None = 1, progress: bool | None = False, label: str = ""
) -> list[tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]]:
    """Run replicate specs serially or over processes; results come back in spec order."""
    workers = int(jobs) if jobs else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(specs)))
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: forking a threaded process is unsafe
    bar = tqdm(
        total=len(specs),
        desc=label or "replicates",
        unit="run",
        disable=None if progress is None else not progress,
    )
    results: list[Any] = [None] * len(specs)
    try:
        if workers == 1:
            for i, spec in enumerate(specs):
                results[i] = run_replicate(spec)
                bar.update()
        else:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=get_context(START_METHOD),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
            try:
                futures = {pool.submit(run_replicate, spec): i for i, spec in enumerate(specs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
    finally:
        bar.close()
    return results


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.yaml"))
