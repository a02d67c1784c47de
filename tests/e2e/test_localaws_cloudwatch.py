"""The CloudWatch part of the local AWS (``tools.localaws.patches.cloudwatch``): the AutoExport
metric and ``StartTime`` rounded as CloudWatch rounds it.

The canaries here fail when moto starts doing what the workaround adds (then the workaround
is to be removed), or stops doing what the rehearsal relies on.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools.localaws.patches import Patcher, cloudwatch

DIMENSIONS: list[Any] = [
    {"Name": "FileSystemId", "Value": "fs-0123456789abcdef0"},
    {"Name": "Publisher", "Value": "AutoExport"},
]
QUERY = [
    {
        "Id": "queue",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/FSx",
                "MetricName": "AgeOfOldestQueuedMessage",
                "Dimensions": DIMENSIONS,
            },
            "Period": 60,
            "Stat": "Maximum",
        },
        "ReturnData": True,
    }
]
MINUTE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        cw.put_metric_data(
            Namespace="AWS/FSx",
            MetricData=[
                {
                    "MetricName": "AgeOfOldestQueuedMessage",
                    "Dimensions": DIMENSIONS,
                    "Timestamp": MINUTE + timedelta(seconds=seconds),
                    "Value": value,
                }
                for seconds, value in ((10, 120.0), (50, 30.0), (70, 0.0))
            ],
        )
        yield cw


def query(cw: Any, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    (result,) = cw.get_metric_data(
        MetricDataQueries=QUERY, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )["MetricDataResults"]
    return [
        (t.astimezone(UTC), v) for t, v in zip(result["Timestamps"], result["Values"], strict=True)
    ]


def test_moto_answers_a_plain_metric_stat_query_with_the_maximum(client: Any) -> None:
    points = query(client, MINUTE, MINUTE + timedelta(minutes=5))
    assert points == [(MINUTE, 120.0), (MINUTE + timedelta(minutes=1), 0.0)]


def test_moto_still_starts_periods_at_the_unrounded_start_time(client: Any) -> None:
    # CloudWatch rounds 00:30 down to 00:00: one period [00:00, 01:00) holding 120 and 30.
    # moto starts the period at 00:30; when this fails, moto rounds and the workaround goes.
    start = MINUTE + timedelta(seconds=30)
    points = query(client, start, start + timedelta(minutes=5))
    assert points[0] == (start, 30.0)


def test_workaround_rounds_the_start_time_down_to_the_minute(client: Any) -> None:
    with Patcher() as patcher:
        cloudwatch.install(patcher)
        start = MINUTE + timedelta(seconds=30)
        points = query(client, start, start + timedelta(minutes=5))
    assert points == [(MINUTE, 120.0), (MINUTE + timedelta(minutes=1), 0.0)]


@pytest.mark.parametrize(
    ("start", "age", "period", "rounded"),
    [
        ("12:32:34", timedelta(hours=1), 60, "12:32:00"),
        ("12:32:34", timedelta(days=14), 300, "12:32:00"),
        ("12:32:34", timedelta(days=20), 60, "12:30:00"),
        ("12:32:34", timedelta(days=70), 60, "12:00:00"),
        ("01:05:23", timedelta(minutes=1), 10, "01:05:20"),
        ("15:02:17", timedelta(minutes=5), 5, "15:02:15"),
    ],
)
def test_start_time_is_rounded_as_cloudwatch_documents(
    start: str, age: timedelta, period: int, rounded: str
) -> None:
    day = datetime(2030, 5, 17, tzinfo=UTC)
    given = datetime.combine(day, datetime.strptime(start, "%H:%M:%S").time(), UTC)
    expected = datetime.combine(day, datetime.strptime(rounded, "%H:%M:%S").time(), UTC)
    assert cloudwatch.round_start_time(given, given + age, period) == expected
