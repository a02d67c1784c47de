"""What differs between the state machines: the slots the spine leaves for each mode.

Three tables, keyed by the registry's identifiers (batchscratch.modes):

- ``STORAGE``, by storage kind: the names of the storage's polling states, its poll
  intervals, whether the job may be an array job, the summary's storage fields, comments.
- ``STAGES``, by post-job stage: the states of the stage, given the state that follows it and
  the release step (a stage may skip ahead to the release).
- ``MODES``, by mode: the state machine's comment, the summary's results of the post-job
  stages, and comments particular to the mode.

The Lambda steps' outputs (ResultSelector fields, result paths) are in tools/asl/outputs.py.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from batchscratch.modes import (
    DISABLE_AUTO_EXPORT,
    DRAIN,
    EBS_VOLUME,
    EXPORT,
    LUSTRE_FILE_SYSTEM,
    Mode,
)
from tools.asl.spine import States, choice, lambda_task, poll


@dataclass(frozen=True)
class StorageSlots:
    """The spine's storage slots for one storage kind.

    ``noun`` names the polling states: ``Is<noun>Ready``, ``WaitFor<noun>``,
    ``Is<noun>Released``, ``WaitFor<noun>Release`` (the steps' intervals are the registry's,
    ``Step.interval``). ``summary``: fields of the create step's
    output the summary repeats. ``array_jobs``: the storage can be shared by an array job's
    children (IsArrayJob, RunArrayJob).
    """

    noun: str
    summary: tuple[str, ...]
    array_jobs: bool
    comments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StageSlots:
    """A post-job stage: its first state, its states (``build(next_state, release)``), and
    comments on them."""

    entry: str
    build: Callable[[str, str], States]
    comments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModeSlots:
    """A mode's own slots: the state machine's comment, the summary's results of the post-job
    stages (a summary key mapped to the step whose result it shows, e.g. ``export`` to
    ``CheckExport``), and comments on named states, over the storage's and the stages'."""

    comment: str
    summary: Mapping[str, str] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Slots:
    """Everything the spine needs for one mode beyond the registry's declaration: the mode's
    own slots, its storage kind's, and its post-job stages', in order."""

    mode: ModeSlots
    storage: StorageSlots
    stages: tuple[StageSlots, ...]


STORAGE: dict[str, StorageSlots] = {
    EBS_VOLUME.id: StorageSlots(
        noun="Volume",
        summary=("volumeId", "availabilityZone"),
        array_jobs=False,
        comments={
            "CreateVolume": "gp3, encrypted, idempotency token from the execution; the failure "
            "path finds it by tag even if this step fails late.",
            "PrepareCompute": "While the volume is created: this run's own launch template "
            "(mounts the volume), compute environment in its zone, and job definition.",
        },
    ),
    LUSTRE_FILE_SYSTEM.id: StorageSlots(
        noun="FileSystem",
        summary=("fileSystemId", "availabilityZone"),
        array_jobs=True,
        comments={
            "CreateFileSystem": "Capacity and type were validated by LoadConfig; idempotency "
            "token from the execution; the failure path finds it by tag even if this step "
            "fails late.",
            "CheckFileSystem": "Watches the file system; creates the data repository association "
            "once it is AVAILABLE and watches that too.",
            "PrepareCompute": "While the file system is created: this run's own launch template "
            "(mounts it by the DNS and mount names CreateFileSystem returned), compute "
            "environment in its zone, and job definition.",
            "RunArrayJob": "arraySize children share the file system; each sees "
            "AWS_BATCH_JOB_ARRAY_INDEX. No Retry, as for RunJob.",
        },
    ),
}


def _drain(next_state: str, release: str) -> States:
    """Poll the drain; once drained, release at once unless verification is required. A
    drain that timed out (or whose metric is not published) always goes on to the verifying
    export. Stages run inside AfterJob's storage branch: no Catch (the Parallel's)."""
    return {
        **poll(
            "CheckDrain",
            until={"drained": "IsVerificationRequired", "timedOut": next_state},
            choice_name="IsDrained",
            wait_name="WaitForDrain",
            catches=None,
        ),
        "IsVerificationRequired": choice(
            [("$.config.verifyExportBeforeDelete", next_state)], release
        ),
    }


def _disable_auto_export(next_state: str, release: str) -> States:
    del release  # always goes on
    return poll(
        "DisableAutoExport",
        until={"done": next_state},
        choice_name="IsAutoExportDisabled",
        wait_name="WaitForAutoExportDisabled",
        catches=None,
    )


def _export(next_state: str, release: str) -> States:
    del release  # the storage is released only after the export was checked
    return {
        "StartExport": lambda_task("StartExport", "CheckExport", catches=None),
        **poll(
            "CheckExport",
            until={"done": next_state},
            choice_name="IsExportDone",
            wait_name="WaitForExport",
            catches=None,
        ),
    }


STAGES: dict[str, StageSlots] = {
    DRAIN.id: StageSlots(
        entry="CheckDrain",
        build=_drain,
        comments={
            "CheckDrain": "AgeOfOldestQueuedMessage since the job's end: with the verifying "
            "export, drained once the newest datapoint reads 0; without it, once the quiet "
            "window is all 0. A metric not published is never success: it goes to the export.",
        },
    ),
    DISABLE_AUTO_EXPORT.id: StageSlots(
        entry="DisableAutoExport",
        build=_disable_auto_export,
        comments={
            "DisableAutoExport": "FSx runs a data repository task only once auto-export is off "
            "on the association.",
        },
    ),
    EXPORT.id: StageSlots(
        entry="StartExport",
        build=_export,
        comments={
            "StartExport": "EXPORT_TO_REPOSITORY of the whole file system; report of failed "
            "files inside the association's S3 path.",
            "CheckExport": "Checks this run's task by its own id. FAILED, CANCELED or failed "
            "files raise ExportFailed after tagging the file system retained.",
        },
    ),
}

MODES: dict[str, ModeSlots] = {
    "OnlyEBS": ModeSlots(
        comment="OnlyEBS: one encrypted gp3 volume for one AWS Batch run on Spot; every "
        "resource the run creates is deleted or deliberately retained.",
    ),
    "TaskExport": ModeSlots(
        comment="TaskExport: one FSx for Lustre file system for one AWS Batch run on Spot; "
        "results reach S3 by an export task, and the file system is deleted only after that "
        "export succeeded with 0 failed files.",
        summary={"export": "CheckExport"},
    ),
    "AutoExport": ModeSlots(
        comment="AutoExport: one FSx for Lustre file system for one AWS Batch run on Spot; FSx "
        "exports changes while the job runs; the file system is deleted only after the export "
        "queue drained (and, by default, a final export task verified it).",
        summary={"drain": "CheckDrain"},
        comments={
            "StartExport": "The verifying export: the file system is deleted only after it "
            "SUCCEEDED with 0 failed files.",
        },
    ),
}


def slots_of(mode: Mode) -> Slots:
    """Return the slots of ``mode``; a registry mode, storage kind or stage without slots is
    named in the error."""

    def find[T](table: Mapping[str, T], key: str, what: str) -> T:
        if key not in table:
            raise KeyError(f"tools/asl/slots.py has no slots for the {what} {key!r}")
        return table[key]

    return Slots(
        mode=find(MODES, mode.name, "mode"),
        storage=find(STORAGE, mode.storage.id, "storage kind"),
        stages=tuple(find(STAGES, stage.id, "post-job stage") for stage in mode.post_job),
    )
