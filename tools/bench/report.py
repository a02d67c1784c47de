"""The bench's figures as a plain-text table, as JSON, and as docs/benchmarks.md."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from batchscratch_cli import prices
from tools.bench import standard
from tools.bench.limits import LIMITS, Limit, Verdict, check
from tools.bench.original import ORIGINAL
from tools.bench.run import BUILD_DIR, Bench, RunFigures, spans_after_start
from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS

DOCS_PATH = "docs/benchmarks.md"

DEFINITIONS = (
    (
        "Storage",
        "The storage's lifetime: its CreateFileSystem/CreateVolume call to the "
        "DeleteFileSystem/DeleteVolume AWS accepted (what it is billed for).",
    ),
    (
        "Overhead",
        "The storage's lifetime minus the time covered by AWS work, the union of: the storage "
        "creating (create call to AVAILABLE); the data repository association creating or "
        "updating; the job from SubmitJob to its end (RUNNABLE, both attempts and the retry "
        "after the reclaim included); every export task from its creation to its end; "
        "AutoExport's queue from the job's end until the datapoint showing it empty can be "
        "read (one metric period after the minute it describes began). The rest (poll "
        "waits, Lambda invocations, compute preparation and cleanup the storage waits for, "
        "quiet windows) is the orchestration's.",
    ),
    (
        "After job",
        "Compute after the job: the job's end to the first DeleteComputeEnvironment AWS accepted.",
    ),
    (
        "Transitions",
        "State transitions as Step Functions bills them (states entered plus retries; the "
        "release execution's too, when one runs), from the execution history.",
    ),
    (
        "Run $",
        "The whole run: storage lifetime, the instance for the job's attempts and after the "
        "job, transitions, Lambda requests and GB-seconds (each invocation from its "
        "TaskScheduled to its end in the execution history, at least "
        f"{LAMBDA_INVOCATION_SECONDS:g} s, at its function's MemorySize: a check step that "
        "watches runs for minutes; the original's checks look once, "
        f"{LAMBDA_INVOCATION_SECONDS:g} s each).",
    ),
    (
        "Overhead $",
        "What the orchestration adds: the overhead's storage seconds, the compute after the "
        "job, transitions and Lambda.",
    ),
    (
        "Original",
        "A model of the original design's documented loops worked on the same run's AWS work "
        f"(tools/bench/original.py): storage polled every {ORIGINAL.storage_poll:g} s (its "
        f"association too), the job every {ORIGINAL.job_poll:g} s, the export every "
        f"{ORIGINAL.export_poll:g} s; AutoExport deletes once a "
        f"{ORIGINAL.lookback / 60:g}-minute look-back reads all 0, checked every "
        f"{ORIGINAL.drain_poll:g} s, with no verifying export. A loop sees its event half "
        "its interval after it, on average (the event's time is independent of the loop's "
        "phase), plus its check's invocation; each poll is a Task, a Choice and a Wait; "
        "every figure is such an average. Its compute environment is static: no compute "
        "after the job is counted, the most favourable reading for it.",
    ),
    ("Ratio", "Overhead $, ours / the original's."),
)
"""The columns' definitions, printed under the table and in docs/benchmarks.md."""


def _money(value: float) -> str:
    return f"{value:.4f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


RUN_HEADER = (
    "Mode",
    "Job",
    "Storage s",
    "Overhead s",
    "After job s",
    "Transitions",
    "Run $",
    "Overhead $",
    "Orig. storage s",
    "Orig. overhead s",
    "Orig. transitions",
    "Orig. run $",
    "Orig. overhead $",
    "Ratio",
)


def run_row(run: RunFigures) -> tuple[str, ...]:
    """One run's figures, as the results table shows them (``RUN_HEADER``)."""
    usage, original = run.usage, run.original_usage
    return (
        run.mode,
        run.length,
        f"{usage.storage_seconds:.1f}",
        f"{usage.overhead_seconds:.1f}",
        f"{usage.compute_after_job_seconds:.1f}",
        f"{usage.transitions:g}",
        _money(run.cost.total),
        _money(run.overhead.total),
        f"{original.storage_seconds:.1f}",
        f"{original.overhead_seconds:.1f}",
        f"{original.transitions:.1f}",
        _money(run.original_cost.total),
        _money(run.original_overhead.total),
        f"{run.ratio:.2f}",
    )


