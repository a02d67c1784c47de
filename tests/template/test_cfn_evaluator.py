"""The offline CloudFormation evaluator (tools.cfn) on small templates, one function at a time.

The template tests and the rehearsal read template.yaml through it; these tests pin down what
CloudFormation does with each function, so a change to the evaluator that the shipped
template happens not to exercise still shows.
"""

from typing import Any

import pytest

from tools.cfn import (
    EvaluationError,
    Evaluator,
    RuleFailure,
    Unresolved,
    parameter_values,
    sub_variables,
)

PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::StackName": "demo",
}

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Mode": {"Type": "String", "Default": "Fast"},
        "Size": {"Type": "Number", "Default": 30},
        "Subnets": {"Type": "CommaDelimitedList", "Default": ""},
        "Zones": {"Type": "List<AWS::EC2::AvailabilityZone::Name>", "Default": "a, b"},
        "Name": {"Type": "String", "Default": ""},
    },
    "Conditions": {
        "IsFast": {"Fn::Equals": [{"Ref": "Mode"}, "Fast"]},
        "IsSlow": {"Fn::Equals": ["Slow", {"Ref": "Mode"}]},
        "IsKnown": {"Fn::Or": [{"Condition": "IsFast"}, {"Condition": "IsSlow"}]},
        "IsOther": {"Fn::Not": [{"Condition": "IsKnown"}]},
        "IsBigAndFast": {
            "Fn::And": [{"Condition": "IsFast"}, {"Fn::Equals": [{"Ref": "Size"}, 100]}]
        },
        "HasName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]},
    },
    "Mappings": {
        "Names": {
            "Fast": {"Prefix": "fast-run", "Queue": "high"},
            "Slow": {"Prefix": "slow-run", "Queue": "low"},
        }
    },
    "Rules": {
        "SlowNeedsName": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "Slow"]},
            "Assertions": [
                {
                    "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]},
                    "AssertDescription": "A Slow run\n  needs a Name.",
                }
            ],
        },
        "KnownModes": {
            "Assertions": [
                {
                    "Assert": {"Fn::Contains": [["Fast", "Slow"], {"Ref": "Mode"}]},
                    "AssertDescription": "Mode is Fast or Slow.",
                },
                {"Assert": {"Fn::EachMemberIn": [{"Ref": "Zones"}, ["a", "b", "c"]]}},
            ]
        },
    },
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Name"}}},
        "Queue": {
            "Type": "AWS::Batch::JobQueue",
            "Condition": "IsFast",
            "Properties": {
                "JobQueueName": {"Fn::FindInMap": ["Names", {"Ref": "Mode"}, "Queue"]},
                "Priority": {"Fn::If": ["IsBigAndFast", 10, {"Ref": "AWS::NoValue"}]},
                "Tags": [
                    {"Key": "stack", "Value": {"Ref": "AWS::StackName"}},
                    {"Fn::If": ["HasName", {"Key": "name"}, {"Ref": "AWS::NoValue"}]},
                ],
            },
        },
        "SlowQueue": {"Type": "AWS::Batch::JobQueue", "Condition": "IsSlow"},
    },
    "Outputs": {
        "QueueArn": {"Condition": "IsFast", "Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
        "SlowQueueArn": {"Condition": "IsSlow", "Value": {"Ref": "SlowQueue"}},
    },
}


def _evaluator(resource_ref: Any = None, **overrides: str) -> Evaluator:
    return Evaluator.deploying(TEMPLATE, overrides, pseudo=PSEUDO, resource_ref=resource_ref)


# --------------------------------------------------------------------------- parameters


def test_parameters_are_strings_and_lists_as_ref_gives_them() -> None:
    values = parameter_values(TEMPLATE, {"Subnets": "subnet-1, subnet-2"})
    assert values == {
        "Mode": "Fast",
        "Size": "30",
        "Subnets": ["subnet-1", "subnet-2"],
        "Zones": ["a", "b"],
        "Name": "",
    }
    assert parameter_values(TEMPLATE, {})["Subnets"] == [""]


def test_an_unknown_parameter_or_a_missing_value_is_refused() -> None:
    with pytest.raises(KeyError, match="Colour"):
        parameter_values(TEMPLATE, {"Colour": "blue"})
    with pytest.raises(EvaluationError, match="Required"):
        parameter_values({"Parameters": {"Required": {"Type": "String"}}}, {})


