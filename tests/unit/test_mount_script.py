"""The user data script, run with stand-ins for the AWS CLI, IMDS and the disk tools.

It must format only a blank volume, wait while a reclaimed instance still holds the volume,
and refuse to run the job when a live instance holds it.
"""

import os
import subprocess
from pathlib import Path

import pytest

from batchscratch.user_data import render_script

VOLUME = "vol-0123456789abcdef0"
SELF = "i-0000000000000self"
OTHER = "i-00000000000other"

STAND_INS = {
    # IMDS: the last path segment decides the answer.
    "curl": """#!/bin/bash
for arg; do url="$arg"; done
case "$url" in
  */api/token) echo token ;;
  */instance-id) echo "$SELF_ID" ;;
  */placement/region) echo us-east-1 ;;
esac
""",
    # describe-volumes answers from the next line of $STATE_DIR/volume-states.
    "aws": """#!/bin/bash
echo "$*" >> "$STATE_DIR/aws-calls"
case "$2" in
  describe-volumes)
    line=$(head -n 1 "$STATE_DIR/volume-states")
    [ "$(wc -l < "$STATE_DIR/volume-states")" -gt 1 ] && sed -i 1d "$STATE_DIR/volume-states"
    echo "$line" ;;
  describe-instances) cat "$STATE_DIR/owner-state" ;;
  attach-volume) touch "$STATE_DIR/attached" ;;
  terminate-instances) touch "$STATE_DIR/terminated" ;;
esac
""",
    "blkid": '#!/bin/bash\nexit "$(cat "$STATE_DIR/blkid-exit")"\n',
    "mkfs.xfs": '#!/bin/bash\ntouch "$STATE_DIR/formatted"\n',
    "mount": '#!/bin/bash\necho "$*" > "$STATE_DIR/mounted"\n',
    "mountpoint": "#!/bin/bash\nexit 1\n",
    "shutdown": '#!/bin/bash\ntouch "$STATE_DIR/shutdown"\n',
    "sleep": "#!/bin/bash\nexit 0\n",
}


def run_script(tmp_path: Path, volume_states: list[str], blkid_exit: int = 0, owner: str = ""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STAND_INS.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    devices = tmp_path / "by-id"
    devices.mkdir()
    (devices / f"nvme-Amazon_Elastic_Block_Store_{VOLUME.replace('-', '')}").touch()
    (tmp_path / "volume-states").write_text("\n".join(volume_states) + "\n")
    (tmp_path / "blkid-exit").write_text(str(blkid_exit))
    (tmp_path / "owner-state").write_text(owner + "\n")
    script = render_script(
        "mount_ebs_volume.sh", {"VOLUME_ID": VOLUME, "MOUNT_POINT": str(tmp_path / "data")}
    )
    environment = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STATE_DIR": str(tmp_path),
        "SELF_ID": SELF,
        "DEVICE_DIR": str(devices),
        "ECS_CONFIG": str(tmp_path / "ecs.config"),
        "LIVE_OWNER_GRACE_SECONDS": "0",
        "ATTACH_TIMEOUT_SECONDS": "5",
    }
    return subprocess.run(
        ["bash", "-c", script],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_blank_volume_is_attached_formatted_and_mounted(tmp_path):
    result = run_script(tmp_path, ["available None", f"in-use {SELF}"], blkid_exit=2)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "attached").exists()
    assert (tmp_path / "formatted").exists()
    assert str(tmp_path / "data") in (tmp_path / "mounted").read_text()
    assert "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in (tmp_path / "ecs.config").read_text()


def test_volume_with_a_filesystem_is_never_formatted(tmp_path):
    result = run_script(tmp_path, ["available None", f"in-use {SELF}"], blkid_exit=0)

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "formatted").exists()
    assert (tmp_path / "mounted").exists()


@pytest.mark.parametrize("blkid_exit", [1, 4, 8])
def test_blkid_failure_never_leads_to_mkfs(tmp_path, blkid_exit):
    result = run_script(tmp_path, [f"in-use {SELF}"], blkid_exit=blkid_exit)

    assert result.returncode != 0
    assert not (tmp_path / "formatted").exists()
    assert (tmp_path / "terminated").exists()


