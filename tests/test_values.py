from __future__ import annotations

import dataclasses

import pytest

from ragcore.ids import chunk_id, content_hash, document_id
from ragcore.types import Chunk, Document, Hit


def test_ids_are_deterministic_and_distinct() -> None:
    assert document_id("file:///a.md") == document_id("file:///a.md")
    assert document_id("file:///a.md") != document_id("file:///b.md")
    d = document_id("file:///a.md")
    assert chunk_id(d, 0, "x") == chunk_id(d, 0, "x")
    assert chunk_id(d, 0, "x") != chunk_id(d, 1, "x")
    assert chunk_id(d, 0, "x") != chunk_id(d, 0, "y")
    assert content_hash("abc") == content_hash(b"abc")
    assert content_hash("abc").startswith("sha256:")


def test_values_are_frozen_and_metadata_read_only() -> None:
    doc = Document("id", "file:///a", "text", "h", {"title": "T"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.text = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        doc.metadata["title"] = "U"  # type: ignore[index]
    assert doc.title == "T"


def test_hit_wraps_chunk_and_serialises_provenance() -> None:
    chunk = Chunk("c1", "d1", "hello", 3, 8, ("A", "B"), {"source": "file:///x.md", "path": "x.md"})
    hit = Hit(chunk, 0.5, 1, {"dense": 0.9, "bm25": 3.0})
    data = hit.to_json()
    assert data["chunk_id"] == "c1" and data["doc_id"] == "d1"
    assert data["source"] == "file:///x.md" and data["span"] == [3, 8]
    assert data["scores"] == {"dense": 0.9, "bm25": 3.0}
    assert data["metadata"] == {"path": "x.md"}
