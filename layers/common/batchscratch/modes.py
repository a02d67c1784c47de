"""The modes: one declaration each, the only list of modes the project keeps.

A mode is a value of the template's ``Mode`` parameter. Its declaration says which
configuration model validates its secret, what its storage is and which steps create, check
and release it, what happens between the job and the release (its post-job stages), and the
names users look for (secret, state machine, ECR repository) and find in the repository (the
state machine file, the scenarios folder, the samconfig config-env).

Everything that lists modes reads ``MODES``: ``config.CONFIG_MODELS``, the state machine
builder (``python -m tools.asl``), the Makefile's rehearsal, the test tables. Files that cannot
import Python (template.yaml's ``Mode`` AllowedValues and ``ModeNames`` mapping, samconfig.toml)
are checked against it, both ways, by tests/template/test_modes.py.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from pydantic import BaseModel

from batchscratch import ebs, fsx
from batchscratch.config import AutoExportConfig, CommonConfig, OnlyEbsConfig, TaskExportConfig
from batchscratch.mounts import StorageMount
from batchscratch.outputs import ReleaseStatus
from batchscratch.run import Run
from batchscratch.state import RunState

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class Step:
    """A Lambda step of the workflow, named once.

    ``name`` is the state's name (PascalCase verb); the template's function is
    ``<name>Function`` and its handler lives in ``functions/<snake_case name>/``.
    """

    name: str
    interval: str | None = None
    """A check step's configuration key of its longest pause between two looks (seconds;
    ``polling.watch``): the step watches within its invocation, and its function's
    ``Timeout`` leaves room for the watch. None: the step does not watch."""

    def interval_of(self, config: Mapping[str, Any]) -> int:
        """Return the step's interval (seconds) in a run's configuration (``$.config``).

        Raises:
            ValueError: the step does not watch (no ``interval``).
        """
        if self.interval is None:
            raise ValueError(f"{self.name} does not watch: it has no interval")
        return int(config[self.interval])

    @property
    def function(self) -> str:
        """The template's logical id of the step's function, e.g. ``CleanUpComputeFunction``."""
        return f"{self.name}Function"

    @property
    def folder(self) -> str:
        """The handler's folder under ``functions/``, e.g. ``clean_up_compute``."""
        return _WORD_START.sub("_", self.name).lower()


LOAD_CONFIG = Step("LoadConfig")
PREPARE_COMPUTE = Step("PrepareCompute")
CHECK_COMPUTE = Step("CheckCompute", interval="waitForComputeSeconds")
CLEAN_UP_COMPUTE = Step("CleanUpCompute", interval="waitForComputeSeconds")
CHECK_JOB_START = Step("CheckJobStart", interval="waitForComputeSeconds")
"""The watchdog beside RunJob: terminate a job that has not started in time."""
FIND_RUN_JOB = Step("FindRunJob")
"""After a transient SubmitJob or ``.sync`` poll error: follow the run's job, or resubmit."""
RELEASE_RUN = Step("ReleaseRun")
"""One pass of the release workflow (statemachine/release.asl.json)."""
RETAIN_RUN = Step("RetainRun")
"""The release workflow's last step when it gives up: tag what is left, notify."""
RELEASE_STEPS = (RELEASE_RUN, RETAIN_RUN)
"""The Lambda steps of the release workflow, in the order a release takes them."""


Failure = str | None
"""The error that sent a run to its failure path; None when the run succeeded."""


class StorageInterface(Protocol):
    """What a storage kind does for a run; ``ebs.VOLUME`` and ``fsx.FILE_SYSTEM`` implement it.

    Every method takes the run's state (or its run and configuration) as the step handlers
    receive it; the results are the steps' output models (``batchscratch.outputs``).
    """

    def create(self, state: RunState, subnet_ids: list[str], security_group_id: str) -> BaseModel:
        """Create the run's storage in the zone of ``subnet_ids[0]`` (idempotent)."""
        ...

    def check(self, state: RunState, mode: "Mode", previous: dict[str, Any] | None) -> Any:
        """Report whether the storage is ready (a result with ``ready``, ``waitingSince``,
        ``waitSeconds``); raise a named error on failure or timeout. ``previous``: the
        check's earlier result, or None."""
        ...

    def mount(self, state: RunState) -> StorageMount:
        """Return how the storage reaches the job (user data, host and container paths)."""
        ...

    # ``config`` is the mode's own configuration model (``Mode.config_model``), which each
    # implementation takes as its own type: hence Any here.
    def choose_policy(
        self, config: Any, error_name: str | None, job_succeeded: bool = False
    ) -> tuple[str, str]:
        """Return ``(policy, reason)`` for the storage at the end of a run (``error_name``
        None on success; ``job_succeeded``: the Batch job ended SUCCEEDED)."""
        ...

    def release(
        self,
        run: Run,
        config: Any,
        error_name: Failure,
        previous: Any,
        job_succeeded: bool = False,
        job_confirmed: bool = False,
    ) -> ReleaseStatus:
        """Apply the end-of-run policy to the run's storage; call again until ``done``
        (``previous``: this step's earlier result, or None)."""
        ...


@dataclass(frozen=True)
class StorageKind:
    """What a mode's scratch storage is: the steps that create, check and release it, the
    implementation that does the work (``StorageInterface``). The check and release steps
    watch (``Step.interval``)."""

    id: str
    create: Step
    check: Step
    release: Step
    implementation: StorageInterface

    @property
    def release_seconds(self) -> str:
        """The configuration key of the release step's interval (seconds), which the release
        workflow (``batchscratch.release``) also waits between its passes."""
        return str(self.release.interval)


