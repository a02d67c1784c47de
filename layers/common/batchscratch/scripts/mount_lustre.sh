#!/bin/bash
# Launch template user data (Lustre modes): install the Lustre client and mount the run's
# file system before the ECS agent starts jobs. Every instance of the run mounts it, and a
# retried attempt after a Spot reclaim finds the previous attempt's files there.
# Settings and common.sh (log, imds, terminate_self, Spot draining) come first (user_data.py).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
[[ $(type -t terminate_self) == function ]] || source "$(dirname "$0")/common.sh"

: "${DNS_NAME:?}" "${MOUNT_NAME:?}" "${MOUNT_POINT:?}" "${SCRATCH_DIR:?}"
MOUNT_ATTEMPTS="${MOUNT_ATTEMPTS:-30}"
POLL_SECONDS="${POLL_SECONDS:-10}"

# Only the client package: never a kernel or full-system update, because the client's
# kernel module must match the kernel that is running.
installed=false
for _ in 1 2 3; do
  if dnf install -y lustre-client; then
    installed=true
    break
  fi
  sleep "$POLL_SECONDS"
done
$installed || terminate_self "the Lustre client could not be installed"

mkdir -p "$MOUNT_POINT"
for _ in $(seq 1 "$MOUNT_ATTEMPTS"); do
  mountpoint -q "$MOUNT_POINT" && break
  mount -t lustre -o relatime,flock "${DNS_NAME}@tcp:/${MOUNT_NAME}" "$MOUNT_POINT" ||
    log "mount of ${DNS_NAME}@tcp:/${MOUNT_NAME} failed; retrying"
  mountpoint -q "$MOUNT_POINT" || sleep "$POLL_SECONDS"
done
mountpoint -q "$MOUNT_POINT" || terminate_self "file system ${DNS_NAME} could not be mounted"

# The data repository association links the bucket at SCRATCH_DIR (e.g. /fsx/scratch).
mkdir -p "$SCRATCH_DIR"
chmod 0777 "$SCRATCH_DIR"
log "file system ${DNS_NAME}@tcp:/${MOUNT_NAME} mounted at $MOUNT_POINT"
