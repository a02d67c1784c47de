"""``python -m tools.scan DIR``: write the templates that ``make lint`` scans with checkov.

checkov reads CloudFormation, not SAM, and cannot decide the template's conditions per mode.
So template.yaml is translated offline (samtranslator, ``tools.cfn.translate_local``) and
rendered once for each value of the ``Mode`` parameter (every other parameter at its
``Default``), as CloudFormation would deploy it: conditions decided, resources and outputs
whose condition is false dropped, ``Fn::If`` resolved (``tools.cfn.Evaluator.deployment``).
Each rendering is written as ``DIR/<Mode>.json``: a plain CloudFormation template whose
parameters default to that deployment's values, so a ``Ref`` to a parameter reads what the
mode deploys. Each resource keeps its ``Metadata``, where checkov reads its skips
(``Metadata: checkov: skip: [{id, comment}]``; samtranslator copies a function's
``Metadata`` to the ``AWS::Lambda::Function`` it generates).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from batchscratch.modes import MODES
from tools import cfn

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"


def rendered_template(translated: dict[str, Any], mode: str) -> dict[str, Any]:
    """Return the translated template as deployed with ``Mode=mode``, as a template again.

    Args:
        translated: template.yaml translated to CloudFormation (``tools.cfn.translate_local``).
        mode: a value of the ``Mode`` parameter (a key of ``batchscratch.modes.MODES``).

    Returns:
        A CloudFormation template: ``Parameters`` (each one's specification with ``Default``
        set to its value in this deployment), the ``Resources`` and ``Outputs`` that this
        mode deploys, rendered, without their ``Condition`` (decided already).

    Raises:
        tools.cfn.EvaluationError: the template cannot be evaluated for these values.
    """
    evaluator = cfn.Evaluator.deploying(translated, {"Mode": mode})
    deployment = evaluator.deployment()
    parameters = {}
    for name, spec in (translated.get("Parameters") or {}).items():
        value = evaluator.parameters[name]
        default = ",".join(value) if isinstance(value, list) else value
        parameters[name] = {**spec, "Default": default}

    def decided(section: str) -> dict[str, Any]:
        return {
            name: {key: value for key, value in body.items() if key != "Condition"}
            for name, body in deployment[section].items()
        }

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{translated.get('Description', '')} (Mode={mode}, rendered)".strip(),
        "Parameters": parameters,
        "Resources": decided("Resources"),
        "Outputs": decided("Outputs"),
    }


def write(directory: Path, template: Path = TEMPLATE) -> list[Path]:
    """Write ``directory/<Mode>.json`` for every mode of the registry; return the paths."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # samtranslator needs one
    translated = cfn.translate_local(cfn.load(template), template.parent)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for mode in MODES:
        path = directory / f"{mode}.json"
        path.write_text(json.dumps(rendered_template(translated, mode), indent=1) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scan", description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write <Mode>.json")
    args = parser.parse_args(argv)
    for path in write(args.directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
