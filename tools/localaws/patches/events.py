"""EventBridge: moto's rules deliver to SQS, logs and buses, never to a Lambda function; here
a matching rule invokes its Lambda targets as EventBridge does (StartRelease hears the
execution's end). A schedule rule hears no event on the bus."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.events.utils import EventTemplateParser

from tools.localaws.patches.awslambda import LambdaServiceException
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import Simulation

GAP = "EventBridge rules do not invoke Lambda targets"

SEND_TO_TARGETS = Target(
    "events_send_to_targets",
    "moto.events.models:Rule.send_to_targets",
    "(self, original_event: 'EventMessageType', transform_input: 'bool' = True) -> 'None'",
    GAP,
)
PATTERN_MATCHES = Target(
    "event_pattern_matches",
    "moto.events.models:EventPattern.matches_event",
    "(self, event: 'EventMessageType') -> 'bool'",
    GAP,
    replaced=False,
)
TEMPLATE_PARSER = Target(
    "events_template_parser",
    "moto.events.utils:EventTemplateParser.parse",
    "(input_template: str, input_paths_map: dict[str, typing.Any], event: "
    "moto.events.utils.EventMessageType) -> dict[str, typing.Any]",
    GAP,
    replaced=False,
)
LAMBDA_GET_BACKEND = Target(
    "lambda_get_backend",
    "moto.awslambda.utils:get_backend",
    "(account_id: str, region: str) -> 'LambdaBackend'",
    GAP,
    replaced=False,
)
LAMBDA_BACKEND_INVOKE = Target(
    "lambda_backend_invoke",
    "moto.awslambda.models:LambdaBackend.invoke",
    "(self, function_name: 'str', qualifier: 'str | None', body: 'Any', headers: 'Any', "
    "response_headers: 'Any') -> 'str | bytes | None'",
    GAP,
    replaced=False,
)


@dataclass
class Delivery:
    """One EventBridge delivery of an event to a Lambda target."""

    rule: str
    function: str
    event: str
    """The payload sent."""
    attempts: int
    errored: bool
    result: str
    """What the last attempt returned."""


FUNCTION_ERROR_WAITS = (60.0, 120.0)
"""Virtual seconds Lambda waits before the second and the third attempt of an asynchronous
invocation whose function errored, a timeout included (AWS Lambda Developer Guide, "How
Lambda handles errors and retries with asynchronous invocation")."""
SYSTEM_ERROR_FIRST_WAIT = 1.0
SYSTEM_ERROR_MAX_WAIT = 300.0
MAX_EVENT_AGE_SECONDS = 6 * 3600.0
"""After a system error (HTTP 5xx, e.g. a lost answer) Lambda puts the event back in its
queue and tries again, 1 s later at first, doubling up to 5 minutes, for up to 6 hours
(same page); those attempts do not count among the two retries of function errors."""
MAX_ASYNC_ATTEMPTS = len(FUNCTION_ERROR_WAITS) + 1
"""Lambda's asynchronous invocation: the first attempt and two retries (the default)."""


def deliver(sim: Simulation, invoke: Callable[[], tuple[str, bool]]) -> tuple[int, bool, str]:
    """Run one asynchronous invocation as Lambda's event queue does; return ``(attempts,
    errored, last result)``.

    ``invoke`` makes one attempt and returns ``(result, errored)``, or raises
    ``LambdaServiceException`` when the attempt's answer is lost. Waits between attempts
    pass on the virtual clock (``FUNCTION_ERROR_WAITS``, ``SYSTEM_ERROR_FIRST_WAIT``).
    """
    attempts, function_errors, system_wait = 0, 0, SYSTEM_ERROR_FIRST_WAIT
    queued = sim.clock.now()
    while True:
        attempts += 1
        try:
            result, errored = invoke()
        except LambdaServiceException as error:
            result, errored = f"{error.error_type}: {error.message}", True
            if sim.clock.now() + system_wait - queued > MAX_EVENT_AGE_SECONDS:
                return attempts, errored, result
            sim.clock.sleep(system_wait)
            system_wait = min(system_wait * 2, SYSTEM_ERROR_MAX_WAIT)
            continue
        if not errored or function_errors == MAX_ASYNC_ATTEMPTS - 1:
            return attempts, errored, result
        sim.clock.sleep(FUNCTION_ERROR_WAITS[function_errors])
        function_errors += 1


def patch_eventbridge_lambda_targets(patcher: Patcher) -> None:
    """EventBridge rules in moto deliver to SQS, logs and buses, never to a Lambda function.

    A matching ENABLED rule now invokes its Lambda targets the way EventBridge does:
    asynchronously (``deliver``: an errored invocation is retried up to twice, one and then
    two virtual minutes later; one whose answer is lost is tried again until it gets one),
    with the event (or the target's ``Input``, ``InputPath`` or ``InputTransformer``
    result) as payload, ``time`` in ISO 8601. Each delivery is recorded in the simulation.

    A rule without an ``EventPattern`` (a schedule: StartRelease's daily sweep) matches no
    event put on the bus; moto matched every event to it. Rules with an EventPattern are
    triggered by matching events, rules with a ScheduleExpression by their schedule
    (EventBridge API Reference, PutRule); the rehearsal plays no schedule.
    """

    def build(original: Any) -> Callable[..., None]:
        def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
            targets = self.targets
            self.targets = [t for t in targets if ":lambda:" not in t["Arn"]]
            try:
                original(self, original_event, transform_input)  # the targets moto supports
            finally:
                self.targets = targets
            sim = active_simulation()
            if sim is None or getattr(self, "state", "ENABLED") != "ENABLED":
                return
            pattern = self.event_pattern.get_pattern()
            if not pattern or not self.event_pattern.matches_event(original_event):
                return
            event = dict(original_event)
            event.pop("ingestion-time", None)
            if isinstance(event.get("time"), (int, float)):
                event["time"] = datetime.fromtimestamp(event["time"], tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            backend = get_lambda_backend(self.account_id, self.region_name)

            def attempt(arn: str, payload: str) -> tuple[str, bool]:
                headers: dict[str, str] = {}
                answer = backend.invoke(arn, None, payload, {}, headers)
                result = answer.decode() if isinstance(answer, bytes) else str(answer)
                return result, "x-amz-function-error" in headers

            for target in self.targets:
                arn = target["Arn"]
                if ":lambda:" not in arn:
                    continue
                if "Input" in target:
                    payload = target["Input"]
                elif "InputTransformer" in target:
                    transformer = target["InputTransformer"]
                    payload = json.dumps(
                        EventTemplateParser.parse(
                            input_template=transformer.get("InputTemplate"),
                            input_paths_map=transformer.get("InputPathsMap", {}),
                            event=cast(Any, event),
                        )
                    )
                else:
                    payload = json.dumps(event)
                attempts, errored, result = deliver(sim, functools.partial(attempt, arn, payload))
                sim.deliveries.append(Delivery(self.name, arn, payload, attempts, errored, result))

        return send_to_targets

    patcher.replace(SEND_TO_TARGETS, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_eventbridge_lambda_targets(patcher)
