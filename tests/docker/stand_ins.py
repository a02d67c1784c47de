"""Stand-in commands for testing the sample job scripts and the host's Spot watcher.

The stand-ins are small shell scripts put first on PATH. Each appends one line per call to a
calls file and answers the way the real command would for the calls the scripts make;
environment variables or files select failures. ``install`` gives ``aws`` and ``docker`` for
the sample jobs and push-image.sh; ``install_host`` gives IMDS (as ``curl``) and the ECS
host's ``docker`` for layers/common/batchscratch/scripts/spot_watcher.sh.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
# What the sample job scripts share; each sources it (see its header for how it is found).
SAMPLE_LIBRARY = DOCKER_DIR / "common" / "write_delete_lib.sh"
SPOT_WATCHER = REPO_ROOT / "layers" / "common" / "batchscratch" / "scripts" / "spot_watcher.sh"

# One write per call: `aws ecr get-login-password | docker login` runs two stand-ins at once,
# and lines written in pieces would interleave.
RECORD = """\
line=$(basename "$0")
for arg in "$@"; do line="$line$(printf '\\t%s' "$arg")"; done
printf '%s\\n' "$line" >>"$FAKE_CALLS"
"""

FAKE_DIGEST = "sha256:" + "0123456789abcdef" * 4
"""The digest the stand-in ECR reports for every image."""
STACK_REPOSITORY_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/batch-job-with-ebs"
"""The stand-in stack's EcrRepositoryUri output (``$FAKE_STACK_REPOSITORY_URI`` overrides it)."""

FAKE_AWS = f"""#!/bin/sh
{RECORD}
case "$1 $2" in
  "configure get")
    [ -n "${{FAKE_CONFIGURED_REGION:-}}" ] || exit 1
    printf '%s\\n' "$FAKE_CONFIGURED_REGION" ;;
  "sts get-caller-identity") printf '123456789012\\n' ;;
  "ecr describe-repositories")
    if [ -n "${{FAKE_NO_REPOSITORY:-}}" ]; then
      echo "An error occurred (RepositoryNotFoundException)" >&2; exit 254
    fi
    printf '{{"repositories": []}}\\n' ;;
  "ecr get-login-password") printf 'not-a-real-password\\n' ;;
  "ecr describe-images")
    # An image exists once the stand-in docker pushed its tag, or $FAKE_EXISTING_TAGS names it.
    tag=""
    for arg in "$@"; do case "$arg" in imageTag=*) tag=${{arg#imageTag=}} ;; esac; done
    if grep -qxF "$tag" "$FAKE_CALLS.pushed" 2>/dev/null ||
      printf '%s\\n' ${{FAKE_EXISTING_TAGS:-}} | grep -qxF "$tag"; then
      printf '%s\\n' "${{FAKE_DIGEST:-{FAKE_DIGEST}}}"
    else
      echo "An error occurred (ImageNotFoundException) when calling the DescribeImages" \\
        "operation: The image with imageId {{imageTag:'$tag'}} does not exist" >&2
      exit 254
    fi ;;
  "cloudformation describe-stacks")
    if [ -n "${{FAKE_NO_STACK:-}}" ]; then
      echo "An error occurred (ValidationError) when calling the DescribeStacks operation:" \\
        "Stack with id $6 does not exist" >&2
      exit 254
    fi
    case "$*" in
      *ConfigSecretName*) printf 'BatchJobWithOnlyEbs-%s\\n' "$6" ;;
      *EcrRepositoryUri*) printf '%s\\n' "${{FAKE_STACK_REPOSITORY_URI:-{STACK_REPOSITORY_URI}}}" ;;
      *) printf 'None\\n' ;;
    esac ;;
  "secretsmanager get-secret-value") cat "$FAKE_SECRET" ;;
  "secretsmanager put-secret-value")
    for arg in "$@"; do
      case "$arg" in file://*) cp "${{arg#file://}}" "$FAKE_CALLS.put" ;; esac
    done ;;
esac
exit 0
"""

FAKE_DOCKER = f"""#!/bin/sh
{RECORD}
case "$1" in
  info)
    if [ -n "${{FAKE_DOCKER_DOWN:-}}" ]; then
      echo "Cannot connect to the Docker daemon" >&2; exit 1
    fi ;;
  login) cat >/dev/null; echo "Login Succeeded" ;;
  buildx)
    # `buildx build ... --tag REF ... --push`: the tag of REF now exists in the repository.
    pushing="" ref=""
    previous=""
    for arg in "$@"; do
      [ "$previous" = "--tag" ] && ref=$arg
      [ "$arg" = "--push" ] && pushing=1
      previous=$arg
    done
    if [ -n "$pushing" ] && [ -n "$ref" ]; then
      printf '%s\\n' "${{ref##*:}}" >>"$FAKE_CALLS.pushed"
    fi ;;
esac
exit 0
"""


