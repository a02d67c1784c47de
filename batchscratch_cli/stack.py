"""A deployed stack as the command sees it: its outputs and parameters (DescribeStacks).

The state machines, the secret, the bucket and the mode come from the stack's outputs
(template.yaml ``Outputs``); the keys an execution input may set and the allowed image
repositories from its parameters (CloudFormation lists each parameter's value, defaults
included; a stack that does not list one gets the template's default, which derives from the
same source: ``batchscratch.config.default_input_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from batchscratch.config import INPUT_KEYS_PARAMETER, default_input_keys
from batchscratch.run import TAG_EXECUTION, TAG_STACK
from batchscratch_cli.output import CliError
from batchscratch_cli.session import Aws

__all__ = ["TAG_EXECUTION", "TAG_STACK", "Stack", "describe_stack"]

ALLOWED_IMAGES_PARAMETER = "AllowedImagePrefixes"

REQUIRED_OUTPUTS = (
    "StorageMode",
    "StateMachineArn",
    "ReleaseStateMachineArn",
    "ConfigSecretArn",
    "DataBucketName",
)
"""Outputs the command needs; a stack without them is not one of this project's."""


@dataclass(frozen=True)
class Stack:
    """A stack of this project.

    ``outputs`` and ``parameters`` map each key to its value as DescribeStacks gives it.
    """

    name: str
    outputs: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)
    status: str = ""

    @property
    def mode(self) -> str:
        """``TaskExport``, ``AutoExport`` or ``OnlyEBS`` (output ``StorageMode``)."""
        return self.outputs["StorageMode"]

    @property
    def state_machine_arn(self) -> str:
        """The run state machine (output ``StateMachineArn``)."""
        return self.outputs["StateMachineArn"]

    @property
    def release_state_machine_arn(self) -> str:
        """The release workflow (output ``ReleaseStateMachineArn``)."""
        return self.outputs["ReleaseStateMachineArn"]

    @property
    def secret_id(self) -> str:
        """The configuration secret's ARN (output ``ConfigSecretArn``)."""
        return self.outputs["ConfigSecretArn"]

    @property
    def bucket(self) -> str:
        """The data bucket (output ``DataBucketName``)."""
        return self.outputs["DataBucketName"]

    @property
    def input_keys(self) -> tuple[str, ...]:
        """The keys an execution input may set (parameter ``ExecutionInputKeys``; ``*``:
        every key; empty: none)."""
        if INPUT_KEYS_PARAMETER not in self.parameters:
            return default_input_keys()
        text = self.parameters[INPUT_KEYS_PARAMETER]
        return tuple(key.strip() for key in text.split(",") if key.strip())

    @property
    def allowed_image_prefixes(self) -> tuple[str, ...]:
        """Repositories besides the stack's own a job image may come from (parameter
        ``AllowedImagePrefixes``), as LoadConfig reads them."""
        text = self.parameters.get(ALLOWED_IMAGES_PARAMETER, "")
        return tuple(entry.strip() for entry in text.split(",") if entry.strip())


def describe_stack(aws: Aws, name: str) -> Stack:
    """Return the stack ``name`` (CloudFormation DescribeStacks).

    Raises:
        CliError: the stack does not exist, or is not one of this project's (an output in
            ``REQUIRED_OUTPUTS`` is missing).
        botocore.exceptions.ClientError: any other refusal (credentials, permissions).
    """
    try:
        described = aws.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            raise CliError(
                f"stack {name!r} does not exist in {aws.region_name or 'the Region'}"
                f"{' at ' + aws.endpoint_url if aws.endpoint_url else ''}"
            ) from None
        raise
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])}
    parameters: dict[str, Any] = {
        p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
        for p in described.get("Parameters", [])
    }
    missing = [key for key in REQUIRED_OUTPUTS if key not in outputs]
    if missing:
        raise CliError(
            f"stack {name!r} has no output {', '.join(missing)}: it is not a batch-scratch "
            "stack, or was deployed from an older template (deploy this version)"
        )
    return Stack(name, outputs, parameters, str(described.get("StackStatus", "")))
