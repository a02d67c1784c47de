"""Every link of every tracked Markdown file leads somewhere, as GitHub renders it.

A link is what markdown-it-py finds: inline and reference links, images, autolinks, and the
``href`` of ``<a>`` and ``src`` of ``<img>`` in inline or block HTML (code blocks and code spans
hold none). For each one:

- a relative link (or image) names a tracked file or folder (a path starting with ``/`` is
  from the repository's root, as on GitHub); an untracked file would not be on GitHub;
- a ``#fragment`` (in the same file or another Markdown file) is a heading's anchor by
  GitHub's rules (``github_slug``: lower case; every character that is not a letter, a mark,
  a digit, an underscore, a space or a hyphen removed, Unicode letters such as kana and kanji
  kept; each space a hyphen; a repeated heading's anchor gets ``-1``, ``-2``, ...), or an
  explicit ``<a id="...">`` / ``<a name="...">``; into another kind of file only GitHub's line
  anchors (``#L10``, ``#L10-L20``);
- an ``http(s)`` link is not fetched (the tests run offline): it must be a well-formed URL
  with a host, and a link to AWS documentation (``aws.amazon.com`` and its subdomains) must
  use ``https``.

A failure lists ``file:line: `link`: why`` for each broken link of the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
import regex
from markdown_it.token import Token

from tests.conftest import REPO
from tests.docs.markdown_source import PARSER, markdown_files, parse, tracked_files

# github-slugger keeps letters, marks, numbers, connector punctuation (``_``), space and ``-``.
NOT_IN_SLUG = regex.compile(r"[^\p{L}\p{M}\p{N}\p{Pc} -]")
LINE_ANCHOR = regex.compile(r"L\d+(-L\d+)?")
AWS_HOST = regex.compile(r"(.+\.)?aws\.amazon\.com")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading whose text is ``heading``, before de-duplication
    (github-slugger: lower case, every character ``NOT_IN_SLUG`` matches removed,
    each space a hyphen)."""
    return str(NOT_IN_SLUG.sub("", heading.lower())).replace(" ", "-")


class Slugger:
    """github-slugger's de-duplication: the second ``Usage`` heading is ``usage-1``, the
    third ``usage-2``; a suffixed anchor already taken is skipped."""

    def __init__(self) -> None:
        self.occurrences: dict[str, int] = {}

    def slug(self, heading: str) -> str:
        """The anchor of the next heading with text ``heading``."""
        base = result = github_slug(heading)
        while result in self.occurrences:
            self.occurrences[base] += 1
            result = f"{base}-{self.occurrences[base]}"
        self.occurrences[result] = 0
        return result


