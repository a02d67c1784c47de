"""Run configuration: the mode's Secrets Manager secret overlaid with the execution input.

Field names are the secret's keys (the original project's names, kept so existing secrets
validate). Values may be JSON numbers and booleans or the strings the original wrote
("500", "true"). Unknown keys and values outside a rule are refused with
``InvalidConfiguration`` naming the key, the value, where it came from and the rule, before
anything billable is created.

gp3 limits follow the EC2 API Reference, CreateVolume (Size 1-65,536 GiB; Iops 3,000-80,000;
Throughput 125-2,000 MiB/s) and the EBS User Guide, "General Purpose SSD volumes" (at most
500 IOPS per GiB and 0.25 MiB/s per provisioned IOPS). Batch limits follow the AWS Batch API
Reference, RetryStrategy (1-10 attempts) and JobTimeout (at least 60 seconds).
"""

import json
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any, Literal

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from batchscratch.errors import InvalidConfiguration

RUN_ENVIRONMENT = ("S3_BUCKET_NAME", "SCRATCH_DIR", "BATCH_SCRATCH_RUN_ID")
"""Variables every job gets from the run; jobEnvironment may not replace them."""
ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

GP3_MAX_IOPS_PER_GIB = 500
GP3_MIB_PER_SECOND_PER_IOPS = 0.25
GP3_BASELINE_IOPS = 3000
GP3_BASELINE_THROUGHPUT = 125


