"""Fixtures every test suite shares: AWS test environment, events, a Lambda context."""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from batchscratch.aws import reset_clients

REPO = Path(__file__).resolve().parent.parent

# Set before any boto3 client exists: moto needs a region and never-valid credentials.
for _name, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "batch-scratch",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # The template's default RunTimeoutSeconds (7 days), as every function gets it.
    "RUN_TIMEOUT_SECONDS": "604800",
}.items():
    os.environ[_name] = _value


def load_event(name: str) -> dict[str, Any]:
    """Return ``events/<name>.json``, the file ``sam local invoke -e`` uses too."""
    event: dict[str, Any] = json.loads((REPO / "events" / f"{name}.json").read_text())
    return event


@dataclass
class FakeLambdaContext:
    """The LambdaContext attributes Powertools and the handlers read."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        """Return the configured remaining time (milliseconds)."""
        return self.remaining_millis


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A fake LambdaContext with 60 s left."""
    return FakeLambdaContext()


@pytest.fixture
def aws() -> Iterator[None]:
    """Run the test against moto, with the layer's client cache emptied around it."""
    with mock_aws():
        reset_clients()
        yield
    reset_clients()
