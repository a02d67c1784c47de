"""botocore event hooks on every client created during a rehearsal, and throttling answers.

The hooks are registered through ``botocore.handlers.BUILTIN_HANDLERS`` (the list every new
botocore session registers, and where moto hooks itself in), so they reach the handlers'
clients, the Step Functions interpreter's clients and the rehearsal's own alike: every
successful Create*/Register* call of a per-run resource kind is recorded with its id and the
execution it was made for (its run tags, or the execution whose Lambda invocation made it).

``error_response`` builds an error answer in a service's wire protocol, as AWS sends it:
``throttle_response`` (the error a throttled call gets; ``patches.throttling`` decides
which calls) and the constraint check (``constraints``) both answer with it.

Every new botocore session also shares one model loader, and every client of a service one
client class: each function creates its clients at its cold start, and reading the EC2
service model again, or building its class (a docstring per operation), each time would
cost more than the rest of the invocation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from typing import Any, cast

import botocore.client
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from tools.localaws.simulation import Simulation

_SERVICE_ALIASES = {"sfn": "states", "eventbridge": "events", "cloudwatchlogs": "logs"}

_THROTTLE_CODES = {
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
    "lambda": ("TooManyRequestsException", 429, "Rate exceeded"),
    # AWS Knowledge Center, "aws-batch-requests-error": "Too Many Requests (Service: AWSBatch;
    # Status Code: 429; Error Code: TooManyRequestsException)".
    "batch": ("TooManyRequestsException", 429, "Too Many Requests"),
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


def _cbor_text(text: str) -> bytes:
    """One CBOR text string (RFC 8949, major type 3)."""
    data = text.encode()
    size = len(data)
    if size < 24:
        head = bytes([0x60 | size])
    elif size < 0x100:
        head = bytes([0x78, size])
    elif size < 0x10000:
        head = bytes([0x79]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x7A]) + size.to_bytes(4, "big")
    return head + data


def _cbor_map(items: dict[str, str]) -> bytes:
    """A CBOR map of text strings (fewer than 24 entries), the body of an rpc-v2-cbor error."""
    body = bytes([0xA0 | len(items)])
    for key, value in items.items():
        body += _cbor_text(key) + _cbor_text(value)
    return body


def request_protocol(service: str, request: Any) -> str:
    """The wire protocol of a prepared request of ``service``: ``ec2``, ``query``,
    ``rest-xml`` (S3), ``smithy-rpc-v2-cbor`` or ``json`` (JSON 1.0/1.1 and REST-JSON)."""
    headers = {k.lower(): _text(v) for k, v in request.headers.items()}
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    if service == "ec2":
        return "ec2"
    if body.startswith(b"Action=") or "x-www-form-urlencoded" in headers.get("content-type", ""):
        return "query"
    if service == "s3":
        return "rest-xml"
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    return "json"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def error_response(
    protocol: str,
    url: str,
    code: str,
    status: int,
    message: str,
    *,
    content_type: str | None = None,
    request_id: str = "rehearsal-error",
) -> AWSResponse:
    """Build the error response an AWS service sends in ``protocol`` (a botocore protocol
    name: ``ec2``, ``query``, ``rest-xml``, ``json``, ``rest-json``, ``smithy-rpc-v2-cbor``).

    botocore parses it as it parses AWS's own, so the caller gets the ``ClientError`` (code,
    message, HTTP status) it would get from AWS. ``content_type``: the request's, echoed by
    the JSON protocols.
    """
    message = escape(message, quote=False) if protocol in _XML_PROTOCOLS else message
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = {"content-type": "text/xml"}
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers = {"content-type": "text/xml"}
    elif protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers = {"content-type": "application/xml"}
    elif protocol == "smithy-rpc-v2-cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers = {
            "content-type": "application/cbor",
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-requestid": request_id,
        }
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {
            "content-type": content_type or "application/json",
            "x-amzn-errortype": code,
            "x-amzn-requestid": request_id,
        }
    return AWSResponse(url, status, cast(Any, headers), _Raw(body))


_XML_PROTOCOLS = ("ec2", "query", "rest-xml")


def throttle_response(service: str, request: Any) -> AWSResponse:
    """Build the service's throttling error response in the request's protocol."""
    code, status, message = _THROTTLE_CODES.get(service, _DEFAULT_THROTTLE)
    content_type = {k.lower(): _text(v) for k, v in request.headers.items()}.get("content-type")
    return error_response(
        request_protocol(service, request),
        request.url,
        code,
        status,
        message,
        content_type=content_type,
        request_id="rehearsal-throttle",
    )


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


def _name(value: Any) -> str:
    """A Batch resource's name from its name or ARN (``arn:...:compute-environment/<name>``)."""
    return str(value).rsplit("/", 1)[-1]


