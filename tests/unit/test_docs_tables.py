"""The documentation's generated tables (``python -m tools.docs_tables``): each block of the
repository's Markdown is what the code says now, so a default, a bound or a meaning changed in
``batchscratch.config`` or template.yaml changes the tables, and a stale block fails here."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import annotated_types
import pytest
from pydantic_core import PydanticUndefined

from batchscratch.config import KEY_DOCUMENTATION, OnlyEbsConfig, default_input_keys
from batchscratch.modes import MODES
from batchscratch_cli import costs, prices
from tests.conftest import REPO
from tools import docs_tables
from tools.docs_tables import (
    DocsTablesError,
    blocks,
    config_keys,
    config_keys_rows,
    costs_tables,
    declaring_model,
    default_estimate,
    fill,
    key_documentation,
    markdown_files,
    render,
    template_parameters_of,
    template_parameters_rows,
)
from tools.docs_tables_ja import JAPANESE, KEYS, PARAMETERS

FIXTURE = REPO / "tests/unit/fixtures/docs_tables.md"
LANGUAGES = ("en", "ja")
RANGE = docs_tables.ENGLISH.range
"""How the English tables write a range of numbers."""
MAX_PARAMETER_DESCRIPTION = 4000
"""CloudFormation User Guide, "Parameters": a parameter's Description is at most 4000
characters."""


def _cells(row: str) -> list[str]:
    """The cells of a generated table row (escaped pipes kept inside their cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


# --------------------------------------------------------------------------- the repository


def test_every_generated_block_of_the_repository_is_current() -> None:
    stale = []
    for path in markdown_files(REPO):
        _, changed = fill(path.read_text(), path.name)
        stale.extend(f"{path.relative_to(REPO)}: {spec}" for spec in changed)
    assert stale == [], "run `make docs`"


def test_the_fixture_is_among_the_files_filled_and_holds_every_kind() -> None:
    assert FIXTURE in markdown_files(REPO)
    kinds = {block.spec.split()[0] for block in blocks(FIXTURE.read_text())}
    assert kinds == {"config-keys", "template-parameters", "costs"}


def test_a_changed_default_makes_the_block_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    before = config_keys("OnlyEBS", "en")
    monkeypatch.setattr(OnlyEbsConfig.model_fields["ebsSizeGb"], "default", 600)

    after = config_keys("OnlyEBS", "en")
    assert after != before
    (row,) = [row for row in config_keys_rows("OnlyEBS", "en") if row[0] == "`ebsSizeGb`"]
    assert row[3] == "`600`"
    _, stale = fill(FIXTURE.read_text(), FIXTURE.name)
    assert stale == ["config-keys OnlyEBS en"]


def test_a_changed_bound_makes_the_block_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    field = OnlyEbsConfig.model_fields["ebsIOPS"]
    metadata = [
        annotated_types.Le(le=64000) if isinstance(item, annotated_types.Le) else item
        for item in field.metadata
    ]
    monkeypatch.setattr(field, "metadata", metadata)

    (row,) = [row for row in config_keys_rows("OnlyEBS", "en") if row[0] == "`ebsIOPS`"]
    assert row[4].startswith(RANGE.format(low=3000, high=64000) + ";")


# --------------------------------------------------------------------------- config-keys


def _default(field: Any) -> Any:
    if field.default_factory is not None:
        return field.default_factory()
    return None if field.default is PydanticUndefined else field.default


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_config_keys_rows_are_the_model_s_fields(mode: str, lang: str) -> None:
    model = MODES[mode].config_model
    rows = config_keys_rows(mode, lang)
    words = docs_tables.language(lang)

    assert [row[0] for row in rows] == [f"`{key}`" for key in model.model_fields]
    settable = set(default_input_keys())
    for row, (key, field) in zip(rows, model.model_fields.items(), strict=True):
        assert row[5] == (words.yes if key in settable else words.no), key
        default = _default(field)
        if default is not None:
            assert row[3] == docs_tables.literal(default), key
        bounds = {type(item): item for item in field.metadata}
        if annotated_types.Ge in bounds and annotated_types.Le in bounds:
            low, high = bounds[annotated_types.Ge].ge, bounds[annotated_types.Le].le
            assert row[4].startswith(words.range.format(low=low, high=high)), key


def test_config_keys_texts_are_the_model_s() -> None:
    rows = {row[0]: row for row in config_keys_rows("AutoExport", "en")}
    field = MODES["AutoExport"].config_model.model_fields["lambdaTimeDiffMinutes"]

    assert rows["`lambdaTimeDiffMinutes`"][1] == field.description
    assert rows["`lambdaTimeDiffMinutes`"][2] == "minutes"
    assert rows["`lambdaTimeDiffMinutes`"][4] == (
        RANGE.format(low=1, high=1440) + "; at least two `lambdaPeriodSeconds`"
    )
    assert rows["`lambdaPeriodSeconds`"][4] == (
        RANGE.format(low=60, high=3600) + "; a multiple of 60"
    )
    assert rows["`lustreFileSystemTypeVersion`"][4] == '`"2.12"` or `"2.15"`'
    assert rows["`jobAttemptTimeoutSeconds`"][3] == "none"
    assert rows["`lustrePerUnitStorageThroughput`"][3] == "the type's lowest"
    assert "`batch-job-with-lustre-auto-export`" in rows["`jobDefinitionContainerImage`"][3]


def test_each_mode_s_image_default_names_its_repository() -> None:
    for mode in MODES.values():
        (row,) = [
            row
            for row in config_keys_rows(mode.name, "en")
            if row[0] == "`jobDefinitionContainerImage`"
        ]
        assert f"`{mode.ecr_repository}`" in row[3]


def test_every_field_documents_its_meaning_with_known_entries() -> None:
    for mode in MODES.values():
        for key, field in mode.config_model.model_fields.items():
            texts = key_documentation(field)
            assert texts["meaning"], f"{mode.name} {key} has no description"
            assert set(texts) - {"meaning"} <= set(KEY_DOCUMENTATION), key


def test_the_deployment_type_message_is_unchanged() -> None:
    # The choices now come from one constant that the table words too.
    from batchscratch.config import build_config  # noqa: PLC0415
    from batchscratch.errors import InvalidConfiguration  # noqa: PLC0415

    with pytest.raises(
        InvalidConfiguration, match=r"must be one of SCRATCH_2, PERSISTENT_1, PERSISTENT_2$"
    ):
        build_config(
            "TaskExport",
            {"jobDefinitionContainerImage": "a/b", "lustreDeploymentType": "HDD"},
            {},
        )


# --------------------------------------------------------------------------- Japanese texts


def _all_keys() -> dict[str, dict[str, dict[str, str]]]:
    """``{key: {declaring model: English texts}}`` over every mode."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for mode in MODES.values():
        for key, field in mode.config_model.model_fields.items():
            owner = declaring_model(mode.config_model, key)
            found.setdefault(key, {})[owner] = key_documentation(field)
    return found


def test_every_key_has_its_japanese_texts_and_no_entry_is_stale() -> None:
    keys = _all_keys()
    assert set(KEYS) == set(keys), "keys without Japanese texts, or stale entries"
    for key, owners in keys.items():
        entry: Any = KEYS[key]
        per_owner = entry if "meaning" not in entry else dict.fromkeys(owners, entry)
        assert set(per_owner) == set(owners), f"{key}: one entry per declaring model"
        for owner, english in owners.items():
            expected = set(english) - {"unit"}
            assert set(per_owner[owner]) == expected, f"{key} ({owner})"
            assert all(per_owner[owner].values()), key


def test_every_unit_has_a_japanese_name() -> None:
    units = {
        texts["unit"]
        for owners in _all_keys().values()
        for texts in owners.values()
        if "unit" in texts
    }
    assert units <= set(JAPANESE.units)
    assert set(JAPANESE.units) <= units, "stale units"


def test_every_parameter_has_a_japanese_text_and_none_is_stale() -> None:
    assert set(PARAMETERS) == set(template_parameters_of())
    assert all(PARAMETERS.values())


def test_every_idle_resource_has_a_japanese_name() -> None:
    assert JAPANESE.idle_names is not None
    assert set(JAPANESE.idle_names) == {r.resource_type for r in costs.IDLE_RESOURCES}


def test_japanese_tables_have_japanese_headers() -> None:
    text = render("config-keys TaskExport ja")
    assert text.splitlines()[0] == "| " + " | ".join(JAPANESE.config_headers) + " |"
    assert "| `onFailure` | 実行が失敗したときのファイルシステムの扱い" in text
    assert "| `onFailure` | 実行が失敗したときのボリュームの扱い" in render(
        "config-keys OnlyEBS ja"
    )


# --------------------------------------------------------------------------- template-parameters


@pytest.mark.parametrize("lang", LANGUAGES)
def test_template_parameters_rows_are_the_template_s(lang: str) -> None:
    parameters = template_parameters_of()
    rows = template_parameters_rows(lang)

    assert [row[0] for row in rows] == [f"`{name}`" for name in parameters]
    for row, parameter in zip(rows, parameters.values(), strict=True):
        default = str(parameter.get("Default", ""))
        assert row[1] == (f"`{default}`" if default else docs_tables.language(lang).empty)
        if lang == "en":
            assert row[3] == parameter["Description"]
        for value in parameter.get("AllowedValues", []):
            assert f"`{value}`" in row[2]


def test_template_parameter_descriptions_fit_cloudformation() -> None:
    for name, parameter in template_parameters_of().items():
        assert parameter.get("Description"), f"{name} has no Description"
        assert len(parameter["Description"]) <= MAX_PARAMETER_DESCRIPTION, name


def test_a_pipe_of_a_pattern_does_not_split_its_cell() -> None:
    text = render("template-parameters en")
    (line,) = [line for line in text.splitlines() if line.startswith("| `EcrRepositoryName`")]
    assert len(_cells(line)) == 4
    assert "^$\\|^[a-z0-9]" in line


# --------------------------------------------------------------------------- costs


@pytest.mark.parametrize("lang", LANGUAGES)
def test_costs_figures_are_costs_py_s(lang: str) -> None:
    text = costs_tables(lang)

    for creates_vpc in (True, False):
        monthly = sum(line.hourly for line in costs.idle_stack_hourly(creates_vpc)) * 730
        assert f"${monthly:,.2f}" in text
    for mode in MODES:
        estimate = costs.estimate(
            mode,
            MODES[mode].config_model.model_validate({"jobDefinitionContainerImage": "a/b"}),
            1.0,
        )
        assert estimate.run_hourly == default_estimate(mode).run_hourly
        (row,) = [line for line in text.splitlines() if line.startswith(f"| {mode} |")]
        cells = _cells(row)
        assert cells[2].rstrip(docs_tables.UNCHECKED_MARK) == f"${estimate.storage_hourly:,.4f}"
        assert f"${estimate.compute_hourly:,.4f}" in cells[3]
        assert cells[4] == f"${estimate.run_hourly:,.4f}"
    assert prices.PRICES_DATE in text
    assert prices.REGION in text
    assert f"{prices.SPOT_DISCOUNT:.0%}" in text
    for page in (prices.FSX_LUSTRE_PRICING, prices.EBS_PRICING, prices.EC2_SPOT_PRICING):
        assert f"<{page}>" in text


def test_costs_mark_the_unchecked_figures() -> None:
    text = costs_tables("en")
    (nat,) = [line for line in text.splitlines() if "AWS::EC2::NatGateway" in line]
    (kms,) = [line for line in text.splitlines() if "AWS::KMS::Key" in line]

    assert prices.UNCHECKED in prices.NAT_GATEWAY.note and docs_tables.UNCHECKED_MARK in nat
    assert prices.UNCHECKED not in prices.KMS_KEY.note and docs_tables.UNCHECKED_MARK not in kms
    assert docs_tables.UNCHECKED_MARK + " not read on the AWS page itself" in text


# --------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- generated: tables en -->\n<!-- end generated -->", "unknown kind 'tables'"),
        ("<!-- generated: costs -->\n<!-- end generated -->", "costs takes 1 argument"),
        ("<!-- generated: costs fr -->\n<!-- end generated -->", "language 'fr'"),
        ("<!-- generated: config-keys Nope en -->\n<!-- end generated -->", "mode 'Nope'"),
        ("x\n<!-- generated: costs en -->\n| a |\n", "doc.md:2: marker 'costs en' is not closed"),
        (
            "<!-- generated: costs en -->\n<!-- generated: costs ja -->\n<!-- end generated -->",
            "doc.md:1: marker 'costs en' is not closed",
        ),
        ("<!-- end generated -->", "doc.md:1: <!-- end generated --> without a start"),
    ],
)
def test_a_marker_the_generator_cannot_fill_is_an_error(text: str, message: str) -> None:
    with pytest.raises(DocsTablesError, match=re.escape(message)):
        fill(text, "doc.md")


def test_fill_replaces_only_what_is_between_the_markers() -> None:
    emptied = re.sub(
        r"(<!-- generated: [^>]* -->\n).*?(<!-- end generated -->)",
        r"\1\2",
        FIXTURE.read_text(),
        flags=re.DOTALL,
    )

    filled, stale = fill(emptied, FIXTURE.name)
    assert filled == FIXTURE.read_text()
    assert stale == [block.spec for block in blocks(FIXTURE.read_text())]
    assert fill(filled)[1] == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_check_names_each_stale_block_and_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n<!-- generated: config-keys OnlyEBS ja -->\nold\n<!-- end generated -->\n"
    )
    (tmp_path / "untracked.md").write_text("<!-- generated: nothing -->\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "docs/page.md"], check=True)
    monkeypatch.setattr(docs_tables, "REPO", tmp_path)

    assert docs_tables.main(["--check"]) == 1
    error = capsys.readouterr().err
    assert "docs/page.md: config-keys OnlyEBS ja" in error
    assert "make docs" in error
    assert "old" in page.read_text()

    assert docs_tables.main([]) == 0
    assert "| `ebsSizeGb` |" in page.read_text()
    assert docs_tables.main(["--check"]) == 0


def test_an_unfillable_marker_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.md").write_text("<!-- generated: costs en -->\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.md"], check=True)
    monkeypatch.setattr(docs_tables, "REPO", tmp_path)

    assert docs_tables.main(["--check"]) == 2
    assert "a.md:1: marker 'costs en' is not closed" in capsys.readouterr().err
