"""``ask``: retrieve, rerank, hand numbered passages to a generator, parse its cited answer,
and guard it. Returns an ``Answer``; the generator is any ``Generator`` plugin."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ragcore.config import AskConfig
from ragcore.errors import ConfigError
from ragcore.grounding import GuardMode, best_supporting, support
from ragcore.protocols import Generator, Reply
from ragcore.types import AbstainReason, Answer, AnswerFlag, Citation, Hit, Prompt, ScoreKind

if TYPE_CHECKING:
    from ragcore.index import Index


def answer_from_reply(
    question: str, hits: tuple[Hit, ...], parsed: Reply, config: AskConfig
) -> Answer:
    """Apply the grounding guard to a generator's reply."""
    if parsed.answer is None:
        return Answer(question, None, (), hits, abstain_reason=AbstainReason.NO_ANSWER)
    flags: list[str] = []
    if parsed.invalid:
        flags.append(AnswerFlag.INVALID_CITATION)
    cited = list(parsed.cited)
    if not cited and (n := best_supporting(parsed.answer, hits, config.min_support)):
        cited, flags = [n], [*flags, AnswerFlag.INFERRED_CITATION]
    supported = bool(cited) and (
        support(parsed.answer, [hits[n - 1] for n in cited]) >= config.min_support
    )
    if not supported and config.guard is GuardMode.ABSTAIN:
        return Answer(question, None, (), hits, abstain_reason=AbstainReason.UNSUPPORTED)
    if not supported and config.guard is GuardMode.FLAG:
        flags.append(AnswerFlag.UNSUPPORTED)
    citations = tuple(Citation(n, hits[n - 1].chunk.id, hits[n - 1].chunk.source) for n in cited)
    return Answer(question, parsed.answer, citations, hits, flags=tuple(flags))


def answer_passages(
    question: str,
    hits: tuple[Hit, ...],
    generator: Generator,
    config: AskConfig | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Hand ``hits`` (numbered 1..n; possibly none) to the generator and guard its reply:
    what ``answer_retrieved`` does past the retrieval gate, also used to give a reader other
    passages than retrieval's (``evals.diagnose``'s closed-book and oracle rungs)."""
    config = config or AskConfig()
    first: list[float] = []

    def stream(piece: str) -> None:
        if not first:
            first.append(time.perf_counter())
        if on_token is not None:
            on_token(piece)

    t0 = time.perf_counter()
    reply = generator.answer(Prompt.from_hits(question, hits), config.max_new_tokens, stream)
    t1 = time.perf_counter()
    answer = answer_from_reply(question, hits, reply, config)
    timings = {
        "first_token": 1000 * ((first[0] if first else t1) - t0),
        "generate": 1000 * (t1 - t0),
    }
    return replace(answer, timings_ms=timings, abstain_score=reply.abstain_score, draft=reply.draft)


@dataclass(frozen=True)
class Retrieval:
    """What ``ask`` retrieved for a question, and how long it took."""

    question: str
    hits: tuple[Hit, ...]
    ms: float


def check_question(question: str) -> None:
    if not question.strip():
        raise ConfigError("the question is empty", 'ask something, e.g. ragcore ask "..."')


def retrieve(
    index: Index,
    question: str,
    config: AskConfig | None = None,
    groups: Collection[str] | None = None,
) -> Retrieval:
    """The first half of ``ask``: the passages for ``question``. ``groups``: the caller's
    access groups, as for ``Index.search`` (None: no access check); passages the caller may
    not see are never retrieved, so they cannot reach the generator."""
    config = config or AskConfig()
    check_question(question)
    t0 = time.perf_counter()
    hits = tuple(index.search(question, k=config.passages, mode=config.mode, groups=groups).hits)
    return Retrieval(question, hits, 1000 * (time.perf_counter() - t0))


def answer_retrieved(
    retrieval: Retrieval,
    generator: Generator,
    config: AskConfig | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """The second half of ``ask``: the retrieval gate, then the generator's guarded reply."""
    config = config or AskConfig()
    question, hits, ms = retrieval.question, retrieval.hits, retrieval.ms
    best = max((h.scores.get(ScoreKind.RERANK, float("-inf")) for h in hits), default=float("-inf"))
    if not hits or (config.min_rerank_score is not None and best < config.min_rerank_score):
        timings = {"retrieve": ms, "total": ms}
        return Answer(
            question, None, (), hits, AbstainReason.LOW_RETRIEVAL_SCORE, timings_ms=timings
        )
    answer = answer_passages(question, hits, generator, config, on_token)
    timings = {"retrieve": ms, **answer.timings_ms}
    timings["total"] = ms + timings["generate"]
    return replace(answer, timings_ms=timings)


def ask(
    index: Index,
    generator: Generator,
    question: str,
    config: AskConfig | None = None,
    on_token: Callable[[str], None] | None = None,
    groups: Collection[str] | None = None,
) -> Answer:
    """Answer ``question`` from ``index``: ``retrieve``, then ``answer_retrieved``.
    ``groups``: the caller's access groups, as for ``Index.search`` (None: no access check)."""
    return answer_retrieved(retrieve(index, question, config, groups), generator, config, on_token)
