"""Settings a function reads from its environment (set by template.yaml)."""

import os

from batchscratch.errors import MissingSetting


def setting(name: str) -> str:
    """Return environment variable ``name``; raise ``MissingSetting`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingSetting(f"environment variable {name} is not set for this function")
    return value


def setting_list(name: str) -> list[str]:
    """Return the comma-separated environment variable ``name`` as a list of non-empty items."""
    return [item.strip() for item in setting(name).split(",") if item.strip()]
