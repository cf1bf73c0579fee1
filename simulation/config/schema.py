"""Typed, frozen scenario schema (pydantic v2).

A scenario file is parsed into :class:`Scenario` once, at the edge (see ``loader.py``); the model never
reads raw dicts. Every numeric field carries its unit in its name or description; ``docs/scenarios.md``
is generated from these descriptions. Claim numbers (F1-F19) refer to ``docs/claims.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import Bool, Float, Frozen, Int, Key, _year_month, add_months, months_between
from .distributions import Distribution


class LabConfig(Frozen):
    """One AI lab (a Mesa agent). ``initial_*`` fields are initial state; the rest are parameters that
    dated events may change."""

    bloc: str = Field(description="Origin bloc of the lab (a key of `blocs`), e.g. us, china, eu, other.")
    release_policy: Literal["open", "closed"] | None = Field(
        default=None,
        description="Pins how the lab releases: `open` weights (priced at inference cost, little revenue, "
        "F14/F19) or `closed` API access at its own price. Empty: the lab chooses at each release by what "
        "each brings it (`world.open_strategic_value`, docs/model.md), starting from `initial_release`.",
    )
    initial_release: Literal["open", "closed"] | None = Field(
        default=None,
        description="How the lab's model on the market at the start was released (data). Needed when "
        "`release_policy` is empty; with `release_policy` set it must agree or be left empty.",
    )
    enters: str | None = Field(
        default=None,
        description="Month (YYYY-MM) the lab starts operating; before it the lab does not exist. "
        "Empty: it exists from the start.",
    )
    initial_capability_eci: Float = Field(
        ge=0,
        le=1000,
        description="True capability of the lab's latest released model at the start, in ECI points "
        "(Epoch Capabilities Index scale).",
    )
    benchmark_focus_eci: Float = Field(
        default=0.0,
        ge=-20,
        le=30,
        description="Benchmark score minus true capability, in ECI points ('benchmaxing', F3).",
    )
    initial_know_how_eci: Float = Field(
        ge=0,
        le=1000,
        description="Know-how at the start, ECI points: what the lab's algorithms, data and post-training add "
        "to the compute term (capability = eci_per_decade_compute x log10(run FLOP x efficiency / "
        "reference_training_flop) + know-how). Initial state from data (docs/parameters.md); a scenario "
        "that changes compute or efficiency does not change it, so those act through the scaling law (F2).",
    )
    initial_compute_flop_per_month: Float = Field(
        gt=0, le=1e33, description="Sustained training compute capacity at the start, FLOP per month (F2)."
    )
    staff_usd_per_month: Float = Field(
        ge=0, le=1e12, description="Staff and other running costs, USD per month."
    )
    initial_cash_usd: Float = Field(ge=0, le=1e15, description="Cash at the start, USD.")
    subsidy_usd_per_month: Float = Field(
        default=0.0,
        ge=0,
        le=1e13,
        description="Guaranteed patron funding (parent company, state or consortium budget), USD per month (F12, F19).",
    )
    subsidy_growth_per_year: Float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Yearly multiplier of the patron subsidy (a parent's AI capex growth).",
    )
    fundraise_probability_per_month: Float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="Chance per month of closing a round when raising, for a lab at the frontier with "
        "flat adoption and a bloc capital multiplier of 1 (F7).",
    )
    training_efficiency: Float = Field(
        default=1.0,
        gt=0,
        le=10_000,
        description="Multiplier on physical compute giving effective compute (F15, F18); DeepSeek-like labs > 1. "
        "At most 10,000: a 1000-fold breakthrough (F18) on top of an already efficient lab.",
    )
    algo_progress_eci_per_month: Float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Own algorithmic progress, ECI points per month at full research funding.",
    )
    distillation_ability: Float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Fraction of the world distillation efficacy this lab achieves when distilling from "
        "the best closed API it can reach (F5).",
    )
    release_cadence_months: Int = Field(
        default=5, ge=1, le=24, description="Months between model releases (F1: about 4-6)."
    )
    release_offset_months: Int = Field(
        default=0,
        ge=0,
        le=24,
        description="Months from the start (or from entry) to the lab's first release in the run; the first "
        "simulated month is 1, so 0 and 1 both mean the first month.",
    )
    price_usd_per_mtok: Float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description="Pins a closed lab's API price, USD per million tokens; empty: the lab sets it each month "
        "as a markup over its serving cost (F14). Open weights are always served at serving cost.",
    )
    segment_affinity: dict[Key, Annotated[float, Field(ge=-20, le=20)]] = Field(
        default_factory=dict,
        description="Extra utility for adopters of the named segments (utility units), e.g. sovereign "
        "adopters preferring a consortium's models (F12).",
    )
    owners: list[Key] = Field(
        default_factory=list,
        description="Regions whose states co-own the lab (a consortium, F12): their adopters value its models "
        "by their segment's `ownership_value` (say over the model and its continued availability), in "
        "utility and in what they look at. Empty: an ordinary lab.",
    )
    ban_response: Literal["decide", "close", "stop_open_releases", "train_below_threshold", "offshore"] = (
        Field(
            default="decide",
            description="What the lab does when an open-weight ban binds its next open release (F9). `decide`: "
            "whichever of the others brings it most (docs/model.md); or pinned: `close` turns it closed; "
            "`stop_open_releases` keeps its current open model and releases nothing above the threshold; "
            "`train_below_threshold` keeps releasing open models trained at the threshold (log-linear loss, F2); "
            "`offshore` releases from abroad at `policy.ban.offshore_cost_fraction` of its staff costs (its "
            "weights stay banned for adopters in the jurisdiction).",
        )
    )

    @model_validator(mode="after")
    def _release(self) -> LabConfig:
        if self.release_policy is None and self.initial_release is None:
            raise ValueError(
                "give release_policy (pinned: open or closed) or initial_release (the lab then decides)"
            )
        if self.release_policy and self.initial_release and self.release_policy != self.initial_release:
            raise ValueError(
                f"initial_release ({self.initial_release}) disagrees with the pinned release_policy "
                f"({self.release_policy})"
            )
        return self

    @property
    def open_at_start(self) -> bool:
        """Whether the lab's model on the market at the start is open weights."""
        return (self.release_policy or self.initial_release) == "open"

    @property
    def decides_release(self) -> bool:
        """Whether the lab chooses open or closed at each release (no pinned ``release_policy``)."""
        return self.release_policy is None


