"""Immutable values that flow through the pipeline: documents, chunks, scored hits, answers.

A ``Hit`` wraps a ``Chunk`` with its scores: a scored hit is not a document. An ``Answer`` is
what a generator made of numbered hits: text (or an abstention) and the passages it cites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


class MetadataKey(StrEnum):
    """Metadata keys every connector fills where its source knows them (``DocumentRef`` and
    ``Document`` metadata). Other keys are kept as they are and can be filtered on."""

    TITLE = "title"
    AUTHOR = "author"
    UPDATED_AT = "updated_at"  # ISO 8601, UTC
    ACCESS = "access"  # list of group names allowed to see the document; absent/empty: public


def access_groups(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The sorted, de-duplicated access groups of a document's metadata (empty: public)."""
    value = metadata.get(MetadataKey.ACCESS.value)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(sorted({str(g).strip() for g in value if str(g).strip()}))


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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hit:
        """Inverse of ``to_json``."""
        start, end = data["span"]
        chunk = Chunk(
            id=data["chunk_id"],
            doc_id=data["doc_id"],
            text=data["text"],
            start=start,
            end=end,
            heading_path=tuple(data.get("heading_path", ())),
            metadata={**data.get("metadata", {}), "source": data.get("source", "")},
        )
        return cls(chunk, data["score"], data["rank"], data.get("scores", {}))


@dataclass(frozen=True)
class Passage:
    """A passage a generator reads: its text and a title (e.g. its heading path)."""

    text: str
    title: str = ""


@dataclass(frozen=True)
class Prompt:
    """What a generator answers: a question and the passages it may use, numbered 1..n in
    order (``Passage`` values; citations name these numbers)."""

    question: str
    passages: tuple[Passage, ...] = ()

    @classmethod
    def from_hits(cls, question: str, hits: Sequence[Hit]) -> Prompt:
        return cls(
            question,
            tuple(Passage(h.chunk.text, " > ".join(h.chunk.heading_path)) for h in hits),
        )

    @classmethod
    def from_pairs(cls, question: str, pairs: Sequence[tuple[str, str]]) -> Prompt:
        """From ``(title, text)`` pairs, as the training recipes build them."""
        return cls(question, tuple(Passage(text, title) for title, text in pairs))


@dataclass(frozen=True)
class Skipped:
    """A source item that exists but could not be used, and why. The index keeps whatever it
    held for it before."""

    source: str
    reason: str


class ScoreKind(StrEnum):
    """Which retriever gave a hit's score (``Hit.scores`` keys)."""

    DENSE = "dense"
    BM25 = "bm25"
    FUSED = "fused"
    RERANK = "rerank"


class AnswerFlag(StrEnum):
    """What the grounding checks noticed about an answer (``Answer.flags``)."""

    INVALID_CITATION = "invalid_citation"  # a cited number with no passage
    INFERRED_CITATION = "inferred_citation"  # uncited; the supporting passage was found
    UNSUPPORTED = "unsupported"  # its key tokens are mostly absent from what it cites


class AbstainReason(StrEnum):
    """Why an ``Answer`` carries no text."""

    NO_ANSWER = "no_answer"  # the generator said the passages do not contain the answer
    LOW_RETRIEVAL_SCORE = "low_retrieval_score"  # the retrieval gate stopped before generating
    UNSUPPORTED = "unsupported"  # the grounding guard found the cited passages do not support it


@dataclass(frozen=True)
class Citation:
    """Passage number ``n`` (1-based, as shown to the generator) and the chunk it was."""

    n: int
    chunk_id: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "chunk_id": self.chunk_id, "source": self.source}


@dataclass(frozen=True)
class Answer:
    """A generated answer to ``question`` from ``hits`` (passage ``n`` is ``hits[n - 1]``).

    ``text is None`` means the generator abstained; ``abstain_reason`` says why. ``flags``
    holds warnings that did not turn the answer into an abstention (e.g. ``"unsupported"``
    when the grounding guard is set to flag rather than abstain). A generator that scores its
    replies (``Reply.abstain_score``) leaves its ``abstain_score`` (higher: more likely wrong)
    and its ``draft``, the answer it found, also when it withheld it.
    """

    question: str
    text: str | None
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    abstain_reason: AbstainReason | None = None
    flags: tuple[AnswerFlag, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    abstain_score: float | None = None
    draft: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "citations", tuple(self.citations))
        object.__setattr__(self, "hits", tuple(self.hits))
        object.__setattr__(self, "flags", tuple(AnswerFlag(f) for f in self.flags))
        object.__setattr__(self, "timings_ms", _frozen(self.timings_ms))
        for c in self.citations:
            if not 1 <= c.n <= len(self.hits) or self.hits[c.n - 1].chunk.id != c.chunk_id:
                raise ValueError(f"citation [{c.n}] does not name one of the {len(self.hits)} hits")
        if self.text is None and self.citations:
            raise ValueError("an abstention cites no passage")
        if self.text is not None and self.abstain_reason is not None:
            raise ValueError("an answer with text has no abstain_reason")

    @property
    def abstained(self) -> bool:
        return self.text is None

    @property
    def cited_hits(self) -> tuple[Hit, ...]:
        return tuple(self.hits[c.n - 1] for c in self.citations)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason.value if self.abstain_reason else None,
            "flags": list(self.flags),
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "timings_ms": dict(self.timings_ms),
            "abstain_score": self.abstain_score,
            "draft": self.draft,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Answer:
        """Inverse of ``to_json`` (``ragcore ask --json`` output)."""
        reason = data.get("abstain_reason")
        return cls(
            question=data.get("question", ""),
            text=data.get("answer"),
            citations=tuple(
                Citation(c["n"], c["chunk_id"], c.get("source", ""))
                for c in data.get("citations", ())
            ),
            hits=tuple(Hit.from_json(h) for h in data.get("hits", ())),
            abstain_reason=AbstainReason(reason) if reason else None,
            flags=tuple(data.get("flags", ())),
            timings_ms=data.get("timings_ms", {}),
            abstain_score=data.get("abstain_score"),
            draft=data.get("draft"),
        )
