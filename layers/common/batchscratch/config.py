"""Run configuration: the mode's Secrets Manager secret overlaid with the execution input.

Field names are the secret's keys (the original project's names, kept so existing secrets
validate). Values may be JSON numbers and booleans or the strings the original wrote
("500", "true"). Unknown keys and values outside a rule are refused with
``InvalidConfiguration`` naming the key, the value, where it came from and the rule, before
anything billable is created.

Every number has an upper bound an account can meet, so that a typo such as 2.4e18 is refused
here rather than by AWS after billing began:

- gp3 limits follow the EC2 API Reference, CreateVolume (Size 1-65,536 GiB; Iops 3,000-80,000;
  Throughput 125-2,000 MiB/s) and the EBS User Guide, "General Purpose SSD volumes" (at most
  500 IOPS per GiB and 0.25 MiB/s per provisioned IOPS).
- Batch limits follow the AWS Batch API Reference, RetryStrategy (1-10 attempts), JobTimeout
  (at least 60 seconds), ResourceRequirement (at least 1 vCPU and 4 MiB), ContainerProperties
  ``image`` (up to 255 characters), the Batch User Guide's service quotas (job definitions up to
  24 KiB, array jobs up to 10,000 children) and its "Compute resource memory management" (the
  largest job memory is checked against the instance types at LoadConfig: ``placement``).
- Waits and timeouts: a Standard execution lasts at most one year (Step Functions Developer
  Guide, "Step Functions service quotas": maximum execution time 1 year), so no timeout may
  exceed ``ONE_YEAR_SECONDS``; how often a loop may poll within its timeout is checked against
  the 25,000-event history at LoadConfig (``history``).
- FSx ``StorageCapacity`` is at most 2,147,483,647 GiB (botocore's fsx model, shape
  ``StorageCapacity``); the stack's own maximum (the account's quota) is checked at LoadConfig.

Limits that depend on the stack (its ``MaxvCpus``, instance types, data bucket, FSx quota) are
checked by ``batchscratch.placement`` when LoadConfig runs, not by these models: every step
re-validates the run's configuration with them, where those settings are not at hand.
"""

import json
import os
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from batchscratch.aws import is_transient
from batchscratch.errors import AwsTransientError, InvalidConfiguration, MissingSetting
from batchscratch.history import (
    FOLLOW_PASSES,
    RELEASE_MAX_PASSES,
    RESUBMISSION_EVENTS,
    RESUBMISSIONS,
    PollLoop,
)
from batchscratch.images import IMAGE_REFERENCE
from batchscratch.repository import MAX_DATA_REPOSITORY_PATH

RUN_ENVIRONMENT = ("S3_BUCKET_NAME", "S3_PREFIX", "SCRATCH_DIR", "BATCH_SCRATCH_RUN_ID")
"""Variables every job gets from the run; jobEnvironment may not replace them."""


@dataclass(frozen=True)
class EnvironmentRule:
    """Names ``jobEnvironment`` refuses, from the secret and the execution input alike:
    variables that change whom the job's programs trust or talk to, or which code they run,
    whatever the allowed image does. Compared in any case (curl and Python's urllib read
    ``https_proxy`` as well as ``HTTPS_PROXY``). Such settings belong in the image
    (Dockerfile ``ENV``), which the allowed repositories vet."""

    why: str
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def refuses(self, name: str) -> bool:
        """True when this rule refuses the variable ``name``."""
        upper = name.upper()
        return (
            upper.startswith(self.prefixes) or upper.endswith(self.suffixes) or upper in self.names
        )


ENVIRONMENT_DENYLIST = (
    # The AWS SDKs and CLI read AWS_*: AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (AWS
    # SDKs and Tools Reference Guide, "Service-specific endpoints"), AWS_CA_BUNDLE,
    # AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_ACCESS_KEY_ID, ... (AWS
    # CLI User Guide, "Environment variables to configure the AWS CLI"), the container
    # credentials provider's AWS_CONTAINER_*; Batch reserves AWS_BATCH* (botocore's batch
    # model, ContainerProperties ``environment``).
    EnvironmentRule("AWS SDK and CLI settings, credentials and AWS Batch's own", ("AWS_",)),
    # The ECS agent sets ECS_CONTAINER_METADATA_URI* in every task.
    EnvironmentRule("the ECS agent's", ("ECS_",)),
    # ld.so(8): LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT ...; glibc's tunables(7).
    EnvironmentRule("the dynamic linker", ("LD_",), names=("GLIBC_TUNABLES",)),
    # HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, FTP_PROXY, ...
    EnvironmentRule("proxies", suffixes=("_PROXY",)),
    EnvironmentRule(
        "TLS trust",
        names=(
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
            "NODE_TLS_REJECT_UNAUTHORIZED",
            "PYTHONHTTPSVERIFY",
        ),
    ),
    # bash(1): SHELLOPTS=xtrace runs PS4's command substitutions before the script's first
    # line; ENV and BASH_ENV name files a shell runs; IFS and PROMPT_COMMAND change or run code.
    EnvironmentRule(
        "the shell's start-up and tracing",
        names=("SHELLOPTS", "BASHOPTS", "PS4", "ENV", "IFS", "PROMPT_COMMAND"),
    ),
    # Configuration files and modules that libraries load: OpenSSL (config(5ssl)), glibc's
    # iconv modules (GCONV_PATH), locales and messages, the resolver, and the home and
    # configuration folders that curl, git and the like read their start-up files from.
    EnvironmentRule(
        "what libraries load (OpenSSL, iconv, locale, resolver) and where programs read their "
        "start-up files",
        names=(
            "OPENSSL_CONF",
            "OPENSSL_ENGINES",
            "OPENSSL_MODULES",
            "GCONV_PATH",
            "LOCPATH",
            "NLSPATH",
            "HOSTALIASES",
            "RES_OPTIONS",
            "LOCALDOMAIN",
            "HOME",
            "XDG_CONFIG_HOME",
            "CURL_HOME",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM",
        ),
    ),
    EnvironmentRule(
        "which programs and code run (PATH, and what interpreters load before the program)",
        names=(
            "PATH",
            "BASH_ENV",
            "PYTHONPATH",
            "PYTHONHOME",
            "PYTHONSTARTUP",
            "PYTHONUSERBASE",
            "PERL5LIB",
            "PERL5OPT",
            "PERLLIB",
            "RUBYLIB",
            "RUBYOPT",
            "NODE_OPTIONS",
            "NODE_PATH",
            "JAVA_TOOL_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "_JAVA_OPTIONS",
        ),
    ),
)
"""What ``jobEnvironment`` may not set, by rule; the message names each refused name."""

