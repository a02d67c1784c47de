"""``batch-scratch cost``: a mode's defaults priced with no AWS call, a stack's secret read
from the local server, the figures as the price table has them, and the options described."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from batchscratch.config import OnlyEbsConfig, TaskExportConfig
from batchscratch_cli import costs, prices
from batchscratch_cli.cost import command
from batchscratch_cli.main import cli
from tests.cli.conftest import ROOT, Server

MONTH = prices.HOURS_PER_MONTH
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_SECURITY_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_REGION": None,
    "AWS_DEFAULT_REGION": None,
    "AWS_ENDPOINT_URL": None,
    "BATCH_SCRATCH_STACK": None,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""An environment in which an AWS call could not even sign: no credentials anywhere."""


@pytest.fixture
def recording_endpoint() -> Iterator[list[str]]:
    """An HTTP endpoint that records every request it gets (and refuses it)."""
    requests: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def _record(self) -> None:
            requests.append(f"{self.command} {self.path}")
            self.send_response(400)
            self.end_headers()

        do_GET = do_POST = do_PUT = do_HEAD = _record

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    requests.append(f"http://127.0.0.1:{server.server_port}")
    yield requests
    server.shutdown()
    server.server_close()


def cost(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``batch-scratch cost ARGS`` in this process, without AWS credentials."""
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(cli, ["cost", *args], env={**NO_CREDENTIALS, **(env or {})})


def idle_hourly(creates_vpc: bool) -> float:
    return sum(
        r.price.hourly(r.count) for r in costs.IDLE_RESOURCES if creates_vpc or not r.own_vpc_only
    )


# --------------------------------------------------------------------------- --mode


def test_mode_makes_no_aws_call(recording_endpoint: list[str]) -> None:
    endpoint = recording_endpoint[0]
    result = cost("--mode", "TaskExport", "--json", "--endpoint-url", endpoint)

    assert result.exit_code == 0, result.output + result.stderr
    assert recording_endpoint[1:] == []  # no request reached the endpoint
    assert json.loads(result.stdout)["mode"] == "TaskExport"
    # The endpoint does record: a stack is read from it (and refused there).
    assert cost("--stack", "s", "--endpoint-url", endpoint).exit_code == 1
    assert recording_endpoint[1:] != []


def test_mode_figures_follow_the_price_table() -> None:
    result = cost(
        "--mode", "taskexport", "--set", "lustreStorageCapacity=4800", "--hours", "3", "--json"
    )

    assert result.exit_code == 0, result.output + result.stderr
    figures = json.loads(result.stdout)  # --json: one JSON document, nothing else
    fields = TaskExportConfig.model_fields
    kind = costs.choose_instance_type(
        fields["jobDefinitionVcpus"].default, fields["jobDefinitionMemory"].default
    )
    storage = 4800 * prices.LUSTRE_SCRATCH_2.dollars / MONTH
    assert figures["storage"]["hourly"] == pytest.approx(storage)
    assert figures["compute"]["instanceType"] == kind.name
    assert figures["compute"]["instanceHourly"] == pytest.approx(kind.spot)
    assert figures["run"]["total"] == pytest.approx(3 * (storage + kind.spot))
    assert figures["idle"]["hourly"] == pytest.approx(idle_hourly(creates_vpc=True))
    assert figures["idle"]["monthly"] == pytest.approx(idle_hourly(creates_vpc=True) * MONTH)
    assert (figures["pricesDate"], figures["pricesRegion"]) == (prices.PRICES_DATE, "us-east-1")
    assert prices.FSX_LUSTRE_PRICING in figures["sources"]
    assert prices.VPC_PRICING in figures["sources"]
    assert any("NAT gateway data processed" in item for item in figures["leftOut"])


def test_mode_prints_one_record_a_line_with_the_table_s_date_and_sources() -> None:
    result = cost("--mode", "OnlyEBS", "--hours", "2", "--spot-price", "0.3")

    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    defaults = OnlyEbsConfig.model_fields
    storage = prices.gp3_hourly(
        defaults["ebsSizeGb"].default,
        defaults["ebsIOPS"].default,
        defaults["ebsThroughput"].default,
    )
    assert f"read on {prices.PRICES_DATE}" in lines[0] and prices.REGION in lines[0]
    [storage_line] = [line for line in lines if line.startswith("storage  ")]
    assert storage_line.endswith(f"${storage:.4f}  ${2 * storage:.2f}")
    [compute_line] = [line for line in lines if line.startswith("compute  ")]
    assert "at $0.3000/h (Spot, given (--spot-price))" in compute_line
    [run_line] = [line for line in lines if line.startswith("run  ")]
    assert run_line.endswith(f"${storage + 0.3:.4f}  ${2 * (storage + 0.3):.2f}")
    nat = f"VPC NAT gateway  1  ${prices.NAT_GATEWAY.dollars:g} per NAT gateway-hour"
    assert any(line.startswith(nat) for line in lines)
    assert f"source: {prices.EBS_PRICING}" in lines
    assert "\x1b" not in result.stdout  # no terminal styling when not a terminal


def test_mode_refuses_what_loadconfig_refuses_with_its_message() -> None:
    negative = cost("--mode", "OnlyEBS", "--set", "ebsSizeGb=-5")
    assert negative.exit_code == 1
    assert "ebsSizeGb = -5 (from the execution input)" in negative.stderr
    other_mode = cost("--mode", "TaskExport", "--set", "ebsSizeGb=100")
    assert other_mode.exit_code == 1
    assert "ebsSizeGb" in other_mode.stderr and "unknown key" in other_mode.stderr


def test_another_region_is_warned_about_and_still_estimated() -> None:
    result = cost("--mode", "OnlyEBS", "--region", "eu-west-1", "--json")

    assert result.exit_code == 0, result.output + result.stderr
    assert "the price table is us-east-1's, not eu-west-1's" in result.stderr
    figures = json.loads(result.stdout)
    assert figures["region"] == "eu-west-1"
    assert figures["warnings"] and figures["run"]["hourly"] > 0


def test_a_type_outside_the_table_needs_its_price() -> None:
    refused = cost("--mode", "OnlyEBS", "--instance-type", "m7i.8xlarge")
    assert refused.exit_code == 1
    assert "'m7i.8xlarge' is not in the price table" in refused.stderr
    assert "--spot-price" in refused.stderr

    priced = cost("--mode", "OnlyEBS", "--instance-type", "m7i.8xlarge", "--spot-price", "0.7")
    assert priced.exit_code == 0, priced.stderr
    assert "1 x m7i.8xlarge at $0.7000/h" in priced.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --stack NAME"),
        (("--stack", "s", "--mode", "OnlyEBS"), "not both"),
        (("--mode", "OnlyEBS", "--look-up-spot-price"), "use it with --stack"),
        (("--stack", "s", "--spot-price", "1", "--look-up-spot-price"), "not both"),
        (("--mode", "OnlyEBS", "--hours", "0"), "--hours"),
    ],
)
def test_options_that_do_not_go_together_are_a_usage_error(
    args: tuple[str, ...], message: str, recording_endpoint: list[str]
) -> None:
    result = cost(*args, "--endpoint-url", recording_endpoint[0])
    assert result.exit_code == 2
    assert message in result.stderr
    assert recording_endpoint[1:] == []


def test_every_option_is_described_in_help() -> None:
    result = cost("--help")
    assert result.exit_code == 0
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert {"--stack", "--mode", "--set", "--input", "--hours"} <= {p.opts[0] for p in options}
    for option in options:
        assert option.help, option.name
        assert option.opts[0] in result.stdout
    text = " ".join(result.stdout.split())
    assert "per-run cost of a configuration, and the hourly cost of the idle stack" in text


# --------------------------------------------------------------------------- --stack


def run_cost(server: Server, *args: str) -> dict[str, Any]:
    """Run ``batch-scratch cost --stack <server's> ARGS --json`` as a user would."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "batchscratch_cli",
            "cost",
            "--stack",
            server.stack,
            *args,
            "--json",
        ],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    figures: dict[str, Any] = json.loads(completed.stdout)
    return figures


