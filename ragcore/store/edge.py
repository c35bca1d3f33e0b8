"""Embedded store: the real Qdrant engine in-process (``qdrant-edge-py``), one shard on disk."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import qdrant_edge as qe

from ragcore.config import Fusion
from ragcore.errors import DamagedShardError
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
from ragcore.store.filters import Condition, Filter, Match, rfc3339


def _condition(condition: Condition) -> Any:
    key = payload_key(condition.key)
    if isinstance(condition, Match):
        values = condition.values
        match = qe.MatchValue(values[0]) if len(values) == 1 else qe.MatchAny(list(values))  # type: ignore[arg-type]
        return qe.FieldCondition(key=key, match=match)
    bounds = condition.bounds()
    if condition.on_dates:
        dates = {op: rfc3339(b) for op, b in bounds.items()}  # type: ignore[arg-type]
        return qe.FieldCondition(key=key, range=qe.RangeDateTime(**dates))
    return qe.FieldCondition(key=key, range=qe.RangeFloat(**bounds))


def _filter(
    where: Filter | None,
    ids: Collection[str] | None = None,
    must_not: list[Any] | None = None,
    groups: Collection[str] | None = None,
) -> qe.Filter | None:
    """The engine's filter for the neutral ``where``, point ``ids`` and the caller's groups."""
    where = where or Filter()
    must: list[Any] = [qe.HasIdCondition(set(ids))] if ids is not None else []
    must += [_condition(c) for c in where.must]
    excluded = [*(must_not or []), *(_condition(c) for c in where.must_not)]
    if groups is not None:  # public (no groups) or shares a group with the caller
        visible: list[Any] = [qe.IsEmptyCondition("access")]
        if groups:
            visible.append(qe.FieldCondition(key="access", match=qe.MatchAny(list(groups))))
        must.append(qe.Filter(should=visible))
    if not must and not excluded:
        return None
    return qe.Filter(must=must or None, must_not=excluded or None)


DAMAGE_HINT = (
    "run `ragcore check --repair` (it rebuilds a damaged shard from the sources), or ingest "
    "them again with --rebuild"
)


def _damaged(path: Path, exc: Exception) -> DamagedShardError:
    return DamagedShardError(f"the index shard at {path} is damaged: {exc}", DAMAGE_HINT)


F = TypeVar("F", bound=Callable[..., Any])


def _engine(method: F) -> F:
    """The engine raises plain ``Exception`` on a damaged file: name the shard and the fix."""

    @functools.wraps(method)
    def wrapper(self: EdgeStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if type(exc) is not Exception:  # ours (a TypeError, a StoreError): not damage
                raise
            raise _damaged(self.path, exc) from None

    return wrapper  # type: ignore[return-value]


def _sparse(v: Any) -> qe.SparseVector:
    return qe.SparseVector(list(v.indices), list(v.values))


class EdgeStore:
    """``vacuum_min_vectors`` / ``deleted_threshold`` tune when ``optimize`` rewrites segments
    that hold deleted points (Qdrant defaults: 1000 vectors, 20% deleted). Until a segment is
    vacuumed its deleted points still count in BM25 IDF statistics, as on a Qdrant server."""

    def __init__(
        self,
        path: Path,
        dim: int,
        vacuum_min_vectors: int | None = None,
        deleted_threshold: float | None = None,
    ) -> None:
        self.path = path
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            optimizers=qe.EdgeOptimizersConfig(
                deleted_threshold=deleted_threshold, vacuum_min_vector_number=vacuum_min_vectors
            ),
        )
        try:
            if path.exists() and any(path.iterdir()):
                self._shard = qe.EdgeShard.load(str(path), config)
            else:
                self._shard = qe.EdgeShard.create(str(path), config)
                for key in INDEXED_KEYS:
                    self._shard.update(
                        qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword)
                    )
        except Exception as exc:  # the engine raises plain exceptions with its own message
            raise _damaged(path, exc) from None

    @_engine
    def upsert(self, points: Sequence[StoredPoint]) -> None:
        if not points:
            return
        self._shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(
                        id=p.id,
                        vector={DENSE: [float(x) for x in p.dense], SPARSE: _sparse(p.sparse)},
                        payload=dict(p.payload),
                    )
                    for p in points
                ]
            )
        )

    @_engine
    def delete_document(self, doc_id: str, keep: Collection[str] = ()) -> None:
        must_not = [qe.HasIdCondition(set(keep))] if keep else None
        flt = _filter(Filter.equals("doc_id", doc_id), must_not=must_not)
        assert flt is not None
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    def _request(self, q: StoreQuery) -> qe.QueryRequest:
        flt = _filter(q.filters, q.ids, groups=q.groups)
        dense = (
            qe.Query.Nearest([float(x) for x in q.dense], using=DENSE)
            if q.dense is not None
            else None
        )
        sparse = qe.Query.Nearest(_sparse(q.sparse), using=SPARSE) if q.sparse is not None else None
        if dense is not None and sparse is not None:
            fusion: Any = (
                qe.Fusion.Dbsf()
                if q.fusion is Fusion.DBSF
                else qe.Fusion.Rrf(k=q.rrf_k, weights=list(q.weights) if q.weights else None)
            )
            return qe.QueryRequest(
                limit=q.limit,
                prefetches=[
                    qe.Prefetch(limit=q.prefetch, query=dense, filter=flt),
                    qe.Prefetch(limit=q.prefetch, query=sparse, filter=flt),
                ],
                query=fusion,
                filter=flt,
                with_payload=q.with_payload,
            )
        return qe.QueryRequest(
            limit=q.limit, query=dense or sparse, filter=flt, with_payload=q.with_payload
        )

    @staticmethod
    def _points(result: list[Any]) -> list[ScoredPoint]:
        return [ScoredPoint(str(p.id), float(p.score), p.payload) for p in result]

    @_engine
    def query(self, query: StoreQuery) -> list[ScoredPoint]:
        return self._points(self._shard.query(self._request(query)))

    @_engine
    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[ScoredPoint]]:
        batch = qe.QueryBatchRequest([self._request(q) for q in queries])
        return [self._points(r) for r in self._shard.query_batch(batch)]

    @_engine
    def count(self, filters: Filter | None = None) -> int:
        return int(self._shard.count(qe.CountRequest(filter=_filter(filters), exact=True)))

    @_engine
    def scroll(
        self, limit: int, offset: Any = None, read_vectors: bool = False
    ) -> tuple[list[Record], Any]:
        points, next_offset = self._shard.scroll(
            qe.ScrollRequest(
                offset=offset, limit=limit, with_payload=True, with_vector=read_vectors
            )
        )
        return [Record(str(p.id), p.payload or {}) for p in points], next_offset

    @_engine
    def optimize(self) -> None:
        """Run the engine's optimizers (vacuum, merge, index build) until none is due."""
        self._shard.optimize()

    @_engine
    def flush(self) -> None:
        self._shard.flush()

    @_engine
    def close(self) -> None:
        self._shard.flush()
        self._shard.close()
