"""Lambda in the local AWS (``tools.localaws.invoke``, ``patches.awslambda``,
``patches.events``): each function's own execution environment, and the invocation faults a
scenario scripts (``aws.lambda``), as the state machine, EventBridge and a direct caller see
them.

The faults are played on a probe function (a handler written here, which records each run
as an S3 object: its side effects) so that each test needs no deploy; the isolation test
deploys the project's OnlyEBS stack and invokes its real functions.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import deploy_probe
from tools.localaws import LocalAws, Simulation
from tools.localaws.behaviour import Aws
from tools.localaws.faults import LambdaFault, lambda_faults
from tools.localaws.invoke import containers

REPO = Path(__file__).resolve().parents[2]
BUCKET = "probe-runs"
PROBE = '''
import json

import boto3

from tools.localaws.patches.core import active_simulation


def lambda_handler(event, context):
    """Record this run as an object (its side effect); wait ``seconds`` virtual seconds."""
    s3 = boto3.client("s3")
    run = s3.list_objects_v2(Bucket="probe-runs").get("KeyCount", 0) + 1
    s3.put_object(Bucket="probe-runs", Key=f"run-{run:03}", Body=json.dumps(event))
    active_simulation().clock.advance(float(event.get("seconds", 0)))
    print(f"run {run}")
    return {"run": run, "requestId": context.aws_request_id}
'''


@dataclass
class Probe:
    aws: LocalAws
    sim: Simulation
    name: str
    arn: str
    role: str

    def runs(self) -> list[dict[str, Any]]:
        """The events of the handler's runs, in order."""
        s3 = self.aws.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        return [
            json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in sorted(keys)
        ]

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the probe once (no SDK retry: ``LocalAws.client`` retries once)."""
        client = boto3.client(
            "lambda", region_name=self.aws.region, config=Config(retries={"total_max_attempts": 1})
        )
        return dict(client.invoke(FunctionName=self.name, Payload=json.dumps(event)))


@pytest.fixture
def probe(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Probe]:
    """A probe function (timeout 30 s) in a fresh local AWS whose ``aws:`` is the test's
    indirect parameter."""
    sim = Simulation(behaviour=Aws.model_validate(getattr(request, "param", {})))
    with LocalAws(REPO, sim) as aws:
        arn, role = deploy_probe(aws, tmp_path, PROBE, timeout=30)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield Probe(aws, sim, "probe", arn, role)


def _payload(answer: dict[str, Any]) -> Any:
    return json.loads(answer["Payload"].read())


# --------------------------------------------------------------------------- direct invoke


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"duplicate": [2]}}}], indirect=True, ids=["faults"]
)
def test_a_duplicated_invocation_runs_the_handler_twice_and_answers_the_second_run(
    probe: Probe,
) -> None:
    probe.invoke({"n": 1})
    before = probe.sim.clock.now()
    answer = _payload(probe.invoke({"n": 2}))
    assert [run["n"] for run in probe.runs()] == [1, 2, 2]
    assert answer["run"] == 3
    assert probe.sim.clock.now() - before == pytest.approx(2, abs=0.5)
    assert lambda_faults(probe.sim) == [
        LambdaFault("ProbeFunction", 2, "duplicate", None, pytest.approx(before, abs=0.5))
    ]


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"timeout": [1]}}}], indirect=True, ids=["faults"]
)
def test_a_timed_out_invocation_takes_the_timeout_does_its_work_and_answers_sandbox_timedout(
    probe: Probe,
) -> None:
    before = probe.sim.clock.now()
    answer = probe.invoke({"n": 1})
    payload = _payload(answer)
    assert "FunctionError" in answer
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Error: Task timed out after 30.00 seconds")
    assert probe.sim.clock.now() - before == pytest.approx(30, abs=0.5)
    assert len(probe.runs()) == 1
    assert [f.fault for f in lambda_faults(probe.sim)] == ["timeout"]


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"lostResponse": [1]}}}], indirect=True, ids=["faults"]
)
def test_a_lost_response_is_lambdas_service_exception_after_the_handler_ran(
    probe: Probe,
) -> None:
    with pytest.raises(ClientError) as raised:
        probe.invoke({"n": 1})
    error = raised.value.response
    assert error["Error"]["Code"] == "ServiceException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert len(probe.runs()) == 1
    assert _payload(probe.invoke({"n": 2}))["run"] == 2
    assert [(f.number, f.fault) for f in lambda_faults(probe.sim)] == [(1, "lostResponse")]


# --------------------------------------------------------------------------- Step Functions


def _run_task(probe: Probe, retry: list[dict[str, Any]], seconds: float = 0) -> dict[str, Any]:
    """Run a one-task state machine that invokes the probe (``retry``: its Retry, every
    other error caught); return the execution's description and history."""
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": probe.arn, "Payload": {"seconds": seconds}},
                "Retry": retry,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sfn = probe.aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="probe", definition=json.dumps(definition), roleArn=probe.role
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="probe")["executionArn"]
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.01)
    return {
        **sfn.describe_execution(executionArn=arn),
        "events": sfn.get_execution_history(executionArn=arn)["events"],
    }