@dataclass
class FakeTools:
    """A directory whose ``bin`` holds the stand-ins, and what they recorded."""

    root: Path

    @property
    def calls_file(self) -> Path:
        return self.root / "calls"

    def calls(self) -> list[list[str]]:
        """Return every recorded call as ``[command, arg, ...]``, in order."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().splitlines()
        return [line.split("\t") for line in lines]

    def env(self, **extra: str) -> dict[str, str]:
        """Return a clean environment with the stand-ins first on PATH."""
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.root),
            "LANG": "C",
            "FAKE_CALLS": str(self.calls_file),
            "FAKE_WRITES": str(self.root / "writes"),
        }
        env.update(extra)
        return env

    def run(self, command: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` with ``env(**extra_env)`` and capture its output."""
        return subprocess.run(
            command,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def install(root: Path) -> FakeTools:
    """Write the stand-ins into ``root/bin`` and return the ``FakeTools`` that uses them."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("aws", FAKE_AWS), ("docker", FAKE_DOCKER)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return FakeTools(root)


REAL_HEAD = shutil.which("head", path=f"/usr/bin{os.pathsep}/bin") or "/usr/bin/head"

# A stand-in ``head`` that writes as the real one does, and records where each call writes
# (its standard output) in $FAKE_WRITES. The call numbered $FAKE_HEAD_STALL_AT writes a part
# of its output, then hangs, so that a test can stop the job in the middle of a file.
FAKE_HEAD = f"""#!/bin/sh
n=$(( $(cat "$FAKE_WRITES.count" 2>/dev/null || echo 0) + 1 ))
printf '%s\\n' "$n" >"$FAKE_WRITES.count"
printf '%s\\n' "$(readlink /proc/$$/fd/1)" >>"$FAKE_WRITES"
if [ "$n" = "${{FAKE_HEAD_STALL_AT:-0}}" ]; then
  {REAL_HEAD} -c 1000 /dev/zero
  exec sleep 60
fi
exec {REAL_HEAD} "$@"
"""


def install_head(tools: FakeTools) -> Path:
    """Add the stand-in ``head`` to ``tools`` and return the file it records writes in."""
    path = tools.root / "bin" / "head"
    path.write_text(FAKE_HEAD)
    path.chmod(0o755)
    return tools.root / "writes"


# Host side: a stand-in IMDS (as ``curl``) and a stand-in ``docker`` for the Spot watcher
# (layers/common/batchscratch/scripts/spot_watcher.sh), in a directory of their own.
#
# IMDS: PUT latest/api/token issues ``token-<issued ns>-<ttl>``; a GET with a token older
# than its TTL gets 401; spot/instance-action answers 404 until $HOST_DIR/notice exists,
# then 200 with its content. $HOST_DIR/imds-failures holds how many requests fail first
# (curl exit 7, as when IMDS cannot be reached), $HOST_DIR/imds-errors how many GETs then
# answer HTTP 500. Every request is one line in
# $HOST_DIR/imds-calls: "PUT token <ttl>" or "GET <path> <status>".
FAKE_IMDS_CURL = r"""#!/bin/bash
method=GET url="" ttl="" token="" write_out="" fail_on_error=""
while (($#)); do
  case "$1" in
    -X) method=$2; shift 2 ;;
    -H)
      case "$2" in
        X-aws-ec2-metadata-token-ttl-seconds:*) ttl=${2#*: } ;;
        X-aws-ec2-metadata-token:*) token=${2#*: } ;;
      esac
      shift 2 ;;
    -w) write_out=$2; shift 2 ;;
    --connect-timeout | --max-time | --retry | --retry-delay | -o) shift 2 ;;
    --*) shift ;;
    -*) [[ "$1" == *f* ]] && fail_on_error=1; shift ;;
    *) url=$1; shift ;;
  esac
done
calls="$HOST_DIR/imds-calls"
failures=$(cat "$HOST_DIR/imds-failures" 2>/dev/null || echo 0)
if ((failures > 0)); then
  echo $((failures - 1)) >"$HOST_DIR/imds-failures"
  printf '%s\n' "$method ${url#*/latest/} unreachable" >>"$calls"
  echo "curl: (7) Failed to connect to 169.254.169.254 port 80" >&2
  exit 7
