"""A stack deployed with KmsKeyArn, in the local AWS: a run's storage uses the key, and a
scratch file system, which cannot, is refused before anything exists."""

import json
import time
from pathlib import Path
from typing import Any

from batchscratch.run import TAG_EXECUTION
from tools.localaws import LocalAws, Simulation

REPO = Path(__file__).resolve().parents[2]

ROOT_VOLUME_REST = {"DeleteOnTermination": True, "VolumeType": "gp3"}
"""What the root volume's mapping holds besides its encryption (compute.root_volume_mapping)."""


def _run(local: LocalAws, machine_arn: str, name: str) -> dict[str, Any]:
    sfn = local.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine_arn, name=name, input="{}")["executionArn"]
    deadline = time.monotonic() + 60
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.01)
    return dict(sfn.describe_execution(executionArn=arn))


def test_an_only_ebs_run_encrypts_its_volume_and_root_volumes_with_the_stack_s_key() -> None:
    seen: dict[str, Any] = {}
    sim = Simulation()
    with LocalAws(REPO, sim) as local:
        key = local.client("kms").create_key(Description="stack key")["KeyMetadata"]["Arn"]
        stack = local.deploy("OnlyEBS", parameters={"KmsKeyArn": key})

        def look_while_the_job_runs(arn: str, state: str) -> None:
            if state != "RunJob" or seen:
                return
            ec2 = local.client("ec2")
            seen["volumes"] = ec2.describe_volumes(
                Filters=[{"Name": f"tag:{TAG_EXECUTION}", "Values": [arn]}]
            )["Volumes"]
            templates = ec2.describe_launch_templates()["LaunchTemplates"]
            seen["mappings"] = [
                version["LaunchTemplateData"]["BlockDeviceMappings"]
                for template in templates
                for version in ec2.describe_launch_template_versions(
                    LaunchTemplateId=template["LaunchTemplateId"]
                )["LaunchTemplateVersions"]
            ]

        sim.state_listeners.append(look_while_the_job_runs)
        execution = _run(local, stack.state_machine_arn, "encrypted-run")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    (volume,) = seen["volumes"]
    assert (volume["Encrypted"], volume["KmsKeyId"]) == (True, key)
    assert seen["mappings"] == [
        [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {"Encrypted": True, "KmsKeyId": key, **ROOT_VOLUME_REST},
            }
        ]
    ]


def test_a_scratch_file_system_is_refused_by_load_config_when_the_stack_has_a_key() -> None:
    with LocalAws(REPO, Simulation()) as local:
        key = local.client("kms").create_key(Description="stack key")["KeyMetadata"]["Arn"]
        stack = local.deploy("TaskExport", parameters={"KmsKeyArn": key})
        execution = _run(local, stack.state_machine_arn, "scratch-with-key")
        file_systems = local.client("fsx").describe_file_systems()["FileSystems"]
        events = local.client("stepfunctions").get_execution_history(
            executionArn=execution["executionArn"], maxResults=1000
        )["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]

    assert execution["status"] == "FAILED"
    assert execution["error"] == "InvalidConfiguration"
    cause = json.loads(execution["cause"])
    assert "lustreDeploymentType = 'SCRATCH_2'" in cause["errorMessage"]
    assert file_systems == []
    assert "LoadConfig" in entered
    assert "CreateFileSystem" not in entered
