#!/usr/bin/env bash
# Sample job for OnlyEBS mode: write COUNT files of SIZE into the run's scratch volume one
# after another, deleting the previous file once the next one is written, then copy the
# last file to the stack's data bucket with `aws s3 cp`.
set -euo pipefail

readonly PROG="write_delete_test_ebs_with_s3.sh"

usage() {
    cat <<'EOF'
Usage: write_delete_test_ebs_with_s3.sh [-n COUNT] [-s SIZE] [-d DIR]

Writes COUNT files of SIZE into DIR one after another, deleting each file once the next
one is written, then copies the last file to s3://$S3_BUCKET_NAME/$S3_PREFIX.

  -n COUNT  number of files, 1 or more            (env FILE_COUNT, default 10)
  -s SIZE   size of each file: a whole number with an optional unit K, M, G or T
            (powers of 1024), e.g. 512K, 64M, 10G (env FILE_SIZE, default 1G)
  -d DIR    an existing directory to write into   (env DATA_DIR, else SCRATCH_DIR,
            else /data)
  -h        show this help

Environment (the run's job definition sets S3_BUCKET_NAME, SCRATCH_DIR and
BATCH_SCRATCH_RUN_ID):
  S3_BUCKET_NAME  the bucket that receives the last file (required)
  S3_PREFIX       key prefix inside the bucket (default: "$BATCH_SCRATCH_RUN_ID/" when
                  that is set, so that runs do not overwrite each other's results)
EOF
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
    # 10# reads the digits as decimal even with leading zeros.
    local bytes=$(((10#$digits) << shift_bits))
    if ((bytes < 1)); then
        return 1
    fi
    printf '%s\n' "$bytes"
}

count="${FILE_COUNT:-10}"
size="${FILE_SIZE:-1G}"
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
    usage_error "SIZE must be a whole number above 0 with an optional unit K, M, G or T, got '$size'"
fi
if [[ ! -d "$dir" ]]; then
    usage_error "DIR '$dir' is not a directory"
fi
if [[ -z "${S3_BUCKET_NAME:-}" ]]; then
    usage_error "S3_BUCKET_NAME is not set: name the bucket that receives the last file"
fi
prefix="${S3_PREFIX-${BATCH_SCRATCH_RUN_ID:-}}"
if [[ -n "$prefix" && "$prefix" != */ ]]; then
    prefix="$prefix/"
fi
destination="s3://${S3_BUCKET_NAME}/${prefix}"

log "job ${AWS_BATCH_JOB_ID:-(not in AWS Batch)}, attempt ${AWS_BATCH_JOB_ATTEMPT:-1}:" \
    "writing $count file(s) of $size ($bytes bytes) into $dir"

previous=""
for ((i = 1; i <= count; i++)); do
    file="$dir/test_file_$i"
    head -c "$bytes" /dev/zero >"$file"
    log "wrote $file"
    if [[ -n "$previous" ]]; then
        rm -f -- "$previous"
        log "deleted $previous"
    fi
    previous="$file"
done

log "copying $previous to $destination"
aws s3 cp --no-progress "$previous" "$destination"
log "done"
