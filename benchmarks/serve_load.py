"""Load on ``ragcore serve`` over loopback: /v1/search with 1, 8 and 32 concurrent clients,
/v1/ask with 1 and 4, against the same calls made in-process; optionally a soak with a sync
started every minute. Run by hand; prints tables.

    python benchmarks/serve_load.py --index IDX --queries queries.jsonl [--seconds 60]
        [--ask-questions 8] [--soak 600 --soak-source DIR]

``--queries``: one JSON object per line with a ``text`` (BEIR queries) or ``question`` field.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from ragcore.config import Settings
from ragcore.progress import quiet_libraries
from ragcore.server.app import create_app
from ragcore.server.service import ServeConfig, Service
from ragcore.sources import SourceSpec

out = Console()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        line = next(x for x in f if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def serve(service: Service, config: ServeConfig) -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config, service), host="127.0.0.1",
                                           port=port, log_level="error"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def hammer(url: str, path: str, bodies: list[dict], clients: int, seconds: float,
           limit: int | None = None) -> dict[str, float]:  # fmt: skip
    """``clients`` threads POST ``bodies`` (cycled) for ``seconds`` (or ``limit`` requests each)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as http:
            done = 0
            while time.monotonic() < stop and (limit is None or done < limit):
                t0 = time.perf_counter()
                try:
                    ok = http.post(url + path, json=rng.choice(bodies)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    errors[0] += not ok
                done += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"n": len(latencies), "p50": 1000 * percentile(latencies, 0.5),
            "p99": 1000 * percentile(latencies, 0.99), "rps": len(latencies) / wall,
            "errors": errors[0]}  # fmt: skip


def _apart(url: str, bodies: list[dict], seconds: float, results: Any) -> None:
    results.put(hammer(url, "/v1/search", bodies, 1, seconds))


def _timed_http(url: str, bodies: list[dict], results: Any) -> None:
    """One keep-alive connection with the standard library's client (httpx adds about 0.8 ms
    a request of its own: /healthz takes 1.7 ms through it, 0.85 ms through http.client)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"content-type": "application/json"}
    times = []
    for body in [bodies[0], *bodies]:  # the first opens the connection
        t0 = time.perf_counter()
        conn.request("POST", "/v1/search", body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append(time.perf_counter() - t0)
    results.put(times[1:])


def overhead(url: str, service: Service, queries: list[str], rounds: int = 3) -> dict[str, float]:
    """HTTP overhead, paired: the same queries in process and over HTTP (one client in a
    process of its own), alternating rounds; the median over queries of each query's median
    HTTP time minus its median in-process time."""
    ctx = multiprocessing.get_context("spawn")
    bodies = [{"query": q, "k": 10} for q in queries]
    local: list[list[float]] = []
    remote: list[list[float]] = []
    for _ in range(rounds):
        times = []
        for q in queries:
            t0 = time.perf_counter()
            service.index.search(q, k=10)
            times.append(time.perf_counter() - t0)
        local.append(times)
        results = ctx.Queue()
        proc = ctx.Process(target=_timed_http, args=(url, bodies, results))
        proc.start()
        remote.append(results.get())
        proc.join()
    per_local = [statistics.median(r[i] for r in local) for i in range(len(queries))]
    per_remote = [statistics.median(r[i] for r in remote) for i in range(len(queries))]
    diffs = [b - a for a, b in zip(per_local, per_remote, strict=True)]
    return {"local": 1000 * statistics.median(per_local),
            "http": 1000 * statistics.median(per_remote),
            "overhead": 1000 * statistics.median(diffs)}  # fmt: skip


def apart(url: str, bodies: list[dict], seconds: float) -> dict[str, float]:
    """One client in a process of its own (spawned), so that it shares no GIL with the
    server: the HTTP overhead without the load generator's share of the cores' time."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_apart, args=(url, bodies, seconds, results))
    proc.start()
    found = results.get()
    proc.join()
    return found