class HtmlTags(HTMLParser):
    """The start tags of an HTML fragment: (0-based line within the fragment, tag, attributes)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[int, str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        self.tags.append((self.getpos()[0] - 1, tag, values))


@dataclass(frozen=True)
class Link:
    """One link of a Markdown file: its 1-based line and its target (as markdown-it
    normalises it: characters outside ASCII percent-encoded)."""

    line: int
    target: str


def inline_children(token: Token) -> Iterator[tuple[int, Token]]:
    """The children of an inline token, each with its 0-based offset from the block's first
    line (counted by the line breaks before it)."""
    offset = 0
    for child in token.children or ():
        yield offset, child
        if child.type in {"softbreak", "hardbreak"}:
            offset += 1


def heading_text(inline: Token) -> str:
    """A heading's text as GitHub's slugger reads it: the text of its rendered HTML (code
    spans' text included, tags and images' alt text left out)."""
    return "".join(
        child.content
        for _, child in inline_children(inline)
        if child.type in {"text", "code_inline"}
    )


@cache
def anchors(relative_path: str) -> frozenset[str]:
    """Every fragment that leads somewhere in the Markdown file ``relative_path``."""
    return document_anchors(parse(relative_path))


def document_anchors(tokens: Sequence[Token]) -> frozenset[str]:
    """Every fragment that leads somewhere in the Markdown document of block ``tokens``:
    heading anchors (de-duplicated as GitHub does) and explicit ``<a id>``/``<a name>``."""
    slugger = Slugger()
    found = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            found.add(slugger.slug(heading_text(tokens[index + 1])))
        html_parts = [token.content] if token.type == "html_block" else []
        html_parts += [
            child.content
            for _, child in inline_children(token)
            if token.type == "inline" and child.type == "html_inline"
        ]
        for html in html_parts:
            for _, tag, attributes in HtmlTags(html).tags:
                if tag == "a":
                    found.update(attributes[key] for key in ("id", "name") if key in attributes)
    return frozenset(found)


def html_links(html: str, first_line: int) -> Iterator[Link]:
    """The ``<a href>`` and ``<img src>`` targets of an HTML fragment that starts on the
    1-based line ``first_line``."""
    for line, tag, attributes in HtmlTags(html).tags:
        key = {"a": "href", "img": "src"}.get(tag)
        if key and key in attributes:
            yield Link(first_line + line, attributes[key])


def links(relative_path: str) -> Iterator[Link]:
    """Every link of the Markdown file ``relative_path``, in order, with its line."""
    return document_links((REPO / relative_path).read_text(encoding="utf-8"))


def document_links(text: str) -> Iterator[Link]:
    """Every link of the Markdown document ``text``, in order, with its 1-based line."""
    lines = text.splitlines()
    for token in PARSER.parse(text):
        if token.map is None:
            continue
        if token.type == "html_block":
            yield from html_links(token.content, token.map[0] + 1)
        if token.type != "inline":
            continue
        for offset, child in inline_children(token):
            found: list[Link] = []
            estimate = token.map[0] + offset + 1
            if child.type == "link_open":
                found.append(Link(estimate, str(child.attrs.get("href", ""))))
            elif child.type == "image":
                found.append(Link(estimate, str(child.attrs.get("src", ""))))
            elif child.type == "html_inline":
                found.extend(html_links(child.content, estimate))
            for link in found:
                yield Link(locate(lines, token.map, link), link.target)


def locate(lines: list[str], block: list[int], link: Link) -> int:
    """The line of ``link`` within the block spanning ``block`` (0-based [first, after last]):
    its estimated line if the target is written there, else the block's first line that
    holds it (a code span across lines shifts the estimate)."""
    written = {link.target, unquote(link.target)}  # markdown-it percent-encodes non-ASCII
    if any(target in lines[link.line - 1] for target in written):
        return link.line
    for number in range(block[0], block[1]):
        if any(target in lines[number] for target in written):
            return number + 1
    return link.line


@cache
def tracked_folders() -> frozenset[str]:
    """Every folder that holds a tracked file, repository-relative (the root is ``.``)."""
    folders = set()
    for name in tracked_files():
        folder = posixpath.dirname(name)
        while folder:
            folders.add(folder)
            folder = posixpath.dirname(folder)
    return frozenset(folders | {"."})


def web_link_problem(target: str) -> str | None:
    """Why the ``http(s)`` link ``target`` is malformed, or None (it is not fetched)."""
    parts = urlsplit(target)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        return f"malformed URL: {error}"
    if not host or "." not in host or regex.search(r"\s", target):
        return "malformed URL: no host name, or white space"
    if AWS_HOST.fullmatch(host) and parts.scheme != "https":
        return "AWS documentation must be linked with https"
    return None


def fragment_problem(target_path: str, fragment: str) -> str | None:
    """Why ``#fragment`` leads nowhere in the tracked file or folder ``target_path``, or None."""
    if target_path in tracked_folders():
        readme = posixpath.normpath(posixpath.join(target_path, "README.md"))
        if readme not in tracked_files():
            return f"{target_path} is a folder without a README.md for #{fragment}"
        target_path = readme
    if not target_path.endswith(".md"):
        if LINE_ANCHOR.fullmatch(fragment):
            return None
        return f"#{fragment} is no line anchor (#L10, #L10-L20) of {target_path}"
    if fragment in anchors(target_path):
        return None
    return f"no heading or <a id> of {target_path} has the anchor #{fragment}"


def link_problem(source: str, target: str, own_anchors: frozenset[str] | None = None) -> str | None:
    """Why ``target``, a link in the Markdown file ``source`` (repository-relative), leads
    nowhere, or None. A fragment alone is looked up in ``own_anchors`` (default: the anchors
    of the tracked file ``source``)."""
    if not target.strip():
        return "empty link"
    parts = urlsplit(target)
    if parts.scheme in {"http", "https"}:
        return web_link_problem(target)
    if parts.scheme == "mailto":
        return None if "@" in parts.path else "mailto: link without an address"
    if parts.scheme or parts.netloc:
        return f"unsupported link scheme {parts.scheme!r}"
    path = unquote(parts.path)
    if not path:
        fragment = unquote(parts.fragment)
        if fragment in (anchors(source) if own_anchors is None else own_anchors):
            return None
        return f"no heading or <a id> of {source} has the anchor #{fragment}"
    if path.startswith("/"):
        target_path = posixpath.normpath(path.lstrip("/") or ".")
    else:
        target_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), path))
    if target_path.startswith("../") or target_path == "..":
        return "leads out of the repository"
    if target_path not in tracked_files() and target_path not in tracked_folders():
        return f"{target_path} is no tracked file or folder"
    if parts.fragment:
        return fragment_problem(target_path, unquote(parts.fragment))
    return None