ANY_INPUT_KEY = "*"
"""In ``ExecutionInputKeys``: the execution input may set every key of the mode."""
INPUT_KEYS_PARAMETER = "ExecutionInputKeys"
"""The template parameter that lists the keys an execution input may set."""
INPUT_KEYS_VARIABLE = "EXECUTION_INPUT_KEYS"
"""LoadConfig's (and StartRelease's) environment variable holding ``ExecutionInputKeys``."""
REDACTED = "(redacted)"
"""What a log line or a message shows instead of a ``jobEnvironment`` value."""
WHOLE_NUMBER_TEXT = re.compile(r"-?[0-9]+")
"""How a whole number may be written as a string (the original secrets wrote "500")."""
ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ONE_YEAR_SECONDS = 31_536_000
"""A Standard execution's maximum duration (Step Functions service quotas: 1 year)."""
MAX_INTERVAL_SECONDS = 3600
"""The documented range of every poll interval (``waitFor…Seconds``) is 0-3600 seconds."""
MAX_JOB_DEFINITION_TEXT = 16384
"""Characters ``jobCommand`` and ``jobEnvironment`` may take together (JSON): a job definition
is at most 24 KiB (Batch User Guide, "AWS Batch service quotas"), and the rest of the run's
job definition (image, resources, retry strategy, mounts) needs the remaining 8 KiB."""
MAX_IMAGE_LENGTH = 255
"""ContainerProperties ``image`` "can be 255 characters long" (botocore's batch model)."""
MAX_LUSTRE_STORAGE_CAPACITY = 2_147_483_647
"""FSx CreateFileSystem ``StorageCapacity`` maximum (botocore's fsx model), GiB."""


def _strict_boolean(value: Any) -> Any:
    """Accept only JSON true/false and the strings "true"/"false" (what the original secrets
    wrote). Pydantic alone would also read 0, 1, "n", "yes", "on" ... as booleans, so a typo
    such as ``"verifyExportBeforeDelete": 0`` would silently turn off a data-safety check."""
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError('must be true or false (JSON booleans, or the strings "true" and "false")')


StrictBoolean = Annotated[bool, BeforeValidator(_strict_boolean)]
"""A boolean key: true/false or "true"/"false", nothing else."""

MIGRATION_PAGE = "docs/migrating-from-cdk.md#keys-of-the-original-secrets"
"""Where the keys of the original project's secrets that these models have no field for are
explained (``OriginalKey``)."""


@dataclass(frozen=True)
class OriginalKey:
    """A key the original CDK project wrote into its secrets that this mode's model has no
    field for, and what a secret (or an execution input) that still holds it gets here.

    The value is read as ``StrictBoolean`` reads one. ``if_true`` and ``if_false`` say why
    each value is refused; None accepts that value, which says what the mode already does, and
    the key is dropped before validation. A refusal names the key, the value, where it came
    from and ``MIGRATION_PAGE``.
    """

    name: str
    if_true: str | None
    if_false: str | None

    def refusal_of(self, value: Any) -> str | None:
        """Why ``value`` of this key is refused, or None when it is accepted (and dropped)."""
        try:
            read = _strict_boolean(value)
        except ValueError as error:
            return str(error)
        return self.if_true if read else self.if_false


AUTO_EXPORT_SWITCH = "the original project's switch between its two Lustre stacks"
"""What the original's ``autoExport`` was: here the stack's ``Mode`` chooses."""

KEY_DOCUMENTATION = ("unit", "rule", "unset", "default_text")
"""What a field's ``json_schema_extra`` may say of its key, beside its ``description`` (what it
means), for the documentation tables (``python -m tools.docs_tables``): ``unit`` (of a number),
``rule`` (a rule other than the field's own bounds and choices, in words: a ratio, another
key, a stack parameter), ``unset`` (what a default of None means) and ``default_text`` (the
default of a key the template's secret sets, ``{ecr_repository}`` and ``{unpinned_tag}``
filled in for each mode)."""


def _doc(**documentation: str) -> dict[str, Any]:
    """A field's ``json_schema_extra``: the ``KEY_DOCUMENTATION`` entries given.

    Raises:
        ValueError: an entry not in ``KEY_DOCUMENTATION`` (a typo would leave a table empty).
    """
    unknown = set(documentation) - set(KEY_DOCUMENTATION)
    if unknown:
        raise ValueError(f"not key documentation: {sorted(unknown)}")
    return dict(documentation)


GP3_MAX_IOPS_PER_GIB = 500
GP3_MIB_PER_SECOND_PER_IOPS = 0.25
GP3_BASELINE_IOPS = 3000
GP3_BASELINE_THROUGHPUT = 125


