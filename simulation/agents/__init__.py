"""Agents: labs and the open weights they leave behind (Mesa agents), and the adopter population (numpy
arrays)."""

from . import decisions
from .lab import Lab
from .population import AdopterPopulation, Market
from .weights import OpenWeights

__all__ = ["AdopterPopulation", "Lab", "Market", "OpenWeights", "decisions"]
