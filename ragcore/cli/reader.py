"""``ragcore eval reader``: SQuAD 2.0 scoring of a generator, with the gold paragraph given or
end to end over an index."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ragcore.cli.options import index_build, new_index_config, out


def add_generator_arguments(parser: Any) -> None:
    """The reader options ``reader_generator`` reads (eval reader, eval diagnose)."""
    parser.add_argument(
        "--adapter",
        default="default",
        help="adapter name or folder over the packaged SmolLM2 base, which then reads; 'none' "
        "for the bare base (default: the span reader, or the index's tuned adapter when it "
        "beat the span reader on held-out pages)",
    )
    parser.add_argument("--generator", help="another ragcore.generators plugin instead")
    parser.add_argument("--model", help="model directory (transformers) or model name (openai)")
    parser.add_argument("--endpoint", help="OpenAI-compatible base URL, for --generator openai")


def add_reader_parser(ev: Any) -> None:
    r = ev.add_parser("reader", help="SQuAD 2.0 scores of a reader (gold paragraph or end to end)")
    r.add_argument("data", type=Path, help="SQuAD 2.0 JSON")
    add_generator_arguments(r)
    r.add_argument(
        "--article",
        action="append",
        dest="articles",
        metavar="TITLE",
        help="score only these articles (repeat; default all)",
    )
    r.add_argument("--limit", type=int, help="first N questions")
    r.add_argument("--json", type=Path, help="write metrics and per-question predictions here")
    r.add_argument(
        "--index",
        type=Path,
        help="end to end: index the paragraphs here (once) and answer through ask",
    )
    index_build(r, " of the end-to-end index built")
    r.add_argument("--passages", type=int, default=3, help="end to end: passages shown")
    r.add_argument(
        "--mode",
        default="hybrid+rerank",
        help="end to end: retrieval mode (default hybrid+rerank, as ask; the retrieval-gate "
        "sweep needs rerank scores)",
    )
    r.add_argument("--threads", type=int, help="torch CPU threads")
    r.add_argument("--quiet", "-q", action="store_true")


def reader_generator(args: argparse.Namespace, index_dir: Path | None = None) -> Any:
    """The reader the options name; the default adapter is ``index_dir``'s tuned one when
    it serves (``adapters tune``, ``index_folder.serving_tuned_adapter``)."""
    from ragcore.index_folder import reader_adapter
    from ragcore.plugins import DEFAULT_GENERATOR, load_generator

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    adapter = args.adapter if index_dir is None else reader_adapter(index_dir, args.adapter)
    return load_generator(
        args.generator or DEFAULT_GENERATOR,
        args.model,
        endpoint=args.endpoint,
        adapter=None if args.generator else adapter,
    )


def cmd_reader(args: argparse.Namespace) -> int:
    from ragcore.evals.data.squad import SquadParagraphs, load_squad, split_articles
    from ragcore.evals.reader_eval import (
        latency,
        read_end_to_end,
        read_gold,
        retrieval_gate_curve,
        squad2_metrics,
    )

    articles = load_squad(args.data)
    if args.articles:
        _, articles = split_articles(articles, args.articles)
    generator = reader_generator(args)
    if args.index is None:
        predictions = read_gold(articles, generator, limit=args.limit, quiet=args.quiet)
        setting = "gold paragraph"
    else:
        from ragcore.ask import AskConfig
        from ragcore.index import Index

        with Index.open(args.index, config=new_index_config(args), create=True) as index:
            index.ingest([SquadParagraphs(args.data, articles)], quiet=args.quiet)
            config = AskConfig(passages=args.passages, mode=args.mode)
            predictions = read_end_to_end(
                articles, index, generator, config, limit=args.limit, quiet=args.quiet
            )
        setting = f"end to end ({args.mode}, {args.passages} passages)"
    result = squad2_metrics(predictions) | {
        "setting": setting,
        "generator": generator.name,
        "articles": [a.title for a in articles],
        "latency": latency(predictions),
    }
    gate = retrieval_gate_curve(predictions)
    if len(gate) > 1:  # reranked passages: what a retrieval gate would have done
        result["retrieval_gate"] = gate
    if args.json:
        rows = [
            {
                "id": p.id,
                "question": p.question,
                "golds": list(p.golds),
                "prediction": p.prediction,
                "f1": p.f1,
                "exact": p.exact,
                "retrieval_score": p.retrieval_score,
                "draft": p.draft,
                "draft_f1": p.draft_f1,
                "abstain_score": p.abstain_score,
            }
            for p in predictions
        ]
        args.json.write_text(json.dumps(result | {"predictions": rows}, indent=2) + "\n")
    m = result["metrics"]
    table = Table(title=f"{generator.name}, {setting}, {result['n']} questions (0-100)")
    for col in ("exact", "F1", "HasAns F1", "NoAns acc", "abstain rate", "p50 ms"):
        table.add_column(col, justify="right")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    table.add_row(
        fmt(m["exact"]),
        fmt(m["f1"]),
        fmt(m["hasans_f1"]),
        fmt(m["noans_acc"]),
        fmt(m["abstain_rate"]),
        fmt(result["latency"]["p50_ms"]),
    )
    out.print(table)
    if len(gate) > 1:
        best = max(gate, key=lambda row: row["f1"])  # the first (gate off) on ties
        verdict = (
            "no threshold beats the gate off"
            if best is gate[0]
            else f"best F1 {best['f1']:.1f} (NoAns {best['noans_acc']:.1f}) at "
            f"--min-rerank-score {best['min_rerank_score']:.2f}, against {gate[0]['f1']:.1f} off"
        )
        out.print(f"retrieval gate: {verdict}; every threshold is in --json")
    return 0
