"""Reader examples shaped like serving, from gold questions over a docs index.

The read-and-abstain recipe for documentation (RAFT, Zhang et al. 2024, with retrieval as the
distractor source): each question is retrieved exactly as ``ask`` retrieves it, and becomes

- **answerable**: the retrieved passages, the target the first gold answer found verbatim in
  one of them, cited by that passage's number. When retrieval missed the answer, the best
  chunk of the question's own page that holds it (by the index's reranker) replaces a passage
  at a random position, so the gold passage is seen at every position;
- **left out** (for a share of the answerable questions): the same question with its own page
  left out of retrieval, the target an abstention, kept only when no other page's passages
  hold a gold answer: the "not in the docs" of a support bot, whose passages are near misses;
- **not in the docs** (questions with no answers): the retrieved passages, abstaining.

Answers must be exact substrings of a passage, because the reader copies spans verbatim.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragcore.adapters.training.raft import ReaderExample
from ragcore.evals.data.gold import GoldQuestion

from ragcore.answer_match import contains_span
from ragcore.ask import AskConfig, retrieve
from ragcore.errors import ConfigError
from ragcore.index import Index
from ragcore.progress import Progress
from ragcore.types import Chunk, Hit


@dataclass(frozen=True)
class DocsRecipe:
    """``pool`` hits are searched so that ``passages`` remain once the page is left out."""

    passages: int = 3
    leave_out_rate: float = 0.35
    pool: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.passages <= self.pool:
            raise ConfigError(
                f"passages={self.passages}, pool={self.pool}: need 1 <= passages <= pool",
                "use passages 3 (as ask) and pool 10",
            )
        if not 0.0 <= self.leave_out_rate <= 1.0:
            raise ConfigError(f"leave_out_rate={self.leave_out_rate}", "use a share in [0, 1]")


@dataclass(frozen=True)
class RecipeCounts:
    retrieved: int = 0  # answerable, the answer in the retrieved passages
    placed: int = 0  # answerable, the page's best chunk put among them
    no_verbatim: int = 0  # answerable but no chunk of its page holds an answer verbatim: skipped
    left_out: int = 0  # abstentions: the question's page left out of retrieval
    not_in_docs: int = 0  # abstentions: questions the docs do not answer


@dataclass(frozen=True)
class DocsExamples:
    examples: tuple[ReaderExample, ...]
    counts: RecipeCounts = field(default_factory=RecipeCounts)


def _pair(chunk: Chunk) -> tuple[str, str]:
    return (" > ".join(chunk.heading_path), chunk.text)


def _verbatim(text: str, golds: Sequence[str]) -> str | None:
    """The first gold answer that occurs in ``text`` character for character, on token
    boundaries."""
    return next((g for g in golds if g in text and contains_span(text, g)), None)


def docs_examples(
    index: Index,
    questions: Sequence[GoldQuestion],
    recipe: DocsRecipe | None = None,
    *,
    quiet: bool = True,
) -> DocsExamples:
    """Training examples for ``questions`` over ``index`` (see the module's docstring)."""
    with Progress(quiet) as progress:
        task = progress.task("building examples", total=len(questions))
        return _docs_examples(
            index, questions, recipe or DocsRecipe(), lambda: progress.advance(task)
        )


def _docs_examples(
    index: Index,
    questions: Sequence[GoldQuestion],
    recipe: DocsRecipe,
    advance: Callable[[], None],
) -> DocsExamples:
    rng = random.Random(recipe.seed)
    chunks = list(index.chunks())
    examples: list[ReaderExample] = []
    counts = dict.fromkeys(RecipeCounts.__dataclass_fields__, 0)
    for q in questions:
        advance()
        hits = list(retrieve(index, q.question, AskConfig(passages=recipe.pool)).hits)
        if not q.answerable:
            shown = tuple(_pair(h.chunk) for h in hits[: recipe.passages])
            examples.append(ReaderExample(q.id, q.question, shown, None, None))
            counts["not_in_docs"] += 1
            continue
        answerable = _answerable(index, q, hits, chunks, recipe.passages, rng)
        if answerable is None:
            counts["no_verbatim"] += 1
            continue
        example, placed = answerable
        examples.append(example)
        counts["placed" if placed else "retrieved"] += 1
        if rng.random() < recipe.leave_out_rate and (shown := left_out(q, hits, recipe.passages)):
            examples.append(ReaderExample(f"{q.id}-left-out", q.question, shown, None, None))
            counts["left_out"] += 1
    return DocsExamples(tuple(examples), RecipeCounts(**counts))


def left_out(
    q: GoldQuestion, hits: Sequence[Hit], passages: int
) -> tuple[tuple[str, str], ...] | None:
    """The first ``passages`` of ``hits`` from pages other than the question's own, or None
    when fewer remain or one of them holds a gold answer (the docs would answer it)."""
    others = [h for h in hits if not q.is_source(h.chunk.source)][:passages]
    held = any(contains_span(h.chunk.text, g) for h in others for g in q.answers)
    return None if len(others) < passages or held else tuple(_pair(h.chunk) for h in others)


def _answerable(
    index: Index,
    q: GoldQuestion,
    hits: Sequence[Hit],
    chunks: Sequence[Chunk],
    passages: int,
    rng: random.Random,
) -> tuple[ReaderExample, bool] | None:
    """The answerable example and whether the gold chunk was placed, or None when no chunk of
    the question's page holds a gold answer verbatim."""
    shown = [_pair(h.chunk) for h in hits[:passages]]
    found = [(n, a) for n, (_, text) in enumerate(shown) if (a := _verbatim(text, q.answers))]
    placed = not found
    if placed:
        own = [c for c in chunks if q.is_source(c.source) and _verbatim(c.text, q.answers)]
        if not own:
            return None
        scores = index.reranker().score(q.question, [c.text for c in own])
        best = own[max(range(len(own)), key=lambda i: float(scores[i]))]
        at = rng.randrange(len(shown) + 1) if len(shown) < passages else rng.randrange(passages)
        if at < len(shown):
            shown[at] = _pair(best)
        else:
            shown.append(_pair(best))
        found = [(at, _verbatim(best.text, q.answers))]
    n, answer = found[0]
    example = ReaderExample(q.id, q.question, tuple(shown), answer, n + 1, q.answers)
    return example, placed


def served_examples(
    index: Index,
    questions: Sequence[GoldQuestion],
    *,
    passages: int = 3,
    name: str = "",
    quiet: bool = True,
) -> tuple[ReaderExample, ...]:
    """Each question with the passages ``ask`` retrieves for it, as they are (no gold chunk
    placed, nothing left out): what a calibration on docs reads. ``golds`` are its answers and
    ``paragraph`` groups it by page for out-of-fold folds (``name``, then its source page, or
    its id when it names none)."""
    out = []
    with Progress(quiet) as progress:
        task = progress.task(f"retrieving {name}".strip(), total=len(questions))
        for q in questions:
            hits = retrieve(index, q.question, AskConfig(passages=passages)).hits
            shown = tuple(_pair(h.chunk) for h in hits)
            group = f"{name}:{q.page}"
            out.append(ReaderExample(q.id, q.question, shown, None, None, q.answers, group))
            progress.advance(task)
    return tuple(out)
