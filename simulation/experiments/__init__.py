"""Experiments: run a scenario's replicates (serially or over processes) into tidy tables."""

from .runner import Results, prepare, replicate_seeds, run_replicate, simulate
from .summary import indicators, summarise

__all__ = ["Results", "indicators", "prepare", "replicate_seeds", "run_replicate", "simulate", "summarise"]
