"""The workflow picture of a state machine, drawn from its ASL definition.

Every state is one node, labelled with its name and, smaller, its type (and a Task's service
integration, e.g. ``lambda:invoke``). The type also sets the shape: Task a rounded box, Choice
a diamond, Wait a dashed box, Pass a plain box, Succeed and Fail filled (green, red). A Parallel
or Map state is a cluster: its node at the top, each branch (a Map's item processor) in a box
of its own, and a bar at the bottom where the branches join, from which the state's own
transitions leave. Edges: ``Next`` (heavy, so the main path stays straight), each
``Choices[].Next`` labelled with its rule in short, ``Default`` ("otherwise"), and each
``Catch`` (dashed, red, labelled with its error names, shortened). A dot marks the start; a
double circle the end, where every top-level ``End``, Succeed and Fail leads.

Follows the Amazon States Language specification (states-language.net): state types, ``Next``
and ``End``, Choice Rules (comparison operators, ``And``/``Or``/``Not``), ``Catch``, Parallel
``Branches``, Map ``ItemProcessor`` (``Iterator`` before it). State names are unique in a
state machine, so a name is a node's identity.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from tools.diagrams.dot import cluster, edge, graph_header, label, node

STATE_PREFIX = "state/"
"""Node IDs of states are ``state/<name>``; other nodes (markers, joins) use other prefixes."""
START = "marker/start"
END = "marker/end"
_JOIN = "join/"

_SHAPES: Mapping[str, Mapping[str, str]] = {
    "Task": {"shape": "box", "style": "rounded"},
    "Choice": {"shape": "diamond", "margin": "0.02,0.02"},
    "Wait": {"shape": "box", "style": "rounded,dashed"},
    "Pass": {"shape": "box", "color": "gray50"},
    "Succeed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d8f0d8"},
    "Fail": {"shape": "box", "style": "filled", "fillcolor": "#f6d6d6"},
    "Parallel": {"shape": "box", "style": "rounded,bold"},
    "Map": {"shape": "box", "style": "rounded,bold"},
}
_NEXT = {"weight": "8"}
_CATCH = {"style": "dashed", "color": "firebrick", "fontcolor": "firebrick", "weight": "0"}
_TO_END = {"color": "gray60"}

_INTEGRATION_PREFIX = "arn:aws:states:::"
_CATCH_LABEL_LIMIT = 44
_OPERATORS = {
    "Equals": "=",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "~",
}
_KINDS = ("String", "Numeric", "Boolean", "Timestamp")


def state_id(name: str) -> str:
    """The node ID of state ``name``."""
    return STATE_PREFIX + name


def branches_of(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The sub-state-machines of a Parallel (``Branches``) or Map state (``ItemProcessor``,
    or ``Iterator`` before it); none for any other state."""
    if state["Type"] == "Parallel":
        return list(state["Branches"])
    if state["Type"] == "Map":
        return [state.get("ItemProcessor") or state["Iterator"]]
    return []


def _details(state: Mapping[str, Any]) -> str:
    kind = str(state["Type"])
    resource = state.get("Resource")
    if kind != "Task" or not isinstance(resource, str):
        return kind
    if resource.startswith(_INTEGRATION_PREFIX):
        return f"Task · {resource.removeprefix(_INTEGRATION_PREFIX)}"
    return "Task · Lambda"  # a function ARN (or its SAM substitution) as the resource


def _variable(rule: Mapping[str, Any]) -> str:
    path = str(rule.get("Variable", "$"))
    return path.rsplit(".", 1)[-1] if "." in path else path


def rule_text(rule: Mapping[str, Any]) -> str:
    """A Choice Rule in short: ``ready``, ``not done``, ``error present``, ``arraySize > 1``;
    ``and(...)``, ``or(...)``, ``not ...`` for the Boolean operators."""
    for combinator in ("And", "Or"):
        if combinator in rule:
            inner = ", ".join(rule_text(item) for item in rule[combinator])
            return f"{combinator.lower()}({inner})"
    if "Not" in rule:
        return f"not {rule_text(rule['Not'])}"
    variable = _variable(rule)
    if "IsPresent" in rule:
        return f"{variable} present" if rule["IsPresent"] else f"{variable} absent"
    if "BooleanEquals" in rule:
        return variable if rule["BooleanEquals"] else f"not {variable}"
    for key, value in rule.items():
        if key.startswith("Is"):  # IsNull, IsString, ...: a type test
            return f"{variable} {key[2:].lower()}" if value else f"{variable} not {key[2:]}"
        for kind in _KINDS:
            operator = key.removeprefix(kind).removesuffix("Path")
            if key.startswith(kind) and operator in _OPERATORS:
                shown = _variable({"Variable": value}) if key.endswith("Path") else value
                return f"{variable} {_OPERATORS[operator]} {shown}"
    return "rule"


