"""Writing Graphviz DOT text: quoting, HTML-like labels, and the settings every picture shares.

Follows the DOT language reference (graphviz.org, "The DOT Language": double-quoted IDs with
``\\"`` escapes; HTML strings between ``<`` and ``>``) and "Node Shapes", "HTML-Like Labels".
The text is built by hand, line by line, in the order the caller gives: the same input always
gives the same text, so its sha256 says whether a picture must be drawn again.
"""

from collections.abc import Iterable, Mapping
from html import escape

FONT = "DejaVu Sans"
"""One font for every picture, so that the drawing does not depend on the machine's default
(DejaVu is Graphviz's usual fallback on Linux: packages fonts-dejavu-core)."""
DPI = 96
"""Fixed resolution (pixels per inch) of the PNG."""
SUBTLE = "gray40"
"""The colour of the small second line of a label (a state's type, a resource's kind)."""


def quoted(identifier: str) -> str:
    """``identifier`` as a double-quoted DOT ID (``"`` and ``\\`` escaped)."""
    return '"' + identifier.replace("\\", "\\\\").replace('"', '\\"') + '"'


def attributes(values: Mapping[str, str]) -> str:
    """``[key=value, ...]`` in the given order; a value starting with ``<`` and ending with
    ``>`` is an HTML label and stays unquoted, any other value is quoted."""
    if not values:
        return ""
    parts = []
    for key, value in values.items():
        shown = value if value.startswith("<") and value.endswith(">") else quoted(value)
        parts.append(f"{key}={shown}")
    return " [" + ", ".join(parts) + "]"


def label(title: str, *details: str, bold: bool = False) -> str:
    """An HTML-like label: ``title`` on the first line, each of ``details`` on a smaller,
    grey line below (the kind of thing, a name). Text is escaped (``<``, ``>``, ``&``)."""
    first = escape(title)
    if bold:
        first = f"<B>{first}</B>"
    rows = [first] + [
        f'<FONT POINT-SIZE="9" COLOR="{SUBTLE}">{escape(detail)}</FONT>' for detail in details
    ]
    return "<" + "<BR/>".join(rows) + ">"


def graph_header(name: str, rankdir: str = "TB") -> list[str]:
    """The opening lines of a digraph with the shared font, resolution and layout settings."""
    return [
        f"digraph {quoted(name)} {{",
        f'  graph [rankdir={rankdir}, dpi={DPI}, fontname="{FONT}", fontsize=12, '
        "compound=true, newrank=true, nodesep=0.35, ranksep=0.4, pad=0.2];",
        f'  node [fontname="{FONT}", fontsize=11, margin="0.12,0.05"];',
        f'  edge [fontname="{FONT}", fontsize=9, color="gray30", fontcolor="gray20"];',
    ]


def node(identifier: str, values: Mapping[str, str], indent: int = 1) -> str:
    """One node statement."""
    return "  " * indent + quoted(identifier) + attributes(values) + ";"


def edge(tail: str, head: str, values: Mapping[str, str] | None = None, indent: int = 1) -> str:
    """One edge statement ``tail -> head``."""
    return "  " * indent + f"{quoted(tail)} -> {quoted(head)}" + attributes(values or {}) + ";"


def cluster(
    identifier: str, title: str, body: Iterable[str], values: Mapping[str, str], indent: int = 1
) -> list[str]:
    """A ``subgraph cluster_<identifier>`` drawn as a box around ``body`` (already indented
    one level deeper), labelled ``title`` (an HTML-like label)."""
    pad = "  " * indent
    lines = [f"{pad}subgraph {quoted('cluster_' + identifier)} {{", f"{pad}  label={title};"]
    lines += [f"{pad}  {key}={quoted(value)};" for key, value in values.items()]
    lines += list(body)
    lines.append(f"{pad}}}")
    return lines
