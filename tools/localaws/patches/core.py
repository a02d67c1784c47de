"""What every patch is made of: the moto internal it declares (``Target``), the ``Patcher``
that installs it and restores the original, and the simulation it plays.

A patch module declares each internal it replaces or relies on as a module-level ``Target``,
right beside the code that replaces or calls it, with the signature that code was written
against. ``declared`` collects them from the modules; the canary test
(tests/e2e/test_localaws_canary.py) compares every one with the installed moto.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tools.localaws.simulation import Simulation

MOTO_VERSION = "5.2.5"
"""The moto release every target was written against (pinned exactly in requirements-dev)."""


class _Active:
    sim: Simulation | None = None


def active_simulation() -> Simulation | None:
    """The simulation the patches currently play (``None``: behave as moto does)."""
    return _Active.sim


@contextmanager
def playing(sim: Simulation) -> Iterator[None]:
    """Make ``sim`` the simulation the patches play, for one block."""
    _Active.sim = sim
    try:
        yield
    finally:
        _Active.sim = None


@dataclass(frozen=True)
class Target:
    """A moto internal a patch replaces or relies on, and the signature it expects.

    ``name`` identifies it in the registry and the canary's test ids. ``path`` is
    ``module:Qualified.name`` (an attribute a class inherits is looked up along its MRO and
    replaced on that class); ``signature`` is ``str(inspect.signature(...))`` of a callable
    (for a property: of its getter), or ``None`` for a class, module or plain attribute.
    ``replaced``: the patch replaces it (``Patcher.replace``); otherwise the patch calls or
    reads it, and only its signature is checked.
    """

    name: str
    path: str
    signature: str | None
    gap: str
    replaced: bool = True

    def resolve(self) -> Any:
        """Return the attribute as stored (a class's own ``property`` or ``classmethod``
        object, not what attribute access would make of it)."""
        owner, name = self.owner()
        if isinstance(owner, type):
            for klass in owner.__mro__:
                if name in klass.__dict__:
                    return klass.__dict__[name]
        return getattr(owner, name)

    def owner(self) -> tuple[Any, str]:
        """Return the object holding the attribute, and the attribute's name."""
        module_name, _, qualname = self.path.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = qualname.split(".")
        for part in parents:
            owner = getattr(owner, part)
        return owner, name


def declared(*modules: ModuleType) -> dict[str, Target]:
    """Every ``Target`` the modules declare at their top level, by name.

    Raises:
        ValueError: two different targets have one name.
    """
    found: dict[str, Target] = {}
    for module in modules:
        for value in vars(module).values():
            if not isinstance(value, Target):
                continue
            if found.setdefault(value.name, value) != value:
                raise ValueError(f"two targets are named {value.name}: {module.__name__}")
    return found


class Patcher:
    """Install patches for the duration of a ``with`` block, then restore every original.

    ``replaced`` and ``added`` record what was installed (the names of the targets, and
    ``(target name, attribute)`` for attributes added to a class).
    """

    def __init__(self) -> None:
        self._stack = ExitStack()
        self.replaced: list[str] = []
        self.added: list[tuple[str, str]] = []

    def replace(self, target: Target, build: Callable[[Any], Any]) -> None:
        """Replace ``target`` with ``build(original)``."""
        if not target.replaced:
            raise ValueError(f"{target.name} is declared as relied on, not replaced")
        owner, name = target.owner()
        self._set(owner, name, build(target.resolve()))
        self.replaced.append(target.name)

    def add(self, target: Target, name: str, value: Any) -> None:
        """Give the class ``target`` an attribute moto lacks, ``name``, until exit."""
        owner = target.resolve()
        if name in vars(owner):
            raise ValueError(f"{target.path} already has {name}: compare it with the patch")
        self._set(owner, name, value)
        self.added.append((target.name, name))

    def _set(self, owner: Any, name: str, value: Any) -> None:
        """Set ``owner.name`` to ``value`` until exit (a class keeps what it inherits)."""
        own = name in vars(owner) if isinstance(owner, type) else True
        previous = (
            vars(owner)[name] if isinstance(owner, type) and own else getattr(owner, name, None)
        )
        setattr(owner, name, value)

        def restore() -> None:
            if own:
                setattr(owner, name, previous)
            else:
                delattr(owner, name)

        self._stack.callback(restore)

    def __enter__(self) -> Patcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
