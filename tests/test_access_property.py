"""A property over random histories: no chunk is ever visible outside its groups.

Each case draws sources, files, and a sequence of re-syncs with
``--access``, without it, or ``--public``, editing and deleting files in between. After every
sync, every caller's view (each group alone, pairs, anonymous) is compared with a model of
who may see what: a source's groups are the ones last given explicitly, kept otherwise.
Real engine, real embedder; seeded, so a failure replays.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ragcore import Index
from ragcore.sources import SourceSpec

pytestmark = pytest.mark.slow

GROUPS = ("staff", "sales", "ops", "legal")
CASES = 40
STEPS = 8


def _write(path: Path, rng: random.Random) -> None:
    words = " ".join(rng.choice(["port", "quota", "audit", "token", "invoice"]) for _ in range(30))
    path.write_text(f"# {path.name}\n\n{words} {rng.random()}\n")


def _visible(index: Index, groups: tuple[str, ...]) -> set[str]:
    if index.store.count() == 0:
        return set()
    hits = index.search("port quota audit token invoice", k=1000, mode="bm25", groups=groups).hits
    return {h.chunk.source for h in hits}


def _expected(
    files: set[str], source_groups: dict[str, tuple[str, ...]], caller: tuple[str, ...]
) -> set[str]:
    seen = set()
    for uri in files:
        groups = source_groups[uri.rsplit("/", 1)[0]]
        if not groups or set(groups) & set(caller):
            seen.add(uri)
    return seen


@pytest.mark.parametrize("seed", range(CASES))
def test_no_chunk_is_visible_outside_its_groups(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    roots = [tmp_path / f"source{i}" for i in range(rng.randint(1, 3))]
    for root in roots:
        root.mkdir()
    present: set[Path] = set()
    source_groups = {root.as_uri(): () for root in roots}  # the model of remembered groups
    callers = [(), *((g,) for g in GROUPS), ("staff", "ops")]
    indexed: set[str] = set()  # the model: the file URIs the index holds
    with Index.open(tmp_path / "idx", create=True) as index:
        for step in range(STEPS):
            for root in roots:  # edit: add, change, delete files
                for n in range(rng.randint(0, 2)):
                    path = rng.choice([root / f"f{step}-{n}.md", *sorted(present)])
                    _write(path, rng)
                    present.add(path)
                existing = sorted(p for p in present if p.parent == root)
                if existing and rng.random() < 0.3:
                    gone = rng.choice(existing)
                    gone.unlink()
                    present.discard(gone)
            root = rng.choice(roots)
            choice = rng.random()
            if choice < 0.4:
                spec = SourceSpec(str(root), access=tuple(rng.sample(GROUPS, rng.randint(1, 2))))
                source_groups[root.as_uri()] = spec.access
            elif choice < 0.55:
                spec = SourceSpec(str(root), public=True)
                source_groups[root.as_uri()] = ()
            else:
                spec = SourceSpec(str(root))  # no groups named: the remembered ones stay
            index.ingest([spec], quiet=True)
            # the synced source now holds its files; the others keep what they last indexed
            indexed = {u for u in indexed if not u.startswith(root.as_uri() + "/")}
            indexed |= {p.as_uri() for p in present if p.parent == root}
            for caller in callers:
                expected = _expected(indexed, source_groups, caller)
                assert _visible(index, caller) == expected, (seed, step, caller)
