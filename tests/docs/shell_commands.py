"""The simple commands of a shell snippet, as bash would run them, without running anything.

``simple_commands(code, first_line)`` splits a fenced ``sh`` block into the simple commands a
reader types: line continuations (``\\`` + newline) joined, comments (``#`` at a word's start,
to the end of the line) dropped, and commands split at unquoted ``;``, ``&&``, ``||``, ``|``,
``&``, newlines and subshell parentheses. The command inside a ``$(...)`` (quoted or not) is a
command of its own, and the substitution a sample word in the command around it. A function
definition ``name() { ...; }`` is recorded (its body's commands are commands), and
redirections (``> file``, ``2>&1``) are left out. Each command's words are then split and
unquoted by ``shlex`` (POSIX rules).

Documentation placeholders such as ``<port>`` or ``<instance id>`` (``<`` then a letter, up to
the next ``>`` on the line) are replaced by a sample word before the shell reads them, so that
they are a value, not a redirection.

Backquote substitution and here-documents are refused (``ShellSyntaxError``): no command
should hide where this reader cannot see it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"<([A-Za-z][^<>\n]*)>")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SAMPLE_PREFIX = "sample-"
"""How a placeholder's sample word starts (but for a port's or an ARN's): ``<file>`` is
``sample-file``, so that a check can tell a placeholder in a path (``SAMPLE_WORD``)."""
SAMPLE_WORD = re.compile(re.escape(SAMPLE_PREFIX) + r"[a-z0-9-]*")
SUBSTITUTION_WORD = "substituted"
"""What a ``$(...)`` stands for in the command around it: one word (its output is a value)."""


class ShellSyntaxError(ValueError):
    """The snippet uses shell syntax this reader does not follow (or is unbalanced)."""


@dataclass(frozen=True)
class SimpleCommand:
    """One simple command: the 1-based line it starts on, its words (unquoted), and its text
    as written (placeholders replaced)."""

    line: int
    words: tuple[str, ...]
    text: str


def placeholder_sample(name: str) -> str:
    """A sample value for the placeholder ``<name>``: a number for a port, an ARN for an
    ARN, a word otherwise (what a reader would type there)."""
    lowered = name.lower()
    if "port" in lowered:
        return "4566"
    if "arn" in lowered.split():
        return "arn:aws:states:us-east-1:123456789012:execution:sample:sample"
    return SAMPLE_PREFIX + re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")


def replace_placeholders(code: str) -> str:
    """``code`` with every ``<placeholder>`` replaced by ``placeholder_sample``."""
    return PLACEHOLDER.sub(lambda match: placeholder_sample(match.group(1)), code)


@dataclass
class Snippet:
    """The reader's state: the code, where it is, the command being gathered, and what it
    found (simple commands, and the functions the snippet defines)."""

    code: str
    line: int
    position: int = 0
    buffer: str = ""
    start_line: int = 0
    commands: list[SimpleCommand] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)

    def peek(self, count: int = 1) -> str:
        """The next ``count`` characters (fewer at the end), not consumed."""
        return self.code[self.position : self.position + count]

    def take(self) -> str:
        """Consume and return the next character, counting lines."""
        char = self.code[self.position]
        self.position += 1
        if char == "\n":
            self.line += 1
        return char

    def at_word_start(self) -> bool:
        """Whether the next character would start a word of the command (where ``#`` starts
        a comment)."""
        return not self.buffer or self.buffer[-1] in " \t"

    def end_command(self) -> None:
        """End the command being gathered: split its words (``shlex``) and keep it, if any."""
        text = self.buffer.strip()
        self.buffer = ""
        if not text:
            return
        try:
            words = shlex.split(text, posix=True)
        except ValueError as error:
            raise ShellSyntaxError(f"line {self.start_line}: {error}: {text}") from None
        self.commands.append(SimpleCommand(self.start_line, tuple(words), text))

    def append(self, text: str) -> None:
        """Add ``text`` to the command being gathered (its first text sets its line)."""
        if not self.buffer.strip():
            self.start_line = self.line
        self.buffer += text


def balanced_end(code: str, start: int) -> int:
    """The index just after the ``)`` that closes the ``(`` before ``start`` in ``code``
    (quotes and nested parentheses respected)."""
    depth = 1
    index = start
    quote = ""
    while index < len(code):
        char = code[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ShellSyntaxError(f"unbalanced $( in: {code[start - 2 :]}")


def read_substitution(snippet: Snippet) -> str:
    """Read the ``$(...)`` at the snippet's position: its commands become commands of their
    own; return the word it stands for."""
    snippet.take()  # $
    snippet.take()  # (
    if snippet.peek() == "(":  # $(( arithmetic )): a number, no command
        end = balanced_end(snippet.code, snippet.position)
        snippet.position = end
        return "0"
    end = balanced_end(snippet.code, snippet.position)
    inner = snippet.code[snippet.position : end - 1]
    snippet.commands.extend(read(inner, snippet.line, snippet.functions))
    while snippet.position < end:
        snippet.take()
    return SUBSTITUTION_WORD


def read_quoted(snippet: Snippet) -> None:
    """Copy the quoted string at the snippet's position into the command; a ``$(...)`` inside
    double quotes is read as a command of its own."""
    quote = snippet.take()
    snippet.append(quote)
    while snippet.position < len(snippet.code):
        if quote == '"' and snippet.peek(2) == "$(":
            snippet.append(read_substitution(snippet))
            continue
        if quote == '"' and snippet.peek() == "`":
            raise ShellSyntaxError(f"line {snippet.line}: backquote substitution; use $(...)")
        char = snippet.take()
        if quote == '"' and char == "\\":
            snippet.append(char + snippet.take())
            continue
        snippet.append(char)
        if char == quote:
            return
    raise ShellSyntaxError(f"line {snippet.start_line}: unterminated {quote}")


def skip_redirection(snippet: Snippet) -> None:
    """Leave out the redirection at the snippet's position (``>``, ``>>``, ``<``, ``2>&1``,
    ``&>``) and its target word."""
    if re.search(r"(^|[ \t])\d$", snippet.buffer):  # the file descriptor of 2> belongs to it
        snippet.buffer = snippet.buffer[:-1]
    operator = ""
    while snippet.peek() and snippet.peek() in "<>&":
        operator += snippet.take()
    if operator.startswith("<<"):
        raise ShellSyntaxError(f"line {snippet.line}: here-document or here-string")
    if operator.endswith("&"):  # 2>&1: the target is a file descriptor
        while snippet.peek() and (snippet.peek().isdigit() or snippet.peek() == "-"):
            snippet.take()
        return
    while snippet.peek() in {" ", "\t"}:
        snippet.take()
    while snippet.peek() and snippet.peek() not in " \t\n;&|()<>":
        if snippet.peek() in "'\"":
            saved = snippet.buffer
            read_quoted(snippet)
            snippet.buffer = saved
        else:
            snippet.take()


def read(code: str, first_line: int, functions: set[str] | None = None) -> list[SimpleCommand]:
    """The simple commands of ``code`` (placeholders already replaced), whose first line is the
    1-based ``first_line``; function names it defines are added to ``functions``."""
    snippet = Snippet(code, first_line, start_line=first_line)
    if functions is not None:
        snippet.functions = functions
    while snippet.position < len(code):
        char = snippet.peek()
        if snippet.peek(2) == "\\\n":  # a continued line: bash removes both characters
            snippet.take()
            snippet.take()
        elif char == "\\":
            snippet.append(snippet.take() + (snippet.take() if snippet.peek() else ""))
        elif char in "'\"":
            read_quoted(snippet)
        elif char == "`":
            raise ShellSyntaxError(f"line {snippet.line}: backquote substitution; use $(...)")
        elif char == "#" and snippet.at_word_start():
            while snippet.peek() and snippet.peek() != "\n":
                snippet.take()
        elif snippet.peek(2) == "$(":
            snippet.append(read_substitution(snippet))
        elif char in "<>" or snippet.peek(2) == "&>":
            skip_redirection(snippet)
        elif char in ";&|\n)":
            snippet.take()
            snippet.end_command()
        elif char == "(":
            snippet.take()
            name = snippet.buffer.strip()
            rest = snippet.code[snippet.position :]
            if NAME.fullmatch(name) and rest.lstrip(" \t").startswith(")"):
                snippet.functions.add(name)  # name() { body; }: the body's commands follow
                snippet.buffer = ""
                snippet.position += rest.index(")") + 1
            else:
                snippet.end_command()
        else:
            snippet.append(snippet.take())
    snippet.end_command()
    return snippet.commands


def simple_commands(
    code: str, first_line: int, functions: set[str] | None = None
) -> list[SimpleCommand]:
    """The simple commands of the shell snippet ``code`` (whose first line is the 1-based
    ``first_line``), in order, with placeholders replaced; the names of the functions it
    defines are added to ``functions``. Raises ``ShellSyntaxError`` for syntax it does not
    follow."""
    return read(replace_placeholders(code), first_line, functions)
