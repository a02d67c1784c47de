"""The launch template's user data: a MIME multipart shell script for AWS Batch."""

import email
import email.message

import pytest

from batchscratch.marker import RUN_MARKER_NAME
from batchscratch.mounts import storage_mount
from batchscratch.state import RunState
from batchscratch.user_data import ebs_user_data
from tests.conftest import load_event


def script_of(user_data: str) -> str:
    message = email.message_from_string(user_data)
    assert message.get_content_type() == "multipart/mixed"
    parts = message.get_payload()
    assert isinstance(parts, list)
    [part] = parts
    assert isinstance(part, email.message.Message)
    assert part.get_content_type() == "text/x-shellscript"
    return str(part.get_payload())


def test_user_data_is_one_shell_script_part_with_the_volume_and_the_run() -> None:
    script = script_of(ebs_user_data("vol-0123456789abcdef0", "run-0001", "/data"))

    assert script.startswith(
        "#!/bin/bash\nVOLUME_ID=vol-0123456789abcdef0\nMOUNT_POINT=/data\nRUN_ID=run-0001\n"
        f"RUN_MARKER_NAME={RUN_MARKER_NAME}\n"
    )


def test_values_are_shell_quoted() -> None:
    script = script_of(ebs_user_data("vol-1", "run-1", "/mnt/my data"))

    assert "MOUNT_POINT='/mnt/my data'\n" in script


@pytest.mark.parametrize(
    ("event", "settings"),
    [
        ("prepare_compute", "VOLUME_ID=vol-0123456789abcdef0\nMOUNT_POINT=/data\n"),
        ("prepare_compute_lustre", "MOUNT_POINT=/fsx\nSCRATCH_DIR=/fsx/scratch\n"),
    ],
)
def test_the_run_id_of_the_state_reaches_the_instance(event: str, settings: str) -> None:
    state = RunState.model_validate(load_event(event))

    script = script_of(storage_mount(state).user_data)

    assert settings in script
    assert f"RUN_ID={state.run.runId}\n" in script
