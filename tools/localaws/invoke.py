"""Run a Lambda handler from the repository in this process, the way the Lambda runtime would.

Each deployed function has an execution environment of its own (``Container``), made at its
first invocation in a rehearsal and kept for the rest of it, as a warm Lambda environment
is: its handler module (``functions/<dir>/app.py``, imported by file path under a unique
module name), and its own values of the module-level state Lambda keeps per environment
(``PROCESS_STATE``): the layer's boto3 clients, Powertools' parameter providers with their
cached secrets, Powertools' cold-start flags. The layer and Powertools are imported once per
process (the layer directories are importable as ``/opt/python`` is in Lambda:
``LocalAws.deploy`` puts them on the import path); around each invocation the function's
values are swapped in and back out, under one lock, as its environment variables are
(``os.environ`` is process-wide, so invocations are serialised). A new rehearsal (a new
``Simulation``) starts every function cold.

Each invocation also gets a fake ``LambdaContext`` and its output captured instead of
printed. An uncaught exception becomes Lambda's error payload, whose ``errorType`` is what
Step Functions' ``Catch``/``Retry`` match. The scenario's ``aws.lambda`` faults (``faults``)
are played here: a timed-out, a duplicated or a lost-response invocation.
"""

from __future__ import annotations

import copy
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
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TextIO, cast

from tools.localaws.faults import LambdaFault, planned_fault, record_fault
from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS, FunctionCode, Simulation

INVOCATION_LOCK = threading.RLock()
"""Held by each Lambda invocation in progress: they swap process-wide state in and out."""


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


# --------------------------------------------------------------------------- environments


@dataclass(frozen=True)
class ProcessState:
    """Module-level state that each Lambda execution environment has for itself.

    ``module``/``attribute`` name it. ``kind``: ``"contents"`` for a dict that other modules
    imported by name (its contents are swapped, the object stays), ``"value"`` for a global
    its module rebinds (the binding is swapped). ``fresh`` makes a cold environment's value.
    """

    module: str
    attribute: str
    kind: Literal["contents", "value"]
    fresh: Callable[[], Any]

    @property
    def key(self) -> str:
        return f"{self.module}:{self.attribute}"

    def read(self) -> Any:
        """The value now (a copy of a dict's contents); ``_ABSENT`` before the module is
        imported."""
        module = sys.modules.get(self.module)
        if module is None:
            return _ABSENT
        value = getattr(module, self.attribute)
        return dict(value) if self.kind == "contents" else value

    def write(self, value: Any) -> None:
        """Make ``value`` the state (nothing to do before the module is imported)."""
        module = sys.modules.get(self.module)
        if module is None:
            return
        if value is _ABSENT:
            value = self.fresh()
        if self.kind == "contents":
            held = getattr(module, self.attribute)
            held.clear()
            held.update(value)
        else:
            setattr(module, self.attribute, value)


_ABSENT: Any = object()

PROCESS_STATE = (
    ProcessState("batchscratch.aws", "CLIENTS", "contents", dict),
    ProcessState(
        "aws_lambda_powertools.utilities.parameters.constants",
        "DEFAULT_PROVIDERS",
        "contents",
        dict,
    ),
    ProcessState("aws_lambda_powertools.logging.logger", "is_cold_start", "value", lambda: True),
    ProcessState("aws_lambda_powertools.tracing.tracer", "is_cold_start", "value", lambda: True),
)
"""What a Lambda environment keeps from one invocation to the next and another function's
environment does not share, found by reading the layer (``batchscratch``) and the Powertools
utilities the handlers use:

- ``batchscratch.aws.CLIENTS``: the layer's boto3 clients (``aws.client``), with their
  connection pools and retry quotas; creating them is most of a warm invocation's cost;
- Powertools Parameters' ``DEFAULT_PROVIDERS``: the providers ``get_secret`` makes, each
  holding its own boto3 client and its cache of values (``max_age``): a secret one function
  read is never another function's cached value;
- Powertools Logger's and Tracer's ``is_cold_start``: the ``cold_start`` key of each
  function's first log line.

The rest is per function already (each handler module, and the layer's per-handler wrapper
``batchscratch.handler._invocation``, cached by handler), or holds nothing that changes
(Powertools' parser caches pydantic adapters by model)."""


@dataclass
class Container:
    """One function's Lambda execution environment in a rehearsal (a warm container)."""

    logical_id: str
    state: dict[str, Any] = field(default_factory=dict)
    """Its values of ``PROCESS_STATE`` by ``ProcessState.key``; absent: still cold."""
    invocations: int = 0
    """How many invocations it has had (the number faults are scripted by)."""


