"""The acceptance limits, in one table (``LIMITS``), and the check of a bench against them.

``python -m tools.bench`` prints them beside the figures and docs/benchmarks.md lists them
(a test keeps that list equal to this table); ``--check`` exits non-zero when one is broken,
or could not be measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tools.bench.run import Bench, RunFigures
from tools.bench.standard import STANDARD_JOB_SECONDS

OVERHEAD_SECONDS = 60.0
COMPUTE_AFTER_JOB_SECONDS = 30.0
STANDARD_RATIO = 0.5
OTHER_RATIO = 1.0
STANDARD_TRANSITIONS = 60
COLD_IMPORT_MS = 300.0
LAYER_ZIPPED_BYTES = 5 * 1024 * 1024

Findings = list[str]
"""What broke a limit, one line each (where, the figure); empty: the limit holds."""


@dataclass(frozen=True)
class Verdict:
    """A limit checked: what broke it, or why it could not be checked (``unmeasured``)."""

    broken: tuple[str, ...] = ()
    unmeasured: str | None = None

    @property
    def holds(self) -> bool:
        return not self.broken and self.unmeasured is None


@dataclass(frozen=True)
class Limit:
    """An acceptance limit: what it bounds, the bound, what it applies to, and its check."""

    name: str
    bound: str
    applies: str
    check: Callable[[Bench], Verdict]

    def row(self) -> tuple[str, str, str]:
        """The limit as the table shows it: name, bound, what it applies to."""
        return (self.name, self.bound, self.applies)


def _where(run: RunFigures) -> str:
    return f"{run.mode} {run.length}"


def _each_run(
    bench: Bench,
    value: Callable[[RunFigures], float],
    bound: float,
    unit: str,
    standard: bool | None,
) -> Verdict:
    runs = [
        r
        for r in bench.runs
        if standard is None or (r.job_seconds == STANDARD_JOB_SECONDS) is standard
    ]
    if not runs:
        return Verdict(unmeasured="no such run in this bench")
    broken = tuple(
        f"{_where(run)}: {value(run):.{3 if unit == 'x' else 1}f}{unit}"
        for run in runs
        if value(run) > bound
    )
    return Verdict(broken)


def _overhead(bench: Bench) -> Verdict:
    return _each_run(bench, lambda r: r.usage.overhead_seconds, OVERHEAD_SECONDS, " s", None)


def _compute(bench: Bench) -> Verdict:
    return _each_run(
        bench, lambda r: r.usage.compute_after_job_seconds, COMPUTE_AFTER_JOB_SECONDS, " s", None
    )


def _standard_ratio(bench: Bench) -> Verdict:
    return _each_run(bench, lambda r: r.ratio, STANDARD_RATIO, "x", True)


def _other_ratio(bench: Bench) -> Verdict:
    return _each_run(bench, lambda r: r.ratio, OTHER_RATIO, "x", False)


def _transitions_flat(bench: Bench) -> Verdict:
    by_mode: dict[str, list[RunFigures]] = {}
    for run in bench.runs:
        by_mode.setdefault(run.mode, []).append(run)
    if not any(len(runs) > 1 for runs in by_mode.values()):
        return Verdict(unmeasured="needs runs of two job lengths")
    broken: list[str] = []
    for mode, runs in by_mode.items():
        ordered = sorted(runs, key=lambda r: r.job_seconds)
        shortest = ordered[0]
        for run in ordered[1:]:
            if run.usage.transitions > shortest.usage.transitions:
                broken.append(
                    f"{mode}: {run.usage.transitions:g} at {run.length} > "
                    f"{shortest.usage.transitions:g} at {shortest.length}"
                )
    return Verdict(tuple(broken))


def _standard_transitions(bench: Bench) -> Verdict:
    return _each_run(bench, lambda r: r.usage.transitions, STANDARD_TRANSITIONS, "", True)


def _cold_import(bench: Bench) -> Verdict:
    handlers = bench.handlers
    if handlers.missing is not None or not handlers.cold_import:
        return Verdict(unmeasured=handlers.missing or "no handler measured")
    return Verdict(
        tuple(
            f"{name}: {ms:.0f} ms"
            for name, ms in sorted(handlers.median_ms().items())
            if ms > COLD_IMPORT_MS
        )
    )


def _layer(bench: Bench) -> Verdict:
    handlers = bench.handlers
    sizes = {name: size for name, size in handlers.zipped.items() if name in handlers.layers}
    if handlers.missing is not None or not sizes:
        return Verdict(unmeasured=handlers.missing or "no layer among the zipped sizes")
    return Verdict(
        tuple(
            f"{name}: {size / 1024 / 1024:.2f} MiB"
            for name, size in sorted(sizes.items())
            if size > LAYER_ZIPPED_BYTES
        )
    )


LIMITS: tuple[Limit, ...] = (
    Limit(
        "Orchestration overhead per run",
        f"<= {OVERHEAD_SECONDS:g} s",
        "every mode and job length",
        _overhead,
    ),
    Limit(
        "Compute after the job (job end to DeleteComputeEnvironment accepted)",
        f"<= {COMPUTE_AFTER_JOB_SECONDS:g} s",
        "every mode and job length",
        _compute,
    ),
    Limit(
        "Overhead cost per run, ours / the original's",
        f"<= {STANDARD_RATIO:g}",
        "every mode, 2-hour job",
        _standard_ratio,
    ),
    Limit(
        "Overhead cost per run, ours / the original's",
        f"<= {OTHER_RATIO:g}",
        "every mode, 1-hour and 24-hour jobs",
        _other_ratio,
    ),
    Limit(
        "State transitions per run grow with the job's length",
        "never",
        "every mode: each length against the shortest",
        _transitions_flat,
    ),
    Limit(
        "State transitions per run (release included)",
        f"<= {STANDARD_TRANSITIONS}",
        "every mode, 2-hour job",
        _standard_transitions,
    ),
    Limit(
        "Cold import of a built handler, median of 5",
        f"<= {COLD_IMPORT_MS:g} ms",
        "every function",
        _cold_import,
    ),
    Limit(
        "Layer, zipped",
        f"<= {LAYER_ZIPPED_BYTES // 1024 // 1024} MiB",
        "every layer",
        _layer,
    ),
)
"""The acceptance limits, in the order they are shown."""


def check(bench: Bench) -> list[tuple[Limit, Verdict]]:
    """Every limit with its verdict on ``bench``."""
    return [(limit, limit.check(bench)) for limit in LIMITS]
