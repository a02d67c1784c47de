"""The registry of patched internals (``tools.localaws.patches.TARGETS``) is what is installed.

Each patch module declares the internals it replaces beside the code that replaces them, and
the canary (test_localaws_canary.py) checks every declaration against moto. That only guards
the rehearsal if the declarations are complete: here a rehearsal's patches are installed and
what the ``Patcher`` replaced is compared with what the modules declare, so a replacement
without a declaration (or a declaration nothing installs) fails.
"""

from typing import Any

from tools.localaws.patches import TARGETS, activate, fsx, layer_clock
from tools.localaws.simulation import Simulation

REPLACED = {name for name, target in TARGETS.items() if target.replaced}


def _installed() -> tuple[list[str], list[tuple[str, str]], dict[str, Any]]:
    """What a rehearsal's activation (and the layer clock after the deploy) installs, and
    each replaced target as it stood while installed."""
    sim = Simulation()
    with activate(sim) as patcher:
        layer_clock.install(patcher, sim)
        during = {name: TARGETS[name].resolve() for name in REPLACED}
        return list(patcher.replaced), list(patcher.added), during


def test_the_patches_replace_exactly_the_declared_targets_once_each() -> None:
    replaced, _, _ = _installed()
    assert sorted(replaced) == sorted(REPLACED)


def test_the_only_additions_are_the_fsx_actions_moto_lacks() -> None:
    _, added, _ = _installed()
    assert sorted(added) == sorted(("fsx_response_class", a) for a in fsx.ADDED_ACTIONS)


def test_leaving_the_rehearsal_restores_every_original() -> None:
    before = {name: TARGETS[name].resolve() for name in REPLACED}
    _, _, during = _installed()
    after = {name: TARGETS[name].resolve() for name in REPLACED}
    assert [name for name in REPLACED if during[name] is before[name]] == []
    assert [name for name in REPLACED if after[name] is not before[name]] == []
    response_class = TARGETS["fsx_response_class"].resolve()
    assert [a for a in fsx.ADDED_ACTIONS if a in vars(response_class)] == []
