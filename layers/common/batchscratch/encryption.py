"""The stack's optional customer managed KMS key (template parameter ``KmsKeyArn``).

Without a key, every service encrypts with its own AWS managed or AWS owned key, as before.
With one, the run's storage is encrypted with it:

- EBS (CreateVolume, and the instances' root volumes in the launch template): ``Encrypted``
  true and ``KmsKeyId``. EC2 API Reference, CreateVolume ``KmsKeyId``: "If KmsKeyId is
  specified, the encrypted state must be true". Snapshots need nothing: CreateSnapshot has no
  ``KmsKeyId`` member, and "Snapshots that are taken from encrypted volumes are automatically
  encrypted" (EC2 API Reference, CreateSnapshot), with the volume's key.
- FSx for Lustre (CreateFileSystem ``KmsKeyId``): "PERSISTENT_1 and PERSISTENT_2 deployment
  types only. SCRATCH_1 and SCRATCH_2 types are encrypted using the Amazon FSx service KMS
  key for your account" (FSx API Reference, CreateFileSystem). A scratch file system cannot
  use the stack's key, so a run that asks for one while the stack has a key is refused
  (``file_system_kms_key``) rather than silently encrypted with another key.

The one form every target accepts is the key ARN: CloudWatch Logs takes only an ARN
(CreateLogGroup ``kmsKeyId``), S3 asks for the ARN when AWS services act on the bucket
(ServerSideEncryptionByDefault ``KMSMasterKeyID``), and an IAM statement names a key by its
ARN, never by an alias (KMS Developer Guide, "Using IAM policies with AWS KMS").
"""

import os
import re

from batchscratch.errors import InvalidConfiguration

KMS_KEY_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
"""A KMS key ARN: ``arn:<partition>:kms:<region>:<account>:key/<key id>``, where the key id is
a UUID or, for a multi-Region key, ``mrk-`` and 32 hex digits (KMS Developer Guide, "Key
identifiers (KeyId)"). template.yaml's ``KmsKeyArn`` AllowedPattern is this pattern, or
empty."""

KMS_KEY_ARN_SETTING = "KMS_KEY_ARN"
"""The environment variable template.yaml sets to ``KmsKeyArn`` (empty: no key)."""

FSX_KEYED_DEPLOYMENT_TYPES = ("PERSISTENT_1", "PERSISTENT_2")
"""The Lustre deployment types whose CreateFileSystem accepts ``KmsKeyId`` (FSx API Reference)."""


def kms_key_arn() -> str | None:
    """Return the stack's key ARN (``KMS_KEY_ARN``), or None when the stack has none.

    Raises:
        InvalidConfiguration: the variable is set but is not a key ARN (the template's
            AllowedPattern prevents it; a hand-edited function would not be).
    """
    value = os.environ.get(KMS_KEY_ARN_SETTING, "").strip()
    if not value:
        return None
    if re.fullmatch(KMS_KEY_ARN_PATTERN, value) is None:
        raise InvalidConfiguration(
            f"{KMS_KEY_ARN_SETTING} = {value!r}: not a KMS key ARN "
            "(arn:aws:kms:<region>:<account>:key/<key id>); set the stack's KmsKeyArn"
        )
    return value


def ebs_encryption(key_arn: str | None) -> dict[str, bool | str]:
    """Return the encryption members of an EBS volume request (CreateVolume, or a launch
    template's ``Ebs`` block device): always ``Encrypted``, and ``KmsKeyId`` with a key.

    Args:
        key_arn: the stack's key ARN, or None for the account's EBS key.
    """
    if key_arn is None:
        return {"Encrypted": True}
    return {"Encrypted": True, "KmsKeyId": key_arn}


def file_system_kms_key(deployment_type: str, key_arn: str | None) -> str | None:
    """Return the ``KmsKeyId`` to send for a Lustre file system of ``deployment_type``.

    Args:
        deployment_type: ``lustreDeploymentType`` (SCRATCH_2, PERSISTENT_1, PERSISTENT_2).
        key_arn: the stack's key ARN, or None.

    Returns:
        ``key_arn`` for a persistent type; None without a key (FSx then uses its own key).

    Raises:
        InvalidConfiguration: the stack has a key and the type is a scratch one, which FSx
            always encrypts with its own key; the message names the key and the fix.
    """
    if key_arn is None:
        return None
    if deployment_type not in FSX_KEYED_DEPLOYMENT_TYPES:
        raise InvalidConfiguration(
            f"Invalid run configuration: lustreDeploymentType = {deployment_type!r}: the stack "
            f"encrypts storage with its KmsKeyArn ({key_arn}), and FSx encrypts SCRATCH file "
            "systems with its own key only; use PERSISTENT_1 or PERSISTENT_2 (set it in the "
            "secret), or deploy without KmsKeyArn"
        )
    return key_arn
