"""``ragcore adapters train-extractive``: the extractive span reader's recipe (the shipped
``span-reader``): hand-written gold questions over docs indexes plus template questions
synthesized from the same indexes, prompts from retrieval as ``ask`` serves them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from ragcore.cli.adapters_docs import add_gold_pairs
from ragcore.cli.options import out
from ragcore.errors import ConfigError


def add_span_parsers(asub: Any) -> None:
    t = asub.add_parser(
        "train-extractive",
        help="train the extractive span reader on gold and synthesized questions over docs",
    )
    add_gold_pairs(t)
    t.add_argument("--out", type=Path, required=True, help="reader folder to write")
    t.add_argument(
        "--synthetic",
        type=int,
        default=500,
        help="template questions synthesized from each distinct --index (default 500; 0: none)",
    )
    t.add_argument(
        "--leave-out-rate",
        type=float,
        default=0.35,
        help="share of gold questions also asked with their page left out, as abstentions",
    )
    t.add_argument(
        "--synthetic-leave-out-rate",
        type=float,
        default=0.2,
        help="the same for synthesized questions (default 0.2)",
    )
    t.add_argument("--epochs", type=float, default=2.0)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--rank", type=int, default=32, help="rank of the saved weight changes")
    t.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="abstain when sigmoid(null - span) reaches it (choose it on held-out docs with "
        "ragcore eval diagnose --generator extractive --model DIR)",
    )
    t.add_argument("--minutes", type=float, help="stop training when this budget is spent")
    t.add_argument(
        "--seed",
        type=int,
        default=0,
        help="training and synthesis seed S; the recipes draw S+1 (gold) and S+2 (synthetic)",
    )
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")


def span_examples(args: argparse.Namespace) -> tuple[list[Any], list[list[Any]]]:
    """The gold questions' examples and the synthesized ones, and a table row per set."""
    from ragcore.adapters.training.docs_recipe import DocsRecipe, docs_examples
    from ragcore.adapters.training.tune import synthetic_gold
    from ragcore.cli.adapters_docs import gold_sets
    from ragcore.index import Index

    gold_recipe = DocsRecipe(leave_out_rate=args.leave_out_rate, seed=args.seed + 1)
    synthetic_recipe = DocsRecipe(leave_out_rate=args.synthetic_leave_out_rate, seed=args.seed + 2)
    examples: list[Any] = []
    rows: list[list[Any]] = []
    for gold, index_dir, built in gold_sets(args, gold_recipe):
        examples.extend(built.examples)
        rows.append([gold.name, index_dir.name, len(built.examples)])
    if args.synthetic > 0:
        for index_dir in dict.fromkeys(args.index):
            with Index.open(index_dir) as index:
                questions = synthetic_gold(index.chunks(), args.synthetic, seed=args.seed)
                built = docs_examples(index, questions, synthetic_recipe, quiet=args.quiet)
            examples.extend(built.examples)
            rows.append(["synthesized", index_dir.name, len(built.examples)])
    return examples, rows


def cmd_train_extractive(args: argparse.Namespace) -> int:
    from ragcore.adapters.reader.extractive import ExtractiveConfig
    from ragcore.adapters.training.extractive import TrainSettings, train_extractive
    from ragcore.progress import Progress

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    settings = TrainSettings(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        minutes=args.minutes,
        rank=args.rank,
    )
    config = ExtractiveConfig(abstain_threshold=args.threshold)
    examples, rows = span_examples(args)
    if not examples:
        raise ConfigError("no training examples were built", "check the --questions files")
    with Progress(args.quiet) as progress:
        task = progress.task("training", total=None)

        def step(done: int, total: int, loss: float) -> None:
            progress.update(task, completed=done, total=total)

        run = train_extractive(examples, args.out, settings, config, on_step=step)
    table = Table(title=f"extractive reader written to {args.out}")
    for col in ("questions", "index", "examples"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table)
    out.print(
        f"{run['windows']} windows, {run['steps']} of {run['planned_steps']} steps in "
        f"{run['seconds']:.0f} s, last loss {run['last_loss']}"
    )
    return 0
