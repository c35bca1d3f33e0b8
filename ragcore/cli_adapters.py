"""``ragcore adapters``: train, calibrate, distill, list and merge reader adapters."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ragcore.errors import ConfigError

out = Console(soft_wrap=True)


def _base(args: argparse.Namespace) -> tuple[Path, str]:
    """(model directory, name) of the base: ``--base DIR`` or the packaged SmolLM2."""
    from ragcore.adapters.base_model import BASE_NAME, base_model_dir

    if getattr(args, "base", None):
        path = Path(args.base)
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a model directory", "pass a save_pretrained folder")
        return path, path.name
    return base_model_dir(), BASE_NAME


def add_adapters_parser(sub: Any) -> None:
    p = sub.add_parser("adapters", help="train, calibrate, distill, list and merge LoRA adapters")
    asub = p.add_subparsers(dest="adapters_command", required=True)

    t = asub.add_parser("train", help="LoRA read-and-abstain training on SQuAD-style data")
    t.add_argument("--data", type=Path, required=True, help="SQuAD 2.0 JSON")
    t.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    t.add_argument(
        "--holdout",
        action="append",
        default=[],
        metavar="TITLE",
        help="article kept out of training (repeat); split by article, never by question",
    )
    t.add_argument(
        "--validate",
        action="append",
        default=[],
        metavar="TITLE",
        help="held-out article to calibrate abstention on after training (repeat)",
    )
    t.add_argument("--max-examples", type=int, help="small-subset mode: train on N examples")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--rank", type=int, default=8)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--distractor-rate", type=float, default=0.3)
    t.add_argument("--drop-gold-rate", type=float, default=0.08)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")


def cmd_adapters(args: argparse.Namespace) -> int:
    return {"train": cmd_train}[args.adapters_command](args)


def cmd_train(args: argparse.Namespace) -> int:
    from ragcore.adapters.base_model import file_sha256
    from ragcore.adapters.raft import load_squad, raft_examples, split_articles
    from ragcore.adapters.training import TrainConfig, train_adapter

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    articles = load_squad(args.data)
    held = [*args.holdout, *args.validate]
    train, _ = split_articles(articles, held)
    if not train:
        raise ConfigError("every article is held out", "hold out fewer articles")
    examples = raft_examples(
        train,
        distractor_rate=args.distractor_rate,
        drop_gold_rate=args.drop_gold_rate,
        seed=args.seed,
    )
    config = TrainConfig(
        rank=args.rank,
        alpha=2 * args.rank,
        learning_rate=args.lr,
        epochs=args.epochs,
        max_examples=args.max_examples,
        seed=args.seed,
    )
    base_dir, base_name = _base(args)
    data = {
        "path": str(args.data),
        "sha256": file_sha256(args.data),
        "train_articles": [a.title for a in train],
        "held_out_articles": held,
        "recipe": {
            "kind": "raft",
            "distractor_rate": args.distractor_rate,
            "drop_gold_rate": args.drop_gold_rate,
            "questions": len(examples),
            "abstain_targets": sum(ex.answer is None for ex in examples),
            "with_distractor": sum(len(ex.passages) > 1 for ex in examples),
        },
    }
    result = train_adapter(
        base_dir, base_name, examples, args.out, config, data=data, quiet=args.quiet
    )
    table = Table(title=f"adapter written to {result.out}")
    for col in ("examples", "skipped", "steps", "seconds", "loss first→last"):
        table.add_column(col)
    first, last = result.losses[:10], result.losses[-10:]
    table.add_row(
        str(result.examples),
        str(result.skipped),
        str(result.steps),
        f"{result.seconds:.0f}",
        f"{sum(first) / len(first):.3f} → {sum(last) / len(last):.3f}",
    )
    out.print(table)
    out.print(json.dumps({"out": str(result.out), "steps": result.steps}))
    return 0
