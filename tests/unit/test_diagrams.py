"""The pictures in docs/img/ are drawn from the current source (no Graphviz needed here).

``make diagrams`` records in docs/img/diagrams.json the sha256 of the DOT text each PNG was
drawn from; the text is built again here from statemachine/*.asl.json and template.yaml, so a
change that alters a picture fails until the pictures are drawn again.
"""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from batchscratch.modes import MODES
from tests.conftest import REPO
from tools import diagrams
from tools.diagrams.__main__ import main
from tools.diagrams.workflow import workflow_dot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ASL_FILES = sorted(REPO.glob("statemachine/*.asl.json"))
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
STATE_NODE = re.compile(rf"^\s*{_QUOTED}\s*\[")
EDGE = re.compile(rf"^\s*{_QUOTED}\s*->\s*{_QUOTED}")


def unquoted(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def states_of(states: dict[str, Any]) -> list[str]:
    """Every state name of an ASL ``States`` object, those of Parallel branches and Map item
    processors included (Amazon States Language: ``Branches``, ``ItemProcessor``,
    ``Iterator``)."""
    names = []
    for name, state in states.items():
        names.append(name)
        for branch in state.get("Branches", []):
            names += states_of(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                names += states_of(state[key]["States"])
    return names


def declared_states(dot: str) -> list[str]:
    """The states the DOT text declares a node for (IDs ``state/<name>``)."""
    found = []
    for line in dot.splitlines():
        match = STATE_NODE.match(line)
        if match and unquoted(match.group(1)).startswith("state/"):
            found.append(unquoted(match.group(1)).removeprefix("state/"))
    return found


@pytest.fixture(scope="module")
def built() -> list[diagrams.Diagram]:
    return diagrams.diagrams()


def test_every_picture_is_drawn_from_the_current_source(built: list[diagrams.Diagram]) -> None:
    records = diagrams.read_manifest()
    for diagram in built:
        assert diagram.png in records, f"{diagram.png} is not drawn yet: run `make diagrams`"
        record = records[diagram.png]
        assert record["dotSha256"] == diagram.sha256, (
            f"{diagram.png} is stale ({', '.join(diagram.sources)} changed the picture): "
            "run `make diagrams` and commit docs/img/"
        )
        assert record["sources"] == list(diagram.sources)
    assert set(records) == {diagram.png for diagram in built}, "run `make diagrams`"


def test_a_workflow_and_an_architecture_picture_for_each_file_and_mode(
    built: list[diagrams.Diagram],
) -> None:
    pngs = {diagram.png for diagram in built}
    assert {
        f"docs/img/workflow/{path.name.removesuffix('.asl.json')}.png" for path in ASL_FILES
    } <= pngs
    assert {
        "docs/img/architecture/task_export.png",
        "docs/img/architecture/auto_export.png",
        "docs/img/architecture/only_ebs.png",
    } <= pngs
    assert len(pngs) == len(ASL_FILES) + len(MODES)


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_the_workflow_has_one_node_per_state_nested_ones_included(path: Path) -> None:
    definition = json.loads(path.read_text())
    dot = workflow_dot(definition, path.stem)
    declared = declared_states(dot)
    expected = states_of(definition["States"])
    assert len(declared) == len(set(declared)), "a state is drawn twice"
    assert set(declared) == set(expected)


def test_map_and_nested_parallel_states_are_drawn_too() -> None:
    """No committed file has a Map state: one of each form, a Parallel inside."""
    inner = {
        "StartAt": "Split",
        "States": {
            "Split": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Right", "States": {"Right": {"Type": "Succeed"}}},
                ],
                "End": True,
            }
        },
    }
    definition = {
        "StartAt": "Items",
        "States": {
            "Items": {"Type": "Map", "ItemProcessor": inner, "Next": "Legacy"},
            "Legacy": {
                "Type": "Map",
                "Iterator": {"StartAt": "Each", "States": {"Each": {"Type": "Pass", "End": True}}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Fail"},
        },
    }
    declared = declared_states(workflow_dot(definition, "nested"))
    assert sorted(declared) == sorted(states_of(definition["States"]))
    assert len(declared) == 7


@pytest.mark.parametrize("path", ASL_FILES, ids=lambda path: path.name)
def test_every_transition_ends_at_a_drawn_state(path: Path) -> None:
    definition = json.loads(path.read_text())
    dot = workflow_dot(definition, path.stem)
    declared = set(declared_states(dot))
    ends = {
        unquoted(end)
        for line in dot.splitlines()
        if (match := EDGE.match(line))
        for end in match.groups()
    }
    drawn_as_states = {end.removeprefix("state/") for end in ends if end.startswith("state/")}
    assert drawn_as_states <= declared, "an edge names a state no node declares"


@pytest.mark.parametrize("mode", MODES.values(), ids=lambda mode: mode.name)
def test_the_architecture_shows_the_names_the_stack_uses(
    built: list[diagrams.Diagram], mode: Any
) -> None:
    (diagram,) = [
        d
        for d in built
        if d.png == f"docs/img/architecture/{diagrams.mode_image_stem(mode.name)}.png"
    ]
    assert mode.ecr_repository in diagram.dot
    assert f"{mode.secret_prefix}-&lt;stack&gt;" in diagram.dot
    assert f"{mode.state_machine_prefix}-&lt;stack id[:8]&gt;" in diagram.dot
    assert "per run (created and deleted by each execution)" in diagram.dot
    for step in mode.steps:
        assert step.function in diagram.dot
    lustre = mode.storage.id == "lustre-file-system"
    assert ("FSx for Lustre file system" in diagram.dot) is lustre
    assert ("data repository association" in diagram.dot) is lustre
    assert ("EBS gp3 volume" in diagram.dot) is not lustre


def test_every_listed_png_exists_and_every_png_is_listed() -> None:
    records = diagrams.read_manifest()
    assert records, "docs/img/diagrams.json is missing: run `make diagrams`"
    for png in records:
        assert (REPO / png).read_bytes().startswith(PNG_SIGNATURE), f"{png} is not a PNG"
    on_disk = {path.relative_to(REPO).as_posix() for path in (REPO / "docs/img").rglob("*.png")}
    assert on_disk == set(records)


@pytest.fixture
def copy_of_sources(tmp_path: Path) -> Path:
    """The files the pictures are drawn from, and the pictures, in a scratch repository."""
    shutil.copytree(REPO / "statemachine", tmp_path / "statemachine")
    shutil.copytree(REPO / "docs/img", tmp_path / "docs/img")
    shutil.copy(REPO / "template.yaml", tmp_path / "template.yaml")
    return tmp_path


def test_check_passes_on_the_committed_pictures(copy_of_sources: Path) -> None:
    assert diagrams.problems(copy_of_sources) == []
    assert main(["--check"], root=copy_of_sources) == 0


def test_check_fails_when_a_state_machine_changes(
    copy_of_sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy_of_sources / "statemachine/release.asl.json"
    path.write_text(path.read_text().replace('"RunReleased"', '"RunFullyReleased"'))
    assert main(["--check"], root=copy_of_sources) == 1
    (message,) = capsys.readouterr().err.splitlines()
    assert "docs/img/workflow/release.png" in message
    assert "statemachine/release.asl.json" in message
    assert "make diagrams" in message


def test_check_fails_when_the_template_changes_a_name(copy_of_sources: Path) -> None:
    path = copy_of_sources / "template.yaml"
    path.write_text(path.read_text().replace("batch-job-with-ebs", "batch-job-on-ebs"))
    found = diagrams.problems(copy_of_sources)
    assert [problem.split(":")[0] for problem in found] == ["docs/img/architecture/only_ebs.png"]


def test_check_fails_on_a_png_nothing_draws(copy_of_sources: Path) -> None:
    (copy_of_sources / "docs/img/old.png").write_bytes(PNG_SIGNATURE)
    assert main(["--check"], root=copy_of_sources) == 1


def test_drawing_without_graphviz_fails_with_the_install_hint(
    copy_of_sources: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert main([], root=copy_of_sources) == 1
    (message,) = capsys.readouterr().err.splitlines()
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message
