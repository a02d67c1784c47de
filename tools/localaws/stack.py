"""Translate the repository's SAM template offline and deploy it into moto's CloudFormation.

samtranslator wants ``s3://`` code locations and cannot read ``DefinitionUri`` files, so the
local paths are remembered (they tell which handler each function runs), replaced by
placeholder objects in the emulated S3, and each state machine's ASL file is inlined as
``Definition`` -- the same ``DefinitionSubstitutions`` then apply as in AWS. The
translation, the template's ``Rules`` (which moto's CloudFormation ignores) and the conditions
that decide which state machine a mode deploys are read with ``tools.cfn``, as the template
tests read them.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from batchscratch.modes import MODES
from tools import cfn
from tools.localaws.simulation import FunctionCode

CODE_BUCKET = "localaws-code"
RELEASE_STATE_MACHINE = "ReleaseStateMachine"
"""The logical id of the stack's release state machine in template.yaml (one per stack; it
releases one run: its failure path, and runs that could not run it themselves)."""
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
TOPIC = "AWS::SNS::Topic"


class DeployError(RuntimeError):
    """The template could not be translated or deployed."""


@dataclass
class Artifacts:
    """What the SAM template points at in the repository."""

    functions: dict[str, FunctionCode] = field(default_factory=dict)
    """Function logical id -> its handler file."""
    layers: dict[str, Path] = field(default_factory=dict)
    """Layer logical id -> its content directory."""
    state_machines: dict[str, Path] = field(default_factory=dict)
    """State machine logical id -> its ASL file."""
    definition_uris: dict[str, str] = field(default_factory=dict)
    """State machine logical id -> its ``DefinitionUri`` as template.yaml writes it."""


def run_state_machine_id(mode: str, definition_uris: dict[str, str]) -> str | None:
    """The logical id of ``mode``'s run state machine among ``definition_uris`` (logical id ->
    ``DefinitionUri``): the one whose definition is the mode's ASL file
    (``batchscratch.modes.Mode.definition_uri``, which tests/template checks against
    template.yaml); ``None`` when no state machine has it or ``mode`` is not a mode."""
    known = MODES.get(mode)
    if known is None:
        return None
    return next(
        (logical for logical, uri in definition_uris.items() if uri == known.definition_uri),
        None,
    )


@dataclass
class Stack:
    """A deployed stack: its resources by logical id and what the rehearsal needs."""

    name: str
    mode: str
    resources: dict[str, tuple[str, str]]
    """Logical id -> (resource type, physical id)."""
    outputs: dict[str, str]
    artifacts: Artifacts
    functions: dict[str, FunctionCode]
    """Deployed function name -> its handler file."""

    def physical_ids(self, resource_type: str) -> dict[str, str]:
        return {
            logical: physical
            for logical, (kind, physical) in self.resources.items()
            if kind == resource_type
        }

    @property
    def state_machine_arns(self) -> dict[str, str]:
        """Every state machine the stack deploys: logical id -> ARN."""
        return self.physical_ids(STATE_MACHINE)

    @property
    def state_machine_arn(self) -> str:
        """The ARN of the mode's run state machine (the one a user starts per batch run),
        whatever other state machines the stack deploys beside it.

        Raises:
            DeployError: the stack deploys no state machine with the mode's definition.
        """
        machines = self.state_machine_arns
        logical = run_state_machine_id(self.mode, self.artifacts.definition_uris)
        if logical is None or logical not in machines:
            wanted = MODES[self.mode].definition_uri if self.mode in MODES else "none"
            raise DeployError(
                f"mode {self.mode} deploys no state machine defined by {wanted} "
                f"(state machines: {', '.join(machines) or 'none'})"
            )
        return machines[logical]

    @property
    def release_state_machine_arn(self) -> str | None:
        """The ARN of the stack's release state machine (``RELEASE_STATE_MACHINE``); ``None``
        when the stack deploys none."""
        return self.state_machine_arns.get(RELEASE_STATE_MACHINE)

    @property
    def topic_arns(self) -> list[str]:
        """The ARNs of the SNS topics the stack deploys (``Ref`` of an ``AWS::SNS::Topic``
        is its ARN: CloudFormation User Guide, AWS::SNS::Topic, Return values)."""
        return list(self.physical_ids(TOPIC).values())

    @property
    def secret_arns(self) -> list[str]:
        return list(self.physical_ids("AWS::SecretsManager::Secret").values())


def _load_structured(path: Path) -> Any:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def prepare_template(root: Path, template_path: Path) -> tuple[dict[str, Any], Artifacts]:
    """Read the SAM template and rewrite its local paths; return it and what they were."""
    template = cfn.load(template_path)
    artifacts = Artifacts()
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        kind = resource.get("Type")
        properties = resource.setdefault("Properties", {})
        if kind == "AWS::Serverless::Function":
            code_uri = properties.get("CodeUri", globals_function.get("CodeUri"))
            if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
                continue
            handler = properties.get(
                "Handler", globals_function.get("Handler", "app.lambda_handler")
            )
            module = str(handler).rsplit(".", 1)[0].replace(".", "/") + ".py"
            artifacts.functions[logical_id] = FunctionCode(
                logical_id, (root / code_uri / module).resolve(), str(handler)
            )
            properties["CodeUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::LayerVersion":
            content_uri = properties.get("ContentUri")
            if isinstance(content_uri, str) and not content_uri.startswith("s3://"):
                artifacts.layers[logical_id] = (root / content_uri).resolve()
                properties["ContentUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
        elif kind == "AWS::Serverless::StateMachine":
            definition_uri = properties.get("DefinitionUri")
            if isinstance(definition_uri, str) and not definition_uri.startswith("s3://"):
                path = (root / definition_uri).resolve()
                if not path.is_file():
                    raise DeployError(
                        f"{logical_id}: DefinitionUri {definition_uri} does not exist"
                    )
                artifacts.state_machines[logical_id] = path
                artifacts.definition_uris[logical_id] = definition_uri
                properties.pop("DefinitionUri")
                properties["Definition"] = _load_structured(path)
    return template, artifacts


def _evaluator(template: dict[str, Any], values: dict[str, str]) -> cfn.Evaluator:
    """The template's evaluator for ``values`` (names the template does not declare are
    ignored here: CloudFormation's CreateStack judges them)."""
    known = template.get("Parameters") or {}
    return cfn.Evaluator.deploying(template, {k: v for k, v in values.items() if k in known})


