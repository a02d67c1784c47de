"""The fast clock, the layer's side: the product reads the time and pauses only through
``batchscratch.clock`` (``now``, ``sleep``), so the rehearsal replaces those two. Installed
once the layer is importable (``LocalAws.deploy``), apart from the patches of moto.
"""

from __future__ import annotations

import time
from datetime import timedelta

from tools.localaws.invoke import INVOCATION_LOCK, invocation_paused
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
    "fast clock: clock.sleep, the layer's one way to pause (a check step's watch pauses "
    "between its looks, batchscratch.polling.watch)",
)

STEP_SECONDS = 0.5
"""How far a watch's pause moves the clock at a time beside another Parallel branch."""
REAL_PAUSE_SECONDS = 0.0005
"""The real time each step of such a pause yields to the other branch's thread."""


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

    jump = ClockTime(sim.clock, 0.001).sleep

    def sleep(seconds: float) -> None:
        # Beside another branch of a Parallel state (AfterJob's compute cleanup and storage
        # stages) both handlers watch at once in AWS: the pause lets the other branch's
        # invocations run and moves the clock in small steps, so that neither waits for the
        # other's watch to end. Elsewhere it skips the pause in one step.
        if not sim.beside_other_branches():
            jump(seconds)
            return
        until = sim.clock.now() + max(0.0, float(seconds))
        with invocation_paused(sim):
            while sim.clock.now() < until:
                with INVOCATION_LOCK:
                    sim.clock.advance(min(STEP_SECONDS, until - sim.clock.now()))
                time.sleep(REAL_PAUSE_SECONDS)

    patcher.replace(NOW, build_now)
    patcher.replace(SLEEP, lambda original: sleep)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim`` (the layer must be
    importable)."""
    patch_layer_clock(patcher, sim)
