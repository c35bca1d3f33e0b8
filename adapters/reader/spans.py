"""Where a decoded answer span begins and ends in its passage.

Decoding can stop inside a word, and in documentation it often stops inside, or runs across,
a piece of inline code: ``ApplicationPlugin` interface`` for ``poetry.plugins.ApplicationPlugin``.
One occurrence of the span is chosen (``occurrence``: as whole words if any passage has it so,
else the first, widened to the words it cuts), and that occurrence is judged: when it lies in
or cuts an inline code unit (markdown backticks), the answer is the whole unit, since in docs
the unit (a flag, a setting, a path) is what a question about it asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

#: one inline code unit: text between single backticks (not a ``` fence)
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
#: a longer unit is a code sample, not a name: it is not taken whole
MAX_UNIT_WORDS = 8

Bounds = tuple[int, int]


@dataclass(frozen=True)
class Occurrence:
    """Where a span lies: ``texts[passage - 1][start:end]``."""

    passage: int  # 1-based
    start: int
    end: int


def as_whole_words(span: str, text: str) -> Bounds | None:
    """The first occurrence of ``span`` in ``text`` that is not part of a longer word."""
    found = re.search(rf"(?<!\w){re.escape(span)}(?!\w)", text) if span else None
    return found.span() if found else None


def widened(span: str, text: str) -> Bounds | None:
    """The first occurrence of ``span`` in ``text``, widened to the words it cuts (decoding
    can stop mid-word)."""
    start = text.find(span) if span else -1
    if start < 0:
        return None
    end = start + len(span)
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def locate(span: str, text: str) -> Bounds | None:
    """The occurrence of ``span`` in one text: as whole words if it has one, else widened."""
    return as_whole_words(span, text) or widened(span, text)


def occurrence(span: str, texts: Sequence[str]) -> Occurrence | None:
    """The occurrence an answer stands for: the first as whole words in any passage, else the
    first occurrence widened; None when no passage holds the span (unconstrained decoding
    may leave the passages)."""
    finders: tuple[Callable[[str, str], Bounds | None], ...] = (as_whole_words, widened)
    for find in finders:
        for n, text in enumerate(texts, start=1):
            if (bounds := find(span, text)) is not None:
                return Occurrence(n, *bounds)
    return None


def name_units(text: str) -> Iterator[Bounds]:
    """Where the inline code units of ``text`` that name something lie (without their
    backticks), in order: those of at most ``MAX_UNIT_WORDS`` words."""
    for unit in INLINE_CODE.finditer(text):
        if len(unit.group(1).split()) <= MAX_UNIT_WORDS:
            yield unit.span(1)


def code_unit(text: str, start: int, end: int) -> Bounds:
    """The inline code unit of ``text`` that ``text[start:end]`` lies in, or cuts with a
    backtick of its own (without the backticks); else ``(start, end)``."""
    cuts_backtick = "`" in text[start:end]
    for a, b in name_units(text):
        inside = a <= start and end <= b
        cuts = cuts_backtick and start < b and end > a
        if inside or cuts:
            return a, b
        if a >= end:
            break
    return start, end


def answer_span(span: str, texts: Sequence[str]) -> tuple[str, int | None]:
    """The answer a decoded ``span`` stands for, and the 1-based passage it comes from: its
    ``occurrence``, taken as the whole code unit when ``code_unit`` finds one there."""
    at = occurrence(span, texts)
    if at is None:
        return span, None
    text = texts[at.passage - 1]
    start, end = code_unit(text, at.start, at.end)
    return text[start:end].strip(), at.passage
