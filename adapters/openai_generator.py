"""A generator over any OpenAI-compatible chat endpoint the user already runs (vLLM,
llama.cpp server, Ollama, TGI, a hosted API): ``POST {base_url}/chat/completions``, streamed
as server-sent events when a token callback is given, over one keep-alive, compressed
connection pool (``ragcore.http_client``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ragcore.errors import PluginError
from ragcore.http_client import HttpClient, NetworkError
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
        self._client: HttpClient | None = None  # one keep-alive connection pool, made on use

    def _http(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(timeout=self.timeout, user_agent="ragcore-openai/0.1")
        return self._client

    def close(self) -> None:
        """Release the pooled connection (a later answer opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def complete(
        self,
        messages: Sequence[dict[str, str]],
        max_new_tokens: int = 64,
        on_token: Callable[[str], None] | None = None,
    ) -> str:
        """The endpoint's reply text to chat ``messages`` (streamed through ``on_token``).
        429/502/503/504 are retried with backoff, waiting what ``Retry-After`` asks (one rate
        limit does not lose a distillation run)."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": on_token is not None,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            with self._http().request(
                "POST", url, headers=headers, json=body, retry=self.retry
            ) as response:
                if response.status_code >= 400:
                    raise self._refused(response)
                if on_token is None:
                    return self._content(response.read())
                pieces = []
                for piece in _events(response.iter_lines()):
                    pieces.append(piece)
                    on_token(piece)
                return "".join(pieces)
        except NetworkError as exc:
            raise PluginError(
                f"cannot reach {self.base_url} ({exc.reason})", "start the server or fix --endpoint"
            ) from None

    def _refused(self, response: Any) -> PluginError:
        code = response.status_code
        detail = response.read()[:300].decode("utf-8", "replace")
        tried = f" after {self.retry.attempts} attempts" if code in RETRYABLE else ""
        return PluginError(
            f"{self.base_url} answered HTTP {code}{tried}: {detail}",
            "check the model name and the server's logs",
        )

    def _content(self, raw: bytes) -> str:
        try:
            return json.loads(raw)["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise PluginError(
                f"{self.base_url} did not answer in the chat completions format",
                "point --endpoint at an OpenAI-compatible /v1 base URL",
            ) from None


def _events(lines: Iterable[str]) -> Iterator[str]:
    """Content pieces of a server-sent-events chat completion stream."""
    for raw in lines:
        line = raw.strip()
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
