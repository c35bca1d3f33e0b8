"""``ragcore mcp``: the index as MCP tools (search, ask, status) over stdio or HTTP."""

from __future__ import annotations

import argparse
from typing import Any

from ragcore.cli.options import caller_groups, common, err, groups, settings
from ragcore.cli.serve import _loopback
from ragcore.errors import ConfigError
from ragcore.index_folder import reader_adapter
from ragcore.plugins import DEFAULT_GENERATOR, GENERATOR_HELP, load_generator


def add_mcp_parser(sub: Any) -> None:
    p = sub.add_parser(
        "mcp", help="serve the index to coding assistants and agents over MCP (stdio or HTTP)"
    )
    p.add_argument("--http", type=int, metavar="PORT", help="streamable HTTP on PORT, not stdio")
    p.add_argument("--host", default="127.0.0.1", help="with --http (default 127.0.0.1)")
    p.add_argument("--generator", default=DEFAULT_GENERATOR, help=GENERATOR_HELP)
    p.add_argument("--model", help="model directory (transformers) or model name (openai)")
    p.add_argument(
        "--adapter",
        default="default",
        help="SmolLM2 reader adapter (default: the index's tuned one when it beat the span "
        "reader on held-out pages, else the span reader reads)",
    )
    p.add_argument("--endpoint", help="OpenAI-compatible base URL, for --generator openai")
    p.add_argument("--no-ask", action="store_true", help="search and status only")
    common(p)
    groups(p)


def cmd_mcp(args: argparse.Namespace) -> int:
    from ragcore.index import Index
    from ragcore.integrations.common import need
    from ragcore.integrations.mcp import McpOptions, build_server, http_app
    from ragcore.server.keys import KeyStore

    need("mcp", "mcp")
    s = settings(args)
    if args.http is not None and not 1 <= args.http <= 65535:
        raise ConfigError(f"--http {args.http} is not a port in 1..65535", "e.g. --http 8765")
    keys = KeyStore(s.index_dir)
    if args.http is not None and not keys.keys() and not _loopback(args.host):
        raise ConfigError(
            f"--host {args.host} is not loopback and the index has no API keys",
            "create one: ragcore keys create --name agent --group staff",
        )

    def reader() -> Any:
        return load_generator(
            args.generator,
            args.model,
            endpoint=args.endpoint,
            adapter=reader_adapter(s.index_dir, args.adapter),
        )

    with Index.open(s.index_dir, store=s.store, search=s.search) as index:
        options = McpOptions(caller_groups(args), s.ask, None if args.no_ask else reader)
        if args.http is None:  # stdout is the protocol's: say nothing there
            build_server(index, options).run("stdio")
            return 0
        import uvicorn

        server = build_server(index, options, keys)
        app = http_app(server, keys, args.host)
        err.print(f"ragcore mcp: http://{args.host}:{args.http}/mcp (streamable HTTP)")
        if not keys.keys():
            err.print("no API keys: every caller searches with the server's groups")
        uvicorn.run(app, host=args.host, port=args.http, log_level="warning")
    return 0
