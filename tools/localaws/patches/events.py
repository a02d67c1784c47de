"""EventBridge: moto's rules deliver to SQS, logs and buses, never to a Lambda function; here
a matching rule invokes its Lambda targets as EventBridge does (the reaper hears the
execution's end)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.events.utils import EventTemplateParser

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


MAX_ASYNC_ATTEMPTS = 3
"""Lambda's asynchronous invocation: the first attempt and two retries (the default)."""


def patch_eventbridge_lambda_targets(patcher: Patcher) -> None:
    """EventBridge rules in moto deliver to SQS, logs and buses, never to a Lambda function.

    A matching ENABLED rule now invokes its Lambda targets the way EventBridge does:
    asynchronously (an errored invocation is retried up to twice), with the event (or the
    target's ``Input``, ``InputPath`` or ``InputTransformer`` result) as payload, ``time``
    in ISO 8601. Each delivery is recorded in the simulation.
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
            if not self.event_pattern.matches_event(original_event):
                return
            event = dict(original_event)
            event.pop("ingestion-time", None)
            if isinstance(event.get("time"), (int, float)):
                event["time"] = datetime.fromtimestamp(event["time"], tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
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
                backend = get_lambda_backend(self.account_id, self.region_name)
                attempts, errored, result = 0, True, ""
                while errored and attempts < MAX_ASYNC_ATTEMPTS:
                    attempts += 1
                    headers: dict[str, str] = {}
                    answer = backend.invoke(arn, None, payload, {}, headers)
                    result = answer.decode() if isinstance(answer, bytes) else str(answer)
                    errored = "x-amz-function-error" in headers
                sim.deliveries.append(Delivery(self.name, arn, payload, attempts, errored, result))

        return send_to_targets

    patcher.replace(SEND_TO_TARGETS, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_eventbridge_lambda_targets(patcher)
