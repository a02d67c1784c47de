"""Launch template user data: MIME multipart documents that mount the run's storage.

AWS Batch merges a launch template's user data with its own, which requires the MIME
multi-part format (AWS Batch User Guide, "Launch template support"). Each document is one
shell script: the settings, then ``scripts/common.sh`` (logging, IMDSv2, Spot draining,
self-termination), then the mode's mount script.
"""

import shlex
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from importlib import resources

_BOUNDARY = "==BATCHSCRATCH=="


def _body(name: str) -> str:
    text = resources.files("batchscratch").joinpath("scripts", name).read_text()
    return text.partition("\n")[2]


def render_script(name: str, settings: dict[str, str]) -> str:
    """Return ``scripts/<name>`` as one self-contained script with ``settings`` first.

    Args:
        name: the mount script, e.g. ``"mount_lustre.sh"``.
        settings: shell variables to define, e.g. ``{"VOLUME_ID": "vol-…"}`` (values quoted).

    Returns:
        ``#!/bin/bash``, the settings, ``common.sh`` and the script, as text.
    """
    header = "".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items())
    return f"#!/bin/bash\n{header}{_body('common.sh')}{_body(name)}"


def mime_user_data(script: str) -> str:
    """Wrap ``script`` (a shell script) as a one-part MIME multipart user data document."""
    message = MIMEMultipart(boundary=_BOUNDARY)
    message.attach(MIMEText(script, "x-shellscript"))
    return message.as_string()


def ebs_user_data(volume_id: str, mount_point: str = "/data") -> str:
    """Return the user data that attaches ``volume_id`` and mounts it at ``mount_point``.

    Args:
        volume_id: the run's EBS volume (``vol-…``), in the instance's Availability Zone.
        mount_point: host directory the job definition mounts into the container.

    Returns:
        A MIME multipart document (text) for the launch template's ``UserData`` (before
        base64 encoding).
    """
    settings = {"VOLUME_ID": volume_id, "MOUNT_POINT": mount_point}
    return mime_user_data(render_script("mount_ebs_volume.sh", settings))


def lustre_user_data(
    dns_name: str, mount_name: str, mount_point: str = "/fsx", scratch_dir: str = "/fsx/scratch"
) -> str:
    """Return the user data that installs the Lustre client and mounts the file system.

    Args:
        dns_name: the file system's ``DNSName``.
        mount_name: its ``LustreConfiguration.MountName``.
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
    }
    return mime_user_data(render_script("mount_lustre.sh", settings))
