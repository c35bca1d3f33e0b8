"""``ragcore adapters train-docs``: continue a reader's training on gold questions over docs;
and ``adapters calibrate --gold --index``: calibrate its abstention on such questions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ragcore.cli.options import out
from ragcore.errors import ConfigError

if TYPE_CHECKING:
    from ragcore.adapters.training.calibration_record import TargetRecord

DEFAULT_START = "squad2-reader"
# calibrating on docs aims at answers right this share of the time (issue 17's deployment bar)
DOCS_TARGET_PRECISION = 0.9


def add_start_argument(parser: Any) -> None:
    """``--from``: the adapter whose LoRA training continues (train-docs, tune)."""
    parser.add_argument(
        "--from",
        dest="start",
        default=DEFAULT_START,
        help=f"adapter to continue from (default {DEFAULT_START})",
    )


def add_gold_pairs(parser: Any) -> None:
    """``--questions GOLD --index DIR``, repeated in pairs (train-docs, train-extractive)."""
    parser.add_argument(
        "--questions",
        action="append",
        type=Path,
        required=True,
        metavar="GOLD",
        help="gold questions (eval diagnose's JSON lines) over the --index of the same position "
        "(repeat both, in pairs)",
    )
    parser.add_argument("--index", action="append", type=Path, required=True, metavar="DIR")


def add_train_docs(asub: Any, add_lora_arguments: Any) -> None:
    t = asub.add_parser(
        "train-docs",
        help="continue a reader's LoRA on gold questions over your docs, prompts from retrieval",
    )
    add_gold_pairs(t)
    t.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    add_start_argument(t)
    t.add_argument(
        "--leave-out-rate",
        type=float,
        default=0.35,
        help="share of answerable questions also asked with their own page left out of "
        "retrieval, as abstentions (default 0.35)",
    )
    t.add_argument("--replay-data", type=Path, help="SQuAD 2.0 JSON to mix in (keeps SQuAD)")
    t.add_argument(
        "--replay-article",
        action="append",
        default=[],
        metavar="TITLE",
        help="article of --replay-data to draw from (repeat; the start adapter's own)",
    )
    t.add_argument("--replay", type=int, default=150, help="SQuAD questions mixed in")
    add_lora_arguments(t)
    t.set_defaults(lr=1e-4)  # continued training: a third of a fresh LoRA's rate
    t.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--quiet", "-q", action="store_true")


def add_docs_calibration_arguments(c: Any) -> None:
    c.add_argument(
        "--gold",
        action="append",
        type=Path,
        metavar="QUESTIONS",
        help="calibrate on these gold questions (eval diagnose's JSON lines) asked of the --index "
        "of the same position as ask asks them (repeat both, in pairs); the threshold aims at "
        f"--target-precision (default {DOCS_TARGET_PRECISION})",
    )
    c.add_argument("--index", action="append", type=Path, metavar="DIR")


def pairs(gold: list[Path], indexes: list[Path] | None, flag: str) -> list[tuple[Path, Path]]:
    indexes = indexes or []
    if len(gold) != len(indexes):
        raise ConfigError(
            f"{len(gold)} {flag} for {len(indexes)} --index",
            f"pass one --index per {flag} file, in the same order",
        )
    return list(zip(gold, indexes, strict=True))


def docs_calibration_set(
    gold: list[Path], indexes: list[Path] | None, passages: int, quiet: bool
) -> Any:
    """The calibration set of each gold file's questions over its index, as ask retrieves."""
    from ragcore.adapters.reader.verifier import VerifierFeature
    from ragcore.adapters.training.calibration import CalibrationSet
    from ragcore.adapters.training.calibration_record import CalibratedOn
    from ragcore.adapters.training.docs_recipe import served_examples
    from ragcore.evals.data.gold import load_gold
    from ragcore.index import Index

    examples: list[Any] = []
    for path, index_dir in pairs(gold, indexes, "--gold"):
        with Index.open(index_dir) as index:
            examples.extend(
                served_examples(
                    index, load_gold(path), passages=passages, name=path.stem, quiet=quiet
                )
            )
    return CalibrationSet(
        tuple(examples),
        tuple(p.stem for p in gold),
        passages,
        CalibratedOn.DOCS,
        extra_features=(VerifierFeature.PASSAGE_RELEVANCE,),
    )


