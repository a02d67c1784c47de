"""Refuse what AWS refuses: every request is checked against its service model's constraints.

moto accepts almost any value. botocore checks on the client side only that required
members are there, that types fit and the ``min`` lengths; the service then checks the rest
of its model: ``pattern``, ``max`` lengths, numeric ranges, ``enum`` values. This module
checks them all (``min`` again too), walking the operation's input shape recursively
(structures, lists, maps with their key and value shapes), plus a few constraints AWS states
only in prose (``DOCUMENTED``: each entry quotes its source).

``installed(sim)`` registers a botocore ``before-call`` hook through ``BUILTIN_HANDLERS``
(as ``hooks`` does), so it sees every client of the process: the handlers', the Step Functions
interpreter's own (``batch:submitJob.sync``, ``lambda:invoke``) and the rehearsal's. A request
with a violation never reaches moto: the hook answers with the error the service would send
(``SERVICE_ERRORS``), in the service's wire protocol (``hooks.error_response``), which
botocore parses into the ``ClientError`` AWS would give; the refusal is recorded in the
simulation.

Patterns in the models are Java regular expressions, matched against the whole value:
DynamoDB refuses the table name '"smart-dcb-messages"' against ``[a-zA-Z0-9_.-]+``
(aws/aws-cli#790) although the pattern matches inside it. They are compiled with the
``regex`` package after ``java_pattern`` rewrites the constructs whose meaning differs
(``\\d \\w \\s`` and ``.``); a pattern that cannot be compiled raises ``PatternError``, never
passes unchecked (tests/e2e/test_localaws_constraints.py compiles every pattern of the
services the project calls).
"""

from __future__ import annotations

import functools
import html
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import botocore.session
import regex  # type: ignore[import-untyped]
from botocore.endpoint import convert_to_response_dict
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser

from tools.localaws.hooks import error_response, registered
from tools.localaws.simulation import TAG_EXECUTION, Simulation

# --------------------------------------------------------------------------- patterns


class PatternError(ValueError):
    """A model pattern that the ``regex`` package cannot compile (even after translation)."""


_JAVA_SHORTHANDS = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\x0B\\f\\r"}
"""Java's ``\\d``, ``\\w`` and ``\\s`` are ASCII-only (java.util.regex.Pattern, without
UNICODE_CHARACTER_CLASS); Python's are Unicode. ``regex.ASCII`` would also narrow ``\\p{L}``,
which FSx's tag pattern needs Unicode, so the classes are spelled out instead."""

_JAVA_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"
"""Java's ``.`` matches anything but its line terminators (java.util.regex.Pattern, "Line
terminators"); Python's excludes only ``\\n``."""

PATTERN_TRANSLATIONS: dict[str, tuple[str, str]] = {}
"""Model patterns ``regex`` cannot compile even after ``java_pattern``: pattern ->
(replacement, why). None of the services the project calls has one (botocore 1.43.127):
tests/e2e/test_localaws_constraints.py fails, naming the pattern, when one appears."""


def java_pattern(pattern: str) -> str:
    """Rewrite a Java regular expression for the ``regex`` package (version 1 syntax, which,
    like Java, scopes inline flags and allows classes nested in classes)."""
    out: list[str] = []
    depth = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped.lower() in _JAVA_SHORTHANDS:
                negate = "^" if escaped.isupper() else ""
                out.append(f"[{negate}{_JAVA_SHORTHANDS[escaped.lower()]}]")
            else:
                out.append(char + escaped)
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == "." and not depth:
            char = _JAVA_DOT
        out.append(char)
        index += 1
    return "".join(out)


@functools.cache
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile a model pattern; ``fullmatch`` it against a value, as AWS does.

    Raises:
        PatternError: the pattern cannot be compiled (add it to ``PATTERN_TRANSLATIONS``).
    """
    source = PATTERN_TRANSLATIONS.get(pattern, (pattern, ""))[0]
    try:
        return regex.compile(java_pattern(source), regex.V1)
    except regex.error as error:
        raise PatternError(
            f"pattern {pattern!r} cannot be compiled ({error}); give it a translation in "
            "tools.localaws.constraints.PATTERN_TRANSLATIONS"
        ) from None


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The botocore model of ``service`` (a boto3 client name: "ec2", "stepfunctions")."""
    return botocore.session.get_session().get_service_model(service)


