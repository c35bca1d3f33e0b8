"""``ragcore adapters crossfit``: train a reader and calibrate its abstention on out-of-training
readings of every training article (``adapters.crossfit``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True)


def add_crossfit_parser(asub: Any) -> None:
    from ragcore.cli_adapters import add_recipe_arguments

    x = asub.add_parser(
        "crossfit",
        help="train a reader on every training article and calibrate its abstention on fold "
        "adapters' readings of the article each did not see",
    )
    x.add_argument("--data", type=Path, required=True, help="SQuAD 2.0 JSON")
    x.add_argument("--out", type=Path, required=True, help="final adapter folder to write")
    x.add_argument(
        "--holdout",
        action="append",
        default=[],
        metavar="TITLE",
        help="article kept out of training and calibration (repeat): your test articles",
    )
    x.add_argument(
        "--folds",
        type=Path,
        help="folder for the fold adapters and their readings (default: OUT-folds beside OUT)",
    )
    x.add_argument(
        "--part",
        action="append",
        default=[],
        metavar="NAME",
        help="do only this part and stop: a fold, named by the article it holds out, or "
        "'final' (repeat; run parts in parallel processes, then once without --part)",
    )
    x.add_argument(
        "--calibrate-only",
        action="store_true",
        help="run no part: calibrate the final adapter on the folds that have read their "
        "article so far (two or more), naming the others on its card",
    )
    add_recipe_arguments(x)


def cmd_crossfit(args: argparse.Namespace) -> int:

    from ragcore.adapters.base_model import file_sha256
    from ragcore.adapters.crossfit import CrossFitConfig, finish, part_done, run_part
    from ragcore.cli_adapters import _base, train_config
    from ragcore.errors import ConfigError
    from ragcore.evals.squad_data import load_squad, split_articles

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    articles = load_squad(args.data)
    train, _ = split_articles(articles, args.holdout)
    folds = args.folds or args.out.with_name(args.out.name + "-folds")
    config = CrossFitConfig(
        file_sha256(args.data),
        tuple(a.title for a in train),
        tuple(args.holdout),
        train_config(args),
        args.distractor_rate,
        args.drop_gold_rate,
    )
    if args.part and args.calibrate_only:
        raise ConfigError("--part runs parts and --calibrate-only runs none", "pass one of the two")
    parts = args.part or config.parts
    unknown = [p for p in parts if p not in config.parts]
    if unknown:
        raise ConfigError(
            f"no part named {', '.join(unknown)}", f"parts: {', '.join(config.parts)}"
        )
    config.check_folder(folds)
    base = _base(args)
    for part in [] if args.calibrate_only else parts:
        done = part_done(config, folds, args.out, part)
        run_part(part, config, articles, args.data, folds, args.out, base, quiet=args.quiet)
        out.print(f"part {part}: {'already done' if done else 'done'}")
    if args.part:
        left = [p for p in config.parts if not part_done(config, folds, args.out, p)]
        out.print(
            f"parts left: {', '.join(left)}"
            if left
            else "every part is done: run again without --part to calibrate"
        )
        return 0
    record = finish(
        config,
        articles,
        folds,
        args.out,
        base,
        quiet=args.quiet,
        finished_folds_only=args.calibrate_only,
    )
    left_out = record["folds_left_out"]
    table = Table(
        title=f"{args.out}: abstention cross-fitted on {len(record['articles'])} articles"
        + (f" (folds not done: {', '.join(left_out)})" if left_out else "")
    )
    for col in ("article", "questions", "F1", "HasAns F1", "NoAns acc"):
        table.add_column(col, justify="right")
    rows = [*record["per_article"].items(), ("all (pooled)", record)]
    for title, row in rows:
        table.add_row(
            title,
            str(row["questions"]),
            *(
                f"{row[k]:.1f}" if row[k] is not None else "-"
                for k in ("f1", "hasans_f1", "noans_acc")
            ),
        )
    out.print(table)
    out.print(
        f"score {record['score']}, threshold {record['abstain_threshold']:.2f}; "
        f"leave-one-article-out F1 {record['leave_one_article_out_f1']}"
    )
    return 0
