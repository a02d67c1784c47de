"""Launch template user data: MIME multipart documents that mount the run's storage.

AWS Batch merges a launch template's user data with its own, which requires the MIME
multi-part format (AWS Batch User Guide, "Launch template support"). Each document is one
shell script: the settings, the Spot watcher (``scripts/spot_watcher.sh``, which the boot
installs as a systemd unit), ``scripts/common.sh`` (fail-closed termination, IMDSv2, the
AWS CLI, the run marker) and the mode's mount script. See docs/instance.md.
"""

import re
import shlex
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from importlib import resources

from batchscratch.marker import RUN_MARKER_NAME

_BOUNDARY = "==BATCHSCRATCH=="
_WATCHER_END = "BATCH_SCRATCH_SPOT_WATCHER"

USER_DATA_LIMIT_BYTES = 16 * 1024
"""EC2 limits user data to 16 KB in raw form, before base64 encoding (Amazon EC2 User Guide,
"Work with instance user data")."""


# Whole-line comments (not a "#!" line) and blank lines: the scripts keep them for readers,
# the user data drops them to stay well under the limit. No here-document in scripts/ holds
# a line that starts with "#" (a test checks).
_COMMENT_OR_BLANK = re.compile(r"^[ \t]*(#(?!!).*)?\n", re.MULTILINE)


def _script(name: str) -> str:
    text = resources.files("batchscratch").joinpath("scripts", name).read_text()
    return _COMMENT_OR_BLANK.sub("", text)


def _body(name: str) -> str:
    return _script(name).partition("\n")[2]


def _watcher_function() -> str:
    """Return a shell function that prints ``spot_watcher.sh``, for ``install_spot_watcher``."""
    watcher = _script("spot_watcher.sh")
    if _WATCHER_END in watcher.splitlines():
        raise ValueError(f"spot_watcher.sh contains its here-document end line {_WATCHER_END}")
    return f"spot_watcher_script() {{\n  cat <<'{_WATCHER_END}'\n{watcher}{_WATCHER_END}\n}}\n"


def shell_literal(value: str) -> str:
    """Return ``value`` as a bash word that stands for it, in ASCII only.

    ASCII values are quoted with ``shlex.quote``. Others (an execution name may hold any
    letter) become ANSI-C quoting of their UTF-8 bytes (``$'\\xc3\\xa9'`` for ``é``, bash
    manual, "ANSI-C Quoting"): an ASCII script keeps the MIME part 7bit, where Python's email
    package would otherwise base64-encode the whole script and make it a third larger.
    """
    if value.isascii():
        return shlex.quote(value)
    escaped = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte not in (0x27, 0x5C) else f"\\x{byte:02x}"
        for byte in value.encode()
    )
    return f"$'{escaped}'"


def render_script(name: str, settings: dict[str, str]) -> str:
    """Return ``scripts/<name>`` as one self-contained script with ``settings`` first.

    Args:
        name: the mount script, e.g. ``"mount_lustre.sh"``.
        settings: shell variables to define, e.g. ``{"VOLUME_ID": "vol-…"}`` (values quoted,
            in ASCII: ``shell_literal``);
            the scripts require ``RUN_ID`` (the run id, which the run marker holds), and
            ``RUN_MARKER_NAME`` is added here.

    Returns:
        ``#!/bin/bash``, the settings, the Spot watcher, ``common.sh`` and the script, as text.

    Raises:
        ValueError: ``spot_watcher.sh`` contains the line that ends its here-document.
    """
    settings = {**settings, "RUN_MARKER_NAME": RUN_MARKER_NAME}
    header = "".join(f"{key}={shell_literal(value)}\n" for key, value in settings.items())
    return f"#!/bin/bash\n{header}{_watcher_function()}{_body('common.sh')}{_body(name)}"


def mime_user_data(script: str) -> str:
    """Wrap ``script`` (a shell script) as a one-part MIME multipart user data document."""
    message = MIMEMultipart(boundary=_BOUNDARY)
    message.attach(MIMEText(script, "x-shellscript"))
    return message.as_string()


def ebs_user_data(volume_id: str, run_id: str, mount_point: str = "/data") -> str:
    """Return the user data that attaches ``volume_id`` and mounts it at ``mount_point``.

    Args:
        volume_id: the run's EBS volume (``vol-…``), in the instance's Availability Zone.
        run_id: the run id (the execution name); the boot writes it in the run marker at
            ``mount_point``.
        mount_point: host directory the job definition mounts into the container.

    Returns:
        A MIME multipart document (text) for the launch template's ``UserData`` (before
        base64 encoding), well under ``USER_DATA_LIMIT_BYTES``.
    """
    settings = {"VOLUME_ID": volume_id, "MOUNT_POINT": mount_point, "RUN_ID": run_id}
    return mime_user_data(render_script("mount_ebs_volume.sh", settings))


def lustre_user_data(
    dns_name: str,
    mount_name: str,
    run_id: str,
    mount_point: str = "/fsx",
    scratch_dir: str = "/fsx/scratch",
) -> str:
    """Return the user data that installs the Lustre client and mounts the file system.

    Args:
        dns_name: the file system's ``DNSName``.
        mount_name: its ``LustreConfiguration.MountName``.
        run_id: the run id (the execution name); the boot writes it in the run marker at
            ``<scratch_dir>/<run_id>``.
        mount_point: where the file system is mounted on the host.
        scratch_dir: the association's directory on the host, which the job sees.

    Returns:
        A MIME multipart document (text) for the launch template's ``UserData``, well under
        ``USER_DATA_LIMIT_BYTES``.
    """
    settings = {
        "DNS_NAME": dns_name,
        "MOUNT_NAME": mount_name,
        "MOUNT_POINT": mount_point,
        "SCRATCH_DIR": scratch_dir,
        "RUN_ID": run_id,
    }
    return mime_user_data(render_script("mount_lustre.sh", settings))
