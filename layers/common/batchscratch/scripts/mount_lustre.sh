#!/bin/bash
# Launch template user data (Lustre modes): install the Lustre client and mount the run's
# file system before the ECS agent starts jobs. Every instance of the run mounts it, and a
# retried attempt after a Spot reclaim finds the previous attempt's files there.
# Settings and common.sh (log, retry, require, terminate_self, finish_boot) come first.
set -eEuo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
[[ $(type -t terminate_self) == function ]] || source "$(dirname "$0")/common.sh"

: "${DNS_NAME:?}" "${MOUNT_NAME:?}" "${MOUNT_POINT:?}" "${SCRATCH_DIR:?}"
MOUNT_ATTEMPTS="${MOUNT_ATTEMPTS:-30}"

# Only the client package: never a kernel or full-system update, because the client's
# kernel module must match the kernel that is running.
retry "$INSTALL_ATTEMPTS" dnf install -y lustre-client ||
  terminate_self "the Lustre client could not be installed"

mount_file_system() {
  mountpoint -q "$MOUNT_POINT" && return 0
  mount -t lustre -o relatime,flock "${DNS_NAME}@tcp:/${MOUNT_NAME}" "$MOUNT_POINT" ||
    log "mount of ${DNS_NAME}@tcp:/${MOUNT_NAME} failed; retrying"
  mountpoint -q "$MOUNT_POINT"
}
mkdir -p "$MOUNT_POINT"
retry "$MOUNT_ATTEMPTS" mount_file_system ||
  terminate_self "file system ${DNS_NAME} could not be mounted"
log "file system ${DNS_NAME}@tcp:/${MOUNT_NAME} mounted at $MOUNT_POINT"

# The data repository association links the bucket at SCRATCH_DIR (e.g. /fsx/scratch), and
# every run shares the bucket, so the marker goes in the run's own directory there: one at
# SCRATCH_DIR itself would be exported, then imported into every later run's file system.
[[ "$RUN_ID" != */* && "$RUN_ID" != . && "$RUN_ID" != .. ]] ||
  terminate_self "run id '$RUN_ID' cannot name a directory"
mkdir -p "$SCRATCH_DIR/$RUN_ID"
chmod 0777 "$SCRATCH_DIR" "$SCRATCH_DIR/$RUN_ID"
finish_boot "$MOUNT_POINT" "$SCRATCH_DIR/$RUN_ID"
