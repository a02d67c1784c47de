"""The local AWS's FSx for Lustre (tools.localaws.patches.fsx): lifecycles, validation and refusals
as FSx documents them, through boto3 as the handlers call it."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.localaws.inventory import existing_resources, left_behind

REPO = Path(__file__).resolve().parents[2]
BUCKET = "rehearsal-data"
REPORT = {
    "Enabled": True,
    "Path": f"s3://{BUCKET}",
    "Format": "REPORT_CSV_20191124",
    "Scope": "FAILED_FILES_ONLY",
}
EXECUTION_PREFIX = "arn:aws:states:us-east-1:123456789012:execution:machine:"


@dataclass
class Fsx:
    aws: LocalAws
    sim: Simulation
    client: Any
    subnet: str
    group: str
    token: str
    """Unique to the test: the local AWS is shared by the module's tests."""

    @property
    def execution(self) -> str:
        return f"{EXECUTION_PREFIX}{self.token}"

    @property
    def run_tags(self) -> list[dict[str, str]]:
        return [{"Key": "batch-scratch:execution-arn", "Value": self.execution}]

    def create(self, **overrides: Any) -> dict[str, Any]:
        if "ClientRequestToken" in overrides:
            overrides["ClientRequestToken"] = f"{self.token}-{overrides['ClientRequestToken']}"
        request: dict[str, Any] = {
            "ClientRequestToken": self.token,
            "FileSystemType": "LUSTRE",
            "StorageCapacity": 1200,
            "StorageType": "SSD",
            "SubnetIds": [self.subnet],
            "SecurityGroupIds": [self.group],
            "FileSystemTypeVersion": "2.15",
            "Tags": self.run_tags,
            "LustreConfiguration": {"DeploymentType": "SCRATCH_2", "DataCompressionType": "LZ4"},
            **overrides,
        }
        return dict(self.client.create_file_system(**request)["FileSystem"])

    def describe(self, file_system_id: str) -> dict[str, Any]:
        (found,) = self.client.describe_file_systems(FileSystemIds=[file_system_id])["FileSystems"]
        return dict(found)

    def available(self, **overrides: Any) -> str:
        file_system_id = str(self.create(**overrides)["FileSystemId"])
        while self.describe(file_system_id)["Lifecycle"] == "CREATING":
            pass
        return file_system_id

    def associate(self, file_system_id: str, **overrides: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "FileSystemId": file_system_id,
            "FileSystemPath": "/scratch",
            "DataRepositoryPath": f"s3://{BUCKET}/",
            "BatchImportMetaDataOnCreate": True,
            "ImportedFileChunkSize": 1024,
            "S3": {"AutoImportPolicy": {"Events": ["NEW", "CHANGED", "DELETED"]}},
            "ClientRequestToken": f"{file_system_id}-dra",
            "Tags": self.run_tags,
            **overrides,
        }
        return dict(self.client.create_data_repository_association(**request)["Association"])

    def associations(self, file_system_id: str) -> list[dict[str, Any]]:
        return list(
            self.client.describe_data_repository_associations(
                Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
            )["Associations"]
        )

    def linked(self, **overrides: Any) -> str:
        file_system_id = self.available()
        self.associate(file_system_id, **overrides)
        while self.associations(file_system_id)[0]["Lifecycle"] != "AVAILABLE":
            pass
        return file_system_id

    def export(self, file_system_id: str, **overrides: Any) -> dict[str, Any]:
        if "ClientRequestToken" in overrides:
            overrides["ClientRequestToken"] = f"{self.token}-{overrides['ClientRequestToken']}"
        request: dict[str, Any] = {
            "Type": "EXPORT_TO_REPOSITORY",
            "FileSystemId": file_system_id,
            "Report": REPORT,
            "Tags": self.run_tags,
            **overrides,
        }
        return dict(self.client.create_data_repository_task(**request)["DataRepositoryTask"])

    def task(self, task_id: str) -> dict[str, Any]:
        (found,) = self.client.describe_data_repository_tasks(TaskIds=[task_id])[
            "DataRepositoryTasks"
        ]
        return dict(found)


def behaviour(**aws: object) -> Aws:
    """The simulated AWS of a scenario's ``aws:`` key."""
    return Aws.model_validate(aws)


