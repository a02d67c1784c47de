"""The layer ships no AWS SDK: every AWS call the functions make must exist in the runtime's.

The python3.13 runtime brings boto3 and botocore, at a version AWS no longer lists ("The
version of the AWS SDK included in the Python runtime depends on the runtime version and your
AWS Region": Lambda Developer Guide, "Building Lambda functions with Python", "Runtime-included
SDK versions"). ``RUNTIME_BOTOCORE`` is one reported in that runtime; its service models
(``botocore/data/<service>/<api version>/service-2.json``, read from the wheel, never
imported) are what the functions' requests must fit. botocore checks a request against its
model before sending it (``botocore.validate.ParamValidator``): an operation it does not know
is an ``AttributeError`` of the client, a member it does not know a ``ParamValidationError``.

The calls are found two ways, which must agree:

- ``static_calls`` reads the code (``ast``): every use of a ``batchscratch.aws.client()``
  client (``client("fsx").describe_file_systems(...)``, a client or paginator kept in a name,
  ``functools.partial(batch.delete_job_queue, ...)``) and every Powertools call that calls
  AWS (``LIBRARY_CALLS``). It sees every code path, and the members named at the call; any
  other use of a client fails it, so that nothing escapes it. It cannot see the members of a
  request built as a dict (``**request``).
- ``recorded_requests`` rehearses a few scenarios and records every request the functions and
  Powertools send (botocore's ``before-parameter-build``): whole requests, nested members
  included, but only on the paths those runs take. Every request built as a dict must be
  among them.

If the runtime's botocore lacks an API the functions need, the layer would have to ship
botocore again (and boto3 with it): these tests say which.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import subprocess
import sys
import zipfile
from collections import ChainMap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from botocore import xform_name
from botocore.handlers import BUILTIN_HANDLERS
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from tests.unit.test_layer_contents import REPO, SOURCES
from tools.rehearse import run_scenario

RUNTIME_BOTOCORE = "1.38.36"
"""botocore of the python3.13 runtime: 1.38.36 was reported in August 2025 for the python3.12
and python3.13 runtimes alike (terricain/aioboto3#381). Runtime updates bring newer ones,
which keep the operations and members of the older: an older floor is the safe side."""

CACHE = Path(sys.prefix) / "runtime-sdk"
"""Where the runtime's botocore wheel is kept once downloaded (inside the virtualenv)."""

LIBRARY_CALLS = {("parameters", "get_secret"): ("secretsmanager", "GetSecretValue")}
"""Powertools calls (``module name.function``) that call AWS, and the API each calls
(Powertools' ``SecretsProvider`` calls Secrets Manager GetSecretValue)."""

NOT_OPERATIONS = frozenset({"meta", "exceptions", "can_paginate", "close"})
"""Client attributes that are no API operation."""

REHEARSED = (
    "only_ebs/default",
    "only_ebs/application-failure",
    "only_ebs/release-report-run-twice",
    "task_export/default",
    "task_export/abort-during-job",
    "auto_export/default",
)
"""Scenarios whose requests ``recorded_requests`` records: each mode's run, failure path,
release after an abort, and a release that reports."""


# --------------------------------------------------------------------------- the runtime's models


def runtime_wheel(version: str) -> Path:
    """The botocore ``version`` wheel, downloaded from PyPI into ``CACHE`` on first use.

    Raises:
        RuntimeError: pip could not download it (no network?): its output says why.
    """
    wheel = CACHE / f"botocore-{version}-py3-none-any.whl"
    if not wheel.is_file():
        pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet"]
        done = subprocess.run(
            [
                *pip,
                "--no-deps",
                "--only-binary=:all:",
                f"botocore=={version}",
                "--dest",
                str(CACHE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not wheel.is_file():
            raise RuntimeError(f"cannot download botocore {version}:\n{done.stdout}{done.stderr}")
    return wheel


@cache
def runtime_model(service: str, version: str) -> ServiceModel:
    """The ``service`` model of botocore ``version``: its newest API version, as botocore's
    loader picks it (``service-2.json``, or ``.json.gz`` in newer wheels).

    Raises:
        LookupError: that botocore has no such service.
    """
    with zipfile.ZipFile(runtime_wheel(version)) as wheel:
        pattern = re.compile(rf"botocore/data/{re.escape(service)}/[^/]+/service-2\.json(\.gz)?")
        names = sorted(name for name in wheel.namelist() if pattern.fullmatch(name))
        if not names:
            raise LookupError(f"botocore {version} has no service {service}")
        raw = wheel.read(names[-1])
    data = json.loads(gzip.decompress(raw) if names[-1].endswith(".gz") else raw)
    return ServiceModel(data, service_name=service)


def runtime_operation(service: str, method: str, version: str = RUNTIME_BOTOCORE) -> OperationModel:
    """botocore ``version``'s model of the client method ``method``
    (``describe_file_systems``) or the operation ``method`` (``DescribeFileSystems``) of
    ``service``.

    Raises:
        LookupError: that botocore has no such operation.
    """
    model = runtime_model(service, version)
    names = {xform_name(name): name for name in model.operation_names}
    name = names.get(method, method)
    if name not in model.operation_names:
        raise LookupError(f"{service} {method}: not in botocore {version}")
    return model.operation_model(name)


def request_errors(
    service: str, operation: str, params: dict[str, Any], version: str = RUNTIME_BOTOCORE
) -> list[str]:
    """What botocore ``version`` refuses in a request before sending it: an unknown
    operation, unknown or missing members, wrong types (``ParamValidator``, the check every
    client runs). Empty when it sends the request."""
    try:
        model = runtime_operation(service, operation, version)
    except LookupError as error:
        return [str(error)]
    if model.input_shape is None:
        return [f"{service} {operation} takes no input"] if params else []
    report = ParamValidator().validate(params, model.input_shape)
    if report.has_errors():
        return [f"{service} {operation}: {report.generate_report()}"]
    return []


# --------------------------------------------------------------------------- the code's calls


class UnfollowedClient(ValueError):
    """A client is used in a way ``static_calls`` cannot follow to its operations."""


@dataclass(frozen=True)
class Call:
    """One AWS call in the code: ``method`` is the client method (``describe_volumes``),
    ``members`` the request members named at the call; ``built`` is true when the request
    has members the code does not name there (``**request``)."""

    service: str
    method: str
    members: frozenset[str]
    built: bool
    where: str


Kind = tuple[str, ...]
"""What an expression evaluates to: ``("client", service)`` or
``("paginator", service, method)``."""

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope`` outside its nested functions (each a scope of its own)."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


class _Collector:
    """The calls of one source file (``static_calls``)."""

    def __init__(self, source: str, label: str) -> None:
        self.label = label
        tree = ast.parse(source, label)
        self.parents = {
            child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
        }
        self.calls: list[Call] = []
        self._scope(tree, ChainMap())

    def _fail(self, node: ast.AST, what: str) -> UnfollowedClient:
        return UnfollowedClient(f"{self.label}:{getattr(node, 'lineno', '?')}: {what}")

    def _where(self, node: ast.AST) -> str:
        return f"{self.label}:{getattr(node, 'lineno', '?')}"

    def _kind(self, node: ast.AST, bound: ChainMap[str, Kind]) -> Kind | None:
        if isinstance(node, ast.Name):
            return bound.get(node.id) if isinstance(node.ctx, ast.Load) else None
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Name) and func.id == "client":
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant):
                raise self._fail(node, "client() takes one literal service name here")
            return ("client", str(node.args[0].value))
        if isinstance(func, ast.Attribute) and func.attr == "get_paginator":
            owner = self._kind(func.value, bound)
            if owner is None or owner[0] != "client":
                return None
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Constant):
                raise self._fail(node, "get_paginator() takes one literal operation here")
            return ("paginator", owner[1], str(node.args[0].value))
        return None

    def _scope(self, scope: ast.AST, outer: ChainMap[str, Kind]) -> None:
        bound = outer.new_child()
        nodes = list(_own_nodes(scope))
        for node in nodes:  # the names bound to clients or paginators, before their uses
            if not isinstance(node, ast.Assign):
                continue
            pairs: list[tuple[ast.expr, ast.expr]] = []
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs.extend(zip(target.elts, node.value.elts, strict=True))
                else:
                    pairs.append((target, node.value))
            for target, value in pairs:
                kind = self._kind(value, bound)
                if kind is None:
                    continue
                if not isinstance(target, ast.Name):
                    raise self._fail(node, f"a {kind[0]} kept in a {type(target).__name__}")
                bound[target.id] = kind
        for node in nodes:
            kind = self._kind(node, bound)
            if kind is not None:
                self._use(node, kind)
            self._library_call(node)
        for node in nodes:
            if isinstance(node, _SCOPES):
                self._scope(node, bound)

    def _library_call(self, node: ast.AST) -> None:
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and any(module == node.value.id for module, _ in LIBRARY_CALLS)
            and node.attr != "exceptions"
        ):
            return
        api = LIBRARY_CALLS.get((node.value.id, node.attr))
        if api is None:
            raise self._fail(node, f"{node.value.id}.{node.attr}: add it to LIBRARY_CALLS")
        self.calls.append(Call(api[0], api[1], frozenset(), True, self._where(node)))

    @staticmethod
    def _members(call: ast.Call, positional: int = 0) -> tuple[frozenset[str], bool]:
        names = frozenset(k.arg for k in call.keywords if k.arg is not None)
        built = any(k.arg is None for k in call.keywords) or len(call.args) > positional
        return names, built

    def _use(self, node: ast.AST, kind: Kind) -> None:
        parent = self.parents[node]
        if isinstance(parent, ast.Assign) and parent.value is node:
            return
        if isinstance(parent, ast.Tuple) and isinstance(self.parents[parent], ast.Assign):
            return
        if not (isinstance(parent, ast.Attribute) and parent.value is node):
            raise self._fail(node, f"a {kind[0]} used as {type(parent).__name__}")
        outer = self.parents[parent]
        called = isinstance(outer, ast.Call) and outer.func is parent
        if kind[0] == "paginator":
            if parent.attr != "paginate" or not isinstance(outer, ast.Call) or not called:
                raise self._fail(node, f"a paginator's {parent.attr} used")
            names, built = self._members(outer)
            members = names - {"PaginationConfig"}
            self.calls.append(Call(kind[1], kind[2], members, built, self._where(outer)))
            return
        method = parent.attr
        if method in NOT_OPERATIONS or method == "get_paginator":
            return  # a get_paginator() call is a paginator of its own
        if isinstance(outer, ast.Call) and called:
            names, built = self._members(outer)
            self.calls.append(Call(kind[1], method, names, built, self._where(outer)))
            return
        if (
            isinstance(outer, ast.Call)
            and isinstance(outer.func, ast.Name)
            and outer.func.id == "partial"
            and outer.args[:1] == [parent]
        ):
            names, built = self._members(outer, positional=1)
            self.calls.append(Call(kind[1], method, names, built, self._where(outer)))
            return
        raise self._fail(parent, f"the {kind[1]} client's {method} used as {type(outer).__name__}")


