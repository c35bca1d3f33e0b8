"""Read-and-abstain examples shaped like serving, from an index's own documents.

``ask`` shows the reader the k passages retrieval returns, most questions are answerable, and
"unanswerable" mostly means "the docs do not cover it". Examples built here have that shape:

- questions come from a ``QuestionGenerator`` over the indexed chunks (the deterministic
  template one by default), so every answer is a span of its chunk, verified by construction;
- **answerable**: the question's own chunk at a random position among retrieval's best k - 1
  other hits, so the gold passage sits at varied positions among hard negatives (RAFT: Zhang
  et al., "RAFT: Adapting Language Model to Domain Specific RAG", 2024; template questions
  share words with their chunk, so retrieval alone would nearly always rank it first);
- **unanswerable, the RAG kind**: the same question with its own document left out of
  retrieval (and every passage holding the answer), so the passages are the nearest
  near-misses the index has.

Documents, not questions, are split between training and calibration (``split_by_document``)
so calibration reads documents the adapter did not train on (chunks, in a corpus of few
documents).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragcore.adapters.raft import ReaderExample
from ragcore.evals.squad import contains_span
from ragcore.evals.synthesis import SyntheticQuestion

from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.types import Chunk

if TYPE_CHECKING:
    from ragcore.index import Index


@dataclass(frozen=True)
class RagDataConfig:
    """``passages``: shown per prompt (as ``ask``); ``unanswerable_rate``: share of
    questions turned into leave-the-document-out abstentions; ``candidates``: hits retrieved
    to pick near-misses from; ``mode``: retrieval mode (hybrid without rerank by default: the
    cross-encoder costs ~0.9 s a question on 2 cores and reorders only the top)."""

    passages: int = 3
    unanswerable_rate: float = 0.35
    candidates: int = 12
    mode: str = "hybrid"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.passages < 1 or self.candidates < self.passages:
            raise ConfigError("passages must be >= 1 and candidates >= passages", "e.g. 3 and 12")
        if not 0.0 <= self.unanswerable_rate <= 1.0:
            raise ConfigError(f"unanswerable_rate {self.unanswerable_rate} not in [0, 1]", "0.35")


def _passage(chunk: Chunk) -> tuple[str, str]:
    """What ``build_messages`` shows of a chunk: (heading path, whitespace-folded text)."""
    return " > ".join(chunk.heading_path), " ".join(chunk.text.split())


def _cited(passages: Sequence[tuple[str, str]], answer: str) -> int | None:
    return next((n for n, (_, t) in enumerate(passages, start=1) if answer in t), None)


def rag_example(
    index: Index,
    question: SyntheticQuestion,
    gold: Chunk,
    unanswerable: bool,
    config: RagDataConfig,
    rng: random.Random,
) -> ReaderExample | None:
    """One example for ``question`` (None when retrieval leaves too few passages)."""
    answer = " ".join(question.answer.split())
    hits = index.search(question.question, k=config.candidates, mode=config.mode).hits
    if unanswerable:
        others = [
            h.chunk
            for h in hits
            if h.chunk.doc_id != question.doc_id and not contains_span(h.chunk.text, answer)
        ][: config.passages]
        if len(others) < config.passages:
            return None
        return ReaderExample(
            question.id, question.question, tuple(map(_passage, others)), None, None
        )
    shown = [h.chunk for h in hits if h.chunk.id != gold.id][: config.passages - 1]
    shown.insert(rng.randrange(len(shown) + 1), gold)
    passages = tuple(map(_passage, shown))
    cited = _cited(passages, answer)
    if cited is None:  # the span does not survive whitespace folding verbatim
        return None
    return ReaderExample(question.id, question.question, passages, answer, cited, (answer,))


def rag_examples(
    index: Index,
    questions: Sequence[SyntheticQuestion],
    config: RagDataConfig | None = None,
    *,
    quiet: bool = False,
) -> list[ReaderExample]:
    """Examples for ``questions`` (their chunks must be in ``index``), a seeded share of them
    unanswerable."""
    config = config or RagDataConfig()
    rng = random.Random(config.seed)
    chunks = {c.id: c for c in index.chunks()}
    examples = []
    with Progress(quiet) as progress:
        task = progress.task("building examples", total=len(questions))
        for q in questions:
            gold = chunks.get(q.chunk_id)
            if gold is not None:
                unanswerable = rng.random() < config.unanswerable_rate
                if (ex := rag_example(index, q, gold, unanswerable, config, rng)) is not None:
                    examples.append(ex)
            progress.advance(task)
    return examples


def split_by_document(
    questions: Sequence[SyntheticQuestion], calibration_share: float, min_documents: int = 20
) -> tuple[list[SyntheticQuestion], list[SyntheticQuestion]]:
    """(training, calibration) questions: each document goes wholly to one side, by a stable
    hash of its id. With fewer than ``min_documents`` documents a hash of documents cannot
    hit the share (16 pages put 20 of 340 questions on the calibration side), so chunks are
    split instead."""
    by_doc = len({q.doc_id for q in questions}) >= min_documents
    cut = int(calibration_share * 1000)
    held = [
        zlib.crc32((q.doc_id if by_doc else q.chunk_id).encode()) % 1000 < cut for q in questions
    ]
    return [q for q, h in zip(questions, held, strict=True) if not h], [
        q for q, h in zip(questions, held, strict=True) if h
    ]
