"""Named errors raised by the handlers.

Lambda reports an uncaught exception's class name as ``errorType``; Step Functions matches
``ErrorEquals`` against it. The state machines in ``statemachine/`` use exactly these names,
and ``tests/unit/test_errors.py`` checks that every name they use is defined here and raised.
"""


class BatchScratchError(Exception):
    """Base class: every error a handler raises on purpose."""


class MissingSetting(BatchScratchError):
    """A required environment variable is not set: the deployment is broken, not the input."""


class AwsTransientError(BatchScratchError):
    """AWS kept throttling or failing (HTTP 429/5xx) after the SDK's own retries.

    Every Lambda task's Retry catches it: the steps are idempotent, so running one again is
    safe, and a burst of throttling must not send a run with good results to its failure path.
    """


class InvalidConfiguration(BatchScratchError):
    """The secret or the execution input has an unknown key or a value outside its rule.

    Raised by LoadConfig before anything billable exists.
    """


class StorageFailed(BatchScratchError):
    """The run's storage reached a failed lifecycle state (EBS ``error``)."""


class StorageTimeout(BatchScratchError):
    """The run's storage stayed pending longer than ``storageTimeoutSeconds``."""


class ComputeFailed(BatchScratchError):
    """The run's compute environment or job queue became INVALID."""


class ComputeTimeout(BatchScratchError):
    """The run's compute environment or job queue was not VALID and ENABLED within
    ``computeTimeoutSeconds``."""


class JobStartTimeout(BatchScratchError):
    """The run's Batch job did not start within ``jobStartTimeoutSeconds`` of its submission
    (RUNNABLE for want of capacity, a misconfiguration, or instances that keep failing); the
    job was terminated. The message names Batch's ``statusReason``, or says it gave none."""


class JobFailed(BatchScratchError):
    """The run's Batch job, followed after a throttled ``submitJob.sync``, ended FAILED."""


class JobNotSubmitted(BatchScratchError):
    """SubmitJob kept failing (throttled or refused) and the run's queue still holds no job
    after the bounded number of resubmissions."""


class RunTimeout(BatchScratchError):
    """The run outlived its whole-run limit (``RunTimeoutSeconds``, from the execution's
    start) while its job was followed; the job was terminated."""


class CleanupTimeout(BatchScratchError):
    """Compute cleanup or storage release did not finish within ``cleanupTimeoutSeconds``.

    Whatever is left keeps its run tags; the release workflow's RetainRun step tags it
    ``retained-reason`` and reports it.
    """


class SnapshotFailed(BatchScratchError):
    """The failure-policy snapshot ended in state ``error``; the volume is retained."""


class ExportFailed(BatchScratchError):
    """The export to S3 did not succeed with 0 failed files; the file system is retained."""


class ExportTimeout(BatchScratchError):
    """The export did not finish within ``exportTimeoutSeconds``; the file system is retained."""


class ReleaseIncomplete(BatchScratchError):
    """The release workflow gave up (``cleanupTimeoutSeconds`` passed, or a step failed for
    good): what is left of the run is tagged ``retained-reason`` and reported to the stack's
    SNS topic (RetainRun); the release execution fails with this name."""
