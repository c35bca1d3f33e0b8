"""Processes side by side on one index: a writer is never disturbed, the others answer or are
refused cleanly having touched nothing (``ragcore.locking``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from ragcore import Index
from ragcore.config import StoreConfig
from ragcore.errors import ConfigError, IndexBusyError
from ragcore.locking import LOCK_FILE

DEMO_DOCS = Path(str(files("ragcore") / "demo_docs"))
RAGCORE = str(Path(sys.executable).parent / "ragcore")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RAGCORE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _corpus(root: Path, copies: int) -> Path:
    corpus = root / "corpus"
    for i in range(copies):
        shutil.copytree(DEMO_DOCS, corpus / f"copy{i}")
    return corpus


def _snapshot(index: Index) -> list[tuple[str, str, str]]:
    return sorted((c.id, c.source, c.text) for c in index.chunks())


@pytest.mark.slow
def test_searches_and_writers_beside_a_running_ingest(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, 4)
    (tmp_path / "ragcore.toml").write_text("[store]\nlock_wait_s = 0\n")
    idx = tmp_path / "idx"
    ingest = subprocess.Popen(
        [RAGCORE, "ingest", str(corpus), "--index", str(idx), "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = idx / LOCK_FILE
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.read_text(), "the ingest never took the lock"
    others = [
        _run("ingest", str(corpus), "--index", str(idx), "--rebuild", cwd=tmp_path),
        _run("ingest", str(corpus), "--index", str(idx), cwd=tmp_path),
    ]
    search = ("search", "admin port", "--index", str(idx), "--mode", "bm25")
    while ingest.poll() is None:
        others.append(_run(*search, cwd=tmp_path))
    _, ingest_err = ingest.communicate()
    assert ingest.returncode == 0, ingest_err
    assert others[0].returncode == 3 and others[1].returncode == 3
    refused = [p for p in others if p.returncode == 3]
    for p in refused:
        assert f"in use by another process (pid {ingest.pid}: ragcore ingest)" in p.stderr
        assert "Traceback" not in p.stderr
    assert all(p.returncode in (0, 3) for p in others), [p.stderr for p in others]
    fresh_dir = tmp_path / "fresh"
    with Index.open(fresh_dir, create=True) as fresh:
        fresh.ingest([corpus], quiet=True)
        expected = _snapshot(fresh)
    with Index.open(idx) as index:  # the rebuild and second ingest changed nothing
        assert _snapshot(index) == expected
        assert index.status().points == len(expected)
    done = _run(*search, cwd=tmp_path)
    assert done.returncode == 0 and "9001" in done.stdout


def test_an_index_is_open_once_per_process(tmp_path: Path) -> None:
    with Index.open(tmp_path / "idx", create=True, store=StoreConfig(lock_wait_s=5)):
        t0 = time.monotonic()
        with pytest.raises(IndexBusyError, match="already open in this process"):
            Index.open(tmp_path / "idx")
        assert time.monotonic() - t0 < 1  # its own lock: no point in waiting
    Index.open(tmp_path / "idx").close()  # released on close


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    Index.open(tmp_path / "idx", create=True).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ragcore import Index; "
         "i = Index.open(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
         str(tmp_path / "idx")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(IndexBusyError, match=f"pid {holder.pid}"):
        Index.open(tmp_path / "idx", store=StoreConfig(lock_wait_s=0.3))
    holder.kill()
    holder.wait()
    Index.open(tmp_path / "idx", store=StoreConfig(lock_wait_s=0)).close()


@pytest.mark.parametrize("bad", [-1, float("nan"), "10", True])
def test_lock_wait_is_validated(bad: object) -> None:
    with pytest.raises(ConfigError, match="lock_wait_s"):
        StoreConfig(lock_wait_s=bad)  # type: ignore[arg-type]
