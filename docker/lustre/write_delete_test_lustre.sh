#!/usr/bin/env bash
# Sample job for the Lustre modes (TaskExport, AutoExport): write COUNT files of SIZE into the
# run's file system one after another, deleting the previous file once the next one is
# complete. Progress is checkpointed in DIR, so that an attempt after a Spot reclaim skips the
# files that are already complete. The export copies what is left in DIR to the data bucket.
set -euo pipefail

readonly PROG="write_delete_test_lustre.sh"
readonly DEFAULT_DIR="/scratch"

usage() {
    cat <<'EOF_USAGE'
Usage: write_delete_test_lustre.sh [-n COUNT] [-s SIZE] [-d DIR]

Writes COUNT files of SIZE into DIR one after another, deleting each file once the next
one is complete. A file is written under a temporary name and renamed when complete; the
checkpoint DIR/.write_delete_test.checkpoint holds the number of the last complete file,
and a later attempt resumes after it. On SIGTERM the job records its checkpoint and exits
with status 143.

  -n COUNT  number of files, 1 or more            (env FILE_COUNT, default 10)
  -s SIZE   size of each file: a whole number with an optional unit K, M, G or T
            (powers of 1024), e.g. 512K, 5M, 100G (env FILE_SIZE, default 100G)
  -d DIR    an existing directory to write into   (env DATA_DIR, else SCRATCH_DIR,
            else /scratch)
  -h        show this help

Environment (the run's job definition sets SCRATCH_DIR and BATCH_SCRATCH_RUN_ID; Batch
sets AWS_BATCH_JOB_ATTEMPT):
  BATCH_SCRATCH_RUN_ID  when set (in a Batch run), the files go to DIR/$BATCH_SCRATCH_RUN_ID/,
                        so that runs sharing a bucket do not overwrite each other's results;
                        that directory must hold the run marker .batch-scratch-run-id naming
                        this run, which the instance writes once the file system is mounted.
                        Unset, no marker is needed

Exit status: 0 done; 2 bad input; 75 BATCH_SCRATCH_RUN_ID is set and its directory lacks
the run marker (the file system is not mounted there, or it is another run's): nothing was
written; 143 stopped by SIGTERM, after recording the checkpoint; other: a write failed.
EOF_USAGE
}

# The part both samples share: beside this script's folder in the repository, at a fixed
# path in the image (why: docker/common/write_delete_lib.sh).
lib="$(dirname -- "${BASH_SOURCE[0]}")/../common/write_delete_lib.sh"
[[ -f "$lib" ]] || lib="/usr/local/lib/batch-scratch/write_delete_lib.sh"
# shellcheck source-path=SCRIPTDIR source=../common/write_delete_lib.sh
source "$lib"

parse_arguments "$@"

run_dir="$dir${BATCH_SCRATCH_RUN_ID:+/$BATCH_SCRATCH_RUN_ID}"
refuse_unless_marked "$run_dir"
mkdir -p -- "$run_dir"
write_and_delete_files "$run_dir"

log "done: $(file_name "$count") is complete"
