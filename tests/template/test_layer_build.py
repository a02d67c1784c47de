"""The layer ``sam build`` makes (layers/common/Makefile): what it holds, that its modules are
compiled as Lambda can use them, that it zips to at most 5 MiB, and that every function
imports with it and the runtime's SDK alone.

These read ``.aws-sam/build``, which ``make test`` builds first (``make build``); without it
they are skipped. A build older than the code fails them (a ``.pyc`` no longer matches).
"""

import importlib.metadata
import importlib.util
import marshal
import re
from pathlib import Path

import pytest

from tools.bench.handlers import (
    RUNTIME_DISTRIBUTIONS,
    cold_import_seconds,
    normalized,
    zipped_sizes,
)

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".aws-sam" / "build"
LAYER = BUILD / "CommonLayer" / "python"
LAYER_LIMIT_BYTES = 5 * 2**20
"""At most 5 MiB zipped: the layer uploads and extracts on every cold start of a new
execution environment."""
AARCH64 = 183
"""ELF ``e_machine`` of AArch64: the functions run on arm64 (template.yaml Globals)."""
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")

pytestmark = pytest.mark.skipif(
    not (BUILD / "template.yaml").is_file(), reason="no sam build output: run make build"
)


def layer_pins() -> dict[str, str]:
    text = (REPO / "layers" / "common" / "requirements.txt").read_text()
    return {normalized(name): version for name, version in PIN.findall(text)}


def _pyc_header(path: Path) -> tuple[bytes, int, bytes]:
    """(magic number, flags, source hash) of a ``.pyc`` (PEP 552: 4 + 4 + 8 bytes)."""
    data = path.read_bytes()
    return data[:4], int.from_bytes(data[4:8], "little"), data[8:16]


def test_the_layer_zips_to_at_most_5_mib() -> None:
    size = zipped_sizes(BUILD)["CommonLayer"]
    assert size <= LAYER_LIMIT_BYTES, f"CommonLayer zips to {size / 2**20:.2f} MiB"


def test_the_layer_holds_its_list_and_batchscratch_and_no_aws_sdk() -> None:
    shipped = {
        normalized(meta.name.removesuffix(".dist-info").rpartition("-")[0]): (
            meta.name.removesuffix(".dist-info").rpartition("-")[2]
        )
        for meta in LAYER.glob("*.dist-info")
    }
    assert shipped == layer_pins()
    runtime = {normalized(name) for name in RUNTIME_DISTRIBUTIONS}
    sdk = {
        module
        for module, names in importlib.metadata.packages_distributions().items()
        if {normalized(name) for name in names} & runtime
    }
    assert {"boto3", "botocore", "dateutil"} <= sdk
    assert not sdk & {path.name.removesuffix(".pyc") for path in LAYER.iterdir()}
    assert (LAYER / "batchscratch" / "scripts").is_dir()  # read with importlib.resources
    assert not list(LAYER.glob("*/tests")) and not list(LAYER.rglob("*.pyi"))


def test_batchscratch_keeps_its_sources_each_with_its_unchecked_hash_pyc() -> None:
    sources = sorted((LAYER / "batchscratch").glob("*.py"))
    assert sources
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        magic, flags, hashed = _pyc_header(compiled)
        # Flags 0b01: hash-based, not checked against the source (PEP 552).
        assert (magic, flags) == (importlib.util.MAGIC_NUMBER, 0b01), compiled
        assert hashed == importlib.util.source_hash(source.read_bytes()), f"stale: {compiled}"


def test_the_libraries_are_compiled_modules_named_as_lambda_sees_them() -> None:
    sources = [path for path in LAYER.rglob("*.py") if LAYER / "batchscratch" not in path.parents]
    assert not sources, f"sources left beside sourceless .pyc: {sources[:3]}"
    compiled = [path for path in LAYER.rglob("*.pyc") if path.parent.name != "__pycache__"]
    assert len(compiled) > 100
    for path in compiled:
        magic, _, _ = _pyc_header(path)
        assert magic == importlib.util.MAGIC_NUMBER, path
        code = marshal.loads(path.read_bytes()[16:])
        relative = path.relative_to(LAYER).with_suffix(".py")
        assert code.co_filename == f"/opt/python/{relative}", path


def test_the_compiled_extensions_are_for_arm64() -> None:
    extensions = list(LAYER.rglob("*.so"))
    assert extensions
    machines = {
        path.name: int.from_bytes(path.read_bytes()[18:20], "little") for path in extensions
    }
    assert set(machines.values()) == {AARCH64}, machines


def test_every_function_imports_with_the_layer_and_the_runtime_sdk_alone() -> None:
    samples = cold_import_seconds(BUILD, repeats=1)
    assert len(samples) >= 19 and all(len(times) == 1 for times in samples.values())
