"""Lambda (gap 3): moto invokes a function in Docker; the rehearsal runs the repository's
handler in-process instead (``tools.localaws.invoke``), with the faults the scenario scripts
(``aws.lambda``)."""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError

from tools.localaws import invoke
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import Simulation

GAP = "3: Lambda invocation runs Docker"

INVOKE = Target(
    "lambda_invoke",
    "moto.awslambda.models:LambdaFunction._invoke_lambda",
    "(self, event: 'str | None' = None) -> 'tuple[str, bool, str]'",
    GAP,
)
SAVE_LOGS = Target(
    "lambda_save_logs",
    "moto.awslambda.models:LambdaFunction.save_logs",
    "(self, output: 'str') -> 'None'",
    GAP,
    replaced=False,
)


SERVICE_EXCEPTION_MESSAGE = "The Lambda service encountered an internal error."
"""Lambda's ``ServiceException`` (botocore lambda model, Invoke: HTTP 500, this text)."""


class LambdaServiceException(JsonRESTError):
    """Lambda's answer when it cannot return the function's result: ``ServiceException``,
    HTTP 500 (botocore lambda model, Invoke errors). Step Functions' ``lambda:invoke``
    reports it as ``Lambda.ServiceException`` (Step Functions Developer Guide, "Handle
    Lambda service exceptions"), which the project's Lambda tasks retry."""

    code = 500
    include_type_sender = False  # a server fault, not the caller's

    def __init__(self, message: str = SERVICE_EXCEPTION_MESSAGE) -> None:
        super().__init__("ServiceException", message)


def patch_lambda_invoke(patcher: Patcher) -> None:
    """Gap 3: moto runs a Lambda function in Docker; run the repository's handler in-process.

    ``LambdaFunction._invoke_lambda(self, event)`` returns ``(payload, errored, logs)``; an
    errored payload carries ``errorType``, which Step Functions' Catch and Retry match. The
    handler's output is saved to the function's log group, as Lambda does. An invocation
    whose answer the scenario loses (``aws.lambda.lostResponse``) raises
    ``LambdaServiceException`` once its output is saved: the caller gets HTTP 500.
    """

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        sim = active_simulation()
        if sim is None:
            return '{"errorType": "Runtime.Unavailable", "errorMessage": "no rehearsal"}', True, ""
        try:
            payload, errored, logs = invoke.run_handler(
                sim,
                function_name=self.function_name,
                function_arn=self.function_arn,
                region=self.region,
                environment=dict(self.environment_vars or {}),
                memory_size=int(self.memory_size or 128),
                timeout=int(self.timeout or 3),
                event=event,
            )
        except invoke.ResponseLost as lost:
            self.logs_backend.ensure_log_group(self.logs_group_name)
            self.save_logs(lost.logs or "(no output)")
            raise LambdaServiceException() from lost
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(logs or "(no output)")
        return payload, errored, logs

    patcher.replace(INVOKE, lambda original: _invoke_lambda)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_lambda_invoke(patcher)
