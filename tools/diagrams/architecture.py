"""The architecture picture of a mode: what the stack creates, what each run creates.

Drawn from template.yaml as CloudFormation deploys it with ``Mode=<mode>`` and every other
parameter at its ``Default`` (``tools.cfn.Evaluator``: conditions decided, resources whose
condition is false left out), and from the mode registry (``batchscratch.modes``: the run's
storage kind, whether the association exports by itself). Names are the ones the stack gives,
evaluated with placeholders for what only a deployment knows (``<stack>``, ``<region>``, ...);
per-run names are those ``batchscratch.run.Run.resource_name`` gives, with ``<run id>`` and
``<digest>`` in place of an execution's.

What is drawn: the stack's VPC and NAT gateway (when it creates them), the data bucket, the
ECR repository, the configuration secret, the run and release state machines, their Lambda
functions (one node per state machine, listing them; the others with their EventBridge rules),
the SNS topic and the alarms that publish to it, the jobs' log group; and in a cluster, what a
run creates and deletes: its storage (an FSx for Lustre file system and its data repository
association linked to the bucket, or an EBS volume), its launch template, compute environment,
job queue and job definition, and the instances that mount the storage.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from batchscratch import fsx, repository
from batchscratch.compute import Names
from batchscratch.modes import LUSTRE_FILE_SYSTEM, MODES, Mode
from batchscratch.mounts import EBS_MOUNT_POINT, LUSTRE_MOUNT_POINT
from batchscratch.run import Run
from tools import cfn
from tools.asl import release
from tools.diagrams.dot import cluster, edge, graph_header, label, node

STACK = "<stack>"
RUN_ID = "<run id>"
STACK_KEY = "<stack id[:8]>"
"""What a run state machine's and the release workflow's names end with (the first 8 hex
digits of the stack id)."""
PSEUDO_PARAMETERS = {
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:<region>:<account>:stack/{STACK}/{STACK_KEY}-…",
    "AWS::Region": "<region>",
    "AWS::AccountId": "<account>",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
PER_RUN = "per_run"
PER_RUN_TITLE = "per run (created and deleted by each execution)"
RELEASE_DEFINITION = f"statemachine/{release.FILE}"

_STACK_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef3fb"}
_RUN_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdf1dc"}
_FAILURE = {"style": "dashed", "color": "firebrick", "fontcolor": "firebrick"}
_QUIET = {"style": "dotted"}
_DIGEST = re.compile(r"-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Stack:
    """template.yaml as deployed in one mode: its resources and how to evaluate them."""

    mode: Mode
    evaluator: cfn.Evaluator
    resources: Mapping[str, Any]

    @classmethod
    def of(cls, template: dict[str, Any], mode: Mode) -> "Stack":
        """The deployment of ``template`` (a SAM template, ``tools.cfn.load``) in ``mode``."""
        evaluator = cfn.Evaluator.deploying(template, {"Mode": mode.name}, pseudo=PSEUDO_PARAMETERS)
        return cls(mode, evaluator, evaluator.deployment()["Resources"])

    def of_type(self, kind: str) -> dict[str, Any]:
        """The deployed resources of CloudFormation (or SAM) type ``kind``, by logical id."""
        return {name: body for name, body in self.resources.items() if body["Type"] == kind}

    def value(self, logical_id: str, prop: str) -> str:
        """A property of a resource, evaluated (a name); ``<generated>`` when CloudFormation
        chooses it."""
        found = self.evaluator.value(self.resources[logical_id]["Properties"].get(prop))
        return "<generated>" if found is None or isinstance(found, cfn.Unresolved) else found

    def parameter(self, name: str) -> str:
        """A parameter's value in this deployment (its ``Default``)."""
        value = self.evaluator.parameters[name]
        return ",".join(value) if isinstance(value, list) else str(value)

    def machine(self, definition_uri: str) -> str:
        """The logical id of the state machine deployed from ``definition_uri``."""
        (found,) = [
            name
            for name, body in self.of_type("AWS::Serverless::StateMachine").items()
            if body["Properties"]["DefinitionUri"] == definition_uri
        ]
        return found

    def functions_of(self, machine: str) -> list[str]:
        """The functions a state machine's definition calls (its ``DefinitionSubstitutions``
        of ``Fn::GetAtt <Function>.Arn``), in the template's order."""
        substitutions = self.resources[machine]["Properties"].get("DefinitionSubstitutions", {})
        functions = self.of_type("AWS::Serverless::Function")
        called = []
        for value in substitutions.values():
            target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
            if target in functions:
                called.append(target)
        return called


