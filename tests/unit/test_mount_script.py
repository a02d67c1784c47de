"""The user data scripts, run with stand-ins for the AWS CLI, IMDS, dnf, systemd and the disks.

Fail closed: the instance either ends its boot with the run's storage mounted and marked and
the Spot watcher installed (exit 0), or it terminates itself (or shuts down when it cannot)
and keeps the ECS agent from starting, never exiting 0. A volume must be formatted only when
blank, waited for while a reclaimed instance holds it, and refused when a live one does.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from batchscratch.marker import RUN_MARKER_NAME
from batchscratch.user_data import render_script

VOLUME = "vol-0123456789abcdef0"
SELF = "i-0000000000000self"
OTHER = "i-00000000000other"
RUN_ID = "run-0001"
NVME = f"nvme-Amazon_Elastic_Block_Store_{VOLUME.replace('-', '')}"
WATCHER_UNIT = "batch-scratch-spot-watcher.service"

# Real commands that must never run from a test (a stand-in takes their place, or none may).
NEVER_REAL = {
    "aws", "blkid", "curl", "dnf", "docker", "halt", "mkfs.xfs", "mount", "mountpoint",
    "poweroff", "reboot", "shutdown", "sleep", "systemctl", "umount", "yum",
}  # fmt: skip

AWS = """#!/bin/bash
echo "$*" >> "$STATE_DIR/aws-calls"
case "$2" in
  describe-volumes)
    [ -e "$STATE_DIR/describe-exit" ] && exit "$(cat "$STATE_DIR/describe-exit")"
    line=$(head -n 1 "$STATE_DIR/volume-states")
    [ "$(wc -l < "$STATE_DIR/volume-states")" -gt 1 ] && sed -i 1d "$STATE_DIR/volume-states"
    echo "$line" ;;
  describe-instances) cat "$STATE_DIR/owner-state" ;;
  attach-volume) touch "$STATE_DIR/attached" ;;
  terminate-instances)
    [ -e "$STATE_DIR/terminate-exit" ] && exit "$(cat "$STATE_DIR/terminate-exit")"
    touch "$STATE_DIR/terminated" ;;
esac
"""

STAND_INS = {
    # IMDS: the URL's path decides the answer; $STATE_DIR/imds-fail names a path that fails
    # (HTTP 500 under curl -f).
    "curl": """#!/bin/bash
for arg; do [[ "$arg" == http://* ]] && url="$arg"; done
echo "$url" >> "$STATE_DIR/imds-calls"
fail=$(cat "$STATE_DIR/imds-fail" 2>/dev/null)
if [ -n "$fail" ] && [[ "$url" == *"/$fail" ]]; then
  echo "curl: (22) The requested URL returned error: 500" >&2; exit 22
fi
case "$url" in
  */api/token) echo token ;;
  */instance-id) echo "$SELF_ID" ;;
  */placement/region) echo us-east-1 ;;
esac
""",
    # describe-volumes answers from the next line of $STATE_DIR/volume-states.
    "aws": AWS,
    # dnf fails $STATE_DIR/dnf-failures times, then succeeds; installing awscli-2 puts the
    # aws stand-in on PATH, as the package does.
    "dnf": """#!/bin/bash
echo "$*" >> "$STATE_DIR/dnf-calls"
n=$(cat "$STATE_DIR/dnf-failures")
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STATE_DIR/dnf-failures"; exit 1; fi
if [ "$*" = "install -y awscli-2" ]; then
  cp "$STATE_DIR/aws-package" "$(dirname "$0")/aws"; chmod 0755 "$(dirname "$0")/aws"
fi
""",
    "blkid": '#!/bin/bash\nexit "$(cat "$STATE_DIR/blkid-exit")"\n',
    "mkfs.xfs": '#!/bin/bash\ntouch "$STATE_DIR/formatted"\n',
    # mount fails $STATE_DIR/mount-failures times, then records what it mounted.
    "mount": """#!/bin/bash
