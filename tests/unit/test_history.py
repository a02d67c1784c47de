"""The execution history budget: the loops it counts are the state machines' own, and the
defaults fit in the 25,000 events an execution holds."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchscratch.config import build_config
from batchscratch.errors import InvalidConfiguration
from batchscratch.history import (
    EVENTS_PER_PASS,
    EVENTS_PER_STATE,
    FIXED_EVENTS,
    MAX_HISTORY_EVENTS,
    SYNC_TASK_EVENTS,
    WATCH_SECONDS,
    PollLoop,
    check_history_budget,
    worst_case_events,
)
from batchscratch.modes import MODES
from tests.conftest import REPO

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-job:latest"
SECRETS = {
    "OnlyEBS": {"jobDefinitionContainerImage": IMAGE},
    "TaskExport": {"jobDefinitionContainerImage": IMAGE, "dataRepositoryPath": "s3://bucket/runs/"},
    "AutoExport": {"jobDefinitionContainerImage": IMAGE, "dataRepositoryPath": "s3://bucket/runs/"},
}
RELEASE_ASL = REPO / "statemachine" / "release.asl.json"
RELEASE_WAIT = "$.release.waitSeconds"
"""The release state machine's Wait: the interval its ReleaseRun step chose for this pass."""


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, those of Parallel branches and Map iterators included."""
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key]["States"])


def _definition(path: Path) -> dict[str, dict[str, Any]]:
    return dict(_states(json.loads(path.read_text())["States"]))


def _targets(choice: dict[str, Any]) -> set[str]:
    return {rule["Next"] for rule in choice.get("Choices", [])} | {choice.get("Default", "")}


def _loops(states: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(wait, task, choice)`` of every poll loop: a Wait into a Task into a Choice that can
    go back to the Wait; or a Wait into a Parallel (a resubmission of the job: ``choice``
    empty), which the Parallel's own count bounds."""
    loops = []
    for name, state in states.items():
        if state["Type"] != "Wait":
            continue
        task = state["Next"]
        if states[task]["Type"] == "Parallel":
            loops.append((name, task, ""))
            continue
        choice = states[task].get("Next", "")
        assert states[task]["Type"] == "Task", f"{name} does not wait for a Task"
        assert states[choice]["Type"] == "Choice", f"{task} after {name} goes to no Choice"
        assert name in _targets(states[choice]), f"{choice} never goes back to {name}"
        loops.append((name, task, choice))
    return loops


def _events(state: dict[str, Any]) -> int:
    if state["Type"] == "Task" and str(state.get("Resource", "")).endswith(".sync"):
        return SYNC_TASK_EVENTS
    return EVENTS_PER_STATE[state["Type"]]


MODE_FILES = {REPO / mode.definition_uri: name for name, mode in MODES.items()}
FILES = sorted(REPO.glob("statemachine/*.asl.json"))


def _machine(path: Path) -> str:
    """``run`` for a mode's state machine, ``release`` for the stack's release one."""
    if path in MODE_FILES:
        return "run"
    assert path == RELEASE_ASL, f"{path.name}: a state machine the history budget does not know"
    return "release"


def _listed(path: Path) -> list[Any]:
    """The poll loops listed for ``path``'s state machine (every mode's, for the release)."""
    modes = [MODE_FILES[path]] if path in MODE_FILES else list(MODES)
    return [
        loop
        for mode in modes
        for loop in MODES[mode].config_model.POLL_LOOPS
        if loop.machine == _machine(path)
    ]


def _own_wait(states: dict[str, dict[str, Any]], wait: str, task: str) -> bool:
    """Whether ``wait`` waits what its task chose (``<its ResultPath>.waitSeconds``): at most
    the listed interval, so the loop's bound still holds (CheckJobStart never waits past the
    start deadline)."""
    return states[wait]["SecondsPath"] == f"{states[task].get('ResultPath')}.waitSeconds"


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_wait_is_a_listed_poll_loop(path):
    listed = _listed(path)
    states = _definition(path)

    loops = _loops(states)

    assert loops, "a state machine with no poll loop"
    assert listed, "no poll loop listed for this state machine"
    intervals = {f"$.config.{key}" for loop in listed for key in loop.intervals}
    if _machine(path) == "release":
        intervals = {RELEASE_WAIT}
    steps = {loop.step for loop in listed}
    for wait, task, _ in loops:
        assert task in steps, f"{wait} -> {task}: a loop the history budget does not list"
        seconds = states[wait]["SecondsPath"]
        bounded = [loop for loop in listed if loop.step == task and loop.max_passes]
        assert seconds in intervals or bounded or _own_wait(states, wait, task), (
            f"{wait}: an interval no listed loop has"
        )


@pytest.mark.parametrize("path", sorted(MODE_FILES), ids=lambda path: path.name)
def test_a_listed_loop_waits_on_its_own_interval(path):
    states = _definition(path)
    wait_of = {task: wait for wait, task, _ in _loops(states)}
    checked = 0

    for loop in _listed(path):
        if loop.step in wait_of and loop.timeout is not None:
            wait = wait_of[loop.step]
            seconds = states[wait]["SecondsPath"]
            own = _own_wait(states, wait, loop.step)
            assert own or seconds.removeprefix("$.config.") in loop.intervals, loop
            checked += 1

    assert checked >= 3, "the storage, compute and cleanup loops at least"


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_the_states_outside_the_loops_fit_the_fixed_part(path):
    states = _definition(path)
    in_loops = {name for loop in _loops(states) for name in loop}

    events = 2 + sum(_events(state) for name, state in states.items() if name not in in_loops)

    assert events <= FIXED_EVENTS[_machine(path)]


