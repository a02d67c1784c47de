"""The local AWS's Batch on the virtual clock (tools.localaws.patches.batch): a job's
attempts take their time, the retry strategy and the timeout apply, TerminateJob and CancelJob
end a job when they are called, array jobs end as their children do, and compute
environments and job queues take time; through boto3 as the handlers and Step Functions call
Batch. Then whole runs of the workflow that depend on it."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from batchscratch.compute import retry_strategy
from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.rehearse import run_scenario

REPO = Path(__file__).resolve().parents[2]
RECLAIM = "Host EC2 (instance i-0123456789abcdef0) terminated."
EXITED = "Essential container in task exited"
CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
HOUR = 3600
NAMES = count(1)


def batch_enum(shape: str) -> list[str]:
    """The values of one of the Batch API's enums (botocore's service model)."""
    model = botocore.session.get_session().get_service_model("batch")
    return list(model.shape_for(shape).enum)  # type: ignore[attr-defined]


@dataclass
class Batch:
    """A local AWS with a VPC, a security group and an instance profile to build compute on."""

    aws: LocalAws
    sim: Simulation
    client: Any
    subnet: str
    group: str
    profile: str

    def behave(self, aws: dict[str, Any]) -> None:
        self.sim.behaviour = Aws.model_validate(aws)

    def advance(self, seconds: float) -> None:
        self.sim.clock.advance(seconds)

    def environment(self) -> str:
        """A new SPOT compute environment of c5.large instances; its name."""
        name = f"ce-{next(NAMES)}"
        self.client.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            computeResources={
                "type": "SPOT",
                "allocationStrategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
                "minvCpus": 0,
                "maxvCpus": 4,
                "desiredvCpus": 0,
                "instanceTypes": ["c5.large"],
                "subnets": [self.subnet],
                "securityGroupIds": [self.group],
                "instanceRole": self.profile,
            },
        )
        return name

    def queue(self, environment: str | None = None) -> str:
        """A new job queue on ``environment`` (a new one, when not given); its name."""
        environment = environment or self.environment()
        name = f"jq-{next(NAMES)}"
        self.client.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )
        return name

    def definition(self, strategy: dict[str, Any] | None = None, timeout: int | None = None) -> str:
        """A new job definition with the product's retry strategy (5 attempts) by default."""
        extra: dict[str, Any] = (
            {} if timeout is None else {"timeout": {"attemptDurationSeconds": timeout}}
        )
        return str(
            self.client.register_job_definition(
                jobDefinitionName=f"jd-{next(NAMES)}",
                type="container",
                containerProperties={
                    "image": "busybox",
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "512"},
                    ],
                },
                retryStrategy=strategy or retry_strategy(5),
                **extra,
            )["jobDefinitionArn"]
        )

    def submit(self, definition: str | None = None, queue: str | None = None, **extra: Any) -> str:
        return str(
            self.client.submit_job(
                jobName=f"job-{next(NAMES)}",
                jobQueue=queue or self.queue(),
                jobDefinition=definition or self.definition(),
                **extra,
            )["jobId"]
        )

    def job(self, job_id: str) -> dict[str, Any]:
        """DescribeJobs of one job."""
        (job,) = self.client.describe_jobs(jobs=[job_id])["jobs"]
        assert job["status"] in batch_enum("JobStatus")
        return dict(job)

    def listed(self, **query: Any) -> list[str]:
        return [j["jobId"] for j in self.client.list_jobs(**query)["jobSummaryList"]]

    def environment_status(self, name: str) -> tuple[str, str | None] | None:
        """The compute environment's (status, statusReason); None once it is gone."""
        found = self.client.describe_compute_environments(computeEnvironments=[name])
        entries = found["computeEnvironments"]
        if not entries:
            return None
        assert entries[0]["status"] in batch_enum("CEStatus")
        return entries[0]["status"], entries[0].get("statusReason")

    def queue_status(self, name: str) -> tuple[str, str | None] | None:
        """The job queue's (status, statusReason); None once it is gone."""
        entries = self.client.describe_job_queues(jobQueues=[name])["jobQueues"]
        if not entries:
            return None
        assert entries[0]["status"] in batch_enum("JQStatus")
        return entries[0]["status"], entries[0].get("statusReason")


