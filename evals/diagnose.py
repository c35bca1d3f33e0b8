"""``diagnose``: where a RAG pipeline fails on a team's own questions.

Every gold question is asked through ``ask``'s own path, and its outcome named:

- answerable: ``correct`` (token F1 >= 0.5), ``wrong_answer``, ``reader_miss`` (abstained
  although a retrieved passage held a gold answer) or ``retrieval_miss`` (no retrieved
  passage held one, and the reply was not right);
- not in the docs: ``correct_abstention`` or ``hallucination`` (answered anyway).

The ladder asks each question twice more, with other passages: **closed-book** (none) and
**oracle** (the best chunk of the gold source, for answerable questions with a source). A
question the oracle rung answers right but retrieval does not is a *knowledge* gap (fix
retrieval); one the oracle rung also fails is a *behaviour* gap (fix the reader). This is
the diagnostic ladder of retrieval-augmented generation: hold the reader fixed and vary
what it is given (closed-book, oracle context, retrieved context), as in Lewis et al.,
"Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks" (2020) and the
closed/oracle/retrieved settings of Petroni et al., "KILT" (2021).

A generator that scores its replies (``Reply.abstain_score``) leaves an abstention score and a
draft answer on each ``Answer``; ``ragcore.selective.precision_coverage`` turns them into the
curve of answered precision against coverage over every threshold. This module scores ``Answer``
values; it never imports a generator's implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ragcore.evals.data.gold import GoldQuestion

from ragcore.answer_match import contains_span, normalize, token_f1
from ragcore.progress import Progress
from ragcore.protocols import Generator
from ragcore.selective import precision_coverage
from ragcore.types import Answer, Hit

if TYPE_CHECKING:
    from ragcore.ask import AskConfig
    from ragcore.index import Index

CORRECT_F1 = 0.5  # an answer counts as right at token F1 >= 0.5 against a gold answer


class Outcome(StrEnum):
    CORRECT = "correct"
    WRONG = "wrong_answer"
    READER_MISS = "reader_miss"
    RETRIEVAL_MISS = "retrieval_miss"
    CORRECT_ABSTENTION = "correct_abstention"
    HALLUCINATION = "hallucination"


class Rung(StrEnum):
    CLOSED_BOOK = "closed_book"
    ORACLE = "oracle"
    RETRIEVED = "retrieved"


class Gap(StrEnum):
    """What the ladder says about an answerable question."""

    NONE = "none"  # retrieved passages: answered right
    KNOWLEDGE = "knowledge"  # the oracle chunk: right; retrieved: not (retrieval's fault)
    BEHAVIOUR = "behaviour"  # the oracle chunk: not right either (the reader's fault)
    UNKNOWN = "unknown"  # no oracle rung (no source, no ladder, or the source not indexed)


def is_correct(text: str | None, golds: Sequence[str]) -> bool:
    return (
        text is not None
        and any(normalize(g) for g in golds)
        and (token_f1(text, golds) >= CORRECT_F1)
    )


def answer_in(hits: Sequence[Hit], golds: Sequence[str]) -> bool:
    """Whether some passage holds some gold answer (normalized, on token boundaries)."""
    return any(contains_span(h.chunk.text, g) for h in hits for g in golds if normalize(g))


def classify(answerable: bool, answered: bool, correct: bool, held: bool) -> Outcome:
    """The outcome of one reply; ``held``: a passage shown holds a gold answer."""
    if not answerable:
        return Outcome.HALLUCINATION if answered else Outcome.CORRECT_ABSTENTION
    if correct:
        return Outcome.CORRECT
    if not held:
        return Outcome.RETRIEVAL_MISS
    return Outcome.WRONG if answered else Outcome.READER_MISS


@dataclass(frozen=True)
class RungResult:
    answer: Answer
    correct: bool
    held: bool  # a passage shown held a gold answer
    draft_correct: bool  # the draft (the answer found, given or withheld) is right

    def to_json(self) -> dict[str, Any]:
        a = self.answer
        return {
            "answer": a.text,
            "abstain_reason": a.abstain_reason.value if a.abstain_reason else None,
            "abstain_score": a.abstain_score,
            "draft": a.draft,
            "correct": self.correct,
            "held": self.held,
            "draft_correct": self.draft_correct,
            "sources": [h.chunk.source for h in a.hits],
            "cited": [c.source for c in a.citations],
            "ms": round(a.timings_ms.get("total", a.timings_ms.get("generate", 0.0)), 1),
        }


def rung_result(question: GoldQuestion, answer: Answer) -> RungResult:
    return RungResult(
        answer,
        is_correct(answer.text, question.answers),
        answer_in(answer.hits, question.answers),
        is_correct(answer.draft, question.answers),
    )


@dataclass(frozen=True)
class Diagnosis:
    question: GoldQuestion
    rungs: Mapping[Rung, RungResult] = field(default_factory=dict)

    @property
    def outcome(self) -> Outcome:
        r = self.rungs[Rung.RETRIEVED]
        return classify(self.question.answerable, not r.answer.abstained, r.correct, r.held)

    @property
    def gap(self) -> Gap:
        if not self.question.answerable:
            return Gap.NONE
        if self.rungs[Rung.RETRIEVED].correct:
            return Gap.NONE
        oracle = self.rungs.get(Rung.ORACLE)
        if oracle is None:
            return Gap.UNKNOWN
        return Gap.KNOWLEDGE if oracle.correct else Gap.BEHAVIOUR

    def to_json(self) -> dict[str, Any]:
        q = self.question
        return {
            "id": q.id,
            "question": q.question,
            "answers": list(q.answers),
            "source": q.source,
            "outcome": self.outcome.value,
            "gap": self.gap.value,
            "rungs": {rung.value: r.to_json() for rung, r in self.rungs.items()},
        }


def oracle_hit(index: Index, question: GoldQuestion, chunks: Sequence[Any]) -> Hit | None:
    """The gold source's best chunk: among its chunks that hold a gold answer (else all of
    them), the one the index's reranker scores highest for the question."""
    if question.source is None:
        return None
    own = [c for c in chunks if question.is_source(c.source)]
    holding = [c for c in own if any(contains_span(c.text, g) for g in question.answers)]
    pool = holding or own
    if not pool:
        return None
    scores = index.reranker().score(question.question, [c.text for c in pool])
    best = max(range(len(pool)), key=lambda i: float(scores[i]))
    return Hit(pool[best], float(scores[best]), 1, {"rerank": float(scores[best])})


