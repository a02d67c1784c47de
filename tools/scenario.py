"""The rehearsal's scenario file: one execution's mode, input, simulated AWS and expectations.

Format: scenarios/README.md. Every key except ``mode`` is optional; unknown keys are refused
with a message naming them, so a typo never silently rehearses something else.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import botocore.session
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from batchscratch.modes import MODES
from tools.localaws.inventory import KINDS
from tools.localaws.stack import DeployError, state_machine_files


class ScenarioError(ValueError):
    """A scenario file that cannot be read or breaks the format; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Storage(_Strict):
    readyAfterPolls: int = Field(0, ge=0, le=1000)
    """Describe calls that still report the storage as creating before it is ready."""
    createFails: bool = False
    """The storage ends in its failed state (EBS ``error``, FSx ``FAILED``)."""


class Attempt(_Strict):
    status: Literal["SUCCEEDED", "FAILED"]
    statusReason: str | None = None
    reason: str | None = None
    """The container's reason (what ``onReason`` matches)."""
    exitCode: int | None = None


class Job(_Strict):
    attempts: list[Attempt] = Field(default_factory=list)


class Export(_Strict):
    taskLifecycle: Literal["SUCCEEDED", "FAILED", "CANCELED"] = "SUCCEEDED"
    failedFiles: int = Field(0, ge=0)
    queueAgeSeconds: list[Annotated[float, Field(ge=0)]] = Field(default_factory=list)
    """AutoExport: ``AgeOfOldestQueuedMessage`` one value a minute after the job, the last
    repeating; empty: the metric is never published."""


class Aws(_Strict):
    storage: Storage = Field(default_factory=Storage)
    job: Job = Field(default_factory=Job)
    export: Export = Field(default_factory=Export)
    throttle: dict[str, int] = Field(default_factory=dict)
    """``"service:Operation"`` -> how many first calls are throttled."""
    abortAfter: str | None = None
    """StopExecution as soon as the execution enters this state."""
    concurrent: int = Field(1, ge=1, le=25)

    @field_validator("throttle")
    @classmethod
    def _throttle_keys(cls, value: dict[str, int]) -> dict[str, int]:
        for key, count in value.items():
            service, _, operation = key.partition(":")
            if not service or not operation or not operation[:1].isupper():
                raise ValueError(f"{key!r} is not 'service:Operation' (e.g. 'ec2:CreateVolume')")
            operations = _operations(service)
            if operations is None:
                raise ValueError(
                    f"{key!r}: {service!r} is not an AWS service prefix "
                    "(e.g. ec2, batch, lambda, states, secretsmanager, fsx, events, logs)"
                )
            if operation not in operations:
                raise ValueError(f"{key!r}: {service} has no operation {operation!r}")
            if count < 0:
                raise ValueError(f"{key}: the number of throttled calls must be >= 0")
        return value


_SERVICE_MODELS = {"states": "stepfunctions", "sfn": "stepfunctions", "eventbridge": "events"}
"""Scenario service prefixes (IAM's) whose botocore service model has another name."""


@functools.cache
def _operations(service: str) -> frozenset[str] | None:
    """The operation names of ``service`` in botocore's service models; None if unknown."""
    session = botocore.session.get_session()
    name = _SERVICE_MODELS.get(service.lower(), service.lower())
    if name not in session.get_available_services():
        return None
    return frozenset(session.get_service_model(name).operation_names)


def _check_entries(value: list[str] | None) -> list[str] | None:
    for entry in value or []:
        kind = ":".join(entry.split(":", 2)[:2])
        if kind not in KINDS:
            raise ValueError(f"{entry!r}: the kind must be one of {', '.join(KINDS)}")
    return value