fi
path=${url#*/latest/}
now=$(date +%s%N)
if [[ "$method" == PUT && "$path" == api/token ]]; then
  printf '%s\n' "PUT token $ttl" >>"$calls"
  printf 'token-%s-%s' "$now" "$ttl"
  exit 0
fi
status=404 body='<?xml version="1.0"?><html><body>404 - Not Found</body></html>'
issued=${token#token-}; issued=${issued%-*}; token_ttl=${token##*-}
errors=$(cat "$HOST_DIR/imds-errors" 2>/dev/null || echo 0)
if [[ "$token" != token-*-* ]] || ((now - issued > token_ttl * 1000000000)); then
  status=401 body=""
elif ((errors > 0)); then
  echo $((errors - 1)) >"$HOST_DIR/imds-errors"
  status=500 body="Internal Server Error"
elif [[ "$path" == meta-data/spot/instance-action && -e "$HOST_DIR/notice" ]]; then
  status=200 body=$(cat "$HOST_DIR/notice")
fi
printf '%s\n' "GET $path $status" >>"$calls"
if [[ -n "$fail_on_error" ]] && ((status >= 400)); then
  echo "curl: (22) The requested URL returned error: $status" >&2
  exit 22
fi
printf '%s' "$body"
[[ -z "$write_out" ]] || printf '%b' "${write_out//'%{http_code}'/$status}"
"""

# docker: `ps` lists $HOST_DIR/containers ("<id> <name> <label>,<label>,..." per line),
# honouring `--filter label=KEY` and the `{{.ID}}`/`{{.Names}}` of --format; `kill --signal
# SIG <id>` sends SIG to the process in $HOST_DIR/pid-<id> when there is one, after failing
# as often as $HOST_DIR/kill-failures says. Each call is one line in $HOST_DIR/docker-calls.
FAKE_ECS_DOCKER = r"""#!/bin/bash
printf '%s\n' "$*" >>"$HOST_DIR/docker-calls"
case "$1" in
  ps)
    shift
    label="" format='{{.ID}}'
    while (($#)); do
      case "$1" in
        --filter) label=${2#label=}; shift 2 ;;
        --format) format=$2; shift 2 ;;
        *) shift ;;
      esac
    done
    while read -r id name labels; do
      [[ -n "$id" ]] || continue
      [[ -z "$label" || ",$labels," == *",$label="* ]] || continue
      line=${format//'{{.ID}}'/$id}
      printf '%s\n' "${line//'{{.Names}}'/$name}"
    done <"$HOST_DIR/containers"
    ;;
  kill)
    [[ "$2" == --signal ]] || exit 1
    signal=$3 id=$4
    grep -q "^$id " "$HOST_DIR/containers" || { echo "No such container: $id" >&2; exit 1; }
    failures=$(cat "$HOST_DIR/kill-failures" 2>/dev/null || echo 0)
    if ((failures > 0)); then
      echo $((failures - 1)) >"$HOST_DIR/kill-failures"
      echo "Error response from daemon: Cannot kill container: $id" >&2
      exit 1
    fi
    if [[ -e "$HOST_DIR/pid-$id" ]]; then kill -s "$signal" "$(cat "$HOST_DIR/pid-$id")"; fi
    echo "$id"
    ;;
esac
"""

ECS_TASK_LABELS = (
    "com.amazonaws.ecs.cluster=arn:aws:ecs:us-east-1:123456789012:cluster/AWSBatch-ce,"
    "com.amazonaws.ecs.container-name=default,"
    "com.amazonaws.ecs.task-arn=arn:aws:ecs:us-east-1:123456789012:task/AWSBatch-ce/{task},"
    "com.amazonaws.ecs.task-definition-family=jd,"
    "com.amazonaws.ecs.task-definition-version=1"
)
"""The labels the ECS agent puts on a task's container (format with ``task``)."""


@dataclass
class FakeHost:
    """A directory whose ``bin`` holds the stand-in IMDS and docker, and what they record."""

    root: Path

    def calls(self, name: str) -> list[str]:
        """Return the lines of ``imds-calls`` or ``docker-calls``."""
        path = self.root / f"{name}-calls"
        return path.read_text().splitlines() if path.exists() else []

    def kills(self) -> list[str]:
        """Return the ids of the containers ``docker kill --signal TERM`` was called on."""
        return [
            call.split()[-1]
            for call in self.calls("docker")
            if call.startswith("kill --signal TERM ")
        ]

    def set_containers(self, containers: dict[str, str]) -> None:
        """Make ``docker ps`` list ``{"<id> <name>": "<labels>"}``."""
        lines = [f"{key} {labels}\n" for key, labels in containers.items()]
        (self.root / "containers").write_text("".join(lines))

    def give_notice(self, action: str = "terminate") -> None:
        """Make spot/instance-action answer with an interruption notice."""
        (self.root / "notice").write_text(
            f'{{"action": "{action}", "time": "2026-01-01T00:02:00Z"}}'
        )

    def env(self, **extra: str) -> dict[str, str]:
        """Return an environment with the stand-ins first on PATH, then /usr/bin and /bin."""
        return {
            "PATH": f"{self.root / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.root),
            "LANG": "C",
            "HOST_DIR": str(self.root),
            "IMDS": "http://169.254.169.254",
            **extra,
        }


def install_host(root: Path) -> FakeHost:
    """Write the stand-in IMDS and docker into ``root/bin``; no containers, no notice yet."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("curl", FAKE_IMDS_CURL), ("docker", FAKE_ECS_DOCKER)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    (root / "containers").write_text("")
    return FakeHost(root)