def problems(relative_path: str) -> list[str]:
    """``file:line: `link`: why`` for each link of ``relative_path`` that leads nowhere."""
    return problems_in(relative_path, (REPO / relative_path).read_text(encoding="utf-8"))


def problems_in(relative_path: str, text: str) -> list[str]:
    """``file:line: `link`: why`` for each link of ``text``, the Markdown file
    ``relative_path``, that leads nowhere."""
    own_anchors = document_anchors(PARSER.parse(text))
    return [
        f"{relative_path}:{link.line}: `{unquote(link.target)}`: {problem}"
        for link in document_links(text)
        if (problem := link_problem(relative_path, link.target, own_anchors))
    ]


@pytest.mark.parametrize("relative_path", markdown_files())
def test_every_link_leads_somewhere(relative_path: str) -> None:
    found = problems(relative_path)
    assert not found, "\n".join(found)


def test_the_documentation_is_checked() -> None:
    assert {"README.md", "docs/architecture.md"} <= set(markdown_files())
    assert any(True for _ in links("README.md"))


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("What an execution input may set", "what-an-execution-input-may-set"),
        ("IAM: what each role may touch", "iam-what-each-role-may-touch"),
        ("`make test` / `make check`", "make-test--make-check"),
        ("Step 2 — deploy (AWS)", "step-2--deploy-aws"),
        ("snake_case key", "snake_case-key"),
        ("デプロイする (AWS)", "デプロイする-aws"),
        ("スポット中断の通知", "スポット中断の通知"),
    ],
)
def test_headings_get_github_s_anchors(heading: str, anchor: str) -> None:
    assert github_slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors() -> None:
    slugger = Slugger()
    assert [slugger.slug(text) for text in ("Usage", "Usage", "Usage-1", "Usage")] == [
        "usage",
        "usage-1",
        "usage-1-1",
        "usage-2",
    ]


@pytest.mark.parametrize(
    ("target", "broken"),
    [
        ("docs/cli.md", False),
        ("docs/", False),
        ("docs/no-such-file.md", True),
        ("#deploy-run-watch-and-clean-up", False),
        ("#Deploy-Run-Watch-And-Clean-Up", True),
        ("#no-such-heading", True),
        ("docs/rehearsal.md#the-local-server", False),
        ("docs/rehearsal.md#no-such-heading", True),
        ("Makefile#L10", False),
        ("Makefile#setup", True),
        ("https://docs.aws.amazon.com/batch/latest/userguide/what-is-batch.html", False),
        ("http://docs.aws.amazon.com/batch/latest/userguide/what-is-batch.html", True),
        ("https://", True),
        ("ftp://example.com/file", True),
    ],
)
def test_a_broken_link_is_reported(target: str, broken: bool) -> None:
    assert (link_problem("README.md", target) is not None) == broken


SAMPLE_DOCUMENT = """\
# 使い方 (Usage)

See [the setup](#使い方-usage), [the same, encoded](#%E4%BD%BF%E3%81%84%E6%96%B9-usage)
and [a marker](#kept).

<a id="kept"></a>
<img src="docs/diagram.png" alt="diagram">

| Table | Link |
|---|---|
| one | [cli](docs/cli.md) |

`[not a link](nowhere.md)` and:

```sh
echo "[not a link either](nowhere.md)"
```
"""


def test_a_broken_link_is_reported_with_its_line_as_written() -> None:
    (found,) = problems_in("docs/sample.md", "Intro\n\nSee [setup](#セットアップ).\n")
    assert found.startswith("docs/sample.md:3: `#セットアップ`: no heading")


def test_links_are_what_github_renders_as_links() -> None:
    assert [(link.line, link.target) for link in document_links(SAMPLE_DOCUMENT)] == [
        (3, "#%E4%BD%BF%E3%81%84%E6%96%B9-usage"),
        (3, "#%E4%BD%BF%E3%81%84%E6%96%B9-usage"),
        (4, "#kept"),
        (7, "docs/diagram.png"),
        (11, "docs/cli.md"),
    ]


def test_anchors_are_headings_and_explicit_anchors() -> None:
    assert document_anchors(PARSER.parse(SAMPLE_DOCUMENT)) == {"使い方-usage", "kept"}
