"""PrepareCompute: the run's own launch template, compute environment and job definition.

The launch template's user data mounts the run's storage (the EBS volume at /data, or the
Lustre file system with /fsx/scratch seen as /scratch); the compute environment uses only
subnets in the storage's zone. Event: the state (``run``, ``config``, the storage). Returns
``$.compute`` (names, ARNs, ``createdAt``).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.compute import ComputeSettings, prepare_compute
from batchscratch.mounts import storage_mount
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    mount = storage_mount(state)
    compute = prepare_compute(
        state.run,
        state.run_config(),
        ComputeSettings.from_environment(),
        subnet_ids=mount.subnet_ids,
        user_data=mount.user_data,
        mount=(mount.host_path, mount.container_path),
    )
    logger.info("Compute prepared", extra=compute)
    return compute
