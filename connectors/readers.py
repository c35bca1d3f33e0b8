"""Turn file bytes into text with headings kept as Markdown ``#`` lines, plus a title.

Each reader raises ``SourceError`` with the reason when a file cannot be read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ragcore.connectors.html_reader import decode_html, html_page_text
from ragcore.connectors.text_decoding import decode_text

from ragcore.errors import SourceError


class FileKind(StrEnum):
    MARKDOWN = "markdown"
    TEXT = "text"
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"


EXTENSIONS: dict[str, FileKind] = {
    ".md": FileKind.MARKDOWN,
    ".markdown": FileKind.MARKDOWN,
    ".txt": FileKind.TEXT,
    ".html": FileKind.HTML,
    ".htm": FileKind.HTML,
    ".pdf": FileKind.PDF,
    ".docx": FileKind.DOCX,
}


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str


def _decode(data: bytes) -> str:
    return decode_text(data)


def _first_heading(text: str) -> str:
    m = re.search(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


def read_markdown(data: bytes) -> Extracted:
    text = _decode(data)
    return Extracted(text, _first_heading(text))


def read_text(data: bytes) -> Extracted:
    text = _decode(data)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Extracted(text, first[:120])


def read_html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup

    return html_text(BeautifulSoup(decode_html(data), "html.parser"))


def html_text(soup: Any) -> Extracted:
    """Clean text of a parsed page (see ``html_reader``). Changes ``soup``."""
    page = html_page_text(soup)
    return Extracted(page.text, page.title or _first_heading(page.text))


def read_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SourceError("encrypted PDF", "decrypt it first (qpdf --decrypt in.pdf out.pdf)")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title", "") or "")
    except SourceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SourceError(f"corrupt or unreadable PDF ({exc})", "re-export the PDF") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if pages and not text:
        raise SourceError(
            f"PDF has no text layer ({len(pages)} page(s), no text: a scan?)",
            "run OCR on it first, e.g. ocrmypdf in.pdf out.pdf",
        )
    return Extracted(
        text, title or next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    )


def read_docx(data: bytes) -> Extracted:
    import zipfile

    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(
            f"corrupt or unreadable DOCX ({exc})", "re-save it from the editor"
        ) from None
    lines = []
    for block in document.iter_inner_content():  # paragraphs and tables, in document order
        if isinstance(block, Table):
            if rows := _docx_table(block):
                lines.append(rows)
            continue
        words = block.text.strip()
        if not words:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = style.removeprefix("Heading ").strip()
        lines.append(("#" * int(level) + " " + words) if level.isdigit() else words)
    text = "\n\n".join(lines)
    return Extracted(text, document.core_properties.title or _first_heading(text))


def _docx_table(table: Any) -> str:
    """One line per row, cells separated by `` | `` (a merged cell counted once)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            words = " ".join(cell.text.split())
            if not cells or words != cells[-1]:
                cells.append(words)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


READERS: dict[FileKind, Callable[[bytes], Extracted]] = {
    FileKind.MARKDOWN: read_markdown,
    FileKind.TEXT: read_text,
    FileKind.HTML: read_html,
    FileKind.PDF: read_pdf,
    FileKind.DOCX: read_docx,
}