class CommonConfig(BaseModel):
    """Keys every mode accepts: the job definition, the job, and the workflow's timing.

    Poll intervals (``waitFor…Seconds``) are the longest pause between two looks of a check
    step, which watches within its invocation and backs off from 2 s
    (``batchscratch.polling.watch``); the ``…TimeoutSeconds`` limits end a loop with a named
    error instead of letting it spin.

    Every model here and in ``batchscratch.outputs`` and ``batchscratch.state`` builds its
    validator at first use (pydantic ``defer_build``), so a function's cold start builds only
    the models its step uses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    jobDefinitionContainerImage: str = Field(
        min_length=1,
        max_length=MAX_IMAGE_LENGTH,
        description="Image of the job.",
        json_schema_extra=_doc(
            rule="an image reference `[registry[:port]/]path[:tag][@digest]` in the stack's "
            "ECR repository or the template parameter `AllowedImagePrefixes`",
            default_text="the stack's ECR repository (`{ecr_repository}`), tag "
            "`{unpinned_tag}` (`docker/push-image.sh --pin` sets the pushed image's digest)",
        ),
    )
    jobDefinitionRetryAttempts: int = Field(
        5,
        ge=1,
        le=10,
        description="Attempts of the job; Batch retries a Spot reclaim (status reason "
        "`Host EC2*`), an exit on SIGTERM (exit code 143, as on the Spot notice, whatever sent "
        "it) and a missing run marker (exit code 75); anything else ends the job.",
        json_schema_extra=_doc(unit="attempts"),
    )
    jobDefinitionVcpus: int = Field(
        32,
        ge=1,
        le=4096,
        description="vCPUs of the job (in the Lustre modes, of each array child).",
        json_schema_extra=_doc(
            unit="vCPUs",
            rule="at most the template parameter `MaxvCpus`; with `jobDefinitionMemory`, what "
            "one allowed instance type offers",
        ),
    )
    # At most 32 TiB, the memory of the largest EC2 instances (EC2 User Guide, "Amazon EC2
    # High Memory instances": u7in-32tb.224xlarge); the stack's instance types refine it.
    jobDefinitionMemory: int = Field(
        30000,
        ge=4,
        le=33_554_432,
        description="Memory of the job.",
        json_schema_extra=_doc(
            unit="MiB",
            rule="with `jobDefinitionVcpus`, what one allowed instance type offers",
        ),
    )
    jobCommand: list[str] | None = Field(
        None,
        min_length=1,
        description="Command of the job.",
        json_schema_extra=_doc(
            rule=f"each item a non-empty string; with `jobEnvironment` at most "
            f"{MAX_JOB_DEFINITION_TEXT} "
            "characters (JSON)",
            unset="the image's `CMD`",
        ),
    )
    jobEnvironment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables of the job (the run sets "
        + ", ".join(f"`{name}`" for name in RUN_ENVIRONMENT)
        + "; `S3_PREFIX` is where its results land in the bucket).",
        json_schema_extra=_doc(
            rule="valid variable names, none of the run's own, none that change the SDKs, the "
            "linker, proxies, TLS trust or which code runs (`AWS_*`, `LD_*`, `*_PROXY`, ...: "
            "docs/configuration.md lists them); no credentials",
        ),
    )
    jobAttemptTimeoutSeconds: int | None = Field(
        None,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="Batch ends an attempt that runs longer.",
        json_schema_extra=_doc(unit="seconds"),
    )
    jobStartTimeoutSeconds: int = Field(
        3600,
        ge=60,
        le=86400,
        description="A job not started (its first attempt `STARTING` or `RUNNING`) this many "
        "seconds after its submission is terminated, and the run fails with `JobStartTimeout`, "
        "naming Batch's status reason. The watchdog watches within its invocation, looking "
        "every `waitForComputeSeconds`, but never later than the deadline.",
        json_schema_extra=_doc(unit="seconds"),
    )
    waitForJobCompletionSeconds: int = Field(
        300,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="Accepted so that existing secrets validate; the job is followed without "
        "polling (submitJob.sync).",
        json_schema_extra=_doc(unit="seconds"),
    )
    waitForComputeSeconds: int = Field(
        30,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two looks while compute is created or cleaned "
        "up, and between the job-start watchdog's checks.",
        json_schema_extra=_doc(unit="seconds"),
    )
    storageTimeoutSeconds: int = Field(
        1800,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="The run fails with `StorageTimeout` if its storage (the volume, or the "
        "file system and its link to S3) is not available by then.",
        json_schema_extra=_doc(unit="seconds"),
    )
    computeTimeoutSeconds: int = Field(
        1800,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="The run fails with `ComputeTimeout` if compute is not ready by then.",
        json_schema_extra=_doc(unit="seconds"),
    )
    # 3 h, not 6: with OnlyEBS's waitAfterDetachSeconds of 10 (the original secrets' value),
    # 6 h of release polling alone would take about 19,500 of the 25,000 events an
    # execution holds (batchscratch.history).
    cleanupTimeoutSeconds: int = Field(
        10800,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="Cleanup or release fails with `CleanupTimeout` after this long; what is "
        "left keeps its tags.",
        json_schema_extra=_doc(unit="seconds"),
    )

    EXECUTION_INPUT_KEYS: ClassVar[tuple[str, ...]] = (
        "jobDefinitionVcpus",
        "jobDefinitionMemory",
        "jobCommand",
        "jobAttemptTimeoutSeconds",
        "jobStartTimeoutSeconds",
        "waitForJobCompletionSeconds",
        "waitForComputeSeconds",
        "storageTimeoutSeconds",
        "computeTimeoutSeconds",
        "cleanupTimeoutSeconds",
    )
    """The keys an execution input may set by default (``ExecutionInputKeys``): how big,
    how fast and how long, the job's command and the failure policy; each mode's model adds
    its own. Not by default: what runs and with what (the image, the environment, the retry
    attempts), what is kept or deleted (``delete…``, ``verifyExportBeforeDelete``), where
    data goes (``dataRepositoryPath``) and the storage's kind and version."""

    POLL_LOOPS: ClassVar[tuple[PollLoop, ...]] = (
        PollLoop(
            "run", "CheckCompute", "computeTimeoutSeconds", ("waitForComputeSeconds",), watched=True
        ),
        PollLoop(
            "run",
            "CheckJobStart",
            "jobStartTimeoutSeconds",
            ("waitForComputeSeconds",),
            watched=True,
        ),
        PollLoop("run", "FindRunJob", None, (), FOLLOW_PASSES),
        PollLoop("run", "RunJobWithDeadline", None, (), RESUBMISSIONS, RESUBMISSION_EVENTS),
        PollLoop(
            "run",
            "CleanUpCompute",
            "cleanupTimeoutSeconds",
            ("waitForComputeSeconds",),
            watched=True,
        ),
    )
    """The poll loops of the mode's state machines, each as the step it polls, the key that
    bounds it and the key of its Wait (``batchscratch.history`` budgets them; a test checks
    every Wait of statemachine/ against this list). Each mode's model adds its own."""

    ORIGINAL_KEYS: ClassVar[tuple[OriginalKey, ...]] = ()
    """Keys of the original project's secrets that the model has no field for: accepted (and
    dropped) or refused by ``build_config`` with their own message, not as unknown keys.
    Each mode's model declares its own."""

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
                    and field.annotation in (int, int | None)
                ):
                    raise ValueError(
                        f"{key} = {json.dumps(value)}: must be a number, not a boolean"
                    )
                # Python's int() would also read "1_000", " 500 " and "+500": a string
                # number is only the digits the original secrets wrote ("500").
                if (
                    isinstance(value, str)
                    and field is not None
                    and field.annotation in (int, int | None)
                    and not WHOLE_NUMBER_TEXT.fullmatch(value)
                ):
                    raise ValueError(
                        f"{key} = {json.dumps(value)}: a number given as a string must be "
                        f'digits only, such as "500"'
                    )
        return data

    @field_validator("jobDefinitionContainerImage")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        if not IMAGE_REFERENCE.fullmatch(value):
            raise ValueError(
                "not an image reference: expected [registry[:port]/]path[:tag][@digest] "
                "(lower-case path components; the Docker/OCI reference grammar), e.g. "
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs:latest"
            )
        return value

    @field_validator("jobCommand")
    @classmethod
    def _command_items(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        empty = [index for index, item in enumerate(value) if not item]
        if empty:
            raise ValueError(f"items must be non-empty strings; item(s) {empty} are empty")
        return value

    @model_validator(mode="after")
    def _job_definition_fits(self) -> "CommonConfig":
        size = len(json.dumps(self.jobCommand or [])) + len(json.dumps(self.jobEnvironment))
        if size > MAX_JOB_DEFINITION_TEXT:
            raise ValueError(
                f"jobCommand and jobEnvironment take {size} characters together (JSON); at "
                f"most {MAX_JOB_DEFINITION_TEXT} fit in a job definition (24 KiB, AWS Batch "
                "service quotas)"
            )
        return self

    @field_validator("jobEnvironment")
    @classmethod
    def _no_reserved_names(cls, value: dict[str, str]) -> dict[str, str]:
        # Every problem at once, so that a secret is mended in one edit.
        problems = []
        invalid = sorted(name for name in value if not ENVIRONMENT_NAME.fullmatch(name))
        if invalid:
            problems.append(f"not valid environment variable names: {invalid}")
        refused = [
            f"{name} ({why})"
            for name in sorted(value)
            if (why := next((r.why for r in ENVIRONMENT_DENYLIST if r.refuses(name)), None))
        ]
        if refused:
            problems.append(
                "names that change how AWS SDKs, the dynamic linker, shells, proxies or TLS "
                "behave, or which code runs, are refused from the secret and the input alike: "
                f"{', '.join(refused)}; set such variables in the image (Dockerfile ENV)"
            )
        own = sorted(set(value) & set(RUN_ENVIRONMENT))
        if own:
            problems.append(f"{own} are set by the run itself ({', '.join(RUN_ENVIRONMENT)})")
        if problems:
            raise ValueError("; ".join(problems))
        return value


class OnlyEbsConfig(CommonConfig):
    """OnlyEBS mode: one encrypted gp3 volume, one node."""

    deleteEbs: StrictBoolean = Field(
        True,
        description="Delete the volume after a successful run; `false` keeps it, tagged "
        "`batch-scratch:retained-reason`, after a failure too (`onFailure` is then not "
        "applied).",
    )
    ebsSizeGb: int = Field(
        500, ge=1, le=65536, description="Volume size.", json_schema_extra=_doc(unit="GiB")
    )
    ebsIOPS: int = Field(
        5000,
        ge=3000,
        le=80000,
        description="Provisioned gp3 IOPS.",
        json_schema_extra=_doc(
            unit="IOPS", rule=f"at most {GP3_MAX_IOPS_PER_GIB} per GiB of `ebsSizeGb`"
        ),
    )
    ebsThroughput: int = Field(
        500,
        ge=125,
        le=2000,
        description="Provisioned gp3 throughput.",
        json_schema_extra=_doc(
            unit="MiB/s", rule=f"at most {GP3_MIB_PER_SECOND_PER_IOPS} per IOPS of `ebsIOPS`"
        ),
    )
    waitForEbsCreationSeconds: int = Field(
        10,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two looks while the volume is created (looks "
        "back off from 2 s, within the check's invocation).",
        json_schema_extra=_doc(unit="seconds"),
    )
    waitAfterDetachSeconds: int = Field(
        10,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two looks while the volume is detached, "
        "snapshotted or deleted.",
        json_schema_extra=_doc(unit="seconds"),
    )
    onFailure: Literal["snapshot", "retain", "delete"] = Field(
        "snapshot", description="What happens to the volume when the run fails."
    )

    ORIGINAL_KEYS: ClassVar[tuple[OriginalKey, ...]] = (
        OriginalKey(
            "autoExport",
            if_true=f"{AUTO_EXPORT_SWITCH}, which never applied to OnlyEBS: remove the key",
            if_false=f"{AUTO_EXPORT_SWITCH}, which never applied to OnlyEBS: remove the key",
        ),
    )

    EXECUTION_INPUT_KEYS: ClassVar[tuple[str, ...]] = (
        *CommonConfig.EXECUTION_INPUT_KEYS,
        "ebsSizeGb",
        "ebsIOPS",
        "ebsThroughput",
        "waitForEbsCreationSeconds",
        "waitAfterDetachSeconds",
        "onFailure",
    )

    POLL_LOOPS: ClassVar[tuple[PollLoop, ...]] = (
        *CommonConfig.POLL_LOOPS,
        PollLoop(
            "run",
            "CheckVolume",
            "storageTimeoutSeconds",
            ("waitForEbsCreationSeconds",),
            watched=True,
        ),
        PollLoop(
            "run",
            "ReleaseVolume",
            "cleanupTimeoutSeconds",
            ("waitAfterDetachSeconds",),
            watched=True,
        ),
        PollLoop(
            "release",
            "ReleaseRun",
            "cleanupTimeoutSeconds",
            ("waitForComputeSeconds", "waitAfterDetachSeconds"),
            RELEASE_MAX_PASSES,
        ),
    )

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


S3_PATH_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"
"""An S3 path ``s3://bucket[/prefix]``: a bucket name (Amazon S3 User Guide, "General purpose
bucket naming rules": 3-63 lower-case letters, digits, dots and hyphens, starting and ending
with a letter or digit), then any prefix."""

LUSTRE_DEPLOYMENT_TYPES = ("SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2")
"""The deployment types a file system with a data repository association may have (not
SCRATCH_1)."""
LUSTRE_SMALL_CAPACITIES = (1200, 2400)
"""StorageCapacity (GiB) a file system may have below ``LUSTRE_CAPACITY_STEP``'s multiples."""
LUSTRE_CAPACITY_STEP = 2400
"""Above ``LUSTRE_SMALL_CAPACITIES``, StorageCapacity is a multiple of this (GiB)."""
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
    runs a single job). ``dataRepositoryPath`` unset means the run's own prefix, which
    LoadConfig fills in (``placement.link_run``; the layout: ``batchscratch.repository``).
    """

    deleteLustre: StrictBoolean = Field(
        True,
        description="Delete the file system after a successful run and export (AutoExport: "
        "drained, and verified unless `verifyExportBeforeDelete` is false); `false` keeps it, "
        "tagged `batch-scratch:retained-reason`, after a failure too (`onFailure` is then not "
        "applied).",
    )
    lustreFileSystemTypeVersion: Literal["2.12", "2.15"] = Field(
        "2.15",
        description="Lustre version (always sent: FSx would otherwise create 2.10, which "
        "cannot link to S3).",
    )
    lustreStorageCapacity: int = Field(
        2400,
        le=MAX_LUSTRE_STORAGE_CAPACITY,
        description="File system capacity.",
        json_schema_extra=_doc(
            unit="GiB",
            rule=", ".join(map(str, LUSTRE_SMALL_CAPACITIES))
            + f", then multiples of {LUSTRE_CAPACITY_STEP}; at most the template parameter "
            "`MaxLustreStorageCapacity`",
        ),
    )
    lustreImportedFileChunkSize: int = Field(
        1024,
        ge=1,
        le=512000,
        description="Stripe size of files imported from S3.",
        json_schema_extra=_doc(unit="MiB"),
    )
    lustreDeploymentType: str = Field(
        "SCRATCH_2",
        description="Deployment type. With the stack's `KmsKeyArn`, `PERSISTENT_1` or "
        "`PERSISTENT_2` only: FSx encrypts scratch file systems with its own key "
        "(docs/encryption.md).",
        json_schema_extra=_doc(
            rule=" or ".join(f"`{kind}`" for kind in LUSTRE_DEPLOYMENT_TYPES)
            + " (`SCRATCH_1` cannot link to S3)"
        ),
    )
    lustrePerUnitStorageThroughput: int | None = Field(
        None,
        description="Throughput per TiB of storage of the persistent types.",
        json_schema_extra=_doc(
            unit="MB/s/TiB",
            rule="; ".join(
                f"`{kind}`: {', '.join(map(str, allowed))}"
                for kind, allowed in LUSTRE_PER_UNIT_THROUGHPUT.items()
            ),
            unset="the type's lowest",
        ),
    )
    dataRepositoryPath: str | None = Field(
        None,
        pattern=S3_PATH_PATTERN,
        max_length=MAX_DATA_REPOSITORY_PATH,
        description="Linked at `/scratch`: imported from, and exported to (AutoExport: "
        "deletions included). A path given here is linked exactly as given, shared by every "
        "run that gives it.",
        json_schema_extra=_doc(
            rule="in the stack's data bucket, `s3://<DataBucketName>/` (its root) or "
            "`s3://<DataBucketName>/prefix/` (a `/` is added at the end when missing); the "
            "bucket must exist",
            unset="the run's own prefix, `s3://<DataBucketName>/runs/<run id>/`",
        ),
    )
    inputDataRepositoryPath: str | None = Field(
        None,
        pattern=S3_PATH_PATTERN,
        max_length=MAX_DATA_REPOSITORY_PATH,
        description="Linked at `/input` for import only: the job reads it at `/input` "
        "(read-only), and no export ever writes into it.",
        json_schema_extra=_doc(
            rule="in the stack's data bucket, outside `dataRepositoryPath` (neither may contain "
            "the other)",
            unset="none: no input association",
        ),
    )
    arraySize: int = Field(
        1,
        ge=1,
        le=10000,
        description="1 runs one job; more runs an array job of that many children on the same "
        "file system.",
        json_schema_extra=_doc(unit="jobs"),
    )
    waitForLustreCreationSeconds: int = Field(
        10,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two looks while the file system and its link "
        "to S3 are created (looks back off from 2 s, within the check's invocation).",
        json_schema_extra=_doc(unit="seconds"),
    )
    waitForDataRepositoryTaskSeconds: int = Field(
        10,
        ge=0,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two looks at the export task and at the file "
        "system's deletion.",
        json_schema_extra=_doc(unit="seconds"),
    )
    exportTimeoutSeconds: int = Field(
        21600,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="The run fails with `ExportTimeout` if the export has not ended by then; "
        "the file system is kept.",
        json_schema_extra=_doc(unit="seconds"),
    )
    onFailure: Literal["export", "retain", "delete"] = Field(
        "export",
        description="What happens to the file system when the run fails (`export`: export, "
        "then delete only if the export succeeded).",
    )

    EXECUTION_INPUT_KEYS: ClassVar[tuple[str, ...]] = (
        *CommonConfig.EXECUTION_INPUT_KEYS,
        "lustreStorageCapacity",
        "lustreImportedFileChunkSize",
        "lustrePerUnitStorageThroughput",
        "arraySize",
        "waitForLustreCreationSeconds",
        "waitForDataRepositoryTaskSeconds",
        "exportTimeoutSeconds",
        "onFailure",
    )

    POLL_LOOPS: ClassVar[tuple[PollLoop, ...]] = (
        *CommonConfig.POLL_LOOPS,
        PollLoop(
            "run",
            "CheckFileSystem",
            "storageTimeoutSeconds",
            ("waitForLustreCreationSeconds",),
            watched=True,
        ),
        PollLoop(
            "run",
            "CheckExport",
            "exportTimeoutSeconds",
            ("waitForDataRepositoryTaskSeconds",),
            watched=True,
        ),
        PollLoop(
            "run",
            "ReleaseFileSystem",
            "cleanupTimeoutSeconds",
            ("waitForDataRepositoryTaskSeconds",),
            watched=True,
        ),
        PollLoop(
            "release",
            "ReleaseRun",
            "cleanupTimeoutSeconds",
            ("waitForComputeSeconds", "waitForDataRepositoryTaskSeconds"),
            RELEASE_MAX_PASSES,
        ),
    )

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
        if value not in LUSTRE_DEPLOYMENT_TYPES:
            raise ValueError(f"must be one of {', '.join(LUSTRE_DEPLOYMENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _capacity_and_throughput(self) -> "LustreConfig":
        capacity = self.lustreStorageCapacity
        step = LUSTRE_CAPACITY_STEP
        if capacity not in LUSTRE_SMALL_CAPACITIES and (capacity <= 0 or capacity % step != 0):
            raise ValueError(
                f"lustreStorageCapacity = {capacity} is not allowed for "
                f"{self.lustreDeploymentType}: allowed values are "
                f"{', '.join(map(str, LUSTRE_SMALL_CAPACITIES))} or a multiple of "
                f"{step} GiB ({2 * step}, {3 * step}, ...)"
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

    ORIGINAL_KEYS: ClassVar[tuple[OriginalKey, ...]] = (
        OriginalKey(
            "autoExport",
            if_true=f"{AUTO_EXPORT_SWITCH}; this stack's mode, TaskExport, exports with a task "
            "after the job: for auto-export, deploy a stack with Mode=AutoExport instead",
            if_false=f"{AUTO_EXPORT_SWITCH}; false chose what this stack's mode, TaskExport, "
            "does: remove the key",
        ),
    )


class AutoExportConfig(LustreConfig):
    """AutoExport mode: FSx exports every change while the job runs.

    After the job the drain check reads ``AgeOfOldestQueuedMessage`` every
    ``waitForCheckMetricsSeconds`` at a period of ``lambdaPeriodSeconds`` (a multiple of 60,
    the metric's resolution), and requires the last ``lambdaTimeDiffMinutes`` (the quiet
    window) to be all 0; it gives up after ``drainTimeoutSeconds`` and verifies instead.
    """

    ORIGINAL_KEYS: ClassVar[tuple[OriginalKey, ...]] = (
        # true is what the mode does: accepted, so that the original's secret validates as is.
        OriginalKey(
            "autoExport",
            if_true=None,
            if_false=f"{AUTO_EXPORT_SWITCH}; this stack's mode, AutoExport, always exports "
            "by itself: for an export task after the job, deploy a stack with Mode=TaskExport "
            "instead",
        ),
    )

    # At least 10 s: each poll adds history events, and an execution holds at most 25,000.
    waitForCheckMetricsSeconds: int = Field(
        60,
        ge=10,
        le=MAX_INTERVAL_SECONDS,
        description="The longest pause between two drain looks (each looks as a metric period "
        "ends), and between looks while auto-export is turned off.",
        json_schema_extra=_doc(unit="seconds"),
    )
    lambdaPeriodSeconds: int = Field(
        60,
        ge=60,
        le=3600,
        multiple_of=60,
        description="Period of the `AgeOfOldestQueuedMessage` query (statistic Maximum).",
        json_schema_extra=_doc(unit="seconds"),
    )
    lambdaTimeDiffMinutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="With `verifyExportBeforeDelete` false: the quiet window, the last this "
        "many minutes, entirely after the job's end, must hold datapoints, all 0. With the "
        "verifying export on, the newest datapoint since the job's end reading 0 suffices.",
        json_schema_extra=_doc(unit="minutes", rule="at least two `lambdaPeriodSeconds`"),
    )
    drainTimeoutSeconds: int = Field(
        7200,
        ge=60,
        le=ONE_YEAR_SECONDS,
        description="After this long without a drained answer, stop waiting and verify with "
        "an export task instead (also after 5 metric periods with no datapoint at all: a "
        "metric that is not published never drains).",
        json_schema_extra=_doc(unit="seconds"),
    )
    verifyExportBeforeDelete: StrictBoolean = Field(
        True,
        description="After draining, turn auto-export off and require a final export task "
        "with 0 failed files before deleting; `false` deletes on the drain check alone.",
    )

    EXECUTION_INPUT_KEYS: ClassVar[tuple[str, ...]] = (
        *LustreConfig.EXECUTION_INPUT_KEYS,
        "waitForCheckMetricsSeconds",
        "lambdaPeriodSeconds",
        "lambdaTimeDiffMinutes",
        "drainTimeoutSeconds",
    )

    POLL_LOOPS: ClassVar[tuple[PollLoop, ...]] = (
        *LustreConfig.POLL_LOOPS,
        PollLoop(
            "run",
            "CheckDrain",
            "drainTimeoutSeconds",
            ("waitForCheckMetricsSeconds",),
            watched=True,
        ),
        PollLoop(
            "run",
            "DisableAutoExport",
            "exportTimeoutSeconds",
            ("waitForCheckMetricsSeconds",),
            watched=True,
        ),
    )

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


def default_input_keys() -> tuple[str, ...]:
    """Return the keys an execution input may set by default, in every mode: the union of
    every mode's ``EXECUTION_INPUT_KEYS``, sorted (the default of the template parameter
    ``ExecutionInputKeys``; a key of another mode is refused as unknown)."""
    keys = {key for model in CONFIG_MODELS.values() for key in model.EXECUTION_INPUT_KEYS}
    return tuple(sorted(keys))


def configuration_keys() -> tuple[str, ...]:
    """Return every configuration key of every mode, sorted (what the template's rule
    ``ExecutionInputKeysAreConfigurationKeys`` lets ``ExecutionInputKeys`` name)."""
    return tuple(sorted({key for model in CONFIG_MODELS.values() for key in model.model_fields}))


def input_keys_from_environment() -> tuple[str, ...]:
    """Return the keys an execution input may set: ``EXECUTION_INPUT_KEYS``, the stack
    parameter ``ExecutionInputKeys`` joined with commas (empty: no key; ``*``: every key).

    Raises:
        MissingSetting: the variable is not set, or names a key no mode has (a typo in the
            parameter would otherwise quietly refuse the key it meant).
    """
    text = os.environ.get(INPUT_KEYS_VARIABLE)
    if text is None:
        raise MissingSetting(f"environment variable {INPUT_KEYS_VARIABLE} is not set")
    keys = tuple(key.strip() for key in text.split(",") if key.strip())
    unknown = sorted(set(keys) - set(configuration_keys()) - {ANY_INPUT_KEY})
    if unknown:
        raise MissingSetting(
            f"the stack parameter {INPUT_KEYS_PARAMETER} names keys no mode has: {unknown}"
        )
    return keys


def redacted(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with each ``jobEnvironment`` value replaced by ``REDACTED``: what a
    log line or a message may show (an environment value may hold a credential)."""
    shown = dict(config)
    for key, environment in config.items():
        # Any spelling of the key, and any shape: a list of "NAME=value" is a credential too.
        if key.lower() != "jobenvironment" or environment is None:
            continue
        if isinstance(environment, Mapping):
            shown[key] = dict.fromkeys(environment, REDACTED)
        else:
            shown[key] = REDACTED
    return shown