@pytest.fixture(scope="module")
def local() -> Iterator[tuple[LocalAws, str, str]]:
    with LocalAws(REPO, Simulation()) as aws:
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="lustre", Description="x", VpcId=vpc)["GroupId"]
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield aws, subnet, group


@pytest.fixture
def fsx(local: tuple[LocalAws, str, str], request: pytest.FixtureRequest) -> Fsx:
    aws, subnet, group = local
    sim = aws.sim
    sim.behaviour, sim.throttled = Aws(), {}
    sim.created.clear()
    # Part of client request tokens (at most 63 characters of [A-za-z0-9_.-], FSx's model)
    # and of a tag value: the test id without its brackets, short enough for a suffix.
    token = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[-48:]
    return Fsx(aws, sim, aws.client("fsx"), subnet, group, token)


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


# --------------------------------------------------------------------------- file systems


def test_file_system_is_creating_for_the_scripted_polls_then_available(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"readyAfterPolls": 2})
    created = fsx.create()
    assert created["Lifecycle"] == "CREATING"
    lifecycles = [fsx.describe(created["FileSystemId"])["Lifecycle"] for _ in range(3)]
    assert lifecycles == ["CREATING", "CREATING", "AVAILABLE"]
    described = fsx.describe(created["FileSystemId"])
    assert described["DNSName"] == f"{created['FileSystemId']}.fsx.us-east-1.amazonaws.com"
    assert len(described["LustreConfiguration"]["MountName"]) == 8
    assert described["LustreConfiguration"]["DeploymentType"] == "SCRATCH_2"
    assert described["FileSystemTypeVersion"] == "2.15"
    assert described["Tags"] == fsx.run_tags


def test_file_system_that_fails_says_why(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"createFails": True})
    created = fsx.create()
    described = fsx.describe(created["FileSystemId"])
    assert described["Lifecycle"] == "FAILED"
    assert "capacity" in described["FailureDetails"]["Message"]


def test_file_system_is_creating_for_the_scripted_seconds(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"readySeconds": 900})
    file_system_id = fsx.create()["FileSystemId"]
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    fsx.sim.clock.advance(899)
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    fsx.sim.clock.advance(1)
    assert fsx.describe(file_system_id)["Lifecycle"] == "AVAILABLE"


def test_file_system_polls_and_seconds_must_both_have_passed(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"readyAfterPolls": 1, "readySeconds": 60})
    file_system_id = fsx.create()["FileSystemId"]
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    fsx.sim.clock.sleep_until_change(1)  # the readiness is a milestone of the clock
    assert fsx.describe(file_system_id)["Lifecycle"] == "AVAILABLE"


def test_file_system_that_fails_to_create_fails_once_its_seconds_have_passed(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"readySeconds": 300, "createFails": True})
    file_system_id = fsx.create()["FileSystemId"]
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    fsx.sim.clock.advance(300)
    described = fsx.describe(file_system_id)
    assert described["Lifecycle"] == "FAILED"
    assert "capacity" in described["FailureDetails"]["Message"]


@pytest.mark.parametrize(
    ("late", "says"), [("FAILED", "unrecoverable"), ("MISCONFIGURED", "network interface eni-")]
)
def test_ready_file_system_fails_late_and_can_still_be_deleted(
    fsx: Fsx, late: str, says: str
) -> None:
    fsx.sim.behaviour = behaviour(
        storage={"readySeconds": 60, "failsAfterSeconds": 1800, "lateStatus": late}
    )
    file_system_id = fsx.create()["FileSystemId"]
    fsx.sim.clock.advance(60)
    assert fsx.describe(file_system_id)["Lifecycle"] == "AVAILABLE"
    fsx.sim.clock.advance(1799)
    assert "FailureDetails" not in fsx.describe(file_system_id)
    fsx.sim.clock.advance(1)
    described = fsx.describe(file_system_id)
    assert described["Lifecycle"] == late
    assert says in described["FailureDetails"]["Message"]
    with pytest.raises(ClientError) as error:
        fsx.associate(file_system_id)
    assert error_code(error) == "BadRequest"
    assert late in str(error.value)
    assert fsx.client.delete_file_system(FileSystemId=file_system_id)["Lifecycle"] == "DELETING"


