"""``POST /v1/chat/completions``, OpenAI-compatible: the last user message is the question
(a follow-up is first made standalone with the turns before it); the reply cites passages as
``[n]`` in its content and lists them in an extra ``citations`` field."""

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ragcore.errors import ConfigError
from ragcore.server.keys import groups_of
from ragcore.server.service import MAX_QUESTION, Service, streamed
from ragcore.types import Answer

ABSTAINED = "I don't know: the documents do not say."
_FOLLOW_UP = re.compile(r"^(and|or|but|also|what about|how about|same for|then)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|that|this|they|them|those|these|there)\b", re.I)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # OpenAI clients send name, tool fields, ...
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | None = Field(None, max_length=MAX_QUESTION)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, ... are accepted, unused
    model: str = "ragcore"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def standalone_question(messages: list[ChatMessage]) -> str:
    """The question to retrieve for: the last user message, joined to the user message
    before it when it reads as a follow-up ("and for Enterprise?": it opens with a
    conjunction, is four words or fewer, or leans on a pronoun)."""
    users = [m.content.strip() for m in messages if m.role == "user" and (m.content or "").strip()]
    if not users:
        raise ConfigError("no user message with text", 'send {"role": "user", "content": "..."}')
    last = users[-1]
    follow_up = _FOLLOW_UP.match(last) or len(last.split()) <= 4 or _PRONOUN.search(last)
    return f"{users[-2]} {last}" if follow_up and len(users) > 1 else last


def content_of(answer: Answer) -> str:
    if answer.abstained:
        return ABSTAINED
    text = answer.text or ""
    marks = "".join(f"[{c.n}]" for c in answer.citations if f"[{c.n}]" not in text)
    return f"{text} {marks}".strip()


def citations_of(answer: Answer) -> list[dict[str, Any]]:
    return [c.to_json() | {"text": answer.hits[c.n - 1].chunk.text} for c in answer.citations]


def add_chat_routes(app: FastAPI, service: Service, caller: Any) -> None:
    """``caller``: the dependency (an ``Annotated`` type) that gives the request's key."""

    @app.post("/v1/chat/completions", response_model=None)
    def chat(req: ChatRequest, key: caller) -> Any:  # type: ignore[valid-type]
        question = standalone_question(req.messages)
        groups = groups_of(key)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        head = {"id": cid, "created": created, "model": req.model}
        if not req.stream:
            answer = service.answer(question, groups)
            return head | {
                "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content_of(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": citations_of(answer),
                "ragcore": {"question": question, "abstained": answer.abstained},
            }  # fmt: skip

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = head | {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return "data: " + json.dumps(body | extra) + "\n\n"  # fmt: skip

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            work = lambda on_token: service.answer(question, groups)  # noqa: E731
            for kind, value in streamed(work):
                if kind == "final":  # content after the guard: an abstention never streams
                    yield chunk({"content": content_of(value)})  # a draft it then withholds
                    yield chunk(
                        {},
                        "stop",
                        citations=citations_of(value),
                        ragcore={"question": question, "abstained": value.abstained},
                    )
                elif kind == "error":
                    yield chunk({"content": f"error: {value['detail']}"}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
