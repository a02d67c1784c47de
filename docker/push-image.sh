#!/usr/bin/env bash
# Build a sample job image, push it under a new tag to the ECR repository the stack created,
# print its digest, and (--pin) make it the image of the stack's runs.
set -euo pipefail

readonly PROG="push-image.sh"
DOCKER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly DOCKER_DIR

usage() {
    cat <<'EOF'
Usage: docker/push-image.sh [options] --pin STACK [REPOSITORY]
       docker/push-image.sh [options] REPOSITORY

Builds a sample job image, pushes it to Amazon ECR as REPOSITORY:TAG (a new tag: the
stack's repository refuses to move a tag), and prints the pushed image's digest reference,
REGISTRY/REPOSITORY@sha256:... With --pin STACK it also writes that reference into the
stack's configuration secret as jobDefinitionContainerImage, leaving every other key as it
was, so that the stack's next runs use exactly this image.

REPOSITORY is the ECR repository the stack created (template parameter EcrRepositoryName;
with --pin, the stack's EcrRepositoryUri output names it when REPOSITORY is left out):
  batch-job-with-ebs                  OnlyEBS mode     (image from docker/ebs)
  batch-job-with-lustre-task-export   TaskExport mode  (image from docker/lustre)
  batch-job-with-lustre-auto-export   AutoExport mode  (image from docker/lustre)
For a repository with another name, say which sample to build with --sample.

Options:
  --platform PLATFORM  linux/amd64 (default) or linux/arm64; also read from $ARCH
                       (amd64, x86_64, arm64, aarch64). Batch's Spot instances are x86
                       unless the stack's InstanceTypes are Graviton (m7g, c7g, r8g, ...):
                       then use linux/arm64.
  --sample ebs|lustre  the folder under docker/ to build
  --tag TAG            the tag to push (default: the UTC time, e.g. 20260102T030405Z); it
                       must not exist in the repository yet
  --pin STACK          write the pushed image's digest into the configuration secret of
                       the stack named STACK (its ConfigSecretName output); needs python3
  -h, --help           show this help

The region comes from AWS_REGION, AWS_DEFAULT_REGION or `aws configure get region`; the
account from `aws sts get-caller-identity`. Needs the AWS CLI v2 and a running Docker
with buildx.
EOF
}

usage_error() {
    printf '%s: %s\n\n' "$PROG" "$*" >&2
    usage >&2
    exit 2
}

fail() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

normalise_platform() {
    case "$1" in
        linux/amd64 | amd64 | x86_64) printf 'linux/amd64\n' ;;
        linux/arm64 | arm64 | aarch64) printf 'linux/arm64\n' ;;
        *) return 1 ;;
    esac
}

# A Docker tag (distribution/reference: [\w][\w.-]{0,127}).
readonly TAG_PATTERN='^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'

# Reads the secret's SecretString (as --output json prints it) on stdin, sets
# jobDefinitionContainerImage to argv[2], writes the JSON object to the file argv[1] and
# prints the previous image. Never prints the secret: it may hold credentials.
readonly PIN_PROGRAM='
import json, sys
path, image = sys.argv[1], sys.argv[2]
text = json.loads(sys.stdin.read())
try:
    config = json.loads(text) if isinstance(text, str) else None
except json.JSONDecodeError as error:
    sys.exit(f"the secret is not JSON (line {error.lineno}, column {error.colno})")
if not isinstance(config, dict):
    sys.exit("the secret is not a JSON object")
previous = config.get("jobDefinitionContainerImage")
config["jobDefinitionContainerImage"] = image
with open(path, "w") as out:
    json.dump(config, out, indent=2)
    out.write("\n")
print(previous if isinstance(previous, str) else "(none)")
'

