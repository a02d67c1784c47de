"""Every change to moto's internals (moto is pinned at exactly 5.2.5), one module per service.

Gaps that need no change to moto are worked around beside what they serve, not here:
``tools/localaws/stack.py`` (the template's ``Rules``, which moto's CloudFormation ignores; the
defaults of list parameters; CloudFormation's error answers, which moto sends as JSON) and
``tools/localaws/constraints.py`` (the request checks AWS makes and moto does not).

Each module replaces a few moto internals for the duration of a ``Patcher`` and says in its
docstrings which of moto's gaps each replacement covers. Beside the code that replaces or
calls an internal, the module declares it as a ``Target``, with the signature the code was
written against; ``TARGETS`` collects every declaration, and
tests/e2e/test_localaws_canary.py compares each with the installed moto, so an upgrade that
changes one fails loudly instead of silently breaking the rehearsal.

- ``core``: ``Target``, ``Patcher``, the active simulation, ``MOTO_VERSION``.
- ``awslambda``: handlers run in-process instead of in Docker (gap 3).
- ``cloudformation``: a resource model for ``AWS::SecretsManager::Secret`` (gap 1), JSON
  template bodies read as JSON, and list parameters shown by DescribeStacks as text.
- ``stepfunctions``: state machines CloudFormation creates (gap 2), ``batch:submitJob.sync``
  (gap 4), Fail states, StopExecution, and the rehearsal's hooks in the interpreter.
- ``batch``: jobs on the virtual clock (RUNNABLE time, attempt durations, the retry strategy,
  job timeouts, array children; gap 5), compute environment and job queue lifecycles, the
  service role (gap 8).
- ``ec2``: EBS volume and snapshot lifecycles on the virtual clock, a volume held by its
  instance, DetachVolume by volume id (gap 7), CreateVolume's ClientToken.
- ``events``: EventBridge rules invoke their Lambda targets.
- ``throttling``: a scenario's throttled calls and error answers, at moto's request entry point.
- ``fsx``: FSx for Lustre (gap 6): lifecycle, data repository associations and tasks.
- ``cloudwatch``: the AutoExport queue metric, and ``StartTime`` rounded as CloudWatch does.
- ``clock``: the fast clock of moto and botocore (Wait, Retry, ``.sync`` polls, back-off).
- ``layer_clock``: the fast clock of the product's own modules, installed after the deploy
  (``LocalAws.deploy``) because it needs the layer importable.

The patches read the scripted behaviour from the active ``Simulation`` (``activate``); with
no simulation active they behave as moto does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tools.localaws.patches import (
    awslambda,
    batch,
    clock,
    cloudformation,
    cloudwatch,
    ec2,
    events,
    fsx,
    layer_clock,
    stepfunctions,
    throttling,
)
from tools.localaws.patches.core import (
    MOTO_VERSION,
    Patcher,
    Target,
    active_simulation,
    declared,
    playing,
)
from tools.localaws.simulation import Simulation

__all__ = [
    "MOTO_VERSION",
    "SERVICES",
    "TARGETS",
    "Patcher",
    "Target",
    "activate",
    "active_simulation",
    "install",
    "layer_clock",
]

SERVICES = (
    awslambda,
    cloudformation,
    stepfunctions,
    batch,
    ec2,
    events,
    throttling,
    clock,
    fsx,
    cloudwatch,
)
"""The modules ``activate`` installs, in this order (``layer_clock`` comes later)."""

TARGETS: dict[str, Target] = declared(*SERVICES, layer_clock)
"""Every moto (and product) internal a patch replaces or relies on, by name."""


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install the patches of every module of ``SERVICES`` on ``patcher`` for ``sim``."""
    for module in SERVICES:
        module.install(patcher, sim)


_ACTIVATION_LOCK = threading.Lock()


@contextmanager
def activate(sim: Simulation) -> Iterator[Patcher]:
    """Install every patch and make ``sim`` the simulation they play, for one block.

    Yields the ``Patcher``, for patches that can only be installed later
    (``layer_clock.install``); it restores them with the rest.
    """
    if not _ACTIVATION_LOCK.acquire(blocking=False):
        raise RuntimeError("another rehearsal is already running in this process")
    try:
        with Patcher() as patcher:
            install(patcher, sim)
            with playing(sim):
                yield patcher
    finally:
        _ACTIVATION_LOCK.release()
