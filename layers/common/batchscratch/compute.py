"""Run-scoped compute: launch template, compute environment, job queue, job definition.

Runs never share or mutate compute, so executions can run concurrently. Every name derives
from the execution ARN (``Run.resource_name``), so every step here is idempotent and cleanup
finds the resources without the ids. Follows the AWS Batch API Reference
(CreateComputeEnvironment, CreateJobQueue, RegisterJobDefinition, RetryStrategy,
EvaluateOnExit; ``status``: CREATING | UPDATING | DELETING | DELETED | VALID | INVALID) and
the EC2 API Reference (CreateLaunchTemplate, DeleteLaunchTemplate).
"""

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from batchscratch.aws import client
from batchscratch.config import CommonConfig, LustreConfig
from batchscratch.encryption import ebs_encryption, kms_key_arn
from batchscratch.environment import setting, setting_list
from batchscratch.errors import CleanupTimeout, ComputeFailed, ComputeTimeout
from batchscratch.marker import SAMPLE_JOB_REFUSAL_EXIT_CODE
from batchscratch.mounts import StorageMount
from batchscratch.outputs import CleanupStatus, ComputeRef, ComputeStatus
from batchscratch.polling import enforce_deadline, waiting_since
from batchscratch.repository import key_prefix, run_prefix
from batchscratch.run import Run, now_iso, run_seconds_left

SPOT_RECLAIM_REASON = "Host EC2*"
"""``statusReason`` of an attempt whose instance went away (Spot reclaim), as a Batch glob."""

SPOT_NOTICE_EXIT_CODE = 143
"""Exit status of a job stopped by SIGTERM (128 + 15): the host's Spot watcher
(``scripts/spot_watcher.sh``) sends it at the interruption notice, so the attempt usually
ends before the host does and Batch sees this exit code rather than ``Host EC2 …``."""

_ACTIVE_JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
_CHANGING = ("CREATING", "UPDATING", "DELETING")
"""Job queue and compute environment statuses the cleanup waits out before changing them."""


@dataclass(frozen=True)
class ComputeSettings:
    """Deploy-time compute settings (template parameters, read from the environment).

    ``instance_types`` e.g. ``["optimal"]``; vCPU counts are the compute environment's
    min/max/desired; ``environment_type`` is ``SPOT`` or ``EC2``.
    """

    environment_type: str
    allocation_strategy: str
    instance_types: list[str]
    min_vcpus: int
    max_vcpus: int
    desired_vcpus: int
    security_group_id: str
    instance_profile_arn: str
    job_role_arn: str
    data_bucket: str
    job_log_group: str
    """The stack's CloudWatch Logs group for the jobs' output (template resource JobLogGroup)."""
    service_role_arn: str | None = None
    """Batch service role; None uses the AWSServiceRoleForBatch service-linked role."""
    kms_key_arn: str | None = None
    """The stack's ``KmsKeyArn`` for the instances' root volumes; None: the account's EBS key."""

    @classmethod
    def from_environment(cls) -> "ComputeSettings":
        """Read the settings template.yaml passes to PrepareComputeFunction.

        Raises:
            MissingSetting: a variable is unset (the deployment is broken).
        """
        return cls(
            environment_type=setting("COMPUTE_ENVIRONMENT_TYPE"),
            allocation_strategy=setting("ALLOCATION_STRATEGY"),
            instance_types=setting_list("INSTANCE_TYPES"),
            min_vcpus=int(setting("MIN_VCPUS")),
            max_vcpus=int(setting("MAX_VCPUS")),
            desired_vcpus=int(setting("DESIRED_VCPUS")),
            security_group_id=setting("BATCH_SECURITY_GROUP_ID"),
            instance_profile_arn=setting("INSTANCE_PROFILE_ARN"),
            job_role_arn=setting("JOB_ROLE_ARN"),
            data_bucket=setting("DATA_BUCKET_NAME"),
            job_log_group=setting("JOB_LOG_GROUP_NAME"),
            service_role_arn=os.environ.get("BATCH_SERVICE_ROLE_ARN") or None,
            kms_key_arn=kms_key_arn(),
        )


