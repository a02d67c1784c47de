"""The local AWS's EBS volumes and snapshots (tools.localaws.patches.ec2) on the virtual clock:
creation, late failure, the instance's hold, deletion and snapshots, through boto3 as the
handlers call them; and, end to end, storage faults as a run meets them (here rather than in
test_localaws_fsx.py, whose module-wide local AWS holds the process's one rehearsal)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.localaws import JobRecord, LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.localaws.patches.ec2 import DEVICE, SNAPSHOT_FAILURE
from tools.localaws.simulation import AttemptRun, JobOutcome, JobSchedule
from tools.rehearse import run_scenario

REPO = Path(__file__).resolve().parents[2]
ZONE = "us-east-1a"
EXECUTION_PREFIX = "arn:aws:states:us-east-1:123456789012:execution:machine:"


@dataclass
class Ebs:
    aws: LocalAws
    sim: Simulation
    client: Any
    token: str
    """Unique to the test: the local AWS is shared by the module's tests."""

    @property
    def execution(self) -> str:
        return f"{EXECUTION_PREFIX}{self.token}"

    def create(self, **token: str) -> dict[str, Any]:
        """CreateVolume (``ClientToken=...`` may be given)."""
        return dict(
            self.client.create_volume(
                **token,
                AvailabilityZone=ZONE,
                Size=100,
                VolumeType="gp3",
                Encrypted=True,
                TagSpecifications=[
                    {
                        "ResourceType": "volume",
                        "Tags": [{"Key": "batch-scratch:execution-arn", "Value": self.execution}],
                    }
                ],
            )
        )

    def describe(self, volume_id: str) -> dict[str, Any]:
        (found,) = self.client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        return dict(found)

    def state(self, volume_id: str) -> str:
        return str(self.describe(volume_id)["State"])

    def available(self) -> str:
        volume_id = str(self.create()["VolumeId"])
        assert self.state(volume_id) == "available"
        return volume_id

    def job_ended(self, ended_at: float | None) -> None:
        """Record the run's Batch job, ended at ``ended_at`` (None: still running)."""
        now = self.sim.clock.now()
        stop = ended_at if ended_at is not None else now + 10 * 86400
        schedule = JobSchedule(
            runs=(AttemptRun(JobOutcome(), min(now, stop) - 60, stop),), end=ended_at
        )
        record = JobRecord(
            f"job-{self.token}",
            self.execution,
            submitted_at=min(now, stop) - 120,
            schedule=schedule,
            now=self.sim.clock.now,
        )
        self.sim.jobs[record.job_id] = record

    def snapshot(self, volume_id: str) -> dict[str, Any]:
        (found,) = self.client.describe_snapshots(
            Filters=[{"Name": "volume-id", "Values": [volume_id]}], OwnerIds=["self"]
        )["Snapshots"]
        return dict(found)


def behaviour(**aws: object) -> Aws:
    """The simulated AWS of a scenario's ``aws:`` key."""
    return Aws.model_validate(aws)


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


@pytest.fixture
def ebs(request: pytest.FixtureRequest) -> Iterator[Ebs]:
    # A local AWS of its own per test (cheap without a deploy): no clock milestone or job
    # record of one test reaches the next.
    with LocalAws(REPO, Simulation()) as aws:
        token = re.sub(r"[^A-Za-z0-9_.-]", "-", request.node.name)[-60:]
        yield Ebs(aws, aws.sim, aws.client("ec2"), token)


# --------------------------------------------------------------------------- creation


def test_a_repeated_create_volume_request_returns_the_same_volume(ebs: Ebs) -> None:
    first = ebs.create(ClientToken="run-1")["VolumeId"]
    assert ebs.create(ClientToken="run-1")["VolumeId"] == first
    assert ebs.create(ClientToken="run-2")["VolumeId"] != first
    assert ebs.create()["VolumeId"] != ebs.create()["VolumeId"]


def test_volume_is_creating_for_the_scripted_polls_then_available(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"readyAfterPolls": 2})
    created = ebs.create()
    assert created["State"] == "creating"
    states = [ebs.state(created["VolumeId"]) for _ in range(3)]
    assert states == ["creating", "creating", "available"]


def test_volume_is_creating_for_the_scripted_seconds(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"readySeconds": 600})
    volume_id = ebs.create()["VolumeId"]
    assert ebs.state(volume_id) == "creating"
    ebs.sim.clock.advance(590)
    assert ebs.state(volume_id) == "creating"
    ebs.sim.clock.advance(10)
    assert ebs.state(volume_id) == "available"


