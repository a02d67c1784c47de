"""The host's Spot watcher (scripts/spot_watcher.sh) against a stand-in IMDS and docker.

ECS stops no Batch job at a Spot interruption notice, so the watcher must turn the notice
into SIGTERM for every job container, once each, within seconds; never signal the ECS agent;
signal nothing without a notice; and outlive IMDS hiccups and token expiry.
"""

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.docker.stand_ins import ECS_TASK_LABELS, SPOT_WATCHER, FakeHost, install_host

JOB_1 = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
JOB_2 = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a"
AGENT = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
OTHER = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    host = install_host(tmp_path / "host")
    host.set_containers(
        {
            f"{JOB_1} ecs-jd-1-default-aa11": ECS_TASK_LABELS.format(task="task-1"),
            f"{JOB_2} ecs-jd-1-default-bb22": ECS_TASK_LABELS.format(task="task-2"),
            f"{OTHER} started-by-hand": "maintainer=someone",
            f"{AGENT} ecs-agent": "",
        }
    )
    return host


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; return how long that took, or fail after ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"{what} within {seconds}s"
        time.sleep(0.02)
    return time.monotonic() - start


def polls(host: FakeHost, status: str = "") -> int:
    return sum(
        1
        for call in host.calls("imds")
        if call.startswith("GET meta-data/spot/instance-action") and call.endswith(status)
    )


def docker_ps_calls(host: FakeHost) -> int:
    return sum(1 for call in host.calls("docker") if call.startswith("ps "))


@contextmanager
def watching(host: FakeHost, **env: str) -> Iterator[subprocess.Popen[str]]:
    """Run the watcher (polling every 0.1 s) for the ``with`` block; its log is watcher.log."""
    with (host.root / "watcher.log").open("w") as log:
        process = subprocess.Popen(
            ["bash", str(SPOT_WATCHER)],
            env=host.env(SPOT_POLL_SECONDS="0.1", **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=10)


def log_of(host: FakeHost) -> str:
    return (host.root / "watcher.log").read_text()


@pytest.mark.parametrize("agent_labels", ["", ECS_TASK_LABELS.format(task="agent")])
def test_a_notice_sends_sigterm_to_each_job_container_once(
    host: FakeHost, agent_labels: str
) -> None:
    # Only containers of ECS tasks are jobs. The agent carries no task labels; if it ever
    # did, its name still keeps it out.
    containers = (host.root / "containers").read_text().replace(f"{AGENT} ecs-agent \n", "")
    (host.root / "containers").write_text(f"{containers}{AGENT} ecs-agent {agent_labels}\n")

    with watching(host) as watcher:
        wait_for(lambda: polls(host, " 404") >= 3, 10, "three polls")
        assert host.kills() == []

        host.give_notice()
        elapsed = wait_for(lambda: len(host.kills()) >= 2, 10, "SIGTERM to both jobs")
        seen = docker_ps_calls(host)
        wait_for(lambda: docker_ps_calls(host) >= seen + 3, 10, "three more looks at docker")

        assert watcher.poll() is None
    assert elapsed < 10
    assert sorted(host.kills()) == sorted([JOB_1, JOB_2])
    log = log_of(host)
    assert 'batch-scratch: Spot interruption notice: {"action": "terminate"' in log
    assert f"batch-scratch: sent SIGTERM to job container ecs-jd-1-default-aa11 ({JOB_1})" in log


def test_without_a_notice_nothing_is_signalled(host: FakeHost) -> None:
    with watching(host) as watcher:
        wait_for(lambda: polls(host, " 404") >= 10, 10, "ten polls")

        assert watcher.poll() is None
    assert host.calls("docker") == []


def test_the_token_is_renewed_before_it_expires(host: FakeHost) -> None:
    with watching(host, TOKEN_TTL_SECONDS="2") as watcher:
        wait_for(lambda: host.calls("imds").count("PUT token 2") >= 3, 10, "two renewals")
        host.give_notice()
        wait_for(lambda: len(host.kills()) >= 2, 10, "SIGTERM after the renewals")

        assert watcher.poll() is None
    # The stand-in answers 401 to a token past its TTL: none was ever used.
    assert polls(host, " 401") == 0


@pytest.mark.parametrize("failure", ["imds-failures", "imds-errors"])
def test_imds_failures_do_not_stop_the_watcher(host: FakeHost, failure: str) -> None:
    (host.root / failure).write_text("5")
    host.give_notice()

    with watching(host) as watcher:
        wait_for(lambda: len(host.kills()) >= 2, 10, "SIGTERM once IMDS answers")

        assert watcher.poll() is None
    assert "trying again" in log_of(host)
    assert (host.root / failure).read_text().strip() == "0"


def test_a_kill_that_fails_is_tried_again_and_each_job_is_signalled_once(host: FakeHost) -> None:
    (host.root / "kill-failures").write_text("1")
    host.give_notice()

    with watching(host):
        wait_for(lambda: log_of(host).count("sent SIGTERM") >= 2, 10, "SIGTERM to both jobs")
        seen = docker_ps_calls(host)
        wait_for(lambda: docker_ps_calls(host) >= seen + 3, 10, "three more looks at docker")

    assert "failed; trying again" in log_of(host)
    assert len(host.kills()) == 3
    assert log_of(host).count("sent SIGTERM") == 2
