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

from ragcore.evals.data.beir import BeirDataset
from ragcore.evals.metrics import evaluate, parse_metric
from ragcore.evals.stats import bootstrap_cis, holm_adjust, paired_randomization_test

import ragcore
from ragcore import Index, IndexConfig
from ragcore.progress import Progress
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


RECALL_CURVE_KS = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 500, 1000)


def _run_key(index_key: str, search_config: Any, queries: dict[str, str], depth: int) -> str:
    """Cache key of one mode's run: index state, resolved search settings, queries, depth and
    ragcore version."""
    h = hashlib.sha256(
        json.dumps(
            [index_key, asdict(search_config), depth, ragcore.__version__],
            sort_keys=True,
            default=str,
        ).encode()
    )
    for q in sorted(queries):
        h.update(f"{q}\t{queries[q]}\n".encode())
    return h.hexdigest()[:16]


def _ranked_run(
    index: Index,
    mode: str,
    queries: dict[str, str],
    depth: int,
    index_key: str,
    use_cache: bool,
    progress: Progress,
) -> tuple[dict[str, list[tuple[str, float]]], bool]:
    """Document rankings for every query; reused from ``<index>/eval-runs`` when the index,
    the resolved search settings and the queries are unchanged."""
    key = _run_key(index_key, index.search_config_for(mode), queries, depth)
    path = index.directory / "eval-runs" / f"{key}.json"
    if use_cache and path.is_file():
        cached = json.loads(path.read_text())
        return {q: [(d, s) for d, s in docs] for q, docs in cached.items()}, True
    task = progress.task(f"searching ({mode})", total=len(queries))
    run = {}
    for q in sorted(queries):
        run[q] = doc_ranking(index.search(queries[q], k=depth * 3, mode=mode).hits)[:depth]
        progress.advance(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(run))
    tmp.replace(path)
    return run, False


def score_modes(
    index: Index,
    index_key: str,
    queries: dict[str, str],
    qrels: dict[str, dict[str, float]],
    modes: Sequence[str],
    ks: Sequence[int],
    trec_dir: Path | None = None,
    quiet: bool = False,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Run each mode over ``queries`` on an open index and score it against ``qrels``."""
    depth = max(ks)
    metrics = default_metrics(ks)
    curve_ks = [k for k in RECALL_CURVE_KS if k <= depth]
    runs: dict[str, Any] = {}
    with Progress(quiet) as progress:
        for mode in modes:
            t = time.perf_counter()
            run, cached = _ranked_run(index, mode, queries, depth, index_key, use_cache, progress)
            search_seconds = time.perf_counter() - t
            ranked = {q: [d for d, _ in docs] for q, docs in run.items()}
            per_query = evaluate(ranked, qrels, metrics)
            curve = evaluate(ranked, qrels, [f"recall@{k}" for k in curve_ks])
            cis = bootstrap_cis({m: list(v.values()) for m, v in per_query.items()})
            runs[mode] = {
                "metrics": {m: ci.mean for m, ci in cis.items()},
                "ci95": {m: [ci.low, ci.high] for m, ci in cis.items()},
                "per_query": per_query,
                "recall_curve": {
                    str(k): sum(curve[f"recall@{k}"].values()) / max(len(qrels), 1)
                    for k in curve_ks
                },
                "run_cached": cached,
                "search_ms_per_query": 1000 * search_seconds / max(len(run), 1),
            }
            if trec_dir is not None:
                trec_dir.mkdir(parents=True, exist_ok=True)
                write_trec(trec_dir / f"{mode.replace('+', '_')}.trec", run, f"ragcore-{mode}")
    return runs


def run_retrieval_eval(
    dataset_dir: str | Path,
    split: str,
    modes: Sequence[str],
    ks: Sequence[int],
    cache_dir: Path,
    trec_dir: Path | None = None,
    config: IndexConfig | None = None,
    quiet: bool = False,
    use_cache: bool = True,
    index_dir: Path | None = None,
) -> dict[str, Any]:
    """Index the corpus (or reuse the cached index), run each mode, score it.

    With ``index_dir`` the dataset needs no corpus: its queries run against that existing
    index, and qrels name ragcore document ids (as ``ragcore eval synthesize`` writes them).
    Returns the JSON-ready result: per mode, mean metrics with bootstrap 95% CIs, per-query
    scores, a mean recall@k curve and timings."""
    ds = BeirDataset.open(dataset_dir, need_corpus=index_dir is None)
    all_queries, qrels = ds.queries(), ds.qrels(split)
    qrels = {q: r for q, r in qrels.items() if q in all_queries}
    queries = {q: all_queries[q] for q in qrels}
    t0 = time.perf_counter()
    if index_dir is None:
        config = config or IndexConfig()
        key = f"{ds.name}-{corpus_key(ds, config)}"
        index = Index.open(cache_dir / key, config=config, create=True)
    else:
        index = Index.open(index_dir)
    with index:
        if index_dir is None:
            report = index.ingest([ds.connector()], quiet=quiet)
            written = report.chunks_written
        else:
            status = index.status()
            key = json.dumps([str(index_dir.resolve()), status.chunks, status.last_sync])
            written = 0
        index_seconds = time.perf_counter() - t0
        runs = score_modes(index, key, queries, qrels, modes, ks, trec_dir, quiet, use_cache)
        config = index.config
    return {
        "dataset": ds.name,
        "split": split,
        "n_queries": len(qrels),
        "synthetic": ds.synthetic,
        "index": {
            "path": str(index.directory),
            "cached": written == 0,
            "chunks_written": written,
            "seconds": index_seconds,
            "config": asdict(config),
        },
        "runs": runs,
        "seconds": time.perf_counter() - t0,
    }


def compare_runs(a: dict[str, Any], b: dict[str, Any], mode_a: str, mode_b: str) -> dict[str, Any]:
    """Per-metric mean delta (b - a) and paired randomization p-value over shared queries, with
    the Holm-adjusted p-value across the metrics compared (``p_holm``): several metrics tested
    at once would otherwise find a "significant" one by chance."""
    pa, pb = a["runs"][mode_a]["per_query"], b["runs"][mode_b]["per_query"]
    out = {}
    for metric in [m for m in pa if m in pb]:
        shared = sorted(set(pa[metric]) & set(pb[metric]))
        test = paired_randomization_test(
            [pa[metric][q] for q in shared], [pb[metric][q] for q in shared]
        )
        out[metric] = asdict(test)
    adjusted = holm_adjust([r["p_value"] for r in out.values()])
    for r, p in zip(out.values(), adjusted, strict=True):
        r["p_holm"] = p
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