platform_choice="${ARCH:-linux/amd64}"
sample=""
repository=""
tag=""
stack=""
while (($# > 0)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --platform | --platform=* | --sample | --sample=* | --tag | --tag=* | --pin | --pin=*)
            # "--option value" or "--option=value".
            option="${1%%=*}"
            if [[ "$1" == *=* ]]; then
                value="${1#*=}"
                shift
            else
                (($# >= 2)) || usage_error "$option needs a value"
                value="$2"
                shift 2
            fi
            case "$option" in
                --platform) platform_choice="$value" ;;
                --sample) sample="$value" ;;
                --tag) tag="$value" ;;
                --pin) stack="$value" ;;
            esac
            ;;
        -*) usage_error "unknown option $1" ;;
        *)
            [[ -z "$repository" ]] || usage_error "unexpected argument: $1"
            repository="$1"
            shift
            ;;
    esac
done

[[ -n "$repository" || -n "$stack" ]] ||
    usage_error "name the ECR repository to push to, or the stack to pin the image in (--pin)"
platform="$(normalise_platform "$platform_choice")" ||
    usage_error "unknown platform '$platform_choice': use linux/amd64 or linux/arm64"
if [[ -n "$tag" && ! "$tag" =~ $TAG_PATTERN ]]; then
    usage_error "--tag '$tag' is not a Docker tag: letters, digits, '_', '.' and '-'," \
        "not starting with '.' or '-', at most 128 characters"
fi

# Sets sample from the repository's name unless --sample gave it.
choose_sample() {
    if [[ -z "$sample" ]]; then
        case "$repository" in
            batch-job-with-ebs) sample="ebs" ;;
            batch-job-with-lustre-task-export | batch-job-with-lustre-auto-export) sample="lustre" ;;
            *)
                usage_error "unknown repository '$repository': use batch-job-with-ebs," \
                    "batch-job-with-lustre-task-export or batch-job-with-lustre-auto-export," \
                    "or name the sample with --sample ebs|lustre"
                ;;
        esac
    fi
    case "$sample" in
        ebs | lustre) ;;
        *) usage_error "unknown sample '$sample': use ebs or lustre" ;;
    esac
}

# Prints the output KEY of the stack (empty when the stack has no such output).
stack_output() {
    local value
    value="$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text)" ||
        fail "cannot read the stack '$stack' in region $region (aws cloudformation" \
            "describe-stacks failed): check its name and the region"
    [[ "$value" == "None" ]] && value=""
    printf '%s\n' "$value"
}

# The context is docker/ rather than the sample's folder, so that a Dockerfile can also copy
# what the samples share.
check_dockerfile() {
    dockerfile="$DOCKER_DIR/$sample/Dockerfile"
    if [[ ! -f "$dockerfile" ]]; then
        fail "cannot build the $sample sample image: $dockerfile not found"
    fi
}

# Without --pin the repository names the sample: refuse a bad one before calling anything
# (with --pin the stack may name the repository, below).
if [[ -z "$stack" ]]; then
    choose_sample
    check_dockerfile
fi

command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is not on PATH: install AWS CLI v2"
if [[ -n "$stack" ]]; then
    command -v python3 >/dev/null 2>&1 ||
        fail "--pin needs python3 on PATH (to change one key of the secret's JSON)"
fi
command -v docker >/dev/null 2>&1 || fail "docker is not on PATH: install Docker"
docker info >/dev/null 2>&1 ||
    fail "cannot reach the Docker daemon (docker info failed): start Docker and try again"
docker buildx version >/dev/null 2>&1 ||
    fail "docker buildx is not available: install the Docker buildx plugin"

region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
if [[ -z "$region" ]]; then
    region="$(aws configure get region 2>/dev/null || true)"
fi
[[ -n "$region" ]] ||
    fail "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or run 'aws configure'"

account="$(aws sts get-caller-identity --query Account --output text)" ||
    fail "cannot read the AWS account (aws sts get-caller-identity failed): check your credentials"

