"""kill -9 at seeded moments of a real ``ragcore ingest``: the next run converges to exactly
what a fresh build of the final source holds (``benchmarks/faults.py kills`` runs 30)."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import pytest

from ragcore import Index

pytestmark = pytest.mark.slow

DEMO = Path(str(files("ragcore") / "demo_docs"))
RAGCORE = str(Path(sys.executable).parent / "ragcore")


def _ingest(src: Path, idx: Path) -> list[str]:
    return [RAGCORE, "ingest", str(src), "--index", str(idx), "--access", "staff", "-q"]


def _snapshot(idx: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    with Index.open(idx) as index:
        assert index.check().ok
        return sorted(
            (c.id, c.source, c.text, tuple(c.metadata.get("access", ()))) for c in index.chunks()
        )


def _edit(src: Path, rng: random.Random) -> None:
    pages = sorted(src.rglob("*.md"))
    for page in rng.sample(pages, 2):
        page.write_text(page.read_text() + f"\n\nEdited {rng.random()}.\n")
    rng.choice(sorted(src.rglob("*.txt"))).unlink()
    (src / f"added-{rng.randrange(1000)}.md").write_text(f"# Added\n\n{rng.random()}\n")


@pytest.mark.parametrize(("seed", "resync"), [(1, False), (2, True), (3, True)])
def test_a_killed_ingest_converges_on_the_next_run(tmp_path: Path, seed: int, resync: bool) -> None:
    rng = random.Random(seed)
    src, idx = tmp_path / "src", tmp_path / "idx"
    for i in range(2):
        shutil.copytree(DEMO, src / f"copy{i}")
    if resync:  # killed in the middle of a re-sync with edits and a deletion
        subprocess.run(_ingest(src, idx), check=True, capture_output=True)
        _edit(src, rng)
    proc = subprocess.Popen(_ingest(src, idx), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.5, 3.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if resync:
        _edit(src, rng)  # and the source moves on before the re-run
    rerun = subprocess.run(_ingest(src, idx), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    subprocess.run(_ingest(src, tmp_path / "fresh"), check=True, capture_output=True)
    assert _snapshot(idx) == _snapshot(tmp_path / "fresh")
