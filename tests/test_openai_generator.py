"""The OpenAI-compatible generator against a real HTTP server on 127.0.0.1: plain and
streamed chat completions, what the server receives, errors, and ``ask`` through it."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from ragcore import Index
from ragcore.ask import AskConfig, ask
from ragcore.errors import ConfigError, PluginError
from ragcore.plugins import load_generator
from ragcore.protocols import Generator
from ragcore.types import Passage, Prompt


class Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model crashed")
            return
        user = body["messages"][-1]["content"]
        # The "model" answers with the first passage that mentions a port, cited by number.
        reply = "I don't know."
        for n, text in re.findall(r"^\[(\d+)\] (.*)$", user, re.MULTILINE):
            if m := re.search(r"\bport (\d+)", text):
                reply = f"port {m.group(1)} [{n}]"
                break
        self.send_response(200)
        if not body.get("stream"):
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            message = {"role": "assistant", "content": reply}
            self.wfile.write(json.dumps({"choices": [{"message": message}]}).encode())
            return
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in re.findall(r"\S+\s*", reply):
            chunk = {"choices": [{"delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture()
def endpoint() -> Iterator[str]:
    Handler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_plain_and_streamed_replies(endpoint: str) -> None:
    gen = load_generator("openai", "tiny-chat", endpoint=endpoint)
    assert isinstance(gen, Generator) and gen.name == "openai:tiny-chat"
    messages = [
        {"role": "user", "content": "Passages:\n[1] The gateway uses port 9000.\n\nQuestion: q"}
    ]
    assert gen.complete(messages, 16) == "port 9000 [1]"
    pieces: list[str] = []
    assert gen.complete(messages, 16, pieces.append) == "port 9000 [1]"
    assert pieces == ["port ", "9000 ", "[1]"]
    plain, streamed = Handler.requests
    assert plain["path"] == "/v1/chat/completions" and plain["body"]["stream"] is False
    assert streamed["body"]["stream"] is True
    assert plain["body"]["model"] == "tiny-chat" and plain["body"]["max_tokens"] == 16
    assert plain["body"]["temperature"] == 0 and plain["body"]["messages"] == messages
    # the Generator contract: the prompt rendered as messages, the text read back as a Reply
    reply = gen.answer(Prompt("q", (Passage("The gateway uses port 9000."),)), 16)
    assert (reply.answer, reply.cited, reply.invalid) == ("port 9000", (1,), ())
    sent = Handler.requests[-1]["body"]["messages"]
    assert "[1] The gateway uses port 9000." in sent[-1]["content"]


def test_ask_through_the_endpoint(demo_index: Index, endpoint: str) -> None:
    gen = load_generator("openai", "tiny-chat", endpoint=endpoint)
    answer = ask(demo_index, gen, "what ports does the gateway use", AskConfig(mode="hybrid"))
    assert not answer.abstained and answer.text.startswith("port ")
    assert answer.citations and answer.text in answer.hits[answer.citations[0].n - 1].chunk.text
    system = Handler.requests[-1]["body"]["messages"][0]
    assert system["role"] == "system" and "numbered passages" in system["content"]


def test_errors_name_the_endpoint_and_the_fix(endpoint: str, monkeypatch) -> None:
    messages = [{"role": "user", "content": "q"}]
    with pytest.raises(PluginError, match="answered HTTP 500: model crashed"):
        load_generator("openai", "broken", endpoint=endpoint).complete(messages)
    with pytest.raises(PluginError, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        load_generator("openai", "m", endpoint="http://127.0.0.1:9/v1").complete(messages)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(PluginError, match="no endpoint URL"):
        load_generator("openai", "m")
    with pytest.raises(ConfigError, match="takes no base_url option"):
        load_generator("transformers", "/nowhere", endpoint=endpoint)


def test_rate_limits_are_retried_as_retry_after_asks() -> None:
    from ragcore.retry import RetryPolicy, retry_after_seconds

    class Limited(BaseHTTPRequestHandler):
        refusals = 2
        seen: ClassVar[list[float]] = []

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            Limited.seen.append(time.monotonic())
            if len(Limited.seen) <= Limited.refusals:
                self.send_response(429)
                self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(b"slow down")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            reply = {"choices": [{"message": {"role": "assistant", "content": "ok [1]"}}]}
            self.wfile.write(json.dumps(reply).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Limited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        gen = load_generator("openai", "m", endpoint=url)
        assert gen.complete([{"role": "user", "content": "q"}]) == "ok [1]"
        assert len(Limited.seen) == 3
        assert all(b - a >= 0.9 for a, b in itertools.pairwise(Limited.seen))  # waited 1 s
        Limited.seen, Limited.refusals = [], 10
        gen.retry = RetryPolicy(attempts=2, cap_s=0.05)  # Retry-After capped at 0.05 s
        with pytest.raises(PluginError, match="HTTP 429 after 2 attempts"):
            gen.complete([{"role": "user", "content": "q"}])
        assert len(Limited.seen) == 2
    finally:
        server.shutdown()
    # the waits, worked by hand: Retry-After in seconds or as an HTTP date, else backoff
    policy = RetryPolicy(attempts=4, base_s=0.5, cap_s=30)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert policy.delay(1, "7") == 7.0 and policy.delay(1, "120") == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon", now=0.0) is None
