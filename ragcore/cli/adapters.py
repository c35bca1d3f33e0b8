"""``ragcore adapters``: train, calibrate, distill, list and merge reader adapters
(``train-docs``: ``adapters_docs``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ragcore.adapters.training.distill import Unverified
from ragcore.cli.adapters_docs import (
    DOCS_TARGET_PRECISION,
    add_docs_calibration_arguments,
    add_train_docs,
    cmd_train_docs,
    docs_calibration_set,
    print_target,
)
from ragcore.cli.adapters_tune import add_tune, cmd_tune
from ragcore.cli.options import out
from ragcore.cli.span_reader import add_span_parsers, cmd_train_extractive
from ragcore.errors import ConfigError
from ragcore.plugins import DECODER_READER, SPAN_READER

if TYPE_CHECKING:
    from ragcore.adapters.training.calibration import CalibrationSet
    from ragcore.adapters.training.calibration_record import (
        Calibration,
        PrecisionTarget,
    )
    from ragcore.evals.data.squad import Article


def _base(args: argparse.Namespace) -> tuple[Path, str]:
    """(model directory, name) of the base: ``--base DIR`` or the packaged SmolLM2."""
    from ragcore.adapters.reader.base_model import BASE_NAME, base_model_dir

    if getattr(args, "base", None):
        path = Path(args.base)
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a model directory", "pass a save_pretrained folder")
        return path, path.name
    return base_model_dir(), BASE_NAME


def add_lora_arguments(parser: argparse.ArgumentParser, examples: str = "examples") -> None:
    """The LoRA hyper-parameters ``train_config`` reads (train and distill)."""
    parser.add_argument(
        "--max-examples", type=int, help=f"small-subset mode: train on N {examples}"
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=1, help="examples per forward (GPU: 16)")
    parser.add_argument("--grad-accum", type=int, default=8, help="batches per optimizer step")
    parser.add_argument("--seed", type=int, default=0)


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """The read-and-abstain recipe's options (adapters train)."""
    add_lora_arguments(parser)
    parser.add_argument("--distractor-rate", type=float, default=0.3)
    parser.add_argument("--drop-gold-rate", type=float, default=0.08)
    parser.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--quiet", "-q", action="store_true")


def add_adapters_parser(sub: Any) -> None:
    p = sub.add_parser("adapters", help="train, calibrate, distill, list and merge LoRA adapters")
    asub = p.add_subparsers(dest="adapters_command", required=True)
    _add_train(asub)
    _add_calibrate(asub)
    _add_distill(asub)
    add_span_parsers(asub)
    add_train_docs(asub, add_lora_arguments)
    add_tune(asub)
    ls = asub.add_parser(
        "list", help="the shipped span reader, and adapters shipped, cached and at given folders"
    )
    ls.add_argument("folders", nargs="*", type=Path)
    ls.add_argument(
        "--index",
        type=Path,
        help="also the index's tuned adapter (default .ragcore or ragcore.toml)",
    )
    ls.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    ls.add_argument("--json", action="store_true")
    m = asub.add_parser("merge", help="fold an adapter into its base and save a model folder")
    m.add_argument("adapter", help="adapter name or folder")
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")


def _add_train(asub: Any) -> None:
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
    t.add_argument(
        "--no-head",
        dest="head",
        action="store_false",
        help="with --validate: do not fit an abstention head on the training articles",
    )
    add_recipe_arguments(t)


def _add_calibrate(asub: Any) -> None:
    c = asub.add_parser(
        "calibrate",
        help="choose the abstention threshold on held-out SQuAD articles or on gold questions "
        "over your docs",
    )
    c.add_argument("adapter", help="adapter name or folder")
    c.add_argument("--data", type=Path, help="SQuAD 2.0 JSON (with --article)")
    c.add_argument("--article", action="append", default=[], metavar="TITLE", dest="articles")
    add_docs_calibration_arguments(c)
    c.add_argument("--limit", type=int, help="calibrate on the first N SQuAD questions")
    c.add_argument(
        "--passages",
        type=int,
        help="passages per prompt: with --article, the question's own paragraph among the "
        "article's nearest others, as ask serves them (default 1: its own paragraph alone); "
        "with --gold, the passages ask retrieves (default 3, as ask)",
    )
    c.add_argument(
        "--head-article",
        action="append",
        default=[],
        metavar="TITLE",
        dest="head_articles",
        help="fit an abstention head on this article's questions (repeat; the training ones)",
    )
    c.add_argument(
        "--no-verifier",
        dest="verifier",
        action="store_false",
        help="do not fit the answer verifier (cross-encoder check of the span's sentence)",
    )
    c.add_argument(
        "--target-precision",
        type=float,
        metavar="P",
        help="choose the threshold of most coverage whose answers are right at least this "
        "share of the time (e.g. 0.9), instead of the SQuAD 2.0 F1 peak",
    )
    c.add_argument(
        "--answerable-share",
        type=float,
        metavar="S",
        help="with --target-precision: the share of your users' questions the docs answer "
        "(e.g. 0.67; default: the calibration questions' own share)",
    )
    c.add_argument("--base", help="base model directory (default: the packaged SmolLM2)")
    c.add_argument("--quiet", "-q", action="store_true")