def test_late_failure_defaults_to_failed(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"failsAfterSeconds": 0})
    file_system_id = fsx.create()["FileSystemId"]
    assert fsx.describe(file_system_id)["Lifecycle"] == "FAILED"


def test_deleted_file_system_is_deleting_for_the_scripted_seconds(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"deleteSeconds": 600})
    file_system_id = fsx.available()
    fsx.client.delete_file_system(FileSystemId=file_system_id)
    for _ in range(3):
        assert fsx.describe(file_system_id)["Lifecycle"] == "DELETING"
    fsx.sim.clock.advance(599)
    assert fsx.describe(file_system_id)["Lifecycle"] == "DELETING"
    fsx.sim.clock.advance(1)
    with pytest.raises(ClientError) as error:
        fsx.describe(file_system_id)
    assert error_code(error) == "FileSystemNotFound"


def test_file_system_deleted_in_no_time_is_gone_at_the_next_describe(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"deleteSeconds": 0})
    file_system_id = fsx.available()
    assert fsx.client.delete_file_system(FileSystemId=file_system_id)["Lifecycle"] == "DELETING"
    with pytest.raises(ClientError) as error:
        fsx.describe(file_system_id)
    assert error_code(error) == "FileSystemNotFound"


def test_scratch_1_mount_name_is_fsx(fsx: Fsx) -> None:
    created = fsx.create(
        StorageCapacity=3600,
        LustreConfiguration={"DeploymentType": "SCRATCH_1"},
        FileSystemTypeVersion="2.10",
    )
    assert created["LustreConfiguration"]["MountName"] == "fsx"


def test_same_token_is_the_same_file_system(fsx: Fsx) -> None:
    before = len(fsx.client.describe_file_systems()["FileSystems"])
    first = fsx.create()
    assert fsx.create()["FileSystemId"] == first["FileSystemId"]
    assert len(fsx.client.describe_file_systems()["FileSystems"]) == before + 1
    with pytest.raises(ClientError) as error:
        fsx.create(StorageCapacity=2400)
    assert error_code(error) == "IncompatibleParameterError"


@pytest.mark.parametrize(
    ("deployment", "capacity", "valid"),
    [
        ("SCRATCH_2", 1200, True),
        ("SCRATCH_2", 4800, True),
        ("SCRATCH_2", 1000, False),
        ("SCRATCH_2", 3600, False),
        ("SCRATCH_1", 3600, True),
        ("SCRATCH_1", 4800, False),
    ],
)
def test_storage_capacity_follows_the_deployment_type(
    fsx: Fsx, deployment: str, capacity: int, valid: bool
) -> None:
    request = {
        "ClientRequestToken": f"{deployment}-{capacity}",
        "StorageCapacity": capacity,
        "LustreConfiguration": {"DeploymentType": deployment},
    }
    if valid:
        assert fsx.create(**request)["StorageCapacity"] == capacity
    else:
        with pytest.raises(ClientError) as error:
            fsx.create(**request)
        assert error_code(error) == "BadRequest"
        assert f"{capacity} GiB" in str(error.value)


def test_network_settings_must_exist(fsx: Fsx) -> None:
    with pytest.raises(ClientError) as error:
        fsx.create(SubnetIds=["subnet-00000000000000000"])
    assert error_code(error) == "InvalidNetworkSettings"
    with pytest.raises(ClientError) as error:
        fsx.create(ClientRequestToken="two", SubnetIds=[fsx.subnet, fsx.subnet])
    assert error_code(error) == "BadRequest"


def test_persistent_file_systems_need_a_throughput(fsx: Fsx) -> None:
    with pytest.raises(ClientError) as error:
        fsx.create(LustreConfiguration={"DeploymentType": "PERSISTENT_2"})
    assert error_code(error) == "InvalidPerUnitStorageThroughput"
    created = fsx.create(
        ClientRequestToken="persistent",
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125},
    )
    assert created["LustreConfiguration"]["PerUnitStorageThroughput"] == 125


def test_unknown_file_system_is_not_found(fsx: Fsx) -> None:
    with pytest.raises(ClientError) as error:
        fsx.describe("fs-00000000000000000")
    assert error_code(error) == "FileSystemNotFound"


