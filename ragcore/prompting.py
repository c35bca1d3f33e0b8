"""The reader's prompt and reply formats.

Prompt: a system instruction, then the numbered passages and the question. Reply: a short
answer followed by citations like ``[1][3]``, or exactly ``ABSTAIN_REPLY`` when the passages
do not hold the answer. ``parse_reply`` turns a reply into (answer or None, cited numbers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragcore.types import Hit

ABSTAIN_REPLY = "I don't know."

SYSTEM = (
    "Answer the question using only the numbered passages. Reply with a short answer copied "
    "from the passages, then cite the passages you used like [1]. If the passages do not "
    f"contain the answer, reply exactly: {ABSTAIN_REPLY}"
)

_CITATION = re.compile(r"\[(\d{1,3})\]")
_ABSTAIN = re.compile(
    r"^\W*(i\s+(do\s*n[o']?t|don'?t|cannot|can'?t)\s+(know|tell|find|answer)|"
    r"unanswerable|no answer|not (stated|mentioned|given|found))",
    re.IGNORECASE,
)


def passage_block(passages: Sequence[tuple[str, str]]) -> str:
    """Number ``(title, text)`` passages 1..n, one paragraph each."""
    parts = []
    for n, (title, text) in enumerate(passages, start=1):
        head = f"[{n}] ({title}) " if title else f"[{n}] "
        parts.append(head + " ".join(text.split()))
    return "\n\n".join(parts)


def reader_messages(question: str, passages: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """The chat messages for ``(title, text)`` passages: what training and inference share."""
    user = f"Passages:\n{passage_block(passages)}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def build_messages(question: str, hits: Sequence[Hit]) -> list[dict[str, str]]:
    return reader_messages(
        question, [(" > ".join(hit.chunk.heading_path), hit.chunk.text) for hit in hits]
    )


_NUMBERED = re.compile(r"^\[(\d{1,3})\] (?:\([^\n]*?\) )?(.*)$")


def _last_user(messages: Sequence[dict[str, str]]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def passages_in(messages: Sequence[dict[str, str]]) -> list[str]:
    """The passage texts (without number and title) of a prompt built by ``reader_messages``;
    empty when the last user message is not in that form."""
    user = _last_user(messages)
    if not user.startswith("Passages:\n") or "\n\nQuestion: " not in user:
        return []
    block = user[len("Passages:\n") : user.rindex("\n\nQuestion: ")]
    found = [_NUMBERED.match(part) for part in block.split("\n\n")]
    return [m.group(2) for m in found if m]


def question_in(messages: Sequence[dict[str, str]]) -> str:
    """The question of a prompt built by ``reader_messages`` (else the last user message)."""
    user = _last_user(messages)
    marker = "\n\nQuestion: "
    return user[user.rindex(marker) + len(marker) :] if marker in user else user


def target_reply(answer: str | None, cited: int | None) -> str:
    """The reply a reader is trained to give: ``answer [n]`` or the abstention."""
    if answer is None or cited is None:
        return ABSTAIN_REPLY
    return f"{answer.strip()} [{cited}]"


@dataclass(frozen=True)
class ParsedReply:
    answer: str | None  # None: the reply abstains
    cited: tuple[int, ...]  # passage numbers in order of first mention, valid ones only
    invalid: tuple[int, ...] = ()  # numbers that name no passage


def parse_reply(reply: str, n_passages: int) -> ParsedReply:
    text = reply.strip()
    if not text or _ABSTAIN.match(text):
        return ParsedReply(None, ())
    numbers = [int(m) for m in _CITATION.findall(text)]
    cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
    invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
    answer = _CITATION.sub("", text)
    answer = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(answer.split())).strip()
    answer = re.sub(r"^(answer|a)\s*:\s*", "", answer, flags=re.IGNORECASE)
    if not answer.strip(" .,;:"):
        return ParsedReply(None, (), invalid)
    return ParsedReply(answer, cited, invalid)
