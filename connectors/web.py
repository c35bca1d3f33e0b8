"""Web sites: crawl from a start URL (or a sitemap.xml), same site, under the start URL's
folder, breadth-first up to ``max_depth`` links and ``max_pages`` pages.

- robots.txt is obeyed (agent ``ragcore``) by RFC 9309's rules (Protego: longest match,
  wildcards), including its Crawl-delay; the sitemaps it lists are read (``.xml.gz`` too) and
  their in-scope pages crawled after the start page; ``noindex`` pages are not indexed and
  ``nofollow`` pages' links are not followed.
- Requests run ``concurrency`` at a time (default 4), at least ``delay`` seconds apart.
- Re-syncs send conditional GETs (``If-None-Match`` / ``If-Modified-Since``) with the
  validators of the last completed sync, kept in the index's ledger (``checkpoint``): an
  unchanged page costs a 304 and no parsing; its links come from the checkpoint.
- Pages are de-duplicated by ``<link rel="canonical">`` (same site), which is their id and
  source. The change token is a hash of the page's extracted title and text, so a page whose
  navigation or markup changed but whose text did not is not re-embedded.
- A 404/410 page is gone (deleted from the index); a 5xx, a timeout or a refused request
  skips that page and keeps what the index had. An unreachable site changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from ragcore.connectors.html_reader import decode_html
from ragcore.connectors.http_fetch import (
    ROBOTS_AGENT,
    Fetched,
    Fetcher,
    Outcome,
    normalize,
    resolve,
    robots,
    sitemap_urls,
)
from ragcore.connectors.readers import html_text, read_markdown, read_text

from ragcore.errors import ConfigError, SourceError
from ragcore.ids import content_hash, document_id
from ragcore.types import Document, DocumentRef, Skipped


@dataclass(frozen=True)
class Page:
    """What a crawl learns about one page; ``text`` is None when it came from the checkpoint."""

    url: str
    canonical: str
    token: str
    title: str
    links: tuple[str, ...]
    etag: str | None = None
    last_modified: str | None = None
    author: str = ""
    text: str | None = None

    def state(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "canonical": self.canonical,
            "token": self.token,
            "title": self.title,
            "links": list(self.links),
            "etag": self.etag,
            "last_modified": self.last_modified,
            "author": self.author,
        }


def _int(name: str, value: Any, low: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"web option {name}={value!r} is not a number", f"e.g. {name}=100"
        ) from None
    if number < low:
        raise ConfigError(f"web option {name}={number} is below {low}", f"use {name} >= {low}")
    return number


def _iso(http_date: str | None) -> str | None:
    if not http_date:
        return None
    try:
        return parsedate_to_datetime(http_date).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


class WebConnector:
    """``http(s)://`` start URL, or a URL ending in ``.xml`` read as a sitemap."""

    priority = 10

    def __init__(
        self,
        source: str,
        *,
        max_pages: int | str = 1000,
        max_depth: int | str = 5,
        concurrency: int | str = 4,
        delay: float | str = 0.0,
        timeout: float | str = 10.0,
        sitemap: str | None = None,
    ) -> None:
        start = normalize(source)
        self.max_pages = _int("max_pages", max_pages, 1)
        self.max_depth = _int("max_depth", max_depth, 0)
        self.concurrency = _int("concurrency", concurrency, 1)
        self.sitemap = sitemap or (start if start.endswith(".xml") else None)
        parts = start.split("/")
        origin = "/".join(parts[:3])
        folder = start if self.sitemap else start.rsplit("/", 1)[0] + "/"
        self.origin = origin
        self.scope = origin + "/" if self.sitemap else folder
        self.start = start
        self.fetcher = Fetcher(float(timeout), float(delay))
        self._state: dict[str, dict[str, Any]] = {}
        self._pages: dict[str, Page] = {}

    @staticmethod
    def accepts(source: str) -> bool:
        return source.startswith(("http://", "https://"))

    def restore(self, state: Mapping[str, Any]) -> None:
        self._state = {k: dict(v) for k, v in state.get("pages", {}).items()}

    def close(self) -> None:
        """Release the crawl's pooled connections (the sync engine calls this)."""
        self.fetcher.close()

    def checkpoint(self) -> Mapping[str, Any]:
        return {"pages": {p.url: p.state() for p in self._pages.values()}}

    def _in_scope(self, url: str) -> bool:
        return url.startswith(self.scope) or url + "/" == self.scope

    def _parse(self, got: Fetched) -> Page | None:
        """A fetched page's text, title, links and canonical URL (None: not indexable)."""
        kind = got.content_type.split(";")[0].strip().lower()
        if kind in ("text/plain", "text/markdown"):
            read = read_markdown if kind == "text/markdown" else read_text
            ex = read(got.body)
            return Page(
                got.url, got.url, content_hash(ex.title + "\n" + ex.text), ex.title, (),
                got.etag, got.last_modified, text=ex.text,
            )  # fmt: skip
        if kind not in ("text/html", "application/xhtml+xml", ""):
            return None
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(decode_html(got.body, got.content_type), "html.parser")
        directives = {
            d.strip().lower()
            for m in soup.find_all("meta", attrs={"name": "robots"})
            for d in str(m.get("content", "")).split(",")
        }
        links: tuple[str, ...] = ()
        if "nofollow" not in directives:
            found = (resolve(got.url, str(a["href"])) for a in soup.find_all("a", href=True))
            links = tuple(dict.fromkeys(u for u in found if u and self._in_scope(u)))
        if "noindex" in directives:
            return Page(got.url, "", "", "", links)
        canonical = got.url
        tag = soup.find("link", rel="canonical", href=True)
        if tag is not None and (c := resolve(got.url, str(tag["href"]))) and self._in_scope(c):
            canonical = c
        author_tag = soup.find("meta", attrs={"name": "author"})
        author = str(author_tag.get("content", "")) if author_tag else ""
        ex = html_text(soup)
        return Page(
            got.url, canonical, content_hash(ex.title + "\n" + ex.text), ex.title, links,
            got.etag, got.last_modified, author, ex.text,
        )  # fmt: skip

    def _visit(self, url: str) -> Page | Skipped | None:
        old = self._state.get(url)
        got = self.fetcher.get(url, *(old["etag"], old["last_modified"]) if old else (None, None))
        if got.outcome is Outcome.NOT_MODIFIED and old is not None:
            return Page(
                url, old["canonical"], old["token"], old["title"], tuple(old["links"]),
                old["etag"], old["last_modified"], old.get("author", ""),
            )  # fmt: skip
        if got.outcome is Outcome.GONE:
            return None
        if got.outcome is not Outcome.OK:  # keep the page; the crawl follows its old links
            return Skipped(old["canonical"] if old else url, got.reason or f"HTTP {got.status}")
        if not self._in_scope(got.url):
            return None  # redirected off the site
        try:
            return self._parse(got)
        except (ValueError, UnicodeError) as exc:
            return Skipped(url, f"unparseable page: {exc}")

    def list(self) -> Iterator[DocumentRef | Skipped]:
        if not self.accepts(self.start):
            raise SourceError(f"{self.start}: not an http(s) URL", "e.g. https://example.com/docs/")
        rules = robots(self.fetcher, self.origin)
        crawl_delay = rules.crawl_delay(ROBOTS_AGENT)
        if crawl_delay:
            self.fetcher.delay = max(self.fetcher.delay, float(crawl_delay))
        listed: list[str] = []  # pages of the sitemaps robots.txt lists, crawled after the start
        if self.sitemap:
            frontier = sitemap_urls(self.fetcher, self.sitemap, self.max_pages)
            max_depth = 0
        else:
            frontier, max_depth = [self.start], self.max_depth
            for where in rules.sitemaps:
                try:
                    listed += sitemap_urls(self.fetcher, where, self.max_pages)
                except SourceError as exc:
                    yield Skipped(where, exc.message)
        self._pages = {}
        seen: set[str] = set()
        emitted: set[str] = set()
        fetched = 0
        with ThreadPoolExecutor(self.concurrency) as pool:
            for depth in range(max_depth + 1):
                todo = []
                for url in frontier:
                    if url in seen or not self._in_scope(url):
                        continue
                    seen.add(url)
                    if not rules.can_fetch(ROBOTS_AGENT, url):
                        continue
                    if fetched + len(todo) >= self.max_pages:
                        break
                    todo.append(url)
                fetched += len(todo)
                next_frontier: list[str] = []
                for url, result in zip(todo, pool.map(self._visit, todo), strict=True):
                    if depth == 0 and not self.sitemap and not isinstance(result, Page):
                        why = result.reason if result else "not found (HTTP 404/410)"
                        raise SourceError(
                            f"start page {url}: {why}",
                            "check the URL; nothing of this site was changed",
                            source=url,
                        )
                    if isinstance(result, Skipped):
                        yield result
                        if depth < max_depth:
                            next_frontier += self._state.get(url, {}).get("links", [])
                        continue
                    if result is None:
                        continue
                    if depth < max_depth:
                        next_frontier += result.links
                    if not result.canonical or result.canonical in emitted:
                        continue  # noindex, or a duplicate of a page already listed
                    emitted.add(result.canonical)
                    self._pages[result.canonical] = result
                    seen.add(result.canonical)
                    yield self._ref(result)
                frontier = next_frontier + (listed if depth == 0 else [])
                if not frontier:
                    break

    def _ref(self, page: Page) -> DocumentRef:
        meta: dict[str, Any] = {"title": page.title, "url": page.url}
        if page.author:
            meta["author"] = page.author
        if updated := _iso(page.last_modified):
            meta["updated_at"] = updated
        return DocumentRef(document_id(page.canonical), page.canonical, page.token, meta)

    def load(self, ref: DocumentRef) -> Document:
        page = self._pages.get(ref.source)
        if page is None or page.text is None:  # unchanged on the wire but must be re-read
            got = self.fetcher.get(page.url if page else ref.source)
            if got.outcome is not Outcome.OK:
                raise SourceError(got.reason or f"HTTP {got.status}", "retry later", ref.source)
            fresh = self._parse(got)
            if fresh is None or fresh.text is None:
                raise SourceError("no indexable content", "the page is not HTML or text")
            page = fresh
        return Document(ref.id, ref.source, page.text or "", page.token, dict(ref.metadata))
