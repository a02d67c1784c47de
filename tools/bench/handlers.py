"""Cold-start cost of the built functions: the time to import each handler, and the zips.

Both read the output of ``sam build`` (``.aws-sam/build``): one folder per function
(``<LogicalId>/app.py``), one per layer (``<LogicalId>/python/``), and the built template
``template.yaml`` beside them.

- ``cold_import_seconds`` imports each function's ``app`` module in a fresh interpreter, as a
  Lambda cold start does, and returns the wall times.
- ``zipped_sizes`` zips each folder as ``sam package`` / ``sam deploy`` upload it.

The Lambda Python runtime brings the AWS SDK for Python (Lambda Developer Guide, "Building
Lambda functions with Python", "Runtime-included SDK versions"); ``RUNTIME_DISTRIBUTIONS``
names the distributions the layer may therefore leave out. The measurement stands in for the
runtime's copy with the development environment's own (``stand_in``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.cfn import Evaluator, Unresolved, load

RUNTIME_DISTRIBUTIONS: tuple[str, ...] = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "urllib3",
    "six",
)
"""The distributions of the Lambda python3.13 runtime's AWS SDK: boto3 and what it depends
on (boto3 needs botocore, s3transfer and jmespath; botocore needs python-dateutil and urllib3;
python-dateutil needs six). The layer does not ship them."""

REGION = "us-east-1"
"""The Region the measured functions see (``AWS_REGION``); nothing is called."""

PSEUDO_PARAMETERS: Mapping[str, str] = {
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "batch-scratch",
    "AWS::URLSuffix": "amazonaws.com",
}
"""Pseudo parameter values for the functions' environment variables that name them."""

_IMPORT = """\
import sys, time
sys.path[:0] = sys.argv[1:]
start, cpu = time.perf_counter(), time.process_time()
import app
print(time.perf_counter() - start, time.process_time() - cpu)
"""
"""What each measuring interpreter runs: the paths first (function, layers, SDK), then the
timed import; it prints its wall and CPU seconds. ``-I -S`` leave only the standard library
on ``sys.path`` (no site-packages, no ``.pth`` files, no current directory); ``-B`` writes no
``.pyc``, as Lambda cannot (``/var/task`` and ``/opt`` are read-only), so every run compiles
what the build did not."""


# --------------------------------------------------------------------------- the build


def functions(build_dir: Path) -> dict[str, Path]:
    """The built functions: ``{logical id: folder}`` for every folder with an ``app.py``."""
    return {
        folder.name: folder
        for folder in sorted(build_dir.iterdir())
        if (folder / "app.py").is_file()
    }


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template.get("Resources") or {}
    return resources


def _function_globals(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    return found


def layer_dirs(build_dir: Path, template: dict[str, Any], logical_id: str) -> list[Path]:
    """The ``python/`` folders of the layers the function ``logical_id`` uses, in its order.

    The function's ``Layers`` (else the template's ``Globals``) list ``Ref``s to layers built
    beside it (``<build_dir>/<LayerId>/python``), which Lambda extracts to ``/opt`` and puts
    ``/opt/python`` on ``sys.path`` for (Lambda Developer Guide, "Working with layers for
    Python Lambda functions").

    Raises:
        ValueError: a layer is not a ``Ref`` to a layer of this build.
    """
    properties = _resources(template)[logical_id].get("Properties") or {}
    layers = properties.get("Layers", _function_globals(template).get("Layers", []))
    found = []
    for layer in layers:
        name = layer.get("Ref") if isinstance(layer, dict) else None
        folder = build_dir / str(name) / "python"
        if name is None or not folder.is_dir():
            raise ValueError(f"{logical_id}: layer {layer!r} is not a layer of {build_dir}")
        found.append(folder)
    return found


def _environment_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(_environment_text, value))
    return str(value)


