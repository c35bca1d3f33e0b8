"""Answer candidates: the reader's decoded span against the inline-code units of its passages,
chosen by the cross-encoder.

In documentation most short answers are a unit set in inline code (a flag, a setting, a path,
a command), and the 135M reader's greedy span is often a neighbouring word or the wrong unit
of the right sentence. So the decoded span competes with every inline-code unit of the served
passages that the question does not itself quote: each candidate's local context (its
occurrence with ``CONTEXT_CHARS`` characters either side, widened to whole words) is scored
against the question by the packaged ms-marco cross-encoder, the decoded span's logit gets
``DRAFT_BONUS``, and the best-scored candidate is the answer (on a tie, the decoded span, then
the earlier unit). This is answer re-ranking by
the evidence around each candidate (Wang et al., "Evidence Aggregation for Answer Re-Ranking
in Open-Domain Question Answering", ICLR 2018), with the candidates taken from the markup
instead of a second reader. Passages without inline code leave the decoded span as it was.

``CONTEXT_CHARS`` and ``DRAFT_BONUS`` were chosen on 31 hand-written questions over PDM's
documentation, not on the docsqa-dev set that judges them; the bonus went from 1 to 2 after a
third set (69 questions over Hatch's docs) read one more question right with 2 and the other
two sets read the same (docs/reader.md has the tables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ragcore.adapters.reader.spans import name_units, occurrence

#: characters of context either side of a candidate, widened to whole words
CONTEXT_CHARS = 40
#: added to the decoded span's relevance logit: the reader's own pick is evidence too
DRAFT_BONUS = 2.0

Relevance = Callable[[str, Sequence[str]], list[float]]


class AnswerCandidates(StrEnum):
    """What the answer is chosen among: the decoded span alone, or it and the passages'
    inline-code units (``adapters.reader.candidates``)."""

    DRAFT = "draft"
    CODE_UNITS = "code_units"


@dataclass(frozen=True)
class Candidate:
    """An answer and where it lies: ``texts[passage - 1][start:end]``."""

    text: str
    passage: int  # 1-based
    start: int
    end: int


def context(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> str:
    """``text[start:end]`` with ``chars`` characters either side, widened to whole words."""
    lo, hi = max(0, start - chars), min(len(text), end + chars)
    while lo > 0 and not text[lo - 1].isspace():
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    return text[lo:hi].strip()


def code_units(texts: Sequence[str], question: str) -> list[Candidate]:
    """The inline-code units of ``texts`` that name something (``spans.name_units``) and the
    question does not quote (case-insensitively), in passage order."""
    asked = question.lower()
    units = []
    for n, text in enumerate(texts, start=1):
        for a, b in name_units(text):
            unit = text[a:b].strip()
            if unit and unit.lower() not in asked:
                start = text.index(unit, a)
                units.append(Candidate(unit, n, start, start + len(unit)))
    return units


def draft_candidate(span: str, texts: Sequence[str]) -> Candidate | None:
    """The decoded span where it lies in the passages (None when no passage holds it)."""
    at = occurrence(span, texts) if span else None
    return None if at is None else Candidate(span, at.passage, at.start, at.end)


def choose(
    question: str,
    draft: Candidate | None,
    texts: Sequence[str],
    relevance: Relevance,
    *,
    chars: int = CONTEXT_CHARS,
    bonus: float = DRAFT_BONUS,
) -> Candidate | None:
    """The candidate whose context (``chars`` either side) ``relevance`` scores highest for
    ``question``, the draft's score raised by ``bonus`` (see the module docstring); ``draft``
    when the passages have no inline-code unit."""
    units = code_units(texts, question)
    if not units:
        return draft
    candidates = [*([draft] if draft is not None else []), *units]
    contexts = [context(texts[c.passage - 1], c.start, c.end, chars) for c in candidates]
    scores = relevance(question, contexts)
    if draft is not None:
        scores = [scores[0] + bonus, *scores[1:]]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    return candidates[best]
