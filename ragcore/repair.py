"""``ragcore check --repair``: mend what ``ragcore.check`` found, rewriting only what was lost.

Extra points are deleted; documents with missing chunks (and interrupted writes) are re-synced
from the sources the index remembers, which rewrites those documents and no others. A shard
whose files are damaged cannot be trusted at all: it is deleted and every document the ledger
lists is rewritten into a new one.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

from ragcore.check import IndexCheck, mark_for_repair, scopes_of
from ragcore.config import StoreConfig
from ragcore.errors import DamagedShardError, StoreError
from ragcore.index import SOURCE_SPEC_KEY, Index
from ragcore.locking import IndexLock
from ragcore.sources import SourceSpec
from ragcore.store import open_store
from ragcore.sync import SyncReport


def repair(index: Index, *, quiet: bool = False) -> tuple[IndexCheck, SyncReport, tuple[str, ...]]:
    """Returns the check before the repair, the re-sync's report, and the sources of damaged
    documents that no remembered source covers (they stay marked: an ``ingest`` of their
    source rewrites them)."""
    with index.writing():
        try:
            found = index.check()
        except DamagedShardError:
            _reset_shard(index)
            found = index.check()
        if found.ok:
            return found, SyncReport(), ()
        mark_for_repair(index.store, index.ledger, found)
        specs = {
            scope[len(SOURCE_SPEC_KEY) :]: SourceSpec(**json.loads(value))
            for scope, value in index.ledger.meta_with_prefix(SOURCE_SPEC_KEY).items()
        }
        damaged = [d.source for d in found.damaged] + sorted(index.ledger.pending().values())
        covering = {source: scopes_of([source], list(specs)) for source in damaged}
        scopes = sorted(set().union(*covering.values()))
        uncovered = tuple(source for source, found_in in covering.items() if not found_in)
        report = index.ingest([specs[s] for s in scopes], quiet=quiet)
        return found, report, uncovered


def discard_shard(directory: str | Path, store: StoreConfig | None = None) -> None:
    """Delete an embedded shard that cannot even be opened; ``repair`` (or an ingest) then
    rewrites every document the ledger lists into a new one."""
    directory = Path(directory)
    with IndexLock(directory, (store or StoreConfig()).lock_wait_s):
        shutil.rmtree(directory / "shard", ignore_errors=True)


def _reset_shard(index: Index) -> None:
    with contextlib.suppress(StoreError):
        index.store.close()
    shutil.rmtree(index.directory / "shard", ignore_errors=True)
    index.store = open_store(index.directory, index.store_config, index.dim)
