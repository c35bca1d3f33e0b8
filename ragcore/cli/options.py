"""What every ``ragcore`` command shares: the consoles, the index and store flags, the caller's
groups, and the one place flags become :class:`Settings` (over ``ragcore.toml`` and
``RAGCORE_*`` variables, which ``Settings.load`` reads)."""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from ragcore.config import IndexConfig, Settings
from ragcore.errors import ConfigError
from ragcore.store.filters import Filter

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

MAX_K = 1000  # hits one search prints or returns as JSON


def common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index directory (default .ragcore or ragcore.toml)")
    p.add_argument("--config", type=Path, help="ragcore.toml to read (default ./ragcore.toml)")
    p.add_argument("--url", help="Qdrant server/cluster URL instead of the embedded engine")
    p.add_argument("--api-key", help="Qdrant API key (or [store] api_key in ragcore.toml)")
    p.add_argument("--collection", help="Qdrant collection name (default ragcore)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def index_build(p: argparse.ArgumentParser, what: str = "") -> None:
    """The flags that shape a new index (an existing index keeps the ones it was built with)."""
    d = IndexConfig()
    p.add_argument("--embedder", help=f"embedder plugin{what} (default {d.embedder})")
    p.add_argument(
        "--chunk-size", type=int, help=f"tokens per chunk{what} (default {d.chunk_size})"
    )
    p.add_argument(
        "--chunk-overlap", type=int, help=f"overlap in tokens{what} (default {d.chunk_overlap})"
    )


def new_index_config(args: argparse.Namespace) -> IndexConfig | None:
    """The index shape ``ragcore.toml`` or the flags ask for; None when neither does (a new
    index takes the defaults, an existing one keeps its own)."""
    s = settings(args)
    return s.index if s.index_explicit else None


def groups(p: argparse.ArgumentParser) -> None:
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


def settings(args: argparse.Namespace) -> Settings:
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


def key_value(item: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key or not value:
        raise ConfigError(f"bad {flag} {item!r}", f"use KEY=VALUE, e.g. {flag} {example}")
    return key, value


FILTER_OPS = {">=": "gte", "<=": "lte", "!=": "not", ">": "gt", "<": "lt"}
_FILTER = re.compile(r"^([^=!<>\s]+)\s*(>=|<=|!=|>|<|=)\s*(.+)$")


def _filter_value(text: str, kinds: tuple[type, ...] = (int, float)) -> int | float | str:
    for kind in kinds:
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_filters(items: list[str]) -> Filter:
    """``--filter`` flags: ``KEY=V`` (``V,W``: any of), ``KEY!=V[,W]``, ``KEY>=N``,
    ``KEY>N``, ``KEY<=N``, ``KEY<N`` (numbers or ISO dates); all must hold."""
    parsed: dict[str, Any] = {}
    for item in items:
        found = _FILTER.match(item.strip())
        if not found:
            raise ConfigError(
                f"bad --filter {item!r}",
                "use KEY=VALUE, KEY=A,B, KEY!=VALUE or KEY>=N (also >, <, <=), "
                "e.g. --filter file_type=markdown --filter 'modified>=2024-06-01'",
            )
        key, op, value = found.groups()
        name = FILTER_OPS.get(op, "in")
        if name in parsed.setdefault(key, {}):
            raise ConfigError(f"--filter gives {key}{op} twice", "give each KEY and operator once")
        if name in ("in", "not"):
            values = [_filter_value(v.strip(), (int,)) for v in value.split(",")]
            term: Any = values if len(values) > 1 else values[0]
        else:
            term = _filter_value(value.strip())
        parsed[key][name] = term
    return Filter.parse(parsed)


def parse_options(items: list[str]) -> dict[str, Any]:
    pairs = (key_value(item, "--option", "table=articles") for item in items)
    return {key.replace("-", "_"): value for key, value in pairs}
