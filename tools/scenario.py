"""The rehearsal's scenario file: one execution's mode, input, simulated AWS and expectations.

Format: scenarios/README.md. Every key except ``mode`` is optional; unknown keys are refused
with a message naming them, so a typo never silently rehearses something else.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from batchscratch.modes import MODES
from tools.localaws.behaviour import STATE_MACHINE_CALLER, Aws, Seconds, Strict
from tools.localaws.inventory import KINDS
from tools.localaws.stack import DeployError, function_ids, run_state_machine_file


class ScenarioError(ValueError):
    """A scenario file that cannot be read or breaks the format; the message says where."""


class Range(Strict):
    """A figure of the summary line that must lie between ``min`` and ``max`` (inclusive)."""

    min: Seconds | None = None
    max: Seconds | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


SECONDS_TOLERANCE = 1.0
"""How far a summary's seconds may be from an exact expected figure: the virtual clock also
counts the (sub-second) real time a rehearsal takes."""


def _check_entries(value: list[str] | None) -> list[str] | None:
    for entry in value or []:
        kind = ":".join(entry.split(":", 2)[:2])
        if kind not in KINDS:
            raise ValueError(f"{entry!r}: the kind must be one of {', '.join(KINDS)}")
    return value


_NULLABLE_EXPECTATIONS = frozenset({"error", "release"})
"""The expectations whose ``null`` means something (no error, no release execution); any
other key given as ``null`` would check nothing, so it is refused."""

ExecutionStatus = Literal["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"]
"""How an execution can end: DescribeExecution's ``status`` (botocore stepfunctions model,
``ExecutionStatus``) less ``RUNNING`` (the rehearsal stops what still runs at its deadline)
and ``PENDING_REDRIVE`` (it redrives nothing)."""


class Linked(Strict):
    """One association of the run: its S3 path as a key prefix of the data bucket, and the
    keys it imported when it was created (in any order)."""

    prefix: str
    imported: list[str] = Field(default_factory=list)


class Expect(Strict):
    status: ExecutionStatus | None = None
    error: str | None = None
    """The Fail state's error name; ``null`` means no error. Checked only when given."""
    causeContains: str | Annotated[list[str], Field(min_length=1)] | None = None
    """Text the execution's cause must contain (e.g. the configuration key at fault); with a
    list, every item."""
    jobAttempts: int | None = Field(None, ge=0)
    jobStatus: (
        Literal[
            "SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED", "NONE"
        ]
        | None
    ) = None
    """The run's Batch job at the end (its parent for an array job), one of Batch's
    ``JobStatus`` values; NONE: no job was submitted."""
    jobs: int | None = Field(None, ge=0)
    """How many jobs the run submitted (an array job's children not counted)."""
    created: dict[str, int] | None = None
    """Exact counts per resource kind; kinds not listed must not have been created."""
    leaked: list[str] | None = None
    retained: list[str] | None = None
    retainedReasonContains: str | Annotated[list[str], Field(min_length=1)] | None = None
    """Text a retained resource's ``batch-scratch:retained-reason`` tag must contain."""
    deletedUnexported: list[str] | None = None
    """Storage deleted without an export that saved it (entries as in ``leaked``)."""
    exportTasks: int | None = Field(None, ge=0)
    release: ExecutionStatus | None = None
    """How the release execution started for the run ended (the last one, when several
    were); ``null`` means none was started. Checked only when given."""
    notifications: int | None = Field(None, ge=0)
    """The SNS messages naming the run published to the stack's topics."""
    virtualSeconds: float | Range | None = None
    storageSeconds: float | Range | None = None
    computeSecondsAfterJob: float | Range | None = None
    linked: dict[str, Linked] | None = None
    """File system path -> what the run's association there links and imported: exactly
    these paths (``{execution}`` in a text stands for the execution's name)."""

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key not in _NULLABLE_EXPECTATIONS and key in cls.model_fields:
                    raise ValueError(
                        f"{key}: null checks nothing; leave the key out, or give a value"
                    )
        return data

    @field_validator("leaked", "retained", "deletedUnexported")
    @classmethod
    def _entries(cls, value: list[str] | None) -> list[str] | None:
        return _check_entries(value)

    @field_validator("created")
    @classmethod
    def _created_kinds(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for kind, count in (value or {}).items():
            if kind not in KINDS:
                raise ValueError(f"{kind!r} is not a resource kind ({', '.join(KINDS)})")
            if count < 0:
                raise ValueError(f"{kind}: a count is at least 0")
        return value


class Execution(Strict):
    """One execution of ``executions``: its own name, input and start time."""

    name: str | None = Field(None, min_length=1, max_length=80)
    input: Any = None
    """The execution input (default: the scenario's ``input``)."""
    startAt: Seconds = 0.0
    """Virtual seconds after the first execution started."""


_EXECUTION_NAME_MAX = 80
"""Characters an execution name may have (botocore stepfunctions model, StartExecution)."""
_EXECUTION_NAME_REFUSED = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')
"""Characters a Step Functions execution name must not contain, besides control characters
and other white space (botocore stepfunctions model, StartExecution ``name``)."""


_LUSTRE_MODES = frozenset(name for name, mode in MODES.items() if mode.post_job)
"""The modes whose storage is an FSx for Lustre file system exported to S3."""
_AUTO_EXPORT_MODES = frozenset(name for name, mode in MODES.items() if mode.exports_automatically)

_APPLIES: dict[tuple[str, ...], frozenset[str]] = {
    ("aws", "export"): _LUSTRE_MODES,
    ("aws", "export", "queueAgeSeconds"): _AUTO_EXPORT_MODES,
    ("aws", "association"): _LUSTRE_MODES,
    ("aws", "snapshot"): frozenset(MODES) - _LUSTRE_MODES,
    ("aws", "storage", "heldSeconds"): frozenset(MODES) - _LUSTRE_MODES,
    ("expect", "exportTasks"): _LUSTRE_MODES,
    ("expect", "linked"): _LUSTRE_MODES,
}
"""Keys that mean something only in some modes: given in another mode, they would be
silently ignored, so they are refused."""


def _given(model: Any, path: tuple[str, ...]) -> bool:
    """Whether the file gave the key at ``path`` (not just its default)."""
    for part in path:
        if part not in model.model_fields_set:
            return False
        model = getattr(model, part)
    return True


def _finite(value: Any, where: str) -> None:
    """Refuse NaN and infinities anywhere in ``value`` (JSON, hence Step Functions, has
    none)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a finite number (JSON has none)")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _finite(item, f"{where}.{index}")


class Scenario(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    mode: str
    executionName: str | None = Field(None, min_length=1, max_length=_EXECUTION_NAME_MAX)
    """The execution's name (the run id); default ``rehearsal-<scenario name>``. With
    ``concurrent`` above 1, ``-<n>`` follows it."""
    input: Any = Field(default_factory=dict)
    secret: dict[str, Any] = Field(default_factory=dict)
    executions: list[Execution] = Field(default_factory=list, max_length=25)
    """Executions that differ in name, input or start time (instead of ``concurrent``)."""
    aws: Aws = Field(default_factory=Aws)
    expect: Expect = Field(default_factory=Expect)

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in MODES:
            raise ValueError(f"not a mode; the modes are {', '.join(MODES)}")
        return value

    def execution_names(self, file_stem: str | None = None) -> list[str]:
        """The names the executions get, in file order: an ``executions`` entry's ``name``,
        else ``<base>-<n>``; with ``concurrent`` N > 1, ``<base>-1`` ... ``<base>-N``; else
        ``<base>``. ``<base>`` is ``executionName``, else ``rehearsal-<name>`` (the name made
        safe for Step Functions; ``file_stem`` when the file gives no name)."""
        base = self.executionName or f"rehearsal-{_slug(self.name or file_stem or 'scenario')}"
        if self.executions:
            return [e.name or f"{base}-{n}" for n, e in enumerate(self.executions, 1)]
        count = self.aws.concurrent
        return [base + (f"-{n}" if count > 1 else "") for n in range(1, count + 1)]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.executions and "concurrent" in self.aws.model_fields_set:
            raise ValueError(
                "aws.concurrent and executions: list the executions, or give their number"
            )
        for path, modes in _APPLIES.items():
            if _given(self, path) and self.mode not in modes:
                raise ValueError(
                    f"{'.'.join(path)}: does not apply to mode {self.mode} (only to "
                    f"{', '.join(sorted(modes))})"
                )
        late = self.aws.storage.lateStatus
        if late is not None and (late == "error") == (self.mode in _LUSTRE_MODES):
            wanted = "FAILED or MISCONFIGURED" if self.mode in _LUSTRE_MODES else "error"
            raise ValueError(
                f"aws.storage.lateStatus: {late} is not a {self.mode} state ({wanted})"
            )
        names = self.execution_names()
        if len(set(names)) != len(names):
            raise ValueError(f"executions: two executions would both be named {_twice(names)!r}")
        for name in names:
            if len(name) > _EXECUTION_NAME_MAX:
                suffixed = " (the names end -1, -2, ...)" if len(names) > 1 else ""
                raise ValueError(
                    f"executionName: the execution name {name!r}{suffixed} is {len(name)} "
                    f"characters (Step Functions allows {_EXECUTION_NAME_MAX})"
                )
        _finite(self.input, "input")
        _finite(self.secret, "secret")
        for index, execution in enumerate(self.executions):
            _finite(execution.input, f"executions.{index}.input")
            _execution_name(execution.name, f"executions.{index}.name")
        _execution_name(self.executionName, "executionName")
        return self


def _twice(names: list[str]) -> str:
    return next(name for name in names if names.count(name) > 1)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "scenario"


def _execution_name(value: str | None, where: str) -> None:
    refused = sorted(
        {c for c in value or "" if c in _EXECUTION_NAME_REFUSED or not c.isprintable()}
    )
    if refused:
        raise ValueError(
            f"{where}: Step Functions refuses {' '.join(map(repr, refused))} in execution names"
        )


def _data_path(data: Any, loc: tuple[Any, ...]) -> list[str]:
    """The parts of a pydantic error location that are keys or indexes of the file's data
    (pydantic adds the member names of a union, e.g. ``Window``, which the file never
    says)."""
    parts: list[str] = []
    for part in loc:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_mapping or in_list):
            continue
        data = data[part]
        parts.append(str(part))
    return parts


def _describe(error: ValidationError, data: Any) -> str:
    """One line naming each key at fault, its value and the rule it breaks. A value that
    matches no member of a union is reported once: the member's own rule when one
    explains it (``min 5 is above max 1``), else every kind of value it could have been."""
    by_key: dict[str, list[ErrorDetails]] = {}
    for detail in error.errors():
        where = ".".join(_data_path(data, tuple(detail["loc"]))) or "(file)"
        if detail["type"] in ("extra_forbidden", "missing"):
            where = ".".join(str(part) for part in detail["loc"])
        by_key.setdefault(where, []).append(detail)
    lines = []
    for where, details in by_key.items():
        custom = [d for d in details if d["type"] == "value_error"]
        detail = custom[0] if custom else details[0]
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif detail["type"] == "missing":
            lines.append(f"{where}: required")
        elif custom and where == "(file)":
            lines.append(message)
        else:
            shown = json.dumps(detail.get("input"), default=str)
            if len(details) > 1 and not custom:
                kinds = "; ".join(sorted({str(d["msg"]) for d in details}))
                message = f"matches none of the forms this key takes ({kinds})"
            lines.append(f"{where} = {shown[:80]}: {message}")
    return "; ".join(lines)


def parse(data: Any, source: str = "scenario") -> Scenario:
    """Validate a scenario given as a mapping; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(f"{source}: {_describe(error, data)}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that gives one key twice (plain YAML keeps the
    last one silently, so half of a file would rehearse nothing)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # a merge key ("<<"): the keys it brings may be overridden
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"line {line}: the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file (YAML, hence JSON too); ``name`` defaults to its stem.

    Raises:
        ScenarioError: unreadable, not YAML, a key given twice, or a key breaking the format.
    """
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except OSError as error:
        raise ScenarioError(f"{path}: {error.strerror or error}") from None
    except yaml.constructor.ConstructorError as error:
        raise ScenarioError(f"{path}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
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


@functools.lru_cache(maxsize=16)
def _deployed(root: Path, mode: str) -> tuple[dict[str, str], str, frozenset[str]]:
    """What ``mode`` deploys from ``root``: the states of its run state machine (name ->
    type; the stack's other state machines, e.g. the release, are not the run's), that
    state machine's file (for messages) and the function logical ids."""
    template = root / "template.yaml"
    path = run_state_machine_file(root, template, mode)
    states = _states(json.loads(path.read_text()))
    # The file as the template names it (``path`` is resolved, links included).
    where = MODES[mode].definition_uri
    return states, where, frozenset(function_ids(root, template, mode))


def check_states(scenario: Scenario, root: Path, source: str = "scenario") -> None:
    """Check the keys that name states or functions against what the mode deploys.

    ``aws.abortAfter`` and ``aws.stepFunctions.stateTimeouts`` name states of the mode's state
    machine (the ``statemachine/`` file the template selects); ``aws.lambda`` and a call
    window's ``function`` name functions the template deploys for the mode; ``aws.job.children``
    needs a state machine that can run an array job (a ``RunArrayJob`` state).

    Raises:
        ScenarioError: a name the mode does not deploy, a Fail/Succeed state to abort at (the
            execution has ended when it enters one, so there is nothing left to stop), or a
            timeout on a state that is not a Task.
    """
    aws = scenario.aws
    try:
        states, where, functions = _deployed(Path(root).resolve(), scenario.mode)
    except DeployError as error:
        raise ScenarioError(f"{source}: {error}") from None
    abortable = sorted(name for name, kind in states.items() if kind not in _TERMINAL)
    state = aws.abortAfter
    if state is not None and state not in states:
        raise ScenarioError(
            f"{source}: aws.abortAfter = {json.dumps(state)}: not a state of the "
            f"{scenario.mode} state machine ({where}); states: {', '.join(abortable)}"
        )
    if state is not None and states[state] in _TERMINAL:
        raise ScenarioError(
            f"{source}: aws.abortAfter = {json.dumps(state)}: a {states[state]} state ends the "
            f"execution as it is entered, so there is nothing to stop; states: "
            f"{', '.join(abortable)}"
        )
    tasks = sorted(name for name, kind in states.items() if kind == "Task")
    for name in aws.stepFunctions.stateTimeouts:
        if name not in tasks:
            raise ScenarioError(
                f"{source}: aws.stepFunctions.stateTimeouts.{name}: not a Task state of the "
                f"{scenario.mode} state machine ({where}); Task states: {', '.join(tasks)}"
            )
    if aws.job.children and "RunArrayJob" not in states:
        raise ScenarioError(
            f"{source}: aws.job.children: the {scenario.mode} state machine runs no array job"
        )
    callers = sorted(functions)
    for name in aws.functions:
        if name not in functions:
            raise ScenarioError(
                f"{source}: aws.lambda.{name}: not a function of mode {scenario.mode}; "
                f"functions: {', '.join(callers)}"
            )
    for key in ("throttle", "errors"):
        for operation, windows in getattr(aws, key).items():
            for window in windows if isinstance(windows, list) else [windows]:
                caller = getattr(window, "function", None)
                if caller is not None and caller not in functions | {STATE_MACHINE_CALLER}:
                    raise ScenarioError(
                        f"{source}: aws.{key}.{operation}.function = {json.dumps(caller)}: not "
                        f"a function of mode {scenario.mode}; one of "
                        f"{', '.join([*callers, STATE_MACHINE_CALLER])}"
                    )
