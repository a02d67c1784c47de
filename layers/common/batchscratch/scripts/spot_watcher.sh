#!/bin/bash
# Spot interruption watcher, run by the unit batch-scratch-spot-watcher.service that the
# user data installs. ECS stops no Batch job at the two-minute notice (its jobs are
# standalone tasks; draining stops service tasks), so this sends SIGTERM to the job
# containers itself: the job gets most of the two minutes to checkpoint.
#
# Amazon EC2 User Guide, "Spot Instance interruption notices": spot/instance-action is
# present only once EC2 has marked the instance to stop or terminate (HTTP 404 before),
# as JSON {"action": "terminate", "time": "2017-09-18T08:22:00Z"}; check every 5 seconds.
set -uo pipefail # no -e: no failed poll, IMDS or docker call may end the watcher

IMDS="${IMDS:-http://169.254.169.254}"
SPOT_POLL_SECONDS="${SPOT_POLL_SECONDS:-5}"
TOKEN_TTL_SECONDS="${TOKEN_TTL_SECONDS:-21600}"
# Batch runs each job as an ECS task; the agent labels task containers with their task,
# and only this run's jobs run here (runs never share compute).
TASK_LABEL="com.amazonaws.ecs.task-arn"

log() { echo "batch-scratch: $*"; }

token=""
token_renew_at=0
notice=""
declare -A signalled=()

# A token lives TOKEN_TTL_SECONDS; renew it at half its life.
refresh_token() {
  ((SECONDS >= token_renew_at)) || [[ -z "$token" ]] || return 0
  local fresh
  fresh=$(curl -sSf --connect-timeout 2 --max-time 5 -X PUT "$IMDS/latest/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: $TOKEN_TTL_SECONDS") && [[ -n "$fresh" ]] ||
    return 1
  token=$fresh
  token_renew_at=$((SECONDS + TOKEN_TTL_SECONDS / 2))
}

# Set notice to the instance-action document once there is one.
check_notice() {
  local answer status body
  refresh_token || {
    log "IMDS gave no token; trying again"
    return 0
  }
  answer=$(curl -sS --connect-timeout 2 --max-time 5 -w '\n%{http_code}' \
    -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/spot/instance-action") || {
    log "IMDS did not answer; trying again"
    return 0
  }
  status=${answer##*$'\n'}
  body=${answer%$'\n'*}
  case "$status" in
    404) ;;
    200)
      if [[ "$body" == *'"action"'* ]]; then
        notice=$body
        log "Spot interruption notice: $notice"
      else
        log "unexpected spot/instance-action answer '$body'; ignoring it"
      fi
      ;;
    401) token="" ;; # expired or refused: a new one at the next poll
    *) log "IMDS answered HTTP $status; trying again" ;;
  esac
}

# SIGTERM to every job container not signalled yet (never the ECS agent).
signal_jobs() {
  local listing id name
  listing=$(docker ps --no-trunc --filter "label=$TASK_LABEL" --format '{{.ID}} {{.Names}}') || {
    log "docker ps failed; trying again"
    return 0
  }
  while read -r id name; do
    [[ -n "$id" && "$name" != ecs-agent && -z "${signalled[$id]:-}" ]] || continue
    if docker kill --signal TERM "$id" >/dev/null; then
      signalled[$id]=1
      log "sent SIGTERM to job container $name ($id)"
    else
      log "docker kill of $name ($id) failed; trying again"
    fi
  done <<<"$listing"
}

log "watching spot/instance-action every ${SPOT_POLL_SECONDS}s"
while :; do
  [[ -n "$notice" ]] || check_notice
  [[ -z "$notice" ]] || signal_jobs
  sleep "$SPOT_POLL_SECONDS"
done
