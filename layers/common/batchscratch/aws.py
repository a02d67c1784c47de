"""One cached boto3 client per service, shared by every handler in a Lambda environment.

Cold starts create each client once; tests and the local rehearsal call ``reset_clients()``
after switching environment (moto, another region).
"""

import functools
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra="batch-scratch",
)


@functools.cache
def client(service: str) -> Any:
    """Return the process-wide boto3 client for ``service`` (e.g. ``"ec2"``, ``"batch"``).

    Retries use botocore's standard mode (throttling and transient errors, 5 attempts).
    """
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget every cached client, so the next ``client()`` call reads the environment again."""
    client.cache_clear()
