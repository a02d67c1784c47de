"""EC2 (gap 7): moto's EBS volumes and snapshots are ready at once, never fail, never wait
for anything, and DetachVolume without ``InstanceId`` raises TypeError.

What it plays instead, from the scenario's ``aws.storage`` and ``aws.snapshot`` (every time
is on the simulation's virtual clock; states are the EC2 API Reference's enums, checked
against botocore's model: Volume ``State`` creating | available | in-use | deleting |
deleted | error, VolumeAttachment ``State`` attaching | attached | detaching | detached |
busy, Snapshot ``State`` pending | completed | error | recoverable | recovering):

- **Creation**: a new volume is ``creating`` (also in the CreateVolume answer) until both
  ``readyAfterPolls`` DescribeVolumes calls have reported it so and ``readySeconds`` have
  passed since CreateVolume; then ``available``, or ``error`` with ``createFails``.
- **Late failure**: with ``failsAfterSeconds``, the volume turns ``error`` that long after it
  became ready (``error`` outranks ``in-use``: the attachment stays listed).
- **Held by its instance** (``heldSeconds``): once the run's Batch job has started, the
  volume is ``in-use``, attached at ``/dev/xvdf`` (the device the product's user data asks
  for) to the run's instance, until ``heldSeconds`` after the job ended (its
  ``JobRecord.ended_at``, which a later step of the run sees as "the job is over"); then the
  instance is gone (Batch scales in) and the volume ``available``. Meanwhile DetachVolume is
  accepted (its answer says ``detaching``) but, as the EC2 API Reference says of a volume
  whose file system is still mounted, the attachment is then stuck ``busy``; DeleteVolume
  is refused ``VolumeInUse``. The instance is a stand-in id, not an emulated instance: no
  instance boots in a rehearsal. A job that never ran holds nothing.
- **Deletion** (``deleteSeconds``): an accepted DeleteVolume leaves the volume ``deleting``
  for that long, then it is gone (``InvalidVolume.NotFound``); by default it goes at once,
  as in moto. A DeleteVolume of a volume already deleting changes nothing.
- **Snapshots** (``aws.snapshot``): CreateSnapshot (and CreateSnapshots, which makes one per
  volume) answers ``pending``; the snapshot stays ``pending`` (``Progress`` 0%) for
  ``seconds``, then is ``completed`` (100%) or, with ``fails``, ``error`` with a
  ``StateMessage`` saying why.

Where a change happens at a known virtual time, it is a milestone of the clock
(``VirtualClock.milestone``). ``Readiness`` is shared with the FSx emulation (``fsx``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ec2.exceptions import InvalidVolumeAttachmentError, InvalidVolumeDetachmentError
from moto.ec2.models.elastic_block_store import VolumeAttachment

from tools.localaws.behaviour import Snapshot, Storage
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import TAG_EXECUTION, Simulation

_EBS = "moto.ec2.models.elastic_block_store"
_GAP_7 = "7: a new EBS volume is available at once"

DEVICE = "/dev/xvdf"
"""Where the product's user data attaches the run's volume (scripts/mount_ebs_volume.sh)."""

SNAPSHOT_FAILURE = (
    "The snapshot could not be completed: an internal error occurred while copying the "
    "volume's data."
)
"""``StateMessage`` of a snapshot that ends ``error`` (paraphrased: EC2 gives error details
there, "This parameter is only returned by DescribeSnapshots")."""


class Readiness:
    """When new storage is ready, on the virtual clock (``storage.readyAfterPolls`` and
    ``storage.readySeconds``; shared by the EBS and FSx emulations).

    ``polls`` describe calls that return it still report it creating, and ``seconds`` virtual
    seconds must have passed since ``created`` (epoch seconds); the create answer always
    reports it creating, as EC2 and FSx do.
    """

    def __init__(self, created: float, polls: int, seconds: float) -> None:
        self.created = created
        self.polls = polls
        self.seconds = seconds
        self.describes = 0
        self._polls_met: float | None = created if polls == 0 else None

    def observe(self, now: float) -> None:
        """Count a describe call that returns the storage, made at ``now``."""
        self.describes += 1
        if self._polls_met is None and self.describes > self.polls:
            self._polls_met = now

    def ready_at(self) -> float | None:
        """When the storage became (or becomes) ready, epoch seconds; None while describe
        calls it still has to answer ``creating`` remain."""
        if self._polls_met is None:
            return None
        return max(self.created + self.seconds, self._polls_met)

    def ready(self, now: float) -> bool:
        """Whether a describe call at ``now`` reports it ready (never before one has)."""
        at = self.ready_at()
        return self.describes > self.polls and at is not None and now >= at


def _milestone(at: float) -> None:
    sim = active_simulation()
    if sim is not None:
        sim.clock.milestone(at)


def _now() -> float:
    sim = active_simulation()
    return sim.clock.now() if sim is not None else time.time()


def _utc(epoch: float) -> datetime:
    """A moto timestamp (naive UTC, as ``moto.core.utils.utcnow``) of epoch seconds."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _StandIn:
    """The run's instance, as far as a volume attachment needs it (its id)."""

    id: str