def environment(template: dict[str, Any], logical_id: str, task_root: Path) -> dict[str, str]:
    """The environment the function ``logical_id`` starts with in Lambda.

    Its variables (``Globals`` and its own ``Environment.Variables``, evaluated for the
    template's defaults: a value only CloudFormation knows reads ``<Ref ...>``; one that is
    ``AWS::NoValue`` is left out) and those Lambda defines for every function (Lambda
    Developer Guide, "Defined runtime environment variables"): ``LAMBDA_TASK_ROOT`` (which,
    for one, turns Powertools Tracer on), ``AWS_LAMBDA_FUNCTION_NAME``,
    ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
    ``AWS_EXECUTION_ENV``, ``LANG``, ``TZ``, ``PATH``. Nothing of the caller's environment
    is passed on.
    """
    evaluator = Evaluator.deploying(template, pseudo=PSEUDO_PARAMETERS)
    properties = _resources(template)[logical_id].get("Properties") or {}
    common = _function_globals(template)
    variables = {
        **((common.get("Environment") or {}).get("Variables") or {}),
        **((properties.get("Environment") or {}).get("Variables") or {}),
    }
    values = evaluator.value(variables)
    memory = properties.get("MemorySize", common.get("MemorySize", 128))
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": _environment_text(memory),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        **{
            name: str(value) if isinstance(value, Unresolved) else _environment_text(value)
            for name, value in values.items()
        },
    }


@contextlib.contextmanager
def stand_in(distributions: Iterable[str] = RUNTIME_DISTRIBUTIONS) -> Iterator[Path]:
    """A temporary folder that holds only ``distributions`` (their packages, modules and
    ``.dist-info``), as symbolic links into this interpreter's installed copies: by default
    the runtime's SDK, for a measurement here.

    Raises:
        importlib.metadata.PackageNotFoundError: one of them is not installed here.
    """
    with tempfile.TemporaryDirectory(prefix="stand-in-") as folder:
        root = Path(folder)
        for name in distributions:
            distribution = importlib.metadata.distribution(name)
            tops = {
                Path(str(file)).parts[0]
                for file in distribution.files or []
                if not str(file).startswith("..") and Path(str(file)).parts[0] != "__pycache__"
            }
            for top in sorted(tops):
                link = root / top
                if not link.exists():
                    link.symlink_to(Path(str(distribution.locate_file(top))))
        yield root


def _elf_machine(path: Path) -> int | None:
    """The ``e_machine`` of an ELF file (its instruction set: 62 x86-64, 183 AArch64), or
    None for a file that is not ELF."""
    with path.open("rb") as file:
        header = file.read(20)
    if header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def foreign_packages(layer: Path) -> dict[str, str]:
    """The top-level packages of ``layer`` with a compiled module this machine cannot load
    (built for another instruction set: the layer is arm64, this machine may not be), each
    with the distribution installed here that provides the same package.

    Returns ``{package: distribution}``.

    Raises:
        LookupError: no distribution installed here provides such a package, or not at the
            version the layer holds (its ``.dist-info``).
    """
    here = _elf_machine(Path(os.path.realpath(sys.executable)))
    installed = importlib.metadata.packages_distributions()
    found = {}
    for top in sorted(path for path in layer.iterdir() if path.is_dir()):
        compiled = [path for path in top.rglob("*.so") if _elf_machine(path) not in (None, here)]
        if not compiled:
            continue
        names = installed.get(top.name, [])
        if not names:
            raise LookupError(f"{top.name}: built for another machine, and not installed here")
        name = names[0]
        version = importlib.metadata.version(name)
        held = {
            meta.name.removesuffix(".dist-info").rpartition("-")[2]
            for meta in layer.glob("*.dist-info")
            if normalized(meta.name.removesuffix(".dist-info").rpartition("-")[0])
            == normalized(name)
        }
        if held != {version}:
            raise LookupError(f"{top.name}: the layer holds {name} {held}, this machine {version}")
        found[top.name] = name
    return found


