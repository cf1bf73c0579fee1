"""Adopters: one population object of numpy arrays (not Mesa agents: 45-70x faster at equal results in a
benchmark of a toy market of this shape, e.g. 0.11 s against 6.9 s for 10,000 adopters over 120 monthly
ticks). Each tick a fraction reconsider, draw a small consideration set shaped by
popularity and recency (F4), score the models they see with a random-utility (logit) rule, and switch
only when the gain beats their switching cost (F4, F14). Local/personal agents use open models only (F17).

Adopters decide on the labs' state of this tick after release (synchronous update), so the vectorised
step is exactly the per-adopter model, not an approximation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..config.schema import Scenario

NONE = -1  # adopter without a model


@dataclass(frozen=True)
class Market:
    """What adopters see of the labs this tick: one entry per lab (length L)."""

    available: np.ndarray  # bool: entered and alive (a new entrant offers its initial model at once)
    is_open: np.ndarray  # bool
    true_eci: np.ndarray  # released true capability
    benchmark_eci: np.ndarray  # released benchmark score
    log_price: np.ndarray  # ln(USD per million tokens)
    bloc: np.ndarray  # int bloc index
    recent: np.ndarray  # bool: released within world.recency_months
    affinity: np.ndarray  # (S, L) extra utility by segment
    owned: np.ndarray  # (R, L) bool: region r's state co-owns lab l (a consortium, F12)
    trust_weight: np.ndarray  # share of origin trust that applies: 1 closed, world.open_trust_weight open
    legal_true_eci: np.ndarray  # newest release a ban lets in, true capability
    legal_benchmark_eci: np.ndarray  # and its benchmark score
    ban_region: int  # region index under an open-weight ban, -1 for none

    def columns(self, changes: Sequence[tuple[int, Mapping[str, Any]]]) -> Market:
        """One column per (offering j, values) of ``changes``: a copy of offering j's column with those values
        in place of its own; the ways labs could release, as their market research scores them."""
        js = [j for j, _ in changes]
        parts: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value[..., js]
                for c, (_, change) in enumerate(changes):
                    if f.name in change:
                        value[..., c] = change[f.name]
            parts[f.name] = value
        return Market(**parts)


@dataclass(frozen=True)
class Adopters:
    """The per-adopter terms of utility for adopters ``idx`` at one tick, as (n, 1) columns where they scale
    an (n, L) utility: scoring a market, or one offering's column, is then a few array operations."""

    idx: np.ndarray  # adopter indices
    tick: int
    seg: np.ndarray  # segment index
    region: np.ndarray  # region index
    group: np.ndarray  # access group (open-only, region), ``AdopterPopulation.access``
    true_w: np.ndarray  # weight of true capability against benchmark score in perceived capability
    need_eci: np.ndarray  # capability needed at ``tick``, ECI
    shortfall_w: np.ndarray  # utility per ECI of shortfall below need
    surplus_w: np.ndarray  # utility per ECI above need
    price_sens: np.ndarray  # utility per unit of ln(USD per Mtok)
    control: np.ndarray  # utility of open weights (control, F17)
    trust: np.ndarray  # (n, B) trust in each bloc's labs
    ownership_value: np.ndarray  # utility of a model its region's state co-owns (F12)
    ban_penalty: np.ndarray  # (n,) cost of being sanctioned for using a banned model (F9)

    def utility(self, market: Market, true_eci: np.ndarray, benchmark_eci: np.ndarray) -> np.ndarray:
        """Utility (n, L) of models with these released capabilities (the newest, or the legal ones)."""
        # perceived capability (true_w x true + (1 - true_w) x benchmark) against need; written with few
        # (n, L) temporaries, as this is most of the choice step's arithmetic
        d = self.true_w * (true_eci - benchmark_eci)[None, :]
        d += benchmark_eci[None, :]
        d -= self.need_eci
        u = np.where(d < 0.0, self.shortfall_w, self.surplus_w)  # shortfall below need, surplus above
        u *= d
        term = np.multiply(self.price_sens, market.log_price[None, :])
        u -= term
        u += np.multiply(self.control, market.is_open[None, :], out=term)  # open weights: control (F17)
        u += np.multiply(self.trust[:, market.bloc], market.trust_weight[None, :], out=term)
        u += market.affinity[self.seg]
        if market.owned.any():
            u += self.ownership(market)
        return u

    def ownership(self, market: Market) -> np.ndarray | float:
        """(n, L): each adopter's segment ownership value for the models its own region's state co-owns (0.0
        when no state co-owns any, the usual case)."""
        if not market.owned.any():
            return 0.0
        return self.ownership_value * market.owned[self.region]

    def rows(self, sel: np.ndarray) -> Adopters:
        """The adopters at positions ``sel`` of this block."""
        return Adopters(
            **{f.name: getattr(self, f.name)[sel] if f.name != "tick" else self.tick for f in fields(self)}
        )

    def segment_onehot(self, n_segments: int) -> np.ndarray:
        """(S, n) bool: adopter i is in segment s (kept with the block)."""
        cached = self.__dict__.get("_onehot")
        if cached is None or cached.shape[0] != n_segments:
            cached = self.__dict__["_onehot"] = self.seg[None, :] == np.arange(n_segments)[:, None]
        return cached