@pytest.fixture
def batch() -> Iterator[Batch]:
    sim = Simulation()
    with LocalAws(REPO, sim) as aws:
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)
        profile = aws.client("iam").create_instance_profile(InstanceProfileName="jobs")
        yield Batch(
            aws,
            sim,
            aws.client("batch"),
            subnet,
            group["GroupId"],
            profile["InstanceProfile"]["Arn"],
        )


def seconds_between(start_ms: int, stop_ms: int) -> float:
    return (stop_ms - start_ms) / 1000


# --------------------------------------------------------------------------- jobs


def test_a_job_waits_runnable_then_runs_each_attempt_for_its_time(batch: Batch) -> None:
    batch.behave(
        {
            "job": {
                "runnableSeconds": 120,
                "attempts": [
                    {"status": "FAILED", "statusReason": RECLAIM, "after": 1800},
                    {"status": "SUCCEEDED", "after": 600},
                ],
            }
        }
    )
    queue = batch.queue()
    job_id = batch.submit(queue=queue)
    waiting = batch.job(job_id)
    assert waiting["status"] == "RUNNABLE"
    assert "startedAt" not in waiting
    assert waiting["attempts"] == []

    batch.advance(120)
    first = batch.job(job_id)
    assert first["status"] == "RUNNING"
    assert seconds_between(waiting["createdAt"], first["startedAt"]) == pytest.approx(120, abs=1)
    assert first["attempts"] == []
    assert batch.listed(jobQueue=queue) == [job_id]  # ListJobs gives RUNNING jobs by default

    batch.advance(1800)
    second = batch.job(job_id)
    assert second["status"] == "RUNNING"
    (reclaimed,) = second["attempts"]
    assert reclaimed["statusReason"] == RECLAIM
    assert seconds_between(reclaimed["startedAt"], reclaimed["stoppedAt"]) == pytest.approx(1800)
    assert "exitCode" not in reclaimed["container"]  # the host went, not the container

    batch.advance(600)
    done = batch.job(job_id)
    assert done["status"] == "SUCCEEDED"
    assert [a["statusReason"] for a in done["attempts"]] == [RECLAIM, EXITED]
    assert done["attempts"][1]["container"]["exitCode"] == 0
    assert done["stoppedAt"] == done["attempts"][1]["stoppedAt"]
    assert batch.listed(jobQueue=queue, jobStatus="SUCCEEDED") == [job_id]
    assert batch.listed(jobQueue=queue) == []


def test_a_job_stuck_runnable_says_why_as_batch_does(batch: Batch) -> None:
    batch.behave({"job": {"runnableSeconds": 86400, "runnableReason": CAPACITY}})
    job_id = batch.submit()
    stuck = batch.job(job_id)
    assert stuck["status"] == "RUNNABLE"
    assert stuck["statusReason"] == (
        f"{CAPACITY} - Service cannot fulfill the capacity requested for instance type c5.large"
    )
    batch.advance(86400 - 60)
    assert batch.job(job_id)["status"] == "RUNNABLE"
    batch.advance(60)
    running = batch.job(job_id)
    assert running["status"] == "RUNNING"
    assert "statusReason" not in running


def test_a_job_that_never_starts_waits_until_it_is_cancelled(batch: Batch) -> None:
    batch.behave({"compute": {"instancesTerminate": True}})
    job_id = batch.submit()
    batch.advance(30 * 86400)
    assert batch.job(job_id)["status"] == "RUNNABLE"
    batch.client.cancel_job(jobId=job_id, reason="gave up")
    cancelled = batch.job(job_id)
    assert cancelled["status"] == "FAILED"
    assert cancelled["statusReason"] == "gave up"
    assert cancelled["attempts"] == []
    assert cancelled["isCancelled"] is True


