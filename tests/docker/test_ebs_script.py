"""The OnlyEBS sample job script, run in a temporary directory with a stand-in ``aws``."""

from pathlib import Path

import pytest

from batchscratch.marker import RUN_MARKER_NAME
from tests.docker.stand_ins import DOCKER_DIR, FakeTools

SCRIPT = DOCKER_DIR / "ebs" / "write_delete_test_ebs_with_s3.sh"


def mark(volume: Path, run_id: str = "run-42") -> None:
    """Write the run marker as the instance's user data does after mounting the volume."""
    (volume / RUN_MARKER_NAME).write_text(f"{run_id}\n")


def test_writes_files_one_after_another_and_copies_the_last_to_s3(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()

    result = fake_tools.run(
        [str(SCRIPT), "-n", "3", "-s", "3K", "-d", str(data)], S3_BUCKET_NAME="results-bucket"
    )

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in data.iterdir()) == [
        ".write_delete_test.checkpoint",
        "test_file_3",
    ]
    assert (data / ".write_delete_test.checkpoint").read_text() == "3\n"
    assert (data / "test_file_3").stat().st_size == 3 * 1024
    assert fake_tools.calls() == [
        ["aws", "s3", "cp", "--no-progress", str(data / "test_file_3"), "s3://results-bucket/"]
    ]


def test_deletes_each_file_only_after_the_next_is_written(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "-n", "3", "-s", "1", "-d", str(tmp_path)], S3_BUCKET_NAME="b-1"
    )

    assert result.returncode == 0, result.stderr
    events = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    steps = [event for event in events if event.startswith(("wrote", "deleted"))]
    assert steps == [
        f"wrote {tmp_path}/test_file_1",
        f"wrote {tmp_path}/test_file_2",
        f"deleted {tmp_path}/test_file_1",
        f"wrote {tmp_path}/test_file_3",
        f"deleted {tmp_path}/test_file_2",
    ]


def test_reads_count_size_directory_and_prefix_from_the_environment(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    result = fake_tools.run(
        [str(SCRIPT)],
        FILE_COUNT="2",
        FILE_SIZE="1k",
        DATA_DIR=str(tmp_path),
        S3_BUCKET_NAME="results-bucket",
        S3_PREFIX="runs/run-1",
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "test_file_2").stat().st_size == 1024
    assert not (tmp_path / "test_file_1").exists()
    assert fake_tools.calls()[-1][-1] == "s3://results-bucket/runs/run-1/"


def test_in_a_batch_run_uses_the_job_definition_environment(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    mark(tmp_path)

    result = fake_tools.run(
        [str(SCRIPT), "-n", "1", "-s", "1"],
        SCRATCH_DIR=str(tmp_path),
        S3_BUCKET_NAME="results-bucket",
        BATCH_SCRATCH_RUN_ID="run-42",
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "test_file_1").exists()
    assert fake_tools.calls()[-1][-1] == "s3://results-bucket/run-42/"


def test_an_empty_prefix_copies_to_the_bucket_root(fake_tools: FakeTools, tmp_path: Path) -> None:
    mark(tmp_path)

    result = fake_tools.run(
        [str(SCRIPT), "-n", "1", "-s", "1", "-d", str(tmp_path)],
        S3_BUCKET_NAME="results-bucket",
        BATCH_SCRATCH_RUN_ID="run-42",
        S3_PREFIX="",
    )

    assert result.returncode == 0, result.stderr
    assert fake_tools.calls()[-1][-1] == "s3://results-bucket/"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-n", "0"], "COUNT"),
        (["-n", "three"], "COUNT"),
        (["-s", "0"], "SIZE"),
        (["-s", "10X"], "SIZE"),
        (["-s", "1.5G"], "SIZE"),
        (["-s", ""], "SIZE"),
        (["-d", "/nonexistent/scratch"], "not a directory"),
        (["-q"], "unknown option -q"),
        (["-n"], "needs a value"),
        (["surplus"], "unexpected argument"),
    ],
)
def test_bad_input_prints_usage_and_exits_2(
    fake_tools: FakeTools, tmp_path: Path, args: list[str], message: str
) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "-d", str(tmp_path), "-n", "1", "-s", "1", *args],
        S3_BUCKET_NAME="results-bucket",
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert "Usage:" in result.stderr
    assert fake_tools.calls() == []
    assert not list(tmp_path.glob("test_file_*"))


