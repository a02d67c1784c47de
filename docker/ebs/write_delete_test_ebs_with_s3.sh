#!/usr/bin/env bash
# Sample job for OnlyEBS mode: write COUNT files of SIZE into the run's scratch volume one
# after another, deleting the previous file once the next one is complete, then copy the
# last file to the stack's data bucket with `aws s3 cp`. Progress is checkpointed in DIR, so
# that an attempt after a Spot reclaim skips the files that are already complete.
set -euo pipefail

readonly PROG="write_delete_test_ebs_with_s3.sh"
readonly CHECKPOINT_NAME=".write_delete_test.checkpoint"
# Written by the instance's user data on the run's storage (batchscratch/marker.py).
readonly RUN_MARKER_NAME=".batch-scratch-run-id"
readonly EXIT_NOT_THE_RUNS_STORAGE=75

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
  S3_PREFIX             key prefix inside the bucket (default: "$BATCH_SCRATCH_RUN_ID/"
                        when that is set, so that runs do not overwrite each other's results)
  BATCH_SCRATCH_RUN_ID  when set (in a Batch run), DIR must hold the run marker
                        DIR/.batch-scratch-run-id naming this run, which the instance writes
                        once the run's volume is mounted; unset, no marker is needed

Exit status: 0 done; 2 bad input; 75 BATCH_SCRATCH_RUN_ID is set and DIR lacks its run
marker (the volume is not mounted there, or it is another run's): nothing was written;
143 stopped by SIGTERM, after recording the checkpoint; other: a write or the copy failed.
EOF_USAGE
}

usage_error() {
    printf '%s: %s\n\n' "$PROG" "$1" >&2
    usage >&2
    exit 2
}

log() {
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# Print the number of bytes in SIZE (digits with an optional K/M/G/T unit), or fail.
size_to_bytes() {
    local size="$1" digits unit shift_bits
    if [[ ! "$size" =~ ^([0-9]{1,12})([KkMmGgTt]?)$ ]]; then
        return 1
    fi
    digits="${BASH_REMATCH[1]}"
    unit="${BASH_REMATCH[2]^^}"
    case "$unit" in
        "") shift_bits=0 ;;
        K) shift_bits=10 ;;
        M) shift_bits=20 ;;
        G) shift_bits=30 ;;
        T) shift_bits=40 ;;
    esac
    # At most 64 TiB (the largest EBS volume), checked before shifting so nothing wraps.
    # 10# reads the digits as decimal even with leading zeros.
    if (((10#$digits) > (1 << 46) >> shift_bits)); then
        return 1
    fi
    local bytes=$(((10#$digits) << shift_bits))
    if ((bytes < 1)); then
        return 1
    fi
    printf '%s\n' "$bytes"
}

# In a Batch run, write nothing unless DIR holds this run's marker: without it DIR is the
# empty host directory left where the storage failed to mount, or another run's storage.
refuse_unless_marked() {
    local marker="$1/$RUN_MARKER_NAME" found="" why="is missing"
    [[ -n "${BATCH_SCRATCH_RUN_ID:-}" ]] || return 0
    if [[ -f "$marker" && -r "$marker" ]]; then
        found="$(<"$marker")"
        why="names run '$found'"
    fi
    if [[ "$found" != "$BATCH_SCRATCH_RUN_ID" ]]; then
        printf '%s %s\n' "$PROG: refusing to write: the run marker $marker $why," \
            "so $1 is not the storage of run $BATCH_SCRATCH_RUN_ID (exit $EXIT_NOT_THE_RUNS_STORAGE)" >&2
        exit "$EXIT_NOT_THE_RUNS_STORAGE"
    fi
}

count="${FILE_COUNT:-10}"
size="${FILE_SIZE:-100G}"
dir="${DATA_DIR:-${SCRATCH_DIR:-/data}}"

while getopts ":n:s:d:h" option; do
    case "$option" in
        n) count="$OPTARG" ;;
        s) size="$OPTARG" ;;
        d) dir="$OPTARG" ;;
        h)
            usage
            exit 0
            ;;
        :) usage_error "option -$OPTARG needs a value" ;;
        *) usage_error "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))
