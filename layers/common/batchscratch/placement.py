"""What the stack can give a run, checked by LoadConfig before anything exists.

A job that no instance of the run's compute environment can hold stays RUNNABLE while its
storage bills; a data repository path outside the stack's bucket fails only once a file
system exists. These checks need the stack's settings (template parameters passed to
LoadConfig as environment variables) and, for instance types and the bucket, an AWS call, so
they run once, at LoadConfig (``state.load_run``), not in the configuration models that every
step re-validates.

- ``jobDefinitionVcpus`` at most the compute environment's ``MaxvCpus``: a managed compute
  environment never launches more vCPUs than ``maxvCpus`` (AWS Batch API Reference,
  ComputeResource ``maxvCpus``), and a job's container runs on one instance.
- vCPUs and memory some allowed instance type offers, when ``InstanceTypes`` names types or
  families (ComputeResource ``instanceTypes``: a family such as ``c5`` means every size of
  it). ``optimal``, ``default_x86_64`` and ``default_arm64`` let Batch choose from families
  it updates over time (same page), so they are not checked. Memory: the ECS container agent
  registers less than the instance's installed memory, and Batch's default AMI reserves
  another 32 MiB (Batch User Guide, "Compute resource memory management"); a job asking more
  than ``MemoryInfo.SizeInMiB - 32`` surely cannot be placed, so that is what is refused (a
  job just below it may still not fit: the overhead beyond 32 MiB varies).
- ``lustreStorageCapacity`` at most the stack's ``MaxLustreStorageCapacity``: the account's
  FSx for Lustre storage quota, which differs between accounts.
- ``dataRepositoryPath`` (by default the run's own prefix, ``link_run``) and
  ``inputDataRepositoryPath`` in the stack's data bucket, which must exist (HeadBucket: 404
  when it does not, 403 when it is not this account's to read), and not overlapping each
  other (``batchscratch.repository``).
- ``lustreDeploymentType`` a persistent one when the stack has a ``KmsKeyArn``: FSx
  encrypts scratch file systems with its own key only (``encryption.file_system_kms_key``).
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from batchscratch.aws import client, is_transient
from batchscratch.config import CommonConfig, LustreConfig
from batchscratch.encryption import file_system_kms_key, kms_key_arn
from batchscratch.environment import setting, setting_list
from batchscratch.errors import InvalidConfiguration, MissingSetting
from batchscratch.repository import overlap, run_data_repository_path, with_slash

BATCH_CHOSEN_TYPES = frozenset({"optimal", "default_x86_64", "default_arm64"})
"""``instanceTypes`` values with which Batch chooses the families (ComputeResource)."""
AGENT_RESERVED_MIB = 32
"""Memory Batch's default AMI reserves for the ECS agent and the system (Batch User Guide)."""


@dataclass(frozen=True)
class StackLimits:
    """The stack's settings a run must fit (template parameters, via environment variables).

    Attributes:
        max_vcpus: the compute environment's ``MaxvCpus`` (``MAX_VCPUS``).
        instance_types: ``InstanceTypes`` (``INSTANCE_TYPES``, comma-separated).
        max_lustre_storage_capacity: ``MaxLustreStorageCapacity``, GiB
            (``MAX_LUSTRE_STORAGE_CAPACITY``; set in the Lustre modes only, else None).
        data_bucket: the stack's data bucket (``DATA_BUCKET_NAME``).
        kms_key_arn: the stack's ``KmsKeyArn`` (``KMS_KEY_ARN``), or None.
    """

    max_vcpus: int
    instance_types: tuple[str, ...]
    max_lustre_storage_capacity: int | None
    data_bucket: str
    kms_key_arn: str | None = None

    @classmethod
    def from_environment(cls) -> "StackLimits":
        """Read the limits from LoadConfig's environment.

        Raises:
            MissingSetting: a variable is not set (the deployment is broken).
            ValueError: a number variable is not an integer.
            InvalidConfiguration: ``KMS_KEY_ARN`` is set but is not a key ARN.
        """
        lustre_capacity = os.environ.get("MAX_LUSTRE_STORAGE_CAPACITY", "").strip()
        return cls(
            max_vcpus=int(setting("MAX_VCPUS")),
            instance_types=tuple(setting_list("INSTANCE_TYPES")),
            max_lustre_storage_capacity=int(lustre_capacity) if lustre_capacity else None,
            data_bucket=setting("DATA_BUCKET_NAME"),
            kms_key_arn=kms_key_arn(),
        )


