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
from functools import cached_property
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
    legal_true_eci: np.ndarray  # newest release a ban lets in, true capability
    legal_benchmark_eci: np.ndarray  # and its benchmark score
    ban_region: int  # region index under an open-weight ban, -1 for none

    def columns(self, changes: Sequence[tuple[int, Mapping[str, Any]]]) -> Market:
        """One column per (offering j, values) of ``changes``: a copy of offering j's column with those values
        in place of its own; the ways labs could release, as their market research scores them."""
        js = [j for j, _ in changes]
        parts = {
            f.name: value[..., js] if isinstance(value, np.ndarray) else value
            for f in fields(self)
            for value in (getattr(self, f.name),)
        }
        placed: dict[str, tuple[list[int], list[Any]]] = {}  # field -> (columns, values): one write per field
        for c, (_, change) in enumerate(changes):
            for name, value in change.items():
                cols, values = placed.setdefault(name, ([], []))
                cols.append(c)
                values.append(value)
        for name, (cols, values) in placed.items():
            parts[name][..., cols] = values
        return Market(**parts)


@dataclass(frozen=True)
class SegmentTerms:
    """The segment-level terms of utility, (S,) each: scored per segment as small (S, L) or (S x R, L) tables
    that adopters then read by their segment, or by their (segment, region) cell; and the share of origin trust
    open weights carry, the same for everyone."""

    true_w: np.ndarray  # weight of true capability against benchmark score in perceived capability
    price_sens: np.ndarray  # utility per unit of ln(USD per Mtok)
    ownership_value: np.ndarray  # utility of a model its region's state co-owns (F12)
    open_only: np.ndarray  # bool: uses open-weight models only (F17)
    n_regions: int
    # share of origin trust (or distrust) open weights carry; closed models carry all of it
    open_trust_weight: float

    def perceived_eci(self, true_eci: np.ndarray, benchmark_eci: np.ndarray) -> np.ndarray:
        """(S, L) perceived capability: true_w x true + (1 - true_w) x benchmark."""
        return self.true_w[:, None] * (true_eci - benchmark_eci)[None, :] + benchmark_eci[None, :]

    def by_cell(self, by_segment: np.ndarray, market: Market) -> np.ndarray:
        """(S x R, L): the segment terms ``by_segment`` (S, L) for each (segment, region) cell (row s x R + r),
        plus the segment's ownership value where the region's state co-owns the offering (F12)."""
        cells = np.repeat(by_segment, self.n_regions, axis=0)
        if market.owned.any():
            cells += (self.ownership_value[:, None, None] * market.owned[None, :, :]).reshape(cells.shape)
        return cells

    def cell_utility(self, market: Market) -> np.ndarray:
        """(S x R, L) the utility terms a (segment, region) cell shares: affinity, price (F14), co-ownership."""
        return self.by_cell(market.affinity - self.price_sens[:, None] * market.log_price[None, :], market)

    def access(self, market: Market) -> np.ndarray:
        """(S x R, L) bool: the offerings a (segment, region) cell can use at all (available; open only for
        open-only segments, F17)."""
        by_segment = market.available[None, :] & (market.is_open[None, :] | ~self.open_only[:, None])
        return np.repeat(by_segment, self.n_regions, axis=0)


