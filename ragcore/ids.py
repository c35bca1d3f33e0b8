"""Deterministic identifiers: re-ingesting the same content yields the same ids."""

from __future__ import annotations

import hashlib
import uuid

# Fixed namespace for every ragcore id (uuid5 of "ragcore").
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ragcore.dev/ids")


def document_id(source: str) -> str:
    """Id of the document at ``source`` (a URI): stable across content changes."""
    return str(uuid.uuid5(NAMESPACE, f"doc:{source}"))


def chunk_id(doc_id: str, index: int, text: str) -> str:
    """Id of the ``index``-th chunk of a document, tied to its text."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return str(uuid.uuid5(NAMESPACE, f"chunk:{doc_id}:{index}:{digest}"))


def content_hash(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()
