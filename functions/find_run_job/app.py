"""FindRunJob: after a transient SubmitJob or ``.sync`` poll error, follow the run's job in its
own queue, or report that there is none so that the state machine submits it again.

Event: the state (``run``, ``config``, the error at ``runJobError``, earlier ``runJob``).
Returns ``$.runJob`` (``RunJobSearch``). Raises ``JobFailed``, ``JobStartTimeout``,
``RunTimeout`` or ``JobNotSubmitted``.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.handler import step_handler
from batchscratch.job import find_run_job
from batchscratch.outputs import RunJobSearch
from batchscratch.state import RunState


@step_handler(log_message="Run job looked up")
def lambda_handler(state: RunState, context: LambdaContext) -> RunJobSearch:
    return find_run_job(
        state.run, state.run_config(), state.previous(RunJobSearch), state.run_job_error
    )
