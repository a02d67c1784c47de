"""Which per-run resources exist, found through the AWS APIs: what ``batch-scratch leftovers``
lists, and what the rehearsal's summary calls ``leaked`` or ``retained`` (one code path).

A resource belongs to an execution when it carries the execution's
``batch-scratch:execution-arn`` tag, or when the run's own Create call made it (so a
resource the run forgot to tag still counts). It is *retained* when it carries
``batch-scratch:retained-reason``, *leaked* otherwise.

FSx data repository associations and tasks are parts of their file system: they exist
while it exists (FSx deletes them with it), belong to the execution its file system belongs
to, and are retained when it is. A task counts only while it runs (PENDING, EXECUTING,
CANCELING): an ended task is history, not something left to delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from batchscratch.run import TAG_EXECUTION, TAG_RETAINED
from batchscratch.tagging import identity_tag_value

__all__ = ["KINDS", "TAG_RETAINED", "Resource", "existing_resources", "left_behind"]

KINDS = (
    "ec2:volume",
    "ec2:snapshot",
    "ec2:launch-template",
    "fsx:file-system",
    "fsx:data-repository-association",
    "fsx:data-repository-task",
    "batch:compute-environment",
    "batch:job-queue",
    "batch:job-definition",
)


@dataclass(frozen=True)
class Resource:
    kind: str
    resource_id: str
    tags: dict[str, str]
    part_of: str | None = None
    """The entry ("kind:id") of the resource this one is part of (an FSx file system)."""
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The service's describe entry of it (DescribeVolumes, DescribeFileSystems, ...)."""

    @property
    def entry(self) -> str:
        return f"{self.kind}:{self.resource_id}"


def _ec2_tags(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
        return
    while True:  # NextToken without a botocore paginator (FSx DRAs and tasks)
        page = getattr(client, operation)(**kwargs)
        yield from page.get(key, [])
        if not page.get("NextToken"):
            return
        kwargs = {**kwargs, "NextToken": page["NextToken"]}


def existing_resources(clients: Callable[[str], Any]) -> list[Resource]:
    """Every resource of a per-run kind that exists (not deleted or being deleted)."""
    ec2, batch = clients("ec2"), clients("batch")
    found: list[Resource] = []
    for volume in _pages(ec2, "describe_volumes", "Volumes"):
        if volume.get("State") not in ("deleting", "deleted"):
            found.append(
                Resource(
                    "ec2:volume", volume["VolumeId"], _ec2_tags(volume.get("Tags")), None, volume
                )
            )
    for snapshot in _pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
        found.append(
            Resource(
                "ec2:snapshot",
                snapshot["SnapshotId"],
                _ec2_tags(snapshot.get("Tags")),
                None,
                snapshot,
            )
        )
    for template in _pages(ec2, "describe_launch_templates", "LaunchTemplates"):
        # moto's DescribeLaunchTemplates shows only the tags given at creation; EC2 shows every
        # tag, CreateTags' too (a retained-reason added later), as DescribeTags does here.
        tags = ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [template["LaunchTemplateId"]]}]
        )["Tags"]
        found.append(Resource("ec2:launch-template", template["LaunchTemplateId"], _ec2_tags(tags)))
    for environment in _pages(batch, "describe_compute_environments", "computeEnvironments"):
        if environment.get("status") not in ("DELETED", "DELETING"):
            found.append(
                Resource(
                    "batch:compute-environment",
                    environment["computeEnvironmentName"],
                    dict(environment.get("tags") or {}),
                )
            )
    for queue in _pages(batch, "describe_job_queues", "jobQueues"):
        if queue.get("status") not in ("DELETED", "DELETING"):
            found.append(
                Resource("batch:job-queue", queue["jobQueueName"], dict(queue.get("tags") or {}))
            )
    for definition in _pages(batch, "describe_job_definitions", "jobDefinitions", status="ACTIVE"):
        found.append(
            Resource(
                "batch:job-definition",
                f"{definition['jobDefinitionName']}:{definition['revision']}",
                dict(definition.get("tags") or {}),
            )
        )
    found.extend(_fsx_resources(clients("fsx")))
    return found


TASK_RUNNING = ("PENDING", "EXECUTING", "CANCELING")


def _fsx_resources(fsx: Any) -> list[Resource]:
    found: list[Resource] = []
    file_systems: set[str] = set()
    for file_system in _pages(fsx, "describe_file_systems", "FileSystems"):
        if file_system.get("Lifecycle") not in ("DELETING", "DELETED"):
            file_systems.add(file_system["FileSystemId"])
            found.append(
                Resource(
                    "fsx:file-system",
                    file_system["FileSystemId"],
                    _ec2_tags(file_system.get("Tags")),
                    None,
                    file_system,
                )
            )
    for association in _pages(fsx, "describe_data_repository_associations", "Associations"):
        if (
            association.get("FileSystemId") in file_systems
            and association.get("Lifecycle") != "DELETING"
        ):
            found.append(
                Resource(
                    "fsx:data-repository-association",
                    association["AssociationId"],
                    _ec2_tags(association.get("Tags")),
                    f"fsx:file-system:{association['FileSystemId']}",
                )
            )
    for task in _pages(fsx, "describe_data_repository_tasks", "DataRepositoryTasks"):
        if task.get("FileSystemId") in file_systems and task.get("Lifecycle") in TASK_RUNNING:
            found.append(
                Resource(
                    "fsx:data-repository-task",
                    task["TaskId"],
                    _ec2_tags(task.get("Tags")),
                    f"fsx:file-system:{task['FileSystemId']}",
                )
            )
    return found


def left_behind(
    resources: list[Resource], execution_arn: str, created: dict[str, set[str]]
) -> tuple[list[str], list[str]]:
    """Return ``(leaked, retained)`` entries ("kind:id", sorted) of one execution."""
    leaked: list[str] = []
    retained: list[str] = []
    by_entry = {resource.entry: resource for resource in resources}
    # The product tags an ARN FSx or Batch would refuse in an encoded form.
    execution_tags = {execution_arn, identity_tag_value(execution_arn)}

    def mine(resource: Resource) -> bool:
        parent = by_entry.get(resource.part_of or "")
        return (
            resource.tags.get(TAG_EXECUTION) in execution_tags
            or resource.resource_id in created.get(resource.kind, set())
            or (parent is not None and mine(parent))
        )

    def kept(resource: Resource) -> bool:
        parent = by_entry.get(resource.part_of or "")
        return TAG_RETAINED in resource.tags or (parent is not None and kept(parent))

    for resource in resources:
        if mine(resource):
            (retained if kept(resource) else leaked).append(resource.entry)
    return sorted(leaked), sorted(retained)
