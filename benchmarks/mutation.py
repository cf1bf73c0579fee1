"""Mutation testing of the simulation's mechanisms with mutmut 3 (not run in CI; results in benchmarks/mutants.md).

Each mutant is a small change to one function (a flipped comparison, a swapped operator, a constant off by
one, a dropped argument, ...). A mutant is *killed* when a test fails with it in place; a *survivor* is a
change to the code that no test notices. The score is killed / (mutants - equivalent mutants), where an
equivalent mutant is one that cannot change any result (listed in ``EQUIVALENT`` below, with the reason).

The work happens in a temporary copy of the repository (the working tree as it is, without .git and run
outputs); nothing in the repository is changed. Each mutated file is run with mutmut against a fast subset of
the tests (``TARGETS``), so a mutant costs well under a second: mutmut forks a process that has already
imported everything and runs only the tests that reach the mutated function.

Survivors are then *probed*: every shipped scenario is run (500 adopters, seed 1) with the survivor in place and
compared with the run without it, so the report tells a survivor that changes results from one that changes
nothing the scenarios reach.

    python benchmarks/mutation.py                                  # every target, every mutant
    python benchmarks/mutation.py --files simulation/metrics.py   # one file
    python benchmarks/mutation.py --files simulation/model.py --max-mutants 80 --seed 1   # a seeded sample
    python benchmarks/mutation.py --files simulation/agents/lab.py --tests tests/test_lab_mechanisms.py
    python benchmarks/mutation.py --commit HEAD --max-children 1 --max-mutants 60   # a commit, one process

Needs ``pip install mutmut`` (3.x; developed with 3.8.1), POSIX (mutmut forks). ``--max-children`` sets the
number of parallel test processes (default 2); run it under ``nice -n 19`` on a shared machine.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAB_TESTS = [
    "tests/test_lab_mechanisms.py",
    "tests/test_release.py",
    "tests/test_properties.py",
    "tests/test_events.py",
]
CONFIG_TESTS = [
    "tests/test_config.py",
    "tests/test_explicit_values.py",
    "tests/test_hostile_scenarios.py",
    "tests/test_calibrate_posterior.py",  # posteriors: what pin and load_raw do with them
]

# mutated file -> (fast test subset, functions to mutate or None for all). tests/test_mutation_kills_<stem>.py
# is added to a file's subset when it exists (tests written to kill that file's survivors).
TARGETS: dict[str, tuple[list[str], list[str] | None]] = {
    "simulation/agents/decisions.py": (["tests/test_decisions.py", "tests/test_lab_mechanisms.py"], None),
    "simulation/agents/lab.py": (LAB_TESTS, None),
    "simulation/agents/population.py": (["tests/test_population.py", "tests/test_release.py"], None),
    "simulation/agents/strategy.py": (["tests/test_release.py", "tests/test_lab_mechanisms.py"], None),
    "simulation/agents/weights.py": (LAB_TESTS, None),
    "simulation/metrics.py": (["tests/test_metrics.py"], None),
    "simulation/model.py": (LAB_TESTS, None),
    "simulation/config/loader.py": (CONFIG_TESTS, ["pin", "check_draws", "load_raw"]),
}

# Equivalent mutants: (file, function, line within the function or None for any, original line, mutated
# line, reason). Lines are compared stripped, with the mutant's first changed line. Keyed by code, not by
# mutmut's mutant number, which moves when a function changes. Reviewed by hand: see benchmarks/mutants.md.
EQUIVALENT: list[tuple[str, str, int | None, str, str, str]] = [
    (
        "simulation/agents/lab.py",
        "Lab.finance",
        None,
        "del self._revenue_history[:-12]",
        "del self._revenue_history[:-13]",
        "keeps 13 months of history instead of 12; only history[-1] and history[-7] are ever read",
    ),
    (
        "simulation/agents/lab.py",
        "Lab.record_usage",
        None,
        "del self._usage_history[:-12]",
        "del self._usage_history[:-13]",
        "keeps 13 months of history instead of 12; only history[-1] and history[-7] are ever read",
    ),
    (
        "simulation/agents/lab.py",
        "Lab.distillation_gain",
        None,
        "if self.cfg.distillation_ability <= 0 or not np.isfinite(teacher_know_how):",
        "if self.cfg.distillation_ability < 0 or not np.isfinite(teacher_know_how):",
        "with ability 0 the distillation rate is ability x ... = 0, and catch_up(gap, 0) = 0: the gain is 0 either way",
    ),
    (
        "simulation/agents/lab.py",
        "Lab.__init__",
        None,
        "self.serving_cost = self.price = 0.0",
        "self.serving_cost = self.price = None",
        "serving_cost and price are set by set_price() two lines later in __init__, before anything reads them",
    ),
    (
        "simulation/agents/lab.py",
        "Lab.__init__",
        None,
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)",
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=None)",
        "float64 instead of int64 zeros: users_by_segment is replaced by market_step's integer tallies, and the reporter casts with int()",
    ),
    (
        "simulation/agents/lab.py",
        "Lab.__init__",
        None,
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)",
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), )",
        "float64 instead of int64 zeros: users_by_segment is replaced by market_step's integer tallies, and the reporter casts with int()",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)",
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=None)",
        "float64 instead of int64 zeros: users_by_segment is replaced by market_step's integer tallies, and the reporter casts with int()",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)",
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), )",
        "float64 instead of int64 zeros: users_by_segment is replaced by market_step's integer tallies, and the reporter casts with int()",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.__init__",
        None,
        "self.frontier_benchmark_eci = 0.0  # set by record() from the labs active at each tick",
        "self.frontier_benchmark_eci = 1.0  # set by record() from the labs active at each tick",
        "frontier_benchmark_eci is set by record() at the end of __init__; only Lab.investor_appetite reads it, from the first step on",
    ),
    (
        "simulation/model.py",
        "EcosystemModel._may_turn_closed",
        None,
        "for tick in sorted(t for t in self._events if t > 0):",
        "for tick in sorted(t for t in self._events if t >= 0):",
        "events at tick 0 are already applied to self.params (_apply_events_at(0) runs first); applying them again gives the same state",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.lab_active_mask",
        None,
        "return np.array([x.active for x in (self.lab_list if entries is None else entries)], dtype=bool)",
        "return np.array([x.active for x in (self.lab_list if entries is None else entries)], )",
        "np.array of a non-empty list of Python bools is already dtype bool (a scenario has at least one lab)",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.market_step",
        None,
        "tick = self.tick if tick is None else tick",
        "tick = self.tick if (tick is None) and False else tick",
        "passes tick=None on to stream(), which resolves None to self.tick, the value the original computes",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.legal_true_eci = self.legal_benchmark_eci = 0.0",
        "self.legal_true_eci = self.legal_benchmark_eci = None",
        "legal_* of weights not yet out are read only into the market's column of an unavailable offering, which adopters never consider (-inf); take_over() sets them before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.legal_true_eci = self.legal_benchmark_eci = 0.0",
        "self.legal_true_eci = self.legal_benchmark_eci = 1.0",
        "legal_* of weights not yet out are read only into the market's column of an unavailable offering, which adopters never consider (-inf); take_over() sets them before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        'self.new_model_tick = -(10**6)  # never "recent"',
        'self.new_model_tick = +(10**6)  # never "recent"',
        "new_model_tick of weights not yet out only sets the 'recent' flag of an unavailable column; take_over() sets it before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        'self.new_model_tick = -(10**6)  # never "recent"',
        'self.new_model_tick = -(10 * 6)  # never "recent"',
        "new_model_tick of weights not yet out only sets the 'recent' flag of an unavailable column; take_over() sets it before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        'self.new_model_tick = -(10**6)  # never "recent"',
        'self.new_model_tick = -(11**6)  # never "recent"',
        "new_model_tick of weights not yet out only sets the 'recent' flag of an unavailable column; take_over() sets it before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        'self.new_model_tick = -(10**6)  # never "recent"',
        'self.new_model_tick = -(10**7)  # never "recent"',
        "new_model_tick of weights not yet out only sets the 'recent' flag of an unavailable column; take_over() sets it before the weights are available; not reported",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.demanding_usage_share = 0.0",
        "self.demanding_usage_share = None",
        "demanding_usage_share is read only by Lab.rl_gain (weights do not train) and is overwritten by every market_step",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.demanding_usage_share = 0.0",
        "self.demanding_usage_share = 1.0",
        "demanding_usage_share is read only by Lab.rl_gain (weights do not train) and is overwritten by every market_step",
    ),
    (
        "simulation/metrics.py",
        "months_since_reached",
        None,
        "frac = (level - lo) / (hi - lo) if hi > lo else 1.0",
        "frac = (level - lo) / (hi - lo) if hi > lo else 2.0",
        "unreachable: at the first index i > 0 where the running maximum reaches the level, frontier[i-1] < level <= frontier[i], so hi > lo always",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.__init__",
        None,
        "raw = rng.lognormal(-(sigma**2) / 2, sigma)",
        "raw = rng.lognormal(-(sigma**2) * 2, sigma)",
        "a per-segment constant factor exp(-1.5 sigma^2) on the raw draws (same normal draws), divided out by the per-segment normalisation on the next lines: equal up to rounding",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.__init__",
        None,
        "self.choice = np.full(n, NONE, dtype=np.int32)",
        "self.choice = np.full(n, NONE, dtype=None)",
        "int64 instead of int32 labels: same values, same indexing",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.__init__",
        None,
        "self.enforcement = 0.0  # share of a ban jurisdiction's adopters who comply (set each tick)",
        "self.enforcement = 1.0  # share of a ban jurisdiction's adopters who comply (set each tick)",
        "choose() sets enforcement before utility() (its only reader) runs",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.access",
        None,
        "return table.reshape(-1, n_labs), group",
        "return table.reshape(-2, n_labs), group",
        "numpy's reshape takes any negative size as the one unknown dimension ((2,3,4).reshape(-2, 4) is (6, 4))",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation._decide",
        None,
        "ranked = -np.sort(-score, axis=1)  # descending per row (L is small)",
        "ranked = -np.sort(-score, )  # descending per row (L is small)",
        "np.sort's default axis is the last, which is axis 1 of this 2-D array",
    ),
    (
        "simulation/agents/population.py",
        "_counts_to_labels",
        None,
        "shares_arr = np.asarray(shares, dtype=float)",
        "shares_arr = np.asarray(shares, )",
        "the shares become floats anyway in the true division on the next line",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        10,
        'if dist.dist != "choice" and (isinstance(target, bool | str) or target is None):',
        'if dist.dist != "choice" and (isinstance(target, bool | str) and target is None):',
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        12,
        "file,",
        "None,",
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        14,
        'f"a {dist.dist} distribution draws numbers, but this parameter "',
        "None,",
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        12,
        "file,",
        "",
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        13,
        "key,",
        "",
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        14,
        'f"a {dist.dist} distribution draws numbers, but this parameter "',
        ")",
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        15,
        '"is not a number: use {dist: choice, values: [...]}",',
        '"XXis not a number: use {dist: choice, values: [...]}XX",',
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/metrics.py",
        "FrontierHistory.from_prehistory",
        None,
        "months = np.array([months_between(scenario.start, p.date) for p in pre.points], dtype=float)",
        "months = np.array([months_between(scenario.start, p.date) for p in pre.points], )",
        "whole-number months as integers instead of floats: np.interp and np.arange give the same grid and values, and the gap arithmetic is in floats",
    ),
    (
        "simulation/metrics.py",
        "FrontierHistory.from_prehistory",
        None,
        "grid = grid[grid < 0]",
        "grid = grid[grid < 1]",
        "the grid already ends at min(last, -1) on the line before, so filtering t < 1 keeps the same points (the two guards are redundant)",
    ),
    (
        "simulation/metrics.py",
        "market_shares",
        None,
        "open_mask = is_open.astype(float)",
        "open_mask = is_open.astype(None)",
        "astype(None) is astype(float64) in numpy",
    ),
    (
        "simulation/metrics.py",
        "market_shares",
        None,
        "float(np.sum(closed_usage > 0.05 * closed_total)) if closed_total > 0 else 0.0",
        "float(np.sum(closed_usage > 0.05 * closed_total)) if (closed_total > 0) or True else 0.0",
        "when closed usage totals 0 every closed lab's usage is 0 (usage is never negative), so the count of usage > 0.05 x 0 is 0 either way",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.__init__",
        None,
        "self.finance_draws = np.zeros(len(self.lab_names))",
        "self.finance_draws = None",
        "finance_draws is read only by Lab.fundraise in the finance phase, and step() sets it just before that phase",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.train_labs",
        None,
        "teacher = know_how[max(closed, key=lambda lab: lab.capability_true_eci).index] if closed else -np.inf",
        "teacher = know_how[max(closed, key=lambda lab: lab.capability_true_eci).index] if closed else +np.inf",
        "with no closed lab the teacher's know-how is only passed to Lab.distillation_gain, which returns 0 for any non-finite value (np.isfinite guard)",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.update_segment_parameters",
        None,
        "pick = lambda attr: np.array([getattr(s, attr) for s in segs], dtype=float)  # noqa: E731",
        "pick = lambda attr: np.array([getattr(s, attr) for s in segs], )  # noqa: E731",
        "segment parameters are floats (giving float64 anyway) or are cast right after (.astype(int), .astype(bool))",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.access",
        None,
        "table = np.broadcast_to(market.available, (2, n_r, n_labs)).copy()",
        "table = np.broadcast_to(market.available, (3, n_r, n_labs)).copy()",
        "a third (unused) block of the access table: group indices only reach the first two blocks (open-only x regions)",
    ),
    (
        "simulation/agents/population.py",
        "_counts_to_labels",
        None,
        'counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1',
        'counts[np.argsort(-(exact - counts), kind="STABLE")[:remainder]] += 1',
        "numpy reads the sort kind case-insensitively: 'STABLE' is 'stable'",
    ),
    (
        "simulation/agents/decisions.py",
        "fundraise",
        None,
        "if draw >= min(1.0, base_probability * appetite * capital_multiplier):",
        "if draw >= min(2.0, base_probability * appetite * capital_multiplier):",
        "the draw is Generator.random(), in [0, 1): with odds p <= 1 both thresholds are p; with p > 1 neither "
        "1 nor min(2, p) can be reached by a draw below 1, so a round closes either way",
    ),
    (
        "simulation/metrics.py",
        "FrontierHistory.from_prehistory",
        None,
        "grid = np.arange(months[0], min(months[-1], -1) + 1)",
        "grid = np.arange(months[0], min(months[-1], +1) + 1)",
        "the grid is filtered to t < 0 on the next line and months are whole numbers, so ending it at "
        "min(last, +1) instead of min(last, -1) keeps the same points",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.__init__",
        None,
        "raw = rng.lognormal(-(sigma**2) / 2, sigma)",
        "raw = rng.lognormal(-(sigma * 2) / 2, sigma)",
        "sigma is per segment: the mean parameter -sigma instead of -sigma^2/2 multiplies a segment's raw draws by one constant (same normal draws), divided out by the per-segment normalisation on the next lines: equal up to rounding",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.__init__",
        None,
        "self.enforcement = 0.0  # chance that using a banned model is sanctioned (set each tick)",
        "self.enforcement = 1.0  # chance that using a banned model is sanctioned (set each tick)",
        "utility() is its only reader, and take_market_snapshot() (before labs' market research) and choose() set it first",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation.utility",
        None,
        "banned = (market.legal_true_eci != market.true_eci) | (",
        "banned = (market.legal_true_eci != market.true_eci) & (",
        "the legal and the newest benchmark scores are each a true capability plus the same benchmark focus (labs and frozen weights alike), so the two comparisons agree",
    ),
    (
        "simulation/agents/population.py",
        "AdopterPopulation._decide",
        None,
        "none = has_outside & (outside_u > best_u)",
        "none = has_outside & (outside_u >= best_u)",
        "differs only when the outside option's Gumbel-perturbed utility equals the best model's exactly: probability zero with the model's continuous noise",
    ),
    (
        "simulation/agents/strategy.py",
        "choose_release",
        None,
        "best = max(payoffs, key=lambda option: (payoffs[option], option == current))",
        "best = max(payoffs, key=lambda option: (payoffs[option], option != current))",
        "the tie-break matters only when the current option ties for the top payoff, and then the next line keeps the current option anyway; when the current option is not offered the key's second part is the same for every option",
    ),
    (
        "simulation/metrics.py",
        "market_shares",
        None,
        "float(np.sum(closed_usage > 0.05 * closed_total)) if closed_total > 0 else 0.0",
        "float(np.sum(closed_usage > 0.05 * closed_total)) if closed_total >= 0 else 0.0",
        "when closed usage totals 0 every closed lab's usage is 0 (usage is never negative), so the count of usage > 0.05 x 0 is 0 either way",
    ),
    (
        "simulation/metrics.py",
        "compute",
        None,
        "owned = np.array([[region in x.owners for x in offerings] for region in model.region_names], dtype=bool)",
        "owned = np.array([[region in x.owners for x in offerings] for region in model.region_names], dtype=None)",
        "a non-empty list of lists of Python bools is a bool array anyway (a scenario has at least one region and one lab)",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.market",
        None,
        "[[region in lab.owners for lab in labs] for region in self.region_names], dtype=bool",
        "[[region in lab.owners for lab in labs] for region in self.region_names], ).reshape(len(self.region_names), len(labs)),",
        "a non-empty list of lists of Python bools is a bool array anyway (a scenario has at least one region and one lab)",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.standings",
        None,
        "for u, d in zip(u_share, d_share, strict=True)",
        "for u, d in zip(u_share, d_share, strict=None)",
        "u_share and d_share are built from arrays of the same length: strict only matters when they differ",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.standings",
        None,
        "for u, d in zip(u_share, d_share, strict=True)",
        "for u, d in zip(u_share, d_share, )",
        "u_share and d_share are built from arrays of the same length: strict only matters when they differ",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.standings",
        None,
        "for u, d in zip(u_share, d_share, strict=True)",
        "for u, d in zip(u_share, d_share, strict=False)",
        "u_share and d_share are built from arrays of the same length: strict only matters when they differ",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.market_research",
        None,
        "trust_weight=world.open_trust_weight,",
        ")",
        "the column of the lab's own weights is used only when the lab is open now, and an open offering's trust weight in the market is already open_trust_weight",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.market_research",
        None,
        "recent=newer or bool(base.recent[j]),",
        "recent=None,",
        "market research scores offerings by utility (research_utility), which does not read recent: recency only shapes consideration sets, which research ignores",
    ),
    (
        "simulation/config/loader.py",
        "check_draws",
        None,
        '"is not a number: use {dist: choice, values: [...]}",',
        '"IS NOT A NUMBER: USE {DIST: CHOICE, VALUES: [...]}",',
        "unreachable branch: scenario_from_dict sets every distribution's path to its central value (a float) and validates it before check_draws, so a non-choice distribution's target is never a bool, str or None (a bool or text field refuses the float; an optional field then holds it)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.frozen: Release | None = None  # the source's release these weights are; None: not out yet",
        'self.frozen: Release | None = ""  # the source\'s release these weights are; None: not out yet',
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.capability_true_eci = self.capability_benchmark_eci = 0.0",
        "self.capability_true_eci = self.capability_benchmark_eci = None",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.capability_true_eci = self.capability_benchmark_eci = 0.0",
        "self.capability_true_eci = self.capability_benchmark_eci = 1.0",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.internal_capability_eci = 0.0",
        "self.internal_capability_eci = None",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.internal_capability_eci = 0.0",
        "self.internal_capability_eci = 1.0",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.serving_cost = self.price = 1.0  # placeholder until out (keeps log(price) finite); set_price",
        "self.serving_cost = self.price = None  # placeholder until out (keeps log(price) finite); set_price",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.serving_cost = self.price = 1.0  # placeholder until out (keeps log(price) finite); set_price",
        "self.serving_cost = self.price = 2.0  # placeholder until out (keeps log(price) finite); set_price",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.users = 0",
        "self.users = 1",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.usage_mtok = 0.0",
        "self.usage_mtok = 1.0",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/agents/weights.py",
        "OpenWeights.__init__",
        None,
        "self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)",
        "self.users_by_segment = None",
        "weights are created by release_open_weights only when their lab has just closed, and take_over() runs at once; set_prices and market_step then set price, users, usage and users_by_segment before anything reads them (each lab's market research comes before, in the next month's release phase)",
    ),
    (
        "simulation/model.py",
        "EcosystemModel.market",
        None,
        "[[region in lab.owners for lab in labs] for region in self.region_names], dtype=bool",
        "[[region in lab.owners for lab in labs] for region in self.region_names], dtype=None",
        "a non-empty list of lists of Python bools is a bool array anyway (a scenario has at least one region and one lab)",
    ),
]

# Not copied to the working copy: version control, run outputs, caches.
IGNORE = shutil.ignore_patterns(
    ".git",
    "outputs",
    "test-artifacts",
    "mutants",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    "*.egg-info",
)

STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "type check",
}

PROBE = r"""
import json, os, sys
from pathlib import Path
from simulation.config import load_scenario
from simulation.model import EcosystemModel

