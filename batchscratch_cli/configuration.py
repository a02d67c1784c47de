"""A run's configuration on the command line: ``--set key=value`` and ``--input FILE``,
checked with LoadConfig's own rules and messages (``batchscratch.config``).

Two checks, as LoadConfig makes one:

1. ``check_locally``, before any AWS call: what every mode refuses (a negative size, a key no
   mode has, a malformed value) is refused here with the message LoadConfig would give, so a
   bad override costs nothing and sends nothing.
2. ``load``, once the stack is known: the stack's secret overlaid with the overrides, for the
   stack's mode, with the keys the stack lets an input set (``ExecutionInputKeys``) and the
   repositories its images may come from: ``config.build_config``, ``images.check_image`` and
   ``history.check_history_budget``, LoadConfig's checks in LoadConfig's order
   (``batchscratch.state.load_run``). What depends on the account (the instance types, the
   bucket, the stack's Lustre limit) is still LoadConfig's to check at the start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from batchscratch.config import CONFIG_MODELS, CommonConfig, build_config
from batchscratch.errors import InvalidConfiguration
from batchscratch.history import check_history_budget
from batchscratch.images import check_image
from batchscratch_cli.output import CliError
from batchscratch_cli.session import Aws
from batchscratch_cli.stack import Stack

PLACEHOLDER_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-scratch@sha256:" + "0" * 64
"""An image reference the models accept, standing for the secret's while no stack is read."""


def parse_overrides(assignments: Sequence[str], input_file: str | None = None) -> dict[str, Any]:
    """Return the execution input the options describe.

    Args:
        assignments: ``--set`` values, each ``key=value``; the value is read as JSON when it
            is JSON (``-5``, ``true``, ``["a", "b"]``), else as text (``snapshot``).
        input_file: ``--input``: a file holding a JSON object (``-``: standard input); the
            ``--set`` keys replace its keys.

    Returns:
        ``{key: value}``, the JSON object StartExecution sends.

    Raises:
        click.BadParameter: a usage error (exit status 2): the file cannot be read or holds no
            JSON object, or an assignment has no ``=`` or no key.
    """
    overlay: dict[str, Any] = {}
    if input_file is not None:
        try:
            text = (
                Path("/dev/stdin").read_text()
                if input_file == "-"
                else Path(input_file).read_text()
            )
            loaded = json.loads(text)
        except (OSError, json.JSONDecodeError) as error:
            raise click.BadParameter(
                f"{input_file}: not a readable JSON file ({error})", param_hint="--input"
            ) from None
        if not isinstance(loaded, dict):
            raise click.BadParameter(
                f"{input_file}: must hold a JSON object, not {type(loaded).__name__}",
                param_hint="--input",
            )
        overlay.update(loaded)
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(
                f"{assignment!r}: write key=value, e.g. --set ebsSizeGb=200", param_hint="--set"
            )
        try:
            overlay[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overlay[key.strip()] = value
    return overlay


def check_locally(overlay: dict[str, Any]) -> None:
    """Refuse, before any AWS call, an input that LoadConfig would refuse in every mode.

    Each mode's model checks the input over its own defaults (``build_config``, every key
    allowed, a placeholder image): when one mode accepts it, the stack's own check
    (``load``) decides. When none does, the message is that of the mode that knows most of
    the input's keys (``ebsSizeGb=-5``: OnlyEBS's, "must be at least 1", not a Lustre
    mode's "unknown key"), as LoadConfig words it.

    Raises:
        CliError: every mode refuses; the message is ``InvalidConfiguration``'s.
    """
    refusals: list[tuple[int, str]] = []
    for mode, model in CONFIG_MODELS.items():
        try:
            build_config(mode, {"jobDefinitionContainerImage": PLACEHOLDER_IMAGE}, overlay)
        except InvalidConfiguration as error:
            refusals.append((len(set(overlay) & set(model.model_fields)), str(error)))
        else:
            return
    refusals.sort(key=lambda refusal: -refusal[0])
    raise CliError(refusals[0][1])


def read_secret(aws: Aws, stack: Stack) -> dict[str, Any]:
    """Return the stack's configuration secret (GetSecretValue), decoded.

    Raises:
        CliError: the secret holds no JSON object.
    """
    text = aws.client("secretsmanager").get_secret_value(SecretId=stack.secret_id)["SecretString"]
    try:
        secret = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"secret {stack.secret_id} is not valid JSON ({error})") from None
    if not isinstance(secret, dict):
        raise CliError(f"secret {stack.secret_id} must hold a JSON object")
    return secret


def load(aws: Aws, stack: Stack, overlay: dict[str, Any]) -> CommonConfig:
    """Return the run's configuration as LoadConfig would build it for ``stack``.

    Args:
        aws: where the stack is.
        stack: the deployed stack (its mode, secret, input keys and image repositories).
        overlay: the execution input (``parse_overrides``).

    Returns:
        The validated configuration model of the stack's mode.

    Raises:
        CliError: LoadConfig would refuse it; the message is ``InvalidConfiguration``'s.
    """
    secret = read_secret(aws, stack)
    try:
        config = build_config(stack.mode, secret, overlay, stack.input_keys)
        source = "execution input" if "jobDefinitionContainerImage" in overlay else "secret"
        allowed = (stack.outputs.get("EcrRepositoryUri", ""), *stack.allowed_image_prefixes)
        check_image(config.jobDefinitionContainerImage, [e for e in allowed if e], source)
        check_history_budget(type(config).POLL_LOOPS, config.model_dump())
    except InvalidConfiguration as error:
        raise CliError(str(error)) from None
    return config
