"""The state machines, the configuration secrets, the release workflow and the names users
look for."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.config import AutoExportConfig, build_config
from batchscratch.modes import MODES as REGISTRY
from tests.template.cfn import (
    PSEUDO_PARAMETERS,
    REPO,
    allows,
    as_list,
    resource_text,
    resources_of_type,
    role_statements,
)
from tests.template.test_template_defaults import UNPINNED_TAG

SECRET_KEYS: dict[str, set[str]] = {
    "OnlyEBS": {
        "deleteEbs",
        "ebsSizeGb",
        "ebsIOPS",
        "ebsThroughput",
        "jobDefinitionContainerImage",
        "jobDefinitionRetryAttempts",
        "jobDefinitionVcpus",
        "jobDefinitionMemory",
        "waitForEbsCreationSeconds",
        "waitForJobCompletionSeconds",
        "waitAfterDetachSeconds",
    },
    "TaskExport": {
        "deleteLustre",
        "lustreFileSystemTypeVersion",
        "lustreStorageCapacity",
        "lustreImportedFileChunkSize",
        "jobDefinitionContainerImage",
        "jobDefinitionRetryAttempts",
        "jobDefinitionVcpus",
        "jobDefinitionMemory",
        "waitForLustreCreationSeconds",
        "waitForJobCompletionSeconds",
        "waitForDataRepositoryTaskSeconds",
        "lustreDeploymentType",
        "arraySize",
        "onFailure",
    },
}
"""The keys of the secret each mode's stack writes: the original project's keys, which its
users look for in Secrets Manager. Their values are the model's defaults
(test_template_defaults.py)."""
# TaskExport's keys plus the drain check's (the original AutoExport secret's keys).
SECRET_KEYS["AutoExport"] = SECRET_KEYS["TaskExport"] | {
    "waitForCheckMetricsSeconds",
    "lambdaPeriodSeconds",
    "lambdaTimeDiffMinutes",
}
MODES: dict[str, dict[str, Any]] = {
    name: {
        "asl": mode.definition_uri,
        "state_machine_prefix": mode.state_machine_prefix,
        "secret_prefix": mode.secret_prefix,
        "repository": mode.ecr_repository,
        "steps": [step.function for step in mode.steps],
        "secret_keys": SECRET_KEYS.get(name),
    }
    for name, mode in REGISTRY.items()
}
"""What each mode deploys, from the mode registry (batchscratch.modes)."""
OUTPUTS = {
    "StateMachineArn",
    "StateMachineName",
    "ConfigSecretName",
    "DataBucketName",
    "EcrRepositoryUri",
    "JobLogGroupName",
    "BatchVpcId",
    "BatchPrivateSubnetIds",
    "BatchSecurityGroupId",
    "ReleaseStateMachineArn",
    "ReleaseTopicArn",
}
RELEASE = "ReleaseStateMachine"
RELEASE_STEPS = ("ReleaseRunFunction", "RetainRunFunction")
# What the secret's references resolve to in the tests (a bucket name CloudFormation could make).
REFERENCES = {**PSEUDO_PARAMETERS, "DataBucket": "batch-scratch-test-databucket-1a2b3c4d5e6f"}


@pytest.fixture(scope="module", params=sorted(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def rendered(render: Callable[..., dict[str, Any]], mode: str) -> dict[str, Any]:
    return render(Mode=mode)


def _state_machine(rendered: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The run state machine (the other one is the release workflow's)."""
    machines = resources_of_type(rendered, "AWS::StepFunctions::StateMachine").items()
    ((name, body),) = [(name, body) for name, body in machines if name != RELEASE]
    return name, body["Properties"]


def _secret_text(rendered: dict[str, Any], mode: str) -> str:
    text: str = rendered["Resources"]["ConfigSecret"]["Properties"]["SecretString"]["Fn::Sub"]
    references = {**REFERENCES, "EcrRepository": MODES[mode]["repository"]}
    for name, value in references.items():
        text = text.replace("${" + name + "}", value)
    return text


def test_every_mode_s_secret_is_expected() -> None:
    assert set(SECRET_KEYS) == set(REGISTRY)


def test_each_mode_deploys_its_own_state_machine_file(
    sam_template: dict[str, Any], rendered: dict[str, Any], mode: str
) -> None:
    expected = MODES[mode]
    by_file = {
        body["Properties"]["DefinitionUri"]: name
        for name, body in resources_of_type(sam_template, "AWS::Serverless::StateMachine").items()
    }
    assert (REPO / expected["asl"]).is_file()
    name, _ = _state_machine(rendered)
    assert name == by_file[expected["asl"]]


