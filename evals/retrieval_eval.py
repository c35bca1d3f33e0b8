"""Retrieval evaluation runs on a BEIR-layout dataset: index once (cached by corpus hash and
index config), run every requested mode, score with CIs, write TREC run files."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ragcore.evals.beir import BeirDataset
from ragcore.evals.metrics import evaluate, parse_metric
from ragcore.evals.stats import bootstrap_ci, paired_randomization_test

from ragcore import Index, IndexConfig
from ragcore.types import Hit


def corpus_key(dataset: BeirDataset, config: IndexConfig) -> str:
    """Cache key: the corpus bytes and every setting that shapes the index."""
    h = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    with open(dataset.root / "corpus.jsonl", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def default_metrics(ks: Sequence[int]) -> list[str]:
    names = [f"{m}@{k}" for k in ks for m in ("ndcg", "recall", "mrr", "precision", "map")]
    return [*names, f"hit_rate@{min(ks)}", "r_precision"]


def doc_ranking(hits: Sequence[Hit]) -> list[tuple[str, float]]:
    """Chunks -> documents, each at its best chunk's position and score."""
    seen: dict[str, float] = {}
    for h in hits:
        seen.setdefault(str(h.chunk.metadata.get("beir_id", h.chunk.doc_id)), h.score)
    return list(seen.items())


def write_trec(path: Path, run: dict[str, list[tuple[str, float]]], tag: str) -> None:
    with open(path, "w") as fh:
        for q, docs in sorted(run.items()):
            for rank, (doc, score) in enumerate(docs, start=1):
                fh.write(f"{q} Q0 {doc} {rank} {score:.6f} {tag}\n")


def run_retrieval_eval(
    dataset_dir: str | Path,
    split: str,
    modes: Sequence[str],
    ks: Sequence[int],
    cache_dir: Path,
    trec_dir: Path | None = None,
    config: IndexConfig | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    ds = BeirDataset.open(dataset_dir)
    queries, qrels = ds.queries(), ds.qrels(split)
    qrels = {q: r for q, r in qrels.items() if q in queries}
    config = config or IndexConfig()
    t0 = time.perf_counter()
    index_dir = cache_dir / f"{ds.name}-{corpus_key(ds, config)}"
    with Index.open(index_dir, config=config, create=True) as index:
        report = index.ingest([ds.connector()], quiet=quiet)
        index_seconds = time.perf_counter() - t0
        depth = max(ks)
        metrics = default_metrics(ks)
        runs: dict[str, Any] = {}
        for mode in modes:
            t = time.perf_counter()
            run = {
                q: doc_ranking(index.search(queries[q], k=depth * 3, mode=mode).hits)[:depth]
                for q in sorted(qrels)
            }
            search_seconds = time.perf_counter() - t
            per_query = evaluate(
                {q: [d for d, _ in docs] for q, docs in run.items()}, qrels, metrics
            )
            cis = {m: bootstrap_ci(list(v.values())) for m, v in per_query.items()}
            runs[mode] = {
                "metrics": {m: ci.mean for m, ci in cis.items()},
                "ci95": {m: [ci.low, ci.high] for m, ci in cis.items()},
                "per_query": per_query,
                "search_ms_per_query": 1000 * search_seconds / max(len(run), 1),
            }
            if trec_dir is not None:
                trec_dir.mkdir(parents=True, exist_ok=True)
                write_trec(trec_dir / f"{mode.replace('+', '_')}.trec", run, f"ragcore-{mode}")
    return {
        "dataset": ds.name,
        "split": split,
        "n_queries": len(qrels),
        "index": {
            "path": str(index_dir),
            "cached": report.chunks_written == 0,
            "chunks_written": report.chunks_written,
            "seconds": index_seconds,
            "config": asdict(config),
        },
        "runs": runs,
    }


def compare_runs(a: dict[str, Any], b: dict[str, Any], mode_a: str, mode_b: str) -> dict[str, Any]:
    """Per-metric mean delta (b - a) and paired randomization p-value over shared queries."""
    pa, pb = a["runs"][mode_a]["per_query"], b["runs"][mode_b]["per_query"]
    out = {}
    for metric in [m for m in pa if m in pb]:
        shared = sorted(set(pa[metric]) & set(pb[metric]))
        test = paired_randomization_test(
            [pa[metric][q] for q in shared], [pb[metric][q] for q in shared]
        )
        out[metric] = asdict(test)
    return out


def threshold_failures(result: dict[str, Any], thresholds: Sequence[str]) -> list[str]:
    """``["ndcg@10=0.6"]`` -> messages for each mode whose mean falls below a threshold."""
    failures = []
    for item in thresholds:
        name, _, value = item.partition("=")
        metric = str(parse_metric(name))
        for mode, run in result["runs"].items():
            got = run["metrics"].get(metric)
            if got is None:
                failures.append(f"{mode}: {metric} was not computed (add its cut-off to --k)")
            elif got < float(value):
                failures.append(f"{mode}: {metric} = {got:.4f} < {float(value):.4f}")
    return failures