def _add_distill(asub: Any) -> None:
    d = asub.add_parser(
        "distill", help="label questions over your index with a teacher, verify, train a student"
    )
    d.add_argument("--index", type=Path, required=True, help="the index to draw passages from")
    d.add_argument("--out", type=Path, required=True, help="student adapter folder to write")
    d.add_argument("--teacher", default="smollm2-135m-instruct", help="a ragcore.generators plugin")
    d.add_argument("--teacher-model", help="model directory, for --teacher transformers")
    source = d.add_mutually_exclusive_group(required=True)
    source.add_argument("--questions", type=Path, help="one question per line (or JSON lines)")
    source.add_argument(
        "--synthesize", type=int, metavar="N", help="N questions from the test-set synthesis"
    )
    d.add_argument("--samples", type=int, default=3, help="teacher answers per question")
    d.add_argument("--agree", type=int, default=2, help="verified answers that must agree")
    d.add_argument("--passages", type=int, default=3)
    d.add_argument(
        "--unverified",
        choices=[u.value for u in Unverified],
        default=Unverified.DROP.value,
        help="a question the teacher answered but no cited passage holds the answer: drop it "
        "(default), or label it an abstention",
    )
    d.add_argument("--mode", default="hybrid", help="retrieval mode (default hybrid)")
    add_lora_arguments(d, "labels")
    d.add_argument("--base", help="student base model directory (default: the packaged SmolLM2)")
    d.add_argument("--quiet", "-q", action="store_true")


def cmd_adapters(args: argparse.Namespace) -> int:
    commands = {
        "train": cmd_train,
        "calibrate": cmd_calibrate,
        "list": cmd_list,
        "distill": cmd_distill,
        "merge": cmd_merge,
        "train-docs": lambda a: cmd_train_docs(a, train_config, _base),
        "tune": lambda a: cmd_tune(a, _base),
        "train-extractive": cmd_train_extractive,
    }
    return commands[args.adapters_command](args)


def _calibrate(
    args: argparse.Namespace, adapter: str | Path, titles: list[str], head_titles: list[str]
) -> Calibration:
    from ragcore.adapters.reader.registry import AdapterRegistry, resolve
    from ragcore.adapters.training.calibration import calibrate_adapter

    gold = getattr(args, "gold", None)
    target = _precision_target(args, DOCS_TARGET_PRECISION if gold else None)
    info = resolve(adapter)
    chosen, head_articles = _calibration_set(args, titles, head_titles)
    base_dir, base_name = _base(args)
    registry = AdapterRegistry(base_dir, base_name)
    reader = registry.reader(registry.load(info))
    record = calibrate_adapter(
        reader,
        info.path,
        chosen,
        head_articles=head_articles,
        verifier=getattr(args, "verifier", True),
        target=target,
        quiet=args.quiet,
    )
    titles = list(chosen.names)
    table = Table(title=f"abstention calibrated on {', '.join(titles)}")
    for col in ("questions", "score", "threshold", "F1", "NoAns acc"):
        table.add_column(col)
    point = record.point
    table.add_row(
        str(record.questions),
        record.score.value,
        f"{point.threshold:.2f}",
        f"{point.f1:.1f}" if point.f1 is not None else "-",
        f"{point.noans_acc:.1f}" if point.noans_acc is not None else "-",
    )
    out.print(table)
    if record.target is not None:
        print_target(record.target)
    return record


