"""RetainRun: the release gave up; tag what is left ``retained-reason`` and report it.

Event: the release state with ``releaseError`` (what ended the release). Publishes one
message to the stack's SNS topic (``TOPIC_ARN``). Returns ``$.retained`` (``RetainedRun``),
whose ``cause`` the release execution then fails with (``ReleaseIncomplete``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting
from batchscratch.handler import step_handler
from batchscratch.outputs import RetainedRun
from batchscratch.release import release_config, retain_run
from batchscratch.state import ReleaseState, StepError


@step_handler(log_message="Run retained")
def lambda_handler(state: ReleaseState, context: LambdaContext) -> RetainedRun:
    release_error = state.releaseError or StepError(Error="ReleaseIncomplete")
    config = release_config(state.run.mode, state.config)
    return retain_run(state.run, config, release_error, state.error, setting("TOPIC_ARN"))