def _shown(key: str, value: Any) -> str:
    """``value`` of the top-level ``key`` as a message shows it: JSON, the values of a
    ``jobEnvironment`` redacted."""
    return json.dumps(redacted({key: value})[key], default=str)


def _refuse_input_keys(
    model: type[CommonConfig], overlay: dict[str, Any], input_keys: Collection[str]
) -> None:
    """Refuse the keys of the mode that the execution input sets but may not set."""
    if ANY_INPUT_KEY in input_keys:
        return
    refused = sorted(key for key in overlay if key in model.model_fields and key not in input_keys)
    if not refused:
        return
    allowed = ", ".join(sorted(key for key in input_keys if key in model.model_fields))
    lines = [
        f"{key} (from the execution input): the execution input may not set this key; set it "
        f"in the secret, or add it to the stack parameter {INPUT_KEYS_PARAMETER}"
        for key in refused
    ]
    lines.extend(
        f"{key} = {_shown(key, overlay[key])} (from the execution input): unknown key"
        for key in sorted(set(overlay) - set(model.model_fields))
    )
    raise InvalidConfiguration(
        "Invalid run configuration: "
        + "; ".join(lines)
        + f" (the execution input may set: {allowed or 'no key'})"
    )


def _without_original_keys(
    model: type[CommonConfig], secret: dict[str, Any], overlay: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Return the secret and the execution input without the model's ``ORIGINAL_KEYS``, and
    one refusal line for each such key whose value is refused (the input's value when both
    set it, as the input overrides the secret)."""
    refusals = []
    for original in model.ORIGINAL_KEYS:
        for source, values in (("execution input", overlay), ("secret", secret)):
            if original.name not in values:
                continue
            value = values[original.name]
            refusal = original.refusal_of(value)
            if refusal is not None:
                refusals.append(
                    f"{original.name} = {json.dumps(value, default=str)} (from the {source}): "
                    f"{refusal} ({MIGRATION_PAGE})"
                )
            break
    names = {original.name for original in model.ORIGINAL_KEYS}
    return (
        {key: value for key, value in secret.items() if key not in names},
        {key: value for key, value in overlay.items() if key not in names},
        refusals,
    )


def _describe_errors(
    error: ValidationError,
    model: type[CommonConfig],
    secret: dict[str, Any],
    overlay: dict[str, Any],
    input_keys: Collection[str],
) -> list[str]:
    lines = []
    for detail in error.errors():
        key = ".".join(str(part) for part in detail["loc"]) or "(whole configuration)"
        top = str(detail["loc"][0]) if detail["loc"] else ""
        source = "execution input" if top in overlay else "secret" if top in secret else "default"
        if detail["type"] == "extra_forbidden":
            # The value is not shown: an unknown key may be a misspelt one holding a credential.
            if source == "execution input" and ANY_INPUT_KEY not in input_keys:
                settable = sorted(k for k in input_keys if k in model.model_fields)
                lines.append(
                    f"{key} (from the execution input): unknown key; an execution input may "
                    f"set only {', '.join(settable) or 'no key'} (the stack parameter "
                    f"{INPUT_KEYS_PARAMETER})"
                )
            else:
                allowed = ", ".join(sorted(model.model_fields))
                lines.append(f"{key} (from the {source}): unknown key; allowed keys are: {allowed}")
        elif detail["type"] == "missing":
            lines.append(f"{key}: required, and neither the secret nor the input sets it")
        elif detail["loc"]:
            shown = _shown(top, detail["input"]) if key == top else json.dumps(REDACTED)
            if top != "jobEnvironment":
                shown = json.dumps(detail["input"], default=str)
            lines.append(
                f"{key} = {shown} (from the {source}): "
                f"{str(detail['msg']).removeprefix('Value error, ')}"
            )
        else:
            lines.append(str(detail["msg"]).removeprefix("Value error, "))
    return lines


def build_config(
    mode: str,
    secret: dict[str, Any],
    overlay: dict[str, Any],
    input_keys: Collection[str] = (ANY_INPUT_KEY,),
) -> CommonConfig:
    """Validate ``secret`` overlaid with ``overlay`` (the execution input) for ``mode``.

    Args:
        mode: ``TaskExport``, ``AutoExport`` or ``OnlyEBS``.
        secret: the decoded secret JSON object.
        overlay: the execution input; its keys replace the secret's.
        input_keys: the keys the execution input may set (the stack parameter
            ``ExecutionInputKeys``); ``ANY_INPUT_KEY`` among them allows every key. The
            default allows every key, for callers that check the rules alone; LoadConfig
            passes the stack's list (``load_config``).

    Returns:
        The validated configuration model of the mode.

    A key of the original project's secrets that the model has no field for
    (``ORIGINAL_KEYS``) is dropped when its value is what the mode does (``autoExport: true``
    in AutoExport), and refused otherwise, pointing to ``MIGRATION_PAGE``.

    Raises:
        InvalidConfiguration: the mode is not implemented, an input is not a JSON object, the
            input sets a key of the mode that ``input_keys`` does not list (the message names
            the key and the parameter that would allow it), a key is unknown, a key of the
            original project's secrets is refused, or a value breaks a rule; the message names
            each (never a ``jobEnvironment`` value).
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
    secret, overlay, refusals = _without_original_keys(model, secret, overlay)
    _refuse_input_keys(model, overlay, input_keys)
    try:
        config = model.model_validate({**secret, **overlay})
    except ValidationError as error:
        refusals += _describe_errors(error, model, secret, overlay, input_keys)
    if refusals:
        raise InvalidConfiguration("Invalid run configuration: " + "; ".join(refusals))
    return config


def load_config(
    mode: str, secret_id: str, overlay: dict[str, Any], input_keys: Collection[str]
) -> CommonConfig:
    """Read the mode's secret (JSON) with Powertools Parameters, as it is now (no cached
    copy), and apply ``build_config``.

    Args:
        mode: the deployed mode.
        secret_id: name or ARN of the Secrets Manager secret.
        overlay: the execution input.
        input_keys: the keys the execution input may set (``build_config``).

    Returns:
        The validated configuration.

    Raises:
        InvalidConfiguration: the secret is not a JSON object, or ``build_config`` refuses.
        AwsTransientError: GetSecretValue was throttled or failed (HTTP 429/5xx, or the network)
            after the SDK's retries; LoadConfig's Retry runs the step again.
        aws_lambda_powertools.utilities.parameters.exceptions.GetParameterError: the secret
            cannot be read for any other reason (permissions, not found).
    """
    # Imported here: only the functions that read the secret load Powertools' providers.
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415

    try:
        # Read afresh for every run: a warm function must not run with a secret edited
        # seconds ago as it was before (Powertools would cache it for max_age).
        secret = parameters.get_secret(secret_id, transform="json", force_fetch=True)
    except parameters.exceptions.TransformParameterError as error:
        raise InvalidConfiguration(
            f"Invalid run configuration: secret {secret_id} is not valid JSON ({error})"
        ) from None
    except parameters.exceptions.GetParameterError as error:
        # Powertools (BaseProvider.get) raises GetParameterError from inside its ``except``
        # around the provider's call, so the AWS error is its __context__. The one rule for
        # transient AWS errors (aws.is_transient) decides; anything else keeps its name.
        cause = error.__cause__ or error.__context__
        if isinstance(cause, ClientError | BotoCoreError) and is_transient(cause):
            raise AwsTransientError(
                f"reading secret {secret_id}: {type(cause).__name__}: {cause}"
            ) from error
        raise
    return build_config(mode, secret, overlay, input_keys)
