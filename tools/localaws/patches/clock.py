"""The fast clock, moto's and botocore's side: Wait states, Retry ``IntervalSeconds``, the
``.sync`` integrations' 0.5 s poll and botocore's retry back-off sleep for real; here they
advance the simulation's virtual clock (``VirtualClock``), so a rehearsal takes seconds.

The layer's own reading of the time is patched apart, in ``layer_clock``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Any

from tools.localaws.patches.core import Patcher, Target
from tools.localaws.simulation import Simulation

_SFN = "moto.stepfunctions.parser.asl.component"

WAIT_INTERVAL = Target(
    "wait_interval",
    f"{_SFN}.state.wait.wait_function.wait_function:WaitFunction._wait_interval",
    "(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment, "
    "wait_seconds: int) -> None",
    "fast clock: Wait states really wait",
)
RETRIER_TIME = Target(
    "retrier_time",
    f"{_SFN}.common.retry.retrier_decl:time",
    None,
    "fast clock: Retry IntervalSeconds really sleeps",
)
SYNC_POLL_TIME = Target(
    "sync_poll_time",
    f"{_SFN}.state.exec.state_task.service.state_task_service_callback:time",
    None,
    "fast clock: .sync integrations poll every 0.5 s, however long the job runs",
)
BOTOCORE_ENDPOINT_TIME = Target(
    "botocore_endpoint_time",
    "botocore.endpoint:time",
    None,
    "fast clock: botocore's retry back-off really sleeps",
)


class ClockTime:
    """Stands in for the ``time`` module where moto or botocore sleep: sleeping advances the
    simulation's virtual clock and yields the thread for a moment instead of blocking."""

    def __init__(self, clock: Any, real_pause: float) -> None:
        self._clock = clock
        self._real_pause = real_pause

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)
        _time.sleep(self._real_pause)

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


class SyncPollTime(ClockTime):
    """Stands in for the ``time`` module of the ``.sync`` integrations' poll: each 0.5 s
    pause skips on to the next time something is due to change (``VirtualClock.
    sleep_until_change``: a job attempt ends, an alarm is due), so polling a job that runs
    for hours, or waits a day ``RUNNABLE``, costs a few polls instead of thousands.

    Except beside another branch of a Parallel state (``beside_other_work``: the job's
    watchdog, RunJobWithDeadline): that branch acts on the clock too (a job not started in
    time is terminated), so the poll may not skip past it; it steps its own 0.5 s."""

    def __init__(
        self, clock: Any, real_pause: float, beside_other_work: Callable[[], bool] | None = None
    ) -> None:
        super().__init__(clock, real_pause)
        self._beside_other_work = beside_other_work

    def sleep(self, seconds: float) -> None:
        if self._beside_other_work is not None and self._beside_other_work():
            self._clock.sleep(seconds)
        else:
            self._clock.sleep_until_change(seconds)
        _time.sleep(self._real_pause)


def patch_fast_clock(patcher: Patcher, sim: Simulation) -> None:
    """Fast clock: Wait states, Retry ``IntervalSeconds``, the ``.sync`` 0.5 s poll and
    botocore's retry back-off sleep for real in moto; a rehearsal should take seconds.

    Every one of them advances the simulation's virtual clock instead (``VirtualClock``);
    the ``.sync`` poll on to the next milestone (``SyncPollTime``).
    """

    def build_wait(original: Any) -> Callable[..., None]:
        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            # An alarm on the way may stop the execution (abortAt): the Wait ends there.
            sim.clock.sleep(wait_seconds, interrupted=lambda: not env.is_running())
            env.program_state_event.wait(0.001)

        return wait_interval

    patcher.replace(WAIT_INTERVAL, build_wait)
    patcher.replace(RETRIER_TIME, lambda original: ClockTime(sim.clock, 0.001))
    patcher.replace(
        SYNC_POLL_TIME,
        lambda original: SyncPollTime(sim.clock, 0.005, sim.beside_other_branches),
    )
    patcher.replace(BOTOCORE_ENDPOINT_TIME, lambda original: ClockTime(sim.clock, 0.0))


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher`` for ``sim``."""
    patch_fast_clock(patcher, sim)
