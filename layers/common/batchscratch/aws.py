"""One cached botocore client per service, shared by every handler in a Lambda environment.

botocore's own clients (what boto3's ``client()`` returns), made without importing boto3:
its import (with s3transfer) is a third of a handler's cold start, and nothing here uses its
resources or transfers.

Cold starts create each client once; tests call ``reset_clients()`` after switching
environment (moto, another region). The clients live in the plain dict ``CLIENTS``, so the
local rehearsal, which runs every function in one process, can give each function its own
(as each has its own Lambda environment) by swapping the dict's contents.
"""

import functools
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from batchscratch.errors import AwsTransientError

_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    user_agent_extra="batch-scratch",
)


CLIENTS: dict[str, Any] = {}
"""The clients ``client()`` created so far, by service."""


def client(service: str) -> Any:
    """Return the process-wide client for ``service`` (e.g. ``"ec2"``, ``"batch"``).

    Retries use botocore's standard mode: throttling and transient errors are retried up to
    4 times after the first call (``max_attempts`` 5 counts every call).
    """
    found = CLIENTS.get(service)
    if found is None:
        found = botocore.session.Session().create_client(service, config=_CONFIG)
        CLIENTS[service] = found
    return found


def reset_clients() -> None:
    """Forget every cached client, so the next ``client()`` call reads the environment again."""
    CLIENTS.clear()


_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
    }
)


def is_transient(error: Exception) -> bool:
    """Return True for throttling, HTTP 429 or 5xx answers, and network failures.

    The codes are botocore's own throttling codes (botocore.retries.standard).
    """
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in _THROTTLING_CODES or status == 429 or status >= 500
    return isinstance(error, ConnectionError | ConnectTimeoutError | ReadTimeoutError)


def transient_errors_retried[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """Decorate a handler so that transient AWS errors surface as ``AwsTransientError``.

    Step Functions retries that name (statemachine/*: every Lambda task); any other error
    keeps its own name and goes to the failure path.
    """

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except (ClientError, BotoCoreError) as error:
            if is_transient(error):
                raise AwsTransientError(f"{type(error).__name__}: {error}") from error
            raise

    return wrapper