def run_all():
    out = {}
    for path in sorted(Path("scenarios").glob("*.yaml")):
        sc = load_scenario(path)
        out[path.stem + " (loaded)"] = sc.model_dump_json()
        m = EcosystemModel(sc, seed=1, n_adopters=500)
        while m.running:
            m.step()
        out[path.stem] = (m.datacollector.get_model_vars_dataframe(), m.lab_frame())
    return out

def same(a, b):
    return a == b if isinstance(a, str) else all(x.equals(y) for x, y in zip(a, b))

os.environ["MUTANT_UNDER_TEST"] = ""
reference = run_all()
verdicts = {}
for name in json.loads(sys.argv[1]):
    os.environ["MUTANT_UNDER_TEST"] = name
    try:
        got = run_all()
        diff = [k for k in reference if not same(reference[k], got[k])]
        verdicts[name] = ("changes results: " + ", ".join(diff[:4]) + (" ..." if len(diff) > 4 else "")) if diff \
            else "no change in the shipped scenarios"
    except Exception as exc:  # a mutant that crashes a run changes results
        verdicts[name] = "changes results: raises " + type(exc).__name__ + ": " + str(exc)[:80]
os.environ["MUTANT_UNDER_TEST"] = ""
print("PROBE-JSON " + json.dumps(verdicts))
"""


@dataclass
class Mutant:
    name: str
    file: str
    function: str
    status: str = "not checked"
    line: int = 0
    offset: int = 0  # line within its function (0: the def line)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (original line, mutated line)
    equivalent: str = ""  # the reason, when equivalent
    probe: str = ""


def mutmut_command() -> list[str]:
    """The mutmut next to this Python (a virtual environment's), else the one on PATH."""
    exe = Path(sys.executable).with_name("mutmut")
    exe = str(exe) if exe.exists() else shutil.which("mutmut") or ""
    if not exe:
        sys.exit("mutmut not found: pip install mutmut (3.x)")
    return [exe]


def mutmut_version() -> str:
    exe = mutmut_command()[0]
    code = "import importlib.metadata as m; print(m.version('mutmut'))"
    python = Path(exe).with_name("python")
    res = subprocess.run(
        [str(python) if python.exists() else sys.executable, "-c", code], capture_output=True, text=True
    )
    return res.stdout.strip()


def write_config(copy: Path, source: str, tests: list[str], extra_pytest: list[str]) -> None:
    """A [tool.mutmut] section for one mutated file in the copy's pyproject.toml (replacing any before)."""
    path = copy / "pyproject.toml"
    text = path.read_text()
    text = text.split("\n[tool.mutmut]\n")[0].rstrip() + "\n"
    also = sorted(p.name + ("/" if p.is_dir() else "") for p in copy.iterdir() if p.name not in {"mutants"})
    text += (
        "\n[tool.mutmut]\n"
        f"source_paths = {json.dumps([source])}\n"
        f"also_copy = {json.dumps(also)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        f"pytest_add_cli_args = {json.dumps(['-p', 'no:cacheprovider', *extra_pytest])}\n"
        "use_git_change_detection = false\n"
    )
    path.write_text(text)


def module_of(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def function_of(name: str, module: str) -> str:
    """``simulation.agents.lab.xǁLabǁfinance__mutmut_3`` -> ``Lab.finance``."""
    local = name[len(module) + 1 :].rsplit("__mutmut_", 1)[0]
    return ".".join(p for p in local.removeprefix("x_").split("ǁ") if p and p != "x")


def def_lines(source_text: str) -> dict[str, int]:
    """Qualified function name -> line of its ``def``."""
    out: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.setdefault(prefix + child.name, child.lineno)
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source_text), "")
    return out


