"""The AutoExport drain rule: prompt, and never fooled by missing data."""

from datetime import UTC, datetime, timedelta

from batchscratch.drain import Datapoint, drain_verdict

JOB_END = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NOW = JOB_END + timedelta(minutes=30)
QUIET = timedelta(minutes=15)


def points(*minutes_and_values: tuple[float, float]) -> list[Datapoint]:
    return [Datapoint(JOB_END + timedelta(minutes=m), v) for m, v in minutes_and_values]


def test_zeros_after_the_job_in_the_window_mean_drained():
    verdict = drain_verdict(points((20, 0), (25, 0), (30, 0)), JOB_END, NOW, QUIET)

    assert verdict.drained is True
    assert verdict.considered == 3


def test_datapoints_only_before_the_jobs_end_are_not_drained():
    verdict = drain_verdict(points((-10, 0), (-5, 0), (-1, 0)), JOB_END, NOW, QUIET)

    assert verdict.drained is False
    assert verdict.considered == 0


def test_an_empty_series_is_never_drained():
    verdict = drain_verdict([], JOB_END, NOW, QUIET)

    assert verdict.drained is False
    assert "no datapoint" in verdict.reason


def test_a_mix_of_zero_and_non_zero_in_the_window_is_not_drained():
    verdict = drain_verdict(points((20, 0), (25, 42), (30, 0)), JOB_END, NOW, QUIET)

    assert verdict.drained is False
    assert verdict.reason == "1 of 3 datapoints > 0 (max 42 s)"


def test_non_zero_before_the_window_does_not_hold_the_drain():
    verdict = drain_verdict(points((5, 300), (16, 0), (30, 0)), JOB_END, NOW, QUIET)

    assert verdict.drained is True
    assert verdict.considered == 2


def test_a_datapoint_exactly_at_the_windows_start_is_inside_it():
    at_start = points((15, 120), (20, 0))
    just_before = points((14.99, 120), (20, 0))

    assert drain_verdict(at_start, JOB_END, NOW, QUIET).drained is False
    assert drain_verdict(just_before, JOB_END, NOW, QUIET).drained is True


def test_no_verdict_before_a_whole_quiet_window_has_passed_since_the_job():
    """A queue can read 0 right after the job, before FSx queued the last changes."""
    early = JOB_END + timedelta(minutes=5)

    verdict = drain_verdict(points((1, 0), (2, 0), (3, 0)), JOB_END, early, QUIET)

    assert verdict.drained is False
    assert "not yet over" in verdict.reason


def test_a_window_starting_exactly_at_the_jobs_end_counts():
    now = JOB_END + QUIET

    verdict = drain_verdict(points((0, 0), (10, 0), (15, 0)), JOB_END, now, QUIET)

    assert verdict.drained is True


def test_a_rise_after_an_early_zero_holds_the_drain():
    verdict = drain_verdict(points((1, 0), (10, 300), (20, 600)), JOB_END, NOW, QUIET)

    assert verdict.drained is False
