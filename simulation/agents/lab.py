"""AI labs: the Mesa agents. Few (about 15), each with finance, compute, training, release and pricing
verbs. Each verb is short: the decisions themselves are pure functions in ``decisions.py``.

State lives on the agent; parameters are read each tick from ``model.params.labs[name]`` so dated events
(``events:`` in a scenario) take effect without rebuilding agents. Claim numbers refer to docs/claims.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..config.schema import LabConfig
from . import decisions as d
from . import strategy
from .strategy import Offer

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
    training_flop: float  # physical FLOP of the run behind it: sets its serving cost


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
        self.is_open = cfg.open_at_start
        # how the current model was released: an option of ``strategy`` (open, closed, or a ban answer)
        self.release_option = strategy.OPEN if self.is_open else strategy.CLOSED
        self.release_payoffs: dict[str, float] = {}  # what each option was expected to bring, last decision
        # -- finance
        self.cash_usd = cfg.initial_cash_usd
        self.revenue_usd = self.costs_usd = self.raised_usd = self.subsidy_received_usd = 0.0
        self.compute_spend_usd = 0.0
        self.research_funding = 1.0
        self.build_limited = False
        self.patron_support = 1.0  # patron money relative to its plan (F19)
        # -- compute and capability: internal = compute term + know-how, no residual (F2)
        self.compute_flop_per_month = cfg.initial_compute_flop_per_month
        self.training_flop = self.compute_flop_per_month * world.run_months
        self.efficiency_gain_log10 = 0.0  # efficiency learnt from others (spill-over, F16, F18)
        self.know_how_eci = cfg.initial_know_how_eci
        self.internal_capability_eci = self.compute_term_eci() + self.know_how_eci
        # history of internal capability for the training lag: index k holds tick (k - lag); before the
        # start it is placed back at the lab's own research pace
        lag = world.training_lag_months
        pace = cfg.algo_progress_eci_per_month
        self._internal_history = [self.internal_capability_eci - pace * (lag - k) for k in range(lag + 1)]
        # training FLOP of the run behind each of those snapshots (what a ban threshold judges)
        self._flop_history = [self.training_flop] * (lag + 1)
        self.capability_true_eci = cfg.initial_capability_eci
        self.capability_benchmark_eci = cfg.initial_capability_eci + cfg.benchmark_focus_eci
        # newest release adopters under an open-weight ban may use (released before it or below its threshold)
        self.legal_true_eci = self.capability_true_eci
        self.legal_benchmark_eci = self.capability_benchmark_eci
        self.released_training_flop = self.training_flop
        self.last_release_tick = -(cfg.release_cadence_months - cfg.release_offset_months)
        self.new_model_tick = self.last_release_tick  # last release that improved on the one before
        # the last model adopters could take as open weights: what stays out if the lab turns closed
        # (OpenWeights); recorded at each market phase while the lab is on the market open
        self.last_open_release: Release | None = None
        # -- prices: set each month by set_price (F14)
        self.serving_cost = self.price = 0.0
        self.set_price(-math.inf)
        # -- market (filled by the adopter population)
        self.users = 0
        self.usage_mtok = 0.0
        self.demanding_usage_share = 0.0
        self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)
        self._usage_history: list[float] = []
        self.drafts: list[Offer] = []  # the ways it may release this month (draft_release)
        self._revenue_history: list[float] = []
        plan = self.build_plan_usd()
        self.runway_months = d.runway_months(
            self.cash_usd, plan + cfg.staff_usd_per_month - self.subsidy_usd(), RUNWAY_CAP_MONTHS
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
        """Extra utility by segment name (brand and product lines the model does not represent)."""
        return self.cfg.segment_affinity

    @property
    def owners(self) -> list[str]:
        """Regions whose states co-own the lab (F12)."""
        return self.cfg.owners

    @property
    def training_efficiency(self) -> float:
        """Effective FLOP per physical FLOP: the lab's own (``training_efficiency``) times what it has
        learnt from others' published methods (F15, F16, F18)."""
        return self.cfg.training_efficiency * 10**self.efficiency_gain_log10

    def price_usd_per_mtok(self) -> float:
        """What adopters pay per million tokens this month (set by :meth:`set_price`)."""
        return self.price

    def compute_term_eci(self) -> float:
        """ECI points from effective training compute (F2), relative to ``world.reference_training_flop``."""
        world = self.model.params.world
        return d.compute_term_eci(
            self.training_flop,
            self.training_efficiency,
            world.eci_per_decade_compute,
            world.reference_training_flop,
        )

    def subsidy_usd(self) -> float:
        """Patron money this month: the plan times the patron's current support, which follows the
        adoption the lab wins (F12, F19)."""
        return self.subsidy_plan_usd() * self.patron_support

    def subsidy_plan_usd(self) -> float:
        """The patron's plan this month, USD: ``subsidy_usd_per_month`` grown at ``subsidy_growth_per_year``."""
        cfg = self.cfg
        return cfg.subsidy_usd_per_month * cfg.subsidy_growth_per_year ** (self.model.tick / 12)

    def build_limit_flop(self) -> float:
        world = self.model.params.world
        return d.build_limit_flop_per_month(
            self.compute_flop_per_month,
            world.max_capacity_growth_per_year,
            world.min_build_flop_per_month,
            world.compute_depreciation_per_month,
        )

    def build_plan_usd(self) -> float:
        """What building out at the physical limit would cost this month (sets the runway at the start)."""
        return self.build_limit_flop() * self.model.compute_price_usd_per_flop_month(self.bloc)

    # -- phase 0: entry ----------------------------------------------------------------------------
    def enter(self) -> None:
        if not self.entered and self.model.tick >= self.entry_tick:
            self.entered = True
            self.alive = True
            self.last_release_tick = (
                self.model.tick - self.cfg.release_cadence_months + self.cfg.release_offset_months
            )
            self.new_model_tick = self.model.tick  # a new entrant counts as new

    # -- phase 1: finance (F7, F12, F19) ---------------------------------------------------------------
    def finance(self) -> None:
        """Revenue from last month's usage at last month's price, costs, patron money, fundraising; exit
        when cash runs out."""
        if not self.active:
            self.revenue_usd = self.costs_usd = self.raised_usd = self.subsidy_received_usd = 0.0
            return
        world = self.model.params.world
        cfg = self.cfg
        paid = self.usage_mtok * self.price
        if self.is_open:  # weights served by others at cost; the lab captures a little (F19)
            self.revenue_usd, serving = paid * world.open_revenue_fraction, 0.0
        else:
            self.revenue_usd, serving = paid, self.usage_mtok * self.serving_cost
        self.costs_usd = (
            cfg.staff_usd_per_month + serving + self.distillation_cost_usd() + self.ban_running_cost_usd()
        )
        self.raised_usd = self.fundraise()
        subsidy = self.subsidy_received_usd = self.subsidy_usd()
        self.cash_usd += self.revenue_usd + subsidy + self.raised_usd - self.costs_usd
        self._revenue_history.append(self.revenue_usd)
        del self._revenue_history[:-12]
        if self.cash_usd < 0:
            self.exit()

    def ban_running_cost_usd(self, option: str | None = None) -> float:
        """Monthly cost of answering a ban by offshoring releases or defying it (expected sanction), USD;
        nothing for other options or without a ban binding the lab's bloc."""
        ban = self.model.params.policy.ban
        if not (ban.active and self.bloc == ban.jurisdiction):
            return 0.0
        return strategy.ban_running_cost_usd(
            self.release_option if option is None else option,
            self.cfg.staff_usd_per_month,
            enforcement=ban.enforcement,
            lab_penalty_months=ban.lab_penalty_months,
            offshore_cost_fraction=ban.offshore_cost_fraction,
        )

    def distillation_cost_usd(self) -> float:
        """Tokens bought from the teacher's API to distil from it (F5): ``world.distillation_mtok_per_month``
        at the teacher's price, for a lab that distils."""
        world = self.model.params.world
        if self.cfg.distillation_ability <= 0 or self.model.params.blocs[self.bloc].distillation_access <= 0:
            return 0.0
        return world.distillation_mtok_per_month * self.model.teacher_price_usd_per_mtok

    def fundraise(self) -> float:
        """A round, USD, when the runway is short; odds and size follow investor appetite and the bloc's
        capital multiplier. A round funds ``round_months_of_burn`` months of the lab's gross burn (this
        month's costs and last month's compute purchase), but investors put in at most
        ``round_revenue_multiple`` years of revenue plus ``round_base_usd`` (F7)."""
        world = self.model.params.world
        return d.fundraise(
            self.model.finance_draws[self.index],  # drawn every tick for every lab: common random numbers
            self.runway_months,
            self.investor_appetite(),
            self.model.params.blocs[self.bloc].capital_multiplier,
            trigger_months=world.fundraise_trigger_months,
            base_probability=self.cfg.fundraise_probability_per_month,
            round_usd=min(
                world.round_months_of_burn * (self.costs_usd + self.compute_spend_usd),
                world.round_revenue_multiple * 12 * self.revenue_usd + world.round_base_usd,
            ),
        )

    def investor_appetite(self) -> float:
        """Benchmark proximity to the frontier and 6-month growth: of revenue for a closed lab, of usage for
        an open one (F7)."""
        world = self.model.params.world
        history = self._usage_history if self.is_open else self._revenue_history
        momentum = 0.0
        if len(history) >= 7 and history[-7] > 0:
            momentum = history[-1] / history[-7] - 1
        distance = self.model.frontier_benchmark_eci - self.capability_benchmark_eci
        return d.investor_appetite(distance, momentum, world.proximity_scale_eci, world.momentum_weight)

    def exit(self) -> None:
        """Out of cash: the lab stops; its adopters must choose again on this tick."""
        self.alive = False
        self.runway_months = 0.0

    # -- phase 2: compute (F2, F7, F15) --------------------------------------------------------------------
    def buy_compute(self) -> None:
        """Decide this month's compute purchase from cash, operating burn and the build limit; retire old
        capacity; update the runway (cash over all spending: what triggers fundraising) and the research
        budget (from cash over operating burn alone)."""
        world = self.model.params.world
        if not self.active:
            self.compute_spend_usd = 0.0
            self.build_limited = False
            return
        operating_burn = self.costs_usd - self.revenue_usd - self.subsidy_received_usd
        price = self.model.compute_price_usd_per_flop_month(self.bloc)
        buy = d.compute_purchase(
            self.cash_usd,
            operating_burn,
            price,
            self.build_limit_flop(),
            reserve_months=world.reserve_months,
            deploy_months=world.deploy_months,
        )
        self.compute_spend_usd, self.build_limited = buy.spend_usd, buy.build_limited
        self.cash_usd -= buy.spend_usd
        self.compute_flop_per_month = (
            self.compute_flop_per_month * (1 - world.compute_depreciation_per_month)
            + buy.added_flop_per_month
        )
        self.training_flop = self.compute_flop_per_month * world.run_months
        self.runway_months = d.runway_months(self.cash_usd, buy.spend_usd + operating_burn, RUNWAY_CAP_MONTHS)
        # research is cut when operations themselves are at risk: months of cash at the operating burn alone
        # (the compute purchase is discretionary and scales with cash, so it would make every buyer look short)
        operating_runway = d.runway_months(self.cash_usd, operating_burn, RUNWAY_CAP_MONTHS)
        self.research_funding = d.research_funding(operating_runway, world.runway_comfort_months)

    # -- phase 3: training (F2, F5, F6, F16, F18) ---------------------------------------------------------
    def train(
        self, spill: np.ndarray, know_how: np.ndarray, efficiency_log10: np.ndarray, teacher_know_how: float
    ) -> None:
        """Know-how grows by own research, spill-over, distillation and online RL; efficiency by spill-over
        of published methods; internal capability is compute term + know-how. ``spill`` holds this lab's
        spill-over rate from each lab; ``know_how``/``efficiency_log10`` are snapshots (synchronous);
        ``teacher_know_how`` is the know-how of the lab behind the best closed model."""
        if not self.active:
            return
        self.know_how_eci += (
            self.research_gain()
            + float(spill @ np.maximum(0.0, know_how - self.know_how_eci))
            + self.distillation_gain(teacher_know_how)
            + self.rl_gain()
        )
        own = math.log10(self.training_efficiency)
        self.efficiency_gain_log10 += float(spill @ np.maximum(0.0, efficiency_log10 - own))
        self.internal_capability_eci = self.compute_term_eci() + self.know_how_eci
        self._internal_history.append(self.internal_capability_eci)
        del self._internal_history[0]
        self._flop_history.append(self.training_flop)
        del self._flop_history[0]

    def research_gain(self) -> float:
        """Own algorithmic progress, cut when a short runway cuts the research budget (F7)."""
        floor = self.model.params.world.research_funding_floor
        return self.cfg.algo_progress_eci_per_month * (floor + (1 - floor) * self.research_funding)

    def spillover_rates(self, is_open: np.ndarray, blocs: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Rate at which this lab closes its know-how (and efficiency) gap to each lab per month (F16):
        published (open) labs spill fully, closed ones ``closed_source_spillover`` as much; labs of one
        bloc ``same_bloc_spillover`` times more."""
        world = self.model.params.world
        rates = np.where(is_open, 1.0, world.closed_source_spillover) * world.spillover_rate_per_month
        rates = rates * np.where(blocs == self.model.bloc_index[self.bloc], world.same_bloc_spillover, 1.0)
        rates[self.index] = 0.0
        return rates * active

    def distillation_gain(self, teacher_know_how: float) -> float:
        """Close a fraction of the know-how gap to the lab behind the best closed model, declining over time
        (F5). Distilling its outputs teaches what its data and post-training know, not its compute: the
        compute term stays the student's own, so distillation never closes a compute gap, and never lifts a
        lab's know-how above its teacher's."""
        if self.cfg.distillation_ability <= 0 or not np.isfinite(teacher_know_how):
            return 0.0
        world = self.model.params.world
        rate = d.distillation_rate(
            self.cfg.distillation_ability,
            world.distillation_efficacy,
            world.distillation_halflife_months,
            self.model.tick,
            self.model.params.blocs[self.bloc].distillation_access,
        )
        return d.catch_up(teacher_know_how - self.know_how_eci, rate)

    def rl_gain(self) -> float:
        """Closed labs learn from their users in demanding segments, in proportion to their share (F6)."""
        if self.is_open:
            return 0.0
        return self.model.params.world.rl_gain_eci_per_month * self.demanding_usage_share

    # -- phase 4: release (F1, F3, F7, F9, F19) -------------------------------------------------------------
    def draft_release(self) -> None:
        """Apply a ban's pinned response; on the cadence, draft the ways this lab may release what was trained
        ``training_lag_months`` ago (``self.drafts``, empty when it does not release this month). Labs with a
        choice have their market research done together before anyone releases
        (``EcosystemModel.research_drafts``)."""
        self.drafts = []
        if not self.active:
            return
        self.apply_ban()
        if self.model.tick - self.last_release_tick < self.cfg.release_cadence_months:
            return
        self.last_release_tick = self.model.tick
        # none: it stops releasing open models above a ban's threshold, and the current one stays (F9)
        self.drafts = self.release_offers(self._internal_history[0], self._flop_history[0])

    def release(self) -> None:
        """Release the drafted model, open or closed as the lab decides (or as pinned); benchmark = true +
        focus."""
        offers, self.drafts = self.drafts, []
        if not offers or not self.active:
            return
        cfg = self.cfg
        offer = offers[0] if len(offers) == 1 else self.decide_release(offers)
        self.release_option = offer.option
        self.is_open = offer.is_open
        if offer.true_eci > self.capability_true_eci:
            self.capability_true_eci = offer.true_eci
            self.released_training_flop = offer.training_flop
            self.new_model_tick = self.model.tick
        ban = self.model.params.policy.ban
        self.capability_benchmark_eci = self.capability_true_eci + cfg.benchmark_focus_eci
        if not (self.is_open and ban.active and self.released_training_flop > ban.threshold_flop):
            self.legal_true_eci = self.capability_true_eci  # the newest model a ban lets in (F9)
        self.legal_benchmark_eci = self.legal_true_eci + cfg.benchmark_focus_eci

    def release_offers(self, candidate_eci: float, training_flop: float) -> list[Offer]:
        """The ways this lab may release the run that produced ``candidate_eci`` (F9): none when it stops
        releasing open models under a ban (pinned policy), one when its release policy and any binding ban's
        response are pinned, else the options it weighs. Each offer is what adopters would get: the candidate
        if it beats the current model, else the current model (with its run's FLOP). Under a ban on its bloc a
        closed lab may open only a model trained at or under the threshold."""
        cfg = self.cfg
        ban = self.model.params.policy.ban
        opens = [self.offer(strategy.OPEN, candidate_eci, training_flop)]
        if ban.active and self.bloc == ban.jurisdiction and training_flop > ban.threshold_flop:
            if cfg.ban_response == "stop_open_releases" and self.is_open and not cfg.decides_release:
                return []
            # train down to the threshold: log-linear scaling gives the capability lost (F2, F9)
            lost = self.model.params.world.eci_per_decade_compute * math.log10(
                training_flop / ban.threshold_flop
            )
            answers = {
                strategy.CAPPED: self.offer(strategy.CAPPED, candidate_eci - lost, ban.threshold_flop),
                strategy.OFFSHORE: self.offer(strategy.OFFSHORE, candidate_eci, training_flop),
                strategy.DEFY: self.offer(strategy.DEFY, candidate_eci, training_flop),
                # keep the current open model, release nothing new (a deciding lab's `stop_open_releases`)
                strategy.OPEN: self.offer(strategy.OPEN, -math.inf, training_flop),
            }
            pinned = {
                "train_below_threshold": [strategy.CAPPED],
                "offshore": [strategy.OFFSHORE],
                "stop_open_releases": [strategy.OPEN],
                "decide": [strategy.CAPPED, strategy.OFFSHORE, strategy.DEFY],
            }
            opens = [answers[option] for option in pinned.get(cfg.ban_response, [])]
        if ban.active and self.bloc == ban.jurisdiction and not self.is_open:
            # a closed lab does not start publishing banned weights: it may open only a model under the threshold
            opens = [o for o in opens if o.option in (strategy.OPEN, strategy.CAPPED)]
            opens = [o for o in opens if o.training_flop <= ban.threshold_flop]
        closed = [self.offer(strategy.CLOSED, candidate_eci, training_flop)]
        if not cfg.decides_release:
            return opens if self.is_open else closed
        return closed + opens

    def offer(self, option: str, candidate_eci: float, training_flop: float) -> Offer:
        """What releasing the candidate this way puts on the market: the candidate if it beats the current
        model, else the current model (and the FLOP of the run behind it)."""
        if candidate_eci > self.capability_true_eci:
            return Offer(option, candidate_eci, training_flop)
        return Offer(option, self.capability_true_eci, self.released_training_flop)

    def decide_release(self, offers: list[Offer]) -> Offer:
        """Weigh each offer by the usage the lab's market research expects for it and what that usage brings
        it (``strategy.release_payoff_usd``); keep the current way unless another is clearly better."""
        world = self.model.params.world
        research = self.model.research_of(self, offers)
        payoffs = {}
        for offer, expected in zip(offers, research, strict=True):
            price, serving = self.offer_price(offer)
            patron = self.subsidy_plan_usd() * d.patron_support_target(
                expected.standing, world.patron_elasticity, world.patron_max_support
            )
            payoffs[offer.option] = strategy.release_payoff_usd(
                offer.option,
                expected.usage_mtok,
                price,
                serving,
                open_revenue_fraction=world.open_revenue_fraction,
                open_strategic_value=world.open_strategic_value,
                patron_usd=patron,
                running_cost_usd=self.ban_running_cost_usd(offer.option),
            )
        self.release_payoffs = payoffs
        chosen = strategy.choose_release(payoffs, self.release_option, world.release_switch_margin)
        return next(offer for offer in offers if offer.option == chosen)

    def offer_price(self, offer: Offer) -> tuple[float, float]:
        """(price adopters would pay, serving cost the lab would bear) for an offer, USD per Mtok: open weights
        at the world's serving cost; a closed model as :meth:`closed_price` sets it against the best open
        model of the other labs."""
        if offer.is_open:
            serving = self.model.serving_cost_usd_per_mtok(offer.training_flop)
            return serving, serving
        return self.closed_price(offer.true_eci, offer.training_flop, self.model.best_open_true_eci(self))

    def current_release(self) -> Release:
        return Release(
            self.capability_true_eci,
            self.capability_benchmark_eci,
            self.legal_true_eci,
            self.legal_benchmark_eci,
            self.new_model_tick,
            self.released_training_flop,
        )

    def banned_here(self) -> bool:
        """An open-weight ban binds this lab's releases: in force in its bloc, and it has not moved its
        releases abroad."""
        ban = self.model.params.policy.ban
        return ban.active and self.bloc == ban.jurisdiction and self.release_option != strategy.OFFSHORE

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
            self.release_option = strategy.CLOSED

    # -- phase 5: prices (F14) -----------------------------------------------------------------------------
    def set_price(self, best_open_true_eci: float) -> None:
        """Price this month's model: open weights are served by others at serving cost; a closed lab
        prices as :meth:`closed_price` says."""
        if self.is_open:
            self.serving_cost = self.price = self.model.serving_cost_usd_per_mtok(self.released_training_flop)
            return
        self.price, self.serving_cost = self.closed_price(
            self.capability_true_eci, self.released_training_flop, best_open_true_eci
        )

    def closed_price(
        self, true_eci: float, training_flop: float, best_open_true_eci: float
    ) -> tuple[float, float]:
        """(price, serving cost) of a closed model, USD per Mtok. The market prices a model of this size at the
        world's serving cost marked up by what its lead over the best open model supports (F14); the lab
        serves it on its own compute, at its bloc's compute price (export controls, F15), and never sells
        below that cost. So dearer compute eats a closed lab's margin, while open weights are served by
        others at the world's cost. ``price_usd_per_mtok`` pins the price."""
        world_cost = self.model.serving_cost_usd_per_mtok(training_flop)
        own_cost = world_cost * self.model.params.blocs[self.bloc].compute_price_multiplier
        if self.cfg.price_usd_per_mtok is not None:
            return self.cfg.price_usd_per_mtok, own_cost
        world = self.model.params.world
        markup = d.closed_markup(
            true_eci - best_open_true_eci, world.closed_max_markup, world.price_response_eci
        )
        return max(world_cost * markup, own_cost), own_cost

    # -- after the market ------------------------------------------------------------------------------
    def record_usage(self) -> None:
        self._usage_history.append(self.usage_mtok)
        del self._usage_history[:-12]

    def review_patronage(self, relative_share: float) -> None:
        """Patrons move their support toward the adoption the lab wins among the active labs (F7, F19)."""
        if not self.active or self.cfg.subsidy_usd_per_month <= 0:
            return
        world = self.model.params.world
        target = d.patron_support_target(relative_share, world.patron_elasticity, world.patron_max_support)
        self.patron_support = d.update_patron_support(
            self.patron_support, target, world.patron_patience_months
        )
