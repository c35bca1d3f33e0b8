"""The web connector against a real HTTP server on 127.0.0.1, whose site the tests edit
between syncs; indexing uses the real default embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from ragcore.connectors.web import WebConnector
from site_server import Site, SiteServer, page

from ragcore import Index
from ragcore.errors import ConfigError
from ragcore.types import DocumentRef, Skipped


def _site() -> Site:
    site = Site()
    site.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.put(
        "/",
        page("Home", "Welcome to the Lumen handbook.", ["/a.html", "/b.html", "/private/x.html"]),
    )
    site.put("/a.html", page("Alpha", "The alpha gateway listens on port 8443.", ["/c.html"]))
    site.put("/b.html", page("Beta", "Beta invoices are sent on the first day of the month."))
    site.put("/c.html", page("Gamma", "Gamma backups run nightly at 02:00 UTC.", ["/dup.html"]))
    canonical = '<link rel="canonical" href="/a.html">'
    site.put("/dup.html", page("Alpha copy", "A copy of alpha.", ["/hidden.html"], canonical))
    site.put("/hidden.html", page("Hidden", "Only linked from the duplicate page."))
    site.put("/private/x.html", page("Secret", "The vault combination is 1234."))
    return site


def _listed(connector: WebConnector) -> tuple[list[DocumentRef], list[Skipped]]:
    items = list(connector.list())
    return [i for i in items if isinstance(i, DocumentRef)], [
        i for i in items if isinstance(i, Skipped)
    ]


def test_crawl_obeys_robots_dedups_canonical_and_keeps_headings() -> None:
    site = _site()
    with SiteServer(site) as server:
        connector = WebConnector(server.url + "/")
        refs, skipped = _listed(connector)
        paths = sorted(r.source.removeprefix(server.url) for r in refs)
        assert paths == ["/", "/a.html", "/b.html", "/c.html", "/hidden.html"]
        assert skipped == []
        assert site.hits["/private/x.html"] == 0  # disallowed by robots.txt, never fetched
        alpha = next(r for r in refs if r.source.endswith("/a.html"))
        assert alpha.metadata["title"] == "Alpha" and "updated_at" in alpha.metadata
        doc = connector.load(alpha)
        assert doc.text.startswith("# Alpha") and "port 8443" in doc.text
        assert "/c.html" not in doc.text  # navigation is not content


def test_max_pages_and_max_depth_bound_the_crawl() -> None:
    with SiteServer(_site()) as server:
        assert len(_listed(WebConnector(server.url + "/", max_pages=2))[0]) == 2
        shallow = _listed(WebConnector(server.url + "/", max_depth="1"))[0]
        assert sorted(r.metadata["title"] for r in shallow) == ["Alpha", "Beta", "Home"]
        with pytest.raises(ConfigError, match="max_pages"):
            WebConnector(server.url + "/", max_pages="many")


@pytest.mark.slow
def test_sync_follows_edits_deletions_and_additions(tmp_path: Path) -> None:
    site = _site()
    with SiteServer(site) as server, Index.open(tmp_path / "idx", create=True) as index:
        r = index.ingest([server.url + "/"], quiet=True)
        assert (r.added, r.changed, r.deleted) == (5, 0, 0) and r.ok

        before = site.not_modified
        r = index.ingest([server.url + "/"], quiet=True)
        assert (r.unchanged, r.chunks_written) == (5, 0)
        assert site.not_modified - before == 5  # conditional GETs: every page answered 304

        site.put("/b.html", page("Beta", "Beta invoices are now sent on the 15th."))
        site.remove("/c.html")  # c and the pages only it links to disappear
        site.put("/a.html", page("Alpha", "The alpha gateway listens on port 8443.", ["/d.html"]))
        site.put("/d.html", page("Delta", "Delta is the new status page at status.lumen.io."))
        r = index.ingest([server.url + "/"], quiet=True)
        assert (r.added, r.changed, r.deleted, r.unchanged) == (1, 1, 2, 2), r
        titles = {h.chunk.metadata.get("title") for h in index.search("backups", k=20).hits}
        assert "Gamma" not in titles and "Hidden" not in titles
        top = index.search("when are beta invoices sent", k=1).hits[0]
        assert "15th" in top.chunk.text
        assert index.ledger.counts()[0] == 4 == len({c.doc_id for c in index.chunks()})


@pytest.mark.slow
def test_failures_keep_what_the_index_had(tmp_path: Path) -> None:
    site = _site()
    with SiteServer(site) as server, Index.open(tmp_path / "idx", create=True) as index:
        index.ingest([server.url + "/"], quiet=True)
        docs = index.ledger.counts()

        site.status["/a.html"] = 500  # a hub page fails: it and what it links to are kept
        r = index.ingest([server.url + "/"], quiet=True)
        assert [s.source for s in r.skipped] == [server.url + "/a.html"]
        assert "500" in r.skipped[0].reason and r.deleted == 0
        assert index.ledger.counts() == docs

        site.status["/"] = 503  # the start page fails: the whole site is left alone
        r = index.ingest([server.url + "/"], quiet=True)
        assert not r.ok and r.deleted == 0 and "start page" in r.skipped[0].reason
        assert index.ledger.counts() == docs
    url = server.url + "/"  # the server is gone now: unreachable host
    with Index.open(tmp_path / "idx") as index:
        r = index.ingest([url], quiet=True)
        assert r.skipped[0].source == server.url + "/" and "robots.txt" in r.skipped[0].reason
        assert index.ledger.counts() == docs


def test_sitemap_lists_its_pages_and_a_malformed_one_is_an_error() -> None:
    site = _site()
    urls = "".join(f"<url><loc>{{base}}{p}</loc></url>" for p in ("/a.html", "/b.html"))
    with SiteServer(site) as server:
        body = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + urls.format(base=server.url)
            + "</urlset>"
        )
        site.put("/sitemap.xml", body, "application/xml")
        refs, _ = _listed(WebConnector(server.url + "/sitemap.xml"))
        assert sorted(r.metadata["title"] for r in refs) == ["Alpha", "Beta"]
        site.put("/broken.xml", "<urlset><url><loc>oops", "application/xml")
        with pytest.raises(Exception, match="not valid XML"):
            _listed(WebConnector(server.url + "/broken.xml"))


def test_robots_rules_follow_rfc_9309() -> None:
    from ragcore.connectors.http_fetch import RobotsRules

    rules = RobotsRules(
        "User-agent: *\nDisallow: /docs/\nAllow: /docs/public/\nDisallow: /*.pdf$\n"
        "Crawl-delay: 2\nSitemap: https://x.example/sitemap.xml.gz\n"
    )
    base = "https://x.example"
    assert rules.can_fetch("ragcore", base + "/docs/public/page.html")  # longest match wins
    assert not rules.can_fetch("ragcore", base + "/docs/private.html")
    assert not rules.can_fetch("ragcore", base + "/guide.pdf")  # wildcard and end anchor
    assert rules.can_fetch("ragcore", base + "/guide.pdf.html")
    assert rules.crawl_delay("ragcore") == 2.0
    assert rules.sitemaps == ["https://x.example/sitemap.xml.gz"]


def test_sitemaps_that_robots_lists_are_read_gzipped_too() -> None:
    import gzip

    site = _site()
    with SiteServer(site) as server:
        site.put("/orphan.html", page("Orphan", "Linked from nowhere, listed in the sitemap."))
        xml = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{server.url}/orphan.html</loc></url></urlset>"
        )
        site.put("/sitemap.xml.gz", gzip.compress(xml.encode()), "application/gzip")
        site.put(
            "/robots.txt",
            f"User-agent: *\nDisallow: /private/\nSitemap: {server.url}/sitemap.xml.gz\n",
            "text/plain",
        )
        refs, skipped = _listed(WebConnector(server.url + "/"))
        assert "Orphan" in {r.metadata["title"] for r in refs} and skipped == []
        site.put("/robots.txt", f"User-agent: *\nSitemap: {server.url}/gone.xml\n", "text/plain")
        refs, skipped = _listed(WebConnector(server.url + "/"))
        assert "Home" in {r.metadata["title"] for r in refs}  # a missing sitemap skips itself
        assert [s.source for s in skipped] == [f"{server.url}/gone.xml"]


def test_a_rate_limited_page_is_fetched_after_retry_after() -> None:
    import time

    site = _site()
    with SiteServer(site) as server:
        site.refuse["/b.html"] = 2  # two 429s with Retry-After: 1, then the page
        t0 = time.monotonic()
        refs, skipped = _listed(WebConnector(server.url + "/"))
        assert "Beta" in {r.metadata["title"] for r in refs} and skipped == []
        assert site.hits["/b.html"] == 3 and time.monotonic() - t0 >= 1.9
        site.refuse["/b.html"] = 10  # more refusals than attempts: skipped, not lost
        _, skipped = _listed(WebConnector(server.url + "/"))
        assert [s.source.removeprefix(server.url) for s in skipped] == ["/b.html"]
        assert "429" in skipped[0].reason


def test_a_crawl_reuses_its_connections_and_takes_gzip() -> None:
    site = _site()
    with SiteServer(site) as server:
        connector = WebConnector(server.url + "/", concurrency=2)
        refs, _ = _listed(connector)
        texts = [connector.load(ref).text for ref in refs]
        connector.close()
        requests = sum(site.hits.values())
        assert {r.metadata["title"] for r in refs} == {"Home", "Alpha", "Beta", "Gamma", "Hidden"}
        assert any("port 8443" in t for t in texts)  # gzip bodies arrive decoded
        assert requests >= 7 and site.gzipped >= 6
        assert len(site.connections) <= 2 < requests  # keep-alive: 2 workers, 2 connections
        connector.close()  # closing twice is harmless, and a closed crawler crawls again
        assert len(_listed(connector)[0]) == 5
