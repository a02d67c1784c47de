"""A local AWS for rehearsing the workflow: moto in-process, with its gaps worked around.

``LocalAws`` starts moto (Step Functions interpreter on, Batch without Docker), installs
every workaround in the ``patches`` package (one module per service, among them the FSx for
Lustre emulation ``patches.fsx`` and the AutoExport metric ``patches.cloudwatch``: the only
modules that touch moto internals), the botocore hooks in ``hooks`` and the check in
``constraints`` (every request is refused as AWS refuses a value its API does not accept),
records every message SNS accepts (``LocalAws.notifications``), and deploys the
repository's SAM template (``stack``, read with ``tools.cfn``)::

    sim = Simulation(behaviour=Aws.model_validate({"storage": {"readyAfterPolls": 2}}))
    with LocalAws(root, sim) as aws:
        stack = aws.deploy("OnlyEBS")
        aws.client("stepfunctions").start_execution(stateMachineArn=stack.state_machine_arn, ...)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from botocore.config import Config
from moto import mock_aws

from tools.localaws import constraints, hooks, invoke, patches
from tools.localaws.inventory import KINDS, Resource, existing_resources, left_behind
from tools.localaws.simulation import (
    REHEARSAL_CALLER,
    Created,
    Deletion,
    FunctionCode,
    JobOutcome,
    JobRecord,
    Published,
    Refusal,
    Simulation,
    VirtualClock,
    retry_action,
)
from tools.localaws.stack import DeployError, Stack, deploy

PINNED_DIGEST = "5" * 64
"""The digest the local stack's pinned image names (any 64 hex digits: nothing pulls it)."""

__all__ = [
    "KINDS",
    "Created",
    "Deletion",
    "DeployError",
    "FunctionCode",
    "JobOutcome",
    "JobRecord",
    "LocalAws",
    "Notification",
    "Published",
    "Refusal",
    "Resource",
    "Simulation",
    "Stack",
    "VirtualClock",
    "retry_action",
]

REGION = "us-east-1"
_QUIET_LOGGERS = (
    "moto",
    "botocore",
    "boto3",
    "urllib3",
    "samtranslator",
    "aws_xray_sdk",
    "werkzeug",
)


@dataclass(frozen=True)
class Notification:
    """A message SNS accepted (``Publish``, or one entry of ``PublishBatch``): its topic, its
    text, and who published it when."""

    topic_arn: str
    message: str
    subject: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    """The message attributes' string values, by name."""
    execution_arn: str | None = None
    """The execution at work when it was published (``Simulation.execution_at_work``)."""
    at: float = 0.0
    """When SNS accepted it, on the virtual clock (epoch seconds)."""

    @property
    def texts(self) -> list[str]:
        """Everything a reader of the message sees: the message, its subject, its
        attributes' values."""
        return [self.message, self.subject or "", *self.attributes.values()]


def _attribute_values(attributes: Any) -> dict[str, str]:
    """The ``StringValue`` of each SNS message attribute (``MessageAttributeValue``)."""
    if not isinstance(attributes, dict):
        return {}
    return {
        str(name): str(value.get("StringValue"))
        for name, value in attributes.items()
        if isinstance(value, dict) and value.get("StringValue") is not None
    }


