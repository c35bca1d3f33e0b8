"""``ragcore ask``: retrieve, rerank, generate a cited answer (streamed), or abstain."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from rich.markup import escape

from ragcore.ask import answer_retrieved, ask, check_question, retrieve
from ragcore.cli.options import out
from ragcore.errors import PluginError
from ragcore.grounding import GuardMode
from ragcore.index_folder import reader_adapter
from ragcore.plugins import DEFAULT_GENERATOR, GENERATOR_HELP, load_generator
from ragcore.types import AbstainReason


def add_ask_parser(sub: Any, common: Any) -> None:
    p = sub.add_parser("ask", help="answer a question from the index, citing passages")
    p.add_argument("question")
    p.add_argument("--generator", default=DEFAULT_GENERATOR, help=GENERATOR_HELP)
    p.add_argument("--model", help="model directory (transformers) or model name (openai)")
    p.add_argument(
        "--adapter",
        default="default",
        help="reader adapter over the packaged SmolLM2 base, which then reads: a name, a folder, "
        "or 'none' (default: the index's tuned adapter when it beat the span reader on held-out "
        "pages; else the span reader reads)",
    )
    p.add_argument("--endpoint", help="OpenAI-compatible base URL, for --generator openai")
    # defaults: [ask] in ragcore.toml (or RAGCORE_ASK_*), else AskConfig's
    p.add_argument("--passages", type=int, help="passages shown (default 3)")
    p.add_argument("--mode", help="retrieval mode (default hybrid+rerank)")
    p.add_argument("--guard", choices=[g.value for g in GuardMode], help="default abstain")
    p.add_argument("--min-support", type=float, help="guard: share of key tokens (default 0.6)")
    p.add_argument(
        "--min-rerank-score", type=float, help="abstain without generating below this score"
    )
    p.add_argument("--max-new-tokens", type=int, help="default 48")
    common(p)


def cmd_ask(args: argparse.Namespace, settings: Any, groups: tuple[str, ...] | None = None) -> int:
    from ragcore.index import Index

    flags = {
        "passages": args.passages,
        "mode": args.mode,
        "min_rerank_score": args.min_rerank_score,
        "guard": args.guard,
        "min_support": args.min_support,
        "max_new_tokens": args.max_new_tokens,
    }
    config = replace(settings.ask, **{k: v for k, v in flags.items() if v is not None})
    streamed: list[str] = []

    def stream_piece(piece: str) -> None:
        streamed.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()

    stream = None if args.json else stream_piece
    # The generator's imports and weights load while retrieval runs (ONNX releases the GIL;
    # a cold ask took 7.7 s one after the other, 7.2 s so: README, "Asking questions"). The
    # question is checked and the index opened first, so a mistake there fails before any load.
    check_question(args.question)
    with (
        Index.open(settings.index_dir, store=settings.store, search=settings.search) as ix,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        loading = pool.submit(
            load_generator, args.generator, args.model, endpoint=args.endpoint,
            adapter=reader_adapter(settings.index_dir, args.adapter),
        )  # fmt: skip
        retrieval = retrieve(ix, args.question, config, groups)
        generator = loading.result()
    answer = answer_retrieved(retrieval, generator, config, on_token=stream)
    if args.json:
        out.print_json(json.dumps(answer.to_json()))
        return 0
    sys.stdout.write("\n")
    if answer.abstained:
        said = "".join(streamed).strip()  # the generator may have streamed its abstention
        prefix = "" if said.lower().startswith("i don't know") else "[bold]I don't know.[/] "
        out.print(f"{prefix}({answer.abstain_reason})")
    else:
        if answer.flags:
            out.print(f"[yellow]flags:[/] {', '.join(answer.flags)}")
        out.print(f"[bold]answer:[/] {escape(answer.text or '')}")
        for c in answer.citations:
            out.print(f"  [{c.n}] {c.source}")
    t = answer.timings_ms
    out.print(
        f"[dim]retrieve {t.get('retrieve', 0):.0f} ms, first token {t.get('first_token', 0):.0f}"
        f" ms, total {t.get('total', 0):.0f} ms[/]"
    )
    return 0


ABSTAINED = {
    AbstainReason.NO_ANSWER: "no answer the reader trusts in the retrieved passages",
    AbstainReason.LOW_RETRIEVAL_SCORE: "no passage scored high enough to read",
    AbstainReason.UNSUPPORTED: "the cited passages do not support the answer",
}

DEMO_ASK = (
    "What port does the gateway admin API use?",
    "How much does the Pro plan cost per user per month when billed annually?",
    "How long does a password reset link stay valid?",
    "Is there an official Helm chart for Lumen?",  # not in the demo docs: an abstention
)


def demo_answers(index: Any, questions: Sequence[str] = DEMO_ASK) -> list[Any] | str:
    """``ask`` over the demo index with the default reader: the answers, or the reason no
    reader could be loaded (the hint to install it)."""
    try:
        generator = load_generator(DEFAULT_GENERATOR)
    except PluginError as exc:
        return f"{exc.message}; {exc.hint}" if exc.hint else exc.message
    return [ask(index, generator, q) for q in questions]


def print_answer(answer: Any) -> None:
    """One answer as ``ask`` prints it: text and citations, or the abstention."""
    out.print(f"\n[bold]Q:[/] {escape(answer.question)}")
    if answer.abstained:
        out.print(f"[bold]I don't know.[/] ({ABSTAINED[answer.abstain_reason]})")
        for h in answer.hits[:2]:
            out.print(f"  closest: {h.chunk.source}")
        return
    out.print(f"[bold]A:[/] {escape(answer.text or '')}")
    for c in answer.citations:
        out.print(f"  [{c.n}] {c.source}")
