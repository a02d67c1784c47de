"""The Lambda functions, their layer, their settings and the network they are told about."""

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.history import WATCH_MARGIN_SECONDS, WATCH_SECONDS
from batchscratch.modes import MODES, RELEASE_STEPS
from tests.template.cfn import REPO, as_list, policy_statements, references, resources_of_type

STEPS = {step for mode in MODES.values() for step in mode.steps} | set(RELEASE_STEPS)
"""Every Lambda step of every state machine (batchscratch.modes)."""

COMMON_ENVIRONMENT = {
    "STACK_NAME": {"Ref": "AWS::StackName"},
    "MODE": {"Ref": "Mode"},
    "RUN_TIMEOUT_SECONDS": {"Ref": "RunTimeoutSeconds"},
    "POWERTOOLS_SERVICE_NAME": "batch-scratch",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
COMPUTE_SETTINGS = {
    "COMPUTE_ENVIRONMENT_TYPE": "ComputeEnvironmentType",
    "ALLOCATION_STRATEGY": "AllocationStrategy",
    "INSTANCE_TYPES": "InstanceTypes",
    "MIN_VCPUS": "MinvCpus",
    "MAX_VCPUS": "MaxvCpus",
    "DESIRED_VCPUS": "DesiredvCpus",
    "BATCH_SERVICE_ROLE_ARN": "BatchServiceRoleArn",
}
FUNCTIONS: dict[str, tuple[str, set[str]]] = {
    "LoadConfigFunction": (
        "load_config",
        {
            "CONFIG_SECRET_ID",
            "DATA_BUCKET_NAME",
            "INSTANCE_TYPES",
            "MAX_VCPUS",
            "EXECUTION_INPUT_KEYS",
            "ALLOWED_IMAGES",
            "KMS_KEY_ARN",
        },
    ),
    "CreateVolumeFunction": ("create_volume", {"PRIVATE_SUBNET_IDS", "KMS_KEY_ARN"}),
    "CheckVolumeFunction": ("check_volume", set()),
    "CreateFileSystemFunction": (
        "create_file_system",
        {"PRIVATE_SUBNET_IDS", "BATCH_SECURITY_GROUP_ID", "KMS_KEY_ARN"},
    ),
    "CheckFileSystemFunction": ("check_file_system", set()),
    "StartExportFunction": ("start_export", set()),
    "CheckExportFunction": ("check_export", set()),
    "ReleaseFileSystemFunction": ("release_file_system", set()),
    "CheckDrainFunction": ("check_drain", set()),
    "DisableAutoExportFunction": ("disable_auto_export", set()),
    "PrepareComputeFunction": (
        "prepare_compute",
        {
            "PRIVATE_SUBNET_IDS",
            "BATCH_SECURITY_GROUP_ID",
            "INSTANCE_PROFILE_ARN",
            "JOB_ROLE_ARN",
            "DATA_BUCKET_NAME",
            "JOB_LOG_GROUP_NAME",
            "KMS_KEY_ARN",
            *COMPUTE_SETTINGS,
        },
    ),
    "CheckComputeFunction": ("check_compute", set()),
    "CheckJobStartFunction": ("check_job_start", set()),
    "FindRunJobFunction": ("find_run_job", set()),
    "CleanUpComputeFunction": ("clean_up_compute", set()),
    "ReleaseVolumeFunction": ("release_volume", set()),
    "ReleaseRunFunction": ("release_run", set()),
    "RetainRunFunction": ("retain_run", {"TOPIC_ARN"}),
    "StartReleaseFunction": (
        "start_release",
        {"CONFIG_SECRET_ID", "RELEASE_STATE_MACHINE_ARN", "EXECUTION_INPUT_KEYS"},
    ),
}
LUSTRE_ENVIRONMENT = {"LoadConfigFunction": {"MAX_LUSTRE_STORAGE_CAPACITY"}}
"""Variables a function has in the Lustre modes only."""
ONLY_EBS_RESOURCES = {
    "CreateVolumeFunction",
    "CreateVolumeLogGroup",
    "CheckVolumeFunction",
    "CheckVolumeLogGroup",
    "ReleaseVolumeFunction",
    "ReleaseVolumeLogGroup",
    "VolumeReleasePolicy",
    "RetainVolumesPolicy",
    "BatchInstanceVolumePolicy",
    "OnlyEbsStateMachine",
    "OnlyEbsStateMachineLogGroup",
}
LUSTRE_RESOURCES = {
    "CreateFileSystemFunction",
    "CreateFileSystemLogGroup",
    "CheckFileSystemFunction",
    "CheckFileSystemLogGroup",
    "StartExportFunction",
    "StartExportLogGroup",
    "CheckExportFunction",
    "CheckExportLogGroup",
    "ReleaseFileSystemFunction",
    "ReleaseFileSystemLogGroup",
    "FileSystemReleasePolicy",
    "RetainFileSystemsPolicy",
    "LustreIngressPort988",
    "LustreIngressPorts1018To1023",
}
TASK_EXPORT_RESOURCES = {"TaskExportStateMachine", "TaskExportStateMachineLogGroup"}
AUTO_EXPORT_RESOURCES = {
    "CheckDrainFunction",
    "CheckDrainLogGroup",
    "DisableAutoExportFunction",
    "DisableAutoExportLogGroup",
    "AutoExportStateMachine",
    "AutoExportStateMachineLogGroup",
}
LUSTRE_FUNCTIONS = {name for name in LUSTRE_RESOURCES if name.endswith("Function")}
AUTO_EXPORT_FUNCTIONS = {name for name in AUTO_EXPORT_RESOURCES if name.endswith("Function")}
EBS_FUNCTIONS = {name for name in ONLY_EBS_RESOURCES if name.endswith("Function")}
MODE_FUNCTIONS = {
    "OnlyEBS": set(FUNCTIONS) - LUSTRE_FUNCTIONS - AUTO_EXPORT_FUNCTIONS,
    "TaskExport": set(FUNCTIONS) - EBS_FUNCTIONS - AUTO_EXPORT_FUNCTIONS,
    "AutoExport": set(FUNCTIONS) - EBS_FUNCTIONS,
}
DEPLOYED_FUNCTIONS = sorted(
    (mode, name) for mode, names in MODE_FUNCTIONS.items() for name in names
)
# EBS actions no Lustre deployment may allow, and the resource types of EBS (an instance
# role allowed to attach volumes, a function allowed to snapshot them).
EBS_ACTIONS = {
    "ec2:CreateVolume",
    "ec2:DeleteVolume",
    "ec2:AttachVolume",
    "ec2:DetachVolume",
    "ec2:CreateSnapshot",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
}
OWN_VPC = {
    "VpcId": "vpc-0123456789abcdef0",
    "PrivateSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
}


def test_the_functions_are_exactly_the_workflow_steps(sam_template: dict[str, Any]) -> None:
    functions = {
        name
        for name, body in sam_template["Resources"].items()
        if body["Type"] == "AWS::Serverless::Function"
    }
    assert functions == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_code_lives_in_its_own_folder(sam_template: dict[str, Any], name: str) -> None:
    folder, _ = FUNCTIONS[name]
    assert sam_template["Resources"][name]["Properties"]["CodeUri"] == f"functions/{folder}/"
    assert (REPO / "functions" / folder / "app.py").is_file()


@pytest.mark.parametrize(("mode", "name"), DEPLOYED_FUNCTIONS)
def test_function_runtime_and_settings(
    render: Callable[..., dict[str, Any]], mode: str, name: str
) -> None:
    resources = render(Mode=mode)["Resources"]
    properties = resources[name]["Properties"]
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "app.lambda_handler"
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["MemorySize"] == 256
    # A check step watches within its invocation (batchscratch.polling.watch): its Timeout
    # leaves the margin beyond the watch. Every other function needs at most one minute: the
    # release paces itself with Wait states.
    watching = {step.function for step in STEPS if step.interval is not None}
    if name in watching:
        assert properties["Timeout"] >= WATCH_SECONDS + WATCH_MARGIN_SECONDS
    else:
        assert properties["Timeout"] == 60
    (layer,) = properties["Layers"]
    assert layer["Ref"].startswith("CommonLayer")
    assert resources[layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"


@pytest.mark.parametrize(("mode", "name"), DEPLOYED_FUNCTIONS)
def test_function_environment_is_the_documented_one(
    render: Callable[..., dict[str, Any]], mode: str, name: str
) -> None:
    _, extra = FUNCTIONS[name]
    if mode != "OnlyEBS":
        extra = extra | LUSTRE_ENVIRONMENT.get(name, set())
    variables = render(Mode=mode)["Resources"][name]["Properties"]["Environment"]["Variables"]
    assert set(variables) == set(COMMON_ENVIRONMENT) | extra
    assert {key: variables[key] for key in COMMON_ENVIRONMENT} == COMMON_ENVIRONMENT


def test_prepare_compute_gets_the_compute_parameters(deployment: dict[str, Any]) -> None:
    variables = deployment["Resources"]["PrepareComputeFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    for variable, parameter in COMPUTE_SETTINGS.items():
        assert variables[variable] == {"Ref": parameter}
    assert variables["BATCH_SECURITY_GROUP_ID"] == {"Fn::GetAtt": ["BatchSecurityGroup", "GroupId"]}
    assert variables["INSTANCE_PROFILE_ARN"] == {"Fn::GetAtt": ["BatchInstanceProfile", "Arn"]}
    assert variables["JOB_ROLE_ARN"] == {"Fn::GetAtt": ["JobRole", "Arn"]}
    assert variables["DATA_BUCKET_NAME"] == {"Ref": "DataBucket"}
    assert variables["JOB_LOG_GROUP_NAME"] == {"Ref": "JobLogGroup"}


def test_job_logs_have_a_stack_owned_group_with_a_retention(deployment: dict[str, Any]) -> None:
    """The jobs write into the stack's own group (PrepareCompute's JOB_LOG_GROUP_NAME), kept
    LogRetentionInDays like every other log of the stack, not into /aws/batch/job."""
    group = deployment["Resources"]["JobLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"] == {
        "LogGroupName": {"Fn::Sub": "/aws/batch/${AWS::StackName}/jobs"},
        "RetentionInDays": {"Ref": "LogRetentionInDays"},
    }
    assert deployment["Outputs"]["JobLogGroupName"]["Value"] == {"Ref": "JobLogGroup"}


def test_create_file_system_gets_the_network(lustre: dict[str, Any]) -> None:
    variables = lustre["Resources"]["CreateFileSystemFunction"]["Properties"]["Environment"][
        "Variables"
    ]
    assert variables["BATCH_SECURITY_GROUP_ID"] == {"Fn::GetAtt": ["BatchSecurityGroup", "GroupId"]}
    expected = {"Fn::Join": [",", [{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]]}
    assert variables["PRIVATE_SUBNET_IDS"] == expected


@pytest.mark.parametrize(("mode", "name"), DEPLOYED_FUNCTIONS)
def test_function_logs_have_a_retention(
    render: Callable[..., dict[str, Any]], mode: str, name: str
) -> None:
    groups = [
        body["Properties"]
        for body in resources_of_type(render(Mode=mode), "AWS::Logs::LogGroup").values()
        if body["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{name}}}"}
    ]
    assert len(groups) == 1
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_layer_is_built_from_layers_common(
    sam_template: dict[str, Any], only_ebs: dict[str, Any]
) -> None:
    layer = sam_template["Resources"]["CommonLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    # layers/common/Makefile builds it: arm64 wheels without the AWS SDK, compiled to .pyc.
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert (REPO / "layers" / "common" / "Makefile").is_file()
    assert (REPO / "layers" / "common" / "requirements.txt").is_file()
    assert (REPO / "layers" / "common" / "batchscratch" / "__init__.py").is_file()
    (rendered,) = resources_of_type(only_ebs, "AWS::Lambda::LayerVersion").values()
    assert rendered["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert rendered["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_only_ebs_resources_exist_only_in_only_ebs_mode(sam_template: dict[str, Any]) -> None:
    conditions = {
        name: sam_template["Resources"][name].get("Condition") for name in ONLY_EBS_RESOURCES
    }
    assert conditions == dict.fromkeys(ONLY_EBS_RESOURCES, "IsEbs")


def test_lustre_resources_exist_only_in_the_lustre_modes(sam_template: dict[str, Any]) -> None:
    resources = sam_template["Resources"]
    conditions = {name: resources[name].get("Condition") for name in LUSTRE_RESOURCES}
    assert conditions == dict.fromkeys(LUSTRE_RESOURCES, "IsLustre")
    conditions = {name: resources[name].get("Condition") for name in TASK_EXPORT_RESOURCES}
    assert conditions == dict.fromkeys(TASK_EXPORT_RESOURCES, "IsTaskExport")
    conditions = {name: resources[name].get("Condition") for name in AUTO_EXPORT_RESOURCES}
    assert conditions == dict.fromkeys(AUTO_EXPORT_RESOURCES, "IsAutoExport")


def test_lustre_modes_deploy_nothing_of_ebs(lustre: dict[str, Any]) -> None:
    resources = lustre["Resources"]
    assert set(resources).isdisjoint(ONLY_EBS_RESOURCES)
    assert set(resources) >= LUSTRE_RESOURCES
    allowed = {
        action
        for _, statement in policy_statements(lustre)
        for action in as_list(statement["Action"])
    }
    assert allowed, "no IAM statement found"
    assert allowed.isdisjoint(EBS_ACTIONS)
    assert "batch-job-with-ebs" not in json.dumps(resources)


def test_task_export_deploys_no_drain_check(task_export: dict[str, Any]) -> None:
    resources = task_export["Resources"]
    assert set(resources) >= TASK_EXPORT_RESOURCES
    assert set(resources).isdisjoint(AUTO_EXPORT_RESOURCES)
    assert "check_drain" not in json.dumps(resources)


def test_auto_export_deploys_its_own_steps_and_state_machine(auto_export: dict[str, Any]) -> None:
    resources = auto_export["Resources"]
    assert set(resources) >= AUTO_EXPORT_RESOURCES
    assert set(resources).isdisjoint(TASK_EXPORT_RESOURCES)


def test_only_ebs_deploys_nothing_of_lustre(only_ebs: dict[str, Any]) -> None:
    resources = only_ebs["Resources"]
    assert set(resources).isdisjoint(
        LUSTRE_RESOURCES | TASK_EXPORT_RESOURCES | AUTO_EXPORT_RESOURCES
    )
    assert resources_of_type(only_ebs, "AWS::EC2::SecurityGroupIngress") == {}
    text = json.dumps(resources)
    assert '"fsx:' not in text
    assert "lustre" not in text.lower()


@pytest.mark.parametrize(
    "overrides",
    [{"Mode": "OnlyEBS"}, {"Mode": "TaskExport"}, {"Mode": "AutoExport"}, OWN_VPC],
    ids=["OnlyEBS", "TaskExport", "AutoExport", "own-vpc"],
)
def test_no_reference_points_at_a_resource_the_deployment_lacks(
    render: Callable[..., dict[str, Any]], overrides: dict[str, str]
) -> None:
    rendered = render(**overrides)
    known = set(rendered["Resources"]) | set(rendered["Parameters"])
    dangling = {
        (name, target)
        for name, body in rendered["Resources"].items()
        for target in references(body)
        if target not in known and not target.startswith("AWS::")
    }
    dangling |= {
        (f"Outputs.{name}", target)
        for name, body in rendered["Outputs"].items()
        for target in references(body)
        if target not in known and not target.startswith("AWS::")
    }
    assert dangling == set()


def test_a_vpc_is_created_by_default(only_ebs: dict[str, Any]) -> None:
    assert len(resources_of_type(only_ebs, "AWS::EC2::VPC")) == 1
    assert len(resources_of_type(only_ebs, "AWS::EC2::NatGateway")) == 1
    subnets = resources_of_type(only_ebs, "AWS::EC2::Subnet")
    zones = {
        (name.startswith("Private"), body["Properties"]["AvailabilityZone"]["Fn::Select"][0])
        for name, body in subnets.items()
    }
    assert zones == {(True, 0), (True, 1), (False, 0), (False, 1)}
    routes = resources_of_type(only_ebs, "AWS::EC2::Route")
    private = [r for r in routes.values() if "NatGatewayId" in r["Properties"]]
    assert [r["Properties"]["RouteTableId"] for r in private] == [{"Ref": "PrivateRouteTable"}]
    expected = {"Fn::Join": [",", [{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]]}
    assert only_ebs["Outputs"]["BatchPrivateSubnetIds"]["Value"] == expected
    for name in ("CreateVolumeFunction", "PrepareComputeFunction"):
        variables = only_ebs["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["PRIVATE_SUBNET_IDS"] == expected


def test_created_subnets_are_four_disjoint_blocks_of_the_vpc(only_ebs: dict[str, Any]) -> None:
    vpc_cidr = only_ebs["Parameters"]["VpcCidr"]
    octets = vpc_cidr.split(".")
    blocks = []
    for body in resources_of_type(only_ebs, "AWS::EC2::Subnet").values():
        text, variables = body["Properties"]["CidrBlock"]["Fn::Sub"]
        for index, name in enumerate(("First", "Second")):
            split = {"Fn::Split": [".", {"Ref": "VpcCidr"}]}
            assert variables[name] == {"Fn::Select": [index, split]}
            text = text.replace("${" + name + "}", octets[index])
        blocks.append(ipaddress.IPv4Network(text))
    vpc = ipaddress.IPv4Network(vpc_cidr)
    assert all(block.subnet_of(vpc) for block in blocks)
    assert len({block.network_address for block in blocks}) == 4
    assert all(not a.overlaps(b) for a in blocks for b in blocks if a != b)


@pytest.mark.parametrize(
    ("mode", "create"),
    [
        ("OnlyEBS", "CreateVolumeFunction"),
        ("TaskExport", "CreateFileSystemFunction"),
        ("AutoExport", "CreateFileSystemFunction"),
    ],
)
def test_an_existing_vpc_is_used_as_given(
    render: Callable[..., dict[str, Any]], mode: str, create: str
) -> None:
    rendered = render(Mode=mode, **OWN_VPC)
    for kind in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        assert resources_of_type(rendered, kind) == {}
    expected = {"Fn::Join": [",", {"Ref": "PrivateSubnetIds"}]}
    assert rendered["Outputs"]["BatchPrivateSubnetIds"]["Value"] == expected
    for name in (create, "PrepareComputeFunction"):
        variables = rendered["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert variables["PRIVATE_SUBNET_IDS"] == expected
    group = rendered["Resources"]["BatchSecurityGroup"]["Properties"]
    assert group["VpcId"] == {"Ref": "VpcId"}


def test_batch_instances_accept_no_inbound_traffic_in_only_ebs_mode(
    only_ebs: dict[str, Any],
) -> None:
    group = only_ebs["Resources"]["BatchSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert resources_of_type(only_ebs, "AWS::EC2::SecurityGroupIngress") == {}
    assert group["SecurityGroupEgress"] == [
        {
            "Description": group["SecurityGroupEgress"][0]["Description"],
            "IpProtocol": "-1",
            "CidrIp": "0.0.0.0/0",
        }
    ]


def test_lustre_traffic_comes_only_from_the_group_itself(lustre: dict[str, Any]) -> None:
    group = lustre["Resources"]["BatchSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["0.0.0.0/0"]
    itself = {"Fn::GetAtt": ["BatchSecurityGroup", "GroupId"]}
    ports = set()
    for body in resources_of_type(lustre, "AWS::EC2::SecurityGroupIngress").values():
        rule = dict(body["Properties"])
        assert rule.pop("Description")
        assert rule.pop("GroupId") == itself
        assert rule.pop("SourceSecurityGroupId") == itself
        assert rule.pop("IpProtocol") == "tcp"
        ports.add((rule.pop("FromPort"), rule.pop("ToPort")))
        assert rule == {}, "no CIDR, prefix list or other source"
    assert ports == {(988, 988), (1018, 1023)}
