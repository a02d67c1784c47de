"""Tag values built from execution names and the project's own messages are ones AWS accepts.

The rules come from the services' own models: the FSx ``TagValue`` pattern of the botocore
model, and the character set AWS Batch documents (the same set, less the other Unicode
separators).
"""

import sys

import botocore.session
import pytest
import regex

from batchscratch.fsx import repository_task
from batchscratch.policy import export_outcome
from batchscratch.run import TAG_EXECUTION, TAG_RUN_ID, Run
from batchscratch.tagging import (
    TAG_VALUE_MAX,
    allowed_in_tag,
    identity_tag_value,
    is_valid_tag_value,
    text_tag_value,
)

FSX_TAG_VALUE = botocore.session.get_session().get_service_model("fsx").shape_for("TagValue")
FSX_PATTERN = regex.compile(FSX_TAG_VALUE.metadata["pattern"])


def fsx_accepts(value: str) -> bool:
    return len(value) <= FSX_TAG_VALUE.metadata["max"] and bool(FSX_PATTERN.fullmatch(value))


# Names Step Functions accepts (StartExecution ``name``: no white space, brackets, wildcards,
# " # % \ ^ | ~ ` $ & , ; : / or control characters).
EXECUTION_NAMES = ["run(1)!", "it's-mine", "a.b=c+d@e", "ünïcödé-läuf", "名前", "x" * 80, "run_1__"]


def run_named(name: str) -> Run:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:BatchJobWithOnlyEBS-1:{name}"
    return Run(executionArn=arn, runId=name, mode="OnlyEBS", stackName="s", startedAt="2026-12-01")


def test_every_character_the_rule_allows_is_one_fsx_allows():
    # Every Unicode code point outside the surrogates: one source of truth is the botocore model.
    disagreements = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and allowed_in_tag(chr(code))
        and not FSX_PATTERN.fullmatch(chr(code))
    ]
    assert disagreements == []


@pytest.mark.parametrize("character", ["(", ")", "!", "'", ";", ",", "\t", "\u00a0", "*"])
def test_characters_fsx_or_batch_refuse_are_not_allowed(character):
    assert not allowed_in_tag(character)


@pytest.mark.parametrize("name", EXECUTION_NAMES)
def test_run_tags_of_any_execution_name_are_accepted(name):
    tags = run_named(name).tags()

    assert all(is_valid_tag_value(value) and fsx_accepts(value) for value in tags.values())


def test_a_valid_identifier_is_written_unchanged():
    run = run_named("nightly-2026-12-01")

    assert run.tags()[TAG_EXECUTION] == run.executionArn
    assert run.tags()[TAG_RUN_ID] == "nightly-2026-12-01"


def test_encoded_identifiers_still_tell_runs_apart():
    runs = [run_named(name) for name in EXECUTION_NAMES]

    assert len({run.tags()[TAG_RUN_ID] for run in runs}) == len(runs)
    assert len({run.execution_tag for run in runs}) == len(runs)
    # run(1)! and run_1__ differ although both sanitise to the same characters.
    assert run_named("run(1)!").tags()[TAG_RUN_ID] != "run_1__"
    assert run_named("run(1)!").tags()[TAG_RUN_ID].startswith("run_1__:")


def test_identity_values_are_stable_and_bounded():
    long = "arn:" + "(" * 400

    assert identity_tag_value(long) == identity_tag_value(long)
    assert len(identity_tag_value(long)) == TAG_VALUE_MAX
    assert is_valid_tag_value(identity_tag_value(long))


def test_the_failed_export_description_fits_a_tag_and_stays_readable():
    task = {"TaskId": "task-0123456789abcdef0", "Lifecycle": "SUCCEEDED", "Status": {}}
    task["Status"]["FailedCount"] = 3
    _, description = export_outcome(repository_task(task, "s3://bucket/runs/a b"))

    value = text_tag_value(description)

    assert fsx_accepts(value)
    assert value == (
        "export task task-0123456789abcdef0 ended SUCCEEDED with 3 failed files - "
        "report: s3://bucket/runs/a b/task-0123456789abcdef0/failures.csv"
    )


@pytest.mark.parametrize(
    "reason",
    [
        "onFailure=delete after States.TaskFailed, but the job succeeded: export first",
        "onFailure=export after StorageFailed: MISCONFIGURED, cannot export",
        "snapshot snap-1 failed; volume kept",
        "x" * 1000,
    ],
)
def test_retained_reasons_become_valid_tag_values(reason):
    assert fsx_accepts(text_tag_value(reason))
