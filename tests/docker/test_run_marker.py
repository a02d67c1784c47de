"""The sample jobs write only into storage that the instance marked for their run.

In a Batch run (``BATCH_SCRATCH_RUN_ID`` set) the data directory must hold the run marker
that the instance's user data writes after mounting the storage; without it the directory
is the empty host path left where the storage failed to mount (or another run's storage),
and the job must stop before writing anything, with its own exit status.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from batchscratch.marker import RUN_MARKER_NAME, SAMPLE_JOB_REFUSAL_EXIT_CODE
from tests.docker.stand_ins import DOCKER_DIR, SAMPLE_LIBRARY, FakeTools, install_head

RUN_ID = "run-42"


@dataclass(frozen=True)
class Sample:
    script: Path
    env: dict[str, str]
    run_dir: bool
    """The job works in DIR/$BATCH_SCRATCH_RUN_ID (Lustre), not in DIR itself (EBS)."""

    def data_dir(self, scratch: Path) -> Path:
        return scratch / RUN_ID if self.run_dir else scratch


SAMPLES = {
    "ebs": Sample(
        DOCKER_DIR / "ebs" / "write_delete_test_ebs_with_s3.sh",
        {"S3_BUCKET_NAME": "b-1"},
        run_dir=False,
    ),
    "lustre": Sample(DOCKER_DIR / "lustre" / "write_delete_test_lustre.sh", {}, run_dir=True),
}


@pytest.fixture(params=sorted(SAMPLES))
def sample(request: pytest.FixtureRequest) -> Sample:
    return SAMPLES[request.param]


def tree(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.mark.parametrize("marker", [None, "run-41\n", "", f"{RUN_ID}-old\n"])
def test_without_the_marker_of_its_run_the_job_writes_nothing(
    fake_tools: FakeTools, tmp_path: Path, sample: Sample, marker: str | None
) -> None:
    writes = install_head(fake_tools)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    if marker is not None:
        sample.data_dir(scratch).mkdir(exist_ok=True)
        (sample.data_dir(scratch) / RUN_MARKER_NAME).write_text(marker)
    before = tree(scratch)

    result = fake_tools.run(
        [str(sample.script), "-n", "2", "-s", "1K"],
        SCRATCH_DIR=str(scratch),
        BATCH_SCRATCH_RUN_ID=RUN_ID,
        **sample.env,
    )

    assert result.returncode == SAMPLE_JOB_REFUSAL_EXIT_CODE, result.stderr
    assert "refusing to write" in result.stderr
    assert f"is not the storage of run {RUN_ID}" in result.stderr
    assert tree(scratch) == before
    assert not writes.exists()
    assert fake_tools.calls() == []


def test_with_the_marker_of_its_run_the_job_runs(
    fake_tools: FakeTools, tmp_path: Path, sample: Sample
) -> None:
    scratch = tmp_path / "scratch"
    sample.data_dir(scratch).mkdir(parents=True)
    (sample.data_dir(scratch) / RUN_MARKER_NAME).write_text(f"{RUN_ID}\n")

    result = fake_tools.run(
        [str(sample.script), "-n", "2", "-s", "1K"],
        SCRATCH_DIR=str(scratch),
        BATCH_SCRATCH_RUN_ID=RUN_ID,
        **sample.env,
    )

    assert result.returncode == 0, result.stderr
    assert (sample.data_dir(scratch) / "test_file_2").stat().st_size == 1024
    assert (sample.data_dir(scratch) / RUN_MARKER_NAME).read_text() == f"{RUN_ID}\n"


def test_outside_batch_no_marker_is_needed(
    fake_tools: FakeTools, tmp_path: Path, sample: Sample
) -> None:
    result = fake_tools.run(
        [str(sample.script), "-n", "1", "-s", "1K", "-d", str(tmp_path)], **sample.env
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "test_file_1").exists()
    assert not (tmp_path / RUN_MARKER_NAME).exists()


def test_the_usage_documents_the_refusal_status(fake_tools: FakeTools, sample: Sample) -> None:
    result = fake_tools.run([str(sample.script), "-h"])

    assert f"{SAMPLE_JOB_REFUSAL_EXIT_CODE} BATCH_SCRATCH_RUN_ID is set" in result.stdout
    assert RUN_MARKER_NAME in result.stdout


def test_the_samples_use_the_marker_name_and_status_of_the_layer(sample: Sample) -> None:
    # The constants are in the library the samples source, and only there.
    text = sample.script.read_text() + SAMPLE_LIBRARY.read_text()

    assert re.findall(r'^readonly RUN_MARKER_NAME="(.*)"$', text, re.MULTILINE) == [RUN_MARKER_NAME]
    assert re.findall(r"^readonly EXIT_NOT_THE_RUNS_STORAGE=(\d+)$", text, re.MULTILINE) == [
        str(SAMPLE_JOB_REFUSAL_EXIT_CODE)
    ]
