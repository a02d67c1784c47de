"""Dollars per run, at the prices of ``batchscratch_cli.prices``.

A run pays for its storage's lifetime, its instance time (the job's attempts, and the compute
left after the job until DeleteComputeEnvironment is accepted), its state transitions (its
release execution's included) and its Lambda requests and GB-seconds. The cost the
orchestration adds (``overhead``) is the storage's overhead seconds, the compute after the
job, the transitions and Lambda: what a perfect orchestrator, one that costs nothing and
reacts at once, would not pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchscratch_cli import prices

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Usage:
    """What one run used. Seconds are virtual seconds of the rehearsal (or the model's)."""

    storage_seconds: float
    overhead_seconds: float
    instance_seconds: float
    """The job's attempts, start to stop."""
    compute_after_job_seconds: float
    transitions: float
    lambda_invocations: float
    lambda_gb_seconds: float


@dataclass(frozen=True)
class Dollars:
    """A cost in US dollars, by what it pays for."""

    storage: float
    compute: float
    transitions: float
    lambda_: float

    @property
    def total(self) -> float:
        return self.storage + self.compute + self.transitions + self.lambda_

    def as_dict(self) -> dict[str, float]:
        return {
            "storage": self.storage,
            "compute": self.compute,
            "transitions": self.transitions,
            "lambda": self.lambda_,
            "total": self.total,
        }


def storage_hourly(config: dict[str, Any]) -> float:
    """Dollars per hour of a run's storage, from its configuration (LoadConfig's ``config``):
    an FSx for Lustre file system (``lustreStorageCapacity`` GiB of ``lustreDeploymentType``)
    or a gp3 volume (``ebsSizeGb``, ``ebsIOPS``, ``ebsThroughput``).

    Raises:
        KeyError: neither kind's keys are in ``config``, or a Lustre deployment type the price
            table does not price.
    """
    if "lustreStorageCapacity" in config:
        return prices.lustre_hourly(
            int(config["lustreStorageCapacity"]), str(config.get("lustreDeploymentType"))
        )
    if "ebsSizeGb" in config:
        return prices.gp3_hourly(
            int(config["ebsSizeGb"]), int(config["ebsIOPS"]), int(config["ebsThroughput"])
        )
    raise KeyError("the configuration names no Lustre capacity and no EBS size")


def _orchestration(usage: Usage) -> tuple[float, float]:
    return (
        prices.transitions_cost(usage.transitions),
        prices.lambda_cost(usage.lambda_invocations, usage.lambda_gb_seconds),
    )


def run_cost(usage: Usage, storage_per_hour: float) -> Dollars:
    """The whole run: storage lifetime, instance time (attempts and compute after the job),
    transitions and Lambda."""
    transitions, lambda_ = _orchestration(usage)
    instance = usage.instance_seconds + usage.compute_after_job_seconds
    return Dollars(
        storage=usage.storage_seconds / SECONDS_PER_HOUR * storage_per_hour,
        compute=instance / SECONDS_PER_HOUR * prices.instance_hourly(),
        transitions=transitions,
        lambda_=lambda_,
    )


def overhead_cost(usage: Usage, storage_per_hour: float) -> Dollars:
    """What the orchestration adds: the storage's overhead seconds, the compute after the
    job, transitions and Lambda."""
    transitions, lambda_ = _orchestration(usage)
    return Dollars(
        storage=usage.overhead_seconds / SECONDS_PER_HOUR * storage_per_hour,
        compute=usage.compute_after_job_seconds / SECONDS_PER_HOUR * prices.instance_hourly(),
        transitions=transitions,
        lambda_=lambda_,
    )
