#!/usr/bin/env bash
# Build a sample job image and push it as :latest to the ECR repository the stack created.
set -euo pipefail

readonly PROG="push-image.sh"
DOCKER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly DOCKER_DIR

usage() {
    cat <<'EOF'
Usage: docker/push-image.sh [--platform PLATFORM] [--sample ebs|lustre] REPOSITORY

Builds a sample job image and pushes it as REPOSITORY:latest to Amazon ECR.

REPOSITORY is the ECR repository the stack created (template parameter EcrRepositoryName):
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

platform_choice="${ARCH:-linux/amd64}"
sample=""
repository=""
while (($# > 0)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --platform | --platform=* | --sample | --sample=*)
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

[[ -n "$repository" ]] || usage_error "name the ECR repository to push to"
platform="$(normalise_platform "$platform_choice")" ||
    usage_error "unknown platform '$platform_choice': use linux/amd64 or linux/arm64"

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
# The context is docker/ rather than the sample's folder, so that a Dockerfile can also copy
# what the samples share.
dockerfile="$DOCKER_DIR/$sample/Dockerfile"
if [[ ! -f "$dockerfile" ]]; then
    fail "cannot build the $sample sample image: $dockerfile not found"
fi

command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is not on PATH: install AWS CLI v2"
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
image="$registry/$repository:latest"

printf 'Logging in to %s\n' "$registry"
aws ecr get-login-password --region "$region" |
    docker login --username AWS --password-stdin "$registry"

printf 'Building %s for %s from docker/%s\n' "$image" "$platform" "$sample"
docker buildx build --platform "$platform" --provenance=false --tag "$image" \
    --file "$dockerfile" --push "$DOCKER_DIR"

printf 'Pushed %s\n' "$image"
printf 'Use it with the configuration key jobDefinitionContainerImage = "%s"\n' "$image"