def model_patterns(service: str) -> dict[str, list[str]]:
    """Every pattern of ``service``'s model -> the shapes that have it."""
    model = service_model(service)
    found: dict[str, list[str]] = {}
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern is not None:
            found.setdefault(pattern, []).append(name)
    return found


# --------------------------------------------------------------------------- documented


@dataclass(frozen=True)
class DocumentedRule:
    """A constraint AWS states only in prose, not as a model trait.

    It applies to ``member`` of the structure ``shape``, or (``member`` None) to every value
    of the shape ``shape``. ``quotes`` are sentences of its source: the botocore
    documentation of ``documented_in`` (a ``(shape, member)`` of the same service; default:
    where the rule applies), or the page ``url``. ``pattern`` (``regex`` syntax, matched
    against the whole value) and ``max_length`` are the rule as read from them.
    """

    service: str
    shape: str
    member: str | None
    quotes: tuple[str, ...]
    rule: str
    """How a violation is described: "Member must ..."."""
    pattern: str | None = None
    max_length: int | None = None
    code: str | None = None
    """The error AWS answers with, where it is not the service's usual one (``SERVICE_ERRORS``)."""
    url: str | None = None
    documented_in: tuple[str, str | None] | None = None
    note: str = ""

    @property
    def source(self) -> tuple[str, str | None]:
        return self.documented_in or (self.shape, self.member)

    @functools.cached_property
    def compiled(self) -> regex.Pattern[str] | None:
        return regex.compile(self.pattern, regex.V1) if self.pattern else None


_EC2_CHARACTERS = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]"
_EC2_RULE = "Member must consist of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*"
_EC2_RULE_NOTE = (
    "The sentence leaves out &, which EC2's own answer lists: 'Invalid rule description. "
    "Valid descriptions are strings less than 256 characters from the following set:  "
    "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*' (InvalidParameterValue, seen in "
    "aws-cloudformation/cfn-lint#173 and agentic-community/mcp-gateway-registry#1728); the "
    "check follows the answer."
)
_TAG_CHARACTERS = r"[\p{L}\p{Z}\p{N}+\-=._:/@]*"
_BATCH_NAME_QUOTE = (
    "It can contain uppercase and lowercase letters, numbers, hyphens (-), and underscores (_)."
)
_SFN_NAME_PATTERN = (
    r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff\U0010ffff]*"
)
_SFN_NAME_QUOTES = (
    "A name must not contain: white space brackets < > { } [ ] wildcard characters ? * "
    'special characters " # % \\ ^ | ~ ` $ & , ; : / control characters (U+0000-001F, '
    "U+007F-009F, U+FFFE-FFFF) surrogates (U+D800-DFFF)",
)

