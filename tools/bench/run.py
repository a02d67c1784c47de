"""Run the bench: the standard run of every mode and job length in the rehearsal, measured,
priced and set beside the original design's model; and the built handlers' figures.
"""

from __future__ import annotations

import importlib
import platform
import statistics
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchscratch.modes import MODES
from tools import cfn
from tools.bench import standard
from tools.bench.cost import Dollars, Usage, overhead_cost, run_cost, storage_hourly
from tools.bench.original import Modeled, Work, model
from tools.bench.timeline import (
    ASSOCIATION_CREATING,
    EXPORT,
    JOB,
    QUEUE,
    STORAGE_CREATING,
    Gap,
    Span,
    Timeline,
    lambda_use,
    run_config,
    timeline_of,
)
from tools.localaws.simulation import LAMBDA_INVOCATION_SECONDS
from tools.rehearse import ROOT, Observed, read_history, run_scenario

BUILD_DIR = Path(".aws-sam") / "build"
"""Where ``sam build`` (``make build``) puts the built functions and layer, from the root."""
HANDLERS_MODULE = "tools.bench.handlers"
"""The module that measures built handlers: ``cold_import_seconds(build_dir, repeats)`` and
``zipped_sizes(build_dir)``."""
COLD_IMPORT_REPEATS = 5


@dataclass(frozen=True)
class RunFigures:
    """One mode's standard run with one job length: what it measured and cost, and the
    original design's model of the same run."""

    mode: str
    length: str
    job_seconds: float
    status: str
    failed_expectations: tuple[str, ...]
    timeline: Timeline
    usage: Usage
    storage_per_hour: float
    cost: Dollars
    overhead: Dollars
    original: Modeled
    original_usage: Usage
    original_cost: Dollars
    original_overhead: Dollars
    repeats: tuple[tuple[float, float], ...] = ()
    """(overhead seconds, transitions) of every rehearsal of this run (``measure``), worst
    first: the rehearsal's Parallel branches share one virtual clock, so the timing of one
    branch against the other can vary from one rehearsal to the next. The rehearsal with the
    most overhead (then the most transitions) is the one reported, and the report says how
    the rehearsals differed."""

    @property
    def ratio(self) -> float:
        """Overhead cost, ours over the original's."""
        return self.overhead.total / self.original_overhead.total

    @property
    def gaps(self) -> list[Gap]:
        return self.timeline.gaps()


@dataclass(frozen=True)
class HandlerFigures:
    """The built handlers: each one's cold-import seconds (every repeat) and every zipped
    size in bytes (the functions' and the layers'), or why they were not measured."""

    cold_import: dict[str, list[float]] = field(default_factory=dict)
    zipped: dict[str, int] = field(default_factory=dict)
    layers: frozenset[str] = frozenset()
    """The names among ``zipped`` that are layers (the template's LayerVersion resources)."""
    missing: str | None = None
    """Why nothing was measured (e.g. ``run make build first``); None when measured."""

    def median_ms(self) -> dict[str, float]:
        """Each handler's median cold import, in milliseconds."""
        return {name: statistics.median(s) * 1000 for name, s in self.cold_import.items() if s}


@dataclass(frozen=True)
class Bench:
    """Everything one ``python -m tools.bench`` measured."""

    runs: tuple[RunFigures, ...]
    handlers: HandlerFigures
    date: str
    python: str


def _work_seconds(timeline: Timeline, label: str) -> float:
    return sum(span.seconds for span in timeline.work if span.label == label)


def measured_work(timeline: Timeline) -> Work:
    """The AWS work of a measured run, as the original design's model takes it."""
    return Work(
        storage=_work_seconds(timeline, STORAGE_CREATING),
        job=_work_seconds(timeline, JOB),
        association=_work_seconds(timeline, ASSOCIATION_CREATING),
        export=_work_seconds(timeline, EXPORT),
        queue=_work_seconds(timeline, QUEUE),
    )


