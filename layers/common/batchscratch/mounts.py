"""How the run's storage reaches the job: host user data, host path, container path, subnets."""

from dataclasses import dataclass

from batchscratch.repository import INPUT_FILE_SYSTEM_PATH
from batchscratch.state import RunState

EBS_MOUNT_POINT = "/data"
LUSTRE_MOUNT_POINT = "/fsx"
LUSTRE_SCRATCH_DIR = "/fsx/scratch"
"""The association's directory on the host (FileSystemPath /scratch under the mount point)."""
JOB_SCRATCH_DIR = "/scratch"
LUSTRE_INPUT_DIR = LUSTRE_MOUNT_POINT + INPUT_FILE_SYSTEM_PATH
"""The input association's directory on the host (FileSystemPath /input)."""
JOB_INPUT_DIR = INPUT_FILE_SYSTEM_PATH


@dataclass(frozen=True)
class StorageMount:
    """Where compute must run and how it mounts the storage.

    ``subnet_ids``: private subnets in the storage's Availability Zone; ``user_data``: the
    launch template's MIME document; ``host_path`` is mounted into the job at
    ``container_path``; each ``(host, container)`` of ``read_only`` is mounted read-only.
    """

    subnet_ids: list[str]
    user_data: str
    host_path: str
    container_path: str
    read_only: tuple[tuple[str, str], ...] = ()


def ebs_mount(state: RunState) -> StorageMount:
    """Return how the run's EBS volume reaches the job: attached and mounted at ``/data``.

    The user data carries the run id (``state.run.runId``), which the boot writes in the run
    marker (``batchscratch.marker``) on the storage for the job to check.

    Raises:
        ValueError: the state has no volume (CreateVolume did not run).
    """
    # Imported here: only PrepareCompute writes user data (the MIME modules it loads).
    from batchscratch.user_data import ebs_user_data  # noqa: PLC0415

    volume = state.require_volume()
    return StorageMount(
        subnet_ids=volume.subnetIds,
        user_data=ebs_user_data(volume.volumeId, state.run.runId, EBS_MOUNT_POINT),
        host_path=EBS_MOUNT_POINT,
        container_path=EBS_MOUNT_POINT,
    )


def lustre_mount(state: RunState) -> StorageMount:
    """Return how the run's Lustre file system reaches the job: ``/fsx/scratch`` on the
    host, ``/scratch`` in the container; with ``inputDataRepositoryPath``, ``/fsx/input``
    also, read-only at ``/input`` (the job cannot change what the shared input holds). The
    user data carries the run id, as for EBS.

    The mount details come from CreateFileSystem's answer, so this works while the file
    system is still being created: the instances boot only for a job, which is submitted
    once the file system and its association are ready.

    Raises:
        ValueError: the state lacks the file system (CreateFileSystem did not run).
    """
    from batchscratch.user_data import lustre_user_data  # noqa: PLC0415 - as in ebs_mount

    file_system = state.require_file_system()
    return StorageMount(
        subnet_ids=file_system.subnetIds,
        user_data=lustre_user_data(
            file_system.dnsName,
            file_system.mountName,
            state.run.runId,
            LUSTRE_MOUNT_POINT,
            LUSTRE_SCRATCH_DIR,
        ),
        host_path=LUSTRE_SCRATCH_DIR,
        container_path=JOB_SCRATCH_DIR,
        read_only=((LUSTRE_INPUT_DIR, JOB_INPUT_DIR),)
        if state.lustre_config().inputDataRepositoryPath
        else (),
    )
