"""The fast clock, the layer's side: the product reads the time and pauses only through
``batchscratch.clock`` (``now``, ``sleep``), so the rehearsal replaces those two. Installed
once the layer is importable (``LocalAws.deploy``), apart from the patches of moto.
"""

from __future__ import annotations

from datetime import timedelta

from tools.localaws.patches.clock import ClockTime
from tools.localaws.patches.core import Patcher, Target
from tools.localaws.simulation import Simulation

NOW = Target(
    "layer_clock_now",
    "batchscratch.clock:now",
    "() -> datetime.datetime",
    "fast clock: the layer measures pending time and the drain window with clock.now",
)
SLEEP = Target(
    "layer_clock_sleep",
    "batchscratch.clock:sleep",
    "(seconds: float) -> None",
    "fast clock: clock.sleep, the layer's one way to pause (no handler pauses today: the "
    "release workflow waits between passes in Wait states)",
)


def patch_layer_clock(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock, the layer's side: ``batchscratch.clock.now`` adds the seconds the
    simulation skipped, and ``batchscratch.clock.sleep`` is a virtual sleep. A handler that
    measures how long something has been pending then sees the time a real run would have
    taken, and its timeout errors fire as they would.
    """

    def build_now(original: object) -> object:
        def now() -> object:
            return original() + timedelta(seconds=sim.clock.offset)  # type: ignore[operator]

        return now

    patcher.replace(NOW, build_now)
    patcher.replace(SLEEP, lambda original: ClockTime(sim.clock, 0.001).sleep)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim`` (the layer must be
    importable)."""
    patch_layer_clock(patcher, sim)
