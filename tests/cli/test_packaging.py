"""The command installs as the project's console script, with the libraries the tests run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _normal(name: str) -> str:
    # PEP 503 normal form.
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements-dev.lock").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.strip().split("==", 1)
            pins[_normal(name.split("[")[0])] = version
    return pins


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_console_script_is_the_click_group() -> None:
    project = _project()["project"]
    assert isinstance(project, dict)
    assert project["scripts"] == {"batch-scratch": "batchscratch_cli.main:cli"}


def test_the_command_s_dependencies_are_the_versions_the_tests_run() -> None:
    project = _project()["project"]
    assert isinstance(project, dict)
    locked = _locked()
    for requirement in project["dependencies"]:
        name, version = requirement.split("==", 1)
        assert locked.get(_normal(name.split("[")[0])) == version, requirement


def test_the_build_backend_is_the_pinned_setuptools() -> None:
    requires = _project()["build-system"]
    assert isinstance(requires, dict)
    (backend,) = requires["requires"]
    name, version = backend.split("==", 1)
    assert _locked()[_normal(name)] == version


def test_the_package_ships_the_layer_s_scripts() -> None:
    setuptools = _project()["tool"]["setuptools"]  # type: ignore[index]
    scripts = ROOT / "layers" / "common" / "batchscratch" / "scripts"
    assert setuptools["package-dir"]["batchscratch"] == "layers/common/batchscratch"
    assert sorted(setuptools["package-data"]["batchscratch.scripts"]) == ["*.sh"]
    assert list(scripts.glob("*.sh"))
    assert not list(scripts.glob("*.py")) or "batchscratch.scripts" in setuptools["packages"]


def test_pip_install_dot_builds_the_command_and_the_layer_package(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "batchscratch_cli", source / "batchscratch_cli")
    shutil.copytree(
        ROOT / "layers" / "common" / "batchscratch", source / "layers" / "common" / "batchscratch"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("batch_scratch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "batchscratch_cli/main.py" in names
    assert "batchscratch/config.py" in names
    assert "batchscratch/scripts/mount_lustre.sh" in names
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "batch-scratch = batchscratch_cli.main:cli" in text
    # Nothing but the two packages: not the rehearsal, the tests or the functions.
    assert {name.split("/")[0] for name in names if "/" in name} == {
        "batchscratch",
        "batchscratch_cli",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
