"""The run defaults exist once, in the configuration models: the secrets the template writes
and the configuration tables of the README and the mode pages must say the same.

A secret holds the keys users of the original project recognise. Each value is the model's
default, except the one the stack itself knows (its image repository).
"""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import PydanticUndefined

from batchscratch.config import CommonConfig
from batchscratch.images import UNPINNED_TAG
from batchscratch.modes import MODES
from tests.template.cfn import REPO

STACK_KNOWN = {
    "jobDefinitionContainerImage": (
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${EcrRepository}:"
        + UNPINNED_TAG
    ),
}
"""Keys whose value only the stack knows, as the template writes them. (``dataRepositoryPath``
is not written: unset, each run links its own prefix, which only LoadConfig knows.)"""

ROW = re.compile(r"^\| `(?P<key>[A-Za-z]+)` \| (?P<default>[^|]*) \|")
"""A configuration table row: ``| `key` | default | rule | meaning |``."""


def _default(model: type[CommonConfig], key: str) -> Any:
    field = model.model_fields[key]
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return None if field.default is PydanticUndefined else field.default


def _secret(rendered: dict[str, Any]) -> dict[str, Any]:
    text = rendered["Resources"]["ConfigSecret"]["Properties"]["SecretString"]["Fn::Sub"]
    secret: dict[str, Any] = json.loads(text)
    return secret


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_secret_holds_the_model_s_defaults(
    render: Callable[..., dict[str, Any]], mode: str
) -> None:
    model = MODES[mode].config_model
    secret = _secret(render(Mode=mode))

    assert set(secret) <= set(model.model_fields), "keys the model does not know"
    wrong = {
        key: (value, _default(model, key))
        for key, value in secret.items()
        if key not in STACK_KNOWN and value != _default(model, key)
    }
    assert wrong == {}, "secret value != the model's default (secret, model)"
    assert {key: secret[key] for key in STACK_KNOWN if key in secret} == {
        key: value for key, value in STACK_KNOWN.items() if key in model.model_fields
    }


def _tables(path: Path) -> list[tuple[str, str, str]]:
    """Return ``(section heading, key, default cell)`` for each configuration table row."""
    rows: list[tuple[str, str, str]] = []
    heading = ""
    in_table = False
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if not line.startswith("|"):
            in_table = False
        elif line.startswith("| Key | Default |"):
            in_table = True
        elif in_table and (match := ROW.match(line)):
            rows.append((heading, match["key"], match["default"].strip()))
    return rows


def _documented_mode(path: Path, heading: str) -> str | None:
    """Which mode a table documents: the mode page's own, or the README section's."""
    for name, mode in MODES.items():
        if path == REPO / mode.docs_page:
            return name
    return heading if heading in MODES else None


def _documented(cell: str) -> Any:
    """The default a table cell states: a literal in backquotes, or words meaning none."""
    literal = re.fullmatch(r"`([^`]*)`", cell)
    if literal is None:
        return None if cell == "none" else cell
    try:
        return json.loads(literal[1])
    except json.JSONDecodeError:
        return literal[1]


DOCUMENTS = [REPO / "README.md", *(REPO / mode.docs_page for mode in MODES.values())]


def test_every_mode_has_a_documented_configuration_table() -> None:
    documented = {
        _documented_mode(path, heading)
        for path in DOCUMENTS
        for heading, _key, _default in _tables(path)
    }
    assert set(MODES) <= documented


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_documented_defaults_are_the_model_s(path: Path) -> None:
    wrong = []
    for heading, key, cell in _tables(path):
        mode = _documented_mode(path, heading)
        if mode is None:
            continue
        model = MODES[mode].config_model
        if key not in model.model_fields or key in STACK_KNOWN:
            continue
        default = _default(model, key)
        documented = _documented(cell)
        # Words ("the image's CMD", "the type's lowest") describe a default the model leaves
        # to AWS (None); a literal must be the model's value.
        if isinstance(documented, str) and not cell.startswith("`"):
            ok = default is None
        else:
            ok = documented == default
        if not ok:
            wrong.append(f"{path.name} [{heading}] {key}: documented {cell}, model {default!r}")
    assert wrong == []
