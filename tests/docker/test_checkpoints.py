"""Checkpoint and resume behaviour shared by the sample job scripts (OnlyEBS and Lustre).

Each script runs directly in a temporary directory with MiB sizes. A stand-in ``head``
records where every write goes, and can hang in the middle of a file so that the job can be
stopped there with SIGTERM, as Batch does when a Spot instance is reclaimed.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docker.stand_ins import DOCKER_DIR, FakeTools, install_head

CHECKPOINT = ".write_delete_test.checkpoint"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    script: Path
    env: dict[str, str]


SAMPLES = {
    "ebs": Sample(
        DOCKER_DIR / "ebs" / "write_delete_test_ebs_with_s3.sh", {"S3_BUCKET_NAME": "b-1"}
    ),
    "lustre": Sample(DOCKER_DIR / "lustre" / "write_delete_test_lustre.sh", {}),
}


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> Sample:
    return SAMPLES[request.param]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory for the job to write into."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


@pytest.fixture
def writes(fake_tools: FakeTools) -> Path:
    return install_head(fake_tools)


def state(directory: Path) -> dict[str, str | int]:
    """Return what ``directory`` holds: each file's size, and the checkpoint's text."""
    result: dict[str, str | int] = {}
    for path in sorted(directory.iterdir()):
        result[path.name] = path.read_text() if path.name == CHECKPOINT else path.stat().st_size
    return result


def written(writes: Path) -> list[str]:
    """Return the names of the files written so far, in order, from the write log."""
    if not writes.exists():
        return []
    return [Path(line).name for line in writes.read_text().splitlines()]


def wrote_lines(stdout: str) -> list[str]:
    return [Path(line.split()[-1]).name for line in stdout.splitlines() if " wrote " in line]


def start_and_stop_in_file(
    fake_tools: FakeTools, sample: Sample, directory: Path, file_number: int
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run 5 files of 1 MiB, send SIGTERM while file ``file_number`` is half written."""
    partial = directory / f"test_file_{file_number}.partial"
    process = subprocess.Popen(
        [str(sample.script), "-n", "5", "-s", "1M", "-d", str(directory)],
        env=fake_tools.env(FAKE_HEAD_STALL_AT=str(file_number), **sample.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (partial.exists() and partial.stat().st_size > 0):
        assert time.monotonic() < deadline, "the job never started the file to interrupt"
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=20)
    elapsed = time.monotonic() - sent
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), elapsed


def test_a_complete_run_leaves_the_last_file_and_the_checkpoint(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path
) -> None:
    result = fake_tools.run(
        [str(sample.script), "-n", "4", "-s", "2M", "-d", str(work)], **sample.env
    )

    assert result.returncode == 0, result.stderr
    assert state(work) == {CHECKPOINT: "4\n", "test_file_4": 2 * MIB}
    assert written(writes) == [f"test_file_{i}.partial" for i in range(1, 5)]
    assert wrote_lines(result.stdout) == [f"test_file_{i}" for i in range(1, 5)]
    assert "resuming" not in result.stdout


def test_sigterm_mid_file_then_resume_matches_an_uninterrupted_run(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path
) -> None:
    interrupted = work / "interrupted"
    interrupted.mkdir()

    stopped, elapsed = start_and_stop_in_file(fake_tools, sample, interrupted, 3)

    # Stopped at once, with a failure status, and only complete files counted.
    assert stopped.returncode == 143, stopped.stderr
    assert elapsed < 5
    assert "SIGTERM" in stopped.stdout
    assert state(interrupted) == {CHECKPOINT: "2\n", "test_file_2": MIB}
    assert wrote_lines(stopped.stdout) == ["test_file_1", "test_file_2"]
    assert [call[:3] for call in fake_tools.calls()] == []
    writes_before = written(writes)

    resumed = fake_tools.run(
        [str(sample.script), "-n", "5", "-s", "1M", "-d", str(interrupted)],
        AWS_BATCH_JOB_ATTEMPT="2",
        **sample.env,
    )

    assert resumed.returncode == 0, resumed.stderr
    assert "attempt 2: resuming from file 3" in resumed.stdout
    # The resumed attempt wrote only the files that were not complete.
    assert written(writes)[len(writes_before) :] == [f"test_file_{i}.partial" for i in range(3, 6)]
    assert wrote_lines(resumed.stdout) == ["test_file_3", "test_file_4", "test_file_5"]
    assert sorted(wrote_lines(stopped.stdout) + wrote_lines(resumed.stdout)) == [
        f"test_file_{i}" for i in range(1, 6)
    ]
    deleted = [line for line in resumed.stdout.splitlines() if " deleted " in line]
    assert deleted[0].endswith("/test_file_2")

    uninterrupted = work / "uninterrupted"
    uninterrupted.mkdir()
    fresh = fake_tools.run(
        [str(sample.script), "-n", "5", "-s", "1M", "-d", str(uninterrupted)], **sample.env
    )
    assert fresh.returncode == 0, fresh.stderr
    assert state(interrupted) == state(uninterrupted)


