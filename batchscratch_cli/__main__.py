"""``python -m batchscratch_cli``: the same as the ``batch-scratch`` console script."""

from batchscratch_cli.main import cli

cli()