def _task_errors(execution: dict[str, Any]) -> list[str]:
    return [
        e["taskFailedEventDetails"]["error"]
        for e in execution["events"]
        if e["type"] == "TaskFailed"
    ]


SERVICE_RETRY = {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2}


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"lostResponse": [1]}}}], indirect=True, ids=["faults"]
)
def test_the_state_machine_sees_a_lost_response_as_lambda_service_exception_and_retries(
    probe: Probe,
) -> None:
    execution = _run_task(probe, [SERVICE_RETRY])
    assert execution["status"] == "SUCCEEDED"
    assert _task_errors(execution) == ["Lambda.ServiceException"]
    assert json.loads(execution["output"])["Payload"]["run"] == 2
    assert len(probe.runs()) == 2  # the lost run's side effects happened


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"timeout": [1]}}}], indirect=True, ids=["faults"]
)
def test_the_state_machine_sees_a_timeout_as_sandbox_timedout_which_a_retry_must_name(
    probe: Probe,
) -> None:
    execution = _run_task(probe, [SERVICE_RETRY])
    assert execution["status"] == "SUCCEEDED"
    assert _task_errors(execution) == ["Sandbox.Timedout"]
    output = json.loads(execution["output"])
    assert output["Error"] == "Sandbox.Timedout"
    assert "Task timed out after 30.00 seconds" in output["Cause"]
    assert len(probe.runs()) == 1


# --------------------------------------------------------------------------- EventBridge


def _deliver(probe: Probe) -> tuple[Any, float]:
    """Put one event a rule sends to the probe; return the delivery and the virtual
    seconds it took."""
    events = probe.aws.client("events")
    events.put_rule(Name="probe", EventPattern=json.dumps({"source": ["probe.test"]}))
    events.put_targets(Rule="probe", Targets=[{"Id": "probe", "Arn": probe.arn}])
    before = probe.sim.clock.now()
    events.put_events(Entries=[{"Source": "probe.test", "DetailType": "t", "Detail": "{}"}])
    (delivery,) = probe.sim.deliveries
    return delivery, probe.sim.clock.now() - before


def test_a_schedule_rule_hears_no_event_put_on_the_bus(probe: Probe) -> None:
    # StartRelease's daily sweep is such a rule: a run's status change must not invoke it.
    events = probe.aws.client("events")
    events.put_rule(Name="daily", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="daily", Targets=[{"Id": "probe", "Arn": probe.arn}])
    events.put_events(Entries=[{"Source": "probe.test", "DetailType": "t", "Detail": "{}"}])
    assert probe.sim.deliveries == []
    assert probe.runs() == []


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"timeout": [1, 2]}}}], indirect=True, ids=["faults"]
)
def test_an_asynchronous_invocation_that_times_out_is_retried_one_then_two_minutes_later(
    probe: Probe,
) -> None:
    delivery, seconds = _deliver(probe)
    assert (delivery.attempts, delivery.errored) == (3, False)
    assert seconds == pytest.approx(30 + 60 + 30 + 120 + 1, abs=1)
    assert len(probe.runs()) == 3


@pytest.mark.parametrize(
    "probe",
    [{"lambda": {"ProbeFunction": {"lostResponse": [1, 2, 3, 4]}}}],
    indirect=True,
    ids=["faults"],
)
def test_an_asynchronous_invocation_whose_answer_is_lost_goes_back_to_the_queue(
    probe: Probe,
) -> None:
    delivery, seconds = _deliver(probe)
    # System errors do not use up the two retries of function errors; 1, 2, 4, 8 s apart.
    assert (delivery.attempts, delivery.errored) == (5, False)
    # The virtual clock also counts the handlers' real run time, which grows on a loaded machine.
    assert seconds == pytest.approx(5 * 1 + 1 + 2 + 4 + 8, abs=3)
    assert len(probe.runs()) == 5


@pytest.mark.parametrize(
    "probe", [{"lambda": {"ProbeFunction": {"duplicate": [1]}}}], indirect=True, ids=["faults"]
)
def test_an_asynchronous_invocation_can_be_delivered_twice(probe: Probe) -> None:
    delivery, _ = _deliver(probe)
    assert (delivery.attempts, delivery.errored) == (1, False)
    assert len(probe.runs()) == 2


