"""The launch template's user data: a MIME multipart shell script for AWS Batch."""

import email
import email.message
import re
import subprocess
from importlib import resources

import pytest

from batchscratch.marker import RUN_MARKER_NAME
from batchscratch.modes import MODES
from batchscratch.state import RunState
from batchscratch.user_data import (
    USER_DATA_LIMIT_BYTES,
    ebs_user_data,
    lustre_user_data,
    render_script,
)
from tests.conftest import load_event

SCRIPTS = resources.files("batchscratch").joinpath("scripts")
# The longest values a run can have: an 80-character execution name (of 4-byte characters,
# each written as 4 escapes), a long DNS name.
LONGEST_RUN_ID = "\U0001f600" * 80
LONGEST_DNS_NAME = "fs-0123456789abcdef0.fsx.ap-southeast-4.amazonaws.com"


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

    script = script_of(MODES[state.run.mode].storage.implementation.mount(state).user_data)

    assert settings in script
    assert f"RUN_ID={state.run.runId}\n" in script


@pytest.mark.parametrize(
    "user_data",
    [
        ebs_user_data("vol-0123456789abcdef0", LONGEST_RUN_ID),
        lustre_user_data(LONGEST_DNS_NAME, "abcdefgh", LONGEST_RUN_ID),
    ],
    ids=["ebs", "lustre"],
)
def test_user_data_stays_well_under_the_ec2_limit(user_data: str) -> None:
    # EC2 takes 16 KB before base64; Batch adds its own part to ours. Keep a quarter free.
    assert len(user_data.encode()) <= USER_DATA_LIMIT_BYTES * 3 // 4


@pytest.mark.parametrize(
    "user_data",
    [ebs_user_data("vol-1", "run-1"), lustre_user_data("fs-1.example", "m", "run-1")],
    ids=["ebs", "lustre"],
)
def test_the_rendered_script_parses_and_embeds_the_spot_watcher(user_data: str) -> None:
    script = script_of(user_data)

    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    watcher = SCRIPTS.joinpath("spot_watcher.sh").read_text()
    code = [line for line in watcher.splitlines() if line and not line.lstrip().startswith("# ")]
    embedded = script.split("<<'BATCH_SCRATCH_SPOT_WATCHER'\n", 1)[1].split(
        "\nBATCH_SCRATCH_SPOT_WATCHER\n", 1
    )[0]
    assert embedded.splitlines() == [line for line in code if line.strip() != "#"]


def test_no_here_document_in_the_scripts_holds_a_comment_line() -> None:
    # The user data drops whole-line comments; inside a here-document that would change
    # what the script writes.
    start = re.compile(r"<<-?\s*'?\"?([A-Za-z_]+)")
    for script in SCRIPTS.iterdir():
        if not script.name.endswith(".sh"):
            continue
        end = None
        for number, line in enumerate(script.read_text().splitlines(), 1):
            if end is not None:
                if line.strip() == end:
                    end = None
                else:
                    assert not line.lstrip().startswith("#"), f"{script.name}:{number}"
            elif match := start.search(line.split(" #", 1)[0]):
                end = match.group(1)


@pytest.mark.parametrize("run_id", ["run(1)!'", "Überlauf-日本語-ü", "a\\b'c\U0001f600"])
def test_any_run_id_reaches_the_script_intact_in_an_ascii_document(run_id: str) -> None:
    user_data = ebs_user_data("vol-0123456789abcdef0", run_id)
    script = render_script("mount_ebs_volume.sh", {"VOLUME_ID": "vol-1", "RUN_ID": run_id})

    # An ASCII part stays 7bit; base64 would make the user data a third larger.
    assert user_data.isascii()
    assert "Content-Transfer-Encoding: base64" not in user_data
    header = script.split("spot_watcher_script()", 1)[0]
    shown = subprocess.run(
        ["bash", "-c", f'{header}\nprintf %s "$RUN_ID"'],
        capture_output=True,
        check=True,
        timeout=10,
    )
    assert shown.stdout.decode() == run_id
