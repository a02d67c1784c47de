#!/bin/bash
# Launch template user data (OnlyEBS): attach the run's EBS volume to this instance and mount
# it before the ECS agent starts jobs. A retried attempt after a Spot reclaim lands on a new
# instance and runs this again: the volume is reattached with the previous attempt's data.
# Settings and common.sh (log, retry, require, terminate_self, finish_boot) come first.
set -eEuo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
[[ $(type -t terminate_self) == function ]] || source "$(dirname "$0")/common.sh"

: "${VOLUME_ID:?}" "${MOUNT_POINT:?}"
ATTACH_TIMEOUT_SECONDS="${ATTACH_TIMEOUT_SECONDS:-900}"
LIVE_OWNER_GRACE_SECONDS="${LIVE_OWNER_GRACE_SECONDS:-300}"
DEVICE_TIMEOUT_SECONDS="${DEVICE_TIMEOUT_SECONDS:-120}"

attach_volume() {
  local deadline=$((SECONDS + ATTACH_TIMEOUT_SECONDS)) live_since="" answer state owner owner_state
  while ((SECONDS < deadline)); do
    answer=$(aws ec2 describe-volumes --volume-ids "$VOLUME_ID" \
      --query 'Volumes[0].[State, Attachments[0].InstanceId]' --output text) ||
      terminate_self "describe-volumes failed for $VOLUME_ID"
    read -r state owner _ <<<"$answer" || true
    case "${state:-}" in
      available)
        live_since=""
        aws ec2 attach-volume --volume-id "$VOLUME_ID" --instance-id "$INSTANCE_ID" \
          --device /dev/xvdf >/dev/null || log "attach-volume refused; retrying"
        ;;
      in-use)
        if [[ "$owner" == "$INSTANCE_ID" ]]; then
          return 0
        fi
        # Attached elsewhere: a reclaimed instance releases it within minutes; a live one
        # would mean two instances share the run, which must not happen.
        owner_state=$(aws ec2 describe-instances --instance-ids "$owner" \
          --query 'Reservations[0].Instances[0].State.Name' --output text 2>/dev/null || echo gone)
        if [[ "$owner_state" == "running" || "$owner_state" == "pending" ]]; then
          live_since="${live_since:-$SECONDS}"
          if ((SECONDS - live_since > LIVE_OWNER_GRACE_SECONDS)); then
            terminate_self "volume $VOLUME_ID stays attached to live instance $owner"
          fi
        else
          live_since=""
        fi
        log "volume $VOLUME_ID is attached to $owner ($owner_state); waiting"
        ;;
      creating) log "volume $VOLUME_ID is still being created; waiting" ;;
      *) terminate_self "describe-volumes says '$answer' for $VOLUME_ID" ;;
    esac
    sleep "$POLL_SECONDS"
  done
  terminate_self "volume $VOLUME_ID could not be attached within ${ATTACH_TIMEOUT_SECONDS}s"
}

# Nitro instances expose EBS volumes as NVMe devices whose names do not follow the requested
# device; the by-id link names the volume (without its hyphen). Xen instances (c4, m4, r4,
# t2, i3, ...) show the requested /dev/xvdf, or /dev/sdf.
find_device() {
  local deadline=$((SECONDS + DEVICE_TIMEOUT_SECONDS)) candidate
  local candidates=("${DEVICE_DIR:-/dev/disk/by-id}/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID//-/}"
    "${XEN_DEVICE_DIR:-/dev}/xvdf" "${XEN_DEVICE_DIR:-/dev}/sdf")
  while :; do
    for candidate in "${candidates[@]}"; do
      if [[ -e "$candidate" ]]; then
        device="$candidate"
        return 0
      fi
    done
    ((SECONDS < deadline)) || terminate_self "no device for $VOLUME_ID within ${DEVICE_TIMEOUT_SECONDS}s"
    sleep 1
  done
}

attach_volume
device=""
find_device
log "volume $VOLUME_ID is $device"

# Format only a blank device: blkid exits 2 when it finds no filesystem; any other failure
# must never lead to mkfs on a volume that may hold a previous attempt's data.
rc=0
blkid -p "$device" >/dev/null 2>&1 || rc=$?
if ((rc == 2)); then
  log "formatting blank volume $VOLUME_ID as XFS"
  require mkfs.xfs xfsprogs
  mkfs.xfs -q "$device" || terminate_self "mkfs.xfs failed on $device"
elif ((rc != 0)); then
  terminate_self "blkid failed on $device (exit $rc)"
else
  log "volume $VOLUME_ID already has a filesystem; keeping its data"
fi

mkdir -p "$MOUNT_POINT"
if ! mountpoint -q "$MOUNT_POINT"; then
  mount -o noatime "$device" "$MOUNT_POINT" || terminate_self "mount of $device at $MOUNT_POINT failed"
fi
chmod 0777 "$MOUNT_POINT"
log "volume $VOLUME_ID mounted at $MOUNT_POINT"
finish_boot "$MOUNT_POINT" "$MOUNT_POINT"
