"""What a calibration leaves in its folder, besides ``history.db``:

- ``posterior.parquet``: the last generation's particles, one column per parameter path a particle sets (the
  free parameters and the paths they move) and ``weight`` (normalised to sum to 1); a scenario reads it with
  ``posterior: <folder>/posterior.parquet``;
- ``fit.csv``: per target, the observation and its 90% interval, the posterior predictive median and 90%
  interval, and whether the observation is inside;
- ``predictive.parquet``: the posterior predictive runs (particle values, seed, statistics);
- ``generations.csv``: tolerance, simulations and acceptance rate by generation;
- ``plots/``: posterior marginals and pairs, tolerance by generation, posterior predictive per target;
- ``spec.yaml`` and ``manifest.json``: the spec, seeds, sizes, package versions, timings and the model
  fingerprint (:func:`model_fingerprint`) that tells when the posterior is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .spec import REPO, Calibration

POSTERIOR, FIT, PREDICTIVE, GENERATIONS, MANIFEST, SPEC = (
    "posterior.parquet",
    "fit.csv",
    "predictive.parquet",
    "generations.csv",
    "manifest.json",
    "spec.yaml",
)
PACKAGES = ("numpy", "pandas", "scipy", "pyabc", "Mesa", "pydantic", "pyarrow", "matplotlib", "sqlalchemy")
# the code whose behaviour a posterior depends on: a change to any of these makes a shipped posterior stale
MODEL_GLOBS = (
    "simulation/agents/*.py",
    "simulation/model.py",
    "simulation/metrics.py",
    "simulation/seeding.py",
    "simulation/config/schema.py",
    "simulation/config/distributions.py",
    "simulation/experiments/runner.py",
    "simulation/calibrate/statistics.py",
)
# top-level scenario keys that do not change what a particle's run computes (or are what the calibration sets)
SCENARIO_KEYS_IGNORED = ("name", "description", "seed", "replicates", "uncertain", "pinned", "posterior")


def model_fingerprint(cal: Calibration, root: Path = REPO) -> str:
    """A hash of what decides the posterior: the model code (without comments, docstrings and blank lines),
    the spec, and the scenario file's merged content without the keys that only choose draws
    (``uncertain``, ``posterior``, ...), so switching the scenario to the posterior keeps it unchanged."""
    from ..config.loader import load_raw
    from ..levers import code_text

    digest = hashlib.sha256()
    for pattern in MODEL_GLOBS:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(code_text(path.read_text(encoding="utf-8")).encode())
    digest.update(json.dumps(cal.spec.model_dump(mode="json"), sort_keys=True).encode())
    raw = load_raw(scenario_file(cal))
    kept = {k: v for k, v in raw.items() if k not in SCENARIO_KEYS_IGNORED}
    digest.update(json.dumps(kept, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def scenario_file(cal: Calibration) -> Path:
    from ..config.loader import resolve_file

    ref = cal.spec.scenario
    if cal.file is not None and Path(ref).suffix:
        return (cal.file.parent / ref).resolve()
    return resolve_file(ref)


def spec_hash(cal: Calibration) -> str:
    return hashlib.sha256(json.dumps(cal.spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[
        :16
    ]


# -- tables -------------------------------------------------------------------------------------------------


def posterior_table(cal: Calibration, history: Any) -> pd.DataFrame:
    """The last generation: one row per particle, every path it sets, and its normalised weight."""
    from .smc import key

    particles, weights = history.get_distribution()
    rows = [
        cal.changes({name: float(row[key(name)]) for name in cal.names}) for _, row in particles.iterrows()
    ]
    table = pd.DataFrame(rows, columns=cal.moved_paths())
    w = np.asarray(weights, dtype=float)
    table["weight"] = w / w.sum()
    return table


def generations_table(history: Any) -> pd.DataFrame:
    """Per generation: tolerance, runs, accepted particles, acceptance rate and the effective sample size of
    the weights (``1 / sum(w^2)`` for normalised weights: how many equally weighted particles they are worth)."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].copy()
    pops["acceptance_rate"] = pops["particles"] / pops["samples"]
    pops["ess"] = [effective_sample_size(history.get_distribution(t=int(t))[1]) for t in pops["t"]]
    return pops[["t", "epsilon", "samples", "particles", "acceptance_rate", "ess"]].reset_index(drop=True)


