"""FSx for Lustre in the local AWS: what moto 5.2.5 lacks (gap 6), in one place.

moto's FSx knows file systems (created ``AVAILABLE``-less, without ``Lifecycle`` or
``LustreConfiguration.MountName``, gone at once when deleted), backups and tags; data
repository associations (DRAs) and data repository tasks raise NotImplementedError. moto
finds a response method by name when each request arrives, so this module adds the missing
operations to ``FSxResponse`` and replaces the file-system ones, for the duration of a
``Patcher``. The state lives on moto's ``FSxBackend`` of each account and Region (reset with
moto); tags live in that backend's tag store, so the Resource Groups Tagging API sees them.

What it emulates (FSx API Reference and the FSx for Lustre User Guide; error codes are the
operation's documented ones, messages are paraphrased):

- **File systems** (``FileSystemType`` LUSTRE only): the request is validated as FSx does
  (storage capacity per deployment type, ``PerUnitStorageThroughput``, one subnet that
  exists, security groups that exist, ``FileSystemTypeVersion``, default 2.10). Lifecycle
  ``CREATING`` (also in the create answer) until the scenario's ``readyAfterPolls``
  DescribeFileSystems calls have reported it so and its ``readySeconds`` have passed since
  CreateFileSystem (``ec2.Readiness``), then ``AVAILABLE`` -- or ``FAILED`` with
  ``FailureDetails.Message`` when the scenario says ``createFails``. With
  ``failsAfterSeconds``, that long after it became ready it turns ``lateStatus`` (``FAILED``,
  "an unrecoverable failure", or ``MISCONFIGURED``, "a failed but recoverable state"), with a
  ``FailureDetails.Message``; like every lifecycle but ``AVAILABLE`` it then takes no
  association or task (``BadRequest``), and it can still be deleted (DeleteFileSystem names
  no lifecycle it refuses; the failed creations FSx leaves are deleted the same way).
  ``DNSName`` and
  ``LustreConfiguration.MountName`` ("fsx" for SCRATCH_1, eight random characters
  otherwise) are always described. The same ``ClientRequestToken`` returns the same file
  system; with other parameters it is ``IncompatibleParameterError``. DeleteFileSystem is
  refused with ``BadRequest`` while a data repository task on it is PENDING or EXECUTING;
  otherwise the file system is ``DELETING`` for ``deleteSeconds`` (by default: one more
  describe, or ``STEP_SECONDS`` of simulated time), then gone: describing it by id is
  ``FileSystemNotFound``. Its DRAs and tasks go with it.
- **Data repository associations**: refused (``UnsupportedOperation``) on SCRATCH_1 and on
  version 2.10, ``BadRequest`` unless the file system is AVAILABLE, the S3 bucket exists, and
  the file system path and data repository path overlap no other DRA of the file system; at
  most 8 per file system (``ServiceLimitExceeded``). Lifecycle ``CREATING`` for one describe,
  then ``AVAILABLE``; UpdateDataRepositoryAssociation (import chunk size, ``S3`` auto-import
  and auto-export policies) is ``UPDATING`` for one describe (for ever with the scenario's
  ``association.updateStuck``); with ``association.readySeconds`` (``updateSeconds``) it is
  ``CREATING`` (``UPDATING``) for that long instead, however often it is described;
  DeleteDataRepositoryAssociation ``DELETING`` for one, then
  gone. With ``association.failsAfterSeconds`` it turns ``association.lateStatus``
  (``FAILED``, "a terminal state that cannot be recovered", or ``MISCONFIGURED``, "automatic
  import and automatic export will not work") that long after it first became AVAILABLE,
  with ``FailureDetails.Message``; it still can be deleted. Describe by ``AssociationIds`` (an
  unknown one is
  ``DataRepositoryAssociationNotFound``) or ``Filters`` (file-system-id, data-repository-type).
- **Data repository tasks**: ``EXPORT_TO_REPOSITORY`` and ``IMPORT_METADATA_FROM_REPOSITORY``
  (others ``UnsupportedOperation``), on an AVAILABLE file system with an AVAILABLE DRA; an
  export is refused (``BadRequest``) while auto-export is enabled on a DRA of the file system.
  An enabled ``Report`` needs ``Path``, ``Format`` REPORT_CSV_20191124 and ``Scope``
  FAILED_FILES_ONLY, and its ``Path`` must lie inside a DRA's ``DataRepositoryPath``
  (otherwise ``BadRequest``). A second task while one is PENDING or EXECUTING is
  ``DataRepositoryTaskExecuting``. Lifecycle ``PENDING`` (create answer), ``EXECUTING``, then
  the scenario's ``aws.export.taskLifecycle`` (imports always SUCCEEDED), one step per
  describe call that returns the task or per ``STEP_SECONDS`` of simulated time; with
  ``aws.export.seconds`` an export is ``EXECUTING`` for that long instead. ``StartTime`` and
  ``EndTime`` are when it entered ``EXECUTING`` and its end, on the virtual clock; at the end
  ``Status.FailedCount`` is ``aws.export.failedFiles``, ``TotalCount`` and ``SucceededCount``
  add up, ``FailureDetails.Message`` says why a FAILED task failed and where the report is.
  CancelDataRepositoryTask: ``CANCELING`` for one step, then ``CANCELED``
  (``DataRepositoryTaskEnded`` once ended). Describe by ``TaskIds``
  (``DataRepositoryTaskNotFound``) or ``Filters`` (file-system-id, task-lifecycle,
  data-repository-association-id).
- **Tags**: ``Tags`` of every create call, TagResource, UntagResource, ListTagsForResource
  (``ResourceNotFound`` for an ARN that is not a current file system, DRA or task).

Every time is on the simulation's virtual clock; a change at a known time is a milestone of
the clock (``VirtualClock.milestone``), so a poll that sleeps until the next change jumps
there. Every error answer is recorded in the simulation (``Simulation.refusals``, with the execution
whose Lambda invocation made the call), so the rehearsal can show what FSx refused; so is
every accepted DeleteFileSystem (``Simulation.deletions``), with the file system's export
tasks at that moment and whether auto-export was still on.

Every moto internal used is declared as a ``Target`` beside the code that uses it, with the
signature it was written against; the canary test compares them with the installed moto.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.resource_tagging import TaggedResource
from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from tools.localaws.behaviour import Association as AssociationBehaviour
from tools.localaws.behaviour import Storage
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.patches.ec2 import Readiness
from tools.localaws.simulation import TAG_EXECUTION, Deletion, Link, Simulation

_GAP = "6: FSx has no Lustre lifecycle, data repository associations or tasks"

ADDED_ACTIONS = (
    "create_data_repository_association",
    "describe_data_repository_associations",
    "update_data_repository_association",
    "delete_data_repository_association",
    "create_data_repository_task",
    "describe_data_repository_tasks",
    "cancel_data_repository_task",
)
"""Actions moto's FSxResponse lacks, added to it (the canary checks it still lacks them)."""

STEP_SECONDS = 60.0
"""Simulated seconds after which a DRA or task takes its next lifecycle step unasked."""

REPORT_FORMAT = "REPORT_CSV_20191124"
REPORT_SCOPE = "FAILED_FILES_ONLY"
EXPORTED_FILES = 120
"""Files a simulated export processes besides the scenario's failed ones."""
MAX_ASSOCIATIONS = 8
TASK_RUNNING = ("PENDING", "EXECUTING")
TASK_ENDED = ("SUCCEEDED", "FAILED", "CANCELED")
"""A data repository task's terminal lifecycles (FSx API Reference, DataRepositoryTask)."""
ASSOCIATION = "fsx:data-repository-association"
TASK = "fsx:data-repository-task"
"""Resource kinds of the simulation's records (as ``hooks.CREATES`` names them)."""

