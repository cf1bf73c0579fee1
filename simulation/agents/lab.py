"""AI labs: the Mesa agents. Few (about 15), each with finance, compute, training and release verbs.

State lives on the agent; parameters are read each tick from ``model.params.labs[name]`` so dated events
(``events:`` in a scenario) take effect without rebuilding agents. Claim numbers refer to shared/domain.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..config.schema import LabConfig

if TYPE_CHECKING:
    from ..model import EcosystemModel

RUNWAY_CAP_MONTHS = 240.0  # runway reported for labs that are not burning cash


@dataclass(frozen=True)
class Release:
    """A released model as adopters see it: capabilities in ECI points, and the tick it came out."""

    true_eci: float
    benchmark_eci: float
    legal_true_eci: float  # under an open-weight ban: the newest version complying adopters may use
    legal_benchmark_eci: float
    tick: int


class Lab(mesa.Agent):
    """One lab. Capability in ECI points; money in USD; compute in FLOP per month of capacity."""

    model: EcosystemModel
    kind = "lab"

    def __init__(self, model: EcosystemModel, name: str, index: int):
        super().__init__(model)
        self.name = name
        self.index = index  # column of this lab in the adopter arrays
        cfg = self.cfg
        world = model.params.world
        self.entry_tick = 0 if cfg.enters is None else model.params.month_index(cfg.enters)
        self.entered = self.entry_tick <= 0
        self.alive = self.entered
        self.is_open = cfg.release_policy == "open"
        # -- finance
        self.cash_usd = cfg.initial_cash_usd
        self.revenue_usd = 0.0
        self.costs_usd = 0.0
        self.raised_usd = 0.0
        self.subsidy_received_usd = 0.0
        self.compute_spend_usd = 0.0
        self.spend_factor = 1.0
        # -- compute and capability
        self.compute_flop_per_month = cfg.initial_compute_flop_per_month
        growth = self.expected_growth_eci_per_month()
        months_since_snapshot = world.training_lag_months + max(
            0, cfg.release_cadence_months - cfg.release_offset_months
        )
        internal0 = cfg.initial_capability_eci + growth * months_since_snapshot
        self.know_how_eci = internal0 - self.compute_term_eci()
        self.internal_capability_eci = internal0
        # history of internal capability for the training lag: index k holds tick (k - lag)
        lag = world.training_lag_months
        self._internal_history = [internal0 - growth * (lag - k) for k in range(lag + 1)]
        # training FLOP of the run behind each of those snapshots (what a ban threshold judges)
        self._flop_history = [self.compute_flop_per_month * world.run_months] * (lag + 1)
        self.capability_true_eci = cfg.initial_capability_eci
        self.capability_benchmark_eci = cfg.initial_capability_eci + cfg.benchmark_focus_eci
        # newest release adopters under an open-weight ban may use (released before it or below its threshold)
        self.legal_true_eci = self.capability_true_eci
        self.legal_benchmark_eci = self.capability_benchmark_eci
        self.training_flop = self.compute_flop_per_month * world.run_months
        self.released_training_flop = self.training_flop
        self.last_release_tick = -(cfg.release_cadence_months - cfg.release_offset_months)
        self.new_model_tick = self.last_release_tick  # last release that improved on the one before
        # the last model adopters could take as open weights: what stays out if the lab turns closed
        # (OpenWeights); recorded at each market phase while the lab is on the market open
        self.last_open_release: Release | None = None
        # -- market (filled by the adopter population)
        self.users = 0
        self.usage_mtok = 0.0
        self.demanding_usage_share = 0.0
        self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)
        self._usage_history: list[float] = []
        self.runway_months = self.runway(
            self.cash_usd, self.planned_compute_spend_usd() + cfg.staff_usd_per_month - self.subsidy_usd()
        )

    # -- parameters --------------------------------------------------------------------------------
    @property
    def cfg(self) -> LabConfig:
        return self.model.params.labs[self.name]

    @property
    def bloc(self) -> str:
        return self.cfg.bloc

    @property
    def active(self) -> bool:
        """Entered and not exited."""
        return self.entered and self.alive

    @property
    def segment_affinity(self) -> dict[str, float]:
        """Extra utility by segment name (F12)."""
        return self.cfg.segment_affinity

    def price_usd_per_mtok(self) -> float:
        """What adopters pay per million tokens: open weights at inference cost (F14)."""
        if self.is_open:
            return self.model.params.world.open_inference_price_usd_per_mtok
        return self.cfg.price_usd_per_mtok

    def compute_term_eci(self) -> float:
        """ECI points from log10 effective training compute (F2): alpha * log10(run FLOP * efficiency)."""
        world = self.model.params.world
        effective = self.compute_flop_per_month * world.run_months * self.cfg.training_efficiency
        return world.eci_per_decade_compute * math.log10(max(effective, 1.0))  # a lab with no compute: 0

    def expected_growth_eci_per_month(self) -> float:
        """Rough capability growth used only to place the start between releases."""
        world = self.model.params.world
        cfg = self.cfg
        capacity_growth = cfg.spend_growth_per_year / (1 - world.compute_price_decline_per_year)
        return (
            cfg.algo_progress_eci_per_month + world.eci_per_decade_compute * math.log10(capacity_growth) / 12
        )

    # -- phase 0: entry ----------------------------------------------------------------------------
    def enter(self) -> None:
        if not self.entered and self.model.tick >= self.entry_tick:
            self.entered = True
            self.alive = True
            self.last_release_tick = (
                self.model.tick - self.cfg.release_cadence_months + self.cfg.release_offset_months
            )
            self.new_model_tick = self.model.tick  # a new entrant counts as new

    # -- phase 1: finance (F7, F19) ------------------------------------------------------------------
    def finance(self) -> None:
        """Revenue from last month's usage, costs, patron money, fundraising; exit when cash runs out."""
        if not self.active:
            self.revenue_usd = self.costs_usd = self.raised_usd = self.subsidy_received_usd = 0.0
            return
        world = self.model.params.world
        cfg = self.cfg
        spend_mtok = self.usage_mtok * self.price_usd_per_mtok()
        if self.is_open:
            self.revenue_usd = spend_mtok * world.open_revenue_fraction
            serving = 0.0
        else:
            self.revenue_usd = spend_mtok
            serving = spend_mtok * (1 - world.closed_gross_margin)
        self.costs_usd = cfg.staff_usd_per_month + serving
        self.raised_usd = self.fundraise()
        subsidy = self.subsidy_received_usd = self.subsidy_usd()
        self.cash_usd += self.revenue_usd + subsidy + self.raised_usd - self.costs_usd
        net_burn = self.planned_compute_spend_usd() + self.costs_usd - self.revenue_usd - subsidy
        self.runway_months = self.runway(self.cash_usd, net_burn)
        if self.cash_usd < 0:
            self.exit()

    def subsidy_usd(self) -> float:
        """Patron money this month (parent company, state, consortium), USD."""
        cfg = self.cfg
        return cfg.subsidy_usd_per_month * cfg.subsidy_growth_per_year ** (self.model.tick / 12)

    @staticmethod
    def runway(cash_usd: float, net_burn_usd: float) -> float:
        """Months of cash at the current net burn; capped for labs that do not burn."""
        if net_burn_usd <= 0:
            return RUNWAY_CAP_MONTHS
        return min(RUNWAY_CAP_MONTHS, max(0.0, cash_usd) / net_burn_usd)

    def fundraise(self) -> float:
        """A round, USD: tried when the runway is short; odds and size rise with benchmark proximity to
        the frontier and with usage momentum, and scale with the bloc's capital multiplier (F7)."""
        draw = self.model.finance_draws[self.index]  # drawn every tick for every lab: common random numbers
        world = self.model.params.world
        if self.runway_months >= world.fundraise_trigger_months:
            return 0.0
        appetite = self.investor_appetite() * self.model.params.blocs[self.bloc].capital_multiplier
        if draw >= min(1.0, self.cfg.fundraise_probability_per_month * appetite):
            return 0.0
        gross_burn = self.planned_compute_spend_usd() + self.cfg.staff_usd_per_month
        return world.round_months_of_burn * gross_burn * min(appetite, 1.0)

    def investor_appetite(self) -> float:
        """exp(-distance to the benchmark frontier / scale) * (1 + weight * 6-month usage growth), in [0, 3]."""
        world = self.model.params.world
        distance = max(0.0, self.model.frontier_benchmark_eci - self.capability_benchmark_eci)
        proximity = math.exp(-distance / world.proximity_scale_eci)
        momentum = 0.0
        if len(self._usage_history) >= 7 and self._usage_history[-7] > 0:
            momentum = _clip(self._usage_history[-1] / self._usage_history[-7] - 1, -1.0, 2.0)
        return _clip(proximity * (1 + world.momentum_weight * momentum), 0.0, 3.0)

    def exit(self) -> None:
        """Out of cash: the lab stops; its adopters must choose again on this tick."""
        self.alive = False
        self.runway_months = 0.0

    # -- phase 2: compute (F2, F15) --------------------------------------------------------------------
    def planned_compute_spend_usd(self) -> float:
        cfg = self.cfg
        return cfg.compute_spend_usd_per_month * cfg.spend_growth_per_year ** (self.model.tick / 12)

    def buy_compute(self) -> None:
        """Buy capacity at the bloc's price; a short runway scales purchases down (F7)."""
        world = self.model.params.world
        if not self.active:
            self.compute_spend_usd = 0.0
            return
        self.spend_factor = _clip(
            self.runway_months / world.runway_comfort_months, world.min_spend_fraction, 1.0
        )
        spend = min(self.planned_compute_spend_usd() * self.spend_factor, max(0.0, self.cash_usd))
        self.compute_spend_usd = spend
        self.cash_usd -= spend
        price = self.model.compute_price_usd_per_flop_month(self.bloc)
        self.compute_flop_per_month = (
            self.compute_flop_per_month * (1 - world.compute_depreciation_per_month) + spend / price
        )
        self.training_flop = self.compute_flop_per_month * world.run_months

    # -- phase 3: training (F2, F5, F6, F16) -------------------------------------------------------------
    def train(
        self,
        know_how: np.ndarray,
        is_open: np.ndarray,
        blocs: np.ndarray,
        active: np.ndarray,
        teacher_eci: float,
    ) -> None:
        """Know-how grows by own research, spill-over, distillation and online RL; internal capability is
        compute term + know-how. ``know_how``/``is_open``/``blocs`` are snapshots of all labs (synchronous)."""
        if not self.active:
            return
        self.know_how_eci += (
            self.research_gain()
            + self.spillover_gain(know_how, is_open, blocs, active)
            + self.distillation_gain(teacher_eci)
            + self.rl_gain()
        )
        self.internal_capability_eci = self.compute_term_eci() + self.know_how_eci
        self._internal_history.append(self.internal_capability_eci)
        del self._internal_history[0]
        self._flop_history.append(self.training_flop)
        del self._flop_history[0]

    def research_gain(self) -> float:
        """Own algorithmic progress, cut when compute purchases are cut (a short runway)."""
        floor = self.model.params.world.research_funding_floor
        return self.cfg.algo_progress_eci_per_month * (floor + (1 - floor) * self.spend_factor)

    def spillover_gain(
        self, know_how: np.ndarray, is_open: np.ndarray, blocs: np.ndarray, active: np.ndarray
    ) -> float:
        """Sum over labs j of rate * openness_j * bloc factor * max(0, A_j - A_self) (F16)."""
        world = self.model.params.world
        weights = np.where(is_open, 1.0, world.closed_source_spillover) * world.spillover_rate_per_month
        weights = weights * np.where(
            blocs == self.model.bloc_index[self.bloc], world.same_bloc_spillover, 1.0
        )
        weights[self.index] = 0.0
        weights = weights * active
        gaps = np.maximum(0.0, know_how - self.know_how_eci)
        return float(weights @ gaps)

    def distillation_gain(self, teacher_eci: float) -> float:
        """Close a fraction of the gap to the best reachable closed model, declining over time (F5).
        The fraction is at most 1, so distillation alone never lifts a lab above its teacher."""
        if self.cfg.distillation_ability <= 0 or not np.isfinite(teacher_eci):
            return 0.0
        world = self.model.params.world
        efficacy = world.distillation_efficacy * 0.5 ** (self.model.tick / world.distillation_halflife_months)
        rate = min(
            1.0,
            self.cfg.distillation_ability * efficacy * self.model.params.blocs[self.bloc].distillation_access,
        )
        return rate * max(0.0, teacher_eci - self.internal_capability_eci)

    def rl_gain(self) -> float:
        """Closed labs learn from their users in demanding segments, in proportion to their share (F6)."""
        if self.is_open:
            return 0.0
        return self.model.params.world.rl_gain_eci_per_month * self.demanding_usage_share

    # -- phase 4: release (F1, F3, F9) --------------------------------------------------------------------
    def release(self) -> None:
        """On the cadence, release what was trained ``training_lag_months`` ago; benchmark = true + focus."""
        if not self.active:
            return
        cfg = self.cfg
        self.apply_ban()
        if self.model.tick - self.last_release_tick < cfg.release_cadence_months:
            return
        self.last_release_tick = self.model.tick
        world = self.model.params.world
        candidate = self._internal_history[0]
        training_flop = self._flop_history[0]  # the run that produced the candidate
        ban = self.model.params.policy.ban
        if self.is_open and self.banned_here() and training_flop > ban.threshold_flop:
            if cfg.ban_response != "train_below_threshold":
                return  # stop releasing open models above the threshold: the current one stays (F9)
            # train down to the threshold: log-linear scaling gives the capability lost (F2, F9)
            candidate -= world.eci_per_decade_compute * math.log10(training_flop / ban.threshold_flop)
            training_flop = ban.threshold_flop
        if candidate > self.capability_true_eci:
            self.capability_true_eci = candidate
            self.released_training_flop = training_flop
            self.new_model_tick = self.model.tick

        self.capability_benchmark_eci = self.capability_true_eci + cfg.benchmark_focus_eci
        if not (self.is_open and ban.active and self.released_training_flop > ban.threshold_flop):
            self.legal_true_eci = self.capability_true_eci  # the newest model a ban lets in (F9)
        self.legal_benchmark_eci = self.legal_true_eci + cfg.benchmark_focus_eci

    def current_release(self) -> Release:
        return Release(
            self.capability_true_eci,
            self.capability_benchmark_eci,
            self.legal_true_eci,
            self.legal_benchmark_eci,
            self.new_model_tick,
        )

    def banned_here(self) -> bool:
        ban = self.model.params.policy.ban
        return ban.active and self.bloc == ban.jurisdiction

    def apply_ban(self) -> None:
        """A bound open lab whose next run exceeds the threshold turns closed if that is its response."""
        ban = self.model.params.policy.ban
        if (
            self.is_open
            and self.banned_here()
            and self.cfg.ban_response == "close"
            and self.training_flop > ban.threshold_flop
        ):
            self.is_open = False

    # -- after the market ------------------------------------------------------------------------------
    def record_usage(self) -> None:
        self._usage_history.append(self.usage_mtok)
        if len(self._usage_history) > 12:
            del self._usage_history[0]


def _clip(x: float, low: float, high: float) -> float:
    """Scalar clip (np.clip costs microseconds per call on the hot path)."""
    return float(min(max(x, low), high))
