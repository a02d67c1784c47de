"""The pictures drawn from the source: Graphviz DOT text, built in Python, rendered by
``make diagrams`` into docs/img/.

- a workflow picture of every state machine, ``docs/img/workflow/<file stem>.png``, drawn
  from ``statemachine/<file stem>.asl.json`` (tools/diagrams/workflow.py);
- an architecture picture of every mode, ``docs/img/architecture/<mode>.png`` (``task_export``,
  ``auto_export``, ``only_ebs``), drawn from template.yaml and the mode registry
  (tools/diagrams/architecture.py).

The DOT text is deterministic, so its sha256 says whether a picture is current. The manifest
``docs/img/diagrams.json`` records, for each PNG, that sha256, the files the text came from
and the Graphviz version that drew it. ``python -m tools.diagrams --check`` (and the unit
tests, where Graphviz is not installed) build the text again and compare: a changed ASL file
or template that changes a picture fails until ``make diagrams`` draws it again.
"""

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchscratch.modes import MODES
from tools import cfn
from tools.diagrams.architecture import architecture_dot
from tools.diagrams.workflow import workflow_dot

ROOT = Path(__file__).resolve().parents[2]
IMAGES = "docs/img"
MANIFEST = f"{IMAGES}/diagrams.json"
TEMPLATE = "template.yaml"
MODE_REGISTRY = "layers/common/batchscratch/modes.py"
ASL_PATTERN = "statemachine/*.asl.json"
MISSING_DOT = (
    "Graphviz's dot is not on PATH: install it (apt-get install graphviz / brew install graphviz)"
)
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True)
class Diagram:
    """One picture: where its PNG goes, its DOT text, the files the text is drawn from.

    ``png`` and ``sources`` are paths relative to the repository (POSIX form).
    """

    png: str
    dot: str
    sources: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """The sha256 (hex) of the DOT text (UTF-8)."""
        return hashlib.sha256(self.dot.encode()).hexdigest()


def mode_image_stem(mode: str) -> str:
    """The architecture picture's file stem of a mode: ``TaskExport`` -> ``task_export``,
    ``OnlyEBS`` -> ``only_ebs``."""
    return _WORD_START.sub("_", mode.replace("EBS", "Ebs")).lower()


def diagrams(root: Path = ROOT) -> list[Diagram]:
    """Every picture, built from the files under ``root``: the workflow of each
    ``statemachine/*.asl.json`` (file order), then the architecture of each mode (the
    registry's order)."""
    built = []
    for path in sorted(root.glob(ASL_PATTERN)):
        stem = path.name.removesuffix(".asl.json")
        definition = json.loads(path.read_text(encoding="utf-8"))
        built.append(
            Diagram(
                f"{IMAGES}/workflow/{stem}.png",
                workflow_dot(definition, stem),
                (path.relative_to(root).as_posix(),),
            )
        )
    template = cfn.load(root / TEMPLATE)
    for mode in MODES:
        built.append(
            Diagram(
                f"{IMAGES}/architecture/{mode_image_stem(mode)}.png",
                architecture_dot(template, mode),
                (TEMPLATE, MODE_REGISTRY),
            )
        )
    return built


def entry(diagram: Diagram, graphviz: str) -> dict[str, Any]:
    """The manifest's record of a picture drawn by Graphviz ``graphviz``."""
    return {"dotSha256": diagram.sha256, "sources": list(diagram.sources), "graphviz": graphviz}


def read_manifest(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """The manifest's records by PNG path (none when the file is missing)."""
    path = root / MANIFEST
    if not path.is_file():
        return {}
    records: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["images"]
    return records


def manifest_text(records: dict[str, dict[str, Any]]) -> str:
    """The manifest file's text: ``{"images": {png: record}}``, keys sorted, final newline."""
    return json.dumps({"images": records}, indent=2, sort_keys=True) + "\n"


def problems(root: Path = ROOT) -> list[str]:
    """What makes the committed pictures stale, one line each (nothing: all are current):
    a picture whose DOT text or sources differ from the manifest's record, a PNG missing, a
    PNG or a record of a picture that is no longer drawn."""
    built = diagrams(root)
    records = read_manifest(root)
    found = []
    for diagram in built:
        record = records.get(diagram.png)
        if record is None:
            found.append(f"{diagram.png}: not in {MANIFEST}")
        elif record["dotSha256"] != diagram.sha256:
            found.append(f"{diagram.png}: {', '.join(diagram.sources)} changed the picture")
        elif record["sources"] != list(diagram.sources):
            found.append(f"{diagram.png}: drawn from other files than {MANIFEST} says")
        if not (root / diagram.png).is_file():
            found.append(f"{diagram.png}: missing")
    drawn = {diagram.png for diagram in built}
    found += [f"{png}: in {MANIFEST}, but nothing draws it" for png in sorted(set(records) - drawn)]
    found += [
        f"{path}: in {IMAGES}/, but nothing draws it"
        for path in sorted(p.relative_to(root).as_posix() for p in (root / IMAGES).rglob("*.png"))
        if path not in drawn
    ]
    return [f"{problem}; run `make diagrams`" for problem in found]


def graphviz_version(dot: str) -> str:
    """The version of the Graphviz ``dot`` program (``dot -V``), e.g. ``2.43.0``."""
    result = subprocess.run([dot, "-V"], capture_output=True, text=True, check=True)
    match = re.search(r"version\s+(\S+)", result.stderr + result.stdout)
    if match is None:
        raise RuntimeError(f"{dot} -V printed no version: {result.stderr.strip()}")
    return match.group(1)


def render(dot_text: str, dot: str) -> bytes:
    """The PNG that Graphviz draws of ``dot_text`` (``dot -Tpng``).

    Raises:
        subprocess.CalledProcessError: Graphviz refused the text.
    """
    command = [dot, "-Tpng"]
    return subprocess.run(command, input=dot_text.encode(), capture_output=True, check=True).stdout


def write(root: Path = ROOT, force: bool = False) -> list[str]:
    """Draw every picture whose record is not current (all with ``force``), remove the PNGs
    nothing draws, and write the manifest; return the PNG paths written.

    A picture is current when the manifest records its DOT text's sha256, its sources and
    this Graphviz version, and its PNG exists: so running it twice writes nothing the second
    time, whatever the fonts of the machine.

    Raises:
        FileNotFoundError: Graphviz's ``dot`` is not on PATH (``MISSING_DOT``).
    """
    dot = shutil.which("dot")
    if dot is None:
        raise FileNotFoundError(MISSING_DOT)
    version = graphviz_version(dot)
    records = read_manifest(root)
    written = []
    fresh = {}
    for diagram in diagrams(root):
        record = entry(diagram, version)
        target = root / diagram.png
        if force or records.get(diagram.png) != record or not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(render(diagram.dot, dot))
            written.append(diagram.png)
        fresh[diagram.png] = record
    for path in (root / IMAGES).rglob("*.png"):
        if path.relative_to(root).as_posix() not in fresh:
            path.unlink()
    (root / MANIFEST).write_text(manifest_text(fresh), encoding="utf-8")
    return written