def normalized(name: str) -> str:
    """A distribution name in its normal form (PEP 503: lower case, runs of ``-_.`` as ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@contextlib.contextmanager
def native_stand_in(layers: list[Path]) -> Iterator[Path]:
    """A temporary folder with this machine's own copy (a symbolic link to it) of every
    package that ``foreign_packages`` finds in ``layers``; put before the layers on
    ``sys.path``, it makes them importable here at the version the layer holds."""
    with tempfile.TemporaryDirectory(prefix="native-") as folder:
        root = Path(folder)
        for layer in layers:
            for top in foreign_packages(layer):
                spec = importlib.util.find_spec(top)
                if spec is None or not spec.submodule_search_locations:
                    raise LookupError(f"{top}: not importable here")
                link = root / top
                if not link.exists():
                    link.symlink_to(Path(next(iter(spec.submodule_search_locations))))
        yield root


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True)
class _Run:
    """How to start one function's measuring interpreter."""

    folder: Path
    paths: list[str]
    env: dict[str, str]

    def command(self, *options: str) -> list[str]:
        return [sys.executable, "-I", "-S", "-B", *options, "-c", _IMPORT, *self.paths]

    def run(self, *options: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*options),
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.folder.name}: import app failed:\n{done.stderr}")
        return done


@contextlib.contextmanager
def _runs(build_dir: Path) -> Iterator[dict[str, _Run]]:
    # Absolute: each interpreter runs in its function's folder.
    build_dir = build_dir.resolve()
    template = load(build_dir / "template.yaml")
    built = functions(build_dir)
    layers = {name: layer_dirs(build_dir, template, name) for name in built}
    every_layer = sorted({layer for found in layers.values() for layer in found})
    with stand_in() as sdk, native_stand_in(every_layer) as native:
        yield {
            name: _Run(
                folder,
                [str(folder), str(native), *map(str, layers[name]), str(sdk)],
                environment(template, name, folder),
            )
            for name, folder in built.items()
        }


def cold_import_seconds(
    build_dir: Path, repeats: int = 5, *, cpu: bool = False
) -> dict[str, list[float]]:
    """Time ``import app`` of every built function, ``repeats`` times each, cold.

    Each sample is a new ``python -I -S -B`` (this interpreter) whose ``sys.path`` is the
    function's folder, this machine's copy of any layer package compiled for another
    (``native_stand_in``), its layers' ``python/`` folders and the runtime SDK stand-in
    (``stand_in``), then the standard library; its working directory is the
    function's folder and its environment ``environment()``. The rounds go through every
    function in turn, so a slow moment of the machine spreads over all of them.

    Returns ``{logical id: [seconds, ...]}`` (wall time of the import alone, interpreter start
    excluded; with ``cpu``, the CPU time the import used instead, which a busy machine
    stretches less), one list of ``repeats`` samples per function, in ``functions()`` order.

    Raises:
        RuntimeError: an import failed (its standard error is in the message): the function
            needs something that neither its folder, its layers nor the runtime provide.
        FileNotFoundError: ``build_dir`` has no ``template.yaml`` (run ``sam build``).
    """
    with _runs(build_dir) as runs:
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                wall, used = run.run().stdout.split()[-2:]
                samples[name].append(float(used if cpu else wall))
    return samples


def import_profile(build_dir: Path, logical_id: str) -> str:
    """The ``python -X importtime`` report of one cold ``import app`` of the function
    ``logical_id``, started as ``cold_import_seconds`` starts it: one line per module,
    ``import time: <self us> | <cumulative us> | <module>``, innermost first."""
    with _runs(build_dir) as runs:
        return runs[logical_id].run("-X", "importtime").stderr


def zip_size(folder: Path) -> int:
    """Bytes of ``folder`` zipped as ``sam package`` zips a function or layer folder: every
    file (symbolic links followed), deflated at zlib's default level, relative paths, no
    timestamps (aws-sam-cli ``samcli/lib/package/utils.py``, ``make_zip_with_permissions``)."""
    with tempfile.TemporaryFile() as sink:
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
            for root, _, files in sorted(os.walk(folder, followlinks=True)):
                for name in sorted(files):
                    path = Path(root, name)
                    info = zipfile.ZipInfo(str(path.relative_to(folder)))
                    info.create_system = 3
                    info.external_attr = 0o100755 << 16
                    archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
        return sink.tell()


def zipped_sizes(build_dir: Path) -> dict[str, int]:
    """Bytes of the deflate zip (``zip_size``) of every built function and layer folder:
    ``{logical id: bytes}``, in name order."""
    return {
        folder.name: zip_size(folder) for folder in sorted(build_dir.iterdir()) if folder.is_dir()
    }
