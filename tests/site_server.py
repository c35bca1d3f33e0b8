"""A real HTTP server on 127.0.0.1 serving an editable in-memory site, with ETag /
Last-Modified validators and 304 answers, keep-alive (HTTP/1.1) and gzip for clients that
ask for it, for the web connector's tests and benchmark."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Site:
    """``pages[path] = (content_type, body)``; ``status[path] = code`` forces an error."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.status: dict[str, int] = {}
        self.refuse: dict[str, int] = {}  # path -> how many more GETs get 429 (Retry-After: 1)
        self.modified: dict[str, float] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified = 0
        self.latency = 0.0  # seconds each answer waits, as a remote server's round trip would
        self.connections: set[tuple[str, int]] = set()  # client (host, port) of each connection
        self.gzipped = 0  # answers sent gzip-compressed (the client asked for gzip)
        self.lock = threading.Lock()

    def put(self, path: str, body: str | bytes, content_type: str = "text/html") -> None:
        with self.lock:
            self.pages[path] = (content_type, body.encode() if isinstance(body, str) else body)
            self.modified[path] = time.time()

    def remove(self, path: str) -> None:
        with self.lock:
            self.pages.pop(path, None)


class _Handler(BaseHTTPRequestHandler):
    site: Site
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = self.site
        path = self.path.split("?")[0]
        with site.lock:
            site.hits[path] += 1
            site.connections.add(self.client_address)
            forced = site.status.get(path)
            if site.refuse.get(path, 0) > 0:
                site.refuse[path] -= 1
                forced = 429
            page = site.pages.get(path)
            modified = site.modified.get(path, 0.0)
        if site.latency:
            time.sleep(site.latency)
        if forced == 429:
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if forced:
            self.send_error(forced)
            return
        if page is None:
            self.send_error(404)
            return
        content_type, body = page
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            with site.lock:
                site.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type + "; charset=utf-8")
        if "gzip" in self.headers.get("Accept-Encoding", "") and not body.startswith(b"\x1f\x8b"):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
            with site.lock:
                site.gzipped += 1
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(modified, usegmt=True))
        self.end_headers()
        self.wfile.write(body)


class SiteServer:
    def __init__(self, site: Site) -> None:
        handler = type("Handler", (_Handler,), {"site": site})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def page(title: str, body: str, links: Sequence[str] = (), head: str = "") -> str:
    """A small HTML page with navigation links (dropped from the text) and a main body."""
    nav = "".join(f'<a href="{href}">{href}</a> ' for href in links)
    return (
        f"<html><head><title>{title}</title>{head}</head><body><nav>{nav}</nav>"
        f"<main><h1>{title}</h1><p>{body}</p></main></body></html>"
    )
