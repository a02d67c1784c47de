"""Transient AWS errors surface under one name that every Lambda task retries."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from batchscratch.aws import transient_errors_retried
from batchscratch.errors import AwsTransientError


def failing_with(error: Exception):
    @transient_errors_retried
    def handler(event, context):
        raise error

    return handler


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "CreateDataRepositoryTask",
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException", 400),
        client_error("RequestLimitExceeded", 503),
        client_error("TooManyRequestsException", 429),
        client_error("InternalServerError", 500),
        EndpointConnectionError(endpoint_url="https://fsx.us-east-1.amazonaws.com"),
    ],
)
def test_throttling_and_server_errors_become_aws_transient_error(error):
    with pytest.raises(AwsTransientError, match=type(error).__name__):
        failing_with(error)({}, None)


@pytest.mark.parametrize(
    "error",
    [client_error("AccessDeniedException", 400), client_error("BadRequest", 400)],
)
def test_other_errors_keep_their_name(error):
    with pytest.raises(ClientError):
        failing_with(error)({}, None)