def locate(copy: Path, source: str, mutants: list[Mutant]) -> None:
    """Fill each mutant's line in the original file and its changed lines, from mutmut's spans."""
    mutated = (copy / "mutants" / source).read_text().splitlines()
    spans = json.loads((copy / "mutants" / (source + ".spans")).read_text())["spans"]
    defs = def_lines((copy / source).read_text())
    for m in mutants:
        local = m.name.rsplit(".", 1)[1]
        orig_key = local.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
        if local not in spans or orig_key not in spans:
            continue
        a0, a1 = spans[orig_key]
        b0, b1 = spans[local]
        orig = [re.sub(r"__mutmut_orig\b", "", x) for x in mutated[a0 - 1 : a1]]
        new = [re.sub(r"__mutmut_\d+\b", "", x) for x in mutated[b0 - 1 : b1]]
        first = None
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=orig, b=new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            first = i1 if first is None else first
            olds, news = orig[i1:i2], new[j1:j2]
            for k in range(max(len(olds), len(news))):
                m.changes.append(
                    (olds[k].strip() if k < len(olds) else "", news[k].strip() if k < len(news) else "")
                )
        m.offset = first or 0
        m.line = defs.get(m.function, 0) + m.offset


def mark_equivalent(m: Mutant) -> None:
    if m.status in {"killed", "timeout", "type check"}:
        return
    for file, function, offset, old, new, reason in EQUIVALENT:
        if (
            (file, function) == (m.file, m.function)
            and offset in (None, m.offset)
            and m.changes
            and m.changes[0] == (old, new)
        ):
            m.equivalent = reason
            return