@contextmanager
def _evaluating(part: str) -> Iterator[None]:
    """Report a template the offline evaluator cannot read as a ``DeployError``."""
    try:
        yield
    except cfn.EvaluationError as error:
        raise DeployError(f"the template's {part} cannot be evaluated: {error}") from None


def check_rules(template: dict[str, Any], values: dict[str, str]) -> None:
    """Check the template's ``Rules`` as CloudFormation does before creating anything
    (moto's CloudFormation ignores them).

    Raises:
        DeployError: an assertion of an applicable rule is false (its AssertDescription).
    """
    with _evaluating("rules"):
        failures = _evaluator(template, values).rule_failures()
    if failures:
        raise DeployError(f"template rule {failures[0].rule} failed: {failures[0].description}")


def translate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Run the SAM transform offline."""
    try:
        return cfn.translate(template, parameters)
    except Exception as error:  # samtranslator raises its own exception tree
        raise DeployError(f"SAM translation failed: {error}") from error


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs from the repository in the rehearsal\n")
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def _translated(
    root: Path, template_path: Path, mtime_ns: int, parameters: tuple[tuple[str, str], ...]
) -> tuple[str, Artifacts, dict[str, str]]:
    """The CloudFormation template (JSON text) SAM makes of ``template_path`` for
    ``parameters``, its local artifacts and the parameter values CloudFormation gets; cached
    per file version, since a run of many scenarios deploys the same few translations.

    Raises:
        DeployError: a rule of the template fails, or the SAM translation fails.
    """
    template, artifacts = prepare_template(root, template_path)
    declared = template.get("Parameters") or {}
    # moto's CloudFormation makes a list of a CommaDelimitedList (or List<...>) parameter's
    # value only when CreateStack passes it, not of its Default (ResourceMap.load_parameters):
    # pass those defaults, so that Fn::Join and Fn::Split see a list as in CloudFormation.
    values = {
        name: str(spec["Default"])
        for name, spec in declared.items()
        if str(spec.get("Type", "")).startswith(("CommaDelimitedList", "List<"))
        and "Default" in spec
    }
    values.update(parameters)
    known = set(declared.keys())
    if "Mode" not in known:
        values.pop("Mode")
    check_rules(template, values)
    return json.dumps(translate(template, values)), artifacts, values


def deploy(
    clients: Any,
    root: Path,
    template_path: Path,
    stack_name: str,
    mode: str,
    parameters: dict[str, str] | None = None,
) -> Stack:
    """Translate ``template_path`` for ``mode`` and create the stack ``stack_name``.

    ``clients``: a callable returning a boto3 client for a service name.
    """
    values = {"Mode": mode, **(parameters or {})}
    cfn_text, artifacts, translated_values = _translated(
        root, template_path, template_path.stat().st_mtime_ns, tuple(sorted(values.items()))
    )
    values = dict(translated_values)

    s3 = clients("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    body = _placeholder_zip()
    for logical_id in [*artifacts.functions, *artifacts.layers]:
        s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical_id}.zip", Body=body)

    cloudformation = clients("cloudformation")
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=cfn_text,
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except ResponseParserError as error:
        # moto answers CloudFormation errors in JSON, which the XML parser cannot read.
        raise DeployError(f"CloudFormation refused the template: {_error_text(error)}") from None
    except ClientError as error:
        raise DeployError(f"CloudFormation refused the template: {error}") from None
    description = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if description["StackStatus"] != "CREATE_COMPLETE":
        raise DeployError(
            f"stack {stack_name} ended {description['StackStatus']}: "
            f"{description.get('StackStatusReason', '')}"
        )
    resources: dict[str, tuple[str, str]] = {}
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            resources[summary["LogicalResourceId"]] = (
                summary["ResourceType"],
                summary.get("PhysicalResourceId", ""),
            )
    functions = {
        resources[logical][1]: code
        for logical, code in artifacts.functions.items()
        if logical in resources
    }
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in description.get("Outputs", [])}
    return Stack(stack_name, mode, resources, outputs, artifacts, functions)


def _error_text(error: ResponseParserError) -> str:
    text = str(error)
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start : text.rfind("}") + 1])
            return str(body.get("message") or body.get("Message") or body)
        except ValueError:
            pass
    return text


def state_machine_files(root: Path, template_path: Path, mode: str) -> dict[str, Path]:
    """The ASL file of each state machine the template deploys for ``mode`` (logical id ->
    file), read without deploying: the resources' ``Condition`` decides, as in CloudFormation.
    """
    template, artifacts = prepare_template(root, template_path)
    resources = template.get("Resources") or {}
    with _evaluating("conditions"):
        evaluator = _evaluator(template, {"Mode": mode})
        return {
            logical_id: path
            for logical_id, path in artifacts.state_machines.items()
            if evaluator.applies(resources[logical_id])
        }


def run_state_machine_file(root: Path, template_path: Path, mode: str) -> Path:
    """The ASL file of ``mode``'s run state machine (``run_state_machine_id``), read without
    deploying.

    Raises:
        DeployError: the template deploys no state machine with the mode's definition for
            ``mode``, or cannot be evaluated.
    """
    template, artifacts = prepare_template(root, template_path)
    resources = template.get("Resources") or {}
    logical = run_state_machine_id(mode, artifacts.definition_uris)
    with _evaluating("conditions"):
        deployed = logical is not None and _evaluator(template, {"Mode": mode}).applies(
            resources[logical]
        )
    if logical is None or not deployed:
        raise DeployError(
            f"mode {mode} deploys no state machine defined by its ASL file "
            f"({', '.join(artifacts.definition_uris.values()) or 'no DefinitionUri'} in "
            f"{template_path.name})"
        )
    return artifacts.state_machines[logical]


def function_ids(root: Path, template_path: Path, mode: str) -> set[str]:
    """The logical ids of the Lambda functions the template deploys for ``mode``, read
    without deploying (the resources' ``Condition`` decides, as in CloudFormation)."""
    template, artifacts = prepare_template(root, template_path)
    resources = template.get("Resources") or {}
    with _evaluating("conditions"):
        evaluator = _evaluator(template, {"Mode": mode})
        return {
            logical_id
            for logical_id in artifacts.functions
            if evaluator.applies(resources[logical_id])
        }