DOCUMENTED: tuple[DocumentedRule, ...] = (
    DocumentedRule(
        "ec2",
        "CreateSecurityGroupRequest",
        "Description",
        (
            "Constraints: Up to 255 characters in length",
            "Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
        ),
        _EC2_RULE,
        pattern=_EC2_CHARACTERS + "*",
        max_length=255,
    ),
    DocumentedRule(
        "ec2",
        "CreateSecurityGroupRequest",
        "GroupName",
        (
            "Constraints: Up to 255 characters in length. Can't start with sg-.",
            "Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
        ),
        _EC2_RULE + ", not starting with sg-",
        pattern="(?!sg-)" + _EC2_CHARACTERS + "*",
        max_length=255,
    ),
    *(
        DocumentedRule(
            "ec2",
            shape,
            "Description",
            (
                "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, "
                "0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
            ),
            _EC2_RULE,
            pattern=_EC2_CHARACTERS + "*",
            max_length=255,
        )
        for shape in ("IpRange", "Ipv6Range")
    ),
    *(
        DocumentedRule(
            "ec2",
            shape,
            "Description",
            (
                "Constraints: Up to 255 characters in length. Allowed characters are a-z, A-Z, "
                "0-9, spaces, and ._-:/()#,@[]+=;{}!$*",
            ),
            _EC2_RULE,
            pattern=_EC2_CHARACTERS + "*",
            max_length=255,
            note=_EC2_RULE_NOTE,
        )
        for shape in ("UserIdGroupPair", "PrefixListId")
    ),
    DocumentedRule(
        "ec2",
        "Tag",
        "Key",
        (
            "Constraints: Tag keys are case-sensitive and accept a maximum of 127 Unicode "
            "characters. May not begin with aws:.",
        ),
        "Member must not begin with aws:",
        pattern=r"(?!aws:)[\s\S]*",
        max_length=127,
    ),
    DocumentedRule(
        "ec2",
        "Tag",
        "Value",
        (
            "Constraints: Tag values are case-sensitive and accept a maximum of 256 Unicode "
            "characters.",
        ),
        "Member must have length less than or equal to 256",
        max_length=256,
    ),
    *(
        DocumentedRule(
            "batch",
            shape,
            None,
            (
                "Generally allowed characters are letters, numbers, spaces representable in "
                "UTF-8, and the following characters: + - = . _ : / @.",
            ),
            "Member must consist of letters, numbers, spaces and + - = . _ : / @",
            pattern=_TAG_CHARACTERS,
            code="BadRequestException",
            url="https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html",
            note=(
                "The Batch User Guide's tag restrictions (the model gives TagKey and TagValue "
                "lengths only). Batch refuses such a value: \"'^GATC' is not a valid value "
                "for TagValue - it contains illegal characters (Service: AWSBatch; Status "
                'Code: 400; Error Code: BadRequestException)" (nf-core/hic#224).'
            ),
        )
        for shape in ("TagKey", "TagValue")
    ),
    *(
        DocumentedRule(
            "batch",
            shape,
            member,
            (quote, _BATCH_NAME_QUOTE),
            "Member must consist of letters, numbers, hyphens (-) and underscores (_)",
            pattern=r"[A-Za-z0-9_-]*",
            max_length=128,
        )
        for shape, member, quote in (
            (
                "CreateComputeEnvironmentRequest",
                "computeEnvironmentName",
                "It can be up to 128 characters long.",
            ),
            ("CreateJobQueueRequest", "jobQueueName", "It can be up to 128 letters long."),
            (
                "RegisterJobDefinitionRequest",
                "jobDefinitionName",
                "It can be up to 128 letters long.",
            ),
        )
    ),
    DocumentedRule(
        "batch",
        "SubmitJobRequest",
        "jobName",
        (
            "It can be up to 128 letters long. The first character must be alphanumeric, can "
            "contain uppercase and lowercase letters, numbers, hyphens (-), and underscores (_).",
        ),
        "Member must begin with a letter or number and consist of letters, numbers, hyphens (-) "
        "and underscores (_)",
        pattern=r"([A-Za-z0-9][A-Za-z0-9_-]*)?",
        max_length=128,
    ),
    *(
        DocumentedRule(
            "stepfunctions",
            shape,
            "name",
            _SFN_NAME_QUOTES,
            "Member must not contain white space, brackets, wildcards, special characters "
            '" # % \\ ^ | ~ ` $ & , ; : / or control characters',
            pattern=_SFN_NAME_PATTERN,
            code="InvalidName",
        )
        for shape in ("CreateStateMachineInput", "StartExecutionInput")
    ),
    *(
        DocumentedRule(
            "stepfunctions",
            shape,
            None,
            (
                "Tags may only contain Unicode letters, digits, white space, or these symbols: "
                "_ . : / = + - @.",
            ),
            "Member must consist of letters, digits, white space and _ . : / = + - @",
            pattern=r"[\p{L}\p{N}\s_.:/=+\-@]*",
            documented_in=("CreateStateMachineInput", "tags"),
        )
        for shape in ("TagKey", "TagValue")
    ),
    DocumentedRule(
        "secretsmanager",
        "CreateSecretRequest",
        "Name",
        (
            "The secret name can contain ASCII letters, numbers, and the following characters: "
            "/_+=.@-",
        ),
        "Member must consist of ASCII letters, numbers and /_+=.@-",
        pattern=r"[A-Za-z0-9/_+=.@-]*",
    ),
    DocumentedRule(
        "cloudwatch",
        "MetricDataQuery",
        "Id",
        (
            "The valid characters are letters, numbers, and underscore. The first character "
            "must be a lowercase letter.",
        ),
        "Member must begin with a lowercase letter and consist of letters, numbers and _",
        pattern=r"[a-z][a-zA-Z0-9_]*",
    ),
    DocumentedRule(
        "cloudformation",
        "CreateStackInput",
        "StackName",
        (
            "A stack name can contain only alphanumeric characters (case sensitive) and "
            "hyphens. It must start with an alphabetical character and can't be longer than "
            "128 characters.",
        ),
        "Member must begin with a letter and consist of letters, numbers and hyphens",
        pattern=r"[A-Za-z][A-Za-z0-9-]*",
        max_length=128,
    ),
)
"""Constraints the botocore models state only in documentation strings (each entry quotes
them; tests/e2e/test_localaws_constraints.py checks the quotes are still there), or that
only a user guide states (``url``)."""


