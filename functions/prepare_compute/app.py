"""PrepareCompute: the run's own launch template, compute environment and job definition.

The launch template's user data mounts the run's storage (the EBS volume at /data, or the
Lustre file system with /fsx/scratch seen as /scratch); the compute environment uses only
subnets in the storage's zone. Event: the state (``run``, ``config``, the storage). Returns
``$.compute`` (``ComputeRef``).
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import ComputeSettings, prepare_compute
from batchscratch.handler import step_handler
from batchscratch.modes import MODES
from batchscratch.outputs import ComputeRef
from batchscratch.state import RunState


@step_handler(log_message="Compute prepared")
def lambda_handler(state: RunState, context: LambdaContext) -> ComputeRef:
    mount = MODES[state.run.mode].storage.implementation.mount(state)
    return prepare_compute(state.run, mount, state.run_config(), ComputeSettings.from_environment())
