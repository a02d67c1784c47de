"""CreateFileSystem, CheckFileSystem, StartExport, CheckExport and ReleaseFileSystem.

moto has no data repository associations or tasks, so FSx is stubbed with botocore's
Stubber, which validates every request against the real FSx service model: these tests pin
the exact request shapes.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from batchscratch import aws as layer_aws
from batchscratch.errors import ExportFailed, ExportTimeout, StorageFailed, StorageTimeout
from batchscratch.run import TAG_EXECUTION, TAG_RETAINED, Run
from batchscratch.tagging import is_valid_tag_value
from functions.check_export import app as check_export
from functions.check_file_system import app as check_file_system
from functions.create_file_system import app as create_file_system
from functions.release_file_system import app as release_file_system
from functions.start_export import app as start_export
from tests.conftest import FakeLambdaContext, load_event

FS_ID = "fs-0123456789abcdef0"
FS_ARN = f"arn:aws:fsx:us-east-1:123456789012:file-system/{FS_ID}"
DRA_PATH = "s3://batch-scratch-taskexport-databucket-0123456789ab/"
TASK_ID = "task-0123456789abcdef0"


@pytest.fixture
def fsx():
    """The layer's FSx client, stubbed; every expected response must be used."""
    with Stubber(layer_aws.client("fsx")) as stub:
        yield stub
        stub.assert_no_pending_responses()


def run_of(event: dict[str, Any]) -> Run:
    return Run.model_validate(event["run"])


def file_system(lifecycle: str, tags: dict[str, str] | None = None, **extra) -> dict[str, Any]:
    run = run_of(load_event("check_file_system"))
    return {
        "FileSystemId": FS_ID,
        "FileSystemType": "LUSTRE",
        "Lifecycle": lifecycle,
        "ResourceARN": FS_ARN,
        "DNSName": f"{FS_ID}.fsx.us-east-1.amazonaws.com",
        "LustreConfiguration": {"MountName": "abcdefgh"},
        "Tags": [{"Key": k, "Value": v} for k, v in (run.tags() | (tags or {})).items()],
        **extra,
    }


def association(lifecycle: str) -> dict[str, Any]:
    return {
        "AssociationId": "dra-0123456789abcdef0",
        "FileSystemId": FS_ID,
        "Lifecycle": lifecycle,
        "FileSystemPath": "/scratch",
        "DataRepositoryPath": DRA_PATH,
    }


def task(lifecycle: str, failed: int = 0, purpose: str = "export") -> dict[str, Any]:
    return {
        "TaskId": TASK_ID,
        "Lifecycle": lifecycle,
        "Type": "EXPORT_TO_REPOSITORY",
        "CreationTime": datetime(2026, 11, 29, tzinfo=UTC),
        "FileSystemId": FS_ID,
        "Status": {"TotalCount": 10, "SucceededCount": 10 - failed, "FailedCount": failed},
        "Report": {"Enabled": True, "Path": DRA_PATH.rstrip("/")},
        "Tags": [{"Key": "batch-scratch:purpose", "Value": purpose}],
    }


BY_FILE_SYSTEM = {"Filters": [{"Name": "file-system-id", "Values": [FS_ID]}]}


def create_request(event: dict[str, Any], network, **lustre: object) -> dict[str, Any]:
    """The CreateFileSystem request for ``event``'s run in ``network``'s first subnet."""
    run = run_of(event)
    return {
        "ClientRequestToken": run.client_token("file-system"),
        "FileSystemType": "LUSTRE",
        "StorageCapacity": 2400,
        "StorageType": "SSD",
        "SubnetIds": [network.subnet_ids[0]],
        "SecurityGroupIds": [network.security_group_id],
        "FileSystemTypeVersion": "2.15",
        "LustreConfiguration": {"DeploymentType": "SCRATCH_2", "DataCompressionType": "LZ4"}
        | lustre,
        "Tags": [*run.tag_list(), {"Key": "Name", "Value": run.resource_name("fs")}],
    }


