"""Identity of one workflow run: its tags, resource names and idempotency tokens.

A run is one Step Functions execution. Everything a run creates carries ``run_tags()``, so
the release workflow, its sweep and a person with the console can all find it by the execution
ARN. Names and tokens derive only from the execution ARN, so a retried Lambda invocation
finds (or re-creates idempotently) the same resource instead of creating a second one.
"""

import hashlib
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from batchscratch import clock
from batchscratch.environment import setting
from batchscratch.errors import InvalidConfiguration
from batchscratch.tagging import identity_tag_value

TAG_STACK = "batch-scratch:stack-name"
TAG_EXECUTION = "batch-scratch:execution-arn"
TAG_RUN_ID = "batch-scratch:run-id"
TAG_MODE = "batch-scratch:mode"
TAG_RETAINED = "batch-scratch:retained-reason"
TAG_REPORTED = "batch-scratch:reported-message"
"""The SNS message id of the report a release that gave up published about the resource:
RetainRun, run again (a retry after a timeout or a lost answer), does not publish twice."""
"""Set on a resource kept on purpose (policy ``retain``, a snapshot, data not yet exported).
Cleanup and the release workflow never delete a resource that carries it; the sweep leaves
it alone."""

_BATCH_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


UNUSABLE_RUN_IDS = frozenset({".", ".."})
"""Execution names Step Functions accepts that cannot be a run id: the run id names the
run's directory on a Lustre file system (``marker.py``), and these name another directory."""


