"""Answer candidates on a docs question set: how many answerable questions the reader's answer
candidate gets right (token F1 >= 0.5), before abstention, when the decoded span alone is the
answer and when it competes with the passages' inline-code units (``adapters.reader.candidates``)
at several context widths and draft bonuses. Retrieved passages as ``ask`` serves them, and
the oracle chunk as ``eval diagnose`` gives it.

    python benchmarks/answer_candidates.py benchmarks/data/pdm-docs-questions.jsonl --index pdm
    python benchmarks/answer_candidates.py ../shared/datasets/docsqa-dev/questions.jsonl \\
        --index docsqa

The PDM set chose the shipped ``CONTEXT_CHARS`` and ``DRAFT_BONUS``, with the Hatch set
(``benchmarks/data/hatch-docs-questions.jsonl``) as the tie-breaker for the bonus;
``benchmarks/docs_corpora.py`` rebuilds their corpora, and docs/reader.md has the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools

from ragcore.adapters.reader.candidates import AnswerCandidates, choose, draft_candidate
from ragcore.adapters.reader.evidence import relevance
from ragcore.evals.data.gold import load_gold
from ragcore.evals.diagnose import is_correct, oracle_hit
from rich.console import Console
from rich.table import Table

from ragcore.ask import retrieve
from ragcore.index import Index
from ragcore.plugins import load_generator
from ragcore.types import Prompt

CHARS = (20, 40, 80, 150)
BONUSES = (0.0, 1.0, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", help="gold JSON lines, as eval diagnose reads them")
    ap.add_argument("--index", required=True)
    args = ap.parse_args()
    index = Index.open(args.index)
    reader = load_generator("smollm2-135m-instruct")
    reader.config = dataclasses.replace(reader.config, candidates=AnswerCandidates.DRAFT)
    questions = [q for q in load_gold(args.questions) if q.answers]
    chunks = list(index.chunks())
    variants = [("decoded span alone", None, None)]
    variants += [
        (f"+ code units, {c} chars, bonus {b:g}", c, b)
        for c, b in itertools.product(CHARS, BONUSES)
    ]
    right = {(name, rung): 0 for name, _, _ in variants for rung in ("retrieved", "oracle")}
    for q in questions:
        oracle = oracle_hit(index, q, chunks)
        served = {
            "retrieved": retrieve(index, q.question).hits,
            "oracle": (oracle,) if oracle else (),
        }
        for rung, hits in served.items():
            prompt = Prompt.from_hits(q.question, hits)
            texts = [" ".join(p.text.split()) for p in prompt.passages]
            span = reader.reading(prompt).answer
            draft = draft_candidate(span, texts) if span else None
            for name, chars, bonus in variants:
                answer = span
                if chars is not None and span:
                    chosen = choose(q.question, draft, texts, relevance, chars=chars, bonus=bonus)
                    answer = span if chosen is None else chosen.text
                right[(name, rung)] += is_correct(answer, q.answers)
    table = Table(
        title=f"{args.questions}: answerable questions whose candidate is right, of {len(questions)}"
    )
    for col in ("answer", "retrieved", "oracle chunk"):
        table.add_column(col)
    for name, _, _ in variants:
        table.add_row(name, str(right[(name, "retrieved")]), str(right[(name, "oracle")]))
    Console().print(table)


if __name__ == "__main__":
    main()
