"""Launch template user data: MIME multipart documents that mount the run's storage.

AWS Batch merges a launch template's user data with its own, which requires the MIME
multi-part format (AWS Batch User Guide, "Launch template support"). Each document is one
shell script: the settings, ``scripts/common.sh`` (fail-closed termination, IMDSv2, the AWS
CLI, the run marker) and the mode's mount script.
"""

import shlex
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from importlib import resources

from batchscratch.marker import RUN_MARKER_NAME

_BOUNDARY = "==BATCHSCRATCH=="


def _script(name: str) -> str:
    return resources.files("batchscratch").joinpath("scripts", name).read_text()


def _body(name: str) -> str:
    return _script(name).partition("\n")[2]


def render_script(name: str, settings: dict[str, str]) -> str:
    """Return ``scripts/<name>`` as one self-contained script with ``settings`` first.

    Args:
        name: the mount script, e.g. ``"mount_lustre.sh"``.
        settings: shell variables to define, e.g. ``{"VOLUME_ID": "vol-…"}`` (values quoted);
            the scripts require ``RUN_ID`` (the run id, which the run marker holds), and
            ``RUN_MARKER_NAME`` is added here.

    Returns:
        ``#!/bin/bash``, the settings, ``common.sh`` and the script, as text.
    """
    settings = {**settings, "RUN_MARKER_NAME": RUN_MARKER_NAME}
    header = "".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items())
    return f"#!/bin/bash\n{header}{_body('common.sh')}{_body(name)}"


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
        base64 encoding).
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
        A MIME multipart document (text) for the launch template's ``UserData``.
    """
    settings = {
        "DNS_NAME": dns_name,
        "MOUNT_NAME": mount_name,
        "MOUNT_POINT": mount_point,
        "SCRATCH_DIR": scratch_dir,
        "RUN_ID": run_id,
    }
    return mime_user_data(render_script("mount_lustre.sh", settings))
