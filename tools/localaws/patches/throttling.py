"""Throttling and error answers, a rehearsal hook: the calls a scenario's ``aws.throttle`` and
``aws.errors`` windows pick are answered with the service's throttling error, or the error
the window names, before moto sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.localaws.behaviour import ErrorWindow, error_codes, service_model
from tools.localaws.hooks import error_response, request_protocol, service_key, throttle_response
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
    """Rehearsal hook: a call that a scenario's window picks (``Simulation.take_fault``) gets
    the service's throttling error (``hooks.throttle_response``) or the window's error code,
    with the HTTP status the service model gives it, instead of reaching moto.

    Lives at moto's request entry point (every botocore client in the process passes
    there), so the SDK's retries, the handlers and the state machine's ``Retry`` all see
    the answer as they would in AWS, and a refused call changes nothing. An error answer is
    recorded as a refusal, so the trace shows it.
    """

    def build(original: Any) -> Callable[..., Any]:
        def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            sim = active_simulation()
            if self.enabled and sim is not None:
                _, service_id, operation = [*event_name.split("."), "", ""][:3]
                service = service_key(service_id)
                window = sim.take_fault(f"{service}:{operation}")
                if isinstance(window, ErrorWindow):
                    status, default = error_codes(f"{service}:{operation}")[window.code]
                    message = window.message or default
                    model = service_model(service)
                    name = str(model.service_id) if model is not None else service_id  # type: ignore[attr-defined]
                    sim.record_refusal(operation, window.code, message, service=name)
                    headers = {k.lower(): v for k, v in request.headers.items()}
                    content_type = headers.get("content-type")
                    return error_response(
                        request_protocol(service, request),
                        request.url,
                        window.code,
                        status,
                        message,
                        content_type=content_type.decode()
                        if isinstance(content_type, bytes)
                        else content_type,
                        request_id="rehearsal-error",
                    )
                if window is not None:
                    return throttle_response(service, request)
            return original(self, event_name, request, **kwargs)

        return call

    patcher.replace(STUBBER_CALL, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_throttling(patcher)