def test_a_pass_of_a_poll_loop_adds_nine_events():
    # Lambda task: entered, scheduled, started, succeeded, exited; Choice and Wait: 2 each.
    assert EVENTS_PER_PASS == 9


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_defaults_fit_the_history(mode):
    config = build_config(mode, SECRETS[mode], {})

    totals = worst_case_events(type(config).POLL_LOOPS, config.model_dump())

    assert max(totals.values()) <= MAX_HISTORY_EVENTS
    check_history_budget(type(config).POLL_LOOPS, config.model_dump())


def test_the_original_ebs_defaults_fit_with_figures():
    # The original secrets' OnlyEBS intervals, with the default timeouts.
    config = build_config("OnlyEBS", SECRETS["OnlyEBS"], {"waitAfterDetachSeconds": 10})

    totals = worst_case_events(type(config).POLL_LOOPS, config.model_dump())

    # run: the watched loops pass at most every 240 s: storage and compute 1800 // 240 + 1 =
    # 8, job start 3600 // 240 + 1 = 16, cleanup and release 10800 // 240 + 1 = 46; a followed
    # job at most 400 passes of 9; 5 resubmissions of 40.
    assert WATCH_SECONDS == 240
    assert totals == {
        "run": 200 + (8 + 8 + 16 + 46 + 46) * 9 + 400 * 9 + 5 * 40,
        "release": 100 + 1081 * 9,
    }


def loop(*, watched: bool) -> PollLoop:
    return PollLoop(
        "run", "CheckThing", "thingTimeoutSeconds", ("waitForThingSeconds",), watched=watched
    )


@pytest.mark.parametrize(
    ("timeout", "interval", "passes"),
    [
        (1800, 10, 1800 // 240 + 1),  # a pass lasts the watch, whatever the interval
        (1800, 3600, 1800 // 240 + 1),
        (239, 10, 1),
        (240, 10, 2),
        (1800, 0, 1800 + 1),  # hands back after each look: counted as 1 s
    ],
)
def test_a_watched_loop_passes_once_per_watch(timeout, interval, passes):
    values = {"thingTimeoutSeconds": timeout, "waitForThingSeconds": interval}

    assert loop(watched=True).passes(values) == passes


@pytest.mark.parametrize(
    ("timeout", "interval", "passes"),
    [(1800, 10, 181), (1800, 3600, 1), (1800, 0, 1801)],
)
def test_a_loop_that_does_not_watch_passes_once_per_interval(timeout, interval, passes):
    values = {"thingTimeoutSeconds": timeout, "waitForThingSeconds": interval}

    assert loop(watched=False).passes(values) == passes


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_loops_of_watching_steps_are_counted_as_watched(mode):
    """A loop counts as watched exactly when its step watches (``Step.interval``), on that
    interval: counted otherwise, the budget would be too low (a watched loop counted as not)
    or refuse good configurations (the other way round)."""
    steps = {step.name: step for step in MODES[mode].steps}

    watched = set()
    for listed in MODES[mode].config_model.POLL_LOOPS:
        step = steps.get(listed.step)  # RunJobWithDeadline is a Parallel, not a step
        if listed.machine != "run" or step is None:
            assert not listed.watched, listed.step
            continue
        assert listed.watched is (step.interval is not None), listed.step
        if listed.watched:
            assert listed.intervals == (step.interval,), listed.step
            watched.add(listed.step)
    assert watched == {name for name, step in steps.items() if step.interval is not None}


@pytest.mark.parametrize(
    ("mode", "overlay", "named"),
    [
        (
            "OnlyEBS",
            {"waitAfterDetachSeconds": 0},
            "ReleaseVolume: cleanupTimeoutSeconds = 10800 / waitAfterDetachSeconds = 0 -> "
            "10,801 polls (97,209 events)",
        ),
        (
            "TaskExport",
            {"waitForDataRepositoryTaskSeconds": 0},
            "CheckExport: exportTimeoutSeconds = 21600 / waitForDataRepositoryTaskSeconds = 0",
        ),
        (
            # A watched loop passes once per watch (240 s): only a very long limit overflows.
            "AutoExport",
            {"drainTimeoutSeconds": 864000},
            "CheckDrain: drainTimeoutSeconds = 864000 / waitForCheckMetricsSeconds = 60 -> "
            "3,601 polls (32,409 events)",
        ),
        (
            # An interval of 0 hands back after each look: the watch saves nothing.
            "OnlyEBS",
            {"waitForComputeSeconds": 0},
            "CleanUpCompute: cleanupTimeoutSeconds = 10800 / waitForComputeSeconds = 0",
        ),
    ],
)
def test_loops_that_could_exceed_the_history_are_refused_with_the_figure(mode, overlay, named):
    config = build_config(mode, SECRETS[mode], overlay)
    loops, values = type(config).POLL_LOOPS, config.model_dump()
    figure = worst_case_events(loops, values)["run"]

    with pytest.raises(InvalidConfiguration) as refused:
        check_history_budget(loops, values)

    message = str(refused.value)
    assert f"could add up to {figure:,} history events, more than the 25,000" in message
    assert named in message
