"""botocore event hooks on every client created during a rehearsal, and throttling answers.

The hooks are registered through ``botocore.handlers.BUILTIN_HANDLERS`` (the list every new
botocore session registers, and where moto hooks itself in), so they reach the handlers'
clients, the Step Functions interpreter's clients and the rehearsal's own alike: every
successful Create*/Register* call of a per-run resource kind is recorded with its id and the
execution it was made for (its run tags, or the execution whose Lambda invocation made it).

``throttle_response`` builds the error a throttled call gets (``patches.patch_throttling``
decides which calls).

Every new botocore session also shares one model loader: the handlers create fresh clients
for every invocation (as after a cold start), and reading the EC2 service model again each
time would cost more than the rest of the invocation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from tools.localaws.simulation import Simulation

_SERVICE_ALIASES = {"sfn": "states", "eventbridge": "events", "cloudwatchlogs": "logs"}

_THROTTLE_CODES = {
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
    "lambda": ("TooManyRequestsException", 429, "Rate exceeded"),
}
_DEFAULT_THROTTLE = ("ThrottlingException", 400, "Rate exceeded")


def service_key(service: str) -> str:
    """Normalise a service name (IAM prefix "states" or botocore id "sfn") for comparisons."""
    normalised = service.lower().replace("-", "").replace(" ", "")
    return _SERVICE_ALIASES.get(normalised, normalised)


def operation_key(key: str) -> str:
    """Normalise a scenario's ``"service:Operation"`` key."""
    service, _, operation = key.partition(":")
    return f"{service_key(service)}:{operation}"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def throttle_response(service: str, request: Any) -> AWSResponse:
    """Build the service's throttling error response in the request's protocol."""
    code, status, message = _THROTTLE_CODES.get(service, _DEFAULT_THROTTLE)
    headers = {
        k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
    }
    body_sent = request.body or b""
    if isinstance(body_sent, str):
        body_sent = body_sent.encode()
    request_id = "rehearsal-throttle"
    if service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        response_headers = {"content-type": "text/xml"}
    elif body_sent.startswith(b"Action=") or "x-www-form-urlencoded" in headers.get(
        "content-type", ""
    ):
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        response_headers = {"content-type": "text/xml"}
    elif service == "s3":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        response_headers = {"content-type": "application/xml"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        response_headers = {
            "content-type": headers.get("content-type") or "application/json",
            "x-amzn-errortype": code,
            "x-amzn-requestid": request_id,
        }
    return AWSResponse(request.url, status, cast(Any, response_headers), _Raw(body))


# --------------------------------------------------------------------------- created


def _ec2_tags(params: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for spec in params.get("TagSpecifications") or []:
        for tag in spec.get("Tags") or []:
            tags[tag.get("Key", "")] = tag.get("Value", "")
    return tags


def _batch_tags(params: dict[str, Any]) -> dict[str, str]:
    return dict(params.get("tags") or {})


def _fsx_tags(params: dict[str, Any]) -> dict[str, str]:
    return {tag.get("Key", ""): tag.get("Value", "") for tag in params.get("Tags") or []}


Extractor = Callable[[dict[str, Any]], list[str]]

CREATES: dict[
    tuple[str, str], tuple[str, Extractor, Callable[[dict[str, Any]], dict[str, str]]]
] = {
    ("ec2", "CreateVolume"): ("ec2:volume", lambda r: [r["VolumeId"]], _ec2_tags),
    ("ec2", "CreateSnapshot"): ("ec2:snapshot", lambda r: [r["SnapshotId"]], _ec2_tags),
    ("ec2", "CreateSnapshots"): (
        "ec2:snapshot",
        lambda r: [s["SnapshotId"] for s in r.get("Snapshots", [])],
        _ec2_tags,
    ),
    ("ec2", "CreateLaunchTemplate"): (
        "ec2:launch-template",
        lambda r: [r["LaunchTemplate"]["LaunchTemplateId"]],
        _ec2_tags,
    ),
    ("batch", "CreateComputeEnvironment"): (
        "batch:compute-environment",
        lambda r: [r["computeEnvironmentName"]],
        _batch_tags,
    ),
    ("batch", "CreateJobQueue"): ("batch:job-queue", lambda r: [r["jobQueueName"]], _batch_tags),
    ("batch", "RegisterJobDefinition"): (
        "batch:job-definition",
        lambda r: [f"{r['jobDefinitionName']}:{r['revision']}"],
        _batch_tags,
    ),
    ("fsx", "CreateFileSystem"): (
        "fsx:file-system",
        lambda r: [r["FileSystem"]["FileSystemId"]],
        _fsx_tags,
    ),
    ("fsx", "CreateDataRepositoryAssociation"): (
        "fsx:data-repository-association",
        lambda r: [r["Association"]["AssociationId"]],
        _fsx_tags,
    ),
    ("fsx", "CreateDataRepositoryTask"): (
        "fsx:data-repository-task",
        lambda r: [r["DataRepositoryTask"]["TaskId"]],
        _fsx_tags,
    ),
}
"""(service, operation) -> (resource kind, ids from the response, run tags from the request)."""


@contextmanager
def installed(sim: Simulation) -> Iterator[None]:
    """Register the creation hooks for every botocore session made inside."""
    sim.throttle = {operation_key(key): count for key, count in sim.throttle.items()}

    def before_parameter_build(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["localaws_params"] = dict(params)

    def after_call(
        http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if http_response is None or http_response.status_code >= 300:
            return
        service = service_key(model.service_model.service_id.hyphenize())
        entry = CREATES.get((service, model.name))
        if entry is None:
            return
        kind, ids, tags = entry
        params = context.get("localaws_params") or {}
        try:
            resource_ids = ids(parsed)
        except (KeyError, TypeError):
            return
        for resource_id in resource_ids:
            sim.record_created(kind, resource_id, tags(params))

    original_create_loader = botocore.session.create_loader
    shared: dict[Any, Any] = {}
    lock = threading.Lock()

    def create_loader(search_path_string: Any = None) -> Any:
        with lock:
            if search_path_string not in shared:
                shared[search_path_string] = original_create_loader(search_path_string)
            return shared[search_path_string]

    botocore.session.create_loader = create_loader
    handlers = [
        ("before-parameter-build", before_parameter_build),
        ("after-call", after_call),
    ]
    BUILTIN_HANDLERS.extend(handlers)
    try:
        yield
    finally:
        for handler in handlers:
            BUILTIN_HANDLERS.remove(handler)
        botocore.session.create_loader = original_create_loader