def _refuse(rule: str) -> InvalidConfiguration:
    return InvalidConfiguration(f"Invalid run configuration: {rule}")


def _instance_types(names: Iterable[str]) -> list[dict[str, Any]]:
    """Return every instance type the names (types, or families meaning ``family.*``) match.

    EC2 DescribeInstanceTypes with the ``instance-type`` filter (wildcards allowed), every
    page (EC2 API Reference, DescribeInstanceTypes).
    """
    values = sorted({name if "." in name else f"{name}.*" for name in names})
    paginator = client("ec2").get_paginator("describe_instance_types")
    found: list[dict[str, Any]] = []
    for page in paginator.paginate(Filters=[{"Name": "instance-type", "Values": values}]):
        found.extend(page.get("InstanceTypes", []))
    return found


def check_placement(config: CommonConfig, limits: StackLimits) -> None:
    """Refuse a job that the run's compute environment surely cannot place.

    Args:
        config: the run's validated configuration.
        limits: the stack's settings.

    Raises:
        InvalidConfiguration: ``jobDefinitionVcpus`` exceeds ``MaxvCpus``, or no instance type
            ``InstanceTypes`` allows offers ``jobDefinitionVcpus`` vCPUs together with
            ``jobDefinitionMemory`` MiB (plus what Batch reserves); the message names the keys,
            the values and the largest types allowed.
        botocore.exceptions.ClientError: DescribeInstanceTypes failed (the handler turns
            throttling into ``AwsTransientError``).
    """
    vcpus, memory = config.jobDefinitionVcpus, config.jobDefinitionMemory
    if vcpus > limits.max_vcpus:
        raise _refuse(
            f"jobDefinitionVcpus = {vcpus}: more than the compute environment's MaxvCpus = "
            f"{limits.max_vcpus} (template parameter MaxvCpus); the job would stay RUNNABLE"
        )
    names = [name for name in limits.instance_types if name not in BATCH_CHOSEN_TYPES]
    if not names or len(names) != len(limits.instance_types):
        return  # Batch chooses (some of) the types: nothing sure to check against
    types = _instance_types(names)
    if not types:
        return  # unknown names: CreateComputeEnvironment reports them, not a placement rule

    def offers(kind: dict[str, Any]) -> bool:
        cpus = int(kind.get("VCpuInfo", {}).get("DefaultVCpus", 0))
        mib = int(kind.get("MemoryInfo", {}).get("SizeInMiB", 0)) - AGENT_RESERVED_MIB
        return cpus >= vcpus and mib >= memory

    if any(offers(kind) for kind in types):
        return
    largest_cpus = max(types, key=lambda kind: int(kind["VCpuInfo"]["DefaultVCpus"]))
    largest_mib = max(types, key=lambda kind: int(kind["MemoryInfo"]["SizeInMiB"]))
    raise _refuse(
        f"jobDefinitionVcpus = {vcpus} with jobDefinitionMemory = {memory} (MiB): no instance "
        f"type of InstanceTypes = {','.join(limits.instance_types)} offers both (the most vCPUs: "
        f"{largest_cpus['InstanceType']} with {largest_cpus['VCpuInfo']['DefaultVCpus']}; the "
        f"most memory: {largest_mib['InstanceType']} with "
        f"{largest_mib['MemoryInfo']['SizeInMiB']} MiB, of which Batch keeps at least "
        f"{AGENT_RESERVED_MIB} MiB); the job would stay RUNNABLE"
    )


def check_lustre_storage(config: LustreConfig, limits: StackLimits) -> None:
    """Refuse a file system larger than the stack allows.

    Raises:
        InvalidConfiguration: ``lustreStorageCapacity`` exceeds ``MaxLustreStorageCapacity``.
        MissingSetting: ``MAX_LUSTRE_STORAGE_CAPACITY`` is not set (the deployment is broken).
    """
    if limits.max_lustre_storage_capacity is None:
        raise MissingSetting("environment variable MAX_LUSTRE_STORAGE_CAPACITY is not set")
    if config.lustreStorageCapacity > limits.max_lustre_storage_capacity:
        raise _refuse(
            f"lustreStorageCapacity = {config.lustreStorageCapacity} (GiB): more than the "
            f"stack's MaxLustreStorageCapacity = {limits.max_lustre_storage_capacity} GiB "
            "(template parameter; raise it with the account's FSx for Lustre storage quota)"
        )


