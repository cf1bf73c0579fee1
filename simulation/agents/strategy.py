"""How a lab releases its next model: open weights or closed API, and, when an open-weight ban binds it,
how it answers (F7, F9, F12, F14, F15, F19). Small pure functions: the lab's market research (expected
usage of each option, from the adopters' own utilities) and its costs in, the option out. Composed by
:meth:`~simulation.agents.lab.Lab.release`; unit-tested on hand-computed cases (tests/test_release.py).

Money in USD per month, usage in million tokens (Mtok) per month, prices in USD per Mtok.

The options:

- ``closed``: sell API access at its own price; it earns the margin over serving the model on its own
  compute (its bloc's compute price: export controls raise it, F15). Weights it released open before stay
  on the market and compete with it (F9).
- ``open``: release the weights; others serve them at serving cost; the lab captures
  ``open_revenue_fraction`` of the spend and values the adoption at ``open_strategic_value`` of serving cost
  (talent, ecosystem, patrons' and investors' interest, F7, F19).
- Under an open-weight ban that binds the next run (F9): ``capped`` (train at the threshold, log-linear loss),
  ``offshore`` (release from abroad at a running cost), ``defy`` (release anyway and risk the sanction).
"""

from __future__ import annotations

from dataclasses import dataclass

CLOSED, OPEN, CAPPED, OFFSHORE, DEFY = "closed", "open", "capped", "offshore", "defy"
OPEN_OPTIONS = (OPEN, CAPPED, OFFSHORE, DEFY)  # released as open weights
BAN_OPTIONS = (CAPPED, OFFSHORE, DEFY)  # offered only by a binding open-weight ban (F9)


@dataclass(frozen=True)
class Offer:
    """One way to release the next model: the option, its capability (true ECI), the physical training FLOP
    behind it (serving cost and the ban threshold judge it), and whether its weights are open."""

    option: str
    true_eci: float
    training_flop: float

    @property
    def is_open(self) -> bool:
        return self.option in OPEN_OPTIONS


@dataclass(frozen=True)
class Research:
    """What a lab's market research expects for an offer: its usage (Mtok per month) and its standing among
    the active labs (share of their usage and developers' usage x number of active labs: 1 = an equal
    share), which its patron weighs (``decisions.relative_share``)."""

    usage_mtok: float
    standing: float


def release_payoff_usd(
    option: str,
    usage_mtok: float,
    price_usd_per_mtok: float,
    serving_cost_usd_per_mtok: float,
    *,
    open_revenue_fraction: float,
    open_strategic_value: float,
    patron_usd: float = 0.0,
    running_cost_usd: float = 0.0,
) -> float:
    """What an option brings the lab per month, USD: for ``closed``, usage x (price - serving cost on its own
    compute); for the open options, usage x serving cost x (revenue fraction + strategic value); plus the
    patron money the option's standing would earn, minus its own running cost (offshoring, expected
    sanctions)."""
    if option == CLOSED:
        earned = usage_mtok * (price_usd_per_mtok - serving_cost_usd_per_mtok)
    else:
        earned = usage_mtok * serving_cost_usd_per_mtok * (open_revenue_fraction + open_strategic_value)
    return earned + patron_usd - running_cost_usd


def ban_running_cost_usd(
    option: str,
    staff_usd_per_month: float,
    *,
    enforcement: float,
    lab_penalty_months: float,
    offshore_cost_fraction: float,
) -> float:
    """Monthly cost an option carries under a binding ban, USD: offshoring costs a fraction of staff costs;
    defying it costs the expected sanction, enforcement x ``lab_penalty_months`` of staff costs."""
    if option == OFFSHORE:
        return offshore_cost_fraction * staff_usd_per_month
    if option == DEFY:
        return enforcement * lab_penalty_months * staff_usd_per_month
    return 0.0


def choose_release(payoffs: dict[str, float], current: str, switch_margin: float) -> str:
    """The option with the highest payoff; the current one is kept unless another beats it by more than
    ``switch_margin`` x its absolute payoff (switching has costs the payoffs omit). Ties go to the current
    option, then to the order given."""
    best = max(payoffs, key=lambda option: (payoffs[option], option == current))
    if current in payoffs and payoffs[best] <= payoffs[current] + switch_margin * abs(payoffs[current]):
        return current
    return best