def test_create_file_system_request(network, fsx, lambda_context):
    """CreateFileSystem answers with the file system's description (FSx API Reference,
    CreateFileSystem response), DNS and mount names included while it is CREATING: the run's
    compute is prepared from them at once."""
    event = load_event("create_file_system")
    fsx.add_response(
        "create_file_system",
        {"FileSystem": file_system("CREATING")},
        create_request(event, network),
    )

    result = create_file_system.lambda_handler(event, lambda_context)

    assert result["fileSystemId"] == FS_ID
    assert result["availabilityZone"] == network.zone
    assert result["subnetIds"] == [network.subnet_ids[0], network.subnet_ids[2]]
    assert result["dnsName"] == f"{FS_ID}.fsx.us-east-1.amazonaws.com"
    assert result["mountName"] == "abcdefgh"


def test_persistent_file_system_gets_a_per_unit_throughput(network, fsx, lambda_context):
    event = load_event("create_file_system")
    event["config"] |= {"lustreDeploymentType": "PERSISTENT_2"}
    request = create_request(event, network, PerUnitStorageThroughput=125)
    request["LustreConfiguration"]["DeploymentType"] = "PERSISTENT_2"
    fsx.add_response("create_file_system", {"FileSystem": file_system("CREATING")}, request)

    create_file_system.lambda_handler(event, lambda_context)


def without_mount_names(description: dict[str, Any], *names: str) -> dict[str, Any]:
    """``description`` without ``DNSName`` and/or ``LustreConfiguration.MountName``."""
    lustre = {k: v for k, v in description["LustreConfiguration"].items() if k not in names}
    kept = {k: v for k, v in description.items() if k not in names}
    return kept | {"LustreConfiguration": lustre}


def test_create_describes_the_file_system_once_more_without_its_mount_names(
    network, fsx, lambda_context
):
    event = load_event("create_file_system")
    bare = {"FileSystemId": FS_ID, "Lifecycle": "CREATING"}
    fsx.add_response("create_file_system", {"FileSystem": bare}, create_request(event, network))
    fsx.add_response(
        "describe_file_systems",
        {"FileSystems": [file_system("CREATING")]},
        {"FileSystemIds": [FS_ID]},
    )

    result = create_file_system.lambda_handler(event, lambda_context)

    assert (result["dnsName"], result["mountName"]) == (
        f"{FS_ID}.fsx.us-east-1.amazonaws.com",
        "abcdefgh",
    )


@pytest.mark.parametrize("missing", [("DNSName",), ("MountName",), ("DNSName", "MountName")])
def test_create_fails_when_the_file_system_has_no_mount_names(
    network, fsx, lambda_context, missing
):
    """Instances could not mount it: the run fails at once (and releases the file system on
    its failure path) instead of booting compute that cannot start the job."""
    event = load_event("create_file_system")
    described = without_mount_names(file_system("CREATING"), *missing)
    fsx.add_response("create_file_system", {"FileSystem": described})
    fsx.add_response("describe_file_systems", {"FileSystems": [described]})

    with pytest.raises(StorageFailed, match=f"{FS_ID} was described without its DNSName"):
        create_file_system.lambda_handler(event, lambda_context)


def test_check_waits_while_the_file_system_is_creating(fsx, lambda_context):
    fsx.add_response(
        "describe_file_systems",
        {"FileSystems": [file_system("CREATING")]},
        {"FileSystemIds": [FS_ID]},
    )

    status = check_file_system.lambda_handler(load_event("check_file_system"), lambda_context)

    assert status["ready"] is False
    assert status["lifecycle"] == "CREATING"
    assert status["associationId"] is None


EVENTS = ["NEW", "CHANGED", "DELETED"]


@pytest.mark.parametrize(
    ("mode", "s3"),
    [
        ("TaskExport", {"AutoImportPolicy": {"Events": EVENTS}}),
        # AutoExport's association exports by itself too.
        (
            "AutoExport",
            {"AutoImportPolicy": {"Events": EVENTS}, "AutoExportPolicy": {"Events": EVENTS}},
        ),
    ],
)
def test_check_creates_the_association_once_available(fsx, lambda_context, mode, s3):
    event = load_event("check_file_system")
    event["run"]["mode"] = mode
    run = run_of(event)
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response("describe_data_repository_associations", {"Associations": []}, BY_FILE_SYSTEM)
    fsx.add_response(
        "create_data_repository_association",
        {"Association": association("CREATING")},
        {
            "FileSystemId": FS_ID,
            "FileSystemPath": "/scratch",
            "DataRepositoryPath": DRA_PATH,
            "BatchImportMetaDataOnCreate": True,
            "ImportedFileChunkSize": 1024,
            "S3": s3,
            "ClientRequestToken": run.client_token("association"),
            "Tags": run.tag_list(),
        },
    )

    status = check_file_system.lambda_handler(event, lambda_context)

    assert status["ready"] is False
    assert status["associationId"] == "dra-0123456789abcdef0"