def _calibration_set(
    args: argparse.Namespace, titles: list[str], head_titles: list[str]
) -> tuple[CalibrationSet, list[Article]]:
    """What to calibrate on (SQuAD articles, or gold questions over docs indexes) and the
    articles to fit an abstention head on."""
    from ragcore.adapters.training.calibration import squad_set
    from ragcore.evals.data.squad import load_squad, split_articles

    gold = getattr(args, "gold", None)
    if gold and (titles or head_titles):
        raise ConfigError(
            "--gold calibrates on your docs; --article and --head-article on SQuAD",
            "run one calibration at a time (fit the head first, then --gold)",
        )
    if gold:
        return docs_calibration_set(gold, args.index, args.passages or 3, args.quiet), []
    if args.data is None or not titles:
        raise ConfigError(
            "nothing to calibrate on",
            "pass --data SQuAD.json --article TITLE, or --gold QUESTIONS --index DIR",
        )
    articles = load_squad(args.data)
    _, held = split_articles(articles, titles)
    _, head_articles = split_articles(articles, head_titles)
    passages = getattr(args, "passages", None) or 1
    return squad_set(held, passages=passages, limit=getattr(args, "limit", None)), head_articles


def _precision_target(
    args: argparse.Namespace, default: float | None = None
) -> PrecisionTarget | None:
    from ragcore.adapters.training.calibration_record import PrecisionTarget

    precision = getattr(args, "target_precision", None) or default
    share = getattr(args, "answerable_share", None)
    if precision is None:
        if share is not None:
            raise ConfigError(
                "--answerable-share weighs questions for a precision target",
                "add --target-precision, e.g. 0.9",
            )
        return None
    return PrecisionTarget(precision, share)


def train_config(args: argparse.Namespace) -> Any:
    """The LoRA hyper-parameters that train and distill share (alpha = 2 x rank)."""
    from ragcore.adapters.training.lora import TrainConfig

    return TrainConfig(
        rank=args.rank,
        alpha=2 * args.rank,
        learning_rate=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        max_examples=args.max_examples,
        seed=args.seed,
    )


def cmd_calibrate(args: argparse.Namespace) -> int:
    _calibrate(args, args.adapter, args.articles, args.head_articles)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ragcore.adapters.reader.registry import discover
    from ragcore.cli.options import settings
    from ragcore.index_folder import TUNED_NOT_SERVING, serving_tuned_adapter, tuned_adapter

    index_dir = settings(args).index_dir
    tuned, serving = tuned_adapter(index_dir), serving_tuned_adapter(index_dir)
    aside = tuned_adapter(index_dir, TUNED_NOT_SERVING)
    infos = discover([*args.folders, *(p for p in (tuned, aside) if p)])
    rows = [_span_reader_row(serving is None)] + [
        {
            "name": i.name,
            "path": str(i.path),
            "generator": DECODER_READER,
            "default": i.path == serving,
            "base": i.base,
            "base_sha256": i.base_sha256[:12],
            "calibration": i.card.get("metrics", {}).get("calibration"),
            "held_out": i.card.get("metrics", {}).get("held_out"),
        }
        for i in infos
    ]
    if args.json:
        out.print_json(json.dumps(rows))
        return 0
    table = Table(title="readers and adapters (ask reads with the default one)")
    for col in ("name", "base", "held-out F1", "NoAns acc", "path"):
        table.add_column(col)
    for row in rows:
        held = row["held_out"] or {}
        sha = f" ({row['base_sha256']})" if row["base_sha256"] else ""
        table.add_row(
            row["name"] + (" (default)" if row["default"] else ""),
            f"{row['base']}{sha}",
            f"{held['f1']:.1f}" if held.get("f1") is not None else "-",
            f"{held['noans_acc']:.1f}" if held.get("noans_acc") is not None else "-",
            row["path"],
        )
    out.print(table)
    if tuned is not None and serving is None:
        _why_not_tuned(tuned, next((i.card for i in infos if i.path == tuned), {}))
    return 0


def _why_not_tuned(tuned: Path, card: dict[str, Any]) -> None:
    """Say why the index's tuned adapter is listed but does not serve (``adapters tune``)."""
    from ragcore.adapters.training.reader_choice import ReaderChoice

    choice = ReaderChoice.from_card(card)
    if choice is None:
        return
    out.print(
        f"tuned is not the default: on its held-out pages the span reader had "
        f"{choice.span_reader.net} more right than wrong answers, the tuned reader "
        f"{choice.tuned.net} (ask --adapter {tuned} reads with it)"
    )


