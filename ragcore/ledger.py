"""What the index holds, per document: the sync state that makes ingestion idempotent and
resumable.

A document is written in three steps: ``begin`` records the intent (``pending``), the store
upserts its new chunks and deletes its old ones, then ``commit`` records the new state and
clears the intent in one SQLite transaction. A run interrupted anywhere leaves either the old
committed state or a pending intent, which the next sync redoes, so the store converges to the
source with no duplicates and no orphans.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragcore.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    change_token TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    synced_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS pending (doc_id TEXT PRIMARY KEY, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _prefix(scope: str) -> tuple[int, str]:
    """(length, prefix) matching sources strictly under ``scope``."""
    prefix = scope if scope.endswith("/") else scope + "/"
    return len(prefix), prefix


@dataclass(frozen=True)
class LedgerEntry:
    doc_id: str
    source: str
    change_token: str
    chunk_ids: tuple[str, ...]


class Ledger:
    def __init__(self, path: Path) -> None:
        try:
            # check_same_thread=False: a server syncs in a thread of its own (one writer)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._db.execute("SELECT COUNT(*) FROM documents").fetchone()
        except sqlite3.OperationalError as exc:  # cannot open or write: not damage
            raise StoreError(
                f"cannot open the index ledger {path} ({exc})",
                "check that the index folder is writable and the disk has room",
            ) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the index ledger {path} is damaged ({exc})",
                "rebuild the index: delete the ledger, then ragcore ingest SOURCE --rebuild, "
                "naming each source's groups with --access (the ledger remembered them)",
            ) from None

    def entries(self) -> dict[str, LedgerEntry]:
        """Every committed document."""
        rows = self._db.execute("SELECT doc_id, source, change_token, chunk_ids FROM documents")
        return {r[0]: LedgerEntry(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows}

    def pending(self) -> dict[str, str]:
        """Every document whose write was begun and not committed."""
        return dict(self._db.execute("SELECT doc_id, source FROM pending").fetchall())

    def entries_under(self, scope: str) -> dict[str, LedgerEntry]:
        """Committed documents whose source is ``scope`` or lies under it."""
        rows = self._db.execute(
            "SELECT doc_id, source, change_token, chunk_ids FROM documents "
            "WHERE source = ? OR substr(source, 1, ?) = ?",
            (scope, *_prefix(scope)),
        )
        return {r[0]: LedgerEntry(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows}

    def pending_under(self, scope: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT doc_id, source FROM pending WHERE source = ? OR substr(source, 1, ?) = ?",
            (scope, *_prefix(scope)),
        )
        return dict(rows.fetchall())

    def begin(self, docs: Iterable[tuple[str, str]]) -> None:
        """Record the intent to (re)write these ``(doc_id, source)`` pairs."""
        with self._txn():
            self._db.executemany("INSERT OR REPLACE INTO pending VALUES (?, ?)", list(docs))

    def commit(self, entries: Sequence[LedgerEntry]) -> None:
        now = time.time()
        with self._txn():
            self._db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?)",
                [
                    (e.doc_id, e.source, e.change_token, json.dumps(e.chunk_ids), now)
                    for e in entries
                ],
            )
            self._db.executemany(
                "DELETE FROM pending WHERE doc_id = ?", [(e.doc_id,) for e in entries]
            )

    def remove(self, doc_ids: Sequence[str]) -> None:
        with self._txn():
            for table in ("documents", "pending"):
                self._db.executemany(
                    f"DELETE FROM {table} WHERE doc_id = ?", [(d,) for d in doc_ids]
                )

    def counts(self) -> tuple[int, int]:
        docs, chunks = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(json_array_length(chunk_ids)), 0) FROM documents"
        ).fetchone()
        return int(docs), int(chunks)

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?",
                                (len(prefix), prefix))  # fmt: skip
        return dict(rows.fetchall())

    def _txn(self) -> _Txn:
        return _Txn(self._db)

    def close(self) -> None:
        self._db.close()


class _Txn:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