INPUT_PATH = "s3://batch-scratch-taskexport-databucket-0123456789ab/inputs/"


def input_association(lifecycle: str) -> dict[str, Any]:
    return association(lifecycle) | {
        "AssociationId": "dra-0123456789abcdef1",
        "FileSystemPath": "/input",
        "DataRepositoryPath": INPUT_PATH,
    }


@pytest.mark.parametrize("mode", ["TaskExport", "AutoExport"])
def test_check_links_the_input_prefix_for_import_only(fsx, lambda_context, mode):
    event = load_event("check_file_system")
    event["run"]["mode"] = mode
    event["config"]["inputDataRepositoryPath"] = INPUT_PATH
    run = run_of(event)
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response("describe_data_repository_associations", {"Associations": []}, BY_FILE_SYSTEM)
    fsx.add_response("create_data_repository_association", {"Association": association("CREATING")})
    fsx.add_response(
        "create_data_repository_association",
        {"Association": input_association("CREATING")},
        {
            "FileSystemId": FS_ID,
            "FileSystemPath": "/input",
            "DataRepositoryPath": INPUT_PATH,
            "BatchImportMetaDataOnCreate": True,
            "ImportedFileChunkSize": 1024,
            # Import only, in every mode: FSx never exports into the shared input.
            "S3": {"AutoImportPolicy": {"Events": EVENTS}},
            "ClientRequestToken": run.client_token("input-association"),
            "Tags": run.tag_list(),
        },
    )

    status = check_file_system.lambda_handler(event, lambda_context)

    assert status["ready"] is False
    assert status["associationId"] == "dra-0123456789abcdef0"
    assert status["dataRepositoryPath"] == DRA_PATH


def test_check_is_not_ready_until_the_input_association_is_available(fsx, lambda_context):
    event = load_event("check_file_system")
    event["config"]["inputDataRepositoryPath"] = INPUT_PATH
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response(
        "describe_data_repository_associations",
        {"Associations": [association("AVAILABLE"), input_association("CREATING")]},
    )

    assert check_file_system.lambda_handler(event, lambda_context)["ready"] is False


def test_check_raises_when_the_input_association_fails(fsx, lambda_context):
    event = load_event("check_file_system")
    event["config"]["inputDataRepositoryPath"] = INPUT_PATH
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response(
        "describe_data_repository_associations",
        {"Associations": [association("AVAILABLE"), input_association("FAILED")]},
    )

    with pytest.raises(StorageFailed, match=r"dra-0123456789abcdef1 \(/input\)"):
        check_file_system.lambda_handler(event, lambda_context)


def test_check_is_ready_with_mount_details_once_the_association_is_available(fsx, lambda_context):
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response(
        "describe_data_repository_associations", {"Associations": [association("AVAILABLE")]}
    )

    status = check_file_system.lambda_handler(load_event("check_file_system"), lambda_context)

    assert status["ready"] is True
    assert status["dnsName"] == f"{FS_ID}.fsx.us-east-1.amazonaws.com"
    assert status["mountName"] == "abcdefgh"
    assert status["dataRepositoryPath"] == DRA_PATH


@pytest.mark.parametrize("lifecycle", ["FAILED", "MISCONFIGURED"])
def test_check_raises_storage_failed_with_fsx_details(fsx, lambda_context, lifecycle):
    broken = file_system(lifecycle, FailureDetails={"Message": "subnet has no free addresses"})
    fsx.add_response("describe_file_systems", {"FileSystems": [broken]})

    with pytest.raises(
        StorageFailed, match=f"{FS_ID} is {lifecycle}: subnet has no free addresses"
    ):
        check_file_system.lambda_handler(load_event("check_file_system"), lambda_context)