def test_a_stop_before_any_file_is_complete_resumes_from_file_1(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path
) -> None:
    stopped, _ = start_and_stop_in_file(fake_tools, sample, work, 1)

    assert stopped.returncode == 143
    assert state(work) == {CHECKPOINT: "0\n"}

    resumed = fake_tools.run(
        [str(sample.script), "-n", "5", "-s", "1M", "-d", str(work)],
        AWS_BATCH_JOB_ATTEMPT="2",
        **sample.env,
    )

    assert resumed.returncode == 0, resumed.stderr
    assert "attempt 2: resuming from file 1" in resumed.stdout
    assert state(work) == {CHECKPOINT: "5\n", "test_file_5": MIB}


def test_a_partial_file_left_by_a_killed_attempt_is_never_counted(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path
) -> None:
    # SIGKILL gives no chance to clean up: the file being written stays, under its temporary
    # name, next to the checkpoint of the last complete file.
    (work / "test_file_1").write_bytes(b"\0" * MIB)
    (work / "test_file_2").write_bytes(b"\0" * MIB)
    (work / CHECKPOINT).write_text("2\n")
    (work / "test_file_3.partial").write_bytes(b"\0" * 1000)

    resumed = fake_tools.run(
        [str(sample.script), "-n", "3", "-s", "1M", "-d", str(work)],
        AWS_BATCH_JOB_ATTEMPT="3",
        **sample.env,
    )

    assert resumed.returncode == 0, resumed.stderr
    assert "attempt 3: resuming from file 3" in resumed.stdout
    assert written(writes) == ["test_file_3.partial"]
    assert state(work) == {CHECKPOINT: "3\n", "test_file_3": MIB}


def test_an_attempt_after_the_last_file_writes_nothing(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path
) -> None:
    first = fake_tools.run(
        [str(sample.script), "-n", "2", "-s", "1M", "-d", str(work)], **sample.env
    )
    assert first.returncode == 0, first.stderr
    last = (work / "test_file_2").stat()

    again = fake_tools.run(
        [str(sample.script), "-n", "2", "-s", "1M", "-d", str(work)],
        AWS_BATCH_JOB_ATTEMPT="2",
        **sample.env,
    )

    assert again.returncode == 0, again.stderr
    assert "all 2 file(s) complete at the checkpoint" in again.stdout
    assert written(writes) == ["test_file_1.partial", "test_file_2.partial"]
    after = (work / "test_file_2").stat()
    assert (after.st_ino, after.st_mtime_ns) == (last.st_ino, last.st_mtime_ns)


@pytest.mark.parametrize("recorded", ["garbage\n", "9\n", "2\n"])
def test_a_checkpoint_that_does_not_match_the_files_starts_over(
    fake_tools: FakeTools, sample: Sample, writes: Path, work: Path, recorded: str
) -> None:
    # "2" names a file that is not there; "9" is beyond COUNT.
    (work / CHECKPOINT).write_text(recorded)

    result = fake_tools.run(
        [str(sample.script), "-n", "3", "-s", "1M", "-d", str(work)],
        AWS_BATCH_JOB_ATTEMPT="2",
        **sample.env,
    )

    assert result.returncode == 0, result.stderr
    assert "starting over" in result.stdout
    assert "resuming from file 1" in result.stdout
    assert state(work) == {CHECKPOINT: "3\n", "test_file_3": MIB}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["-n", "0"], {}, "COUNT"),
        (["-n", "-1"], {}, "COUNT"),
        (["-s", "5X"], {}, "SIZE"),
        (["-s", "0M"], {}, "SIZE"),
        (["-s", "5MB"], {}, "SIZE"),
        (["-s", "65T"], {}, "at most 64T"),
        (["-s", "16777217T"], {}, "at most 64T"),
        (["-s", "999999999999T"], {}, "at most 64T"),
        (["-d", "/nonexistent/scratch"], {}, "not a directory"),
        (["-x"], {}, "unknown option -x"),
        (["-s"], {}, "needs a value"),
        (["surplus"], {}, "unexpected argument"),
        ([], {"FILE_COUNT": "ten"}, "COUNT"),
        ([], {"FILE_SIZE": "100 G"}, "SIZE"),
        ([], {"AWS_BATCH_JOB_ATTEMPT": "two"}, "AWS_BATCH_JOB_ATTEMPT"),
    ],
)
def test_bad_input_prints_usage_and_exits_2(
    fake_tools: FakeTools,
    sample: Sample,
    writes: Path,
    work: Path,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    result = fake_tools.run([str(sample.script), "-d", str(work), *args], **sample.env, **env)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Usage:" in result.stderr
    assert list(work.iterdir()) == []
    assert written(writes) == []


def test_defaults_are_10_files_of_100_gib(fake_tools: FakeTools, sample: Sample) -> None:
    result = fake_tools.run([str(sample.script), "-h"])

    assert result.returncode == 0
    assert "default 10)" in result.stdout
    assert "default 100G)" in result.stdout


def test_the_scripts_are_executable_bash_scripts() -> None:
    for sample in SAMPLES.values():
        assert os.access(sample.script, os.X_OK)
        assert sample.script.read_text().startswith("#!/usr/bin/env bash\n")
