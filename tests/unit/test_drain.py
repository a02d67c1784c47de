"""The AutoExport drain rule: prompt, judged on whole periods after the job, and never fooled
by missing data."""

from datetime import UTC, datetime, timedelta

import pytest

from batchscratch.drain import Datapoint, drain_verdict, query_start

JOB_END = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
NOW = JOB_END + 30 * MINUTE
QUIET = 15 * MINUTE
PERIOD = MINUTE

# (period in seconds, quiet window in minutes): windows of whole periods and windows that
# are not (12 min at 300 s, 25 at 600 s, 150 at 3600 s), at the periods users choose.
WINDOWS = [(60, 15), (60, 2), (300, 10), (300, 12), (600, 20), (600, 25), (3600, 120), (3600, 150)]


def points(*minutes_and_values: tuple[float, float]) -> list[Datapoint]:
    return [Datapoint(JOB_END + m * MINUTE, v) for m, v in minutes_and_values]


def series(period: timedelta, values: list[float], first: datetime = JOB_END) -> list[Datapoint]:
    """One datapoint per period from ``first`` on, as CloudWatch returns them."""
    return [Datapoint(first + i * period, v) for i, v in enumerate(values)]


def test_zeros_after_the_job_in_the_window_mean_drained():
    verdict = drain_verdict(series(PERIOD, [0] * 30), JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is True
    assert verdict.considered == 15  # the minutes 15 (at the window's start) to 29


def test_datapoints_only_before_the_jobs_end_are_not_drained():
    verdict = drain_verdict(points((-10, 0), (-5, 0), (-1, 0)), JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is False
    assert verdict.considered == 0


def test_an_empty_series_is_never_drained():
    verdict = drain_verdict([], JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is False
    assert "no datapoint" in verdict.reason


def test_a_mix_of_zero_and_non_zero_in_the_window_is_not_drained():
    values = [0] * 30
    values[25] = 42
    verdict = drain_verdict(series(PERIOD, values), JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is False
    assert verdict.reason == "1 of 15 datapoints > 0 (max 42 s)"


def test_non_zero_before_the_window_does_not_hold_the_drain():
    values = [300] * 10 + [0] * 20  # busy for the first 10 minutes after the job
    verdict = drain_verdict(series(PERIOD, values), JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is True


def test_a_value_in_the_period_that_holds_the_windows_start_holds_the_drain():
    """Periods stamped on the half minute: the one stamped 12:14:30 holds the window's start
    (12:15:00); an age in it may lie inside the window, so it is judged."""
    later = series(PERIOD, [0] * 15, JOB_END + 15.5 * MINUTE)
    holding_start = JOB_END + 14.5 * MINUTE

    busy = drain_verdict([Datapoint(holding_start, 120), *later], JOB_END, NOW, QUIET, PERIOD)
    quiet = drain_verdict([Datapoint(holding_start, 0), *later], JOB_END, NOW, QUIET, PERIOD)
    uncovered = drain_verdict(later, JOB_END, NOW, QUIET, PERIOD)

    assert (busy.drained, quiet.drained, uncovered.drained) == (False, True, False)
    assert "covered only from" in uncovered.reason


def test_no_verdict_before_a_whole_quiet_window_has_passed_since_the_job():
    """A queue can read 0 right after the job, before FSx queued the last changes."""
    early = JOB_END + 5 * MINUTE

    verdict = drain_verdict(series(PERIOD, [0, 0, 0, 0]), JOB_END, early, QUIET, PERIOD)

    assert verdict.drained is False
    assert "not yet over" in verdict.reason


def test_a_window_starting_exactly_at_the_jobs_end_counts():
    now = JOB_END + QUIET

    verdict = drain_verdict(series(PERIOD, [0] * 15), JOB_END, now, QUIET, PERIOD)

    assert verdict.drained is True


def test_a_rise_after_an_early_zero_holds_the_drain():
    verdict = drain_verdict(points((1, 0), (10, 300), (20, 600)), JOB_END, NOW, QUIET, PERIOD)

    assert verdict.drained is False


@pytest.mark.parametrize(("period_seconds", "quiet_minutes"), WINDOWS)
def test_a_period_that_began_before_the_jobs_end_never_counts(period_seconds, quiet_minutes):
    """Its value mixes in the last moments of the job: neither its 0 nor its age is judged."""
    period, quiet = timedelta(seconds=period_seconds), timedelta(minutes=quiet_minutes)
    straddling = JOB_END - timedelta(seconds=1)
    now = JOB_END + quiet

    zeros = series(period, [0] * 200, straddling)  # it alone holds the window's start
    verdict = drain_verdict(zeros, JOB_END, now, quiet, period)
    busy_then_zeros = [Datapoint(straddling, 900), *series(period, [0] * 200)]

    assert verdict.drained is False
    assert "covered only from" in verdict.reason
    assert drain_verdict(busy_then_zeros, JOB_END, now, quiet, period).drained is True


@pytest.mark.parametrize(("period_seconds", "quiet_minutes"), WINDOWS)
def test_the_whole_window_is_judged_at_any_period(period_seconds, quiet_minutes):
    """A non-zero datapoint anywhere in the quiet window holds the drain, also in the period
    whose start lies before the window's start; the drain is declared as soon as the window
    lies after the last busy period."""
    period, quiet = timedelta(seconds=period_seconds), timedelta(minutes=quiet_minutes)
    busy_index = 3
    values = [0.0] * 400
    values[busy_index] = 60
    data = series(period, values)
    busy_end = JOB_END + (busy_index + 1) * period  # the busy period covers up to here
    drained_from = busy_end + quiet

    for late in (quiet - timedelta(seconds=1), quiet / 2, timedelta(seconds=1)):
        now = busy_end + late  # the window starts inside the busy period or before its end
        assert drain_verdict(data, JOB_END, now, quiet, period).drained is False, late
    assert drain_verdict(data, JOB_END, drained_from, quiet, period).drained is True


@pytest.mark.parametrize(("period_seconds", "quiet_minutes"), WINDOWS)
def test_a_quiet_series_drains_once_the_window_lies_after_the_job(period_seconds, quiet_minutes):
    period, quiet = timedelta(seconds=period_seconds), timedelta(minutes=quiet_minutes)
    data = series(period, [0.0] * 400)

    before = drain_verdict(data, JOB_END, JOB_END + quiet - timedelta(seconds=1), quiet, period)
    at = drain_verdict(data, JOB_END, JOB_END + quiet, quiet, period)

    assert (before.drained, at.drained) == (False, True)
    assert at.considered == quiet // period + 1  # every period stamped from the job's end on


@pytest.mark.parametrize(("period_seconds", "quiet_minutes"), WINDOWS)
def test_the_query_starts_after_the_job_and_covers_the_windows_start(period_seconds, quiet_minutes):
    """Periods counted from the query's StartTime (whole minutes, as CloudWatch rounds it):
    the first never straddles the job's end, and once the window lies after the job's end,
    the first holds the window's start, so the drain is declared without waiting a period."""
    quiet = timedelta(minutes=quiet_minutes)
    ended = JOB_END + timedelta(seconds=17)

    for now in (ended + quiet / 3, ended + quiet + timedelta(seconds=29), ended + 3 * quiet):
        start = query_start(ended, now, quiet)
        assert start >= ended
        assert start.second == start.microsecond == 0
        if now - quiet >= start:
            assert start <= now - quiet
            assert start > now - quiet - MINUTE
