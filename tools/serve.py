"""``python -m tools.rehearse --serve SCENARIO``: the rehearsal's local AWS as a server.

The rehearsal deploys the stack for the scenario's mode as it does for a rehearsal (the same
secret, bucket objects and scripted behaviour), then answers AWS API calls over HTTP at
``http://127.0.0.1:<port>`` (moto's ``ThreadedMotoServer``, in the same process, so it serves
the same emulated services, patched as in a rehearsal) until it is stopped (Ctrl-C, SIGTERM).
Any client with ``--endpoint-url`` (the ``batch-scratch`` command, the AWS CLI, boto3) then
drives the stack as it would in AWS: every execution it starts plays the scenario's ``aws:``
behaviour (a Spot reclaim, a failed export, ...) on the virtual clock, and its release
follows as in a rehearsal. The scenario's own executions (``input``, ``executions``,
``concurrent``) are not started: the clients start what they want.

It prints one JSON line when it is ready::

    {"serving": {"endpointUrl": "http://127.0.0.1:50123", "stack": "batch-scratch-onlyebs",
                 "mode": "OnlyEBS", "region": "us-east-1", "scenario": "...", "outputs": {...}}}

then, for every execution of the run state machine, once it and its release executions have
ended, the rehearsal's summary line of it (``leaked``, ``retained``, ``jobAttempts``, ...; its
``expectationsMet`` judges it by the scenario's ``expect``).

What a client calls over HTTP reaches moto directly: the rehearsal's checks of requests
against the service models (``tools.localaws.constraints``) and its throttling apply to the
calls the stack's own handlers and state machines make, not to the client's.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from moto.server import ThreadedMotoServer

from tools.localaws import LocalAws, Stack
from tools.localaws.simulation import Simulation
from tools.rehearse import (
    Context,
    Planned,
    Started,
    Summary,
    _announce,
    _executions,
    _simulation,
    prepare,
    releases_of,
    summarize,
    timeout_seconds,
)
from tools.scenario import Scenario

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
"""Credentials a client may send (the local AWS checks none)."""

POLL_SECONDS = 0.02
"""Real seconds between two looks at the executions (and runs of what the clock has due)."""


class Watcher:
    """Finds the executions clients start, announces each end as Step Functions does (so the
    EventBridge rule starts its release), stops one still running after the rehearsal's
    real-time limit (``REHEARSAL_TIMEOUT_SECONDS``), and summarizes each once its releases
    ended too."""

    def __init__(self, aws: LocalAws, sim: Simulation, stack: Stack, scenario: Scenario) -> None:
        self.aws = aws
        self.sim = sim
        self.stack = stack
        self.scenario = scenario
        self.started: dict[str, Started] = {}
        self.seen_at: dict[str, float] = {}
        """Real time (``time.monotonic``) each execution was first seen."""
        self.summarized: set[str] = set()
        self.stopped: list[str] = []
        self.first: float | None = None

    def poll(self) -> list[Summary]:
        """Look once; return the summaries of the executions that are done now."""
        sfn = self.aws.client("stepfunctions")
        for listed in _executions(self.aws, self.stack.state_machine_arn):
            arn = listed["executionArn"]
            if arn not in self.started:
                self._found(listed)
        done: list[Summary] = []
        for arn, execution in list(self.started.items()):
            if arn in self.summarized:
                continue
            if not execution.announced:
                description = sfn.describe_execution(executionArn=arn)
                if description["status"] == "RUNNING":
                    if time.monotonic() - self.seen_at[arn] > timeout_seconds():
                        sfn.stop_execution(executionArn=arn, error="Rehearsal.Timeout")
                        self.stopped.append(arn)
                    continue
                execution.announced = True
                _announce(self.aws, description)
            releases = releases_of(self.aws, self.stack, [arn])
            if any(release["status"] == "RUNNING" for release in releases[arn]):
                continue
            self.summarized.add(arn)
            done.append(self._summary(execution, releases))
        return done

    def _found(self, listed: dict[str, Any]) -> None:
        arn = listed["executionArn"]
        at = listed["startDate"].timestamp() if "startDate" in listed else self.sim.clock.now()
        if self.first is None:
            self.first = at
        description = self.aws.client("stepfunctions").describe_execution(executionArn=arn)
        planned = Planned(listed["name"], json.loads(description.get("input") or "null"), 0.0)
        self.started[arn] = Started(planned, arn, at)
        self.seen_at[arn] = time.monotonic()
        abort_at = self.scenario.aws.abortAt
        if abort_at is not None:
            self.sim.clock.schedule(at + abort_at, self._stopper(arn))

    def _stopper(self, arn: str) -> Callable[[], None]:
        def stop() -> None:
            sfn = self.aws.client("stepfunctions")
            if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                sfn.stop_execution(executionArn=arn)

        return stop

    def _summary(self, execution: Started, releases: dict[str, list[dict[str, Any]]]) -> Summary:
        topics = set(self.stack.topic_arns)
        context = Context(
            self.aws,
            self.sim,
            self.stack,
            self.scenario,
            self.aws.inventory(),
            [n for n in self.aws.notifications if n.topic_arn in topics],
            releases,
            self.sim.clock.now(),
        )
        return summarize(
            context,
            execution,
            self.first if self.first is not None else execution.at,
            self.stopped,
            trace=lambda text: None,
            say=lambda text: None,
        )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM (and SIGINT) while serving from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def serve(
    scenario: Scenario,
    root: Path,
    out: TextIO,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    stop: threading.Event | None = None,
) -> None:
    """Deploy the scenario's stack on a local AWS and serve it over HTTP until ``stop`` is set
    (or SIGTERM/SIGINT arrives).

    Args:
        scenario: the parsed scenario (its mode, secret, bucket objects and ``aws:``).
        root: the repository (template.yaml, functions/, layers/).
        out: where the serving line and the summary lines are printed.
        host, port: where to listen (port 0: any free port; the serving line names it).
        stop: an event that ends the serving (a test's); by default only a signal does.

    Raises:
        tools.localaws.DeployError: the template cannot be translated or deployed.
    """
    stop = stop or threading.Event()
    sim = _simulation(scenario)

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    with LocalAws(root, sim) as aws, _stop_on_signals(stop):
        stack = prepare(aws, sim, scenario)
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        try:
            bound_host, bound_port = server.get_host_and_port()
            endpoint = f"http://{bound_host}:{bound_port}"
            say(
                json.dumps(
                    {
                        "serving": {
                            "endpointUrl": endpoint,
                            "stack": stack.name,
                            "mode": scenario.mode,
                            "region": aws.region,
                            "scenario": scenario.name,
                            "environment": {
                                "AWS_ENDPOINT_URL": endpoint,
                                "AWS_DEFAULT_REGION": aws.region,
                                **LOCAL_CREDENTIALS,
                            },
                            "outputs": stack.outputs,
                        }
                    }
                )
            )
            watcher = Watcher(aws, sim, stack, scenario)
            while not stop.is_set():
                for summary in watcher.poll():
                    say(summary.to_json())
                sim.clock.run_due()
                stop.wait(POLL_SECONDS)
        finally:
            server.stop()
