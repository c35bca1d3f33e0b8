"""Split documents into chunks measured in the embedder's own tokens.

Markdown-style headings (``#`` lines; HTML and DOCX readers emit them too) cut the text into
sections and give each chunk its heading path; inside a section llama-index's
``SentenceSplitter`` packs whole sentences up to ``chunk_size`` tokens with ``chunk_overlap``
tokens of overlap. Every chunk records its exact character span in the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ragcore.ids import chunk_id
from ragcore.types import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    start: int
    end: int
    heading_path: tuple[str, ...]


def sections(text: str) -> list[Section]:
    """Heading-delimited sections (headings inside fenced code blocks are ignored)."""
    fenced: list[tuple[int, int]] = []
    marks = [m.start() for m in _FENCE.finditer(text)]
    for a, b in zip(marks[::2], marks[1::2], strict=False):
        fenced.append((a, b))
    heads = [m for m in _HEADING.finditer(text) if not any(a <= m.start() < b for a, b in fenced)]
    out: list[Section] = []
    path: list[tuple[int, str]] = []
    cursor = 0
    for m in heads:
        if m.start() > cursor:
            out.append(Section(cursor, m.start(), tuple(t for _, t in path)))
        level = len(m.group(1))
        path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, m.group(2).strip())]
        cursor = m.start()
    out.append(Section(cursor, len(text), tuple(t for _, t in path)))
    # A heading with no body of its own adds nothing: its title is in the next section's path.
    return [s for s in out if _HEADING.sub("", text[s.start : s.end]).strip()]


class Chunker:
    def __init__(
        self, tokenize: Callable[[str], list[int]], chunk_size: int, chunk_overlap: int
    ) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        self._splitter: Any = SentenceSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=tokenize
        )

    def _spans(self, text: str, offset: int) -> Iterator[tuple[int, int]]:
        cursor = 0
        for piece in self._splitter.split_text(text):
            piece = piece.strip()
            if not piece:
                continue
            at = text.find(piece, max(0, cursor - len(piece)))
            if at < 0:  # splitter normalised whitespace: fall back to a search from the start
                at = text.find(piece)
            if at < 0:
                continue
            cursor = at + len(piece)
            yield offset + at, offset + cursor

    def chunk(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        meta = dict(doc.metadata) | {"source": doc.source}
        for sec in sections(doc.text):
            for start, end in self._spans(doc.text[sec.start : sec.end], sec.start):
                text = doc.text[start:end]
                chunks.append(
                    Chunk(
                        id=chunk_id(doc.id, len(chunks), text),
                        doc_id=doc.id,
                        text=text,
                        start=start,
                        end=end,
                        heading_path=sec.heading_path,
                        metadata=meta,
                    )
                )
        return chunks


def embedding_text(chunk: Chunk) -> str:
    """What is embedded and BM25-encoded: the chunk with its document title and heading path
    as context when the chunk itself does not start with them."""
    title = str(chunk.metadata.get("title", ""))
    context = [h for h in (title, *chunk.heading_path) if h and h not in chunk.text[:200]]
    return "\n".join([*dict.fromkeys(context), chunk.text])