def test_the_state_machine_is_named_and_observable(rendered: dict[str, Any], mode: str) -> None:
    _, properties = _state_machine(rendered)
    prefix = MODES[mode]["state_machine_prefix"]
    # The stack id's first 8 hex digits, not the stack name: a name of up to 128 characters
    # would take the state machine name past its limit of 80.
    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert properties["StateMachineName"] == {
        "Fn::Sub": [
            prefix + "-${StackKey}",
            {"StackKey": {"Fn::Select": [0, {"Fn::Split": ["-", stack_uuid]}]}},
        ]
    }
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # The configuration (jobEnvironment values included) stays out of the logs.
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert rendered["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert rendered["Resources"][group]["Properties"]["LogGroupName"] == {
        "Fn::Sub": f"/aws/vendedlogs/states/{prefix}" + "-${AWS::StackName}"
    }


def test_substitutions_and_asl_placeholders_match(rendered: dict[str, Any], mode: str) -> None:
    _, properties = _state_machine(rendered)
    substitutions = properties["DefinitionSubstitutions"]
    placeholders = set(re.findall(r"\$\{([^}]+)\}", (REPO / MODES[mode]["asl"]).read_text()))
    assert set(substitutions) == placeholders
    steps = {f"{name}Arn" for name in MODES[mode]["steps"]}
    assert set(substitutions) == steps | {f"{RELEASE}Arn"}
    # The failure path starts the release workflow.
    assert substitutions.pop(f"{RELEASE}Arn") == {"Ref": RELEASE}
    for key, value in substitutions.items():
        function = key.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}
        assert rendered["Resources"][function]["Type"] == "AWS::Lambda::Function"


