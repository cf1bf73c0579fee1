"""The distance between a run's statistics and the observations: root mean square over targets of
``(f(statistic) - f(observed)) / sd``, with ``f`` the target's scale (identity or log10) and ``sd`` the
observation's standard deviation from its 90% interval. A distance of 1 is a miss of one sd per target on
average; a statistic that is not a finite number puts the run infinitely far away."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .spec import Target


@dataclass(frozen=True)
class ScaledDistance:
    """Picklable distance for pyabc: ``distance(simulated, observed) -> float``."""

    scales: tuple[tuple[str, str, float], ...]  # (target, scale, sd) per target

    @classmethod
    def of(cls, targets: Mapping[str, Target]) -> ScaledDistance:
        return cls(tuple((name, t.scale, t.sd) for name, t in targets.items()))

    def z_scores(self, simulated: Mapping[str, float], observed: Mapping[str, float]) -> dict[str, float]:
        out = {}
        for name, scale, sd in self.scales:
            s, o = float(simulated[name]), float(observed[name])
            if scale == "log":
                s = math.log10(s) if s > 0 else -math.inf
                o = math.log10(o)
            out[name] = (s - o) / sd if math.isfinite(s) else math.inf
        return out

    def __call__(self, simulated: Mapping[str, float], observed: Mapping[str, float]) -> float:
        z = self.z_scores(simulated, observed).values()
        total = sum(v * v for v in z)
        return math.sqrt(total / len(self.scales)) if math.isfinite(total) else math.inf
