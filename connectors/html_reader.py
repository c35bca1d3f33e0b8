"""HTML to text that keeps all of it: loose text inside ``<div>``/``<span>``, one line per
table row with its cells separated, code blocks intact, headings as ``#`` lines and list items
as ``- `` lines. Navigation, scripts and forms are dropped. The page's charset is honoured
(the HTTP header first, then ``<meta charset>``, as the HTML standard's sniffing orders them);
with neither, the file decoding's detection applies."""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from ragcore.connectors.text_decoding import decode_text

_DROP = ["script", "style", "nav", "footer", "header", "aside", "noscript", "template", "form"]
_HEADINGS = {f"h{i}" for i in range(1, 7)}
_BLOCKS = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "hr", "html", "li", "main", "menu", "ol",
    "p", "section", "summary", "ul", "br",
}  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode_html(data: bytes, content_type: str = "") -> str:
    """The page's text in the charset its HTTP header or ``<meta>`` names, else detected."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data)  # a byte order mark wins over any label
    header = _HEADER_CHARSET.search(content_type)
    meta = _META_CHARSET.search(data[:4096])
    name = _codec(header.group(1) if header else None) or _codec(
        meta.group(1).decode("ascii", "replace") if meta else None
    )
    if name is None:
        return decode_text(data)
    return data.decode(name, "replace")


@dataclass
class _Lines:
    """Paragraphs as they are found; inline text gathers until a block ends it."""

    lines: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    prefix: str = ""

    def flush(self) -> None:
        text = " ".join("".join(self.words).split())
        self.words = []
        if text:
            self.lines.append(self.prefix + text)
            self.prefix = ""


def _table(table: Any) -> str:
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue  # a nested table's row: read with its own table
        cells = [
            " ".join(c.get_text(" ", strip=True).split())
            for c in row.find_all(["td", "th"], recursive=False)
        ]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


@functools.cache
def _node_kinds() -> tuple[Any, Any, Any]:
    """bs4's (skipped, text, tag) node classes, imported once (bs4 loads only for HTML)."""
    from bs4 import Comment, NavigableString, Tag
    from bs4.element import Declaration, Doctype, ProcessingInstruction

    return (Comment, Doctype, Declaration, ProcessingInstruction), NavigableString, Tag


def _walk(node: Any, out: _Lines) -> None:
    skipped, NavigableString, Tag = _node_kinds()
    for child in node.children:
        if isinstance(child, skipped):
            continue
        if isinstance(child, NavigableString):
            out.words.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in _HEADINGS:
            out.flush()
            if words := " ".join(child.get_text(" ", strip=True).split()):
                out.lines.append("#" * int(name[1]) + " " + words)
        elif name == "pre":
            out.flush()
            if code := child.get_text().strip("\n"):
                out.lines.append("```\n" + code + "\n```")
        elif name == "table":
            out.flush()
            if rows := _table(child):
                out.lines.append(rows)
        elif name in _BLOCKS:
            out.flush()
            if name == "li":
                out.prefix = "- "
            _walk(child, out)
            out.flush()
            out.prefix = ""
        else:  # inline: its text joins the paragraph around it
            _walk(child, out)


@dataclass(frozen=True)
class PageText:
    text: str
    title: str


def html_page_text(soup: Any) -> PageText:
    """Clean text of a parsed page. Changes ``soup`` (drops navigation and scripts)."""
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROP):
        tag.decompose()
    if soup.title is not None:
        soup.title.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    out = _Lines()
    _walk(root, out)
    out.flush()
    return PageText("\n\n".join(out.lines), title)
