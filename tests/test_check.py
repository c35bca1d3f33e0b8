"""``ragcore check [--repair]`` and damaged indexes: every open of a damaged index is a clear
error naming the fix, and repair rewrites only what was lost (real engine, real embedder)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from ragcore import Index
from ragcore.cli import main
from ragcore.errors import DamagedShardError, StoreError
from ragcore.ledger import Ledger, LedgerEntry
from ragcore.sparse import Bm25Encoder
from ragcore.store.base import StoredPoint

pytestmark = pytest.mark.slow


def _snapshot(directory: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    with Index.open(directory) as index:
        return sorted(
            (c.id, c.source, c.text, tuple(c.metadata.get("access", ()))) for c in index.chunks()
        )


@pytest.fixture
def built(tmp_path: Path, docs_dir: Path) -> Path:
    """A private index (group staff) of three documents, ingested through the CLI."""
    idx = tmp_path / "idx"
    assert main(["ingest", str(docs_dir), "--index", str(idx), "--access", "staff", "-q"]) == 0
    return idx


def _check(idx: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["check", "--index", str(idx), "--json", *extra])
    return rc, json.loads(capsys.readouterr().out)


def test_a_sound_index_checks_ok(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, found = _check(built, capsys)
    assert rc == 0 and found["ok"]
    assert found["points"] == found["chunks"] > 10 and found["documents"] == 3
    assert (found["missing"], found["extra"], found["pending"]) == (0, 0, 0)


def test_a_deleted_shard_is_named_and_repaired_with_access_kept(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(built)
    shutil.rmtree(built / "shard")
    with Index.open(built) as index, pytest.raises(StoreError, match="check --repair"):
        index.search("admin port")
    assert main(["status", "--index", str(built)]) == 0
    assert "ragcore check" in capsys.readouterr().err
    rc, found = _check(built, capsys)
    assert rc == 1 and not found["ok"] and found["missing"] == len(before)
    assert len(found["damaged_documents"]) == 3
    rc, repaired = _check(built, capsys, "--repair")
    assert rc == 0 and repaired["repair"]["after"]["ok"]
    assert repaired["repair"]["rewritten"] == 3
    assert _snapshot(built) == before  # same chunks, same groups (private to staff)
    with Index.open(built) as index:
        assert index.search("admin port", groups=()).hits == ()
        assert index.search("admin port", groups=("staff",)).hits


@pytest.mark.parametrize("damage", ["payload", "segment", "dense"])
def test_damaged_shard_files_give_a_clear_error_and_repair_rebuilds(
    built: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(built)
    (segment,) = (built / "shard" / "segments").iterdir()
    if damage == "payload":
        with open(segment / "payload_storage" / "page_0.dat", "r+b") as f:
            f.truncate(1000)
    elif damage == "segment":
        (segment / "segment.json").write_text("garbage")
    else:
        for f in (segment / "vector_storage-dense" / "vectors").iterdir():
            with open(f, "r+b") as handle:
                handle.truncate(100)
    capsys.readouterr()
    assert main(["check", "--index", str(built)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "check --repair" in err and "Traceback" not in err
    with pytest.raises(DamagedShardError), Index.open(built) as index:
        index.search("admin port", mode="dense")
    rc, repaired = _check(built, capsys, "--repair")
    assert rc == 0 and repaired["repair"]["after"]["ok"]
    assert _snapshot(built) == before


def test_repair_rewrites_only_what_was_lost_and_deletes_strays(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(built)
    with Index.open(built) as index:
        lost = next(iter(index.ledger.entries().values()))
        index.store.delete_document(lost.doc_id)  # one document's chunks lost
        payload = {"doc_id": "nobody", "source": "file:///gone", "text": "x"}
        stray = StoredPoint(
            str(uuid.uuid4()), [0.1] * index.dim, Bm25Encoder().document("x"), payload
        )
        index.store.upsert([stray])
        index.store.flush()
    rc, found = _check(built, capsys)
    assert rc == 1 and found["extra"] == 1 and found["missing"] == len(lost.chunk_ids)
    assert [d["doc_id"] for d in found["damaged_documents"]] == [lost.doc_id]
    rc, repaired = _check(built, capsys, "--repair")
    assert rc == 0 and repaired["repair"]["rewritten"] == 1
    assert _snapshot(built) == before


def test_a_plain_ingest_repairs_what_it_syncs(built: Path, docs_dir: Path) -> None:
    before = _snapshot(built)
    with Index.open(built) as index:
        lost = next(iter(index.ledger.entries().values()))
        index.store.delete_document(lost.doc_id)
        report = index.ingest([docs_dir], quiet=True)
        assert (report.changed, report.unchanged) == (1, 2)
        assert index.check().ok
    assert _snapshot(built) == before


def test_an_interrupted_write_is_pending_until_repaired(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Index.open(built) as index:
        entry = next(iter(index.ledger.entries().values()))
        index.ledger.begin([(entry.doc_id, entry.source)])  # as a kill mid-batch leaves it
    rc, found = _check(built, capsys)
    assert rc == 1 and found["pending"] == 1 and found["missing"] == 0
    rc, repaired = _check(built, capsys, "--repair")
    assert rc == 0 and repaired["repair"]["after"]["pending"] == 0


def test_a_damaged_ledger_is_a_clear_error(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (built / "ledger.sqlite").write_bytes(b"not a database" * 100)
    for f in built.glob("ledger.sqlite-*"):
        f.unlink()
    capsys.readouterr()
    for command in (["status"], ["search", "admin port"], ["check", "--repair"]):
        assert main([*command, "--index", str(built)]) == 2
        err = capsys.readouterr().err
        assert "ledger" in err and "is damaged" in err and "--rebuild" in err
        assert "Traceback" not in err


def test_ledger_entries_and_pending_list_everything(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.commit([LedgerEntry("a", "file:///x/a", "t", ("1", "2")),
                   LedgerEntry("b", "https://site/b", "t", ("3",))])  # fmt: skip
    ledger.begin([("c", "postgresql://db/c")])
    assert set(ledger.entries()) == {"a", "b"} and ledger.pending() == {"c": "postgresql://db/c"}
    ledger.close()


def test_rebuild_works_without_ragcore_json_and_keeps_groups(
    built: Path, docs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(built)
    (built / "ragcore.json").unlink()
    assert main(["ingest", str(docs_dir), "--index", str(built), "--rebuild", "-q"]) == 0
    assert _snapshot(built) == before  # still private to staff
