"""Scoring speed: every retrieval metric for 10k queries x 100 hits (target: under 1 s), with
pytrec_eval on the same run for scale, plus bootstrap CIs and generation scoring.

    python benchmarks/scoring_speed.py [--queries 10000] [--depth 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from ragcore.evals.generation_eval import GenerationExample, score_answers
from ragcore.evals.metrics import evaluate
from ragcore.evals.retrieval_eval import default_metrics
from ragcore.evals.stats import bootstrap_cis
from rich.console import Console
from rich.table import Table

from ragcore import Answer, Chunk, Citation, Hit


def _time(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    docs = [f"d{i}" for i in range(args.docs)]
    qrels = {
        f"q{i}": {d: float(rng.choice([1, 1, 2])) for d in rng.sample(docs, rng.randint(1, 8))}
        for i in range(args.queries)
    }
    run = {}
    for q, rel in qrels.items():
        ranked = rng.sample(docs, args.depth)
        for d in rel:  # put some relevant documents in, at random ranks
            if rng.random() < 0.6:
                ranked[rng.randrange(args.depth)] = d
        run[q] = list(dict.fromkeys(ranked))
    metrics = default_metrics([10, args.depth])
    rows = []
    t = _time(lambda: evaluate(run, qrels, metrics), args.repeats)
    rows.append((f"ragcore evaluate, {len(metrics)} metrics", t))
    t = _time(lambda: evaluate(run, qrels, ["ndcg@10"]), args.repeats)
    rows.append(("ragcore evaluate, ndcg@10 only", t))
    per_query = evaluate(run, qrels, metrics)
    t = _time(
        lambda: bootstrap_cis({m: list(v.values()) for m, v in per_query.items()}), args.repeats
    )
    rows.append((f"bootstrap 95% CIs, {len(metrics)} metrics", t))
    try:
        import pytrec_eval

        int_qrels = {q: {d: int(r) for d, r in rel.items()} for q, rel in qrels.items()}
        scored = {q: {d: float(args.depth - i) for i, d in enumerate(r)} for q, r in run.items()}
        measures = {"ndcg_cut", "recall", "P", "map_cut", "recip_rank", "success", "Rprec"}
        t = _time(
            lambda: pytrec_eval.RelevanceEvaluator(int_qrels, measures).evaluate(scored),
            max(1, args.repeats // 2),
        )
        rows.append(("pytrec_eval (same run, its standard cut-offs)", t))
    except ImportError:
        pass

    text = "Pro costs $8 per user per month. Community is free."
    hits = tuple(
        Hit(Chunk(f"c{i}", f"d{i}", text, 0, len(text), metadata={"source": "s"}), 1.0, i + 1)
        for i in range(3)
    )
    examples = [
        GenerationExample(f"g{i}", "price?", ("$8 per user",) if i % 3 else ())
        for i in range(10_000)
    ]
    answers = [
        Answer("price?", "$8 per user", (Citation(1, "c0", "s"),), hits)
        if i % 2
        else Answer("price?", None, (), hits)
        for i in range(10_000)
    ]
    t = _time(lambda: score_answers(examples, answers), max(1, args.repeats // 2))
    rows.append(("score_answers, 10k answers (EM, F1, abstention, citations, CIs)", t))

    table = Table(
        title=f"scoring speed: {args.queries} queries x {args.depth} hits (median of runs)"
    )
    table.add_column("what")
    table.add_column("seconds", justify="right")
    for name, secs in rows:
        table.add_row(name, f"{secs:.3f}")
    Console().print(table)


if __name__ == "__main__":
    main()