if (($# > 0)); then
    usage_error "unexpected argument: $1"
fi

if [[ ! "$count" =~ ^[1-9][0-9]{0,5}$ ]]; then
    usage_error "COUNT must be a whole number from 1 to 999999, got '$count'"
fi
if ! bytes="$(size_to_bytes "$size")"; then
    usage_error "SIZE must be a whole number above 0 with an optional unit K, M, G or T, at most 64T, got '$size'"
fi
if [[ ! -d "$dir" ]]; then
    usage_error "DIR '$dir' is not a directory"
fi
attempt="${AWS_BATCH_JOB_ATTEMPT:-1}"
if [[ ! "$attempt" =~ ^[1-9][0-9]{0,3}$ ]]; then
    usage_error "AWS_BATCH_JOB_ATTEMPT must be a whole number from 1, got '$attempt'"
fi
if [[ -z "${S3_BUCKET_NAME:-}" ]]; then
    usage_error "S3_BUCKET_NAME is not set: name the bucket that receives the last file"
fi
prefix="${S3_PREFIX-${BATCH_SCRATCH_RUN_ID:-}}"
if [[ -n "$prefix" && "$prefix" != */ ]]; then
    prefix="$prefix/"
fi
destination="s3://${S3_BUCKET_NAME}/${prefix}"

# The run's volume holds only this run's files.
workdir="$dir"
refuse_unless_marked "$workdir"
checkpoint="$workdir/$CHECKPOINT_NAME"
done_count=0
child=""

file_name() {
    printf '%s/test_file_%s\n' "$workdir" "$1"
}

# Record that files 1..$1 are complete: write the marker under a temporary name, then rename.
record_checkpoint() {
    printf '%s\n' "$1" >"$checkpoint.tmp"
    mv -f -- "$checkpoint.tmp" "$checkpoint"
}

on_sigterm() {
    trap - TERM
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    rm -f -- "$workdir"/test_file_*.partial
    record_checkpoint "$done_count"
    log "SIGTERM: stopping; checkpoint records $done_count of $count file(s) complete"
    exit 143
}
trap on_sigterm TERM

# Read the checkpoint left by an earlier attempt, if any, and check it against DIR.
if [[ -f "$checkpoint" ]]; then
    recorded="$(<"$checkpoint")"
    if [[ ! "$recorded" =~ ^[0-9]{1,6}$ ]] || ((10#$recorded > count)); then
        log "checkpoint $checkpoint holds '$recorded', not a file number up to $count: starting over"
    elif ((10#$recorded > 0)) && [[ ! -f "$(file_name "$((10#$recorded))")" ]]; then
        log "checkpoint says file $((10#$recorded)) is complete but it is missing: starting over"
    else
        done_count=$((10#$recorded))
    fi
fi
# Left behind by an attempt that was killed without a chance to clean up.
rm -f -- "$workdir"/test_file_*.partial

log "job ${AWS_BATCH_JOB_ID:-(not in AWS Batch)}, attempt $attempt:" \
    "writing $count file(s) of $size ($bytes bytes) into $workdir"
if ((done_count == count)); then
    log "attempt $attempt: all $count file(s) complete at the checkpoint; nothing to write"
elif ((done_count > 0 || attempt > 1)); then
    log "attempt $attempt: resuming from file $((done_count + 1))" \
        "($done_count of $count file(s) complete at the checkpoint)"
fi
if ((done_count > 1)); then
    # The previous attempt may have stopped between its checkpoint and this delete.
    rm -f -- "$(file_name "$((done_count - 1))")"
fi

for ((i = done_count + 1; i <= count; i++)); do
    file="$(file_name "$i")"
    # In the background, so that SIGTERM is handled at once rather than after the write.
    head -c "$bytes" /dev/zero >"$file.partial" &
    child=$!
    wait "$child"
    child=""
    mv -f -- "$file.partial" "$file"
    done_count=$i
    record_checkpoint "$done_count"
    log "wrote $file"
    if ((i > 1)); then
        previous="$(file_name "$((i - 1))")"
        rm -f -- "$previous"
        log "deleted $previous"
    fi
done

last="$(file_name "$count")"
log "copying $last to $destination"
aws s3 cp --no-progress "$last" "$destination" &
child=$!
wait "$child"
child=""
log "done"
