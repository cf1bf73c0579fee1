"""Released open weights that outlive their lab's openness: a lab that turns closed cannot recall them (F9).

When an open lab turns closed (it chooses to at a release, its pinned ``ban_response`` is ``close`` and a ban
binds, or an event sets its ``release_policy`` to ``closed``), its last open release stays downloadable. An
:class:`OpenWeights` agent stands for that release from the tick the lab first closes (created then, by
``EcosystemModel.release_open_weights``; a lab that reopens and closes again updates the same entry): an open
model with frozen capability, priced at inference cost, from the lab's bloc, with the lab's segment
affinities. The lab's adopters at that moment keep running the weights they have (they move to this entry)
and leave it only as they reconsider, like any adopter. It earns its lab nothing and does not train.

It is a market entry, not a lab: the model's ``offerings`` are its labs, then these entries; labs' verbs
(finance, training, release) never run on it. It carries the same reported attributes as a lab (zeros for
money and compute) so the per-lab table has one row per entry and tick from its creation, ``kind`` telling
them apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import strategy

if TYPE_CHECKING:
    from ..model import EcosystemModel
    from .lab import Lab, Release

KIND = "open_weights"


class OpenWeights(mesa.Agent):
    """The last open release of ``source``, on the market from the tick ``source`` turns closed."""

    model: EcosystemModel
    kind = KIND

    def __init__(self, model: EcosystemModel, source: Lab, index: int):
        super().__init__(model)
        self.source = source
        self.name = f"{source.name}_open_weights"
        self.index = index  # column in the adopter arrays, after every lab's
        self.frozen: Release | None = None  # the source's release these weights are; None: not out yet
        self.is_open = True
        self.release_option = strategy.OPEN
        self.capability_true_eci = self.capability_benchmark_eci = 0.0
        self.legal_true_eci = self.legal_benchmark_eci = 0.0
        self.internal_capability_eci = 0.0
        self.new_model_tick = -(10**6)  # never "recent"
        # reported like a lab's; weights have no money, compute or training of their own
        self.compute_flop_per_month = self.training_flop = 0.0
        self.know_how_eci = self.training_efficiency = 0.0
        self.cash_usd = self.runway_months = 0.0
        self.revenue_usd = self.raised_usd = self.compute_spend_usd = 0.0
        self.costs_usd = self.subsidy_received_usd = 0.0
        self.build_limited = False
        self.patron_support = 0.0
        self.serving_cost = self.price = 1.0  # placeholder until out (keeps log(price) finite); set_price
        self.users = 0
        self.usage_mtok = 0.0
        self.demanding_usage_share = 0.0
        self.users_by_segment = np.zeros(len(model.params.adopters.segments), dtype=np.int64)

    @property
    def bloc(self) -> str:
        return self.source.bloc

    @property
    def active(self) -> bool:
        """On the market: released weights stay out there whatever becomes of their lab."""
        return self.frozen is not None

    @property
    def segment_affinity(self) -> dict[str, float]:
        return self.source.segment_affinity

    @property
    def owners(self) -> list[str]:
        return self.source.owners

    def price_usd_per_mtok(self) -> float:
        """Open weights are served at serving cost (F14)."""
        return self.price

    def set_price(self, best_open_true_eci: float) -> None:
        """Serving cost of the frozen release this month (it falls as serving gets cheaper, F14)."""
        if self.frozen is not None:
            self.serving_cost = self.price = self.model.serving_cost_usd_per_mtok(self.frozen.training_flop)

    def due(self) -> bool:
        """True on the tick its lab has turned closed after serving a model as open weights that these
        weights are not yet (a lab reopened by an event and closed again leaves its newer one). Also when
        the lab runs out of cash in the month it closes: the weights were out before."""
        src = self.source
        release = src.last_open_release
        return src.entered and not src.is_open and release is not None and release is not self.frozen

    def take_over(self) -> None:
        """Put the source's last open release on the market, frozen: true and benchmark capability and,
        under a ban, the version complying adopters may use (weights released before a ban stay legal, F9)."""
        release = self.source.last_open_release
        if release is None:  # never released anything open: nothing to leave behind
            return
        self.frozen = release
        self.capability_true_eci = self.internal_capability_eci = release.true_eci
        self.capability_benchmark_eci = release.benchmark_eci
        self.legal_true_eci = release.legal_true_eci
        self.legal_benchmark_eci = release.legal_benchmark_eci
        self.new_model_tick = release.tick

    def record_usage(self) -> None:
        """Labs keep a usage history for investors; weights have none."""