def test_stack_prices_its_secret_with_the_overrides(
    local_server: Callable[[str | Path], Server],
) -> None:
    server = local_server("scenarios/only_ebs/default.yaml")
    secrets = server.client("secretsmanager")
    secret_id = server.outputs["ConfigSecretArn"]
    secret = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    secret.update(ebsSizeGb=1500, ebsThroughput=250)
    secrets.put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))

    figures = run_cost(server, "--set", "ebsIOPS=6000", "--hours", "4")

    storage = prices.gp3_hourly(1500, 6000, 250)  # the secret's size and throughput, the --set IOPS
    assert figures["mode"] == "OnlyEBS"
    assert figures["storage"]["hourly"] == pytest.approx(storage)
    assert figures["run"]["total"] == pytest.approx(4 * (storage + figures["compute"]["hourly"]))
    # The rehearsal's stack leaves VpcId empty: it created its VPC and pays the NAT gateway.
    assert figures["idle"]["hourly"] == pytest.approx(idle_hourly(creates_vpc=True))
    assert figures["region"] == "us-east-1" and figures["warnings"] == []


def test_stack_looks_up_the_region_s_lowest_spot_price(
    local_server: Callable[[str | Path], Server],
) -> None:
    server = local_server("scenarios/task_export/default.yaml")

    figures = run_cost(server, "--look-up-spot-price", "--instance-type", "c6i.16xlarge")

    history = server.client("ec2").describe_spot_price_history(
        InstanceTypes=["c6i.16xlarge"], ProductDescriptions=["Linux/UNIX"]
    )["SpotPriceHistory"]
    lowest = min(float(entry["SpotPrice"]) for entry in history)
    assert figures["compute"]["instanceType"] == "c6i.16xlarge"
    assert figures["compute"]["instanceHourly"] == pytest.approx(lowest)
    assert "DescribeSpotPriceHistory" in figures["compute"]["basis"]
