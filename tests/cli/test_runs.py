"""The command against the rehearsal's local server, as a user runs it: start, follow,
leftovers and list (the acceptance checks of the command)."""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from batchscratch.config import build_config
from batchscratch.errors import InvalidConfiguration
from tests.cli.conftest import ROOT, Server

LocalServer = Callable[[str | Path], Server]


def run_cli(
    server: Server | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m batchscratch_cli ARGS`` as a user would (a process of its own)."""
    return subprocess.run(
        [sys.executable, "-m", "batchscratch_cli", *args, *(server.args if server else [])],
        check=False,
        cwd=ROOT,
        env=env if env is not None else server.env if server else None,
        capture_output=True,
        text=True,
        timeout=300,
    )


class _Recorder(socketserver.BaseRequestHandler):
    connections: ClassVar[list[bytes]] = []

    def handle(self) -> None:
        self.connections.append(self.request.recv(65536))


@pytest.fixture
def recording_endpoint() -> Iterator[tuple[str, list[bytes]]]:
    """An endpoint that records every connection made to it (and answers nothing)."""
    connections: ClassVar[list[bytes]] = []
    handler = type("Handler", (_Recorder,), {"connections": connections})
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
        server.shutdown()


def test_start_refuses_a_bad_override_with_load_config_s_message_before_any_call(
    recording_endpoint: tuple[str, list[bytes]],
) -> None:
    endpoint, connections = recording_endpoint
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'layers' / 'common'}:{ROOT}"}
    result = run_cli(
        None, "start", "--stack", "S", "--set", "ebsSizeGb=-5", "--endpoint-url", endpoint, env=env
    )

    with pytest.raises(InvalidConfiguration) as refused:
        build_config("OnlyEBS", {"jobDefinitionContainerImage": "x"}, {"ebsSizeGb": -5})
    assert result.returncode == 1
    assert "ebsSizeGb = -5 (from the execution input)" in str(refused.value)
    assert str(refused.value) in result.stderr
    assert connections == []


def test_start_follow_shows_both_attempts_of_a_spot_reclaim_and_the_summary(
    local_server: LocalServer,
) -> None:
    server = local_server("scenarios/task_export/spot-reclaim.yaml")
    result = run_cli(
        server,
        "start",
        "--stack",
        server.stack,
        "--name",
        "reclaimed",
        "--follow",
        "--interval",
        "0.2",
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("attempt 1: Spot reclaim: instance i-0123456789abcdef0" in line for line in lines)
    assert any("attempt 2: ended" in line for line in lines)
    assert "run reclaimed: SUCCEEDED" in result.stdout
    summary = server.summary("reclaimed")
    assert summary["jobAttempts"] == 2 and summary["status"] == "SUCCEEDED"
    (deleted,) = [line for line in lines if line.startswith("  deleted:")]
    assert "fsx:file-system:" in deleted
    assert "kept: nothing" in result.stdout
    assert "results: s3://" in result.stdout and "/runs/reclaimed/" in result.stdout


def test_start_follow_of_an_export_failure_names_the_kept_file_system_and_the_report(
    local_server: LocalServer,
) -> None:
    server = local_server("scenarios/task_export/export-failed-files.yaml")
    result = run_cli(
        server,
        "start",
        "--stack",
        server.stack,
        "--name",
        "unexported",
        "--follow",
        "--interval",
        "0.2",
        "--json",
    )

    assert result.returncode == 1
    summary = json.loads(result.stdout.splitlines()[-1])["summary"]
    assert summary["status"] == "FAILED" and summary["error"] == "ExportFailed"
    rehearsed = server.summary("unexported")
    (file_system,) = [e for e in rehearsed["retained"] if e.startswith("fsx:file-system:")]
    assert file_system in summary["kept"]
    assert summary["failureReport"].endswith("/failures.csv")
    assert "/runs/unexported/" in summary["failureReport"]


def test_leftovers_lists_exactly_what_the_rehearsal_calls_retained_or_leaked(
    local_server: LocalServer,
) -> None:
    server = local_server("scenarios/task_export/export-failed-files.yaml")
    started = run_cli(
        server, "start", "--stack", server.stack, "--name", "left", "--follow", "--interval", "0.2"
    )
    assert started.returncode == 1
    rehearsed = server.summary("left")

    result = run_cli(server, "leftovers", "--stack", server.stack, "--json")

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert sorted(item["entry"] for item in listed) == sorted(
        rehearsed["retained"] + rehearsed["leaked"]
    )
    assert all(item["retainedReason"] for item in listed)
    assert all(item["runId"] == "left" for item in listed)
    (file_system,) = [item for item in listed if item["kind"] == "fsx:file-system"]
    assert file_system["hourly"] > 0


def test_list_shows_each_run_with_its_outcome(local_server: LocalServer) -> None:
    server = local_server("scenarios/only_ebs/default.yaml")
    assert (
        run_cli(
            server,
            "start",
            "--stack",
            server.stack,
            "--name",
            "one",
            "--follow",
            "--interval",
            "0.2",
        ).returncode
        == 0
    )
    result = run_cli(server, "list", "--stack", server.stack, "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["runId"] == "one" and row["status"] == "SUCCEEDED" and row["mode"] == "OnlyEBS"
    assert row["durationSeconds"] > 0
