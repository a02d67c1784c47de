"""Offline CloudFormation: read a SAM template, translate it, and evaluate its intrinsic
functions for one set of parameter values, as CloudFormation would when it deploys it.

Used by the template tests (tests/template) and by the local rehearsal (tools.localaws.stack),
so both read template.yaml the same way. No AWS account is involved.

- ``load`` parses a template (short-form intrinsics such as ``!Ref`` become their long form);
  ``translate`` runs the SAM transform offline (samtranslator, the library ``sam deploy``
  uses).
- ``parameter_values`` gives each parameter the value CloudFormation gives it: the override
  or the ``Default``, as a string, or a list of strings for a list type.
- ``Evaluator`` evaluates, for those values: ``Conditions`` (``condition``, ``conditions``),
  ``Rules`` (``rule_failures``), and the intrinsic functions of any part of the template, in
  two depths:

  - ``render`` decides what the parameter values decide and leaves the rest for a reader:
    ``Fn::If`` (its chosen branch), ``Ref AWS::NoValue`` (the property or list item is
    dropped), ``Fn::FindInMap``, and the variables of a ``Fn::Sub`` whose value is then a
    string. ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ... stay as written.
    ``deployment`` renders the ``Resources`` and ``Outputs`` whose condition holds.
  - ``value`` resolves everything that can be known before CloudFormation creates anything:
    ``Ref`` (parameters, pseudo parameters, and what ``resource_ref`` says of a resource),
    ``Fn::Sub``, ``Fn::Join``, ``Fn::Split``, ``Fn::Select``, besides the above. What only
    CloudFormation knows (``Fn::GetAtt``, the id of a resource) is an ``Unresolved``.

The functions' behaviour follows the CloudFormation User Guide, "Intrinsic function
reference" and "Rules" (the rule-specific functions ``Fn::Contains``,
``Fn::EachMemberEquals``, ``Fn::EachMemberIn``). A function the evaluator does not evaluate
where it must (in a condition or a rule) raises ``EvaluationError``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

SUB_VARIABLE: Final = re.compile(r"\$\{([^!}][^}]*)\}")
"""A ``${Name}`` of a ``Fn::Sub`` string (``${!Literal}`` is not a variable)."""


class EvaluationError(ValueError):
    """The template cannot be evaluated for these values: CloudFormation would refuse it, or it
    uses a function this evaluator does not evaluate where a value is needed."""


class _NoValue:
    """``Ref AWS::NoValue``: the property or list item that holds it is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()


@dataclass(frozen=True)
class Unresolved:
    """A value only CloudFormation knows (an ARN, an id it assigns)."""

    reason: str

    def __str__(self) -> str:
        return f"<{self.reason}>"


@dataclass(frozen=True)
class RuleFailure:
    """An assertion of a template rule that the parameter values break."""

    rule: str
    description: str
    """The assertion's ``AssertDescription`` on one line ("" when it has none)."""


# --------------------------------------------------------------------------- reading


def load(path: Path) -> dict[str, Any]:
    """Parse a template file (YAML or JSON; short-form intrinsics become their long form)."""
    template: dict[str, Any] = yaml_parse(Path(path).read_text())
    return template


class _NoManagedPolicies:
    """samtranslator asks IAM for AWS managed policy ARNs only when its bundled list lacks a
    name; offline there is nobody to ask."""

    def load(self) -> dict[str, str]:
        return {}


