"""One store interface over the embedded engine (qdrant-edge) and a Qdrant server (qdrant-client).

Every point is one chunk: a named dense vector ``dense``, a named sparse vector ``bm25`` (IDF
modifier) and a payload ``{doc_id, source, access, text, start, end, heading_path, metadata}``
(``access``: the groups that may see it, empty for public).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ragcore.config import Fusion
from ragcore.sparse import SparseVector
from ragcore.store.filters import Filter

DENSE = "dense"
SPARSE = "bm25"

#: Payload keys stored at the top level; any other filter key means ``metadata.<key>``.
TOP_LEVEL_KEYS = frozenset({"doc_id", "source", "access"})
#: Keyword-indexed payload keys (the access filter runs on every restricted query).
INDEXED_KEYS = ("doc_id", "source", "access")


@dataclass(frozen=True)
class StoredPoint:
    id: str
    dense: Sequence[float]
    sparse: SparseVector
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class ScoredPoint:
    id: str
    score: float
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Record:
    """A stored chunk's id and payload, as returned by ``scroll``."""

    id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class StoreQuery:
    """Dense only, sparse only, or both fused in the engine (prefetch + RRF/DBSF)."""

    limit: int
    dense: Sequence[float] | None = None
    sparse: SparseVector | None = None
    fusion: Fusion = Fusion.RRF
    rrf_k: int = 2
    weights: tuple[float, float] | None = None  # (dense, sparse) for weighted RRF
    prefetch: int = 100
    filters: Filter = field(default_factory=Filter)
    ids: tuple[str, ...] | None = None  # restrict to these point ids (exact scoring of a few)
    # The caller's groups: only chunks that are public (no ``access``) or share a group with
    # them match. None: no access check (the index owner).
    groups: tuple[str, ...] | None = None
    with_payload: bool = True

    def __post_init__(self) -> None:
        if self.dense is None and self.sparse is None:
            raise ValueError("StoreQuery needs a dense vector, a sparse vector, or both")


def records(store: VectorStore, batch: int = 512, read_vectors: bool = False) -> Iterator[Record]:
    """Every stored chunk, in id order: ``scroll`` page after page."""
    offset: Any = None
    while True:
        page, offset = store.scroll(batch, offset, read_vectors=read_vectors)
        yield from page
        if offset is None:
            return


def payload_key(key: str) -> str:
    return key if key in TOP_LEVEL_KEYS or key.startswith("metadata.") else f"metadata.{key}"


class VectorStore(Protocol):
    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    def delete_document(self, doc_id: str, keep: Collection[str] = ()) -> None:
        """Delete the document's points except the ids in ``keep``."""
        ...

    def query(self, query: StoreQuery) -> list[ScoredPoint]: ...

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[ScoredPoint]]: ...

    def count(self, filters: Filter | None = None) -> int: ...

    def scroll(
        self, limit: int, offset: Any = None, read_vectors: bool = False
    ) -> tuple[list[Record], Any]:
        """A page of stored chunks in id order and the offset of the next (None at the end).
        ``read_vectors`` reads their vectors too (and drops them): a check that they can be
        read."""
        ...

    def flush(self) -> None: ...

    def optimize(self) -> None:
        """Let the engine vacuum deleted points and build indexes now (no-op on a server)."""
        ...

    def close(self) -> None: ...