@dataclass(frozen=True)
class Adopters:
    """The per-adopter terms of utility for adopters ``idx`` at one tick, as (n, 1) columns where they scale
    an (n, L) utility, with their segments' terms: scoring a market, or one offering's column, is then a few
    array operations."""

    idx: np.ndarray  # adopter indices
    tick: int
    seg: np.ndarray  # segment index
    region: np.ndarray  # region index
    cell: np.ndarray  # (segment, region) cell: segment x R + region
    need_eci: np.ndarray  # (n, 1) capability needed at ``tick``, ECI
    shortfall_w: np.ndarray  # (n, 1) utility per ECI of shortfall below need
    surplus_w: np.ndarray  # (n, 1) utility per ECI above need
    control: np.ndarray  # (n, 1) utility of open weights (control, F17)
    trust: np.ndarray  # (n, B) trust in each bloc's labs
    ban_penalty: np.ndarray  # (n,) cost of being sanctioned for using a banned model (F9)
    terms: SegmentTerms

    def utility(self, market: Market, true_eci: np.ndarray, benchmark_eci: np.ndarray) -> np.ndarray:
        """Utility (n, L) of models with these released capabilities (the newest, or the legal ones)."""
        # perceived capability against need: below it each ECI of shortfall costs shortfall_w, above it each
        # ECI of surplus adds surplus_w (written with few (n, L) passes: most of the choice step's arithmetic)
        d = self.terms.perceived_eci(true_eci, benchmark_eci)[self.seg]
        d -= self.need_eci
        u = np.multiply(d, self.surplus_w)  # surplus_w x d, and shortfall_w in place of it below need:
        np.minimum(d, 0.0, out=d)
        d *= self.shortfall_w - self.surplus_w
        u += d
        u += self.terms.cell_utility(market)[self.cell]  # affinity, price, co-ownership (F12, F14)
        u += self.trust_and_control[:, 2 * market.bloc + market.is_open]  # origin trust, control (F13, F17)
        return u

    @cached_property
    def trust_and_control(self) -> np.ndarray:
        """(n, B x 2): each adopter's utility from a bloc's closed model (column 2b: its trust in bloc b) and
        from its open weights (column 2b + 1: that trust at ``open_trust_weight``, plus control)."""
        n, n_blocs = self.trust.shape
        by_kind = np.empty((n, n_blocs, 2))
        by_kind[:, :, 0] = self.trust
        np.multiply(self.trust, self.terms.open_trust_weight, out=by_kind[:, :, 1])
        by_kind[:, :, 1] += self.control
        return by_kind.reshape(n, 2 * n_blocs)

    def rows(self, sel: np.ndarray) -> Adopters:
        """The adopters at positions ``sel`` of this block."""
        keep = ("tick", "terms")
        return Adopters(
            **{
                f.name: getattr(self, f.name)[sel] if f.name not in keep else getattr(self, f.name)
                for f in fields(self)
            }
        )

    @cached_property
    def segment_onehot(self) -> np.ndarray:
        """(S, n) bool: adopter i is in segment s (kept with the block)."""
        return self.seg[None, :] == np.arange(self.terms.true_w.size)[:, None]


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
        self.segment = rng.permutation(_counts_to_labels([s.adopter_share for s in segs], n))
        self.region = rng.permutation(_counts_to_labels([r.adopter_share for r in regs], n))
        self.cell = self.segment * len(regs) + self.region  # (segment, region) cell, ``SegmentTerms``
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
        self.need_growth = pick("need_growth_eci_per_month")
        self.reconsider_rate = pick("reconsider_rate_per_month")
        self.reconsider_rate_of_adopter = self.reconsider_rate[seg]
        self.consider_k = pick("consideration_size").astype(int)
        self.open_only = pick("open_only").astype(bool)
        self.demanding = pick("demanding").astype(bool)
        self.usage_growth = pick("usage_growth_per_year")
        self.ban_penalty = pick("ban_penalty")
        self.terms = SegmentTerms(
            true_w=pick("true_capability_weight"),
            price_sens=pick("price_sensitivity"),
            ownership_value=pick("ownership_value"),
            open_only=self.open_only,
            n_regions=len(regs),
            open_trust_weight=scenario.world.open_trust_weight,
        )
        self._block_cache: Adopters | None = None
        # utility of using no model (the outside option); -inf where a segment has none
        self.outside_utility = np.array(
            [-np.inf if s.outside_utility is None else s.outside_utility for s in segs], dtype=float
        )

    # -- the choice step -----------------------------------------------------------------------------
    def access(self, market: Market) -> np.ndarray:
        """(cells, L) bool: row ``cell[i]`` holds the offerings adopter i can use at all. Access depends only
        on the (segment, region) cell, so it is a small table instead of an (N, L) matrix."""
        return self.terms.access(market)

    def can_use(self, access: np.ndarray, who: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Bool per adopter of ``who``: it has a model and may use it (``access`` from :meth:`access`)."""
        # a column of False in front stands for "no model" (choice -1), so one flat lookup answers both
        padded = np.zeros((access.shape[0], access.shape[1] + 1), dtype=bool)
        padded[:, 1:] = access
        return padded.ravel()[self.cell[who] * padded.shape[1] + self.choice[who] + 1]

    def block(self, idx: np.ndarray, tick: int) -> Adopters:
        """The per-adopter terms of utility for adopters ``idx`` at ``tick``."""
        seg = self.segment[idx]
        return Adopters(
            idx=idx,
            tick=tick,
            seg=seg,
            region=self.region[idx],
            cell=self.cell[idx],
            need_eci=(self.need0_eci[idx] + self.need_growth[seg] * tick)[:, None],
            shortfall_w=self.shortfall_w[seg][:, None],
            surplus_w=self.surplus_w[seg][:, None],
            control=self.control[idx][:, None],
            trust=self.trust[idx],
            ban_penalty=self.ban_penalty[seg],
            terms=self.terms,
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
        access = self.access(market)
        voluntary = np.flatnonzero(rng_voluntary.random(self.n) < self.reconsider_rate_of_adopter)
        self._decide(voluntary, market, access, tick, rng_voluntary, world)
        forced = np.flatnonzero(~self.can_use(access) & ~self.opted_out)
        self._decide(forced, market, access, tick, rng_forced, world)
        self.usage_mtok = self.base_usage_mtok * (self.usage_growth ** (tick / 12))[self.segment]

    def _decide(
        self, idx: np.ndarray, market: Market, access: np.ndarray, tick: int, rng: np.random.Generator, world
    ) -> None:
        """Adopters ``idx`` draw a consideration set and choose (``access`` from :meth:`access`)."""
        if idx.size == 0:
            return
        n, n_labs = idx.size, market.available.size
        block = self.block(idx, tick)
        seg = block.seg
        # The noise, from one stream: the outside option's first, then lab by lab each adopter's consideration
        # and utility draws, so a scenario that adds a lab at the end of the roster leaves every other lab's
        # noise unchanged (common random numbers).
        outside_noise = gumbel(rng, n)
        consider_noise, utility_noise = np.ascontiguousarray(gumbel(rng, (n_labs, 2, n)).transpose(1, 2, 0))
        # Consideration set: Gumbel-top-k on log(popularity^gamma * recency boost) + affinity (F4).
        # segment affinity also draws attention: a sovereign buyer looks at its own consortium's model (F12);
        # the terms are summed per (segment, region) cell, -inf where the cell has no access, then spread
        by_segment = (
            np.log(self.popularity**world.popularity_exponent + world.popularity_floor)
            + np.log(world.recency_boost) * market.recent[None, :]
            + market.affinity
        )
        weight = self.terms.by_cell(by_segment, market)
        weight[~access] = -np.inf
        score = weight[block.cell]
        score += consider_noise
        k = np.minimum(self.consider_k[seg], n_labs)
        threshold = np.sort(score, axis=1)[np.arange(n), n_labs - k]  # each adopter's k-th best score
        # an adopter with fewer than k usable offerings considers all of them, and nothing it cannot use
        left_out = score < np.maximum(threshold, np.finfo(float).min)[:, None]
        cur = self.choice[idx]
        cur_ok = self.can_use(access, idx)  # the current model is always in view
        rows = np.flatnonzero(cur_ok)
        left_out[rows, cur[rows]] = False
        # Utility (F3, F8, F12, F14): perceived capability against need, price, control, trust, affinity.
        utility = self._block_utility(block, market)
        utility += utility_noise
        utility[left_out] = -np.inf
        best = np.argmax(utility, axis=1)
        best_u = utility[np.arange(n), best]
        new = np.where(np.isfinite(best_u), best, NONE)
        outside = self.outside_utility[seg]
        none = np.isfinite(outside)  # the outside option: use no model for the task
        if none.any():
            outside_u = outside + outside_noise
            none &= outside_u > best_u
            new[none], best_u[none] = NONE, outside_u[none]
        if rows.size:
            gain = best_u[rows] - utility[rows, cur[rows]]
            stay = rows[gain <= self.switching_cost[idx[rows]]]
            new[stay] = cur[stay]
            none[stay] = False
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
        u[~self.access(market)[block.cell]] = -np.inf
        return u

    def expected_usage_mtok(self, idx: np.ndarray, utility: np.ndarray, tick: int) -> np.ndarray:
        """(S, L) usage each offering can expect from each segment's adopters among ``idx`` in a settled
        market, scaled to the whole population: each adopter's usage this month split by logit choice
        probabilities over ``utility`` (n, L) (from :meth:`research_utility`; the choice step's unit Gumbel
        noise), with the outside option where its segment has one. Labs' market research (release strategy):
        it ignores consideration sets and switching costs. A stack of utilities (K, n, L), one market per
        offer, gives (K, S, L)."""
        utility = np.ascontiguousarray(np.swapaxes(utility, -1, -2))  # (..., L, n)
        outside = self.outside_utility[self._cached_block(idx, tick).seg]
        top = np.maximum(utility.max(axis=-2), outside)
        top[~np.isfinite(top)] = 0.0  # nothing usable and no outside option: no weight anywhere, no usage
        return self.expected_usage_of_weights(
            idx, np.exp(utility - top[..., None, :]), np.exp(outside - top), tick
        )

    def logit_weights(
        self, idx: np.ndarray, tick: int, *utilities: np.ndarray
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """exp(utility - shift) of each of ``utilities`` (..., n), and of the outside option (n,), with one shift
        per adopter of ``idx`` (the largest of them all): any market made of these rows has logit weights read
        from them, so a survey of many markets takes one exponential per row, not per market."""
        outside = self.outside_utility[self._cached_block(idx, tick).seg]
        shift = np.max(
            [outside, *(u.reshape(-1, u.shape[-1]).max(axis=0, initial=-np.inf) for u in utilities)], axis=0
        )
        shift[~np.isfinite(shift)] = 0.0  # nothing usable and no outside option: no weight anywhere
        return [np.exp(u - shift) for u in utilities], np.exp(outside - shift)

    def expected_usage_of_weights(
        self, idx: np.ndarray, weights: np.ndarray, outside_weight: np.ndarray, tick: int
    ) -> np.ndarray:
        """:meth:`expected_usage_mtok` from logit weights (..., L, n) (offerings first, adopters last, so the
        reductions over a few offerings run along rows of adopters) and the outside option's (n,) or (..., n):
        (..., S, L)."""
        block = self._cached_block(idx, tick)
        total = weights.sum(axis=-2) + outside_weight
        usage = np.broadcast_to(
            self.base_usage_mtok[idx] * self.usage_growth[block.seg] ** (tick / 12), total.shape
        )
        per_adopter = np.divide(usage, total, out=np.zeros(total.shape), where=total > 0)
        onehot = block.segment_onehot  # (S, n)
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
        key = self.cell * n_l + lab  # cell = segment x R + region
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