def diagnose(
    index: Index,
    generator: Generator,
    questions: Sequence[GoldQuestion],
    config: AskConfig | None = None,
    *,
    ladder: bool = True,
    quiet: bool = False,
    groups: Sequence[str] | None = None,
) -> list[Diagnosis]:
    """Ask every question through ``ask`` (and, with ``ladder``, closed-book and with the
    oracle chunk) and diagnose each."""
    from ragcore.ask import AskConfig, answer_passages, ask

    config = config or AskConfig()
    chunks = list(index.chunks()) if ladder else []
    results = []
    with Progress(quiet) as progress:
        task = progress.task("diagnosing", total=len(questions))
        for q in questions:
            rungs = {
                Rung.RETRIEVED: rung_result(
                    q, ask(index, generator, q.question, config, groups=groups)
                )
            }
            if ladder:
                closed = answer_passages(q.question, (), generator, config)
                rungs[Rung.CLOSED_BOOK] = rung_result(q, closed)
                if (hit := oracle_hit(index, q, chunks)) is not None:
                    oracle = answer_passages(q.question, (hit,), generator, config)
                    rungs[Rung.ORACLE] = rung_result(q, oracle)
            results.append(Diagnosis(q, rungs))
            progress.advance(task)
    return results


def _share(values: Sequence[bool]) -> float | None:
    return round(100 * sum(values) / len(values), 2) if values else None


def rung_summary(items: Sequence[tuple[GoldQuestion, RungResult]]) -> dict[str, Any]:
    """Percentages over one rung: answerable questions answered right, unanswerable ones
    abstained on, answers given that are right (answered precision), and answers given."""
    ans = [r for q, r in items if q.answerable]
    un = [r for q, r in items if not q.answerable]
    given = [r for _, r in items if not r.answer.abstained]
    return {
        "n": len(items),
        "answerable_correct": _share([r.correct for r in ans]),
        "unanswerable_abstained": _share([r.answer.abstained for r in un]),
        "answered_precision": _share([r.correct for r in given]),
        "answered": _share([not r.answer.abstained for _, r in items]),
        "answer_in_passages": _share([r.held for r in ans]),
    }


def summarize(results: Sequence[Diagnosis]) -> dict[str, Any]:
    """Outcome counts, per-rung figures, ladder gaps and the precision-coverage curve."""
    outcomes = {o.value: sum(d.outcome is o for d in results) for o in Outcome}
    rungs = {
        rung.value: rung_summary([(d.question, d.rungs[rung]) for d in results if rung in d.rungs])
        for rung in Rung
        if any(rung in d.rungs for d in results)
    }
    gaps = {g.value: sum(d.gap is g for d in results if d.question.answerable) for g in Gap}
    retrieved = [(d.question, d.rungs[Rung.RETRIEVED]) for d in results]
    curve = precision_coverage(
        [(r.answer.abstain_score, r.draft_correct, q.answerable) for q, r in retrieved]
    )
    return {
        "n": len(results),
        "n_answerable": sum(d.question.answerable for d in results),
        "outcomes": outcomes,
        "rungs": rungs,
        "gaps": gaps,
        "curve": [vars(p) for p in curve],
    }


def result_json(
    results: Sequence[Diagnosis], meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": "diagnose",
        **(meta or {}),
        "summary": summarize(results),
        "questions": [d.to_json() for d in results],
    }
