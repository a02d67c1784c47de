#!/usr/bin/env bash
# Sample job for OnlyEBS mode: write COUNT files of SIZE into the run's scratch volume one
# after another, deleting the previous file once the next one is complete, then copy the
# last file to the stack's data bucket with `aws s3 cp`. Progress is checkpointed in DIR, so
# that an attempt after a Spot reclaim skips the files that are already complete.
set -euo pipefail

readonly PROG="write_delete_test_ebs_with_s3.sh"
readonly DEFAULT_DIR="/data"

usage() {
    cat <<'EOF_USAGE'
Usage: write_delete_test_ebs_with_s3.sh [-n COUNT] [-s SIZE] [-d DIR]

Writes COUNT files of SIZE into DIR one after another, deleting each file once the next
one is complete. A file is written under a temporary name and renamed when complete; the
checkpoint DIR/.write_delete_test.checkpoint holds the number of the last complete file,
and a later attempt resumes after it. On SIGTERM the job records its checkpoint and exits
with status 143. When all files are complete, the last one is copied to
s3://$S3_BUCKET_NAME/$S3_PREFIX.

  -n COUNT  number of files, 1 or more            (env FILE_COUNT, default 10)
  -s SIZE   size of each file: a whole number with an optional unit K, M, G or T
            (powers of 1024), e.g. 512K, 5M, 100G (env FILE_SIZE, default 100G)
  -d DIR    an existing directory to write into   (env DATA_DIR, else SCRATCH_DIR,
            else /data)
  -h        show this help

Environment (the run's job definition sets S3_BUCKET_NAME, SCRATCH_DIR and
BATCH_SCRATCH_RUN_ID; Batch sets AWS_BATCH_JOB_ATTEMPT):
  S3_BUCKET_NAME        the bucket that receives the last file (required)
  S3_PREFIX             key prefix inside the bucket; a run sets its own, runs/<run id>/
                        (default outside a run: "$BATCH_SCRATCH_RUN_ID/"
                        when that is set, so that runs do not overwrite each other's results)
  BATCH_SCRATCH_RUN_ID  when set (in a Batch run), DIR must hold the run marker
                        DIR/.batch-scratch-run-id naming this run, which the instance writes
                        once the run's volume is mounted; unset, no marker is needed

Exit status: 0 done; 2 bad input; 75 BATCH_SCRATCH_RUN_ID is set and DIR lacks its run
marker (the volume is not mounted there, or it is another run's): nothing was written;
143 stopped by SIGTERM, after recording the checkpoint; other: a write or the copy failed.
EOF_USAGE
}

# The part both samples share: beside this script's folder in the repository, at a fixed
# path in the image (why: docker/common/write_delete_lib.sh).
lib="$(dirname -- "${BASH_SOURCE[0]}")/../common/write_delete_lib.sh"
[[ -f "$lib" ]] || lib="/usr/local/lib/batch-scratch/write_delete_lib.sh"
# shellcheck source-path=SCRIPTDIR source=../common/write_delete_lib.sh
source "$lib"

parse_arguments "$@"
if [[ -z "${S3_BUCKET_NAME:-}" ]]; then
    usage_error "S3_BUCKET_NAME is not set: name the bucket that receives the last file"
fi
prefix="${S3_PREFIX-${BATCH_SCRATCH_RUN_ID:-}}"
if [[ -n "$prefix" && "$prefix" != */ ]]; then
    prefix="$prefix/"
fi
destination="s3://${S3_BUCKET_NAME}/${prefix}"

# The run's volume holds only this run's files.
refuse_unless_marked "$dir"
write_and_delete_files "$dir"

last="$(file_name "$count")"
log "copying $last to $destination"
aws s3 cp --no-progress "$last" "$destination" &
wait_for_child $!
log "done"