def figures(observed: Observed, length: str, job_seconds: float) -> RunFigures:
    """Measure, price and model one rehearsed run (``observed``, from ``run_scenario``)."""
    summary = observed.summary
    timeline = timeline_of(observed)
    if timeline.storage is None or timeline.overhead_seconds is None:
        raise ValueError(f"{summary.scenario}: the run made no storage; nothing to measure")
    histories = [observed.events, *(events for _, events in observed.releases)]
    lambdas = lambda_use(histories, observed.function_memory)
    release_transitions = sum(read_history(events).transitions for _, events in observed.releases)
    usage = Usage(
        storage_seconds=timeline.storage.seconds,
        overhead_seconds=timeline.overhead_seconds,
        instance_seconds=timeline.instance_seconds,
        compute_after_job_seconds=summary.computeSecondsAfterJob or 0.0,
        transitions=summary.transitions + release_transitions,
        lambda_invocations=lambdas.invocations,
        lambda_gb_seconds=lambdas.gb_seconds,
    )
    per_hour = storage_hourly(run_config(observed.events))
    mode = summary.mode
    modeled = model(
        measured_work(timeline),
        lustre=mode in standard.LUSTRE,
        task_export=mode in standard.TASK_EXPORT,
        auto_export=mode in standard.AUTO_EXPORT,
    )
    # The original's checks look once each: LAMBDA_INVOCATION_SECONDS at the same memory.
    memory_gb = statistics.median_low(observed.function_memory.values()) / 1024
    gb_seconds_each = memory_gb * LAMBDA_INVOCATION_SECONDS
    original_usage = Usage(
        storage_seconds=modeled.storage_seconds,
        overhead_seconds=modeled.overhead_seconds,
        instance_seconds=timeline.instance_seconds,
        compute_after_job_seconds=0.0,
        transitions=modeled.transitions,
        lambda_invocations=modeled.invocations,
        lambda_gb_seconds=modeled.invocations * gb_seconds_each,
    )
    return RunFigures(
        mode=mode,
        length=length,
        job_seconds=job_seconds,
        status=summary.status,
        failed_expectations=tuple(summary.failedExpectations),
        timeline=timeline,
        usage=usage,
        storage_per_hour=per_hour,
        cost=run_cost(usage, per_hour),
        overhead=overhead_cost(usage, per_hour),
        original=modeled,
        original_usage=original_usage,
        original_cost=run_cost(original_usage, per_hour),
        original_overhead=overhead_cost(original_usage, per_hour),
    )


def measure(
    mode: str,
    length: str = "2 h",
    job_seconds: float | None = None,
    root: Path = ROOT,
    repeats: int = 1,
) -> RunFigures:
    """Rehearse ``mode``'s standard run with a job of ``job_seconds`` (default: the length
    ``length`` names in ``standard.JOB_LENGTHS``) ``repeats`` times and return the figures
    of the rehearsal with the most overhead (then the most transitions), with every
    rehearsal's overhead and transitions in ``RunFigures.repeats`` (why: its docstring).

    Raises:
        KeyError: an unknown mode or length.
        ValueError: the run made no storage (it failed before creating any), or
            ``repeats`` is below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats = {repeats}: rehearse at least once")
    seconds = standard.JOB_LENGTHS[length] if job_seconds is None else job_seconds
    measured: list[RunFigures] = []
    for _ in range(repeats):
        observed: list[Observed] = []
        run_scenario(standard.scenario(mode, seconds), root=root, observe=observed.append)
        measured.append(figures(observed[0], length, seconds))
    measured.sort(key=lambda r: (r.usage.overhead_seconds, r.usage.transitions), reverse=True)
    seen = tuple((r.usage.overhead_seconds, r.usage.transitions) for r in measured)
    return replace(measured[0], repeats=seen)


def layer_names(template: Path = ROOT / "template.yaml") -> frozenset[str]:
    """The logical ids of the template's layers (``AWS::Serverless::LayerVersion``): the
    names their build directories have."""
    resources = cfn.load(template).get("Resources") or {}
    return frozenset(
        name
        for name, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::LayerVersion"
    )


def handler_figures(
    build_dir: Path = ROOT / BUILD_DIR,
    template: Path = ROOT / "template.yaml",
    repeats: int = COLD_IMPORT_REPEATS,
) -> HandlerFigures:
    """The built handlers' cold imports (``repeats`` each) and zipped sizes, measured by
    ``HANDLERS_MODULE`` in ``build_dir`` (``sam build``'s output for ``template``); without
    a build, or without that module, why not."""
    if not build_dir.is_dir():
        return HandlerFigures(missing=f"{BUILD_DIR} is missing: run make build first")
    try:
        module: Any = importlib.import_module(HANDLERS_MODULE)
    except ModuleNotFoundError as error:
        if error.name != HANDLERS_MODULE:
            raise
        return HandlerFigures(missing=f"{HANDLERS_MODULE} is not in this checkout")
    return HandlerFigures(
        cold_import=dict(module.cold_import_seconds(build_dir, repeats=repeats)),
        zipped=dict(module.zipped_sizes(build_dir)),
        layers=layer_names(template),
    )


REPEATS = 3
"""Rehearsals of each run ``bench`` takes the worst of (``RunFigures.repeats``)."""


def bench(
    modes: tuple[str, ...] = tuple(MODES),
    lengths: tuple[str, ...] = tuple(standard.JOB_LENGTHS),
    root: Path = ROOT,
    handlers: bool = True,
    repeats: int = REPEATS,
) -> Bench:
    """Measure every mode's standard run at every job length (the worst of ``repeats``
    rehearsals each), and (with ``handlers``) the built handlers."""
    runs = tuple(
        measure(mode, length, root=root, repeats=repeats) for mode in modes for length in lengths
    )
    return Bench(
        runs=runs,
        handlers=handler_figures(root / BUILD_DIR, root / "template.yaml")
        if handlers
        else HandlerFigures(missing="not measured"),
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        python=platform.python_version(),
    )


def spans_after_start(spans: tuple[Span, ...] | list[Span]) -> list[dict[str, Any]]:
    """Spans as JSON: start, end and seconds (after the execution's start), label."""
    return [
        {
            "label": s.label,
            "start": round(s.start, 1),
            "end": round(s.end, 1),
            "seconds": round(s.seconds, 1),
        }
        for s in spans
    ]
