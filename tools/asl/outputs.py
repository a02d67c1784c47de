"""What each Lambda step returns: where its result goes in the state, and its fields.

Both come from the step's output model (``batchscratch.outputs``), the one copy of the
contract that the handler returns and later steps read: the fields are the model's fields in
their order, the path is its ``result_path()``. Each Lambda task's ``ResultSelector`` keeps
exactly these fields of the handler's payload (``"<field>.$": "$.Payload.<field>"``), each
Choice reads one of them, and the summary points at the results by their path. This module
says only which step returns which model; tests/unit/test_outputs.py checks that each
handler declares (and returns) the same one.
"""

from dataclasses import dataclass

from batchscratch.outputs import (
    AutoExportStatus,
    CleanupStatus,
    ComputeRef,
    ComputeStatus,
    DrainStatus,
    ExportRef,
    ExportStatus,
    FileSystemRef,
    FileSystemStatus,
    JobStart,
    LoadedConfig,
    ReleaseStatus,
    RetainedRun,
    RunJobSearch,
    RunRelease,
    StepOutput,
    VolumeRef,
    VolumeStatus,
)


@dataclass(frozen=True)
class Output:
    """A step's result: ``path`` in the state (its ``ResultPath``) and the payload's fields."""

    path: str
    fields: tuple[str, ...]


STEP_OUTPUTS: dict[str, type[StepOutput]] = {
    "LoadConfig": LoadedConfig,
    "CreateVolume": VolumeRef,
    "CheckVolume": VolumeStatus,
    "CreateFileSystem": FileSystemRef,
    "CheckFileSystem": FileSystemStatus,
    "PrepareCompute": ComputeRef,
    "CheckCompute": ComputeStatus,
    "CheckJobStart": JobStart,
    "FindRunJob": RunJobSearch,
    "CleanUpCompute": CleanupStatus,
    "CheckDrain": DrainStatus,
    "DisableAutoExport": AutoExportStatus,
    "StartExport": ExportRef,
    "CheckExport": ExportStatus,
    "ReleaseVolume": ReleaseStatus,
    "ReleaseFileSystem": ReleaseStatus,
    "ReleaseRun": RunRelease,
    "RetainRun": RetainedRun,
}
"""The output model of each Lambda step, by the step's name (``batchscratch.modes.Step``)."""


def output_of(step: str) -> Output:
    """Return what ``step`` (a Lambda step's name, e.g. ``CheckVolume``) returns: its output
    model's result path and fields."""
    try:
        model = STEP_OUTPUTS[step]
    except KeyError:
        raise KeyError(f"tools/asl/outputs.py declares no output for the step {step}") from None
    return Output(model.result_path(), tuple(model.model_fields))
