"""The bench's timeline (tools/bench/timeline.py): interval arithmetic and the overhead read
from hand-made rehearsal records, with figures worked out by hand."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tools.bench.timeline import (
    ASSOCIATION_CREATING,
    ASSOCIATION_UPDATING,
    EXPORT,
    JOB,
    QUEUE,
    STORAGE_CREATING,
    Span,
    covered_seconds,
    lambda_use,
    run_config,
    state_spans,
    timeline_of,
    uncovered,
    union,
)
from tools.localaws.simulation import (
    AttemptRun,
    Created,
    JobOutcome,
    JobRecord,
    JobSchedule,
    Lifecycle,
    Published,
    Released,
    Simulation,
)
from tools.rehearse import Observed, Summary

T0 = 1_000_020.0
"""The execution's start (epoch seconds)."""
JOB_END = 7640.0
"""When the hand-made job ends, in seconds after ``T0``: 20 s past a whole minute."""
RUN = "arn:aws:states:us-east-1:123456789012:execution:machine:run"


# --------------------------------------------------------------------------- intervals


def test_union_merges_overlapping_and_touching_spans_in_time_order() -> None:
    merged = union([Span(50, 60, "c"), Span(0, 10, "a"), Span(5, 20, "b"), Span(20, 30, "d")])
    assert merged == [Span(0, 30, "a + b + d"), Span(50, 60, "c")]


def test_union_drops_empty_spans() -> None:
    assert union([Span(5, 5, "empty"), Span(9, 3, "reversed")]) == []


def test_covered_seconds_counts_an_overlap_once_and_only_inside_the_window() -> None:
    window = Span(10, 100)
    spans = [Span(0, 30), Span(20, 40), Span(90, 200)]
    # [10, 40] and [90, 100]: 30 + 10.
    assert covered_seconds(spans, window) == 40


def test_uncovered_is_the_window_less_the_spans() -> None:
    window = Span(0, 100)
    assert uncovered(window, [Span(10, 20), Span(15, 30), Span(90, 120)]) == [
        Span(0, 10),
        Span(30, 90),
    ]
    assert uncovered(window, []) == [Span(0, 100)]
    assert uncovered(window, [Span(-5, 105)]) == []


# --------------------------------------------------------------------------- histories


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def _entered(kind: str, name: str, seconds: float) -> dict[str, Any]:
    return {
        "type": f"{kind}StateEntered",
        "timestamp": _at(seconds),
        "stateEnteredEventDetails": {"name": name},
    }


def _exited(kind: str, name: str, seconds: float, output: str = "{}") -> dict[str, Any]:
    return {
        "type": f"{kind}StateExited",
        "timestamp": _at(seconds),
        "stateExitedEventDetails": {"name": name, "output": output},
    }


def _lambda(function: str, seconds: float) -> dict[str, Any]:
    return {
        "type": "TaskScheduled",
        "timestamp": _at(seconds),
        "taskScheduledEventDetails": {
            "resourceType": "lambda",
            "resource": "invoke",
            "parameters": f'{{"FunctionName": "{function}", "Payload": {{}}}}',
        },
    }


def test_state_spans_pair_entries_with_exits_and_close_unexited_states_at_the_end() -> None:
    events = [
        {"type": "ExecutionStarted", "timestamp": _at(0)},
        _entered("Task", "CheckFileSystem", 0),
        _exited("Task", "CheckFileSystem", 1),
        _entered("Wait", "WaitForFileSystem", 1),
        _exited("Wait", "WaitForFileSystem", 31),
        _entered("Fail", "FailRun", 40),
        {"type": "ExecutionFailed", "timestamp": _at(41)},
    ]
    spans = state_spans(events, T0, " (release)")
    assert [(s.name, s.type, s.start, s.end) for s in spans] == [
        ("CheckFileSystem (release)", "Task", 0, 1),
        ("WaitForFileSystem (release)", "Wait", 1, 31),
        ("FailRun (release)", "Fail", 40, 41),
    ]


