"""SciFact retrieval quality: every mode, tuned on one half of the train queries and reported
on the other half (fixed seed), plus ingestion time vs the embedder's own encode time.

    python benchmarks/scifact.py --data ../shared/datasets/scifact --out bench-out/scifact

Indexes are cached under --out (a re-run re-syncs them: nothing is re-embedded).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from dataclasses import replace
from pathlib import Path

from ragcore.evals.data.beir import BeirDataset
from ragcore.evals.metrics.ndcg import ndcg_at_k
from ragcore.evals.metrics.recall import recall_at_k
from ragcore.evals.retrieval_eval import doc_ranking as beir_doc_ranking
from rich.console import Console
from rich.table import Table

from ragcore import Index, IndexConfig, SearchConfig
from ragcore.config import Fusion, RerankFusion, SearchMode
from ragcore.fusion import reciprocal_rank_fusion

console = Console()
DEPTH = 300  # chunks fetched per query, so that Recall@100 sees >= 100 distinct documents


def doc_ranking(hits) -> list[str]:
    return [doc for doc, _ in beir_doc_ranking(hits)]


def score(rankings: dict[str, list[str]], qrels) -> dict[str, float]:
    n = [ndcg_at_k(rankings[q], qrels[q], 10) for q in rankings]
    r = [recall_at_k(rankings[q], qrels[q], 100) for q in rankings]
    return {"ndcg@10": statistics.fmean(n), "recall@100": statistics.fmean(r)}


def first_stage(index: Index, queries, qids, config: SearchConfig) -> dict[str, list]:
    return {q: list(index.search(queries[q], k=DEPTH, **vars_of(config)).hits) for q in qids}


def vars_of(config: SearchConfig) -> dict:
    return {f: getattr(config, f) for f in config.__dataclass_fields__}


def evaluate(index, queries, qids, qrels, config) -> dict[str, float]:
    t = time.perf_counter()
    runs = first_stage(index, queries, qids, config)
    out = score({q: doc_ranking(h) for q, h in runs.items()}, qrels)
    out["ms/query"] = (time.perf_counter() - t) * 1000 / len(qids)
    return out


def rerank_logits(
    index, queries, runs, depth, tokens, cache: Path | None = None
) -> tuple[dict[str, list[float]], float]:
    """Cross-encoder logits of each query's top ``depth`` chunks, cached in ``cache`` (keyed by
    the chunk ids scored, so a changed first stage is re-scored)."""
    stored = json.loads(cache.read_text()) if cache and cache.exists() else {}
    reranker = index.reranker()
    logits, t, fresh = {}, time.perf_counter(), 0
    for q, hits in runs.items():
        key = f"{q}:{tokens}:" + ",".join(h.chunk.id[:8] for h in hits[:depth])
        if key not in stored:
            texts = [h.chunk.text for h in hits[:depth]]
            stored[key] = [float(x) for x in reranker.score(queries[q], texts, tokens)]
            fresh += 1
        logits[q] = stored[key]
    if cache:
        cache.write_text(json.dumps(stored))
    ms = (time.perf_counter() - t) * 1000 / max(fresh, 1)
    return logits, ms if fresh else float("nan")


def reranked(hits, logits, depth, fusion: RerankFusion, weight=1.0, k=10) -> list:
    head, tail = hits[:depth], hits[depth:]
    by_logit = sorted(range(len(head)), key=lambda i: -logits[i])
    if fusion is RerankFusion.REPLACE:
        order = by_logit
    else:
        order = [
            i
            for i, _ in reciprocal_rank_fusion(
                [list(range(len(head))), by_logit], k=k, weights=[1.0, weight]
            )
        ]
    return [head[i] for i in order] + tail


def table(title: str, rows: dict[str, dict[str, float]]) -> None:
    t = Table(title=title)
    t.add_column("configuration")
    keys = list(next(iter(rows.values())))
    for k in keys:
        t.add_column(k, justify="right")
    for name, r in rows.items():
        t.add_row(name, *(f"{r[k]:.4f}" if k != "ms/query" else f"{r[k]:.1f}" for k in keys))
    console.print(t)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="../shared/datasets/scifact")
    ap.add_argument("--out", default="bench-out/scifact")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-queries", type=int, default=0, help="smoke-test on fewer queries")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = BeirDataset.open(args.data)
    queries, qrels = ds.queries(), ds.qrels("train")
    qids = sorted(q for q in qrels if q in queries)
    random.Random(args.seed).shuffle(qids)
    if args.max_queries:
        qids = qids[: args.max_queries]
    tune, report = sorted(qids[: len(qids) // 2]), sorted(qids[len(qids) // 2 :])
    console.print(
        f"SciFact train: {len(qids)} queries -> tune {len(tune)} / report {len(report)} "
        f"(seed {args.seed})"
    )
    results: dict = {"tune": {}, "report": {}, "ingest": {}, "rerank": {}}

    specs = [("bge-small-en-v1.5", 256), ("bge-small-en-v1.5", 512), ("all-MiniLM-L6-v2", 256)]
    indexes: dict[str, Index] = {}
    for emb, size in specs:
        name = f"{emb}/{size}"
        cfg = IndexConfig(embedder=emb, chunk_size=size, chunk_overlap=size // 8)
        index = Index.open(out / f"idx-{emb}-{size}", config=cfg, create=True)
        rep = index.ingest([ds.connector()], quiet=args.quiet)
        if rep.chunks_written:
            results["ingest"][name] = {
                "chunks": rep.chunks_written,
                "seconds": rep.seconds,
                "embed_seconds": rep.embed_seconds,
                "ratio": rep.seconds / rep.embed_seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        st = index.status()
        console.print(
            f"{name}: {st.documents} docs, {st.chunks} chunks; ingest {rep.seconds:.1f}s "
            f"(embed {rep.embed_seconds:.1f}s)"
        )
        indexes[name] = index

    base = SearchConfig(prefetch=100)
    main_ix = indexes["bge-small-en-v1.5/256"]
    tune_rows: dict[str, dict[str, float]] = {}
    tune_rows["bm25"] = evaluate(main_ix, queries, tune, qrels, replace(base, mode=SearchMode.BM25))
    for name, ix in indexes.items():
        tune_rows[f"dense {name}"] = evaluate(
            ix, queries, tune, qrels, replace(base, mode=SearchMode.DENSE)
        )
    bge = indexes["bge-small-en-v1.5/256"].embedder
    instruction = bge.query_instruction
    bge.query_instruction = ""
    tune_rows["dense bge/256 no-instruction"] = evaluate(
        main_ix, queries, tune, qrels, replace(base, mode=SearchMode.DENSE)
    )
    tune_rows["hybrid dbsf prefetch=300 no-instruction bge/256"] = evaluate(
        main_ix, queries, tune, qrels, replace(base, fusion=Fusion.DBSF, prefetch=300)
    )
    bge.query_instruction = instruction
    grid = {
        "rrf k=2": replace(base, fusion=Fusion.RRF, rrf_k=2),
        "rrf k=10": replace(base, fusion=Fusion.RRF, rrf_k=10),
        "rrf k=60": replace(base, fusion=Fusion.RRF, rrf_k=60),
        "dbsf": replace(base, fusion=Fusion.DBSF),
        "dbsf prefetch=300": replace(base, fusion=Fusion.DBSF, prefetch=300),
        "dbsf prefetch=500": replace(base, fusion=Fusion.DBSF, prefetch=500),
        "rrf k=2 prefetch=300": replace(base, fusion=Fusion.RRF, rrf_k=2, prefetch=300),
        "rrf k=10 w=1.5/1": replace(base, fusion=Fusion.RRF, rrf_k=10, dense_weight=1.5),
        "rrf k=10 w=1/1.5": replace(base, fusion=Fusion.RRF, rrf_k=10, sparse_weight=1.5),
    }
    for name, ix in indexes.items():
        for g, cfg in grid.items():
            if name != "bge-small-en-v1.5/256" and g not in ("rrf k=10", "dbsf"):
                continue
            tune_rows[f"hybrid {g} {name}"] = evaluate(ix, queries, tune, qrels, cfg)
    table("Tuning half: first stage", tune_rows)
    results["tune"]["first_stage"] = tune_rows

    hybrid_rows = {
        k: v for k, v in tune_rows.items() if k.startswith("hybrid") and "no-instruction" not in k
    }
    best_name = max(hybrid_rows, key=lambda k: hybrid_rows[k]["ndcg@10"])
    best_index_name = best_name.rsplit(" ", 1)[1]
    best_cfg = grid[best_name.removeprefix("hybrid ").rsplit(" ", 1)[0]]
    console.print(f"best first stage on tuning half: {best_name}")
    best_ix = indexes[best_index_name]

    # Reranking: logits cached once per (depth 20, token limit), variants computed from them.
    runs = first_stage(best_ix, queries, tune, best_cfg)
    rr_rows: dict[str, dict[str, float]] = {
        "no rerank": score({q: doc_ranking(h) for q, h in runs.items()}, qrels)
    }
    latency = {}
    for tokens in (128, 256):
        logits, ms20 = rerank_logits(best_ix, queries, runs, 20, tokens, out / "rerank-cache.json")
        _, ms10 = rerank_logits(
            best_ix, queries, dict(list(runs.items())[:40]), 10, tokens, out / "rerank-cache.json"
        )
        latency[f"depth=20 tokens={tokens}"] = ms20
        latency[f"depth=10 tokens={tokens}"] = ms10
        for depth in (10, 20):
            variants = {"replace": (RerankFusion.REPLACE, 1.0, 10)}
            for w in (0.5, 1.0, 2.0):
                for k in (5, 10, 60):
                    variants[f"rrf w={w} k={k}"] = (RerankFusion.RRF, w, k)
            for vname, (fusion, w, k) in variants.items():
                ranked = {
                    q: doc_ranking(reranked(runs[q], logits[q], depth, fusion, w, k)) for q in runs
                }
                rr_rows[f"depth={depth} tokens={tokens} {vname}"] = score(ranked, qrels)
    table("Tuning half: rerank on best first stage", rr_rows)
    console.print({"rerank ms/query": latency})
    results["tune"]["rerank"] = rr_rows
    results["rerank"]["latency_ms"] = latency
    best_rr = max((k for k in rr_rows if k != "no rerank"), key=lambda k: rr_rows[k]["ndcg@10"])
    console.print(f"best rerank variant on tuning half: {best_rr}")

    # Report half: every mode with the tuned settings.
    rep_rows: dict[str, dict[str, float]] = {}
    rep_rows["bm25"] = evaluate(
        main_ix, queries, report, qrels, replace(base, mode=SearchMode.BM25)
    )
    for name, ix in indexes.items():
        rep_rows[f"dense {name}"] = evaluate(
            ix, queries, report, qrels, replace(base, mode=SearchMode.DENSE)
        )
    rep_rows[f"hybrid rrf k=10 {best_index_name}"] = evaluate(
        best_ix, queries, report, qrels, replace(best_cfg, fusion=Fusion.RRF, rrf_k=10)
    )
    rep_rows[f"hybrid rrf k=2 {best_index_name}"] = evaluate(
        best_ix, queries, report, qrels, replace(best_cfg, fusion=Fusion.RRF, rrf_k=2)
    )
    rep_rows[f"hybrid dbsf {best_index_name}"] = evaluate(
        best_ix, queries, report, qrels, replace(best_cfg, fusion=Fusion.DBSF)
    )
    rep_rows[f"hybrid best-tuned ({best_name})"] = evaluate(
        best_ix, queries, report, qrels, best_cfg
    )
    depth = int(best_rr.split("depth=")[1].split()[0])
    tokens = int(best_rr.split("tokens=")[1].split()[0])
    runs = first_stage(best_ix, queries, report, best_cfg)
    logits, ms = rerank_logits(best_ix, queries, runs, depth, tokens, out / "rerank-cache.json")
    for label, spec in (("replace", "replace"), ("tuned", best_rr.split(f"tokens={tokens} ")[1])):
        if spec == "replace":
            f, w, k = RerankFusion.REPLACE, 1.0, 10
        else:
            w = float(spec.split("w=")[1].split()[0])
            k = int(spec.split("k=")[1])
            f = RerankFusion.RRF
        ranked = {q: doc_ranking(reranked(runs[q], logits[q], depth, f, w, k)) for q in runs}
        rep_rows[f"hybrid+rerank {label} (depth={depth}, tokens={tokens}, {spec})"] = score(
            ranked, qrels
        ) | {"ms/query": ms}
    for r in rep_rows.values():
        r.setdefault("ms/query", float("nan"))
    table("Report half (held out from tuning)", rep_rows)
    results["report"] = rep_rows
    results["split"] = {"seed": args.seed, "tune": len(tune), "report": len(report)}
    (out / "results.json").write_text(json.dumps(results, indent=2))
    if results["ingest"]:
        table("Ingestion (wall vs embedder encode time)", results["ingest"])
    console.print(f"wrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