def test_an_attempt_past_the_timeout_is_stopped_and_not_retried(batch: Batch) -> None:
    # No evaluateOnExit rule: Batch would retry any failed attempt, but not a timed-out one.
    batch.behave({"job": {"attempts": [{"status": "SUCCEEDED", "after": 2 * HOUR}]}})
    definition = batch.definition({"attempts": 3}, timeout=HOUR)
    job_id = batch.submit(definition)
    batch.advance(HOUR)
    timed_out = batch.job(job_id)
    assert timed_out["status"] == "FAILED"
    assert timed_out["statusReason"] == "Job attempt duration exceeded timeout"
    (attempt,) = timed_out["attempts"]
    assert seconds_between(attempt["startedAt"], attempt["stoppedAt"]) == pytest.approx(HOUR)


def test_the_submitted_timeout_overrides_the_job_definition(batch: Batch) -> None:
    batch.behave({"job": {"attempts": [{"status": "SUCCEEDED", "after": 2 * HOUR}]}})
    definition = batch.definition(timeout=HOUR)
    job_id = batch.submit(definition, timeout={"attemptDurationSeconds": 3 * HOUR})
    batch.advance(2 * HOUR)
    assert batch.job(job_id)["status"] == "SUCCEEDED"


def test_terminate_ends_a_running_attempt_and_cancel_does_not(batch: Batch) -> None:
    batch.behave({"job": {"attempts": [{"status": "SUCCEEDED", "after": 2 * HOUR}]}})
    job_id = batch.submit()
    batch.advance(HOUR)
    batch.client.cancel_job(jobId=job_id, reason="too late to cancel")
    assert batch.job(job_id)["status"] == "RUNNING"
    batch.client.terminate_job(jobId=job_id, reason="run cleanup")
    terminated = batch.job(job_id)
    assert terminated["status"] == "FAILED"
    assert terminated["statusReason"] == "run cleanup"
    assert terminated["isTerminated"] is True
    (attempt,) = terminated["attempts"]
    assert attempt["statusReason"] == "run cleanup"
    assert seconds_between(attempt["startedAt"], attempt["stoppedAt"]) == pytest.approx(HOUR, abs=1)
    batch.advance(2 * HOUR)
    assert batch.job(job_id)["status"] == "FAILED"  # the scripted success never comes


# --------------------------------------------------------------------------- array jobs


