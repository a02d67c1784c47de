"""The local AWS patches moto internals: fail loudly when moto is not the version they fit.

Every internal a workaround replaces or relies on is declared beside the workaround, in its
module of the ``tools.localaws.patches`` package, with the signature the workaround was
written against; ``tools.localaws.patches.TARGETS`` collects them all. An upgrade of moto that
moves, renames or reshapes one of them fails here, naming it, instead of silently rehearsing
something else.
"""

import inspect
import time
from types import ModuleType

import moto
import pytest
from moto.core.base_backend import BackendDict

from tools.localaws.patches import MOTO_VERSION, SERVICES, TARGETS, fsx, layer_clock
from tools.localaws.patches.core import declared


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == MOTO_VERSION == "5.2.5"


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_patched_internal_has_the_expected_signature(name: str) -> None:
    target = TARGETS[name]
    try:
        found = target.resolve()
    except (ImportError, AttributeError, KeyError) as error:
        pytest.fail(f"{target.path} ({target.gap}) no longer exists: {error!r}")
    if target.signature is None:
        assert isinstance(found, (type, ModuleType, BackendDict)) or callable(found), (
            f"{target.path} ({target.gap}) is no longer a class, module, function or "
            "backend registry"
        )
        return
    if isinstance(found, (classmethod, staticmethod)):
        found = found.__func__
    if isinstance(found, property):
        found = found.fget
    assert str(inspect.signature(found)) == target.signature, (
        f"{target.path} ({target.gap}) changed signature"
    )


def test_batch_task_still_inherits_the_normalisation_the_workaround_replaces() -> None:
    batch_task = TARGETS["batch_service_class"].resolve()
    assert "_normalise_parameters" not in vars(batch_task)
    assert "_normalise_response" not in vars(batch_task)


def test_sfn_task_still_inherits_the_response_normalisation_the_workaround_replaces() -> None:
    sfn_task = TARGETS["sfn_service_class"].resolve()
    # Its own _normalise_parameters (Input as JSON text) is kept and called first.
    assert "_normalise_parameters" in vars(sfn_task)
    assert "_normalise_response" not in vars(sfn_task)


def test_fast_clock_targets_are_the_time_module() -> None:
    assert TARGETS["retrier_time"].resolve() is time
    assert TARGETS["sync_poll_time"].resolve() is time


def test_the_target_lists_use_distinct_names() -> None:
    names = [name for module in (*SERVICES, layer_clock) for name in declared(module)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("action", fsx.ADDED_ACTIONS)
def test_moto_fsx_still_lacks_the_actions_the_emulation_adds(action: str) -> None:
    response_class = TARGETS["fsx_response_class"].resolve()
    assert action not in vars(response_class), (
        f"moto's FSxResponse now implements {action}: compare it with tools.localaws.patches.fsx"
    )


@pytest.mark.parametrize("action", fsx.REPLACED_ACTIONS)
def test_fsx_actions_the_emulation_replaces_are_listed(action: str) -> None:
    assert any(t.path.endswith(f"FSxResponse.{action}") for t in TARGETS.values())
