"""Where a run's data lives in S3: the run's own prefix and the file system's associations.

The layout, in one place:

- Every run owns ``s3://<data bucket>/runs/<run id>/`` (``RUNS_PREFIX``; the run id is the
  execution name). A Lustre run links it at ``/scratch`` by default (``dataRepositoryPath``
  unset): its file system imports only what is under it and exports only into it. An OnlyEBS
  job is given the same prefix (``S3_PREFIX``) for its results, and the job role may write
  only under ``runs/`` (template.yaml, ``JobRole``).
- An explicit ``dataRepositoryPath`` is linked exactly as given (nothing is appended): the
  way to link the bucket's root or a prefix several runs share, as the original layout did.
- ``inputDataRepositoryPath`` links a second association at ``/input`` for import only: no
  ``AutoExportPolicy``, and every export task names ``/scratch`` in ``Paths``, so nothing is
  ever exported into it.

AWS rules followed (FSx API Reference, CreateDataRepositoryAssociation, and botocore's fsx
model, shape ``ArchivePath``: 3-4357 characters, none of U+0000, U+0085, U+2028, U+2029, CR,
LF): "Each data repository association must have a unique Amazon FSx file system directory and
a unique S3 bucket or prefix associated with it", and two associations of one file system
"cannot have overlapping file system paths" (shape ``Namespace``). A path is written with a
trailing ``/``: S3 prefixes match characters, so ``runs/a`` would also hold ``runs/ab/``.

Run ids (Step Functions StartExecution ``name``, botocore's stepfunctions model: 1-80
characters, no white space, brackets, ``? *``, ``" # % \\ ^ | ~ ` $ & , ; : /`` or control
characters) are valid S3 key characters (Amazon S3 User Guide, "Naming Amazon S3 objects":
any UTF-8, at most 1,024 bytes), and ``.`` and ``..`` are refused at LoadConfig
(``run.check_run_id``). Step Functions lets a name be reused 90 days after its execution
closed: a run under a reused name links the earlier run's prefix.
"""

import re

from batchscratch.errors import InvalidConfiguration

RUNS_PREFIX = "runs/"
"""Key prefix of the data bucket under which every run has its own prefix."""

EXPORT_FILE_SYSTEM_PATH = "/scratch"
"""Where the run's read-write association is linked; the job sees it as /scratch."""
INPUT_FILE_SYSTEM_PATH = "/input"
"""Where ``inputDataRepositoryPath`` is linked (import only); the job sees it read-only."""

MAX_DATA_REPOSITORY_PATH = 4357
"""``DataRepositoryPath`` maximum length (botocore's fsx model, shape ``ArchivePath``)."""
_PATH_CHARACTERS = re.compile(r"[^\u0000\u0085\u2028\u2029\r\n]*")
"""The characters ``ArchivePath`` allows (its pattern, less the length)."""


def run_prefix(run_id: str) -> str:
    """Return the run's own key prefix in the data bucket, ``runs/<run id>/``."""
    return f"{RUNS_PREFIX}{run_id}/"


def run_data_repository_path(bucket: str, run_id: str) -> str:
    """Return the run's default data repository path, ``s3://<bucket>/runs/<run id>/``.

    Raises:
        InvalidConfiguration: the path breaks FSx's ``ArchivePath`` rule (the execution name
            holds a character FSx refuses), naming the execution name.
    """
    path = f"s3://{bucket}/{run_prefix(run_id)}"
    if len(path) > MAX_DATA_REPOSITORY_PATH or not _PATH_CHARACTERS.fullmatch(path):
        raise InvalidConfiguration(
            f"Invalid run configuration: execution name = {run_id!r}: the run's prefix {path!r} "
            "is not a valid FSx DataRepositoryPath (at most 4357 characters, none of U+0000, "
            "U+0085, U+2028, U+2029, CR, LF); start the execution under another name, or set "
            "dataRepositoryPath"
        )
    return path


def key_prefix(path: str) -> str:
    """Return the key prefix of ``s3://bucket/prefix`` (``""`` for the bucket's root)."""
    return path.removeprefix("s3://").partition("/")[2]


def with_slash(path: str) -> str:
    """Return ``path`` ending in ``/`` (an S3 prefix that names a folder, not a key start)."""
    return path if path.endswith("/") else f"{path}/"


def overlap(first: str, second: str) -> bool:
    """Whether two S3 paths overlap: one is the other or lies inside it (FSx refuses two
    associations of one file system with overlapping S3 prefixes)."""
    a, b = with_slash(first), with_slash(second)
    return a.startswith(b) or b.startswith(a)
