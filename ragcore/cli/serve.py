"""``ragcore serve`` and ``ragcore keys create|list|revoke``."""

from __future__ import annotations

import argparse
import ipaddress
import json
import threading
from collections.abc import Callable
from typing import Any

from rich.table import Table

from ragcore.cli.options import err, out
from ragcore.config import Settings
from ragcore.errors import ConfigError, PluginError
from ragcore.plugins import DEFAULT_GENERATOR, GENERATOR_HELP

INSTALL = "pip install 'ragcore[serve]'"


def add_serve_parsers(sub: Any, common: Callable[[argparse.ArgumentParser], object]) -> None:
    p = sub.add_parser("serve", help="serve search, ask and an OpenAI-compatible chat over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--generator", default=DEFAULT_GENERATOR, help=GENERATOR_HELP)
    p.add_argument("--no-reader", action="store_true", help="search only (/v1/ask answers 503)")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host with no API keys (anyone who reaches it sees all)",
    )
    common(p)

    k = sub.add_parser("keys", help="API keys for ragcore serve (stored hashed beside the index)")
    ks = k.add_subparsers(dest="keys_command", required=True)
    c = ks.add_parser("create", help="create a key; it is shown once")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="GROUP",
        help="an access group the key searches with (repeatable); '' for public only",
    )
    c.add_argument("--admin", action="store_true", help="may also sync and manage keys")
    common(c)
    common(ks.add_parser("list", help="the keys' names, groups and creation times"))
    r = ks.add_parser("revoke", help="revoke a key at once")
    r.add_argument("name")
    common(r)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace, s: Settings) -> int:
    try:
        import uvicorn

        from ragcore.server.app import create_app
        from ragcore.server.service import ServeConfig, Service
    except ImportError:
        raise PluginError("ragcore serve needs FastAPI and uvicorn", INSTALL) from None
    from ragcore.server.keys import KeyStore

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not in 1..65535", "e.g. --port 8000")
    keys = KeyStore(s.index_dir).keys()
    if not keys and not _loopback(args.host) and not args.insecure:
        raise ConfigError(
            f"--host {args.host} is not loopback and the index has no API keys",
            "create one (ragcore keys create --name bot --group staff), or pass --insecure",
        )
    config = ServeConfig(s, None if args.no_reader else args.generator)
    service = Service(config)
    threading.Thread(target=service.load, name="ragcore-load", daemon=True).start()
    if not keys:
        err.print(f"no API keys: serving {args.host} only, every request sees every document")
    err.print(f"ragcore serve: http://{args.host}:{args.port}/ (chat page), /docs (API)")
    try:
        uvicorn.run(create_app(config, service), host=args.host, port=args.port,
                    log_level="warning", timeout_graceful_shutdown=30)  # fmt: skip
    finally:
        service.index.close()
    return 0


def cmd_keys(args: argparse.Namespace, s: Settings) -> int:
    from ragcore.server.keys import KeyStore

    if not s.index_dir.is_dir():
        raise ConfigError(f"no index at {s.index_dir}", "ingest first, or pass --index DIR")
    store = KeyStore(s.index_dir)
    if args.keys_command == "create":
        key, secret = store.create(args.name, tuple(args.group), args.admin)
        if args.json:
            shown = {"name": key.name, "key": secret, "groups": list(key.groups)}
            out.print_json(json.dumps(shown | {"admin": key.admin}))
        else:
            out.print(f"key {key.name} (shown once, store it now):\n{secret}", highlight=False)
        return 0
    if args.keys_command == "revoke":
        store.revoke(args.name)
        out.print(f"revoked {args.name}")
        return 0
    rows = [k.public() for k in store.keys()]  # noqa: SIM118 (a method, not a dict)
    if args.json:
        out.print_json(json.dumps(rows))
        return 0
    table = Table(title=f"API keys of {s.index_dir}")
    for col in ("name", "groups", "admin", "created"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), ", ".join(r["groups"]) or "(public only)",  # type: ignore[arg-type]
                      str(r["admin"]), str(r["created"]))  # fmt: skip
    out.print(table)
    return 0
