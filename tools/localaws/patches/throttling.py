"""Throttling, a rehearsal hook: the scenario's first calls of an operation are answered with
the service's throttling error before moto sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.localaws.hooks import service_key, throttle_response
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import Simulation

STUBBER_CALL = Target(
    "stubber_call",
    "moto.core.botocore_stubber:BotocoreStubber.__call__",
    "(self, event_name: str, request: botocore.awsrequest.AWSPreparedRequest, **kwargs: Any) "
    "-> botocore.awsrequest.AWSResponse | None",
    "rehearsal: throttle a scenario's first calls before moto handles them",
)


def patch_throttling(patcher: Patcher) -> None:
    """Rehearsal hook: the first N calls of a scenario's ``"service:Operation"`` get the
    service's throttling error (``hooks.throttle_response``) instead of reaching moto.

    Lives at moto's request entry point (every botocore client in the process passes
    there), so the SDK's retries, the handlers and the state machine's ``Retry`` all see
    the throttling as they would in AWS, and a throttled call changes nothing.
    """

    def build(original: Any) -> Callable[..., Any]:
        def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            sim = active_simulation()
            if self.enabled and sim is not None and sim.throttle:
                _, service_id, operation = [*event_name.split("."), "", ""][:3]
                service = service_key(service_id)
                if sim.take_throttle(f"{service}:{operation}"):
                    return throttle_response(service, request)
            return original(self, event_name, request, **kwargs)

        return call

    patcher.replace(STUBBER_CALL, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_throttling(patcher)
