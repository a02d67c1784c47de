"""The state machine's data (``$``) as every Lambda task receives it (``"Payload.$": "$"``).

Each step adds its result under its own key; a check step reads its own earlier result to
keep its ``waitingSince``. Catch blocks add ``error`` (``{"Error", "Cause"}``).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from batchscratch.config import CONFIG_MODELS, CommonConfig, LustreConfig, OnlyEbsConfig
from batchscratch.run import Run


class VolumeRef(BaseModel):
    """``$.volume``: the run's EBS volume (CreateVolume's result)."""

    volumeId: str
    availabilityZone: str
    subnetIds: list[str]
    createdAt: str


class FileSystemRef(BaseModel):
    """``$.fileSystem``: the run's FSx for Lustre file system (CreateFileSystem's result)."""

    fileSystemId: str
    availabilityZone: str
    subnetIds: list[str]
    createdAt: str


class FileSystemStatus(BaseModel):
    """``$.fileSystemStatus``: CheckFileSystem's result (mount details once ready)."""

    ready: bool
    lifecycle: str
    dnsName: str | None = None
    mountName: str | None = None
    associationId: str | None = None
    dataRepositoryPath: str | None = None
    waitingSince: str


class ExportRef(BaseModel):
    """``$.export``: the export task StartExport created."""

    taskId: str
    reportPath: str
    createdAt: str


class StepError(BaseModel):
    """``$.error``: what a Catch recorded (Step Functions' ``Error`` and ``Cause``)."""

    Error: str
    Cause: str | None = None


class RunState(BaseModel):
    """``$`` after LoadConfig. Unknown keys pass through (later steps add their own)."""

    model_config = ConfigDict(extra="allow")

    run: Run
    config: dict[str, Any]
    volume: VolumeRef | None = None
    fileSystem: FileSystemRef | None = None
    fileSystemStatus: FileSystemStatus | None = None
    export: ExportRef | None = None
    error: StepError | None = None

    def run_config(self) -> CommonConfig:
        """Return ``config`` as the validated model of the run's mode."""
        return CONFIG_MODELS[self.run.mode].model_validate(self.config)

    def ebs_config(self) -> OnlyEbsConfig:
        """Return ``config`` as the OnlyEBS model (raises ``TypeError`` in another mode)."""
        config = self.run_config()
        if not isinstance(config, OnlyEbsConfig):
            raise TypeError(f"run {self.run.runId} is in mode {self.run.mode}, not OnlyEBS")
        return config

    def lustre_config(self) -> LustreConfig:
        """Return ``config`` as a Lustre model (raises ``TypeError`` in OnlyEBS)."""
        config = self.run_config()
        if not isinstance(config, LustreConfig):
            raise TypeError(f"run {self.run.runId} is in mode {self.run.mode}, not a Lustre mode")
        return config

    def require_file_system(self) -> FileSystemRef:
        """Return ``fileSystem``; raise ``ValueError`` when the state has none."""
        if self.fileSystem is None:
            raise ValueError("the state has no file system: CreateFileSystem did not run")
        return self.fileSystem

    def require_mount(self) -> FileSystemStatus:
        """Return ``fileSystemStatus`` once it has the mount details; else ``ValueError``."""
        status = self.fileSystemStatus
        if status is None or not (status.ready and status.dnsName and status.mountName):
            raise ValueError("the file system is not ready: CheckFileSystem did not finish")
        return status

    def require_export(self) -> ExportRef:
        """Return ``export``; raise ``ValueError`` when the state has none."""
        if self.export is None:
            raise ValueError("the state has no export task: StartExport did not run")
        return self.export

    def previous(self, key: str) -> dict[str, Any] | None:
        """Return this step's earlier result stored under ``key`` (e.g. ``"cleanup"``),
        whether the key is a declared field (``fileSystemStatus``) or passed through."""
        if key in type(self).model_fields:
            value: Any = getattr(self, key)
            if isinstance(value, BaseModel):
                value = value.model_dump()
        else:
            value = (self.model_extra or {}).get(key)
        return value if isinstance(value, dict) else None

    def require_volume(self) -> VolumeRef:
        """Return ``volume``; raise ``ValueError`` when the state has none."""
        if self.volume is None:
            raise ValueError("the state has no volume: CreateVolume did not run")
        return self.volume
