"""The layer's list (layers/common/requirements.txt) is what the functions import, less the
runtime's AWS SDK: nothing missing, nothing extra.

What the functions import is read two ways: every handler imported in a fresh interpreter
that sees only the package batchscratch, the listed distributions and the runtime's
(``tools.bench.handlers.RUNTIME_DISTRIBUTIONS``), as in Lambda, with Powertools Tracer on;
and every ``import`` in the deployed code (``SOURCES``), including those inside functions,
which run only when the function does. Each module is traced to its distribution with
``importlib.metadata.packages_distributions()``.
"""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.bench.handlers import RUNTIME_DISTRIBUTIONS, normalized, stand_in

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "common"
SOURCES = (*sorted((LAYER / "batchscratch").glob("*.py")), *sorted(REPO.glob("functions/*/app.py")))
"""The code deployed to Lambda: the layer's package and every function."""
OWN = frozenset({"batchscratch"})
"""Top-level packages of this repository that the functions import."""

PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)")

_IMPORT_EVERY_HANDLER = """\
import importlib.util, json, sys
site = sys.argv[2]
sys.path[:0] = sys.argv[1:3]
for number, path in enumerate(sys.argv[3:]):
    spec = importlib.util.spec_from_file_location(f"handler_{number}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
found = set()
for name, module in list(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    places = [getattr(spec, "origin", None)]
    places += getattr(spec, "submodule_search_locations", None) or []
    if any(str(place).startswith(site) for place in places if place):
        found.add(name.partition(".")[0])
print(json.dumps(sorted(found)))
"""
"""Run as ``python -I -S -c ... <layer source> <site> <app.py> ...``: imports every handler,
prints the top-level modules loaded from ``<site>`` (the rest of ``sys.path`` is the standard
library and the layer's own package)."""


def layer_pins() -> dict[str, str]:
    """``{normalized distribution name: version}`` of layers/common/requirements.txt.

    Raises:
        ValueError: a line is neither a comment nor an exact ``name==version`` pin (the layer
            is installed with ``--no-deps``, so a range or an extra would not mean anything).
    """
    pins = {}
    for line in (LAYER / "requirements.txt").read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        found = PIN.fullmatch(text)
        if found is None:
            raise ValueError(f"layers/common/requirements.txt: {text!r} is not name==version")
        pins[normalized(found["name"])] = found["version"]
    return pins


def imported_at_start() -> set[str]:
    """Top-level modules the handlers import from distributions, in a fresh interpreter that
    sees no others than the layer's and the runtime's."""
    with stand_in([*layer_pins(), *RUNTIME_DISTRIBUTIONS]) as site:
        handlers = [str(path) for path in SOURCES if path.name == "app.py"]
        command = [sys.executable, "-I", "-S", "-B", "-c", _IMPORT_EVERY_HANDLER]
        done = subprocess.run(
            [*command, str(LAYER), str(site), *handlers],
            env={"PATH": "/usr/bin:/bin", "LAMBDA_TASK_ROOT": str(REPO), "AWS_REGION": "us-east-1"},
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, f"a handler does not import with the layer:\n{done.stderr}"
    return set(json.loads(done.stdout))


def imported_in_code() -> set[str]:
    """Top-level modules every ``import`` statement of ``SOURCES`` names (absolute ones)."""
    names = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names - set(sys.stdlib_module_names) - OWN


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """``{normalized distribution: its modules among modules}``; a module no installed
    distribution provides is under ``"?"``."""
    providers = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for module in modules:
        for name in providers.get(module, ["?"]):
            found.setdefault(normalized(name) if name != "?" else name, set()).add(module)
    return found


@pytest.fixture(scope="module")
def imported() -> dict[str, set[str]]:
    """The distributions the functions import, with the modules that show it."""
    return distributions_of(imported_at_start() | imported_in_code())


def test_the_layer_holds_every_distribution_the_functions_import(
    imported: dict[str, set[str]],
) -> None:
    provided = set(layer_pins()) | {normalized(name) for name in RUNTIME_DISTRIBUTIONS}
    missing = {name: sorted(modules) for name, modules in imported.items() if name not in provided}
    assert not missing, (
        f"the functions import {missing}, which neither layers/common/requirements.txt nor "
        "the runtime (RUNTIME_DISTRIBUTIONS) provides"
    )


def test_the_layer_holds_nothing_the_functions_do_not_import(
    imported: dict[str, set[str]],
) -> None:
    unused = sorted(set(layer_pins()) - set(imported))
    assert not unused, f"layers/common/requirements.txt ships {unused}, which no function imports"


def test_the_layer_does_not_ship_the_runtime_sdk() -> None:
    shipped = set(layer_pins()) & {normalized(name) for name in RUNTIME_DISTRIBUTIONS}
    assert not shipped, f"the runtime provides {sorted(shipped)}; the layer would shadow it"


def test_the_tests_run_the_versions_the_layer_ships() -> None:
    installed = {name: importlib.metadata.version(name) for name in layer_pins()}
    assert installed == layer_pins()


def test_a_distribution_neither_listed_nor_in_the_runtime_is_found() -> None:
    found = distributions_of({"yaml", "pydantic", "botocore", "not_a_module_anywhere"})
    assert found["pyyaml"] == {"yaml"}
    assert "pyyaml" not in layer_pins() and "pyyaml" not in RUNTIME_DISTRIBUTIONS
    assert found["?"] == {"not_a_module_anywhere"}