def in_process(service: Service, queries: list[str], n: int = 200) -> float:
    times = []
    for q in queries[:n]:
        t0 = time.perf_counter()
        service.index.search(q, k=10)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--ask-questions", type=int, default=8, help="per client")
    ap.add_argument("--soak", type=float, default=0, help="seconds of soak (0: none)")
    ap.add_argument("--soak-source", type=Path, help="folder the soak re-syncs every minute")
    ap.add_argument("--overhead-only", action="store_true",
                    help="only the paired HTTP-overhead measurement")  # fmt: skip
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    queries = [r.get("text") or r["question"] for r in rows]
    sources = (SourceSpec(str(args.soak_source)),) if args.soak_source else ()
    config = ServeConfig(Settings(index_dir=args.index, sources=sources))
    service = Service(config)
    t0 = time.perf_counter()
    service.load()
    out.print(f"models loaded in {time.perf_counter() - t0:.1f} s; "
              f"{service.index.status().chunks} chunks")  # fmt: skip
    url, server = serve(service, config)
    paired = overhead(url, service, queries[:200])
    out.print(f"HTTP overhead at p50, paired over 200 queries x 3 rounds (client in its own "
              f"process): {paired['overhead']:.2f} ms (in-process p50 {paired['local']:.1f} ms, "
              f"HTTP p50 {paired['http']:.1f} ms)")  # fmt: skip
    if args.overhead_only:
        server.should_exit = True
        return
    base = in_process(service, queries)
    table = Table(
        title=f"POST /v1/search, {args.seconds:.0f} s each (in-process p50 {base:.1f} ms)"
    )
    for col in ("clients", "requests", "p50 ms", "p99 ms", "req/s", "errors"):
        table.add_column(col, justify="right")
    bodies = [{"query": q, "k": 10} for q in queries]
    for clients in (1, 8, 32):
        r = hammer(url, "/v1/search", bodies, clients, args.seconds)
        table.add_row(str(clients), str(r["n"]), f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                      f"{r['rps']:.1f}", str(r["errors"]))  # fmt: skip
    r = apart(url, bodies, args.seconds)
    table.add_row("1 (own process)", str(r["n"]), f"{r['p50']:.1f}", f"{r['p99']:.1f}",
                  f"{r['rps']:.1f}", str(r["errors"]))  # fmt: skip
    out.print(table)
    out.print(f"HTTP overhead at p50, client in its own process: {r['p50'] - base:.1f} ms")
    ask = Table(title=f"POST /v1/ask, {args.ask_questions} questions per client")
    for col in ("clients", "requests", "p50 ms", "p99 ms", "req/s", "errors"):
        ask.add_column(col, justify="right")
    questions = [{"question": q} for q in queries]
    for clients in (1, 4):
        r = hammer(url, "/v1/ask", questions, clients, 3600, limit=args.ask_questions)
        ask.add_row(str(clients), str(r["n"]), f"{r['p50']:.0f}", f"{r['p99']:.0f}",
                    f"{r['rps']:.2f}", str(r["errors"]))  # fmt: skip
    out.print(ask)
    if args.soak:
        soak(url, service, bodies, args.soak)
    server.should_exit = True


def soak(url: str, service: Service, bodies: list[dict], seconds: float) -> None:
    start_rss = rss_mb()
    results: dict[str, float] = {}
    loader = threading.Thread(target=lambda: results.update(hammer(url, "/v1/search", bodies, 4,
                                                                   seconds)))  # fmt: skip
    loader.start()
    syncs, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        if not service.syncing.locked():
            service.start_sync()
            syncs += 1
        time.sleep(60)
    loader.join()
    growth = 100 * (rss_mb() - start_rss) / start_rss
    failed = [j for j in service.jobs.values() if j["status"] == "failed"]
    out.print(f"soak {seconds:.0f} s: {results['n']:.0f} searches, {results['errors']:.0f} failed, "
              f"p99 {results['p99']:.0f} ms; {syncs} syncs ({len(failed)} failed); RSS "
              f"{start_rss:.0f} -> {rss_mb():.0f} MB ({growth:+.1f}%)")  # fmt: skip


if __name__ == "__main__":
    with quiet_libraries():
        main()
