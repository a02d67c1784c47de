"""The state machine builder: ``statemachine/<file>.asl.json`` for every mode, from one spine,
and the release workflow's ``statemachine/release.asl.json``.

``python -m tools.asl`` (``make asl``) writes the files; ``python -m tools.asl --check``
(part of ``make lint``) fails when a committed file differs from what the builder writes, so
the files are edited here, never by hand. They stay committed because SAM deploys them and
reviewers read them.

- tools/asl/spine.py: the states every mode shares, each written once (the standard Lambda
  task, the poll loop, the failure path), and their order.
- tools/asl/slots.py: what differs per storage kind, post-job stage and mode.
- tools/asl/outputs.py: each Lambda step's result path and output fields.
- tools/asl/release.py: the release workflow (one per stack), which every mode's failure
  path starts.

The modes themselves, their storage kinds and stages are the registry's
(``batchscratch.modes``).
"""

import difflib
import json
from pathlib import Path
from typing import Any

from batchscratch.modes import MODES, Mode
from tools.asl import release
from tools.asl.slots import slots_of
from tools.asl.spine import definition

ROOT = Path(__file__).resolve().parents[2]
STATEMACHINE_DIR = ROOT / "statemachine"
PATTERN = "*.asl.json"


def shown(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it (for messages)."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def definition_of(mode: Mode) -> dict[str, Any]:
    """The state machine definition of ``mode`` (SAM placeholders left in)."""
    return definition(mode, slots_of(mode))


def render(mode: Mode) -> str:
    """The text of ``mode``'s file (``text``)."""
    return text(definition_of(mode))


def text(definition: dict[str, Any]) -> str:
    """A definition as its file's text: JSON, two-space indents, final newline."""
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """``{file name: text}`` of every mode's state machine and of the release workflow's."""
    files = {mode.asl_file: render(mode) for mode in MODES.values()}
    files[release.FILE] = text(release.definition())
    return files


def write(directory: Path = STATEMACHINE_DIR) -> list[Path]:
    """Write every mode's file into ``directory``; return the files whose text changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in build().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def check(directory: Path = STATEMACHINE_DIR) -> list[str]:
    """Compare ``directory`` with what the builder writes; return one problem per file
    (a unified diff for a file that differs), nothing when they agree."""
    expected = build()
    problems = []
    for name, text in expected.items():
        path = shown(directory / name)
        if not (directory / name).is_file():
            problems.append(f"{path}: missing; `make asl` writes it")
            continue
        actual = (directory / name).read_text(encoding="utf-8")
        if actual != text:
            diff = difflib.unified_diff(
                actual.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path} (committed)",
                f"{path} (built by tools/asl)",
            )
            problems.append(
                f"{path}: differs from what the builder writes; change tools/asl (or the mode "
                f"registry) and run `make asl`, do not edit the file by hand\n" + "".join(diff)
            )
    for path in sorted(directory.glob(PATTERN)):
        if path.name not in expected:
            problems.append(f"{shown(path)}: tools/asl builds no such state machine")
    return problems
