"""Uncertain parameters: distributions drawn once per replicate.

Anywhere a number is expected in a scenario file, a mapping with a ``dist`` key may stand instead, e.g.
``training_efficiency: {dist: lognormal, p10: 2, p90: 6}``. The loader moves it to ``Scenario.uncertain``
under its dotted path, validates the scenario with the distribution's central value, and checks that every
value the distribution can draw (its :meth:`support`) is valid for that parameter. A normal or log-normal
distribution on a bounded parameter must therefore be truncated with ``low``/``high``.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Bool, Float, Frozen

Z90 = 1.2815515655446004  # standard normal quantile at 0.9
MIN_MASS = 1e-9  # least probability a truncation may keep


class Uniform(Frozen):
    dist: Literal["uniform"]
    low: Float
    high: Float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self

    def central(self) -> float:
        return (self.low + self.high) / 2

    def support(self) -> list[float]:
        return [self.low, self.high]

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


class Triangular(Frozen):
    dist: Literal["triangular"]
    low: Float
    mode: Float
    high: Float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("expected low <= mode <= high with low < high")
        return self

    def central(self) -> float:
        return self.mode

    def support(self) -> list[float]:
        return [self.low, self.high]

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.triangular(self.low, self.mode, self.high))


class _Truncatable(Frozen):
    """A distribution on an unbounded range, optionally truncated to [low, high] (draws by inverse CDF)."""

    low: Float | None = Field(default=None, description="Truncate below: no draw is under this value.")
    high: Float | None = Field(default=None, description="Truncate above: no draw is over this value.")

    def _normal(self) -> NormalDist:  # the distribution of the value, or of its log
        raise NotImplementedError

    def _to_normal(self, x: float) -> float:
        return x

    def _from_normal(self, z: float) -> float:
        return z

    def _mass(self) -> tuple[float, float]:
        nd = self._normal()
        lo = 0.0 if self.low is None else nd.cdf(self._to_normal(self.low))
        hi = 1.0 if self.high is None else nd.cdf(self._to_normal(self.high))
        return lo, hi

    def _check_truncation(self) -> None:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        lo, hi = self._mass()
        if hi - lo < MIN_MASS:
            raise ValueError("the truncation to [low, high] leaves (almost) no probability")

    @property
    def truncated(self) -> bool:
        return self.low is not None or self.high is not None

    def central(self) -> float:
        """The median (of the truncated distribution when truncated)."""
        lo, hi = self._mass()
        return self._clip(
            self._from_normal(self._normal().inv_cdf(min(max((lo + hi) / 2, 1e-300), 1 - 1e-16)))
        )

    def _clip(self, x: float) -> float:
        if self.low is not None:
            x = max(x, self.low)
        if self.high is not None:
            x = min(x, self.high)
        return x

    def _draw_truncated(self, rng: np.random.Generator) -> float:
        lo, hi = self._mass()
        u = float(rng.uniform(lo, hi))
        u = min(max(u, 1e-300), 1 - 1e-16)  # inv_cdf needs 0 < u < 1
        return self._clip(self._from_normal(self._normal().inv_cdf(u)))


class Normal(_Truncatable):
    dist: Literal["normal"]
    mean: Float
    sd: Float = Field(gt=0)

    @model_validator(mode="after")
    def _truncation(self) -> Normal:
        self._check_truncation()
        return self

    def _normal(self) -> NormalDist:
        return NormalDist(self.mean, self.sd)

    def support(self) -> list[float]:
        return [-math.inf if self.low is None else self.low, math.inf if self.high is None else self.high]

    def draw(self, rng: np.random.Generator) -> float:
        if self.truncated:
            return self._draw_truncated(rng)
        return float(rng.normal(self.mean, self.sd))


class LogNormal(_Truncatable):
    """Log-normal given by its 80% interval: 10% of draws fall below p10, 10% above p90 (before any
    truncation to [low, high])."""

    dist: Literal["lognormal"]
    p10: Float = Field(gt=0)
    p90: Float = Field(gt=0)
    low: Float | None = Field(default=None, gt=0, description="Truncate below: no draw is under this value.")

    @model_validator(mode="after")
    def _order(self) -> LogNormal:
        if self.p10 > self.p90:
            raise ValueError(f"p10 ({self.p10}) is above p90 ({self.p90})")
        self._check_truncation()
        return self

    @property
    def mu(self) -> float:
        return (math.log(self.p10) + math.log(self.p90)) / 2

    @property
    def sigma(self) -> float:
        return (math.log(self.p90) - math.log(self.p10)) / (2 * Z90)

    def _normal(self) -> NormalDist:
        return NormalDist(self.mu, max(self.sigma, 1e-300))

    def _to_normal(self, x: float) -> float:
        return math.log(x) if x > 0 else -math.inf

    def _from_normal(self, z: float) -> float:
        return math.exp(z)

    def central(self) -> float:
        if not self.truncated:
            return math.sqrt(self.p10 * self.p90)  # the median
        return super().central()

    def support(self) -> list[float]:
        return [5e-324 if self.low is None else self.low, math.inf if self.high is None else self.high]

    def draw(self, rng: np.random.Generator) -> float:
        if self.truncated:
            return self._draw_truncated(rng)
        return float(rng.lognormal(self.mu, self.sigma))


class Choice(Frozen):
    dist: Literal["choice"]
    values: list[Float | int | Bool | str] = Field(min_length=1, max_length=1000)
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None and (len(self.weights) != len(self.values) or sum(self.weights) <= 0):
            raise ValueError("weights must be as many as values, non-negative, with a positive sum")
        return self

    def central(self) -> float | int | bool | str:
        return self.values[0]

    def support(self) -> list[float | int | bool | str]:
        return list(self.values)

    def draw(self, rng: np.random.Generator) -> float | int | bool | str:
        p = None if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        value = self.values[int(rng.choice(len(self.values), p=p))]
        return value


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Choice, Field(discriminator="dist")]
