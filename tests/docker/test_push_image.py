"""docker/push-image.sh with stand-in ``aws`` and ``docker`` commands (no daemon, no AWS)."""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.docker.stand_ins import DOCKER_DIR, FAKE_DIGEST, FakeTools

SCRIPT = DOCKER_DIR / "push-image.sh"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
DEFAULT_TAG = re.compile(r"\d{8}T\d{6}Z")
"""The tag pushed when --tag gives none: the UTC time, to the second."""


def build_call(tools: FakeTools) -> list[str]:
    """The one ``docker buildx build`` call."""
    (call,) = [call for call in tools.calls() if call[:3] == ["docker", "buildx", "build"]]
    return call


def pushed_tag(tools: FakeTools, repository: str) -> str:
    """The tag the build pushed to ``repository``."""
    reference = build_call(tools)[7]
    prefix = f"{REGISTRY}/{repository}:"
    assert reference.startswith(prefix), reference
    return reference.removeprefix(prefix)


def test_no_argument_prints_usage_and_exits_2(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT)])

    assert result.returncode == 2
    assert "Usage:" in result.stderr
    assert fake_tools.calls() == []


def test_unknown_repository_names_the_known_ones(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "my-images"], AWS_REGION="eu-west-1")

    assert result.returncode == 2
    assert "unknown repository 'my-images'" in result.stderr
    assert "batch-job-with-ebs" in result.stderr
    assert fake_tools.calls() == []


def test_unknown_platform_exits_2(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "--platform", "windows/amd64", "batch-job-with-ebs"])

    assert result.returncode == 2
    assert "unknown platform" in result.stderr
    assert fake_tools.calls() == []


