"""Run a Lambda handler from the repository in this process, the way the Lambda runtime would.

The handler module (``functions/<dir>/app.py``) is imported by file path under a unique
module name, once per rehearsal (a warm container); the layer directories are importable as
``/opt/python`` is in Lambda (``LocalAws.deploy`` puts them on the import path). Each
invocation gets the function's environment in ``os.environ`` (process-wide, so
invocations are serialised), fresh boto3 clients
(``batchscratch.aws.reset_clients``), a fake ``LambdaContext``, and its output captured
instead of printed. An uncaught exception becomes Lambda's error payload, whose
``errorType`` is what Step Functions' ``Catch``/``Retry`` match.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS, FunctionCode, Simulation

_INVOCATION_LOCK = threading.RLock()


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda runtime's context object that handlers use.

    The remaining time runs on ``clock`` (the rehearsal's virtual clock), so a handler that
    paces itself against its timeout sees the time a real invocation would have left.
    """

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    clock: Callable[[], float] = time.time
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"rehearsal/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = self.clock() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock()) * 1000))


class _Switchboard(io.TextIOBase):
    """A stand-in for ``sys.stdout``/``sys.stderr``: text written by the thread running an
    invocation goes to that invocation's buffer, everything else to the real stream.

    Loggers bind their stream when a handler module is imported, so the switchboard is
    installed before any import and stays the stream they hold.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.target: TextIO = getattr(sys, name)
        self._buffers: dict[int, io.StringIO] = {}

    def _real(self) -> TextIO:
        # Outside a rehearsal, a logger that still holds the switchboard writes wherever
        # the process writes now (a test runner may have replaced or closed the old stream).
        current = getattr(sys, self.name)
        target: TextIO = self.target if current is self else current
        if getattr(target, "closed", False):
            target = getattr(sys, f"__{self.name}__")
        return target

    def write(self, text: str) -> int:
        buffer = self._buffers.get(threading.get_ident())
        if buffer is not None:
            return buffer.write(text)
        return self._real().write(text)

    def flush(self) -> None:
        if threading.get_ident() not in self._buffers:
            self._real().flush()

    @contextmanager
    def capture(self, buffer: io.StringIO) -> Iterator[None]:
        ident = threading.get_ident()
        self._buffers[ident] = buffer
        try:
            yield
        finally:
            self._buffers.pop(ident, None)


_STDOUT = _Switchboard("stdout")
_STDERR = _Switchboard("stderr")


@contextmanager
def output_switchboard(echo: TextIO | None = None) -> Iterator[None]:
    """Route handler output away from the terminal for one rehearsal.

    ``echo``: where captured handler output is copied after each invocation (``None``: only
    the function's log group in the emulated CloudWatch Logs gets it).
    """
    previous = sys.stdout, sys.stderr
    _STDOUT.target, _STDERR.target = previous
    sys.stdout, sys.stderr = _STDOUT, _STDERR
    _ECHO[0] = echo
    try:
        yield
    finally:
        sys.stdout, sys.stderr = previous
        _ECHO[0] = None


_ECHO: list[TextIO | None] = [None]


def _lambda_environment(
    sim: Simulation, function_name: str, region: str, memory_size: int, environment: dict[str, str]
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "_HANDLER": "app.lambda_handler",
        }
    )
    env.update({key: str(value) for key, value in environment.items()})
    env["POWERTOOLS_LOG_LEVEL"] = sim.log_level
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    env.pop("AWS_LAMBDA_LOG_LEVEL", None)
    return env


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _load_module(sim: Simulation, code: FunctionCode) -> ModuleType:
    modules = sim.modules
    if code.logical_id in modules:
        return modules[code.logical_id]
    name = f"localaws_function_{code.app_path.parent.name}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, code.app_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {code.app_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    modules[code.logical_id] = module
    return module


def _execution_of(event: Any) -> str | None:
    """Which Step Functions execution an event belongs to (state data, LoadConfig's event,
    or an EventBridge execution status change)."""
    if not isinstance(event, dict):
        return None
    for candidate in (
        (event.get("run") or {}).get("executionArn")
        if isinstance(event.get("run"), dict)
        else None,
        event.get("executionArn"),
        (event.get("detail") or {}).get("executionArn")
        if isinstance(event.get("detail"), dict)
        else None,
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _frames(error: BaseException, root: Path | None) -> list[str]:
    """The traceback from the handler down (this module's frame left out), with paths
    relative to the repository."""
    frames = traceback.format_tb(error.__traceback__.tb_next if error.__traceback__ else None)
    prefix = f"{root}{os.sep}" if root else None
    return [frame.replace(prefix, "") if prefix else frame for frame in frames]


def error_payload(error: BaseException, request_id: str, root: Path | None = None) -> str:
    """Lambda's payload for an uncaught exception."""
    return json.dumps(
        {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "requestId": request_id,
            "stackTrace": _frames(error, root),
        }
    )


def run_handler(
    sim: Simulation,
    *,
    function_name: str,
    function_arn: str,
    region: str,
    environment: dict[str, str],
    memory_size: int,
    timeout: int,
    event: Any,
) -> tuple[str, bool, str]:
    """Invoke the handler of ``function_name``; return ``(payload, errored, logs)``."""
    code = sim.functions.get(function_name)
    if code is None:
        message = f"no handler in the repository for function {function_name}"
        return (
            json.dumps({"errorType": "Runtime.ImportModuleError", "errorMessage": message}),
            True,
            "",
        )
    if isinstance(event, str):
        event = json.loads(event or "{}")
    context = LambdaContext(function_name, function_arn, memory_size, timeout, clock=sim.clock.now)
    logs = io.StringIO()
    with _INVOCATION_LOCK:
        previous_execution = sim.current_execution
        previous_function = sim.enter_function(code.logical_id)
        sim.enter_invocation(_execution_of(event) or previous_execution)
        env = _lambda_environment(sim, function_name, region, memory_size, environment)
        try:
            with _environment(env), _STDOUT.capture(logs), _STDERR.capture(logs):
                try:
                    # The layer is importable once deployed (LocalAws.deploy), as in Lambda.
                    from batchscratch import aws  # noqa: PLC0415

                    aws.reset_clients()
                    module = _load_module(sim, code)
                    result = module.lambda_handler(event, context)
                    try:
                        payload, errored = json.dumps(result), False
                    except (TypeError, ValueError) as error:
                        payload = json.dumps(
                            {"errorType": "Runtime.MarshalError", "errorMessage": str(error)}
                        )
                        errored = True
                except Exception as error:  # Lambda reports any exception as the error payload
                    logs.write(f"[ERROR] {type(error).__name__}: {error}\n")
                    logs.write("Traceback (most recent call last):\n")
                    logs.writelines(_frames(error, sim.root))
                    payload = error_payload(error, context.aws_request_id, sim.root)
                    errored = True
        finally:
            sim.current_execution = previous_execution
            sim.enter_function(previous_function)
            sim.clock.advance(LAMBDA_INVOCATION_SECONDS)
    output = logs.getvalue()
    echo = _ECHO[0]
    if echo is not None and output:
        echo.write(f"--- {code.logical_id} ({code.app_path.parent.name}) ---\n{output}")
    return payload, errored, output