def test_missing_bucket_exits_2_before_writing(fake_tools: FakeTools, tmp_path: Path) -> None:
    result = fake_tools.run([str(SCRIPT), "-n", "1", "-s", "1", "-d", str(tmp_path)])

    assert result.returncode == 2
    assert "S3_BUCKET_NAME" in result.stderr
    assert not list(tmp_path.glob("test_file_*"))


def test_failed_copy_fails_the_job(fake_tools: FakeTools, tmp_path: Path) -> None:
    failing_aws = fake_tools.root / "bin" / "aws"
    failing_aws.write_text("#!/bin/sh\necho 'upload failed: AccessDenied' >&2\nexit 1\n")

    result = fake_tools.run(
        [str(SCRIPT), "-n", "1", "-s", "1", "-d", str(tmp_path)], S3_BUCKET_NAME="b-1"
    )

    assert result.returncode != 0
    assert "AccessDenied" in result.stderr


def test_help_exits_0(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "-h"])

    assert result.returncode == 0
    assert result.stdout.startswith("Usage:")


def test_image_runs_the_script_it_copies() -> None:
    lines = (DOCKER_DIR / "ebs" / "Dockerfile").read_text().splitlines()
    copy = next(line.split() for line in lines if line.startswith("COPY "))
    source, destination = copy[-2], copy[-1]
    cmd = next(line for line in lines if line.startswith("CMD "))

    # The build context is docker/ (docker/push-image.sh).
    assert (DOCKER_DIR / source).is_file()
    assert f'"{destination}"' in cmd


def test_a_resumed_attempt_copies_the_last_file_once(fake_tools: FakeTools, tmp_path: Path) -> None:
    # As an attempt stopped by SIGTERM in the middle of file 3 leaves the volume.
    mark(tmp_path)
    (tmp_path / "test_file_2").write_bytes(b"\0" * 1024)
    (tmp_path / ".write_delete_test.checkpoint").write_text("2\n")

    result = fake_tools.run(
        [str(SCRIPT), "-n", "3", "-s", "1K"],
        SCRATCH_DIR=str(tmp_path),
        S3_BUCKET_NAME="results-bucket",
        BATCH_SCRATCH_RUN_ID="run-42",
        AWS_BATCH_JOB_ATTEMPT="2",
    )

    assert result.returncode == 0, result.stderr
    assert "attempt 2: resuming from file 3" in result.stdout
    assert fake_tools.calls() == [
        [
            "aws", "s3", "cp", "--no-progress", str(tmp_path / "test_file_3"),
            "s3://results-bucket/run-42/",
        ]
    ]  # fmt: skip


def test_an_attempt_after_the_last_file_only_copies_it(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    (tmp_path / "test_file_3").write_bytes(b"\0" * 1024)
    (tmp_path / ".write_delete_test.checkpoint").write_text("3\n")

    result = fake_tools.run(
        [str(SCRIPT), "-n", "3", "-s", "1K", "-d", str(tmp_path)],
        S3_BUCKET_NAME="results-bucket",
        AWS_BATCH_JOB_ATTEMPT="2",
    )

    assert result.returncode == 0, result.stderr
    assert " wrote " not in result.stdout
    assert fake_tools.calls() == [
        ["aws", "s3", "cp", "--no-progress", str(tmp_path / "test_file_3"), "s3://results-bucket/"]
    ]
