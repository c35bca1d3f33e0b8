"""``ragcore adapters tune``: adapt the reader to an index's own documents in a time budget,
recalibrate its abstention for a target precision, and save it where ``ask`` finds it."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True)


def add_tune_parser(asub: Any) -> None:
    t = asub.add_parser(
        "tune",
        help="adapt the reader to your indexed docs (synthetic verified questions, retrieval-"
        "shaped prompts), recalibrate for a target precision, save it under the index",
    )
    t.add_argument("--index", type=Path, help="the index (default .ragcore or ragcore.toml)")
    t.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    t.add_argument("--minutes", type=float, default=30.0, help="whole run's budget (default 30)")
    t.add_argument("--questions", type=int, default=2000, help="synthesize at most N questions")
    t.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        help="share of given answers that must be right (default 0.9)",
    )
    t.add_argument(
        "--answerable-share",
        type=float,
        default=2 / 3,
        help="expected share of users' questions the docs answer (default 2/3)",
    )
    t.add_argument("--adapter", default="default", help="adapter to start from (default shipped)")
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument(
        "--epochs",
        type=int,
        default=3,
        help="at most this many passes; the time budget stops it sooner (default 3)",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")


def cmd_tune(args: argparse.Namespace) -> int:
    from ragcore.adapters.registry import DEFAULT_ADAPTER, resolve
    from ragcore.adapters.tune import TUNE_TRAINING, TuneConfig, tune
    from ragcore.cli_adapters import _base
    from ragcore.config import Settings
    from ragcore.index import Index

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    config = TuneConfig(
        minutes=args.minutes,
        questions=args.questions,
        target_precision=args.target_precision,
        answerable_share=args.answerable_share,
        seed=args.seed,
    )
    start = resolve(DEFAULT_ADAPTER if args.adapter == "default" else args.adapter)
    settings = Settings.load(args.config)
    base_dir, base_name = _base(args)
    train = replace(TUNE_TRAINING, learning_rate=args.lr, epochs=args.epochs, seed=args.seed)
    with Index.open(args.index or settings.index_dir, store=settings.store) as index:
        result = tune(index, base_dir, base_name, start.path, config, train, quiet=args.quiet)
    c = result.calibration
    table = Table(title=f"tuned adapter written to {result.out} (ask uses it for this index)")
    for col in ("train examples", "steps", "train s", "calibration", "threshold", "precision",
                "answerable right", "AUC fails"):  # fmt: skip
        table.add_column(col, justify="right")
    table.add_row(
        str(result.train_examples),
        str(result.steps),
        f"{result.train_seconds:.0f}",
        str(result.calibration_examples),
        f"{c.threshold:.3f}",
        "-" if c.point.precision is None else f"{100 * c.point.precision:.1f}%",
        f"{100 * c.point.answerable_correct:.1f}%",
        "-" if c.auc_fails is None else f"{c.auc_fails:.3f}",
    )
    out.print(table)
    if not c.target_met:
        out.print(
            f"[yellow]no threshold reached {100 * c.target_precision:.0f}% precision on the "
            "calibration questions; the threshold of best precision was kept[/]"
        )
    return 0