class CommonConfig(BaseModel):
    """Keys every mode accepts: the job definition, the job, and the workflow's timing.

    Poll intervals (``waitFor…Seconds``) feed the Wait states of the polling loops; the
    ``…TimeoutSeconds`` limits end a loop with a named error instead of letting it spin.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    jobDefinitionContainerImage: str = Field(min_length=1, max_length=1024)
    jobDefinitionRetryAttempts: int = Field(5, ge=1, le=10)
    jobDefinitionVcpus: int = Field(32, ge=1, le=4096)
    jobDefinitionMemory: int = Field(30000, ge=4, description="MiB")
    jobCommand: list[str] | None = Field(None, min_length=1)
    jobEnvironment: dict[str, str] = Field(default_factory=dict)
    jobAttemptTimeoutSeconds: int | None = Field(None, ge=60)
    waitForJobCompletionSeconds: int = Field(
        300, ge=0, description="Accepted for old secrets; submitJob.sync needs no polling."
    )
    waitForComputeSeconds: int = Field(30, ge=0, le=3600)
    storageTimeoutSeconds: int = Field(1800, ge=60)
    computeTimeoutSeconds: int = Field(1800, ge=60)
    cleanupTimeoutSeconds: int = Field(21600, ge=60)
    jobStartTimeoutSeconds: int = Field(3600, ge=60, le=86400)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        # pydantic reads true as 1: a typo such as {"ebsSizeGb": true} must not become 1 GiB.
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key)
                if (
                    isinstance(value, bool)
                    and field is not None
                    and field.annotation
                    in (
                        int,
                        int | None,
                    )
                ):
                    raise ValueError(
                        f"{key} = {json.dumps(value)}: must be a number, not a boolean"
                    )
        return data

    @field_validator("jobEnvironment")
    @classmethod
    def _no_reserved_names(cls, value: dict[str, str]) -> dict[str, str]:
        invalid = sorted(name for name in value if not ENVIRONMENT_NAME.fullmatch(name))
        if invalid:
            raise ValueError(f"not valid environment variable names: {invalid}")
        reserved = sorted(name for name in value if name.startswith("AWS_BATCH"))
        if reserved:
            raise ValueError(f"names starting AWS_BATCH are reserved by AWS Batch: {reserved}")
        own = sorted(set(value) & set(RUN_ENVIRONMENT))
        if own:
            raise ValueError(f"{own} are set by the run itself ({', '.join(RUN_ENVIRONMENT)})")
        return value


class OnlyEbsConfig(CommonConfig):
    """OnlyEBS mode: one encrypted gp3 volume, one node."""

    deleteEbs: bool = True
    ebsSizeGb: int = Field(500, ge=1, le=65536, description="GiB")
    ebsIOPS: int = Field(5000, ge=3000, le=80000)
    ebsThroughput: int = Field(500, ge=125, le=2000, description="MiB/s")
    waitForEbsCreationSeconds: int = Field(30, ge=0, le=3600)
    waitAfterDetachSeconds: int = Field(10, ge=0, le=3600)
    onFailure: Literal["snapshot", "retain", "delete"] = "snapshot"

    @model_validator(mode="after")
    def _gp3_ratios(self) -> "OnlyEbsConfig":
        max_iops = max(GP3_BASELINE_IOPS, self.ebsSizeGb * GP3_MAX_IOPS_PER_GIB)
        if self.ebsIOPS > max_iops:
            raise ValueError(
                f"ebsIOPS = {self.ebsIOPS} exceeds {GP3_MAX_IOPS_PER_GIB} IOPS per GiB of "
                f"ebsSizeGb = {self.ebsSizeGb} (at most {max_iops})"
            )
        max_throughput = max(GP3_BASELINE_THROUGHPUT, self.ebsIOPS * GP3_MIB_PER_SECOND_PER_IOPS)
        if self.ebsThroughput > max_throughput:
            raise ValueError(
                f"ebsThroughput = {self.ebsThroughput} MiB/s exceeds "
                f"{GP3_MIB_PER_SECOND_PER_IOPS} MiB/s per provisioned IOPS of "
                f"ebsIOPS = {self.ebsIOPS} (at most {max_throughput:g})"
            )
        return self


LUSTRE_PER_UNIT_THROUGHPUT = {"PERSISTENT_1": (50, 100, 200), "PERSISTENT_2": (125, 250, 500, 1000)}
"""Allowed PerUnitStorageThroughput (MB/s/TiB) of SSD deployment types; the first is the default."""


class LustreConfig(CommonConfig):
    """Keys of the Lustre modes: one FSx for Lustre file system linked to S3 by a data
    repository association (DRA).

    Rules (FSx API Reference, CreateFileSystem and CreateFileSystemLustreConfiguration;
    FSx for Lustre User Guide, "Linking your file system to an Amazon S3 bucket"):
    StorageCapacity (GiB) for SCRATCH_2, PERSISTENT_1 (SSD) and PERSISTENT_2 is 1200, 2400 or a
    multiple of 2400; DRAs need Lustre 2.12 or 2.15 and any deployment type but SCRATCH_1;
    ImportedFileChunkSize is 1-512,000 MiB; an array job has 2-10,000 children (arraySize 1
    runs a single job).
    """

    deleteLustre: bool = True
    lustreFileSystemTypeVersion: Literal["2.12", "2.15"] = "2.15"
    lustreStorageCapacity: int = Field(2400, description="GiB")
    lustreImportedFileChunkSize: int = Field(1024, ge=1, le=512000, description="MiB")
    lustreDeploymentType: str = "SCRATCH_2"
    lustrePerUnitStorageThroughput: int | None = Field(None, description="MB/s/TiB")
    dataRepositoryPath: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
    arraySize: int = Field(1, ge=1, le=10000)
    waitForLustreCreationSeconds: int = Field(30, ge=0, le=3600)
    waitForDataRepositoryTaskSeconds: int = Field(300, ge=0, le=3600)
    exportTimeoutSeconds: int = Field(21600, ge=60)
    onFailure: Literal["export", "retain", "delete"] = "export"

    @field_validator("lustreFileSystemTypeVersion", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # The original secrets wrote the version as a number (2.15) or a string ("2.15").
        return f"{value:.2f}" if isinstance(value, float) else value

    @field_validator("lustreDeploymentType")
    @classmethod
    def _deployment_type_with_dra(cls, value: str) -> str:
        if value == "SCRATCH_1":
            raise ValueError(
                "SCRATCH_1 file systems cannot have data repository associations; "
                "use SCRATCH_2, PERSISTENT_1 or PERSISTENT_2"
            )
        if value not in ("SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2"):
            raise ValueError("must be one of SCRATCH_2, PERSISTENT_1, PERSISTENT_2")
        return value

    @model_validator(mode="after")
    def _capacity_and_throughput(self) -> "LustreConfig":
        capacity = self.lustreStorageCapacity
        if capacity not in (1200, 2400) and (capacity <= 0 or capacity % 2400 != 0):
            raise ValueError(
                f"lustreStorageCapacity = {capacity} is not allowed for "
                f"{self.lustreDeploymentType}: allowed values are 1200, 2400 or a multiple of "
                f"2400 GiB (4800, 7200, ...)"
            )
        allowed = LUSTRE_PER_UNIT_THROUGHPUT.get(self.lustreDeploymentType)
        throughput = self.lustrePerUnitStorageThroughput
        if allowed is None and throughput is not None:
            raise ValueError(
                f"lustrePerUnitStorageThroughput = {throughput} applies only to PERSISTENT_1 "
                f"and PERSISTENT_2, not {self.lustreDeploymentType}"
            )
        if allowed is not None and throughput is not None and throughput not in allowed:
            raise ValueError(
                f"lustrePerUnitStorageThroughput = {throughput} is not allowed for "
                f"{self.lustreDeploymentType}: allowed values are "
                f"{', '.join(map(str, allowed))} MB/s/TiB"
            )
        return self

    def per_unit_throughput(self) -> int | None:
        """Return the PerUnitStorageThroughput to send (the type's lowest when unset)."""
        allowed = LUSTRE_PER_UNIT_THROUGHPUT.get(self.lustreDeploymentType)
        if allowed is None:
            return None
        return self.lustrePerUnitStorageThroughput or allowed[0]


class TaskExportConfig(LustreConfig):
    """TaskExport mode: results reach S3 by an export task after the job."""


class AutoExportConfig(LustreConfig):
    """AutoExport mode: FSx exports every change while the job runs.

    After the job the drain check reads ``AgeOfOldestQueuedMessage`` every
    ``waitForCheckMetricsSeconds`` at a period of ``lambdaPeriodSeconds`` (a multiple of 60,
    the metric's resolution), and requires the last ``lambdaTimeDiffMinutes`` (the quiet
    window) to be all 0; it gives up after ``drainTimeoutSeconds`` and verifies instead.
    """

    # At least 10 s: each poll adds history events, and an execution holds at most 25,000.
    waitForCheckMetricsSeconds: int = Field(60, ge=10, le=3600)
    lambdaPeriodSeconds: int = Field(60, ge=60, le=3600, multiple_of=60)
    lambdaTimeDiffMinutes: int = Field(15, ge=1, le=1440)
    drainTimeoutSeconds: int = Field(7200, ge=60)
    verifyExportBeforeDelete: bool = True

    @model_validator(mode="after")
    def _window_holds_two_periods(self) -> "AutoExportConfig":
        # A datapoint is readable only once its period is over: a window shorter than two
        # periods may never contain one, and the run would wait for drainTimeoutSeconds.
        if self.lambdaTimeDiffMinutes * 60 < 2 * self.lambdaPeriodSeconds:
            raise ValueError(
                f"lambdaTimeDiffMinutes = {self.lambdaTimeDiffMinutes} must cover at least two "
                f"metric periods of lambdaPeriodSeconds = {self.lambdaPeriodSeconds} "
                f"(at least {2 * self.lambdaPeriodSeconds // 60} minutes)"
            )
        return self


class _ConfigModels(Mapping[str, type[CommonConfig]]):
    """``{mode name: configuration model}``, read from the mode registry (``batchscratch.modes``).

    The registry declares each mode's model, so it imports this module; this mapping reads the
    registry when it is first used, which keeps the import one-way.
    """

    @cached_property
    def _models(self) -> dict[str, type[CommonConfig]]:
        from batchscratch.modes import MODES  # noqa: PLC0415 - modes imports this module

        return {name: mode.config_model for name, mode in MODES.items()}

    def __getitem__(self, mode: str) -> type[CommonConfig]:
        return self._models[mode]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


CONFIG_MODELS: Mapping[str, type[CommonConfig]] = _ConfigModels()
"""The configuration model of each implemented mode (``batchscratch.modes.MODES``)."""


def _describe_errors(
    error: ValidationError,
    model: type[CommonConfig],
    secret: dict[str, Any],
    overlay: dict[str, Any],
) -> str:
    lines = []
    for detail in error.errors():
        key = ".".join(str(part) for part in detail["loc"]) or "(whole configuration)"
        top = str(detail["loc"][0]) if detail["loc"] else ""
        source = "execution input" if top in overlay else "secret" if top in secret else "default"
        if detail["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(model.model_fields))
            lines.append(
                f"{key} = {json.dumps(detail['input'])} (from the {source}): unknown key; "
                f"allowed keys are: {allowed}"
            )
        elif detail["type"] == "missing":
            lines.append(f"{key}: required, and neither the secret nor the input sets it")
        elif detail["loc"]:
            lines.append(
                f"{key} = {json.dumps(detail['input'], default=str)} (from the {source}): "
                f"{str(detail['msg']).removeprefix('Value error, ')}"
            )
        else:
            lines.append(str(detail["msg"]).removeprefix("Value error, "))
    return "Invalid run configuration: " + "; ".join(lines)


def build_config(mode: str, secret: dict[str, Any], overlay: dict[str, Any]) -> CommonConfig:
    """Validate ``secret`` overlaid with ``overlay`` (the execution input) for ``mode``.

    Args:
        mode: ``TaskExport``, ``AutoExport`` or ``OnlyEBS``.
        secret: the decoded secret JSON object.
        overlay: the execution input; its keys replace the secret's.

    Returns:
        The validated configuration model of the mode.

    Raises:
        InvalidConfiguration: the mode is not implemented, an input is not a JSON object, a
            key is unknown, or a value breaks a rule; the message names each.
    """
    model = CONFIG_MODELS.get(mode)
    if model is None:
        raise InvalidConfiguration(
            f"Invalid run configuration: mode = {mode!r} is not implemented; "
            f"implemented modes are: {', '.join(CONFIG_MODELS)}"
        )
    for what, value in (("secret", secret), ("execution input", overlay)):
        if not isinstance(value, dict):
            raise InvalidConfiguration(
                f"Invalid run configuration: the {what} must be a JSON object, "
                f"got {json.dumps(value, default=str)[:200]}"
            )
    try:
        return model.model_validate({**secret, **overlay})
    except ValidationError as error:
        raise InvalidConfiguration(_describe_errors(error, model, secret, overlay)) from None


def load_config(mode: str, secret_id: str, overlay: dict[str, Any]) -> CommonConfig:
    """Read the mode's secret (JSON) with Powertools Parameters, as it is now (no cached
    copy), and apply ``build_config``.

    Args:
        mode: the deployed mode.
        secret_id: name or ARN of the Secrets Manager secret.
        overlay: the execution input.

    Returns:
        The validated configuration.

    Raises:
        InvalidConfiguration: the secret is not a JSON object, or ``build_config`` refuses.
        botocore.exceptions.ClientError: the secret cannot be read (permissions, not found).
    """
    try:
        # Read afresh for every run: a warm function must not run with a secret edited
        # seconds ago as it was before (Powertools would cache it for max_age).
        secret = parameters.get_secret(secret_id, transform="json", force_fetch=True)
    except parameters.exceptions.TransformParameterError as error:
        raise InvalidConfiguration(
            f"Invalid run configuration: secret {secret_id} is not valid JSON ({error})"
        ) from None
    return build_config(mode, secret, overlay)