class BlocConfig(Frozen):
    """An origin bloc of labs (us, china, eu, other)."""

    capital_multiplier: Float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="Scales the chance and size of fundraising for the bloc's labs (F7): 0.2 is a sharp squeeze.",
    )
    compute_price_multiplier: Float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Multiplier on the world compute price for the bloc's labs (export controls, F15).",
    )
    distillation_access: Float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Fraction of distillation efficacy the bloc's labs keep (API access; a crackdown lowers it, F5).",
    )


class RegionConfig(Frozen):
    """A region adopters live in (us, china, eu, rest_of_world)."""

    adopter_share: Float = Field(gt=0, le=1, description="Fraction of adopters in this region.")
    trust_by_bloc: dict[Key, Annotated[float, Field(ge=-20, le=20)]] = Field(
        default_factory=dict,
        description="Utility added to models from each origin bloc for adopters here (utility units; "
        "missing blocs: 0). Negative values express distrust (F12, F13).",
    )
    trust_sd: Float = Field(
        default=0.3,
        ge=0,
        le=5,
        description="Spread of individual trust around the regional value (utility units).",
    )


class SegmentConfig(Frozen):
    """An adopter segment (knowledge workers, enterprise automation, sovereign, local agents, developers)."""

    adopter_share: Float = Field(gt=0, le=1, description="Fraction of adopters in this segment.")
    usage_share: Float = Field(
        gt=0, le=1, description="Fraction of all token usage that comes from this segment at the start."
    )
    usage_sigma: Float = Field(
        default=1.0,
        ge=0,
        le=4,
        description="Log-normal spread of usage volume across adopters in the segment.",
    )
    need_eci: Float = Field(
        ge=0,
        le=1000,
        description="Mean capability the segment needs to be 'good enough' at the start, ECI points (F14).",
    )
    need_sd_eci: Float = Field(
        default=3.0, ge=0, le=100, description="Spread of need across adopters, ECI points."
    )
    need_growth_eci_per_month: Float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="How fast needs rise, ECI points per month: knowledge workers keep bringing new problems (F8).",
    )
    true_capability_weight: Float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Weight of true capability (vs benchmark score) in what adopters perceive; 1 for "
        "robustness-sensitive knowledge work (F3, F8).",
    )
    shortfall_weight: Float = Field(
        default=0.6, ge=0, le=10, description="Utility lost per ECI point of capability below need."
    )
    surplus_weight: Float = Field(
        default=0.05, ge=0, le=10, description="Utility gained per ECI point of capability above need."
    )
    price_sensitivity: Float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="Utility lost per unit of ln(price in USD per million tokens) (F14).",
    )
    control_value: Float = Field(
        default=0.0,
        ge=-5,
        le=10,
        description="Mean utility of being able to self-host (open weights) (F12, F14).",
    )
    control_sd: Float = Field(default=0.5, ge=0, le=5, description="Spread of control value, utility units.")
    switching_cost: Float = Field(
        default=0.5,
        ge=0,
        le=20,
        description="Mean utility gain needed before an adopter leaves its current model (F4, F14).",
    )
    reconsider_rate_per_month: Float = Field(
        default=0.1, ge=0, le=1, description="Chance per month that an adopter looks at alternatives (F4)."
    )
    consideration_size: Int = Field(
        default=3,
        ge=1,
        le=50,
        description="How many models a reconsidering adopter draws to look at (F4); its own model is always "
        "added, so it compares this many or one more.",
    )
    ban_penalty: Float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="Utility an adopter here loses by using a banned model when the ban is fully enforced "
        "(legal exposure, procurement rules): the expected cost is enforcement x this. Adopters in the "
        "jurisdiction comply, model by model, when the legal version is worth more than the newest one "
        "minus that cost (F9).",
    )
    ownership_value: Float = Field(
        default=0.0,
        ge=-5,
        le=10,
        description="Utility of a model the adopter's own state co-owns (a consortium lab listing its region "
        "among `owners`): jurisdiction and control no foreign maker can take away (F12, F13). Also draws "
        "attention, as a segment affinity does.",
    )
    outside_utility: Float | None = Field(
        default=None,
        ge=-100,
        le=100,
        description="Utility of not using any model for the task (the outside option, utility units on the "
        "scale of the terms above): an adopter whose best model is worth less uses none and its usage "
        "leaves the market until it reconsiders. Empty: adopters always use some model (no outside option).",
    )
    open_only: Bool = Field(
        default=False, description="Adopters can use only open-weight models (local/personal agents, F17)."
    )
    demanding: Bool = Field(
        default=False,
        description="Usage here feeds closed labs' online RL (coding agents, knowledge work, F6).",
    )
    usage_growth_per_year: Float = Field(
        default=2.0, gt=0, le=20, description="Yearly multiplier of each adopter's token usage."
    )