n=$(cat "$STATE_DIR/mount-failures")
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$STATE_DIR/mount-failures"; exit 32; fi
echo "$*" > "$STATE_DIR/mounted"
""",
    "mountpoint": '#!/bin/bash\n[ -e "$STATE_DIR/mounted" ]\n',
    "shutdown": '#!/bin/bash\necho "$*" > "$STATE_DIR/shutdown"\n',
    "sleep": "#!/bin/bash\nexit 0\n",
    "systemctl": '#!/bin/bash\necho "$*" >> "$STATE_DIR/systemctl-calls"\n',
}

# A mount that never returns (until the instance is gone), for the boot's deadline.
HANGING_MOUNT = """#!/bin/bash
exec >/dev/null 2>&1
until [ -e "$STATE_DIR/terminated" ] || [ -e "$STATE_DIR/shutdown" ]; do
  command -p sleep 0.05
done
"""


@pytest.fixture(scope="module")
def system_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/usr/bin and /bin as links, without the commands in NEVER_REAL."""
    links = tmp_path_factory.mktemp("system-bin")
    for directory in ("/usr/bin", "/bin"):
        for path in Path(directory).iterdir():
            target = links / path.name
            if path.name not in NEVER_REAL and not target.exists():
                target.symlink_to(path)
    return links


class Boot:
    """One instance: the stand-ins, the disks and what the script did."""

    def __init__(self, root: Path, system_bin: Path, stand_ins: dict[str, str]) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        for name, body in stand_ins.items():
            self.stand_in(name, body)
        (root / "aws-package").write_text(AWS)
        for name, value in {
            "dnf-failures": "0",
            "mount-failures": "0",
            "blkid-exit": "0",
            "owner-state": "\n",
        }.items():
            (root / name).write_text(value)
        self.env = {
            "PATH": f"{self.bin}{os.pathsep}{system_bin}",
            "HOME": str(root),
            "LANG": "C",
            "STATE_DIR": str(root),
            "SELF_ID": SELF,
            "ECS_CONFIG": str(root / "ecs.config"),
            "SYSTEMD_DIR": str(root / "systemd"),
            "SPOT_WATCHER_PATH": str(root / "sbin" / "batch-scratch-spot-watcher"),
        }

    def stand_in(self, name: str, body: str) -> None:
        (self.bin / name).write_text(body)
        (self.bin / name).chmod(0o755)

    def run(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script],
            check=False,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def lines(self, name: str) -> list[str]:
        path = self.root / name
        return path.read_text().splitlines() if path.exists() else []

    def marker(self, directory: Path) -> str | None:
        path = directory / RUN_MARKER_NAME
        return path.read_text() if path.exists() else None

    def assert_ready(self, result: subprocess.CompletedProcess[str], marked: Path) -> None:
        """The boot succeeded: the storage is marked for this run, the watcher is running."""
        assert result.returncode == 0, result.stderr
        assert not (self.root / "terminated").exists()
        assert not (self.root / "shutdown").exists()
        assert self.marker(marked) == f"{RUN_ID}\n"
        assert "ECS_CONTAINER_STOP_TIMEOUT=110s" in (self.root / "ecs.config").read_text()
        unit = (self.root / "systemd" / WATCHER_UNIT).read_text()
        assert f"ExecStart={self.env['SPOT_WATCHER_PATH']}\n" in unit
        assert os.access(self.env["SPOT_WATCHER_PATH"], os.X_OK)
        assert self.lines("systemctl-calls") == [
            "daemon-reload",
            f"enable --now --no-block {WATCHER_UNIT}",
        ]

    def assert_left(
        self, result: subprocess.CompletedProcess[str], how: str = "terminated"
    ) -> None:
        """The boot failed: the instance leaves (``how``), the ECS agent cannot start."""
        assert result.returncode != 0
        assert (self.root / how).exists(), result.stderr
        assert "mask --runtime ecs.service" in self.lines("systemctl-calls")
        assert "--no-block stop ecs.service" in self.lines("systemctl-calls")
        assert not (self.root / "systemd" / WATCHER_UNIT).exists()
        if how == "shutdown":
            assert (self.root / "shutdown").read_text() == "-h now\n"


# ---------------------------------------------------------------------------------- EBS


