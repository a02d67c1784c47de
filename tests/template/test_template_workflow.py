"""The state machine, its configuration secret, the reaper and the names users look for."""

import json
import re
from typing import Any

from batchscratch.config import build_config
from tests.template.cfn import (
    PSEUDO_PARAMETERS,
    REPO,
    allows,
    as_list,
    resource_text,
    resources_of_type,
    role_statements,
)

ASL = "statemachine/only_ebs.asl.json"
LAMBDA_STEPS = [
    "LoadConfigFunction",
    "CreateVolumeFunction",
    "CheckVolumeFunction",
    "PrepareComputeFunction",
    "CheckComputeFunction",
    "CleanupComputeFunction",
    "ReleaseVolumeFunction",
]
SECRET_DEFAULTS = {
    "deleteEbs": True,
    "ebsSizeGb": 500,
    "ebsIOPS": 5000,
    "ebsThroughput": 500,
    "jobDefinitionContainerImage": (
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${EcrRepository}:latest"
    ),
    "jobDefinitionRetryAttempts": 5,
    "jobDefinitionVcpus": 32,
    "jobDefinitionMemory": 30000,
    "waitForEbsCreationSeconds": 30,
    "waitForJobCompletionSeconds": 300,
    "waitAfterDetachSeconds": 10,
}
OUTPUTS = {
    "StateMachineArn",
    "ConfigSecretName",
    "DataBucketName",
    "EcrRepositoryUri",
    "BatchVpcId",
    "BatchPrivateSubnetIds",
    "BatchSecurityGroupId",
}


def _state_machine(rendered: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((name, body),) = resources_of_type(rendered, "AWS::StepFunctions::StateMachine").items()
    return name, body["Properties"]


def test_the_state_machine_definition_is_the_only_ebs_file(sam_template: dict[str, Any]) -> None:
    properties = sam_template["Resources"]["OnlyEbsStateMachine"]["Properties"]
    assert properties["DefinitionUri"] == ASL
    assert (REPO / ASL).is_file()


def test_the_state_machine_is_named_and_observable(only_ebs: dict[str, Any]) -> None:
    _, properties = _state_machine(only_ebs)
    assert properties["StateMachineName"] == {
        "Fn::Sub": "BatchJobWithOnlyEBSStateMachine-${AWS::StackName}"
    }
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert only_ebs["Resources"][group]["Type"] == "AWS::Logs::LogGroup"


def test_substitutions_and_asl_placeholders_match(only_ebs: dict[str, Any]) -> None:
    _, properties = _state_machine(only_ebs)
    substitutions = properties["DefinitionSubstitutions"]
    placeholders = set(re.findall(r"\$\{([^}]+)\}", (REPO / ASL).read_text()))
    assert set(substitutions) == placeholders
    assert set(substitutions) == {f"{name}Arn" for name in LAMBDA_STEPS}
    for key, value in substitutions.items():
        function = key.removesuffix("Arn")
        assert value == {"Fn::GetAtt": [function, "Arn"]}
        assert only_ebs["Resources"][function]["Type"] == "AWS::Lambda::Function"


def test_the_state_machine_may_invoke_its_steps_and_run_the_job(only_ebs: dict[str, Any]) -> None:
    name, properties = _state_machine(only_ebs)
    role = properties["RoleArn"]["Fn::GetAtt"][0]
    statements = role_statements(only_ebs, role)
    invoke = allows(statements, "lambda:InvokeFunction")
    invoked = {
        json.dumps(resource, sort_keys=True)
        for statement in invoke
        for resource in as_list(statement["Resource"])
    }
    for function in LAMBDA_STEPS:
        assert any(f'"Ref": "{function}"' in text for text in invoked), function
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
    managed = only_ebs["Resources"][role]["Properties"]["ManagedPolicyArns"]
    assert any(str(arn).endswith(":policy/AWSXrayWriteOnlyAccess") for arn in managed), name


def test_the_secret_holds_the_original_defaults(only_ebs: dict[str, Any]) -> None:
    properties = only_ebs["Resources"]["ConfigSecret"]["Properties"]
    assert properties["Name"] == {"Fn::Sub": "BatchJobWithOnlyEbs-${AWS::StackName}"}
    secret = json.loads(properties["SecretString"]["Fn::Sub"])
    assert secret == SECRET_DEFAULTS
    assert only_ebs["Outputs"]["ConfigSecretName"]["Value"] == properties["Name"]


def test_the_secret_defaults_pass_the_configuration_loader(only_ebs: dict[str, Any]) -> None:
    text = only_ebs["Resources"]["ConfigSecret"]["Properties"]["SecretString"]["Fn::Sub"]
    for name, value in {**PSEUDO_PARAMETERS, "EcrRepository": "batch-job-with-ebs"}.items():
        text = text.replace("${" + name + "}", value)
    config = build_config("OnlyEBS", json.loads(text), {})
    assert config.jobDefinitionContainerImage == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job-with-ebs:latest"
    )


def test_the_job_image_repository(only_ebs: dict[str, Any]) -> None:
    properties = only_ebs["Resources"]["EcrRepository"]["Properties"]
    assert properties["RepositoryName"] == {"Ref": "EcrRepositoryName"}
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert only_ebs["Parameters"]["EcrRepositoryName"] == "batch-job-with-ebs"
    assert only_ebs["Outputs"]["EcrRepositoryUri"]["Value"] == {
        "Fn::GetAtt": ["EcrRepository", "RepositoryUri"]
    }


def test_the_reaper_hears_every_unsuccessful_end_of_this_state_machine(
    only_ebs: dict[str, Any],
) -> None:
    state_machine, _ = _state_machine(only_ebs)
    rules = [
        body["Properties"]
        for body in resources_of_type(only_ebs, "AWS::Events::Rule").values()
        if {"Fn::GetAtt": ["ReaperFunction", "Arn"]}
        in [target["Arn"] for target in body["Properties"]["Targets"]]
    ]
    assert len(rules) == 1
    assert rules[0]["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["ABORTED", "TIMED_OUT", "FAILED"],
            "stateMachineArn": [{"Ref": state_machine}],
        },
    }
    (invoke_config,) = resources_of_type(only_ebs, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": "ReaperFunction"}
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2


def test_outputs_name_what_users_need(only_ebs: dict[str, Any]) -> None:
    outputs = only_ebs["Outputs"]
    assert set(outputs) >= OUTPUTS
    state_machine, _ = _state_machine(only_ebs)
    assert outputs["StateMachineArn"]["Value"] == {"Ref": state_machine}
    assert outputs["DataBucketName"]["Value"] == {"Ref": "DataBucket"}
    assert outputs["BatchSecurityGroupId"]["Value"] == {
        "Fn::GetAtt": ["BatchSecurityGroup", "GroupId"]
    }
    for name, output in outputs.items():
        assert output.get("Description"), name


def test_output_names_differ_from_parameter_names(sam_template: dict[str, Any]) -> None:
    # SAM CLI resolves output names as symbols: an output named like a list parameter
    # breaks `sam build` and `sam local`.
    assert set(sam_template["Outputs"]).isdisjoint(sam_template["Parameters"])
