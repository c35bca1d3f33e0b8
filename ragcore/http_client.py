"""One HTTP client for the servers ragcore does not run (web pages for the crawler, the
OpenAI-compatible generator's endpoint): keep-alive connections from one pool, compressed
transfers (gzip and deflate, plus brotli or zstd when their decoders are installed), and
bounded retries with backoff that honour ``Retry-After`` (``ragcore.retry``).

httpx is imported here only, and only when a client is made: ``import ragcore`` and
``ragcore search`` never load it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ragcore.retry import RETRYABLE, RetryPolicy

if TYPE_CHECKING:
    import httpx


class NetworkError(Exception):
    """No HTTP answer at all (refused, timed out, DNS, TLS): ``reason`` says which."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


class HttpClient:
    """A pooled, thread-safe client; ``request`` retries the statuses in ``retry_on``.
    ``close()`` releases its connections."""

    def __init__(
        self,
        *,
        timeout: float,
        user_agent: str,
        retry: RetryPolicy | None = None,
        retry_on: Collection[int] = RETRYABLE,
        pool: int = 10,
    ) -> None:
        import httpx

        self.retry = retry or RetryPolicy()
        self.retry_on = frozenset(retry_on)
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            limits=limits,
            headers={"User-Agent": user_agent},
            trust_env=True,
        )

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[httpx.Response]:
        """The response (streamed: ``read()`` it, or iterate ``iter_lines()``) to the first
        attempt whose status is not retryable, or to the last attempt. Raises ``NetworkError``
        when no answer came, or its body broke off while the caller read it. ``retry``
        overrides the client's policy for this request."""
        import httpx

        policy = retry or self.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                request = self._client.build_request(method, url, headers=headers, json=json)
                response = self._client.send(request, stream=True)
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                raise NetworkError(url, _reason(exc)) from None
            if response.status_code in self.retry_on and attempt < policy.attempts:
                response.close()
                time.sleep(policy.delay(attempt, response.headers.get("Retry-After")))
                continue
            try:
                yield response
            except httpx.RequestError as exc:  # the body failed midway (timeout, bad gzip)
                raise NetworkError(url, _reason(exc)) from None
            finally:
                response.close()
            return
        raise AssertionError("unreachable: the last attempt yields")


def _reason(exc: Exception) -> str:
    """What went wrong, in words (httpx's messages can be empty for timeouts)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
