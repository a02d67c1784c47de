"""What the command prints: rich on a terminal, plain lines otherwise, JSON with ``--json``.

One ``Output`` per invocation. Human output goes to stdout (rich's markup and tables when it
is a terminal; one line per record, fields separated by two spaces, when it is not, so that
``grep`` and ``awk`` read it); ``--json`` prints JSON only (one document, or with ``follow``
one object per line); errors go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table


class CliError(click.ClickException):
    """A refusal or failure the command reports in one message (exit status 1)."""


class Output:
    """Where and how one invocation prints.

    Args:
        json_mode: print JSON only (``--json``).
        stream: stdout (tests pass a ``StringIO``).
        force_terminal: draw as on a terminal even when ``stream`` is not one.
    """

    def __init__(
        self, json_mode: bool = False, stream: TextIO | None = None, force_terminal: bool = False
    ) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout
        self.console = Console(
            file=self.stream,
            force_terminal=force_terminal or None,
            highlight=False,
            soft_wrap=True,
        )

    @property
    def rich(self) -> bool:
        """True when drawing for a terminal (not ``--json``, and stdout is a terminal)."""
        return not self.json_mode and self.console.is_terminal

    def line(self, text: str, style: str | None = None) -> None:
        """Print one line of human text (nothing with ``--json``); ``style`` is a rich style
        used on a terminal only."""
        if self.json_mode:
            return
        if self.rich:
            self.console.print(escape(text), style=style)
        else:
            print(text, file=self.stream, flush=True)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
        """Print rows under column headings (nothing with ``--json``)."""
        if self.json_mode:
            return
        if self.rich:
            table = Table(title=title or None)
            for column in columns:
                table.add_column(column)
            for row in rows:
                table.add_row(*(escape(str(value)) for value in row))
            self.console.print(table)
            return
        if title:
            print(title, file=self.stream)
        for row in [columns, *rows]:
            print("  ".join(str(value) for value in row), file=self.stream, flush=True)

    def json(self, value: Any) -> None:
        """Print ``value`` as one line of JSON (only with ``--json``)."""
        if self.json_mode:
            print(json.dumps(value, default=str), file=self.stream, flush=True)
