"""Immutable values that flow through the pipeline: documents, chunks and scored hits.

A ``Hit`` wraps a ``Chunk`` with its scores: a scored hit is not a document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class DocumentRef:
    """What a connector knows about a document before loading it.

    ``change_token`` (a content hash, ETag, commit id, ...) decides whether the document must
    be re-read: equal tokens mean unchanged.
    """

    id: str
    source: str
    change_token: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen(self.metadata))


@dataclass(frozen=True)
class Document:
    """A loaded source document. ``id`` is deterministic (uuid5 of the source URI)."""

    id: str
    source: str
    text: str
    content_hash: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen(self.metadata))

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))


@dataclass(frozen=True)
class Chunk:
    """A span of a document's text: ``document.text[start:end] == chunk.text``."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen(self.metadata))
        object.__setattr__(self, "heading_path", tuple(self.heading_path))

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))


@dataclass(frozen=True)
class Hit:
    """A chunk returned for a query, with its final score, 1-based rank and the score each
    retriever gave it (``dense``, ``bm25``, ``fused``, ``rerank``; absent when that retriever
    did not return it)."""

    chunk: Chunk
    score: float
    rank: int
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", _frozen(self.scores))

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": self.score,
            "chunk_id": self.chunk.id,
            "doc_id": self.chunk.doc_id,
            "source": self.chunk.source,
            "text": self.chunk.text,
            "span": [self.chunk.start, self.chunk.end],
            "heading_path": list(self.chunk.heading_path),
            "scores": dict(self.scores),
            "metadata": {k: v for k, v in self.chunk.metadata.items() if k != "source"},
        }


@dataclass(frozen=True)
class Skipped:
    """A source item that exists but could not be used, and why. The index keeps whatever it
    held for it before."""

    source: str
    reason: str
