"""What every integration shares: how a retriever opens and searches an index, and the
provenance each returned hit carries."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ragcore.errors import PluginError
from ragcore.index import Index
from ragcore.types import Hit


@dataclass(frozen=True)
class SearchOptions:
    """The search a retriever runs for each query: mode (``"hybrid+rerank"``...), k, payload
    filters and the caller's access groups (None: the index owner's view)."""

    k: int = 10
    mode: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    groups: Collection[str] | None = None

    def run(self, index: Index, query: str) -> tuple[Hit, ...]:
        groups = None if self.groups is None else tuple(self.groups)
        found = index.search(
            query, k=self.k, mode=self.mode, filters=dict(self.filters) or None, groups=groups
        )
        return found.hits


def provenance(hit: Hit) -> dict[str, Any]:
    """The hit's metadata for a framework's node or document: the chunk's own metadata
    (title, path, file type...), then its source, ids, character span, heading path, rank and
    the score each retriever gave it."""
    chunk = hit.chunk
    return {
        **{k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)},
        "source": chunk.source,
        "doc_id": chunk.doc_id,
        "chunk_id": chunk.id,
        "start_char": chunk.start,
        "end_char": chunk.end,
        "heading_path": " > ".join(chunk.heading_path),
        "rank": hit.rank,
        "score": hit.score,
        **{f"score_{kind}": float(v) for kind, v in hit.scores.items()},
    }


def need(module: str, extra: str) -> None:
    """A clear error naming the extra when the framework is not installed."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        raise PluginError(f"{module} is not installed", f"pip install 'ragcore[{extra}]'")
