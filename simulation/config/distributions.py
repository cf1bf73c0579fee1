"""Uncertain parameters: distributions drawn once per replicate.

Anywhere a number is expected in a scenario file, a mapping with a ``dist`` key may stand instead, e.g.
``training_efficiency: {dist: lognormal, p10: 2, p90: 6}``. The loader moves it to ``Scenario.uncertain``
under its dotted path and validates the scenario with the distribution's central value.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Frozen

Z90 = 1.2815515655446004  # standard normal quantile at 0.9


class Uniform(Frozen):
    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self

    def central(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


class Triangular(Frozen):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("expected low <= mode <= high with low < high")
        return self

    def central(self) -> float:
        return self.mode

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.triangular(self.low, self.mode, self.high))


class Normal(Frozen):
    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)

    def central(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.sd))


class LogNormal(Frozen):
    """Log-normal given by its 80% interval: 10% of draws fall below p10, 10% above p90."""

    dist: Literal["lognormal"]
    p10: float = Field(gt=0)
    p90: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> LogNormal:
        if self.p10 > self.p90:
            raise ValueError(f"p10 ({self.p10}) is above p90 ({self.p90})")
        return self

    def central(self) -> float:
        return math.sqrt(self.p10 * self.p90)  # the median

    def draw(self, rng: np.random.Generator) -> float:
        mu = (math.log(self.p10) + math.log(self.p90)) / 2
        sigma = (math.log(self.p90) - math.log(self.p10)) / (2 * Z90)
        return float(rng.lognormal(mu, sigma))


class Choice(Frozen):
    dist: Literal["choice"]
    values: list[float | int | bool | str] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None and (
            len(self.weights) != len(self.values)
            or any(w < 0 for w in self.weights)
            or sum(self.weights) <= 0
        ):
            raise ValueError("weights must be as many as values, non-negative, with a positive sum")
        return self

    def central(self) -> float | int | bool | str:
        return self.values[0]

    def draw(self, rng: np.random.Generator) -> float | int | bool | str:
        p = None if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        value = self.values[int(rng.choice(len(self.values), p=p))]
        return value


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Choice, Field(discriminator="dist")]
