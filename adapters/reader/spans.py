"""Where a decoded answer span begins and ends in its passage.

Decoding can stop inside a word, and in documentation it often stops inside, or runs across,
a piece of inline code: ``ApplicationPlugin` interface`` for ``poetry.plugins.ApplicationPlugin``.
The span is widened to whole words, and a span that lies in or cuts an inline code unit
(markdown backticks) becomes that whole unit: in docs the unit (a flag, a setting, a path)
is what a question about it asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: one inline code unit: text between single backticks (not a ``` fence)
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
#: a longer unit is a code sample, not a name: it is not taken whole
MAX_UNIT_WORDS = 8


def whole_words(span: str, texts: Sequence[str]) -> tuple[str, int | None]:
    """The span on word boundaries, and the 1-based passage it comes from: an occurrence that
    is already whole words if any passage has one, else the first occurrence widened to the
    words it cuts (a span can end inside a word when decoding stops mid-word)."""
    if not span:
        return "", None
    bounded = re.compile(rf"(?<!\w){re.escape(span)}(?!\w)")
    for n, text in enumerate(texts, start=1):
        if bounded.search(text):
            return span, n
    for n, text in enumerate(texts, start=1):
        start = text.find(span)
        if start >= 0:
            end = start + len(span)
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and text[end].isalnum():
                end += 1
            return text[start:end], n
    return span, None  # unconstrained decoding may leave the passages


def code_unit(span: str, text: str) -> str:
    """The inline code unit of ``text`` that ``span`` (at its first occurrence) lies in, or
    cuts with a backtick of its own; else ``span`` unchanged."""
    start = text.find(span) if span else -1
    if start < 0:
        return span
    end = start + len(span)
    for unit in INLINE_CODE.finditer(text):
        a, b = unit.span(1)
        inside = a <= start and end <= b
        cuts = "`" in span and start < b and end > a
        if (inside or cuts) and len(unit.group(1).split()) <= MAX_UNIT_WORDS:
            return unit.group(1).strip()
        if a >= end:
            break
    return span


def answer_span(span: str, texts: Sequence[str]) -> tuple[str, int | None]:
    """``whole_words``, then ``code_unit`` in the passage it comes from."""
    span, cited = whole_words(span, texts)
    if cited is None:
        return span, None
    return code_unit(span, texts[cited - 1]), cited