def test_an_array_job_fails_once_every_child_ended_if_one_failed(batch: Batch) -> None:
    batch.behave(
        {
            "job": {
                "attemptSeconds": 600,
                "children": {
                    1: {"attempts": [{"status": "FAILED", "exitCode": 1, "after": 60}]},
                },
            }
        }
    )
    queue = batch.queue()
    parent = batch.submit(queue=queue, arrayProperties={"size": 3})
    children = [f"{parent}:{index}" for index in range(3)]
    assert [batch.job(c)["arrayProperties"] for c in children] == [{"index": i} for i in range(3)]

    batch.advance(60)
    running = batch.job(parent)
    assert running["status"] == "PENDING"
    assert running["attempts"] == []
    summary = running["arrayProperties"]["statusSummary"]
    assert (summary["RUNNING"], summary["FAILED"], sum(summary.values())) == (2, 1, 3)
    assert batch.listed(jobQueue=queue, jobStatus="PENDING") == [parent]
    assert batch.listed(arrayJobId=parent, jobStatus="FAILED") == [children[1]]

    batch.advance(540)
    failed = batch.job(parent)
    assert failed["status"] == "FAILED"
    assert failed["statusReason"] == "Array Child Job failed"
    assert failed["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 2
    assert failed["arrayProperties"]["size"] == 3
    assert [batch.job(c)["status"] for c in children] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert batch.listed(jobQueue=queue, jobStatus="FAILED") == [parent]  # no children


def test_terminating_an_array_job_terminates_its_children(batch: Batch) -> None:
    batch.behave({"job": {"attemptSeconds": HOUR}})
    parent = batch.submit(arrayProperties={"size": 2})
    batch.advance(60)
    batch.client.terminate_job(jobId=parent, reason="run cleanup")
    children = [batch.job(f"{parent}:{index}") for index in range(2)]
    assert [(c["status"], c["statusReason"]) for c in children] == [("FAILED", "run cleanup")] * 2
    stopped = batch.job(parent)
    assert (stopped["status"], stopped["statusReason"]) == ("FAILED", "run cleanup")


# --------------------------------------------------------------------------- compute


def test_a_compute_environment_is_creating_until_it_is_valid(batch: Batch) -> None:
    batch.behave({"compute": {"readySeconds": 300}})
    name = batch.environment()
    assert batch.environment_status(name) == ("CREATING", None)
    batch.advance(300)
    assert batch.environment_status(name) == ("VALID", "ComputeEnvironment Healthy")
    queue = batch.queue(name)
    assert batch.queue_status(queue) == ("VALID", "JobQueue Healthy")


def test_invalid_compute_environment_and_job_queue_give_their_reason(batch: Batch) -> None:
    reason = "CLIENT_ERROR - Not authorized to perform sts:AssumeRole"
    batch.behave({"compute": {"invalidReason": reason, "queueInvalidReason": "no CE"}})
    name = batch.environment()
    assert batch.environment_status(name) == ("INVALID", reason)
    assert batch.queue_status(batch.queue(name)) == ("INVALID", "no CE")


def test_deleted_queue_and_environment_are_deleting_for_a_while(batch: Batch) -> None:
    batch.behave({"compute": {"deleteSeconds": 120}})
    environment = batch.environment()
    queue = batch.queue(environment)
    batch.client.update_job_queue(jobQueue=queue, state="DISABLED")
    batch.client.delete_job_queue(jobQueue=queue)
    assert batch.queue_status(queue) == ("DELETING", None)
    batch.advance(120)
    assert batch.queue_status(queue) is None
    batch.client.update_compute_environment(computeEnvironment=environment, state="DISABLED")
    batch.client.delete_compute_environment(computeEnvironment=environment)
    batch.advance(119)
    assert batch.environment_status(environment) == ("DELETING", None)
    batch.advance(1)
    assert batch.environment_status(environment) is None


# --------------------------------------------------------------------------- whole runs


def run_workflow(
    aws: dict[str, Any],
    on_state: Callable[[LocalAws, Simulation, str, str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one OnlyEBS execution to its end; return its description and DescribeJobs of the
    job its RunJob state submitted."""
    sim = Simulation(behaviour=Aws.model_validate(aws))
    with LocalAws(REPO, sim) as local:
        stack = local.deploy("OnlyEBS")
        if on_state is not None:
            sim.state_listeners.append(lambda arn, state: on_state(local, sim, arn, state))
        sfn = local.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=stack.state_machine_arn, name=f"run-{next(NAMES)}", input="{}"
        )["executionArn"]
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not end"
            time.sleep(0.01)
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        (submitted,) = [e for e in events if e["type"] == "TaskSubmitted"]
        job_id = json.loads(submitted["taskSubmittedEventDetails"]["output"])["JobId"]
        (job,) = local.client("batch").describe_jobs(jobs=[job_id])["jobs"]
        return sfn.describe_execution(executionArn=arn), job


def test_stopping_the_execution_an_hour_into_a_two_hour_job_terminates_the_job() -> None:
    stop_at: list[float] = []

    def stop_an_hour_into_the_job(local: LocalAws, sim: Simulation, arn: str, state: str) -> None:
        if state == "RunJob":
            sfn = local.client("stepfunctions")
            stop_at.append(sim.clock.now() + HOUR)
            sim.clock.schedule(stop_at[0], lambda: sfn.stop_execution(executionArn=arn))

    execution, job = run_workflow(
        {"job": {"attempts": [{"status": "SUCCEEDED", "after": 2 * HOUR}]}},
        stop_an_hour_into_the_job,
    )
    assert execution["status"] == "ABORTED"
    aborted = (
        f"The Task state in AWS Step Functions execution [{execution['executionArn']}] "
        "which was managing this resource was aborted"
    )
    assert (job["status"], job["statusReason"]) == ("FAILED", aborted)
    (attempt,) = job["attempts"]
    assert attempt["statusReason"] == aborted
    # Stopped when the execution was, an hour after RunJob began (the watchdog's first Wait
    # beside it may move the shared clock on before SubmitJob, so the attempt starts later).
    assert attempt["stoppedAt"] / 1000 == pytest.approx(stop_at[0], abs=5)
    assert HOUR - 60 <= seconds_between(attempt["startedAt"], attempt["stoppedAt"]) <= HOUR + 5


def test_a_spot_reclaim_half_an_hour_in_is_retried_and_the_run_succeeds() -> None:
    execution, job = run_workflow(
        {"job": {"attempts": [{"status": "FAILED", "statusReason": RECLAIM, "after": 1800}]}}
    )
    assert execution["status"] == "SUCCEEDED"
    assert job["status"] == "SUCCEEDED"
    reclaimed, retried = job["attempts"]
    assert seconds_between(reclaimed["startedAt"], reclaimed["stoppedAt"]) == pytest.approx(1800)
    assert reclaimed["statusReason"] == RECLAIM
    assert seconds_between(retried["startedAt"], retried["stoppedAt"]) == pytest.approx(300)


def test_a_day_long_job_is_waited_out_in_a_few_polls() -> None:
    # The state machine's 100th DescribeJobs would be throttled: polling every 0.5 s of a day,
    # instead of on to the job's next change, would need 172800. (While the watchdog beside
    # RunJob still runs, until it sees the job start, the poll steps 0.5 s: a few polls.)
    (summary,) = run_scenario(
        {
            "name": "runs-for-a-day",
            "mode": "OnlyEBS",
            "aws": {
                "job": {"attempts": [{"status": "SUCCEEDED", "after": 86400}]},
                "throttle": {
                    "batch:DescribeJobs": {"from": 100, "count": 1000, "function": "StateMachine"}
                },
            },
        }
    )
    assert summary.status == "SUCCEEDED"
    assert summary.jobAttempts == 1
    assert summary.jobs == 1
    assert summary.leaked == []
    assert summary.virtualSeconds > 86400


def test_one_failed_array_child_fails_the_run() -> None:
    (summary,) = run_scenario(
        {
            "name": "array-child-fails",
            "mode": "TaskExport",
            "input": {"arraySize": 3},
            "aws": {
                "job": {
                    "children": {1: {"attempts": [{"status": "FAILED", "exitCode": 1}]}},
                }
            },
        }
    )
    assert summary.status == "FAILED"
    assert summary.error == "States.TaskFailed"
    assert "RunArrayJob" in summary.states
    parent = json.loads(summary.cause or "{}")  # the job as DescribeJobs gave it
    assert parent["Status"] == "FAILED"
    assert parent["StatusReason"] == "Array Child Job failed"
    assert parent["ArrayProperties"]["StatusSummary"]["FAILED"] == 1
    assert parent["ArrayProperties"]["StatusSummary"]["SUCCEEDED"] == 2
    assert summary.jobAttempts == 3  # every child's attempts
    assert summary.leaked == []


def test_an_invalid_compute_environment_fails_the_run_with_its_reason() -> None:
    reason = "CLIENT_ERROR - Not authorized to perform sts:AssumeRole"
    (summary,) = run_scenario(
        {
            "name": "invalid-compute",
            "mode": "OnlyEBS",
            "aws": {"compute": {"invalidReason": reason}},
        }
    )
    assert summary.status == "FAILED"
    assert summary.error == "ComputeFailed"
    assert reason in (summary.cause or "")
    assert "RunJob" not in summary.states
    assert summary.jobAttempts == 0
    assert summary.leaked == []
