"""The rehearsal's local AWS as a server, for the ``batch-scratch`` command's tests.

``local_server(scenario)`` starts ``python -m tools.rehearse --serve SCENARIO`` in a process of
its own (as a user would), waits for its serving line, and stops it after the test. The
command's tests talk to it over HTTP with ``--endpoint-url`` (``Server.env`` for a
subprocess, ``Server.args`` for ``CliRunner``), and read the rehearsal's summary of each
execution they started (``Server.summary``) to compare what the command says with what the
rehearsal found.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]

START_SECONDS = 180.0
"""Real seconds a server may take to deploy its stack and print its serving line."""


class ServerError(RuntimeError):
    """The server ended, or said nothing in time."""


@dataclass
class Server:
    """One running local server: where it listens, its stack, and what it has printed."""

    process: subprocess.Popen[str]
    serving: dict[str, Any]
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @property
    def endpoint_url(self) -> str:
        return str(self.serving["endpointUrl"])

    @property
    def stack(self) -> str:
        return str(self.serving["stack"])

    @property
    def mode(self) -> str:
        return str(self.serving["mode"])

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.serving["outputs"])

    @property
    def env(self) -> dict[str, str]:
        """The environment for a process that talks to the server: its endpoint, Region and
        placeholder credentials, no AWS profile, the repository importable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.serving["environment"])
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])
        return env

    @property
    def args(self) -> list[str]:
        """Options that point a subcommand at the server."""
        return ["--endpoint-url", self.endpoint_url, "--region", str(self.serving["region"])]

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` at the server, with its placeholder credentials."""
        environment = self.serving["environment"]
        return boto3.session.Session(
            aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
            region_name=environment["AWS_DEFAULT_REGION"],
        ).client(service, endpoint_url=self.endpoint_url)

    def summary(self, execution: str, timeout: float = 120.0) -> dict[str, Any]:
        """Return the rehearsal's summary of ``execution`` (its name), waiting for it (the
        execution and its releases ended) at most ``timeout`` real seconds.

        Raises:
            ServerError: the server ended or printed no summary of it in time.
        """
        deadline = time.monotonic() + timeout
        while execution not in self.summaries:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerError(f"no summary of {execution} after {timeout:g} s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise ServerError(f"the server ended before summarizing {execution}")
            parsed = json.loads(line)
            if "execution" in parsed:
                self.summaries[parsed["execution"]] = parsed
        return self.summaries[execution]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _read(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        if line.strip():
            lines.put(line)
    lines.put(None)


def start_server(scenario: str | Path) -> Server:
    """Start a local server for ``scenario`` (a path, relative to the repository or not) and
    return it once it serves.

    Raises:
        ServerError: it ended, or printed no serving line within ``START_SECONDS``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.rehearse", "--serve", str(scenario)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read, args=(process.stdout, lines), daemon=True).start()
    try:
        first = lines.get(timeout=START_SECONDS)
    except queue.Empty:
        first = None
    if first is None or "serving" not in first:
        process.kill()
        raise ServerError(f"python -m tools.rehearse --serve {scenario} did not serve: {first!r}")
    return Server(process, json.loads(first)["serving"], lines=lines)


@pytest.fixture
def local_server() -> Iterator[Callable[[str | Path], Server]]:
    """A factory: ``local_server("scenarios/task_export/spot-reclaim.yaml")`` starts a server
    for that scenario; every server started is stopped after the test."""
    started: list[Server] = []

    def start(scenario: str | Path) -> Server:
        server = start_server(scenario)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
