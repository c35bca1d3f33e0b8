"""Qdrant server or cluster through ``qdrant-client`` (also its ``":memory:"`` local mode, the
in-process stand-in for a server in tests)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ragcore.config import Fusion, StoreConfig
from ragcore.errors import StoreError
from ragcore.store.base import (
    DENSE,
    INDEXED_KEYS,
    SPARSE,
    Record,
    ScoredPoint,
    StoredPoint,
    StoreQuery,
    payload_key,
)
from ragcore.store.filters import Condition, Filter, Match


class QdrantServerStore:
    def __init__(self, config: StoreConfig, dim: int) -> None:
        from qdrant_client import QdrantClient
        from qdrant_client import models as m

        self._m = m
        self.collection = config.collection
        try:
            if config.url == ":memory:":
                self._client = QdrantClient(":memory:")
            else:
                self._client = QdrantClient(
                    url=config.url, api_key=config.api_key, timeout=int(config.timeout)
                )
            if not self._client.collection_exists(self.collection):
                self._client.create_collection(
                    self.collection,
                    vectors_config={DENSE: m.VectorParams(size=dim, distance=m.Distance.COSINE)},
                    sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
                    shard_number=config.shard_number,
                    replication_factor=config.replication_factor,
                )
                for key in INDEXED_KEYS if config.url != ":memory:" else ():
                    self._client.create_payload_index(
                        self.collection, key, m.PayloadSchemaType.KEYWORD
                    )
            else:
                info = self._client.get_collection(self.collection).config.params.vectors
                size = info[DENSE].size if isinstance(info, dict) and DENSE in info else None
                if size != dim:
                    raise StoreError(
                        f"collection {self.collection!r} on {config.url} has dense size {size}, "
                        f"this index needs {dim}",
                        "use another --collection or re-create the collection",
                    )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot use Qdrant at {config.url}: {exc}",
                "check the URL, API key and that the server is running",
            ) from None

    def _condition(self, condition: Condition) -> Any:
        m, key = self._m, payload_key(condition.key)
        if isinstance(condition, Match):
            values = condition.values
            match = (
                m.MatchValue(value=values[0]) if len(values) == 1 else m.MatchAny(any=list(values))
            )
            return m.FieldCondition(key=key, match=match)
        bounds = condition.bounds()
        if condition.on_dates:
            return m.FieldCondition(key=key, range=m.DatetimeRange(**bounds))
        return m.FieldCondition(key=key, range=m.Range(**bounds))

    def _filter(
        self,
        where: Filter | None,
        must_not: Any = None,
        ids: Collection[str] | None = None,
        groups: Collection[str] | None = None,
    ) -> Any:
        """The client's filter for the neutral ``where``, point ``ids`` and caller groups."""
        m, where = self._m, where or Filter()
        must = [m.HasIdCondition(has_id=list(ids))] if ids is not None else []
        must += [self._condition(c) for c in where.must]
        excluded = [*(must_not or []), *(self._condition(c) for c in where.must_not)]
        if groups is not None:  # public (no groups) or shares a group with the caller
            visible: list[Any] = [m.IsEmptyCondition(is_empty=m.PayloadField(key="access"))]
            if groups:
                visible.append(m.FieldCondition(key="access", match=m.MatchAny(any=list(groups))))
            must.append(m.Filter(should=visible))
        if not must and not excluded:
            return None
        return m.Filter(must=must or None, must_not=excluded or None)

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        if not points:
            return
        m = self._m
        self._client.upsert(
            self.collection,
            points=[
                m.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: [float(x) for x in p.dense],
                        SPARSE: m.SparseVector(
                            indices=list(p.sparse.indices), values=list(p.sparse.values)
                        ),
                    },
                    payload=dict(p.payload),
                )
                for p in points
            ],
            wait=True,
        )

    def delete_document(self, doc_id: str, keep: Collection[str] = ()) -> None:
        m = self._m
        must_not = [m.HasIdCondition(has_id=list(keep))] if keep else None
        self._client.delete(
            self.collection,
            points_selector=m.FilterSelector(
                filter=self._filter(Filter.equals("doc_id", doc_id), must_not)
            ),
            wait=True,
        )

    def _request(self, q: StoreQuery) -> dict[str, Any]:
        m = self._m
        flt = self._filter(q.filters, ids=q.ids, groups=q.groups)
        sparse = (
            m.SparseVector(indices=list(q.sparse.indices), values=list(q.sparse.values))
            if q.sparse is not None
            else None
        )
        dense = [float(x) for x in q.dense] if q.dense is not None else None
        if dense is not None and sparse is not None:
            fusion: Any = (
                m.FusionQuery(fusion=m.Fusion.DBSF)
                if q.fusion is Fusion.DBSF
                else m.RrfQuery(
                    rrf=m.Rrf(k=q.rrf_k, weights=list(q.weights) if q.weights else None)
                )
            )
            return {
                "prefetch": [
                    m.Prefetch(query=dense, using=DENSE, limit=q.prefetch, filter=flt),
                    m.Prefetch(query=sparse, using=SPARSE, limit=q.prefetch, filter=flt),
                ],
                "query": fusion,
                "filter": flt,
                "limit": q.limit,
                "with_payload": q.with_payload,
            }
        return {
            "query": dense if dense is not None else sparse,
            "using": DENSE if dense is not None else SPARSE,
            "filter": flt,
            "limit": q.limit,
            "with_payload": q.with_payload,
        }

    @staticmethod
    def _points(result: Any) -> list[ScoredPoint]:
        return [ScoredPoint(str(p.id), float(p.score), p.payload) for p in result.points]

    def query(self, query: StoreQuery) -> list[ScoredPoint]:
        request = self._request(query)
        request["query_filter"] = request.pop("filter")
        return self._points(self._client.query_points(self.collection, **request))

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[ScoredPoint]]:
        m = self._m
        requests = [m.QueryRequest(**self._request(q)) for q in queries]
        return [self._points(r) for r in self._client.query_batch_points(self.collection, requests)]

    def count(self, filters: Filter | None = None) -> int:
        return int(
            self._client.count(
                self.collection, count_filter=self._filter(filters), exact=True
            ).count
        )

    def scroll(
        self, limit: int, offset: Any = None, read_vectors: bool = False
    ) -> tuple[list[Record], Any]:
        points, next_offset = self._client.scroll(
            self.collection,
            limit=limit,
            offset=offset,
            with_payload=True,
            with_vectors=read_vectors,
        )
        return [Record(str(p.id), p.payload or {}) for p in points], next_offset

    @staticmethod
    def drop(config: StoreConfig) -> None:
        """Delete the collection on the server (``--rebuild``)."""
        from qdrant_client import QdrantClient

        if config.url == ":memory:":
            return  # a fresh in-memory client starts empty
        client = QdrantClient(url=config.url, api_key=config.api_key, timeout=int(config.timeout))
        try:
            if client.collection_exists(config.collection):
                client.delete_collection(config.collection)
        finally:
            client.close()

    def flush(self) -> None:
        pass  # the server persists on write (wait=True)

    def optimize(self) -> None:
        pass  # the server runs its optimizers itself

    def close(self) -> None:
        self._client.close()
