"""CheckDrain: has auto-export drained since the job ended (AgeOfOldestQueuedMessage)?

Event: the state (``fileSystem``, ``config``, ``job``, earlier ``drain``). Returns ``$.drain``
(``DrainStatus``). Watches within the invocation, looking as each metric period ends. Never
raises on a slow or missing metric: past ``drainTimeoutSeconds``, or when the metric is not
published, it reports ``timedOut`` and the state machine verifies with an export task instead.
"""

from datetime import datetime

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch import clock
from batchscratch.handler import step_handler
from batchscratch.metrics import check_drain, job_end, next_period_seconds
from batchscratch.modes import CHECK_DRAIN
from batchscratch.outputs import DrainStatus
from batchscratch.polling import watch
from batchscratch.state import RunState


@step_handler(log_message="Auto-export drain checked")
def lambda_handler(state: RunState, context: LambdaContext) -> DrainStatus:
    config = state.auto_export_config()
    file_system_id = state.require_file_system().fileSystemId
    previous = state.previous(DrainStatus)
    job = (state.model_extra or {}).get("job")
    ended = None if previous else job_end(job.get("jobId") if isinstance(job, dict) else None)
    period = config.lambdaPeriodSeconds

    def pause(status: DrainStatus) -> int:
        return next_period_seconds(datetime.fromisoformat(status.jobEndedAt), clock.now(), period)

    return watch(
        lambda earlier: check_drain(file_system_id, config, earlier, ended),
        previous,
        done=lambda status: status.drained or status.timedOut,
        interval_seconds=CHECK_DRAIN.interval_of(state.config),
        pause=pause,
    )
