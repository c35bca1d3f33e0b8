"""Verified distillation: a teacher generator labels questions over the user's own indexed
documents, deterministic checks keep only labels that hold, and the student trains on them.

For each question the top passages are retrieved, and the teacher answers ``samples`` times,
each time with the passages in a different order (rotated, so each sample leads with another
passage; seeded shuffles beyond that), so that an answer that depends on
position rather than content does not repeat. A sample *verifies* when its answer occurs, on
token boundaries, in the passage it cites. Then:

- at least ``agree`` verified samples give the same (normalized) answer: that answer is the
  label, cited to the passage that holds it;
- every sample abstains: the label is the abstention;
- no sample verifies, but some sample answered (an answer no cited passage holds: made up,
  paraphrased or uncited): the question is dropped (``Unverified.DROP``, the default), or
  labelled an abstention (``Unverified.ABSTAIN``);
- otherwise the teacher disagrees with itself: the question is dropped.

Dropping unverified answers is the default because an abstention label there teaches the
student to refuse questions its passages do answer. Measured with
``benchmarks/distill_labels.py`` on 120 questions of the 1973_oil_crisis article: the bare base
model as teacher answers every question and cites nothing, so every label would be an
abstention, and 38% of them wrong, since the retrieved passages hold a gold answer. Dropping
them keeps nothing, and the distill command says so instead of training on it. With the
squad2-reader teacher, the checks raise the share of right answer labels from 65% (one
unchecked sample) to 74%.

Agreement across samples is self-consistency (Wang et al., 2023); keeping only labels that
pass checks follows STaR-style filtered distillation (Zelikman et al., 2022).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ragcore.adapters.training.raft import ReaderExample

from ragcore.answer_match import contains_span, normalize
from ragcore.errors import ConfigError
from ragcore.progress import Progress
from ragcore.protocols import Generator, Reply
from ragcore.types import Prompt

if TYPE_CHECKING:
    from ragcore.index import Index

LABELS_FILE = "distill_labels.jsonl"


class Verdict(StrEnum):
    ANSWER = "answer"  # enough verified samples agree
    ABSTAIN = "abstain"  # no sample verified (and, with Unverified.DROP, none answered)
    DROPPED = "dropped"  # verified samples disagree
    UNVERIFIED = "unverified"  # answers, none held by its cited passage: dropped

    @property
    def kept(self) -> bool:
        """Whether the student trains on the label."""
        return self in (Verdict.ANSWER, Verdict.ABSTAIN)


class Unverified(StrEnum):
    """The label of a question whose samples answered, but none verifiably."""

    DROP = "drop"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class DistillConfig:
    samples: int = 3
    agree: int = 2
    passages: int = 3
    mode: str = "hybrid"
    seed: int = 0
    max_new_tokens: int = 48
    unverified: Unverified = Unverified.DROP

    def __post_init__(self) -> None:
        object.__setattr__(self, "unverified", Unverified(self.unverified))
        if not 1 <= self.agree <= self.samples:
            raise ConfigError(
                f"agree={self.agree} must be between 1 and samples={self.samples}",
                "e.g. --samples 3 --agree 2",
            )
        if self.passages < 1:
            raise ConfigError("passages must be >= 1", "e.g. --passages 3")


@dataclass(frozen=True)
class DistillLabel:
    question: str
    passages: tuple[tuple[str, str], ...]
    verdict: Verdict
    answer: str | None
    cited: int | None
    votes: int
    replies: tuple[Reply, ...]  # the teacher's replies, one per sample

    def example(self, n: int) -> ReaderExample:
        return ReaderExample(f"distill-{n}", self.question, self.passages, self.answer, self.cited)


def verified(parsed: Reply, passages: Sequence[tuple[str, str]]) -> tuple[str, int] | None:
    """(answer, cited passage) when the reply's answer occurs in the first passage it cites."""
    if parsed.answer is None or not parsed.cited:
        return None
    n = parsed.cited[0]
    return (parsed.answer, n) if contains_span(passages[n - 1][1], parsed.answer) else None


def answered(replies: Sequence[Reply]) -> bool:
    """Whether any reply answers rather than abstains (verifiably or not)."""
    return any(reply.answer is not None for reply in replies)


def label_question(
    teacher: Generator,
    question: str,
    passages: Sequence[tuple[str, str]],
    config: DistillConfig,
    rng: random.Random,
) -> DistillLabel:
    passages = tuple(passages)
    replies, answers = [], []
    for s in range(config.samples):
        order = list(range(len(passages)))
        if s < len(passages):  # rotations first: every sample leads with another passage
            order = order[s:] + order[:s]
        else:
            rng.shuffle(order)
        shown = [passages[i] for i in order]
        reply = teacher.answer(Prompt.from_pairs(question, shown), config.max_new_tokens)
        replies.append(reply)
        if (found := verified(reply, shown)) is not None:
            answers.append(found[0])
    if not answers:
        drop = config.unverified is Unverified.DROP and answered(replies)
        verdict = Verdict.UNVERIFIED if drop else Verdict.ABSTAIN
        return DistillLabel(question, passages, verdict, None, None, 0, tuple(replies))
    votes = Counter(normalize(a) for a in answers)
    key, count = votes.most_common(1)[0]
    if count < config.agree:
        return DistillLabel(question, passages, Verdict.DROPPED, None, None, count, tuple(replies))
    answer = Counter(a for a in answers if normalize(a) == key).most_common(1)[0][0]
    cited = next(n for n, (_, text) in enumerate(passages, 1) if contains_span(text, answer))
    return DistillLabel(question, passages, Verdict.ANSWER, answer, cited, count, tuple(replies))


def distill_labels(
    index: Index,
    teacher: Generator,
    questions: Sequence[str],
    config: DistillConfig | None = None,
    *,
    quiet: bool = False,
) -> list[DistillLabel]:
    """Label each question over the passages ``index`` retrieves for it."""
    config = config or DistillConfig()
    rng = random.Random(config.seed)
    labels = []
    with Progress(quiet) as progress:
        task = progress.task(f"labelling with {teacher.name}", total=len(questions))
        for question in questions:
            hits = index.search(question, k=config.passages, mode=config.mode).hits
            passages = [(" > ".join(h.chunk.heading_path), h.chunk.text) for h in hits]
            if passages:
                labels.append(label_question(teacher, question, passages, config, rng))
            progress.advance(task)
    return labels


def read_questions(path: Path) -> list[str]:
    """Questions from a text file (one per line) or JSON lines with a ``question`` field."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist", "pass a questions file")
    questions = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                questions.append(str(json.loads(line)["question"]))
            except (ValueError, KeyError):
                raise ConfigError(
                    f"{path}:{n} is not JSON with a 'question' field", "fix that line"
                ) from None
        else:
            questions.append(line)
    if not questions:
        raise ConfigError(f"{path} holds no questions", "one question per line")
    return questions


def write_labels(path: Path, labels: Sequence[DistillLabel]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for label in labels:
            fh.write(json.dumps(asdict(label)) + "\n")


def label_counts(labels: Sequence[DistillLabel]) -> dict[str, int]:
    counts = Counter(label.verdict.value for label in labels)
    return {v.value: counts.get(v.value, 0) for v in Verdict}
