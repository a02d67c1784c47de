"""The layer's clock: every reading of the time and every pause goes through here.

One seam for whoever needs another clock: the local rehearsal runs the handlers on a
virtual clock (``tools/localaws/patches/layer_clock.py`` replaces ``now`` and ``sleep``),
and a test can do the same with ``monkeypatch``. Call them as ``clock.now()`` and
``clock.sleep(…)`` (module attributes), so that a replacement takes effect.
"""

import time
from datetime import UTC, datetime


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def sleep(seconds: float) -> None:
    """Pause for ``seconds`` (float, seconds)."""
    time.sleep(seconds)