@dataclass
class _VolumeScript:
    """What the scenario makes of one volume (the ``aws.storage`` it was created under)."""

    storage: Storage
    readiness: Readiness
    instance: _StandIn = field(default_factory=lambda: _StandIn(f"i-{secrets.token_hex(9)[:17]}"))
    gone_at: float | None = None
    """When a volume being deleted is gone."""
    held_until: float | None = None
    """When the run's instance lets go of the volume (known once the job has ended)."""
    detach_requested: bool = False
    released: bool = False
    """The instance has let go of the volume: it is never attached again."""

    def late_at(self) -> float | None:
        """When a ready volume turns ``error`` (``failsAfterSeconds``), if it does."""
        ready = self.readiness.ready_at()
        if ready is None or self.storage.failsAfterSeconds is None:
            return None
        return ready + self.storage.failsAfterSeconds

    def state(self, attached: bool, now: float) -> str:
        if self.gone_at is not None:
            return "deleting"
        if not self.readiness.ready(now):
            return "creating"
        if self.storage.createFails:
            return "error"
        late = self.late_at()
        if late is not None:
            _milestone(late)
            if now >= late:
                return "error"
        return "in-use" if attached else "available"

    def holds(self, volume: Any) -> bool:
        """Whether the volume's attachment is the stand-in instance's."""
        attachment = volume.attachment
        return attachment is not None and attachment.instance is self.instance


def _script(volume: Any) -> _VolumeScript | None:
    script = getattr(volume, "_localaws_script", None)
    return script if isinstance(script, _VolumeScript) else None


VOLUME_STATUS = Target(
    "volume_status",
    f"{_EBS}:Volume.status",
    "(self) -> str",
    _GAP_7,
)
VOLUME_CREATE = Target(
    "volume_create",
    f"{_EBS}:EBSBackend.create_volume",
    "(self, size: int, zone_name: str, snapshot_id: str | None = None, encrypted: bool = "
    "False, kms_key_id: str | None = None, volume_type: str | None = None, iops: int | "
    "None = None, throughput: int | None = None, multi_attach_enabled: bool | None = "
    "None) -> moto.ec2.models.elastic_block_store.Volume",
    _GAP_7,
)
VOLUME_DESCRIBE = Target(
    "volume_describe",
    f"{_EBS}:EBSBackend.describe_volumes",
    "(self, volume_ids: list[str] | None = None, filters: Any = None) -> "
    "list[moto.ec2.models.elastic_block_store.Volume]",
    _GAP_7,
)
VOLUME_DELETE = Target(
    "volume_delete",
    f"{_EBS}:EBSBackend.delete_volume",
    "(self, volume_id: str) -> moto.ec2.models.elastic_block_store.Volume",
    "7: a deleted volume is gone at once, and one still held by its instance can be deleted",
)
VOLUME_GET_TAGS = Target(
    "volume_get_tags",
    "moto.ec2.models.core:TaggedEC2Resource.get_tags",
    "(self) -> list[dict[str, str]]",
    "7: a held volume belongs to its run's job (its execution tag)",
    replaced=False,
)
VOLUME_ATTACHMENT = Target(
    "volume_attachment",
    f"{_EBS}:VolumeAttachment.__init__",
    "(self, volume: 'Volume', instance: Any, device: str, status: str)",
    "7: a held volume is attached to its run's instance",
    replaced=False,
)


