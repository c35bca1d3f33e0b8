"""The same operations against qdrant-edge and qdrant-client's in-process mode must agree."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragcore.config import Fusion, StoreConfig
from ragcore.sparse import Bm25Encoder
from ragcore.store.base import StoredPoint, StoreQuery, VectorStore
from ragcore.store.edge import EdgeStore
from ragcore.store.filters import Filter
from ragcore.store.remote import QdrantServerStore

DIM = 8
WORDS = [f"term{i}" for i in range(300)]
# i % 5 -> access payload: absent (an index made before access existed), empty, one or two groups
ACCESS: list[list[str] | None] = [None, [], ["hr"], ["ops", "hr"], ["ops"]]


def _points() -> list[StoredPoint]:
    rng = random.Random(3)
    bm25 = Bm25Encoder()
    points = []
    for i in range(60):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
        vec = [rng.gauss(0, 1) for _ in range(DIM)]
        points.append(
            StoredPoint(
                id=str(uuid.UUID(int=i + 1)),
                dense=vec,
                sparse=bm25.document(text),
                payload={
                    "doc_id": f"doc{i % 7}",
                    "source": f"file:///d{i % 7}.md",
                    "text": text,
                    "start": 0,
                    "end": len(text),
                    "heading_path": [],
                    "metadata": {
                        "file_type": "markdown" if i % 3 else "html",
                        "n": i % 4,
                        "score": (i % 9) / 2,
                        "modified": f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}T10:00:00Z",
                    },
                }
                | ({} if ACCESS[i % 5] is None else {"access": ACCESS[i % 5]}),
            )
        )
    return points


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[VectorStore, VectorStore]]:
    edge = EdgeStore(tmp_path / "shard", DIM, vacuum_min_vectors=1, deleted_threshold=0.01)
    client = QdrantServerStore(StoreConfig(url=":memory:"), DIM)
    for s in (edge, client):
        s.upsert(_points())
    yield edge, client
    edge.close()
    client.close()


#: Every kind of condition: equality, any-of, ranges on numbers and dates, exclusions.
FILTERS: list[dict] = [
    {"file_type": "html"},
    {"doc_id": ["doc1", "doc2"]},
    {"n": 2, "file_type": "markdown"},
    {"n": {"gte": 1, "lt": 3}},
    {"score": {"gt": 1.5, "lte": 3.5}},
    {"modified": {"gte": "2024-03-01", "lt": "2024-09-15T12:00:00Z"}},
    {"file_type": {"not": "html"}, "n": {"not": [0, 3]}},
    {"doc_id": {"not": ["doc0"]}, "modified": {"lte": "2024-06-30"}, "score": {"gte": 1}},
]


def _expected(f: dict, payload: dict) -> bool:
    """Whether a payload passes a filter, by hand: what both engines must agree on."""
    from ragcore.store.filters import parse_datetime

    def value(key: str):
        return payload[key] if key in ("doc_id", "source") else payload["metadata"][key]

    def holds(key: str, spec) -> bool:
        v = value(key)
        if not isinstance(spec, dict):
            return v in (spec if isinstance(spec, list) else [spec])
        if "not" in spec and v in (spec["not"] if isinstance(spec["not"], list) else [spec["not"]]):
            return False
        if isinstance(v, str):
            v = parse_datetime(v)
        ops = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
        for op, method in ops.items():
            if op in spec:
                bound = spec[op]
                bound = parse_datetime(bound) if isinstance(bound, str) else bound
                if not getattr(v, method)(bound):
                    return False
        return True

    return all(holds(k, spec) for k, spec in f.items())


def _queries() -> list[StoreQuery]:
    rng = random.Random(11)
    bm25 = Bm25Encoder()
    out = []
    for _ in range(5):
        dense = [rng.gauss(0, 1) for _ in range(DIM)]
        sparse = bm25.query(" ".join(rng.sample(WORDS, 12)))
        out += [
            StoreQuery(limit=10, dense=dense),
            StoreQuery(limit=10, sparse=sparse),
            StoreQuery(
                limit=10, dense=dense, sparse=sparse, fusion=Fusion.RRF, rrf_k=2, prefetch=20
            ),
            StoreQuery(
                limit=10, dense=dense, sparse=sparse, fusion=Fusion.RRF, rrf_k=60, prefetch=20
            ),
            StoreQuery(limit=10, dense=dense, sparse=sparse, fusion=Fusion.DBSF, prefetch=20),
            *(StoreQuery(limit=10, dense=dense, filters=Filter.parse(f)) for f in FILTERS),
            StoreQuery(limit=10, dense=dense, sparse=sparse, filters=Filter.parse(FILTERS[1])),
            StoreQuery(limit=10, sparse=sparse, filters=Filter.parse(FILTERS[2])),
            StoreQuery(limit=5, dense=dense, ids=tuple(str(uuid.UUID(int=i)) for i in (3, 9, 27))),
            StoreQuery(limit=10, dense=dense, sparse=sparse, prefetch=20, groups=("hr",)),
            StoreQuery(limit=10, sparse=sparse, groups=()),
        ]
    return out


def _same(a, b) -> None:
    """Same scores (to float32 precision) and, score by score, the same ids; only the group
    tied at the cut-off may differ (which of the tied points makes the top-k is arbitrary)."""
    assert [p.score for p in a] == pytest.approx([p.score for p in b], rel=1e-4, abs=1e-5)

    def groups(points):
        out: dict[float, set[str]] = {}
        for p in points:
            out.setdefault(round(p.score, 3), set()).add(p.id)
        out.pop(round(points[-1].score, 3), None)
        return out

    assert groups(a) == groups(b)


def test_queries_agree(stores) -> None:
    edge, client = stores
    for q in _queries():
        a, b = edge.query(q), client.query(q)
        assert a, f"no results for {q}"
        _same(a, b)
    batch_a, batch_b = edge.query_batch(_queries()[:4]), client.query_batch(_queries()[:4])
    for a, b in zip(batch_a, batch_b, strict=True):
        _same(a, b)


def test_filters_are_applied(stores) -> None:
    wanted = tuple(str(uuid.UUID(int=i)) for i in (2, 5, 40))
    for store in stores:
        got = store.query(
            StoreQuery(limit=10, sparse=Bm25Encoder().query("term1 term2"), ids=wanted)
        )
        assert {p.id for p in got} <= set(wanted)
        assert {
            p.id for p in store.query(StoreQuery(limit=10, dense=[1.0] * DIM, ids=wanted))
        } == set(wanted)
        hits = store.query(
            StoreQuery(limit=100, dense=[1.0] * DIM, filters=Filter.equals("file_type", "html"))
        )
        assert hits and all(h.payload["metadata"]["file_type"] == "html" for h in hits)
        assert store.count(Filter.equals("doc_id", "doc3")) == len(
            [i for i in range(60) if i % 7 == 3]
        )


@pytest.mark.parametrize("spec", FILTERS)
def test_every_filter_kind_selects_what_it_says(stores, spec: dict) -> None:
    """Each backend returns exactly the points the filter admits, worked out by hand."""
    wanted = {p.id for p in _points() if _expected(spec, p.payload)}
    assert 0 < len(wanted) < 60  # each filter keeps some points and drops some
    for store in stores:
        got = store.query(StoreQuery(limit=100, dense=[1.0] * DIM, filters=Filter.parse(spec)))
        assert {p.id for p in got} == wanted
        assert store.count(Filter.parse(spec)) == len(wanted)


def test_deletes_agree(stores) -> None:
    keep = str(uuid.UUID(int=1))  # point 0 belongs to doc0
    for store in stores:
        before = store.count()
        store.delete_document("doc0", keep={keep})
        assert store.count(Filter.equals("doc_id", "doc0")) == 1
        store.delete_document("doc1")
        assert store.count(Filter.equals("doc_id", "doc1")) == 0
        assert store.count() == before - (9 - 1) - 9
    for q in _queries():
        if q.sparse is None:
            _same(stores[0].query(q), stores[1].query(q))
    # BM25 IDF: edge counts deleted points until their segment is vacuumed (as a Qdrant server
    # does); qdrant-client's local mode recomputes it per query. After optimize they agree.
    stores[0].optimize()
    for q in _queries():
        _same(stores[0].query(q), stores[1].query(q))


def test_upsert_is_idempotent(stores) -> None:
    for store in stores:
        n = store.count()
        store.upsert(_points()[:10])
        assert store.count() == n


def test_scroll_pages_through_every_point(stores) -> None:
    pages = []
    for store in stores:
        seen, offset = [], None
        while True:
            records, offset = store.scroll(7, offset)
            assert len(records) <= 7
            seen += records
            if offset is None:
                break
        pages.append(seen)
        assert len(seen) == store.count() == len({r.id for r in seen})
    edge, client = pages
    assert [r.id for r in edge] == [r.id for r in client]
    assert [dict(r.payload) for r in edge] == [dict(r.payload) for r in client]


@pytest.mark.parametrize(
    ("groups", "visible"),
    [
        (None, {0, 1, 2, 3, 4}),  # no access check
        ((), {0, 1}),  # anonymous: public only
        (("hr",), {0, 1, 2, 3}),
        (("ops",), {0, 1, 3, 4}),
        (("ops", "hr"), {0, 1, 2, 3, 4}),
        (("nobody",), {0, 1}),
    ],
)
def test_access_groups_filter_in_the_engine(stores, groups, visible) -> None:
    """Only public chunks and chunks sharing a group with the caller come back, in every
    query shape, from both stores, and limit-many of them (filtered before the cut-off)."""
    bm25 = Bm25Encoder()
    sparse = bm25.query(" ".join(WORDS[:200]))
    expected = {str(uuid.UUID(int=i + 1)) for i in range(60) if i % 5 in visible}
    for store in stores:
        for q in (
            StoreQuery(limit=100, dense=[1.0] * DIM, groups=groups),
            StoreQuery(limit=100, sparse=sparse, groups=groups),
            StoreQuery(limit=100, dense=[1.0] * DIM, sparse=sparse, prefetch=100, groups=groups),
        ):
            got = {p.id for p in store.query(q)}
            assert got <= expected
            if q.sparse is None or q.dense is not None:
                assert got == expected
        top = store.query(StoreQuery(limit=5, dense=[0.5] * DIM, groups=groups))
        assert len(top) == 5 and {p.id for p in top} <= expected