def test_polls_and_seconds_must_both_have_passed(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"readyAfterPolls": 2, "readySeconds": 60})
    volume_id = ebs.create()["VolumeId"]
    ebs.sim.clock.advance(120)
    assert [ebs.state(volume_id) for _ in range(3)] == ["creating", "creating", "available"]


def test_a_poll_waiting_for_the_volume_jumps_to_when_it_is_ready(ebs: Ebs) -> None:
    # The .sync job poll sleeps until the next change; a volume's readiness is one.
    ebs.sim.behaviour = behaviour(storage={"readySeconds": 3600})
    volume_id = ebs.create()["VolumeId"]
    before = ebs.sim.clock.now()
    ebs.sim.clock.sleep_until_change(30)
    assert ebs.sim.clock.now() - before == pytest.approx(3600, abs=1)
    assert ebs.state(volume_id) == "available"


def test_volume_that_fails_to_create_errs_once_its_seconds_have_passed(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"readySeconds": 300, "createFails": True})
    volume_id = ebs.create()["VolumeId"]
    assert ebs.state(volume_id) == "creating"
    ebs.sim.clock.advance(300)
    assert ebs.state(volume_id) == "error"


def test_ready_volume_turns_error_after_the_scripted_seconds(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(
        storage={"readySeconds": 60, "failsAfterSeconds": 900, "lateStatus": "error"}
    )
    volume_id = ebs.create()["VolumeId"]
    ebs.sim.clock.advance(60)
    assert ebs.state(volume_id) == "available"
    ebs.sim.clock.advance(890)
    assert ebs.state(volume_id) == "available"
    ebs.sim.clock.advance(10)
    assert ebs.state(volume_id) == "error"
    erred = ebs.client.describe_volumes(Filters=[{"Name": "status", "Values": ["error"]}])
    assert volume_id in [v["VolumeId"] for v in erred["Volumes"]]


# --------------------------------------------------------------------------- deletion


def test_deleted_volume_goes_at_once_by_default(ebs: Ebs) -> None:
    volume_id = ebs.available()
    ebs.client.delete_volume(VolumeId=volume_id)
    with pytest.raises(ClientError) as error:
        ebs.describe(volume_id)
    assert error_code(error) == "InvalidVolume.NotFound"


def test_deleted_volume_is_deleting_for_the_scripted_seconds_then_gone(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"deleteSeconds": 120})
    volume_id = ebs.available()
    ebs.client.delete_volume(VolumeId=volume_id)
    assert ebs.state(volume_id) == "deleting"
    ebs.client.delete_volume(VolumeId=volume_id)  # again: accepted, changes nothing
    ebs.sim.clock.advance(119)
    assert ebs.state(volume_id) == "deleting"
    ebs.sim.clock.advance(1)
    with pytest.raises(ClientError) as error:
        ebs.describe(volume_id)
    assert error_code(error) == "InvalidVolume.NotFound"
    listed = [v["VolumeId"] for v in ebs.client.describe_volumes()["Volumes"]]
    assert volume_id not in listed
    with pytest.raises(ClientError) as error:
        ebs.client.delete_volume(VolumeId=volume_id)
    assert error_code(error) == "InvalidVolume.NotFound"


# --------------------------------------------------------------------------- held


def test_volume_is_not_held_before_its_job_runs(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"heldSeconds": 600})
    volume_id = ebs.available()
    assert ebs.describe(volume_id)["Attachments"] == []
    ebs.client.delete_volume(VolumeId=volume_id)


def test_volume_is_in_use_while_its_job_runs(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"heldSeconds": 0})
    volume_id = ebs.available()
    ebs.job_ended(None)
    ebs.sim.clock.advance(86400)
    described = ebs.describe(volume_id)
    assert described["State"] == "in-use"
    (attachment,) = described["Attachments"]
    assert attachment["State"] == "attached"
    assert attachment["Device"] == DEVICE
    assert attachment["InstanceId"].startswith("i-")


def test_held_volume_stays_in_use_after_the_job_then_is_available(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"heldSeconds": 600})
    volume_id = ebs.available()
    ebs.job_ended(ebs.sim.clock.now())
    described = ebs.describe(volume_id)
    assert described["State"] == "in-use"
    (attachment,) = described["Attachments"]
    instance_id = attachment["InstanceId"]

    with pytest.raises(ClientError) as error:
        ebs.client.delete_volume(VolumeId=volume_id)
    assert error_code(error) == "VolumeInUse"
    with pytest.raises(ClientError) as error:
        ebs.client.detach_volume(VolumeId=volume_id, InstanceId="i-00000000000000000")
    assert error_code(error) == "InvalidAttachment.NotFound"

    detached = ebs.client.detach_volume(VolumeId=volume_id, InstanceId=instance_id)
    assert detached["State"] == "detaching"
    ebs.sim.clock.advance(300)
    described = ebs.describe(volume_id)
    assert described["State"] == "in-use"
    assert [a["State"] for a in described["Attachments"]] == ["busy"]
    assert ebs.client.detach_volume(VolumeId=volume_id)["State"] == "detaching"
    with pytest.raises(ClientError) as error:
        ebs.client.delete_volume(VolumeId=volume_id)
    assert error_code(error) == "VolumeInUse"

    ebs.sim.clock.advance(300)
    described = ebs.describe(volume_id)
    assert described["State"] == "available"
    assert described["Attachments"] == []
    ebs.client.delete_volume(VolumeId=volume_id)


