"""``python -m tools.asl [--check] [--directory DIR]``: write or check the state machines.

Without ``--check``, writes ``statemachine/<file>.asl.json`` for every mode. With it, writes
nothing and exits 1 if a file in the directory differs from what the builder writes (each
difference shown as a diff), 0 if all agree.
"""

import argparse
import sys
from pathlib import Path

from tools.asl import STATEMACHINE_DIR, check, shown, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.asl", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed file differs from what the builder writes",
    )
    parser.add_argument(
        "--directory",
        type=Path,
        default=STATEMACHINE_DIR,
        help="the state machines' folder (default: statemachine/)",
    )
    args = parser.parse_args(argv)
    directory: Path = args.directory
    if args.check:
        problems = check(directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{shown(directory)}: every state machine is what `make asl` writes")
        return 0
    changed = write(directory)
    for path in changed:
        print(f"wrote {shown(path)}")
    if not changed:
        print(f"{shown(directory)}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
