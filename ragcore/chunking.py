"""Split documents into chunks measured in the embedder's own tokens.

Markdown-style headings (``#`` lines; HTML and DOCX readers emit them too) cut the text into
sections and give each chunk its heading path; inside a section llama-index's
``SentenceSplitter`` packs whole sentences up to ``chunk_size`` tokens with ``chunk_overlap``
tokens of overlap. Every chunk records its exact character span in the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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


_PLANE = 0xF0000  # Unicode private-use plane 15: never whitespace, so the merge keeps it
_RADIX = 0xFFFE


def _marker(i: int) -> str:
    """Split ``i`` as three private-use characters (up to 2.5e14 splits)."""
    return "".join(chr(_PLANE + d) for d in (i // _RADIX**2, i // _RADIX % _RADIX, i % _RADIX))


def _split_indices(merged: str) -> tuple[int, int]:
    """The first and last split a merged run of markers stands for."""
    digits = [ord(ch) - _PLANE for ch in merged]
    index = [a * _RADIX**2 + b * _RADIX + c for a, b, c in zip(*[iter(digits)] * 3, strict=True)]
    return index[0], index[-1]


class Chunker:
    def __init__(
        self, tokenize: Callable[[str], list[int]], chunk_size: int, chunk_overlap: int
    ) -> None:
        from llama_index.core.node_parser import SentenceSplitter

        self._splitter: Any = SentenceSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=tokenize
        )

    def _spans(self, text: str, offset: int) -> Iterator[tuple[int, int]]:
        """The splitter's chunks as character spans, from its own splits: each split is found
        moving forward only (splits are consecutive pieces of the text), and the splitter's
        merge runs on markers that stand for the splits, so a chunk is known as a run of
        splits, never by searching for its text (a repeated paragraph keeps its own span)."""
        splitter = self._splitter
        splits = splitter._split(text, splitter.chunk_size)
        located, cursor = [], 0
        for split in splits:
            at = text.find(split.text, cursor)
            at = cursor if at < 0 else at
            located.append((at, at + len(split.text)))
            cursor = at + len(split.text)
        marked = [replace(split, text=_marker(i)) for i, split in enumerate(splits)]
        for merged in splitter._merge(marked, splitter.chunk_size):
            first, last = _split_indices(merged)
            start, end = located[first][0], located[last][1]
            piece = text[start:end]
            start += len(piece) - len(piece.lstrip())
            end = start + len(piece.strip())
            if end > start:
                yield offset + start, offset + end

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
