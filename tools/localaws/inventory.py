"""The rehearsal's inventory of per-run resources: the command's own
(``batchscratch_cli.inventory``), so the summary's ``leaked`` and ``retained`` and
``batch-scratch leftovers`` are found the same way."""

from batchscratch_cli.inventory import (
    KINDS,
    TAG_RETAINED,
    Resource,
    existing_resources,
    left_behind,
)

__all__ = ["KINDS", "TAG_RETAINED", "Resource", "existing_resources", "left_behind"]
