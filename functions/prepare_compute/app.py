"""PrepareCompute: the run's own launch template, compute environment and job definition.

The launch template's user data attaches the run's volume and mounts it at /data; the
compute environment uses only subnets in the volume's zone. Event: the state (``run``,
``config``, ``volume``). Returns ``$.compute`` (names, ARNs, ``createdAt``).
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.compute import ComputeSettings, prepare_compute
from batchscratch.state import RunState
from batchscratch.user_data import ebs_user_data

logger = Logger()
tracer = Tracer()

MOUNT_POINT = "/data"


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    volume = state.require_volume()
    compute = prepare_compute(
        state.run,
        state.ebs_config(),
        ComputeSettings.from_environment(),
        subnet_ids=volume.subnetIds,
        user_data=ebs_user_data(volume.volumeId, MOUNT_POINT),
        mount=(MOUNT_POINT, MOUNT_POINT),
    )
    logger.info("Compute prepared", extra=compute)
    return compute
