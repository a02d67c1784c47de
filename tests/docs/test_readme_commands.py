"""Every command the READMEs tell a reader to type exists as written.

The commands are the simple commands of the fenced ``sh``, ``bash`` and ``shell`` blocks of
``README.md`` and of every translation beside it (``README.*.md``, such as ``README.ja.md``,
picked up when it appears), read by ``tests.docs.shell_commands`` (continued lines, comments,
pipes, ``&&`` chains, ``$(...)``; placeholders such as ``<port>`` become sample values).
Nothing that calls AWS runs; each kind of command is checked against what defines it:

- ``make TARGET``: a target of the Makefile (``make -pRrq``'s database, nothing runs);
- ``.venv/bin/batch-scratch ...`` / ``batch-scratch ...``: a script of pyproject.toml, and
  the arguments pass the click group's and the subcommand's parsing (``make_context``);
  ``batch-scratch cost --mode ...`` without ``--stack`` makes no AWS call and runs;
- ``.venv/bin/python -m tools.rehearse ...``: ``tools.rehearse.argument_parser()`` parses the
  arguments, and the scenario files exist;
- ``sam ...``: SAM CLI's click command parses them (in the repository, so that
  ``--config-env`` reads samconfig.toml), and ``--config-env`` names a section of it;
- ``aws SERVICE OPERATION --option ...``: botocore's model of the service has the operation
  and each option is a member of its input (``xform_name``, as the AWS CLI names them), every
  required member is given, besides the AWS CLI's global options; the AWS CLI's own commands
  (``aws s3 cp|ls|sync``, ``aws logs tail``) against their documented options
  (``AWS_CLI_COMMANDS``);
- ``docker/push-image.sh ...``: each option is one the script's usage text documents;
- ``SKIPPED_PROGRAMS`` and ``SKIPPED_SUBCOMMANDS`` (shell builtins, ``cd``, ``export``,
  ``git clone``, ``docker buildx``), variable assignments, and calls of a function a block
  defines are not checked.

Any other program fails the test, so that a new kind of command cannot slip in unchecked.
A failure lists ``README.md:line: `command`: why`` for each command that does not exist.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest
from botocore import xform_name
from botocore.exceptions import UnknownServiceError
from botocore.session import get_session
from click.testing import CliRunner
from samcli.cli.main import cli as sam_cli

from batchscratch_cli.main import cli as batch_scratch_cli
from batchscratch_cli.options import STACK_VARIABLE
from tests.conftest import REPO
from tests.docs.markdown_source import fences
from tests.docs.shell_commands import (
    SAMPLE_WORD,
    ShellSyntaxError,
    SimpleCommand,
    simple_commands,
)
from tools.rehearse import argument_parser as rehearse_parser

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
README_FILES = sorted(path.name for path in REPO.glob("README*.md"))

SKIPPED_PROGRAMS = {
    name: "a shell builtin: changes only the shell"
    for name in (
        "cd", "export", "unset", "set", "source", ".", "echo", "printf", "read", "true",
        "false", "wait", "test", "[", "local", "readonly", "shift", "trap",
    )
}  # fmt: skip
"""Programs not checked, with the reason."""

SKIPPED_SUBCOMMANDS = {
    ("docker", "buildx"): "builds an image: needs Docker; docker/push-image.sh is checked",
    ("git", "clone"): "fetches the repository: needs the network",
}
"""Program and first argument not checked, with the reason."""

RESERVED_WORDS = frozenset({"{", "}", "!", "do", "done", "then", "else", "elif", "fi", "if"})
"""Shell words before (or after) a command: ``do aws ...`` checks ``aws ...``."""

ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)

AWS_GLOBAL_OPTIONS = {
    # (AWS CLI v2 Command Reference, "Global Options": True when the option takes a value.)
    "--debug": False, "--endpoint-url": True, "--no-verify-ssl": False, "--no-paginate": False,
    "--output": True, "--query": True, "--profile": True, "--region": True, "--version": False,
    "--color": True, "--no-sign-request": False, "--ca-bundle": True,
    "--cli-read-timeout": True, "--cli-connect-timeout": True, "--cli-binary-format": True,
    "--no-cli-pager": False, "--cli-auto-prompt": False, "--no-cli-auto-prompt": False,
}  # fmt: skip
AWS_OPERATION_OPTIONS = frozenset(
    {"--cli-input-json", "--cli-input-yaml", "--generate-cli-skeleton"}
)
AWS_PAGINATION_OPTIONS = frozenset({"--starting-token", "--page-size", "--max-items"})

MANY = -1
"""The arity of an option that takes one or more values (``--instance-ids A B``)."""


def arities(flags: str, one_value: str, many_values: str = "") -> dict[str, int]:
    """Options by how many values each takes: the flags 0, ``one_value``'s 1, ``many_values``'
    ``MANY`` (each a space-separated list)."""
    return (
        dict.fromkeys(flags.split(), 0)
        | dict.fromkeys(one_value.split(), 1)
        | dict.fromkeys(many_values.split(), MANY)
    )


S3_TRANSFER_OPTIONS = arities(
    "--dryrun --quiet --follow-symlinks --no-follow-symlinks --no-guess-mime-type "
    "--only-show-errors --no-progress --progress-multiline --ignore-glacier-warnings "
    "--force-glacier-transfer --no-overwrite",
    "--include --exclude --acl --sse --sse-c --sse-c-key --sse-kms-key-id --sse-c-copy-source "
    "--sse-c-copy-source-key --storage-class --website-redirect --content-type "
    "--cache-control --content-disposition --content-encoding --content-language --expires "
    "--source-region --progress-frequency --page-size --request-payer --checksum-mode "
    "--checksum-algorithm --metadata --copy-props --metadata-directive --case-conflict",
    "--grants",
)
"""The options ``aws s3 cp`` and ``aws s3 sync`` share (AWS CLI v2 Command Reference)."""


@dataclass(frozen=True)
class AwsCliCommand:
    """One of the AWS CLI's own commands (no API operation of the same name): its options
    with their arities, and how many positional arguments it takes (AWS CLI v2 Command
    Reference)."""

    options: dict[str, int]
    positionals: range


AWS_CLI_COMMANDS = {
    ("s3", "cp"): AwsCliCommand(
        S3_TRANSFER_OPTIONS | arities("--recursive", "--expected-size"), range(2, 3)
    ),
    ("s3", "sync"): AwsCliCommand(
        S3_TRANSFER_OPTIONS | arities("--size-only --exact-timestamps --delete", ""),
        range(2, 3),
    ),
    ("s3", "ls"): AwsCliCommand(
        arities(
            "--recursive --human-readable --summarize",
            "--page-size --request-payer --bucket-name-prefix --bucket-region",
        ),
        range(3),
    ),
    ("logs", "tail"): AwsCliCommand(
        arities(
            "--follow",
            "--since --format --filter-pattern --log-stream-name-prefix",
            "--log-stream-names",
        ),
        range(1, 2),
    ),
}
"""The AWS CLI's own commands the READMEs may use; ``aws s3`` has no other here."""

