"""Validate state machine definitions with statelint, placeholders filled in first.

The files in statemachine/ hold SAM ``DefinitionSubstitutions`` placeholders such as
``"FunctionName": "${LoadConfigFunctionArn}"``. statelint checks that every ``Resource`` is a
URI, so it would reject a placeholder there. Rather than switch that check off (statelint
``--ignore URI``), this script writes a copy of each file in which every placeholder is
replaced by a well-formed stand-in, runs statelint on the copies, and reports the problems
against the original file names.

Usage: python scripts/lint_asl.py statemachine/*.asl.json
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

USAGE = "usage: python scripts/lint_asl.py FILE.asl.json [FILE.asl.json ...]"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def stand_in(name: str) -> str:
    """Return a well-formed value for the placeholder ``${name}``."""
    if name in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[name]
    if name.endswith("FunctionArn"):
        return f"arn:aws:lambda:us-east-1:123456789012:function:{name.removesuffix('Arn')}"
    if name.endswith("Arn"):
        return f"arn:aws:states:us-east-1:123456789012:{name.removesuffix('Arn')}"
    return name


def substitute(text: str) -> str:
    """Return ``text`` with every ``${name}`` placeholder replaced by its stand-in."""
    return PLACEHOLDER.sub(lambda match: stand_in(match.group(1)), text)


def lint(paths: list[Path]) -> int:
    """Run statelint on substituted copies of ``paths``; return the number of failing files."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="asl-lint-") as scratch:
        for path in paths:
            text = substitute(path.read_text(encoding="utf-8"))
            try:
                json.loads(text)
            except json.JSONDecodeError as error:
                print(f"{path}: not valid JSON: {error}")
                failures += 1
                continue
            copy = Path(scratch) / path.name
            copy.write_text(text, encoding="utf-8")
            result = subprocess.run(  # noqa: S603 - runs statelint from this interpreter
                [sys.executable, "-m", "statelint", str(copy)],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                print(f"{path}: OK")
                continue
            failures += 1
            output = (result.stdout + result.stderr).replace(str(copy), str(path)).rstrip()
            print(f"{path}:\n{output}")
    return failures


def main(argv: list[str]) -> int:
    """Lint the files named in ``argv``; exit status 1 if any fails, 2 on a usage error."""
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    paths = [Path(arg) for arg in argv]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    return 1 if lint(paths) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