def test_waits_while_a_reclaimed_instance_still_holds_the_volume(tmp_path):
    states = [f"in-use {OTHER}", f"in-use {OTHER}", "available None", f"in-use {SELF}"]

    result = run_script(tmp_path, states, owner="shutting-down")

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "terminated").exists()
    assert (tmp_path / "attached").exists()


def test_refuses_to_run_when_a_live_instance_holds_the_volume(tmp_path):
    result = run_script(tmp_path, [f"in-use {OTHER}"] * 3, owner="running")

    assert result.returncode != 0
    assert (tmp_path / "terminated").exists()
    assert not (tmp_path / "mounted").exists()
    assert "stays attached to live instance" in result.stderr


LUSTRE_STAND_INS = {
    "curl": STAND_INS["curl"],
    "aws": STAND_INS["aws"],
    "shutdown": STAND_INS["shutdown"],
    "sleep": STAND_INS["sleep"],
    # dnf fails $DNF_FAILURES times, then succeeds; its arguments are recorded.
    "dnf": """#!/bin/bash
echo "$*" >> "$STATE_DIR/dnf-calls"
n=$(cat "$STATE_DIR/dnf-failures")
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STATE_DIR/dnf-failures"; exit 1; fi
""",
    # mount fails $MOUNT_FAILURES times, then records what it mounted.
    "mount": """#!/bin/bash
n=$(cat "$STATE_DIR/mount-failures")
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STATE_DIR/mount-failures"; exit 32; fi
echo "$*" > "$STATE_DIR/mounted"
""",
    "mountpoint": '#!/bin/bash\n[ -e "$STATE_DIR/mounted" ]\n',
}


def run_lustre_script(tmp_path: Path, dnf_failures: int = 0, mount_failures: int = 0):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in LUSTRE_STAND_INS.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "dnf-failures").write_text(str(dnf_failures))
    (tmp_path / "mount-failures").write_text(str(mount_failures))
    script = render_script(
        "mount_lustre.sh",
        {
            "DNS_NAME": "fs-0123.fsx.us-east-1.amazonaws.com",
            "MOUNT_NAME": "abcdefgh",
            "MOUNT_POINT": str(tmp_path / "fsx"),
            "SCRATCH_DIR": str(tmp_path / "fsx" / "scratch"),
        },
    )
    environment = os.environ | {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STATE_DIR": str(tmp_path),
        "SELF_ID": SELF,
        "ECS_CONFIG": str(tmp_path / "ecs.config"),
        "MOUNT_ATTEMPTS": "5",
    }
    return subprocess.run(
        ["bash", "-c", script],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lustre_client_only_is_installed_and_the_file_system_mounted(tmp_path):
    result = run_lustre_script(tmp_path, dnf_failures=1, mount_failures=2)

    assert result.returncode == 0, result.stderr
    # Only the client package: a kernel or system update would break the client module.
    assert (tmp_path / "dnf-calls").read_text().splitlines() == ["install -y lustre-client"] * 2
    mounted = (tmp_path / "mounted").read_text().split()
    assert mounted == [
        "-t",
        "lustre",
        "-o",
        "relatime,flock",
        "fs-0123.fsx.us-east-1.amazonaws.com@tcp:/abcdefgh",
        str(tmp_path / "fsx"),
    ]
    assert (tmp_path / "fsx" / "scratch").is_dir()
    assert "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in (tmp_path / "ecs.config").read_text()


def test_instance_leaves_when_the_file_system_cannot_be_mounted(tmp_path):
    result = run_lustre_script(tmp_path, mount_failures=99)

    assert result.returncode != 0
    assert (tmp_path / "terminated").exists()
    assert "could not be mounted" in result.stderr


def test_instance_leaves_when_the_client_cannot_be_installed(tmp_path):
    result = run_lustre_script(tmp_path, dnf_failures=99)

    assert result.returncode != 0
    assert (tmp_path / "terminated").exists()
    assert not (tmp_path / "mounted").exists()
