"""``python -m tools.diagrams [--check] [--force]``: draw docs/img/ from the source.

Without ``--check``, renders with Graphviz (``dot -Tpng``) every picture whose DOT text,
sources or Graphviz version differ from docs/img/diagrams.json (every one with ``--force``),
and writes the manifest; exits 1 with a one-line hint when ``dot`` is missing. With
``--check``, needs no Graphviz, writes nothing, and exits 1 when a picture is stale (naming it
and saying to run ``make diagrams``), 0 when all are current.
"""

import argparse
import sys
from pathlib import Path

from tools.diagrams import IMAGES, MANIFEST, ROOT, problems, write


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    """Run the command on the repository at ``root``; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.diagrams", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a picture is stale"
    )
    parser.add_argument("--force", action="store_true", help="draw every picture, current or not")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(root)
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            return 1
        print(f"{IMAGES}/: every picture is drawn from the current source")
        return 0
    try:
        written = write(root, force=args.force)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"wrote {MANIFEST}" if written else f"{IMAGES}/: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
