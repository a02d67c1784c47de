#!/bin/bash
# Shared start of every mount script (user_data.py puts it between the settings and the
# script). Fail closed: a job must never run on this instance without its storage, or it
# writes its results to the root disk and loses them. Any failure, an unset variable, or a
# user data that runs too long terminates the instance; Batch places the job elsewhere.
set -eEuo pipefail

IMDS="${IMDS:-http://169.254.169.254}"
USER_DATA_TIMEOUT_SECONDS="${USER_DATA_TIMEOUT_SECONDS:-1800}"
INSTALL_ATTEMPTS="${INSTALL_ATTEMPTS:-3}"
POLL_SECONDS="${POLL_SECONDS:-10}"
SYSTEMD_DIR="${SYSTEMD_DIR:-/etc/systemd/system}"
SPOT_WATCHER_PATH="${SPOT_WATCHER_PATH:-/usr/local/sbin/batch-scratch-spot-watcher}"
# The AWS CLI retries throttling and 5xx itself; a call that still fails ends the boot.
export AWS_RETRY_MODE="${AWS_RETRY_MODE:-standard}" AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-6}"
MAIN_PID=$$
INSTANCE_ID=""
IMDS_TOKEN=""
BOOT_DONE=""
WATCHDOG_PID=""

log() { echo "batch-scratch: $*" >&2; }

# Never returns, and cannot fail silently: terminate-instances, else shutdown, and the
# ECS agent (ordered after cloud-final, so it starts whatever this script's status) is
# kept from registering meanwhile.
terminate_self() {
  trap - ERR EXIT
  set +e
  if [[ -n "$WATCHDOG_PID" && $BASHPID == "$MAIN_PID" ]]; then
    kill "$WATCHDOG_PID" 2>/dev/null
  fi
  log "$1; terminating instance ${INSTANCE_ID:-(id unknown)} so that no job runs here"
  systemctl mask --runtime ecs.service >/dev/null 2>&1
  systemctl --no-block stop ecs.service >/dev/null 2>&1
  if [[ -n "$INSTANCE_ID" ]] && command -v aws >/dev/null 2>&1 &&
    aws ec2 terminate-instances --instance-ids "$INSTANCE_ID" >/dev/null; then
    log "terminate-instances accepted"
  else
    log "terminate-instances failed or impossible; shutting down instead"
    shutdown -h now || log "shutdown failed too; the ECS agent stays masked"
  fi
  exit 1
}