def errors_text(errors: list[str]) -> str:
    """A Catch's ``ErrorEquals`` in short: ``Exception`` suffixes dropped, names of one
    namespace grouped (``Batch.{TooManyRequests, Server}``), cut to a readable length."""
    names = [error.removesuffix("Exception") or error for error in errors]
    spaces = {name.split(".", 1)[0] for name in names}
    if len(names) > 1 and len(spaces) == 1 and all("." in name for name in names):
        (space,) = spaces
        text = space + ".{" + ", ".join(name.split(".", 1)[1] for name in names) + "}"
    else:
        text = ", ".join(names)
    if len(text) > _CATCH_LABEL_LIMIT:
        text = text[: _CATCH_LABEL_LIMIT - 1] + "…"
    return text


def _exit_of(name: str, state: Mapping[str, Any]) -> str:
    """Where a state's own transitions leave: its node, or its join bar (Parallel, Map)."""
    return _JOIN + name if branches_of(state) else state_id(name)


class _Drawing:
    """Nodes in clusters as the ASL nests them; every edge at the top level (an edge inside a
    cluster would pull its ends into that cluster)."""

    def __init__(self) -> None:
        self.edges: list[str] = []

    def states(self, states: Mapping[str, Any], end: str | None, indent: int) -> Iterator[str]:
        """The node lines of ``states``; record their edges. ``end``: where an ``End`` or a
        Succeed leads (None: nowhere drawn)."""
        for name, state in states.items():
            kind = state["Type"]
            values = {"label": label(name, _details(state)), **_SHAPES.get(kind, {})}
            inner = branches_of(state)
            if inner:
                yield from self._container(name, state, inner, values, indent)
            else:
                yield node(state_id(name), values, indent)
            self._transitions(name, state, end)

    def _container(
        self,
        name: str,
        state: Mapping[str, Any],
        inner: list[Mapping[str, Any]],
        values: Mapping[str, str],
        indent: int,
    ) -> Iterator[str]:
        body = [node(state_id(name), values, indent + 1)]
        join = _JOIN + name
        for number, branch in enumerate(inner, start=1):
            self.edges.append(edge(state_id(name), state_id(branch["StartAt"])))
            title = label(f"branch {number}") if state["Type"] == "Parallel" else label("items")
            body += cluster(
                f"{name}/{number}",
                title,
                self.states(branch["States"], join, indent + 2),
                {"style": "dotted", "color": "gray50", "fontcolor": "gray40", "labeljust": "l"},
                indent + 1,
            )
        body.append(
            node(
                join,
                {
                    "shape": "box",
                    "label": "",
                    "height": "0.04",
                    "width": "1.2",
                    "style": "filled",
                    "fillcolor": "gray30",
                    "color": "gray30",
                },
                indent + 1,
            )
        )
        yield from cluster(
            name,
            '""',  # the state's node at the top names it
            body,
            {"style": "rounded", "color": "gray40", "labeljust": "l"},
            indent,
        )

    def _transitions(self, name: str, state: Mapping[str, Any], end: str | None) -> None:
        tail = _exit_of(name, state)
        kind = state["Type"]
        if "Next" in state:
            self.edges.append(edge(tail, state_id(state["Next"]), _NEXT))
        if kind == "Choice":
            for rule in state.get("Choices", []):
                self.edges.append(edge(tail, state_id(rule["Next"]), {"label": rule_text(rule)}))
            if "Default" in state:
                self.edges.append(edge(tail, state_id(state["Default"]), {"label": "otherwise"}))
        for catcher in state.get("Catch", []):
            values = {"label": errors_text(list(catcher["ErrorEquals"])), **_CATCH}
            self.edges.append(edge(tail, state_id(catcher["Next"]), values))
        if end is None:
            return
        if state.get("End") or kind == "Succeed":
            self.edges.append(edge(tail, end, _NEXT))
        elif kind == "Fail" and end == END:  # a branch's Fail fails its Parallel: no edge
            self.edges.append(edge(tail, end, _TO_END))


def workflow_dot(definition: Mapping[str, Any], name: str) -> str:
    """The DOT text of the workflow picture of ``definition`` (a parsed ASL document).

    Args:
        definition: the state machine (``StartAt``, ``States``), as in statemachine/*.asl.json.
        name: the graph's name (the file's stem).

    Returns:
        The digraph, one statement a line, ending with a newline.
    """
    drawing = _Drawing()
    lines = graph_header(name)
    marker = {"label": "", "fixedsize": "true", "style": "filled", "fillcolor": "black"}
    lines.append(node(START, {"shape": "circle", "width": "0.2", **marker}))
    lines += drawing.states(definition["States"], END, 1)
    lines.append(node(END, {"shape": "doublecircle", "width": "0.16", **marker}))
    lines.append(edge(START, state_id(definition["StartAt"]), _NEXT))
    lines += drawing.edges
    lines.append("}")
    return "\n".join(lines) + "\n"
