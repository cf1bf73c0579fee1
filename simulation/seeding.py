"""Seeds and draws: how a replicate's seed sequence becomes the model's seed and its uncertain values.

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(replicates)`` by index. From a replicate's
sequence, child 0 draws the uncertain parameters (a stream per parameter path, so scenarios that share paths
and seeds share draws: common random numbers) and child 1 gives the model's integer seed. A scenario with a
``posterior`` draws one particle by weight from child 0's stream keyed ``posterior`` and takes all its
columns at once (so correlations between parameters survive), except pinned ones.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from .config import Scenario
from .config.loader import read_posterior

POSTERIOR_STREAM = b"posterior"


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences for replicates 0..n-1 (the same index always gets the same one)."""
    return np.random.SeedSequence(seed).spawn(replicates)


def draw_parameters(scenario: Scenario, seed_seq: np.random.SeedSequence) -> dict[str, Any]:
    """One value per uncertain parameter, each from its own stream keyed by the path's CRC32, and the
    columns of one posterior particle."""
    params_entropy = np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, 0))
    values: dict[str, Any] = {}
    if scenario.posterior is not None:
        values.update(draw_particle(scenario, params_entropy))
    for path in sorted(scenario.uncertain):
        if path in values:  # the posterior gives it
            continue
        rng = np.random.default_rng([*params_entropy.generate_state(2), zlib.crc32(path.encode())])
        values[path] = scenario.uncertain[path].draw(rng)
    return values


def draw_particle(scenario: Scenario, params_entropy: np.random.SeedSequence) -> dict[str, float]:
    """One particle of the scenario's posterior, drawn by weight: path -> value for every column not pinned."""
    post = read_posterior(scenario.posterior)
    rng = np.random.default_rng([*params_entropy.generate_state(2), zlib.crc32(POSTERIOR_STREAM)])
    i = int(rng.choice(len(post.weights), p=post.weights))
    pinned = set(scenario.pinned)
    return {c: float(post.values[i, j]) for j, c in enumerate(post.columns) if c not in pinned}


def model_seed(seed_seq: np.random.SeedSequence) -> int:
    """The integer seed handed to the Mesa model for this replicate (63 bits)."""
    child = np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, 1))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def fresh_seed() -> int:
    """A new 63-bit seed from the operating system's entropy (Mesa's convention for ``seed=None``)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
