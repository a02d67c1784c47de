"""Lambda (gap 3): moto invokes a function in Docker; the rehearsal runs the repository's
handler in-process instead (``tools.localaws.invoke``)."""

from __future__ import annotations

from typing import Any

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


def patch_lambda_invoke(patcher: Patcher) -> None:
    """Gap 3: moto runs a Lambda function in Docker; run the repository's handler in-process.

    ``LambdaFunction._invoke_lambda(self, event)`` returns ``(payload, errored, logs)``; an
    errored payload carries ``errorType``, which Step Functions' Catch and Retry match. The
    handler's output is saved to the function's log group, as Lambda does.
    """

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        sim = active_simulation()
        if sim is None:
            return '{"errorType": "Runtime.Unavailable", "errorMessage": "no rehearsal"}', True, ""
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
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(logs or "(no output)")
        return payload, errored, logs

    patcher.replace(INVOKE, lambda original: _invoke_lambda)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_lambda_invoke(patcher)