def containers(sim: Simulation) -> dict[str, Container]:
    """The execution environments of ``sim``'s rehearsal, by function logical id.

    Kept on the simulation object itself (``lambda_containers`` attribute): each rehearsal
    starts every function cold.
    """
    return cast(dict[str, Container], vars(sim).setdefault("lambda_containers", {}))


@dataclass
class _Running:
    """What one invocation in progress swapped in (``_inside``, ``_environment``) and what it
    put aside, so that ``invocation_paused`` can swap it out and back."""

    container: Container
    outside: list[tuple[ProcessState, Any]]
    env: dict[str, str] = field(default_factory=dict)
    saved_env: dict[str, str] = field(default_factory=dict)
    execution: str | None = None
    function: str | None = None


_RUNNING = threading.local()
"""``frames``: this thread's invocations in progress (``_Running``), innermost last."""


def _running_frames() -> list[_Running]:
    frames: list[_Running] | None = getattr(_RUNNING, "frames", None)
    if frames is None:
        frames = _RUNNING.frames = []
    return frames


@contextmanager
def _inside(container: Container) -> Iterator[None]:
    """Swap ``container``'s state in for one invocation, then keep what the invocation left
    and put back what was there before (call it holding ``INVOCATION_LOCK``)."""
    frame = _Running(container, [(slot, slot.read()) for slot in PROCESS_STATE])
    for slot in PROCESS_STATE:
        slot.write(container.state.get(slot.key, _ABSENT))
    _running_frames().append(frame)
    try:
        yield
    finally:
        _running_frames().pop()
        _swap_out(frame)


def _swap_out(frame: _Running) -> None:
    """Keep the invocation's state in its container and put back what was outside."""
    for slot, value in frame.outside:
        now = slot.read()
        if now is not _ABSENT:
            frame.container.state[slot.key] = now
        slot.write(value)


@contextmanager
def invocation_paused(sim: Simulation) -> Iterator[None]:
    """Let other invocations run while this thread's handler pauses (``clock.sleep`` within
    a watch, ``batchscratch.polling.watch``), as Lambda runs them side by side: swap the
    invocation's state, environment and execution out, release ``INVOCATION_LOCK``, and on
    the way back take the lock again and swap them in. Outside an invocation: nothing."""
    frames = _running_frames()
    if not frames:
        yield
        return
    frame = frames[-1]
    frame.env = dict(os.environ)
    frame.execution, frame.function = sim.current_execution, sim.enter_function(None)
    _swap_out(frame)
    _apply_environment(frame.saved_env)
    depth = 0
    while INVOCATION_LOCK._is_owned():  # type: ignore[attr-defined]  # CPython RLock
        INVOCATION_LOCK.release()
        depth += 1
    try:
        yield
    finally:
        for _ in range(depth):
            INVOCATION_LOCK.acquire()
        frame.saved_env = dict(os.environ)
        _apply_environment(frame.env)
        frame.outside = [(slot, slot.read()) for slot in PROCESS_STATE]
        for slot in PROCESS_STATE:
            slot.write(frame.container.state.get(slot.key, _ABSENT))
        sim.current_execution = frame.execution
        sim.enter_function(frame.function)


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
def _environment(env: dict[str, str]) -> Iterator[dict[str, str]]:
    saved = dict(os.environ)
    _apply_environment(env)
    try:
        yield saved
    finally:
        _apply_environment(saved)


def _apply_environment(env: dict[str, str]) -> None:
    """Make ``os.environ`` equal ``env`` key by key, never emptying it on the way: other
    threads (the interpreter's service integrations, which create clients) read it meanwhile,
    and a variable both environments share (the Region) must never be missing."""
    for key in [key for key in os.environ if key not in env]:
        os.environ.pop(key, None)
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


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


TIMED_OUT_ERROR = "Sandbox.Timedout"
"""The ``errorType`` of a timed-out invocation (AWS Lambda Developer Guide, "Troubleshoot
invocation issues in Lambda": Sandbox.Timedout)."""


def timed_out_payload(request_id: str, timeout: float) -> str:
    """Lambda's answer to an invocation that ran past the function's ``timeout`` (seconds).

    Invoke answers HTTP 200 with ``FunctionError`` set and this payload (the Python runtimes'
    format, AWS Lambda Developer Guide, "Troubleshoot invocation issues in Lambda"); Step
    Functions' ``lambda:invoke`` reports its ``errorType`` as the task's error, the name its
    ``Retry`` and ``Catch`` match, with the payload as the cause. (Before the runtimes named
    it, the payload had no ``errorType`` and Step Functions reported ``Lambda.Unknown``:
    Step Functions Developer Guide, "Handle Lambda service exceptions".)
    """
    return json.dumps(
        {
            "errorType": TIMED_OUT_ERROR,
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
            f"{timeout:.2f} seconds",
        }
    )


