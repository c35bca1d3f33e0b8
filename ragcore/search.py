"""Query execution: first stage in the engine (bm25, dense, or both fused by RRF/DBSF), then
an optional cross-encoder rerank whose order replaces or is rank-fused with the first stage."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ragcore.config import RerankFusion, SearchConfig, SearchMode
from ragcore.errors import ConfigError, EmptyIndexError, StoreError
from ragcore.fusion import reciprocal_rank_fusion
from ragcore.ledger import Ledger
from ragcore.protocols import Embedder, Reranker
from ragcore.sparse import Bm25Encoder
from ragcore.store.base import (
    TOP_LEVEL_KEYS,
    ScoredPoint,
    StoreQuery,
    VectorStore,
    records,
)
from ragcore.store.filters import Filter
from ragcore.types import Chunk, Hit, ScoreKind


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    hits: tuple[Hit, ...]
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "hits": [h.to_json() for h in self.hits],
            "timings_ms": dict(self.timings_ms),
        }


def chunk_from_payload(point_id: str, payload: Mapping[str, Any]) -> Chunk:
    return Chunk(
        id=point_id,
        doc_id=payload["doc_id"],
        text=payload["text"],
        start=int(payload["start"]),
        end=int(payload["end"]),
        heading_path=tuple(payload.get("heading_path", ())),
        metadata=dict(payload.get("metadata", {}))
        | {"source": payload["source"]}
        | ({"access": list(payload["access"])} if payload.get("access") else {}),
    )


def first_stage(
    store: VectorStore,
    embedder: Embedder | None,
    bm25: Bm25Encoder,
    query: str,
    limit: int,
    config: SearchConfig,
    filters: Filter,
    timings: dict[str, float],
    groups: tuple[str, ...] | None = None,
) -> list[tuple[ScoredPoint, dict[str, float]]]:
    """Candidates from the engine, each with the dense and BM25 scores of its own (BM25 absent
    when the chunk shares no term with the query) and, for hybrid, the fused score."""
    t0 = time.perf_counter()
    dense = None
    if config.mode in (SearchMode.DENSE, SearchMode.HYBRID):
        assert embedder is not None
        dense = embedder.embed_query(query).tolist()
    sparse = bm25.query(query) if config.mode in (SearchMode.BM25, SearchMode.HYBRID) else None
    t1 = time.perf_counter()
    timings["embed_query"] = (t1 - t0) * 1000
    common: dict[str, Any] = {"filters": filters, "groups": groups}
    if config.mode is SearchMode.HYBRID:
        weights = (config.dense_weight, config.sparse_weight)
        fused_q = StoreQuery(
            limit=limit,
            dense=dense,
            sparse=sparse,
            fusion=config.fusion,
            rrf_k=config.rrf_k,
            weights=None if weights == (1.0, 1.0) else weights,
            prefetch=config.prefetch,
            **common,
        )
        fused = store.query(fused_q)
        # Each retriever's own score for the fused hits: exact scoring of just these ids.
        ids = tuple(p.id for p in fused)
        by_dense, by_sparse = (
            store.query_batch(
                [
                    StoreQuery(limit=len(ids), dense=dense, ids=ids, with_payload=False, **common),
                    StoreQuery(
                        limit=len(ids), sparse=sparse, ids=ids, with_payload=False, **common
                    ),
                ]
            )
            if ids
            else ([], [])
        )
        d = {p.id: p.score for p in by_dense}
        s = {p.id: p.score for p in by_sparse}
        out = []
        for p in fused:
            scores = {ScoreKind.FUSED: p.score}
            if p.id in d:
                scores[ScoreKind.DENSE] = d[p.id]
            if p.id in s:
                scores[ScoreKind.BM25] = s[p.id]
            out.append((p, scores))
    else:
        name = ScoreKind.DENSE if dense is not None else ScoreKind.BM25
        points = store.query(StoreQuery(limit=limit, dense=dense, sparse=sparse, **common))
        out = [(p, {name: p.score}) for p in points]
    timings["engine"] = (time.perf_counter() - t1) * 1000
    return out


def rerank_order(
    reranker: Reranker, query: str, texts: list[str], config: SearchConfig
) -> tuple[list[int], list[float], list[float]]:
    """Order of the first ``len(texts)`` candidates after reranking, with their reranker scores
    and final scores (logit for REPLACE, weighted RRF value for RRF)."""
    logits = [float(x) for x in reranker.score(query, texts, config.rerank_max_tokens)]
    by_logit = sorted(range(len(texts)), key=lambda i: -logits[i])
    if config.rerank_fusion is RerankFusion.REPLACE:
        return by_logit, logits, [logits[i] for i in by_logit]
    fused = reciprocal_rank_fusion(
        [list(range(len(texts))), by_logit],
        k=config.rerank_rrf_k,
        weights=[1.0, config.rerank_weight],
    )
    return [i for i, _ in fused], logits, [s for _, s in fused]


def run_search(
    store: VectorStore,
    embedder: Embedder | None,
    bm25: Bm25Encoder,
    reranker: Reranker | None,
    query: str,
    k: int,
    config: SearchConfig,
    filters: Filter | None = None,
    groups: Collection[str] | None = None,
) -> SearchResult:
    """``groups``: the caller's access groups (None: no access check); the engine returns
    only chunks that are public or share one of them."""
    timings: dict[str, float] = {}
    depth = config.rerank_depth if config.rerank else 0
    candidates = first_stage(
        store,
        embedder,
        bm25,
        query,
        max(k, depth),
        config,
        filters or Filter(),
        timings,
        None if groups is None else tuple(sorted(set(groups))),
    )
    chunks = [chunk_from_payload(p.id, p.payload or {}) for p, _ in candidates]
    scores = [dict(s) for _, s in candidates]
    order = list(range(len(candidates)))  # candidate index at each final position
    final = [p.score for p, _ in candidates]  # score at each final position
    if config.rerank and reranker is not None and candidates:
        t = time.perf_counter()
        head, logits, head_scores = rerank_order(
            reranker, query, [c.text for c in chunks[:depth]], config
        )
        for i, logit in enumerate(logits):
            scores[i][ScoreKind.RERANK] = logit
        order = head + order[depth:]  # candidates past the depth keep first-stage order
        final = head_scores + final[depth:]
        timings["rerank"] = (time.perf_counter() - t) * 1000
    hits = tuple(
        Hit(chunk=chunks[i], score=final[pos], rank=pos + 1, scores=scores[i])
        for pos, i in enumerate(order[:k])
    )
    timings["total"] = sum(timings.values())
    return SearchResult(query, config.mode_name, hits, timings)


FIELD_SCAN_LIMIT = 10_000  # chunks read to tell a misspelt filter key from a rare one


def unknown_filter_keys(store: VectorStore, keys: Collection[str]) -> tuple[list[str], set[str]]:
    """The filter ``keys`` that no chunk's payload holds, and the metadata keys seen (read
    when a filtered search found nothing; the caller skips an index over
    ``FIELD_SCAN_LIMIT`` chunks)."""
    seen = {key for r in records(store) for key in r.payload.get("metadata", {}) or {}}
    unknown = [
        k for k in keys if k not in TOP_LEVEL_KEYS and k.removeprefix("metadata.") not in seen
    ]
    return unknown, seen


def explain_no_hits(store: VectorStore, ledger: Ledger, where: str, filters: Filter | None) -> None:
    """Raise the error a search with no hits owes its user, if one fits: an empty index, a
    store that lost what the ledger lists, a filter key no chunk has."""
    points = store.count()
    if points == 0:
        if ledger_chunks := ledger.counts()[1]:
            raise StoreError(
                f"the index at {where} lists {ledger_chunks} chunks but its store holds none: "
                "the shard was deleted or damaged",
                "run `ragcore check --repair` (or ingest the sources again with --rebuild)",
            )
        raise EmptyIndexError(
            f"the index at {where} holds no chunks", "ingest documents first: ragcore ingest PATH"
        )
    if filters and points <= FIELD_SCAN_LIMIT:
        unknown, seen = unknown_filter_keys(store, filters.keys())
        if unknown:
            raise ConfigError(
                f"no indexed chunk has the filter key {', '.join(map(repr, unknown))}",
                f"filter on a key the documents carry: {', '.join(sorted(TOP_LEVEL_KEYS | seen))}",
            )
