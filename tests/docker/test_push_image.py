"""docker/push-image.sh with stand-in ``aws`` and ``docker`` commands (no daemon, no AWS)."""

import shutil
from pathlib import Path

import pytest

from tests.docker.stand_ins import DOCKER_DIR, FakeTools

SCRIPT = DOCKER_DIR / "push-image.sh"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


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
    assert fake_tools.calls()[-1][-5:] == [
        f"{REGISTRY}/{repository}:latest",
        "--file", str(DOCKER_DIR / "lustre" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip


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


def test_builds_for_amd64_and_pushes_latest(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "batch-job-with-ebs"], AWS_DEFAULT_REGION="eu-west-1")

    assert result.returncode == 0, result.stderr
    calls = fake_tools.calls()
    assert [
        "aws", "ecr", "describe-repositories", "--region", "eu-west-1",
        "--repository-names", "batch-job-with-ebs",
    ] in calls  # fmt: skip
    assert ["docker", "login", "--username", "AWS", "--password-stdin", REGISTRY] in calls
    assert calls[-1] == [
        "docker", "buildx", "build", "--platform", "linux/amd64", "--provenance=false",
        "--tag", f"{REGISTRY}/batch-job-with-ebs:latest",
        "--file", str(DOCKER_DIR / "ebs" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip
    assert f"{REGISTRY}/batch-job-with-ebs:latest" in result.stdout


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
    assert fake_tools.calls()[-1][3:5] == ["--platform", "linux/arm64"]


def test_region_from_the_cli_configuration(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "batch-job-with-ebs"], FAKE_CONFIGURED_REGION="cn-north-1"
    )

    assert result.returncode == 0, result.stderr
    registry = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert fake_tools.calls()[-1][7] == f"{registry}/batch-job-with-ebs:latest"


def test_no_region_is_a_clear_error(fake_tools: FakeTools) -> None:
    result = fake_tools.run([str(SCRIPT), "batch-job-with-ebs"])

    assert result.returncode == 1
    assert "no AWS region" in result.stderr


def test_custom_repository_name_with_sample(fake_tools: FakeTools) -> None:
    result = fake_tools.run(
        [str(SCRIPT), "--sample", "ebs", "team-batch-images"], AWS_REGION="eu-west-1"
    )

    assert result.returncode == 0, result.stderr
    assert fake_tools.calls()[-1][-5:] == [
        f"{REGISTRY}/team-batch-images:latest",
        "--file", str(DOCKER_DIR / "ebs" / "Dockerfile"), "--push", str(DOCKER_DIR),
    ]  # fmt: skip