def gold_sets(args: argparse.Namespace, recipe: Any) -> list[tuple[Path, Path, Any]]:
    """Each ``--questions`` file with its ``--index`` and the examples ``docs_examples``
    builds from them with ``recipe`` (train-docs, train-extractive)."""
    from ragcore.adapters.training.docs_recipe import docs_examples
    from ragcore.evals.data.gold import load_gold
    from ragcore.index import Index

    built = []
    for gold, index_dir in pairs(args.questions, args.index, "--questions"):
        questions = load_gold(gold)
        with Index.open(index_dir) as index:
            built.append(
                (gold, index_dir, docs_examples(index, questions, recipe, quiet=args.quiet))
            )
    return built


def _docs_examples(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any]]:
    from ragcore.adapters.training.docs_recipe import DocsRecipe

    recipe = DocsRecipe(leave_out_rate=args.leave_out_rate, seed=args.seed)
    built = gold_sets(args, recipe)
    examples = [e for _, _, b in built for e in b.examples]
    sets = [{"questions": str(g), "index": str(i), **vars(b.counts)} for g, i, b in built]
    return examples, {"kind": "docs", "leave_out_rate": recipe.leave_out_rate, "sets": sets}


def _replay(args: argparse.Namespace) -> tuple[list[Any], dict[str, Any] | None]:
    import random

    from ragcore.adapters.reader.base_model import file_sha256
    from ragcore.adapters.training.raft import serving_examples
    from ragcore.evals.data.squad import load_squad

    if args.replay_data is None:
        return [], None
    titles = set(args.replay_article)
    articles = [a for a in load_squad(args.replay_data) if not titles or a.title in titles]
    if missing := titles - {a.title for a in articles}:
        raise ConfigError(
            f"no article {sorted(missing)} in {args.replay_data}", "check --replay-article"
        )
    pool = serving_examples(articles, passages=3, seed=args.seed)
    random.Random(args.seed).shuffle(pool)
    chosen = pool[: args.replay]
    record = {
        "path": str(args.replay_data),
        "sha256": file_sha256(args.replay_data),
        "articles": [a.title for a in articles],
        "questions": len(chosen),
    }
    return chosen, record


def cmd_train_docs(args: argparse.Namespace, train_config: Any, base: Any) -> int:
    from ragcore.adapters.reader.registry import resolve
    from ragcore.adapters.training.lora import train_adapter

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    start = resolve(args.start).path
    examples, data = _docs_examples(args)
    replay, replay_record = _replay(args)
    if replay_record is not None:
        data["replay"] = replay_record
    base_dir, base_name = base(args)
    result = train_adapter(
        base_dir,
        base_name,
        [*examples, *replay],
        args.out,
        train_config(args),
        data=data,
        quiet=args.quiet,
        start=start,
    )
    table = Table(title=f"adapter written to {result.out} (continued from {start.name})")
    for col in ("docs examples", "abstentions", "SQuAD replay", "skipped", "steps", "seconds"):
        table.add_column(col)
    table.add_row(
        str(len(examples)),
        str(sum(e.answer is None for e in examples)),
        str(len(replay)),
        str(result.skipped),
        str(result.steps),
        f"{result.seconds:.0f}",
    )
    out.print(table)
    out.print(
        f"its abstention is still {start.name}'s: refit it with "
        f"ragcore adapters calibrate {result.out} --data dev-articles.json --article TITLE "
        "--passages 3"
    )
    return 0


def print_target(record: TargetRecord) -> None:
    target = record.target
    share = (
        "" if target.answerable_share is None else f" at {target.answerable_share:.0%} answerable"
    )
    aim = f"{target.precision:.0%} answered precision{share}"
    point = record.chosen
    if point is None or point.precision is None:
        out.print(
            f"no threshold reaches {aim}: kept the F1 peak's threshold (the card records the curve)"
        )
        return
    chosen = (
        f"threshold {point.threshold:.2f} for {aim}:"
        if record.reached
        else f"no threshold reaches {aim} with 95% confidence: threshold "
        f"{point.threshold:.2f}, the most supported,"
    )
    out.print(
        f"{chosen} answers {point.coverage:.0%} of questions, {point.precision:.0%} of them right "
        f"(at least {point.precision_lower:.0%}, 95% confidence)"
    )
