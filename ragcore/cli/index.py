"""The index commands: ingest, sync, search, status, demo and plugins.

Every failure the user can fix prints ``error:`` and ``hint:`` lines and exits 2; an ingest
that skipped some sources exits 1 after listing them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ragcore.cli.ask import demo_answers, print_answer
from ragcore.cli.options import (
    MAX_K,
    caller_groups,
    common,
    err,
    groups,
    index_build,
    out,
    parse_filters,
    parse_options,
    settings,
)
from ragcore.config import CONFIG_FILE, Fusion, RerankFusion, SearchConfig, Settings
from ragcore.errors import ConfigError, SourceError
from ragcore.index import Index
from ragcore.search import SearchResult
from ragcore.sources import SourceSpec, open_source
from ragcore.sync import SyncReport
from ragcore.types import Skipped

DEMO_QUESTIONS = (
    "how do I reset my password",
    "what ports does the gateway use",
    "how much does the Pro plan cost per user per month",
)


def add_index_parsers(sub: Any) -> None:
    """ingest, sync, search, status, demo and plugins."""
    p = sub.add_parser(
        "ingest",
        help="index sources (paths, http(s) sites, SQLAlchemy URLs, git repositories); "
        "re-running syncs changes and deletions",
    )
    p.add_argument("paths", nargs="+", metavar="SOURCE")
    p.add_argument("--connector", help="connector plugin to use (default: the one that claims it)")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="connector option, e.g. -o table=articles -o text_column=body; repeatable",
    )
    p.add_argument(
        "--access",
        action="append",
        default=[],
        metavar="GROUP",
        help="access group for documents that carry none of their own; repeatable. The source "
        "keeps its groups: a later ingest without --access keeps them",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="make the source's documents that carry no groups of their own public (drops the "
        "groups an earlier --access gave it)",
    )
    index_build(p)
    p.add_argument("--shard-number", type=int, help="shards for a new server collection")
    p.add_argument("--replication-factor", type=int, help="replicas for a new server collection")
    p.add_argument("--rebuild", action="store_true", help="wipe the index and ingest from scratch")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    common(p)

    p = sub.add_parser(
        "sync", help="re-sync every [[sources]] entry of ragcore.toml (added, changed, deleted)"
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    common(p)

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query")
    groups(p)
    p.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--mode", help="bm25 | dense | hybrid, optionally +rerank (default hybrid)")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="payload filter, repeatable, all must hold: KEY=V (V,W: any of), KEY!=V[,W], "
        "KEY>=N, KEY>N, KEY<=N, KEY<N (numbers or ISO dates, e.g. 'modified>=2024-06-01')",
    )
    p.add_argument("--fusion", choices=[f.value for f in Fusion])
    p.add_argument("--rrf-k", type=int)
    p.add_argument("--dense-weight", type=float, help="RRF weight of the dense list")
    p.add_argument("--sparse-weight", type=float, help="RRF weight of the BM25 list")
    p.add_argument("--prefetch", type=int, help="candidates per retriever before fusion")
    p.add_argument("--rerank-depth", type=int)
    p.add_argument("--rerank-max-tokens", type=int)
    p.add_argument("--rerank-fusion", choices=[f.value for f in RerankFusion])
    common(p)

    p = sub.add_parser("status", help="documents, chunks and last sync of an index")
    common(p)

    p = sub.add_parser(
        "demo", help="index the bundled sample docs, search them and answer sample questions"
    )
    common(p)

    p = sub.add_parser("plugins", help="list installed connectors, embedders and rerankers")
    p.add_argument("--json", action="store_true")


def cmd_ingest(args: argparse.Namespace) -> int:
    s = settings(args)
    specs = [
        SourceSpec(p, args.connector, tuple(args.access), parse_options(args.option), args.public)
        for p in args.paths
    ]
    return _sync(args, s, specs, rebuild=args.rebuild)


def cmd_sync(args: argparse.Namespace) -> int:
    s = settings(args)
    if not s.sources:
        raise ConfigError(
            "no [[sources]] in ragcore.toml to sync",
            'add a table per source, e.g. [[sources]] uri = "docs/", or use ragcore ingest SOURCE',
        )
    return _sync(args, s, list(s.sources), rebuild=False, per_source_errors=True)


def _sync(
    args: argparse.Namespace,
    s: Settings,
    specs: list[SourceSpec],
    rebuild: bool,
    per_source_errors: bool = False,
) -> int:
    """Resolve every source first, so that a bad option fails before anything is changed. With
    ``per_source_errors`` (``sync``), a source that cannot be opened (a folder gone, not a
    repository) is reported as skipped and the others are synced; ``ingest`` stops instead."""
    config = s.index if s.index_explicit else None
    sources, failed = [], []
    for spec in specs:
        try:
            sources.append(open_source(spec))
        except SourceError as exc:
            if not per_source_errors:
                raise
            failed.append(Skipped(spec.uri, str(exc)))
    if args.dry_run and (rebuild or not (s.index_dir / CONFIG_FILE).exists()):
        # the plan against an empty index, without creating one (or wiping it)
        with tempfile.TemporaryDirectory() as tmp, Index.open(tmp, create=True) as empty:
            report = empty.ingest(sources, quiet=args.quiet or args.json, dry_run=True)
    else:
        with Index.open(
            s.index_dir, config=config, store=s.store, create=True, rebuild=rebuild
        ) as index:
            report = index.ingest(sources, quiet=args.quiet or args.json, dry_run=args.dry_run)
    report = report + SyncReport(skipped=tuple(failed), dry_run=args.dry_run)
    _print_report(report, args.json)
    return 0 if report.ok else 1


def _print_report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report.to_json()))
        return
    verb = "would " if report.dry_run else ""
    out.print(
        f"{verb}add {report.added}, {verb}update {report.changed}, {verb}delete {report.deleted}, "
        f"unchanged {report.unchanged}; {report.chunks_written} chunks written, "
        f"{report.chunks_deleted} deleted in {report.seconds:.1f}s"
    )
    if report.skipped:
        err.print(
            f"[bold red]skipped {len(report.skipped)}[/] (the index keeps what it had for them):"
        )
        for s in report.skipped:
            err.print(f"  {escape(s.source)}: {escape(s.reason)}")


def cmd_search(args: argparse.Namespace) -> int:
    s = settings(args)
    search = s.search
    if args.mode:
        mode, rerank = SearchConfig.parse_mode(args.mode)
        search = replace(search, mode=mode, rerank=rerank)
    overrides = {
        "fusion": args.fusion,
        "rrf_k": args.rrf_k,
        "dense_weight": args.dense_weight,
        "sparse_weight": args.sparse_weight,
        "prefetch": args.prefetch,
        "rerank_depth": args.rerank_depth,
        "rerank_max_tokens": args.rerank_max_tokens,
        "rerank_fusion": args.rerank_fusion,
    }
    search = replace(search, **{k: v for k, v in overrides.items() if v is not None})
    if not 1 <= args.k <= MAX_K:
        raise ConfigError(f"-k {args.k} is not in 1..{MAX_K}", "e.g. -k 10")
    if not args.query.strip():
        raise ConfigError("the query is empty", 'search for something, e.g. ragcore search "..."')
    filters = parse_filters(args.filter)  # every flag checked before the index is opened
    with Index.open(s.index_dir, store=s.store, search=search) as index:
        result = index.search(args.query, k=args.k, filters=filters, groups=caller_groups(args))
    _print_result(result, args.json)
    return 0


def _print_result(result: SearchResult, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(result.to_json()))
        return
    t = Table(title=f"{result.query!r} ({result.mode}, {result.timings_ms.get('total', 0):.0f} ms)")
    for col, just in (("#", "right"), ("score", "right"), ("source", "left"), ("passage", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for h in result.hits:
        where = str(h.chunk.metadata.get("path") or h.chunk.source)
        if h.chunk.heading_path:
            where += "\n" + " > ".join(h.chunk.heading_path)
        text = " ".join(h.chunk.text.split())
        t.add_row(
            str(h.rank), f"{h.score:.3f}", where, text[:240] + ("…" if len(text) > 240 else "")
        )
    out.print(t)


def cmd_status(args: argparse.Namespace) -> int:
    s = settings(args)
    with Index.open(s.index_dir, store=s.store) as index:
        st = index.status()
    data = st.to_json()
    if args.json:
        out.print_json(json.dumps(data))
    else:
        t = Table(show_header=False, title="ragcore index")
        for k, v in data.items():
            t.add_row(k, str(v))
        out.print(t)
    if st.points != st.chunks:
        err.print(
            f"[bold red]warning:[/] the store holds {st.points} points but the ledger lists "
            f"{st.chunks} chunks (an interrupted ingest, or damage)",
            highlight=False,
        )
        err.print("[bold]hint:[/] run `ragcore check` (and `ragcore check --repair`)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    s = settings(args)
    directory = args.index or Path(".ragcore-demo")
    docs = Path(str(files("ragcore") / "demo_docs"))
    with Index.open(directory, store=s.store, create=True) as index:
        report = index.ingest([docs], quiet=args.quiet or args.json)
        results = [index.search(q, k=3) for q in DEMO_QUESTIONS]
        answers = demo_answers(index)
    if args.json:
        answered = [a.to_json() for a in answers] if isinstance(answers, list) else answers
        out.print_json(
            json.dumps(
                {
                    "ingest": report.to_json(),
                    "results": [r.to_json() for r in results],
                    "answers": answered,
                }
            )
        )
        return 0
    _print_report(report, False)
    for r in results:
        _print_result(r, False)
    if isinstance(answers, str):
        out.print(f"\n[yellow]ask is not set up:[/] {escape(answers)}")
    else:
        for a in answers:
            print_answer(a)
    out.print(f'\nTry: ragcore search "how do I rotate API keys" --index {directory}')
    out.print(f'     ragcore ask "which port does the gateway use" --index {directory}')
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from ragcore.plugins import PluginGroup, available

    rows = [p for g in PluginGroup for p in available(g)]
    if args.json:
        out.print_json(
            json.dumps(
                [
                    {
                        "group": p.group.value,
                        "name": p.name,
                        "target": p.target,
                        "distribution": p.distribution,
                        "version": p.version,
                    }
                    for p in rows
                ]
            )
        )
        return 0
    t = Table(title="installed plugins")
    for col in ("group", "name", "provided by", "version"):
        t.add_column(col)
    for p in rows:
        t.add_row(p.group.value, p.name, p.distribution, p.version)
    out.print(t)
    return 0
