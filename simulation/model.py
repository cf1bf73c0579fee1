"""The Mesa model of the open-weight vs closed AI ecosystem: the monthly tick as a short list of phases.

No I/O here. The model is a plain ``mesa.Model`` whose parameters are keyword arguments with defaults, so
``mesa.batch_run`` and Mesa's visualisation work on it: ``EcosystemModel(scenario="baseline", seed=3,
labs__deepseek__training_efficiency=2.0)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import metrics
from .agents import AdopterPopulation, Lab, Market, OpenWeights, decisions, strategy
from .agents.strategy import Offer, Research
from .config import Scenario, load_scenario, months_between, pin, with_changes
from .seeding import draw_parameters, fresh_seed

# The segment whose usage patrons weigh as developers' adoption (F7, F19); without it, all usage counts.
DEVELOPERS = "developers"

# Purposes of the per-tick random streams (common random numbers across scenarios).
STREAM_POPULATION, STREAM_FINANCE, STREAM_VOLUNTARY, STREAM_FORCED, STREAM_RESEARCH = range(5)


class EcosystemModel(mesa.Model):
    """Labs (Mesa agents) compete for a population of adopters, one tick per month.

    Tick 0 is the scenario's start month (initial state); each ``step()`` advances one month.

    The model is a function of (scenario, seed): its uncertain parameters are drawn from ``seed`` as a
    replicate of ``simulation.run`` draws them, except those given explicitly, which are pinned. It stops
    (``running = False``) at the scenario's horizon, so ``mesa.batch_run`` runs it to the end and no
    further, and each iteration without a seed gets a fresh one, recorded in the ``seed`` column.

    Args:
        scenario: a :class:`Scenario`, a path to a YAML file, or a shipped scenario's name.
        seed: integer seed for the model's generator and the draws; None: a fresh seed from the operating
            system (Mesa's convention), recorded in ``seed_used``.
        n_adopters: sets ``adopters.n``.
        overrides: dotted parameter path -> value; each pins its parameter (an explicit value wins).
        rng: accepted for Mesa's ``batch_run``; used as the seed when ``seed`` is not given.
        draw_uncertain: False keeps uncertain parameters at their central values (what-if page).
        collect_labs: False skips the per-lab table (a sweep that reads only model-level outcomes).
        **params: more overrides with ``__`` for dots, e.g. ``blocs__china__capital_multiplier=0.3``.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = "baseline",
        seed: int | None = None,
        n_adopters: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        rng: int | None = None,
        draw_uncertain: bool = True,
        collect_labs: bool = True,
        **params: Any,
    ):
        changes = dict(overrides or {})
        changes.update({k.replace("__", "."): v for k, v in params.items()})
        if n_adopters is not None:
            changes["adopters.n"] = n_adopters
        base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        sc = pin(base, changes) if changes else base
        seed = seed if seed is not None else rng
        seed = fresh_seed() if seed is None else int(seed)
        super().__init__(rng=seed)
        self.seed_used = seed
        self.collect_labs = collect_labs
        # drawn as replicate ``seed`` of simulation.run would draw them; their values in ``drawn``
        self.drawn = draw_parameters(sc, np.random.SeedSequence(seed)) if draw_uncertain else {}
        self.params: Scenario = with_changes(sc, {**self.drawn, "uncertain": {}}) if self.drawn else sc
        self._stream_entropy = int(self.rng.integers(2**63))
        p = self.params
        self.bloc_names = list(p.blocs)
        self.bloc_index = {b: i for i, b in enumerate(self.bloc_names)}
        self.lab_names = list(p.labs)
        self.region_names = list(p.adopters.regions)
        self.segment_names = list(p.adopters.segments)
        self._events = self._schedule_events()
        self._apply_events_at(0)
        self.finance_draws = np.zeros(len(self.lab_names))
        self.teacher_price_usd_per_mtok = 0.0  # price of the best closed model, paid by distillers (F5)
        for i, name in enumerate(self.lab_names):
            Lab(self, name, i)
        self.labs = self.agents_by_type[Lab]
        self.lab_list: list[Lab] = sorted(self.labs, key=lambda lab: lab.index)
        self.weights_of: dict[str, OpenWeights] = {}  # lab name -> the open weights it left on the market
        # what adopters choose from: the labs, then the open weights left by labs that turned closed (F9),
        # added as they are left (``release_open_weights``)
        self.open_weights: list[OpenWeights] = []
        self.offerings: list[Lab | OpenWeights] = list(self.lab_list)
        self.set_prices()  # the start month's prices, and the teacher's price distillers pay at tick 1
        self.population = AdopterPopulation(self.params, len(self.offerings), self.stream(STREAM_POPULATION))
        # the adopters labs' market research looks at (release strategy): a fixed sample
        size = min(self.params.world.research_sample, self.population.n)
        self.research_idx = np.sort(
            self.stream(STREAM_RESEARCH, 0).choice(self.population.n, size=size, replace=False)
        )
        self.history = metrics.FrontierHistory.from_prehistory(self.params)
        self.frontier_benchmark_eci = 0.0  # set by record() from the labs active at each tick
        self.users, self.usage = self.population.tally()
        self.burn_in()
        self.take_market_snapshot()  # what market research sees until the first month's releases
        self.record()

    # -- the tick ------------------------------------------------------------------------------------
    def step(self) -> None:
        self._apply_events_at(self.tick)  # dated scenario changes
        self.labs.do("enter")
        self.finance_draws = self.stream(STREAM_FINANCE).random(len(self.lab_list))
        self.labs.do("finance")  # F7, F12, F19
        self.labs.do("buy_compute")  # F2, F7, F15
        self.train_labs()  # F2, F5, F6, F16, F18
        self.take_market_snapshot()  # what labs' market research sees: the market before anyone releases
        self.labs.do("draft_release")  # F9: a ban's pinned response; the ways each lab due may release
        self.research_drafts()  # what each lab with a choice can expect of each way (one survey)
        self.labs.do("release")  # F1, F3, F7, F9, F19
        self.release_open_weights()  # F9
        self.set_prices()  # F14
        self.market_step()  # F4, F8, F12-F14, F17
        self.review_patronage()  # F7, F19
        self.record()
        self.running = self.tick < self.params.months - 1  # the horizon: tick months - 1

    @property
    def tick(self) -> int:
        """Months since the start; the state after ``step()`` number k is tick k."""
        return self.steps

    @property
    def date(self) -> str:
        return self.params.date_of(self.tick)

    # -- randomness -------------------------------------------------------------------------------------
    def stream(self, purpose: int, tick: int | None = None) -> np.random.Generator:
        """An independent generator for (tick, purpose), derived from the model's generator at start-up,
        so a draw's value does not depend on how many draws other phases or earlier ticks made."""
        tick = self.tick if tick is None else tick
        return np.random.default_rng([self._stream_entropy, tick + 1_000, purpose])

    # -- events -------------------------------------------------------------------------------------------
    def _schedule_events(self) -> dict[int, list[dict[str, Any]]]:
        schedule: dict[int, list[dict[str, Any]]] = {}
        for event in self.params.events:
            schedule.setdefault(months_between(self.params.start, event.at), []).append(dict(event.set))
        return schedule

    def _apply_events_at(self, tick: int) -> None:
        """Apply the events dated ``tick``: parameters change from this month on."""
        for changes in self._events.get(tick, []):
            self.params = with_changes(self.params, changes)
            if tick > 0:
                self.population.update_segment_parameters(self.params)
                for lab in self.lab_list:
                    if f"labs.{lab.name}.release_policy" in changes and lab.cfg.release_policy is not None:
                        lab.is_open = lab.cfg.release_policy == "open"  # pinned from now on
                        lab.release_option = strategy.OPEN if lab.is_open else strategy.CLOSED

    # -- labs ------------------------------------------------------------------------------------------
    def lab_vector(self, attr: str, entries: list[Any] | None = None) -> np.ndarray:
        """``attr`` of each lab (or of each of ``entries``, e.g. ``self.offerings``) as floats."""
        return np.array([getattr(x, attr) for x in (self.lab_list if entries is None else entries)], float)

    def lab_active_mask(self, entries: list[Any] | None = None) -> np.ndarray:
        return np.array([x.active for x in (self.lab_list if entries is None else entries)], dtype=bool)

    def compute_price_usd_per_flop_month(self, bloc: str) -> float:
        """World price, falling with hardware progress, times the bloc's export-control multiplier (F15)."""
        world = self.params.world
        decline = (1 - world.compute_price_decline_per_year) ** (self.tick / 12)
        return (
            world.compute_price_usd_per_flop_month
            * decline
            * self.params.blocs[bloc].compute_price_multiplier
        )

    def serving_cost_usd_per_mtok(self, training_flop: float) -> float:
        """Serving cost this month of a model trained with ``training_flop`` physical FLOP (F14)."""
        world = self.params.world
        return decisions.serving_cost_usd_per_mtok(
            training_flop,
            self.tick,
            reference_cost_usd_per_mtok=world.serving_cost_usd_per_mtok,
            reference_training_flop=world.serving_reference_training_flop,
            hardware_decline_per_year=world.compute_price_decline_per_year,
            inference_gain_per_year=world.inference_gain_per_year,
        )

    def train_labs(self) -> None:
        """All labs train on the same snapshot of each other's know-how and efficiency (synchronous
        spill-over)."""
        know_how = self.lab_vector("know_how_eci")
        efficiency = np.log10(self.lab_vector("training_efficiency"))
        is_open = np.array([lab.is_open for lab in self.lab_list])
        blocs = np.array([self.bloc_index[lab.bloc] for lab in self.lab_list])
        active = self.lab_active_mask()
        closed = [lab for lab in self.lab_list if lab.active and not lab.is_open]
        # distillers learn the know-how of the lab behind the best closed model (F5)
        teacher = know_how[max(closed, key=lambda lab: lab.capability_true_eci).index] if closed else -np.inf
        for lab in self.lab_list:
            lab.train(lab.spillover_rates(is_open, blocs, active), know_how, efficiency, teacher)

    def set_prices(self) -> None:
        """Each lab prices its current model against the best open model on the market (F14); distillers
        pay the best closed model's price (F5)."""
        best_open = max(
            (x.capability_true_eci for x in self.offerings if x.active and x.is_open), default=-np.inf
        )
        for entry in self.offerings:
            entry.set_price(best_open)
        closed = [lab for lab in self.lab_list if lab.active and not lab.is_open]
        if closed:
            self.teacher_price_usd_per_mtok = max(closed, key=lambda lab: lab.capability_true_eci).price

    def review_patronage(self) -> None:
        """Patrons look at the adoption each lab won this month among all active labs: a blend of its usage
        share and developers' usage share, against an equal share (F7, F19)."""
        n = len(self.lab_list)
        standing = self.standings(self.usage[:, :, :n].sum(axis=1), self.lab_active_mask())
        for lab in self.lab_list:
            if lab.active:
                lab.review_patronage(float(standing[lab.index]))

    def standings(self, usage_by_segment: np.ndarray, active: np.ndarray) -> np.ndarray:
        """(n,) each lab's standing among the active labs, from usage by segment (S, n): its blend of usage
        share and developers' usage share times the number of active labs (1 = an equal share), what patrons
        weigh (``decisions.relative_share``). A stack of usage tables (K, S, n) with their active masks (K, n)
        gives (K, n)."""
        usage = usage_by_segment.sum(axis=-2) * active
        dev = (
            usage_by_segment[..., self.segment_names.index(DEVELOPERS), :] * active
            if DEVELOPERS in self.segment_names
            else usage
        )
        weight = self.params.world.patron_developer_weight
        labs = active.sum(axis=-1, keepdims=True)  # active labs, per market
        return decisions.relative_share(_shares(usage), _shares(dev), weight, labs)  # elementwise

    def release_open_weights(self) -> None:
        """A lab that turned closed this tick leaves its last open release on the market as a new entry
        (or its existing one, updated); its adopters keep running those weights (F9)."""
        for lab in self.lab_list:
            release = lab.last_open_release
            if not lab.entered or lab.is_open or release is None:
                continue
            weights = self.weights_of.get(lab.name)
            if weights is None:
                weights = OpenWeights(self, lab, self.population.add_offering())
                self.weights_of[lab.name] = weights
                self.open_weights.append(weights)
                self.offerings.append(weights)
            if weights.due():
                weights.take_over()
                self.population.hand_over(lab.index, weights.index)

    def best_open_true_eci(self, lab: Lab) -> float:
        """Best open model a closed release by ``lab`` would compete with, in this month's snapshot (before
        anyone releases): other available open offerings, and ``lab``'s own current model if it is open (its
        weights stay out, F9)."""
        market = self._snapshot[0]
        others = market.available & market.is_open
        others[lab.index] = False
        own = [lab.capability_true_eci] if lab.active and lab.is_open else []
        return max([*market.true_eci[others].tolist(), *own], default=-np.inf)

    def research_drafts(self) -> None:
        """Market research for every lab that has drafted more than one way to release this month, done
        together on this month's snapshot (what :meth:`research_of` hands each lab)."""
        requests = [(lab, lab.drafts) for lab in self.lab_list if len(lab.drafts) > 1]
        results = self.survey(requests) if requests else []
        self._research = {
            lab.name: (offers, found) for (lab, offers), found in zip(requests, results, strict=True)
        }

    def research_of(self, lab: Lab, offers: list[Offer]) -> list[Research]:
        """``lab``'s market research for ``offers``: this month's survey if it covered them, else its own."""
        done = self._research.get(lab.name)
        if done is not None and done[0] == offers:
            return done[1]
        return self.market_research(lab, offers)

    def market_research(self, lab: Lab, offers: list[Offer]) -> list[Research]:
        """Usage, Mtok per month, ``lab`` can expect for each of ``offers`` given every other offering as it is,
        and its standing among the labs (:meth:`survey` of one lab)."""
        return self.survey([(lab, offers)])[0]

    def survey(self, requests: list[tuple[Lab, list[Offer]]]) -> list[list[Research]]:
        """Market research for several labs at once: for each (lab, offers), the usage, Mtok per month, the lab
        can expect for each offer given every other offering as it stands in this month's snapshot, and its
        standing among the labs; the adopters' own utilities over a fixed sample (``world.research_sample``),
        logit shares scaled to the market (``AdopterPopulation.logit_weights``, ``expected_usage_of_weights``:
        one exponential per scored row, shared by every offer's market). A closed offer by a lab
        that is open now competes with its own weights, which stay on the market (F9). All labs see the same
        snapshot, so researching them together gives what each would get alone, in fewer array operations."""
        base, base_u = self._snapshot
        pop, idx = self.population, self.research_idx
        columns = [
            (lab.index, self._offer_column(lab, offer)) for lab, offers in requests for offer in offers
        ]
        lab_of = np.array([lab.index for lab, offers in requests for _ in offers], dtype=int)  # per offer
        k = len(columns)
        # a closed offer by a lab that is open now: its current model stays on the market as open weights
        keeps = [[not offer.is_open and lab.is_open for offer in offers] for lab, offers in requests]
        kept = [r for r, flags in enumerate(keeps) if any(flags)]
        for r in kept:
            lab = requests[r][0]
            price = self.serving_cost_usd_per_mtok(lab.released_training_flop)
            weights = {"is_open": True, "available": True, "recent": False, "log_price": np.log(price)}
            columns.append((lab.index, weights))
        # adopters' utilities (L, n) of the snapshot's offerings: scored once a month, with the first offers
        if base_u is None:
            n_base = base.available.size
            scored = pop.research_utility(
                idx, base.columns([(j, {}) for j in range(n_base)] + columns), self.tick
            )
            base_u = np.ascontiguousarray(scored[:, :n_base].T)
            self._snapshot = (base, base_u)
            scored = scored[:, n_base:]
        else:
            scored = pop.research_utility(idx, base.columns(columns), self.tick)  # (n, offers + weights)
        # logit weights of the snapshot's offerings and of the scored columns, with one shift per adopter
        (base_w, scored_w), outside_w = pop.logit_weights(
            idx, self.tick, base_u, np.ascontiguousarray(scored.T)
        )
        w = np.repeat(base_w[None], k, axis=0)  # (offers, L, n): one market per offer
        w[np.arange(k), lab_of, :] = scored_w[:k]
        new = [r for r in kept if requests[r][0].name not in self.weights_of]  # weights not yet on the market
        if new:
            w = np.concatenate([w, np.zeros((k, len(new), idx.size))], axis=1)
        first = np.cumsum([0, *(len(offers) for _, offers in requests)])  # each request's first offer
        for c, r in enumerate(kept):
            left = self.weights_of.get(requests[r][0].name)
            row = left.index if left is not None else base_u.shape[0] + new.index(r)
            w[first[r] + np.flatnonzero(keeps[r]), row, :] = scored_w[k + c]
        expected = pop.expected_usage_of_weights(idx, w, outside_w, self.tick)  # (offers, S, L')
        n = len(self.lab_list)
        available = np.repeat(base.available[None, :n], k, axis=0)
        available[np.arange(k), lab_of] = True
        standing = self.standings(expected[:, :, :n], available)  # (offers, n)
        usage = expected[np.arange(k), :, lab_of].sum(axis=1)
        out = [Research(float(usage[o]), float(standing[o, lab_of[o]])) for o in range(k)]
        return [out[first[r] : first[r + 1]] for r in range(len(requests))]

    def _offer_column(self, lab: Lab, offer: Offer) -> dict[str, Any]:
        """``lab``'s market column as ``offer`` would make it: the candidate if newer, else its current model,
        priced as offered, with the version a ban lets in."""
        ban = self.params.policy.ban
        focus = lab.cfg.benchmark_focus_eci
        shown = lab.offer(offer.option, offer.true_eci, offer.training_flop)
        true, newer = shown.true_eci, shown.true_eci > lab.capability_true_eci
        banned = offer.is_open and ban.active and shown.training_flop > ban.threshold_flop
        legal = lab.legal_true_eci if banned else true
        price, _ = lab.offer_price(shown)
        return {
            "available": True,
            "is_open": offer.is_open,
            "true_eci": true,
            "benchmark_eci": true + focus,
            "legal_true_eci": legal,
            "legal_benchmark_eci": legal + focus,
            "log_price": np.log(price),
            "recent": newer or bool(self._snapshot[0].recent[lab.index]),
        }

    def take_market_snapshot(self) -> None:
        """Freeze the market as it stands before this month's releases (with this month's ban enforcement),
        so every lab's market research sees the same rivals whatever the order labs release in."""
        ban = self.params.policy.ban
        self.population.enforcement = ban.enforcement if ban.active else 0.0
        self._snapshot: tuple[Market, np.ndarray | None] = (self.market(), None)
        self._research: dict[str, tuple[list[Offer], list[Research]]] = {}  # this month's, by lab

    # -- adopters -------------------------------------------------------------------------------------
    def market(self) -> Market:
        """What adopters see this tick: one column per offering (labs, then released open weights)."""
        p = self.params
        labs = self.offerings
        is_open = np.array([lab.is_open for lab in labs])
        affinity, owned, bloc = self.market_parameters()
        return Market(
            available=self.lab_active_mask(labs),
            is_open=is_open,
            true_eci=self.lab_vector("capability_true_eci", labs),
            benchmark_eci=self.lab_vector("capability_benchmark_eci", labs),
            log_price=np.log([lab.price_usd_per_mtok() for lab in labs]),
            bloc=bloc,
            recent=np.array([self.tick - lab.new_model_tick < p.world.recency_months for lab in labs]),
            affinity=affinity,
            owned=owned,
            legal_true_eci=self.lab_vector("legal_true_eci", labs),
            legal_benchmark_eci=self.lab_vector("legal_benchmark_eci", labs),
            ban_region=self.region_names.index(p.policy.ban.jurisdiction)
            if p.policy.ban.active and p.policy.ban.jurisdiction in self.region_names
            else -1,
        )

    def market_parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(affinity (S, L), owned (R, L), bloc (L,)) of the offerings: they change only with the parameters
        (events) or the offerings, so they are kept until either does (read-only arrays)."""
        key = (self.params, len(self.offerings))
        cached = getattr(self, "_market_cache", None)
        if cached is None or cached[0][0] is not key[0] or cached[0][1] != key[1]:
            labs = self.offerings
            affinity = np.array(
                [[lab.segment_affinity.get(s, 0.0) for lab in labs] for s in self.segment_names]
            ).reshape(len(self.segment_names), len(labs))
            owned = np.array(
                [[region in lab.owners for lab in labs] for region in self.region_names], dtype=bool
            ).reshape(len(self.region_names), len(labs))
            bloc = np.array([self.bloc_index[lab.bloc] for lab in labs], dtype=int)
            for array in (affinity, owned, bloc):
                array.setflags(write=False)
            cached = self._market_cache = (key, (affinity, owned, bloc))
        return cached[1]

    def market_step(self, tick: int | None = None) -> None:
        """Adopters reconsider and choose; labs (and weights) learn their users, usage and demanding share."""
        tick = self.tick if tick is None else tick
        self.population.choose(
            self.market(),
            self.tick,
            self.stream(STREAM_VOLUNTARY, tick),
            self.stream(STREAM_FORCED, tick),
            self.params.world,
            self.params.policy.ban.enforcement if self.params.policy.ban.active else 0.0,
        )
        users, usage = self.population.tally()
        self.population.update_popularity(usage)
        self.users, self.usage = users, usage
        demanding = self.population.demanding
        demanding_usage = usage[demanding, :, :-1].sum(axis=(0, 1))
        total_demanding = demanding_usage.sum()
        for lab in self.lab_list:  # what adopters could take as open weights this month (F9)
            if lab.active and lab.is_open:
                lab.last_open_release = lab.current_release()
        users_by_segment = users.sum(axis=1)  # (S, L+1)
        lab_users, lab_usage = users_by_segment.sum(axis=0).tolist(), usage.sum(axis=(0, 1)).tolist()
        for lab in self.offerings:
            j = lab.index
            lab.users = int(lab_users[j])
            lab.usage_mtok = float(lab_usage[j])
            lab.users_by_segment = users_by_segment[:, j]
            lab.demanding_usage_share = (
                float(demanding_usage[j] / total_demanding) if total_demanding > 0 else 0.0
            )
            lab.record_usage()

    def burn_in(self) -> None:
        """Settle the market at the start state for ``adopters.burn_in_months`` months of choices, so
        tick 0 starts from sticky, popularity-shaped adoption rather than from nobody using anything."""
        for k in range(self.params.adopters.burn_in_months, 0, -1):
            self.market_step(tick=-k)

    def dispose(self) -> None:
        """Free the agents, adopters and collected data once the results are read; the model is empty after.

        Mesa before 3.4 keeps a reference to every model ever built (``Agent``'s id counters, mesa#3179),
        so a process that runs many models (a sweep worker, the dashboard) would otherwise grow by about
        2 MB a run at 10,000 adopters (about 11 KB after this)."""
        self.remove_all_agents()
        self.lab_list, self.open_weights, self.offerings = [], [], []
        self.population = self.datacollector = self.history = self.current = None  # type: ignore[assignment]
        self.users = self.usage = self.finance_draws = self.params = self._events = None  # type: ignore[assignment]
        self._snapshot = self.research_idx = self._market_cache = None  # type: ignore[assignment]
        self._research = {}
        self.weights_of = {}

    # -- metrics ------------------------------------------------------------------------------------------
    def record(self) -> None:
        """Update frontier history and per-tick metrics (``self.current``)."""
        self.history.append(self)
        active = self.lab_active_mask()
        bench = self.lab_vector("capability_benchmark_eci")
        self.frontier_benchmark_eci = float(bench[active].max()) if active.any() else 0.0
        self.current = metrics.compute(self)
        if not hasattr(self, "datacollector"):
            self.datacollector = Collector(
                model_reporters={"seed": "seed_used"} | {k: partial(_metric, key=k) for k in self.current},
                agent_reporters=metrics.lab_reporters(self.segment_names) if self.collect_labs else None,
            )
        self.datacollector.collect(self)

    def lab_frame(self) -> pd.DataFrame:
        """The per-lab table so far: ``tick`` (an int on every Mesa version) and the columns of
        ``metrics.lab_reporters``, one row per tick and offering."""
        if not self.collect_labs:
            raise RuntimeError("this model was built with collect_labs=False: it has no per-lab table")
        labs = self.datacollector.get_agent_vars_dataframe().reset_index()
        labs = labs.rename(columns={"Step": "tick"}).drop(columns=["AgentID"])
        labs["tick"] = labs["tick"].astype(int)
        return labs


class Collector(mesa.DataCollector):
    """Mesa's DataCollector (its tables, ``get_agent_vars_dataframe``, ``mesa.batch_run``), reading each lab's
    row at once (``metrics.LabRow``) instead of calling every reporter on every lab: a tenth of a run's
    time at 10,000 adopters."""

    def __init__(self, model_reporters: dict[str, Any], agent_reporters: dict[str, Any] | None):
        super().__init__(model_reporters=model_reporters, agent_reporters=agent_reporters)
        self._row = metrics.LabRow(agent_reporters) if agent_reporters else None

    def _record_agents(self, model: mesa.Model) -> list[tuple[Any, ...]]:
        return [(model.steps, agent.unique_id, *self._row(agent)) for agent in model.agents]


def _shares(x: np.ndarray) -> np.ndarray:
    """Each entry's share of its last axis's total (0 where the total is 0)."""
    total = x.sum(axis=-1, keepdims=True)
    return np.divide(x, total, out=np.zeros_like(x), where=total > 0)


def _metric(model: EcosystemModel, key: str) -> Any:
    """DataCollector reporter: one key of ``model.current`` (a partial, so Mesa passes the model)."""
    return model.current[key]
