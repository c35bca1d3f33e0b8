"""Incremental sync at scale: first sync, unchanged re-sync and a 1% change of a 10k-document
source, with the real default embedder, for a folder and for an SQLite table.

    python benchmarks/sync_bench.py --docs 10000 --change 0.01
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ragcore import Index
from ragcore.sources import SourceSpec

WORDS = [
    "gateway",
    "token",
    "quota",
    "billing",
    "invoice",
    "audit",
    "cluster",
    "replica",
    "backup",
    "restore",
    "policy",
    "role",
    "webhook",
    "latency",
    "region",
    "tenant",
    "schema",
    "index",
    "shard",
    "vector",
    "query",
    "cache",
    "retry",
    "timeout",
    "certificate",
    "rotation",
    "password",
    "session",
    "export",
    "import",
    "dashboard",
    "alert",
    "metric",
    "trace",
]


def body(rng: random.Random, i: int, version: int = 0) -> str:
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."
        for _ in range(6)
    ]
    return f"# Note {i}\n\nRevision {version}. " + " ".join(sentences) + "\n"


def make_folder(root: Path, n: int) -> list[Path]:
    rng = random.Random(7)
    root.mkdir()
    files = []
    for i in range(n):
        sub = root / f"d{i // 500:03d}"
        sub.mkdir(exist_ok=True)
        path = sub / f"note{i:05d}.md"
        path.write_text(body(rng, i))
        files.append(path)
    return files


def make_table(db: Path, n: int) -> None:
    rng = random.Random(7)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, version INTEGER)")
        conn.executemany(
            "INSERT INTO notes VALUES (?, ?, 1)", [(i, body(rng, i)) for i in range(n)]
        )


def run(index_dir: Path, spec: SourceSpec | str, change, quiet: bool) -> list[tuple]:
    rows = []
    with Index.open(index_dir, create=True) as index:
        for label, before in (
            ("first sync", None),
            ("unchanged re-sync", None),
            ("1% changed", change),
        ):
            if before is not None:
                before()
            t = time.perf_counter()
            r = index.ingest([spec], quiet=quiet)
            rows.append((label, time.perf_counter() - t, r))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    n_change = max(1, int(args.docs * args.change))
    table = Table(title=f"sync of {args.docs} documents, bge-small-en-v1.5 int8 ONNX, 2 cores")
    for col in (
        "source",
        "run",
        "added",
        "changed",
        "unchanged",
        "chunks embedded",
        "seconds",
        "speed-up",
    ):
        table.add_column(col, justify="left" if col in ("source", "run") else "right")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        files = make_folder(tmp_path / "docs", args.docs)
        rng = random.Random(1)
        changed = rng.sample(files, n_change)

        def edit_files() -> None:
            for k, path in enumerate(changed):
                path.write_text(body(random.Random(k), int(path.stem[4:]), version=1))

        db = tmp_path / "notes.db"
        make_table(db, args.docs)
        ids = rng.sample(range(args.docs), n_change)

        def edit_rows() -> None:
            with sqlite3.connect(db) as conn:
                conn.executemany(
                    "UPDATE notes SET body = ?, version = version + 1 WHERE id = ?",
                    [(body(random.Random(k), i, version=1), i) for k, i in enumerate(ids)],
                )

        sql = SourceSpec(
            f"sqlite:///{db}",
            options={"table": "notes", "text_column": "body", "version_column": "version"},
        )
        for name, spec, change in (
            ("folder", str(tmp_path / "docs"), edit_files),
            ("sqlite", sql, edit_rows),
        ):
            rows = run(tmp_path / f"idx-{name}", spec, change, args.quiet)
            first = rows[0][1]
            for label, seconds, r in rows:
                table.add_row(
                    name, label, str(r.added), str(r.changed), str(r.unchanged),
                    str(r.chunks_written), f"{seconds:.2f}", f"{first / seconds:.0f}x",
                )  # fmt: skip
            print(
                f"{name}: chunks re-embedded after changing {n_change} docs: {rows[2][2].chunks_written}",
                file=sys.stderr,
            )
    Console().print(table)


if __name__ == "__main__":
    main()