class BanPolicy(Frozen):
    """An open-weight ban in one jurisdiction (F9)."""

    active: Bool = Field(default=False, description="Whether the ban is in force.")
    jurisdiction: str = Field(
        default="us", description="Bloc whose labs it binds and region whose adopters it covers."
    )
    threshold_flop: Float = Field(
        default=1e26,
        gt=0,
        le=1e45,
        description="Training compute above which releasing open weights is banned, FLOP.",
    )
    enforcement: Float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Chance that using a banned model (an open model above the threshold released after the "
        "ban started: necessarily foreign; weights released earlier stay legal) is sanctioned. Each adopter in "
        "the jurisdiction weighs enforcement x its segment's `ban_penalty` against the legal version (F9).",
    )
    lab_penalty_months: Float = Field(
        default=24.0,
        ge=0,
        le=1000,
        description="Sanction on a lab in the jurisdiction that releases banned weights anyway, in months of its "
        "staff costs, charged at enforcement x this each month it does (fines, injunctions; assumption).",
    )
    offshore_cost_fraction: Float = Field(
        default=0.3,
        ge=0,
        le=10,
        description="Running costs of releasing from abroad (a foreign affiliate, staff moved), as a fraction "
        "of the lab's staff costs per month while it does (assumption).",
    )


class PolicyConfig(Frozen):
    """Policies a scenario can switch on."""

    ban: BanPolicy = Field(default_factory=BanPolicy, description="An open-weight ban (F9, F11).")


