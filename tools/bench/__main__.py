"""``python -m tools.bench``: rehearse the standard run of every mode and job length, print
the figures beside the original design's and the acceptance limits, and write
docs/benchmarks.md.

Options: ``--json`` prints the raw figures instead of the table; ``--check`` exits 1 when an
acceptance limit is broken or could not be measured (naming it); ``--no-docs`` leaves
docs/benchmarks.md alone; ``--repeats N`` rehearses each run N times (default 3) and reports
the one with the most overhead. Exit status 0 otherwise (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.bench.limits import check
from tools.bench.report import DOCS_PATH, as_json, docs, text, verdict_text
from tools.bench.run import REPEATS, bench
from tools.rehearse import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Orchestration overhead, cost and transitions per run, beside the "
        "original design; cold imports and zipped sizes of the built handlers.",
    )
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if an acceptance limit is broken"
    )
    parser.add_argument("--no-docs", action="store_true", help=f"do not write {DOCS_PATH}")
    parser.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help=f"rehearsals of each run, the most overhead reported (default {REPEATS})",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    measured = bench(root=ROOT, repeats=args.repeats)
    if args.json:
        print(json.dumps(as_json(measured), indent=2))
    else:
        print(text(measured), end="")
    if not args.no_docs:
        Path(ROOT / DOCS_PATH).write_text(docs(measured))
        print(f"wrote {DOCS_PATH}", file=sys.stderr)
    if args.check:
        failed = [(limit, verdict) for limit, verdict in check(measured) if not verdict.holds]
        for limit, verdict in failed:
            print(
                f"limit not met: {limit.name} {limit.bound} ({limit.applies}): "
                f"{verdict_text(verdict)}",
                file=sys.stderr,
            )
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
