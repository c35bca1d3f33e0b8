"""Latency on this machine: query embedding, engine hybrid query, end-to-end hybrid search at
10k and 100k chunks, qdrant-client local mode and rank-bm25 on the same data, and reranker
latency by depth and token limit (with the pipeline's overhead over the model's own time).

    python benchmarks/speed.py --data ../shared/datasets/scifact --sizes 10000,100000

Chunks: real SciFact passages (about 120 words each). ``--base`` of them are embedded for real;
larger collections repeat them with small noise on the dense vector (BM25 vectors repeat as is).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ragcore import plugins
from ragcore.config import Fusion, SearchConfig
from ragcore.search import run_search
from ragcore.sparse import Bm25Encoder
from ragcore.store.base import StoredPoint, StoreQuery
from ragcore.store.edge import EdgeStore

console = Console()


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def passages(data: Path, n: int) -> list[str]:
    out: list[str] = []
    with open(data / "corpus.jsonl") as fh:
        for line in fh:
            words = json.loads(line)["text"].split()
            for i in range(0, len(words), 120):
                if len(words[i : i + 120]) > 40:
                    out.append(" ".join(words[i : i + 120]))
            if len(out) >= n:
                break
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/datasets/scifact")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--base", type=int, default=2000, help="passages embedded for real")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--client-max", type=int, default=100000, help="largest size for qdrant-client")
    ap.add_argument("--out", default="bench-out/speed.json")
    args = ap.parse_args()
    data = Path(args.data)
    rng = np.random.default_rng(0)
    embedder = plugins.embedder("bge-small-en-v1.5")
    bm25 = Bm25Encoder()
    base = passages(data, args.base)
    t = time.perf_counter()
    base_vecs = embedder.embed_documents(base)
    console.print(f"embedded {len(base)} passages in {time.perf_counter() - t:.1f}s")
    base_sparse = [bm25.document(p) for p in base]
    with open(data / "queries.jsonl") as fh:
        queries = [json.loads(line)["text"] for line in fh][: args.queries]

    results: dict = {"sizes": {}}
    results["embed_query_p50_ms"] = p50(
        [timed(lambda q=q: embedder.embed_query(q), 1)[0] for q in queries]
    )
    qvecs = [embedder.embed_query(q).tolist() for q in queries]
    qsparse = [bm25.query(q) for q in queries]
    config = SearchConfig()  # the shipped default (hybrid, no rerank)

    for size in [int(s) for s in args.sizes.split(",")]:
        console.print(f"[bold]{size} chunks[/]")
        row: dict = {}
        idx = rng.integers(0, len(base), size)
        noise = rng.normal(0, 0.02, (size, base_vecs.shape[1])).astype(np.float32)
        vecs = base_vecs[idx] + noise
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        points = [
            StoredPoint(
                id=str(uuid.UUID(int=i + 1)),
                dense=vecs[i],
                sparse=base_sparse[j],
                payload={
                    "doc_id": f"d{i // 4}",
                    "source": f"synthetic://{i // 4}",
                    "text": base[j],
                    "start": 0,
                    "end": len(base[j]),
                    "heading_path": [],
                    "metadata": {},
                },
            )
            for i, j in enumerate(idx)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeStore(Path(tmp) / "shard", base_vecs.shape[1])
            t = time.perf_counter()
            for s in range(0, size, 1000):
                store.upsert(points[s : s + 1000])
            store.optimize()
            row["edge_upsert_s"] = time.perf_counter() - t
            hybrid = [
                StoreQuery(
                    limit=10, dense=d, sparse=sp, fusion=config.fusion, prefetch=config.prefetch
                )
                for d, sp in zip(qvecs, qsparse, strict=True)
            ]
            for q in hybrid[:5]:
                store.query(q)
            row["edge_hybrid_query_p50_ms"] = p50(
                [timed(lambda q=q: store.query(q), 1)[0] for q in hybrid]
            )
            row["edge_bm25_query_p50_ms"] = p50(
                [
                    timed(lambda s=s: store.query(StoreQuery(limit=10, sparse=s)), 1)[0]
                    for s in qsparse
                ]
            )
            row["search_e2e_p50_ms"] = p50(
                [
                    timed(lambda q=q: run_search(store, embedder, bm25, None, q, 10, config), 1)[0]
                    for q in queries
                ]
            )
            store.close()
        if size <= args.client_max:
            from ragcore.config import StoreConfig
            from ragcore.store.remote import QdrantServerStore

            client = QdrantServerStore(StoreConfig(url=":memory:"), base_vecs.shape[1])
            t = time.perf_counter()
            for s in range(0, size, 1000):
                client.upsert(points[s : s + 1000])
            row["client_upsert_s"] = time.perf_counter() - t
            few = hybrid[:20]
            row["client_hybrid_query_p50_ms"] = p50(
                [timed(lambda q=q: client.query(q), 1)[0] for q in few]
            )
            row["client_bm25_query_p50_ms"] = p50(
                [
                    timed(lambda s=s: client.query(StoreQuery(limit=10, sparse=s)), 1)[0]
                    for s in qsparse[:20]
                ]
            )
            row["client/edge hybrid"] = (
                row["client_hybrid_query_p50_ms"] / row["edge_hybrid_query_p50_ms"]
            )
            client.close()
        from rank_bm25 import BM25Okapi

        tokenized = [base[j].lower().split() for j in idx]
        bm = BM25Okapi(tokenized)
        row["rank_bm25_query_p50_ms"] = p50(
            [
                timed(lambda q=q: bm.get_top_n(q.lower().split(), tokenized, n=10), 1)[0]
                for q in queries[:20]
            ]
        )
        row["rank_bm25/edge bm25"] = row["rank_bm25_query_p50_ms"] / row["edge_bm25_query_p50_ms"]
        results["sizes"][size] = row
        del points, vecs

    # Reranker: depth x token limit; overhead = full search - first stage - model time.
    reranker = plugins.reranker("ms-marco-MiniLM-L-12-v2")
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp) / "shard", base_vecs.shape[1])
        store.upsert(
            [
                StoredPoint(
                    str(uuid.UUID(int=i + 1)),
                    base_vecs[i],
                    base_sparse[i],
                    {
                        "doc_id": f"d{i}",
                        "source": f"s://{i}",
                        "text": base[i],
                        "start": 0,
                        "end": len(base[i]),
                        "heading_path": [],
                        "metadata": {},
                    },
                )
                for i in range(len(base))
            ]
        )
        rr: dict = {}
        sample = random.Random(1).sample(queries, 15)
        for depth in (10, 20):
            for tokens in (128, 256):
                cfg = SearchConfig(rerank=True, rerank_depth=depth, rerank_max_tokens=tokens)
                first = SearchConfig(fusion=Fusion.DBSF)
                full, model, stage = [], [], []
                for q in sample:
                    texts = [
                        h.chunk.text
                        for h in run_search(store, embedder, bm25, None, q, depth, first).hits
                    ]
                    stage += timed(
                        lambda q=q: run_search(store, embedder, bm25, None, q, depth, first), 1
                    )
                    model += timed(lambda q=q, t=texts: reranker.score(q, t, tokens), 1)
                    full += timed(
                        lambda q=q, c=cfg: run_search(store, embedder, bm25, reranker, q, 10, c), 1
                    )
                rr[f"depth={depth} tokens={tokens}"] = {
                    "search_p50_ms": p50(full),
                    "model_p50_ms": p50(model),
                    "first_stage_p50_ms": p50(stage),
                    "overhead_pct": 100 * (p50(full) - p50(stage) - p50(model)) / p50(model),
                }
        results["rerank"] = rr
        store.close()
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = Table(title="Search latency (p50, ms) on this machine")
    cols = [
        "edge_hybrid_query_p50_ms",
        "search_e2e_p50_ms",
        "edge_bm25_query_p50_ms",
        "client_hybrid_query_p50_ms",
        "client/edge hybrid",
        "rank_bm25_query_p50_ms",
        "rank_bm25/edge bm25",
        "edge_upsert_s",
    ]
    labels = {
        "edge_hybrid_query_p50_ms": "edge hybrid",
        "search_e2e_p50_ms": "search e2e",
        "edge_bm25_query_p50_ms": "edge bm25",
        "client_hybrid_query_p50_ms": "client hybrid",
        "client/edge hybrid": "client/edge",
        "rank_bm25_query_p50_ms": "rank-bm25",
        "rank_bm25/edge bm25": "rank-bm25/edge",
        "edge_upsert_s": "upsert s",
    }
    t.add_column("chunks")
    for c in cols:
        t.add_column(labels[c], justify="right")
    for size, row in results["sizes"].items():
        t.add_row(str(size), *(f"{row[c]:.2f}" if c in row else "-" for c in cols))
    console.print(t)
    console.print(f"query embedding p50: {results['embed_query_p50_ms']:.2f} ms")
    t = Table(title="Rerank latency (p50, ms)")
    for c in ("setting", "search", "model", "first stage", "overhead %"):
        t.add_column(c, justify="right")
    for k, v in results["rerank"].items():
        t.add_row(
            k,
            f"{v['search_p50_ms']:.0f}",
            f"{v['model_p50_ms']:.0f}",
            f"{v['first_stage_p50_ms']:.1f}",
            f"{v['overhead_pct']:.1f}",
        )
    console.print(t)
    console.print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