def test_deleted_file_system_is_deleting_then_gone_with_its_parts(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    while fsx.task(task["TaskId"])["Lifecycle"] != "SUCCEEDED":
        pass
    assert fsx.client.delete_file_system(FileSystemId=file_system_id)["Lifecycle"] == "DELETING"
    assert fsx.describe(file_system_id)["Lifecycle"] == "DELETING"
    with pytest.raises(ClientError) as error:
        fsx.describe(file_system_id)
    assert error_code(error) == "FileSystemNotFound"
    assert fsx.associations(file_system_id) == []
    assert (
        fsx.client.describe_data_repository_tasks(
            Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
        )["DataRepositoryTasks"]
        == []
    )
    with pytest.raises(ClientError) as error:
        fsx.task(task["TaskId"])
    assert error_code(error) == "DataRepositoryTaskNotFound"


# --------------------------------------------------------------------------- DRAs


def test_association_is_creating_then_available(fsx: Fsx) -> None:
    file_system_id = fsx.available()
    association = fsx.associate(file_system_id)
    assert association["Lifecycle"] == "CREATING"
    assert association["DataRepositoryPath"] == f"s3://{BUCKET}/"
    assert [a["Lifecycle"] for a in fsx.associations(file_system_id)] == ["CREATING"]
    (available,) = fsx.associations(file_system_id)
    assert available["Lifecycle"] == "AVAILABLE"
    assert available["S3"]["AutoImportPolicy"]["Events"] == ["NEW", "CHANGED", "DELETED"]
    assert fsx.associate(file_system_id)["AssociationId"] == association["AssociationId"]
    assert fsx.associations("fs-00000000000000000") == []


def test_association_needs_an_available_file_system(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(storage={"readyAfterPolls": 3})
    file_system_id = fsx.create()["FileSystemId"]
    with pytest.raises(ClientError) as error:
        fsx.associate(file_system_id)
    assert error_code(error) == "BadRequest"
    assert "CREATING" in str(error.value)


def test_association_is_unsupported_on_scratch_1(fsx: Fsx) -> None:
    file_system_id = fsx.available(
        StorageCapacity=1200,
        LustreConfiguration={"DeploymentType": "SCRATCH_1"},
        FileSystemTypeVersion="2.10",
    )
    with pytest.raises(ClientError) as error:
        fsx.associate(file_system_id)
    assert error_code(error) == "UnsupportedOperation"


def test_association_bucket_must_exist_and_paths_must_not_overlap(fsx: Fsx) -> None:
    file_system_id = fsx.available()
    with pytest.raises(ClientError) as error:
        fsx.associate(file_system_id, DataRepositoryPath="s3://no-such-bucket/")
    assert error_code(error) == "BadRequest"
    fsx.associate(file_system_id)
    with pytest.raises(ClientError) as error:
        fsx.associate(
            file_system_id,
            ClientRequestToken="second",
            FileSystemPath="/other",
            DataRepositoryPath=f"s3://{BUCKET}/results/",
        )
    assert error_code(error) == "BadRequest"
    assert "overlaps" in str(error.value)


def test_unknown_association_is_not_found(fsx: Fsx) -> None:
    with pytest.raises(ClientError) as error:
        fsx.client.describe_data_repository_associations(AssociationIds=["dra-0123456789abcdef0"])
    assert error_code(error) == "DataRepositoryAssociationNotFound"


def test_auto_export_blocks_export_tasks_until_disabled(fsx: Fsx) -> None:
    events = ["NEW", "CHANGED", "DELETED"]
    file_system_id = fsx.linked(
        S3={"AutoImportPolicy": {"Events": events}, "AutoExportPolicy": {"Events": events}}
    )
    with pytest.raises(ClientError) as error:
        fsx.export(file_system_id)
    assert error_code(error) == "BadRequest"
    assert "automatic export" in str(error.value)
    (association,) = fsx.associations(file_system_id)
    updated = fsx.client.update_data_repository_association(
        AssociationId=association["AssociationId"],
        S3={"AutoImportPolicy": {"Events": events}, "AutoExportPolicy": {"Events": []}},
    )["Association"]
    assert updated["Lifecycle"] == "UPDATING"
    assert updated["S3"]["AutoExportPolicy"] == {"Events": []}
    assert fsx.associations(file_system_id)[0]["Lifecycle"] == "UPDATING"
    assert fsx.associations(file_system_id)[0]["Lifecycle"] == "AVAILABLE"
    assert fsx.export(file_system_id)["Lifecycle"] == "PENDING"


def test_association_update_stuck_stays_updating(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(association={"updateStuck": True})
    file_system_id = fsx.linked()
    (association,) = fsx.associations(file_system_id)
    fsx.client.update_data_repository_association(
        AssociationId=association["AssociationId"], ImportedFileChunkSize=2048
    )
    fsx.sim.clock.advance(86400)
    lifecycles = {a["Lifecycle"] for _ in range(5) for a in fsx.associations(file_system_id)}
    assert lifecycles == {"UPDATING"}
    with pytest.raises(ClientError) as error:
        fsx.export(file_system_id)
    assert error_code(error) == "BadRequest"
    assert "not linked" in str(error.value)


@pytest.mark.parametrize(
    ("late", "says"), [("FAILED", "cannot be recovered"), ("MISCONFIGURED", "do not work")]
)
def test_association_fails_late_after_it_became_available(fsx: Fsx, late: str, says: str) -> None:
    fsx.sim.behaviour = behaviour(association={"failsAfterSeconds": 600, "lateStatus": late})
    file_system_id = fsx.available()
    fsx.associate(file_system_id)
    fsx.sim.clock.advance(30)
    assert fsx.associations(file_system_id)[0]["Lifecycle"] == "CREATING"
    (available,) = fsx.associations(file_system_id)  # AVAILABLE from this describe on
    assert available["Lifecycle"] == "AVAILABLE"
    fsx.sim.clock.advance(599)
    assert "FailureDetails" not in fsx.associations(file_system_id)[0]
    fsx.sim.clock.advance(1)
    (failed,) = fsx.associations(file_system_id)
    assert failed["Lifecycle"] == late
    assert says in failed["FailureDetails"]["Message"]
    with pytest.raises(ClientError) as error:
        fsx.client.update_data_repository_association(
            AssociationId=failed["AssociationId"], ImportedFileChunkSize=2048
        )
    assert error_code(error) == "BadRequest"
    deleted = fsx.client.delete_data_repository_association(
        AssociationId=failed["AssociationId"], DeleteDataInFileSystem=False
    )
    assert deleted["Lifecycle"] == "DELETING"


def test_association_late_failure_counts_from_when_it_became_available(fsx: Fsx) -> None:
    # Nobody describes it while it becomes AVAILABLE (two STEP_SECONDS of creating steps).
    fsx.sim.behaviour = behaviour(association={"failsAfterSeconds": 300})
    file_system_id = fsx.available()
    fsx.associate(file_system_id)
    fsx.sim.clock.advance(120 + 299)
    assert fsx.associations(file_system_id)[0]["Lifecycle"] == "AVAILABLE"
    fsx.sim.clock.advance(1)
    assert fsx.associations(file_system_id)[0]["Lifecycle"] == "FAILED"


def test_deleted_association_is_deleting_then_gone(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    (association,) = fsx.associations(file_system_id)
    deleted = fsx.client.delete_data_repository_association(
        AssociationId=association["AssociationId"], DeleteDataInFileSystem=False
    )
    assert deleted["Lifecycle"] == "DELETING"
    assert [a["Lifecycle"] for a in fsx.associations(file_system_id)] == ["DELETING"]
    fsx.associations(file_system_id)
    assert fsx.associations(file_system_id) == []


# --------------------------------------------------------------------------- tasks


def test_report_path_must_lie_inside_the_association(fsx: Fsx) -> None:
    file_system_id = fsx.linked(DataRepositoryPath=f"s3://{BUCKET}/run/")
    for outside in (f"s3://{BUCKET}", f"s3://{BUCKET}/runs", "s3://elsewhere/run"):
        with pytest.raises(ClientError) as error:
            fsx.export(file_system_id, Report={**REPORT, "Path": outside})
        assert error_code(error) == "BadRequest", outside
        assert "Path" in str(error.value)
    for inside in (f"s3://{BUCKET}/run", f"s3://{BUCKET}/run/reports"):
        task = fsx.export(file_system_id, Report={**REPORT, "Path": inside})
        assert task["Report"]["Path"] == inside
        fsx.client.cancel_data_repository_task(TaskId=task["TaskId"])
        fsx.task(task["TaskId"])


def test_report_needs_format_and_scope(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    with pytest.raises(ClientError) as error:
        fsx.export(file_system_id, Report={"Enabled": True, "Path": REPORT["Path"]})
    assert error_code(error) == "BadRequest"
    assert fsx.export(file_system_id, Report={"Enabled": False})["Lifecycle"] == "PENDING"


def test_task_needs_a_linked_file_system(fsx: Fsx) -> None:
    file_system_id = fsx.available()
    with pytest.raises(ClientError) as error:
        fsx.export(file_system_id)
    assert error_code(error) == "BadRequest"
    assert "not linked" in str(error.value)


@pytest.mark.parametrize(
    ("lifecycle", "failed_files"), [("SUCCEEDED", 0), ("SUCCEEDED", 3), ("FAILED", 3)]
)
def test_export_runs_then_ends_as_scripted(fsx: Fsx, lifecycle: str, failed_files: int) -> None:
    fsx.sim.behaviour = behaviour(export={"taskLifecycle": lifecycle, "failedFiles": failed_files})
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id, ClientRequestToken="export")
    assert task["Lifecycle"] == "PENDING"
    assert fsx.export(file_system_id, ClientRequestToken="export")["TaskId"] == task["TaskId"]
    executing = fsx.task(task["TaskId"])
    assert executing["Lifecycle"] == "EXECUTING"
    assert "StartTime" in executing
    ended = fsx.task(task["TaskId"])
    assert ended["Lifecycle"] == lifecycle
    status = ended["Status"]
    assert status["FailedCount"] == failed_files
    assert status["SucceededCount"] + status["FailedCount"] == status["TotalCount"] > 0
    assert "EndTime" in ended
    assert ("FailureDetails" in ended) is (lifecycle == "FAILED")
    by_file_system = fsx.client.describe_data_repository_tasks(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["DataRepositoryTasks"]
    assert [t["TaskId"] for t in by_file_system] == [task["TaskId"]]


def test_task_moves_on_with_simulated_time(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    fsx.sim.clock.sleep(300)
    assert fsx.task(task["TaskId"])["Lifecycle"] == "SUCCEEDED"


def test_export_executes_for_the_scripted_seconds_on_the_virtual_clock(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(export={"seconds": 1200, "taskLifecycle": "FAILED"})
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    assert task["Lifecycle"] == "PENDING"
    started = fsx.sim.clock.now()
    assert fsx.task(task["TaskId"])["Lifecycle"] == "EXECUTING"
    for _ in range(5):
        assert fsx.task(task["TaskId"])["Lifecycle"] == "EXECUTING"
    fsx.sim.clock.sleep_until_change(30)  # the task's end is a milestone of the clock
    ended = fsx.task(task["TaskId"])
    assert ended["Lifecycle"] == "FAILED"
    assert ended["StartTime"].timestamp() == pytest.approx(started, abs=1)
    assert (ended["EndTime"] - ended["StartTime"]).total_seconds() == pytest.approx(1200)
    assert fsx.sim.clock.now() == pytest.approx(started + 1200, abs=1)


def test_export_start_and_end_are_when_they_happened(fsx: Fsx) -> None:
    # Without export.seconds each STEP_SECONDS moves an undescribed task one step on.
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    created = task["CreationTime"].timestamp()
    fsx.sim.clock.advance(3600)
    ended = fsx.task(task["TaskId"])
    assert ended["Lifecycle"] == "SUCCEEDED"
    assert ended["StartTime"].timestamp() == pytest.approx(created + 60, abs=1)
    assert ended["EndTime"].timestamp() == pytest.approx(created + 120, abs=1)


def test_one_task_at_a_time(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    fsx.export(file_system_id)
    with pytest.raises(ClientError) as error:
        fsx.export(file_system_id)
    assert error_code(error) == "DataRepositoryTaskExecuting"


def test_file_system_cannot_be_deleted_while_a_task_runs(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    for expected in ("PENDING", "EXECUTING"):
        with pytest.raises(ClientError) as error:
            fsx.client.delete_file_system(FileSystemId=file_system_id)
        assert error_code(error) == "BadRequest"
        assert expected in str(error.value)
        assert fsx.describe(file_system_id)["Lifecycle"] == "AVAILABLE"
        fsx.task(task["TaskId"])
    assert fsx.client.delete_file_system(FileSystemId=file_system_id)["Lifecycle"] == "DELETING"


def test_canceled_task_is_canceling_then_canceled(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    task = fsx.export(file_system_id)
    canceled = fsx.client.cancel_data_repository_task(TaskId=task["TaskId"])
    assert canceled["Lifecycle"] == "CANCELING"
    assert fsx.task(task["TaskId"])["Lifecycle"] == "CANCELED"
    with pytest.raises(ClientError) as error:
        fsx.client.cancel_data_repository_task(TaskId=task["TaskId"])
    assert error_code(error) == "DataRepositoryTaskEnded"


def test_unknown_task_is_not_found(fsx: Fsx) -> None:
    with pytest.raises(ClientError) as error:
        fsx.task("task-00000000000000000")
    assert error_code(error) == "DataRepositoryTaskNotFound"


# --------------------------------------------------------------------------- tags, inventory


def test_tags_of_every_fsx_resource(fsx: Fsx) -> None:
    file_system_id = fsx.linked()
    arn = fsx.describe(file_system_id)["ResourceARN"]
    reason = {"Key": "batch-scratch:retained-reason", "Value": "export FAILED"}
    fsx.client.tag_resource(ResourceARN=arn, Tags=[reason])
    assert reason in fsx.client.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert reason in fsx.describe(file_system_id)["Tags"]
    fsx.client.untag_resource(ResourceARN=arn, TagKeys=[reason["Key"]])
    assert reason not in fsx.describe(file_system_id)["Tags"]
    association_arn = fsx.associations(file_system_id)[0]["ResourceARN"]
    assert fsx.client.list_tags_for_resource(ResourceARN=association_arn)["Tags"]
    with pytest.raises(ClientError) as error:
        fsx.client.tag_resource(ResourceARN=f"{arn}0", Tags=[reason])
    assert error_code(error) == "ResourceNotFound"
    tagged = fsx.aws.client("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "batch-scratch:execution-arn", "Values": [fsx.execution]}]
    )["ResourceTagMappingList"]
    assert {arn, association_arn} <= {item["ResourceARN"] for item in tagged}


def test_inventory_counts_parts_with_their_file_system(fsx: Fsx) -> None:
    fsx.sim.behaviour = behaviour(export={"taskLifecycle": "FAILED"})
    kept = fsx.linked()
    task = fsx.export(kept)
    running = fsx.aws.left_behind(fsx.execution)[0]
    assert f"fsx:data-repository-task:{task['TaskId']}" in running
    while fsx.task(task["TaskId"])["Lifecycle"] != "FAILED":
        pass
    fsx.client.tag_resource(
        ResourceARN=fsx.describe(kept)["ResourceARN"],
        Tags=[{"Key": "batch-scratch:retained-reason", "Value": "export FAILED"}],
    )
    forgotten = fsx.available(ClientRequestToken="other")
    fsx.associate(forgotten)
    leaked, retained = left_behind(
        existing_resources(fsx.aws.client), fsx.execution, fsx.sim.created_by(fsx.execution)
    )
    kinds = lambda entries: sorted(":".join(e.split(":")[:2]) for e in entries)  # noqa: E731
    assert kinds(retained) == ["fsx:data-repository-association", "fsx:file-system"]
    assert f"fsx:file-system:{kept}" in retained
    assert kinds(leaked) == ["fsx:data-repository-association", "fsx:file-system"]
    assert f"fsx:file-system:{forgotten}" in leaked


def test_throttled_describe_changes_nothing(fsx: Fsx) -> None:
    # The rehearsal's client makes one attempt per call: two throttled calls.
    fsx.sim.behaviour = behaviour(
        storage={"readyAfterPolls": 1}, throttle={"fsx:DescribeFileSystems": 2}
    )
    file_system_id = fsx.create()["FileSystemId"]
    for _ in range(2):
        with pytest.raises(ClientError) as error:
            fsx.describe(file_system_id)
        assert error_code(error) == "ThrottlingException"
    assert fsx.describe(file_system_id)["Lifecycle"] == "CREATING"
    assert fsx.describe(file_system_id)["Lifecycle"] == "AVAILABLE"