def link_run[C: CommonConfig](config: C, run_id: str, limits: StackLimits) -> C:
    """Return ``config`` with the S3 paths its file system links, as the run will use them.

    An unset ``dataRepositoryPath`` becomes the run's own prefix,
    ``s3://<data bucket>/runs/<run id>/`` (``repository.run_data_repository_path``); a given
    one, and ``inputDataRepositoryPath``, are kept as given, with a trailing ``/`` added (a
    prefix then names a folder: ``runs/a`` would also hold ``runs/ab/``). An OnlyEBS
    configuration is returned unchanged. Every later step reads the paths from ``$.config``.

    Raises:
        InvalidConfiguration: the run's prefix is not a valid FSx path (the execution name).
    """
    if not isinstance(config, LustreConfig):
        return config
    path = config.dataRepositoryPath
    linked = (
        run_data_repository_path(limits.data_bucket, run_id) if path is None else with_slash(path)
    )
    given = config.inputDataRepositoryPath
    return config.model_copy(
        update={
            "dataRepositoryPath": linked,
            "inputDataRepositoryPath": None if given is None else with_slash(given),
        }
    )


def _in_data_bucket(key: str, path: str, limits: StackLimits) -> str:
    """Return the bucket of ``path`` once it is known to be the stack's data bucket."""
    bucket, _, prefix = path.removeprefix("s3://").partition("/")
    if bucket != limits.data_bucket:
        raise _refuse(
            f"{key} = {path!r}: must lie in the stack's data bucket {limits.data_bucket} "
            f"(s3://{limits.data_bucket}/<prefix>/); the functions and the file system may "
            "use only that bucket"
        )
    if "//" in f"/{prefix}":
        # S3 accepts keys with empty segments, but a file system has no empty directory
        # names: such a path is a typo.
        raise _refuse(
            f"{key} = {path!r}: holds an empty folder name ('//'); write "
            f"s3://{bucket}/ for the bucket's root, or s3://{bucket}/<prefix>/"
        )
    return bucket


def check_data_repository(config: LustreConfig, limits: StackLimits) -> None:
    """Refuse data repository paths outside the stack's existing data bucket, or that overlap.

    Args:
        config: the run's Lustre configuration after ``link_run`` (``dataRepositoryPath``
            and ``inputDataRepositoryPath``, ``s3://bucket/...``).
        limits: the stack's settings (``data_bucket``).

    Raises:
        InvalidConfiguration: a path names another bucket; ``inputDataRepositoryPath``
            overlaps ``dataRepositoryPath`` (FSx refuses two associations of one file system
            with overlapping prefixes, and an export must never write into the input); the
            bucket does not exist or cannot be read (HeadBucket 404 or 403).
        botocore.exceptions.ClientError: HeadBucket failed otherwise (the handler turns
            throttling and 5xx answers into ``AwsTransientError``).
    """
    path = config.dataRepositoryPath
    if path is None:
        raise ValueError("dataRepositoryPath is unset: link_run did not run")
    bucket = _in_data_bucket("dataRepositoryPath", path, limits)
    given = config.inputDataRepositoryPath
    if given is not None:
        _in_data_bucket("inputDataRepositoryPath", given, limits)
        if overlap(path, given):
            raise _refuse(
                f"inputDataRepositoryPath = {given!r}: overlaps dataRepositoryPath = {path!r}; "
                "the input is linked for import only and must lie outside the prefix the run "
                f"exports to, and that one outside it (e.g. s3://{limits.data_bucket}/inputs/ "
                f"beside s3://{limits.data_bucket}/runs/<run id>/)"
            )
    try:
        client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        if is_transient(error):
            raise
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.response.get("Error", {}).get("Code", "")
        missing = status == 404 or code in ("404", "NoSuchBucket")
        if missing or status == 403 or code in ("403", "AccessDenied"):
            what = "does not exist" if missing else "cannot be read by this stack (403)"
            raise _refuse(f"dataRepositoryPath = {path!r}: bucket {bucket} {what}") from None
        raise


def check_stack(config: CommonConfig, limits: StackLimits) -> None:
    """Apply every check of this module that applies to the run's mode (see module doc).

    Raises:
        InvalidConfiguration: the first check that refuses (each names its key).
        botocore.exceptions.ClientError: DescribeInstanceTypes or HeadBucket failed.
    """
    if isinstance(config, LustreConfig):
        file_system_kms_key(config.lustreDeploymentType, limits.kms_key_arn)
        check_lustre_storage(config, limits)
        check_data_repository(config, limits)
    check_placement(config, limits)
