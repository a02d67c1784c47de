"""The acceptance limits (tools/bench/limits.py) on hand-made benches, and docs/benchmarks.md's
limits table against the one in code."""

from dataclasses import replace

import pytest

from tests.conftest import REPO
from tools.bench.cost import Dollars, Usage
from tools.bench.limits import LIMITS, check
from tools.bench.original import Modeled
from tools.bench.report import DOCS_PATH, LIMIT_HEADER, limit_rows, markdown, spread_text
from tools.bench.run import Bench, HandlerFigures, RunFigures
from tools.bench.timeline import Span, Timeline


def run(
    mode: str = "OnlyEBS",
    length: str = "2 h",
    overhead: float = 30,
    after_job: float = 10,
    transitions: float = 40,
    ratio: float = 0.4,
) -> RunFigures:
    """A run that meets every limit unless told otherwise."""
    seconds = {"1 h": 3600.0, "2 h": 7200.0, "24 h": 86400.0}[length]
    usage = Usage(
        storage_seconds=seconds + 300 + overhead,
        overhead_seconds=overhead,
        instance_seconds=seconds,
        compute_after_job_seconds=after_job,
        transitions=transitions,
        lambda_invocations=10,
        lambda_gb_seconds=2.5,
    )
    nothing = Dollars(0, 0, 0, 0)
    return RunFigures(
        mode=mode,
        length=length,
        job_seconds=seconds,
        status="SUCCEEDED",
        failed_expectations=(),
        timeline=Timeline(Span(0, usage.storage_seconds), (), (), None, None, ()),
        usage=usage,
        storage_per_hour=0.46,
        cost=nothing,
        overhead=Dollars(ratio, 0, 0, 0),
        original=Modeled(0, 0, 0, 0, ()),
        original_usage=usage,
        original_cost=nothing,
        original_overhead=Dollars(1, 0, 0, 0),
    )


HANDLERS = HandlerFigures(
    cold_import={"LoadConfigFunction": [0.2, 0.25, 0.1, 0.22, 0.21]},
    zipped={"LoadConfigFunction": 10_000, "CommonLayer": 4 * 1024 * 1024},
    layers=frozenset({"CommonLayer"}),
)


def bench(*runs: RunFigures, handlers: HandlerFigures = HANDLERS) -> Bench:
    every = runs or tuple(
        run(mode, length) for mode in ("OnlyEBS", "TaskExport") for length in ("1 h", "2 h")
    )
    return Bench(runs=every, handlers=handlers, date="2026-12-02", python="3.13.0")


def verdicts(measured: Bench) -> dict[tuple[str, str], tuple[tuple[str, ...], str | None]]:
    return {
        (limit.name, limit.bound): (verdict.broken, verdict.unmeasured)
        for limit, verdict in check(measured)
    }


def test_a_bench_within_every_limit_breaks_none() -> None:
    assert all(verdict.holds for _, verdict in check(bench()))


def test_overhead_and_compute_after_the_job_are_bounded_in_every_run() -> None:
    found = verdicts(bench(run(length="1 h", overhead=61), run(after_job=30.5)))
    assert found[("Orchestration overhead per run", "<= 60 s")][0] == ("OnlyEBS 1 h: 61.0 s",)
    assert found[
        ("Compute after the job (job end to DeleteComputeEnvironment accepted)", "<= 30 s")
    ][0] == ("OnlyEBS 2 h: 30.5 s",)


def test_the_cost_ratio_is_half_at_two_hours_and_one_at_the_other_lengths() -> None:
    found = verdicts(
        bench(run(ratio=0.6), run(length="1 h", ratio=0.9), run(length="24 h", ratio=1.1))
    )
    name = "Overhead cost per run, ours / the original's"
    assert found[(name, "<= 0.5")][0] == ("OnlyEBS 2 h: 0.600x",)
    assert found[(name, "<= 1")][0] == ("OnlyEBS 24 h: 1.100x",)


def test_transitions_must_not_grow_with_the_job_s_length_and_stay_under_60() -> None:
    found = verdicts(
        bench(
            run(length="1 h", transitions=40),
            run(length="2 h", transitions=40),
            run(length="24 h", transitions=43),
            run("TaskExport", "2 h", transitions=61),
        )
    )
    assert found[("State transitions per run grow with the job's length", "never")][0] == (
        "OnlyEBS: 43 at 24 h > 40 at 1 h",
    )
    assert found[("State transitions per run (release included)", "<= 60")][0] == (
        "TaskExport 2 h: 61.0",
    )


def test_handlers_are_bounded_by_their_median_and_the_layer_by_its_zipped_size() -> None:
    slow = HandlerFigures(
        cold_import={"LoadConfigFunction": [0.1, 0.31, 0.32, 0.4, 0.1]},
        zipped={"CommonLayer": 5 * 1024 * 1024 + 1, "LoadConfigFunction": 10 * 1024 * 1024},
        layers=frozenset({"CommonLayer"}),
    )
    found = verdicts(bench(handlers=slow))
    assert found[("Cold import of a built handler, median of 5", "<= 300 ms")][0] == (
        "LoadConfigFunction: 310 ms",
    )
    # A function's size is not the layer's.
    assert found[("Layer, zipped", "<= 5 MiB")][0] == ("CommonLayer: 5.00 MiB",)


def test_what_could_not_be_measured_does_not_hold() -> None:
    missing = HandlerFigures(missing=".aws-sam/build is missing: run make build first")
    results = dict(check(bench(handlers=missing)))
    unheld = [limit.name for limit, verdict in results.items() if not verdict.holds]
    assert unheld == ["Cold import of a built handler, median of 5", "Layer, zipped"]
    assert all(
        "make build" in (verdict.unmeasured or "")
        for verdict in results.values()
        if not verdict.holds
    )


def test_every_limit_has_a_distinct_row() -> None:
    rows = limit_rows()
    assert len(set(rows)) == len(rows) == len(LIMITS)


def test_the_documented_limits_are_the_limits_in_code() -> None:
    text = (REPO / DOCS_PATH).read_text()
    section = text.split("## Acceptance limits", 1)[1].split("\n## ", 1)[0]
    documented = [line for line in section.splitlines() if line.startswith("|")]
    assert documented == markdown(LIMIT_HEADER, limit_rows())


@pytest.mark.parametrize("length", ["1 h", "24 h"])
def test_a_single_length_cannot_show_growth(length: str) -> None:
    results = dict(check(bench(run(length=length))))
    growth = next(limit for limit in LIMITS if limit.bound == "never")
    assert results[growth].unmeasured == "needs runs of two job lengths"
    assert not results[growth].holds


def test_repeated_rehearsals_that_differ_say_so() -> None:
    agreeing = replace(run(), repeats=((200.0, 82), (201.5, 82), (203.0, 82)))
    assert spread_text(agreeing) == ""
    differing = replace(run(), repeats=((206.5, 82), (236.5, 85), (206.6, 82)))
    assert spread_text(differing) == (
        "its 3 rehearsals differed: overhead 206.5 to 236.5 s, transitions 82 to 85; "
        "the worst is shown"
    )