if [[ -n "$stack" ]]; then
    secret="$(stack_output ConfigSecretName)" || exit 1
    [[ -n "$secret" ]] ||
        fail "the stack '$stack' has no ConfigSecretName output: is it a batch-scratch stack?"
    stack_uri="$(stack_output EcrRepositoryUri)" || exit 1
    [[ -n "$stack_uri" ]] ||
        fail "the stack '$stack' has no EcrRepositoryUri output: is it a batch-scratch stack?"
    stack_repository="${stack_uri#*/}"
    if [[ -z "$repository" ]]; then
        repository="$stack_repository"
    elif [[ "$repository" != "$stack_repository" ]]; then
        # The secret must name an image of the stack's own repository.
        fail "the stack '$stack' uses the repository '$stack_repository', not '$repository'"
    fi
    choose_sample
    check_dockerfile
fi

if ! aws ecr describe-repositories --region "$region" --repository-names "$repository" \
    >/dev/null; then
    fail "ECR repository '$repository' not found in account $account, region $region:" \
        "deploy the stack first (sam deploy), or check the region"
fi

domain="amazonaws.com"
if [[ "$region" == cn-* ]]; then
    domain="amazonaws.com.cn"
fi
registry="$account.dkr.ecr.$region.$domain"
tag="${tag:-$(date -u +%Y%m%dT%H%M%SZ)}"
image="$registry/$repository:$tag"

# The repository's tags are immutable (template.yaml, EcrRepository): a push of a tag that
# exists fails, after the whole build; say so before building.
if taken="$(aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=$tag" 2>&1)"; then
    fail "the tag '$tag' already exists in $repository, and its tags are immutable:" \
        "choose another with --tag"
elif [[ "$taken" != *ImageNotFoundException* ]]; then
    fail "cannot look for the tag '$tag' in $repository (aws ecr describe-images): $taken"
fi

printf 'Logging in to %s\n' "$registry"
aws ecr get-login-password --region "$region" |
    docker login --username AWS --password-stdin "$registry"

printf 'Building %s for %s from docker/%s\n' "$image" "$platform" "$sample"
docker buildx build --platform "$platform" --provenance=false --tag "$image" \
    --file "$dockerfile" --push "$DOCKER_DIR"

# The digest ECR recorded for the tag (ECR API Reference, DescribeImages imageDigest: the
# sha256 digest of the image manifest). A reference by digest names these exact bytes.
digest="$(aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=$tag" --query 'imageDetails[0].imageDigest' --output text)" ||
    fail "pushed $image, but cannot read its digest (aws ecr describe-images failed)"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] ||
    fail "pushed $image, but ECR reports the digest '$digest', not sha256:<64 hex digits>"
pinned="$registry/$repository@$digest"

printf 'Pushed %s\n' "$image"
printf 'Digest: %s\n' "$pinned"

if [[ -z "$stack" ]]; then
    printf 'Run it: set jobDefinitionContainerImage = "%s" in the stack'"'"'s secret,\n' "$pinned"
    printf 'or push with --pin <stack name> to have it set.\n'
    exit 0
fi

# Read, change one key, write back: the other keys stay as the stack's owner set them.
# The new secret goes through a file only this user can read (mktemp creates it 0600), not
# the command line, which other users of the machine can see.
updated="$(mktemp)"
trap 'rm -f "$updated"' EXIT
previous="$(aws secretsmanager get-secret-value --region "$region" --secret-id "$secret" \
    --query SecretString --output json | python3 -c "$PIN_PROGRAM" "$updated" "$pinned")" ||
    fail "pushed $pinned, but cannot read the secret $secret to pin it: set" \
        "jobDefinitionContainerImage there yourself"
aws secretsmanager put-secret-value --region "$region" --secret-id "$secret" \
    --secret-string "file://$updated" >/dev/null ||
    fail "pushed $pinned, but cannot write the secret $secret: set" \
        "jobDefinitionContainerImage there yourself"
printf 'Pinned jobDefinitionContainerImage = "%s" in the secret %s (it was "%s")\n' \
    "$pinned" "$secret" "$previous"