def test_run_config_is_load_config_s_output() -> None:
    events = [
        _entered("Task", "LoadConfig", 0),
        _exited("Task", "LoadConfig", 1, '{"config": {"ebsSizeGb": 500}, "run": {}}'),
    ]
    assert run_config(events) == {"ebsSizeGb": 500}
    with pytest.raises(ValueError, match="LoadConfig"):
        run_config(events[:1])


def test_lambda_use_counts_every_scheduled_invoke_at_its_function_s_memory() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:check"
    histories = [[_lambda(arn, 0), _lambda(arn, 30)], [_lambda("release", 90)]]
    use = lambda_use(histories, {arn: 256, "release": 1024})
    # Each invocation takes the rehearsal's 1 s: 2 x 0.25 GB + 1 x 1 GB.
    assert (use.invocations, use.gb_seconds) == (3, 1.5)
    assert lambda_use([[_lambda(f"{arn}:$LATEST", 0)]], {"check": 128}).gb_seconds == 0.125
    with pytest.raises(ValueError, match="MemorySize"):
        lambda_use(histories, {arn: 256})


# --------------------------------------------------------------------------- a whole run


def _summary() -> Summary:
    return Summary(
        scenario="hand-made",
        mode="TaskExport",
        execution="run",
        status="SUCCEEDED",
        error=None,
        cause=None,
        states=[],
        transitions=0,
        jobAttempts=2,
        jobStatus="SUCCEEDED",
        jobs=1,
        created={},
        leaked=[],
        retained=[],
    )


def _job(submitted: float, runs: list[tuple[float, float]], end: float) -> JobRecord:
    return JobRecord(
        job_id="job-1",
        execution_arn=RUN,
        submitted_at=T0 + submitted,
        schedule=JobSchedule(
            runs=tuple(AttemptRun(JobOutcome(), T0 + start, T0 + stop) for start, stop in runs),
            end=T0 + end,
        ),
        now=lambda: T0 + 1e6,
    )


def _observed(sim: Simulation, events: list[dict[str, Any]], end: float) -> Observed:
    return Observed(
        summary=_summary(),
        events=events,
        releases=[],
        simulation=sim,
        arns=frozenset({RUN}),
        jobs=list(sim.jobs.values()),
        started=T0,
        end=T0 + end,
    )


def task_export_run() -> Simulation:
    """A TaskExport run: file system created at 0, AVAILABLE at 300; association created at
    310, AVAILABLE at 370; job submitted at 440, reclaimed at 4040, ended at 7640; export
    task 7765 to 8366; file system deleted at 8368. Another run's file system is ignored."""
    sim = Simulation()
    fs, dra, task = "fs-1", "dra-1", "task-1"
    sim.created += [
        Created("fsx:file-system", fs, RUN, T0),
        Created("fsx:data-repository-association", dra, RUN, T0 + 310),
        Created("batch:compute-environment", "ce", RUN, T0 + 376),
        Created("fsx:data-repository-task", task, RUN, T0 + 7765),
        Created("fsx:file-system", "fs-other", "another run", T0 + 5),
    ]
    sim.lifecycles += [
        Lifecycle("fsx:file-system", fs, RUN, "AVAILABLE", T0 + 300),
        Lifecycle("fsx:data-repository-association", dra, RUN, "AVAILABLE", T0 + 370),
        Lifecycle("fsx:data-repository-task", task, RUN, "EXECUTING", T0 + 7766),
        Lifecycle("fsx:data-repository-task", task, RUN, "SUCCEEDED", T0 + 8366),
    ]
    sim.released += [
        Released("batch:compute-environment", "ce", RUN, T0 + 7733),
        Released("fsx:file-system", fs, RUN, T0 + 8368),
    ]
    sim.jobs["job-1"] = _job(440, [(440, 4040), (4040, JOB_END)], JOB_END)
    return sim


