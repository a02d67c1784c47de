"""The launch template's user data: a MIME multipart shell script for AWS Batch."""

import email

from batchscratch.user_data import ebs_user_data


def test_user_data_is_one_shell_script_part_with_the_volume():
    message = email.message_from_string(ebs_user_data("vol-0123456789abcdef0", "/data"))

    assert message.get_content_type() == "multipart/mixed"
    [part] = message.get_payload()
    script = part.get_payload()
    assert part.get_content_type() == "text/x-shellscript"
    assert script.startswith("#!/bin/bash\nVOLUME_ID=vol-0123456789abcdef0\nMOUNT_POINT=/data\n")


def test_values_are_shell_quoted():
    message = email.message_from_string(ebs_user_data("vol-1", "/mnt/my data"))

    assert "MOUNT_POINT='/mnt/my data'\n" in message.get_payload()[0].get_payload()
