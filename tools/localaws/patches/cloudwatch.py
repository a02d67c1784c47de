"""CloudWatch in the local AWS: the AutoExport queue metric, as FSx publishes it and
CloudWatch aggregates it.

moto's CloudWatch stores what ``PutMetricData`` is given and answers ``GetMetricData`` for
plain ``MetricStat`` queries (metric math returns nothing). Two things are missing for the
AutoExport drain check, and this module adds them for the duration of a ``Patcher``:

- **The metric.** Nothing publishes ``AgeOfOldestQueuedMessage``. FSx for Lustre publishes
  it (namespace ``AWS/FSx``, dimensions ``FileSystemId`` and ``Publisher=AutoExport``; FSx
  for Lustre User Guide, "Amazon FSx for Lustre metrics") once a minute, the metric's
  resolution, for a file system that exports automatically. Here the scenario's
  ``aws.export.queueAgeSeconds`` scripts it, on the virtual clock: datapoint *i* (0-based)
  describes the *i*-th whole minute that starts at or after the end of the execution's
  Batch job (its timestamp is that minute's start, as CloudWatch's are) and carries the
  list's *i*-th value; past the list the last value repeats every minute, for as long as the
  file system exists and auto-export is enabled on its data repository association. A
  datapoint is put into moto's CloudWatch (``PutMetricData``, the emulated backend's own)
  by the first query made once its minute is over, so a handler never sees one from its
  future. An empty list publishes nothing: the metric does not exist.
- **The start time's rounding.** moto aggregates into periods that start at ``StartTime``
  to the second. CloudWatch first rounds ``StartTime`` down (CloudWatch API Reference,
  GetMetricData and GetMetricStatistics, ``StartTime``): to the whole minute when it is
  less than 15 days ago, to the 5-minute interval up to 63 days, to the hour beyond, and to
  the 5-, 10-, 20- or 30-second division for high-resolution periods. The query is rounded
  the same way before moto answers it, so datapoint timestamps are the starts of whole
  minutes, as in CloudWatch.

What was published is recorded in the simulation (``Simulation.metrics``) for the trace.
Every moto internal used is declared as a ``Target`` beside the code that uses it, with the
signature it was written against; the canary test compares them with the installed moto.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.localaws.patches import fsx
from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import TAG_EXECUTION, Published, Simulation

_GAP = "CloudWatch: no FSx AutoExport metric; StartTime not rounded as CloudWatch does"

NAMESPACE = "AWS/FSx"
METRIC = "AgeOfOldestQueuedMessage"
PUBLISHER = "AutoExport"
RESOLUTION_SECONDS = 60
"""FSx publishes the metric once a minute."""
_PUBLISH_LOCK = threading.Lock()

# --------------------------------------------------------------------------- rounding


def round_start_time(start: datetime, now: datetime, period: int) -> datetime:
    """Round a query's ``StartTime`` down as CloudWatch does.

    Args:
        start: the requested start (naive UTC, as moto parses it, or aware).
        now: the time of the request, in the same form.
        period: the query's (smallest) period in seconds.

    Returns:
        ``start`` rounded down: to the 5-, 10-, 20- or 30-second division for a
        high-resolution ``period``; otherwise to the minute (less than 15 days ago), the
        5-minute interval (up to 63 days) or the hour (older).
    """
    if period < 60:
        step = period
    elif now - start < timedelta(days=15):
        step = 60
    elif now - start < timedelta(days=63):
        step = 300
    else:
        step = 3600
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = int((start - midnight).total_seconds()) // step * step
    return midnight + timedelta(seconds=seconds)


def _now(like: datetime) -> datetime:
    sim = active_simulation()
    now = datetime.fromtimestamp(sim.clock.now() if sim is not None else time.time(), UTC)
    return now if like.tzinfo is not None else now.replace(tzinfo=None)


# --------------------------------------------------------------------------- publishing


def _job_end(sim: Simulation, execution_arn: str) -> float | None:
    ends = [job.ended_at for job in sim.jobs_of(execution_arn) if job.ended_at is not None]
    return max(ends) if ends else None


def _exporting(lustre: fsx.Lustre, file_system_id: str) -> bool:
    return any(
        association.file_system_id == file_system_id
        and association.phases.current not in ("DELETING", fsx.GONE)
        and bool((association.s3.get("AutoExportPolicy") or {}).get("Events"))
        for association in lustre.associations.values()
    )


PUT_METRIC_DATA = Target(
    "cloudwatch_put_metric_data",
    "moto.cloudwatch.models:CloudWatchBackend.put_metric_data",
    "(self, namespace: str, metric_data: list[dict[str, typing.Any]]) -> None",
    f"{_GAP} (datapoints are stored through moto's own PutMetricData)",
    replaced=False,
)
FSX_BACKENDS = Target(
    "fsx_backends",
    "moto.fsx.models:fsx_backends",
    None,
    f"{_GAP} (the file systems whose metric is published)",
    replaced=False,
)


def publish_due(backend: Any, sim: Simulation) -> None:
    """Put every AutoExport datapoint due by now into ``backend`` (one CloudWatch backend).

    Reads the file systems of the FSx backend of the same account and Region; publishes for
    those whose execution's job has ended and whose association exports automatically.
    """
    values = list(sim.behaviour.export.queueAgeSeconds)
    if not values or not sim.enabled:
        return
    fsx_backends = FSX_BACKENDS.resolve()
    try:
        fsx_backend = fsx_backends[backend.account_id][backend.region_name]
    except KeyError:
        return
    with _PUBLISH_LOCK:
        _publish_due(backend, fsx_backend, sim, values)


def _publish_due(backend: Any, fsx_backend: Any, sim: Simulation, values: list[float]) -> None:
    lustre = fsx.lustre_of(fsx_backend)
    now = sim.clock.now()
    with lustre.lock:
        systems = [
            fs
            for fs in lustre.file_systems.values()
            if fs.lifecycle == "AVAILABLE" and _exporting(lustre, fs.file_system_id)
        ]
        tags = {
            fs.file_system_id: {
                t["Key"]: t.get("Value", "") for t in fsx_backend.list_tags_for_resource(fs.arn)
            }
            for fs in systems
        }
    for fs in systems:
        execution = sim.execution_of_tag(tags[fs.file_system_id].get(TAG_EXECUTION))
        ended = _job_end(sim, execution) if execution else None
        if ended is None:
            continue
        first = math.ceil(ended / RESOLUTION_SECONDS) * RESOLUTION_SECONDS
        done = sim.published_count(fs.file_system_id)
        due = int((now - first) // RESOLUTION_SECONDS)
        data: list[dict[str, Any]] = []
        for index in range(done, due):
            stamp = first + index * RESOLUTION_SECONDS
            value = float(values[min(index, len(values) - 1)])
            data.append(
                {
                    "MetricName": METRIC,
                    "Dimensions": [
                        {"Name": "FileSystemId", "Value": fs.file_system_id},
                        {"Name": "Publisher", "Value": PUBLISHER},
                    ],
                    # moto stores and compares naive UTC datetimes
                    "Timestamp": datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None),
                    "Value": value,
                    "Unit": "Seconds",
                }
            )
            sim.record_published(Published(fs.file_system_id, execution, stamp, value))
        if data:
            backend.put_metric_data(NAMESPACE, data)


# --------------------------------------------------------------------------- install


GET_METRIC_DATA = Target(
    "cloudwatch_get_metric_data",
    "moto.cloudwatch.models:CloudWatchBackend.get_metric_data",
    "(self, queries: list[dict[str, typing.Any]], start_time: datetime.datetime, "
    "end_time: datetime.datetime, scan_by: str = 'TimestampAscending') -> "
    "list[dict[str, typing.Any]]",
    _GAP,
)
GET_METRIC_STATISTICS = Target(
    "cloudwatch_get_metric_statistics",
    "moto.cloudwatch.models:CloudWatchBackend.get_metric_statistics",
    "(self, namespace: str, metric_name: str, start_time: datetime.datetime, end_time: "
    "datetime.datetime, period: int, stats: list[str], dimensions: list[dict[str, str]], "
    "unit: str | None = None) -> list[moto.cloudwatch.models.Statistics]",
    _GAP,
)


def install(patcher: Patcher, sim: Simulation | None = None) -> None:
    """Publish the scripted AutoExport metric before every query, and round ``StartTime``
    as CloudWatch does (behaviour: this module's docstring). Restored when ``patcher``
    exits; with no simulation active only the rounding applies."""

    def build_data(original: Any) -> Callable[..., list[dict[str, Any]]]:
        def get_metric_data(
            self: Any,
            queries: list[dict[str, Any]],
            start_time: datetime,
            end_time: datetime,
            scan_by: str = "TimestampAscending",
        ) -> list[dict[str, Any]]:
            sim = active_simulation()
            if sim is not None:
                publish_due(self, sim)
            periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q]
            if periods:
                start_time = round_start_time(start_time, _now(start_time), min(periods))
            return list(original(self, queries, start_time, end_time, scan_by))

        return get_metric_data

    def build_statistics(original: Any) -> Callable[..., Any]:
        def get_metric_statistics(
            self: Any,
            namespace: str,
            metric_name: str,
            start_time: datetime,
            end_time: datetime,
            period: int,
            stats: list[str],
            dimensions: list[dict[str, str]],
            unit: str | None = None,
        ) -> Any:
            sim = active_simulation()
            if sim is not None:
                publish_due(self, sim)
            start_time = round_start_time(start_time, _now(start_time), int(period))
            return original(
                self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit
            )

        return get_metric_statistics

    patcher.replace(GET_METRIC_DATA, build_data)
    patcher.replace(GET_METRIC_STATISTICS, build_statistics)