def test_check_raises_when_the_association_is_misconfigured(fsx, lambda_context):
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response(
        "describe_data_repository_associations", {"Associations": [association("MISCONFIGURED")]}
    )

    with pytest.raises(StorageFailed, match="association dra-0123456789abcdef0"):
        check_file_system.lambda_handler(load_event("check_file_system"), lambda_context)


def test_start_export_request(fsx, lambda_context):
    event = load_event("start_export")
    run = run_of(event)
    fsx.add_response(
        "describe_data_repository_associations",
        {"Associations": [association("AVAILABLE")]},
        BY_FILE_SYSTEM,
    )
    fsx.add_response(
        "create_data_repository_task",
        {"DataRepositoryTask": task("PENDING")},
        {
            "Type": "EXPORT_TO_REPOSITORY",
            "FileSystemId": FS_ID,
            # Only the run's own association: never into a shared input prefix.
            "Paths": ["scratch"],
            "Report": {
                "Enabled": True,
                "Path": DRA_PATH.rstrip("/"),
                "Format": "REPORT_CSV_20191124",
                "Scope": "FAILED_FILES_ONLY",
            },
            "ClientRequestToken": run.client_token("export"),
            "Tags": [*run.tag_list(), {"Key": "batch-scratch:purpose", "Value": "export"}],
        },
    )

    export = start_export.lambda_handler(event, lambda_context)

    assert export["taskId"] == TASK_ID
    assert export["reportPath"] == DRA_PATH.rstrip("/")


def test_start_export_reports_into_the_export_association_not_the_input(fsx, lambda_context):
    event = load_event("start_export")
    fsx.add_response(
        "describe_data_repository_associations",
        {"Associations": [input_association("AVAILABLE"), association("AVAILABLE")]},
        BY_FILE_SYSTEM,
    )
    fsx.add_response("create_data_repository_task", {"DataRepositoryTask": task("PENDING")})

    export = start_export.lambda_handler(event, lambda_context)

    assert export["reportPath"] == DRA_PATH.rstrip("/")


def test_check_export_asks_for_its_own_task_and_is_done_on_success(fsx, lambda_context):
    fsx.add_response(
        "describe_data_repository_tasks",
        {"DataRepositoryTasks": [task("SUCCEEDED")]},
        {"TaskIds": [TASK_ID]},
    )

    status = check_export.lambda_handler(load_event("check_export"), lambda_context)

    assert status["done"] is True
    assert (status["failedCount"], status["succeededCount"]) == (0, 10)


def test_check_export_waits_while_the_task_runs(fsx, lambda_context):
    fsx.add_response("describe_data_repository_tasks", {"DataRepositoryTasks": [task("EXECUTING")]})

    status = check_export.lambda_handler(load_event("check_export"), lambda_context)

    assert status["done"] is False


@pytest.mark.parametrize(
    ("lifecycle", "failed"), [("FAILED", 0), ("CANCELED", 0), ("SUCCEEDED", 3)]
)
def test_failed_export_keeps_the_file_system_and_says_where_the_data_is(
    fsx, lambda_context, lifecycle, failed
):
    fsx.add_response(
        "describe_data_repository_tasks", {"DataRepositoryTasks": [task(lifecycle, failed)]}
    )
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response("tag_resource", {})

    with pytest.raises(ExportFailed) as raised:
        check_export.lambda_handler(load_event("check_export"), lambda_context)

    message = str(raised.value)
    assert FS_ID in message
    assert f"{failed} failed file(s)" in message
    assert f"{DRA_PATH.rstrip('/')}/{TASK_ID}/failures.csv" in message


def test_export_past_its_limit_keeps_the_file_system(fsx, lambda_context):
    event = load_event("check_export")
    long_ago = (datetime.now(UTC) - timedelta(seconds=21601)).isoformat()
    event["exportStatus"] = {"done": False, "waitingSince": long_ago}
    fsx.add_response("describe_data_repository_tasks", {"DataRepositoryTasks": [task("EXECUTING")]})
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("AVAILABLE")]})
    fsx.add_response("tag_resource", {})

    with pytest.raises(ExportTimeout, match=f"file system {FS_ID} is kept"):
        check_export.lambda_handler(event, lambda_context)


