"""``python -m tools.docs_tables [--check]``: the documentation's tables, generated from the code.

Every tracked Markdown file (``git ls-files '*.md'``) may hold blocks between a start marker and
an end marker, each on a line of its own::

    <!-- generated: config-keys TaskExport en -->
    ...
    <!-- end generated -->

The start marker names what the block holds (its kind and arguments); the generator replaces
everything between the two markers. Kinds:

- ``config-keys <Mode> <lang>``: one row per configuration key of the mode, from its model
  (``batchscratch.modes.MODES``, ``batchscratch.config``): the key, its meaning (the field's
  ``description``), unit, default, allowed values (the field's bounds, choices and worded
  ``rule``) and whether an execution input may set it by default (``default_input_keys``).
- ``template-parameters <lang>``: one row per parameter of template.yaml: its name, Default,
  allowed values (AllowedValues, MinValue/MaxValue, MaxLength, AllowedPattern) and
  Description.
- ``costs <lang>``: what the idle stack costs per month (with its own VPC and with an existing
  one) and what a run of each mode with the defaults costs per hour, from
  ``batchscratch_cli.costs`` and the dated price table ``batchscratch_cli.prices``.

``lang`` is ``en`` (the texts of the code and the template) or ``ja`` (``tools.docs_tables_ja``).
Without ``--check`` the blocks are rewritten in place; with it nothing is written and the exit
status is 1 when a block differs from what the generator writes (each named, with its file). An
unknown kind, wrong arguments or a marker left open is an error (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from batchscratch.config import CommonConfig, default_input_keys
from batchscratch.images import UNPINNED_TAG
from batchscratch.modes import MODES
from batchscratch_cli import costs, prices
from batchscratch_cli.configuration import PLACEHOLDER_IMAGE
from tools import cfn

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
START = re.compile(r"<!-- generated: (?P<spec>[^>]*?) -->")
END = "<!-- end generated -->"
LANGUAGES = ("en", "ja")
UNCHECKED_MARK = "\N{DAGGER}"
"""Marks a figure whose price ``batchscratch_cli.prices`` notes as ``UNCHECKED``."""


class DocsTablesError(ValueError):
    """A marker the generator cannot fill: an unknown kind, wrong arguments, an unclosed block
    or an end marker without a start; the message names the file and the line."""


# --------------------------------------------------------------------------- languages


@dataclass(frozen=True)
class Language:
    """The words of one language's tables (``ENGLISH``; ``tools.docs_tables_ja.JAPANESE``).

    Phrases with ``{value}``, ``{low}``, ``{high}`` are ``str.format`` templates;
    ``choices`` joins a list of literals; ``units`` names each unit a field declares.
    """

    config_headers: tuple[str, ...]
    parameter_headers: tuple[str, ...]
    yes: str
    no: str
    none: str
    required: str
    empty: str
    boolean: str
    range: str
    at_least: str
    at_most: str
    multiple_of: str
    characters: str
    not_empty: str
    list_of_strings: str
    object_of_strings: str
    matches: str
    each_item: str
    number: str
    separator: str
    choices: Callable[[Sequence[str]], str]
    units: Mapping[str, str]
    idle_headers: tuple[str, ...]
    run_headers: tuple[str, ...]
    total: str
    costs_intro: str
    costs_unchecked: str
    costs_left_out: str
    sources: str
    idle_names: Mapping[str, str] | None = None
    """Names of the idle stack's lines by CloudFormation type (None: the price's own name)."""


def _english_choices(values: Sequence[str]) -> str:
    if len(values) == 1:
        return values[0]
    return f"{', '.join(values[:-1])} or {values[-1]}"


ENGLISH = Language(
    config_headers=(
        "Key",
        "Meaning",
        "Unit",
        "Default",
        "Allowed values",
        "Execution input may set it by default",
    ),
    parameter_headers=("Parameter", "Default", "Allowed values", "Meaning"),
    yes="yes",
    no="no",
    none="none",
    required="required",
    empty="empty",
    boolean='`true` or `false` (or `"true"`, `"false"`)',
    range="{low}\N{EN DASH}{high}",
    at_least="at least {value}",
    at_most="at most {value}",
    multiple_of="a multiple of {value}",
    characters="at most {value} characters",
    not_empty="not empty",
    list_of_strings="a list of strings",
    object_of_strings="an object of string values",
    matches="matches `{value}`",
    each_item="comma-separated; each item {value}",
    number="a number",
    separator="; ",
    choices=_english_choices,
    units={},
    idle_headers=(
        "What bills while no run exists",
        "With the stack's own VPC",
        "With an existing VPC",
    ),
    run_headers=("Mode", "Storage", "Storage per hour", "Spot compute per hour", "Total per hour"),
    total="Total",
    costs_intro=(
        "Prices of {region} read on {date} (`batchscratch_cli/prices.py`), in dollars; a month "
        "is {hours:g} hours. Spot is an assumption: {discount:.0%} off the On-Demand price "
        "(Spot prices change with demand, per Availability Zone). A run of each mode with the "
        "defaults, per hour of its job, on {instance} ({instances}): what `batch-scratch cost "
        "--mode <Mode>` prints."
    ),
    costs_unchecked=(
        "{mark} not read on the AWS page itself: the {region} figure published elsewhere; "
        "check it before relying on it."
    ),
    costs_left_out="Not counted: {items}.",
    sources="Sources",
)


def language(lang: str) -> Language:
    """The words of ``lang`` (``en`` or ``ja``).

    Raises:
        DocsTablesError: another language.
    """
    if lang == "en":
        return ENGLISH
    if lang == "ja":
        from tools.docs_tables_ja import JAPANESE  # noqa: PLC0415 - ja imports this module

        return JAPANESE
    raise DocsTablesError(f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")


def _japanese_keys() -> Mapping[str, Any]:
    from tools.docs_tables_ja import KEYS  # noqa: PLC0415 - ja imports this module

    return KEYS


def _japanese_parameters() -> Mapping[str, str]:
    from tools.docs_tables_ja import PARAMETERS  # noqa: PLC0415 - ja imports this module

    return PARAMETERS


# --------------------------------------------------------------------------- Markdown


def cell(text: str) -> str:
    """``text`` as one Markdown table cell: on one line, its pipes escaped (GFM tables)."""
    return " ".join(text.split()).replace("|", "\\|")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table of ``headers`` and ``rows`` (cells as ``cell`` makes)."""
    lines = [
        "| " + " | ".join(cell(header) for header in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def literal(value: Any) -> str:
    """A value as the tables write it: JSON in a code span (``true``, ``2400``, ``"2.15"``)."""
    return f"`{json.dumps(value)}`"


# --------------------------------------------------------------------------- config-keys


def declaring_model(model: type[CommonConfig], key: str) -> str:
    """The name of the model class that declares ``key`` (e.g. ``LustreConfig`` for
    ``onFailure`` of TaskExport): where a key's texts differ between modes, the Japanese texts
    are kept per declaring class."""
    for cls in model.__mro__:
        if key in getattr(cls, "__annotations__", {}):
            return cls.__name__
    raise KeyError(key)


def key_documentation(field: FieldInfo) -> dict[str, str]:
    """A field's English texts: ``meaning`` (its ``description``) and the entries of its
    ``json_schema_extra`` (``batchscratch.config.KEY_DOCUMENTATION``)."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    texts = {"meaning": field.description or ""}
    texts.update({name: str(value) for name, value in extra.items()})
    return texts


def key_texts(model: type[CommonConfig], key: str, lang: str) -> dict[str, str]:
    """The texts of ``key`` of ``model`` in ``lang``: ``meaning`` and any ``rule``, ``unset``,
    ``default_text``, ``unit`` (the unit always the field's own, named in the language).

    Raises:
        KeyError: no Japanese text for the key.
    """
    english = key_documentation(model.model_fields[key])
    if lang == "en":
        return english
    entry = _japanese_keys()[key]
    if "meaning" not in entry:
        entry = entry[declaring_model(model, key)]
    texts = dict(entry)
    if "unit" in english:
        texts["unit"] = language(lang).units[english["unit"]]
    return texts


def _bounds(field: FieldInfo, words: Language, *, length: bool) -> list[str]:
    """The field's own bounds in words (numbers, or lengths of a text or list)."""
    low = high = multiple = None
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.MultipleOf):
            multiple = item.multiple_of
        elif isinstance(item, annotated_types.MinLen) and length and item.min_length >= 1:
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen) and length:
            high = item.max_length
    phrases = []
    if length:
        if low is not None:
            phrases.append(words.not_empty)
        if high is not None:
            phrases.append(words.characters.format(value=high))
    elif low is not None and high is not None:
        phrases.append(words.range.format(low=low, high=high))
    elif low is not None:
        phrases.append(words.at_least.format(value=low))
    elif high is not None:
        phrases.append(words.at_most.format(value=high))
    if multiple is not None:
        phrases.append(words.multiple_of.format(value=multiple))
    return phrases


def _value_type(annotation: Any) -> Any:
    """The annotation without ``None`` (``int | None`` is ``int``)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kept = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def allowed_values(field: FieldInfo, words: Language) -> list[str]:
    """What the field itself allows, in words: its choices, its bounds, or its type."""
    kind = _value_type(field.annotation)
    origin = typing.get_origin(kind)
    if kind is bool:
        return [words.boolean]
    if origin is Literal:
        return [words.choices([literal(value) for value in typing.get_args(kind)])]
    if kind is str:
        return _bounds(field, words, length=True)
    if origin is list:
        return [words.list_of_strings, *_bounds(field, words, length=True)]
    if origin is dict:
        return [words.object_of_strings]
    return _bounds(field, words, length=False)


def default_cell(mode: str, key: str, texts: Mapping[str, str], words: Language) -> str:
    """The key's default in ``mode``: the model's value, or what its absence means."""
    field = MODES[mode].config_model.model_fields[key]
    if field.default_factory is not None:
        return literal(field.default_factory())  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        if "default_text" in texts:
            return texts["default_text"].format(
                ecr_repository=MODES[mode].ecr_repository, unpinned_tag=UNPINNED_TAG
            )
        return words.required
    if field.default is None:
        return texts.get("unset", words.none)
    return literal(field.default)


def config_keys_rows(mode: str, lang: str) -> list[tuple[str, ...]]:
    """One row per key of ``mode``'s model, in its field order (``config-keys``)."""
    model = MODES[mode].config_model
    words = language(lang)
    settable = set(default_input_keys())
    rows: list[tuple[str, ...]] = []
    for key, field in model.model_fields.items():
        texts = key_texts(model, key, lang)
        allowed = allowed_values(field, words)
        if "rule" in texts:
            allowed.append(texts["rule"])
        rows.append(
            (
                f"`{key}`",
                texts["meaning"],
                texts.get("unit", ""),
                default_cell(mode, key, texts, words),
                words.separator.join(allowed),
                words.yes if key in settable else words.no,
            )
        )
    return rows


def config_keys(mode: str, lang: str) -> str:
    """The ``config-keys <mode> <lang>`` table."""
    return table(language(lang).config_headers, config_keys_rows(mode, lang))


# --------------------------------------------------------------------------- template-parameters


def template_parameters_of(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """The ``Parameters`` of the template at ``path``, by name, in the template's order."""
    parameters: dict[str, dict[str, Any]] = cfn.load(path)["Parameters"]
    return parameters


def parameter_allowed(parameter: Mapping[str, Any], words: Language) -> str:
    """What a parameter allows, in words: AllowedValues, MinValue/MaxValue, MaxLength,
    AllowedPattern (each item of a list type)."""
    phrases = []
    if "AllowedValues" in parameter:
        phrases.append(words.choices([f"`{value}`" for value in parameter["AllowedValues"]]))
    low, high = parameter.get("MinValue"), parameter.get("MaxValue")
    if low is not None and high is not None:
        phrases.append(words.range.format(low=low, high=high))
    elif low is not None:
        phrases.append(words.at_least.format(value=low))
    elif high is not None:
        phrases.append(words.at_most.format(value=high))
    if "MaxLength" in parameter:
        phrases.append(words.characters.format(value=parameter["MaxLength"]))
    if "AllowedPattern" in parameter:
        pattern = words.matches.format(value=parameter["AllowedPattern"])
        if parameter.get("Type") == "CommaDelimitedList":
            pattern = words.each_item.format(value=pattern)
        phrases.append(pattern)
    if not phrases and parameter.get("Type") == "Number":
        phrases.append(words.number)
    return words.separator.join(phrases)


def template_parameters_rows(lang: str, path: Path = TEMPLATE) -> list[tuple[str, ...]]:
    """One row per parameter of the template (``template-parameters``)."""
    words = language(lang)
    rows: list[tuple[str, ...]] = []
    for name, parameter in template_parameters_of(path).items():
        default = str(parameter.get("Default", ""))
        meaning = (
            str(parameter.get("Description", "")) if lang == "en" else _japanese_parameters()[name]
        )
        rows.append(
            (
                f"`{name}`",
                f"`{default}`" if default else words.empty,
                parameter_allowed(parameter, words),
                meaning,
            )
        )
    return rows


def template_parameters(lang: str) -> str:
    """The ``template-parameters <lang>`` table."""
    return table(language(lang).parameter_headers, template_parameters_rows(lang))


# --------------------------------------------------------------------------- costs


def _money(dollars: float, digits: int = 2) -> str:
    return f"${dollars:,.{digits}f}"


def _unchecked(price: prices.Price) -> bool:
    return prices.UNCHECKED in price.note


def default_estimate(mode: str) -> costs.Estimate:
    """A one-hour run of ``mode`` with the defaults (the template's defaults for the stack),
    as ``batch-scratch cost --mode`` works it out."""
    config = MODES[mode].config_model.model_validate(
        {"jobDefinitionContainerImage": PLACEHOLDER_IMAGE}
    )
    return costs.estimate(mode, config, 1.0)


def idle_monthly(creates_vpc: bool) -> float:
    """Dollars per month of the idle stack (``costs.idle_stack_hourly``)."""
    return (
        sum(line.hourly for line in costs.idle_stack_hourly(creates_vpc)) * prices.HOURS_PER_MONTH
    )


def costs_tables(lang: str) -> str:
    """The ``costs <lang>`` block: the idle stack per month, a default run per hour."""
    words = language(lang)
    own = {line.resource_type: line for line in costs.idle_stack_hourly(creates_vpc=True)}
    existing = {line.resource_type: line for line in costs.idle_stack_hourly(creates_vpc=False)}
    used: list[prices.Price] = []

    def named(price: prices.Price, name: str) -> str:
        used.append(price)
        return f"{name}{UNCHECKED_MARK if _unchecked(price) else ''}"

    idle_rows = []
    for resource_type, line in own.items():
        name = words.idle_names[resource_type] if words.idle_names else line.price.name
        monthly = line.hourly * prices.HOURS_PER_MONTH
        idle_rows.append(
            (
                f"{named(line.price, name)} \N{MULTIPLICATION SIGN}{line.quantity:g} "
                f"(`{resource_type}`)",
                _money(monthly),
                _money(monthly) if resource_type in existing else "\N{EN DASH}",
            )
        )
    idle_rows.append((words.total, _money(idle_monthly(True)), _money(idle_monthly(False))))

    run_rows = []
    estimates = {mode: default_estimate(mode) for mode in MODES}
    for mode, estimate in estimates.items():
        storage_unchecked = any(_unchecked(price) for price in estimate.storage_prices)
        used.extend(estimate.storage_prices)
        # Only the default type's On-Demand price was read on the page (prices.ON_DEMAND_HOURLY).
        compute_unchecked = estimate.instance_type != prices.INSTANCE_TYPE
        run_rows.append(
            (
                mode,
                estimate.storage,
                _money(estimate.storage_hourly, 4) + (UNCHECKED_MARK if storage_unchecked else ""),
                f"{estimate.instances} \N{MULTIPLICATION SIGN} {estimate.instance_type} "
                + _money(estimate.compute_hourly, 4)
                + (UNCHECKED_MARK if compute_unchecked else ""),
                _money(estimate.run_hourly, 4),
            )
        )
    used.append(prices.SPOT_INSTANCE)
    first = next(iter(estimates.values()))
    intro = words.costs_intro.format(
        region=prices.REGION,
        date=prices.PRICES_DATE,
        hours=prices.HOURS_PER_MONTH,
        discount=prices.SPOT_DISCOUNT,
        instance=first.instance_type,
        instances=first.instances,
    )
    pages = list(dict.fromkeys([prices.EC2_ON_DEMAND_PRICING, *(price.source for price in used)]))
    parts = [
        intro,
        table(words.idle_headers, idle_rows),
        table(words.run_headers, run_rows),
    ]
    if any(_unchecked(price) for price in used):
        parts.append(words.costs_unchecked.format(mark=UNCHECKED_MARK, region=prices.REGION))
    parts.append(words.costs_left_out.format(items="; ".join(costs.RUN_LEFT_OUT)))
    parts.append(f"{words.sources}: " + ", ".join(f"<{page}>" for page in pages))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- blocks


def render(spec: str) -> str:
    """What the block of the start marker ``<!-- generated: spec -->`` holds.

    Raises:
        DocsTablesError: an unknown kind, a mode or language that does not exist, or the wrong
            number of arguments.
    """
    kind, *arguments = spec.split()
    expected = {"config-keys": 2, "template-parameters": 1, "costs": 1}
    if kind not in expected:
        raise DocsTablesError(f"unknown kind {kind!r}: expected one of {', '.join(expected)}")
    if len(arguments) != expected[kind]:
        raise DocsTablesError(
            f"{kind} takes {expected[kind]} argument(s) "
            + ("(<Mode> <lang>)" if kind == "config-keys" else "(<lang>)")
            + f", got {len(arguments)}"
        )
    lang = arguments[-1]
    language(lang)
    if kind == "config-keys":
        mode = arguments[0]
        if mode not in MODES:
            raise DocsTablesError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        return config_keys(mode, lang)
    if kind == "template-parameters":
        return template_parameters(lang)
    return costs_tables(lang)


@dataclass(frozen=True)
class Block:
    """One marked block of a file: its spec, the line numbers (0-based) of its markers, and
    what it holds now."""

    spec: str
    start: int
    end: int
    body: str


def blocks(text: str, name: str = "<text>") -> list[Block]:
    """The marked blocks of a Markdown text, in order.

    Raises:
        DocsTablesError: a start marker with no end before the next start or the end of the
            text, or an end marker with no start (``name`` and the line are in the message).
    """
    lines = text.split("\n")
    found = []
    start: int | None = None
    spec = ""
    for number, line in enumerate(lines):
        match = START.fullmatch(line.strip())
        if match:
            if start is not None:
                raise DocsTablesError(f"{name}:{start + 1}: marker {spec!r} is not closed")
            start, spec = number, match["spec"].strip()
        elif line.strip() == END:
            if start is None:
                raise DocsTablesError(f"{name}:{number + 1}: {END} without a start marker")
            found.append(Block(spec, start, number, "\n".join(lines[start + 1 : number])))
            start = None
    if start is not None:
        raise DocsTablesError(f"{name}:{start + 1}: marker {spec!r} is not closed")
    return found


def generated_body(spec: str, name: str = "<text>", line: int = 0) -> str:
    """The body a block of ``spec`` gets: its table, a blank line either side."""
    try:
        return f"\n{render(spec)}\n"
    except DocsTablesError as error:
        raise DocsTablesError(f"{name}:{line + 1}: {error}") from None


def fill(text: str, name: str = "<text>") -> tuple[str, list[str]]:
    """Return ``text`` with every block filled, and the specs of the blocks that changed.

    Raises:
        DocsTablesError: as ``blocks`` and ``render`` do.
    """
    lines = text.split("\n")
    stale = []
    for block in reversed(blocks(text, name)):
        body = generated_body(block.spec, name, block.start)
        if body != block.body:
            stale.append(block.spec)
        lines[block.start + 1 : block.end] = body.split("\n")
    return "\n".join(lines), list(reversed(stale))


def markdown_files(root: Path = REPO) -> list[Path]:
    """The tracked Markdown files of the repository at ``root`` (``git ls-files '*.md'``)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "*.md"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    return [root / name for name in listed.split("\0") if name and (root / name).exists()]


def main(argv: list[str] | None = None) -> int:
    """Fill, or with ``--check`` compare, every block of every tracked Markdown file.

    Returns:
        0 when every block is (now) current; 1 with ``--check`` when a block is stale; 2 when a
        marker cannot be filled.
    """
    parser = argparse.ArgumentParser(prog="python -m tools.docs_tables", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a block is stale"
    )
    args = parser.parse_args(argv)
    stale: list[str] = []
    try:
        for path in markdown_files(REPO):
            name = path.relative_to(REPO).as_posix()
            text = path.read_text()
            filled, changed = fill(text, name)
            stale.extend(f"{name}: {spec}" for spec in changed)
            if changed and not args.check:
                path.write_text(filled)
                print(f"wrote {name} ({', '.join(changed)})")
    except DocsTablesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check and stale:
        for entry in stale:
            print(f"stale generated block: {entry}", file=sys.stderr)
        print("run `make docs` to regenerate them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