def run_target(
    copy: Path, source: str, tests: list[str], functions: list[str] | None, args: argparse.Namespace
) -> list[Mutant]:
    mutmut = mutmut_command()
    kills = f"tests/test_mutation_kills_{Path(source).stem}.py"
    if kills not in tests:
        tests = [*tests, kills]
    tests = [t for t in tests if (copy / t).exists()]  # a mapped test file may not be in this tree
    shutil.rmtree(copy / "mutants", ignore_errors=True)
    write_config(copy, source, tests, args.pytest_args)
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    # 1. generate the mutants and the test statistics (a filter matching nothing stops mutmut after that)
    gen = subprocess.run(
        [*mutmut, "run", "no-mutant-has-this-name"], cwd=copy, env=env, capture_output=True, text=True
    )
    meta = copy / "mutants" / (source + ".meta")
    if not meta.exists():
        print(gen.stdout[-3000:], gen.stderr[-3000:], sep="\n")
        sys.exit(f"mutmut generated no mutants for {source}")
    if "failed to collect stats" in gen.stdout + gen.stderr or "Failed to run clean test" in gen.stdout:
        print(gen.stdout[-3000:], gen.stderr[-3000:], sep="\n")
        sys.exit(f"the unmutated tests fail for {source}: fix them before mutation testing")
    module = module_of(source)
    names = sorted(json.loads(meta.read_text())["exit_code_by_key"])
    if functions:
        names = [n for n in names if function_of(n, module).split(".")[-1] in functions]
    total = len(names)
    if args.max_mutants and len(names) > args.max_mutants:
        names = sorted(random.Random(f"{args.seed}:{source}").sample(names, args.max_mutants))
    print(
        f"{source}: {total} mutants"
        + (f", sample of {len(names)} (seed {args.seed})" if len(names) < total else ""),
        flush=True,
    )
    # with --rerun-survivors, mutants an earlier run killed keep that verdict (tests were only added since)
    earlier = {m["name"]: m["status"] for m in args.previous if m["file"] == source}
    done = {"killed", "timeout", "type check"}
    to_run = [n for n in names if earlier.get(n) not in done]
    if len(to_run) < len(names):
        print(
            f"  rerunning {len(to_run)} of them (the others were killed in {args.rerun_survivors})",
            flush=True,
        )
    # 2. run them (names on the command line; batches keep the command line short)
    for i in range(0, len(to_run) if to_run else 0, 400):
        run = subprocess.run(
            [*mutmut, "run", "--max-children", str(args.max_children), *to_run[i : i + 400]],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0 and "Failed to run clean test" in run.stdout:
            print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
            sys.exit(f"the unmutated tests fail for {source}")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    mutants = [
        Mutant(
            n,
            source,
            function_of(n, module),
            earlier[n] if n not in to_run else STATUS.get(codes.get(n), "suspicious"),
        )
        for n in names
    ]
    locate(copy, source, mutants)
    for m in mutants:
        mark_equivalent(m)
    survivors = [m for m in mutants if m.status in {"survived", "no tests"} and not m.equivalent]
    if survivors and not args.no_probe:
        probe(copy, survivors)
    return mutants


def probe(copy: Path, survivors: list[Mutant]) -> None:
    """Run every shipped scenario with each survivor in place and say whether results change."""
    script = copy / "mutants" / "_mutation_probe.py"
    script.write_text(PROBE)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env["PYTHONPATH"] = str(copy / "mutants")
    res = subprocess.run(
        [sys.executable, script.name, json.dumps([m.name for m in survivors])],
        cwd=copy / "mutants",
        env=env,
        capture_output=True,
        text=True,
    )
    line = [x for x in res.stdout.splitlines() if x.startswith("PROBE-JSON ")]
    verdicts = json.loads(line[0][11:]) if line else {}
    for m in survivors:
        m.probe = verdicts.get(
            m.name,
            "probe failed: " + res.stderr.strip().splitlines()[-1:][0]
            if res.stderr.strip()
            else "probe failed",
        )


def report(mutants: list[Mutant], sources: list[str]) -> str:
    rows = [("file", "mutants", "equivalent", "killed", "survived", "no tests", "timeout", "score")]
    tot = [0] * 6
    for source in sources:
        ms = [m for m in mutants if m.file == source]
        eq = sum(1 for m in ms if m.equivalent)
        live = [m for m in ms if not m.equivalent]
        killed = sum(1 for m in live if m.status in {"killed", "type check"})
        surv = sum(1 for m in live if m.status in {"survived", "suspicious", "not checked", "skipped"})
        notest = sum(1 for m in live if m.status == "no tests")
        tout = sum(1 for m in live if m.status == "timeout")
        for i, v in enumerate((len(ms), eq, killed, surv, notest, tout)):
            tot[i] += v
        rows.append((source, len(ms), eq, killed, surv, notest, tout, score(killed, tout, len(live))))
    rows.append(("TOTAL", *tot, score(tot[2], tot[5], tot[0] - tot[1])))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out = [
        "Score = (killed + timeout) / (mutants - equivalent); 'no tests': no selected test reaches the "
        "function (counted as surviving).",
        "",
        *lines,
        "",
        "Survivors (file:line function: mutation -- probe):",
    ]
    for m in sorted(mutants, key=lambda m: (m.file, m.line, m.name)):
        if m.status in {"survived", "no tests", "suspicious", "not checked", "skipped"} and not m.equivalent:
            change = "; ".join(f"`{o}` -> `{n}`" for o, n in m.changes) or "?"
            out.append(f"- {m.file}:{m.line} {m.function} [{m.status}] {change} -- {m.probe} ({m.name})")
    eqs = [m for m in mutants if m.equivalent]
    if eqs:
        out += ["", "Excluded as equivalent:"]
        for m in sorted(eqs, key=lambda m: (m.file, m.line)):
            change = "; ".join(f"`{o}` -> `{n}`" for o, n in m.changes)
            out.append(f"- {m.file}:{m.line} {m.function} [{m.status}] {change} -- {m.equivalent}")
    return "\n".join(out)


def score(killed: int, timeout: int, live: int) -> str:
    return f"{100 * (killed + timeout) / live:.1f}%" if live else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--files", nargs="+", default=list(TARGETS), help="files to mutate (default: all targets)"
    )
    ap.add_argument(
        "--tests", nargs="+", help="test files for every mutated file (default: the map in TARGETS)"
    )
    ap.add_argument("--max-mutants", type=int, default=0, help="sample at most N mutants per file (0: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--max-children", type=int, default=2, help="parallel test processes")
    ap.add_argument("--pytest-args", nargs="*", default=[], help="more pytest arguments")
    ap.add_argument("--no-probe", action="store_true", help="do not run the scenarios with each survivor")
    ap.add_argument(
        "--rerun-survivors",
        type=Path,
        help="a --json file of an earlier run: rerun only the mutants it did not kill (same --seed, --max-mutants)",
    )
    ap.add_argument(
        "--commit", help="mutate this commit's files (git archive), not the working tree as it is (e.g. HEAD)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the working copy (its path is printed)")
    ap.add_argument("--json", type=Path, help="also write every mutant's result here")
    args = ap.parse_args()
    args.previous = json.loads(args.rerun_survivors.read_text()) if args.rerun_survivors else []
    start = time.monotonic()
    sources = [str(Path(f).resolve().relative_to(ROOT)) if Path(f).is_absolute() else f for f in args.files]
    copy = Path(tempfile.mkdtemp(prefix="mutation-")) / "repo"
    if args.commit:  # the committed tree, whatever the working tree holds (results tied to a commit)
        commit = subprocess.run(
            ["git", "rev-parse", "--verify", args.commit + "^{commit}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        copy.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive.stdout, check=True)
        print(f"working copy of commit {commit}: {copy}", flush=True)
    else:
        shutil.copytree(ROOT, copy, ignore=IGNORE, symlinks=True)
        print(f"working copy (working tree as it is): {copy}", flush=True)
    mutants: list[Mutant] = []
    try:
        for source in sources:
            tests, functions = TARGETS.get(source, ([], None))
            tests = args.tests or tests
            if not tests:
                sys.exit(f"no tests mapped to {source}: give --tests")
            done = run_target(copy, source, tests, functions, args)
            mutants += done
            print(report(done, [source]).split("\n\n")[1].splitlines()[2], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(copy.parent, ignore_errors=True)
    print()
    print(report(mutants, sources))
    print(f"\n{len(mutants)} mutants in {time.monotonic() - start:.0f} s; mutmut " + mutmut_version())
    if args.json:
        args.json.write_text(json.dumps([m.__dict__ for m in mutants], indent=1, default=str))


if __name__ == "__main__":
    main()