def _forget_deleted(backend: Any, now: float) -> None:
    """Drop the volumes whose ``deleteSeconds`` have passed (they are gone)."""
    for volume_id, volume in list(backend.volumes.items()):
        script = _script(volume)
        if script is not None and script.gone_at is not None and now >= script.gone_at:
            backend.volumes.pop(volume_id, None)


def _job_window(sim: Simulation, volume: Any) -> tuple[bool, float | None]:
    """Whether the volume's run has a Batch job yet, and when its last job ended (None while
    one runs)."""
    tags = {t.get("key"): t.get("value") for t in volume.get_tags()}
    execution = sim.execution_of_tag(tags.get(TAG_EXECUTION))
    jobs = sim.jobs_of(execution) if execution else []
    if not jobs:
        return False, None
    if any(job.ended_at is None for job in jobs):
        return True, None
    return True, max(float(job.ended_at or 0.0) for job in jobs)


def _settle_hold(volume: Any, sim: Simulation, now: float) -> None:
    """Attach a ``heldSeconds`` volume to its run's instance while the instance holds it,
    and let go of it once ``heldSeconds`` after the job have passed."""
    script = _script(volume)
    if script is None or script.storage.heldSeconds is None or script.released:
        return
    if script.gone_at is not None:
        return
    started, ended = _job_window(sim, volume)
    if not started:
        return
    if ended is not None and script.held_until is None:
        script.held_until = ended + script.storage.heldSeconds
        sim.clock.milestone(script.held_until)
    if script.held_until is not None and now >= script.held_until:
        if script.holds(volume):
            volume.attachment = None
        script.released = True
        return
    if volume.attachment is None:
        attachment = VolumeAttachment(volume, script.instance, DEVICE, "attached")  # type: ignore[abstract]
        attachment.attach_time = _utc(script.readiness.ready_at() or now)
        volume.attachment = attachment
    if script.holds(volume) and script.detach_requested:
        volume.attachment.status = "busy"


def patch_volume_lifecycle(patcher: Patcher) -> None:
    """Gap 7 (part): a new EBS volume is ``available`` at once, never fails, is never held
    by an instance and is gone as soon as it is deleted.

    Plays ``aws.storage`` on volumes created while a simulation is active (this module's
    docstring): creation (``readyAfterPolls``, ``readySeconds``, ``createFails``), late
    failure (``failsAfterSeconds``), the instance's hold (``heldSeconds``) and deletion
    (``deleteSeconds``).
    """

    def status(volume: Any) -> str:
        script = _script(volume)
        if script is None:
            return "in-use" if volume.attachment else "available"
        return script.state(volume.attachment is not None, _now())

    def build_create(original: Any) -> Callable[..., Any]:
        def create_volume(self: Any, *args: Any, **kwargs: Any) -> Any:
            volume = original(self, *args, **kwargs)
            sim = active_simulation()
            if sim is not None:
                storage = sim.behaviour.storage
                now = sim.clock.now()
                volume.create_time = _utc(now)
                volume._localaws_script = _VolumeScript(
                    storage, Readiness(now, storage.readyAfterPolls, storage.readySeconds)
                )
                if storage.readySeconds:
                    sim.clock.milestone(now + storage.readySeconds)
            return volume

        return create_volume

    def build_describe(original: Any) -> Callable[..., Any]:
        def describe_volumes(self: Any, volume_ids: Any = None, filters: Any = None) -> Any:
            sim = active_simulation()
            if sim is not None:
                now = sim.clock.now()
                _forget_deleted(self, now)
                for volume in list(self.volumes.values()):
                    _settle_hold(volume, sim, now)
            matches = original(self, volume_ids, filters)
            if sim is not None and sim.enabled:
                now = sim.clock.now()
                for volume in matches:
                    script = _script(volume)
                    if script is not None and script.gone_at is None:
                        script.readiness.observe(now)
                        ready = script.readiness.ready_at()
                        if ready is not None and script.state(False, now) == "available":
                            sim.record_lifecycle("ec2:volume", volume.id, "available", ready)
            return matches

        return describe_volumes

    def build_delete(original: Any) -> Callable[..., Any]:
        def delete_volume(self: Any, volume_id: str) -> Any:
            sim = active_simulation()
            if sim is None:
                return original(self, volume_id)
            now = sim.clock.now()
            _forget_deleted(self, now)
            volume = self.volumes.get(volume_id)
            script = _script(volume) if volume is not None else None
            if script is not None:
                _settle_hold(volume, sim, now)
                if script.gone_at is not None:
                    return volume
            deleted = original(self, volume_id)  # VolumeInUse while attached
            seconds = script.storage.deleteSeconds if script is not None else None
            if script is not None and seconds:
                script.gone_at = now + seconds
                self.volumes[volume_id] = deleted
                sim.clock.milestone(script.gone_at)
            return deleted

        return delete_volume

    patcher.replace(VOLUME_STATUS, lambda original: property(status))
    patcher.replace(VOLUME_CREATE, build_create)
    patcher.replace(VOLUME_DESCRIBE, build_describe)
    patcher.replace(VOLUME_DELETE, build_delete)