AWS_CLI_SERVICES = {"s3api": "s3", "configservice": "config"}
"""AWS CLI service commands named otherwise than botocore's service."""


@dataclass(frozen=True)
class ReadmeCommand:
    """One command of a README: its file, line, words and text."""

    readme: str
    line: int
    words: tuple[str, ...]
    text: str


def readme_commands(readme: str) -> tuple[list[ReadmeCommand], list[str]]:
    """The commands of the README ``readme`` that are checked, and the problems of reading its
    shell blocks (syntax the reader does not follow)."""
    commands: list[ReadmeCommand] = []
    unreadable: list[str] = []
    functions: set[str] = set()
    for fence in fences(REPO / readme, SHELL_LANGUAGES):
        try:
            found = simple_commands(fence.code, fence.first_line, functions)
        except ShellSyntaxError as error:
            unreadable.append(f"{readme}:{fence.first_line}: shell block: {error}")
            continue
        commands.extend(
            ReadmeCommand(readme, command.line, words, command.text)
            for command in found
            if (words := command_words(command, functions))
        )
    return commands, unreadable


def command_words(command: SimpleCommand, functions: set[str]) -> tuple[str, ...]:
    """The words of ``command`` to check: reserved words and variable assignments before it
    left out; nothing for a ``for`` list, an assignment alone or a call of a function the
    README defines (its body is checked)."""
    words = list(command.words)
    while words and (words[0] in RESERVED_WORDS or ASSIGNMENT.fullmatch(words[0])):
        words.pop(0)
    if not words or words[0] == "for" or words[0] in functions:
        return ()
    return tuple(words)


