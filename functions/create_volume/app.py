"""CreateVolume: the run's encrypted gp3 volume in the first private subnet's zone.

Event: the state (``run``, ``config``). Returns ``$.volume``:
``{"volumeId", "availabilityZone", "subnetIds", "createdAt"}``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.aws import transient_errors_retried
from batchscratch.ebs import create_volume
from batchscratch.environment import setting_list
from batchscratch.state import RunState

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(correlation_id_path="run.runId")
@tracer.capture_lambda_handler
@transient_errors_retried
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=RunState)
    volume = create_volume(state.run, state.ebs_config(), setting_list("PRIVATE_SUBNET_IDS"))
    logger.info("Volume created", extra=volume)
    return volume
