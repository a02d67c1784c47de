"""ReleaseRun: one pass of a run's release (the release workflow loops until ``done``).

Event: the release state (``run``, ``config``, ``error``, the earlier ``release``). Reads the
job's outcome from the run's queue on the first pass, advances the compute cleanup, then
applies the policy to the storage. Returns ``$.release`` (``RunRelease``). Raises
``CleanupTimeout`` once ``cleanupTimeoutSeconds`` have passed (RetainRun follows).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.handler import step_handler
from batchscratch.outputs import RunRelease
from batchscratch.release import release_config, release_pass
from batchscratch.state import ReleaseState


@step_handler(log_message="Release pass")
def lambda_handler(state: ReleaseState, context: LambdaContext) -> RunRelease:
    config = release_config(state.run.mode, state.config)
    return release_pass(state.run, config, state.error.Error, state.previous(RunRelease))
