"""Vector stores behind one interface (``VectorStore``)."""

from __future__ import annotations

from pathlib import Path

from ragcore.config import StoreConfig
from ragcore.store.base import ScoredPoint, StoredPoint, StoreQuery, VectorStore


def open_store(directory: Path, config: StoreConfig, dim: int) -> VectorStore:
    """qdrant-edge under ``directory/shard`` unless ``config.url`` names a Qdrant server."""
    if config.url:
        from ragcore.store.remote import QdrantServerStore

        return QdrantServerStore(config, dim)
    from ragcore.store.edge import EdgeStore

    return EdgeStore(directory / "shard", dim)


__all__ = ["ScoredPoint", "StoreQuery", "StoredPoint", "VectorStore", "open_store"]