# In a command substitution (set -E passes the trap on) only leave it: the main shell's
# own ERR trap then terminates, once.
on_error() {
  local status=$? line=$1 command=$2
  [[ $BASHPID == "$MAIN_PID" ]] || exit "$status"
  terminate_self "line $line failed (exit $status): $command"
}
# Every exit that does not come from finish_boot (set -u, a plain exit) terminates too.
on_exit() {
  local status=$?
  [[ -n "$BOOT_DONE" ]] || terminate_self "the user data ended (exit $status) before the storage was ready"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR
trap on_exit EXIT
: "${RUN_ID:?}" "${RUN_MARKER_NAME:?}"

# run ATTEMPTS COMMAND...: run COMMAND until it succeeds, POLL_SECONDS apart.
retry() {
  local attempts=$1 n
  shift
  for ((n = 1; n <= attempts; n++)); do
    "$@" && return 0
    ((n == attempts)) || sleep "$POLL_SECONDS"
  done
  return 1
}

curl_imds() { curl -sSf --retry 3 --retry-connrefused --connect-timeout 2 --max-time 10 "$@"; }
imds() { curl_imds -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"; }

# The launch template requires IMDSv2 (HttpTokens required): a token first.
IMDS_TOKEN=$(curl_imds -X PUT "$IMDS/latest/api/token" \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 21600") || terminate_self "no IMDSv2 token"
[[ -n "$IMDS_TOKEN" ]] || terminate_self "IMDS gave an empty token"
INSTANCE_ID=$(imds instance-id) || terminate_self "IMDS did not give the instance id"
[[ "$INSTANCE_ID" == i-* ]] || terminate_self "IMDS gave '$INSTANCE_ID' as the instance id"
AWS_DEFAULT_REGION=$(imds placement/region) || terminate_self "IMDS did not give the region"
[[ -n "$AWS_DEFAULT_REGION" ]] || terminate_self "IMDS gave an empty region"
export INSTANCE_ID AWS_DEFAULT_REGION

# The whole boot has a deadline (from here: the IMDS calls above are bounded by curl): a hung
# dnf, mount or API call must not leave an instance that idles, or that later runs the job
# without its storage. `read -t` waits in the shell itself: nothing outlives the watchdog.
(
  trap - ERR EXIT
  set +e
  read -r -t "$USER_DATA_TIMEOUT_SECONDS" <> <(:)
  kill -KILL "$MAIN_PID" 2>/dev/null
  terminate_self "the user data did not finish within ${USER_DATA_TIMEOUT_SECONDS}s"
) &
WATCHDOG_PID=$!

# Spot draining sets the instance DRAINING at the interruption notice, so no new task is
# placed here (ECS Developer Guide, "Configuring Amazon ECS Linux container instances to
# receive Spot Instance notices"). It stops service tasks only: a Batch job is a standalone
# task and keeps running, so the watcher below gives it the notice. The stop timeout is the
# SIGTERM-to-SIGKILL wait when the agent stops a job itself (TerminateJob, a timed-out
# attempt); its default is 30s.
cat >>"${ECS_CONFIG:-/etc/ecs/ecs.config}" <<ECS
ECS_ENABLE_SPOT_INSTANCE_DRAINING=true
ECS_CONTAINER_STOP_TIMEOUT=110s
ECS

# require COMMAND PACKAGE: install PACKAGE unless COMMAND is there. The ECS-optimized AL2023
# AMI is built from the AL2023 minimal AMI, which lacks e.g. the AWS CLI.
require() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)"
  retry "$INSTALL_ATTEMPTS" dnf install -y "$2" || terminate_self "$2 could not be installed"
  command -v "$1" >/dev/null 2>&1 || terminate_self "$2 is installed but $1 is not on PATH"
}
require aws awscli-2

# Write RUN_ID into DIR/RUN_MARKER_NAME (atomically), where the job checks it before it
# writes. A retried attempt finds its own id; another run's id means this storage is not
# this run's: leave, never overwrite.
write_run_marker() {
  local marker="$1/$RUN_MARKER_NAME" found
  if [[ -e "$marker" ]]; then
    found=$(<"$marker")
    [[ "$found" == "$RUN_ID" ]] ||
      terminate_self "$marker holds run '$found', not this run '$RUN_ID'"
  fi
  printf '%s\n' "$RUN_ID" >"$marker.tmp.$$"
  chmod 0444 "$marker.tmp.$$"
  mv -f -- "$marker.tmp.$$" "$marker"
}

if ! declare -F spot_watcher_script >/dev/null; then
  spot_watcher_script() { cat "${BASH_SOURCE[0]%/*}/spot_watcher.sh"; }
fi

# ECS stops no Batch job at the Spot interruption notice; this unit sends the job SIGTERM.
# Installed after the mount: an instance that fails before it leaves anyway.
# --no-block: the start must not wait on units ordered after cloud-final, which runs us.
install_spot_watcher() {
  local unit="$SYSTEMD_DIR/batch-scratch-spot-watcher.service"
  mkdir -p "${SPOT_WATCHER_PATH%/*}" "$SYSTEMD_DIR"
  spot_watcher_script >"$SPOT_WATCHER_PATH.tmp"
  chmod 0755 "$SPOT_WATCHER_PATH.tmp"
  mv -f -- "$SPOT_WATCHER_PATH.tmp" "$SPOT_WATCHER_PATH"
  cat >"$unit" <<UNIT
[Unit]
Description=batch-scratch: SIGTERM the Batch job containers at a Spot interruption notice

[Service]
ExecStart=$SPOT_WATCHER_PATH
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now --no-block batch-scratch-spot-watcher.service
}

# The end of every mount script: marker, watcher, then proof that the storage is mounted
# and marked. Only this lets the script end with status 0 (and the ECS agent start a job).
finish_boot() {
  local mount_point=$1 marker_dir=$2 found
  write_run_marker "$marker_dir"
  install_spot_watcher
  mountpoint -q "$mount_point" || terminate_self "$mount_point is not mounted at the end of the boot"
  found=$(<"$marker_dir/$RUN_MARKER_NAME")
  [[ "$found" == "$RUN_ID" ]] || terminate_self "the run marker in $marker_dir does not hold $RUN_ID"
  kill "$WATCHDOG_PID" 2>/dev/null || true
  BOOT_DONE=1
  trap - ERR EXIT
  log "run $RUN_ID: storage ready at $marker_dir; the ECS agent may start the job"
}