def translate(
    sam_template: dict[str, Any], parameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run the SAM transform offline: the SAM template as plain CloudFormation.

    Code locations must be ``s3://`` URIs and state machine definitions inline (samtranslator
    reads no local file); the SAM translator needs a Region (``AWS_DEFAULT_REGION``).
    """
    translated: dict[str, Any] = transform(
        sam_template, dict(parameters or {}), _NoManagedPolicies()
    )
    return translated


def translate_local(sam_template: dict[str, Any], root: Path) -> dict[str, Any]:
    """Translate a SAM template whose code and state machines are local files under ``root``.

    ``CodeUri`` / ``ContentUri`` become ``s3://placeholder/<folder>.zip`` (named after the
    local folder), and each state machine's ``DefinitionUri`` file is inlined as
    ``Definition`` (so a missing or malformed ASL file fails here). ``sam_template`` is not
    changed. Needs a Region (``AWS_DEFAULT_REGION``), as ``translate`` does.
    """
    template = copy.deepcopy(sam_template)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            folder = properties["CodeUri"].strip("/").replace("/", "-")
            properties["CodeUri"] = f"s3://placeholder/{folder}.zip"
        elif kind == "AWS::Serverless::LayerVersion" and isinstance(
            properties.get("ContentUri"), str
        ):
            folder = properties["ContentUri"].strip("/").replace("/", "-")
            properties["ContentUri"] = f"s3://placeholder/{folder}.zip"
        elif kind == "AWS::Serverless::StateMachine" and isinstance(
            properties.get("DefinitionUri"), str
        ):
            path = Path(root) / properties.pop("DefinitionUri")
            properties["Definition"] = json.loads(path.read_text())
    return translate(template)


# --------------------------------------------------------------------------- parameters

_LIST_TYPES = ("CommaDelimitedList", "List<")


def _text(value: Any) -> Any:
    """A scalar as CloudFormation sees it: a string (``true``, ``30``); lists stay lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def parameter_values(template: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value for a deployment with ``overrides``, as ``Ref`` gives it.

    The override, else the ``Default``, as a string; for ``CommaDelimitedList`` and
    ``List<...>`` parameters the list of its comma-separated members, each space-trimmed
    (CloudFormation User Guide, "Parameters", ``Type``).

    Raises:
        KeyError: an override names no parameter of the template.
        EvaluationError: a parameter has neither an override nor a ``Default``.
    """
    specs = template.get("Parameters") or {}
    unknown = set(overrides) - set(specs)
    if unknown:
        raise KeyError(f"not template parameters: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise EvaluationError(f"parameter {name} has no Default and no value was given")
        text = str(_text(raw))
        kind = str(spec.get("Type", "String"))
        values[name] = (
            [item.strip() for item in text.split(",")] if kind.startswith(_LIST_TYPES) else text
        )
    return values


# --------------------------------------------------------------------------- the evaluator


ResourceRef = Callable[[str, dict[str, Any]], Any]
"""``(logical id, resource) -> what Ref gives``: a value, a template node to evaluate (a
property of the resource), or an ``Unresolved``."""


class Evaluator:
    """Evaluate one deployment of ``template``: its parameter values are ``parameters``.

    Args:
        template: a CloudFormation template (``Parameters``, ``Conditions``, ``Mappings``,
            ``Rules``, ``Resources``, ``Outputs``; any may be missing). A rendered template
            (``deployment()``) works too: its ``Conditions`` are already true or false.
        parameters: the value of each parameter (``parameter_values``).
        pseudo: the pseudo parameters' values (``AWS::Region``, ``AWS::StackName``, ...);
            ``Ref`` to another is an ``Unresolved``.
        resource_ref: what ``Ref`` to a resource gives (default: an ``Unresolved``).
    """

    def __init__(
        self,
        template: dict[str, Any],
        parameters: Mapping[str, Any],
        *,
        pseudo: Mapping[str, Any] | None = None,
        resource_ref: ResourceRef | None = None,
    ) -> None:
        self.template = template
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo or {})
        self.resource_ref = resource_ref
        self._conditions: dict[str, bool] = {}
        self._deciding: set[str] = set()

    @classmethod
    def deploying(
        cls,
        template: dict[str, Any],
        overrides: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Evaluator:
        """The evaluator of ``template`` deployed with ``overrides`` (``parameter_values``)."""
        return cls(template, parameter_values(template, overrides or {}), **options)

    # -- conditions and rules --------------------------------------------------------------

    def condition(self, name: str) -> bool:
        """Whether the template's condition ``name`` holds."""
        if name not in self._conditions:
            specs = self.template.get("Conditions") or {}
            if name not in specs:
                raise EvaluationError(f"the template has no condition {name}")
            if name in self._deciding:
                raise EvaluationError(f"condition {name} depends on itself")
            self._deciding.add(name)
            try:
                self._conditions[name] = self.holds(specs[name])
            finally:
                self._deciding.discard(name)
        return self._conditions[name]

    @property
    def conditions(self) -> dict[str, bool]:
        """Every condition of the template and whether it holds."""
        return {name: self.condition(name) for name in self.template.get("Conditions") or {}}

    def holds(self, node: Any) -> bool:
        """Evaluate a condition function (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``,
        ``Condition``) or a rule function (``Fn::Contains``, ``Fn::EachMemberEquals``,
        ``Fn::EachMemberIn``). ``true`` and ``false`` stand for themselves."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise EvaluationError(f"not a condition: {json.dumps(node)[:80]}")
        ((function, args),) = node.items()
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Not":
            return not self.holds(args[0])
        if function == "Fn::And":
            return all(self.holds(arg) for arg in args)
        if function == "Fn::Or":
            return any(self.holds(arg) for arg in args)
        if function == "Fn::Equals":
            left, right = self._operands(function, args)
            return bool(left == right)
        if function == "Fn::Contains":
            items, wanted = self._operands(function, args)
            return wanted in items
        if function == "Fn::EachMemberEquals":
            items, wanted = self._operands(function, args)
            return all(item == wanted for item in items)
        if function == "Fn::EachMemberIn":
            items, allowed = self._operands(function, args)
            return all(item in allowed for item in items)
        raise EvaluationError(f"{function} is not a condition or rule function evaluated here")

    def _operands(self, function: str, args: list[Any]) -> list[Any]:
        values = [_text(self.value(arg)) for arg in args]
        for value in values:
            if isinstance(value, Unresolved):
                raise EvaluationError(f"{function} compares a value only CloudFormation knows")
        return [[_text(item) for item in v] if isinstance(v, list) else v for v in values]

    def rule_failures(self) -> list[RuleFailure]:
        """Every assertion of an applicable rule (``RuleCondition`` holds, or there is none)
        that these parameter values break, in the template's order."""
        failures = []
        for name, rule in (self.template.get("Rules") or {}).items():
            if "RuleCondition" in rule and not self.holds(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions") or []:
                if not self.holds(assertion["Assert"]):
                    description = " ".join(str(assertion.get("AssertDescription", "")).split())
                    failures.append(RuleFailure(name, description))
        return failures

    # -- values ----------------------------------------------------------------------------

    def render(self, node: Any) -> Any:
        """``node`` with what the parameter values decide resolved, the rest as written."""
        return self._walk(node, full=False)

    def value(self, node: Any) -> Any:
        """``node`` resolved as far as it can be before CloudFormation creates anything."""
        return self._walk(node, full=True)

    def deployment(self) -> dict[str, Any]:
        """The template as deployed: ``Parameters`` (the values), ``Conditions`` (whether each
        holds), and the ``Resources`` and ``Outputs`` whose condition holds, rendered."""

        def kept(section: str) -> dict[str, Any]:
            return {
                name: self.render(body)
                for name, body in (self.template.get(section) or {}).items()
                if self.applies(body)
            }

        return {
            "Parameters": dict(self.parameters),
            "Conditions": self.conditions,
            "Resources": kept("Resources"),
            "Outputs": kept("Outputs"),
        }

    def applies(self, body: dict[str, Any]) -> bool:
        """Whether a resource or output is deployed (it has no ``Condition``, or it holds)."""
        return "Condition" not in body or self.condition(body["Condition"])

    def ref(self, name: str) -> Any:
        """What ``Ref name`` gives."""
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            return self.pseudo.get(name, Unresolved(f"Ref {name}"))
        resource = (self.template.get("Resources") or {}).get(name)
        if resource is None or not self.applies(resource):
            return Unresolved(f"Ref {name}")
        if self.resource_ref is None:
            return Unresolved(f"Ref {name} ({resource.get('Type')})")
        return self.value(self.resource_ref(name, resource))

    def sub(self, text: str, variables: Mapping[str, Any] | None = None) -> Any:
        """``Fn::Sub``: ``text`` with each ``${Name}`` replaced (by a variable, a parameter, a
        pseudo parameter or a resource's ``Ref``) and ``${!Literal}`` written ``${Literal}``;
        an ``Unresolved`` naming what only CloudFormation knows, if anything."""
        values = {key: self.value(item) for key, item in (variables or {}).items()}
        unresolved: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                found = values[name]
            elif "." in name:
                found = Unresolved(f"GetAtt {name}")
            else:
                found = self.ref(name)
            if isinstance(found, Unresolved):
                unresolved.append(str(found))
                return match.group(0)
            return str(found)

        result = SUB_VARIABLE.sub(replace, text)
        if unresolved:
            return Unresolved(f"Fn::Sub of {', '.join(unresolved)}")
        return result.replace("${!", "${")

    def _walk(self, node: Any, full: bool) -> Any:
        if isinstance(node, list):
            items = (self._walk(item, full) for item in node)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((function, args),) = node.items()
            if function == "Ref" and args == "AWS::NoValue":
                return NO_VALUE
            if function == "Fn::If":
                name, when_true, when_false = args
                return self._walk(when_true if self.condition(name) else when_false, full)
            if function == "Fn::FindInMap":
                return self._find_in_map(args)
            if function == "Fn::Sub" and full:
                text, variables = (args, {}) if isinstance(args, str) else args
                return self.sub(text, variables)
            if function == "Fn::Sub" and isinstance(args, list):
                return self._render_sub(*args)
            if full and (function == "Ref" or function.startswith("Fn::")):
                return self._function(function, args)
        walked = {key: self._walk(value, full) for key, value in node.items()}
        return {key: value for key, value in walked.items() if value is not NO_VALUE}

    def _function(self, function: str, args: Any) -> Any:
        if function == "Ref":
            return self.ref(args)
        if function == "Fn::Join":
            separator, items = args
            parts = self.value(items)
            if isinstance(parts, Unresolved) or any(isinstance(p, Unresolved) for p in parts):
                return Unresolved("Fn::Join of values only CloudFormation knows")
            return str(separator).join(str(part) for part in parts)
        if function == "Fn::Split":
            separator, text = args
            whole = self.value(text)
            return whole if isinstance(whole, Unresolved) else str(whole).split(separator)
        if function == "Fn::Select":
            index, items = (self.value(arg) for arg in args)
            if isinstance(items, Unresolved):
                return items
            return items[int(index)]
        return Unresolved(f"{function} {json.dumps(args)[:60]}")

    def _find_in_map(self, args: list[Any]) -> Any:
        keys = [self.value(arg) for arg in args]
        if len(keys) != 3 or any(not isinstance(key, str) for key in keys):
            raise EvaluationError(f"Fn::FindInMap needs three names, got {keys}")
        mapping, top, second = keys
        try:
            found = self.template["Mappings"][mapping][top][second]
        except KeyError:
            raise EvaluationError(f"Fn::FindInMap: no {mapping} > {top} > {second}") from None
        return found

    def _render_sub(self, text: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A ``Fn::Sub`` with its variables rendered and the string ones written into the
        text; the others stay variables."""
        remaining = self.render(variables)
        for key, value in list(remaining.items()):
            if isinstance(value, str):
                text = text.replace("${" + key + "}", value)
                del remaining[key]
        return {"Fn::Sub": [text, remaining] if remaining else text}


def sub_variables(text: str) -> Iterator[str]:
    """The names of the ``${Name}`` variables of a ``Fn::Sub`` string, in order."""
    yield from SUB_VARIABLE.findall(text)
