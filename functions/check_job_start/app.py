"""CheckJobStart: the watchdog beside RunJob; has the run's job started (or ended) in time?

Event: the state as RunJobWithDeadline's watchdog branch holds it (``run``, ``config``, earlier
``jobStart``). Returns ``$.jobStart`` (``JobStart``). Raises ``JobStartTimeout`` after
terminating a job that did not start within ``jobStartTimeoutSeconds``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.handler import step_handler
from batchscratch.job import check_job_start
from batchscratch.modes import CHECK_JOB_START
from batchscratch.outputs import JobStart
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Job start checked")
def lambda_handler(state: RunState, context: LambdaContext) -> JobStart:
    # Watches while instances boot, pausing as the check chooses (never past the deadline).
    config = state.run_config()
    return watch(
        lambda previous: check_job_start(state.run, config, previous),
        state.previous(JobStart),
        done=lambda status: status.done,
        interval_seconds=CHECK_JOB_START.interval_of(state.config),
        pause=lambda status: status.waitSeconds,
    )
