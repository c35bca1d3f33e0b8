"""``Index``: the Python API the CLI mirrors (ingest / search / status)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ragcore import plugins
from ragcore.check import IndexCheck, inspect, mark_for_repair
from ragcore.chunking import Chunker
from ragcore.config import CONFIG_FILE, IndexConfig, SearchConfig, SearchMode, StoreConfig
from ragcore.errors import (
    IncompatibleIndexError,
    IndexNotFoundError,
)
from ragcore.index_folder import (
    LEDGER_FILE,
    check_folder,
    interrupted_creation,
    remove_own_files,
    spec_json,
)
from ragcore.ledger import Ledger
from ragcore.locking import IndexLock
from ragcore.progress import Progress
from ragcore.protocols import Connector, Embedder, Reranker
from ragcore.search import SearchResult, chunk_from_payload, explain_no_hits, run_search
from ragcore.sources import SourceAccess, SourceSpec, open_source
from ragcore.sparse import Bm25Encoder
from ragcore.store import VectorStore, open_store
from ragcore.store.base import records
from ragcore.store.filters import Filter
from ragcore.sync import Syncer, SyncReport
from ragcore.types import Chunk

SOURCE_GROUPS_KEY = "source_groups:"  # ledger meta: a source scope's default access groups
SOURCE_SPEC_KEY = "source_spec:"  # ledger meta: how to open a source scope again (repair)


@dataclass(frozen=True)
class IndexStatus:
    path: str
    store: str
    documents: int
    chunks: int
    points: int
    last_sync: float | None
    config: IndexConfig

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "store": self.store,
            "documents": self.documents,
            "chunks": self.chunks,
            "points": self.points,
            "last_sync": (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_sync))
                if self.last_sync
                else None
            ),
            "embedder": self.config.embedder,
            "chunk_size": self.config.chunk_size,
            "chunk_overlap": self.config.chunk_overlap,
        }


class Index:
    """A searchable index in ``directory`` (config + ledger; the shard too unless the store is
    a Qdrant server).

    >>> index = Index.open(".ragcore", create=True)
    >>> index.ingest(["docs/"])
    >>> index.search("how do I reset my password", k=5).hits
    """

    def __init__(
        self,
        directory: Path,
        config: IndexConfig,
        dim: int,
        store_config: StoreConfig,
        search_config: SearchConfig,
    ) -> None:
        self.directory = directory
        self.config = config
        self.search_config = search_config
        self.store_config = store_config
        self.dim = dim
        self.ledger = Ledger(directory / LEDGER_FILE)
        try:
            self.store: VectorStore = open_store(directory, store_config, dim)
        except BaseException:
            self.ledger.close()
            raise
        self.bm25 = Bm25Encoder(config.bm25_k1, config.bm25_b, config.bm25_avg_len)
        self._embedder: Embedder | None = None
        self._lock: IndexLock | None = None

    @classmethod
    def open(
        cls,
        directory: str | Path = ".ragcore",
        *,
        config: IndexConfig | None = None,
        store: StoreConfig | None = None,
        search: SearchConfig | None = None,
        create: bool = False,
        rebuild: bool = False,
    ) -> Index:
        """Open the index at ``directory``. ``create`` makes it if missing; ``rebuild`` wipes it
        first. A ``config`` that differs from the saved one is an error unless ``rebuild``."""
        directory = Path(directory)
        store = store or StoreConfig()
        search = search or SearchConfig()
        create = create or rebuild
        check_folder(directory, create)
        directory.mkdir(parents=True, exist_ok=True)
        lock = IndexLock(directory, store.lock_wait_s)
        if not store.url or rebuild:  # a server serves many readers; only writers lock
            lock.acquire()
        try:
            index = cls._open_locked(directory, config, store, search, create, rebuild)
        except BaseException:
            lock.release()
            raise
        index._lock = lock
        if store.url:
            lock.release()
        return index

    @classmethod
    def _open_locked(
        cls,
        directory: Path,
        config: IndexConfig | None,
        store: StoreConfig,
        search: SearchConfig,
        create: bool,
        rebuild: bool,
    ) -> Index:
        saved = directory / CONFIG_FILE
        kept: dict[str, str] = {}  # a rebuild keeps whom each source is shared with
        if rebuild:  # also when ragcore.json is gone: the ledger still knows the groups
            kept = cls._source_groups_in(directory)
        if rebuild and saved.exists():
            cls._wipe(directory, store)
        if saved.exists():
            existing, dim = IndexConfig.load(directory)
            if config is not None and (diff := existing.differences(config)):
                raise IncompatibleIndexError(
                    f"index at {directory} was built with other settings: {'; '.join(diff)}",
                    "drop the conflicting flags, or pass --rebuild to re-ingest with the new ones",
                )
            return cls(directory, existing, dim, store, search)
        if not create:
            raise IndexNotFoundError(
                f"no index at {directory}",
                f"run `ragcore ingest PATH --index {directory}` first",
            )
        if interrupted_creation(directory):
            # killed before its config was written (the config is written last): no sync
            # completed, so nothing is lost by starting it again (a server's collection is
            # left alone: the sync's change tokens reconcile it)
            remove_own_files(directory)
        config = config or IndexConfig()
        dim = int(plugins.load(plugins.PluginGroup.EMBEDDERS, config.embedder).dim)
        index = cls(directory, config, dim, store, search)
        for key, value in kept.items():
            index.ledger.set_meta(key, value)
        config.save(directory, dim)  # last: a directory without it is not an index yet
        return index

    @staticmethod
    def _source_groups_in(directory: Path) -> dict[str, str]:
        if not (directory / LEDGER_FILE).is_file():
            return {}
        ledger = Ledger(directory / LEDGER_FILE)
        try:
            return ledger.meta_with_prefix(SOURCE_GROUPS_KEY)
        finally:
            ledger.close()

    @staticmethod
    def _wipe(directory: Path, store: StoreConfig) -> None:
        if store.url:
            from ragcore.store.remote import QdrantServerStore

            QdrantServerStore.drop(store)
        (directory / CONFIG_FILE).unlink()
        remove_own_files(directory)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = plugins.embedder(self.config.embedder)
        return self._embedder

    def reranker(self, name: str | None = None) -> Reranker:
        return plugins.reranker(name or self.search_config.reranker)

    def ingest(
        self,
        sources: Sequence[str | Path | SourceSpec | Connector],
        *,
        quiet: bool = False,
        dry_run: bool = False,
        batch_chunks: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Sync each source (a path or URL, a ``SourceSpec``, or any connector) into the index:
        added, changed and deleted documents are applied; unchanged ones are skipped by their
        change token. A source that fails as a whole is reported in ``skipped`` and keeps what
        the index held for it; the other sources are still synced. ``progress``: where to
        report it (default: bars, or lines when stderr is not a terminal, unless ``quiet``)."""
        connectors = [
            open_source(str(s) if isinstance(s, Path) else s)
            if isinstance(s, (str, Path, SourceSpec))
            else s
            for s in sources
        ]
        embedder = self.embedder
        syncer = Syncer(
            self.store,
            self.ledger,
            embedder,
            self.bm25,
            Chunker(embedder.count_tokens, self.config.chunk_size, self.config.chunk_overlap),
            batch_chunks=batch_chunks,
        )
        report = SyncReport()
        with self.writing(), progress or Progress(quiet=quiet) as progress:
            if not dry_run:
                self._mark_damage()
            for connector in connectors:
                if isinstance(connector, SourceAccess):
                    connector = connector.remembering(self.source_groups(connector.scope))
                report = report + syncer.run(connector, progress, dry_run=dry_run)
                if isinstance(connector, SourceAccess) and not dry_run:
                    self._remember(connector)
        return report

    def _remember(self, source: SourceAccess) -> None:
        """Whom the source is shared with, and how to open it again (for ``repair``)."""
        key = SOURCE_GROUPS_KEY + source.scope
        self.ledger.set_meta(key, json.dumps(list(source.groups or ())))
        if source.spec is not None:
            self.ledger.set_meta(SOURCE_SPEC_KEY + source.scope, spec_json(source.spec))

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The lock for a write: held since ``open`` on the embedded store; taken for the
        write alone on a server (whose readers need none)."""
        if self._lock is not None and self._lock.held:
            yield
            return
        self._lock = IndexLock(self.directory, self.store_config.lock_wait_s).acquire()
        try:
            yield
        finally:
            self._lock.release()

    def check(self) -> IndexCheck:
        """Compare the ledger with the store (``ragcore.check``); changes nothing."""
        return inspect(self.store, self.ledger)

    def _mark_damage(self) -> None:
        """An ingest repairs what it syncs: documents whose chunks the store lost are marked
        to be rewritten (a full check runs only when the counts disagree)."""
        if self.store.count() == self.ledger.counts()[1] and not self.ledger.pending():
            return
        found = self.check()
        if not found.ok:
            mark_for_repair(self.store, self.ledger, found)

    def source_groups(self, scope: str) -> tuple[str, ...]:
        """The default access groups the last sync of the source at ``scope`` applied (none:
        public, or never synced)."""
        stored = self.ledger.get_meta(SOURCE_GROUPS_KEY + scope)
        return tuple(json.loads(stored)) if stored else ()

    def search_config_for(
        self,
        mode: str | SearchMode | None = None,
        rerank: bool | None = None,
        **overrides: Any,
    ) -> SearchConfig:
        """The ``SearchConfig`` a ``search`` call with these arguments runs with."""
        config = self.search_config
        if isinstance(mode, str) and "+" in mode:
            mode, rerank = SearchConfig.parse_mode(mode)
        changes = dict(overrides)
        if mode is not None:
            changes["mode"] = mode
        if rerank is not None:
            changes["rerank"] = rerank
        return replace(config, **changes) if changes else config

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: str | SearchMode | None = None,
        rerank: bool | None = None,
        filters: Filter | Mapping[str, Any] | None = None,
        groups: Collection[str] | None = None,
        **overrides: Any,
    ) -> SearchResult:
        """Top ``k`` hits. ``mode`` accepts ``"hybrid+rerank"``-style strings; other
        ``SearchConfig`` fields can be overridden by keyword.

        ``groups`` are the caller's access groups: only public chunks and chunks of documents
        shared with one of these groups are returned (an engine-side filter, so ``k`` hits
        come back when that many are visible). None means no access check, for the index
        owner; pass the end user's groups (``()`` for an anonymous one) when serving others.

        ``filters``: a ``Filter``, or its JSON-shaped form (``ragcore.store.filters``): values
        to equal, lists to match any of, ``{"gte": .., "lt": .., "not": ..}`` ranges and
        exclusions on numbers and ISO dates.
        """
        where = Filter.parse(filters)  # a malformed filter fails before any work
        config = self.search_config_for(mode, rerank, **overrides)
        result = run_search(
            self.store,
            self.embedder if config.mode is not SearchMode.BM25 else None,
            self.bm25,
            self.reranker(config.reranker) if config.rerank else None,
            query,
            k,
            config,
            where,
            groups,
        )
        if not result.hits:  # why, when the reason is one the user can fix
            explain_no_hits(self.store, self.ledger, str(self.directory), where)
        return result

    def chunks(self, batch: int = 256) -> Iterator[Chunk]:
        """Every indexed chunk, in id order (stable across calls on an unchanged index)."""
        for r in records(self.store, batch):
            yield chunk_from_payload(r.id, r.payload)

    def status(self) -> IndexStatus:
        documents, chunks = self.ledger.counts()
        last = self.ledger.get_meta("last_sync")
        return IndexStatus(
            path=str(self.directory),
            store=self.store_config.url or "qdrant-edge (embedded)",
            documents=documents,
            chunks=chunks,
            points=self.store.count(),
            last_sync=float(last) if last else None,
            config=self.config,
        )

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            self.ledger.close()
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
