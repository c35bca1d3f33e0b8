"""Read-and-abstain training examples from SQuAD 2.0-style data, RAFT style.

RAFT (Zhang et al., "RAFT: Adapting Language Model to Domain Specific RAG", 2024) trains a
reader on the gold passage mixed with distractors, and on some questions whose passages lack
the answer, so that it learns to find the answer among noise and to say when it is absent.
Here every example is a question, one to a few ``(title, text)`` passages and a target: the
answer copied from the passage that holds it plus that passage's number, or ``None`` to
abstain. SQuAD 2.0's unanswerable questions give abstentions with the gold paragraph; RAFT's
"gold dropped" examples give abstentions with distractors only.

Splits are by article, never by question, so that validation paragraphs are unseen.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragcore.evals.data.squad import Article, Question

from ragcore.answer_match import contains_span
from ragcore.errors import ConfigError
from ragcore.types import Prompt


@dataclass(frozen=True)
class ReaderExample:
    """One question with numbered passages; ``answer`` None means the reply abstains."""

    id: str
    question: str
    passages: tuple[tuple[str, str], ...]  # (title, text), numbered 1..n in the prompt
    answer: str | None
    cited: int | None  # 1-based number of the passage holding the answer
    golds: tuple[str, ...] = field(default=())  # every accepted answer, for scoring
    paragraph: str = ""  # the question's own paragraph (calibration folds group by it)

    def __post_init__(self) -> None:
        if (self.answer is None) != (self.cited is None):
            raise ValueError("an example has both an answer and its passage number, or neither")
        if self.cited is not None and not 1 <= self.cited <= len(self.passages):
            raise ValueError(f"cited passage {self.cited} is not among {len(self.passages)}")

    @property
    def prompt(self) -> Prompt:
        """What the reader is given: the question and the numbered passages."""
        return Prompt.from_pairs(self.question, self.passages)


def gold_examples(articles: Sequence[Article]) -> list[ReaderExample]:
    """Each question with its own paragraph only (the reader evaluation's setting)."""
    examples = []
    for article in articles:
        for q in article.questions:
            passage = (article.title, article.paragraphs[q.paragraph])
            answer = _span(q, passage[1])
            examples.append(
                ReaderExample(
                    q.id,
                    q.text,
                    (passage,),
                    answer,
                    None if answer is None else 1,
                    q.answers,
                    passage[1],
                )
            )
    return examples


def _distractors(article: Article, question: Question) -> list[int]:
    """The article's other paragraphs (indices) that hold none of the question's answers."""
    return [
        i
        for i, p in enumerate(article.paragraphs)
        if i != question.paragraph and not any(contains_span(p, a) for a in question.answers)
    ]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


def serving_examples(
    articles: Sequence[Article], *, passages: int = 3, seed: int = 0
) -> list[ReaderExample]:
    """Each question with its own paragraph among ``passages - 1`` others of its article, as
    ``ask`` serves them: the others are the paragraphs sharing most words with the question
    (near misses, as retrieval returns), none holding a gold answer, and the question's own
    paragraph is at a random position."""
    if passages < 1:
        raise ConfigError(
            f"passages={passages}: a prompt needs one passage or more", "pass 1 or more"
        )
    rng = random.Random(seed)
    examples = []
    for article in articles:
        words = [_words(p) for p in article.paragraphs]
        for q in article.questions:
            gold = article.paragraphs[q.paragraph]
            asked = _words(q.text)
            others = sorted(_distractors(article, q), key=lambda i: -len(asked & words[i]))
            shown = [article.paragraphs[i] for i in others[: passages - 1]]
            at = rng.randrange(len(shown) + 1)
            shown.insert(at, gold)
            answer = _span(q, gold)
            examples.append(
                ReaderExample(
                    q.id,
                    q.text,
                    tuple((article.title, p) for p in shown),
                    answer,
                    None if answer is None else at + 1,
                    q.answers,
                    gold,
                )
            )
    return examples


def raft_examples(
    articles: Sequence[Article],
    *,
    distractor_rate: float = 0.3,
    drop_gold_rate: float = 0.08,
    seed: int = 0,
) -> list[ReaderExample]:
    """Gold-paragraph examples; a share gets one distractor paragraph from the same article
    (placed before or after the gold one), and a share of answerable questions loses its gold
    paragraph to a distractor and becomes an abstention. Distractors never hold an answer."""
    rng = random.Random(seed)
    examples = []
    for article in articles:
        for q in article.questions:
            gold = (article.title, article.paragraphs[q.paragraph])
            answer = _span(q, gold[1])
            others = [(article.title, article.paragraphs[i]) for i in _distractors(article, q)]
            roll = rng.random()
            if answer is not None and others and roll < drop_gold_rate:
                examples.append(ReaderExample(q.id, q.text, (rng.choice(others),), None, None))
            elif others and roll < drop_gold_rate + distractor_rate:
                distractor = rng.choice(others)
                if rng.random() < 0.5:
                    passages, cited = (gold, distractor), 1
                else:
                    passages, cited = (distractor, gold), 2
                examples.append(
                    ReaderExample(
                        q.id, q.text, passages, answer, None if answer is None else cited, q.answers
                    )
                )
            else:
                examples.append(
                    ReaderExample(
                        q.id, q.text, (gold,), answer, None if answer is None else 1, q.answers
                    )
                )
    rng.shuffle(examples)
    return examples


def _span(question: Question, paragraph: str) -> str | None:
    """The gold answer most annotators gave (the shorter on a tie) among those that occur
    verbatim in the paragraph (None: unanswerable)."""
    counts = Counter(a.strip() for a in question.answers if a.strip() and a.strip() in paragraph)
    return min(counts, key=lambda a: (-counts[a], len(a))) if counts else None