class WorldConfig(Frozen):
    """World-wide technical and economic parameters."""

    eci_per_decade_compute: Float = Field(
        default=6.0,
        gt=0,
        le=50,
        description="ECI points gained per 10x effective training compute (log-linear scaling, F2).",
    )
    run_months: Float = Field(
        default=4.0,
        gt=0,
        le=24,
        description="Months of capacity one frontier training run uses (sets run FLOP).",
    )
    training_lag_months: Int = Field(
        default=3,
        ge=0,
        le=12,
        description="Months between the internal capability a release is trained on and the release (F7).",
    )
    compute_price_usd_per_flop_month: Float = Field(
        default=5e-17,
        gt=0,
        le=1e-10,
        description="Capital cost of 1 FLOP/month of sustained capacity at the start, USD.",
    )
    compute_price_decline_per_year: Float = Field(
        default=0.3,
        ge=0,
        lt=1,
        description="Fractional fall per year of the compute price (hardware progress).",
    )
    compute_depreciation_per_month: Float = Field(
        default=1 / 36, ge=0, lt=1, description="Fraction of capacity retired per month (about 3-year life)."
    )
    reference_training_flop: Float = Field(
        default=1e25,
        gt=0,
        le=1e35,
        description="Training run (FLOP x efficiency) at which the compute term is zero: capability = "
        "eci_per_decade_compute x log10(effective FLOP / this) + know-how (F2).",
    )
    max_capacity_growth_per_year: Float = Field(
        default=5.0,
        ge=1,
        le=100,
        description="Fastest a lab's compute capacity can grow, multiplier per year: chips, power and "
        "data-centre lead times (F2). Money beyond what builds this is left idle.",
    )
    min_build_flop_per_month: Float = Field(
        default=5e24,
        ge=0,
        le=1e32,
        description="Capacity any lab can add in a month whatever its size (renting or buying a cluster), "
        "FLOP per month of capacity.",
    )
    reserve_months: Float = Field(
        default=12.0,
        ge=0,
        le=120,
        description="Months of operating burn (staff and serving net of revenue and patron money) a lab keeps "
        "in cash before it spends on compute (F7).",
    )
    deploy_months: Float = Field(
        default=12.0,
        ge=1,
        le=120,
        description="Months over which a lab spreads spending its cash above the reserve on compute.",
    )
    runway_comfort_months: Float = Field(
        default=18.0,
        gt=0,
        le=120,
        description="Runway above which a lab funds all its own research; below, research funding scales "
        "down in proportion (F7).",
    )
    research_funding_floor: Float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Research kept with no runway left: own progress is scaled by floor + (1 - floor) x "
        "research funding (runway / runway_comfort_months, at most 1).",
    )
    spillover_rate_per_month: Float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Fraction of a know-how gap to a published (open) lab closed per month (F16).",
    )
    closed_source_spillover: Float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Spill-over from closed labs relative to open ones (closed labs publish less).",
    )
    same_bloc_spillover: Float = Field(
        default=2.0, ge=1, le=10, description="Multiplier on spill-over between labs of one bloc (F16)."
    )
    distillation_efficacy: Float = Field(
        default=0.08,
        ge=0,
        le=1,
        description="Fraction of the gap to the teacher model closed per month by a lab with ability 1 (F5).",
    )
    distillation_halflife_months: Float = Field(
        default=30.0,
        gt=0,
        le=1200,
        description="Months over which distillation efficacy halves as RL post-training dominates (F5).",
    )
    rl_gain_eci_per_month: Float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Online-RL gain, ECI points per month, for a closed lab holding all demanding usage (F6).",
    )
    open_trust_weight: Float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of origin trust (or distrust) that applies to open-weight models, which adopters can "
        "run themselves: nobody can switch them off or read their data (F12, F13).",
    )
    serving_cost_usd_per_mtok: Float = Field(
        default=0.3,
        gt=0,
        le=10_000,
        description="Serving cost at the start of a model trained with `serving_reference_training_flop`, USD "
        "per million tokens (F14).",
    )
    serving_reference_training_flop: Float = Field(
        default=3.3e24,
        gt=0,
        le=1e35,
        description="Physical training FLOP of the model `serving_cost_usd_per_mtok` refers to. Serving cost "
        "scales as the square root of training FLOP (compute-optimal model size).",
    )
    inference_gain_per_year: Float = Field(
        default=3.0,
        ge=1,
        le=1000,
        description="Yearly multiplier of serving efficiency from software (quantisation, sparsity, batching), "
        "on top of the falling compute price.",
    )
    closed_max_markup: Float = Field(
        default=2.0,
        ge=1,
        le=100,
        description="Closed labs' price over serving cost when their model leads the best open one by "
        "`price_response_eci` or more (2: a 50% gross margin) (F14).",
    )
    price_response_eci: Float = Field(
        default=5.0,
        ge=0,
        le=100,
        description="Lead over the best open model (true ECI) below which a closed lab cuts its markup "
        "toward cost, linearly (answering open competition, F14).",
    )
    open_revenue_fraction: Float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="Fraction of open-model spend an open lab captures (hosting, services, F19).",
    )
    open_strategic_value: Float = Field(
        default=0.2,
        ge=0,
        le=10,
        description="What a million tokens of use of its open weights is worth to the releasing lab beyond the "
        "revenue it captures (talent, ecosystem, standard-setting, patrons' and investors' interest in "
        "adoption), as a fraction of their serving cost (F7, F19; assumption). Labs weigh it against a closed "
        "model's margin when they choose how to release.",
    )
    release_switch_margin: Float = Field(
        default=0.25,
        ge=0,
        le=10,
        description="How much more (as a fraction of the current option's payoff) another way of releasing must "
        "bring before a lab switches to it: switching has costs the payoffs omit (re-licensing, customers' "
        "contracts, reputation; assumption).",
    )
    research_sample: Int = Field(
        default=500,
        ge=10,
        le=1_000_000,
        description="Adopters a lab's market research looks at when it weighs releasing open or closed "
        "(a fixed random sample, scaled to the market; speed only).",
    )
    distillation_mtok_per_month: Float = Field(
        default=1e5,
        ge=0,
        le=1e12,
        description="Tokens a distilling lab buys from its teacher's API each month, millions (its cost, F5).",
    )
    patron_elasticity: Float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="How strongly patrons' support follows the adoption a lab wins: support target = "
        "(share / equal share of its kind)^this (F7, F19).",
    )
    patron_patience_months: Float = Field(
        default=12.0,
        ge=1,
        le=240,
        description="Months over which patrons move their support to its target (1/this a month).",
    )
    patron_max_support: Float = Field(
        default=3.0,
        ge=0,
        le=100,
        description="Most a patron gives relative to its planned subsidy.",
    )
    patron_developer_weight: Float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Weight of developers' usage (vs all usage) in a patron's view of a lab's adoption.",
    )
    market_mtok_per_month: Float = Field(
        default=4e8,
        gt=0,
        le=1e15,
        description="World token usage at the start, millions of tokens per month; split across adopters.",
    )
    fundraise_trigger_months: Float = Field(
        default=24.0, gt=0, le=240, description="Labs raise when their runway falls below this, months."
    )
    round_months_of_burn: Float = Field(
        default=24.0,
        gt=0,
        le=240,
        description="Size of a round at full attractiveness, in months of gross burn.",
    )
    round_revenue_multiple: Float = Field(
        default=3.0,
        ge=0,
        le=100,
        description="Largest round investors put in, in years of the lab's current revenue (on top of "
        "`round_base_usd`): a slice of a valuation at a revenue multiple (F7, F19).",
    )
    round_base_usd: Float = Field(
        default=1e9,
        ge=0,
        le=1e13,
        description="Largest round a lab with no revenue can raise, USD: what investors stake on a lab near "
        "the frontier before it earns (F7, F19).",
    )
    proximity_scale_eci: Float = Field(
        default=8.0,
        gt=0,
        le=100,
        description="Benchmark distance to the frontier (ECI points) that cuts investor appetite by e (F7).",
    )
    momentum_weight: Float = Field(
        default=1.0, ge=0, le=10, description="Weight of 6-month usage growth in investor appetite."
    )
    popularity_exponent: Float = Field(
        default=1.0, ge=0, le=5, description="Exponent on usage share in the odds of being considered (F4)."
    )
    popularity_floor: Float = Field(
        default=0.01,
        gt=0,
        le=1,
        description="Odds weight every available model has in consideration draws on top of "
        "share^popularity_exponent, so unpopular and new models are still seen now and then (F4).",
    )
    recency_boost: Float = Field(
        default=2.0,
        ge=1,
        le=100,
        description="Odds multiplier of being considered for a model released within `recency_months`.",
    )
    recency_months: Int = Field(default=2, ge=0, le=24, description="How long a release counts as new.")