_RUN = Run(
    executionArn="arn:aws:states:<region>:<account>:execution:<machine>:RUNID",
    runId="RUNID",
    mode="",
    stackName="STACK",
    startedAt="",
)
"""A run whose names hold markers where the placeholders go (a name refuses ``<``)."""


def _shown(name: str) -> str:
    """A name of ``_RUN`` with the placeholders: ``<stack>-<run id>-<kind>-<digest>``."""
    return _DIGEST.sub("-<digest>", name).replace("STACK", STACK).replace("RUNID", RUN_ID)


def per_run_name(kind: str) -> str:
    """The name of a run's ``kind`` resource (``Run.resource_name``), with placeholders."""
    return _shown(_RUN.resource_name(kind))


def run_names() -> Names:
    """The run's compute resource names (``compute.Names``), with placeholders."""
    names = Names.of(_RUN)
    return replace(
        names, **{item.name: _shown(getattr(names, item.name)) for item in fields(names)}
    )


def _stack_nodes(stack: Stack, run_machine: str, release_machine: str) -> Iterator[str]:
    bucket = stack.resources["DataBucket"]
    kept = "kept when the stack is deleted" if bucket.get("DeletionPolicy") == "Retain" else ""
    yield node("DataBucket", {"label": label("DataBucket", "S3 data bucket", kept), **_STACK_STYLE})
    yield node(
        "EcrRepository",
        {
            "label": label(stack.value("EcrRepository", "RepositoryName"), "ECR repository"),
            **_STACK_STYLE,
        },
    )
    yield node(
        "ConfigSecret",
        {
            "label": label(stack.value("ConfigSecret", "Name"), "Secrets Manager secret"),
            **_STACK_STYLE,
        },
    )
    for machine, definition in (
        (run_machine, stack.mode.definition_uri),
        (release_machine, RELEASE_DEFINITION),
    ):
        yield node(
            machine,
            {
                "label": label(
                    stack.value(machine, "Name"), "Step Functions state machine", definition
                ),
                **_STACK_STYLE,
                "style": "rounded,filled,bold",
            },
        )
        functions = stack.functions_of(machine)
        yield node(
            f"{machine}/functions",
            {
                "label": label(f"Lambda functions ({len(functions)})", *functions),
                **_STACK_STYLE,
            },
        )
    yield node(
        "JobLogGroup",
        {
            "label": label(stack.value("JobLogGroup", "LogGroupName"), "CloudWatch Logs group"),
            **_STACK_STYLE,
        },
    )
    yield node("ReleaseTopic", {"label": label("ReleaseTopic", "SNS topic"), **_STACK_STYLE})
    for name in stack.of_type("AWS::SNS::Subscription"):
        protocol = stack.value(name, "Protocol")
        yield node(name, {"label": label(name, f"{protocol} subscription"), **_STACK_STYLE})
    alarms = list(stack.of_type("AWS::CloudWatch::Alarm"))
    yield node("alarms", {"label": label("CloudWatch alarms", *alarms), **_STACK_STYLE})