@pytest.fixture
def ebs(tmp_path: Path, system_bin: Path) -> Boot:
    boot = Boot(tmp_path, system_bin, STAND_INS)
    (tmp_path / "by-id").mkdir()
    (tmp_path / "by-id" / NVME).touch()
    (tmp_path / "dev").mkdir()
    return boot


def run_ebs(
    boot: Boot,
    volume_states: list[str],
    settings: dict[str, str] | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    (boot.root / "volume-states").write_text("\n".join(volume_states) + "\n")
    script = render_script(
        "mount_ebs_volume.sh",
        settings
        if settings is not None
        else {"VOLUME_ID": VOLUME, "MOUNT_POINT": str(boot.root / "data"), "RUN_ID": RUN_ID},
    )
    defaults = {
        "DEVICE_DIR": str(boot.root / "by-id"),
        "XEN_DEVICE_DIR": str(boot.root / "dev"),
        "LIVE_OWNER_GRACE_SECONDS": "0",
        "ATTACH_TIMEOUT_SECONDS": "5",
        "DEVICE_TIMEOUT_SECONDS": "1",
    }
    return boot.run(script, **(defaults | env))


def test_blank_volume_is_attached_formatted_mounted_and_marked(ebs: Boot) -> None:
    (ebs.root / "blkid-exit").write_text("2")
    result = run_ebs(ebs, ["available None", f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")
    assert (ebs.root / "attached").exists()
    assert (ebs.root / "formatted").exists()
    assert (ebs.root / "mounted").read_text().split() == [
        "-o", "noatime", str(ebs.root / "by-id" / NVME), str(ebs.root / "data"),
    ]  # fmt: skip
    assert "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in (ebs.root / "ecs.config").read_text()


def test_volume_with_a_filesystem_is_never_formatted(ebs: Boot) -> None:
    result = run_ebs(ebs, ["available None", f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")
    assert not (ebs.root / "formatted").exists()


@pytest.mark.parametrize("blkid_exit", [1, 4, 8])
def test_blkid_failure_never_leads_to_mkfs(ebs: Boot, blkid_exit: int) -> None:
    (ebs.root / "blkid-exit").write_text(str(blkid_exit))

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert not (ebs.root / "formatted").exists()


def test_waits_while_a_reclaimed_instance_still_holds_the_volume(ebs: Boot) -> None:
    (ebs.root / "owner-state").write_text("shutting-down\n")
    states = [f"in-use {OTHER}", f"in-use {OTHER}", "available None", f"in-use {SELF}"]

    result = run_ebs(ebs, states)

    ebs.assert_ready(result, ebs.root / "data")
    assert (ebs.root / "attached").exists()


def test_refuses_to_run_when_a_live_instance_holds_the_volume(ebs: Boot) -> None:
    (ebs.root / "owner-state").write_text("running\n")

    result = run_ebs(ebs, [f"in-use {OTHER}"] * 3)

    ebs.assert_left(result)
    assert not (ebs.root / "mounted").exists()
    assert "stays attached to live instance" in result.stderr


@pytest.mark.parametrize("xen_name", ["xvdf", "sdf"])
def test_xen_instances_find_the_volume_under_its_requested_name(ebs: Boot, xen_name: str) -> None:
    (ebs.root / "by-id" / NVME).unlink()
    (ebs.root / "dev" / xen_name).touch()

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")
    assert str(ebs.root / "dev" / xen_name) in (ebs.root / "mounted").read_text().split()


def test_a_device_that_never_appears_terminates(ebs: Boot) -> None:
    (ebs.root / "by-id" / NVME).unlink()

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert f"no device for {VOLUME}" in result.stderr
    assert not (ebs.root / "mounted").exists()


def test_a_missing_aws_cli_is_installed_first(ebs: Boot) -> None:
    (ebs.bin / "aws").unlink()

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")
    assert ebs.lines("dnf-calls") == ["install -y awscli-2"]


def test_a_missing_mkfs_xfs_is_installed_for_a_blank_volume(ebs: Boot) -> None:
    (ebs.bin / "mkfs.xfs").unlink()
    (ebs.root / "blkid-exit").write_text("2")
    (ebs.root / "dnf-failures").write_text("99")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert ebs.lines("dnf-calls") == ["install -y xfsprogs"] * 3
    assert not (ebs.root / "mounted").exists()


def test_an_aws_cli_that_cannot_be_installed_shuts_the_instance_down(ebs: Boot) -> None:
    (ebs.bin / "aws").unlink()
    (ebs.root / "dnf-failures").write_text("99")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    # Without the CLI, terminate-instances is impossible: shutdown is the way out.
    ebs.assert_left(result, "shutdown")
    assert ebs.lines("dnf-calls") == ["install -y awscli-2"] * 3
    assert not (ebs.root / "mounted").exists()


@pytest.mark.parametrize("answer", ["exit 254", "empty answer", "no such volume"])
def test_a_failed_describe_volumes_terminates(ebs: Boot, answer: str) -> None:
    states = [f"in-use {SELF}"]
    if answer == "exit 254":
        (ebs.root / "describe-exit").write_text("254")
    elif answer == "empty answer":
        states = [""]
    else:
        states = ["None"]

    result = run_ebs(ebs, states)

    ebs.assert_left(result)
    assert not (ebs.root / "attached").exists()
    assert not (ebs.root / "mounted").exists()


@pytest.mark.parametrize("failing", ["api/token", "instance-id", "placement/region"])
def test_a_failed_imds_call_shuts_down_or_terminates(ebs: Boot, failing: str) -> None:
    (ebs.root / "imds-fail").write_text(failing)

    result = run_ebs(ebs, [f"in-use {SELF}"])

    # Without the instance id there is nothing to terminate by id: shutdown instead.
    ebs.assert_left(result, "terminated" if failing == "placement/region" else "shutdown")
    assert not (ebs.root / "mounted").exists()
    assert (
        not (ebs.root / "aws-calls").exists()
        or "attach-volume" not in (ebs.root / "aws-calls").read_text()
    )


def test_a_failed_mount_terminates_before_any_marker(ebs: Boot) -> None:
    (ebs.root / "mount-failures").write_text("1")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert "mount of" in result.stderr
    assert ebs.marker(ebs.root / "data") is None


def test_a_retried_attempt_keeps_the_marker_of_its_run(ebs: Boot) -> None:
    (ebs.root / "data").mkdir()
    (ebs.root / "data" / RUN_MARKER_NAME).write_text(f"{RUN_ID}\n")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")


def test_a_volume_marked_for_another_run_is_never_used(ebs: Boot) -> None:
    (ebs.root / "data").mkdir()
    (ebs.root / "data" / RUN_MARKER_NAME).write_text("run-0002\n")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert "holds run 'run-0002', not this run 'run-0001'" in result.stderr
    assert ebs.marker(ebs.root / "data") == "run-0002\n"


def test_a_failed_terminate_instances_falls_back_to_shutdown(ebs: Boot) -> None:
    (ebs.root / "owner-state").write_text("running\n")
    (ebs.root / "terminate-exit").write_text("254")

    result = run_ebs(ebs, [f"in-use {OTHER}"])

    ebs.assert_left(result, "shutdown")
    assert "terminate-instances failed" in result.stderr


def test_any_failing_command_terminates(ebs: Boot) -> None:
    # mkdir of the mount point fails (a file is in the way): no explicit check, the ERR trap.
    (ebs.root / "data").write_text("not a directory")

    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_left(result)
    assert "failed (exit 1): mkdir -p" in result.stderr


def test_a_missing_setting_terminates(ebs: Boot) -> None:
    result = run_ebs(ebs, [f"in-use {SELF}"], settings={"MOUNT_POINT": str(ebs.root / "data")})

    ebs.assert_left(result, "shutdown")
    assert "RUN_ID" in result.stderr


def test_a_boot_that_hangs_terminates_at_its_deadline(ebs: Boot) -> None:
    ebs.stand_in("mount", HANGING_MOUNT)
    start = time.monotonic()

    result = run_ebs(ebs, [f"in-use {SELF}"], USER_DATA_TIMEOUT_SECONDS="1")

    ebs.assert_left(result)
    assert time.monotonic() - start < 30
    assert "did not finish within 1s" in result.stderr
    assert ebs.marker(ebs.root / "data") is None


def test_the_installed_watcher_is_the_spot_watcher_script(ebs: Boot) -> None:
    result = run_ebs(ebs, [f"in-use {SELF}"])

    ebs.assert_ready(result, ebs.root / "data")
    installed = Path(ebs.env["SPOT_WATCHER_PATH"]).read_text()
    assert installed.startswith("#!/bin/bash\n")
    assert "spot/instance-action" in installed
    assert subprocess.run(["bash", "-n", ebs.env["SPOT_WATCHER_PATH"]], check=False).returncode == 0


# ---------------------------------------------------------------------------------- Lustre

LUSTRE_STAND_INS = {
    name: STAND_INS[name]
    for name in ("curl", "aws", "dnf", "mount", "mountpoint", "shutdown", "sleep", "systemctl")
}


@pytest.fixture
def lustre(tmp_path: Path, system_bin: Path) -> Boot:
    return Boot(tmp_path, system_bin, LUSTRE_STAND_INS)


def run_lustre(boot: Boot, **env: str) -> subprocess.CompletedProcess[str]:
    script = render_script(
        "mount_lustre.sh",
        {
            "DNS_NAME": "fs-0123.fsx.us-east-1.amazonaws.com",
            "MOUNT_NAME": "abcdefgh",
            "MOUNT_POINT": str(boot.root / "fsx"),
            "SCRATCH_DIR": str(boot.root / "fsx" / "scratch"),
            "RUN_ID": RUN_ID,
        },
    )
    return boot.run(script, **({"MOUNT_ATTEMPTS": "5"} | env))


def test_lustre_client_only_is_installed_and_the_file_system_mounted(lustre: Boot) -> None:
    (lustre.root / "dnf-failures").write_text("1")
    (lustre.root / "mount-failures").write_text("2")

    result = run_lustre(lustre)

    run_dir = lustre.root / "fsx" / "scratch" / RUN_ID
    lustre.assert_ready(result, run_dir)
    # Only the client package: a kernel or system update would break the client module.
    assert lustre.lines("dnf-calls") == ["install -y lustre-client"] * 2
    assert (lustre.root / "mounted").read_text().split() == [
        "-t", "lustre", "-o", "relatime,flock",
        "fs-0123.fsx.us-east-1.amazonaws.com@tcp:/abcdefgh", str(lustre.root / "fsx"),
    ]  # fmt: skip
    # The job (any user) writes there; the association's root holds no marker (it would be
    # exported to the shared bucket and imported into later runs).
    assert run_dir.stat().st_mode & 0o777 == 0o777
    assert lustre.marker(lustre.root / "fsx" / "scratch") is None


def test_instance_leaves_when_the_file_system_cannot_be_mounted(lustre: Boot) -> None:
    (lustre.root / "mount-failures").write_text("99")

    result = run_lustre(lustre)

    lustre.assert_left(result)
    assert "could not be mounted" in result.stderr
    assert not (lustre.root / "fsx" / "scratch").exists()


def test_instance_leaves_when_the_client_cannot_be_installed(lustre: Boot) -> None:
    (lustre.root / "dnf-failures").write_text("99")

    result = run_lustre(lustre)

    lustre.assert_left(result)
    assert not (lustre.root / "mounted").exists()


@pytest.mark.parametrize("failing", ["api/token", "instance-id"])
def test_lustre_instance_leaves_when_imds_fails(lustre: Boot, failing: str) -> None:
    (lustre.root / "imds-fail").write_text(failing)

    result = run_lustre(lustre)

    lustre.assert_left(result, "shutdown")
    assert not (lustre.root / "dnf-calls").exists()


def test_a_file_system_marked_for_another_run_is_never_used(lustre: Boot) -> None:
    run_dir = lustre.root / "fsx" / "scratch" / RUN_ID
    run_dir.mkdir(parents=True)
    (run_dir / RUN_MARKER_NAME).write_text("run-0002\n")

    result = run_lustre(lustre)

    lustre.assert_left(result)
    assert lustre.marker(run_dir) == "run-0002\n"