# --------------------------------------------------------------------------- isolation


def _load_config_event(execution: str) -> dict[str, Any]:
    event = json.loads((REPO / "events" / "load_config.json").read_text())
    return {**event, "executionArn": execution}


def _ended_run(aws: LocalAws) -> dict[str, Any]:
    """The sample status change (events/start_release.json) of an execution that exists
    and ended before LoadConfig returned a configuration (a one-state stand-in), so that
    StartRelease reads the secret itself to build the release's input."""
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="ended-before-load-config",
        definition=json.dumps({"StartAt": "Stop", "States": {"Stop": {"Type": "Fail"}}}),
        roleArn="arn:aws:iam::123456789012:role/stand-in",
    )["stateMachineArn"]
    event = json.loads((REPO / "events" / "start_release.json").read_text())
    arn = sfn.start_execution(stateMachineArn=machine, name=event["detail"]["name"])["executionArn"]
    deadline = time.monotonic() + 10
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the stand-in execution never ended"
        time.sleep(0.01)
    detail = {**event["detail"], "executionArn": arn, "stateMachineArn": machine}
    return {**event, "resources": [arn], "detail": detail}


def _sweep_event() -> dict[str, Any]:
    return dict(json.loads((REPO / "events" / "start_release_sweep.json").read_text()))


@pytest.fixture
def only_ebs() -> Iterator[tuple[LocalAws, dict[str, str]]]:
    """The OnlyEBS stack deployed in a fresh local AWS (each function still cold), and
    function logical id -> deployed name."""
    with LocalAws(REPO, Simulation()) as aws:
        stack = aws.deploy("OnlyEBS")
        names = {code.logical_id: name for name, code in stack.functions.items()}
        yield aws, names


def _invoke(aws: LocalAws, name: str, event: dict[str, Any]) -> tuple[bool, Any]:
    answer = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return "FunctionError" in answer, json.loads(answer["Payload"].read())


def _throttle_secret_reads(aws: LocalAws, function: str) -> None:
    """From now on every GetSecretValue call ``function`` makes is throttled."""
    aws.sim.behaviour = Aws.model_validate(
        {"throttle": {"secretsmanager:GetSecretValue": {"function": function, "count": 100}}}
    )


def test_a_function_never_reads_another_functions_cached_secret(
    only_ebs: tuple[LocalAws, dict[str, str]],
) -> None:
    aws, names = only_ebs
    ended = _ended_run(aws)
    execution = ended["detail"]["executionArn"]
    errored, answer = _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    assert not errored, answer
    _throttle_secret_reads(aws, "StartReleaseFunction")
    errored, answer = _invoke(aws, names["StartReleaseFunction"], ended)
    assert errored
    # Powertools wraps the ClientError in GetParameterError; the layer names it transient.
    assert answer["errorType"] == "AwsTransientError"
    assert "ThrottlingException" in answer["errorMessage"]
    assert "GetSecretValue" in answer["errorMessage"]
    # Every run reads the secret afresh, cached copy or not: LoadConfig meets the throttling too.
    _throttle_secret_reads(aws, "LoadConfigFunction")
    errored, answer = _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    assert errored
    assert "ThrottlingException" in answer["errorMessage"]


def test_each_function_keeps_its_own_clients_from_one_invocation_to_the_next(
    only_ebs: tuple[LocalAws, dict[str, str]],
) -> None:
    aws, names = only_ebs
    execution = _load_config_event("")["executionArn"]
    from batchscratch import aws as layer_aws  # noqa: PLC0415 - importable once deployed

    outside = dict(layer_aws.CLIENTS)
    functions = containers(aws.sim)
    # The daily sweep (nothing to release here) asks Step Functions and the tagging API.
    errored, answer = _invoke(aws, names["StartReleaseFunction"], _sweep_event())
    assert not errored, answer
    first = dict(functions["StartReleaseFunction"].state["batchscratch.aws:CLIENTS"])
    _invoke(aws, names["LoadConfigFunction"], _load_config_event(execution))
    _invoke(aws, names["StartReleaseFunction"], _sweep_event())
    again = functions["StartReleaseFunction"].state["batchscratch.aws:CLIENTS"]
    assert first, "StartRelease made no layer client"
    assert all(again[service] is client for service, client in first.items())
    others = [
        client
        for logical_id, container in functions.items()
        if logical_id != "StartReleaseFunction"
        for client in container.state.get("batchscratch.aws:CLIENTS", {}).values()
    ]
    assert not any(client is mine for client in others for mine in first.values())
    assert outside == layer_aws.CLIENTS
