"""A generator over any OpenAI-compatible chat endpoint the user already runs (vLLM,
llama.cpp server, Ollama, TGI, a hosted API): ``POST {base_url}/chat/completions``, streamed
as server-sent events when a token callback is given. Standard library only."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ragcore.errors import PluginError
from ragcore.prompting import ChatAnswers
from ragcore.retry import RETRYABLE, RetryPolicy


class OpenAICompatible(ChatAnswers):
    """``model`` on the endpoint at ``base_url`` (default ``$OPENAI_BASE_URL``); the key comes
    from ``api_key`` or ``$OPENAI_API_KEY`` (many local servers need none)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise PluginError(
                "no endpoint URL for the openai generator",
                "pass --endpoint http://host:port/v1 or set OPENAI_BASE_URL",
            )
        if not model:
            raise PluginError("no model name for the openai generator", "pass --model NAME")
        self.base_url = base_url.rstrip("/")
        self.model, self.name = model, f"openai:{model}"
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    def _post(self, body: dict[str, Any]) -> Any:
        """POST with bounded retries on 429/502/503/504, waiting what ``Retry-After`` asks
        (one rate limit does not lose a distillation run)."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._post_once(body)
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRYABLE or attempt == self.retry.attempts:
                    detail = exc.read(300).decode("utf-8", "replace")
                    tried = f" after {attempt} attempts" if exc.code in RETRYABLE else ""
                    raise PluginError(
                        f"{self.base_url} answered HTTP {exc.code}{tried}: {detail}",
                        "check the model name and the server's logs",
                    ) from None
                time.sleep(self.retry.delay(attempt, exc.headers.get("Retry-After")))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _post_once(self, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", json.dumps(body).encode(), headers
        )
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError:
            raise  # an answer, for _post to judge (HTTPError is also a URLError)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PluginError(
                f"cannot reach {self.base_url} ({reason})", "start the server or fix --endpoint"
            ) from None

    def complete(
        self,
        messages: Sequence[dict[str, str]],
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> str:
        """The endpoint's reply text to chat ``messages`` (streamed through ``on_token``)."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": on_token is not None,
        }
        with self._post(body) as response:
            if on_token is None:
                try:
                    return json.load(response)["choices"][0]["message"]["content"] or ""
                except (ValueError, KeyError, IndexError, TypeError):
                    raise PluginError(
                        f"{self.base_url} did not answer in the chat completions format",
                        "point --endpoint at an OpenAI-compatible /v1 base URL",
                    ) from None
            pieces = []
            for piece in _events(response):
                pieces.append(piece)
                on_token(piece)
            return "".join(pieces)


def _events(response: Any) -> Iterator[str]:
    """Content pieces of a server-sent-events chat completion stream."""
    for raw in response:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            delta = json.loads(data)["choices"][0].get("delta", {})
        except (ValueError, KeyError, IndexError):
            continue
        if content := delta.get("content"):
            yield content
