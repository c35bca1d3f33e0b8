"""How good are verified distillation labels? A teacher labels SQuAD 2.0 questions over an index
of their article's paragraphs (``adapters.distill``: k samples with the passages rotated, a
label kept when enough samples that cite a passage holding their answer agree, an abstention
when none does, dropped otherwise), and the labels are checked against the SQuAD gold answers.

A label is right when it is an answer scoring token F1 >= 0.5 against the gold answers, or an
abstention on a question none of whose gold answers occurs in the retrieved passages (it is
unanswerable, or retrieval missed its paragraph). The same run also gives the labels one
unchecked sample would have made (the teacher's reply with the passages in retrieval order),
so the table shows what the checks buy and what they cost in kept questions; and the labels
with unverified answers taken as abstentions (``--unverified abstain``) beside the default,
which drops them.

    python benchmarks/distill_labels.py --squad ../shared/datasets/squad2/dev-articles.json \
        --article 1973_oil_crisis --teacher default --teacher none --limit 120
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcore.adapters.training.distill import (
    DistillConfig,
    DistillLabel,
    Unverified,
    Verdict,
    answered,
    distill_labels,
)
from ragcore.adapters.transformers_generator import SmolLM2
from ragcore.evals.data.squad import SquadParagraphs, load_squad, split_articles
from rich.console import Console
from rich.table import Table

from ragcore.answer_match import contains_span, token_f1
from ragcore.index import Index


@dataclass(frozen=True)
class Judged:
    verdict: Verdict  # ANSWER or ABSTAIN (DROPPED labels are not judged)
    right: bool
    f1: float | None  # an answer's F1 against the gold answers


def judge(answer: str | None, golds: Sequence[str], passages: Sequence[str]) -> Judged:
    if answer is None:
        reachable = any(contains_span(p, g) for p in passages for g in golds)
        return Judged(Verdict.ABSTAIN, not reachable, None)
    f1 = token_f1(answer, list(golds)) if golds else 0.0
    return Judged(Verdict.ANSWER, f1 >= 0.5, f1)


def unchecked(label: DistillLabel) -> str | None:
    """The answer of the first sample (passages in retrieval order), taken as it is."""
    return label.replies[0].answer


def row(teacher: str, name: str, judged: Sequence[Judged], dropped: int, total: int) -> list[str]:
    answers = [j for j in judged if j.verdict is Verdict.ANSWER]
    abstains = [j for j in judged if j.verdict is Verdict.ABSTAIN]

    def pct(part: Sequence[Judged]) -> str:
        return f"{100 * sum(j.right for j in part) / len(part):.1f}" if part else "-"

    mean_f1 = f"{100 * sum(j.f1 or 0.0 for j in answers) / len(answers):.1f}" if answers else "-"
    return [
        teacher,
        name,
        f"{len(judged)}/{total}",
        str(len(answers)),
        pct(answers),
        mean_f1,
        str(len(abstains)),
        pct(abstains),
        pct(judged),
        str(dropped),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", required=True, help="SQuAD 2.0 JSON")
    ap.add_argument("--article", action="append", required=True)
    ap.add_argument(
        "--teacher",
        action="append",
        help="adapter for the packaged SmolLM2: default (squad2-reader), none (bare base, free "
        "greedy) or a folder; repeat to compare",
    )
    ap.add_argument("--limit", type=int, help="first N questions")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--agree", type=int, default=2)
    ap.add_argument("--passages", type=int, default=3)
    args = ap.parse_args()
    _, articles = split_articles(load_squad(args.squad), args.article)
    qas = [(q.text, q.answers) for a in articles for q in a.questions][: args.limit]
    # labelled once with unverified answers kept as abstentions; the default policy (drop
    # them) is that run without those labels
    config = DistillConfig(
        samples=args.samples,
        agree=args.agree,
        passages=args.passages,
        unverified=Unverified.ABSTAIN,
    )
    console = Console(width=160)
    table = Table(
        title=f"distillation labels on {', '.join(args.article)} ({len(qas)} questions, "
        f"{config.samples} samples, {config.agree} must agree, {config.mode} top {config.passages})"
    )
    for col in ("teacher", "labels", "kept", "answers", "right %", "F1", "abstentions",
                "right %", "all right %", "dropped"):  # fmt: skip
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp), create=True) as index:
        index.ingest([SquadParagraphs(args.squad, articles)], quiet=True)
        for adapter in args.teacher or ["default"]:
            teacher = SmolLM2(adapter)
            t0 = time.perf_counter()
            labels = distill_labels(index, teacher, [q for q, _ in qas], config)
            seconds = time.perf_counter() - t0
            if len(labels) != len(qas):
                raise SystemExit("a question retrieved no passage; the labels do not line up")
            single, lenient, strict, dropped, unverified = [], [], [], 0, 0
            for label, (_, golds) in zip(labels, qas, strict=True):
                texts = [t for _, t in label.passages]
                single.append(judge(unchecked(label), golds, texts))
                if label.verdict is Verdict.DROPPED:
                    dropped += 1
                    continue
                lenient.append(judge(label.answer, golds, texts))
                if label.verdict is Verdict.ABSTAIN and answered(label.replies):
                    unverified += 1  # Unverified.DROP (the default) drops it
                else:
                    strict.append(lenient[-1])
            n = len(qas)
            table.add_row(*row(teacher.name, "one sample, unchecked", single, 0, n))
            table.add_row(*row("", "verified (default)", strict, dropped + unverified, n))
            table.add_row(*row("", "verified, --unverified abstain", lenient, dropped, n))
            console.print(f"{teacher.name}: {seconds:.0f} s for {len(qas)} questions")
    console.print(table)


if __name__ == "__main__":
    main()