# --------------------------------------------------------------------------- conditions


def test_conditions_follow_equals_not_and_or_and_condition_references() -> None:
    assert _evaluator().conditions == {
        "IsFast": True,
        "IsSlow": False,
        "IsKnown": True,
        "IsOther": False,
        "IsBigAndFast": False,
        "HasName": False,
    }
    assert _evaluator(Mode="Slow", Name="x").conditions == {
        "IsFast": False,
        "IsSlow": True,
        "IsKnown": True,
        "IsOther": False,
        "IsBigAndFast": False,
        "HasName": True,
    }
    assert _evaluator(Mode="Other").condition("IsOther") is True


def test_equals_compares_numbers_as_the_strings_cloudformation_sees() -> None:
    assert _evaluator(Size="100").condition("IsBigAndFast") is True


def test_an_unknown_or_circular_condition_is_refused() -> None:
    with pytest.raises(EvaluationError, match="no condition Missing"):
        _evaluator().condition("Missing")
    circular = {"Parameters": {}, "Conditions": {"A": {"Condition": "B"}, "B": {"Condition": "A"}}}
    with pytest.raises(EvaluationError, match="depends on itself"):
        Evaluator.deploying(circular).condition("A")


def test_a_function_that_is_not_a_condition_is_refused() -> None:
    with pytest.raises(EvaluationError, match="Fn::Base64"):
        _evaluator().holds({"Fn::Base64": "x"})


# --------------------------------------------------------------------------- rules


def test_rules_report_each_broken_assertion_of_an_applicable_rule() -> None:
    assert _evaluator().rule_failures() == []
    assert _evaluator(Mode="Slow").rule_failures() == [
        RuleFailure("SlowNeedsName", "A Slow run needs a Name.")
    ]
    assert _evaluator(Mode="Other", Zones="a,d").rule_failures() == [
        RuleFailure("KnownModes", "Mode is Fast or Slow."),
        RuleFailure("KnownModes", ""),
    ]


def test_each_member_equals_compares_every_member() -> None:
    evaluator = _evaluator(Zones="a,a")
    assert evaluator.holds({"Fn::EachMemberEquals": [{"Ref": "Zones"}, "a"]}) is True
    assert _evaluator().holds({"Fn::EachMemberEquals": [{"Ref": "Zones"}, "a"]}) is False


# --------------------------------------------------------------------------- rendering


def test_render_resolves_if_novalue_and_find_in_map_and_keeps_the_rest() -> None:
    deployed = _evaluator().deployment()
    assert set(deployed["Resources"]) == {"Bucket", "Queue"}
    assert deployed["Resources"]["Queue"]["Properties"] == {
        "JobQueueName": "high",
        "Tags": [{"Key": "stack", "Value": {"Ref": "AWS::StackName"}}],
    }
    assert deployed["Outputs"] == {
        "QueueArn": {"Condition": "IsFast", "Value": {"Fn::GetAtt": ["Queue", "Arn"]}}
    }
    assert deployed["Parameters"]["Mode"] == "Fast"
    assert deployed["Conditions"]["IsFast"] is True


def test_render_keeps_the_chosen_branch_of_if() -> None:
    queue = _evaluator(Size="100", Name="n").deployment()["Resources"]["Queue"]["Properties"]
    assert queue["Priority"] == 10
    assert queue["Tags"][1] == {"Key": "name"}


def test_render_writes_string_variables_into_a_sub_and_keeps_the_others() -> None:
    evaluator = _evaluator()
    node = {
        "Fn::Sub": [
            "${Prefix}-${AWS::StackName}-${Id}",
            {
                "Prefix": {"Fn::FindInMap": ["Names", {"Ref": "Mode"}, "Prefix"]},
                "Id": {"Fn::GetAtt": ["Queue", "Arn"]},
            },
        ]
    }
    assert evaluator.render(node) == {
        "Fn::Sub": ["fast-run-${AWS::StackName}-${Id}", {"Id": {"Fn::GetAtt": ["Queue", "Arn"]}}]
    }
    only_strings = {"Fn::Sub": ["${Prefix}!", {"Prefix": "p"}]}
    assert evaluator.render(only_strings) == {"Fn::Sub": "p!"}
    assert evaluator.render({"Fn::Sub": "${AWS::Region}"}) == {"Fn::Sub": "${AWS::Region}"}


