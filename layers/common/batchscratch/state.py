"""The state machine's data (``$``) as every Lambda task receives it (``"Payload.$": "$"``).

LoadConfig receives the execution's start instead (``ExecutionStart``) and returns the first
state. Each later step adds its result under its own key (its output model's ``state_key``,
``batchscratch.outputs``); a check step reads its own earlier result to keep its
``waitingSince``. Catch blocks add ``error`` (``{"Error", "Cause"}``).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

from batchscratch.config import (
    CONFIG_MODELS,
    AutoExportConfig,
    CommonConfig,
    LustreConfig,
    OnlyEbsConfig,
    input_keys_from_environment,
    load_config,
)
from batchscratch.history import check_history_budget
from batchscratch.images import allowed_images_from_environment, check_image
from batchscratch.outputs import (
    ExportRef,
    FileSystemRef,
    FileSystemStatus,
    LoadedConfig,
    StepOutput,
    VolumeRef,
)
from batchscratch.placement import StackLimits, check_stack, link_run
from batchscratch.run import Run, check_run_id


class ExecutionStart(BaseModel):
    """LoadConfig's event: the execution input and the context object's values.

    ``input``: the execution input (a JSON object of configuration keys, or nothing);
    ``executionArn``, ``executionName`` (the run id) and ``startTime`` (ISO 8601) come from
    ``$$.Execution``.
    """

    input: Any = None
    executionArn: str
    executionName: str
    startTime: str


def load_run(start: ExecutionStart, mode: str, stack_name: str, secret_id: str) -> LoadedConfig:
    """Return the first state of the execution ``start``: its run and its configuration.

    Args:
        start: LoadConfig's event.
        mode: the deployed mode (``MODE``); stack_name: the stack's name (``STACK_NAME``).
        secret_id: the mode's configuration secret (``CONFIG_SECRET_ID``).

    Returns:
        The run (the execution's ARN, its name as the run id, the mode, the stack and the
        start time) and the secret overlaid with the execution input, validated, every key
        present (``config.load_config``, with the keys the input may set:
        ``config.input_keys_from_environment``), its S3 paths as the run links them
        (``placement.link_run``: by default the run's own prefix), once its image is known to
        be in an allowed repository (``images.check_image``) and it is known to fit the
        execution history (``history.check_history_budget``) and the stack
        (``placement.check_stack``, with the stack's settings from the environment:
        ``placement.StackLimits``).

    Raises:
        InvalidConfiguration: the configuration is refused (``config.build_config``, the
            image's repository, the history budget, the stack's limits), or the execution
            name cannot be a run id (``run.check_run_id``).
        MissingSetting: ``EXECUTION_INPUT_KEYS`` or ``ALLOWED_IMAGES`` is not set or not
            valid (the deployment is broken).
        AwsTransientError: reading the secret was throttled or failed (429/5xx).
        botocore.exceptions.ClientError: DescribeInstanceTypes or HeadBucket failed.
        aws_lambda_powertools.utilities.parameters.exceptions.GetParameterError: the secret
            cannot be read (permissions, not found).
    """
    check_run_id(start.executionName)
    run = Run(
        executionArn=start.executionArn,
        runId=start.executionName,
        mode=mode,
        stackName=stack_name,
        startedAt=start.startTime,
    )
    overlay = {} if start.input is None else start.input
    config = load_config(run.mode, secret_id, overlay, input_keys_from_environment())
    source = "execution input" if "jobDefinitionContainerImage" in overlay else "secret"
    check_image(config.jobDefinitionContainerImage, allowed_images_from_environment(), source)
    check_history_budget(type(config).POLL_LOOPS, config.model_dump())
    limits = StackLimits.from_environment()
    config = link_run(config, run.runId, limits)
    check_stack(config, limits)
    return LoadedConfig(run=run, config=config.model_dump())


class StepError(BaseModel):
    """``$.error``: what a Catch recorded (Step Functions' ``Error`` and ``Cause``)."""

    Error: str
    Cause: str | None = None


class RunState(LoadedConfig):
    """``$`` after LoadConfig: its result (``run``, ``config``), the results that later steps
    read by their declared model, and ``error``. Unknown keys pass through (every other
    step's result, ``job``, the failure path's ``cleanupError`` and ``releaseError``).

    The declared results are the steps' own output models, under their ``state_key``.
    """

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    volume: VolumeRef | None = None
    fileSystem: FileSystemRef | None = None
    fileSystemStatus: FileSystemStatus | None = None
    export: ExportRef | None = None
    error: StepError | None = None

    def config_as[C: CommonConfig](self, model: type[C]) -> C:
        """Return ``config`` as the run's mode's validated model, which must be a ``model``.

        Raises:
            TypeError: the run's mode has another model (e.g. ``OnlyEbsConfig`` asked in a
                Lustre mode).
            pydantic.ValidationError: ``config`` does not validate (LoadConfig validated it).
        """
        config = CONFIG_MODELS[self.run.mode].model_validate(self.config)
        if not isinstance(config, model):
            raise TypeError(
                f"run {self.run.runId} is in mode {self.run.mode}, not a {model.__name__} mode"
            )
        return config

    def run_config(self) -> CommonConfig:
        """Return ``config`` as the validated model of the run's mode."""
        return self.config_as(CommonConfig)

    def ebs_config(self) -> OnlyEbsConfig:
        """Return ``config`` as the OnlyEBS model (raises ``TypeError`` in another mode)."""
        return self.config_as(OnlyEbsConfig)

    def lustre_config(self) -> LustreConfig:
        """Return ``config`` as a Lustre model (raises ``TypeError`` in OnlyEBS)."""
        return self.config_as(LustreConfig)

    def auto_export_config(self) -> AutoExportConfig:
        """Return ``config`` as the AutoExport model (raises ``TypeError`` in another mode)."""
        return self.config_as(AutoExportConfig)

    @property
    def error_name(self) -> str | None:
        """The name of the error that sent the run to its failure path, or None."""
        return self.error.Error if self.error else None

    @property
    def job_succeeded(self) -> bool:
        """True when RunJob recorded ``$.job`` with status SUCCEEDED."""
        job = (self.model_extra or {}).get("job")
        return isinstance(job, dict) and job.get("status") == "SUCCEEDED"

    @property
    def run_job_error(self) -> str | None:
        """``"Error: Cause"`` of the transient error RunJobWithDeadline caught into FindRunJob
        (``$.runJobError``), or None."""
        caught = (self.model_extra or {}).get("runJobError")
        if not isinstance(caught, dict):
            return None
        return f"{caught.get('Error')}: {caught.get('Cause')}"

    def require_volume(self) -> VolumeRef:
        """Return ``volume``; raise ``ValueError`` when the state has none."""
        if self.volume is None:
            raise ValueError("the state has no volume: CreateVolume did not run")
        return self.volume

    def require_file_system(self) -> FileSystemRef:
        """Return ``fileSystem``; raise ``ValueError`` when the state has none."""
        if self.fileSystem is None:
            raise ValueError("the state has no file system: CreateFileSystem did not run")
        return self.fileSystem

    def require_export(self) -> ExportRef:
        """Return ``export``; raise ``ValueError`` when the state has none."""
        if self.export is None:
            raise ValueError("the state has no export task: StartExport did not run")
        return self.export

    def previous(self, output: type[StepOutput]) -> dict[str, Any] | None:
        """Return the earlier result of the step that returns ``output`` (e.g.
        ``CleanupStatus``), stored under its ``state_key``, as the state holds it, or None.

        Read as a dict, not validated: a check reads only what it keeps (``waitingSince``,
        ``jobEndedAt``).
        """
        key = output.state_key
        if key in type(self).model_fields:
            value: Any = getattr(self, key)
            if isinstance(value, BaseModel):
                value = value.model_dump()
        else:
            value = (self.model_extra or {}).get(key)
        return value if isinstance(value, dict) else None


class ReleaseState(RunState):
    """``$`` of the release workflow (statemachine/release.asl.json): its input ``run``,
    ``config`` and ``error`` (why the run is released), the last pass (``release``), and
    ``releaseError``: what ended the release, recorded by its Catch for RetainRun."""

    error: StepError
    releaseError: StepError | None = None