EBS_VOLUME = StorageKind(
    id="ebs-volume",
    create=Step("CreateVolume"),
    check=Step("CheckVolume", interval="waitForEbsCreationSeconds"),
    release=Step("ReleaseVolume", interval="waitAfterDetachSeconds"),
    implementation=ebs.VOLUME,
)
LUSTRE_FILE_SYSTEM = StorageKind(
    id="lustre-file-system",
    create=Step("CreateFileSystem"),
    check=Step("CheckFileSystem", interval="waitForLustreCreationSeconds"),
    release=Step("ReleaseFileSystem", interval="waitForDataRepositoryTaskSeconds"),
    implementation=fsx.FILE_SYSTEM,
)


@dataclass(frozen=True)
class PostJobStage:
    """A stage between the job (and its compute's cleanup) and the storage's release."""

    id: str
    steps: tuple[Step, ...]


CHECK_DRAIN = Step("CheckDrain", interval="waitForCheckMetricsSeconds")
TURN_OFF_AUTO_EXPORT = Step("DisableAutoExport", interval="waitForCheckMetricsSeconds")
START_EXPORT = Step("StartExport")
CHECK_EXPORT = Step("CheckExport", interval="waitForDataRepositoryTaskSeconds")

DRAIN = PostJobStage("drain", (CHECK_DRAIN,))
"""Wait until auto-export's queue has drained (``AgeOfOldestQueuedMessage`` at 0)."""
DISABLE_AUTO_EXPORT = PostJobStage("disable-auto-export", (TURN_OFF_AUTO_EXPORT,))
"""Turn auto-export off on the association, so that an export task may run."""
EXPORT = PostJobStage("export", (START_EXPORT, CHECK_EXPORT))
"""Run an ``EXPORT_TO_REPOSITORY`` task and wait until it succeeded with 0 failed files."""


@dataclass(frozen=True)
class Mode:
    """One mode of the product.

    Attributes:
        name: the ``Mode`` parameter's value, e.g. ``OnlyEBS``.
        config_model: the pydantic model that validates the secret and the execution input.
        storage: the kind of scratch storage each run gets.
        post_job: the stages after the job, in order (none: the release follows the cleanup).
        secret_prefix: the configuration secret's name starts with it (``ModeNames``).
        state_machine_prefix: the state machine's name starts with it (``ModeNames``).
        ecr_repository: the job image repository's default name (``ModeNames``).
        asl_file: the state machine definition in ``statemachine/``.
        scenarios: the folder of the mode's rehearsal scenarios.
        config_env: the mode's config-env in samconfig.toml.
        docs_page: the mode's page in ``docs/`` (how it works, its configuration table).
    """

    name: str
    config_model: type[CommonConfig]
    storage: StorageKind
    post_job: tuple[PostJobStage, ...]
    secret_prefix: str
    state_machine_prefix: str
    ecr_repository: str
    asl_file: str
    scenarios: str
    config_env: str
    docs_page: str

    @property
    def definition_uri(self) -> str:
        """The state machine's ``DefinitionUri`` in template.yaml."""
        return f"statemachine/{self.asl_file}"

    @property
    def exports_automatically(self) -> bool:
        """True when the data repository association exports by itself while the job runs
        (the mode waits for auto-export to drain after the job)."""
        return DRAIN in self.post_job

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every Lambda step of the mode's state machine, in the order a run takes them."""
        return (
            LOAD_CONFIG,
            self.storage.create,
            PREPARE_COMPUTE,
            self.storage.check,
            CHECK_COMPUTE,
            CHECK_JOB_START,
            FIND_RUN_JOB,
            CLEAN_UP_COMPUTE,
            *(step for stage in self.post_job for step in stage.steps),
            self.storage.release,
        )


MODES: Mapping[str, Mode] = MappingProxyType(
    {
        mode.name: mode
        for mode in (
            Mode(
                name="OnlyEBS",
                config_model=OnlyEbsConfig,
                storage=EBS_VOLUME,
                post_job=(),
                secret_prefix="BatchJobWithOnlyEbs",  # noqa: S106 - a name, not a secret
                state_machine_prefix="BatchJobWithOnlyEBSStateMachine",
                ecr_repository="batch-job-with-ebs",
                asl_file="only_ebs.asl.json",
                scenarios="scenarios/only_ebs",
                config_env="onlyebs",
                docs_page="docs/only_ebs_mode.md",
            ),
            Mode(
                name="TaskExport",
                config_model=TaskExportConfig,
                storage=LUSTRE_FILE_SYSTEM,
                post_job=(EXPORT,),
                secret_prefix="BatchJobWithTaskExport",  # noqa: S106 - a name, not a secret
                state_machine_prefix="BatchJobWithTaskExportStateMachine",
                ecr_repository="batch-job-with-lustre-task-export",
                asl_file="lustre_task_export.asl.json",
                scenarios="scenarios/task_export",
                config_env="taskexport",
                docs_page="docs/task_export_mode.md",
            ),
            Mode(
                name="AutoExport",
                config_model=AutoExportConfig,
                storage=LUSTRE_FILE_SYSTEM,
                post_job=(DRAIN, DISABLE_AUTO_EXPORT, EXPORT),
                secret_prefix="BatchJobWithAutoExport",  # noqa: S106 - a name, not a secret
                state_machine_prefix="BatchJobWithAutoExportStateMachine",
                ecr_repository="batch-job-with-lustre-auto-export",
                asl_file="lustre_auto_export.asl.json",
                scenarios="scenarios/auto_export",
                config_env="autoexport",
                docs_page="docs/auto_export_mode.md",
            ),
        )
    }
)
"""Every mode by name (messages that list the modes keep this order)."""