def execution_arn(machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of state machine ``machine_arn``:
    ``arn:…:stateMachine:<machine>`` -> ``arn:…:execution:<machine>:<name>`` (Step Functions
    Developer Guide, "Amazon Resource Names for Step Functions")."""
    return f"{machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def check_run_id(run_id: str) -> None:
    """Refuse an execution name that cannot be a run id, before anything is created.

    Raises:
        InvalidConfiguration: ``run_id`` is ``.`` or ``..``.
    """
    if run_id in UNUSABLE_RUN_IDS:
        raise InvalidConfiguration(
            f"execution name = {run_id!r}: a run id names the run's directory on its storage, "
            "and '.' or '..' would name another one; start the execution under another name"
        )


class Run(BaseModel):
    """The run every handler works for (``$.run`` in the state machine's data).

    Attributes: ``executionArn`` and ``runId`` (the execution name) from the Step Functions
    context object; ``mode`` (TaskExport | AutoExport | OnlyEBS) and ``stackName`` from the
    function's environment; ``startedAt`` the execution start time (ISO 8601, UTC).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    executionArn: str = Field(min_length=1)
    runId: str = Field(min_length=1)
    mode: str
    stackName: str
    startedAt: str

    @property
    def execution_tag(self) -> str:
        """The value of this run's ``TAG_EXECUTION`` tag: the execution ARN as a valid tag
        value (``tagging.identity_tag_value``), which is what searches by tag must match."""
        return identity_tag_value(self.executionArn)

    def tags(self) -> dict[str, str]:
        """Return the tags every per-run resource carries, as ``{key: value}``.

        The execution ARN and the run id are written with ``tagging.identity_tag_value``:
        execution names may hold characters FSx and Batch refuse in tag values.
        """
        return {
            TAG_STACK: self.stackName,
            TAG_EXECUTION: self.execution_tag,
            TAG_RUN_ID: identity_tag_value(self.runId),
            TAG_MODE: self.mode,
        }

    def tag_list(self) -> list[dict[str, str]]:
        """Return ``tags()`` in the EC2 shape ``[{"Key": k, "Value": v}, ...]``."""
        return [{"Key": k, "Value": v} for k, v in self.tags().items()]

    def digest(self, purpose: str, length: int = 12) -> str:
        """Return a stable hex digest of the execution ARN and ``purpose``."""
        data = f"{self.executionArn}\n{purpose}".encode()
        return hashlib.sha256(data).hexdigest()[:length]

    def client_token(self, purpose: str) -> str:
        """Return an idempotency token (32 hex characters) for one create call.

        EC2 ``ClientToken`` and FSx ``ClientRequestToken`` accept up to 64 ASCII characters
        (EC2 API Reference, "Ensuring idempotency").
        """
        return self.digest(purpose, 32)

    def resource_name(self, kind: str) -> str:
        """Return the name of this run's ``kind`` resource (e.g. ``"ce"``, ``"jq"``).

        The name is ``<stack>-<runId>-<kind>-<digest>``: unique per execution, and it starts
        with ``resource_name_prefix(stackName)``, the whole stack name, which the IAM
        statements for Batch name as ``<type>/${AWS::StackName}-*`` (tagging by name prefix:
        Batch has no create-action condition key). AWS Batch names allow up to 128 letters,
        digits, hyphens and underscores; launch template names allow more, so one rule
        serves both. The run id part is sanitised and shortened to fit.

        Raises:
            InvalidConfiguration: the stack name is longer than ``MAX_STACK_NAME_LENGTH``.
        """
        digest = self.digest(kind, 8)
        prefix = resource_name_prefix(self.stackName)
        room = BATCH_NAME_LIMIT - len(prefix) - len(f"-{kind}-{digest}")
        run_id = _BATCH_NAME_CHARS.sub("-", self.runId)[: min(_RUN_ID_PART, room)]
        return f"{prefix}{run_id}-{kind}-{digest}"


BATCH_NAME_LIMIT = 128
"""AWS Batch compute environment, job queue and job definition names: up to 128 letters,
numbers, hyphens and underscores (AWS Batch API Reference, CreateComputeEnvironment
``computeEnvironmentName``, CreateJobQueue ``jobQueueName``, RegisterJobDefinition
``jobDefinitionName``)."""
MAX_STACK_NAME_LENGTH = 100
"""The longest stack name whose runs' resource names keep the whole stack name (and so the
IAM name prefix) with room for the run id, the kind and the digest."""
_RUN_ID_PART = 48


def resource_name_prefix(stack_name: str) -> str:
    """Return ``"<stack_name>-"``, the start of every per-run resource name of the stack.

    CloudFormation stack names hold only letters, digits and hyphens, which Batch names allow,
    so the prefix is the stack name itself: what template.yaml writes as
    ``${AWS::StackName}-``.

    Raises:
        InvalidConfiguration: ``stack_name`` is longer than ``MAX_STACK_NAME_LENGTH``
            characters, or holds a character a Batch name refuses.
    """
    if len(stack_name) > MAX_STACK_NAME_LENGTH or _BATCH_NAME_CHARS.search(stack_name):
        raise InvalidConfiguration(
            f"stack name = {stack_name!r}: the runs' resource names start with the stack "
            f"name, which must be at most {MAX_STACK_NAME_LENGTH} letters, digits, hyphens "
            "or underscores; deploy the stack under a shorter name"
        )
    return f"{stack_name}-"


RUN_TIMEOUT_SETTING = "RUN_TIMEOUT_SECONDS"
"""The environment variable (template parameter ``RunTimeoutSeconds``) of the whole-run
limit, in seconds from the execution's start."""
MIN_JOB_TIMEOUT_SECONDS = 60
"""The least time the job task is given, even when the run's deadline is nearer: the task
still starts, and times out into the failure path soon after."""


def run_seconds_left(run: Run) -> int:
    """Return the seconds left until ``run``'s deadline, ``run.startedAt`` plus
    ``RUN_TIMEOUT_SECONDS``, and at least ``MIN_JOB_TIMEOUT_SECONDS``.

    The job task's ``TimeoutSecondsPath`` reads it (Step Functions ends a Task state that
    runs longer with ``States.Timeout``: Amazon States Language, Task state, "TimeoutSeconds";
    a positive integer), so a job that outlives the limit ends in the failure path.

    Raises:
        MissingSetting: ``RUN_TIMEOUT_SECONDS`` is unset; ValueError: it is not an integer.
    """
    left = run_limit_seconds() - seconds_since(run.startedAt)
    return max(MIN_JOB_TIMEOUT_SECONDS, int(left))


def run_limit_seconds() -> int:
    """Return the whole-run limit, ``RUN_TIMEOUT_SECONDS`` (seconds from the execution's start).

    Raises:
        MissingSetting: it is unset; ValueError: it is not an integer.
    """
    return int(setting(RUN_TIMEOUT_SETTING))


def now_iso() -> str:
    """Return the current time as an ISO 8601 string in UTC (seconds precision)."""
    return clock.now().isoformat(timespec="seconds")


def iso_of(epoch_seconds: float) -> str:
    """Return ``epoch_seconds`` as an ISO 8601 string in UTC (seconds precision)."""
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


def seconds_since(timestamp: str) -> float:
    """Return the seconds elapsed since ``timestamp`` (ISO 8601; naive values count as UTC)."""
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return (clock.now() - then).total_seconds()
