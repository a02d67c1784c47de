"""Launch template user data: MIME multipart documents that mount the run's storage.

AWS Batch merges a launch template's user data with its own, which requires the MIME
multi-part format (AWS Batch User Guide, "Launch template support").
"""

import shlex
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from importlib import resources

_BOUNDARY = "==BATCHSCRATCH=="


def _script(name: str, settings: dict[str, str]) -> str:
    body = resources.files("batchscratch").joinpath("scripts", name).read_text()
    shebang, _, rest = body.partition("\n")
    header = "".join(f"{key}={shlex.quote(value)}\n" for key, value in settings.items())
    return f"{shebang}\n{header}{rest}"


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
    return mime_user_data(
        _script("mount_ebs_volume.sh", {"VOLUME_ID": volume_id, "MOUNT_POINT": mount_point})
    )
