"""Seeds and draws: how a replicate's seed sequence becomes the model's seed and its uncertain values.

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(replicates)`` by index. From a replicate's
sequence, child 0 draws the uncertain parameters (a stream per parameter path, so scenarios that share paths
and seeds share draws: common random numbers) and child 1 gives the model's integer seed.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from .config import Scenario


def replicate_seeds(seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences for replicates 0..n-1 (the same index always gets the same one)."""
    return np.random.SeedSequence(seed).spawn(replicates)


def draw_parameters(scenario: Scenario, seed_seq: np.random.SeedSequence) -> dict[str, Any]:
    """One value per uncertain parameter, each from its own stream keyed by the path's CRC32."""
    params_entropy = np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, 0))
    values: dict[str, Any] = {}
    for path in sorted(scenario.uncertain):
        rng = np.random.default_rng([*params_entropy.generate_state(2), zlib.crc32(path.encode())])
        values[path] = scenario.uncertain[path].draw(rng)
    return values


def model_seed(seed_seq: np.random.SeedSequence) -> int:
    """The integer seed handed to the Mesa model for this replicate (63 bits)."""
    child = np.random.SeedSequence(seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, 1))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def fresh_seed() -> int:
    """A new 63-bit seed from the operating system's entropy (Mesa's convention for ``seed=None``)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
