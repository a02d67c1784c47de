"""End to end on one host: a Spot notice in IMDS stops a running sample job with SIGTERM.

The host's watcher (layers/common/batchscratch/scripts/spot_watcher.sh) sees the notice and
calls ``docker kill --signal TERM`` on the job's container; the stand-in docker delivers the
signal to the sample job script running in a temporary directory, which must record its
checkpoint and exit 143 while a file is half written.
"""

import subprocess
import time
from pathlib import Path

import pytest

from batchscratch.marker import RUN_MARKER_NAME
from tests.docker.stand_ins import (
    DOCKER_DIR,
    ECS_TASK_LABELS,
    SPOT_WATCHER,
    FakeTools,
    install_head,
    install_host,
)

CONTAINER = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
SAMPLES = {
    "ebs": (DOCKER_DIR / "ebs" / "write_delete_test_ebs_with_s3.sh", {"S3_BUCKET_NAME": "b-1"}),
    "lustre": (DOCKER_DIR / "lustre" / "write_delete_test_lustre.sh", {}),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_job_checkpoints_and_exits_143_on_the_notice(
    fake_tools: FakeTools, tmp_path: Path, name: str
) -> None:
    script, sample_env = SAMPLES[name]
    install_head(fake_tools)
    scratch = tmp_path / "scratch"
    data = scratch / "run-42" if name == "lustre" else scratch
    data.mkdir(parents=True)
    (data / RUN_MARKER_NAME).write_text("run-42\n")
    job = subprocess.Popen(
        [str(script), "-n", "5", "-s", "1M"],
        env=fake_tools.env(
            FAKE_HEAD_STALL_AT="3", SCRATCH_DIR=str(scratch), BATCH_SCRATCH_RUN_ID="run-42",
            **sample_env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    host = install_host(tmp_path / "host")
    host.set_containers({f"{CONTAINER} ecs-jd-1-default-cc33": ECS_TASK_LABELS.format(task="t")})
    (host.root / f"pid-{CONTAINER}").write_text(str(job.pid))
    partial = data / "test_file_3.partial"
    deadline = time.monotonic() + 20
    while not (partial.exists() and partial.stat().st_size > 0):
        assert time.monotonic() < deadline, "the job never started file 3"
        assert job.poll() is None, job.communicate()
        time.sleep(0.02)

    host.give_notice()
    with (host.root / "watcher.log").open("w") as log:
        watcher = subprocess.Popen(
            ["bash", str(SPOT_WATCHER)],
            env=host.env(SPOT_POLL_SECONDS="0.1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            stdout, stderr = job.communicate(timeout=20)
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)

    assert job.returncode == 143, stderr
    assert "SIGTERM: stopping; checkpoint records 2 of 5 file(s) complete" in stdout
    assert (data / ".write_delete_test.checkpoint").read_text() == "2\n"
    assert not partial.exists()
    assert host.kills() == [CONTAINER]
    assert (
        "sent SIGTERM to job container ecs-jd-1-default-cc33"
        in (host.root / "watcher.log").read_text()
    )