def test_held_volume_is_let_go_even_when_nobody_detaches_it(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(storage={"heldSeconds": 60})
    volume_id = ebs.available()
    ebs.job_ended(ebs.sim.clock.now())
    assert ebs.state(volume_id) == "in-use"
    ebs.sim.clock.sleep_until_change(1)
    assert ebs.state(volume_id) == "available"


# --------------------------------------------------------------------------- snapshots


def test_snapshot_is_pending_answered_then_completed_by_default(ebs: Ebs) -> None:
    volume_id = ebs.available()
    created = ebs.client.create_snapshot(VolumeId=volume_id, Description="x")
    assert created["State"] == "pending"
    snapshot = ebs.snapshot(volume_id)
    assert (snapshot["State"], snapshot["Progress"]) == ("completed", "100%")


def test_snapshot_is_pending_for_the_scripted_seconds(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(snapshot={"seconds": 1800})
    volume_id = ebs.available()
    ebs.client.create_snapshot(VolumeId=volume_id, Description="x")
    ebs.sim.clock.advance(1799)
    snapshot = ebs.snapshot(volume_id)
    assert (snapshot["State"], snapshot["Progress"]) == ("pending", "0%")
    ebs.sim.clock.advance(1)
    assert ebs.snapshot(volume_id)["State"] == "completed"


def test_failed_snapshot_ends_in_error_and_says_why(ebs: Ebs) -> None:
    ebs.sim.behaviour = behaviour(snapshot={"seconds": 60, "fails": True})
    volume_id = ebs.available()
    ebs.client.create_snapshot(VolumeId=volume_id, Description="x")
    assert ebs.snapshot(volume_id)["State"] == "pending"
    ebs.sim.clock.advance(60)
    snapshot = ebs.snapshot(volume_id)
    assert snapshot["State"] == "error"
    assert snapshot["StateMessage"] == SNAPSHOT_FAILURE
    pending = ebs.client.describe_snapshots(
        Filters=[{"Name": "status", "Values": ["pending"]}], OwnerIds=["self"]
    )["Snapshots"]
    assert snapshot["SnapshotId"] not in [s["SnapshotId"] for s in pending]


# --------------------------------------------------------------------------- end to end


def test_release_waits_until_the_instance_lets_go_of_the_volume() -> None:
    (summary,) = run_scenario(
        {
            "name": "held-volume",
            "mode": "OnlyEBS",
            "input": {"waitAfterDetachSeconds": 30},
            "aws": {"storage": {"heldSeconds": 300}},
        }
    )
    assert summary.status == "SUCCEEDED"
    assert summary.states.count("ReleaseVolume") > 1
    assert summary.created["ec2:volume"] == 1
    assert (summary.leaked, summary.retained) == ([], [])


def test_delete_refused_twice_fails_the_run_and_its_release_deletes_the_file_system() -> None:
    # ReleaseFileSystem's DeleteFileSystem is refused (the SDK does not retry an
    # AccessDeniedException): the run takes its failure path and fails. Its release's first
    # pass is refused too (an AWS error ends a pass, not the release); the next pass's delete
    # is accepted. The run's export SUCCEEDED with 0 failed files after the job, so the
    # release exports nothing again.
    (summary,) = run_scenario(
        {
            "name": "delete-refused",
            "mode": "TaskExport",
            "aws": {
                "errors": {"fsx:DeleteFileSystem": {"code": "AccessDeniedException", "count": 2}}
            },
        }
    )
    assert summary.status == "FAILED"
    assert summary.error == "ClientError"
    assert "AccessDeniedException" in (summary.cause or "")
    assert summary.jobAttempts == 1
    assert summary.states[-3:] == ["ReleaseFileSystem", "StartRelease", "FailRun"]
    assert summary.release == "SUCCEEDED"
    assert summary.releaseStates.count("ReleaseRun") == 2
    assert summary.created["fsx:data-repository-task"] == 1
    assert summary.deletedUnexported == []
    assert (summary.leaked, summary.retained) == ([], [])
