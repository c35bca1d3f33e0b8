"""``ragcore adapters tune``: adapt the SmolLM2 reader to the documents of an index, within a
budget, and save it under the index, where ``ask`` reads with it when it answered the held-out
pages better than the span reader."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ragcore.cli.adapters_docs import add_start_argument, print_target
from ragcore.cli.options import out, settings

if TYPE_CHECKING:
    from ragcore.adapters.training.reader_choice import ReaderChoice


def add_tune(asub: Any) -> None:
    t = asub.add_parser(
        "tune",
        help="adapt the SmolLM2 reader to your docs: questions synthesized from the index, "
        "training, recalibration; ask over the index then reads with it if it beat the span "
        "reader on the held-out pages",
    )
    t.add_argument("--index", type=Path, help="index directory (default .ragcore or ragcore.toml)")
    t.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    t.add_argument(
        "--minutes", type=float, default=30.0, help="time budget for the whole run (default 30)"
    )
    add_start_argument(t)
    t.add_argument(
        "--questions", type=int, default=800, help="questions synthesized at most (default 800)"
    )
    t.add_argument(
        "--calibration-questions",
        type=int,
        default=120,
        help="of them, on pages kept out of training, to recalibrate on (default 120)",
    )
    t.add_argument(
        "--target-precision",
        type=float,
        default=0.9,
        metavar="P",
        help="answered precision the threshold aims at (default 0.9)",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")


def cmd_tune(args: argparse.Namespace, base: Any) -> int:
    from ragcore.adapters.reader.registry import resolve
    from ragcore.adapters.training.tune import TuneConfig, tune
    from ragcore.index import Index

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    config = TuneConfig(
        minutes=args.minutes,
        questions=args.questions,
        calibration_questions=args.calibration_questions,
        target_precision=args.target_precision,
        seed=args.seed,
    )
    s = settings(args)
    start = resolve(args.start).path

    def open_index() -> Any:
        return Index.open(s.index_dir, store=s.store, search=s.search)

    result = tune(open_index, s.index_dir, start, base(args), config, quiet=args.quiet)
    table = Table(title=f"reader tuned for {s.index_dir} (continued from {start.name})")
    cols = ("questions", "train / calibrate", "examples", "trained on", "threshold", "minutes")
    for col in cols:
        table.add_column(col, justify="right")
    split = result.split
    table.add_row(
        str(result.synthesized),
        f"{len(split.train)} / {len(split.calibration)}",
        str(result.train_examples),
        str(result.trained_on),
        f"{result.calibration.point.threshold:.2f}",
        f"{result.seconds / 60:.1f}",
    )
    out.print(table)
    if result.calibration.target is not None:
        print_target(result.calibration.target)
    _print_choice(result.choice, result.out, s.index_dir)
    return 0


def _print_choice(choice: ReaderChoice, adapter: Path, index_dir: Path) -> None:
    from ragcore.index_folder import TUNED_ADAPTER, ServingReader
    from ragcore.plugins import SPAN_READER

    table = Table(title="held-out pages, each reader at its threshold")
    for col in ("reader", "right", "wrong", "abstained", "right - wrong"):
        table.add_column(col, justify="right")
    for name, tally in (("tuned", choice.tuned), ("span reader", choice.span_reader)):
        row = (tally.right, tally.wrong, tally.abstained, tally.net)
        table.add_row(name, *map(str, row))
    out.print(table)
    compare = (
        f"Compare the two on your own questions: ragcore eval diagnose GOLD --index "
        f"{index_dir}, with --adapter {adapter} and with --generator {SPAN_READER}."
    )
    if choice.chosen is ServingReader.TUNED:
        out.print(
            f"saved to {adapter}: ask and serve over this index now read with the SmolLM2 "
            f"reader and this adapter instead of the span reader. {compare} Delete that "
            "folder to go back to the span reader."
        )
    elif adapter != index_dir / TUNED_ADAPTER:
        out.print(
            f"saved to {adapter}, but ask and serve over this index keep the tuned adapter "
            f"that serves it now, {index_dir / TUNED_ADAPTER}: the new one did not answer the "
            f"held-out pages better than the span reader. Ask with --adapter {adapter} to read "
            f"with it anyway. {compare}"
        )
    else:
        out.print(
            f"saved to {adapter}, but ask and serve over this index keep the span reader: the "
            f"tuned reader did not answer the held-out pages better. Ask with --adapter "
            f"{adapter} to read with it anyway. {compare}"
        )
