"""KmsKeyArn: with a key every target the stack encrypts uses it, and only through the
service that encrypts with it; without one nothing names it."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from batchscratch.encryption import KMS_KEY_ARN_PATTERN, KMS_KEY_ARN_SETTING
from tests.template.cfn import (
    allows,
    as_list,
    policy_statements,
    resources_of_type,
    role_statements,
)
from tests.template.conftest import DEPLOYABLE_MODES

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_REF = {"Ref": "KmsKeyArn"}
KMS_POLICIES = {
    "VolumeKmsKeyPolicy": "EbsWithKmsKey",
    "InstanceKmsKeyPolicy": "EbsWithKmsKey",
    "FileSystemKmsKeyPolicy": "LustreWithKmsKey",
    "DataBucketKmsKeyPolicy": "HasKmsKey",
}
KEY_READERS = {
    # the functions that read KMS_KEY_ARN (batchscratch.encryption.kms_key_arn)
    "LoadConfigFunction",
    "CreateVolumeFunction",
    "CreateFileSystemFunction",
    "PrepareComputeFunction",
}
EBS_KEY_USE = {
    "kms:CreateGrant",
    "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
}
"""EBS User Guide, "Requirements for Amazon EBS encryption", "Permissions for users"."""
MODE_KEY_USERS: dict[str, dict[str, set[str]]] = {
    "OnlyEBS": {
        "CreateVolumeFunctionRole": EBS_KEY_USE,
        "ReleaseVolumeFunctionRole": EBS_KEY_USE,
        "ReleaseRunFunctionRole": EBS_KEY_USE,
        "BatchInstanceRole": {"kms:CreateGrant"},
        "JobRole": {"kms:GenerateDataKey", "kms:Decrypt"},
    },
    "TaskExport": {
        "CreateFileSystemFunctionRole": EBS_KEY_USE,
        "JobRole": {"kms:GenerateDataKey", "kms:Decrypt"},
    },
}
MODE_KEY_USERS["AutoExport"] = MODE_KEY_USERS["TaskExport"]
SERVICE_OF_ROLE = {
    "CreateVolumeFunctionRole": "ec2",
    "ReleaseVolumeFunctionRole": "ec2",
    "ReleaseRunFunctionRole": "ec2",
    "BatchInstanceRole": "ec2",
    "CreateFileSystemFunctionRole": "fsx",
    "JobRole": "s3",
}


def _key_statements(rendered: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every statement whose Resource names the stack's key."""
    return [
        (owner, statement)
        for owner, statement in policy_statements(rendered)
        if KEY_REF in as_list(statement["Resource"])
    ]


def test_the_parameter_pattern_is_the_layer_s(sam_template: dict[str, Any]) -> None:
    parameter = sam_template["Parameters"]["KmsKeyArn"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    assert parameter["AllowedPattern"] == f"^$|{KMS_KEY_ARN_PATTERN}"


@pytest.mark.parametrize(
    "value",
    [
        "",
        KEY,
        "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ],
)
def test_the_parameter_takes_a_key_arn(sam_template: dict[str, Any], value: str) -> None:
    assert re.fullmatch(sam_template["Parameters"]["KmsKeyArn"]["AllowedPattern"], value)


@pytest.mark.parametrize(
    "value",
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",  # a key id: Logs and IAM need the ARN
        "alias/scratch",
        "arn:aws:kms:us-east-1:123456789012:alias/scratch",  # IAM cannot scope by alias
        "arn:aws:kms:us-east-1:123456789012:key/not-a-key-id",
        f" {KEY}",
    ],
)
def test_the_parameter_refuses_what_is_not_a_key_arn(
    sam_template: dict[str, Any], value: str
) -> None:
    assert not re.fullmatch(sam_template["Parameters"]["KmsKeyArn"]["AllowedPattern"], value)


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_with_a_key_every_log_group_and_the_bucket_use_it(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    rendered = render(Mode=mode, KmsKeyArn=KEY)
    groups = resources_of_type(rendered, "AWS::Logs::LogGroup")
    assert groups
    assert {name: body["Properties"].get("KmsKeyId") for name, body in groups.items()} == (
        dict.fromkeys(groups, KEY_REF)
    )
    (rule,) = rendered["Resources"]["DataBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule == {
        "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_REF},
        "BucketKeyEnabled": True,
    }


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_without_a_key_nothing_is_encrypted_with_one(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    rendered = render(Mode=mode)
    for name, body in resources_of_type(rendered, "AWS::Logs::LogGroup").items():
        assert "KmsKeyId" not in body["Properties"], name
    (rule,) = rendered["Resources"]["DataBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert set(rendered["Resources"]).isdisjoint(KMS_POLICIES)
    assert _key_statements(rendered) == []


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_the_functions_that_create_storage_are_told_the_key(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    resources = render(Mode=mode, KmsKeyArn=KEY)["Resources"]
    for name in KEY_READERS & set(resources):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables[KMS_KEY_ARN_SETTING] == KEY_REF, name


def test_the_key_policies_exist_only_with_a_key_in_their_modes(sam_template: dict[str, Any]):
    resources = sam_template["Resources"]
    assert {name: resources[name]["Condition"] for name in KMS_POLICIES} == KMS_POLICIES
    assert sam_template["Conditions"]["HasKmsKey"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]
    }


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_each_role_may_use_the_key_as_its_service_needs(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    rendered = render(Mode=mode, KmsKeyArn=KEY)
    for role, actions in MODE_KEY_USERS[mode].items():
        statements = role_statements(rendered, role)
        missing = {action for action in actions if not allows(statements, action)}
        assert missing == set(), role
        service = SERVICE_OF_ROLE[role]
        for statement in statements:
            if KEY_REF not in as_list(statement["Resource"]):
                continue
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert via == {"Fn::Sub": f"{service}.${{AWS::Region}}.amazonaws.com"}, role


@pytest.mark.parametrize("mode", DEPLOYABLE_MODES)
def test_the_key_is_used_only_through_a_service_and_grants_only_for_aws_resources(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    statements = _key_statements(render(Mode=mode, KmsKeyArn=KEY))
    assert statements
    for owner, statement in statements:
        assert statement["Effect"] == "Allow", owner
        assert as_list(statement["Resource"]) == [KEY_REF], owner
        assert "kms:ViaService" in statement["Condition"]["StringEquals"], owner
        for action in as_list(statement["Action"]):
            assert action.startswith("kms:") and "*" not in action, (owner, action)
        if "kms:CreateGrant" in as_list(statement["Action"]):
            assert as_list(statement["Action"]) == ["kms:CreateGrant"], owner
            assert statement["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_the_jobs_may_use_the_key_only_for_the_data_bucket(
    render: Callable[..., dict[str, Any]],
) -> None:
    statements = [
        s
        for s in role_statements(render(Mode="TaskExport", KmsKeyArn=KEY), "JobRole")
        if KEY_REF in as_list(s["Resource"])
    ]
    (statement,) = statements
    assert statement["Condition"]["StringLike"] == {
        "kms:EncryptionContext:aws:s3:arn": [
            {"Fn::GetAtt": ["DataBucket", "Arn"]},
            {"Fn::Sub": "${DataBucket.Arn}/*"},
        ]
    }