@pytest.mark.parametrize(
    "repository", ["batch-job-with-lustre-task-export", "batch-job-with-lustre-auto-export"]
)
def test_lustre_repositories_build_the_lustre_sample(
    fake_tools: FakeTools, repository: str
) -> None:
    result = fake_tools.run([str(SCRIPT), repository], AWS_REGION="eu-west-1")

    assert result.returncode == 0, result.stderr
    assert build_call(fake_tools)[-4:] == [
        "--file", str(DOCKER_DIR / "lustre" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip
    assert DEFAULT_TAG.fullmatch(pushed_tag(fake_tools, repository))


def test_a_sample_without_a_dockerfile_is_a_clear_error(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    docker_dir = tmp_path / "checkout" / "docker"
    (docker_dir / "ebs").mkdir(parents=True)
    script = docker_dir / "push-image.sh"
    shutil.copy2(SCRIPT, script)

    result = fake_tools.run([str(script), "batch-job-with-lustre-auto-export"])

    assert result.returncode == 1
    assert f"{docker_dir / 'lustre'}/Dockerfile not found" in result.stderr
    assert fake_tools.calls() == []


def test_stopped_docker_daemon_is_a_clear_error(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "batch-job-with-ebs"], AWS_REGION="eu-west-1", FAKE_DOCKER_DOWN="1"
    )

    assert result.returncode == 1
    assert "Docker daemon" in result.stderr
    assert not any(call[0] == "aws" for call in fake_tools.calls())


def test_missing_repository_says_to_deploy_first(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "batch-job-with-ebs"], AWS_REGION="eu-west-1", FAKE_NO_REPOSITORY="1"
    )

    assert result.returncode == 1
    assert "deploy the stack first" in result.stderr
    assert ["docker", "buildx", "build"] not in [call[:3] for call in fake_tools.calls()]


def test_builds_for_amd64_and_pushes_a_new_tag(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "batch-job-with-ebs"], AWS_DEFAULT_REGION="eu-west-1")

    assert result.returncode == 0, result.stderr
    calls = fake_tools.calls()
    assert [
        "aws", "ecr", "describe-repositories", "--region", "eu-west-1",
        "--repository-names", "batch-job-with-ebs",
    ] in calls  # fmt: skip
    assert ["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY] in calls
    tag = pushed_tag(fake_tools, "batch-job-with-ebs")
    assert DEFAULT_TAG.fullmatch(tag)
    assert build_call(fake_tools) == [
        "docker", "buildx", "build", "--platform", "linux/amd64", "--provenance=false",
        "--tag", f"{REGISTRY}/batch-job-with-ebs:{tag}",
        "--file", str(DOCKER_DIR / "ebs" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip
    assert f"Pushed {REGISTRY}/batch-job-with-ebs:{tag}\n" in result.stdout
    # Nothing is written without --pin.
    assert not any(call[:2] == ["aws", "secretsmanager"] for call in calls)


def test_prints_the_pushed_image_s_digest_reference(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--tag", "v1.2", "batch-job-with-ebs"], AWS_REGION="eu-west-1"
    )

    assert result.returncode == 0, result.stderr
    assert pushed_tag(fake_tools, "batch-job-with-ebs") == "v1.2"
    # The digest is the one ECR recorded for the pushed tag.
    assert fake_tools.calls()[-1] == [
        "aws", "ecr", "describe-images", "--region", "eu-west-1",
        "--repository-name", "batch-job-with-ebs", "--image-ids", "imageTag=v1.2",
        "--query", "imageDetails[0].imageDigest", "--output", "text",
    ]  # fmt: skip
    assert f"Digest: {REGISTRY}/batch-job-with-ebs@{FAKE_DIGEST}\n" in result.stdout


def test_a_tag_that_exists_is_refused_before_building(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--tag", "v1", "batch-job-with-ebs"],
        AWS_REGION="eu-west-1",
        FAKE_EXISTING_TAGS="v0 v1",
    )

    assert result.returncode == 1
    assert "the tag 'v1' already exists in batch-job-with-ebs" in result.stderr
    assert "immutable" in result.stderr
    assert ["docker", "buildx", "build"] not in [call[:3] for call in fake_tools.calls()]


@pytest.mark.parametrize("tag", [".hidden", "-x", "a:b", "a/b", "x" * 129])
def test_a_tag_docker_would_refuse_is_a_usage_error(fake_tools: FakeTools, tag: str) -> None:
    result = fake_tools.run([str(SCRIPT), f"--tag={tag}", "batch-job-with-ebs"])

    assert result.returncode == 2
    assert f"--tag '{tag}' is not a Docker tag" in result.stderr
    assert fake_tools.calls() == []


@pytest.mark.parametrize(
    ("options", "env"),
    [(["--platform", "linux/arm64"], {}), ([], {"ARCH": "arm64"}), (["--platform=aarch64"], {})],
)
def test_arm64_for_graviton_instances(
    fake_tools: FakeTools, options: list[str], env: dict[str, str]
) -> None:
    result = fake_tools.run(
        [str(SCRIPT), *options, "batch-job-with-ebs"], AWS_REGION="eu-west-1", **env
    )

    assert result.returncode == 0, result.stderr
    assert build_call(fake_tools)[3:5] == ["--platform", "linux/arm64"]


def test_region_from_the_cli_configuration(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "batch-job-with-ebs"], FAKE_CONFIGURED_REGION="cn-north-1"
    )

    assert result.returncode == 0, result.stderr
    registry = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert build_call(fake_tools)[7].startswith(f"{registry}/batch-job-with-ebs:")


def test_no_region_is_a_clear_error(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "batch-job-with-ebs"])

    assert result.returncode == 1
    assert "no AWS region" in result.stderr


def test_custom_repository_name_with_sample(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--sample", "ebs", "team-batch-images"], AWS_REGION="eu-west-1"
    )

    assert result.returncode == 0, result.stderr
    assert build_call(fake_tools)[-4:] == [
        "--file", str(DOCKER_DIR / "ebs" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip
    assert DEFAULT_TAG.fullmatch(pushed_tag(fake_tools, "team-batch-images"))


SECRET = {
    "deleteEbs": True,
    "ebsSizeGb": 500,
    "jobDefinitionContainerImage": f"{REGISTRY}/batch-job-with-ebs:run-push-image-sh-with-pin",
    "jobEnvironment": {"API_TOKEN": "not-to-be-printed"},
}


def with_secret(tools: FakeTools, secret: Any) -> str:
    """Make the stand-in Secrets Manager hold ``secret``; return the path for FAKE_SECRET."""
    path = tools.root / "secret.json"
    # What `get-secret-value --query SecretString --output json` prints: a JSON string.
    text = secret if isinstance(secret, str) else json.dumps(secret)
    path.write_text(json.dumps(text) + "\n")
    return str(path)


def written_secret(tools: FakeTools) -> dict[str, Any] | None:
    path = tools.root / "calls.put"
    if not path.exists():
        return None
    written: dict[str, Any] = json.loads(path.read_text())
    return written


def test_pin_writes_the_digest_into_the_stack_s_secret_and_keeps_the_rest(
    fake_tools: FakeTools,
) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--pin", "batch-scratch-onlyebs", "batch-job-with-ebs"],
        AWS_REGION="eu-west-1",
        FAKE_SECRET=with_secret(fake_tools, SECRET),
    )

    assert result.returncode == 0, result.stderr
    pinned = f"{REGISTRY}/batch-job-with-ebs@{FAKE_DIGEST}"
    assert written_secret(fake_tools) == SECRET | {"jobDefinitionContainerImage": pinned}
    calls = fake_tools.calls()
    secret_name = "BatchJobWithOnlyEbs-batch-scratch-onlyebs"  # the ConfigSecretName output
    assert [
        "aws", "secretsmanager", "get-secret-value", "--region", "eu-west-1",
        "--secret-id", secret_name, "--query", "SecretString", "--output", "json",
    ] in calls  # fmt: skip
    (put,) = [call for call in calls if call[:3] == ["aws", "secretsmanager", "put-secret-value"]]
    assert put[3:7] == ["--region", "eu-west-1", "--secret-id", secret_name]
    # The secret goes through a file, not the command line, and the file is gone afterwards.
    assert put[7] == "--secret-string"
    assert put[8].startswith("file://")
    assert not Path(put[8].removeprefix("file://")).exists()
    assert f'Pinned jobDefinitionContainerImage = "{pinned}" in the secret {secret_name}' in (
        result.stdout
    )
    assert "not-to-be-printed" not in result.stdout + result.stderr


def test_pin_without_a_repository_pushes_to_the_stack_s(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--pin=batch-scratch-taskexport"],
        AWS_REGION="eu-west-1",
        FAKE_STACK_REPOSITORY_URI=f"{REGISTRY}/batch-job-with-lustre-task-export",
        FAKE_SECRET=with_secret(fake_tools, SECRET),
    )

    assert result.returncode == 0, result.stderr
    assert pushed_tag(fake_tools, "batch-job-with-lustre-task-export")
    assert build_call(fake_tools)[-3] == str(DOCKER_DIR / "lustre" / "Dockerfile")
    written = written_secret(fake_tools)
    assert written is not None
    assert written["jobDefinitionContainerImage"] == (
        f"{REGISTRY}/batch-job-with-lustre-task-export@{FAKE_DIGEST}"
    )


def test_pin_refuses_a_repository_that_is_not_the_stack_s(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--pin", "batch-scratch-onlyebs", "batch-job-with-lustre-auto-export"],
        AWS_REGION="eu-west-1",
        FAKE_SECRET=with_secret(fake_tools, SECRET),
    )

    assert result.returncode == 1
    assert "uses the repository 'batch-job-with-ebs', not 'batch-job-with-lustre-auto-export'" in (
        result.stderr
    )
    assert ["docker", "buildx", "build"] not in [call[:3] for call in fake_tools.calls()]
    assert written_secret(fake_tools) is None


def test_pin_to_a_missing_stack_fails_before_building(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--pin", "no-such-stack", "batch-job-with-ebs"],
        AWS_REGION="eu-west-1",
        FAKE_NO_STACK="1",
    )

    assert result.returncode == 1
    assert "cannot read the stack 'no-such-stack' in region eu-west-1" in result.stderr
    assert ["docker", "buildx", "build"] not in [call[:3] for call in fake_tools.calls()]


@pytest.mark.parametrize(
    ("secret", "message"),
    [("not json {", "the secret is not JSON (line 1, column 1)"), ([1, 2], "not a JSON object")],
)
def test_pin_leaves_a_secret_it_cannot_read_alone(
    fake_tools: FakeTools, secret: Any, message: str
) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--pin", "batch-scratch-onlyebs"],
        AWS_REGION="eu-west-1",
        FAKE_SECRET=with_secret(fake_tools, secret),
    )

    assert result.returncode == 1
    assert message in result.stderr
    # The image is pushed; the message says which one to set by hand.
    assert f"pushed {REGISTRY}/batch-job-with-ebs@{FAKE_DIGEST}, but cannot read" in result.stderr
    assert written_secret(fake_tools) is None
