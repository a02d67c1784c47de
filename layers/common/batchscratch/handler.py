"""The one shape of every Lambda handler: ``@step_handler(log_message=...)``.

A handler is a function ``lambda_handler(event: EventModel, context) -> OutputModel`` that
calls one function of the layer. Its annotations say what it takes and returns: the first
parameter's type is the pydantic model the event is parsed into (as Powertools'
``event_parser`` reads it), the return type is the step's output model
(``batchscratch.outputs``). The decorator, made with Powertools' middleware factory
(``lambda_handler_decorator``), wraps it, outermost first, in:

1. ``logger.inject_lambda_context`` with the correlation id read from the raw event
   (``run.runId``, the execution name, by default);
2. ``tracer.capture_lambda_handler`` (the subsegment ``## lambda_handler``; the response is
   not recorded in the trace, ``capture_response=False``);
3. ``batchscratch.aws.transient_errors_retried``: AWS throttling and 5xx answers surface as
   ``AwsTransientError``, which every Lambda task of the state machines retries; every other
   error keeps its own name, which their Catch and Retry match;
4. parsing the event into the model (``aws_lambda_powertools.utilities.parser.parse``: a
   pydantic ``ValidationError`` when it does not validate);
5. recording the invocation's remaining time (``polling.start_invocation``), so that a check
   step may watch (``polling.watch``) within it;

and after the call logs ``log_message`` with the output's fields (``StepOutput.log_fields``,
which leaves out or redacts what may hold credentials; the event itself is never logged)
and returns the output as a plain dict (``model_dump``), which Lambda serialises to JSON.
"""

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from batchscratch.aws import transient_errors_retried
from batchscratch.outputs import StepOutput
from batchscratch.polling import end_invocation, start_invocation

logger = Logger()
tracer = Tracer()

RUN_ID = "run.runId"
"""JMESPath of the correlation id in the state every task after LoadConfig receives."""

Handler = Callable[[Any, LambdaContext], StepOutput]
Invocation = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def declared_models(handler: Callable[..., Any]) -> tuple[type[BaseModel], type[StepOutput]]:
    """Return ``(event model, output model)`` from ``handler``'s annotations.

    Raises:
        TypeError: the first parameter is not annotated with a pydantic model, or the return
            with a ``StepOutput``.
    """
    hints = typing.get_type_hints(handler)
    first = next(iter(inspect.signature(handler).parameters), "")
    event, output = hints.get(first), hints.get("return")
    if not (isinstance(event, type) and issubclass(event, BaseModel)):
        raise TypeError(f"{handler.__qualname__}: annotate its event with a pydantic model")
    if not (isinstance(output, type) and issubclass(output, StepOutput)):
        raise TypeError(f"{handler.__qualname__}: annotate its return with a StepOutput model")
    return event, output


@functools.cache
def _invocation(
    handler: Handler, log_message: str, correlation_id_path: str, retry_transient: bool
) -> Invocation:
    """Return ``handler`` wrapped as the module docstring says (built once per handler)."""
    event_model, output_model = declared_models(handler)

    # Named like the handler it wraps: the log line's ``location`` reads
    # ``lambda_handler:<line>`` as it did when each handler logged its own output.
    @functools.wraps(handler)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        parsed = parse(event=event, model=event_model)
        invocation = start_invocation(context.get_remaining_time_in_millis())
        try:
            output = handler(parsed, context)
        finally:
            end_invocation(invocation)
        if not isinstance(output, output_model):
            raise TypeError(
                f"{handler.__qualname__} returned {type(output).__name__}, "
                f"not its declared {output_model.__name__}"
            )
        logger.info(log_message, extra=output.log_fields())
        return output.model_dump()

    steps = transient_errors_retried(lambda_handler) if retry_transient else lambda_handler
    # Not the response: X-Ray would keep it whole (LoadConfig's holds jobEnvironment's
    # values); the log line records its fields, redacted where they may hold credentials.
    traced: Invocation = tracer.capture_lambda_handler(steps, capture_response=False)
    logged: Invocation = logger.inject_lambda_context(
        traced, correlation_id_path=correlation_id_path
    )
    return logged


@lambda_handler_decorator
def _middleware(
    handler: Handler,
    event: dict[str, Any],
    context: LambdaContext,
    *,
    log_message: str,
    correlation_id_path: str,
    retry_transient: bool,
) -> dict[str, Any]:
    return _invocation(handler, log_message, correlation_id_path, retry_transient)(event, context)


def step_handler(
    *, log_message: str, correlation_id_path: str = RUN_ID, retry_transient: bool = True
) -> Callable[[Handler], Invocation]:
    """Return the decorator every handler wears (Powertools' middleware factory made it).

    Use as ``@step_handler(log_message="Volume checked")`` on
    ``def lambda_handler(state: RunState, context: LambdaContext) -> VolumeStatus``; the
    decorated function takes the raw event and the context and returns a dict.

    Args:
        log_message: the message of the log line that records the output's fields.
        correlation_id_path: JMESPath of the correlation id in the event (default
            ``run.runId``; LoadConfig's is ``executionName``, StartRelease's ``detail.name``).
        retry_transient: translate transient AWS errors into ``AwsTransientError``; False for
            a function no state machine invokes (StartRelease, which Lambda's asynchronous
            invocation retries whatever the error's name).

    The decorated handler returns the output model's fields as a dict (JSON-serialisable), and
    raises:

    - ``AwsTransientError``: AWS throttled or failed (HTTP 429/5xx) after the SDK's retries;
    - ``pydantic.ValidationError``: the event does not validate against the event model;
    - ``TypeError``: the handler's annotations or its return value are not what they must be;
    - whatever else the handler raises, under its own name (``StorageTimeout``, …).
    """
    decorator: Callable[[Handler], Invocation] = _middleware(
        log_message=log_message,
        correlation_id_path=correlation_id_path,
        retry_transient=retry_transient,
    )
    return decorator