# ---------------------------------------------------------------------------- make


@cache
def make_targets() -> frozenset[str]:
    """The targets the Makefile defines, from make's database (``make -pRrq``: no recipe
    runs, no variable that runs a program is expanded)."""
    database = subprocess.run(
        ["make", "--no-print-directory", "-pRrq", "-f", "Makefile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,  # -q exits 1 when the default goal is not up to date
    ).stdout
    _, _, files = database.partition("\n# Files\n")
    targets: set[str] = set()
    previous = ""
    for line in files.splitlines():
        match = re.match(r"([^\s#:=][^:=]*):(?!=)", line)
        if match and previous != "# Not a target:":
            targets.update(match.group(1).split())
        previous = line
    return frozenset(targets)


def check_make(arguments: list[str]) -> str | None:
    """Why ``make ARGUMENTS`` names no target of the Makefile, or None."""
    targets = [word for word in arguments if not ASSIGNMENT.fullmatch(word)]
    if options := [word for word in targets if word.startswith("-")]:
        return f"make options are not checked here: {' '.join(options)}"
    missing = [target for target in targets if target not in make_targets()]
    return f"no such Makefile target: {', '.join(missing)}" if missing else None


# ---------------------------------------------------------------------------- click


def click_context(group: click.Group, program: str, arguments: list[str]) -> click.Context:
    """The context of the (sub)command ``program ARGUMENTS`` names, its arguments parsed and
    converted as click would before it runs (raises ``click.UsageError``)."""
    context = group.make_context(program, list(arguments))
    while isinstance(context.command, click.Group):
        rest = [*context.protected_args, *context.args]
        if not rest:
            raise click.UsageError("no subcommand given")
        name, command, rest = context.command.resolve_command(context, rest)
        assert name is not None and command is not None
        context = command.make_context(name, rest, parent=context)
    return context


def click_problem(group: click.Group, program: str, arguments: list[str]) -> str | None:
    """Why click refuses ``program ARGUMENTS``, or None."""
    try:
        click_context(group, program, arguments)
    except click.exceptions.Exit:
        return None  # --help or --version: accepted
    except click.ClickException as error:
        return f"{program} refuses it: {error.format_message()}"
    return None


@cache
def project_scripts() -> frozenset[str]:
    """The commands ``pip install .`` installs (pyproject.toml's ``[project.scripts]``)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    return frozenset(project["project"]["scripts"])


def runs_locally(arguments: list[str]) -> bool:
    """Whether ``batch-scratch ARGUMENTS`` makes no AWS call: ``cost --mode`` without a stack."""
    return (
        arguments[:1] == ["cost"]
        and "--mode" in arguments
        and not {"--stack", "--look-up-spot-price"} & set(arguments)
    )


def check_batch_scratch(arguments: list[str]) -> str | None:
    """Why ``batch-scratch ARGUMENTS`` is refused (or, run locally, fails), or None."""
    if "batch-scratch" not in project_scripts():
        return "pyproject.toml installs no batch-scratch command"
    if problem := click_problem(batch_scratch_cli, "batch-scratch", arguments):
        return problem
    if runs_locally(arguments):
        result = CliRunner().invoke(batch_scratch_cli, arguments, prog_name="batch-scratch")
        if result.exit_code != 0:
            return f"exits {result.exit_code}: {result.output.strip()}"
    return None


@cache
def samconfig_environments() -> frozenset[str]:
    """The configuration environments of samconfig.toml (its top-level tables)."""
    return frozenset(tomllib.loads((REPO / "samconfig.toml").read_text()))


def check_sam(arguments: list[str]) -> str | None:
    """Why ``sam ARGUMENTS`` is refused by SAM CLI's parsing, or names a configuration
    environment samconfig.toml does not have, or None."""
    for index, word in enumerate(arguments):
        environment = word.partition("=")[2] if word.startswith("--config-env=") else None
        if word == "--config-env" and index + 1 < len(arguments):
            environment = arguments[index + 1]
        if environment is not None and environment not in samconfig_environments():
            return f"samconfig.toml has no [{environment}] configuration"
    return click_problem(sam_cli, "sam", arguments)


# ---------------------------------------------------------------------------- python -m


def check_rehearse(arguments: list[str]) -> str | None:
    """Why ``python -m tools.rehearse ARGUMENTS`` would be refused, or None."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            parsed = rehearse_parser().parse_args(arguments)
    except SystemExit as exit_:
        return None if exit_.code == 0 else f"refused: {stderr.getvalue().strip()}"
    missing = [str(path) for path in parsed.files if not matching_files(str(path))]
    return f"no such scenario file: {', '.join(missing)}" if missing else None


def matching_files(path: str) -> list[Path]:
    """The files of the repository that ``path`` names, as the shell expands its wildcards
    (``scenarios/only_ebs/*.yaml``), a placeholder in it (``<file>.yaml``) matching any name."""
    return [match for match in REPO.glob(SAMPLE_WORD.sub("*", path)) if match.is_file()]


PYTHON_MODULES: dict[str, Callable[[list[str]], str | None]] = {"tools.rehearse": check_rehearse}


def check_python(arguments: list[str]) -> str | None:
    """Why ``.venv/bin/python ARGUMENTS`` is no known module's command, or refused, or None."""
    if arguments[:1] != ["-m"] or len(arguments) < 2 or arguments[1] not in PYTHON_MODULES:
        known = ", ".join(PYTHON_MODULES)
        return f"no check for python {' '.join(arguments[:2])} (known: -m {known})"
    return PYTHON_MODULES[arguments[1]](arguments[2:])


# ---------------------------------------------------------------------------- aws


def split_global_options(arguments: list[str]) -> tuple[list[str], list[str]]:
    """``aws ARGUMENTS`` without the AWS CLI's global options (and their values), as (the
    service and the operation, the words after them)."""
    names: list[str] = []
    rest: list[str] = []
    words = iter(arguments)
    for word in words:
        option, has_value, _ = word.partition("=")
        if option in AWS_GLOBAL_OPTIONS:
            if AWS_GLOBAL_OPTIONS[option] and not has_value:
                next(words, None)
        elif len(names) < 2 and not word.startswith("-"):
            names.append(word)
        else:
            rest.append(word)
    return names, rest


def split_options(words: list[str], arity: dict[str, int]) -> tuple[list[str], list[str]]:
    """The options among ``words`` and the positional words, each option taking the values
    ``arity`` gives it (an unknown option: as many as follow)."""
    options: list[str] = []
    positionals: list[str] = []
    values_left = 0
    for word in words:
        if word.startswith("--"):
            option, has_value, _ = word.partition("=")
            options.append(option)
            values_left = 0 if has_value else arity.get(option, MANY)
        elif values_left:
            values_left -= 1
        else:
            positionals.append(word)
    return options, positionals


@cache
def aws_operations(service: str) -> dict[str, str]:
    """The operations of botocore's ``service`` by AWS CLI name (``start-execution``:
    ``StartExecution``); raises ``UnknownServiceError``."""
    model = get_session().get_service_model(service)
    return {xform(name): name for name in model.operation_names}


def xform(name: str) -> str:
    """The AWS CLI's name for an API name (botocore's ``xform_name`` with hyphens)."""
    return xform_name(name, "-")


@dataclass(frozen=True)
class AwsOperation:
    """The options the AWS CLI gives an API operation, with their arities (each input member
    as ``--member-name``: a list takes many values, a boolean none and has a ``--no-`` twin;
    the pagination options of a paginated operation), and the required ones."""

    options: dict[str, int]
    required: frozenset[str]


def aws_operation(service: str, operation: str) -> AwsOperation:
    """The AWS CLI's options of ``operation`` (API name) of botocore's ``service``."""
    session = get_session()
    model = session.get_service_model(service).operation_model(operation)
    options = dict.fromkeys(AWS_OPERATION_OPTIONS, 1)
    required: set[str] = set()
    if model.input_shape is not None:
        for name, shape in model.input_shape.members.items():
            cli_name = xform(name)
            if shape.type_name == "boolean":
                options[f"--{cli_name}"] = options[f"--no-{cli_name}"] = 0
            else:
                options[f"--{cli_name}"] = MANY if shape.type_name == "list" else 1
        required = {f"--{xform(name)}" for name in model.input_shape.required_members}
    with contextlib.suppress(ValueError, UnknownServiceError):
        session.get_paginator_model(service).get_paginator(operation)
        options |= dict.fromkeys(AWS_PAGINATION_OPTIONS, 1)
    return AwsOperation(options, frozenset(required))


def check_aws_cli_command(names: list[str], words: list[str]) -> str | None:
    """Why ``aws SERVICE COMMAND WORDS`` is no use of one of ``AWS_CLI_COMMANDS``, or None."""
    command = AWS_CLI_COMMANDS.get((names[0], names[1]))
    where = f"aws {names[0]} {names[1]}"
    if command is None:
        return f"{where} is not one of the AWS CLI's own commands checked here"
    options, positionals = split_options(words, command.options)
    if unknown := sorted(set(options) - set(command.options)):
        return f"{where} has no option {', '.join(unknown)}"
    if len(positionals) not in command.positionals:
        return (
            f"{where} takes {command.positionals.start} to {command.positionals.stop - 1} "
            f"positional arguments, not {positionals}"
        )
    return None


def check_aws(arguments: list[str]) -> str | None:
    """Why ``aws ARGUMENTS`` names no service, operation or option botocore knows (or one
    of ``AWS_CLI_COMMANDS``), or leaves out a required option, or None."""
    names, words = split_global_options(arguments)
    if len(names) < 2:
        return "no service and operation"
    if tuple(names) in AWS_CLI_COMMANDS or names[0] == "s3":
        return check_aws_cli_command(names, words)
    service = AWS_CLI_SERVICES.get(names[0], names[0])
    try:
        operations = aws_operations(service)
    except UnknownServiceError:
        return f"botocore has no service {names[0]}"
    if names[1] not in operations:
        return f"botocore's {service} has no operation {names[1]}"
    operation = aws_operation(service, operations[names[1]])
    options, positionals = split_options(words, operation.options)
    problems = []
    if unknown := sorted(set(options) - set(operation.options)):
        problems.append(f"{operations[names[1]]} has no member {', '.join(unknown)}")
    missing = sorted(operation.required - set(options))
    if missing and not AWS_OPERATION_OPTIONS & set(options):
        problems.append(f"{operations[names[1]]} requires {', '.join(missing)}")
    if positionals:
        problems.append(f"unexpected arguments: {' '.join(positionals)}")
    return "; ".join(problems) or None


# ---------------------------------------------------------------------------- push-image.sh


@cache
def push_image_options() -> dict[str, bool]:
    """The options docker/push-image.sh's usage text documents, each with whether it takes
    a value (``--tag TAG``: True; ``-h, --help``: False)."""
    script = (REPO / "docker" / "push-image.sh").read_text()
    usage = script.partition("usage() {")[2].partition("\nEOF\n")[0]
    options: dict[str, bool] = {}
    for line in usage.partition("\nOptions:\n")[2].splitlines():
        match = re.match(r"\s+((?:-\w, )?(--[\w-]+))( \S+)?\s{2,}", line)
        if match:
            for name in re.findall(r"--?[\w-]+", match.group(1)):
                options[name] = match.group(3) is not None
    return options


def check_push_image(arguments: list[str]) -> str | None:
    """Why ``docker/push-image.sh ARGUMENTS`` uses an option its usage text does not
    document, or more than one REPOSITORY, or None."""
    documented = push_image_options()
    positionals = []
    words = iter(arguments)
    for word in words:
        if word.startswith("-"):
            if word not in documented:
                return f"its usage text documents no option {word}"
            if documented[word] and next(words, None) is None:
                return f"{word} needs a value"
        else:
            positionals.append(word)
    return f"takes one REPOSITORY, not {positionals}" if len(positionals) > 1 else None


# ---------------------------------------------------------------------------- dispatch

CHECKS: dict[str, Callable[[list[str]], str | None]] = {
    "make": check_make,
    "batch-scratch": check_batch_scratch,
    ".venv/bin/batch-scratch": check_batch_scratch,
    ".venv/bin/python": check_python,
    "python": check_python,  # in the project's virtual environment
    "sam": check_sam,
    ".venv/bin/sam": check_sam,
    "aws": check_aws,
    "docker/push-image.sh": check_push_image,
    "./docker/push-image.sh": check_push_image,
}
"""Each program the READMEs may run, and its check."""


def command_problem(words: tuple[str, ...]) -> str | None:
    """Why the command ``words`` does not exist as written, or None (also when skipped)."""
    program, arguments = words[0], list(words[1:])
    if program in SKIPPED_PROGRAMS or tuple(words[:2]) in SKIPPED_SUBCOMMANDS:
        return None
    check = CHECKS.get(program)
    if check is None:
        return f"no check for the program {program}: add one to CHECKS, or skip it by name"
    return check(arguments)


def readme_problems(readme: str) -> Iterator[str]:
    """``README:line: `command`: why`` for each command of ``readme`` that does not exist."""
    commands, unreadable = readme_commands(readme)
    yield from unreadable
    for command in commands:
        if problem := command_problem(command.words):
            yield f"{readme}:{command.line}: `{command.text}`: {problem}"


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run from the clone's root; no variable of the reader's shell fills an option."""
    monkeypatch.chdir(REPO)
    for variable in (STACK_VARIABLE, "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("SAM_CLI_TELEMETRY", "0")


@pytest.mark.parametrize("readme", README_FILES)
def test_every_readme_command_exists(readme: str) -> None:
    found = list(readme_problems(readme))
    assert not found, "\n".join(found)


def test_every_kind_of_command_is_found() -> None:
    commands, _ = readme_commands("README.md")
    programs = {command.words[0] for command in commands}
    assert {"make", "sam", "aws", ".venv/bin/batch-scratch", "docker/push-image.sh"} <= programs


@pytest.mark.parametrize(
    "command",
    [
        "make rehearse",
        "make setup PYTHON=/usr/bin/python3.13",
        "batch-scratch cost --mode OnlyEBS --hours 2",
        ".venv/bin/batch-scratch follow --stack s --endpoint-url http://127.0.0.1:<port> run-1",
        ".venv/bin/python -m tools.rehearse --serve scenarios/task_export/spot-reclaim.yaml",
        "python -m tools.rehearse -q scenarios/only_ebs/*.yaml",
        ".venv/bin/python -m tools.rehearse scenarios/auto_export/<file>.yaml",
        "sam deploy --guided --config-env onlyebs",
        "sam list stack-outputs --stack-name s",
        "aws --region us-east-1 ec2 describe-instances --instance-ids i-1 i-2 --output text",
        "aws ec2 describe-snapshots --dry-run --max-items 5",
        "aws logs tail /aws/batch/s/jobs --since 1h --follow",
        "aws s3 cp results.tar s3://bucket/runs/ --only-show-errors",
        "docker/push-image.sh --platform linux/arm64 --tag v1 --pin s",
        "docker buildx build -f docker/ebs/Dockerfile docker/",
        "cd /tmp",
    ],
)
def test_a_command_as_documented_passes(command: str) -> None:
    (parsed,) = simple_commands(command, 1)
    assert command_problem(parsed.words) is None


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("make deploy", "no such Makefile target: deploy"),
        ("batch-scratch stop --stack s", "No such command 'stop'"),
        ("batch-scratch start --stack s --wait", "No such option: --wait"),
        ("batch-scratch cost --mode OnlyEBS --set noSuchKey=1", "exits 1"),
        (".venv/bin/python -m tools.rehearse --watch x.yaml", "unrecognized arguments"),
        (".venv/bin/python -m tools.rehearse scenarios/none.yaml", "no such scenario file"),
        (".venv/bin/python -m tools.bench", "no check for python -m tools.bench"),
        ("sam deploy --config-env staging", "samconfig.toml has no [staging]"),
        ("sam deploy --stack", "No such option: --stack"),
        ("aws stepfunctions start-run --state-machine-arn a", "no operation start-run"),
        ("aws stepfunction start-execution --state-machine-arn a", "no service stepfunction"),
        ("aws stepfunctions start-execution --arn a", "no member --arn"),
        ("aws stepfunctions start-execution --input {}", "requires --state-machine-arn"),
        ("aws logs tail /aws/batch/s/jobs --tail", "no option --tail"),
        ("aws s3 mv a s3://b/", "not one of the AWS CLI's own commands"),
        ("docker/push-image.sh --arch arm64", "documents no option --arch"),
        ("docker run image", "no check for the program docker"),
        ("curl -O https://example.com", "no check for the program curl"),
    ],
)
def test_a_command_that_does_not_exist_is_reported(command: str, why: str) -> None:
    (parsed,) = simple_commands(command, 1)
    assert why in (command_problem(parsed.words) or "")


def test_the_shell_reader_finds_each_command_as_bash_would() -> None:
    code = (
        "STACK=s   # or another stack\n"
        'output() { aws cloudformation describe-stacks --stack-name "$STACK" \\\n'
        "  --query 'Stacks[0]' 2>/dev/null; }\n"
        'for arn in $(aws stepfunctions list-executions --state-machine-arn "$(output A)"); do\n'
        "  aws stepfunctions stop-execution --execution-arn \"$arn\" | tee log && echo '# no'\n"
        "done\n"
        "batch-scratch follow --stack s <execution name or ARN> --endpoint-url http://h:<port>\n"
    )
    functions: set[str] = set()
    found = [(command.line, command.words) for command in simple_commands(code, 10, functions)]
    assert functions == {"output"}
    assert found == [
        (10, ("STACK=s",)),
        (11, ("{", "aws", "cloudformation", "describe-stacks", "--stack-name", "$STACK",
              "--query", "Stacks[0]")),
        (12, ("}",)),
        (13, ("output", "A")),
        (13, ("aws", "stepfunctions", "list-executions", "--state-machine-arn", "substituted")),
        (13, ("for", "arn", "in", "substituted")),
        (13, ("do",)),
        (14, ("aws", "stepfunctions", "stop-execution", "--execution-arn", "$arn")),
        (14, ("tee", "log")),
        (14, ("echo", "# no")),
        (15, ("done",)),
        (16, ("batch-scratch", "follow", "--stack", "s",
              "arn:aws:states:us-east-1:123456789012:execution:sample:sample",
              "--endpoint-url", "http://h:4566")),
    ]  # fmt: skip


def test_a_new_kind_of_command_in_a_readme_is_reported() -> None:
    (command,) = simple_commands("kubectl apply -f job.yaml  # deploy\n", 1)
    assert command_words(command, set()) == ("kubectl", "apply", "-f", "job.yaml")
    assert "no check for the program kubectl" in (command_problem(command.words) or "")
