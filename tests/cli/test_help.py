"""``batch-scratch --help`` and every subcommand's ``--help`` describe every option."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from batchscratch_cli.main import cli

SUBCOMMANDS = sorted(cli.commands)


def test_the_command_has_the_subcommands_the_readme_names() -> None:
    assert SUBCOMMANDS == ["cost", "follow", "leftovers", "list", "smoke", "start"]


def test_the_group_help_lists_every_subcommand_with_its_summary() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in SUBCOMMANDS:
        summary = cli.commands[name].get_short_help_str()
        assert summary, name
        # The group lists it with the first words of its description.
        assert f"  {name} " in result.output
        assert " ".join(summary.split()[:3]) in result.output


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_option_of_a_subcommand_is_described(name: str) -> None:
    command = cli.commands[name]
    assert command.help and len(command.help.split()) >= 8, f"{name} has no real description"
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            assert parameter.help and parameter.help.strip(), f"{name} {parameter.opts}"
            assert parameter.opts[0] in result.output
            # The help shows the description's first words.
            assert parameter.help.split()[0] in result.output
        elif isinstance(parameter, click.Argument):
            # Arguments have no help in click: the command's description names each.
            assert parameter.human_readable_name.upper() in command.help, (name, parameter.name)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_reaches_the_local_aws(name: str) -> None:
    options = {option for parameter in cli.commands[name].params for option in parameter.opts}
    assert {"--endpoint-url", "--region", "--profile", "--json"} <= options


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["start", "--stack", "S", "--set", "noequals"], "--set"),
        (["start", "--stack", "S", "--name", "bad name!"], "--name"),
        (["start", "--stack", "S", "--input", "/nonexistent/input.json"], "--input"),
        (["cost", "--mode", "OnlyEBS", "--set", "=5"], "--set"),
    ],
)
def test_a_usage_error_exits_2_naming_the_option(args: list[str], named: str) -> None:
    """docs/cli.md: exit status 2 for a usage error, before any AWS call (no endpoint here
    answers: a call would fail differently)."""
    result = CliRunner().invoke(cli, [*args, "--endpoint-url", "http://127.0.0.1:9"])

    assert result.exit_code == 2, result.output
    assert f"Invalid value for {named}" in result.output
