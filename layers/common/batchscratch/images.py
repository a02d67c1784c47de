"""Job images: the reference grammar, and which repositories a run may take its image from.

A run's image (``jobDefinitionContainerImage``, from the secret or the execution input) must
come from the stack's own ECR repository or from an entry of the template parameter
``AllowedImagePrefixes``. LoadConfig checks it before anything exists (``check_image``), and
IAM enforces the same rule on PrepareCompute's ``batch:RegisterJobDefinition`` with the
``batch:Image`` condition key ("Filters access by the image used to start a container",
String; Service Authorization Reference, "Actions, resources, and condition keys for AWS
Batch"), so a run that got past LoadConfig by a fault still cannot register another image.

An allowed entry is one of:

- a repository, ``registry/path`` (``123456789012.dkr.ecr.us-east-1.amazonaws.com/tools``):
  that repository with any tag or digest, and no other (not ``.../tools-evil``, not
  ``.../tools/other``);
- a namespace, ``registry/path/*`` (``public.ecr.aws/my-alias/*``): every repository under
  ``registry/path/``.

The registry is always written (a host name with a dot, and an optional port): Docker reads
the first component of a reference as a registry only when it has a dot or a port
(distribution/reference, ``normalize.go``), so ``ubuntu:5000/x`` would be a registry named
``ubuntu``. With the registry and a path in every entry, the IAM patterns of an entry
(``entry``, ``entry:*``, ``entry@*``; ``iam_patterns``) match exactly the references this
module accepts: a tag (``:``) or digest (``@``) may follow the path only, since a port is
part of the registry, before the first ``/``. Docker Hub images are written in full, e.g.
``docker.io/library/ubuntu``.
"""

import re
from collections.abc import Iterable, Sequence

from batchscratch.environment import setting_list
from batchscratch.errors import InvalidConfiguration, MissingSetting

# The Docker/OCI image reference grammar, as distribution/reference (reference.go) writes it:
#   reference := name [ ":" tag ] [ "@" digest ]
#   name      := [domain '/'] remote-name
#   domain    := host [':' port-number]
#   tag       := /[\w][\w.-]{0,127}/
#   digest    := algorithm ":" encoded
#   algorithm := [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*
#   encoded   := [0-9a-fA-F]{32,}
# (the bracketed IPv6 host form is left out: an ECR or Docker Hub image never uses it).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
"""An image reference: ``[registry[:port]/]path[:tag][@digest]`` (distribution/reference)."""

ALLOWED_IMAGE_ENTRY = re.compile(
    rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+(?::[0-9]+)?"
    rf"(?:/{_PATH_COMPONENT})+(?:/\*)?"
)
"""An entry of ``AllowedImagePrefixes``: ``registry/path`` or ``registry/path/*``, the
registry a dotted host name with an optional port (template.yaml's ``AllowedPattern`` is
this pattern; a template test checks that they agree)."""

NAMESPACE_SUFFIX = "/*"
IMAGES_PARAMETER = "AllowedImagePrefixes"
"""The template parameter that lists the allowed entries besides the stack's repository."""


def iam_patterns(entries: Iterable[str]) -> list[str]:
    """Return the ``batch:Image`` StringLike values that allow ``entries``: for each,
    ``entry`` (no tag: Docker pulls ``latest``), ``entry:*`` (a tag, with or without a
    digest) and ``entry@*`` (a digest). A namespace's ``registry/path/*`` already matches
    all three; template.yaml builds the same list from the parameter."""
    return [pattern for entry in entries for pattern in (entry, f"{entry}:*", f"{entry}@*")]


def image_allowed(image: str, entries: Iterable[str]) -> bool:
    """True when ``image`` is a reference whose repository an entry allows (module doc).

    Args:
        image: an image reference, e.g. ``<registry>/batch-job-with-ebs:v1`` or ``...@sha256:...``.
        entries: repositories (``registry/path``) and namespaces (``registry/path/*``).
    """
    match = IMAGE_REFERENCE.fullmatch(image)
    if match is None:
        return False
    name = match["name"]
    for entry in entries:
        if entry.endswith(NAMESPACE_SUFFIX):
            if name.startswith(entry.removesuffix("*")):
                return True
        elif name == entry:
            return True
    return False


def check_entries(entries: Sequence[str]) -> None:
    """Raise ``ValueError`` naming each entry that is not ``registry/path[/*]``."""
    wrong = [entry for entry in entries if not ALLOWED_IMAGE_ENTRY.fullmatch(entry)]
    if wrong:
        raise ValueError(
            f"{IMAGES_PARAMETER} entries must be registry/path or registry/path/* with the "
            f"registry written (a host name with a dot): {wrong}"
        )


UNPINNED_TAG = "run-push-image-sh-with-pin"
"""The tag of the secret's default image (template.yaml ConfigSecret). The stack's repository
has immutable tags and nothing pushes this one: ``docker/push-image.sh --pin <stack>`` writes
the pushed image's digest in its place. LoadConfig refuses it, so a run before that fails
before anything is created instead of at the image pull."""

IMAGES_VARIABLE = "ALLOWED_IMAGES"
"""LoadConfig's environment variable: the stack's repository, then ``AllowedImagePrefixes``."""


def allowed_images_from_environment() -> tuple[str, ...]:
    """Return the allowed entries from ``ALLOWED_IMAGES`` (comma-separated).

    Raises:
        MissingSetting: the variable is not set or holds an entry that is not
            ``registry/path[/*]`` (template.yaml's ``AllowedPattern`` refuses such entries).
    """
    entries = tuple(setting_list(IMAGES_VARIABLE))
    try:
        check_entries(entries)
    except ValueError as error:
        raise MissingSetting(str(error)) from None
    return entries


def check_image(image: str, entries: Sequence[str], source: str) -> None:
    """Refuse ``image`` unless an entry allows its repository (``image_allowed``).

    Args:
        image: the run's ``jobDefinitionContainerImage``.
        entries: the stack's repository first, then ``AllowedImagePrefixes``.
        source: where the image came from (``secret`` or ``execution input``).

    Raises:
        InvalidConfiguration: naming the key, the image, its source and the allowed entries;
            or, for the stack's default image (``UNPINNED_TAG``), what to run first.
    """
    if entries and image == f"{entries[0]}:{UNPINNED_TAG}":
        raise InvalidConfiguration(
            f"Invalid run configuration: jobDefinitionContainerImage = {image!r} (from the "
            f"{source}): the stack's placeholder, which names no pushed image; push the job "
            "image and pin its digest with `docker/push-image.sh --pin <stack name>` (README, "
            '"Push the job image and pin it"), or set jobDefinitionContainerImage in the secret'
        )
    if image_allowed(image, entries):
        return
    raise InvalidConfiguration(
        f"Invalid run configuration: jobDefinitionContainerImage = {image!r} (from the "
        f"{source}): not in an allowed repository; allowed are the stack's repository "
        f"{entries[0]} and the entries of the stack parameter {IMAGES_PARAMETER} "
        f"({', '.join(entries[1:]) or 'none'}), each with any tag or digest"
    )