def fixed_width(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A plain-text table: the first ``left`` columns left-aligned, the others (figures)
    right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(cell).ljust(width) if index < left else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


LIMIT_HEADER = ("Limit", "Bound", "Applies to")


def limit_rows(limits: Sequence[Limit] = LIMITS) -> list[tuple[str, str, str]]:
    """The acceptance limits as the limits table shows them."""
    return [limit.row() for limit in limits]


def verdict_word(verdict: Verdict) -> str:
    """``met``, ``BROKEN`` or ``not measured``."""
    if verdict.broken:
        return "BROKEN"
    return "met" if verdict.unmeasured is None else "not measured"


def verdict_text(verdict: Verdict) -> str:
    """``met``, ``BROKEN: <where>; ...`` or ``not measured: <why>``."""
    if verdict.broken:
        return "BROKEN: " + "; ".join(verdict.broken)
    if verdict.unmeasured is not None:
        return f"not measured: {verdict.unmeasured}"
    return "met"


SHOWN_SECONDS = 0.05
"""States that took less of a gap than this (Choice states, the real time between two
steps) are left out of its line; ``--json`` has them all."""


def gap_lines(run: RunFigures) -> list[str]:
    """The overhead's breakdown: each gap without AWS work, with the states it was spent in."""
    lines = []
    for gap in run.gaps:
        states = ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in gap.states if seconds >= SHOWN_SECONDS
        )
        lines.append(
            f"+{gap.start:.1f}s to +{gap.end:.1f}s ({gap.seconds:.1f} s): {states or 'no state'}"
        )
    return lines


NOISE_SECONDS = 5.0
"""Overheads of repeated rehearsals closer than this agree: the real time a rehearsal takes
counts on its virtual clock too (a few seconds for a run of a hundred states on a busy
machine)."""


def spread_text(run: RunFigures) -> str:
    """How the repeated rehearsals of ``run`` differed (``""`` when they agree: overheads
    within ``NOISE_SECONDS`` and the same transitions)."""
    overheads = [overhead for overhead, _ in run.repeats]
    transitions = sorted({count for _, count in run.repeats})
    differ = []
    if overheads and max(overheads) - min(overheads) > NOISE_SECONDS:
        differ.append(f"overhead {min(overheads):.1f} to {max(overheads):.1f} s")
    if len(transitions) > 1:
        differ.append(f"transitions {transitions[0]:g} to {transitions[-1]:g}")
    if not differ:
        return ""
    return f"its {len(run.repeats)} rehearsals differed: {', '.join(differ)}; the worst is shown"


def original_lines(run: RunFigures) -> list[str]:
    """The original's overhead, wait by wait."""
    return [f"{wait.label}: {wait.seconds:.1f} s" for wait in run.original.waits]


def handler_rows(bench: Bench) -> list[tuple[str, str, str]]:
    """Each built function and layer: median cold import (ms; a layer has none), zipped KiB."""
    handlers = bench.handlers
    medians = handlers.median_ms()
    names = sorted(set(medians) | set(handlers.zipped))
    return [
        (
            name + (" (layer)" if name in handlers.layers else ""),
            f"{medians[name]:.0f}" if name in medians else "-",
            f"{handlers.zipped[name] / 1024:.1f}" if name in handlers.zipped else "-",
        )
        for name in names
    ]


HANDLER_HEADER = ("Built function or layer", "Cold import ms (median of 5)", "Zipped KiB")
PRICE_HEADER = ("Price", "US$", "Per", "Source", "Note")


def price_rows() -> list[tuple[str, str, str, str, str]]:
    return [(p.name, f"{p.dollars:.10g}", p.unit, p.source, p.note) for p in prices.BENCH_PRICES]


SETTING_HEADER = ("Scenario key", "Value", "Modes", "Why")


def setting_rows() -> list[tuple[str, str, str, str]]:
    every = set(standard.EVERY_MODE)
    return [
        (
            setting.key,
            setting.shown,
            "all" if set(setting.modes) == every else ", ".join(setting.modes),
            setting.reason,
        )
        for setting in standard.STANDARD_RUN
    ]


# --------------------------------------------------------------------------- text


