"""Gold questions over a team's docs: ``{"id", "question", "answers": [...], "source"?}`` lines.

``eval diagnose`` scores a reader on them; ``adapters train-docs`` builds training prompts
from them. Empty answers mean the docs do not answer the question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragcore.answer_match import normalize
from ragcore.errors import SourceError


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answers: tuple[str, ...] = ()  # empty: the docs do not answer it
    source: str | None = None  # the document that answers it (a path or URI suffix)

    @property
    def answerable(self) -> bool:
        return any(normalize(a) for a in self.answers)

    @property
    def page(self) -> str:
        """What the question is grouped by (folds, splits): its source, or its own id."""
        return self.source or self.id

    def is_source(self, chunk_source: str) -> bool:
        """Whether a chunk's source is this question's document (equal, or ends in it)."""
        if self.source is None:
            return False
        return chunk_source == self.source or chunk_source.endswith("/" + self.source.lstrip("/"))


def load_gold(path: str | Path) -> list[GoldQuestion]:
    """JSON lines ``{"id", "question", "answers": [...], "source"?}``; empty answers: not in
    the docs."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no gold file at {path}", "pass a JSON-lines file of questions")
    questions, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = GoldQuestion(
                str(row["id"]),
                str(row["question"]),
                tuple(str(a) for a in row.get("answers") or ()),
                row.get("source") or None,
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise SourceError(
                f"{path}:{n} is not a gold question ({type(e).__name__}: {e})",
                'each line: {"id": ..., "question": ..., "answers": [...], "source": ...}',
            ) from None
        if q.id in seen or not q.question.strip():
            why = "repeats id " + q.id if q.id in seen else "has an empty question"
            raise SourceError(f"{path}:{n} {why}", "give each line its own id and a question")
        if q.answers and not q.answerable:
            raise SourceError(
                f"{path}:{n} ({q.id}) has answers {list(q.answers)} without a letter or digit: "
                "token F1 ignores punctuation, so the question would be scored as one the docs "
                "do not answer",
                "write each answer with a word of its own (e.g. '~= operator'), or drop the line",
            )
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise SourceError(f"{path} holds no questions", "one JSON object per line")
    return questions
