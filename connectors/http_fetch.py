"""HTTP for the web connector: polite conditional GETs, robots.txt, sitemaps, URL hygiene.

Each fetch returns a ``Fetched`` value whatever happened (status 0 for a network failure),
never raises.
"""

from __future__ import annotations

import gzip
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from ragcore.errors import SourceError
from ragcore.http_client import HttpClient, NetworkError
from ragcore.retry import RetryPolicy

USER_AGENT = "ragcore-web/0.1"
ROBOTS_AGENT = "ragcore"


class Outcome(StrEnum):
    OK = "ok"  # 200 with a body
    NOT_MODIFIED = "not_modified"  # 304: the validators still hold
    GONE = "gone"  # 404 / 410: the page no longer exists
    FAILED = "failed"  # anything else: keep what the index has


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 0: no HTTP response (refused, timeout, DNS)
    outcome: Outcome
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    reason: str = ""


def normalize(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and empty path dropped."""
    url, _ = urldefrag(url.strip())
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else (f"{host}:{port}")
    )
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def resolve(base: str, href: str) -> str | None:
    """Absolute, normalized http(s) URL of a link, or None (mailto:, javascript:, ...)."""
    try:
        url = urljoin(base, href.strip())
    except ValueError:
        return None
    return normalize(url) if urlsplit(url).scheme in ("http", "https") else None


class Fetcher:
    """GETs over one keep-alive, compressed client (``ragcore.http_client``), with a minimum
    interval between request starts (``delay``, shared by all threads). A 429 or 503 is
    retried (``retry``'s attempts and backoff), waiting what its ``Retry-After`` asks, before
    it counts as a failure."""

    def __init__(
        self, timeout: float = 10.0, delay: float = 0.0, retry: RetryPolicy | None = None
    ) -> None:
        self.timeout, self.delay = timeout, delay
        self.retry = retry or RetryPolicy(attempts=3)
        self._lock = threading.Lock()
        self._next = 0.0
        self._client: HttpClient | None = None
        self.requests = 0
        self.not_modified = 0

    def close(self) -> None:
        """Release the pooled connections (a later ``get`` opens new ones)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _http(self) -> HttpClient:
        with self._lock:
            if self._client is None:
                self._client = HttpClient(
                    timeout=self.timeout,
                    user_agent=USER_AGENT,
                    retry=self.retry,
                    retry_on=(429, 503),
                    pool=16,
                )
            return self._client

    def _wait_turn(self) -> None:
        with self._lock:
            self.requests += 1
            if self.delay <= 0:
                return
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        time.sleep(max(0.0, start - now))

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        headers = {"Accept": "text/html,text/plain;q=0.9,*/*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._wait_turn()
        try:
            with self._http().request("GET", url, headers=headers) as response:
                code = response.status_code
                if code == 304:
                    with self._lock:
                        self.not_modified += 1
                    return Fetched(url, 304, Outcome.NOT_MODIFIED)
                if code >= 300:
                    outcome = Outcome.GONE if code in (404, 410) else Outcome.FAILED
                    reason = f"HTTP {code} {response.reason_phrase}".rstrip()
                    return Fetched(url, code, outcome, reason=reason)
                return Fetched(
                    normalize(str(response.url)),
                    code,
                    Outcome.OK,
                    response.read(),
                    response.headers.get("Content-Type", ""),
                    response.headers.get("ETag"),
                    response.headers.get("Last-Modified"),
                )
        except NetworkError as exc:
            return Fetched(url, 0, Outcome.FAILED, reason=f"cannot fetch: {exc.reason}")


class RobotsRules:
    """A site's robots.txt read by RFC 9309's rules (Protego): the most specific (longest)
    matching rule wins, ``Allow`` over ``Disallow`` on a tie, ``*`` and ``$`` wildcards; the
    standard library's parser applies the first matching line and ignores wildcards."""

    def __init__(self, text: str = "") -> None:
        from protego import Protego

        self._rules = Protego.parse(text)

    def can_fetch(self, agent: str, url: str) -> bool:
        return bool(self._rules.can_fetch(url, agent))

    def crawl_delay(self, agent: str) -> float | None:
        delay = self._rules.crawl_delay(agent)
        return float(delay) if delay is not None else None

    @property
    def sitemaps(self) -> list[str]:
        return list(self._rules.sitemaps)


def robots(fetcher: Fetcher, origin: str) -> RobotsRules:
    """The site's robots.txt rules. Missing (4xx) allows everything; an unreachable host or a
    5xx answer is an error for the whole source (RFC 9309: assume complete disallow)."""
    url = origin.rstrip("/") + "/robots.txt"
    got = fetcher.get(url)
    if got.outcome is Outcome.OK:
        return RobotsRules(got.body.decode("utf-8", "replace"))
    if got.status == 0 or got.status >= 500:
        raise SourceError(
            f"{origin}: robots.txt unavailable ({got.reason})",
            "check the host is up and reachable; nothing of this site was changed",
            source=origin.rstrip("/") + "/",
        )
    return RobotsRules()


_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def sitemap_urls(fetcher: Fetcher, url: str, limit: int, _depth: int = 0) -> list[str]:
    """Page URLs of a sitemap (``urlset``) or sitemap index, at most ``limit``."""
    got = fetcher.get(url)
    if got.outcome is not Outcome.OK:
        raise SourceError(
            f"sitemap {url}: {got.reason or got.status}", "check the sitemap URL", source=url
        )
    body = got.body
    if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz (served as is, not as Content-Encoding)
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise SourceError(
                f"sitemap {url} is not valid gzip ({exc})", "re-compress it", source=url
            ) from None
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceError(
            f"sitemap {url} is not valid XML ({exc})",
            "fix the sitemap, or crawl from a start page URL instead",
            source=url,
        ) from None
    tag = root.tag.removeprefix(_SITEMAP_NS)
    locs = [(el.text or "").strip() for el in root.iter(f"{_SITEMAP_NS}loc")] or [
        (el.text or "").strip() for el in root.iter("loc")
    ]
    if tag not in ("urlset", "sitemapindex"):
        raise SourceError(
            f"sitemap {url}: root element <{tag}> is neither <urlset> nor <sitemapindex>",
            "point at a sitemap.xml",
            source=url,
        )
    if tag == "sitemapindex":
        if _depth >= 2:
            return []
        out: list[str] = []
        for loc in locs:
            if len(out) >= limit:
                break
            out += sitemap_urls(fetcher, loc, limit - len(out), _depth + 1)
        return out
    return [normalize(loc) for loc in locs if loc][:limit]