class PrehistoryPoint(Frozen):
    date: str = Field(description="Month, YYYY-MM, before the start.")
    closed_eci: Float = Field(
        ge=0, le=1000, description="Best closed model's benchmark score then, ECI points."
    )
    open_eci: Float = Field(ge=0, le=1000, description="Best open model's benchmark score then, ECI points.")

    _date = field_validator("date", mode="before")(_year_month)


class Prehistory(Frozen):
    """Frontier history before the start, so gaps in months are defined from tick 0 (F1)."""

    closed_focus_eci: Float = Field(
        default=0.0,
        ge=-20,
        le=30,
        description="Closed frontier's benchmark focus, subtracted to get true capability.",
    )
    open_focus_eci: Float = Field(
        default=0.0,
        ge=-20,
        le=30,
        description="Open frontier's benchmark focus, subtracted to get true capability.",
    )
    points: list[PrehistoryPoint] = Field(
        default_factory=list, description="Monthly or quarterly points, any order."
    )


class AdoptersConfig(Frozen):
    """The adopter population (numpy arrays; each adopter stands for many real users)."""

    n: Int = Field(default=10_000, ge=10, le=10_000_000, description="Number of simulated adopters.")
    burn_in_months: Int = Field(
        default=12,
        ge=0,
        le=120,
        description="Months of adopter choices at the start state before tick 0, so the run starts from "
        "settled, popularity-shaped adoption (F4).",
    )
    segments: dict[Key, SegmentConfig] = Field(description="Adopter segments by name.")
    regions: dict[Key, RegionConfig] = Field(
        description="Regions by name; a region named like a bloc is its home."
    )