VOLUME_DETACH = Target(
    "volume_detach",
    f"{_EBS}:EBSBackend.detach_volume",
    "(self, volume_id: str, instance_id: str, device_path: str) -> "
    "moto.ec2.models.elastic_block_store.VolumeAttachment",
    "7: detach_volume without InstanceId raises TypeError",
)
VOLUME_GET = Target(
    "volume_get",
    f"{_EBS}:EBSBackend.get_volume",
    "(self, volume_id: str) -> moto.ec2.models.elastic_block_store.Volume",
    "7: detach_volume without InstanceId raises TypeError",
    replaced=False,
)


def patch_detach_volume(patcher: Patcher) -> None:
    """Gap 7 (part): ``DetachVolume`` without ``InstanceId`` raises TypeError in moto, and
    a volume still in use by its instance detaches at once.

    EC2 accepts a detach by volume id alone; the instance is the volume's attachment. A
    volume its run's instance still holds (``heldSeconds``) is not detached: the answer says
    ``detaching``, and the attachment stays ``busy`` until the instance lets go of it
    (DetachVolume: "Failure to [unmount] can result in the volume becoming stuck in the busy
    state while detaching"). Another DetachVolume meanwhile answers the same.
    """

    def build(original: Any) -> Callable[..., Any]:
        def detach_volume(self: Any, volume_id: str, instance_id: str, device_path: str) -> Any:
            sim = active_simulation()
            if sim is not None:
                now = sim.clock.now()
                _forget_deleted(self, now)
                volume = self.get_volume(volume_id)
                script = _script(volume)
                if script is not None:
                    _settle_hold(volume, sim, now)
                    if script.holds(volume):
                        attachment = volume.attachment
                        if instance_id and instance_id != attachment.instance.id:
                            raise InvalidVolumeAttachmentError(volume_id, instance_id)
                        if device_path and device_path != attachment.device:
                            raise InvalidVolumeDetachmentError(
                                volume_id, attachment.instance.id, device_path
                            )
                        script.detach_requested = True
                        attachment.status = "busy"
                        return attachment
            if not instance_id:
                volume = self.get_volume(volume_id)
                if volume.attachment is None:
                    raise InvalidVolumeAttachmentError(volume_id, "any instance")
                instance_id = volume.attachment.instance.id
            return original(self, volume_id, instance_id, device_path)

        return detach_volume

    patcher.replace(VOLUME_DETACH, build)


# --------------------------------------------------------------------------- snapshots

_GAP_SNAPSHOT = "7: a new EBS snapshot is completed at once and never fails"

SNAPSHOT_CREATE = Target(
    "snapshot_create",
    f"{_EBS}:EBSBackend.create_snapshot",
    "(self, volume_id: str, description: str, owner_id: str | None = None, from_ami: str | "
    "None = None) -> moto.ec2.models.elastic_block_store.Snapshot",
    _GAP_SNAPSHOT,
)
SNAPSHOT_DESCRIBE = Target(
    "snapshot_describe",
    f"{_EBS}:EBSBackend.describe_snapshots",
    "(self, snapshot_ids: list[str] | None = None, filters: Any = None) -> "
    "list[moto.ec2.models.elastic_block_store.Snapshot]",
    _GAP_SNAPSHOT,
)
SNAPSHOT_PROGRESS = Target(
    "snapshot_progress",
    f"{_EBS}:Snapshot.progress",
    "(self) -> str",
    _GAP_SNAPSHOT,
)


@dataclass(frozen=True)
class _SnapshotScript:
    done_at: float
    fails: bool