class FakeFsx:
    """An in-memory FSx that answers look-ups in any order and records what was changed.

    Methods take boto3's parameter names (FileSystemIds, Tags, ...).
    """

    def __init__(self, systems, associations=(), tasks=()):
        self.systems = list(systems)
        self.associations = list(associations)
        self.tasks = list(tasks)
        self.deleted: list[str] = []
        self.tagged: dict[str, str] = {}
        self.started: list[dict] = []
        self.updated: list[dict] = []

    def get_paginator(self, name):
        assert name == "describe_file_systems"
        fake = self

        class Pages:
            def paginate(self):
                return [{"FileSystems": fake.systems}]

        return Pages()

    def describe_file_systems(self, FileSystemIds):
        return {"FileSystems": [s for s in self.systems if s["FileSystemId"] in FileSystemIds]}

    def describe_data_repository_associations(self, Filters):
        return {"Associations": self.associations}

    def describe_data_repository_tasks(self, Filters):
        return {"DataRepositoryTasks": self.tasks}

    def update_data_repository_association(self, **request):
        self.updated.append(request)
        return {}

    def create_data_repository_task(self, **request):
        self.started.append(request)
        return {"DataRepositoryTask": task("PENDING", purpose="failure-export")}

    def delete_file_system(self, FileSystemId):
        self.deleted.append(FileSystemId)
        return {"FileSystemId": FileSystemId, "Lifecycle": "DELETING"}

    def tag_resource(self, ResourceARN, Tags):
        self.tagged.update({tag["Key"]: tag["Value"] for tag in Tags})
        return {}


@pytest.fixture
def fake_fsx(monkeypatch):
    """Install a FakeFsx as the FSx client of the layer's modules that call FSx; returns a
    factory."""

    def install(systems, associations=(), tasks=()):
        fake = FakeFsx(systems, associations, tasks)
        real = layer_aws.client

        def client(service):
            return fake if service == "fsx" else real(service)

        for module in ("batchscratch.fsx", "batchscratch.storage"):
            monkeypatch.setattr(f"{module}.client", client)
        return fake

    return install


def released(event_name="release_file_system_after_failure", **config):
    event = load_event(event_name)
    event["config"] |= config
    return release_file_system.lambda_handler(event, FakeLambdaContext())