def calls_in(source: str, label: str) -> list[Call]:
    """The AWS calls of one module's source (``label`` names it in the results).

    Raises:
        UnfollowedClient: a client, paginator or ``LIBRARY_CALLS`` module is used otherwise
            than as the module docstring lists.
    """
    return _Collector(source, label).calls


def static_calls() -> list[Call]:
    """The AWS calls of everything deployed to Lambda (``SOURCES``)."""
    return [
        call for path in SOURCES for call in calls_in(path.read_text(), str(path.relative_to(REPO)))
    ]


# --------------------------------------------------------------------------- the recorded requests


_OURS = (REPO / "layers" / "common" / "batchscratch", REPO / "functions")
_LIBRARY = "aws_lambda_powertools"
_OTHERS = (REPO / "tools",)


def _sender(frame: FrameType | None) -> bool:
    """Whether the innermost caller outside the SDK is a function's code (the layer, a
    handler, or Powertools on their behalf), not moto or the rehearsal."""
    while frame is not None:
        path = Path(frame.f_code.co_filename).resolve()
        if any(path.is_relative_to(root) for root in _OURS) or _LIBRARY in path.parts:
            return True
        if "moto" in path.parts or any(path.is_relative_to(root) for root in _OTHERS):
            return False
        frame = frame.f_back
    return False


