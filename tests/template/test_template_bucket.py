"""The data bucket keeps results safe: encrypted, versioned, private, TLS only, retained."""

from typing import Any

from tests.template.cfn import as_list, resources_of_type


def test_the_bucket_is_encrypted_versioned_and_private(only_ebs: dict[str, Any]) -> None:
    bucket = only_ebs["Resources"]["DataBucket"]
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }


def test_old_versions_expire_after_the_configured_days(
    only_ebs: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    parameter = sam_template["Parameters"]["NoncurrentVersionRetentionDays"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 30, 1)
    rules = only_ebs["Resources"]["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if "NoncurrentVersionExpiration" in r]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "NoncurrentVersionRetentionDays"}
    }
    assert rule["ExpiredObjectDeleteMarker"] is True


def test_the_bucket_outlives_the_stack(only_ebs: dict[str, Any]) -> None:
    bucket = only_ebs["Resources"]["DataBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_the_bucket_refuses_requests_without_tls(only_ebs: dict[str, Any]) -> None:
    policies = [
        body["Properties"]
        for body in resources_of_type(only_ebs, "AWS::S3::BucketPolicy").values()
        if body["Properties"]["Bucket"] == {"Ref": "DataBucket"}
    ]
    assert len(policies) == 1
    denials = [
        statement
        for statement in as_list(policies[0]["PolicyDocument"]["Statement"])
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    (deny,) = denials
    assert deny["Principal"] == "*"
    assert as_list(deny["Action"]) == ["s3:*"]
    assert as_list(deny["Resource"]) == [
        {"Fn::GetAtt": ["DataBucket", "Arn"]},
        {"Fn::Sub": "${DataBucket.Arn}/*"},
    ]