class Event(Frozen):
    """From month `at` on, set the parameters named by dotted paths."""

    at: str = Field(description="Month (YYYY-MM) from which the change applies.")
    set: dict[str, Any] = Field(
        description="Dotted parameter path -> new value, e.g. blocs.china.capital_multiplier."
    )
    note: str = Field(
        default="", max_length=500, description="Plain-words description, shown in plots and reports."
    )

    _at = field_validator("at", mode="before")(_year_month)


class ExpectedEffect(Frozen):
    """A scenario's claimed signature against the baseline, checked by the test suite with common seeds."""

    metric: str = Field(description="A model-level metric column, e.g. gap_months_true or open_share_usage.")
    direction: Literal["up", "down"] = Field(description="Whether the scenario raises or lowers it.")
    after: str | None = Field(
        default=None,
        description="Compare the mean from this month (YYYY-MM) on; default: the first event's month.",
    )
    note: str = Field(default="", description="Why, in plain words (and which claim).")

    _after = field_validator("after", mode="before")(lambda v: None if v is None else _year_month(v))


class Scenario(Frozen):
    """A complete, resolved scenario."""

    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Short identifier used in output folder names: letters, digits, `_`, `.`, `-`; at most 64.",
    )
    description: str = Field(
        default="", max_length=2000, description="One line: what the scenario represents."
    )
    start: str = Field(default="2025-01", description="First simulated month, YYYY-MM.")
    months: Int = Field(default=48, ge=1, le=600, description="Number of monthly ticks.")
    seed: Int = Field(
        default=1, ge=0, le=2**63 - 1, description="Root seed; replicate seeds are spawned from it."
    )
    replicates: Int = Field(default=20, ge=1, le=10_000, description="Replicates per run.")
    world: WorldConfig = Field(
        default_factory=WorldConfig, description="World-wide technical and economic parameters."
    )
    policy: PolicyConfig = Field(
        default_factory=PolicyConfig, description="Policies in force (they can start by event)."
    )
    blocs: dict[Key, BlocConfig] = Field(
        description="Origin blocs of labs, by name (us, china, eu, other, ...)."
    )
    labs: dict[Key, LabConfig] = Field(description="The labs, by name; order fixes their columns in tables.")
    adopters: AdoptersConfig = Field(description="The adopter population: size, segments and regions.")
    prehistory: Prehistory = Field(
        default_factory=Prehistory, description="Frontier history before the start, for gaps in months."
    )
    events: list[Event] = Field(default_factory=list, description="Dated parameter changes.")
    expected_effects: list[ExpectedEffect] = Field(
        default_factory=list,
        description="What the scenario should do relative to the baseline (tested with the same seeds).",
    )
    uncertain: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Dotted parameter path -> distribution drawn once per replicate. Written inline in a "
        "file (a mapping with a `dist` key in place of a number), the loader moves it here.",
    )
    posterior: str | None = Field(
        default=None,
        description="A calibration's posterior (`calibration/<name>/posterior.parquet`, a path inside the "
        "repository, relative to its root): each replicate draws one particle by weight and takes every "
        "parameter it holds, jointly (correlations kept); a value given explicitly still wins (`pinned`).",
    )
    pinned: list[str] = Field(
        default_factory=list,
        description="Dotted paths that a base scenario made uncertain but that were given an explicit value "
        "(in a file that extends it, an override, a sweep or a lever): the value is used, nothing is drawn. "
        "Filled by the loader; recorded in run manifests.",
    )

    _start = field_validator("start", mode="before")(_year_month)

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        problems = []
        for lab_name, lab in self.labs.items():
            if lab.bloc not in self.blocs:
                problems.append(
                    f"labs.{lab_name}.bloc: unknown bloc {lab.bloc!r} (blocs: {sorted(self.blocs)})"
                )
            for seg in lab.segment_affinity:
                if seg not in self.adopters.segments:
                    problems.append(f"labs.{lab_name}.segment_affinity: unknown segment {seg!r}")
            for region in lab.owners:
                if region not in self.adopters.regions:
                    problems.append(f"labs.{lab_name}.owners: unknown region {region!r}")
            if lab.enters is not None:
                _year_month(lab.enters)
                if months_between(self.start, lab.enters) >= self.months:
                    pass  # allowed: a lab that enters after the horizon simply never appears
        for region_name, region in self.adopters.regions.items():
            for bloc in region.trust_by_bloc:
                if bloc not in self.blocs:
                    problems.append(f"adopters.regions.{region_name}.trust_by_bloc: unknown bloc {bloc!r}")
        if self.policy.ban.jurisdiction not in self.blocs:
            problems.append(f"policy.ban.jurisdiction: unknown bloc {self.policy.ban.jurisdiction!r}")
        for label, parts in (("segments", self.adopters.segments), ("regions", self.adopters.regions)):
            total = sum(p.adopter_share for p in parts.values())
            if abs(total - 1) > 1e-6:
                problems.append(f"adopters.{label}: adopter_share values sum to {total:.4g}, expected 1")
        usage_total = sum(s.usage_share for s in self.adopters.segments.values())
        if abs(usage_total - 1) > 1e-6:
            problems.append(f"adopters.segments: usage_share values sum to {usage_total:.4g}, expected 1")
        if all(lab.open_at_start for lab in self.labs.values()):
            problems.append("labs: at least one closed lab is needed to define the frontier gap")
        if not any(lab.open_at_start for lab in self.labs.values()):
            problems.append("labs: at least one open lab is needed to define the frontier gap")
        for i, event in enumerate(self.events):
            offset = months_between(self.start, event.at)
            if not 0 <= offset < self.months:
                problems.append(
                    f"events[{i}].at: {event.at} is outside the horizon {self.start}..{add_months(self.start, self.months - 1)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- convenience -------------------------------------------------------------------------------
    def month_index(self, year_month: str) -> int:
        return months_between(self.start, year_month)

    def date_of(self, tick: int) -> str:
        return add_months(self.start, tick)
