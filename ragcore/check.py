"""``ragcore check``: does the store hold exactly the chunks the ledger says it holds?

The ledger is the index's record of what was written (``ragcore.ledger``); the store is what
a search reads. A shard deleted or damaged on disk, or a write lost, puts them apart: chunks
the ledger lists that the store lacks (*missing*), points no committed document owns
(*extra*). Repair deletes the extra points and marks the documents with missing chunks as
pending, so that the next sync of their source rewrites those documents and only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragcore.ledger import Ledger
from ragcore.store.base import VectorStore, records


@dataclass(frozen=True)
class DamagedDocument:
    doc_id: str
    source: str
    missing: int  # chunks the ledger lists for it that the store does not hold


@dataclass(frozen=True)
class IndexCheck:
    documents: int
    chunks: int  # in the ledger
    points: int  # in the store
    damaged: tuple[DamagedDocument, ...]
    extra: int  # points that no committed document owns
    extra_documents: tuple[str, ...]  # the doc ids those points carry
    pending: int  # writes interrupted mid-way, which the next sync of their source finishes

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.extra and not self.pending

    @property
    def missing(self) -> int:
        return sum(d.missing for d in self.damaged)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "chunks": self.chunks,
            "points": self.points,
            "missing": self.missing,
            "extra": self.extra,
            "pending": self.pending,
            "damaged_documents": [
                {"doc_id": d.doc_id, "source": d.source, "missing": d.missing} for d in self.damaged
            ],
        }


def stored_points(store: VectorStore, batch: int = 512) -> dict[str, str]:
    """Every point id in the store with the ``doc_id`` its payload names (vectors are read
    too, so that a damaged vector file is found)."""
    return {r.id: str(r.payload.get("doc_id", "")) for r in records(store, batch, True)}


def inspect(store: VectorStore, ledger: Ledger) -> IndexCheck:
    entries = ledger.entries()
    pending = ledger.pending()
    points = stored_points(store)
    damaged = []
    for entry in entries.values():
        missing = sum(cid not in points for cid in entry.chunk_ids)
        if missing and entry.doc_id not in pending:
            damaged.append(DamagedDocument(entry.doc_id, entry.source, missing))
    owned = {cid for e in entries.values() if e.doc_id not in pending for cid in e.chunk_ids}
    # a pending document's points are the sync's to settle: neither missing nor extra
    extra = {pid: doc for pid, doc in points.items() if pid not in owned and doc not in pending}
    return IndexCheck(
        documents=len(entries),
        chunks=sum(len(e.chunk_ids) for e in entries.values()),
        points=len(points),
        damaged=tuple(sorted(damaged, key=lambda d: d.source)),
        extra=len(extra),
        extra_documents=tuple(sorted(set(extra.values()))),
        pending=len(pending),
    )


def mark_for_repair(store: VectorStore, ledger: Ledger, check: IndexCheck) -> None:
    """Delete the extra points and mark the damaged documents pending (their next sync
    rewrites them, whatever their change token says)."""
    entries = ledger.entries()
    for doc_id in check.extra_documents:
        keep = entries[doc_id].chunk_ids if doc_id in entries else ()
        store.delete_document(doc_id, keep=keep)
    if check.extra_documents:
        store.flush()
    ledger.begin([(d.doc_id, d.source) for d in check.damaged])


def scopes_of(sources: list[str], scopes: list[str]) -> set[str]:
    """The scopes (of ``scopes``) each of ``sources`` lies under."""
    found: set[str] = set()
    for source in sources:
        for scope in scopes:
            prefix = scope if scope.endswith("/") else scope + "/"
            if source == scope or source.startswith(prefix):
                found.add(scope)
    return found
