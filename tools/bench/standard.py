"""The standard run the bench rehearses: one table of its figures, and the scenario built from it.

The standard run is a model run on the rehearsal's clock: the storage is ready
5 minutes after its create call, the job runs 2 hours with one Spot reclaim half-way and a
successful attempt for the rest, and the mode's export follows. The bench also runs it with
1-hour and 24-hour jobs (``JOB_LENGTHS``). Every figure is a row of ``STANDARD_RUN`` with the
scenario key it sets (scenarios/README.md) and the reason for its value; ``scenario`` turns
the rows into the mapping ``tools.rehearse.run_scenario`` takes, so the table printed in
docs/benchmarks.md is the one that ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchscratch.modes import MODES

STANDARD_JOB_SECONDS = 7200.0
"""The standard run's job: 2 hours from its first attempt's start to its end."""
JOB_LENGTHS: dict[str, float] = {"1 h": 3600.0, "2 h": STANDARD_JOB_SECONDS, "24 h": 86400.0}
"""The job lengths the bench runs, by label."""
SPOT_RECLAIM = "Host EC2 (instance i-0123456789abcdef0) terminated."
"""The status reason AWS Batch gives an attempt whose Spot instance was reclaimed."""

LUSTRE = tuple(name for name, mode in MODES.items() if mode.post_job)
TASK_EXPORT = tuple(name for name in LUSTRE if not MODES[name].exports_automatically)
AUTO_EXPORT = tuple(name for name in LUSTRE if MODES[name].exports_automatically)
EVERY_MODE = tuple(MODES)

Value = Any | Callable[[float], Any]
"""A setting's value, or a function of the job's length (seconds) that gives it."""


@dataclass(frozen=True)
class Setting:
    """One figure of the standard run.

    ``key`` is the scenario key it sets (dotted, e.g. ``aws.storage.readySeconds``),
    ``value`` its value (or a function of the job's length in seconds), ``shown`` how the
    table writes it, ``modes`` the modes it applies to and ``reason`` why it has that value.
    """

    key: str
    value: Value
    shown: str
    modes: tuple[str, ...]
    reason: str

    def resolve(self, job_seconds: float) -> Any:
        """The value for a job of ``job_seconds``."""
        return self.value(job_seconds) if callable(self.value) else self.value


def _attempts(job_seconds: float) -> list[dict[str, Any]]:
    half = job_seconds / 2
    return [
        {"status": "FAILED", "statusReason": SPOT_RECLAIM, "after": half},
        {"status": "SUCCEEDED", "after": job_seconds - half},
    ]


QUEUE_DRAIN = [float(540 - 60 * minute) for minute in range(10)]
"""AutoExport's ``AgeOfOldestQueuedMessage`` after the job, one value a minute: 540 s, 480 s,
..., 60 s, then 0 (and 0 from then on)."""

STANDARD_RUN: tuple[Setting, ...] = (
    Setting(
        "input",
        {},
        "{} (the deployed secret's settings)",
        EVERY_MODE,
        "A run with the defaults a user deploys: 2,400 GiB SCRATCH_2 file system or a 500 GiB "
        "gp3 volume with 5,000 IOPS and 500 MiB/s, a 32-vCPU 30,000 MiB job, the default poll "
        "intervals.",
    ),
    Setting(
        "aws.storage.readySeconds",
        300.0,
        "300 s",
        EVERY_MODE,
        "The model run: the storage is ready 5 minutes after its create call (an FSx for "
        "Lustre file system takes minutes; an EBS volume is usually faster, which changes the "
        "total, not the overhead: creation is AWS work).",
    ),
    Setting(
        "aws.association.readySeconds",
        60.0,
        "60 s",
        LUSTRE,
        "An assumption (AWS documents no figure): CREATING for one minute, the emulator's own "
        "step, whatever the check's poll interval.",
    ),
    Setting(
        "aws.association.updateSeconds",
        60.0,
        "60 s",
        AUTO_EXPORT,
        "An assumption, as for its creation: turning auto-export off keeps the association "
        "UPDATING for one minute.",
    ),
    Setting(
        "aws.compute.readySeconds",
        60.0,
        "60 s",
        EVERY_MODE,
        "An assumption: a managed compute environment is CREATING for about a minute before "
        "it is VALID. Not AWS work in the overhead: a design can create compute while the "
        "storage is being created.",
    ),
    Setting(
        "aws.compute.deleteSeconds",
        0.0,
        "0 s",
        EVERY_MODE,
        "Batch's own deletion times are AWS latency, left out: a job queue or compute "
        "environment is gone as soon as Batch accepts its deletion. In AWS each takes a while "
        "DELETING, and the compute environment can be deleted only once its queue is gone, so "
        "'After job' there is this figure plus the queue's deletion time.",
    ),
    Setting(
        "aws.job.attempts",
        _attempts,
        "FAILED (Spot reclaim) after half the job, then SUCCEEDED after the other half",
        EVERY_MODE,
        "The model run: one Spot reclaim at half the job ("
        + SPOT_RECLAIM
        + "), retried by the job definition's retry strategy, then a successful attempt.",
    ),
    Setting(
        "aws.job.runnableSeconds",
        0.0,
        "0 s",
        EVERY_MODE,
        "The emulator starts an attempt as soon as the job is submitted (and a retry as the "
        "attempt before it stops); instance boot time would be AWS work in both designs alike.",
    ),
    Setting(
        "aws.export.seconds",
        600.0,
        "600 s",
        TASK_EXPORT,
        "The model run: the export task after the job runs 10 minutes.",
    ),
    Setting(
        "aws.export.seconds",
        60.0,
        "60 s",
        AUTO_EXPORT,
        "The model run: the verifying export after the drain has little left to copy.",
    ),
    Setting(
        "aws.export.queueAgeSeconds",
        QUEUE_DRAIN,
        "540, 480, ..., 60, 0 (one a minute after the job)",
        AUTO_EXPORT,
        "The model run: auto-export's queue drains over 10 minutes after the job.",
    ),
)
"""The standard run's figures, in the order docs/benchmarks.md lists them."""


def settings_for(mode: str) -> list[Setting]:
    """The rows of ``STANDARD_RUN`` that apply to ``mode``."""
    return [setting for setting in STANDARD_RUN if mode in setting.modes]


def scenario(mode: str, job_seconds: float = STANDARD_JOB_SECONDS) -> dict[str, Any]:
    """The standard run of ``mode`` with a job of ``job_seconds``, as a scenario mapping
    (scenarios/README.md) that expects the run to succeed and leave nothing behind.

    Raises:
        KeyError: ``mode`` is not a mode of ``batchscratch.modes.MODES``.
    """
    if mode not in MODES:
        raise KeyError(f"{mode}: not a mode ({', '.join(MODES)})")
    hours = f"{job_seconds / 3600:g}h"
    data: dict[str, Any] = {
        "name": f"bench-{mode}-{hours}",
        "mode": mode,
        "expect": {"status": "SUCCEEDED", "leaked": [], "deletedUnexported": []},
    }
    for setting in settings_for(mode):
        *parents, last = setting.key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = setting.resolve(job_seconds)
    return data
