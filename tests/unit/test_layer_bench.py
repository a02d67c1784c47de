"""tools.bench.handlers on a small build folder made here (no ``sam build``)."""

import importlib.metadata
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import typing_extensions
import yaml

from tools.bench import handlers
from tools.bench.handlers import (
    cold_import_seconds,
    foreign_packages,
    import_profile,
    zip_size,
    zipped_sizes,
)

TEMPLATE = {
    "Parameters": {"Greeting": {"Type": "String", "Default": "hello"}},
    "Globals": {
        "Function": {
            "MemorySize": 256,
            "Layers": [{"Ref": "Shared"}],
            "Environment": {
                "Variables": {"POWERTOOLS_SERVICE_NAME": "svc", "GREETING": {"Ref": "Greeting"}}
            },
        }
    },
    "Resources": {
        "Shared": {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "Shared"}},
        "One": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "One",
                "Environment": {
                    "Variables": {"STACK": {"Ref": "AWS::StackName"}, "BUCKET": {"Ref": "Bucket"}}
                },
            },
        },
        "Two": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "Two"}},
        "Bucket": {"Type": "AWS::S3::Bucket"},
    },
}

SEEN = """\
import json, os, sys
from pathlib import Path
import botocore
import shared
Path(__file__).with_name("seen.json").write_text(json.dumps({
    "env": dict(os.environ), "path": sys.path, "botocore": botocore.__file__,
    "shared": shared.__file__, "cwd": os.getcwd(),
}))
"""
"""A handler that writes down what it saw: its environment, sys.path, where modules came from."""


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A build folder: two functions sharing one layer, and the template that wires them."""
    (tmp_path / "template.yaml").write_text(yaml.safe_dump(TEMPLATE))
    (tmp_path / "Shared" / "python").mkdir(parents=True)
    (tmp_path / "Shared" / "python" / "shared.py").write_text("VALUE = 1\n")
    for name in ("One", "Two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(SEEN)
    return tmp_path


def seen(build: Path, function: str) -> dict[str, object]:
    found: dict[str, object] = json.loads((build / function / "seen.json").read_text())
    return found


def test_each_function_is_imported_the_given_number_of_times(build: Path) -> None:
    samples = cold_import_seconds(build, repeats=2)
    assert sorted(samples) == ["One", "Two"]
    assert all(
        len(times) == 2 and all(0 < time < 30 for time in times) for times in samples.values()
    )


def test_the_cpu_time_of_an_import_is_at_most_its_wall_time(build: Path) -> None:
    (build / "One" / "app.py").write_text("import time\ntime.sleep(0.2)\n")
    (build / "Two" / "app.py").write_text("")
    assert cold_import_seconds(build, repeats=1)["One"][0] >= 0.2
    assert cold_import_seconds(build, repeats=1, cpu=True)["One"][0] < 0.1


def test_a_function_sees_its_folder_its_layers_and_the_runtime_sdk_only(build: Path) -> None:
    cold_import_seconds(build, repeats=1)
    one = seen(build, "One")
    path = [str(entry) for entry in one["path"]]  # type: ignore[attr-defined]
    assert path[0] == str(build / "One")
    assert path[2] == str(build / "Shared" / "python")
    assert not [entry for entry in path if "site-packages" in entry]
    assert str(one["shared"]).startswith(str(build / "Shared" / "python"))
    assert Path(str(one["botocore"])).parts[:-2] == Path(path[3]).parts
    assert one["cwd"] == str(build / "One")


def test_a_function_gets_the_template_environment_and_lambda_s(build: Path) -> None:
    cold_import_seconds(build, repeats=1)
    env = seen(build, "One")["env"]
    assert isinstance(env, dict)
    assert {key: env[key] for key in ("POWERTOOLS_SERVICE_NAME", "GREETING", "STACK")} == {
        "POWERTOOLS_SERVICE_NAME": "svc",
        "GREETING": "hello",
        "STACK": handlers.PSEUDO_PARAMETERS["AWS::StackName"],
    }
    assert env["BUCKET"] == "<Ref Bucket (AWS::S3::Bucket)>"
    assert env["LAMBDA_TASK_ROOT"] == str(build / "One")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert "HOME" not in env and "PYTHONPATH" not in env
    assert "STACK" not in seen(build, "Two")["env"]  # type: ignore[operator]


def test_a_function_that_needs_what_nothing_provides_fails_the_measurement(build: Path) -> None:
    (build / "Two" / "app.py").write_text("import yaml\n")  # in the dev environment only
    with pytest.raises(RuntimeError, match="Two: import app failed"):
        cold_import_seconds(build, repeats=1)


def test_the_import_profile_names_each_module(build: Path) -> None:
    modules = [line.split("|")[-1].strip() for line in import_profile(build, "One").splitlines()]
    assert {"shared", "botocore", "app"} <= set(modules)


def _elf(machine: int) -> bytes:
    """The first bytes of a little-endian 64-bit ELF file for the instruction set ``machine``."""
    return b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)


def _other_machine() -> int:
    here = Path(os.path.realpath(sys.executable)).read_bytes()[18:20]
    return 183 if int.from_bytes(here, "little") != 183 else 62  # AArch64, else x86-64


def test_a_package_compiled_for_another_machine_is_taken_from_this_one(build: Path) -> None:
    layer = build / "Shared" / "python"
    version = importlib.metadata.version("pydantic_core")
    shutil.copy(typing_extensions.__file__, layer)  # pydantic_core imports it
    (layer / "pydantic_core").mkdir()
    (layer / "pydantic_core" / "_pydantic_core.cpython-313-other.so").write_bytes(
        _elf(_other_machine())
    )
    (layer / f"pydantic_core-{version}.dist-info").mkdir()
    assert foreign_packages(layer) == {"pydantic_core": "pydantic_core"}
    (build / "Two" / "app.py").write_text("import pydantic_core\n")
    assert len(cold_import_seconds(build, repeats=1)["Two"]) == 1


def test_a_package_for_another_machine_at_another_version_is_refused(build: Path) -> None:
    layer = build / "Shared" / "python"
    (layer / "pydantic_core").mkdir()
    (layer / "pydantic_core" / "_pydantic_core.so").write_bytes(_elf(_other_machine()))
    (layer / "pydantic_core-0.0.1.dist-info").mkdir()
    with pytest.raises(LookupError, match="pydantic_core"):
        foreign_packages(layer)


def test_zipped_sizes_are_those_of_deflated_folders(build: Path) -> None:
    (build / "One" / "zeros.bin").write_bytes(bytes(200_000))
    (build / "Two" / "noise.bin").write_bytes(os.urandom(200_000))
    sizes = zipped_sizes(build)
    assert sorted(sizes) == ["One", "Shared", "Two"]
    assert sizes["One"] < 5_000 < 200_000 < sizes["Two"]
    assert sizes["Shared"] == zip_size(build / "Shared")
