"""A check step watches within its invocation (batchscratch.polling.watch): it looks, pauses
with a back-off and looks again until done, for at most WATCH_SECONDS and never closer than
WATCH_MARGIN_SECONDS to the invocation's timeout, then hands the next pause to its Wait."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber
from pydantic import BaseModel

from batchscratch import aws as layer_aws
from batchscratch.errors import StorageFailed, StorageTimeout
from batchscratch.history import WATCH_MARGIN_SECONDS, WATCH_SECONDS
from batchscratch.polling import (
    end_invocation,
    next_look_seconds,
    start_invocation,
    waiting_since,
    watch,
)
from batchscratch.run import seconds_since
from functions.check_volume import app as check_volume
from tests.conftest import FakeLambdaContext, load_event
from tests.unit.conftest import FakeClock


class Status(BaseModel):
    """A check's result, as a check step's output model has it."""

    ready: bool
    state: str
    waitingSince: str
    waitSeconds: int = 0


@dataclass
class Check:
    """A check that keeps the wait's start, as a check step does: its ``state`` reads
    ``same``, and ``changed`` once ``changes_after`` seconds were waited; ``ready`` after
    ``ready_after`` seconds; it raises ``StorageTimeout`` at its ``fails_at``-th look."""

    ready_after: float | None = None
    fails_at: int | None = None
    changes_after: float | None = None
    looks: int = 0

    def __call__(self, previous: dict[str, Any] | None) -> Status:
        self.looks += 1
        if self.looks == self.fails_at:
            raise StorageTimeout("the thing took too long")
        since = waiting_since(previous)
        waited = seconds_since(since)
        ready = self.ready_after is not None and waited >= self.ready_after
        changed = self.changes_after is not None and waited >= self.changes_after
        return Status(ready=ready, state="changed" if changed else "same", waitingSince=since)


@contextmanager
def invocation(milliseconds: int) -> Iterator[None]:
    """Inside a Lambda invocation with ``milliseconds`` left (as ``step_handler`` records)."""
    token = start_invocation(milliseconds)
    try:
        yield
    finally:
        end_invocation(token)


def ready(status: Status) -> bool:
    return status.ready


def test_outside_an_invocation_a_watch_looks_once(fake_clock: FakeClock) -> None:
    """A direct call (a test, a script) never pauses: the Wait takes the pause."""
    check = Check()

    status = watch(check, None, done=ready, interval_seconds=10)

    assert check.looks == 1
    assert fake_clock.pauses == []
    assert status.waitSeconds == 2  # the first pause of a wait


def test_a_watch_that_is_done_at_once_asks_for_no_wait(fake_clock: FakeClock) -> None:
    check = Check(ready_after=0)
    with invocation(300_000):
        status = watch(check, None, done=ready, interval_seconds=10)

    assert (status.ready, check.looks, status.waitSeconds) == (True, 1, 0)
    assert fake_clock.pauses == []


def test_inside_an_invocation_a_watch_backs_off_until_done(fake_clock: FakeClock) -> None:
    """Every 2 s at first, then a quarter of the time waited: a wait of half a minute is
    noticed within 3 s of its end, in one invocation."""
    check = Check(ready_after=30)
    with invocation(300_000):
        status = watch(check, None, done=ready, interval_seconds=10)

    assert fake_clock.pauses == [2, 2, 2, 2, 2, 2, 3, 3, 4, 5, 6]
    assert (status.ready, check.looks, status.waitSeconds) == (True, 12, 0)
    assert seconds_since(status.waitingSince) == 33  # one wait, kept across the looks


def test_the_pauses_never_exceed_the_interval(fake_clock: FakeClock) -> None:
    with invocation(300_000):
        watch(Check(), None, done=ready, interval_seconds=5)

    assert max(fake_clock.pauses) == 5
    assert fake_clock.pauses[:8] == [2, 2, 2, 2, 2, 2, 3, 3]


def test_a_change_of_the_answer_restarts_the_back_off(fake_clock: FakeClock) -> None:
    """What follows a change (a file system AVAILABLE, its association being created) is
    looked at soon again."""
    with invocation(300_000):
        watch(Check(changes_after=20), None, done=ready, interval_seconds=10)

    assert fake_clock.pauses[:12] == [2, 2, 2, 2, 2, 2, 3, 3, 4, 2, 2, 2]


def test_a_watch_hands_back_before_its_watch_seconds(fake_clock: FakeClock) -> None:
    """However much time the invocation has left, a watch lasts WATCH_SECONDS at most (the
    history budget counts one pass per watch), and hands the next pause to its Wait."""
    check = Check()
    with invocation(3_600_000):
        status = watch(check, None, done=ready, interval_seconds=10)

    watched = sum(fake_clock.pauses)
    assert watched <= WATCH_SECONDS < watched + status.waitSeconds
    assert (watched, status.waitSeconds) == (231, 10)
    assert check.looks == len(fake_clock.pauses) + 1
    assert status.ready is False


def test_a_watch_keeps_its_margin_to_the_invocation_s_timeout(fake_clock: FakeClock) -> None:
    """Two minutes left: the watch ends WATCH_MARGIN_SECONDS before the timeout, so that
    the last look and the answer never time out."""
    with invocation(120_000):
        status = watch(Check(), None, done=ready, interval_seconds=10)

    watched = sum(fake_clock.pauses)
    assert watched <= 120 - WATCH_MARGIN_SECONDS < watched + status.waitSeconds
    assert (watched, status.waitSeconds) == (51, 10)


def test_with_no_more_than_the_margin_left_a_watch_looks_once(fake_clock: FakeClock) -> None:
    check = Check()
    with invocation(WATCH_MARGIN_SECONDS * 1000):
        watch(check, None, done=ready, interval_seconds=10)

    assert (check.looks, fake_clock.pauses) == (1, [])


def test_a_watch_goes_on_from_the_step_s_earlier_result(fake_clock: FakeClock) -> None:
    """The state machine's next invocation continues the same wait: its pauses go on from
    the time already waited."""
    earlier = Status(ready=False, state="same", waitingSince=waiting_since(None)).model_dump()
    fake_clock.advance(100)
    check = Check(ready_after=125)

    with invocation(300_000):
        status = watch(check, earlier, done=ready, interval_seconds=60)

    assert fake_clock.pauses == [25]  # a quarter of the 100 s waited
    assert (status.ready, check.looks) == (True, 2)
    assert status.waitingSince == earlier["waitingSince"]


def test_a_look_that_raises_ends_the_watch_with_its_error(fake_clock: FakeClock) -> None:
    with invocation(300_000), pytest.raises(StorageTimeout, match="took too long"):
        watch(Check(fails_at=3), None, done=ready, interval_seconds=10)

    assert fake_clock.pauses == [2, 2]


def test_the_step_s_own_pause_replaces_the_back_off(fake_clock: FakeClock) -> None:
    with invocation(300_000):
        status = watch(
            Check(ready_after=20), None, done=ready, interval_seconds=10, pause=lambda _: 7
        )

    assert fake_clock.pauses == [7, 7, 7]
    assert status.ready is True


def test_the_step_s_own_pause_is_capped_by_the_interval(fake_clock: FakeClock) -> None:
    status = watch(Check(), None, done=ready, interval_seconds=10, pause=lambda _: 45)

    assert status.waitSeconds == 10


def test_an_interval_of_0_hands_back_after_each_look(fake_clock: FakeClock) -> None:
    """waitFor…Seconds = 0: one look per invocation, no pause, a Wait of 0 s."""
    check = Check()
    with invocation(300_000):
        status = watch(check, None, done=ready, interval_seconds=0)

    assert (check.looks, status.waitSeconds, fake_clock.pauses) == (1, 0, [])


def test_an_ended_invocation_is_forgotten(fake_clock: FakeClock) -> None:
    with invocation(300_000):
        pass
    check = Check()

    watch(check, None, done=ready, interval_seconds=10)

    assert (check.looks, fake_clock.pauses) == (1, [])


@pytest.mark.parametrize(
    ("waited", "interval", "seconds"),
    [
        (0, 10, 2),  # the first pause
        (7.9, 10, 2),  # a quarter, at least 2
        (12, 10, 3),
        (39, 10, 9),
        (40, 10, 10),
        (4000, 10, 10),  # at most the interval
        (1000, 300, 250),
        (0, 1, 1),
        (0, 0, 0),
    ],
)
def test_next_look_seconds(waited: float, interval: int, seconds: int) -> None:
    assert next_look_seconds(waited, interval) == seconds


# The handlers: step_handler records the invocation's remaining time, so a handler's watch
# pauses within it.


def volume_answers(stub: Stubber, volume_id: str, *states: str) -> None:
    for state in states:
        stub.add_response(
            "describe_volumes",
            {"Volumes": [{"VolumeId": volume_id, "State": state}]},
            {"VolumeIds": [volume_id]},
        )


def test_a_check_step_watches_within_its_invocation(aws: None, fake_clock: FakeClock) -> None:
    event = load_event("check_volume")
    volume_id = event["volume"]["volumeId"]
    with Stubber(layer_aws.client("ec2")) as ec2:
        volume_answers(ec2, volume_id, "creating", "creating", "available")
        status = check_volume.lambda_handler(event, FakeLambdaContext(remaining_millis=300_000))
        ec2.assert_no_pending_responses()

    assert fake_clock.pauses == [2, 2]
    assert (status["ready"], status["waitSeconds"]) == (True, 0)


def test_a_check_step_with_a_minute_left_looks_once(aws: None, fake_clock: FakeClock) -> None:
    event = load_event("check_volume")
    volume_id = event["volume"]["volumeId"]
    with Stubber(layer_aws.client("ec2")) as ec2:
        volume_answers(ec2, volume_id, "creating")
        status = check_volume.lambda_handler(event, FakeLambdaContext(remaining_millis=60_000))
        ec2.assert_no_pending_responses()

    assert fake_clock.pauses == []
    assert (status["ready"], status["waitSeconds"]) == (False, 2)


def test_the_handler_forgets_its_invocation_when_the_step_fails(
    aws: None, fake_clock: FakeClock
) -> None:
    event = load_event("check_volume")
    volume_id = event["volume"]["volumeId"]
    with Stubber(layer_aws.client("ec2")) as ec2:
        volume_answers(ec2, volume_id, "creating", "error")
        with pytest.raises(StorageFailed, match="is in state error"):
            check_volume.lambda_handler(event, FakeLambdaContext(remaining_millis=300_000))

    check = Check()
    watch(check, None, done=ready, interval_seconds=10)

    assert fake_clock.pauses == [2]  # the handler's, none after it
    assert check.looks == 1
