"""Labs' decisions and the economics they rest on, as small pure functions: state and parameters in,
decision out. :class:`~simulation.agents.lab.Lab` composes them each month; each is unit-tested on
hand-computed cases (tests/test_decisions.py). Claim numbers refer to docs/claims.md.

Money in USD, compute in FLOP (training runs) or FLOP per month (capacity), capability in ECI points,
prices in USD per million tokens (Mtok).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# -- investment: how much compute to add (F2, F7, F15) -----------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    """A month's compute purchase: what it costs, the capacity it adds, and which limit set it."""

    spend_usd: float
    added_flop_per_month: float
    build_limited: bool  # True: the physical build-out limit bound and money was left; False: money bound


def build_limit_flop_per_month(
    capacity_flop_per_month: float,
    max_growth_per_year: float,
    min_build_flop_per_month: float,
    depreciation_per_month: float,
) -> float:
    """Most capacity a lab can add in a month: what keeps its capacity growing at ``max_growth_per_year``
    (chips, power and data-centre lead times) after replacing what retires, and never less than
    ``min_build_flop_per_month`` (capacity anyone can rent or build in a month)."""
    growth = max_growth_per_year ** (1 / 12) - 1 + depreciation_per_month
    return max(capacity_flop_per_month * growth, min_build_flop_per_month)


def compute_purchase(
    cash_usd: float,
    operating_burn_usd: float,
    price_usd_per_flop_month: float,
    build_limit_flop: float,
    *,
    reserve_months: float,
    deploy_months: float,
) -> Purchase:
    """Spend on new capacity: the cash above a reserve of ``reserve_months`` of operating burn (staff and
    serving, net of revenue and patron money; none when operations pay for themselves), spread over
    ``deploy_months``, up to what can physically be built this month. More money buys more compute until
    the build limit binds; only then is cash left idle (F2, F7)."""
    reserve = reserve_months * max(operating_burn_usd, 0.0)
    budget = max(0.0, cash_usd - reserve) / deploy_months
    cap_usd = build_limit_flop * price_usd_per_flop_month
    if budget >= cap_usd:
        return Purchase(cap_usd, build_limit_flop, True)
    return Purchase(budget, budget / price_usd_per_flop_month, False)


def research_funding(runway_months: float, comfort_months: float) -> float:
    """Fraction of its own research a lab keeps funded: 1 with a comfortable runway, less as it shortens
    (F7)."""
    return min(max(runway_months / comfort_months, 0.0), 1.0)


def runway_months(cash_usd: float, net_burn_usd: float, cap_months: float) -> float:
    """Months of cash at the current net burn; ``cap_months`` for labs that do not burn."""
    if net_burn_usd <= 0:
        return cap_months
    return min(cap_months, max(0.0, cash_usd) / net_burn_usd)


# -- fundraising and patrons (F7, F12, F19) -------------------------------------------------------------


def investor_appetite(
    distance_eci: float, momentum: float, proximity_scale_eci: float, momentum_weight: float
) -> float:
    """Investors' interest, 0..3: exp(-benchmark distance to the frontier / scale) times (1 + weight *
    growth), growth being 6-month revenue growth for closed labs and usage growth for open ones."""
    proximity = math.exp(-max(0.0, distance_eci) / proximity_scale_eci)
    momentum = min(max(momentum, -1.0), 2.0)
    return min(max(proximity * (1 + momentum_weight * momentum), 0.0), 3.0)


def fundraise(
    draw: float,
    runway: float,
    appetite: float,
    capital_multiplier: float,
    *,
    trigger_months: float,
    base_probability: float,
    round_usd: float,
) -> float:
    """A round, USD: tried when the runway is below ``trigger_months``; it closes when ``draw`` (uniform)
    falls under base probability x appetite x the bloc's capital multiplier, and its size is
    ``round_usd`` x min(appetite, 1) x the capital multiplier (F7)."""
    if runway >= trigger_months:
        return 0.0
    if draw >= min(1.0, base_probability * appetite * capital_multiplier):
        return 0.0
    return round_usd * min(appetite, 1.0) * capital_multiplier