def _triggered(stack: Stack, called: set[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(function, event name, event)`` of each function no state machine calls."""
    for name, body in stack.of_type("AWS::Serverless::Function").items():
        if name in called:
            continue
        for event, spec in body["Properties"].get("Events", {}).items():
            yield name, event, spec


def _event_label(stack: Stack, event: str, spec: Mapping[str, Any]) -> str:
    properties = spec.get("Properties", {})
    if spec["Type"] == "Schedule":
        return label(
            event, "EventBridge schedule", str(stack.evaluator.value(properties["Schedule"]))
        )
    if spec["Type"] == "EventBridgeRule":
        detail = properties.get("Pattern", {}).get("detail", {})
        statuses = ", ".join(detail.get("status", []))
        return label(event, "EventBridge rule", f"run execution {statuses}".strip())
    return label(event, spec["Type"])


def _per_run_nodes(stack: Stack) -> Iterator[str]:
    names = run_names()
    lustre = stack.mode.storage == LUSTRE_FILE_SYSTEM
    if lustre:
        yield node(
            "storage",
            {
                "label": label(
                    "FSx for Lustre file system",
                    per_run_name("fs"),
                    f"{stack.mode.config_model.model_fields['lustreDeploymentType'].default}, "
                    f"{stack.mode.config_model.model_fields['lustreStorageCapacity'].default} GiB "
                    "by default",
                ),
                **_RUN_STYLE,
            },
        )
        export = (
            "auto-import and auto-export"
            if stack.mode.exports_automatically
            else "auto-import; export task after the job"
        )
        path = repository.run_data_repository_path("<DataBucket>", RUN_ID)
        yield node(
            "association",
            {
                "label": label(
                    "data repository association",
                    f"{fsx.FILE_SYSTEM_PATH} <-> {path}",
                    export,
                ),
                **_RUN_STYLE,
            },
        )
    else:
        yield node(
            "storage",
            {
                "label": label("EBS gp3 volume", per_run_name("data"), "encrypted"),
                **_RUN_STYLE,
            },
        )
    for identifier, title, name in (
        ("launch_template", "launch template", names.launch_template),
        ("compute_environment", "Batch compute environment", names.compute_environment),
        ("job_queue", "Batch job queue", names.job_queue),
        ("job_definition", "Batch job definition", names.job_definition),
    ):
        yield node(identifier, {"label": label(title, name), **_RUN_STYLE})
    purchase = stack.parameter("ComputeEnvironmentType")
    title = "Spot instances" if purchase == "SPOT" else "On-Demand instances"
    yield node(
        "instances",
        {
            "label": label(
                title,
                f"{stack.parameter('AllocationStrategy')}, "
                f"types {stack.parameter('InstanceTypes')}",
                f"mount the storage at {LUSTRE_MOUNT_POINT if lustre else EBS_MOUNT_POINT}",
            ),
            **_RUN_STYLE,
            "shape": "box3d",
            "style": "filled",
        },
    )


def _network(stack: Stack, per_run: list[str]) -> list[str]:
    """The VPC cluster around the per-run resources when the stack creates the VPC; the
    per-run cluster alone otherwise (the instances run in the given private subnets)."""
    if "Vpc" not in stack.resources:
        return per_run
    subnets = [name for name in stack.of_type("AWS::EC2::Subnet") if name.startswith("Private")]
    body = [
        node(
            "NatGateway",
            {"label": label("NatGateway", "NAT gateway (public subnet)"), **_STACK_STYLE},
            2,
        ),
        node(
            "S3GatewayEndpoint",
            {"label": label("S3GatewayEndpoint", "S3 gateway endpoint"), **_STACK_STYLE},
            2,
        ),
        *per_run,
    ]
    cidr = stack.value("Vpc", "CidrBlock")
    condition = stack.resources["Vpc"].get("Condition", "")
    title = label(
        f"Vpc {cidr}",
        f"created by the stack (condition {condition}); runs use {len(subnets)} private subnets",
    )
    return cluster("vpc", title, body, {"style": "rounded", "color": "gray50", "labeljust": "l"})


def architecture_dot(template: dict[str, Any], mode_name: str) -> str:
    """The DOT text of the architecture picture of ``mode_name``.

    Args:
        template: template.yaml parsed (``tools.cfn.load``), SAM resources as written.
        mode_name: a key of ``batchscratch.modes.MODES``.

    Returns:
        The digraph, one statement a line, ending with a newline.

    Raises:
        KeyError: ``mode_name`` is not a mode.
        tools.cfn.EvaluationError: the template cannot be evaluated with its defaults.
    """
    stack = Stack.of(template, MODES[mode_name])
    run_machine = stack.machine(stack.mode.definition_uri)
    release_machine = stack.machine(RELEASE_DEFINITION)
    run_functions = f"{run_machine}/functions"
    release_functions = f"{release_machine}/functions"
    called = set(stack.functions_of(run_machine)) | set(stack.functions_of(release_machine))
    lustre = stack.mode.storage == LUSTRE_FILE_SYSTEM

    lines = graph_header(f"architecture {mode_name}")
    lines.append(
        node(
            "input",
            {
                "label": label("execution input", "StartExecution (batch-scratch start)"),
                "shape": "note",
            },
        )
    )
    lines += _stack_nodes(stack, run_machine, release_machine)
    edges = [
        edge("input", run_machine, {"label": "start a run"}),
        edge(run_machine, run_functions, {"label": "invokes each step"}),
        edge(run_functions, "ConfigSecret", {"label": "LoadConfig reads"}),
        edge(
            run_functions,
            "launch_template",
            {"label": "create, watch, delete", "lhead": f"cluster_{PER_RUN}"},
        ),
        edge(run_machine, "job_queue", {"label": "RunJob: SubmitJob (.sync)"}),
        edge(run_machine, release_machine, {"label": "failure path: StartRelease", **_FAILURE}),
        edge(release_machine, release_functions, {"label": "invokes"}),
        edge(
            release_functions,
            "storage",
            {"label": "release what is left", "lhead": f"cluster_{PER_RUN}", **_FAILURE},
        ),
        edge(release_functions, "ReleaseTopic", {"label": "reports kept resources"}),
        edge("alarms", "ReleaseTopic", {"label": "alarm"}),
    ]
    for name in stack.of_type("AWS::SNS::Subscription"):
        edges.append(edge("ReleaseTopic", name))
    for function, event, spec in _triggered(stack, called):
        lines.append(node(function, {"label": label(function, "Lambda function"), **_STACK_STYLE}))
        event_id = f"{function}/{event}"
        lines.append(node(event_id, {"label": _event_label(stack, event, spec), **_STACK_STYLE}))
        if spec["Type"] == "EventBridgeRule":
            edges.append(edge(run_machine, event_id, {"label": "execution ended", **_QUIET}))
        edges.append(edge(event_id, function, {"label": "triggers"}))
        if spec["Type"] == "EventBridgeRule":
            edges.append(edge(function, release_machine, {"label": "starts a release"}))
            edges.append(edge(function, "ReleaseTopic", {"label": "on failure", **_QUIET}))

    per_run = cluster(
        PER_RUN,
        label(PER_RUN_TITLE, bold=True),
        (line for line in _per_run_nodes(stack)),
        {"style": "rounded,dashed", "color": "darkorange3", "labeljust": "l"},
        2 if "Vpc" in stack.resources else 1,
    )
    lines += _network(stack, per_run)
    edges += [
        edge("job_queue", "compute_environment", {"label": "schedules on"}),
        edge("job_definition", "job_queue", {"label": "the job", **_QUIET}),
        edge("launch_template", "compute_environment", {"label": "instances start from"}),
        edge("compute_environment", "instances", {"label": "launches"}),
        edge("instances", "storage", {"label": "mount"}),
        edge("instances", "EcrRepository", {"label": "pull the job image", **_QUIET}),
        edge("instances", "JobLogGroup", {"label": "job output", **_QUIET}),
    ]
    if lustre:
        edges += [
            edge("storage", "association", {"dir": "none"}),
            edge("association", "DataBucket", {"label": "import / export", "dir": "both"}),
        ]
    else:
        prefix = repository.run_prefix(RUN_ID)
        edges.append(edge("instances", "DataBucket", {"label": f"the job writes {prefix}"}))
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"