class AdopterPopulation:
    """All adopters as arrays of length N. Segment-level parameters are indexed by ``segment``."""

    def __init__(self, scenario: Scenario, n_labs: int, rng: np.random.Generator):
        cfg = scenario.adopters
        self.segment_names = list(cfg.segments)
        self.region_names = list(cfg.regions)
        self.bloc_names = list(scenario.blocs)
        segs = list(cfg.segments.values())
        regs = list(cfg.regions.values())
        n = cfg.n
        self.n = n
        self.n_labs = n_labs
        # Exact counts per segment and region (largest remainder), then shuffled: independent draws.
        self.segment = rng.permutation(_counts_to_labels([s.adopter_share for s in segs], n)).astype(np.int16)
        self.region = rng.permutation(_counts_to_labels([r.adopter_share for r in regs], n)).astype(np.int16)
        seg = self.segment
        # Usage: log-normal within a segment, scaled so each segment holds its usage share of the market.
        sigma = np.array([s.usage_sigma for s in segs])[seg]
        raw = rng.lognormal(-(sigma**2) / 2, sigma)
        seg_totals = np.bincount(seg, weights=raw, minlength=len(segs))
        shares = np.array([s.usage_share for s in segs])
        self.base_usage_mtok = raw / seg_totals[seg] * shares[seg] * scenario.world.market_mtok_per_month
        # Individual deviations are drawn once; levels are rebuilt from them whenever segment or region
        # parameters change, so dated events on needs, control, switching costs and trust take effect.
        self.z_need = rng.standard_normal(n)
        self.z_control = rng.standard_normal(n)
        self.switch_draw = rng.exponential(1.0, n)
        self.z_trust = rng.standard_normal((n, len(self.bloc_names)))
        self.choice = np.full(n, NONE, dtype=np.int32)
        self.opted_out = np.zeros(
            n, dtype=bool
        )  # chose the outside option: re-chooses only when it reconsiders
        self.enforcement = 0.0  # chance that using a banned model is sanctioned (set each tick)
        self.update_segment_parameters(scenario)
        self.usage_mtok = self.base_usage_mtok.copy()
        self.popularity = np.zeros((len(segs), n_labs))  # usage share per segment, last tick

    def update_segment_parameters(self, scenario: Scenario) -> None:
        """Re-read segment and region parameters (at the start and after every event)."""
        segs = list(scenario.adopters.segments.values())
        regs = list(scenario.adopters.regions.values())
        pick = lambda attr: np.array([getattr(s, attr) for s in segs], dtype=float)  # noqa: E731
        seg, reg = self.segment, self.region
        self.need0_eci = pick("need_eci")[seg] + pick("need_sd_eci")[seg] * self.z_need
        self.control = pick("control_value")[seg] + pick("control_sd")[seg] * self.z_control
        self.switching_cost = pick("switching_cost")[seg] * self.switch_draw
        trust_mean = np.array(
            [[r.trust_by_bloc.get(b, 0.0) for b in self.bloc_names] for r in regs]
        )  # (R, B)
        trust_sd = np.array([r.trust_sd for r in regs])
        self.trust = trust_mean[reg] + self.z_trust * trust_sd[reg][:, None]
        self.shortfall_w = pick("shortfall_weight")
        self.surplus_w = pick("surplus_weight")
        self.true_w = pick("true_capability_weight")
        self.price_sens = pick("price_sensitivity")
        self.need_growth = pick("need_growth_eci_per_month")
        self.reconsider_rate = pick("reconsider_rate_per_month")
        self.consider_k = pick("consideration_size").astype(int)
        self.open_only = pick("open_only").astype(bool)
        self.demanding = pick("demanding").astype(bool)
        self.usage_growth = pick("usage_growth_per_year")
        self.ownership_value = pick("ownership_value")
        self.ban_penalty = pick("ban_penalty")
        self.group = self.open_only[seg] * len(regs) + reg  # access group: (open-only, region)
        self._block_cache: Adopters | None = None
        # utility of using no model (the outside option); -inf where a segment has none
        self.outside_utility = np.array(
            [-np.inf if s.outside_utility is None else s.outside_utility for s in segs], dtype=float
        )

    # -- the choice step -----------------------------------------------------------------------------
    def access(self, market: Market) -> tuple[np.ndarray, np.ndarray]:
        """(table, group): ``table[group[i]]`` is the (L,) bool row of labs adopter i can use at all.

        Access depends only on (open-only segment, region), so it is a small table of those groups
        instead of an (N, L) matrix."""
        n_r, n_labs = len(self.region_names), market.available.size
        table = np.broadcast_to(market.available, (2, n_r, n_labs)).copy()
        table[1] &= market.is_open  # open-only segments (F17)
        return table.reshape(-1, n_labs), self.group

    def block(self, idx: np.ndarray, tick: int) -> Adopters:
        """The per-adopter terms of utility for adopters ``idx`` at ``tick``."""
        seg = self.segment[idx]
        return Adopters(
            idx=idx,
            tick=tick,
            seg=seg,
            region=self.region[idx],
            group=self.group[idx],
            true_w=self.true_w[seg][:, None],
            need_eci=(self.need0_eci[idx] + self.need_growth[seg] * tick)[:, None],
            shortfall_w=self.shortfall_w[seg][:, None],
            surplus_w=self.surplus_w[seg][:, None],
            price_sens=self.price_sens[seg][:, None],
            control=self.control[idx][:, None],
            trust=self.trust[idx],
            ownership_value=self.ownership_value[seg][:, None],
            ban_penalty=self.ban_penalty[seg],
        )

    def _cached_block(self, idx: np.ndarray, tick: int) -> Adopters:
        """:meth:`block` for a fixed sample scored many times in a month (labs' market research), kept until
        the sample, the tick or the segment parameters change."""
        cached = self._block_cache
        if cached is None or cached.idx is not idx or cached.tick != tick:
            cached = self._block_cache = self.block(idx, tick)
        return cached

    def choose(
        self,
        market: Market,
        tick: int,
        rng_voluntary: np.random.Generator,
        rng_forced: np.random.Generator,
        world,
        enforcement: float,
    ) -> None:
        """Reconsideration, consideration sets and logit choice for this tick (all vectorised).

        Voluntary reconsideration uses one stream, forced re-choice (current model gone, e.g. its lab
        exited, or closed to an open-only adopter) another, so a scenario that kills a lab leaves everyone
        else's draws unchanged (common random numbers)."""
        self.enforcement = enforcement
        table, group = self.access(market)
        voluntary = rng_voluntary.random(self.n) < self.reconsider_rate[self.segment]
        self._decide(np.flatnonzero(voluntary), market, table[group[voluntary]], tick, rng_voluntary, world)
        has = self.choice != NONE
        usable = np.zeros(self.n, dtype=bool)
        usable[has] = table[group[has], self.choice[has]]
        forced = ~usable & ~self.opted_out
        self._decide(np.flatnonzero(forced), market, table[group[forced]], tick, rng_forced, world)
        self.usage_mtok = self.base_usage_mtok * (self.usage_growth ** (tick / 12))[self.segment]

    def _decide(
        self, idx: np.ndarray, market: Market, allowed: np.ndarray, tick: int, rng: np.random.Generator, world
    ) -> None:
        """Adopters ``idx`` (``allowed``: their (n, L) access) draw a consideration set and choose."""
        if idx.size == 0:
            return
        n, n_labs = idx.size, market.available.size
        block = self.block(idx, tick)
        seg = block.seg
        # Separate child streams for the two draws, laid out lab by lab: a scenario that adds a lab at the
        # end of the roster leaves every other lab's noise unchanged (common random numbers).
        rng_consider, rng_utility, rng_outside = rng.spawn(3)
        # Consideration set: Gumbel-top-k on log(popularity^gamma * recency boost) + affinity (F4).
        # segment affinity also draws attention: a sovereign buyer looks at its own consortium's model (F12);
        # the segment terms are summed per segment (S, L), then spread to adopters
        by_segment = (
            np.log(self.popularity**world.popularity_exponent + world.popularity_floor)
            + np.log(world.recency_boost) * market.recent[None, :]
            + market.affinity
        )
        weight = by_segment[seg] + block.ownership(market)
        score = weight + np.ascontiguousarray(gumbel(rng_consider, (n_labs, n)).T)
        score[~allowed] = -np.inf
        k = np.minimum(self.consider_k[seg], n_labs)
        ranked = -np.sort(-score, axis=1)  # descending per row (L is small)
        threshold = ranked[np.arange(n), k - 1]
        considered = (score >= threshold[:, None]) & allowed
        cur = self.choice[idx]
        has_cur = cur != NONE
        cur_ok = np.zeros(n, dtype=bool)
        cur_ok[has_cur] = allowed[np.flatnonzero(has_cur), cur[has_cur]]
        considered[np.flatnonzero(cur_ok), cur[cur_ok]] = True
        # Utility (F3, F8, F12, F14): perceived capability against need, price, control, trust, affinity.
        utility = self._block_utility(block, market) + np.ascontiguousarray(
            gumbel(rng_utility, (n_labs, n)).T
        )
        utility[~considered] = -np.inf
        best = np.argmax(utility, axis=1)
        best_u = utility[np.arange(n), best]
        new = np.where(np.isfinite(best_u), best, NONE)
        outside = self.outside_utility[seg]
        has_outside = np.isfinite(outside)
        none = np.zeros(n, dtype=bool)
        if has_outside.any():  # the outside option: use no model for the task (drawn in its own stream)
            outside_u = outside + gumbel(rng_outside, n)
            none = has_outside & (outside_u > best_u)
            new[none], best_u[none] = NONE, outside_u[none]
        if cur_ok.any():
            rows = np.flatnonzero(cur_ok)
            gain = best_u[rows] - utility[rows, cur[rows]]
            stay = gain <= self.switching_cost[idx[rows]]
            new[rows[stay]] = cur[rows[stay]]
            none[rows[stay]] = False
        self.choice[idx] = new
        self.opted_out[idx] = none

    def utility(self, idx: np.ndarray, market: Market, tick: int) -> np.ndarray:
        """Deterministic utility (n, L) of each lab's released model for adopters ``idx``."""
        return self._block_utility(self.block(idx, tick), market)

    def _block_utility(self, block: Adopters, market: Market) -> np.ndarray:
        """:meth:`utility` for the adopters of ``block``."""
        u = block.utility(market, market.true_eci, market.benchmark_eci)
        if market.ban_region >= 0:
            # Under an open-weight ban (F9) an adopter in the jurisdiction decides, model by model, whether to
            # comply: the newest release at the expected cost of using a banned model (enforcement x its
            # segment's penalty), or the newest version the ban lets in, at no cost. The leak is a result.
            banned = (market.legal_true_eci != market.true_eci) | (
                market.legal_benchmark_eci != market.benchmark_eci
            )
            if banned.any():
                inside = np.flatnonzero(block.region == market.ban_region)
                if inside.size:
                    there = block.rows(inside)
                    legal = there.utility(market, market.legal_true_eci, market.legal_benchmark_eci)
                    cost = (self.enforcement * there.ban_penalty)[:, None] * banned[None, :]
                    u[inside] = np.maximum(u[inside] - cost, legal)
        return u

    def research_utility(self, idx: np.ndarray, market: Market, tick: int) -> np.ndarray:
        """(n, L) deterministic utility of each offering for adopters ``idx``, -inf where they cannot use it
        (labs' market research; columns are independent, so a changed offering can be rescored alone). The
        adopters' terms are kept while ``idx`` (the same array) and ``tick`` stay the same."""
        block = self._cached_block(idx, tick)
        u = self._block_utility(block, market)
        table, _ = self.access(market)
        u[~table[block.group]] = -np.inf
        return u

    def expected_usage_mtok(
        self, idx: np.ndarray, utility: np.ndarray, tick: int, *, offerings_first: bool = False
    ) -> np.ndarray:
        """(S, L) usage each offering can expect from each segment's adopters among ``idx`` in a settled
        market, scaled to the whole population: each adopter's usage this month split by logit choice
        probabilities over ``utility`` (n, L) (from :meth:`research_utility`; the choice step's unit Gumbel
        noise), with the outside option where its segment has one. Labs' market research (release strategy):
        it ignores consideration sets and switching costs. A stack of utilities (K, n, L), one market per
        offer, gives (K, S, L); ``offerings_first``: ``utility`` is laid out (..., L, n)."""
        block = self._cached_block(idx, tick)
        outside = self.outside_utility[block.seg]
        # offerings first, adopters last: reductions over a few offerings run along rows of adopters
        if not offerings_first:
            utility = np.ascontiguousarray(np.swapaxes(utility, -1, -2))  # (..., L, n)
        top = np.maximum(utility.max(axis=-2), outside)
        top[~np.isfinite(top)] = 0.0  # nothing usable and no outside option: no weight anywhere, no usage
        weights = np.exp(utility - top[..., None, :])
        total = weights.sum(axis=-2) + np.exp(outside - top)
        usage = np.broadcast_to(
            self.base_usage_mtok[idx] * self.usage_growth[block.seg] ** (tick / 12), total.shape
        )
        per_adopter = np.divide(usage, total, out=np.zeros(total.shape), where=total > 0)
        onehot = block.segment_onehot(len(self.segment_names))  # (S, n)
        by_segment = np.swapaxes(weights @ np.swapaxes(onehot * per_adopter[..., None, :], -1, -2), -1, -2)
        return by_segment * (self.n / max(idx.size, 1))

    def add_offering(self) -> int:
        """A new market column (weights a lab left on the market, F9); returns its index."""
        self.popularity = np.hstack([self.popularity, np.zeros((self.popularity.shape[0], 1))])
        self.n_labs += 1
        return self.n_labs - 1

    def hand_over(self, source: int, to: int) -> None:
        """Adopters of column ``source`` move to column ``to`` (a closed lab's users keep its released
        open weights, F9), with its popularity."""
        self.choice[self.choice == source] = to
        self.popularity[:, to] += self.popularity[:, source]
        self.popularity[:, source] = 0.0

    # -- aggregates --------------------------------------------------------------------------------------
    def tally(self) -> tuple[np.ndarray, np.ndarray]:
        """(users, usage) arrays of shape (S, R, L+1): last lab column counts adopters without a model."""
        n_s, n_r, n_l = len(self.segment_names), len(self.region_names), self.n_labs + 1
        lab = np.where(self.choice == NONE, self.n_labs, self.choice)
        key = (self.segment.astype(np.int64) * n_r + self.region) * n_l + lab
        users = np.bincount(key, minlength=n_s * n_r * n_l).reshape(n_s, n_r, n_l)
        usage = np.bincount(key, weights=self.usage_mtok, minlength=n_s * n_r * n_l).reshape(n_s, n_r, n_l)
        return users, usage

    def update_popularity(self, usage: np.ndarray) -> None:
        by_seg = usage[:, :, : self.n_labs].sum(axis=1)  # (S, L)
        totals = by_seg.sum(axis=1, keepdims=True)
        self.popularity = np.divide(by_seg, totals, out=np.zeros_like(by_seg), where=totals > 0)


def gumbel(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Standard Gumbel draws (the logit's noise) as -ln E with E standard exponential (numpy's ziggurat): the
    distribution of ``Generator.gumbel``, drawn about 3x faster at the choice step's sizes."""
    return -np.log(rng.standard_exponential(size))


def _counts_to_labels(shares: list[float], n: int) -> np.ndarray:
    """Labels 0..k-1 with counts proportional to ``shares`` (largest remainder), in order."""
    shares_arr = np.asarray(shares, dtype=float)
    exact = shares_arr / shares_arr.sum() * n
    counts = np.floor(exact).astype(int)
    remainder = n - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return np.repeat(np.arange(len(shares)), counts)