def text(bench: Bench) -> str:
    """The plain-text report ``python -m tools.bench`` prints."""
    out = ["Per run, on the rehearsal's virtual clock (seconds) and at the price table's prices:"]
    out += fixed_width(RUN_HEADER, [run_row(run) for run in bench.runs], left=2)
    out.append("")
    for name, meaning in DEFINITIONS:
        out += textwrap.wrap(
            f"{name}: {meaning}", width=100, initial_indent="  ", subsequent_indent="    "
        )
    out.append("")
    for run in bench.runs:
        if run.job_seconds != standard.STANDARD_JOB_SECONDS:
            continue
        out.append(f"{run.mode} {run.length}: overhead {run.usage.overhead_seconds:.1f} s in")
        out += [f"  {line}" for line in gap_lines(run)]
        if spread := spread_text(run):
            out.append(f"  ({spread})")
        out.append(f"  the original's {run.original.overhead_seconds:.1f} s:")
        out += [f"    {line}" for line in original_lines(run)]
        for failed in run.failed_expectations:
            out.append(f"  the run did not go as the standard run should: {failed}")
    out.append("")
    out.append("Acceptance limits:")
    verdicts = check(bench)
    out += fixed_width(
        (*LIMIT_HEADER, "Verdict"),
        [(*limit.row(), verdict_word(verdict)) for limit, verdict in verdicts],
        left=4,
    )
    out += [
        f"  {limit.name} {limit.bound} ({limit.applies}): {verdict_text(verdict)}"
        for limit, verdict in verdicts
        if not verdict.holds
    ]
    out.append("")
    if bench.handlers.missing is not None:
        out.append(f"Handlers: {bench.handlers.missing}")
    else:
        out.append(f"Handlers ({BUILD_DIR}):")
        out += fixed_width(HANDLER_HEADER, handler_rows(bench))
    out.append("")
    out.append(f"Prices ({prices.REGION}, {prices.PRICES_DATE}):")
    out += [
        f"  {p.name}: ${p.dollars:.10g} per {p.unit}" + (f" ({p.note})" if p.note else "")
        for p in prices.BENCH_PRICES
    ]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- JSON


def as_json(bench: Bench) -> dict[str, Any]:
    """The raw figures (``--json``)."""
    runs = []
    for run in bench.runs:
        runs.append(
            {
                "mode": run.mode,
                "length": run.length,
                "jobSeconds": run.job_seconds,
                "status": run.status,
                "failedExpectations": list(run.failed_expectations),
                "storageSeconds": run.usage.storage_seconds,
                "overheadSeconds": run.usage.overhead_seconds,
                "computeSecondsAfterJob": run.usage.compute_after_job_seconds,
                "instanceSeconds": run.usage.instance_seconds,
                "transitions": run.usage.transitions,
                "lambdaInvocations": run.usage.lambda_invocations,
                "lambdaGbSeconds": run.usage.lambda_gb_seconds,
                "storageDollarsPerHour": run.storage_per_hour,
                "cost": run.cost.as_dict(),
                "overheadCost": run.overhead.as_dict(),
                "awsWork": spans_after_start(run.timeline.work),
                "gaps": [
                    {
                        "start": gap.start,
                        "end": gap.end,
                        "seconds": gap.seconds,
                        "states": dict(gap.states),
                    }
                    for gap in run.gaps
                ],
                "original": {
                    "storageSeconds": run.original.storage_seconds,
                    "overheadSeconds": run.original.overhead_seconds,
                    "transitions": run.original.transitions,
                    "lambdaInvocations": run.original.invocations,
                    "waits": {wait.label: wait.seconds for wait in run.original.waits},
                    "cost": run.original_cost.as_dict(),
                    "overheadCost": run.original_overhead.as_dict(),
                },
                "overheadCostRatio": run.ratio,
                "repeats": [
                    {"overheadSeconds": overhead, "transitions": transitions}
                    for overhead, transitions in run.repeats
                ],
            }
        )
    handlers = bench.handlers
    return {
        "date": bench.date,
        "python": bench.python,
        "prices": {
            "region": prices.REGION,
            "date": prices.PRICES_DATE,
            "items": [
                {"name": p.name, "dollars": p.dollars, "unit": p.unit, "source": p.source}
                for p in prices.BENCH_PRICES
            ],
        },
        "runs": runs,
        "handlers": {
            "missing": handlers.missing,
            "coldImportSeconds": handlers.cold_import,
            "coldImportMedianMs": handlers.median_ms(),
            "zippedBytes": handlers.zipped,
            "layers": sorted(handlers.layers),
        },
        "limits": [
            {
                "limit": limit.name,
                "bound": limit.bound,
                "appliesTo": limit.applies,
                "broken": list(verdict.broken),
                "unmeasured": verdict.unmeasured,
            }
            for limit, verdict in check(bench)
        ],
    }