def test_success_deletes_the_exported_file_system(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE")], tasks=[task("SUCCEEDED")])

    result = released("release_file_system")

    assert result["done"] is True
    assert result["policy"] == "delete"
    assert fsx.deleted == [FS_ID]


def test_delete_waits_while_a_task_runs(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE")], tasks=[task("EXECUTING")])

    result = released("release_file_system")

    assert result["done"] is False
    assert fsx.deleted == []


def test_file_system_kept_after_a_failed_export_is_never_touched(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE", {TAG_RETAINED: "export task failed"})])

    result = released()

    assert result["retained"] == [f"fsx:file-system:{FS_ID}"]
    assert fsx.deleted == []


def test_failure_exports_before_deleting(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE")], [association("AVAILABLE")])

    first = released()

    assert first["done"] is False
    assert first["policy"] == "export"
    [request] = fsx.started
    assert request["ClientRequestToken"] == run_of(load_event("release_file_system")).client_token(
        "failure-export"
    )
    assert fsx.deleted == []
    fsx.tasks = [task("SUCCEEDED", purpose="failure-export")]

    second = released()

    assert second["done"] is True
    assert fsx.deleted == [FS_ID]


def test_failure_export_disables_auto_export_first(fake_fsx):
    exporting = association("AVAILABLE") | {
        "S3": {"AutoImportPolicy": {"Events": ["NEW"]}, "AutoExportPolicy": {"Events": ["NEW"]}}
    }
    fsx = fake_fsx([file_system("AVAILABLE")], [exporting])

    result = released()

    assert result["done"] is False
    assert fsx.updated[0]["S3"]["AutoExportPolicy"] == {"Events": []}
    assert fsx.started == []


@pytest.mark.parametrize(("lifecycle", "failed"), [("FAILED", 0), ("SUCCEEDED", 2)])
@pytest.mark.parametrize("policy", ["export", "delete"])
def test_an_export_that_left_files_behind_keeps_the_file_system(
    fake_fsx, lifecycle, failed, policy
):
    """Whatever the policy: data an export left behind may exist nowhere else."""
    fsx = fake_fsx(
        [file_system("AVAILABLE")], [association("AVAILABLE")], [task(lifecycle, failed)]
    )

    result = released(onFailure=policy)

    assert result["retained"] == [f"fsx:file-system:{FS_ID}"]
    assert fsx.deleted == []
    # The tag says where the report is, in characters FSx accepts in a tag value.
    assert "failed files - report: s3://" in fsx.tagged[TAG_RETAINED]
    assert is_valid_tag_value(fsx.tagged[TAG_RETAINED])


@pytest.mark.parametrize(("policy", "deleted"), [("retain", False), ("delete", True)])
def test_failure_retain_and_delete(fake_fsx, policy, deleted):
    fsx = fake_fsx([file_system("AVAILABLE")])

    result = released(onFailure=policy)

    assert (fsx.deleted == [FS_ID]) is deleted
    assert (result["retained"] != []) is not deleted


def test_delete_lustre_false_keeps_the_file_system_after_a_failure_too(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE")])

    result = released(onFailure="delete", deleteLustre=False)

    assert result["retained"] == [f"fsx:file-system:{FS_ID}"]
    assert fsx.tagged[TAG_RETAINED] == "deleteLustre is false"


def test_file_system_whose_creation_failed_is_deleted_even_under_retain(fake_fsx):
    fsx = fake_fsx([file_system("FAILED")])

    released(onFailure="retain")

    assert fsx.deleted == [FS_ID]


def test_release_ignores_other_runs_file_systems(fake_fsx):
    other = file_system("AVAILABLE", {TAG_EXECUTION: "arn:aws:states:us-east-1:1:execution:x:o"})
    fsx = fake_fsx([other])

    result = released("release_file_system")

    assert result["deleted"] == result["retained"] == []
    assert fsx.deleted == []


def test_misconfigured_file_system_is_kept_under_export(fake_fsx):
    fsx = fake_fsx([file_system("MISCONFIGURED")], [association("AVAILABLE")])

    result = released()

    assert result["retained"] == [f"fsx:file-system:{FS_ID}"]
    assert fsx.deleted == []


@pytest.mark.parametrize("association_state", [None, "CREATING"])
def test_export_policy_deletes_a_file_system_no_job_can_have_used(fake_fsx, association_state):
    associations = [] if association_state is None else [association(association_state)]
    fsx = fake_fsx([file_system("AVAILABLE")], associations)

    result = released()

    assert fsx.deleted == [FS_ID]
    assert result["deleted"] == [f"fsx:file-system:{FS_ID}"]


def test_export_policy_keeps_a_file_system_whose_association_broke(fake_fsx):
    fsx = fake_fsx([file_system("AVAILABLE")], [association("MISCONFIGURED")])

    result = released()

    assert result["retained"] == [f"fsx:file-system:{FS_ID}"]
    assert fsx.deleted == []


def test_check_keeps_its_clock_across_polls(fsx, lambda_context):
    """CheckFileSystem reads its own earlier waitingSince, so StorageTimeout can fire."""
    event = load_event("check_file_system")
    long_ago = (datetime.now(UTC) - timedelta(seconds=1801)).isoformat()
    event["fileSystemStatus"] = {"ready": False, "lifecycle": "CREATING", "waitingSince": long_ago}
    fsx.add_response("describe_file_systems", {"FileSystems": [file_system("CREATING")]})

    with pytest.raises(StorageTimeout, match="limit 1800 s"):
        check_file_system.lambda_handler(event, lambda_context)


def test_delete_policy_exports_first_once_the_job_succeeded(fake_fsx):
    """A failure after the job (drain, export, cleanup) must not discard its results."""
    fsx = fake_fsx([file_system("AVAILABLE")], [association("AVAILABLE")])
    event = load_event("release_file_system_after_failure")
    event["config"]["onFailure"] = "delete"
    event["job"] = {"jobId": "j", "status": "SUCCEEDED", "attempts": 1}
    event["error"] = {"Error": "AwsTransientError", "Cause": "throttled"}

    result = release_file_system.lambda_handler(event, FakeLambdaContext())

    assert result["policy"] == "export"
    assert result["done"] is False
    assert len(fsx.started) == 1
    assert fsx.deleted == []
