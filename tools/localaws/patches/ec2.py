"""EC2 (gap 7): a new EBS volume is ``available`` at once and never fails, and DetachVolume
without ``InstanceId`` raises TypeError in moto."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.ec2.exceptions import InvalidVolumeAttachmentError

from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import Simulation

_EBS = "moto.ec2.models.elastic_block_store"
_GAP_7 = "7: a new EBS volume is available at once"

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


@dataclass
class _VolumeScript:
    ready_after_polls: int
    create_fails: bool
    describes: int = 0

    def state(self) -> str:
        if self.describes <= self.ready_after_polls:
            return "creating"
        return "error" if self.create_fails else "available"


def patch_volume_lifecycle(patcher: Patcher) -> None:
    """Gap 7 (part): a new EBS volume is ``available`` at once and never fails.

    A volume created while a simulation is active reports ``creating`` (also in the
    CreateVolume response) for its first ``readyAfterPolls`` DescribeVolumes calls, then
    ``available`` -- or ``error`` when the scenario says ``createFails``.
    """

    def status(volume: Any) -> str:
        if volume.attachment:
            return "in-use"
        script = getattr(volume, "_localaws_script", None)
        return script.state() if script else "available"

    def build_create(original: Any) -> Callable[..., Any]:
        def create_volume(self: Any, *args: Any, **kwargs: Any) -> Any:
            volume = original(self, *args, **kwargs)
            sim = active_simulation()
            if sim is not None:
                volume._localaws_script = _VolumeScript(
                    sim.behaviour.storage.readyAfterPolls, sim.behaviour.storage.createFails
                )
            return volume

        return create_volume

    def build_describe(original: Any) -> Callable[..., Any]:
        def describe_volumes(self: Any, volume_ids: Any = None, filters: Any = None) -> Any:
            matches = original(self, volume_ids, filters)
            sim = active_simulation()
            if sim is not None and sim.enabled:
                for volume in matches:
                    script = getattr(volume, "_localaws_script", None)
                    if script is not None:
                        script.describes += 1
            return matches

        return describe_volumes

    patcher.replace(VOLUME_STATUS, lambda original: property(status))
    patcher.replace(VOLUME_CREATE, build_create)
    patcher.replace(VOLUME_DESCRIBE, build_describe)


VOLUME_DETACH = Target(
    "volume_detach",
    f"{_EBS}:EBSBackend.detach_volume",
    "(self, volume_id: str, instance_id: str, device_path: str) -> "
    "moto.ec2.models.elastic_block_store.VolumeAttachment",
    "7: detach_volume without InstanceId raises TypeError",
)


def patch_detach_volume(patcher: Patcher) -> None:
    """Gap 7 (part): ``DetachVolume`` without ``InstanceId`` raises TypeError in moto.

    EC2 accepts a detach by volume id alone; the instance is the volume's attachment.
    """

    def build(original: Any) -> Callable[..., Any]:
        def detach_volume(self: Any, volume_id: str, instance_id: str, device_path: str) -> Any:
            if not instance_id:
                volume = self.get_volume(volume_id)
                if volume.attachment is None:
                    raise InvalidVolumeAttachmentError(volume_id, "any instance")
                instance_id = volume.attachment.instance.id
            return original(self, volume_id, instance_id, device_path)

        return detach_volume

    patcher.replace(VOLUME_DETACH, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_volume_lifecycle(patcher)
    patch_detach_volume(patcher)