def effective_sample_size(weights: Any) -> float:
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    return float(1 / np.sum(w * w))


def draw_particles(posterior: pd.DataFrame, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """``n`` particle indices drawn by weight, and a model seed for each run."""
    rng = np.random.default_rng([seed, 7])
    idx = rng.choice(len(posterior), size=n, p=posterior["weight"].to_numpy(float))
    seeds = [
        int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
        for s in np.random.SeedSequence(seed).spawn(n)
    ]
    return idx, seeds


def _predict_one(args: tuple[Calibration, dict[str, float], int]) -> dict[str, float]:
    from .statistics import run_statistics

    cal, values, seed = args
    return run_statistics(cal, values, seed)


def predictive(cal: Calibration, posterior: pd.DataFrame, jobs: int) -> pd.DataFrame:
    """Posterior predictive: ``predictive_draws`` runs, each of a particle drawn by weight with its own seed."""
    from ..experiments.runner import START_METHOD, _init_worker

    n = cal.spec.predictive_draws
    idx, seeds = draw_particles(posterior, n, cal.spec.seed)
    tasks = [
        (cal, {name: float(posterior.iloc[i][name]) for name in cal.names}, seed)
        for i, seed in zip(idx, seeds, strict=True)
    ]
    if jobs <= 1:
        stats = [_predict_one(t) for t in tasks]
    else:
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=get_context(START_METHOD),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        ) as pool:
            stats = list(pool.map(_predict_one, tasks, chunksize=max(1, n // (4 * jobs))))
    table = pd.DataFrame(stats)
    table.insert(0, "particle", idx)
    table.insert(1, "seed", seeds)
    return table


def fit_table(cal: Calibration, pred: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, t in cal.spec.targets.items():
        values = pred[name].to_numpy(float)
        med, lo, hi = (float(np.nanquantile(values, q)) for q in (0.5, 0.05, 0.95))
        rows.append(
            {
                "target": name,
                "data": t.data,
                "period": t.period,
                "observed": t.observed,
                "observed_low": t.interval[0],
                "observed_high": t.interval[1],
                "predictive_median": med,
                "predictive_p5": lo,
                "predictive_p95": hi,
                "inside": bool(lo <= t.observed <= hi),
                "z_median": (t.transform(med) - t.transform(t.observed)) / t.sd,
            }
        )
    return pd.DataFrame(rows)


# -- provenance ---------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def git_commit(root: Path = REPO) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def write_manifest(folder: Path, cal: Calibration, extra: dict[str, Any]) -> None:
    import yaml

    (folder / SPEC).write_text(
        yaml.safe_dump(cal.spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    manifest = {
        "name": cal.spec.name,
        "spec_file": str(cal.file) if cal.file else None,
        "spec_hash": spec_hash(cal),
        "model_fingerprint": model_fingerprint(cal),
        "scenario": cal.scenario.name,
        "months": cal.scenario.months,
        "adopters": cal.scenario.adopters.n,
        "seed": cal.spec.seed,
        "population_size": cal.spec.population.size,
        "git_commit": git_commit(),
        "versions": versions(),
        **extra,
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    tmp.replace(folder / MANIFEST)


# -- figures ------------------------------------------------------------------------------------------------


def plot_all(
    folder: Path,
    cal: Calibration,
    posterior: pd.DataFrame,
    gens: pd.DataFrame,
    pred: pd.DataFrame,
    prior_samples: pd.DataFrame,
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = folder / "plots"
    plots.mkdir(exist_ok=True)
    names = cal.names
    w = posterior["weight"].to_numpy(float)
    saved = []

    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        p = cal.spec.parameters[name].prior
        bins = np.linspace(p.low, p.high, 25)
        ax.hist(prior_samples[name], bins=bins, density=True, color="0.85", label="prior")
        ax.hist(
            posterior[name],
            bins=bins,
            weights=w,
            density=True,
            color="tab:blue",
            alpha=0.8,
            label="posterior",
        )
        ax.set_title(name, fontsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{cal.spec.name}: posterior marginals (weighted), prior in grey", fontsize=10)
    fig.tight_layout()
    saved.append(_save(fig, plots / "posterior_marginals.png"))

    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(1.9 * k + 1, 1.9 * k + 1), squeeze=False)
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i, j]
            if i == j:
                ax.hist(posterior[xj], bins=20, weights=w, color="tab:blue")
            elif i > j:
                ax.scatter(posterior[xj], posterior[yi], s=4 + 400 * w, alpha=0.5, color="tab:blue", lw=0)
            else:
                ax.axis("off")
                r = _weighted_corr(posterior[xj].to_numpy(float), posterior[yi].to_numpy(float), w)
                ax.text(0.5, 0.5, f"r = {r:+.2f}", ha="center", va="center", fontsize=9)
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(xj.rsplit(".", 1)[-1], fontsize=7)
            if j == 0:
                ax.set_ylabel(yi.rsplit(".", 1)[-1], fontsize=7)
    fig.suptitle(f"{cal.spec.name}: posterior pairs (weighted correlation above)", fontsize=10)
    fig.tight_layout()
    saved.append(_save(fig, plots / "posterior_pairs.png"))

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(gens["t"], gens["epsilon"], "o-")
    ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel("tolerance (RMS of z over targets)")
    ax.set_title(f"{cal.spec.name}: tolerance by generation")
    fig.tight_layout()
    saved.append(_save(fig, plots / "epsilon.png"))

    targets = list(cal.spec.targets.items())
    cols = min(4, len(targets))
    rows = -(-len(targets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.8 * rows), squeeze=False)
    for ax, (name, t) in zip(axes.flat, targets, strict=False):
        values = pred[name].to_numpy(float)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=25, color="tab:blue", alpha=0.7)
        ax.axvline(t.observed, color="black", lw=1.5, label="observed")
        ax.axvspan(*t.interval, color="black", alpha=0.1, label="observed 90%")
        if t.scale == "log":
            ax.set_xscale("log")
        ax.set_title(name, fontsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(targets) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{cal.spec.name}: posterior predictive (blue) against each observation", fontsize=10)
    fig.tight_layout()
    saved.append(_save(fig, plots / "predictive.png"))
    return saved


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    sx, sy = np.sqrt(np.average((x - mx) ** 2, weights=w)), np.sqrt(np.average((y - my) ** 2, weights=w))
    return float(cov / (sx * sy)) if sx > 0 and sy > 0 else float("nan")


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def prior_sample(cal: Calibration, n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from the prior (for the marginals' grey background), with numpy."""
    from .spec import LogUniform, Uniform

    rng = np.random.default_rng([seed, 11])
    out = {}
    for name, par in cal.spec.parameters.items():
        p = par.prior
        if isinstance(p, LogUniform):
            out[name] = np.exp(rng.uniform(np.log(p.low), np.log(p.high), n))
        elif isinstance(p, Uniform):
            out[name] = rng.uniform(p.low, p.high, n)
        else:  # truncated normal, by rejection
            x = rng.normal(p.mean, p.sd, 20 * n)
            out[name] = x[(x >= p.low) & (x <= p.high)][:n]
    return pd.DataFrame({k: pd.Series(v) for k, v in out.items()})


def write_tables(
    folder: Path, posterior: pd.DataFrame, fit: pd.DataFrame, pred: pd.DataFrame, gens: pd.DataFrame
) -> None:
    for name, frame in ((POSTERIOR, posterior), (PREDICTIVE, pred)):
        tmp = folder / (name + ".tmp")
        frame.to_parquet(tmp, index=False)
        tmp.replace(folder / name)
    fit.to_csv(folder / FIT, index=False)
    gens.to_csv(folder / GENERATIONS, index=False)


def inside_summary(fit: pd.DataFrame) -> Sequence[str]:
    lines = []
    for _, r in fit.iterrows():
        mark = "inside" if r["inside"] else "OUTSIDE"
        lines.append(
            f"  {r['target']:<34} observed {r['observed']:>8.3g}  predictive {r['predictive_median']:>8.3g} "
            f"[{r['predictive_p5']:.3g}, {r['predictive_p95']:.3g}]  {mark}"
        )
    return lines
