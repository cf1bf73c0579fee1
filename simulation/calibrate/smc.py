"""pyabc wiring: priors, the model a particle runs, the sampler, and a history that survives a kill.

The ABC-SMC history is an SQLite database in the calibration's folder (``history.db``). pyabc writes each
generation when it is complete, so a calibration killed midway loses at most the generation it was sampling:
:func:`open_history` continues the stored one with ``ABCSMC.load`` and :func:`run_generations` samples only
the generations still missing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ScenarioError
from .distance import ScaledDistance
from .spec import Calibration, LogUniform, TruncatedNormal, Uniform
from .statistics import run_statistics

HISTORY = "history.db"
SEED_KEY = "seed"  # stored with each particle's statistics in the history: the run's model seed


def key(path: str) -> str:
    """pyabc's name of a parameter: its dotted path with ``__`` for dots (pyabc nests on dots)."""
    return path.replace(".", "__")


def prior(cal: Calibration) -> Any:
    """The joint prior: independent bounded priors, one per free parameter."""
    import pyabc

    rvs = {}
    for name, par in cal.spec.parameters.items():
        p = par.prior
        if isinstance(p, LogUniform):
            rvs[key(name)] = pyabc.RV("loguniform", p.low, p.high)
        elif isinstance(p, Uniform):
            rvs[key(name)] = pyabc.RV("uniform", p.low, p.high - p.low)
        elif isinstance(p, TruncatedNormal):
            a, b = (p.low - p.mean) / p.sd, (p.high - p.mean) / p.sd
            rvs[key(name)] = pyabc.RV("truncnorm", a, b, loc=p.mean, scale=p.sd)
    return pyabc.Distribution(**rvs)


class ParticleModel:
    """What one particle runs: the scenario with the particle's values, one replicate, its statistics.

    Picklable (pyabc's Dask sampler ships it to workers). Each run's model seed comes from numpy's global
    generator, which pyabc seeds in every worker; it is stored with the statistics (``seed``), so any
    accepted particle's run can be repeated. A particle the schema refuses (a cross-check between
    parameters) gets NaN statistics and so an infinite distance."""

    def __init__(self, cal: Calibration, parent_pid: int):
        self.cal = cal
        self.parent_pid = parent_pid
        self._worker_ready = False

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        if not self._worker_ready:
            self._set_up_worker()
        seed = int(np.random.randint(0, 2**62))
        values = {name: float(pars[key(name)]) for name in self.cal.names}
        try:
            stats = run_statistics(self.cal, values, seed)
        except ScenarioError:
            stats = dict.fromkeys(self.cal.spec.targets, float("nan"))
        return {**stats, SEED_KEY: seed}

    def _set_up_worker(self) -> None:
        """In a worker process: exit with the calibration (a killed calibration leaves no worker behind) and
        one BLAS thread."""
        if os.getpid() != self.parent_pid:
            from threadpoolctl import threadpool_limits

            from ..lifecycle import die_with_parent

            die_with_parent()
            threadpool_limits(1)
        self._worker_ready = True


def sampler(jobs: int, scheduler: str | None = None) -> Any:
    """pyabc sampler: one process (``jobs`` 1), local processes, or a Dask cluster at ``scheduler``."""
    import pyabc

    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        slots = sum(client.nthreads().values()) or 1
        return pyabc.sampler.DaskDistributedSampler(dask_client=client, client_max_jobs=slots, batch_size=4)
    if jobs <= 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=jobs)


def build(cal: Calibration, jobs: int, scheduler: str | None = None) -> Any:
    import pyabc

    pop = cal.spec.population
    return pyabc.ABCSMC(
        ParticleModel(cal, os.getpid()),
        prior(cal),
        ScaledDistance.of(cal.spec.targets),
        population_size=pop.size,
        eps=pyabc.QuantileEpsilon(alpha=pop.quantile),
        transitions=pyabc.LocalTransition()
        if pop.transition == "local"
        else pyabc.MultivariateNormalTransition(),
        sampler=sampler(jobs, scheduler),
    )


def observed(cal: Calibration) -> dict[str, float]:
    return {name: t.observed for name, t in cal.spec.targets.items()}


def db_url(folder: Path) -> str:
    return "sqlite:///" + str((folder / HISTORY).resolve())


def stored_generations(folder: Path) -> int:
    """Complete generations in the folder's history (0 without one); read with sqlite3, no pyabc."""
    import sqlite3

    path = folder / HISTORY
    if not path.exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()
    except sqlite3.Error:
        return 0
    finally:
        con.close()
    return int(row[0])


def open_history(abc: Any, cal: Calibration, folder: Path, meta: dict[str, Any]) -> Any:
    """Continue the folder's history (``ABCSMC.load``) or start a new one (``ABCSMC.new``)."""
    if (folder / HISTORY).exists():
        return abc.load(db_url(folder), 1)
    return abc.new(db_url(folder), observed(cal), meta_info=meta)


def finished(history: Any, cal: Calibration) -> bool:
    """Whether the stored history meets a stopping rule of the schedule."""
    pop = cal.spec.population
    if history.max_t + 1 >= pop.generations:
        return True
    if history.max_t < 0:
        return False
    populations = history.get_all_populations()
    last = populations[populations["t"] == history.max_t].iloc[0]
    if float(last["epsilon"]) <= pop.min_epsilon:
        return True
    rate = float(last["particles"]) / max(float(last["samples"]), 1.0)
    return rate < pop.min_acceptance_rate


def run_generations(abc: Any, history: Any, cal: Calibration, verbose: bool = True) -> Any:
    """Sample the generations still missing; returns the history."""
    logging.getLogger("ABC").setLevel(logging.INFO if verbose else logging.WARNING)
    for name in ("ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Acceptor", "ABC.Adaptation"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if finished(history, cal):
        return history
    pop = cal.spec.population
    remaining = pop.generations - (history.max_t + 1)
    return abc.run(
        minimum_epsilon=pop.min_epsilon,
        max_nr_populations=remaining,
        min_acceptance_rate=pop.min_acceptance_rate,
    )
