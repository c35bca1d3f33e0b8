"""The reader's prompt and reply formats.

How chat models see a ``Prompt`` and what they write back. Messages: a system instruction,
then the numbered passages and the question. Reply text: a short answer followed by
citations like ``[1][3]``, or exactly ``ABSTAIN_REPLY`` when the passages do not hold the
answer; ``parse_reply`` reads it into a ``Reply``. Only chat generators use this: the
packaged reader reads the ``Prompt`` itself and returns its ``Reply`` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ragcore.protocols import ABSTAIN_REPLY, Reply
from ragcore.types import Passage, Prompt

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


def passage_block(passages: Sequence[Passage]) -> str:
    """Number the passages 1..n, one paragraph each, titled when they have a title."""
    parts = []
    for n, passage in enumerate(passages, start=1):
        head = f"[{n}] ({passage.title}) " if passage.title else f"[{n}] "
        parts.append(head + " ".join(passage.text.split()))
    return "\n\n".join(parts)


def reader_messages(prompt: Prompt) -> list[dict[str, str]]:
    """The chat messages for a prompt: what training and every chat generator share."""
    user = f"Passages:\n{passage_block(prompt.passages)}\n\nQuestion: {prompt.question.strip()}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class ChatAnswers:
    """The ``Generator`` contract for a chat model: a subclass writes free text for chat
    messages (``complete``); ``answer`` renders the ``Prompt`` as messages and reads the text
    back into a ``Reply`` (``parse_reply``)."""

    def complete(
        self,
        messages: Sequence[dict[str, str]],
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> str:
        raise NotImplementedError

    def answer(
        self,
        prompt: Prompt,
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        text = self.complete(reader_messages(prompt), max_new_tokens, on_token)
        return parse_reply(text, len(prompt.passages))


def target_reply(answer: str | None, cited: int | None) -> str:
    """The reply a reader is trained to give: ``answer [n]`` or the abstention."""
    if answer is None or cited is None:
        return ABSTAIN_REPLY
    return f"{answer.strip()} [{cited}]"


def parse_reply(reply: str, n_passages: int) -> Reply:
    """A chat model's free text as a ``Reply``: answer, valid and invalid citations."""
    text = reply.strip()
    if not text or _ABSTAIN.match(text):
        return Reply(None)
    numbers = [int(m) for m in _CITATION.findall(text)]
    cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
    invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
    answer = _CITATION.sub("", text)
    answer = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(answer.split())).strip()
    answer = re.sub(r"^(answer|a)\s*:\s*", "", answer, flags=re.IGNORECASE)
    if not answer.strip(" .,;:"):
        return Reply(None, invalid=invalid)
    return Reply(answer, cited, invalid)
