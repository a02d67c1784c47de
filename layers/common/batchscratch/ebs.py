"""The run's EBS volume: create, check, and release it by policy (OnlyEBS mode).

Follows the EC2 API Reference: CreateVolume (gp3, ``ClientToken`` for idempotency,
``TagSpecifications``), DescribeVolumes (``State``: creating | available | in-use |
deleting | deleted | error), DetachVolume, CreateSnapshot (``State``: pending | completed |
error | recoverable | recovering), DeleteVolume. What the release does with a volume is
decided by ``batchscratch.policy``; this module reads the facts and acts.
"""

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from batchscratch.aws import client
from batchscratch.config import OnlyEbsConfig
from batchscratch.encryption import ebs_encryption, kms_key_arn
from batchscratch.errors import SnapshotFailed, StorageFailed, StorageTimeout
from batchscratch.mounts import ebs_mount
from batchscratch.outputs import ReleaseStatus, VolumeRef, VolumeStatus
from batchscratch.policy import (
    choose_volume_policy,
    reason_to_keep_volume,
    snapshot_step,
    volume_never_held_data,
)
from batchscratch.polling import ReleaseProgress, enforce_deadline, waiting_since
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, Run, now_iso
from batchscratch.state import RunState
from batchscratch.storage import mark_ec2_retained, placement, retained_tag, tags_of

if TYPE_CHECKING:
    from batchscratch.modes import Mode

_UNUSABLE_STATES = ("error", "deleting", "deleted")
"""Volume states (EC2 API Reference, Volume ``State``: creating | available | in-use |
deleting | deleted | error) from which a volume never becomes usable: fail at once rather
than wait until ``storageTimeoutSeconds``."""


def create_volume(
    run: Run, config: OnlyEbsConfig, subnet_ids: list[str], kms_key_arn: str | None = None
) -> VolumeRef:
    """Create the run's encrypted gp3 volume in the Availability Zone of ``subnet_ids[0]``.

    Args:
        run: the run (tags, idempotency token).
        config: size (GiB), IOPS and throughput (MiB/s).
        subnet_ids: the stack's private subnets; the first one picks the zone.
        kms_key_arn: the stack's key (``encryption.ebs_encryption``); None encrypts with the
            account's EBS key. Its snapshots are encrypted with the same key by EBS.

    Returns:
        The volume, and the private subnets in its zone (a volume attaches only to an
        instance in its own zone), for the compute environment.

    Raises:
        botocore.exceptions.ClientError: EC2 refused (quota, permissions).
    """
    where = placement(subnet_ids)
    volume = client("ec2").create_volume(
        AvailabilityZone=where.zone,
        Size=config.ebsSizeGb,
        VolumeType="gp3",
        Iops=config.ebsIOPS,
        Throughput=config.ebsThroughput,
        **ebs_encryption(kms_key_arn),
        ClientToken=run.client_token("volume"),
        TagSpecifications=[
            {
                "ResourceType": "volume",
                "Tags": [*run.tag_list(), {"Key": "Name", "Value": run.resource_name("data")}],
            }
        ],
    )
    return VolumeRef(
        volumeId=volume["VolumeId"],
        availabilityZone=where.zone,
        subnetIds=where.subnet_ids,
        createdAt=now_iso(),
    )


