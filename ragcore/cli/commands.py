"""``ragcore``: the argument parser over every command family, and the one place errors
become ``error:``/``hint:`` lines and exit codes."""

from __future__ import annotations

import argparse
import sys

from rich.markup import escape

from ragcore.cli.adapters import add_adapters_parser, cmd_adapters
from ragcore.cli.ask import add_ask_parser, cmd_ask
from ragcore.cli.check import add_check_parser, cmd_check
from ragcore.cli.eval import add_eval_parser, cmd_eval
from ragcore.cli.index import (
    add_index_parsers,
    cmd_demo,
    cmd_ingest,
    cmd_plugins,
    cmd_search,
    cmd_status,
    cmd_sync,
)
from ragcore.cli.mcp import add_mcp_parser, cmd_mcp
from ragcore.cli.options import caller_groups, common, err, groups, settings
from ragcore.cli.serve import add_serve_parsers, cmd_keys, cmd_serve
from ragcore.errors import RagcoreError
from ragcore.progress import quiet_libraries


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ragcore", description="RAG-first retrieval on Qdrant.")
    sub = ap.add_subparsers(dest="command", required=True)
    add_index_parsers(sub)
    add_ask_parser(sub, lambda p: (common(p), groups(p)))
    add_check_parser(sub, common)
    add_serve_parsers(sub, common)
    add_mcp_parser(sub)
    add_eval_parser(sub)
    add_adapters_parser(sub)
    return ap


COMMANDS = {
    "ingest": cmd_ingest,
    "sync": cmd_sync,
    "search": cmd_search,
    "status": cmd_status,
    "demo": cmd_demo,
    "plugins": cmd_plugins,
    "eval": cmd_eval,
    "adapters": cmd_adapters,
    "ask": lambda args: cmd_ask(args, settings(args), caller_groups(args)),
    "check": lambda args: cmd_check(args, settings(args)),
    "serve": lambda args: cmd_serve(args, settings(args)),
    "keys": lambda args: cmd_keys(args, settings(args)),
    "mcp": cmd_mcp,
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
