"""Incremental sync on real files with the real default embedder (bge-small int8 ONNX)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ragcore.connectors.filesystem import path_from_uri

from ragcore import Index
from ragcore.config import IndexConfig
from ragcore.errors import (
    EmptyIndexError,
    IncompatibleIndexError,
    IndexNotFoundError,
    SourceError,
)
from ragcore.ledger import Ledger

pytestmark = pytest.mark.slow


def _consistent(index: Index) -> None:
    """Ledger and engine agree: every committed chunk is in the store, nothing else is."""
    _docs, chunks = index.ledger.counts()
    assert index.store.count() == chunks
    assert index.ledger.pending_under("file:///") == {}


def test_sync_adds_changes_deletes_and_is_idempotent(tmp_path: Path, docs_dir: Path) -> None:
    index = Index.open(tmp_path / "idx", create=True)
    r = index.ingest([docs_dir], quiet=True)
    assert (r.added, r.changed, r.deleted, r.unchanged) == (3, 0, 0, 0)
    assert r.chunks_written > 10 and r.ok
    _consistent(index)
    chunks_before = index.ledger.counts()[1]

    again = index.ingest([docs_dir], quiet=True)
    assert (again.added, again.changed, again.unchanged, again.chunks_written) == (0, 0, 3, 0)
    assert index.ledger.counts()[1] == chunks_before

    (docs_dir / "gateway.md").write_text("# Gateway\n\nThe gateway now listens on port 7777.\n")
    (docs_dir / "faq.txt").unlink()
    (docs_dir / "new.md").write_text("# Zebra\n\nThe zebra feature paints stripes on dashboards.\n")
    r = index.ingest([docs_dir], quiet=True)
    assert (r.added, r.changed, r.deleted, r.unchanged) == (1, 1, 1, 1)
    _consistent(index)
    hits = index.search("which port does the gateway listen on", k=5).hits
    assert "7777" in hits[0].chunk.text
    sources = {h.chunk.source for h in index.search("backup restore lumenctl", k=20).hits}
    assert not any(s.endswith("faq.txt") for s in sources)
    assert index.search("zebra stripes", k=1, mode="bm25").hits[0].chunk.source.endswith("new.md")
    # touching a file without changing its bytes is not a change
    (docs_dir / "new.md").write_text((docs_dir / "new.md").read_text())
    assert index.ingest([docs_dir], quiet=True).chunks_written == 0
    index.close()


def test_dry_run_changes_nothing(tmp_path: Path, docs_dir: Path) -> None:
    index = Index.open(tmp_path / "idx", create=True)
    index.ingest([docs_dir], quiet=True)
    (docs_dir / "faq.txt").unlink()
    r = index.ingest([docs_dir], quiet=True, dry_run=True)
    assert r.deleted == 1 and r.dry_run
    assert index.ledger.counts()[0] == 3
    index.close()


def test_deleting_the_whole_folder_only_touches_its_scope(tmp_path: Path, docs_dir: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.md").write_text("# Keep\n\nThis document lives in another folder.\n")
    index = Index.open(tmp_path / "idx", create=True)
    index.ingest([docs_dir, other], quiet=True)
    for f in docs_dir.iterdir():
        f.unlink()
    r = index.ingest([docs_dir], quiet=True)
    assert r.deleted == 3
    assert index.ledger.counts()[0] == 1
    _consistent(index)
    index.close()


class Boom(Exception):
    pass


def test_interrupted_ingest_resumes_without_duplicates_or_orphans(
    tmp_path: Path, docs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = Index.open(tmp_path / "idx", create=True)
    real_commit = Ledger.commit
    calls = {"n": 0}

    def crash_on_second_commit(self: Ledger, entries) -> None:  # after upserts, before commit
        calls["n"] += 1
        if calls["n"] == 2:
            raise Boom
        real_commit(self, entries)

    monkeypatch.setattr(Ledger, "commit", crash_on_second_commit)
    with pytest.raises(Boom):
        index.ingest([docs_dir], quiet=True, batch_chunks=8)
    monkeypatch.setattr(Ledger, "commit", real_commit)
    assert index.ledger.pending_under("file:///"), "the crash left an intent behind"
    # the interrupted document is deleted from the source before the re-run: no orphans remain
    pending_sources = list(index.ledger.pending_under("file:///").values())
    path_from_uri(pending_sources[0]).unlink()
    r = index.ingest([docs_dir], quiet=True, batch_chunks=8)
    assert r.ok
    _consistent(index)
    assert index.ledger.counts()[0] == 2
    ids = [h.chunk.id for h in index.search("password", k=200, mode="bm25").hits]
    assert len(ids) == len(set(ids))
    index.close()


def test_bad_files_are_skipped_and_listed(tmp_path: Path, docs_dir: Path) -> None:
    (docs_dir / "broken.pdf").write_bytes(b"%PDF-1.4 definitely broken")
    (docs_dir / "empty.md").write_text("   \n")
    (docs_dir / "image.png").write_bytes(b"\x89PNG")
    index = Index.open(tmp_path / "idx", create=True)
    r = index.ingest([docs_dir], quiet=True)
    assert not r.ok and r.added == 3
    reasons = {Path(s.source).name: s.reason for s in r.skipped}
    assert set(reasons) == {"broken.pdf", "empty.md"}
    assert "corrupt" in reasons["broken.pdf"] and "empty" in reasons["empty.md"]
    assert index.ledger.counts()[0] == 3
    _consistent(index)
    index.close()


def test_a_file_that_turns_bad_keeps_its_indexed_version(tmp_path: Path, docs_dir: Path) -> None:
    index = Index.open(tmp_path / "idx", create=True)
    index.ingest([docs_dir], quiet=True)
    before = index.ledger.counts()
    (docs_dir / "gateway.md").write_bytes(b"\x00\x01binary now")
    r = index.ingest([docs_dir], quiet=True)
    assert not r.ok and r.changed == 0 and len(r.skipped) == 1
    assert index.ledger.counts() == before
    _consistent(index)
    index.close()


def test_clear_errors(tmp_path: Path, docs_dir: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no index"):
        Index.open(tmp_path / "missing")
    index = Index.open(tmp_path / "idx", create=True)
    with pytest.raises(EmptyIndexError, match="holds no chunks"):
        index.search("anything")
    with pytest.raises(SourceError, match="no such file"):
        index.ingest([tmp_path / "nope"], quiet=True)
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(SourceError, match="unsupported file type"):
        index.ingest([tmp_path / "x.png"], quiet=True)
    index.close()
    with pytest.raises(IncompatibleIndexError, match="chunk_size"):
        Index.open(tmp_path / "idx", config=IndexConfig(chunk_size=256, chunk_overlap=32))
    Index.open(
        tmp_path / "idx", config=IndexConfig(chunk_size=256, chunk_overlap=32), rebuild=True
    ).close()
    assert IndexConfig.load(tmp_path / "idx")[0].chunk_size == 256
    (tmp_path / "notanindex").mkdir()
    (tmp_path / "notanindex" / "precious.txt").write_text("user data")
    with pytest.raises(IncompatibleIndexError, match="not a ragcore index"):
        Index.open(tmp_path / "notanindex", create=True)
    assert (tmp_path / "notanindex" / "precious.txt").exists()


def test_server_store_through_qdrant_client(tmp_path: Path, docs_dir: Path) -> None:
    from ragcore.config import StoreConfig

    index = Index.open(tmp_path / "idx", create=True, store=StoreConfig(url=":memory:"))
    index.ingest([docs_dir], quiet=True)
    _consistent(index)
    edge = Index.open(tmp_path / "edge", create=True)
    edge.ingest([docs_dir], quiet=True)
    for q in ("rotate an API key", "gateway ports"):
        for mode in ("dense", "bm25", "hybrid"):
            a = [h.chunk.id for h in index.search(q, k=5, mode=mode).hits]
            b = [h.chunk.id for h in edge.search(q, k=5, mode=mode).hits]
            assert a[:3] == b[:3], (q, mode)
    index.close()
    edge.close()
    shutil.rmtree(tmp_path / "edge")
