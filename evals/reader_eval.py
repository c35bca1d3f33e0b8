"""Reader evaluation with SQuAD 2.0 scoring, in two settings:

- **gold paragraph** (``read_gold``): each question with its own paragraph as passage [1];
  every question is answered.
- **end to end** (``read_end_to_end``): the paragraphs are indexed and ``ask`` retrieves
  the passages, so retrieval misses count against the reader.

Scores are the official script's (Rajpurkar, Jia and Liang, 2018) on a 0-100 scale: exact
match and token F1 per question, maximized over the gold answers; an unanswerable question
counts as correct only if the reply abstains. ``hasans_*`` average over answerable
questions, ``noans_acc`` over unanswerable ones. The generator is any ``Generator`` plugin:
this module scores replies and never imports the adapters.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ragcore.evals.data.squad import Article

from ragcore.answer_match import exact_match, token_f1
from ragcore.progress import Progress
from ragcore.protocols import Generator
from ragcore.types import Passage, Prompt

if TYPE_CHECKING:
    from ragcore.ask import AskConfig
    from ragcore.index import Index


@dataclass(frozen=True)
class ReaderPrediction:
    id: str
    question: str
    golds: tuple[str, ...]  # empty: unanswerable
    prediction: str | None  # None: abstained
    seconds: float
    first_token_seconds: float | None = None
    retrieval_score: float | None = None  # end to end: best rerank score of the passages
    draft: str | None = None  # the answer found, also when withheld (Reply.draft)
    abstain_score: float | None = None  # the score compared with the reader's threshold

    @property
    def exact(self) -> float:
        return exact_match(self.prediction, self.golds)

    @property
    def f1(self) -> float:
        return token_f1(self.prediction, self.golds)

    @property
    def draft_f1(self) -> float | None:
        """The draft's F1 against the golds (None without a draft): what answering every
        question would have scored, to choose a threshold on from ``abstain_score``."""
        return None if self.draft is None else token_f1(self.draft, self.golds)


def squad2_metrics(predictions: Sequence[ReaderPrediction]) -> dict[str, Any]:
    """``{"metrics": {...}, "n": ...}`` on the 0-100 scale (None where a subset is empty)."""
    has = [p for p in predictions if p.golds]
    no = [p for p in predictions if not p.golds]

    def mean(values: list[float]) -> float | None:
        return round(100 * sum(values) / len(values), 4) if values else None

    return {
        "metrics": {
            "exact": mean([p.exact for p in predictions]),
            "f1": mean([p.f1 for p in predictions]),
            "hasans_exact": mean([p.exact for p in has]),
            "hasans_f1": mean([p.f1 for p in has]),
            "noans_acc": mean([float(p.prediction is None) for p in no]),
            "abstain_rate": mean([float(p.prediction is None) for p in predictions]),
        },
        "n": len(predictions),
        "n_hasans": len(has),
        "n_noans": len(no),
    }


def _questions(articles: Sequence[Article], limit: int | None) -> list[tuple[Article, Any]]:
    items = [(a, q) for a in articles for q in a.questions]
    return items[:limit] if limit else items


def read_gold(
    articles: Sequence[Article],
    generator: Generator,
    *,
    limit: int | None = None,
    max_new_tokens: int = 48,
    quiet: bool = False,
) -> list[ReaderPrediction]:
    """Answer every question from its own paragraph (passage [1])."""
    items = _questions(articles, limit)
    predictions = []
    with Progress(quiet) as progress:
        task = progress.task("reading", total=len(items))
        for article, q in items:
            prompt = Prompt(q.text, (Passage(article.paragraphs[q.paragraph], article.title),))
            first: list[float] = []
            t0 = time.perf_counter()
            reply = generator.answer(prompt, max_new_tokens, _first_token_clock(first))
            seconds = time.perf_counter() - t0
            predictions.append(
                ReaderPrediction(
                    q.id,
                    q.text,
                    q.answers,
                    reply.answer,
                    seconds,
                    (first[0] - t0) if first else None,
                    draft=reply.draft,
                    abstain_score=reply.abstain_score,
                )
            )
            progress.advance(task)
    return predictions


def read_end_to_end(
    articles: Sequence[Article],
    index: Index,
    generator: Generator,
    config: AskConfig,
    *,
    limit: int | None = None,
    quiet: bool = False,
) -> list[ReaderPrediction]:
    """Answer every question through ``ask`` over an index holding the paragraphs."""
    from ragcore.ask import ask

    items = _questions(articles, limit)
    predictions = []
    with Progress(quiet) as progress:
        task = progress.task("asking", total=len(items))
        for _, q in items:
            t0 = time.perf_counter()
            answer = ask(index, generator, q.text, config)
            first = answer.timings_ms.get("first_token")
            reranked = [h.scores["rerank"] for h in answer.hits if "rerank" in h.scores]
            predictions.append(
                ReaderPrediction(
                    q.id,
                    q.text,
                    q.answers,
                    answer.text,
                    time.perf_counter() - t0,
                    None if first is None else first / 1000,
                    max(reranked) if reranked else None,
                    draft=answer.draft,
                    abstain_score=answer.abstain_score,
                )
            )
            progress.advance(task)
    return predictions


def retrieval_gate_curve(
    predictions: Sequence[ReaderPrediction], steps: int = 20
) -> list[dict[str, Any]]:
    """SQuAD 2.0 metrics if ``ask``'s retrieval gate (``min_rerank_score``) had abstained
    below each threshold, from end-to-end predictions made with the gate off: thresholds at
    ``steps`` quantiles of the questions' best rerank scores (the gate off first, as None)."""
    scored = sorted(p.retrieval_score for p in predictions if p.retrieval_score is not None)
    cuts = sorted({scored[(len(scored) - 1) * i // steps] for i in range(steps)}) if scored else []
    rows = []
    for t in [None, *cuts]:
        gated = [
            replace(p, prediction=None)
            if t is not None and p.retrieval_score is not None and p.retrieval_score < t
            else p
            for p in predictions
        ]
        rows.append({"min_rerank_score": t, **squad2_metrics(gated)["metrics"]})
    return rows


def _first_token_clock(first: list[float]) -> Any:
    def mark(_: str) -> None:
        if not first:
            first.append(time.perf_counter())

    return mark


def latency(predictions: Sequence[ReaderPrediction]) -> dict[str, float | None]:
    """p50 seconds per question, and to the first streamed token."""
    firsts = [p.first_token_seconds for p in predictions if p.first_token_seconds is not None]
    return {
        "p50_ms": round(1000 * statistics.median(p.seconds for p in predictions), 1)
        if predictions
        else None,
        "p50_first_token_ms": round(1000 * statistics.median(firsts), 1) if firsts else None,
    }