def test_overhead_is_the_storage_lifetime_less_the_aws_work() -> None:
    timeline = timeline_of(_observed(task_export_run(), [], 9000))
    assert timeline.storage == Span(0, 8368, "storage")
    assert [(s.label, s.start, s.end) for s in timeline.work] == [
        (STORAGE_CREATING, 0, 300),
        (ASSOCIATION_CREATING, 310, 370),
        (EXPORT, 7765, 8366),
        (JOB, 440, 7640),
    ]
    # 8368 s less 300 + 60 + 7200 + 601 of AWS work.
    assert timeline.overhead_seconds == pytest.approx(207)
    assert timeline.job_end == 7640
    assert timeline.compute_deleted == 7733
    assert timeline.instance_seconds == 7200


def test_gaps_add_up_to_the_overhead_and_name_the_states_in_them() -> None:
    events = [
        _entered("Wait", "WaitForFileSystem", 280),
        _exited("Wait", "WaitForFileSystem", 310),
        _entered("Parallel", "RunJobWithDeadline", 430),
        _entered("Task", "PrepareCompute", 370),
        _exited("Task", "PrepareCompute", 376),
        _entered("Wait", "WaitForCompute", 376),
        _exited("Wait", "WaitForCompute", 436),
        _exited("Parallel", "RunJobWithDeadline", 7641),
    ]
    timeline = timeline_of(_observed(task_export_run(), events, 9000))
    gaps = timeline.gaps()
    assert [(g.start, g.end) for g in gaps] == [(300, 310), (370, 440), (7640, 7765), (8366, 8368)]
    assert sum(g.seconds for g in gaps) == pytest.approx(timeline.overhead_seconds)
    assert gaps[0].states == (("WaitForFileSystem", 10),)
    # The Parallel state holds the others: the gap is theirs, not its.
    assert gaps[1].states == (("PrepareCompute", 6), ("WaitForCompute", 60))


def test_an_association_update_is_aws_work_until_it_is_available_again() -> None:
    sim = task_export_run()
    dra = "dra-1"
    sim.lifecycles += [
        Lifecycle("fsx:data-repository-association", dra, RUN, "UPDATING", T0 + 8000),
        Lifecycle("fsx:data-repository-association", dra, RUN, "AVAILABLE", T0 + 8060),
    ]
    timeline = timeline_of(_observed(sim, [], 9000))
    assert Span(8000, 8060, ASSOCIATION_UPDATING) in timeline.work
    # The update overlaps the export task (7765 to 8366): the overhead is unchanged.
    assert timeline.overhead_seconds == pytest.approx(207)


def test_auto_export_queue_is_aws_work_until_its_empty_datapoint_can_be_read() -> None:
    sim = task_export_run()
    # The job ends at T0 + 7640 = 1_007_660 s, 20 s past a minute: the first datapoint is
    # the minute from 1_007_700 (40 s later), as the emulated FSx publishes it.
    first = 1_007_700.0
    values = [120.0, 60.0, 0.0, 0.0]
    sim.metrics += [
        Published("fs-1", RUN, first + 60 * index, value) for index, value in enumerate(values)
    ]
    timeline = timeline_of(_observed(sim, [], 9000))
    # Last non-zero datapoint: the minute from first + 60; the 0 after it describes the
    # minute from first + 120 and can be read at first + 180 = T0 + 7860.
    assert Span(JOB_END, first + 180 - T0, QUEUE) in timeline.work


def test_a_queue_that_never_read_non_zero_is_busy_until_its_first_datapoint_can_be_read() -> None:
    sim = task_export_run()
    sim.metrics.append(Published("fs-1", RUN, 1_007_700.0, 0.0))
    timeline = timeline_of(_observed(sim, [], 9000))
    assert Span(JOB_END, 1_007_760.0 - T0, QUEUE) in timeline.work


def test_storage_never_deleted_lives_until_the_rehearsal_ended() -> None:
    sim = task_export_run()
    sim.released = [r for r in sim.released if r.kind != "fsx:file-system"]
    timeline = timeline_of(_observed(sim, [], 9000))
    assert timeline.storage == Span(0, 9000, "storage")
    assert timeline.overhead_seconds == pytest.approx(9000 - 8161)


def test_a_run_without_storage_has_no_overhead() -> None:
    timeline = timeline_of(_observed(Simulation(), [], 100))
    assert timeline.storage is None
    assert timeline.overhead_seconds is None
    assert timeline.gaps() == []