class _NotificationRecorder:
    """botocore hooks that record every message SNS accepts, whoever publishes it (a
    handler, a state's ``sns:publish`` integration): moto keeps them too, but only inside
    its backend, which ``patches`` alone may read."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()

    def handlers(self) -> list[tuple[str, Any]]:
        return [
            ("before-parameter-build.sns", self._remember),
            ("after-call.sns.Publish", self._published),
            ("after-call.sns.PublishBatch", self._published_batch),
        ]

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["localaws_sns_params"] = dict(params)

    def _record(self, params: dict[str, Any], entry: dict[str, Any]) -> None:
        if not self.sim.enabled:
            return
        notification = Notification(
            topic_arn=str(params.get("TopicArn") or params.get("TargetArn") or ""),
            message=str(entry.get("Message") or ""),
            subject=entry.get("Subject"),
            attributes=_attribute_values(entry.get("MessageAttributes")),
            execution_arn=self.sim.execution_at_work(),
            at=self.sim.clock.now(),
        )
        with self._lock:
            self.notifications.append(notification)

    def _published(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response is not None and http_response.status_code < 300:
            params = context.get("localaws_sns_params") or {}
            self._record(params, params)

    def _published_batch(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        if http_response is None or http_response.status_code >= 300:
            return
        params = context.get("localaws_sns_params") or {}
        accepted = {item.get("Id") for item in parsed.get("Successful") or []}
        for entry in params.get("PublishBatchRequestEntries") or []:
            if entry.get("Id") in accepted:
                self._record(params, entry)


class LocalAws:
    """moto with the rehearsal's workarounds, for one ``with`` block.

    Args:
        root: the repository (template.yaml, functions/, layers/, statemachine/).
        sim: the scripted behaviour and the records of what happened.
        echo: where handler output is copied (``None``: kept in the emulated log groups).
    """

    def __init__(self, root: Path, sim: Simulation, echo: TextIO | None = None) -> None:
        self.root = Path(root).resolve()
        self.sim = sim
        sim.root = self.root
        self.echo = echo
        self.region = REGION
        self._stack = ExitStack()
        self._clients: dict[str, Any] = {}
        self._patcher: patches.Patcher | None = None
        self._layer_clock = False
        self._notifications = _NotificationRecorder(sim)

    def __enter__(self) -> LocalAws:
        stack = self._stack
        try:
            stack.enter_context(
                _Environment(
                    {
                        "AWS_DEFAULT_REGION": self.region,
                        # moto's default AMI catalogue (and its snapshots) is not needed here
                        # and slows every EC2 call that lists snapshots.
                        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
                    }
                )
            )
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            debug = self.sim.log_level == "DEBUG"
            for name in _QUIET_LOGGERS:
                stack.enter_context(
                    _LoggerLevel(name, logging.DEBUG if debug else logging.CRITICAL)
                )
            stack.enter_context(invoke.output_switchboard(self.echo))
            stack.enter_context(hooks.installed(self.sim))
            stack.enter_context(hooks.registered(self._notifications.handlers()))
            stack.enter_context(constraints.installed(self.sim))
            stack.enter_context(
                mock_aws(
                    config={
                        "stepfunctions": {"execute_state_machine": True},
                        "batch": {"use_docker": False},
                        "core": {"mock_credentials": True, "reset_boto3_session": True},
                    }
                )
            )
            self._patcher = stack.enter_context(patches.activate(self.sim))
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._clients.clear()
        self._stack.close()

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated AWS (no SDK retries: the rehearsal sees each answer)."""
        if service not in self._clients:
            self._clients[service] = boto3.session.Session().client(  # type: ignore[call-overload]
                service,
                region_name=self.region,
                config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
            )
        return self._clients[service]

    def deploy(
        self,
        mode: str,
        stack_name: str | None = None,
        parameters: dict[str, str] | None = None,
        *,
        pin_image: bool = True,
    ) -> Stack:
        """Translate template.yaml for ``mode`` and deploy it; register its handlers.

        With ``pin_image`` (the default) the secret's image is then pinned as
        ``docker/push-image.sh --pin`` pins it after ``sam deploy`` (README, "Push the job image"):
        ``<EcrRepositoryUri>@sha256:<digest>`` (``PINNED_DIGEST``), so a run starts as a
        deployed stack's first run does; without it the secret keeps the template's placeholder,
        which LoadConfig refuses.
        """
        stack = deploy(
            self.client,
            self.root,
            self.root / "template.yaml",
            stack_name or f"batch-scratch-{mode.lower()}",
            mode,
            parameters,
        )
        if pin_image:
            self._pin_image(stack)
        self.sim.functions.update(stack.functions)
        for path in stack.artifacts.layers.values():
            if path not in self.sim.layer_paths:
                self.sim.layer_paths.append(path)
            # Lambda puts layers on the function's import path (/opt/python); so does this.
            if str(path) not in sys.path:
                sys.path.append(str(path))
                self._stack.callback(_remove_from_path, str(path))
        if not self._layer_clock and self._patcher is not None:
            patches.layer_clock.install(self._patcher, self.sim)
            self._layer_clock = True
        return stack

    def _pin_image(self, stack: Stack) -> None:
        image = f"{stack.outputs['EcrRepositoryUri']}@sha256:{PINNED_DIGEST}"
        self.merge_secret(stack, {"jobDefinitionContainerImage": image})

    def merge_secret(self, stack: Stack, values: dict[str, Any]) -> None:
        """Set ``values`` (``{key: value}``) in each configuration secret of ``stack``, keeping
        its other keys. The set-up's own calls: a scenario's throttling or error windows never
        meet them (``REHEARSAL_CALLER``)."""
        secrets = self.client("secretsmanager")
        previous = self.sim.enter_function(REHEARSAL_CALLER)
        try:
            for arn in stack.secret_arns:
                text = secrets.get_secret_value(SecretId=arn).get("SecretString") or "{}"
                merged = {**json.loads(text), **values}
                secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(merged))
        finally:
            self.sim.enter_function(previous)

    @property
    def notifications(self) -> list[Notification]:
        """Every message SNS accepted in this rehearsal so far, in order."""
        return list(self._notifications.notifications)

    def inventory(self) -> list[Resource]:
        """Every per-run resource that exists now (``inventory.existing_resources``), listed
        without throttling or records."""
        enabled, self.sim.enabled = self.sim.enabled, False
        try:
            return existing_resources(self.client)
        finally:
            self.sim.enabled = enabled

    def left_behind(self, execution_arn: str) -> tuple[list[str], list[str]]:
        """Return ``(leaked, retained)`` of one execution (see ``inventory``)."""
        return left_behind(self.inventory(), execution_arn, self.sim.created_by(execution_arn))


class _Environment:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _LoggerLevel:
    def __init__(self, name: str, level: int) -> None:
        self.logger = logging.getLogger(name)
        self.level = level
        self.saved = self.logger.level

    def __enter__(self) -> None:
        self.logger.setLevel(self.level)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.saved)


def _remove_from_path(entry: str) -> None:
    if entry in sys.path:
        sys.path.remove(entry)
