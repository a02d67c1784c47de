"""``batch-scratch smoke``: prove a deployed stack works with the smallest meaningful run.

The run (``SMOKE_INPUT``): the smallest storage of the stack's mode (an FSx for Lustre
SCRATCH_2 file system of 1,200 GiB, its smallest size; or a 10 GiB gp3 volume), a one-vCPU
job of the sample image writing three files of 64 MiB. With ``--reclaim`` the job's instance
is terminated once the job runs (EC2 TerminateInstances on the instance tagged with the
run's execution ARN), as Spot would, so Batch retries the job on a new instance that finds
the same storage. The command follows the run (``follow.follow_execution``), then checks that
the results reached S3 (ListObjectsV2 under the run's prefix ``runs/<run id>/``), that
nothing tagged by the run remains (``leftovers.find_leftovers``), and prints what it cost.

Only a real account proves it: the rehearsal's local AWS simulates the job, writes no
results, and starts no instances to terminate.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import click

from batchscratch.repository import run_prefix
from batchscratch.run import TAG_EXECUTION
from batchscratch_cli import configuration
from batchscratch_cli.follow import execution_arn, follow_execution, interval_option
from batchscratch_cli.leftovers import find_leftovers
from batchscratch_cli.options import aws_options, stack_option
from batchscratch_cli.output import CliError, Output
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import Stack, describe_stack
from batchscratch_cli.start import default_name

JOB = {"jobDefinitionVcpus": 1, "jobDefinitionMemory": 2048}
"""One vCPU and 2 GiB: the smallest job the sample runs comfortably."""

SMOKE_INPUT: dict[str, dict[str, Any]] = {
    "OnlyEBS": {
        **JOB,
        "ebsSizeGb": 10,
        "jobCommand": ["/usr/local/bin/write_delete_test_ebs_with_s3.sh", "-n", "3", "-s", "64M"],
    },
    "TaskExport": {
        **JOB,
        "lustreStorageCapacity": 1200,
        "jobCommand": ["/usr/local/bin/write_delete_test_lustre.sh", "-n", "3", "-s", "64M"],
    },
}
SMOKE_INPUT["AutoExport"] = SMOKE_INPUT["TaskExport"]


def _reclaim(aws: Aws, arn: str, stop: threading.Event, done: list[str]) -> None:
    """Terminate the first running instance tagged with the run, once there is one."""
    ec2 = aws.client("ec2")
    while not stop.wait(15):
        found = ec2.describe_instances(
            Filters=[
                {"Name": f"tag:{TAG_EXECUTION}", "Values": [arn]},
                {"Name": "instance-state-name", "Values": ["running"]},
            ]
        )
        ids = [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
        if ids:
            ec2.terminate_instances(InstanceIds=ids[:1])
            done.append(ids[0])
            return


def _results(aws: Aws, stack: Stack, run_id: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix=run_prefix(run_id))
    return [item["Key"] for item in listed.get("Contents", [])]


@click.command("smoke")
@stack_option
@click.option(
    "--reclaim",
    is_flag=True,
    help="Terminate the job's instance once it runs, as a Spot reclaim would, and check that "
    "the run still succeeds.",
)
@interval_option
@aws_options
def command(
    aws: Aws, out: Output, stack_name: str, reclaim: bool, interval: float, timeout: float
) -> None:
    """Run the smallest meaningful run of a deployed stack and check everything it promises.

    The smallest storage of the stack's mode and a one-vCPU job of the sample image writing a
    little data: the run must succeed, its results must be in the stack's bucket under
    runs/<run id>/, nothing tagged by it may remain, and its cost is printed. Exit 0 only when
    every check passes. For a real account, after sam deploy and push-image.sh --pin.
    """
    stack = describe_stack(aws, stack_name)
    overlay = SMOKE_INPUT[stack.mode]
    refused = [
        key for key in overlay if "*" not in stack.input_keys and key not in stack.input_keys
    ]
    if refused:
        raise CliError(
            f"the stack's ExecutionInputKeys does not let a run set {', '.join(refused)}: add "
            "them to the parameter, or run smoke on a stack with the default"
        )
    configuration.load(aws, stack, overlay)
    name = "smoke-" + default_name()
    arn = aws.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=name, input=json.dumps(overlay)
    )["executionArn"]
    out.line(f"smoke run {name} started: {arn}")
    stop, reclaimed = threading.Event(), list[str]()
    watcher = None
    if reclaim:
        watcher = threading.Thread(target=_reclaim, args=(aws, arn, stop, reclaimed), daemon=True)
        watcher.start()
    try:
        summary = follow_execution(aws, stack, execution_arn(stack, arn), out, interval, timeout)
    finally:
        stop.set()
    checks = {
        "run succeeded": summary["status"] == "SUCCEEDED",
        "results in S3": bool(_results(aws, stack, name)),
        "nothing left": not [i for i in find_leftovers(aws, stack) if i["runId"] == name],
    }
    if reclaim:
        checks["instance reclaimed"] = bool(reclaimed)
    out.json({"smoke": {"execution": name, "checks": checks, "summary": summary}})
    for check, passed in checks.items():
        out.line(f"{'ok  ' if passed else 'FAIL'}  {check}")
    out.line(
        f"cost: storage ${summary['storageDollars']:.2f}, compute "
        f"${summary['computeDollars']:.2f} (price table estimates)"
    )
    if not all(checks.values()):
        raise SystemExit(1)
