"""What each Lambda step returns: where its result goes in the state, and its fields.

This is the one place the field lists are written. Each Lambda task's ``ResultSelector``
keeps exactly these fields of the handler's payload (``"<field>.$": "$.Payload.<field>"``),
each Choice reads one of them, and the summary points at the results by their path. The
handlers return plain dicts for now; once each has a typed output model, ``fields`` becomes
``tuple(model.model_fields)`` and nothing else here changes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    """A step's result: ``path`` in the state (its ``ResultPath``) and the payload's fields."""

    path: str
    fields: tuple[str, ...]


_RELEASE = ("done", "policy", "retained", "deleted", "waitingSince")

OUTPUTS: dict[str, Output] = {
    "LoadConfig": Output("$", ("run", "config")),
    "CreateVolume": Output("$.volume", ("volumeId", "availabilityZone", "subnetIds", "createdAt")),
    "CheckVolume": Output("$.volumeStatus", ("ready", "state", "waitingSince")),
    "CreateFileSystem": Output(
        "$.fileSystem", ("fileSystemId", "availabilityZone", "subnetIds", "createdAt")
    ),
    "CheckFileSystem": Output(
        "$.fileSystemStatus",
        (
            "ready",
            "lifecycle",
            "dnsName",
            "mountName",
            "associationId",
            "dataRepositoryPath",
            "waitingSince",
        ),
    ),
    "PrepareCompute": Output(
        "$.compute",
        (
            "launchTemplateId",
            "launchTemplateName",
            "computeEnvironmentName",
            "computeEnvironmentArn",
            "jobQueueName",
            "jobDefinitionName",
            "jobDefinitionArn",
            "jobName",
            "createdAt",
        ),
    ),
    "CheckCompute": Output("$.computeStatus", ("ready", "jobQueueArn", "waitingSince")),
    "CleanUpCompute": Output("$.cleanup", ("done", "remaining", "waitingSince")),
    "CheckDrain": Output(
        "$.drain",
        ("drained", "timedOut", "considered", "reason", "jobEndedAt", "waitingSince"),
    ),
    "DisableAutoExport": Output(
        "$.autoExport", ("done", "associationId", "lifecycle", "waitingSince")
    ),
    "StartExport": Output("$.export", ("taskId", "reportPath", "createdAt")),
    "CheckExport": Output(
        "$.exportStatus",
        (
            "done",
            "lifecycle",
            "failedCount",
            "succeededCount",
            "totalCount",
            "reportLocation",
            "waitingSince",
        ),
    ),
    "ReleaseVolume": Output("$.release", _RELEASE),
    "ReleaseFileSystem": Output("$.release", _RELEASE),
}


def output_of(step: str) -> Output:
    """Return what ``step`` (a Lambda step's name, e.g. ``CheckVolume``) returns."""
    try:
        return OUTPUTS[step]
    except KeyError:
        raise KeyError(f"tools/asl/outputs.py declares no output for the step {step}") from None