def documentation_text(service: str, shape: str, member: str | None = None) -> str:
    """The botocore documentation of a shape or a structure's member, as plain text."""
    found = service_model(service).shape_for(shape)
    if member is not None:
        assert isinstance(found, StructureShape), f"{service} {shape} is not a structure"
        found = found.members[member]
    text = found.documentation or ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


# --------------------------------------------------------------------------- violations


@dataclass(frozen=True)
class Violation:
    """A value a service would refuse: where it is, what it is, the rule it breaks."""

    path: str
    """The member path as AWS names it: "tags.1.member.value" (EC2: "IpPermissions.1.…")."""
    value: Any
    rule: str
    """"Member must …", as in AWS's messages."""
    code: str | None = None
    """The error code AWS answers this with, where it is not the service's usual one."""

    def __str__(self) -> str:
        return (
            f"Value {_shown(self.value)} at '{self.path}' failed to satisfy constraint: {self.rule}"
        )


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "'{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}'"
    if isinstance(value, (list, tuple)):
        return "'[" + ", ".join(str(item) for item in value) + "]'"
    return f"'{value}'"


@dataclass(frozen=True)
class Answer:
    """The error a service answers a request with."""

    code: str
    status: int
    message: str


SERVICE_ERRORS: dict[str, tuple[str, int]] = {
    # EC2 API Reference, "Error codes for the Amazon EC2 API": InvalidParameterValue; EC2
    # answers an invalid rule description with it (aws-cloudformation/cfn-lint#173).
    "ec2": ("InvalidParameterValue", 400),
    # "1 validation error detected: Value null at 'storageCapacity' failed to satisfy
    # constraint: ... (Service: AmazonFSx; Status Code: 400; Error Code: BadRequest)"
    # (awsdocs/aws-cloudformation-user-guide#851); BadRequest is in every FSx operation's
    # errors in the model.
    "fsx": ("BadRequest", 400),
    # The error of every Batch operation in the model: "These errors are usually caused by a
    # client action."
    "batch": ("ClientException", 400),
    # Query-protocol services answer "ValidationError: 1 validation error detected: ..."
    # (IAM: SWO-GS/auto-tag#90; CloudFormation: humanmade/cf-to-tf#5).
    "iam": ("ValidationError", 400),
    "sts": ("ValidationError", 400),
    "cloudformation": ("ValidationError", 400),
    # CloudWatch keeps its query-protocol codes: "ValidationError: The value ... for
    # parameter MetricDataQueries.member.1.Id is not matching the expected pattern
    # ^[a-z][a-zA-Z0-9_]*$." (influxdata/telegraf#5420).
    "cloudwatch": ("ValidationError", 400),
    # S3 has no such framework check; InvalidArgument is its generic 400 (S3 API Reference,
    # "Error codes"). A suspicion: the project sends S3 nothing a model rule refuses.
    "s3": ("InvalidArgument", 400),
}
"""service -> (error code, HTTP status) of a request that breaks a model constraint."""

