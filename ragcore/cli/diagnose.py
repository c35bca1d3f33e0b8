"""``ragcore eval diagnose``: ask a gold file's questions through ``ask`` over an index, name
each outcome, run the closed-book / oracle / retrieved ladder, and trace precision against
coverage over abstention thresholds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ragcore.cli.options import out
from ragcore.cli.reader import add_generator_arguments
from ragcore.errors import ConfigError

TARGET_PRECISION = 0.9


def add_diagnose_parser(ev: Any) -> None:
    d = ev.add_parser(
        "diagnose",
        help="where a RAG pipeline fails: outcomes per question, closed-book/oracle/retrieved "
        "ladder, precision-coverage of abstention",
    )
    d.add_argument(
        "gold",
        type=Path,
        help='JSON lines {"id","question","answers":[...],"source"?}; empty answers: not in '
        "the docs",
    )
    d.add_argument("--index", type=Path, help="the index to ask (default .ragcore or ragcore.toml)")
    d.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    add_generator_arguments(d)
    d.add_argument("--passages", type=int, default=3, help="passages shown (default 3, as ask)")
    d.add_argument("--mode", default="hybrid+rerank", help="retrieval mode (default as ask)")
    d.add_argument("--no-ladder", action="store_true", help="retrieved passages only")
    d.add_argument(
        "--target-precision",
        type=float,
        default=TARGET_PRECISION,
        help="report the threshold that reaches this answered precision (default 0.9)",
    )
    d.add_argument("--limit", type=int, help="first N questions")
    d.add_argument("--json", type=Path, help="write the summary and every question here")
    d.add_argument("--report", type=Path, help="write an HTML (.html) or markdown (.md) report")
    d.add_argument("--threads", type=int, help="torch CPU threads")
    d.add_argument("--quiet", "-q", action="store_true")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def cmd_diagnose(args: argparse.Namespace) -> int:
    from ragcore.ask import AskConfig
    from ragcore.cli.reader import reader_generator
    from ragcore.config import Settings
    from ragcore.evals.data.gold import load_gold
    from ragcore.evals.diagnose import diagnose, result_json
    from ragcore.index import Index
    from ragcore.selective import CurvePoint, operating_point

    if not 0.0 < args.target_precision <= 1.0:
        raise ConfigError(
            f"--target-precision {args.target_precision} is not in (0, 1]", "use e.g. 0.9"
        )
    if args.report is not None and args.report.suffix not in (".html", ".md"):
        raise ConfigError(f"cannot write a report to {args.report}", "name it *.html or *.md")
    questions = load_gold(args.gold)[: args.limit] if args.limit else load_gold(args.gold)
    settings = Settings.load(args.config)
    index_dir = args.index or settings.index_dir
    config = AskConfig(passages=args.passages, mode=args.mode)
    generator = reader_generator(args, index_dir)
    with Index.open(index_dir, store=settings.store, search=settings.search) as index:
        results = diagnose(
            index, generator, questions, config, ladder=not args.no_ladder, quiet=args.quiet
        )
    meta = {
        "gold": str(args.gold),
        "index": str(index_dir),
        "generator": generator.name,
        "passages": args.passages,
        "mode": args.mode,
        "target_precision": args.target_precision,
    }
    result = result_json(results, meta)
    summary = result["summary"]
    point = operating_point([CurvePoint(**p) for p in summary["curve"]], args.target_precision)
    summary["operating_point"] = None if point is None else vars(point)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.report:
        from ragcore.evals.report import build_diagnose_report

        build_diagnose_report(result, args.report)
    print_summary(result)
    return 0


def print_summary(result: dict[str, Any]) -> None:
    s = result["summary"]
    title = (
        f"{result['generator']}, {s['n']} questions ({s['n_answerable']} answerable), %: right "
        "= answerable answered right, abstained = unanswerable abstained on, precision = "
        "answers given that are right"
    )
    table = Table(title=title)
    for col in ("rung", "right", "abstained", "precision", "answered", "in passages"):
        table.add_column(col, justify="right")
    for rung, r in s["rungs"].items():
        table.add_row(
            rung,
            _pct(r["answerable_correct"]),
            _pct(r["unanswerable_abstained"]),
            _pct(r["answered_precision"]),
            _pct(r["answered"]),
            _pct(r["answer_in_passages"]),
        )
    out.print(table)
    outcomes = Table(title="outcomes (retrieved passages)")
    outcomes.add_column("outcome")
    outcomes.add_column("questions", justify="right")
    for name, count in s["outcomes"].items():
        outcomes.add_row(name, str(count))
    out.print(outcomes)
    gaps = s["gaps"]
    out.print(
        f"ladder, answerable questions not answered right: {gaps['knowledge']} knowledge "
        f"(retrieval), {gaps['behaviour']} behaviour (reader), {gaps['unknown']} without an "
        "oracle rung"
    )
    point = s.get("operating_point")
    target = 100 * result["target_precision"]
    if point is None:
        out.print(f"no abstention threshold reaches {target:.0f}% answered precision")
    else:
        out.print(
            f"at {target:.0f}% answered precision: threshold {point['threshold']:.3f}, "
            f"coverage {100 * point['coverage']:.1f}%, answerable right "
            f"{100 * (point['answerable_correct'] or 0):.1f}%"
        )
