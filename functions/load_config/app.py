"""LoadConfig: the mode's secret overlaid with the execution input, validated.

Event: ``{"input": <execution input>, "executionArn", "executionName", "startTime"}`` (the
state machine passes the context object's values). Returns ``{"run", "config"}``
(``LoadedConfig``), which becomes the whole state. Raises ``InvalidConfiguration`` before
anything billable exists.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from batchscratch.environment import setting
from batchscratch.handler import step_handler
from batchscratch.outputs import LoadedConfig
from batchscratch.state import ExecutionStart, load_run


@step_handler(log_message="Run configuration loaded", correlation_id_path="executionName")
def lambda_handler(start: ExecutionStart, context: LambdaContext) -> LoadedConfig:
    return load_run(start, setting("MODE"), setting("STACK_NAME"), setting("CONFIG_SECRET_ID"))
