"""The repository's Markdown files as GitHub renders them: parsed with markdown-it-py.

Both documentation tests read the files through this module: ``markdown_files()`` lists the
tracked ones (``git ls-files '*.md'``: what GitHub shows), ``parse(path)`` gives markdown-it's
block tokens, and ``fences(path, languages)`` the fenced code blocks of some languages with the
line their code starts on.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.conftest import REPO

# CommonMark plus GitHub's tables and strikethrough: where GitHub finds links and headings.
PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@cache
def tracked_files() -> frozenset[str]:
    """Every file git tracks in the repository, as repository-relative POSIX paths."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return frozenset(name for name in listing.split("\0") if name)


def markdown_files() -> list[str]:
    """The tracked Markdown files (``*.md``), repository-relative, sorted."""
    return sorted(name for name in tracked_files() if name.endswith(".md"))


@cache
def parse(relative_path: str) -> tuple[Token, ...]:
    """markdown-it's block tokens of the repository file ``relative_path`` (``map`` holds each
    block's 0-based [first line, line after last])."""
    return tuple(PARSER.parse((REPO / relative_path).read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Fence:
    """One fenced code block: its language (the info string's first word), its code, and the
    1-based line of the file its code starts on."""

    language: str
    code: str
    first_line: int


def fences(path: Path, languages: frozenset[str]) -> list[Fence]:
    """The fenced code blocks of ``path`` whose language is one of ``languages``, in order."""
    found = []
    for token in PARSER.parse(path.read_text(encoding="utf-8")):
        language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
        if token.type == "fence" and language in languages and token.map is not None:
            # map[0] is the opening fence's line (0-based): the code starts one line later.
            found.append(Fence(language, token.content, token.map[0] + 2))
    return found