def _settle_snapshots(backend: Any, now: float) -> None:
    """End the pending snapshots whose ``snapshot.seconds`` have passed."""
    for snapshot in list(backend.snapshots.values()):
        script = getattr(snapshot, "_localaws_script", None)
        if not isinstance(script, _SnapshotScript) or snapshot.status != "pending":
            continue
        if now >= script.done_at:
            snapshot.status = "error" if script.fails else "completed"
            if script.fails:
                snapshot.state_message = SNAPSHOT_FAILURE


def patch_snapshot_lifecycle(patcher: Patcher) -> None:
    """Gap 7 (part): moto's snapshot is ``completed`` at once and never fails.

    A snapshot created while a simulation is active is ``pending`` (``Progress`` 0%, also
    in the CreateSnapshot answer) for ``aws.snapshot.seconds`` of the virtual clock, then
    ``completed`` (100%), or ``error`` with ``StateMessage`` when ``aws.snapshot.fails``.
    Its ``StartTime`` is on the virtual clock.
    """

    def build_create(original: Any) -> Callable[..., Any]:
        def create_snapshot(
            self: Any,
            volume_id: str,
            description: str,
            owner_id: str | None = None,
            from_ami: str | None = None,
        ) -> Any:
            sim = active_simulation()
            if sim is not None:
                _forget_deleted(self, sim.clock.now())
            snapshot = original(self, volume_id, description, owner_id, from_ami)
            if sim is not None:
                behaviour: Snapshot = sim.behaviour.snapshot
                now = sim.clock.now()
                snapshot.start_time = _utc(now)
                snapshot.status = "pending"
                snapshot._localaws_script = _SnapshotScript(
                    now + behaviour.seconds, behaviour.fails
                )
                sim.clock.milestone(now + behaviour.seconds)
            return snapshot

        return create_snapshot

    def build_describe(original: Any) -> Callable[..., Any]:
        def describe_snapshots(
            self: Any, snapshot_ids: list[str] | None = None, filters: Any = None
        ) -> Any:
            _settle_snapshots(self, _now())
            return original(self, snapshot_ids, filters)

        return describe_snapshots

    def progress(snapshot: Any) -> str:
        return "100%" if snapshot.status == "completed" else "0%"

    patcher.replace(SNAPSHOT_CREATE, build_create)
    patcher.replace(SNAPSHOT_DESCRIBE, build_describe)
    patcher.replace(SNAPSHOT_PROGRESS, lambda original: property(progress))


# --------------------------------------------------------------------------- ClientToken

CREATE_VOLUME_RESPONSE = Target(
    "ec2_create_volume_response",
    "moto.ec2.responses.elastic_block_store:ElasticBlockStore.create_volume",
    "(self) -> moto.core.responses.ActionResult",
    "moto ignores CreateVolume's ClientToken: a repeated request makes a second volume",
)


def patch_create_volume_token(patcher: Patcher) -> None:
    """moto ignores CreateVolume's ``ClientToken``; EC2 answers a repeated request (same
    token) with the volume the first one created (EC2 API Reference, CreateVolume
    ``ClientToken``: "Unique, case-sensitive identifier that you provide to ensure the
    idempotency of the request"; "Ensuring idempotency"). So does the patched call, while
    that volume exists; a Lambda invocation run twice then makes one volume, as in AWS.
    """

    def build(original: Any) -> Callable[..., Any]:
        def create_volume(self: Any) -> Any:
            token = self._get_param("ClientToken")
            backend = self.ec2_backend
            tokens: dict[str, str] = backend.__dict__.setdefault("_localaws_volume_tokens", {})
            known = tokens.get(token) if token else None
            made: list[Any] = []
            create = backend.create_volume

            def create_once(**kwargs: Any) -> Any:
                if known is not None and known in backend.volumes:
                    return backend.volumes[known]
                volume = create(**kwargs)
                made.append(volume)
                return volume

            backend.create_volume = create_once
            try:
                result = original(self)
            finally:
                del backend.create_volume
            if token and made:
                tokens[token] = made[0].id
            return result

        return create_volume

    patcher.replace(CREATE_VOLUME_RESPONSE, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_volume_lifecycle(patcher)
    patch_create_volume_token(patcher)
    patch_detach_volume(patcher)
    patch_snapshot_lifecycle(patcher)
