"""Batch: scripted job attempts with the job definition's retry strategy (gap 5), and the
service-linked role AWS Batch uses when a compute environment names no service role (gap 8).
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.iam.exceptions import NotFoundException

from tools.localaws.patches.core import Patcher, Target, active_simulation
from tools.localaws.simulation import (
    TAG_EXECUTION,
    JobOutcome,
    JobRecord,
    Simulation,
    retry_action,
)

# --------------------------------------------------------------------------- gap 5

_GAP_5 = "5: simulated Batch ignores retryStrategy and has no scripted attempts"

MARK_FINISHED = Target(
    "batch_mark_finished",
    "moto.batch_simple.models:BatchSimpleBackend._mark_job_as_finished",
    "(self, include_start_attempt: bool, job: moto.batch.models.Job) -> None",
    _GAP_5,
)
START_ATTEMPT = Target(
    "batch_job_start_attempt",
    "moto.batch.models:Job._start_attempt",
    "(self) -> None",
    _GAP_5,
    replaced=False,
)
MARK_STOPPED = Target(
    "batch_job_mark_stopped",
    "moto.batch.models:Job._mark_stopped",
    "(self, success: bool = True) -> None",
    _GAP_5,
    replaced=False,
)
LIST_TAGS = Target(
    "batch_list_tags",
    "moto.batch.models:BatchBackend.list_tags_for_resource",
    "(self, resource_arn: str) -> dict[str, str]",
    _GAP_5,
    replaced=False,
)


def _exit_code(outcome: JobOutcome) -> int:
    """The container's exit code of an attempt: the scripted one, else 0 or 1."""
    if outcome.exit_code is not None:
        return outcome.exit_code
    return 0 if outcome.succeeded else 1


def _epoch_ms(offset_seconds: float = 0.0) -> int:
    return int((_time.time() + offset_seconds) * 1000)


def patch_batch_attempts(patcher: Patcher) -> None:
    """Gap 5: simulated Batch (``use_docker: False``) marks every job SUCCEEDED at once and
    ignores the job definition's ``retryStrategy``.

    Plays the scenario's ``aws.job.attempts`` instead: each attempt gets its status reason,
    container reason and exit code; a failed attempt whose outcome matches a RETRY rule of
    ``evaluateOnExit`` (or no rule) starts the next attempt while ``attempts`` remain; an
    EXIT match or the last allowed attempt ends the job FAILED. Attempts beyond the script
    succeed. ``describe_jobs`` shows every attempt with its ``statusReason``.
    """

    def build(original: Any) -> Callable[..., None]:
        def mark_job_as_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
            sim = active_simulation()
            if sim is None or not include_start_attempt:
                original(self, include_start_attempt, job)
                return
            self.backend._jobs[job.job_id] = job
            job.log_stream_name = job._stream_name
            strategy = job.job_definition.retry_strategy or {}
            allowed = max(1, int(strategy.get("attempts") or 1))
            rules = list(strategy.get("evaluateOnExit") or [])
            record = JobRecord(job.job_id, sim.execution_of_tag(_execution_of_job(self, job)))
            outcome = JobOutcome()
            for number in range(allowed):
                scripted = sim.job_attempts()
                outcome = scripted[number] if number < len(scripted) else JobOutcome()
                job.job_started_at = datetime.now()
                job._start_attempt()
                attempt = job.latest_attempt
                attempt["startedAt"] = _epoch_ms(sim.clock.offset)
                attempt["stoppedAt"] = _epoch_ms(sim.clock.offset)
                attempt["statusReason"] = outcome.status_reason or (
                    "Essential container in task exited" if outcome.succeeded else "Task failed"
                )
                container = attempt.setdefault("container", {})
                container["exitCode"] = _exit_code(outcome)
                if outcome.reason:
                    container["reason"] = outcome.reason
                record.attempts.append(outcome)
                if outcome.succeeded or retry_action(rules, outcome) != "RETRY":
                    break
            job.job_stopped_reason = outcome.status_reason
            job.exit_code = _exit_code(outcome)
            stopped_at = job.latest_attempt["stoppedAt"]
            record.ended_at = sim.clock.now()
            job._mark_stopped(success=outcome.succeeded)
            job.latest_attempt["stoppedAt"] = stopped_at
            record.status = "SUCCEEDED" if outcome.succeeded else "FAILED"
            sim.jobs[job.job_id] = record

        return mark_job_as_finished

    patcher.replace(MARK_FINISHED, build)


def _execution_of_job(backend: Any, job: Any) -> str | None:
    for arn in (job.arn, job.job_queue.arn, job.job_definition.arn):
        tags = backend.list_tags_for_resource(arn) or {}
        if TAG_EXECUTION in tags:
            return str(tags[TAG_EXECUTION])
    return None


# --------------------------------------------------------------------------- gap 8

_GAP_8 = "8: Batch requires serviceRole (AWS uses its service-linked role)"

CREATE_COMPUTE_ENVIRONMENT = Target(
    "batch_create_compute_environment",
    "moto.batch.models:BatchBackend.create_compute_environment",
    "(self, compute_environment_name: str, _type: str, state: str, compute_resources: "
    "dict[str, typing.Any], service_role: str, tags: dict[str, str] | None = None) -> "
    "moto.batch.models.ComputeEnvironment",
    _GAP_8,
)
IAM_CREATE_ROLE = Target(
    "iam_create_role",
    "moto.iam.models:IAMBackend.create_role",
    "(self, role_name: 'str', assume_role_policy_document: 'str', path: 'str', "
    "permissions_boundary: 'str | None', description: 'str', tags: 'list[dict[str, str]]', "
    "max_session_duration: 'str | None', linked_service: 'str | None' = None) -> 'Role'",
    _GAP_8,
    replaced=False,
)
IAM_GET_ROLE = Target(
    "iam_get_role",
    "moto.iam.models:IAMBackend.get_role",
    "(self, role_name: 'str') -> 'Role'",
    _GAP_8,
    replaced=False,
)

BATCH_SERVICE_LINKED_ROLE = "AWSServiceRoleForBatch"


def patch_batch_service_role(patcher: Patcher) -> None:
    """Gap 8 (part): moto refuses CreateComputeEnvironment without ``serviceRole``.

    AWS Batch then uses its service-linked role ``AWSServiceRoleForBatch`` (creating it on
    first use); so does the patched call, creating the role in the emulated IAM if needed.
    """

    def build(original: Any) -> Callable[..., Any]:
        def create_compute_environment(
            self: Any,
            compute_environment_name: str,
            _type: str,
            state: str,
            compute_resources: dict[str, Any],
            service_role: str,
            tags: dict[str, str] | None = None,
        ) -> Any:
            if not service_role:
                try:
                    role = self.iam_backend.get_role(BATCH_SERVICE_LINKED_ROLE)
                except NotFoundException:
                    role = self.iam_backend.create_role(
                        BATCH_SERVICE_LINKED_ROLE,
                        json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "batch.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            }
                        ),
                        "/aws-service-role/batch.amazonaws.com/",
                        None,
                        "Service-linked role for AWS Batch",
                        [],
                        "3600",
                        "batch.amazonaws.com",
                    )
                service_role = role.arn
            return original(
                self,
                compute_environment_name,
                _type,
                state,
                compute_resources,
                service_role,
                tags,
            )

        return create_compute_environment

    patcher.replace(CREATE_COMPUTE_ENVIRONMENT, build)


def install(patcher: Patcher, sim: Simulation) -> None:
    """Install this module's patches on ``patcher``."""
    patch_batch_attempts(patcher)
    patch_batch_service_role(patcher)