def patron_support_target(relative_share: float, elasticity: float, max_support: float) -> float:
    """What a patron wants to give, relative to its plan: (lab's share / an equal share among the active
    labs) ^ elasticity, at most ``max_support``. Patrons fund open models for the adoption they win
    (commoditising a complement, a national champion): winning raises it, losing starves it (F7, F19)."""
    return min(max(relative_share, 0.0) ** elasticity, max_support)


def update_patron_support(support: float, target: float, patience_months: float) -> float:
    """Patrons move their support toward the target by 1/patience a month (budgets are not re-cut daily;
    a new lab keeps its founding budget for a while)."""
    return support + (target - support) / patience_months


def relative_share(usage_share: Any, developer_share: Any, developer_weight: float, labs: Any) -> Any:
    """A lab's standing among the active labs: its blend of usage share and developers' usage share, times
    the number of active labs (1 = an equal share). Scalars, or numpy arrays elementwise."""
    blended = (1 - developer_weight) * usage_share + developer_weight * developer_share
    return blended * np.maximum(labs, 1)


# -- prices (F14) --------------------------------------------------------------------------------------


def serving_cost_usd_per_mtok(
    training_flop: float,
    tick: int,
    *,
    reference_cost_usd_per_mtok: float,
    reference_training_flop: float,
    hardware_decline_per_year: float,
    inference_gain_per_year: float,
) -> float:
    """What it costs to serve a million tokens of a model trained with ``training_flop`` FLOP (physical).

    Serving cost scales with model size, and compute-optimal size grows as the square root of training
    compute (Chinchilla), so cost ~ sqrt(training FLOP / reference) x the reference cost. Over time it falls
    with hardware (``hardware_decline_per_year``, the fractional fall of the compute price) and serving
    software (``inference_gain_per_year``, a multiplier: quantisation, sparsity, batching). At fixed
    capability the price falls faster still, as know-how lets smaller models reach it (F14)."""
    size = math.sqrt(max(training_flop, 1.0) / reference_training_flop)
    per_year = (1 - hardware_decline_per_year) / inference_gain_per_year
    return reference_cost_usd_per_mtok * size * per_year ** (tick / 12)


def closed_markup(lead_eci: float, max_markup: float, response_eci: float) -> float:
    """A closed lab's price over its serving cost: ``max_markup`` while its model leads the best open
    model by ``response_eci`` or more, cut linearly toward cost (1) as open models catch up (answering
    competitors, F14)."""
    if response_eci <= 0:
        return max_markup
    return 1.0 + (max_markup - 1.0) * min(max(lead_eci / response_eci, 0.0), 1.0)


# -- capability (F2, F5, F16, F18) --------------------------------------------------------------------------


def compute_term_eci(
    training_flop: float, efficiency: float, eci_per_decade: float, reference_flop: float
) -> float:
    """ECI points from effective training compute (F2): eci_per_decade x log10(FLOP x efficiency /
    reference). Efficiency x2 adds eci_per_decade x log10(2), exactly as twice the compute would."""
    effective = max(training_flop * efficiency, 1.0)
    return eci_per_decade * math.log10(effective / reference_flop)


def catch_up(gap: float, rate: float) -> float:
    """Close ``rate`` (0..1) of a positive gap; nothing when ahead."""
    return min(max(rate, 0.0), 1.0) * max(0.0, gap)


def distillation_rate(
    ability: float, efficacy: float, halflife_months: float, tick: int, access: float
) -> float:
    """Fraction of the gap to the best reachable closed model a lab closes by distilling this month (F5):
    ability x world efficacy halving every ``halflife_months`` (RL post-training matters more) x the
    bloc's API access, at most 1."""
    return min(1.0, ability * efficacy * 0.5 ** (tick / halflife_months) * access)
