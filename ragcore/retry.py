"""When to retry an HTTP request, and how long to wait: bounded attempts with capped
exponential backoff, honouring a server's ``Retry-After`` (RFC 9110, section 10.2.3: seconds
or an HTTP date) on 429 and 503. Shared by the clients that talk to servers ragcore does not
run (the OpenAI-compatible generator)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # requests in all, the first included
    base_s: float = 0.5  # wait before the second attempt; doubled each time
    cap_s: float = 30.0  # no single wait is longer, whatever Retry-After asks

    def delay(
        self, attempt: int, retry_after: str | None = None, now: float | None = None
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        asked = retry_after_seconds(retry_after, time.time() if now is None else now)
        backoff = self.base_s * 2 ** (attempt - 1)
        return min(self.cap_s, asked if asked is not None else backoff)


def retry_after_seconds(header: str | None, now: float) -> float | None:
    """A ``Retry-After`` value in seconds from ``now`` (None when absent or unreadable)."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
