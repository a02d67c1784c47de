# shellcheck shell=bash
# What the sample job scripts share (docker/ebs, docker/lustre): reading the options, the
# run-marker check, and writing COUNT files of SIZE one after another, deleting the previous
# file once the next one is complete, with a checkpoint that a later attempt resumes from.
#
# Sourced, never run. Before sourcing, a script sets PROG (its name in messages) and
# DEFAULT_DIR (DIR when neither -d, DATA_DIR nor SCRATCH_DIR says), and defines usage (its
# help text); then it calls, in this order:
#   parse_arguments "$@"        sets count, size, bytes, dir and attempt, or exits 2
#   refuse_unless_marked DIR    exits 75 unless DIR holds the marker of this run
#   write_and_delete_files DIR  writes the files into DIR; on SIGTERM records the
#                               checkpoint and exits 143
#   wait_for_child PID          for a command it starts in the background afterwards (the
#                               EBS copy), so that SIGTERM stops that too
#
# Where a script finds it: ../common/write_delete_lib.sh from the script's own folder when
# that exists (the repository, where the tests run the scripts in place), else
# /usr/local/lib/batch-scratch/write_delete_lib.sh (the images). The images keep the scripts
# in /usr/local/bin, the path job commands name, where the repository's layout would put the
# library in /usr/local/common; one fixed path in the image (tests/docker/test_images.py
# holds the Dockerfiles to it) is simpler than a symlink the script would have to resolve.
# The repository's copy comes first, so that a checkout never runs an installed library.

readonly CHECKPOINT_NAME=".write_delete_test.checkpoint"
# Written by the instance's user data on the run's storage (batchscratch/marker.py).
readonly RUN_MARKER_NAME=".batch-scratch-run-id"
readonly EXIT_NOT_THE_RUNS_STORAGE=75

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

# Read the options and the environment into count, size, bytes, dir and attempt; on bad
# input print the usage and exit 2.
parse_arguments() {
    local option OPTIND=1
    count="${FILE_COUNT:-10}"
    size="${FILE_SIZE:-100G}"
    dir="${DATA_DIR:-${SCRATCH_DIR:-$DEFAULT_DIR}}"

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

# Wait for the background command PID, which on_sigterm stops if SIGTERM comes first: the
# commands run in the background so that SIGTERM is handled at once rather than after them.
wait_for_child() {
    child="$1"
    wait "$child"
    child=""
}

# Write files 1..count into DIR, resuming after the checkpoint of an earlier attempt.
write_and_delete_files() {
    local recorded i file previous
    workdir="$1"
    checkpoint="$workdir/$CHECKPOINT_NAME"
    done_count=0
    child=""
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
        head -c "$bytes" /dev/zero >"$file.partial" &
        wait_for_child $!
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
}
