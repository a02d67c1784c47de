"""The run marker: a file on the run's storage that names the run it belongs to.

The instance's user data writes it after mounting the storage (``scripts/common.sh``,
``write_run_marker``): at the EBS mount point, or in the run's directory under the Lustre
association's directory (``<scratch dir>/<run id>``; one at the association's root would be
exported to the bucket that every run shares, then imported into later runs). A job checks it
before writing, so that it never writes into another run's storage, or into the empty host
directory that stands where the storage failed to mount.

This module is the one definition of the marker's name: the user data receives it as the
setting ``RUN_MARKER_NAME``, and a test holds the sample jobs in docker/ to it.
"""

RUN_MARKER_NAME = ".batch-scratch-run-id"
"""File name of the marker; it holds the run id (the execution name) and a newline."""

SAMPLE_JOB_REFUSAL_EXIT_CODE = 75
"""Exit status of the sample jobs when ``BATCH_SCRATCH_RUN_ID`` is set and their data
directory lacks the marker of that run (75 is ``EX_TEMPFAIL`` of sysexits.h: the storage is
not there on this instance, another attempt elsewhere may find it)."""
