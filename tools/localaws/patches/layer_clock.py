"""The fast clock, the layer's side: the product's modules read the time themselves
(``batchscratch.run`` and ``batchscratch.metrics`` call ``datetime.now``, the reaper calls
``sleep``), so the rehearsal replaces those names in them. Installed once the layer is
importable (``LocalAws.deploy``), apart from the other patches.

Kept in a module of its own because it patches the product, not moto: once the layer reads
the time through a clock of its own, that clock is what the rehearsal sets, and this module
goes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tools.localaws.patches.clock import ClockTime
from tools.localaws.patches.core import Patcher, Target
from tools.localaws.simulation import Simulation

RUN_DATETIME = Target(
    "layer_datetime",
    "batchscratch.run:datetime",
    None,
    "fast clock: the layer measures pending time with datetime.now",
)
METRICS_DATETIME = Target(
    "layer_metrics_datetime",
    "batchscratch.metrics:datetime",
    None,
    "fast clock: the drain check reads the time with datetime.now",
)
REAP_SLEEP = Target(
    "layer_reap_sleep",
    "batchscratch.reap:sleep",
    None,
    "fast clock: the reaper pauses between passes",
)


def patch_layer_clock(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock, the layer's side: ``batchscratch.run`` and ``batchscratch.metrics`` (the
    drain check's "now") read the time through a ``datetime`` that adds the skipped
    seconds, and the reaper's pause between passes
    (``batchscratch.reap.sleep``) is a virtual sleep. A handler that measures how long
    something has been pending then sees the time a real run would have taken, and its
    timeout errors fire as they would.
    """

    class VirtualDatetime(datetime):
        """``datetime`` whose ``now()`` runs on the simulation's virtual clock."""

        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(seconds=sim.clock.offset)

    patcher.replace(RUN_DATETIME, lambda original: VirtualDatetime)
    patcher.replace(METRICS_DATETIME, lambda original: VirtualDatetime)
    patcher.replace(REAP_SLEEP, lambda original: ClockTime(sim.clock, 0.001).sleep)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim`` (the layer must be
    importable)."""
    patch_layer_clock(patcher, sim)