DEFAULT_ERROR = ("ValidationException", 400)
"""The JSON services' answer: Lambda (awslabs/aws-transit-vpc#32), Step Functions
(wolfeidau/buildkite-serverless-agent#37), DynamoDB (aws/aws-cli#790)."""


def answer(service: str, violations: list[Violation]) -> Answer:
    """The error ``service`` answers a request that has ``violations`` (at least one)."""
    code, status = SERVICE_ERRORS.get(service, DEFAULT_ERROR)
    code = next((v.code for v in violations if v.code), code)
    count = len(violations)
    detected = f"{count} validation error{'s' if count > 1 else ''} detected: "
    return Answer(code, status, detected + "; ".join(str(v) for v in violations))


# --------------------------------------------------------------------------- the walk


@dataclass(eq=False)
class _Node:
    """What to check of one value of a shape (compiled once per shape, see ``_Compiler``)."""

    kind: str
    checks: list[Callable[[Any, str, list[Violation]], None]] = field(default_factory=list)
    members: dict[str, tuple[str, _Node]] = field(default_factory=dict)
    item: _Node | None = None
    key: _Node | None = None
    value: _Node | None = None

    def walk(self, value: Any, path: str, ec2: bool, out: list[Violation]) -> None:
        kind = self.kind
        if kind == "structure":
            if not isinstance(value, Mapping):
                return
            for name, item in value.items():
                entry = self.members.get(name)
                if entry is not None and item is not None:
                    label, node = entry
                    node.walk(item, f"{path}.{label}" if path else label, ec2, out)
            return
        if kind in ("string", "number"):
            if _fits(kind, value):
                for check in self.checks:
                    check(value, path, out)
            return
        if kind == "list":
            if not isinstance(value, (list, tuple)):
                return
            for check in self.checks:
                check(value, path, out)
            if self.item is not None:
                suffix = "" if ec2 else ".member"
                for index, item in enumerate(value, 1):
                    self.item.walk(item, f"{path}.{index}{suffix}", ec2, out)
            return
        if kind == "map" and isinstance(value, Mapping):
            for check in self.checks:
                check(value, path, out)
            for key, item in value.items():
                if self.key is not None:
                    keys: list[Violation] = []
                    self.key.walk(key, path, ec2, keys)
                    out.extend(
                        Violation(
                            v.path, v.value, f"Map keys must satisfy constraint: {v.rule}", v.code
                        )
                        for v in keys
                    )
                if self.value is not None:
                    self.value.walk(item, f"{path}.{key}", ec2, out)


