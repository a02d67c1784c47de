"""What a run has done so far, read from its execution history (GetExecutionHistory).

The history is the record Step Functions keeps of every execution for 90 days, so what
``follow`` shows of an ended run is what it showed while the run went: ``read_events`` turns
new history events into ``Fact`` lines (a state entered, the storage created, ready or
released, the job submitted and each attempt, a Spot reclaim with its instance, the export's
progress and failed files, the end), and ``RunRecord`` keeps what the summary needs.

The shapes read are the project's own step outputs (``batchscratch.outputs``: Lambda results
are ``{"StatusCode", "Payload": <model>}``) and the Batch ``submitJob.sync`` integration's
(its result is the job description with PascalCase keys, ``Attempts`` among them; Step
Functions Developer Guide, "Run AWS Batch jobs").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SPOT_RECLAIM = re.compile(r"Host EC2 \(instance (i-[0-9a-f]+)\) terminated")
"""Batch's status reason of an attempt whose instance went away (AWS Batch User Guide,
"Automated job retries": ``Host EC2*``), with the instance's id."""

ENDED = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


@dataclass(frozen=True)
class Fact:
    """One thing the run did: ``kind`` (``state``, ``storage``, ``job``, ``attempt``,
    ``export``, ``release``, ``end``), a line of text, when (the event's time) and details."""

    kind: str
    text: str
    at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The fact as ``follow --json`` prints it."""
        return {"kind": self.kind, "text": self.text, "at": self.at, **self.details}


@dataclass
class RunRecord:
    """What the histories said so far (the run's and its release's)."""

    storage_id: str | None = None
    storage_created: datetime | None = None
    storage_released: datetime | None = None
    job_id: str | None = None
    attempts_shown: int = 0
    job_ended: bool = False
    data_repository_path: str | None = None
    export_task: str | None = None
    report_location: str | None = None
    failed_files: int | None = None
    deleted: list[str] = field(default_factory=list)
    retained: list[str] = field(default_factory=list)
    status: str | None = None
    error: str | None = None
    cause: str | None = None
    output: dict[str, Any] | None = None
    started: datetime | None = None
    stopped: datetime | None = None
    current: list[str] = field(default_factory=list)
    """States entered and not yet exited (Parallel branches run at once)."""


def _payload(details: dict[str, Any]) -> Any:
    try:
        output = json.loads(details.get("output") or "null")
    except json.JSONDecodeError:
        return None
    if isinstance(output, dict) and "Payload" in output:
        return output["Payload"]
    return output


def attempt_facts(job: dict[str, Any], record: RunRecord, at: datetime | None) -> list[Fact]:
    """Facts of the attempts of ``job`` not shown yet.

    Args:
        job: a job description, from DescribeJobs (camelCase) or the ``.sync`` result
            (PascalCase): its attempts' ``statusReason`` and ``container.exitCode``.
    """
    attempts = job.get("attempts") or job.get("Attempts") or []
    facts = []
    for number, attempt in enumerate(attempts[record.attempts_shown :], record.attempts_shown + 1):
        reason = str(attempt.get("statusReason") or attempt.get("StatusReason") or "")
        container = attempt.get("container") or attempt.get("Container") or {}
        exit_code = container.get("exitCode", container.get("ExitCode"))
        reclaimed = SPOT_RECLAIM.search(reason)
        if reclaimed:
            text = f"attempt {number}: Spot reclaim: instance {reclaimed.group(1)} was terminated"
        else:
            text = f"attempt {number}: ended ({reason or 'no reason'}; exit code {exit_code})"
        facts.append(
            Fact(
                "attempt",
                text,
                at,
                {
                    "attempt": number,
                    "statusReason": reason,
                    "exitCode": exit_code,
                    "spotReclaim": bool(reclaimed),
                    "instanceId": reclaimed.group(1) if reclaimed else None,
                },
            )
        )
    record.attempts_shown = len(attempts)
    return facts


def _task_result(payload: dict[str, Any], record: RunRecord, at: datetime | None) -> list[Fact]:
    facts: list[Fact] = []
    storage = payload.get("fileSystemId") or payload.get("volumeId")
    if storage and "createdAt" in payload and record.storage_id is None:
        record.storage_id = str(storage)
        record.storage_created = at
        facts.append(Fact("storage", f"storage: created {storage}", at, {"storageId": storage}))
    if payload.get("ready") is True and "lifecycle" in payload:
        if payload.get("dataRepositoryPath"):
            record.data_repository_path = str(payload["dataRepositoryPath"])
        facts.append(
            Fact(
                "storage",
                f"storage: {payload['lifecycle']}",
                at,
                {"lifecycle": payload["lifecycle"]},
            )
        )
    if "taskId" in payload and "reportPath" in payload:
        record.export_task = str(payload["taskId"])
        facts.append(Fact("export", f"export: task {payload['taskId']} started", at))
    if {"totalCount", "failedCount", "lifecycle"} <= set(payload):
        record.failed_files = payload.get("failedCount")
        record.report_location = payload.get("reportLocation") or record.report_location
        facts.append(
            Fact(
                "export",
                f"export: {payload['lifecycle']}, {payload.get('succeededCount', 0)} of "
                f"{payload['totalCount']} files, {payload['failedCount']} failed",
                at,
                {
                    k: payload.get(k)
                    for k in ("lifecycle", "succeededCount", "totalCount", "failedCount")
                },
            )
        )
    release = payload.get("storage") if isinstance(payload.get("storage"), dict) else payload
    if isinstance(release, dict) and {"retained", "deleted", "policy"} <= set(release):
        new_deleted = [e for e in release["deleted"] if e not in record.deleted]
        new_retained = [e for e in release["retained"] if e not in record.retained]
        record.deleted += new_deleted
        record.retained += new_retained
        if release.get("done") and record.storage_released is None:
            record.storage_released = at
        if new_deleted or new_retained:
            parts = [f"deleted {', '.join(new_deleted)}"] if new_deleted else []
            parts += [f"kept {', '.join(new_retained)}"] if new_retained else []
            facts.append(Fact("release", f"storage: {'; '.join(parts)}", at))
    if "kept" in payload and "messageId" in payload:
        new = [e for e in payload["kept"] if e not in record.retained]
        record.retained += new
        if new:
            facts.append(Fact("release", f"kept (reported): {', '.join(new)}", at))
    return facts


def _job_result(
    kind: str, details: dict[str, Any], record: RunRecord, at: datetime | None
) -> list[Fact]:
    """Facts of the ``submitJob.sync`` task's end: its attempts and the job's status (the
    result, or a failure's cause, is the job description)."""
    text = details.get("output") if kind == "TaskSucceeded" else details.get("cause")
    try:
        job = json.loads(text or "{}")
    except json.JSONDecodeError:
        job = {}
    if not isinstance(job, dict):
        return []
    facts = attempt_facts(job, record, at)
    fallback = "SUCCEEDED" if kind == "TaskSucceeded" else "FAILED"
    status = job.get("Status") or job.get("status") or fallback
    record.job_ended = True
    facts.append(Fact("job", f"job: {status}", at, {"jobStatus": status}))
    return facts


def _end(kind: str, details: dict[str, Any], record: RunRecord, at: datetime | None) -> Fact:
    """The fact of the execution's end; its status, error, cause and output go to ``record``."""
    record.status = ENDED[kind]
    record.stopped = at
    record.error = details.get("error")
    record.cause = details.get("cause")
    if kind == "ExecutionSucceeded":
        try:
            record.output = json.loads(details.get("output") or "null")
        except json.JSONDecodeError:
            record.output = None
    text = f"execution {record.status}" + (f": {record.error}" if record.error else "")
    return Fact("end", text, at, {"status": record.status, "error": record.error})


def read_events(events: list[dict[str, Any]], record: RunRecord) -> list[Fact]:
    """Return the facts of ``events`` (new history events, oldest first), updating ``record``.

    The execution's own start and end set ``record.started``/``stopped``/``status``; pass a
    release execution's events with a record of its own and merge what it kept.
    """
    facts: list[Fact] = []
    for event in events:
        kind, at = event["type"], event.get("timestamp")
        details: dict[str, Any] = next(
            (v for k, v in event.items() if k.endswith("EventDetails")), {}
        )
        if kind == "ExecutionStarted":
            record.started = at
        elif kind.endswith("StateEntered") and kind[: -len("StateEntered")] in (
            "Task",
            "Parallel",
            "Wait",
        ):
            record.current.append(details.get("name", ""))
            if kind != "WaitStateEntered":
                facts.append(
                    Fact(
                        "state", f"state: {details.get('name')}", at, {"state": details.get("name")}
                    )
                )
        elif kind.endswith("StateExited"):
            name = details.get("name", "")
            if name in record.current:
                record.current.remove(name)
        elif kind == "TaskSubmitted" and str(details.get("resource", "")).startswith("submitJob"):
            payload = _payload(details) or {}
            record.job_id = payload.get("JobId")
            facts.append(
                Fact("job", f"job: submitted {record.job_id}", at, {"jobId": record.job_id})
            )
        elif kind in ("TaskSucceeded", "TaskFailed"):
            if details.get("resourceType") == "batch":
                facts += _job_result(kind, details, record, at)
            elif kind == "TaskSucceeded":
                payload = _payload(details)
                if isinstance(payload, dict):
                    facts += _task_result(payload, record, at)
        elif kind in ENDED:
            facts.append(_end(kind, details, record, at))
    return facts