def test_the_state_machine_may_invoke_its_steps_and_run_the_job(
    rendered: dict[str, Any], mode: str
) -> None:
    name, properties = _state_machine(rendered)
    role = properties["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(rendered, role)
    invoke = allows(statements, "lambda:InvokeFunction")
    invoked = {
        json.dumps(resource, sort_keys=True)
        for statement in invoke
        for resource in as_list(statement["Resource"])
    }
    for function in MODES[mode]["steps"]:
        assert any(f'"Ref": "{function}"' in text for text in invoked), function
    assert len(invoked) == len(MODES[mode]["steps"])
    # batch:submitJob.sync, for single and array jobs alike.
    for action in ("batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob"):
        assert allows(statements, action), action
    rule = (
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:"
        "rule/StepFunctionsGetEventsForBatchJobsRule"
    )
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        resources = [
            resource_text(r) for s in allows(statements, action) for r in as_list(s["Resource"])
        ]
        assert resources == [rule], action
    for action in ("logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeLogGroups"):
        assert allows(statements, action), action
    managed = rendered["Resources"][role]["Properties"]["ManagedPolicyArns"]
    assert any(str(arn).endswith(":policy/AWSXrayWriteOnlyAccess") for arn in managed), name
    # Its failure path starts the release workflow, and only that state machine.
    (start,) = allows(statements, "states:StartExecution")
    assert "ReleaseStateMachine" in json.dumps(start["Resource"])


def test_the_secret_holds_the_mode_s_defaults(rendered: dict[str, Any], mode: str) -> None:
    properties = rendered["Resources"]["ConfigSecret"]["Properties"]
    prefix = MODES[mode]["secret_prefix"]
    assert properties["Name"] == {"Fn::Sub": prefix + "-${AWS::StackName}"}
    secret = json.loads(properties["SecretString"]["Fn::Sub"])
    assert set(secret) == MODES[mode]["secret_keys"]
    assert rendered["Outputs"]["ConfigSecretName"]["Value"] == properties["Name"]


def test_the_secret_defaults_pass_the_configuration_loader(
    rendered: dict[str, Any], mode: str
) -> None:
    config = build_config(mode, json.loads(_secret_text(rendered, mode)), {})
    assert config.jobDefinitionContainerImage == (
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{MODES[mode]['repository']}:" + UNPINNED_TAG
    )


def test_every_state_machine_file_is_deployed_by_one_mode() -> None:
    files = {path.relative_to(REPO).as_posix() for path in REPO.glob("statemachine/*.asl.json")}
    deployed = [expected["asl"] for expected in MODES.values()] + ["statemachine/release.asl.json"]
    assert sorted(deployed) == sorted(files)


@pytest.mark.parametrize("mode_name", ["TaskExport", "AutoExport"])
def test_lustre_runs_link_their_own_prefix_by_default(
    render: Callable[..., dict[str, Any]], mode_name: str
) -> None:
    secret = json.loads(_secret_text(render(Mode=mode_name), mode_name))
    # Unset on purpose: each run then links its own prefix, runs/<run id>/ of the data bucket
    # (batchscratch.placement.link_run); a path written here would be shared by every run.
    assert "dataRepositoryPath" not in secret
    # Data repository associations need Lustre 2.12 or newer and exclude SCRATCH_1.
    assert secret["lustreFileSystemTypeVersion"] == "2.15"
    assert secret["lustreDeploymentType"] != "SCRATCH_1"


def test_auto_export_secret_sets_the_drain_check_and_verifies_by_default(
    auto_export: dict[str, Any],
) -> None:
    secret = json.loads(_secret_text(auto_export, "AutoExport"))
    config = build_config("AutoExport", secret, {})
    assert isinstance(config, AutoExportConfig)
    # Poll every minute, at the metric's one-minute period, for a 15-minute quiet window.
    drain = (config.waitForCheckMetricsSeconds, config.lambdaPeriodSeconds)
    assert (*drain, config.lambdaTimeDiffMinutes) == (60, 60, 15)
    # Not in the secret: the model's defaults apply (bounded drain, verify before deleting).
    assert "drainTimeoutSeconds" not in secret
    assert "verifyExportBeforeDelete" not in secret
    assert config.drainTimeoutSeconds == 7200
    assert config.verifyExportBeforeDelete is True


def test_only_auto_export_has_drain_keys(rendered: dict[str, Any], mode: str) -> None:
    secret = json.loads(_secret_text(rendered, mode))
    drain_keys = {"waitForCheckMetricsSeconds", "lambdaPeriodSeconds", "lambdaTimeDiffMinutes"}
    assert (drain_keys <= set(secret)) is (mode == "AutoExport")
    assert drain_keys.isdisjoint(secret) is (mode != "AutoExport")


def test_the_job_image_repository_has_the_mode_s_name(rendered: dict[str, Any], mode: str) -> None:
    properties = rendered["Resources"]["EcrRepository"]["Properties"]
    assert properties["RepositoryName"] == MODES[mode]["repository"]
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    # A tag names one image for ever (ECR CreateRepository imageTagMutability), so the
    # image a run used can be found again; push-image.sh pushes a new tag each time.
    assert properties["ImageTagMutability"] == "IMMUTABLE"
    assert rendered["Outputs"]["EcrRepositoryUri"]["Value"] == {
        "Fn::GetAtt": ["EcrRepository", "RepositoryUri"]
    }


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_a_repository_name_given_replaces_the_mode_s(
    render: Callable[..., dict[str, Any]], mode_name: str
) -> None:
    rendered = render(Mode=mode_name, EcrRepositoryName="team/my-job")
    properties = rendered["Resources"]["EcrRepository"]["Properties"]
    assert properties["RepositoryName"] == {"Ref": "EcrRepositoryName"}


def _targets_of(rendered: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        body["Properties"]
        for body in resources_of_type(rendered, "AWS::Events::Rule").values()
        if {"Fn::GetAtt": [function, "Arn"]}
        in [target["Arn"] for target in body["Properties"]["Targets"]]
    ]


def test_start_release_hears_every_unsuccessful_end_and_the_sweep_schedule(
    rendered: dict[str, Any],
) -> None:
    state_machine, _ = _state_machine(rendered)
    rules = _targets_of(rendered, "StartReleaseFunction")
    patterns = [rule["EventPattern"] for rule in rules if "EventPattern" in rule]
    assert patterns == [
        {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {
                "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                "stateMachineArn": [{"Ref": state_machine}],
            },
        }
    ]
    schedules = [rule["ScheduleExpression"] for rule in rules if "ScheduleExpression" in rule]
    assert schedules == [{"Ref": "SweepSchedule"}]
    (invoke_config,) = resources_of_type(rendered, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": "StartReleaseFunction"}
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2


def test_the_sweep_runs_daily_unless_told_otherwise(sam_template: dict[str, Any]) -> None:
    assert sam_template["Parameters"]["SweepSchedule"]["Default"] == "rate(1 day)"


def test_start_release_reads_only_this_state_machine_s_executions(
    rendered: dict[str, Any], mode: str
) -> None:
    role = rendered["Resources"]["StartReleaseFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = role_statements(rendered, role)
    state_machine, _ = _state_machine(rendered)
    (history,) = allows(statements, "states:GetExecutionHistory")
    text, variables = history["Resource"]["Fn::Sub"]
    assert text == (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*"
    )
    assert variables == {"Name": {"Fn::GetAtt": [state_machine, "Name"]}}
    described = {
        json.dumps(s["Resource"], sort_keys=True)
        for s in allows(statements, "states:DescribeExecution")
    }
    assert len(described) == 2  # its runs' executions and the releases'
    (start,) = allows(statements, "states:StartExecution")
    assert "ReleaseStateMachine" in json.dumps(start["Resource"])


def test_the_release_workflow_is_named_observable_and_runs_its_two_steps(
    rendered: dict[str, Any],
) -> None:
    properties = rendered["Resources"][RELEASE]["Properties"]
    stack_uuid = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert properties["StateMachineName"] == {
        "Fn::Sub": [
            "BatchScratchRelease-${StackKey}",
            {"StackKey": {"Fn::Select": [0, {"Fn::Split": ["-", stack_uuid]}]}},
        ]
    }
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    substitutions = properties["DefinitionSubstitutions"]
    placeholders = set(
        re.findall(r"\$\{([^}]+)\}", (REPO / "statemachine/release.asl.json").read_text())
    )
    assert set(substitutions) == placeholders == {f"{name}Arn" for name in RELEASE_STEPS}
    role = properties["RoleArn"]["Fn::GetAtt"][0]
    invoked = json.dumps(
        [s["Resource"] for s in allows(role_statements(rendered, role), "lambda:InvokeFunction")]
    )
    for function in RELEASE_STEPS:
        assert f'"Ref": "{function}"' in invoked, function


def test_a_failed_release_raises_the_alarm_and_notifies_the_topic(rendered: dict[str, Any]) -> None:
    alarm = resources_of_type(rendered, "AWS::CloudWatch::Alarm")["ReleaseFailedAlarm"]
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert properties["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": RELEASE}}]
    assert properties["AlarmActions"] == [{"Ref": "ReleaseTopic"}]
    assert properties["Threshold"] == 1
    # CloudWatch alarms cannot use the AWS managed key aws/sns: the topic has its own key,
    # whose policy admits the alarm service.
    topic = rendered["Resources"]["ReleaseTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "ReleaseTopicKey"}
    key = rendered["Resources"]["ReleaseTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals
    retain = rendered["Resources"]["RetainRunFunction"]["Properties"]
    assert retain["Environment"]["Variables"]["TOPIC_ARN"] == {"Ref": "ReleaseTopic"}


def test_a_start_release_that_fails_alarms_and_sends_its_event_to_the_topic(
    rendered: dict[str, Any],
) -> None:
    """An aborted run whose status change StartRelease could not handle is not silent."""
    alarm = resources_of_type(rendered, "AWS::CloudWatch::Alarm")["StartReleaseFailedAlarm"]
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Errors")
    assert properties["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "StartReleaseFunction"}}
    ]
    assert properties["AlarmActions"] == [{"Ref": "ReleaseTopic"}]
    (invoke_config,) = [
        resource["Properties"]
        for resource in resources_of_type(rendered, "AWS::Lambda::EventInvokeConfig").values()
        if resource["Properties"]["FunctionName"] == {"Ref": "StartReleaseFunction"}
    ]
    assert invoke_config["DestinationConfig"]["OnFailure"] == {
        "Destination": {"Ref": "ReleaseTopic"}
    }


def test_an_email_address_is_subscribed_only_when_given(
    render: Callable[..., dict[str, Any]],
) -> None:
    assert resources_of_type(render(), "AWS::SNS::Subscription") == {}
    (subscription,) = resources_of_type(
        render(NotificationEmail="hpc@example.com"), "AWS::SNS::Subscription"
    ).values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "NotificationEmail"}


def test_outputs_name_what_users_need(rendered: dict[str, Any]) -> None:
    outputs = rendered["Outputs"]
    assert set(outputs) >= OUTPUTS
    state_machine, _ = _state_machine(rendered)
    assert outputs["StateMachineArn"]["Value"] == {"Ref": state_machine}
    assert outputs["StateMachineName"]["Value"] == {"Fn::GetAtt": [state_machine, "Name"]}
    assert outputs["DataBucketName"]["Value"] == {"Ref": "DataBucket"}
    assert outputs["BatchSecurityGroupId"]["Value"] == {
        "Fn::GetAtt": ["BatchSecurityGroup", "GroupId"]
    }
    assert outputs["ReleaseStateMachineArn"]["Value"] == {"Ref": RELEASE}
    assert outputs["ReleaseTopicArn"]["Value"] == {"Ref": "ReleaseTopic"}
    for name, output in outputs.items():
        assert output.get("Description"), name


def test_output_names_differ_from_parameter_names(sam_template: dict[str, Any]) -> None:
    # SAM CLI resolves output names as symbols: an output named like a list parameter
    # breaks `sam build` and `sam local`.
    assert set(sam_template["Outputs"]).isdisjoint(sam_template["Parameters"])
