"""The original design's model (tools/bench/original.py) on hand-made AWS work, with the
figures worked out by hand: a loop sees its event half its interval after it, plus its check's
1 s invocation; waits of a loop = waiting / interval + 1/2; transitions = 3 x waits + 2."""

import pytest

from tools.bench.original import OriginalDesign, Work, loop, model

WORK = Work(storage=300, job=7200, association=60, export=600, queue=180)


def test_a_loop_sees_its_event_half_an_interval_late_on_average() -> None:
    wait = loop("job poll", 7200, 300)
    # 7200 / 300 + 1/2 = 24.5 waits: 25.5 checks and choices, 75.5 transitions.
    assert (wait.seconds, wait.transitions, wait.invocations) == (151, 75.5, 25.5)


def test_a_loop_whose_event_came_first_checks_once() -> None:
    wait = loop("drain check", -10, 300)
    assert (wait.seconds, wait.transitions, wait.invocations) == (1, 2, 1)


def test_only_ebs() -> None:
    modeled = model(WORK, lustre=False, task_export=False, auto_export=False)
    # Storage poll 15 + 1, submit 1, job poll 150 + 1, delete 1.
    assert modeled.overhead_seconds == 169
    assert modeled.storage_seconds == 300 + 7200 + 169
    # create 1, storage loop 3 x 10.5 + 2, submit 1, job loop 75.5, delete 1, Succeed 1.
    assert modeled.transitions == pytest.approx(113)
    # create, 11.5 storage checks, submit, 25.5 job checks, delete.
    assert modeled.invocations == pytest.approx(40)


def test_task_export() -> None:
    modeled = model(WORK, lustre=True, task_export=True, auto_export=False)
    # OnlyEBS's 169 s, the association poll 15 + 1, start export 1, export poll 150 + 1.
    assert modeled.overhead_seconds == 169 + 16 + 1 + 151
    assert modeled.storage_seconds == 300 + 60 + 7200 + 600 + 337
    # OnlyEBS's 113, association loop 3 x 2.5 + 2, start export 1, export loop 3 x 2.5 + 2.
    assert modeled.transitions == pytest.approx(113 + 9.5 + 1 + 9.5)
    assert [w.label for w in modeled.waits] == [
        "storage poll (30 s)",
        "association poll (30 s)",
        "submit job",
        "job poll (300 s)",
        "start export",
        "export poll (300 s)",
        "delete storage",
    ]


def test_auto_export_waits_a_look_back_after_the_queue_emptied() -> None:
    modeled = model(WORK, lustre=True, task_export=False, auto_export=True)
    # The job poll's 151 s pass while the queue drains (180 s): no overhead. The look-back
    # of 900 s holds only zeros 840 s after the empty datapoint can be read; the drain
    # check sees it 150 + 1 s later; then the delete step.
    assert modeled.overhead_seconds == pytest.approx(16 + 16 + 1 + 0 + 840 + 151 + 1)
    assert modeled.storage_seconds == pytest.approx(300 + 60 + 7200 + 180 + 1025)
    # The drain loop starts when the job is seen done: 180 + 840 - 151 = 869 s before its
    # event, 869 / 300 + 1/2 waits.
    drain = 869 / 300 + 0.5
    assert modeled.transitions == pytest.approx(113 + 9.5 + 3 * drain + 2)


def test_auto_export_whose_job_poll_outlasts_the_look_back() -> None:
    slow = OriginalDesign(job_poll=3000)
    modeled = model(WORK, lustre=True, task_export=False, auto_export=True, design=slow)
    # The job is seen 1501 s after its end, past the queue (180 s) and the look-back (840 s
    # more): the first drain check deletes at once.
    assert modeled.overhead_seconds == pytest.approx(16 + 16 + 1 + (1501 - 180) + 0 + 1 + 1)


def test_transitions_grow_with_the_job_s_length() -> None:
    short = model(Work(storage=300, job=3600), lustre=False, task_export=False, auto_export=False)
    day = model(Work(storage=300, job=86400), lustre=False, task_export=False, auto_export=False)
    assert day.transitions - short.transitions == pytest.approx(3 * (86400 - 3600) / 300)
    assert day.overhead_seconds == short.overhead_seconds
