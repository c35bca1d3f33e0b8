"""``ragcore`` command line: ingest, sync, search, status, demo, plugins (ask, check, eval
and adapters live in their own modules).

Every failure the user can fix prints ``error:`` and ``hint:`` lines and exits 2; an ingest
that skipped some sources exits 1 after listing them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragcore.cli_adapters import add_adapters_parser, cmd_adapters
from ragcore.cli_ask import add_ask_parser, cmd_ask, demo_answers, print_answer
from ragcore.cli_check import add_check_parser, cmd_check
from ragcore.cli_eval import add_eval_parser, cmd_eval
from ragcore.cli_serve import add_serve_parsers, cmd_keys, cmd_serve
from ragcore.config import CONFIG_FILE, Fusion, RerankFusion, SearchConfig, Settings
from ragcore.errors import ConfigError, RagcoreError, SourceError
from ragcore.index import Index
from ragcore.progress import quiet_libraries
from ragcore.search import SearchResult
from ragcore.sources import SourceSpec, open_source
from ragcore.sync import SyncReport
from ragcore.types import Skipped

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

MAX_K = 1000  # hits one search prints or returns as JSON

DEMO_QUESTIONS = (
    "how do I reset my password",
    "what ports does the gateway use",
    "how much does the Pro plan cost per user per month",
)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index directory (default .ragcore or ragcore.toml)")
    p.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    p.add_argument("--url", help="Qdrant server/cluster URL instead of the embedded engine")
    p.add_argument("--api-key", help="Qdrant API key (or [store] api_key in ragcore.toml)")
    p.add_argument("--collection", help="Qdrant collection name (default ragcore)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _groups(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--group",
        action="append",
        metavar="GROUP",
        help="the caller's access group (repeatable): only public documents and those shared "
        "with these groups are searched. --group '' alone: public documents only. "
        "Without --group: no access check (the index owner)",
    )


def caller_groups(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.group is None:
        return None
    return tuple(g for g in args.group if g)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ragcore", description="RAG-first retrieval on Qdrant.")
    sub = ap.add_subparsers(dest="command", required=True)

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
    p.add_argument("--embedder", help="embedder plugin (default bge-small-en-v1.5)")
    p.add_argument("--chunk-size", type=int, help="tokens per chunk (default 256)")
    p.add_argument("--chunk-overlap", type=int, help="overlap in tokens (default 32)")
    p.add_argument("--shard-number", type=int, help="shards for a new server collection")
    p.add_argument("--replication-factor", type=int, help="replicas for a new server collection")
    p.add_argument("--rebuild", action="store_true", help="wipe the index and ingest from scratch")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    _common(p)

    p = sub.add_parser(
        "sync", help="re-sync every [[sources]] entry of ragcore.toml (added, changed, deleted)"
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    _common(p)

    p = sub.add_parser("search", help="search the index")
    p.add_argument("query")
    _groups(p)
    p.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--mode", help="bm25 | dense | hybrid, optionally +rerank (default hybrid)")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="payload filter; VALUE a,b matches any; repeatable",
    )
    p.add_argument("--fusion", choices=[f.value for f in Fusion])
    p.add_argument("--rrf-k", type=int)
    p.add_argument("--dense-weight", type=float, help="RRF weight of the dense list")
    p.add_argument("--sparse-weight", type=float, help="RRF weight of the BM25 list")
    p.add_argument("--prefetch", type=int, help="candidates per retriever before fusion")
    p.add_argument("--rerank-depth", type=int)
    p.add_argument("--rerank-max-tokens", type=int)
    p.add_argument("--rerank-fusion", choices=[f.value for f in RerankFusion])
    _common(p)

    p = sub.add_parser("status", help="documents, chunks and last sync of an index")
    _common(p)

    p = sub.add_parser(
        "demo", help="index the bundled sample docs, search them and answer sample questions"
    )
    _common(p)

    p = sub.add_parser("plugins", help="list installed connectors, embedders and rerankers")
    p.add_argument("--json", action="store_true")

    add_ask_parser(sub, lambda p: (_common(p), _groups(p)))
    add_check_parser(sub, _common)
    add_serve_parsers(sub, _common)
    add_eval_parser(sub)
    add_adapters_parser(sub)
    return ap


def _settings(args: argparse.Namespace) -> Settings:
    s = Settings.load(getattr(args, "config", None))
    store = replace(
        s.store,
        **{
            k: v
            for k, v in {
                "url": getattr(args, "url", None),
                "api_key": getattr(args, "api_key", None),
                "collection": getattr(args, "collection", None),
                "shard_number": getattr(args, "shard_number", None),
                "replication_factor": getattr(args, "replication_factor", None),
            }.items()
            if v is not None
        },
    )
    index_flags = {
        k: v
        for k, v in {
            "embedder": getattr(args, "embedder", None),
            "chunk_size": getattr(args, "chunk_size", None),
            "chunk_overlap": getattr(args, "chunk_overlap", None),
        }.items()
        if v is not None
    }
    return replace(
        s,
        store=store,
        index_dir=args.index or s.index_dir,
        index=replace(s.index, **index_flags) if index_flags else s.index,
        index_explicit=s.index_explicit or bool(index_flags),
    )


def _key_value(item: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key or not value:
        raise ConfigError(f"bad {flag} {item!r}", f"use KEY=VALUE, e.g. {flag} {example}")
    return key, value


def _filters(items: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in items:
        key, value = _key_value(item, "--filter", "file_type=markdown")
        values = [int(v) if v.lstrip("-").isdigit() else v for v in value.split(",")]
        parsed[key] = values if len(values) > 1 else values[0]
    return parsed


def _options(items: list[str]) -> dict[str, Any]:
    pairs = (_key_value(item, "--option", "table=articles") for item in items)
    return {key.replace("-", "_"): value for key, value in pairs}


def cmd_ingest(args: argparse.Namespace) -> int:
    s = _settings(args)
    specs = [
        SourceSpec(p, args.connector, tuple(args.access), _options(args.option), args.public)
        for p in args.paths
    ]
    return _sync(args, s, specs, rebuild=args.rebuild)


def cmd_sync(args: argparse.Namespace) -> int:
    s = _settings(args)
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
    s = _settings(args)
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
    filters = _filters(args.filter)  # every flag checked before the index is opened
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
    s = _settings(args)
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
    s = _settings(args)
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


COMMANDS = {
    "ingest": cmd_ingest,
    "sync": cmd_sync,
    "search": cmd_search,
    "status": cmd_status,
    "demo": cmd_demo,
    "plugins": cmd_plugins,
    "eval": cmd_eval,
    "adapters": cmd_adapters,
    "ask": lambda args: cmd_ask(args, _settings(args), caller_groups(args)),
    "check": lambda args: cmd_check(args, _settings(args)),
    "serve": lambda args: cmd_serve(args, _settings(args)),
    "keys": lambda args: cmd_keys(args, _settings(args)),
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with quiet_libraries():
            return COMMANDS[args.command](args)
    except RagcoreError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        if exc.hint:
            err.print(f"[bold]hint:[/] {escape(exc.hint)}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted: the index is consistent; re-run the same command to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