def check_volume(
    volume_id: str, config: OnlyEbsConfig, previous: dict[str, Any] | None
) -> VolumeStatus:
    """Report whether the volume can be attached.

    Args:
        volume_id: the run's volume.
        config: how long it may stay ``creating`` (``storageTimeoutSeconds``, seconds).
        previous: this check's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``ready`` once the volume is ``available`` (or ``in-use``), its state, and when the
        wait began.

    Raises:
        StorageFailed: the volume is in state ``error``, ``deleting`` or ``deleted``, or does
            not exist.
        StorageTimeout: still not available after ``timeout_seconds``.
    """
    since = waiting_since(previous)
    try:
        volumes = client("ec2").describe_volumes(VolumeIds=[volume_id])["Volumes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidVolume.NotFound":
            raise StorageFailed(f"Volume {volume_id} no longer exists") from None
        raise
    state = volumes[0]["State"]
    if state in _UNUSABLE_STATES:
        raise StorageFailed(f"Volume {volume_id} is in state {state}; it cannot be used")
    ready = state in ("available", "in-use")
    if not ready:
        enforce_deadline(since, config.storageTimeoutSeconds, StorageTimeout, f"volume {volume_id}")
    return VolumeStatus(ready=ready, state=state, waitingSince=since)


def run_volumes(run: Run) -> list[dict[str, Any]]:
    """Return the volumes tagged with the run's execution ARN that are not being deleted."""
    pages = (
        client("ec2")
        .get_paginator("describe_volumes")
        .paginate(Filters=[{"Name": f"tag:{TAG_EXECUTION}", "Values": [run.execution_tag]}])
    )
    return [
        volume
        for page in pages
        for volume in page["Volumes"]
        if volume["State"] not in ("deleting", "deleted")
    ]


def _run_snapshot(run: Run, volume_id: str) -> dict[str, Any] | None:
    snapshots = client("ec2").describe_snapshots(
        OwnerIds=["self"],
        Filters=[
            {"Name": f"tag:{TAG_EXECUTION}", "Values": [run.execution_tag]},
            {"Name": "volume-id", "Values": [volume_id]},
        ],
    )["Snapshots"]
    usable = [snap for snap in snapshots if snap["State"] != "error"]
    found: list[dict[str, Any]] = usable or snapshots
    return found[0] if found else None


def _detach(volume: dict[str, Any]) -> bool:
    """Start detaching ``volume``; return True once it is detached (state ``available``)."""
    if volume["State"] == "available":
        return True
    for attachment in volume.get("Attachments", []):
        if attachment.get("State") in ("attaching", "attached"):
            try:
                client("ec2").detach_volume(
                    VolumeId=volume["VolumeId"], InstanceId=attachment["InstanceId"]
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "IncorrectState":
                    raise
    return False


def release_volumes(
    run: Run,
    config: OnlyEbsConfig,
    error_name: str | None,
    previous: dict[str, Any] | None,
    job_succeeded: bool = False,
    job_confirmed: bool = False,
) -> ReleaseStatus:
    """Apply the end-of-run policy to every volume of the run; call again until ``done``.

    The policy is ``batchscratch.policy.choose_volume_policy`` of ``config`` and
    ``error_name``. Each call does what the current state allows and returns; it is
    idempotent, so the success path and the release workflow share it.

    - ``delete``: detach, then delete the volume.
    - ``snapshot``: detach, snapshot (tagged ``retained-reason``), wait until the snapshot is
      ``completed``, then delete the volume. A failed snapshot keeps the volume.
    - ``retain``: tag the volume with ``retained-reason`` and keep it.

    A volume that already carries ``retained-reason`` is never touched; one in state
    ``error`` (its creation failed, so it holds no data) is deleted under every policy.

    Args:
        run: whose volumes.
        config: ``deleteEbs``, ``onFailure``, and the limit for the whole release
            (``cleanupTimeoutSeconds``).
        error_name: what sent the run to its release (``$.error.Error``); None on success.
        previous: this step's earlier result (carries ``waitingSince``), or None.
        job_succeeded, job_confirmed: ignored (``policy.choose_volume_policy``).

    Returns:
        ``done`` once nothing is pending, the policy applied, ``retained``
        (``ec2:volume:vol-…``, ``ec2:snapshot:snap-…``) and ``deleted``
        (``ec2:volume:vol-…``).

    Raises:
        SnapshotFailed: the snapshot ended in ``error``; the volume is tagged and kept.
        CleanupTimeout: not done within ``cleanupTimeoutSeconds``; what is left keeps its
            tags.
    """
    del job_succeeded, job_confirmed  # the volume's policy does not depend on the job
    policy, reason = choose_volume_policy(config, error_name)
    ec2 = client("ec2")
    progress = ReleaseProgress(policy, waiting_since(previous))
    for volume in run_volumes(run):
        volume_id = volume["VolumeId"]
        entry = f"ec2:volume:{volume_id}"
        tags = tags_of(volume)
        keep = reason_to_keep_volume(tags.get(TAG_RETAINED), volume["State"], policy, reason)
        if keep is not None:
            progress.keep(entry, tags, keep, partial(mark_ec2_retained, volume_id))
            continue
        if volume_never_held_data(volume["State"]):
            ec2.delete_volume(VolumeId=volume_id)
            progress.deleted.append(entry)
            continue
        if not _detach(volume):
            progress.pending.append(f"{entry} (detaching)")
            continue
        if policy == "snapshot" and not _snapshot_done(run, volume_id, reason, progress):
            continue
        ec2.delete_volume(VolumeId=volume_id)
        progress.deleted.append(entry)
    return progress.result(config.cleanupTimeoutSeconds)


def _snapshot_done(run: Run, volume_id: str, reason: str, progress: ReleaseProgress) -> bool:
    """Advance the snapshot of a detached volume; return True once the volume may go.

    Raises:
        SnapshotFailed: the snapshot ended in ``error``; the volume is tagged and kept.
    """
    snapshot = _run_snapshot(run, volume_id)
    if snapshot is None:
        created = client("ec2").create_snapshot(
            VolumeId=volume_id,
            Description=f"batch-scratch {run.runId}: {reason}"[:255],
            TagSpecifications=[
                {"ResourceType": "snapshot", "Tags": [*run.tag_list(), retained_tag(reason)]}
            ],
        )
        progress.pending.append(f"ec2:snapshot:{created['SnapshotId']} (pending)")
        return False
    snapshot_id = snapshot["SnapshotId"]
    step = snapshot_step(snapshot["State"])
    if step == "failed":
        mark_ec2_retained(volume_id, f"snapshot {snapshot_id} failed; volume kept")
        raise SnapshotFailed(
            f"Snapshot {snapshot_id} of volume {volume_id} failed "
            f"({snapshot.get('StateMessage', 'no message')}); the volume is kept, "
            f"tagged {TAG_RETAINED}"
        )
    progress.retained.append(f"ec2:snapshot:{snapshot_id}")
    if step == "wait":
        progress.pending.append(f"ec2:snapshot:{snapshot_id} ({snapshot['State']})")
        return False
    return True


class EbsVolume:
    """The EBS volume storage kind: ``modes.StorageInterface`` over this module.

    One encrypted gp3 volume per run, attached to the run's one instance at ``/data``.
    """

    mount = staticmethod(ebs_mount)
    choose_policy = staticmethod(choose_volume_policy)
    release = staticmethod(release_volumes)

    def create(self, state: RunState, subnet_ids: list[str], security_group_id: str) -> VolumeRef:
        """``create_volume`` for the run, with the stack's key (a volume has no security
        group)."""
        return create_volume(state.run, state.ebs_config(), subnet_ids, kms_key_arn())

    def check(self, state: RunState, mode: "Mode", previous: dict[str, Any] | None) -> VolumeStatus:
        """``check_volume`` of the run's volume (the same in every mode)."""
        volume_id = state.require_volume().volumeId
        return check_volume(volume_id, state.ebs_config(), previous)


VOLUME = EbsVolume()
"""The EBS volume storage kind's implementation (``modes.EBS_VOLUME``)."""