def _span_reader_row(default: bool) -> dict[str, Any]:
    """The shipped span reader as a row of ``adapters list``: its held-out figures are its
    card's SQuAD 2.0 test articles (gold paragraph), as the adapters' are."""
    from ragcore.adapters.reader.extractive import SHIPPED_EXTRACTIVE
    from ragcore.adapters.reader.registry import SHIPPED

    folder = SHIPPED / SHIPPED_EXTRACTIVE
    card = json.loads((folder / "training_card.json").read_text())
    squad = [v for k, v in card["measured"].items() if k.startswith("squad2")]
    return {
        "name": SHIPPED_EXTRACTIVE,
        "path": str(folder),
        "generator": SPAN_READER,
        "default": default,
        "base": card["encoder"]["name"].split(" ")[0],
        "base_sha256": "",
        "calibration": {
            "abstain_threshold": card["threshold"]["value"],
            "chosen_on": card["threshold"]["chosen_on"],
        },
        "held_out": squad[0] if squad else None,
    }


def cmd_merge(args: argparse.Namespace) -> int:
    from ragcore.adapters.reader.registry import merge_adapter

    base_dir, _ = _base(args)
    path = merge_adapter(base_dir, args.adapter, args.out)
    out.print(f"merged model written to {path} (use: --generator transformers --model {path})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ragcore.adapters.training.lora import train_on_articles
    from ragcore.evals.data.squad import load_squad, split_articles

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    held = [*args.holdout, *args.validate]
    train, _ = split_articles(load_squad(args.data), held)
    base_dir, base_name = _base(args)
    result = train_on_articles(
        base_dir,
        base_name,
        args.data,
        train,
        held,
        args.out,
        train_config(args),
        distractor_rate=args.distractor_rate,
        drop_gold_rate=args.drop_gold_rate,
        quiet=args.quiet,
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
    if args.validate:
        head_titles = [a.title for a in train] if args.head else []
        _calibrate(args, result.out, args.validate, head_titles)
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from ragcore.adapters.training.distill import (
        LABELS_FILE,
        DistillConfig,
        Verdict,
        distill_labels,
        label_counts,
        read_questions,
        write_labels,
    )
    from ragcore.adapters.training.lora import train_adapter
    from ragcore.index import Index
    from ragcore.plugins import load_generator

    config = DistillConfig(
        samples=args.samples,
        agree=args.agree,
        passages=args.passages,
        mode=args.mode,
        seed=args.seed,
        unverified=Unverified(args.unverified),
    )
    teacher = load_generator(args.teacher, args.teacher_model)
    with Index.open(args.index) as index:
        if args.questions:
            questions = read_questions(args.questions)
        else:
            from ragcore.evals.data.synthesis import TemplateQuestionGenerator, synthesize

            pairs = synthesize(
                index.chunks(), TemplateQuestionGenerator(), args.synthesize, seed=args.seed
            )
            questions = [p.question for p in pairs]
        labels = distill_labels(index, teacher, questions, config, quiet=args.quiet)
    args.out.mkdir(parents=True, exist_ok=True)
    write_labels(args.out / LABELS_FILE, labels)
    counts = label_counts(labels)
    kept = [label for label in labels if label.verdict.kept]
    table = Table(title=f"teacher {teacher.name}: {len(labels)} questions labelled")
    headers = {
        Verdict.ANSWER: "answer",
        Verdict.ABSTAIN: "abstain",
        Verdict.DROPPED: "dropped (disagreement)",
        Verdict.UNVERIFIED: "dropped (unverified answers)",
    }
    for header in headers.values():
        table.add_column(header, justify="right")
    table.add_row(*(str(counts[v.value]) for v in headers))
    out.print(table)
    if not kept:
        raise ConfigError(
            "every label was dropped: the teacher disagrees with itself, or its answers are "
            "not in the passages it cites",
            "use a teacher that cites passages as [n], lower --agree, or label unverified "
            "answers as abstentions with --unverified abstain",
        )
    base_dir, base_name = _base(args)
    train = train_config(args)
    data = {
        "kind": "verified distillation",
        "index": str(args.index),
        "teacher": teacher.name,
        "questions": str(args.questions) if args.questions else f"synthesized {args.synthesize}",
        "distill": {**config.__dict__, "labels": counts},
    }
    examples = [label.example(n) for n, label in enumerate(kept)]
    result = train_adapter(
        base_dir, base_name, examples, args.out, train, data=data, quiet=args.quiet
    )
    out.print(f"student adapter written to {result.out} ({result.examples} examples)")
    return 0
