"""``batch-scratch``: start, follow and account for the runs of a deployed stack from the shell.

The command reads the stack by name (CloudFormation DescribeStacks: its outputs and
parameters), validates a run's configuration with the layer's own models before any call
(``batchscratch.config``), and talks to AWS, or to the rehearsal's local AWS
(``python -m tools.rehearse --serve``), through boto3 with ``--endpoint-url``.
"""
