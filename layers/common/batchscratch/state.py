"""The state machine's data (``$``) as every Lambda task receives it (``"Payload.$": "$"``).

Each step adds its result under its own key; a check step reads its own earlier result to
keep its ``waitingSince``. Catch blocks add ``error`` (``{"Error", "Cause"}``).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from batchscratch.config import CONFIG_MODELS, CommonConfig, OnlyEbsConfig
from batchscratch.run import Run


class VolumeRef(BaseModel):
    """``$.volume``: the run's EBS volume (CreateVolume's result)."""

    volumeId: str
    availabilityZone: str
    subnetIds: list[str]
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

    def previous(self, key: str) -> dict[str, Any] | None:
        """Return this step's earlier result stored under ``key`` (e.g. ``"cleanup"``)."""
        value = (self.model_extra or {}).get(key)
        return value if isinstance(value, dict) else None

    def require_volume(self) -> VolumeRef:
        """Return ``volume``; raise ``ValueError`` when the state has none."""
        if self.volume is None:
            raise ValueError("the state has no volume: CreateVolume did not run")
        return self.volume
