"""The Lambda invocation faults a scenario scripts (``aws.lambda``), and the record of each one
the rehearsal played.

Plain Python, no moto: ``invoke`` asks which fault an invocation meets and records it here;
the rehearsal reads the records afterwards (``lambda_faults``). An invocation is numbered per
function (its logical id in template.yaml), from 1, in the order the rehearsal runs them,
whoever invokes it: the state machine's ``lambda:invoke`` tasks and their retries, an
EventBridge delivery and its retries, a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from tools.localaws.simulation import Simulation

Fault = Literal["timeout", "duplicate", "lostResponse"]
FAULTS: tuple[Fault, ...] = ("timeout", "duplicate", "lostResponse")
"""The fault kinds, as the keys of ``behaviour.Invocations`` name them."""


@dataclass(frozen=True)
class LambdaFault:
    """One Lambda invocation that met a scripted fault.

    - ``timeout``: the handler ran to its end (its side effects happened), the invocation
      took the function's configured ``Timeout`` and answered ``Sandbox.Timedout``;
    - ``duplicate``: the handler ran twice with the same event, the caller got the second
      answer;
    - ``lostResponse``: the handler ran, its answer was lost; the caller got Lambda's
      ``ServiceException`` (HTTP 500).
    """

    function: str
    """The function's logical id in template.yaml (``ReleaseRunFunction``)."""
    number: int
    """Which invocation of that function it was (1-based, in this rehearsal)."""
    fault: Fault
    execution: str | None
    """The Step Functions execution the invocation worked for (``None``: not known)."""
    at: float
    """When the invocation started, in epoch seconds on the virtual clock."""


def lambda_faults(sim: Simulation) -> list[LambdaFault]:
    """The faults ``sim``'s rehearsal played so far, in the order they happened.

    Kept on the simulation object itself (``lambda_faults`` attribute), so each rehearsal
    starts with none.
    """
    return cast(list[LambdaFault], vars(sim).setdefault("lambda_faults", []))


def planned_fault(sim: Simulation, function: str, number: int) -> Fault | None:
    """The fault the scenario scripts for invocation ``number`` of ``function`` (a logical
    id), or ``None``: it runs as usual. Nothing is planned while ``sim.enabled`` is False
    (the rehearsal inspecting its results)."""
    plan = sim.behaviour.functions.get(function)
    if plan is None or not sim.enabled:
        return None
    for fault in FAULTS:
        if number in getattr(plan, fault):
            return fault
    return None


def record_fault(sim: Simulation, fault: LambdaFault) -> None:
    """Record a fault the rehearsal played (``lambda_faults``)."""
    lambda_faults(sim).append(fault)
