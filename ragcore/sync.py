"""The sync engine shared by every connector.

Plans added / changed / unchanged / deleted documents against the ledger, then applies the
plan in batches: delete what the source no longer has, then for each batch of documents
record the intent, upsert new chunks, delete each document's stale chunks, and commit. An
interrupted run is finished by the next one (see ``ragcore.ledger``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from ragcore.chunking import Chunker, embedding_text
from ragcore.errors import RagcoreError
from ragcore.ledger import Ledger, LedgerEntry
from ragcore.progress import Progress
from ragcore.protocols import ClosingConnector, Connector, Embedder, StatefulConnector
from ragcore.sparse import Bm25Encoder
from ragcore.store.base import StoredPoint, VectorStore
from ragcore.store.filters import Filter
from ragcore.types import Chunk, Document, DocumentRef, Skipped, access_groups


@dataclass(frozen=True)
class SyncPlan:
    scope: str
    added: tuple[DocumentRef, ...]
    changed: tuple[DocumentRef, ...]
    unchanged: int
    deleted: tuple[tuple[str, str], ...]  # (doc_id, source)
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    skipped: tuple[Skipped, ...] = ()
    seconds: float = 0.0
    embed_seconds: float = 0.0
    dry_run: bool = False
    sources: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.skipped

    def __add__(self, other: SyncReport) -> SyncReport:
        return SyncReport(
            self.added + other.added,
            self.changed + other.changed,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
            self.chunks_written + other.chunks_written,
            self.chunks_deleted + other.chunks_deleted,
            self.skipped + other.skipped,
            self.seconds + other.seconds,
            self.embed_seconds + other.embed_seconds,
            self.dry_run or other.dry_run,
            self.sources + other.sources,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "chunks_written": self.chunks_written,
            "chunks_deleted": self.chunks_deleted,
            "dry_run": self.dry_run,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
        }


def state_token(ref: DocumentRef) -> str:
    """What the ledger compares: the source's change token, plus the access groups, so that a
    change of who may see a document is applied even when its content is unchanged."""
    groups = access_groups(ref.metadata)
    return ref.change_token + (" access=" + ",".join(groups) if groups else "")


def plan(connector: Connector, ledger: Ledger) -> SyncPlan:
    """Compare what ``connector`` lists with the ledger. Raises ``SourceError`` if the source
    as a whole cannot be listed."""
    committed = ledger.entries_under(connector.scope)
    pending = ledger.pending_under(connector.scope)
    added: list[DocumentRef] = []
    changed: list[DocumentRef] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    unchanged = 0
    for item in connector.list():
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        if item.id in seen:
            continue
        seen.add(item.id)
        old = committed.get(item.id)
        if old is None:
            added.append(item)
        elif item.id in pending or old.change_token != state_token(item):
            changed.append(item)
        else:
            unchanged += 1
    keep_sources = {s.source for s in skipped}
    gone = {d: e.source for d, e in committed.items()} | pending
    deleted = tuple(
        (d, src) for d, src in sorted(gone.items()) if d not in seen and src not in keep_sources
    )
    return SyncPlan(
        connector.scope, tuple(added), tuple(changed), unchanged, deleted, tuple(skipped)
    )


class Syncer:
    def __init__(
        self,
        store: VectorStore,
        ledger: Ledger,
        embedder: Embedder,
        bm25: Bm25Encoder,
        chunker: Chunker,
        batch_chunks: int = 256,
    ) -> None:
        self.store, self.ledger, self.embedder = store, ledger, embedder
        self.bm25, self.chunker, self.batch_chunks = bm25, chunker, batch_chunks

    def run(self, connector: Connector, progress: Progress, dry_run: bool = False) -> SyncReport:
        """Sync one source. A source that cannot be listed at all is reported as skipped and
        nothing under its scope changes. A connector that holds connections (``close()``)
        releases them when the run ends, however it ends."""
        try:
            return self._run(connector, progress, dry_run)
        finally:
            if isinstance(connector, ClosingConnector):
                connector.close()

    def _run(self, connector: Connector, progress: Progress, dry_run: bool) -> SyncReport:
        t0 = time.perf_counter()
        scope = connector.scope
        stateful = isinstance(connector, StatefulConnector)
        state_key = f"state:{scope}"
        try:
            if stateful:
                saved = self.ledger.get_meta(state_key)
                connector.restore(json.loads(saved) if saved else {})
            p = plan(connector, self.ledger)
        except RagcoreError as exc:
            return SyncReport(
                skipped=(Skipped(getattr(exc, "source", "") or scope, str(exc)),),
                seconds=time.perf_counter() - t0,
                dry_run=dry_run,
                sources=(scope,),
            )
        report = SyncReport(
            added=len(p.added),
            changed=len(p.changed),
            unchanged=p.unchanged,
            deleted=len(p.deleted),
            skipped=p.skipped,
            dry_run=dry_run,
            sources=(p.scope,),
        )
        if dry_run:
            return report
        chunks_deleted = 0
        for doc_id, _ in p.deleted:
            chunks_deleted += self.store.count(Filter.equals("doc_id", doc_id))
            self.store.delete_document(doc_id)
        self.ledger.remove([d for d, _ in p.deleted])
        todo = [*p.added, *p.changed]
        reading = progress.task("reading", total=len(todo)) if todo else None
        embedding = progress.task("embedding chunks", total=0) if todo else None
        skipped = list(p.skipped)
        written = 0
        done: set[str] = set()
        embed_seconds = 0.0
        for batch in self._batches(connector, todo, skipped, progress, reading):
            n_chunks = sum(len(c) for _, _, c in batch)
            if embedding is not None:
                progress.update(embedding, total=written + n_chunks)
            embed_seconds += self._write(batch, lambda n: progress.advance(embedding, n))
            written += n_chunks
            done.update(doc.id for _, doc, _ in batch)
        if p.deleted or p.changed:
            self.store.optimize()  # vacuum deleted chunks so BM25 IDF stops counting them
        self.store.flush()
        if stateful:
            self.ledger.set_meta(state_key, json.dumps(connector.checkpoint()))
        self.ledger.set_meta("last_sync", str(time.time()))
        return SyncReport(  # documents that were skipped count as skipped, not added/changed
            added=sum(r.id in done for r in p.added),
            changed=sum(r.id in done for r in p.changed),
            unchanged=p.unchanged,
            deleted=len(p.deleted),
            chunks_written=written,
            chunks_deleted=chunks_deleted,
            skipped=tuple(skipped),
            seconds=time.perf_counter() - t0,
            embed_seconds=embed_seconds,
            sources=(p.scope,),
        )

    def _batches(
        self,
        connector: Connector,
        refs: Sequence[DocumentRef],
        skipped: list[Skipped],
        progress: Progress,
        task: object,
    ) -> Iterator[list[tuple[DocumentRef, Document, list[Chunk]]]]:
        batch: list[tuple[DocumentRef, Document, list[Chunk]]] = []
        size = 0
        for ref in refs:
            progress.advance(task)
            try:
                doc = connector.load(ref)
            except RagcoreError as exc:
                skipped.append(Skipped(ref.source, exc.message))
                continue
            # who may see it is what was listed (and compared), whatever ``load`` says
            doc = replace(
                doc, metadata=dict(doc.metadata) | {"access": access_groups(ref.metadata)}
            )
            chunks = self.chunker.chunk(doc) if doc.text.strip() else []
            if not chunks:
                skipped.append(Skipped(ref.source, "empty document: no text could be extracted"))
                continue
            batch.append((ref, doc, chunks))
            size += len(chunks)
            if size >= self.batch_chunks:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _write(
        self,
        batch: list[tuple[DocumentRef, Document, list[Chunk]]],
        advance: Callable[[int], None],
    ) -> float:
        """Write one batch of documents; returns seconds spent in the embedder."""
        self.ledger.begin([(doc.id, doc.source) for _, doc, _ in batch])
        chunks = [c for _, _, cs in batch for c in cs]
        texts = [embedding_text(c) for c in chunks]
        t = time.perf_counter()
        vectors = self.embedder.embed_documents(texts, progress=advance)
        embed_seconds = time.perf_counter() - t
        self.store.upsert(
            [
                StoredPoint(
                    id=c.id,
                    dense=vec,
                    sparse=self.bm25.document(text),
                    payload={
                        "doc_id": c.doc_id,
                        "source": c.source,
                        "access": list(access_groups(c.metadata)),
                        "text": c.text,
                        "start": c.start,
                        "end": c.end,
                        "heading_path": list(c.heading_path),
                        "metadata": {
                            k: v for k, v in c.metadata.items() if k not in ("source", "access")
                        },
                    },
                )
                for c, text, vec in zip(chunks, texts, vectors, strict=True)
            ]
        )
        for _, doc, cs in batch:
            self.store.delete_document(doc.id, keep={c.id for c in cs})
        self.store.flush()
        self.ledger.commit(
            [
                LedgerEntry(doc.id, doc.source, state_token(ref), tuple(c.id for c in cs))
                for ref, doc, cs in batch
            ]
        )
        return embed_seconds
