#!/bin/bash
# Shared start of every mount script (user_data.py puts it between the settings and the
# script): logging, IMDSv2, Spot draining, and leaving the pool when the storage cannot be used.
set -euo pipefail

IMDS="${IMDS:-http://169.254.169.254}"

log() { echo "batch-scratch: $*" >&2; }

imds() {
  local token
  token=$(curl -sSf -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  curl -sSf -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/$1"
}

# Spot draining: the ECS agent stops tasks at the interruption notice (SIGTERM, then
# SIGKILL after the stop timeout), so a job has most of the 2-minute notice to checkpoint.
cat >>"${ECS_CONFIG:-/etc/ecs/ecs.config}" <<ECS
ECS_ENABLE_SPOT_INSTANCE_DRAINING=true
ECS_CONTAINER_STOP_TIMEOUT=110s
ECS

INSTANCE_ID=$(imds instance-id)
AWS_DEFAULT_REGION=$(imds placement/region)
export INSTANCE_ID AWS_DEFAULT_REGION

# Without its storage a job would write to the root disk and lose its results: this
# instance leaves, and Batch places the job on another one.
terminate_self() {
  log "$1; terminating instance $INSTANCE_ID so that the job does not run here"
  aws ec2 terminate-instances --instance-ids "$INSTANCE_ID" >/dev/null || shutdown -h now
  exit 1
}
