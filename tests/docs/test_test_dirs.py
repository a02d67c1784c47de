"""``make test`` (and so CI, ``.ci/run``) runs every test suite of ``tests/``."""

import subprocess

from tests.conftest import REPO


def test_make_test_runs_every_folder_of_tests() -> None:
    test_dirs = subprocess.run(
        [
            "make",
            "--silent",
            "--no-print-directory",
            "--eval=print-test-dirs: ; @echo $(TEST_DIRS)",
            "print-test-dirs",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    suites = {path.parent.relative_to(REPO).as_posix() for path in REPO.glob("tests/*/test_*.py")}
    missing = sorted(suites - set(test_dirs))
    assert not missing, f"not in the Makefile's TEST_DIRS: {', '.join(missing)}"