class Expect(_Strict):
    status: Literal["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"] | None = None
    error: str | None = None
    """The Fail state's error name; ``null`` means no error. Checked only when given."""
    causeContains: str | list[str] | None = None
    """Text the execution's cause must contain (e.g. the configuration key at fault); with a
    list, every item."""
    jobAttempts: int | None = Field(None, ge=0)
    created: dict[str, int] | None = None
    """Exact counts per resource kind; kinds not listed must not have been created."""
    leaked: list[str] | None = None
    retained: list[str] | None = None

    @field_validator("leaked", "retained")
    @classmethod
    def _entries(cls, value: list[str] | None) -> list[str] | None:
        return _check_entries(value)

    @field_validator("created")
    @classmethod
    def _created_kinds(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for kind in value or {}:
            if kind not in KINDS:
                raise ValueError(f"{kind!r} is not a resource kind ({', '.join(KINDS)})")
        return value


_EXECUTION_NAME_MAX = 80
"""Characters an execution name may have (botocore stepfunctions model, StartExecution)."""
_EXECUTION_NAME_REFUSED = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')
"""Characters a Step Functions execution name must not contain, besides control characters
and other white space (botocore stepfunctions model, StartExecution ``name``)."""


class Scenario(_Strict):
    name: str | None = None
    mode: str
    executionName: str | None = Field(None, min_length=1, max_length=_EXECUTION_NAME_MAX)
    """The execution's name (the run id); default ``rehearsal-<scenario name>``. With
    ``concurrent`` above 1, ``-<n>`` follows it."""
    input: Any = Field(default_factory=dict)
    secret: dict[str, Any] = Field(default_factory=dict)
    aws: Aws = Field(default_factory=Aws)
    expect: Expect = Field(default_factory=Expect)

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in MODES:
            raise ValueError(f"not a mode; the modes are {', '.join(MODES)}")
        return value

    @model_validator(mode="after")
    def _names_fit(self) -> Scenario:
        count = self.aws.concurrent
        if self.executionName and count > 1:
            longest = f"{self.executionName}-{count}"
            if len(longest) > _EXECUTION_NAME_MAX:
                raise ValueError(
                    f"executionName: with concurrent = {count}, the names end -1 ... -{count}, "
                    f"and {longest!r} is {len(longest)} characters (Step Functions allows "
                    f"{_EXECUTION_NAME_MAX})"
                )
        return self

    @field_validator("executionName")
    @classmethod
    def _execution_name(cls, value: str | None) -> str | None:
        refused = sorted(
            {c for c in value or "" if c in _EXECUTION_NAME_REFUSED or not c.isprintable()}
        )
        if refused:
            raise ValueError(
                f"Step Functions refuses {' '.join(map(repr, refused))} in execution names"
            )
        return value


def _describe(error: ValidationError) -> str:
    lines = []
    for detail in error.errors():
        where = ".".join(str(part) for part in detail["loc"]) or "(file)"
        if detail["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif detail["type"] == "missing":
            lines.append(f"{where}: required")
        else:
            shown = json.dumps(detail.get("input"), default=str)
            message = str(detail["msg"]).removeprefix("Value error, ")
            lines.append(f"{where} = {shown[:80]}: {message}")
    return "; ".join(lines)


def parse(data: Any, source: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(f"{source}: {_describe(error)}") from None


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML, hence JSON too); ``name`` defaults to its stem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ScenarioError(f"{path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from None
    scenario = parse(data if data is not None else {}, str(path))
    if scenario.name is None:
        scenario = scenario.model_copy(update={"name": path.stem})
    return scenario


_TERMINAL = ("Fail", "Succeed")


def _states(definition: dict[str, Any]) -> dict[str, str]:
    """State name -> type, nested states (Parallel branches, Map processors) included."""
    found: dict[str, str] = {}
    for name, state in (definition.get("States") or {}).items():
        found[name] = str(state.get("Type"))
        for branch in state.get("Branches") or []:
            found.update(_states(branch))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                found.update(_states(state[key]))
    return found


def check_states(scenario: Scenario, root: Path, source: str = "scenario") -> None:
    """Check ``aws.abortAfter`` against the state machine the scenario's mode deploys.

    Raises:
        ScenarioError: not a state of that state machine, or a Fail/Succeed state (the
            execution has ended when it enters one, so there is nothing left to stop).
    """
    state = scenario.aws.abortAfter
    if state is None:
        return
    try:
        files = state_machine_files(root, root / "template.yaml", scenario.mode)
    except DeployError as error:
        raise ScenarioError(f"{source}: aws.abortAfter: {error}") from None
    states: dict[str, str] = {}
    for path in files.values():
        states.update(_states(json.loads(path.read_text())))
    where = ", ".join(str(path.relative_to(root)) for path in files.values()) or "none"
    abortable = sorted(name for name, kind in states.items() if kind not in _TERMINAL)
    if state not in states:
        raise ScenarioError(
            f"{source}: aws.abortAfter = {json.dumps(state)}: not a state of the "
            f"{scenario.mode} state machine ({where}); states: {', '.join(abortable)}"
        )
    if states[state] in _TERMINAL:
        raise ScenarioError(
            f"{source}: aws.abortAfter = {json.dumps(state)}: a {states[state]} state ends the "
            f"execution as it is entered, so there is nothing to stop; states: "
            f"{', '.join(abortable)}"
        )