def test_find_in_map_with_an_unknown_key_is_refused() -> None:
    with pytest.raises(EvaluationError, match="Names > Other > Queue"):
        _evaluator(Mode="Other").render({"Fn::FindInMap": ["Names", {"Ref": "Mode"}, "Queue"]})


# --------------------------------------------------------------------------- values


def test_sub_replaces_variables_parameters_and_pseudo_parameters() -> None:
    evaluator = _evaluator(Name="data")
    text = "arn:${AWS::Partition}:s3:::${Name}/${Key}/${!Literal}"
    assert evaluator.value({"Fn::Sub": [text, {"Key": {"Ref": "Mode"}}]}) == (
        "arn:aws:s3:::data/Fast/${Literal}"
    )
    assert evaluator.value({"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}) == "demo-eu-west-1"
    assert list(sub_variables(text)) == ["AWS::Partition", "Name", "Key"]


def test_sub_of_what_only_cloudformation_knows_is_unresolved() -> None:
    evaluator = _evaluator()
    assert evaluator.value({"Fn::Sub": "${Queue.Arn}"}) == Unresolved(
        "Fn::Sub of <GetAtt Queue.Arn>"
    )
    assert evaluator.value({"Fn::Sub": "${AWS::URLSuffix}"}) == Unresolved(
        "Fn::Sub of <Ref AWS::URLSuffix>"
    )
    assert evaluator.value({"Fn::GetAtt": ["Queue", "Arn"]}) == Unresolved(
        'Fn::GetAtt ["Queue", "Arn"]'
    )


def test_join_split_and_select() -> None:
    evaluator = _evaluator(Subnets="subnet-1,subnet-2")
    assert evaluator.value({"Fn::Join": [",", {"Ref": "Subnets"}]}) == "subnet-1,subnet-2"
    assert evaluator.value({"Fn::Join": ["-", ["a", {"Ref": "Mode"}]]}) == "a-Fast"
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo/1c2fa620-982a-11e3"
    select = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    with_id = Evaluator.deploying(TEMPLATE, pseudo={**PSEUDO, "AWS::StackId": stack_id})
    assert with_id.value(select) == "1c2fa620-982a-11e3"
    assert with_id.value({"Fn::Select": [0, {"Fn::Split": ["-", select]}]}) == "1c2fa620"


def test_join_split_and_select_of_unresolved_values_stay_unresolved() -> None:
    evaluator = _evaluator()
    arn = {"Fn::GetAtt": ["Queue", "Arn"]}
    assert isinstance(evaluator.value({"Fn::Join": [",", [arn]]}), Unresolved)
    assert isinstance(evaluator.value({"Fn::Split": [":", arn]}), Unresolved)
    assert isinstance(evaluator.value({"Fn::Select": [0, arn]}), Unresolved)


def test_ref_to_a_resource_is_what_resource_ref_says() -> None:
    def bucket_name(logical_id: str, resource: dict[str, Any]) -> Any:
        return resource["Properties"]["BucketName"]

    assert _evaluator().value({"Ref": "Bucket"}) == Unresolved("Ref Bucket (AWS::S3::Bucket)")
    assert _evaluator(bucket_name, Name="data").value({"Ref": "Bucket"}) == "data"
    # A resource whose condition is false does not exist.
    assert _evaluator(bucket_name).value({"Ref": "SlowQueue"}) == Unresolved("Ref SlowQueue")


def test_value_drops_novalue_and_follows_if() -> None:
    evaluator = _evaluator()
    node = [{"Fn::If": ["IsFast", "yes", "no"]}, {"Ref": "AWS::NoValue"}]
    assert evaluator.value(node) == ["yes"]


def test_a_rendered_template_evaluates_like_the_template() -> None:
    deployed = _evaluator(Name="data").deployment()
    again = Evaluator(deployed, deployed["Parameters"], pseudo=PSEUDO)
    assert again.condition("IsFast") is True
    assert again.value({"Fn::Sub": "${Name}-${AWS::StackName}"}) == "data-demo"
    assert again.value({"Ref": "SlowQueue"}) == Unresolved("Ref SlowQueue")