@dataclass(frozen=True)
class Request:
    """A request a function sent: ``operation`` is the API's name (``DescribeVolumes``)."""

    service: str
    operation: str
    params: dict[str, Any]


@cache
def recorded_requests() -> tuple[Request, ...]:
    """Every request the functions send in the ``REHEARSED`` scenarios."""
    seen: list[Request] = []

    def record(params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        if _sender(sys._getframe(1)):
            seen.append(Request(model.service_model.service_name, model.name, dict(params)))

    hook = ("before-parameter-build", record)
    BUILTIN_HANDLERS.append(hook)
    try:
        for name in REHEARSED:
            run_scenario(REPO / "scenarios" / f"{name}.yaml", quiet=True)
    finally:
        BUILTIN_HANDLERS.remove(hook)
    return tuple(seen)


# --------------------------------------------------------------------------- the checks


def test_every_call_in_the_code_exists_in_the_runtime_sdk() -> None:
    calls = static_calls()
    assert {call.service for call in calls} >= {"batch", "ec2", "fsx", "secretsmanager"}
    problems = []
    for call in calls:
        try:
            operation = runtime_operation(call.service, call.method)
        except LookupError as error:
            problems.append(f"{call.where}: {error}")
            continue
        known = set(operation.input_shape.members) if operation.input_shape else set()
        problems.extend(
            f"{call.where}: {call.service} {operation.name} has no member {member} in "
            f"botocore {RUNTIME_BOTOCORE}"
            for member in sorted(call.members - known)
        )
    assert not problems, "\n".join(problems)


def test_every_request_the_functions_send_fits_the_runtime_sdk() -> None:
    requests = recorded_requests()
    problems = sorted(
        {
            error
            for request in requests
            for error in request_errors(request.service, request.operation, request.params)
        }
    )
    assert not problems, "\n".join(problems)


def test_the_code_and_the_rehearsals_agree_on_the_calls() -> None:
    calls = static_calls()
    found = {(call.service, xform_name(call.method)) for call in calls}
    sent = {(request.service, xform_name(request.operation)) for request in recorded_requests()}
    assert sent <= found, f"static_calls misses what the rehearsals send: {sorted(sent - found)}"
    # The members of a built request are only seen when it is sent: each must be.
    built = {(call.service, xform_name(call.method)) for call in calls if call.built}
    assert built <= sent, f"no rehearsal sends {sorted(built - sent)}: add one to REHEARSED"


# --------------------------------------------------------------------------- the checks can fail


@pytest.mark.parametrize(
    "source",
    [
        'helper(client("ec2"))',
        'ec2 = client("ec2")\nhelper(ec2.describe_volumes)',
        'service = "ec2"\nclient(service).describe_volumes()',
        'self.ec2 = client("ec2")',
        'client("fsx").get_paginator("describe_file_systems")',
        "parameters.get_parameter('x')",
    ],
)
def test_a_client_use_the_collector_cannot_follow_fails_it(source: str) -> None:
    with pytest.raises(UnfollowedClient):
        calls_in(source, "example.py")


def test_the_collector_reads_each_way_the_code_calls() -> None:
    source = """
def run():
    batch, ec2 = client("batch"), client("ec2")
    pages = client("fsx").get_paginator("describe_file_systems")
    for page in pages.paginate(FileSystemIds=["fs-1"], PaginationConfig={}):
        ec2.delete_volume(VolumeId="vol-1")
    stop = partial(batch.update_job_queue, jobQueue="q", state="DISABLED")
    client("sns").publish(TopicArn="t", **message)
    return parameters.get_secret("id")
"""
    calls = {(c.service, c.method): (set(c.members), c.built) for c in calls_in(source, "x.py")}
    assert calls == {
        ("fsx", "describe_file_systems"): ({"FileSystemIds"}, False),
        ("ec2", "delete_volume"): ({"VolumeId"}, False),
        ("batch", "update_job_queue"): ({"jobQueue", "state"}, False),
        ("sns", "publish"): ({"TopicArn"}, True),
        ("secretsmanager", "GetSecretValue"): (set(), True),
    }


def test_a_request_the_runtime_sdk_refuses_is_reported() -> None:
    assert (
        request_errors("fsx", "DescribeFileSystems", {"FileSystemIds": ["fs-0123456789abcdef0"]})
        == []
    )
    assert request_errors("fsx", "DescribeFileSystems", {"FileSystemIDs": ["fs-0123456789abcdef0"]})
    assert request_errors("fsx", "DescribeFileSystem", {})
    assert request_errors("batch", "CreateJobQueue", {"jobQueueName": "q", "priority": 1})
