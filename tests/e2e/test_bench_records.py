"""What the local AWS records for the bench's timeline (``Simulation.lifecycles``): when storage,
associations and export tasks reached a state on the virtual clock, not when a describe call
saw it; and the association's scripted durations (``aws.association.readySeconds``,
``updateSeconds``)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.scenario import ScenarioError, parse

REPO = Path(__file__).resolve().parents[2]
BUCKET = "bench-records"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:machine:bench-records"
TAGS = [{"Key": "batch-scratch:execution-arn", "Value": EXECUTION}]
REPORT = {
    "Enabled": True,
    "Path": f"s3://{BUCKET}/reports",
    "Format": "REPORT_CSV_20191124",
    "Scope": "FAILED_FILES_ONLY",
}


@dataclass
class Local:
    aws: LocalAws
    sim: Simulation
    subnet: str
    group: str
    zone: str

    def changes(self, resource_id: str) -> list[tuple[str, float]]:
        """(state, seconds after ``start``) of every lifecycle record of ``resource_id``."""
        return [(c.state, c.at) for c in self.sim.lifecycles if c.resource_id == resource_id]


@pytest.fixture
def local() -> Iterator[Local]:
    with LocalAws(REPO, Simulation()) as aws:
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]
        group = ec2.create_security_group(GroupName="g", Description="x", VpcId=vpc)["GroupId"]
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield Local(aws, aws.sim, subnet["SubnetId"], group, subnet["AvailabilityZone"])


def _file_system(local: Local, token: str) -> str:
    answer = local.aws.client("fsx").create_file_system(
        ClientRequestToken=token,
        FileSystemType="LUSTRE",
        StorageCapacity=1200,
        SubnetIds=[local.subnet],
        SecurityGroupIds=[local.group],
        FileSystemTypeVersion="2.15",
        LustreConfiguration={"DeploymentType": "SCRATCH_2"},
        Tags=TAGS,
    )
    return str(answer["FileSystem"]["FileSystemId"])


def _lifecycle(local: Local, file_system_id: str) -> str:
    fsx = local.aws.client("fsx")
    (found,) = fsx.describe_file_systems(FileSystemIds=[file_system_id])["FileSystems"]
    return str(found["Lifecycle"])


def _association(local: Local, association_id: str) -> dict[str, Any]:
    fsx = local.aws.client("fsx")
    (found,) = fsx.describe_data_repository_associations(AssociationIds=[association_id])[
        "Associations"
    ]
    return dict(found)


def _linked(local: Local, token: str) -> tuple[str, str]:
    file_system_id = _file_system(local, token)
    assert _lifecycle(local, file_system_id) == "AVAILABLE"
    association = local.aws.client("fsx").create_data_repository_association(
        FileSystemId=file_system_id,
        FileSystemPath="/scratch",
        DataRepositoryPath=f"s3://{BUCKET}/",
        S3={"AutoExportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}},
        Tags=TAGS,
    )["Association"]
    return file_system_id, str(association["AssociationId"])


def test_a_file_system_is_recorded_available_when_it_became_so(local: Local) -> None:
    local.sim.behaviour = Aws.model_validate({"storage": {"readySeconds": 300}})
    file_system_id = _file_system(local, "ready-late")
    created = local.sim.clock.now()
    local.sim.clock.advance(400)
    assert _lifecycle(local, file_system_id) == "AVAILABLE"
    assert _lifecycle(local, file_system_id) == "AVAILABLE"
    ((state, at),) = local.changes(file_system_id)
    assert state == "AVAILABLE"
    assert at == pytest.approx(created + 300, abs=0.5)


def test_a_volume_is_recorded_available_when_it_became_so(local: Local) -> None:
    local.sim.behaviour = Aws.model_validate({"storage": {"readySeconds": 120}})
    ec2 = local.aws.client("ec2")
    volume = ec2.create_volume(AvailabilityZone=local.zone, Size=10, VolumeType="gp3")
    created = local.sim.clock.now()
    local.sim.clock.advance(500)
    ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])
    ((state, at),) = local.changes(volume["VolumeId"])
    assert state == "available"
    assert at == pytest.approx(created + 120, abs=0.5)


def test_an_association_is_creating_and_updating_for_its_scripted_seconds(local: Local) -> None:
    local.sim.behaviour = Aws.model_validate(
        {"association": {"readySeconds": 60, "updateSeconds": 45}}
    )
    _, association_id = _linked(local, "association-seconds")
    created = local.sim.clock.now()
    # Described again and again, it stays CREATING until its seconds have passed.
    for _ in range(5):
        assert _association(local, association_id)["Lifecycle"] == "CREATING"
    local.sim.clock.advance(59)
    assert _association(local, association_id)["Lifecycle"] == "CREATING"
    local.sim.clock.sleep_until_change(0.5)  # the end is a milestone of the clock
    assert _association(local, association_id)["Lifecycle"] == "AVAILABLE"
    local.aws.client("fsx").update_data_repository_association(
        AssociationId=association_id, S3={"AutoExportPolicy": {"Events": []}}
    )
    updated = local.sim.clock.now()
    for _ in range(5):
        assert _association(local, association_id)["Lifecycle"] == "UPDATING"
    local.sim.clock.advance(46)
    assert _association(local, association_id)["Lifecycle"] == "AVAILABLE"
    changes = local.changes(association_id)
    assert [state for state, _ in changes] == ["AVAILABLE", "UPDATING", "AVAILABLE"]
    assert [at for _, at in changes] == pytest.approx(
        [created + 60, updated, updated + 45], abs=0.5
    )


def test_an_export_task_is_recorded_from_its_start_to_its_end(local: Local) -> None:
    local.sim.behaviour = Aws.model_validate({"export": {"seconds": 600}})
    file_system_id = _file_system(local, "export-records")
    assert _lifecycle(local, file_system_id) == "AVAILABLE"
    fsx = local.aws.client("fsx")
    fsx.create_data_repository_association(
        FileSystemId=file_system_id,
        FileSystemPath="/scratch",
        DataRepositoryPath=f"s3://{BUCKET}/",
        Tags=TAGS,
    )
    local.sim.clock.advance(120)
    task_id = fsx.create_data_repository_task(
        Type="EXPORT_TO_REPOSITORY", FileSystemId=file_system_id, Report=REPORT, Tags=TAGS
    )["DataRepositoryTask"]["TaskId"]
    local.sim.clock.advance(2000)
    (task,) = fsx.describe_data_repository_tasks(TaskIds=[task_id])["DataRepositoryTasks"]
    assert task["Lifecycle"] == "SUCCEEDED"
    changes = local.changes(task_id)
    assert [state for state, _ in changes] == ["EXECUTING", "SUCCEEDED"]
    assert [at for _, at in changes] == pytest.approx(
        [task["StartTime"].timestamp(), task["EndTime"].timestamp()], abs=0.01
    )


def test_an_update_that_never_ends_takes_no_number_of_seconds() -> None:
    with pytest.raises(ScenarioError, match="updateStuck and updateSeconds"):
        parse(
            {
                "mode": "AutoExport",
                "aws": {"association": {"updateStuck": True, "updateSeconds": 60}},
            }
        )