def _job_definition(value: Any) -> str:
    """``name:revision`` from a job definition's ARN or ``name:revision``."""
    return str(value).rsplit("/", 1)[-1]


DELETES: dict[tuple[str, str], tuple[str, Callable[[dict[str, Any]], str | None]]] = {
    ("ec2", "DeleteVolume"): ("ec2:volume", lambda p: p.get("VolumeId")),
    ("ec2", "DeleteSnapshot"): ("ec2:snapshot", lambda p: p.get("SnapshotId")),
    ("ec2", "DeleteLaunchTemplate"): ("ec2:launch-template", lambda p: p.get("LaunchTemplateId")),
    ("fsx", "DeleteFileSystem"): ("fsx:file-system", lambda p: p.get("FileSystemId")),
    ("fsx", "DeleteDataRepositoryAssociation"): (
        "fsx:data-repository-association",
        lambda p: p.get("AssociationId"),
    ),
    ("batch", "DeleteComputeEnvironment"): (
        "batch:compute-environment",
        lambda p: _name(p["computeEnvironment"]) if p.get("computeEnvironment") else None,
    ),
    ("batch", "DeleteJobQueue"): (
        "batch:job-queue",
        lambda p: _name(p["jobQueue"]) if p.get("jobQueue") else None,
    ),
    ("batch", "DeregisterJobDefinition"): (
        "batch:job-definition",
        lambda p: _job_definition(p["jobDefinition"]) if p.get("jobDefinition") else None,
    ),
}
"""(service, operation) -> (resource kind, its id from the request): the releases recorded."""


@contextmanager
def registered(handlers: list[tuple[str, Callable[..., Any]]]) -> Iterator[None]:
    """Register ``(event, handler)`` pairs with every botocore session made inside, through
    ``BUILTIN_HANDLERS`` (where moto registers itself too)."""
    BUILTIN_HANDLERS.extend(handlers)
    try:
        yield
    finally:
        for handler in handlers:
            BUILTIN_HANDLERS.remove(handler)


_LOADERS: dict[Any, Any] = {}
"""botocore's model loaders by search path, for the whole process: the models are files of
the installed botocore, the same for every rehearsal."""
_CLIENT_CLASSES: dict[tuple[str, str], Any] = {}
"""Client classes by (service, API version), for the whole process."""
_SHARED_LOCK = threading.Lock()


@contextmanager
def installed(sim: Simulation) -> Iterator[None]:
    """Register the creation hooks for every botocore session made inside."""

    def before_parameter_build(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["localaws_params"] = dict(params)

    def after_call(
        http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if http_response is None or http_response.status_code >= 300:
            return
        service = service_key(model.service_model.service_id.hyphenize())
        params = context.get("localaws_params") or {}
        release = DELETES.get((service, model.name))
        if release is not None:
            released_id = release[1](params)
            if released_id:
                sim.record_released(release[0], released_id)
            return
        entry = CREATES.get((service, model.name))
        if entry is None:
            return
        kind, ids, tags = entry
        try:
            resource_ids = ids(parsed)
        except (KeyError, TypeError):
            return
        for resource_id in resource_ids:
            sim.record_created(kind, resource_id, tags(params))

    original_create_loader = botocore.session.create_loader
    shared, lock = _LOADERS, _SHARED_LOCK

    def create_loader(search_path_string: Any = None) -> Any:
        with lock:
            if search_path_string not in shared:
                shared[search_path_string] = original_create_loader(search_path_string)
            return shared[search_path_string]

    creator: Any = botocore.client.ClientCreator
    original_client_class = creator._create_client_class
    classes = _CLIENT_CLASSES

    def create_client_class(self: Any, service_name: str, service_model: Any) -> Any:
        # Every session registers the same handlers, so one class per service and API
        # version serves them all; building it (a docstring per operation) costs more than
        # the rest of a client's creation.
        key = (service_name, str(service_model.api_version))
        with lock:
            if key not in classes:
                classes[key] = original_client_class(self, service_name, service_model)
            return classes[key]

    botocore.session.create_loader = create_loader
    creator._create_client_class = create_client_class
    try:
        with registered(
            [("before-parameter-build", before_parameter_build), ("after-call", after_call)]
        ):
            yield
    finally:
        botocore.session.create_loader = original_create_loader
        creator._create_client_class = original_client_class
