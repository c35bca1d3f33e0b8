"""``ragcore check [--repair]``: compare the ledger with the store, and mend what is apart."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.markup import escape

from ragcore.check import IndexCheck
from ragcore.cli.options import err, out
from ragcore.config import Settings
from ragcore.errors import DamagedShardError
from ragcore.index import Index
from ragcore.repair import discard_shard, repair

SHOWN = 20  # damaged documents listed by name


def add_check_parser(sub: Any, common: Callable[[argparse.ArgumentParser], object]) -> None:
    p = sub.add_parser(
        "check",
        help="compare what the index's ledger lists with what its store holds; exits 1 when "
        "they differ",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="delete points no document owns and re-ingest only the documents whose chunks "
        "are missing (from the sources the index remembers)",
    )
    common(p)


def cmd_check(args: argparse.Namespace, s: Settings) -> int:
    try:
        index = Index.open(s.index_dir, store=s.store)
    except DamagedShardError:
        if not args.repair:
            raise
        err.print("the shard cannot be opened: it is rebuilt from the sources", highlight=False)
        discard_shard(s.index_dir, s.store)
        index = Index.open(s.index_dir, store=s.store)
    with index:
        if not args.repair:
            found = index.check()
            _print(found, args.json, None)
            return 0 if found.ok else 1
        found, report, uncovered = repair(index, quiet=args.quiet or args.json)
        after = index.check()
    repaired = {"rewritten": report.added + report.changed, "after": after.to_json()}
    repaired["not_repaired_sources"] = list(uncovered)
    _print(found, args.json, repaired)
    if uncovered and not args.json:
        err.print(
            f"[bold]hint:[/] {len(uncovered)} damaged documents lie outside every source this "
            "index remembers; they stay marked, and `ragcore ingest SOURCE` of their source "
            "rewrites them",
            highlight=False,
        )
    return 0 if after.ok else 1


def _print(found: IndexCheck, as_json: bool, repaired: dict[str, Any] | None) -> None:
    if as_json:
        data = found.to_json() | ({"repair": repaired} if repaired is not None else {})
        out.print_json(json.dumps(data))
        return
    out.print(
        f"ledger: {found.documents} documents, {found.chunks} chunks; store: {found.points} "
        f"points; missing {found.missing}, extra {found.extra}, pending {found.pending}"
    )
    if found.ok:
        out.print("ok: the store holds exactly the chunks the ledger lists")
    else:
        if found.damaged:
            out.print(f"[bold red]damaged:[/] {len(found.damaged)} documents miss chunks")
        for d in found.damaged[:SHOWN]:
            out.print(f"  {escape(d.source)}: {d.missing} chunks missing", highlight=False)
        if len(found.damaged) > SHOWN:
            out.print(f"  ... and {len(found.damaged) - SHOWN} more (--json lists all)")
        if found.extra:
            out.print(f"[bold red]extra:[/] {found.extra} points no document owns")
        if found.pending:
            out.print(
                f"unfinished: {found.pending} documents whose write was interrupted (the next "
                "ingest of their source finishes them)"
            )
        if repaired is None:
            err.print("[bold]hint:[/] run `ragcore check --repair`", highlight=False)
    if repaired is not None and not found.ok:
        after = repaired["after"]
        state = "ok" if after["ok"] else "[bold red]still damaged[/]"
        out.print(
            f"repaired: {repaired['rewritten']} documents rewritten, {found.extra} extra points "
            f"deleted; now {state} ({after['points']} points, {after['chunks']} chunks)"
        )