# --------------------------------------------------------------------------- docs


def docs(bench: Bench) -> str:
    """docs/benchmarks.md."""
    out = [
        "# Benchmarks: what the orchestration adds to a run",
        "",
        f"Generated by `make bench` (`python -m tools.bench`) on {bench.date} with Python "
        f"{bench.python}; do not edit by hand. Prices: {prices.REGION}, read on "
        f"{prices.PRICES_DATE} from the AWS pricing pages below.",
        "",
        "Every figure is measured on the local rehearsal (docs/rehearsal.md): the real state "
        "machines and handlers, the real execution history, and the emulator's records of "
        "when each resource was created, became available and was deleted, on the "
        "rehearsal's virtual clock. The standard run is scripted, so these are the "
        "orchestration's figures, not AWS's: real creation, boot and export times vary. "
        "They are one run's figures, not averages over the phase of each poll: a poll that "
        "happens to line up with what it waits for (a 600 s export checked every 300 s) "
        "shows no lag. Each run is rehearsed several times and the one with the most "
        "overhead shown: the rehearsal's Parallel branches share one virtual clock, so the "
        "timing of one branch against the other can vary between rehearsals.",
        "",
        "## Per run",
        "",
        *markdown(RUN_HEADER, [run_row(run) for run in bench.runs]),
        "",
        *(f"- **{name}**: {text}" for name, text in DEFINITIONS),
        "",
        "## Where the overhead goes (2-hour job)",
        "",
        "Each stretch of the storage's life without AWS work (seconds after the execution "
        "started), with the states the run was in; then the original's, wait by wait.",
        "",
    ]
    for run in bench.runs:
        if run.job_seconds != standard.STANDARD_JOB_SECONDS:
            continue
        out.append(f"### {run.mode}")
        out.append("")
        out += [f"- {line}" for line in gap_lines(run)]
        out.append("")
        if spread := spread_text(run):
            out += [f"The run's {spread.removeprefix('its ')}.", ""]
        out.append(f"The original's {run.original.overhead_seconds:.1f} s:")
        out.append("")
        out += [f"- {line}" for line in original_lines(run)]
        out.append("")
    out += [
        "## Acceptance limits",
        "",
        *markdown(LIMIT_HEADER, limit_rows()),
        "",
        "Verdicts of this bench:",
        "",
        *(f"- {limit.name} ({limit.applies}): {verdict_text(v)}" for limit, v in check(bench)),
        "",
        "## The standard run",
        "",
        "Each mode's run is a scenario (scenarios/README.md) built from this table "
        "(tools/bench/standard.py), with the job's length set to 1 hour, 2 hours (the "
        "standard run) and 24 hours; the run must succeed and leave nothing behind.",
        "",
        *markdown(SETTING_HEADER, setting_rows()),
        "",
        "## Handlers",
        "",
    ]
    if bench.handlers.missing is not None:
        out.append(f"Not measured: {bench.handlers.missing}.")
    else:
        out += [
            f"Built by `make build` ({BUILD_DIR}); cold import with the built layer.",
            "",
            *markdown(HANDLER_HEADER, handler_rows(bench)),
        ]
    out += [
        "",
        "## Prices",
        "",
        f"{prices.REGION}, read on {prices.PRICES_DATE}; monthly prices at "
        f"{prices.HOURS_PER_MONTH:g} hours a month, billed per second of use; free tiers "
        "left out. The instance is the one a default run's job gets "
        f"({prices.INSTANCE_TYPE}: batchscratch_cli/prices.py says why); its Spot price is an "
        "assumption.",
        "",
        *markdown(PRICE_HEADER, price_rows()),
        "",
    ]
    return "\n".join(out)