class ResponseLost(Exception):
    """The handler ran but its answer never reached the caller (``aws.lambda.lostResponse``).

    ``logs``: what the handler wrote, for the function's log group.
    """

    def __init__(self, function: str, number: int, logs: str) -> None:
        super().__init__(f"the answer of invocation {number} of {function} was lost")
        self.logs = logs


def _call(
    sim: Simulation, code: FunctionCode, event: Any, context: LambdaContext, logs: io.StringIO
) -> tuple[str, bool]:
    """Run the handler once; return ``(payload, errored)`` as Lambda would answer."""
    try:
        module = _load_module(sim, code)
        result = module.lambda_handler(event, context)
        try:
            return json.dumps(result), False
        except (TypeError, ValueError) as error:
            return json.dumps(
                {"errorType": "Runtime.MarshalError", "errorMessage": str(error)}
            ), True
    except Exception as error:  # Lambda reports any exception as the error payload
        logs.write(f"[ERROR] {type(error).__name__}: {error}\n")
        logs.write("Traceback (most recent call last):\n")
        logs.writelines(_frames(error, sim.root))
        return error_payload(error, context.aws_request_id, sim.root), True


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
    """Invoke the handler of ``function_name`` in its function's environment; return
    ``(payload, errored, logs)``.

    The invocation takes 1 virtual second (``LAMBDA_INVOCATION_SECONDS``) besides what the
    handler itself waits, and plays the fault ``aws.lambda`` scripts for it, recorded in
    ``faults.lambda_faults(sim)``:

    - ``timeout``: the handler runs to its end, so its side effects happen (a real timeout
      can strike after the work is done and before the answer; the harder case for the
      caller, which cannot tell), the invocation takes ``timeout`` virtual seconds in all,
      and the answer is ``timed_out_payload`` (errored);
    - ``duplicate``: the handler runs twice with the same event and request id (Lambda
      delivers at least once), 1 virtual second each; the answer is the second run's;
    - ``lostResponse``: the handler runs, then ``ResponseLost`` is raised instead of an
      answer (the caller answers as Lambda's ``ServiceException``: ``patches.awslambda``).
    """
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
    logs = io.StringIO()
    with INVOCATION_LOCK:
        container = containers(sim).setdefault(code.logical_id, Container(code.logical_id))
        container.invocations += 1
        number = container.invocations
        fault = planned_fault(sim, code.logical_id, number)
        previous_execution = sim.current_execution
        previous_function = sim.enter_function(code.logical_id)
        sim.enter_invocation(_execution_of(event) or previous_execution)
        started = sim.clock.now()
        if fault is not None:
            record_fault(
                sim, LambdaFault(code.logical_id, number, fault, sim.current_execution, started)
            )
        env = _lambda_environment(sim, function_name, region, memory_size, environment)
        context = LambdaContext(
            function_name, function_arn, memory_size, timeout, clock=sim.clock.now
        )
        try:
            with (
                _environment(env) as saved_env,
                _inside(container),
                _STDOUT.capture(logs),
                _STDERR.capture(logs),
            ):
                _running_frames()[-1].saved_env = saved_env
                payload, errored = _call(sim, code, copy.deepcopy(event), context, logs)
                if fault == "duplicate":
                    sim.clock.advance(LAMBDA_INVOCATION_SECONDS)
                    again = LambdaContext(
                        function_name,
                        function_arn,
                        memory_size,
                        timeout,
                        aws_request_id=context.aws_request_id,
                        clock=sim.clock.now,
                    )
                    payload, errored = _call(sim, code, copy.deepcopy(event), again, logs)
        finally:
            sim.current_execution = previous_execution
            sim.enter_function(previous_function)
            if fault == "timeout":
                sim.clock.advance(max(0.0, started + timeout - sim.clock.now()))
            else:
                sim.clock.advance(LAMBDA_INVOCATION_SECONDS)
        if fault == "timeout":
            stamp = datetime.fromtimestamp(sim.clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            logs.write(
                f"{stamp[:-3]}Z {context.aws_request_id} Task timed out after "
                f"{timeout:.2f} seconds\n"
            )
            payload, errored = timed_out_payload(context.aws_request_id, timeout), True
    output = logs.getvalue()
    echo = _ECHO[0]
    if echo is not None and output:
        echo.write(f"--- {code.logical_id} ({code.app_path.parent.name}) ---\n{output}")
    if fault == "lostResponse":
        raise ResponseLost(code.logical_id, number, output)
    return payload, errored, output
