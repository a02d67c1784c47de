"""Both sample images hold the shared library where their script looks for it.

The scripts source docker/common/write_delete_lib.sh from beside their own folder (the
repository) or else from a fixed path (the image, where they live in /usr/local/bin). Without
a Docker daemon, the tests read the Dockerfiles and run the lookup from copies.
"""

import shutil
from pathlib import Path

import pytest

from tests.docker.stand_ins import DOCKER_DIR, SAMPLE_LIBRARY, FakeTools

SCRIPTS = {
    "ebs": "write_delete_test_ebs_with_s3.sh",
    "lustre": "write_delete_test_lustre.sh",
}
IMAGE_LIBRARY = "/usr/local/lib/batch-scratch/write_delete_lib.sh"


def copies(sample: str) -> dict[str, str]:
    """Return the Dockerfile's COPY instructions as {source in docker/: destination}."""
    lines = (DOCKER_DIR / sample / "Dockerfile").read_text().splitlines()
    return {
        words[-2]: words[-1]
        for words in (line.split() for line in lines if line.startswith("COPY "))
    }


@pytest.mark.parametrize("sample", sorted(SCRIPTS))
def test_the_image_installs_the_library_where_the_script_looks(sample: str) -> None:
    script = DOCKER_DIR / sample / SCRIPTS[sample]

    assert copies(sample)[str(SAMPLE_LIBRARY.relative_to(DOCKER_DIR))] == IMAGE_LIBRARY
    assert f'lib="{IMAGE_LIBRARY}"' in script.read_text()


@pytest.mark.parametrize("sample", sorted(SCRIPTS))
def test_a_copy_with_the_repository_layout_finds_its_library(
    fake_tools: FakeTools, tmp_path: Path, sample: str
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / sample).mkdir(parents=True)
    (checkout / "common").mkdir()
    script = checkout / sample / SCRIPTS[sample]
    shutil.copy2(DOCKER_DIR / sample / SCRIPTS[sample], script)
    shutil.copy2(SAMPLE_LIBRARY, checkout / "common" / SAMPLE_LIBRARY.name)
    data = tmp_path / "data"
    data.mkdir()

    result = fake_tools.run(
        [str(script), "-n", "2", "-s", "1K", "-d", str(data)], S3_BUCKET_NAME="b-1"
    )

    assert result.returncode == 0, result.stderr
    assert (data / "test_file_2").stat().st_size == 1024


@pytest.mark.skipif(Path(IMAGE_LIBRARY).exists(), reason="the image's library is installed here")
@pytest.mark.parametrize("sample", sorted(SCRIPTS))
def test_without_the_library_the_script_fails_naming_where_it_looked(
    fake_tools: FakeTools, tmp_path: Path, sample: str
) -> None:
    script = tmp_path / sample / SCRIPTS[sample]
    script.parent.mkdir()
    shutil.copy2(DOCKER_DIR / sample / SCRIPTS[sample], script)

    result = fake_tools.run([str(script), "-n", "1", "-s", "1", "-d", str(tmp_path)])

    assert result.returncode == 1
    assert IMAGE_LIBRARY in result.stderr
    assert not list(tmp_path.glob("test_file_*"))
