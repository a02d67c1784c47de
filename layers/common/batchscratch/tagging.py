"""Tag values that every service the runs tag accepts: FSx, AWS Batch and EC2.

The services disagree on what a tag value may hold, so the project writes only values in
their intersection:

- FSx: ``TagValue`` matches ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$``, at most 256 characters
  (botocore fsx model, shape ``TagValue``).
- AWS Batch (and the ECS tasks its jobs propagate tags to): "letters, numbers, spaces
  representable in UTF-8, and the following characters: + - = . _ : / @", at most 256
  characters (AWS Batch User Guide, "Tag restrictions"; the botocore batch model states only
  the length).
- EC2: at most 256 Unicode characters (botocore ec2 model, ``Tag.Value``).

So a value holds Unicode letters and numbers, the plain space and ``_ . : / = + - @``, and no
more than ``TAG_VALUE_MAX`` characters. Execution names may hold more (Step Functions allows
``( ) ! '`` and others), and so do the project's own messages; these functions make any text
fit. The full text stays where there is no such rule: the error message and the execution's
cause.
"""

import hashlib
import unicodedata

TAG_VALUE_MAX = 256
"""Characters a tag value may hold in FSx, Batch and EC2 alike."""

TAG_SYMBOLS = frozenset(" _.:/=+-@")
"""The characters other than letters and numbers that every service accepts in a tag value."""

_DIGEST_LENGTH = 12
_READABLE = str.maketrans({";": " -", ",": "", "(": "", ")": "", "'": "", '"': "", "!": ""})


def allowed_in_tag(character: str) -> bool:
    """Return True when FSx, Batch and EC2 all accept ``character`` in a tag value.

    Letters and numbers are the Unicode general categories L* and N* (``\\p{L}``,
    ``\\p{N}``); of the separators (``\\p{Z}``) only the plain space, which Batch accepts too.
    """
    return character in TAG_SYMBOLS or unicodedata.category(character)[0] in "LN"


def is_valid_tag_value(value: str) -> bool:
    """Return True when ``value`` is a tag value every tagged service accepts as it is."""
    return len(value) <= TAG_VALUE_MAX and all(allowed_in_tag(c) for c in value)


def text_tag_value(text: str) -> str:
    """Return human-readable ``text`` (e.g. why a file system is kept) as a valid tag value.

    Punctuation that reads well without it is dropped (``file(s); report`` becomes
    ``files - report``), any other refused character becomes ``_``, and the result is cut
    to ``TAG_VALUE_MAX`` characters. Lossy on purpose: the full text is in the execution's
    error cause.

    Args:
        text: any text.

    Returns:
        A value for which ``is_valid_tag_value`` is True.
    """
    readable = "".join(c if allowed_in_tag(c) else "_" for c in text.translate(_READABLE))
    return readable[:TAG_VALUE_MAX]


def identity_tag_value(identifier: str) -> str:
    """Return ``identifier`` (an execution ARN, a run id) as a tag value that tells runs apart.

    A valid identifier is returned unchanged. Otherwise each refused character becomes ``_``,
    the text is cut to leave room, and ``:`` and a digest of the whole identifier follow
    (``run(1)!`` becomes ``run_1__:<12 hex digits>``). Step Functions execution names never
    hold ``:`` (Step Functions API Reference, StartExecution ``name``), so an encoded run id
    can never equal another run's plain one, and an encoded execution ARN has one ``:``
    more than any plain one.

    Args:
        identifier: any text.

    Returns:
        A value for which ``is_valid_tag_value`` is True; equal inputs give equal values.
    """
    if is_valid_tag_value(identifier):
        return identifier
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:_DIGEST_LENGTH]
    kept = "".join(c if allowed_in_tag(c) else "_" for c in identifier)
    return f"{kept[: TAG_VALUE_MAX - _DIGEST_LENGTH - 1]}:{digest}"
