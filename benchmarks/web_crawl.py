"""Web connector crawl speed on a local 1,000-page site (a real HTTP server on 127.0.0.1):
pages per second for a first crawl (fetch + parse + text) and for a re-crawl answered by 304s,
at 1 and 4 concurrent requests, with 0 ms and a simulated 20 ms server round trip.

    python benchmarks/web_crawl.py --pages 1000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ragcore.connectors.web import WebConnector
from site_server import Site, SiteServer, page

from ragcore.types import DocumentRef

PARAGRAPH = (
    "The Lumen gateway routes internal API traffic, enforces quotas per tenant and rotates "
    "certificates every ninety days. Operators read metrics from the dashboard. "
)


def build(n: int) -> Site:
    """Page i links to pages 10i+1 .. 10i+10 (a tree, depth 3 for 1,000 pages) and home."""
    site = Site()
    site.put("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    for i in range(n):
        links = [f"/p{j}.html" for j in range(10 * i + 1, min(n, 10 * i + 11))] + ["/p0.html"]
        site.put(f"/p{i}.html", page(f"Page {i}", PARAGRAPH * 6, links))
    return site


def crawl(url: str, concurrency: int, state: dict | None) -> tuple[float, int, dict]:
    connector = WebConnector(url, concurrency=concurrency, max_pages=100_000, max_depth=10)
    if state:
        connector.restore(state)
    t = time.perf_counter()
    refs = [r for r in connector.list() if isinstance(r, DocumentRef)]
    for ref in refs:
        if not state:
            connector.load(ref)
    return time.perf_counter() - t, len(refs), dict(connector.checkpoint())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    args = ap.parse_args()
    table = Table(title=f"web crawl of a local {args.pages}-page site, 2-core CPU")
    for col in ("server round trip", "concurrent requests", "crawl", "pages", "seconds", "pages/s"):
        table.add_column(col, justify="right")
    site = build(args.pages)
    with SiteServer(site) as server:
        for latency in (0.0, 0.02):
            site.latency = latency
            for concurrency in (1, 4):
                seconds, n, state = crawl(server.url + "/p0.html", concurrency, None)
                row = (f"{latency * 1000:.0f} ms", str(concurrency))
                table.add_row(*row, "first (200s)", str(n), f"{seconds:.2f}", f"{n / seconds:.0f}")
                before = site.not_modified
                seconds, n, _ = crawl(server.url + "/p0.html", concurrency, state)
                assert site.not_modified - before == n
                table.add_row(
                    *row, "re-crawl (304s)", str(n), f"{seconds:.2f}", f"{n / seconds:.0f}"
                )
    Console().print(table)


if __name__ == "__main__":
    main()