def _fits(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label(name: str, ec2: bool) -> str:
    """AWS names members in messages by their Java field names (FSx: "storageCapacity" for
    StorageCapacity); EC2 by their query names."""
    return name if ec2 else name[:1].lower() + name[1:]


def _length_checks(
    minimum: int | None, maximum: int | None, code: str | None = None
) -> list[Callable[[Any, str, list[Violation]], None]]:
    checks: list[Callable[[Any, str, list[Violation]], None]] = []
    if minimum is not None:

        def at_least(value: Any, path: str, out: list[Violation]) -> None:
            if len(value) < minimum:
                rule = f"Member must have length greater than or equal to {minimum}"
                out.append(Violation(path, value, rule, code))

        checks.append(at_least)
    if maximum is not None:

        def at_most(value: Any, path: str, out: list[Violation]) -> None:
            if len(value) > maximum:
                rule = f"Member must have length less than or equal to {maximum}"
                out.append(Violation(path, value, rule, code))

        checks.append(at_most)
    return checks


def _model_checks(shape: Shape) -> list[Callable[[Any, str, list[Violation]], None]]:
    """The checks of a shape's own traits: enum, min, max, pattern."""
    meta = shape.metadata
    minimum, maximum = meta.get("min"), meta.get("max")
    checks: list[Callable[[Any, str, list[Violation]], None]] = []
    if shape.type_name in ("string", "list", "map"):
        enum = getattr(shape, "enum", None) or []
        if enum and shape.type_name == "string":
            allowed = frozenset(enum)
            rule = f"Member must satisfy enum value set: [{', '.join(enum)}]"

            def in_enum(value: Any, path: str, out: list[Violation]) -> None:
                if value not in allowed:
                    out.append(Violation(path, value, rule))

            checks.append(in_enum)
        checks.extend(_length_checks(minimum, maximum))
        pattern = meta.get("pattern")
        if pattern is not None and shape.type_name == "string":
            compiled = compile_pattern(pattern)
            rule = f"Member must satisfy regular expression pattern: {pattern}"

            def matches(value: Any, path: str, out: list[Violation]) -> None:
                if compiled.fullmatch(value) is None:
                    out.append(Violation(path, value, rule))

            checks.append(matches)
    elif shape.type_name in ("integer", "long", "float", "double"):
        if minimum is not None:

            def not_below(value: Any, path: str, out: list[Violation]) -> None:
                if value < minimum:
                    rule = f"Member must have value greater than or equal to {minimum}"
                    out.append(Violation(path, value, rule))

            checks.append(not_below)
        if maximum is not None:

            def not_above(value: Any, path: str, out: list[Violation]) -> None:
                if value > maximum:
                    rule = f"Member must have value less than or equal to {maximum}"
                    out.append(Violation(path, value, rule))

            checks.append(not_above)
    return checks


def _documented_checks(rule: DocumentedRule) -> list[Callable[[Any, str, list[Violation]], None]]:
    checks = _length_checks(None, rule.max_length, rule.code)
    compiled = rule.compiled
    if compiled is not None:

        def follows(value: Any, path: str, out: list[Violation]) -> None:
            if isinstance(value, str) and compiled.fullmatch(value) is None:
                out.append(Violation(path, value, rule.rule, rule.code))

        checks.append(follows)
    return checks


_CONSTRAINT_TRAITS = ("min", "max", "pattern", "enum")
_KINDS = {
    "structure": "structure",
    "list": "list",
    "map": "map",
    "string": "string",
    "integer": "number",
    "long": "number",
    "float": "number",
    "double": "number",
}


class _Compiler:
    """Compiles shapes of one service model into ``_Node`` trees, each shape once (recursive
    shapes become cycles of nodes)."""

    def __init__(self, service: str, documented: tuple[DocumentedRule, ...]) -> None:
        self.service = service
        self.ec2 = service == "ec2"
        self.nodes: dict[Any, _Node] = {}
        self.on_shape: dict[str, list[DocumentedRule]] = {}
        self.on_member: dict[tuple[str, str], list[DocumentedRule]] = {}
        for rule in documented:
            if rule.service != service:
                continue
            if rule.member is None:
                self.on_shape.setdefault(rule.shape, []).append(rule)
            else:
                self.on_member.setdefault((rule.shape, rule.member), []).append(rule)

    def node(self, shape: Shape, extra: tuple[DocumentedRule, ...] = ()) -> _Node:
        meta = shape.metadata
        key = (
            shape.name,
            tuple((trait, repr(meta[trait])) for trait in _CONSTRAINT_TRAITS if trait in meta),
            tuple(id(rule) for rule in extra),
        )
        found = self.nodes.get(key)
        if found is not None:
            return found
        node = _Node(_KINDS.get(shape.type_name, "other"))
        self.nodes[key] = node
        node.checks = _model_checks(shape)
        for rule in (*self.on_shape.get(shape.name, ()), *extra):
            node.checks.extend(_documented_checks(rule))
        if isinstance(shape, StructureShape):
            for name, member in shape.members.items():
                rules = tuple(self.on_member.get((shape.name, name), ()))
                child = self.node(member, rules)
                if child.kind in ("string", "number", "other") and not child.checks:
                    continue
                node.members[name] = (_label(name, self.ec2), child)
        elif isinstance(shape, ListShape):
            node.item = self.node(shape.member)
        elif isinstance(shape, MapShape):
            node.key = self.node(shape.key)
            node.value = self.node(shape.value)
        return node


_COMPILED: dict[tuple[str, str, str], _Node | None] = {}
_COMPILERS: dict[tuple[str, str], _Compiler] = {}
_COMPILING = threading.Lock()


def _operation_node(operation: OperationModel) -> _Node | None:
    """The compiled input shape of ``operation``, once per operation of a model version (the
    Step Functions interpreter calls from several threads: compiling is serialised, so no
    thread walks a node another is still filling)."""
    service = operation.service_model
    key = (service.service_name, service.api_version, operation.name)
    if key in _COMPILED:
        return _COMPILED[key]
    with _COMPILING:
        if key not in _COMPILED:
            compiler = _COMPILERS.setdefault(key[:2], _Compiler(service.service_name, DOCUMENTED))
            shape = operation.input_shape
            _COMPILED[key] = None if shape is None else compiler.node(shape)
        return _COMPILED[key]


def check(service: str, operation: str, params: Mapping[str, Any]) -> list[Violation]:
    """Return what AWS would refuse in the ``params`` of ``service``'s ``operation`` (a boto3
    client name and a model operation name: ``check("fsx", "TagResource", {...})``)."""
    return check_operation(service_model(service).operation_model(operation), params)


def check_operation(operation: OperationModel, params: Mapping[str, Any]) -> list[Violation]:
    """``check`` for a client's operation model (the one the hook sees)."""
    node = _operation_node(operation)
    out: list[Violation] = []
    if node is not None:
        node.walk(params, "", operation.service_model.service_name == "ec2", out)
    return out


def check_shape(
    shape: Shape,
    value: Any,
    path: str = "",
    *,
    service: str = "",
    documented: tuple[DocumentedRule, ...] = (),
) -> list[Violation]:
    """Return what breaks ``shape``'s constraints in ``value`` (any shape, compiled afresh:
    for tests and one-off checks). ``service`` picks the path style ("ec2") and the
    ``documented`` rules that apply."""
    out: list[Violation] = []
    _Compiler(service, documented).node(shape).walk(value, path, service == "ec2", out)
    return out


# --------------------------------------------------------------------------- the hook

_PARAMS = "localaws_constraint_params"


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def _tagged_execution(params: Mapping[str, Any]) -> str | None:
    """The run's execution ARN from a request's tags, if it carries them."""
    tags: list[Any] = []
    for key in ("Tags", "tags"):
        value = params.get(key)
        if isinstance(value, Mapping):
            tags.extend({"Key": k, "Value": v} for k, v in value.items())
        elif isinstance(value, list):
            tags.extend(value)
    for spec in params.get("TagSpecifications") or []:
        if isinstance(spec, Mapping):
            tags.extend(spec.get("Tags") or [])
    for tag in tags:
        if isinstance(tag, Mapping):
            key = tag.get("Key", tag.get("key"))
            if key == TAG_EXECUTION:
                value = tag.get("Value", tag.get("value"))
                return str(value) if value else None
    return None


def refusal(
    operation: OperationModel, request_dict: Mapping[str, Any], params: Mapping[str, Any]
) -> tuple[Any, dict[str, Any], Answer] | None:
    """The ``(http response, parsed response, answer)`` AWS gives ``params`` of ``operation``,
    or None when it accepts them. ``request_dict``: botocore's serialised request."""
    violations = check_operation(operation, params)
    if not violations:
        return None
    service = operation.service_model
    reply = answer(service.service_name, violations)
    protocol = service.resolved_protocol
    response = error_response(
        protocol,
        str(request_dict.get("url", "")),
        reply.code,
        reply.status,
        reply.message,
        content_type=_header(request_dict.get("headers") or {}, "content-type"),
        request_id="rehearsal-refused",
    )
    parsed = create_parser(protocol).parse(
        convert_to_response_dict(response, operation), cast(Any, operation.output_shape)
    )
    return response, parsed, reply


@contextmanager
def installed(sim: Simulation | None = None) -> Iterator[None]:
    """Check every request of every botocore session made inside; record refusals in ``sim``."""

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = params

    def refuse(
        model: OperationModel, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        api_params = context.get(_PARAMS)
        if api_params is None:
            return None
        found = refusal(model, params, api_params)
        if found is None:
            return None
        response, parsed, reply = found
        if sim is not None:
            sim.record_refusal(
                model.name,
                reply.code,
                reply.message,
                service=str(model.service_model.service_id),
                execution_arn=_tagged_execution(api_params),
            )
        return response, parsed

    with registered([("before-parameter-build", remember), ("before-call", refuse)]):
        yield
