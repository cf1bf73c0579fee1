"""Agents: labs (Mesa agents) and the adopter population (numpy arrays)."""

from .lab import Lab
from .population import AdopterPopulation, Market

__all__ = ["AdopterPopulation", "Lab", "Market"]