_SSD_DEPLOYMENTS = ("SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2")
_THROUGHPUT = {"PERSISTENT_1": (50, 100, 200), "PERSISTENT_2": (125, 250, 500, 1000)}
_VERSIONS = ("2.10", "2.12", "2.15")
_EVENTS = {"NEW", "CHANGED", "DELETED"}


JSON_REST_ERROR = Target(
    "json_rest_error",
    "moto.core.exceptions:JsonRESTError.__init__",
    "(self, error_type: str, message: str, _: str = '', **kwargs: Any)",
    _GAP,
    replaced=False,
)


class FsxError(JsonRESTError):
    """An FSx error answer: HTTP 400, ``__type`` the error code, plus the shape's fields."""

    def __init__(self, code: str, message: str, **fields: str) -> None:
        super().__init__(code, message)
        self.description = json.dumps({"__type": code, "Message": message, **fields})


def _not_found(file_system_id: str) -> FsxError:
    return FsxError("FileSystemNotFound", f"File system '{file_system_id}' does not exist.")


# --------------------------------------------------------------------------- lifecycles


class Phases:
    """A lifecycle that moves on as it is observed: ``phases`` are (name, observations the
    phase lasts); the last lasts forever. An observation is a describe call that returns the
    resource; with ``timed``, every ``STEP_SECONDS`` of simulated time counts as one too.
    The first phase lasts while at most its length of steps have been taken, each later one
    for its length more.
    """

    def __init__(self, phases: list[tuple[str, int]], clock: Callable[[], float], timed: bool):
        self.phases = phases
        self.clock = clock
        self.timed = timed
        self.since = clock()
        self.seen: list[float] = []
        """When each observation was made (epoch seconds on ``clock``)."""

    def observe(self) -> None:
        self.seen.append(self.clock())

    def restart(self, phases: list[tuple[str, int]]) -> None:
        self.phases = phases
        self.since = self.clock()
        self.seen = []

    def _steps_at(self, at: float) -> int:
        elapsed = int((at - self.since) // STEP_SECONDS) if self.timed else 0
        return sum(1 for seen in self.seen if seen <= at) + max(elapsed, 0)

    @property
    def steps(self) -> int:
        return self._steps_at(self.clock())

    @property
    def current(self) -> str:
        steps = self.steps
        end = self.phases[0][1]
        if steps <= end:
            return self.phases[0][0]
        for name, length in self.phases[1:-1]:
            if steps <= end + length:
                return name
            end += length
        return self.phases[-1][0]

    def entered(self, index: int) -> float | None:
        """When the lifecycle entered phase ``index`` (epoch seconds), None if not yet: the
        observation or the ``STEP_SECONDS`` boundary that took the step past the phases
        before it."""
        if index == 0:
            return self.since
        before = sum(length for _, length in self.phases[:index])
        candidates = list(self.seen)
        if self.timed:
            candidates += [self.since + STEP_SECONDS * m for m in range(1, before + 2)]
        now = self.clock()
        for at in sorted(candidates):
            if at <= now and self._steps_at(at) > before:
                return at
        return None


GONE = "GONE"

LATE_FILE_SYSTEM_FAILURES = {
    "FAILED": (
        "The file system has experienced an unrecoverable failure: Amazon FSx cannot recover "
        "it. Its data is lost; create a new file system."
    ),
    "MISCONFIGURED": (
        "Amazon FSx cannot reach the file system's network interface {eni}: a change to its "
        "subnet or security groups blocks the traffic it needs. Restore the network "
        "configuration and the file system recovers."
    ),
}
"""``FailureDetails.Message`` of a file system that fails after it was ready (paraphrased:
the FSx API Reference gives FAILED as "an unrecoverable failure", MISCONFIGURED as "a failed
but recoverable state")."""

LATE_ASSOCIATION_FAILURES = {
    "FAILED": (
        "The data repository association is in a terminal state that cannot be recovered: "
        "Amazon FSx can no longer use the linked data repository {path}."
    ),
    "MISCONFIGURED": (
        "Amazon FSx cannot access the data repository {path}: the bucket's policy or its "
        "event notification configuration changed. Automatic import and automatic export "
        "do not work until the configuration is corrected."
    ),
}
"""``FailureDetails.Message`` of an association that fails after it was AVAILABLE
(paraphrased from the DataRepositoryAssociation ``Lifecycle`` documentation)."""


@dataclass
class FileSystem:
    file_system_id: str
    arn: str
    request: dict[str, Any]
    owner: str
    created: float
    vpc_id: str
    mount_name: str
    dns_name: str
    storage: Storage
    """The scenario's ``aws.storage`` when the file system was created."""
    readiness: Readiness
    failure: str | None
    """Why its creation failed (``createFails``), else None."""
    network_interfaces: list[str]
    clock: Callable[[], float]
    milestone: Callable[[float], None]
    deletion: Phases | None = None
    """Being deleted, by describe calls (no ``deleteSeconds``)."""
    gone_at: float | None = None
    """Being deleted, gone at this time (``deleteSeconds``)."""

    def observe(self) -> None:
        """Count a describe call that returns the file system."""
        if self.deletion is not None:
            self.deletion.observe()
        elif self.gone_at is None:
            self.readiness.observe(self.clock())

    @property
    def late_status(self) -> str:
        late = self.storage.lateStatus
        return late if late in LATE_FILE_SYSTEM_FAILURES else "FAILED"

    @property
    def late_at(self) -> float | None:
        """When the ready file system turns ``late_status`` (``failsAfterSeconds``)."""
        ready = self.readiness.ready_at()
        if ready is None or self.storage.failsAfterSeconds is None or self.failure:
            return None
        return ready + self.storage.failsAfterSeconds

    @property
    def lifecycle(self) -> str:
        now = self.clock()
        if self.gone_at is not None:
            return GONE if now >= self.gone_at else "DELETING"
        if self.deletion is not None:
            return self.deletion.current
        if not self.readiness.ready(now):
            return "CREATING"
        if self.failure is not None:
            return "FAILED"
        late = self.late_at
        if late is not None:
            self.milestone(late)
            if now >= late:
                return self.late_status
        return "AVAILABLE"

    @property
    def failure_message(self) -> str | None:
        """``FailureDetails.Message`` for its current lifecycle (None: no failure)."""
        lifecycle = self.lifecycle
        if lifecycle == "FAILED" and self.failure is not None:
            return self.failure
        if lifecycle in LATE_FILE_SYSTEM_FAILURES:
            return LATE_FILE_SYSTEM_FAILURES[lifecycle].format(eni=self.network_interfaces[0])
        return None

    @property
    def lustre(self) -> dict[str, Any]:
        return dict(self.request.get("LustreConfiguration") or {})

    @property
    def deployment_type(self) -> str:
        return str(self.lustre.get("DeploymentType") or "SCRATCH_1")

    @property
    def version(self) -> str:
        return str(self.request.get("FileSystemTypeVersion") or "2.10")


@dataclass
class Association:
    association_id: str
    arn: str
    file_system_id: str
    request: dict[str, Any]
    created: float
    phases: Phases
    s3: dict[str, Any]
    chunk_size: int
    behaviour: AssociationBehaviour
    """The scenario's ``aws.association`` when it was created."""
    milestone: Callable[[float], None]
    available_at: float | None = None
    """When it first became AVAILABLE."""
    settles_at: float | None = None
    """With ``association.readySeconds`` (``updateSeconds``): when the CREATING (UPDATING) in
    progress ends, whatever the describe calls; None: ``phases`` decide."""

    @property
    def data_repository_path(self) -> str:
        return str(self.request["DataRepositoryPath"])

    @property
    def file_system_path(self) -> str:
        return str(self.request["FileSystemPath"])

    @property
    def lifecycle(self) -> str:
        """Its own lifecycle (its file system's deletion aside: ``Lustre``): the phases,
        unless ``failsAfterSeconds`` since it first became AVAILABLE have passed."""
        phase = self.phases.current
        if phase in ("DELETING", GONE):
            return phase
        if self.settles_at is not None:
            self.milestone(self.settles_at)
            settling = self.phases.phases[0][0]
            phase = settling if self.phases.clock() < self.settles_at else "AVAILABLE"
        if self.available_at is None and phase == "AVAILABLE":
            self.available_at = self.available_since()
        seconds = self.behaviour.failsAfterSeconds
        if self.available_at is not None and seconds is not None:
            late = self.available_at + seconds
            self.milestone(late)
            if self.phases.clock() >= late:
                return self.behaviour.lateStatus
        return phase

    def available_since(self) -> float | None:
        """When its current ``AVAILABLE`` began (after its creation or its last update), on
        the virtual clock; None if it is not AVAILABLE yet."""
        if self.settles_at is not None:
            return self.settles_at if self.phases.clock() >= self.settles_at else None
        return self.phases.entered(len(self.phases.phases) - 1)

    @property
    def failure_message(self) -> str | None:
        """``FailureDetails.Message`` when it is FAILED or MISCONFIGURED."""
        template = LATE_ASSOCIATION_FAILURES.get(self.lifecycle)
        return template.format(path=self.data_repository_path) if template else None


@dataclass
class Task:
    task_id: str
    arn: str
    file_system_id: str
    request: dict[str, Any]
    created: float
    phases: Phases
    outcome: str
    failed_files: int
    association_ids: list[str]
    milestone: Callable[[float], None]
    seconds: float | None = None
    """How long it is EXECUTING (``aws.export.seconds``); None: one step of ``phases``."""
    canceling: bool = False
    started: float | None = None
    ended: float | None = None

    @property
    def lifecycle(self) -> str:
        """PENDING, EXECUTING, then ``outcome`` (or CANCELING, CANCELED once canceled);
        notes ``started`` and ``ended`` (virtual epoch seconds) as it gets there."""
        phase = self.phases.current
        if self.canceling:
            if phase == "CANCELED" and self.ended is None:
                self.ended = self.phases.entered(1)
            return phase
        if phase == "PENDING":
            return phase
        if self.started is None:
            self.started = self.phases.entered(1)
        if self.seconds is not None and self.started is not None:
            end = self.started + self.seconds
            self.milestone(end)
            if self.phases.clock() < end:
                return "EXECUTING"
            self.ended = end
            return self.outcome
        if phase != "EXECUTING" and self.ended is None:
            self.ended = self.phases.entered(2)
        return phase


# What the Lustre state below calls of moto: the FSx backend's tag store (tags of every
# emulated resource), EC2 (CreateFileSystem's subnet and security groups) and S3 (a data
# repository association's bucket).

BACKEND_TAG_RESOURCE = Target(
    "fsx_backend_tag_resource",
    "moto.fsx.models:FSxBackend.tag_resource",
    "(self, arn: str, tags: dict[str, str]) -> None",
    _GAP,
    replaced=False,
)
BACKEND_UNTAG_RESOURCE = Target(
    "fsx_backend_untag_resource",
    "moto.fsx.models:FSxBackend.untag_resource",
    "(self, arn: str, tag_keys: list[str]) -> None",
    _GAP,
    replaced=False,
)
BACKEND_LIST_TAGS = Target(
    "fsx_backend_list_tags",
    "moto.fsx.models:FSxBackend.list_tags_for_resource",
    "(self, resource_arn: str) -> list[dict[str, str]]",
    _GAP,
    replaced=False,
)
EC2_BACKENDS = Target(
    "ec2_backends",
    "moto.ec2.models:ec2_backends",
    None,
    f"{_GAP} (CreateFileSystem checks its subnet)",
    replaced=False,
)
EC2_GET_SUBNET = Target(
    "ec2_get_subnet",
    "moto.ec2.models:EC2Backend.get_subnet",
    "(self, subnet_id: 'str') -> 'Subnet'",
    f"{_GAP} (CreateFileSystem checks its subnet and security groups)",
    replaced=False,
)
EC2_GET_SECURITY_GROUP = Target(
    "ec2_get_security_group",
    "moto.ec2.models:EC2Backend.get_security_group_from_id",
    "(self, group_id: str) -> moto.ec2.models.security_groups.SecurityGroup | None",
    f"{_GAP} (CreateFileSystem checks its subnet and security groups)",
    replaced=False,
)
S3_BACKENDS = Target(
    "s3_backends",
    "moto.s3.models:s3_backends",
    None,
    f"{_GAP} (a DRA's bucket)",
    replaced=False,
)
S3_GET_BUCKET = Target(
    "s3_get_bucket",
    "moto.s3.models:S3Backend.get_bucket",
    "(self, bucket_name: 'str') -> 'FakeBucket'",
    f"{_GAP} (a DRA's bucket must exist)",
    replaced=False,
)


@dataclass
class Lustre:
    """The FSx for Lustre state of one moto FSx backend (one account and Region)."""

    backend: Any
    file_systems: dict[str, FileSystem] = field(default_factory=dict)
    associations: dict[str, Association] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    tokens: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(operation, ClientRequestToken) -> (resource id, request fingerprint)."""
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- shared steps ----------------------------------------------------------------------

    @property
    def sim(self) -> Simulation | None:
        return active_simulation()

    def now(self) -> float:
        sim = self.sim
        return sim.clock.now() if sim is not None else time.time()

    def milestone(self, at: float) -> None:
        """Note a lifecycle change at ``at`` on the simulation's clock (if one plays)."""
        sim = self.sim
        if sim is not None:
            sim.clock.milestone(at)

    def counting(self) -> bool:
        """Whether describe calls move lifecycles on now (not while results are read)."""
        sim = self.sim
        return sim is None or sim.enabled

    def _arn(self, kind: str, name: str) -> str:
        backend = self.backend
        partition = get_partition(backend.region_name)
        return f"arn:{partition}:fsx:{backend.region_name}:{backend.account_id}:{kind}/{name}"

    def _tags(self, arn: str) -> list[dict[str, str]]:
        return list(self.backend.list_tags_for_resource(arn))

    def _tag(self, arn: str, tags: list[dict[str, Any]] | None) -> None:
        if tags:
            self.backend.tag_resource(arn, {t["Key"]: t.get("Value", "") for t in tags})

    def _idempotent(self, operation: str, params: dict[str, Any]) -> str | None:
        """The id of the resource an earlier call with this token made (None: a new call)."""
        token = params.get("ClientRequestToken")
        if not token:
            return None
        known = self.tokens.get((operation, token))
        if known is None:
            return None
        if known[1] != _fingerprint(params):
            raise FsxError(
                "IncompatibleParameterError",
                f"A request with client request token {token} was already made with "
                "different parameters.",
                Parameter="ClientRequestToken",
            )
        return known[0]

    def _replay[R: (FileSystem, Association, Task)](
        self, operation: str, params: dict[str, Any], stored: dict[str, R]
    ) -> R | None:
        """The resource an earlier request with this one's token made, if it still exists
        (a retried create answers with it); None for a new request."""
        known = self._idempotent(operation, params)
        return stored.get(known) if known is not None else None

    def _keep[R: (FileSystem, Association, Task)](
        self,
        operation: str,
        params: dict[str, Any],
        stored: dict[str, R],
        resource_id: str,
        resource: R,
    ) -> None:
        """Store a created resource, remember the request's token, and tag the resource."""
        stored[resource_id] = resource
        token = params.get("ClientRequestToken")
        if token:
            self.tokens[(operation, token)] = (resource_id, _fingerprint(params))
        self._tag(resource.arn, params.get("Tags"))

    def _settle(self) -> None:
        """Forget file systems, DRAs whose deletion completed (and what went with them)."""
        for fs in list(self.file_systems.values()):
            if fs.lifecycle == GONE:
                self._forget_file_system(fs)
        for association in list(self.associations.values()):
            if association.lifecycle == GONE:
                del self.associations[association.association_id]

    def _forget_file_system(self, fs: FileSystem) -> None:
        del self.file_systems[fs.file_system_id]
        for association in list(self.associations.values()):
            if association.file_system_id == fs.file_system_id:
                del self.associations[association.association_id]
        for task in list(self.tasks.values()):
            if task.file_system_id == fs.file_system_id:
                del self.tasks[task.task_id]

    def _file_system(self, file_system_id: str | None) -> FileSystem:
        self._settle()
        fs = self.file_systems.get(str(file_system_id))
        if fs is None:
            raise _not_found(str(file_system_id))
        return fs

    def _association_lifecycle(self, association: Association) -> str:
        fs = self.file_systems.get(association.file_system_id)
        if fs is not None and fs.lifecycle == "DELETING":
            return "DELETING"
        return association.lifecycle

    def _running_tasks(self, file_system_id: str) -> list[Task]:
        return [
            t
            for t in self.tasks.values()
            if t.file_system_id == file_system_id and t.lifecycle in TASK_RUNNING
        ]

    def _described_page[R: (Association, Task)](
        self,
        found: list[R],
        params: dict[str, Any],
        key: str,
        describe: Callable[[R], dict[str, Any]],
    ) -> dict[str, Any]:
        """The page of ``found`` a Describe call asks for (``MaxResults``, ``NextToken``),
        described; each one returned counts as an observation of its lifecycle."""
        page, token = _page(found, params)
        if self.counting():
            for item in page:
                item.phases.observe()
        described = [describe(item) for item in page]
        return {key: described, **({"NextToken": token} if token else {})}

    # -- file systems ----------------------------------------------------------------------

    def create_file_system(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            fs = self._replay("CreateFileSystem", params, self.file_systems)
            if fs is None:
                fs = self._new_file_system(params)
                self._keep("CreateFileSystem", params, self.file_systems, fs.file_system_id, fs)
            return {"FileSystem": self._describe_file_system(fs)}

    def _new_file_system(self, params: dict[str, Any]) -> FileSystem:
        if params.get("FileSystemType") != "LUSTRE":
            raise FsxError(
                "BadRequest",
                "The local AWS emulates FSx for Lustre file systems only "
                f"(FileSystemType {params.get('FileSystemType')}).",
            )
        lustre = dict(params.get("LustreConfiguration") or {})
        deployment = str(lustre.get("DeploymentType") or "SCRATCH_1")
        if deployment not in ("SCRATCH_1", *_SSD_DEPLOYMENTS):
            raise FsxError("BadRequest", f"Invalid Lustre DeploymentType {deployment}.")
        storage_type = str(params.get("StorageType") or "SSD")
        if storage_type != "SSD" and deployment != "PERSISTENT_1":
            raise FsxError(
                "BadRequest",
                f"StorageType {storage_type} is supported only by PERSISTENT_1 file systems.",
            )
        _check_capacity(deployment, storage_type, params.get("StorageCapacity"))
        throughput = lustre.get("PerUnitStorageThroughput")
        if deployment in _THROUGHPUT and storage_type == "SSD":
            if throughput not in _THROUGHPUT[deployment]:
                raise FsxError(
                    "InvalidPerUnitStorageThroughput",
                    f"PerUnitStorageThroughput {throughput} is not valid for {deployment}; "
                    f"valid values: {', '.join(map(str, _THROUGHPUT[deployment]))}.",
                )
        elif throughput is not None and deployment.startswith("SCRATCH"):
            raise FsxError(
                "BadRequest", "PerUnitStorageThroughput is only valid for PERSISTENT file systems."
            )
        version = str(params.get("FileSystemTypeVersion") or "2.10")
        if version not in _VERSIONS:
            raise FsxError("BadRequest", f"FileSystemTypeVersion {version} is not supported.")
        if deployment == "PERSISTENT_2" and version == "2.10":
            raise FsxError("BadRequest", "PERSISTENT_2 file systems need Lustre 2.12 or later.")
        compression = lustre.get("DataCompressionType")
        if compression not in (None, "NONE", "LZ4"):
            raise FsxError("BadRequest", f"Invalid DataCompressionType {compression}.")
        vpc_id = self._check_network(params)

        fs_id = f"fs-{secrets.token_hex(9)[:17]}"
        sim = self.sim
        storage = sim.behaviour.storage if sim is not None else Storage()
        now = self.now()
        if storage.readySeconds:
            self.milestone(now + storage.readySeconds)
        mount_name = (
            "fsx"
            if deployment == "SCRATCH_1"
            else "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        )
        return FileSystem(
            file_system_id=fs_id,
            arn=self._arn("file-system", fs_id),
            request={**params, "StorageType": storage_type, "FileSystemTypeVersion": version},
            owner=self.backend.account_id,
            created=now,
            vpc_id=vpc_id,
            mount_name=mount_name,
            dns_name=f"{fs_id}.fsx.{self.backend.region_name}.amazonaws.com",
            storage=storage,
            readiness=Readiness(now, storage.readyAfterPolls, storage.readySeconds),
            failure=(
                "Amazon FSx could not create the file system: there is not enough capacity "
                "for the requested configuration in the subnet's Availability Zone. Try "
                "again later, or in another Availability Zone."
                if storage.createFails
                else None
            ),
            network_interfaces=[f"eni-{secrets.token_hex(9)[:17]}"],
            clock=self.now,
            milestone=self.milestone,
        )

    def _check_network(self, params: dict[str, Any]) -> str:
        subnets = list(params.get("SubnetIds") or [])
        if len(subnets) != 1:
            raise FsxError(
                "BadRequest",
                f"FSx for Lustre file systems take exactly one subnet, got {len(subnets)}.",
            )
        ec2 = ec2_backends[self.backend.account_id][self.backend.region_name]
        try:
            subnet = ec2.get_subnet(subnets[0])
        except Exception:  # moto raises InvalidSubnetIdError
            raise FsxError(
                "InvalidNetworkSettings",
                f"The subnet ID '{subnets[0]}' does not exist",
                InvalidSubnetId=subnets[0],
            ) from None
        for group in params.get("SecurityGroupIds") or []:
            if ec2.get_security_group_from_id(group) is None:
                raise FsxError(
                    "InvalidNetworkSettings",
                    f"The security group ID '{group}' does not exist",
                    InvalidSecurityGroupId=group,
                )
        return str(subnet.vpc_id)

    def _note(self, kind: str, resource_id: str, state: str, at: float | None) -> None:
        """Record a lifecycle change in the simulation (``Simulation.lifecycles``), if one
        plays and the time of the change is known."""
        sim = self.sim
        if sim is not None and at is not None:
            sim.record_lifecycle(kind, resource_id, state, at)

    def _describe_file_system(self, fs: FileSystem) -> dict[str, Any]:
        request = fs.request
        lustre: dict[str, Any] = {
            "WeeklyMaintenanceStartTime": "1:05:00",
            "DeploymentType": fs.deployment_type,
            "MountName": fs.mount_name,
            "DataCompressionType": fs.lustre.get("DataCompressionType") or "NONE",
            "DataRepositoryConfiguration": {"Lifecycle": "AVAILABLE"}
            if fs.lustre.get("ImportPath")
            else None,
            "PerUnitStorageThroughput": fs.lustre.get("PerUnitStorageThroughput"),
            "LogConfiguration": {"Level": "DISABLED"},
        }
        lifecycle = fs.lifecycle
        if lifecycle == "AVAILABLE":
            self._note("fsx:file-system", fs.file_system_id, lifecycle, fs.readiness.ready_at())
        described: dict[str, Any] = {
            "OwnerId": fs.owner,
            "CreationTime": fs.created,
            "FileSystemId": fs.file_system_id,
            "FileSystemType": "LUSTRE",
            "Lifecycle": "DELETING" if lifecycle == GONE else lifecycle,
            "FailureDetails": {"Message": message}
            if (message := fs.failure_message) is not None
            else None,
            "StorageCapacity": request.get("StorageCapacity"),
            "StorageType": request.get("StorageType"),
            "VpcId": fs.vpc_id,
            "SubnetIds": list(request.get("SubnetIds") or []),
            "NetworkInterfaceIds": fs.network_interfaces,
            "DNSName": fs.dns_name,
            "KmsKeyId": request.get("KmsKeyId"),
            "ResourceARN": fs.arn,
            "Tags": self._tags(fs.arn),
            "LustreConfiguration": {k: v for k, v in lustre.items() if v is not None},
            "FileSystemTypeVersion": fs.version,
        }
        return {k: v for k, v in described.items() if v is not None}

    def describe_file_systems(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._settle()
            ids = params.get("FileSystemIds")
            if self.counting():
                for fs in self.file_systems.values():
                    if not ids or fs.file_system_id in ids:
                        fs.observe()
            self._settle()
            if ids:
                missing = [i for i in ids if i not in self.file_systems]
                if missing:
                    raise _not_found(missing[0])
                found = [self.file_systems[i] for i in ids]
            else:
                found = list(self.file_systems.values())
            page, token = _page(found, params)
            described = [self._describe_file_system(fs) for fs in page]
            return {"FileSystems": described, **({"NextToken": token} if token else {})}

    def delete_file_system(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            fs = self._file_system(params.get("FileSystemId"))
            if fs.lifecycle != "DELETING":
                running = self._running_tasks(fs.file_system_id)
                if running:
                    raise FsxError(
                        "BadRequest",
                        f"Cannot delete file system {fs.file_system_id} while data repository "
                        f"task {running[0].task_id} is {running[0].lifecycle}. Retry when the "
                        "task has finished (CANCELED, SUCCEEDED or FAILED).",
                    )
                for key in ("WindowsConfiguration", "OpenZFSConfiguration"):
                    if params.get(key):
                        raise FsxError(
                            "BadRequest",
                            f"{key} cannot be applied to delete a LUSTRE file system.",
                        )
                seconds = fs.storage.deleteSeconds
                if seconds is None:
                    fs.deletion = Phases([("DELETING", 1), (GONE, 0)], self.now, timed=True)
                else:
                    fs.gone_at = self.now() + seconds
                    self.milestone(fs.gone_at)
                self._record_deletion(fs)
            return {
                "FileSystemId": fs.file_system_id,
                "Lifecycle": "DELETING",
                "LustreResponse": {},
            }

    def _record_deletion(self, fs: FileSystem) -> None:
        sim = self.sim
        if sim is None:
            return
        associations = [
            a for a in self.associations.values() if a.file_system_id == fs.file_system_id
        ]
        exports = sorted(
            (
                t
                for t in self.tasks.values()
                if t.file_system_id == fs.file_system_id
                and t.request.get("Type") == "EXPORT_TO_REPOSITORY"
            ),
            key=lambda t: t.created,
        )
        tags = {t["Key"]: t.get("Value", "") for t in self._tags(fs.arn)}
        sim.record_deletion(
            Deletion(
                fs.file_system_id,
                sim.execution_of_tag(tags.get(TAG_EXECUTION)) or sim.current_execution,
                any((a.s3.get("AutoExportPolicy") or {}).get("Events") for a in associations),
                tuple((t.task_id, t.lifecycle, t.failed_files) for t in exports),
            )
        )

    # -- tags ------------------------------------------------------------------------------

    def _resource_arns(self) -> set[str]:
        self._settle()
        return (
            {fs.arn for fs in self.file_systems.values()}
            | {a.arn for a in self.associations.values()}
            | {t.arn for t in self.tasks.values()}
        )

    def _check_arn(self, arn: str | None) -> str:
        if not arn or arn not in self._resource_arns():
            raise FsxError(
                "ResourceNotFound",
                f"The resource ARN {arn} was not found.",
                ResourceARN=str(arn),
            )
        return arn

    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            arn = self._check_arn(params.get("ResourceARN"))
            self._tag(arn, params.get("Tags") or [])
            return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            arn = self._check_arn(params.get("ResourceARN"))
            self.backend.untag_resource(arn, list(params.get("TagKeys") or []))
            return {}

    def list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            arn = self._check_arn(params.get("ResourceARN"))
            return {"Tags": self._tags(arn)}

    # -- data repository associations -----------------------------------------------------

    def create_data_repository_association(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            earlier = self._replay("CreateDataRepositoryAssociation", params, self.associations)
            if earlier is not None:
                return {"Association": self._describe_association(earlier)}
            fs = self._file_system(params.get("FileSystemId"))
            if fs.deployment_type == "SCRATCH_1" or fs.version == "2.10":
                raise FsxError(
                    "UnsupportedOperation",
                    "Data repository associations are supported on FSx for Lustre 2.12 and "
                    "2.15 file systems, excluding the SCRATCH_1 deployment type "
                    f"({fs.file_system_id} is {fs.deployment_type}, Lustre {fs.version}).",
                )
            _check_available(fs, "to create a data repository association")
            path = str(params.get("FileSystemPath") or "/")
            repository = str(params.get("DataRepositoryPath") or "")
            self._check_repository(repository)
            if not path.startswith("/"):
                raise FsxError("BadRequest", f"FileSystemPath {path} must start with '/'.")
            mine = [
                a
                for a in self.associations.values()
                if a.file_system_id == fs.file_system_id and a.lifecycle != "DELETING"
            ]
            if len(mine) >= MAX_ASSOCIATIONS:
                raise FsxError(
                    "ServiceLimitExceeded",
                    f"File system {fs.file_system_id} already has {MAX_ASSOCIATIONS} data "
                    "repository associations.",
                )
            for other in mine:
                if _overlaps(other.file_system_path, path):
                    raise FsxError(
                        "BadRequest",
                        f"FileSystemPath {path} overlaps {other.file_system_path} of data "
                        f"repository association {other.association_id}.",
                    )
                if _overlaps(other.data_repository_path, repository):
                    raise FsxError(
                        "BadRequest",
                        f"DataRepositoryPath {repository} overlaps "
                        f"{other.data_repository_path} of data repository association "
                        f"{other.association_id}.",
                    )
            chunk = _check_chunk_size(params.get("ImportedFileChunkSize") or 1024)
            s3 = _check_s3_policies(params.get("S3"))
            association_id = f"dra-{secrets.token_hex(9)[:17]}"
            behaviour = (
                self.sim.behaviour.association if self.sim is not None else AssociationBehaviour()
            )
            created = self.now()
            association = Association(
                association_id=association_id,
                arn=self._arn("association", f"{fs.file_system_id}/{association_id}"),
                file_system_id=fs.file_system_id,
                request={**params, "FileSystemPath": path, "DataRepositoryPath": repository},
                created=created,
                phases=Phases([("CREATING", 1), ("AVAILABLE", 0)], self.now, timed=True),
                s3=s3,
                chunk_size=chunk,
                behaviour=behaviour,
                milestone=self.milestone,
                settles_at=None
                if behaviour.readySeconds is None
                else created + behaviour.readySeconds,
            )
            self._keep(
                "CreateDataRepositoryAssociation",
                params,
                self.associations,
                association_id,
                association,
            )
            self._record_link(association, bool(params.get("BatchImportMetaDataOnCreate")))
            return {"Association": self._describe_association(association)}

    def _record_link(self, association: Association, imports: bool) -> None:
        """Record the association, with the keys under its S3 path that it imports at
        creation (BatchImportMetaDataOnCreate): what its file system shows at first."""
        if self.sim is None:
            return
        repository = association.data_repository_path
        bucket, _, prefix = repository.removeprefix("s3://").partition("/")
        s3 = s3_backends[self.backend.account_id][get_partition(self.backend.region_name)]
        keys = sorted(s3.get_bucket(bucket).keys) if imports else []
        tags = {t["Key"]: t.get("Value", "") for t in self._tags(association.arn)}
        self.sim.record_link(
            Link(
                self.sim.execution_of_tag(tags.get(TAG_EXECUTION)) or self.sim.current_execution,
                association.file_system_path,
                repository,
                tuple(key for key in keys if key.startswith(prefix)),
            )
        )

    def _check_repository(self, repository: str) -> None:
        if not repository.startswith("s3://") or len(repository) <= len("s3://"):
            raise FsxError(
                "BadRequest",
                f"DataRepositoryPath {repository!r} must be an S3 path (s3://bucket/prefix/).",
            )
        bucket = repository[len("s3://") :].split("/", 1)[0]
        s3 = s3_backends[self.backend.account_id][get_partition(self.backend.region_name)]
        try:
            s3.get_bucket(bucket)
        except Exception:  # moto raises MissingBucket
            raise FsxError(
                "BadRequest",
                f"The S3 bucket {bucket} of DataRepositoryPath {repository} does not exist or "
                "is not accessible.",
            ) from None

    def _describe_association(self, association: Association) -> dict[str, Any]:
        request = association.request
        lifecycle = self._association_lifecycle(association)
        phases = association.phases
        if lifecycle == "UPDATING":
            self._note(ASSOCIATION, association.association_id, lifecycle, phases.since)
        elif lifecycle == "AVAILABLE":
            at = association.available_since()
            self._note(ASSOCIATION, association.association_id, lifecycle, at)
        described: dict[str, Any] = {
            "AssociationId": association.association_id,
            "ResourceARN": association.arn,
            "FileSystemId": association.file_system_id,
            "Lifecycle": lifecycle.replace(GONE, "DELETING"),
            "FileSystemPath": association.file_system_path,
            "DataRepositoryPath": association.data_repository_path,
            "BatchImportMetaDataOnCreate": bool(request.get("BatchImportMetaDataOnCreate")),
            "ImportedFileChunkSize": association.chunk_size,
            "S3": association.s3,
            "Tags": self._tags(association.arn),
            "CreationTime": association.created,
        }
        message = association.failure_message if lifecycle != "DELETING" else None
        if message is not None:
            described["FailureDetails"] = {"Message": message}
        return described

    def describe_data_repository_associations(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._settle()
            found = _select(
                self.associations,
                params,
                "AssociationIds",
                lambda missing: FsxError(
                    "DataRepositoryAssociationNotFound",
                    f"Data repository association '{missing}' does not exist.",
                ),
                {
                    "file-system-id": lambda a, values: a.file_system_id in values,
                    "data-repository-type": lambda a, values: "S3" in values,
                    "file-cache-id": lambda a, values: False,
                    "file-cache-type": lambda a, values: False,
                },
            )
            return self._described_page(found, params, "Associations", self._describe_association)

    def _association(self, association_id: str | None) -> Association:
        self._settle()
        association = self.associations.get(str(association_id))
        if association is None:
            raise FsxError(
                "DataRepositoryAssociationNotFound",
                f"Data repository association '{association_id}' does not exist.",
            )
        return association

    def update_data_repository_association(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            association = self._association(params.get("AssociationId"))
            lifecycle = self._association_lifecycle(association)
            if lifecycle != "AVAILABLE":
                raise FsxError(
                    "BadRequest",
                    f"Data repository association {association.association_id} is {lifecycle}; "
                    "it must be AVAILABLE to be updated.",
                )
            if "ImportedFileChunkSize" in params:
                association.chunk_size = _check_chunk_size(params["ImportedFileChunkSize"])
            if "S3" in params:
                association.s3 = _check_s3_policies(params["S3"])
            seconds = association.behaviour.updateSeconds
            association.settles_at = None if seconds is None else self.now() + seconds
            if association.behaviour.updateStuck:
                association.phases.restart([("UPDATING", 0)])
            else:
                association.phases.restart([("UPDATING", 1), ("AVAILABLE", 0)])
            return {"Association": self._describe_association(association)}

    def delete_data_repository_association(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            association = self._association(params.get("AssociationId"))
            if association.lifecycle != "DELETING":
                association.phases.restart([("DELETING", 1), (GONE, 0)])
            return {
                "AssociationId": association.association_id,
                "Lifecycle": "DELETING",
                "DeleteDataInFileSystem": bool(params.get("DeleteDataInFileSystem")),
            }

    # -- data repository tasks -------------------------------------------------------------

    def create_data_repository_task(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            earlier = self._replay("CreateDataRepositoryTask", params, self.tasks)
            if earlier is not None:
                return {"DataRepositoryTask": self._describe_task(earlier)}
            fs = self._file_system(params.get("FileSystemId"))
            kind = params.get("Type")
            if kind not in ("EXPORT_TO_REPOSITORY", "IMPORT_METADATA_FROM_REPOSITORY"):
                raise FsxError(
                    "UnsupportedOperation",
                    f"Data repository task type {kind} is not supported on this file system.",
                )
            _check_available(fs, "to run a data repository task")
            associations = [
                a
                for a in self.associations.values()
                if a.file_system_id == fs.file_system_id
                and self._association_lifecycle(a) == "AVAILABLE"
            ]
            if not associations:
                raise FsxError(
                    "BadRequest",
                    f"File system {fs.file_system_id} is not linked to a data repository (no "
                    "AVAILABLE data repository association).",
                )
            if kind == "EXPORT_TO_REPOSITORY":
                exporting = [
                    a for a in associations if (a.s3.get("AutoExportPolicy") or {}).get("Events")
                ]
                if exporting:
                    raise FsxError(
                        "BadRequest",
                        "Cannot run an export data repository task while automatic export is "
                        "enabled on data repository association "
                        f"{exporting[0].association_id}; disable automatic export first.",
                    )
            self._check_report(params.get("Report"), associations)
            running = self._running_tasks(fs.file_system_id)
            if running:
                raise FsxError(
                    "DataRepositoryTaskExecuting",
                    f"Data repository task {running[0].task_id} is currently executing on file "
                    f"system {fs.file_system_id}. Wait until it has completed, then create the "
                    "new task.",
                )
            sim = self.sim
            export = kind == "EXPORT_TO_REPOSITORY"
            outcome = (
                sim.behaviour.export.taskLifecycle if sim is not None and export else "SUCCEEDED"
            )
            failed = sim.behaviour.export.failedFiles if sim is not None and export else 0
            seconds = sim.behaviour.export.seconds if sim is not None and export else None
            # With export.seconds the EXECUTING phase ends on the clock (Task.lifecycle).
            phases = [("PENDING", 0), ("EXECUTING", 1), (outcome, 0)]
            if seconds is not None:
                phases = [("PENDING", 0), ("EXECUTING", 0)]
            task_id = f"task-{secrets.token_hex(9)[:17]}"
            task = Task(
                task_id=task_id,
                arn=self._arn("task", task_id),
                file_system_id=fs.file_system_id,
                request=params,
                created=self.now(),
                phases=Phases(phases, self.now, timed=True),
                outcome=outcome,
                failed_files=failed,
                association_ids=[a.association_id for a in associations],
                milestone=self.milestone,
                seconds=seconds,
            )
            self._keep("CreateDataRepositoryTask", params, self.tasks, task_id, task)
            return {"DataRepositoryTask": self._describe_task(task)}

    @staticmethod
    def _check_report(report: Any, associations: list[Association]) -> None:
        if not isinstance(report, dict):
            raise FsxError("BadRequest", "Report is required.")
        if not report.get("Enabled"):
            return
        path = report.get("Path")
        if not path:
            raise FsxError("BadRequest", "Report Path is required when the report is Enabled.")
        if report.get("Format") != REPORT_FORMAT:
            raise FsxError(
                "BadRequest", f"Report Format must be {REPORT_FORMAT}, got {report.get('Format')}."
            )
        if report.get("Scope") != REPORT_SCOPE:
            raise FsxError(
                "BadRequest", f"Report Scope must be {REPORT_SCOPE}, got {report.get('Scope')}."
            )
        if not any(_inside(str(path), a.data_repository_path) for a in associations):
            inside = ", ".join(a.data_repository_path for a in associations)
            raise FsxError(
                "BadRequest",
                f"The completion report Path {path} must be located within the file system's "
                f"linked data repository path ({inside}).",
            )

    def _describe_task(self, task: Task) -> dict[str, Any]:
        lifecycle = task.lifecycle
        if lifecycle not in ("PENDING", "CANCELING"):
            self._note(TASK, task.task_id, "EXECUTING", task.started)
        if lifecycle in TASK_ENDED:
            self._note(TASK, task.task_id, lifecycle, task.ended)
        now = self.now()
        total = EXPORTED_FILES + task.failed_files
        if lifecycle == "PENDING":
            succeeded, failed, total = 0, 0, 0
        elif lifecycle in ("EXECUTING", "CANCELING"):
            succeeded, failed = EXPORTED_FILES // 2, 0
        elif lifecycle == "CANCELED":
            succeeded, failed = EXPORTED_FILES // 2, task.failed_files
        else:
            succeeded, failed = EXPORTED_FILES, task.failed_files
        report = dict(task.request.get("Report") or {})
        described: dict[str, Any] = {
            "TaskId": task.task_id,
            "Lifecycle": lifecycle,
            "Type": task.request.get("Type"),
            "CreationTime": task.created,
            "StartTime": task.started,
            "EndTime": task.ended,
            "ResourceARN": task.arn,
            "Tags": self._tags(task.arn),
            "FileSystemId": task.file_system_id,
            "Paths": list(task.request.get("Paths") or []),
            "Status": {
                "TotalCount": total,
                "SucceededCount": succeeded,
                "FailedCount": failed,
                "LastUpdatedTime": now,
            },
            "Report": report,
        }
        if lifecycle == "FAILED":
            where = (
                f" See the completion report under {report['Path']}."
                if report.get("Enabled") and report.get("Path")
                else ""
            )
            described["FailureDetails"] = {
                "Message": (
                    f"The task failed to process {task.failed_files} of {total} files."
                    if task.failed_files
                    else "The task could not access the linked data repository."
                )
                + where
            }
        return {k: v for k, v in described.items() if v is not None}

    def describe_data_repository_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._settle()
            found = _select(
                self.tasks,
                params,
                "TaskIds",
                lambda missing: FsxError(
                    "DataRepositoryTaskNotFound",
                    f"Data repository task '{missing}' does not exist.",
                ),
                {
                    "file-system-id": lambda t, values: t.file_system_id in values,
                    "task-lifecycle": lambda t, values: t.lifecycle in values,
                    "data-repository-association-id": (
                        lambda t, values: bool(values & set(t.association_ids))
                    ),
                    "file-cache-id": lambda t, values: False,
                },
            )
            return self._described_page(found, params, "DataRepositoryTasks", self._describe_task)

    def cancel_data_repository_task(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._settle()
            task = self.tasks.get(str(params.get("TaskId")))
            if task is None:
                raise FsxError(
                    "DataRepositoryTaskNotFound",
                    f"Data repository task '{params.get('TaskId')}' does not exist.",
                )
            lifecycle = task.lifecycle
            if lifecycle not in TASK_RUNNING:
                if lifecycle == "CANCELING":
                    return {"Lifecycle": lifecycle, "TaskId": task.task_id}
                raise FsxError(
                    "DataRepositoryTaskEnded",
                    f"Data repository task {task.task_id} has already ended ({lifecycle}).",
                )
            task.outcome = "CANCELED"
            task.canceling = True
            task.phases.restart([("CANCELING", 0), ("CANCELED", 0)])
            return {"Lifecycle": "CANCELING", "TaskId": task.task_id}

    # -- Resource Groups Tagging API ---------------------------------------------------------

    def tagged_resources(self) -> Iterator[TaggedResource]:
        with self.lock:
            self._settle()
            items: list[tuple[str, str]] = [
                *((fs.arn, "fsx:file-system") for fs in self.file_systems.values()),
                *((a.arn, "fsx:association") for a in self.associations.values()),
                *((t.arn, "fsx:task") for t in self.tasks.values()),
            ]
        for arn, kind in items:
            tags = {t["Key"]: t.get("Value", "") for t in self._tags(arn)}
            yield TaggedResource(arn=arn, tags=tags, resource_type=kind)


# --------------------------------------------------------------------------- validation


def _check_capacity(deployment: str, storage_type: str, capacity: Any) -> None:
    """Storage capacity (GiB) per deployment type, as CreateFileSystem documents it."""
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise FsxError("BadRequest", f"StorageCapacity {capacity!r} must be an integer.")
    if storage_type == "HDD":
        valid = capacity > 0 and (capacity % 6000 == 0 or capacity % 1800 == 0)
        rule = "increments of 6000 GiB (12 MB/s/TiB) or 1800 GiB (40 MB/s/TiB)"
    elif deployment == "SCRATCH_1":
        valid = capacity in (1200, 2400) or (capacity > 0 and capacity % 3600 == 0)
        rule = "1200 GiB, 2400 GiB, or increments of 3600 GiB"
    else:
        valid = capacity in (1200, 2400) or (capacity > 0 and capacity % 2400 == 0)
        rule = "1200 GiB, 2400 GiB, or increments of 2400 GiB"
    if not valid:
        raise FsxError(
            "BadRequest",
            f"Invalid storage capacity {capacity} GiB for a {deployment} {storage_type} file "
            f"system; valid values are {rule}.",
        )


def _check_s3_policies(s3: Any) -> dict[str, Any]:
    if s3 is None:
        return {}
    if not isinstance(s3, dict):
        raise FsxError("BadRequest", "S3 must be a structure.")
    checked: dict[str, Any] = {}
    for key in ("AutoImportPolicy", "AutoExportPolicy"):
        if key not in s3 or s3[key] is None:
            continue
        events = list((s3[key] or {}).get("Events") or [])
        unknown = [e for e in events if e not in _EVENTS]
        if unknown:
            raise FsxError("BadRequest", f"{key} has unknown events: {', '.join(unknown)}.")
        checked[key] = {"Events": events}
    return checked


def _inside(path: str, root: str) -> bool:
    """Whether S3 path ``path`` is ``root`` or below it (trailing slashes ignored)."""
    path, root = path.rstrip("/"), root.rstrip("/")
    return path == root or path.startswith(root + "/")


def _overlaps(one: str, other: str) -> bool:
    return _inside(one, other) or _inside(other, one)


def _check_available(fs: FileSystem, purpose: str) -> None:
    if fs.lifecycle != "AVAILABLE":
        raise FsxError(
            "BadRequest",
            f"File system {fs.file_system_id} is {fs.lifecycle}; it must be AVAILABLE {purpose}.",
        )


def _check_chunk_size(value: Any) -> int:
    chunk = int(value)
    if not 1 <= chunk <= 512000:
        raise FsxError("BadRequest", f"ImportedFileChunkSize {chunk} must be between 1 and 512000.")
    return chunk


def _fingerprint(params: dict[str, Any]) -> str:
    """A request's parameters but its ``ClientRequestToken``, comparable as text."""
    return json.dumps(
        {k: v for k, v in params.items() if k != "ClientRequestToken"}, sort_keys=True
    )


def _select[R](
    stored: dict[str, R],
    params: dict[str, Any],
    ids_key: str,
    missing: Callable[[str], FsxError],
    filters: dict[str, Callable[[R, set[str]], bool]],
) -> list[R]:
    """What a Describe call asks for: the resources named by ``params[ids_key]`` (each must
    exist, else ``missing(id)``), or all of them, then those that pass every ``Filters``
    entry (an unknown filter name is ``BadRequest``)."""
    ids = params.get(ids_key)
    if ids:
        unknown = [i for i in ids if i not in stored]
        if unknown:
            raise missing(unknown[0])
        found = [stored[i] for i in ids]
    else:
        found = list(stored.values())
    for item in params.get("Filters") or []:
        values = set(item.get("Values") or [])
        name = item.get("Name")
        if name not in filters:
            raise FsxError("BadRequest", f"Invalid filter name {name}.")
        found = [resource for resource in found if filters[name](resource, values)]
    return found


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    start = int(params.get("NextToken") or 0)
    limit = int(params.get("MaxResults") or 2147483647)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


# --------------------------------------------------------------------------- installing


_STATE_ATTRIBUTE = "_localaws_lustre"
_STATE_LOCK = threading.Lock()


def lustre_of(backend: Any) -> Lustre:
    """The Lustre state of a moto FSx backend (made on first use)."""
    with _STATE_LOCK:
        state = getattr(backend, _STATE_ATTRIBUTE, None)
        if state is None:
            state = Lustre(backend)
            setattr(backend, _STATE_ATTRIBUTE, state)
        return state


RESPONSE_CLASS = Target(
    "fsx_response_class", "moto.fsx.responses:FSxResponse", None, _GAP, replaced=False
)
RESPONSE_BACKEND = Target(
    "fsx_response_backend",
    "moto.fsx.responses:FSxResponse.fsx_backend",
    "(self) -> moto.fsx.models.FSxBackend",
    _GAP,
    replaced=False,
)
RESPONSE_SETUP_CLASS = Target(
    "response_setup_class",
    "moto.core.responses:BaseResponse.setup_class",
    "(self, request: 'Request', full_url: 'str | None' = None, headers: 'Any' = None, "
    "use_raw_body: 'bool | None' = None) -> 'None'",
    f"{_GAP} (the request body is read from self.body, as moto's FSx responses do)",
    replaced=False,
)
RESPONSE_CALL_ACTION = Target(
    "response_call_action",
    "moto.core.responses:BaseResponse.call_action",
    "(self) -> 'TYPE_RESPONSE'",
    f"{_GAP} (an action's method is looked up on the response class per request)",
    replaced=False,
)
RESPONSE_METHOD_NAMES = Target(
    "response_method_names",
    "moto.core.responses:method_names_from_class",
    "(clazz: 'object') -> 'list[str]'",
    f"{_GAP} (an action's method is looked up on the response class per request)",
    replaced=False,
)
CREATE_FILE_SYSTEM = Target(
    "fsx_response_create_file_system",
    "moto.fsx.responses:FSxResponse.create_file_system",
    "(self) -> str",
    _GAP,
)
DESCRIBE_FILE_SYSTEMS = Target(
    "fsx_response_describe_file_systems",
    "moto.fsx.responses:FSxResponse.describe_file_systems",
    "(self) -> str",
    _GAP,
)
DELETE_FILE_SYSTEM = Target(
    "fsx_response_delete_file_system",
    "moto.fsx.responses:FSxResponse.delete_file_system",
    "(self) -> str",
    _GAP,
)
TAG_RESOURCE = Target(
    "fsx_response_tag_resource",
    "moto.fsx.responses:FSxResponse.tag_resource",
    "(self) -> tuple[int, dict[str, typing.Any], str | bytes]",
    _GAP,
)
UNTAG_RESOURCE = Target(
    "fsx_response_untag_resource",
    "moto.fsx.responses:FSxResponse.untag_resource",
    "(self) -> tuple[int, dict[str, typing.Any], str | bytes]",
    _GAP,
)
LIST_TAGS = Target(
    "fsx_response_list_tags",
    "moto.fsx.responses:FSxResponse.list_tags_for_resource",
    "(self) -> str",
    _GAP,
)
REPLACED_ACTIONS = {
    "create_file_system": CREATE_FILE_SYSTEM,
    "describe_file_systems": DESCRIBE_FILE_SYSTEMS,
    "delete_file_system": DELETE_FILE_SYSTEM,
    "tag_resource": TAG_RESOURCE,
    "untag_resource": UNTAG_RESOURCE,
    "list_tags_for_resource": LIST_TAGS,
}
"""Actions of moto's FSxResponse replaced by the emulation's, and their targets."""


def _response_method(action: str) -> Callable[[Any], str]:
    operation = "".join(part.title() for part in action.split("_"))

    def method(self: Any) -> str:
        params = json.loads(self.body or "{}")
        try:
            result = getattr(lustre_of(self.fsx_backend), action)(params)
        except FsxError as error:
            sim = active_simulation()
            if sim is not None:
                sim.record_refusal(operation, error.error_type, error.message)
            raise
        return json.dumps(result)

    method.__name__ = action
    method.__qualname__ = f"FSxResponse.{action}"
    method.__doc__ = f"FSx {action} (FSx for Lustre emulation, tools.localaws.patches.fsx)."
    return method


def _instead(method: Callable[[Any], str]) -> Callable[[Any], Callable[[Any], str]]:
    """A ``Patcher.replace`` builder that ignores the original: the emulation answers alone."""
    return lambda original: method


TAGGED_RESOURCES = Target(
    "fsx_backend_tagged_resources",
    "moto.fsx.models:FSxBackend.iter_tagged_resources",
    "(self) -> collections.abc.Iterator[moto.core.resource_tagging.TaggedResource]",
    _GAP,
)


def install(patcher: Patcher, sim: Simulation | None = None) -> None:
    """Gap 6: give moto's FSx the Lustre lifecycle, DRAs and data repository tasks.

    Replaces ``REPLACED_ACTIONS`` of ``FSxResponse``, adds ``ADDED_ACTIONS`` to it, and makes
    ``FSxBackend.iter_tagged_resources`` list the emulated resources too (behaviour: this
    module's docstring). Everything is restored when ``patcher`` exits. The emulation reads
    the active simulation per request (``sim`` is not needed).
    """
    for action, target in REPLACED_ACTIONS.items():
        patcher.replace(target, _instead(_response_method(action)))
    for action in ADDED_ACTIONS:
        patcher.add(RESPONSE_CLASS, action, _response_method(action))

    def build(original: Any) -> Callable[[Any], Iterator[TaggedResource]]:
        def iter_tagged_resources(self: Any) -> Iterator[TaggedResource]:
            yield from original(self)
            yield from lustre_of(self).tagged_resources()

        return iter_tagged_resources

    patcher.replace(TAGGED_RESOURCES, build)
