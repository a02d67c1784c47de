"""The Lustre sample job script (TaskExport and AutoExport), run in a temporary directory."""

from pathlib import Path

from batchscratch.marker import RUN_MARKER_NAME
from tests.docker.stand_ins import DOCKER_DIR, FakeTools

SCRIPT = DOCKER_DIR / "lustre" / "write_delete_test_lustre.sh"


def test_writes_files_one_after_another_deleting_the_previous_one(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    result = fake_tools.run([str(SCRIPT), "-n", "3", "-s", "3K", "-d", str(tmp_path)])

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
    assert (tmp_path / "test_file_3").stat().st_size == 3 * 1024
    assert fake_tools.calls() == []


def test_in_a_batch_run_writes_under_the_run_id_in_scratch(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    # The instance's user data creates the run's directory and marks it.
    (scratch / "run-42").mkdir(parents=True)
    (scratch / "run-42" / RUN_MARKER_NAME).write_text("run-42\n")

    result = fake_tools.run(
        [str(SCRIPT)],
        FILE_COUNT="2",
        FILE_SIZE="1K",
        SCRATCH_DIR=str(scratch),
        BATCH_SCRATCH_RUN_ID="run-42",
    )

    assert result.returncode == 0, result.stderr
    run_dir = scratch / "run-42"
    assert sorted(path.name for path in run_dir.iterdir()) == [
        RUN_MARKER_NAME,
        ".write_delete_test.checkpoint",
        "test_file_2",
    ]
    assert [path.name for path in scratch.iterdir()] == ["run-42"]


def test_data_dir_overrides_scratch_dir(fake_tools: FakeTools, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()

    result = fake_tools.run(
        [str(SCRIPT), "-n", "1", "-s", "1"], DATA_DIR=str(data), SCRATCH_DIR="/nonexistent"
    )

    assert result.returncode == 0, result.stderr
    assert (data / "test_file_1").stat().st_size == 1


def test_image_runs_the_script_it_copies() -> None:
    lines = (DOCKER_DIR / "lustre" / "Dockerfile").read_text().splitlines()
    copy = next(line.split() for line in lines if line.startswith("COPY "))
    source, destination = copy[-2], copy[-1]
    cmd = next(line for line in lines if line.startswith("CMD "))

    # The build context is docker/ (docker/push-image.sh).
    assert (DOCKER_DIR / source).is_file()
    assert f'"{destination}"' in cmd