@dataclass(frozen=True)
class Names:
    """The run's compute resource names."""

    launch_template: str
    compute_environment: str
    job_queue: str
    job_definition: str
    job: str

    @classmethod
    def of(cls, run: Run) -> "Names":
        """Return the names of ``run``'s compute resources."""
        return cls(
            launch_template=run.resource_name("lt"),
            compute_environment=run.resource_name("ce"),
            job_queue=run.resource_name("jq"),
            job_definition=run.resource_name("jd"),
            job=run.resource_name("job"),
        )


def results_prefix(run: Run, config: CommonConfig) -> str:
    """Return the key prefix of the data bucket where the run's results land (``S3_PREFIX``).

    A Lustre run's is its export association's (``dataRepositoryPath``; ``""`` when that
    links the bucket's root); an OnlyEBS run's is its own prefix, ``runs/<run id>/``
    (``repository.run_prefix``), the only place its job role may write.
    """
    if isinstance(config, LustreConfig) and config.dataRepositoryPath is not None:
        return key_prefix(config.dataRepositoryPath)
    return run_prefix(run.runId)


def retry_strategy(attempts: int) -> dict[str, Any]:
    """Return the job definition's retryStrategy: retry Spot reclaims, exit on anything else.

    A Spot reclaim ends an attempt in one of two ways: the host goes before the job
    (``statusReason`` ``Host EC2 …``), or the job exits on the watcher's SIGTERM first
    (``SPOT_NOTICE_EXIT_CODE``). A job that finds no storage marked for its run exits
    ``SAMPLE_JOB_REFUSAL_EXIT_CODE`` and is retried on another instance. Batch does not retry
    jobs that were terminated (TerminateJob) or timed out, whatever the exit code (AWS Batch
    User Guide, "Automated job retries" and "Job timeouts"), and retries when no
    ``evaluateOnExit`` rule matches, so the catch-all EXIT rule is needed for an application
    failure to end the job at once. At most 5 rules (API Reference, RetryStrategy).

    Args:
        attempts: 1-10 attempts in all.

    Returns:
        ``{"attempts": int, "evaluateOnExit": [...]}`` for RegisterJobDefinition.
    """
    return {
        "attempts": attempts,
        "evaluateOnExit": [
            {"onStatusReason": SPOT_RECLAIM_REASON, "action": "RETRY"},
            {"onExitCode": str(SPOT_NOTICE_EXIT_CODE), "action": "RETRY"},
            {"onExitCode": str(SAMPLE_JOB_REFUSAL_EXIT_CODE), "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ],
    }


RUNNABLE_LIMIT_REASONS = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
"""The ``statusReason`` values of a RUNNABLE job that a job queue's ``jobStateTimeLimitActions``
act on (AWS Batch User Guide, "Automatic remediation with jobStateTimeLimitActions"; other
reasons, and instances that keep failing, which show none, need the run's own watchdog)."""
QUEUE_LIMIT_MARGIN_SECONDS = 300
QUEUE_LIMIT_RANGE_SECONDS = (600, 86400)
"""``maxTimeSeconds`` of a job state time limit action: 600-86,400 s (AWS Batch API Reference,
JobStateTimeLimitAction)."""


def job_state_time_limit_actions(config: CommonConfig) -> list[dict[str, Any]]:
    """Return the run's job queue's ``jobStateTimeLimitActions``: CANCEL a job RUNNABLE for a
    supported reason ``jobStartTimeoutSeconds`` + 300 s after it became so (clamped to
    600-86,400 s), a backstop behind the watchdog for a run that no longer watches.

    CANCEL is the only action for queues of ECS compute environments (the User Guide page
    above). Returns one action per ``RUNNABLE_LIMIT_REASONS`` entry, in CreateJobQueue's shape.
    """
    low, high = QUEUE_LIMIT_RANGE_SECONDS
    seconds = min(high, max(low, config.jobStartTimeoutSeconds + QUEUE_LIMIT_MARGIN_SECONDS))
    return [
        {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": seconds, "action": "CANCEL"}
        for reason in RUNNABLE_LIMIT_REASONS
    ]


ROOT_DEVICE_NAME = "/dev/xvda"
"""Root device of the ECS-optimized Amazon Linux 2023 AMI that ``ECS_AL2023`` selects: its
build (aws/amazon-ecs-ami, al2023.pkr.hcl ``launch_block_device_mappings``) makes a 30 GiB
(variables.pkr.hcl ``block_device_size_gb``) gp3 volume at this name; the Batch User Guide's
own example ("Use Amazon EC2 launch templates with AWS Batch") maps the same device."""


def root_volume_mapping(key_arn: str | None) -> dict[str, Any]:
    """Return the launch template's block device mapping of the instance's root volume.

    The volume is encrypted whatever the account's EBS encryption-by-default setting: with the
    stack's key, ``KmsKeyId`` (LaunchTemplateEbsBlockDeviceRequest: "the customer managed KMS
    key to use for EBS encryption"); with no ``KmsKeyId`` EC2 uses the account's default key for
    EBS (EC2 User Guide, "Use encryption with EBS-backed AMIs": volumes restored from an AMI's
    unencrypted snapshots can be encrypted at launch). ``VolumeSize`` is left out, so the volume
    keeps the AMI snapshot's size (EC2 API Reference, EbsBlockDevice: "If you specify a
    snapshot, the default is the snapshot size") and never shrinks below it; gp3 as the AMI's
    build has it. Batch applies a launch template's block device mappings: the settings the User
    Guide page above lists as ignored (instance type, instance role, network interface subnets,
    ...) do not include them, and its own example encrypts this device.

    Args:
        key_arn: the stack's key ARN (``KmsKeyArn``), or None.

    Returns:
        One ``LaunchTemplateBlockDeviceMappingRequest`` (EC2 CreateLaunchTemplate):
        ``{"DeviceName", "Ebs": {"Encrypted"[, "KmsKeyId"], "DeleteOnTermination", "VolumeType"}}``.
    """
    return {
        "DeviceName": ROOT_DEVICE_NAME,
        "Ebs": {**ebs_encryption(key_arn), "DeleteOnTermination": True, "VolumeType": "gp3"},
    }


def _launch_template(run: Run, name: str, user_data: str, kms_key: str | None = None) -> str:
    ec2 = client("ec2")
    try:
        created = ec2.create_launch_template(
            LaunchTemplateName=name,
            ClientToken=run.client_token("launch-template"),
            LaunchTemplateData={
                "UserData": base64.b64encode(user_data.encode()).decode(),
                "MetadataOptions": {
                    "HttpTokens": "required",
                    "HttpEndpoint": "enabled",
                    # Batch jobs on EC2 use host networking (Batch User Guide, "Networking
                    # modes for AWS Batch jobs"): they reach IMDS, and the instance role,
                    # whatever this limit. 2 serves containers on a bridge network too.
                    "HttpPutResponseHopLimit": 2,
                },
                "BlockDeviceMappings": [root_volume_mapping(kms_key)],
            },
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": run.tag_list()}],
        )
        return str(created["LaunchTemplate"]["LaunchTemplateId"])
    except ClientError as error:
        if "AlreadyExists" not in error.response["Error"]["Code"]:
            raise
    found = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
    return str(found[0]["LaunchTemplateId"])


def _compute_environment(
    run: Run, names: Names, settings: ComputeSettings, template_id: str, subnet_ids: list[str]
) -> str:
    batch = client("batch")
    existing = batch.describe_compute_environments(computeEnvironments=[names.compute_environment])[
        "computeEnvironments"
    ]
    live = [ce for ce in existing if ce.get("status") not in ("DELETING", "DELETED")]
    if live:
        return str(live[0]["computeEnvironmentArn"])
    optional: dict[str, Any] = {}
    if settings.service_role_arn:
        optional["serviceRole"] = settings.service_role_arn
    created = batch.create_compute_environment(
        computeEnvironmentName=names.compute_environment,
        type="MANAGED",
        state="ENABLED",
        **optional,
        computeResources={
            "type": settings.environment_type,
            "allocationStrategy": settings.allocation_strategy,
            "minvCpus": settings.min_vcpus,
            "maxvCpus": settings.max_vcpus,
            "desiredvCpus": settings.desired_vcpus,
            "instanceTypes": settings.instance_types,
            "subnets": subnet_ids,
            "securityGroupIds": [settings.security_group_id],
            "instanceRole": settings.instance_profile_arn,
            "launchTemplate": {"launchTemplateId": template_id, "version": "$Latest"},
            "ec2Configuration": [{"imageType": "ECS_AL2023"}],
            "tags": run.tags(),
        },
        tags=run.tags(),
    )
    return str(created["computeEnvironmentArn"])


def job_log_configuration(log_group: str) -> dict[str, Any]:
    """Return the job definition's ``logConfiguration``: the ``awslogs`` driver writing to the
    stack's own log group instead of Batch's account-wide ``/aws/batch/job``, which has no
    retention (Batch User Guide, "Use the awslogs log driver": ``awslogs-group`` defaults to
    it). No ``awslogs-stream-prefix``: streams keep Batch's names,
    ``<job definition>/default/<ECS task id>``, which each attempt reports as its
    ``container.logStreamName``. On EC2 the ECS agent writes with the instance role
    (template policy BatchInstanceJobLogsPolicy); the group exists, so no
    ``awslogs-create-group``.

    Args:
        log_group: the group's name (``ComputeSettings.job_log_group``).

    Returns:
        ``{"logDriver": "awslogs", "options": {"awslogs-group": log_group}}`` (Batch
        RegisterJobDefinition, ContainerProperties.logConfiguration).
    """
    return {"logDriver": "awslogs", "options": {"awslogs-group": log_group}}


def _job_definition(
    run: Run,
    names: Names,
    config: CommonConfig,
    settings: ComputeSettings,
    mount: StorageMount,
) -> str:
    batch = client("batch")
    active = batch.describe_job_definitions(
        jobDefinitionName=names.job_definition, status="ACTIVE"
    )["jobDefinitions"]
    if active:
        return str(active[0]["jobDefinitionArn"])
    host_path, container_path = mount.host_path, mount.container_path
    environment = {
        **config.jobEnvironment,
        # The run's own variables (config.RUN_ENVIRONMENT) come last and always win.
        "S3_BUCKET_NAME": settings.data_bucket,
        "S3_PREFIX": results_prefix(run, config),
        "SCRATCH_DIR": container_path,
        "BATCH_SCRATCH_RUN_ID": run.runId,
    }
    container: dict[str, Any] = {
        "image": config.jobDefinitionContainerImage,
        # Sent although false is Batch's default (botocore's batch model, ContainerProperties
        # ``privileged``), so that the ``batch:Privileged`` condition of PrepareCompute's
        # RegisterJobDefinition statement reads a value instead of relying on an absent key.
        "privileged": False,
        "resourceRequirements": [
            {"type": "VCPU", "value": str(config.jobDefinitionVcpus)},
            {"type": "MEMORY", "value": str(config.jobDefinitionMemory)},
        ],
        "jobRoleArn": settings.job_role_arn,
        "volumes": [
            {"name": "scratch", "host": {"sourcePath": host_path}},
            *(
                {"name": f"read-only-{index}", "host": {"sourcePath": host}}
                for index, (host, _) in enumerate(mount.read_only)
            ),
        ],
        "mountPoints": [
            {"sourceVolume": "scratch", "containerPath": container_path, "readOnly": False},
            *(
                {"sourceVolume": f"read-only-{index}", "containerPath": inside, "readOnly": True}
                for index, (_, inside) in enumerate(mount.read_only)
            ),
        ],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "logConfiguration": job_log_configuration(settings.job_log_group),
    }
    if config.jobCommand:
        container["command"] = list(config.jobCommand)
    request: dict[str, Any] = {
        "jobDefinitionName": names.job_definition,
        "type": "container",
        "platformCapabilities": ["EC2"],
        "containerProperties": container,
        "retryStrategy": retry_strategy(config.jobDefinitionRetryAttempts),
        "propagateTags": True,
        "tags": run.tags(),
    }
    if config.jobAttemptTimeoutSeconds:
        request["timeout"] = {"attemptDurationSeconds": config.jobAttemptTimeoutSeconds}
    return str(batch.register_job_definition(**request)["jobDefinitionArn"])


def prepare_compute(
    run: Run, mount: StorageMount, config: CommonConfig, settings: ComputeSettings
) -> ComputeRef:
    """Create the run's launch template, compute environment and job definition.

    The job queue is created by ``check_compute`` once the compute environment is VALID
    (CreateJobQueue refuses a compute environment that is not).

    Args:
        run: the run (names, tags, tokens).
        mount: the storage's mount (its storage kind's ``mount``, ``batchscratch.mounts``): the
            subnets in its Availability Zone, the user data that mounts it, and its host and
            container paths.
        config: image, vCPUs, memory (MiB), command, environment, retry attempts.
        settings: deploy-time compute settings.

    Returns:
        The names and ARNs of the run's compute, and the job's name.

    Raises:
        botocore.exceptions.ClientError: EC2 or Batch refused.
    """
    names = Names.of(run)
    template_id = _launch_template(
        run, names.launch_template, mount.user_data, settings.kms_key_arn
    )
    environment_arn = _compute_environment(run, names, settings, template_id, mount.subnet_ids)
    definition_arn = _job_definition(run, names, config, settings, mount)
    return ComputeRef(
        launchTemplateId=template_id,
        launchTemplateName=names.launch_template,
        computeEnvironmentName=names.compute_environment,
        computeEnvironmentArn=environment_arn,
        jobQueueName=names.job_queue,
        jobDefinitionName=names.job_definition,
        jobDefinitionArn=definition_arn,
        jobName=names.job,
        createdAt=now_iso(),
    )


def _one(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    live = [item for item in items if item.get("status") != "DELETED"]
    return live[0] if live else None


def check_compute(run: Run, config: CommonConfig, previous: dict[str, Any] | None) -> ComputeStatus:
    """Report whether the run's job queue can take the job; create the queue when it can.

    Args:
        run: whose compute.
        config: the limit (``computeTimeoutSeconds``, seconds).
        previous: this check's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``ready`` with the queue's ARN once it is VALID and ENABLED.

    Raises:
        ComputeFailed: the compute environment or job queue is INVALID or gone.
        ComputeTimeout: not VALID and ENABLED within ``computeTimeoutSeconds``.
    """
    since = waiting_since(previous)
    names = Names.of(run)
    batch = client("batch")
    environment = _one(
        batch.describe_compute_environments(computeEnvironments=[names.compute_environment])[
            "computeEnvironments"
        ]
    )
    if environment is None:
        raise ComputeFailed(f"Compute environment {names.compute_environment} does not exist")
    if environment["status"] == "INVALID":
        raise ComputeFailed(
            f"Compute environment {names.compute_environment} is INVALID: "
            f"{environment.get('statusReason', 'no reason given')}"
        )
    queue_arn = None
    if environment["status"] == "VALID":
        queue = _one(batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"])
        if queue is None:
            batch.create_job_queue(
                jobQueueName=names.job_queue,
                state="ENABLED",
                priority=1,
                computeEnvironmentOrder=[
                    {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
                ],
                jobStateTimeLimitActions=job_state_time_limit_actions(config),
                tags=run.tags(),
            )
            queue = _one(batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"])
        if queue is not None and queue["status"] == "INVALID":
            raise ComputeFailed(
                f"Job queue {names.job_queue} is INVALID: "
                f"{queue.get('statusReason', 'no reason given')}"
            )
        if queue is not None and queue["status"] == "VALID" and queue["state"] == "ENABLED":
            queue_arn = str(queue["jobQueueArn"])
    ready = queue_arn is not None
    if not ready:
        enforce_deadline(
            since,
            config.computeTimeoutSeconds,
            ComputeTimeout,
            f"compute of run {run.runId} to become VALID",
        )
    return ComputeStatus(
        ready=ready,
        jobQueueArn=queue_arn,
        jobTimeoutSeconds=run_seconds_left(run),
        waitingSince=since,
    )


def _towards_deletion(
    entry: str,
    resource: dict[str, Any],
    disable: Callable[[], object],
    delete: Callable[[], object],
) -> str:
    """Take one step towards deleting a job queue or compute environment: disable it, then
    delete it (AWS Batch API Reference, DeleteJobQueue and DeleteComputeEnvironment: it must
    be DISABLED first); one whose status is CREATING, UPDATING or DELETING is left to finish.

    Returns:
        What is left: ``"<entry> (<status>)"``, ``"<entry> (disabling)"`` or
        ``"<entry> (deleting)"``.
    """
    if resource["status"] in _CHANGING:
        return f"{entry} ({resource['status']})"
    if resource["state"] == "ENABLED":
        disable()
        return f"{entry} (disabling)"
    delete()
    return f"{entry} (deleting)"


def _release_job_queue(name: str, remaining: list[str]) -> bool:
    """Advance the queue towards deletion, its jobs terminated; return True once it is gone."""
    batch = client("batch")
    queue = _one(batch.describe_job_queues(jobQueues=[name])["jobQueues"])
    if queue is None:
        return True
    for status in _ACTIVE_JOB_STATUSES:
        for job in batch.list_jobs(jobQueue=name, jobStatus=status)["jobSummaryList"]:
            batch.terminate_job(jobId=job["jobId"], reason="batch-scratch run cleanup")
    disable = partial(batch.update_job_queue, jobQueue=name, state="DISABLED")
    delete = partial(batch.delete_job_queue, jobQueue=name)
    remaining.append(_towards_deletion(f"batch:job-queue:{name}", queue, disable, delete))
    return False


def _release_compute_environment(name: str, remaining: list[str]) -> bool:
    """Advance the compute environment towards deletion; return True once it is gone."""
    batch = client("batch")
    environment = _one(
        batch.describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    )
    if environment is None:
        return True
    disable = partial(batch.update_compute_environment, computeEnvironment=name, state="DISABLED")
    delete = partial(batch.delete_compute_environment, computeEnvironment=name)
    entry = f"batch:compute-environment:{name}"
    remaining.append(_towards_deletion(entry, environment, disable, delete))
    return False


def _delete_launch_template(name: str) -> None:
    ec2 = client("ec2")
    found = ec2.describe_launch_templates(
        Filters=[{"Name": "launch-template-name", "Values": [name]}]
    )["LaunchTemplates"]
    for template in found:
        try:
            ec2.delete_launch_template(LaunchTemplateId=template["LaunchTemplateId"])
        except ClientError as error:
            if "NotFound" not in error.response["Error"]["Code"]:
                raise


def _deregister_job_definitions(name: str) -> None:
    batch = client("batch")
    active = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    for definition in active["jobDefinitions"]:
        batch.deregister_job_definition(jobDefinition=definition["jobDefinitionArn"])


def cleanup_compute(
    run: Run, config: CommonConfig, previous: dict[str, Any] | None
) -> CleanupStatus:
    """Advance the deletion of the run's compute; call again until ``done``.

    Order: terminate the queue's jobs, disable then delete the job queue, disable then
    delete the compute environment (which terminates its instances), then delete the launch
    template and deregister the job definition. Idempotent; safe when nothing exists.

    Args:
        run: whose compute.
        config: the limit (``cleanupTimeoutSeconds``, seconds).
        previous: this step's earlier result (carries ``waitingSince``), or None.

    Returns:
        ``done`` once nothing is left; ``remaining``, e.g. ``["batch:job-queue:…
        (disabling)"]``.

    Raises:
        CleanupTimeout: not done within ``cleanupTimeoutSeconds``; what is left keeps its
            tags.
    """
    since = waiting_since(previous)
    names = Names.of(run)
    remaining: list[str] = []
    if _release_job_queue(names.job_queue, remaining) and _release_compute_environment(
        names.compute_environment, remaining
    ):
        _delete_launch_template(names.launch_template)
    _deregister_job_definitions(names.job_definition)
    if remaining:
        enforce_deadline(
            since,
            config.cleanupTimeoutSeconds,
            CleanupTimeout,
            f"compute cleanup ({', '.join(remaining)})",
        )
    return CleanupStatus(done=not remaining, remaining=remaining, waitingSince=since)
